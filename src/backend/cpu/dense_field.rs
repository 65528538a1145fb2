//! The `dense` quantum scalar field on the CPU (float64; SPEC §4.2, issue 5): Γ (row-major 2n × 2n) integrated
//! with the classical fields in the same RK4 stages (its Stratonovich drift, physics/gaussian_dynamics.rs), then
//! the noise flow with the step's increments dW — the very increments the step adds to π^ab.
//!
//! Per step (a Lie splitting of the Stratonovich SDE; docs/quantum.md §4):
//!   1. dW drawn from (g, N) at t_n (backend/cpu/cq_noise.rs);
//!   2. RK4 over dt of (g, π, N, x̄, Γ) with the drift (π^ab gets −⟨L̂⟩_ren, x̄ and Γ their §4.1 drift);
//!   3. π^ab += dW; (x̄, Γ) ← exact flow of the noise field B(𝒟⁻¹dW) with 𝒟, A_I at t_n.
use crate::backend::quantum::{QuantumField, Representation, StageQuantum};
use crate::backend::StepperSetup;
use crate::numerics::rk4::{combine_f64, Rk4Stage};
use crate::physics::gaussian_dynamics::{Coeffs, GaussianModel, SiteQuantum};
use crate::physics::gaussian_forms::QuantumParams;
use crate::state::{QuantumArray, QuantumData, State};

/// The `dense` representation (backend/quantum.rs).
pub struct Dense;

impl Representation for Dense {
    fn name(&self) -> &'static str {
        "dense"
    }
    fn mode_power(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<crate::spectra::quantum::QuantumPower>> {
        let g = state.gamma();
        Ok(if g.is_empty() { None } else { Some(crate::spectra::quantum::dense(&setup.lattice, g)?) })
    }
    fn cpu(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Box<dyn QuantumField>> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the dense representation needs the quantum field's parameters"))?;
        Ok(Box::new(DenseField::new(setup, q, state)?))
    }
    fn gpu(
        &self,
        ctx: &crate::gpu::GpuContext,
        setup: &StepperSetup,
        state: &State,
        f: crate::backend::gpu::quantum::FieldBuffers<'_>,
    ) -> anyhow::Result<Box<dyn crate::backend::gpu::quantum::GpuQuantumField>> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the dense representation needs the quantum field's parameters"))?;
        Ok(Box::new(crate::backend::gpu::dense_field::GpuDenseField::new(ctx, setup, q, state, f)?))
    }
    fn site_terms(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        let (Some(params), false) = (setup.quantum, state.gamma().is_empty()) else { return Ok(None) };
        let model = GaussianModel::new(state.lattice, setup.stencil, params);
        let c = model.coeffs_of(&state.data, &state.background)?;
        Ok(Some(model.site_quantum(&c, state.gamma())))
    }
    fn physicality(&self, _: &StepperSetup, state: &State) -> f64 {
        if state.gamma().is_empty() {
            return f64::NAN;
        }
        crate::numerics::symplectic::min_symplectic_ratio(state.gamma(), state.lattice.sites(), state.lattice.cell_volume())
    }
}

/// Γ as the checkpoint array `gamma` (2n × 2n).
pub fn gamma_data(gamma: Vec<f64>, n: usize) -> QuantumData {
    QuantumData { representation: "dense".into(), arrays: vec![QuantumArray { name: "gamma".into(), shape: vec![2 * n, 2 * n], data: gamma }] }
}

/// The initial Γ of a dense field: the state's, or the lattice vacuum of its metric (a coherent state around x̄).
pub fn initial_gamma(setup: &StepperSetup, mass: f64, state: &State) -> anyhow::Result<Vec<f64>> {
    let d = 2 * setup.lattice.sites();
    if state.quantum.is_empty() {
        crate::physics::lattice_vacuum::initial_covariance(state, &setup.stencil, mass)
    } else {
        Ok(state.quantum.require("gamma", d * d)?.to_vec())
    }
}

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


impl DenseField {
    pub fn new(setup: &StepperSetup, params: QuantumParams, state: &State) -> anyhow::Result<Self> {
        let model = GaussianModel::new(setup.lattice, setup.stencil, params);
        let d = model.dim();
        let gy = initial_gamma(setup, params.mass, state)?;
        Ok(Self { model, gy, gacc: vec![0.0; d * d], gu1: vec![0.0; d * d], gu2: vec![0.0; d * d], dg: vec![0.0; d * d], start: None })
    }

    /// The stage right-hand side at the classical stage input `u` (f64 SoA) and the matching Γ stage input.
    pub fn stage_rhs(&mut self, index: usize, u: &[f64], background: &[f64; 6]) -> anyhow::Result<StageQuantum> {
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

}

impl QuantumField for DenseField {
    fn stage(&mut self, index: usize, u: &[f64], background: &[f64; 6]) -> anyhow::Result<Option<StageQuantum>> {
        self.stage_rhs(index, u, background).map(Some)
    }

    /// The RK4 combination of Γ (numerics/rk4.rs, as `evolve_stage::combine` does for the fields).
    fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        let next = if st.index == 1 { &mut self.gu2 } else { &mut self.gu1 };
        combine_f64(st, dt, &self.dg, &mut self.gy, &mut self.gacc, next);
    }

    /// The noise flow of this step with the increments dW (component-major, 6n) on x̄ (2n: φ̄ then π̄_φ) and Γ.
    fn condition(&mut self, dw: &[f64], xbar: &mut [f64]) -> anyhow::Result<()> {
        let c = self.start.as_ref().expect("condition() after a step's stage 0");
        self.model.noise_flow(c, dw, xbar, &mut self.gy)
    }

    fn save(&self) -> QuantumData {
        gamma_data(self.gy.clone(), self.model.sites())
    }

    fn restore(&mut self, q: &QuantumData) -> anyhow::Result<()> {
        let g = q.require("gamma", self.gy.len())?;
        self.gy.copy_from_slice(g);
        Ok(())
    }
}
