//! Bytes moved per lattice site by each kernel, and the memory each configuration holds per site.
//!
//! # What is counted: ideal (compulsory) traffic
//! Each kernel is charged for reading every distinct input value it needs **once** per site and writing every
//! output value once per site, counted from the shader source (bindings and the fields each kernel touches).
//! Stencil neighbours are *not* counted again: on a perfect cache they are re-reads of values another site
//! already brought in. So these are lower bounds of the DRAM traffic, not cache-level traffic: the achieved
//! bandwidth reported from them is the "useful" bandwidth, and a kernel whose stencil reads miss the cache moves
//! more than this. Parameter blocks (`pu`, `pr`: a few hundred bytes per dispatch) are left out.
//!
//! All counts are in reals (f32: 4 bytes, f64: 8 bytes) per site; `NVARS` = 15 evolved fields (state.rs),
//! flux = 3 reals (F^a), NCOL = 12 diagnostic columns.
//!
//! ## GPU step (src/backend/gpu/mod.rs, in recording order)
//! | op | reads | writes | reals/site |
//! | --- | --- | --- | --- |
//! | `copy_y_u2` (copy_buffer_to_buffer) | y (15) | u2 (15) | 30 |
//! | `scalar_flux` ×4 (shaders/scalar_flux.wgsl) | u_in: δg (6), N (1), φ (1, stencil) | flux (3) | 11 |
//! | `evolve_stage` stage 0 (shaders/evolve_stage.wgsl) | u_in (15), flux (3), y (15) | acc (15), next (15) | 63 |
//! | `evolve_stage` stages 1, 2 | u_in (15), flux (3), acc (15), y (15) | acc (15), next (15) | 78 |
//! | `evolve_stage` stage 3 | u_in (15), flux (3), acc (15) | y (15) | 48 |
//!
//! One RK4 step: 30 + 4·11 + 63 + 2·78 + 48 = **341 reals/site** (f32 1364 B, f64 2728 B). `u_in` is read
//! whole by evolve_stage: stencils on δg, N, φ; Kreiss–Oliger on all 15 fields; π^ab, π_φ pointwise.
//! Stage 0's WGSL loads `acc` before replacing it by `y` (`var base = acc[idx]; if stage == 0u {…}`); the
//! ideal count assumes that dead load is not issued.
//!
//! ## GPU diagnostics (src/backend/gpu/diagnostics.rs)
//! | op | reads | writes | reals/site |
//! | --- | --- | --- | --- |
//! | `diagnostics` (shaders/diagnostics.wgsl) | y (15) | cfields (4), partials (12/64) | 19 + 12/64 |
//! | `reduce` pass on m values per column (shaders/reduce.wgsl) | 12·m | 12·⌈m/64⌉ | (12·m + 12·⌈m/64⌉)/n |
//!
//! ## CPU step (src/backend/cpu/, same stage structure, the right-hand side kept in a site-major scratch `k`)
//! | op | reads | writes | reals/site |
//! | --- | --- | --- | --- |
//! | `scalar_flux` ×4 | δg (6), N (1), φ (1) | flux (3) | 11 |
//! | `evolve_stage.rhs` ×4 (`rhs_all`) | u_in (15), flux (3) | k (15) | 33 |
//! | `evolve_stage.combine` stage 0 | k (15), y (15) | acc (15), next (15) | 60 |
//! | `evolve_stage.combine` stages 1, 2 | k (15), acc (15), y (15) | acc (15), next (15) | 75 |
//! | `evolve_stage.combine` stage 3 | k (15), acc (15) | y (15) | 45 |
//! | `diagnostics.site_values` | y (15) | 12 columns + 4 constraint fields | 31 |
//! | `diagnostics.reduce` | 12 columns | (tiny) | 12 + 12/64 + … |
//!
//! One CPU RK4 step: 4·11 + 4·33 + 60 + 2·75 + 45 = **431 reals/site**.
//!
//! A kernel without a row here (e.g. a CQ noise kernel added later) is timed but has no byte count
//! (`None`): add its row to [`gpu_op_reals`] when it lands.
use crate::backend::cpu::diagnostics::NCOL;
use crate::config::Precision;
use crate::state::NVARS;
use serde::Serialize;

const NV: f64 = NVARS as f64;
const FLUX: f64 = 3.0;

/// Bytes of one real.
pub fn real_bytes(p: Precision) -> f64 {
    match p {
        Precision::F32 => 4.0,
        Precision::F64 => 8.0,
    }
}

/// Ideal reals per site of one GPU step operation (`name`, RK4 `stage`); `None` for an unknown op.
pub fn gpu_op_reals(name: &str, stage: Option<usize>) -> Option<f64> {
    match (name, stage) {
        ("copy_y_u2", _) => Some(2.0 * NV),
        ("scalar_flux", _) => Some(8.0 + FLUX),
        ("evolve_stage", Some(0)) => Some(NV + FLUX + NV + 2.0 * NV),
        ("evolve_stage", Some(1 | 2)) => Some(NV + FLUX + 2.0 * NV + 2.0 * NV),
        ("evolve_stage", Some(3)) => Some(NV + FLUX + NV + NV),
        _ => None,
    }
}

/// Ideal reals per site of one CPU step operation; `None` for an unknown op.
pub fn cpu_op_reals(name: &str, stage: Option<usize>) -> Option<f64> {
    match (name, stage) {
        ("scalar_flux", _) => Some(8.0 + FLUX),
        ("evolve_stage.rhs", _) => Some(NV + FLUX + NV),
        ("evolve_stage.combine", Some(0)) => Some(4.0 * NV),
        ("evolve_stage.combine", Some(1 | 2)) => Some(5.0 * NV),
        ("evolve_stage.combine", Some(3)) => Some(3.0 * NV),
        _ => None,
    }
}

/// Reals per site of the GPU diagnostics site kernel.
pub fn gpu_diag_site_reals() -> f64 {
    NV + 4.0 + NCOL as f64 / 64.0
}

/// Reals (total, not per site) of one reduce pass over `m` values per column.
pub fn reduce_pass_reals(m: usize) -> f64 {
    (NCOL * m + NCOL * m.div_ceil(64)) as f64
}

/// Reals per site of the CPU diagnostics: site values, and the reduction of the columns.
pub fn cpu_diag_reals(name: &str, n: usize) -> Option<f64> {
    match name {
        "diagnostics.site_values" => Some(NV + NCOL as f64 + 4.0),
        "diagnostics.reduce" => {
            let (mut m, mut total) = (n, 0.0);
            loop {
                total += reduce_pass_reals(m);
                m = m.div_ceil(64);
                if m <= 1 {
                    break;
                }
            }
            Some(total / n as f64)
        }
        _ => None,
    }
}

/// Number of values per column each GPU reduce pass reads, in order (after the site kernel's 64-wide pass);
/// mirrors GpuDiagnostics::new.
pub fn gpu_reduce_pass_sizes(n: usize) -> Vec<usize> {
    let mut m = n.div_ceil(64);
    let mut v = Vec::new();
    while m > 1 {
        v.push(m);
        m = m.div_ceil(64);
    }
    v
}

/// Ideal reals per site of one whole GPU RK4 step (the ops of GpuStepper::step_ops as of this version).
pub fn gpu_step_reals() -> f64 {
    let mut t = gpu_op_reals("copy_y_u2", None).unwrap();
    for s in 0..4 {
        t += gpu_op_reals("scalar_flux", Some(s)).unwrap() + gpu_op_reals("evolve_stage", Some(s)).unwrap();
    }
    t
}

/// Ideal reals per site of one whole CPU RK4 step.
pub fn cpu_step_reals() -> f64 {
    (0..4)
        .map(|s| {
            cpu_op_reals("scalar_flux", Some(s)).unwrap()
                + cpu_op_reals("evolve_stage.rhs", Some(s)).unwrap()
                + cpu_op_reals("evolve_stage.combine", Some(s)).unwrap()
        })
        .sum()
}

/// One buffer of a memory model: reals per site (a buffer of fixed size has 0 here and is left out).
#[derive(Debug, Clone, Serialize)]
pub struct BufferSize {
    pub name: &'static str,
    pub reals_per_site: f64,
    /// true: needed by the time step itself; false: by the diagnostics only
    pub step: bool,
}

/// Memory a backend holds per lattice site in one configuration (buffers of the stepper; bench-only buffers
/// such as the copy kernel's are not included).
#[derive(Debug, Clone, Serialize)]
pub struct MemoryModel {
    pub backend: &'static str,
    pub precision: &'static str,
    pub buffers: Vec<BufferSize>,
    /// reals per site of the step buffers
    pub step_reals_per_site: f64,
    /// reals per site of all buffers (step + diagnostics)
    pub total_reals_per_site: f64,
    pub step_bytes_per_site: f64,
    pub total_bytes_per_site: f64,
    /// the largest single buffer per site (bytes): what must fit in one storage binding
    pub largest_buffer_bytes_per_site: f64,
}

impl MemoryModel {
    fn new(backend: &'static str, p: Precision, buffers: Vec<BufferSize>) -> Self {
        let b = real_bytes(p);
        let step: f64 = buffers.iter().filter(|x| x.step).map(|x| x.reals_per_site).sum();
        let total: f64 = buffers.iter().map(|x| x.reals_per_site).sum();
        let largest = buffers.iter().map(|x| x.reals_per_site).fold(0.0, f64::max);
        Self {
            backend,
            precision: precision_name(p),
            buffers,
            step_reals_per_site: step,
            total_reals_per_site: total,
            step_bytes_per_site: step * b,
            total_bytes_per_site: total * b,
            largest_buffer_bytes_per_site: largest * b,
        }
    }

    /// The GPU stepper's buffers (src/backend/gpu/mod.rs and diagnostics.rs).
    pub fn gpu(p: Precision) -> Self {
        let buffers = vec![
            BufferSize { name: "y (state)", reals_per_site: NV, step: true },
            BufferSize { name: "acc (RK4 accumulator)", reals_per_site: NV, step: true },
            BufferSize { name: "u1 (stage input)", reals_per_site: NV, step: true },
            BufferSize { name: "u2 (stage input)", reals_per_site: NV, step: true },
            BufferSize { name: "flux", reals_per_site: FLUX, step: true },
            BufferSize { name: "constraint fields", reals_per_site: 4.0, step: false },
            BufferSize { name: "diagnostic partials A", reals_per_site: NCOL as f64 / 64.0, step: false },
            BufferSize { name: "diagnostic partials B", reals_per_site: NCOL as f64 / 4096.0, step: false },
        ];
        Self::new("gpu", p, buffers)
    }

    /// The CPU stepper's vectors (src/backend/cpu/mod.rs) and the diagnostics' temporaries.
    pub fn cpu(p: Precision) -> Self {
        let buffers = vec![
            BufferSize { name: "y (state)", reals_per_site: NV, step: true },
            BufferSize { name: "acc (RK4 accumulator)", reals_per_site: NV, step: true },
            BufferSize { name: "u1 (stage input)", reals_per_site: NV, step: true },
            BufferSize { name: "u2 (stage input)", reals_per_site: NV, step: true },
            BufferSize { name: "flux", reals_per_site: FLUX, step: true },
            BufferSize { name: "k (right-hand side scratch)", reals_per_site: NV, step: true },
            BufferSize { name: "diagnostics rows + columns + fields (temporary)", reals_per_site: 2.0 * (NCOL as f64 + 4.0), step: false },
        ];
        Self::new("cpu", p, buffers)
    }

    /// Bytes for `sites` sites: (step buffers, all buffers).
    pub fn bytes_for(&self, sites: usize) -> (f64, f64) {
        (self.step_bytes_per_site * sites as f64, self.total_bytes_per_site * sites as f64)
    }
}

pub fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_totals() {
        assert_eq!(gpu_step_reals(), 341.0);
        assert_eq!(cpu_step_reals(), 431.0);
        assert_eq!(gpu_op_reals("cq_noise", None), None);
    }

    #[test]
    fn reduce_passes_mirror_gpu_diagnostics() {
        assert_eq!(gpu_reduce_pass_sizes(512), vec![8]);
        assert_eq!(gpu_reduce_pass_sizes(64), Vec::<usize>::new());
        assert_eq!(gpu_reduce_pass_sizes(256 * 256 * 256), vec![262144, 4096, 64]);
    }

    #[test]
    fn memory_256_f32() {
        let m = MemoryModel::gpu(Precision::F32);
        assert_eq!(m.step_reals_per_site, 63.0);
        let (step, _) = m.bytes_for(256 * 256 * 256);
        assert_eq!(step, 63.0 * 4.0 * 16_777_216.0);
    }
}
