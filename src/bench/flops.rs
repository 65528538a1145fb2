//! Floating-point operations per site of the classical CPU step, and the CPU's peak, for `cqgrav bench`.
//!
//! # How the flops are counted
//! - The pointwise kernels (physics/adm_rhs.rs with the Ricci, tensor, gauge and scalar-field functions it
//!   calls, and the scalar flux F^a = N √g g^ab ∂_bφ with its metric inverse) are generic over
//!   `numerics::lanes::Arith`; they are run once on `Counted`, a number type that counts every +, −, ×, ÷ and
//!   √ it performs (negation is a sign flip and not counted). So the count is the kernels' own, exactly, for the
//!   run's lapse condition and potential, and changes when the kernels do.
//! - The stencils (backend/cpu/fd_row.rs) are counted from their formulas, radius R of the derivatives, K of
//!   Kreiss–Oliger: ∂_a 3R + 1, ∂_a∂_a 5R + 1, ∂_a∂_b R(6R + 3) + 1, KO 15K + 1. Per stage: the gradient and
//!   Hessian of the six δg_ab and of N, the gradient of φ, one ∂_a per flux component (+ 2 to sum them),
//!   KO of the 15 fields when σ ≠ 0, and the 15 additions of the KO term (made also when it is 0).
//! - The RK4 combination: 15 fields × (2 multiply-adds) in stages 1–3 and 1 in stage 4.
//! - A division and a square root count one flop each, like an addition (they cost more cycles: the fraction of
//!   peak is therefore a conservative figure for this kernel).
//!
//! # The peak
//! threads × clock × flop/cycle/core. The clock is the `cpu MHz` of /proc/cpuinfo (Linux; the nominal clock on
//! virtual machines; `--peak-gflops` overrides the whole estimate). flop/cycle/core: two fused multiply-add
//! pipes of 256 bits (16 f64 / 32 f32 flop per cycle) on a CPU with AVX2 + FMA — Zen 2–4, Haswell and later
//! client cores; Zen 4 runs AVX-512 on the same two 256-bit pipes — and 4 f64 / 8 f32 (two 128-bit pipes,
//! no FMA) otherwise. Intel server cores with two 512-bit FMA units have twice this peak.
use crate::backend::cpu::fd::Fd;
use crate::config::Lapse;
use crate::numerics::lanes::Arith;
use crate::physics::adm_rhs::{adm_rhs, RhsParams, SiteData};
use crate::physics::potential::Polynomial;
use crate::physics::scalar_field;
use crate::physics::tensor::inverse;
use crate::state::NVARS;
use serde::Serialize;
use std::cell::Cell;
use std::ops::{Add, Div, Mul, Neg, Sub};

thread_local! {
    static OPS: Cell<u64> = const { Cell::new(0) };
}

/// A real that counts the arithmetic done with it (thread-local counter).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counted(f64);

fn tick() {
    OPS.with(|c| c.set(c.get() + 1));
}

macro_rules! counted {
    ($tr:ident, $f:ident, $op:tt) => {
        impl $tr for Counted {
            type Output = Self;
            fn $f(self, o: Self) -> Self {
                tick();
                Counted(self.0 $op o.0)
            }
        }
    };
}
counted!(Add, add, +);
counted!(Sub, sub, -);
counted!(Mul, mul, *);
counted!(Div, div, /);

impl Neg for Counted {
    type Output = Self;
    fn neg(self) -> Self {
        Counted(-self.0)
    }
}

impl Arith for Counted {
    fn c(x: f64) -> Self {
        Counted(x)
    }
    fn zero() -> Self {
        Counted(0.0)
    }
    fn one() -> Self {
        Counted(1.0)
    }
    fn sqrt(self) -> Self {
        tick();
        Counted(self.0.sqrt())
    }
}

/// The operations `f` performs on `Counted` values.
fn count(f: impl FnOnce()) -> u64 {
    OPS.with(|c| c.set(0));
    f();
    OPS.with(|c| c.get())
}

/// Flops per site of the classical CPU step, by part.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepFlops {
    /// the pointwise ADM + scalar right-hand side (counted on `Counted`), per stage
    pub pointwise_per_stage: u64,
    /// the stencils (gradients, Hessians, flux divergence, KO and its additions), per stage
    pub stencils_per_stage: u64,
    /// the scalar flux pre-pass (metric inverse, √g, F^a, ∇φ), per stage
    pub scalar_flux_per_stage: u64,
    /// the four RK4 combinations
    pub combine_per_step: u64,
    /// one whole RK4 step
    pub per_site_step: u64,
}

/// The flop count of the step with this stencil, lapse condition and potential (see the module comment).
pub fn step_flops<T: crate::numerics::real::Real>(fd: &Fd<T>, lapse: Lapse, potential: &Polynomial<f64>) -> StepFlops {
    let (r, k) = (fd.radius as u64, fd.ko_radius as u64);
    let ko_on = fd.ko_scale != T::zero();
    let (d1, d2, d11, ko) = (3 * r + 1, 5 * r + 1, r * (6 * r + 3) + 1, 15 * k + 1);
    let grad_hess = 3 * d1 + 3 * d2 + 3 * d11;
    let stencils = 7 * grad_hess + 3 * d1 + (3 * d1 + 2) + if ko_on { NVARS as u64 * ko } else { 0 } + NVARS as u64;
    // a generic site: a metric near flat, every other value non-zero (the count does not depend on the values)
    let g = [1.1, 0.01, 0.02, 0.9, 0.03, 1.2].map(Counted);
    let pointwise = count(|| {
        let mut s = SiteData::<Counted> { g, lapse: Counted(1.0), phi: Counted(0.3), pi_phi: Counted(0.2), ..Default::default() };
        s.pi = [0.1; 6].map(Counted);
        let p = RhsParams {
            lambda: Counted(0.1),
            mass: Counted(1.0),
            potential: Polynomial { c: potential.c.map(Counted) },
            lapse,
            background: [Counted(1.0); 6],
        };
        std::hint::black_box(adm_rhs(&s, &p));
    });
    let flux = count(|| {
        let g: [Counted; 6] = std::array::from_fn(|i| Counted(1.0) + g[i]); // background + δg
        let (ginv, det) = inverse(&g);
        std::hint::black_box(scalar_field::flux(Counted(1.0), det.sqrt(), &ginv, &[Counted(0.1); 3]));
    }) + 3 * d1;
    StepFlops {
        pointwise_per_stage: pointwise,
        stencils_per_stage: stencils,
        scalar_flux_per_stage: flux,
        combine_per_step: NVARS as u64 * (3 * 4 + 2),
        per_site_step: 4 * (pointwise + stencils + flux) + NVARS as u64 * (3 * 4 + 2),
    }
}

/// The CPU's peak (see the module comment).
#[derive(Debug, Clone, Serialize)]
pub struct CpuPeak {
    pub threads: usize,
    pub clock_ghz: Option<f64>,
    pub flop_per_cycle_f64: f64,
    pub gflops_f64: Option<f64>,
    pub gflops_f32: Option<f64>,
    /// how the numbers were obtained
    pub source: String,
}

/// The peak of `threads` cores of this CPU, or the given override (GFlop/s in f64; f32 twice that).
pub fn cpu_peak(threads: usize, override_gflops_f64: Option<f64>) -> CpuPeak {
    let fma256 = crate::backend::cpu::evolve_row::Isa::detect() != crate::backend::cpu::evolve_row::Isa::Baseline;
    let per_cycle = if fma256 { 16.0 } else { 4.0 };
    if let Some(g) = override_gflops_f64 {
        return CpuPeak {
            threads,
            clock_ghz: None,
            flop_per_cycle_f64: per_cycle,
            gflops_f64: Some(g),
            gflops_f32: Some(2.0 * g),
            source: "--peak-gflops".into(),
        };
    }
    let mhz = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("cpu MHz")).and_then(|l| l.split(':').nth(1)).and_then(|v| v.trim().parse::<f64>().ok()));
    let ghz = mhz.map(|m| m / 1e3);
    let g = ghz.map(|c| threads as f64 * c * per_cycle);
    CpuPeak {
        threads,
        clock_ghz: ghz,
        flop_per_cycle_f64: per_cycle,
        gflops_f64: g,
        gflops_f32: g.map(|x| 2.0 * x),
        source: format!(
            "{threads} threads × {} GHz (/proc/cpuinfo) × {per_cycle} f64 flop/cycle ({})",
            ghz.map(|c| format!("{c:.2}")).unwrap_or_else(|| "?".into()),
            if fma256 { "2 × 256-bit FMA" } else { "2 × 128-bit, no FMA" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::stencil::Stencil;

    /// The stencil counts against a hand count of the order-2 operators, and the pointwise count is of the size
    /// the kernel's structure implies (inverse 30–40, Ricci several hundred, sandwiches 6 × 27 each).
    #[test]
    fn flop_counts() {
        let fd = Fd::<f64>::new(&Stencil::new(2), 1.0, 0.0);
        let f = step_flops(&fd, Lapse::Harmonic, &Polynomial::default());
        // R = 1: ∂ 4, ∂∂ 6, ∂_a∂_b 10 → gradient + Hessian 60; 7 fields 420; ∇φ 12; div F 14; KO additions 15
        assert_eq!(f.stencils_per_stage, 420 + 12 + 14 + 15);
        assert!(f.pointwise_per_stage > 1000 && f.pointwise_per_stage < 5000, "{}", f.pointwise_per_stage);
        assert_eq!(f.per_site_step, 4 * (f.pointwise_per_stage + f.stencils_per_stage + f.scalar_flux_per_stage) + 210);
        // dissipation adds 15 KO operators of radius 2: 15 · 31
        let fk = step_flops(&Fd::<f64>::new(&Stencil::new(2), 1.0, 0.1), Lapse::Harmonic, &Polynomial::default());
        assert_eq!(fk.stencils_per_stage - f.stencils_per_stage, 15 * 31);
    }
}
