//! The `dense` quantum scalar field on the CPU (float64; SPEC §4.2, issue 5): Γ (row-major 2n × 2n) integrated
//! with the classical fields in the same RK4 stages (its Stratonovich drift, physics/gaussian_dynamics.rs), then
//! the noise flow with the step's increments dW — the very increments the step adds to π^ab.
//!
//! Per step (a Lie splitting of the Stratonovich SDE; docs/quantum.md §4):
//!   1. dW drawn from (g, N) at t_n (backend/cpu/cq_noise.rs);
//!   2. RK4 over dt of (g, π, N, x̄, Γ) with the drift (π^ab gets −⟨L̂⟩_ren, x̄ and Γ their §4.1 drift);
//!   3. π^ab += dW; (x̄, Γ) ← exact flow of the noise field B(𝒟⁻¹dW) with 𝒟, A_I at t_n.
use crate::backend::StepperSetup;
use crate::numerics::rk4::{combine_f64, Rk4Stage};
use crate::physics::gaussian_dynamics::{Coeffs, GaussianModel};
use crate::physics::gaussian_forms::QuantumParams;
use crate::state::{State, NVARS};
use rayon::prelude::*;

pub struct DenseField {
    pub model: GaussianModel,
    /// Γ at the start of the step (y), the RK4 accumulator and the two stage inputs
    pub gy: Vec<f64>,
    gacc: Vec<f64>,
    gu1: Vec<f64>,
    gu2: Vec<f64>,
    dg: Vec<f64>,
    /// coefficients at the start of the current step (stage 0), used by the noise flow
    start: Option<Coeffs>,
}

/// The quantum part of one stage's right-hand side: x̄ drift (2n, replaces the classical φ, π_φ drift) and the
/// fluctuation back-reaction (per site, stored components; subtract from ∂t π^ab).
pub struct StageQuantum {
    pub dx: Vec<f64>,
    pub br: Vec<[f64; 6]>,
}

impl DenseField {
    pub fn new(setup: &StepperSetup, params: QuantumParams, state: &State) -> anyhow::Result<Self> {
        let model = GaussianModel::new(setup.lattice, setup.stencil, params);
        let d = model.dim();
        let gy = if state.gamma.is_empty() {
            crate::physics::lattice_vacuum::initial_covariance(state, &setup.stencil, params.mass)?
        } else {
            anyhow::ensure!(state.gamma.len() == d * d, "the state's Γ has {} entries, expected (2n)² = {}", state.gamma.len(), d * d);
            state.gamma.clone()
        };
        Ok(Self { model, gy, gacc: vec![0.0; d * d], gu1: vec![0.0; d * d], gu2: vec![0.0; d * d], dg: vec![0.0; d * d], start: None })
    }

    /// The stage right-hand side at the classical stage input `u` (f64 SoA) and the matching Γ stage input.
    pub fn stage(&mut self, index: usize, u: &[f64], background: &[f64; 6]) -> anyhow::Result<StageQuantum> {
        let n = self.model.sites();
        let c = self.model.coeffs_of(u, background)?;
        let xbar: Vec<f64> = u[crate::state::var::PHI * n..(crate::state::var::PI_PHI + 1) * n].to_vec();
        let gamma: &[f64] = match index {
            0 => &self.gy,
            1 | 3 => &self.gu1,
            _ => &self.gu2,
        };
        let mut q = StageQuantum { dx: vec![0.0; 2 * n], br: vec![[0.0; 6]; n] };
        self.model.drift(&c, &xbar, gamma, &mut q.dx, &mut self.dg, &mut q.br);
        if index == 0 {
            self.start = Some(c);
        }
        Ok(q)
    }

    /// The RK4 combination of Γ (numerics/rk4.rs, as `evolve_stage::combine` does for the fields).
    pub fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        let next = if st.index == 1 { &mut self.gu2 } else { &mut self.gu1 };
        combine_f64(st, dt, &self.dg, &mut self.gy, &mut self.gacc, next);
    }

    /// The noise flow of this step with the increments dW (component-major, 6n) on x̄ (2n: φ̄ then π̄_φ) and Γ.
    pub fn condition(&mut self, dw: &[f64], xbar: &mut [f64]) -> anyhow::Result<()> {
        let c = self.start.as_ref().expect("condition() after a step's stage 0");
        self.model.noise_flow(c, dw, xbar, &mut self.gy)
    }
}

/// Apply a stage's quantum part to the classical right-hand side k (site-major). `freeze_metric`: the metric
/// (g, π, N) does not evolve (`cq.frozen_drift`), only the scalar field.
pub fn apply_stage<T: crate::numerics::real::Real>(q: &StageQuantum, k: &mut [[T; NVARS]], freeze_metric: bool) {
    use crate::state::var;
    let n = k.len();
    k.par_iter_mut().enumerate().for_each(|(i, ki)| {
        if freeze_metric {
            for v in ki.iter_mut().take(var::PHI) {
                *v = T::zero();
            }
        } else {
            for s in 0..6 {
                ki[var::PI + s] = ki[var::PI + s] - T::c(q.br[i][s]);
            }
        }
        ki[var::PHI] = T::c(q.dx[i]);
        ki[var::PI_PHI] = T::c(q.dx[n + i]);
    });
}
