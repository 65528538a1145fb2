//! The vector instruction sets the hot CPU kernels are compiled for (the row kernel, backend/cpu/evolve_row.rs;
//! the dense quantum field's jet products, numerics/jets.rs): each such kernel is built for baseline x86-64
//! (SSE2), AVX2 + FMA and AVX-512 through `#[target_feature]`, and the widest one the CPU has is chosen at run
//! time; the binary itself stays baseline (no `target-cpu=native`). Rust never contracts a·b + c into an FMA, so
//! every build does the same IEEE operations and gives the same bits.

/// A vector instruction set a kernel is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Baseline,
    Avx2,
    Avx512,
}

impl Isa {
    /// The widest instruction set this CPU supports (detected once).
    pub fn detect() -> Self {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| *Self::available().last().unwrap_or(&Isa::Baseline))
    }

    /// Every instruction set this CPU can run, narrowest first.
    pub fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut v = vec![Isa::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl") && is_x86_feature_detected!("avx512dq") {
                    v.push(Isa::Avx512);
                }
            }
        }
        v
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2 => "avx2+fma",
            Isa::Avx512 => "avx512",
        }
    }
}
