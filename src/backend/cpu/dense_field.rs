//! The `dense` quantum scalar field on the CPU (float64; SPEC §4.2, issue 5): Γ (row-major 2n × 2n) integrated
//! with the classical fields in the same RK4 stages (its Stratonovich drift, physics/gaussian_dynamics.rs), then
//! the noise flow with the step's increments dW — the very increments the step adds to π^ab.
//!
//! Per step (a Lie splitting of the Stratonovich SDE; docs/quantum.md §4):
//!   1. dW drawn from (g, N) at t_n (backend/cpu/cq_noise.rs);
//!   2. RK4 over dt of (g, π, N, x̄, Γ) with the drift (π^ab gets −⟨L̂⟩_ren, x̄ and Γ their §4.1 drift);
//!   3. π^ab += dW; (x̄, Γ) ← exact flow of the noise field B(𝒟⁻¹dW) with 𝒟, A_I at t_n — or, when the sub-stepping
//!      controller finds the step too strong (numerics/substep.rs), (x̄, Γ) go back to the step's start and take it
//!      in pieces of drift and noise flow, each with its Brownian-bridge share of dW (the metric at t_n frozen).
use crate::backend::quantum::{QuantumField, QuantumStepReport, Representation, StageQuantum, StepNoise};
use crate::backend::StepperSetup;
use crate::numerics::rk4::{combine_f64, Rk4Stage};
use crate::numerics::substep::{SubstepController, SubstepTarget};
use crate::physics::cq_noise::NoiseParams;
use crate::physics::gaussian_dynamics::{Coeffs, Conditioning, GaussianModel, SiteQuantum};
use crate::physics::gaussian_forms::QuantumParams;
use crate::state::{QuantumArray, QuantumData, State};

/// The `dense` representation (backend/quantum.rs).
pub struct Dense;

impl Representation for Dense {
    fn name(&self) -> &'static str {
        "dense"
    }
    fn slab_halo(&self, _: &StepperSetup) -> Result<usize, String> {
        Err("matter.representation = \"dense\": its covariance Γ (2n × 2n) couples every pair of sites, so it stays on one \
             rank; use \"ensemble\" with matter.localization > 0 to split a quantum field over ranks"
            .into())
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
    /// coefficients at the start of the current step (stage 0), used by the noise flow and the sub-steps
    start: Option<Coeffs>,
    /// (x̄, Γ) at the start of the step, and the drift stiffness ρ there (for the sub-stepping controller)
    x_step: Vec<f64>,
    g_step: Vec<f64>,
    rho0: f64,
    /// the start of the current piece of a refined step
    piece: (Vec<f64>, Vec<f64>),
    controller: SubstepController,
    noise: NoiseParams,
    dt: f64,
    report: QuantumStepReport,
}

impl DenseField {
    pub fn new(setup: &StepperSetup, params: QuantumParams, state: &State) -> anyhow::Result<Self> {
        let model = GaussianModel::new(setup.lattice, setup.stencil, params);
        let d = model.dim();
        let gy = initial_gamma(setup, params.mass, state)?;
        let z = || vec![0.0; d * d];
        Ok(Self {
            model,
            gy,
            gacc: z(),
            gu1: z(),
            gu2: z(),
            dg: z(),
            start: None,
            x_step: vec![0.0; d],
            g_step: z(),
            rho0: 0.0,
            piece: (vec![0.0; d], z()),
            controller: setup.substep_controller(),
            noise: setup.noise,
            dt: setup.dt,
            report: QuantumStepReport::default(),
        })
    }

    /// The stage right-hand side at the classical stage input `u` (f64 SoA) and the matching Γ stage input.
    pub fn stage_rhs(&mut self, index: usize, u: &[f64], background: &[f64; 6]) -> anyhow::Result<StageQuantum> {
        let n = self.model.sites();
        let c = self.model.coeffs_of(u, background)?;
        let xbar = &u[crate::state::var::PHI * n..(crate::state::var::PI_PHI + 1) * n];
        let gamma: &[f64] = match index {
            0 => &self.gy,
            1 | 3 => &self.gu1,
            _ => &self.gu2,
        };
        let mut q = StageQuantum { dx: vec![0.0; 2 * n], br: vec![[0.0; 6]; n] };
        let forms = self.model.drift_forms(&c, xbar, gamma);
        self.model.drift_with(&forms, &c, xbar, gamma, &mut q.dx, &mut self.dg, &mut q.br);
        if index == 0 {
            if self.noise.is_active() {
                // the step's start, in case the controller refines the step (numerics/substep.rs): the drift
                // stiffness of (x̄, Γ) = (xbar, gy), from the forms the drift has just used
                self.rho0 = self.model.stiffness_of(&forms);
                self.x_step.copy_from_slice(xbar);
                self.g_step.copy_from_slice(&self.gy);
            }
            self.start = Some(c);
        }
        Ok(q)
    }
}

/// The dense field's quantum update as the sub-stepping controller drives it (numerics/substep.rs), with the
/// metric frozen at the coefficients `c` of the step's start: a piece of duration h is the RK4 of the
/// Stratonovich drift over h, then the noise flow of its share of the step's increments, refined by the Brownian
/// bridge drawn at the step's start metric (backend/cpu/cq_noise.rs `bridge_draw`).
pub struct DenseSubsteps<'a> {
    pub model: &'a GaussianModel,
    pub c: &'a Coeffs,
    pub xbar: &'a mut [f64],
    pub gamma: &'a mut [f64],
    /// (x̄, Γ) at the start of the step
    pub step_start: (&'a [f64], &'a [f64]),
    /// storage for the start of the current piece
    pub piece: &'a mut (Vec<f64>, Vec<f64>),
    pub noise: &'a NoiseParams,
    pub step: u64,
    pub dt: f64,
    /// the conditioning prepared by the last `conditioning_strength`
    pub prepared: Option<Conditioning>,
}

impl SubstepTarget for DenseSubsteps<'_> {
    fn restore_step_start(&mut self) -> anyhow::Result<()> {
        self.xbar.copy_from_slice(self.step_start.0);
        self.gamma.copy_from_slice(self.step_start.1);
        Ok(())
    }
    fn save_piece_start(&mut self) -> anyhow::Result<()> {
        self.piece.0.copy_from_slice(self.xbar);
        self.piece.1.copy_from_slice(self.gamma);
        Ok(())
    }
    fn restore_piece_start(&mut self) -> anyhow::Result<()> {
        self.xbar.copy_from_slice(&self.piece.0);
        self.gamma.copy_from_slice(&self.piece.1);
        Ok(())
    }
    fn drift_stiffness(&mut self) -> anyhow::Result<f64> {
        Ok(self.model.drift_stiffness(self.c, self.xbar, self.gamma))
    }
    fn drift(&mut self, h: f64) -> anyhow::Result<()> {
        self.model.drift_rk4(self.c, self.xbar, self.gamma, h);
        Ok(())
    }
    fn conditioning_strength(&mut self, dw: &[f64]) -> anyhow::Result<(f64, f64)> {
        let cond = self.model.conditioning(self.c, dw, self.gamma);
        let s = (cond.size, cond.escape);
        self.prepared = Some(cond);
        Ok(s)
    }
    fn condition(&mut self, _: &[f64]) -> anyhow::Result<()> {
        let cond = self.prepared.take().expect("condition() after conditioning_strength()");
        self.model.conditioning_flow(&cond, self.xbar, self.gamma);
        Ok(())
    }
    fn halves(&mut self, node: u32, dw: &[f64]) -> anyhow::Result<[Vec<f64>; 2]> {
        let geo = |i: usize| (self.c.sites[i].geo.g, self.c.sites[i].geo.lapse);
        let h = crate::numerics::brownian_bridge::duration(self.dt, node);
        let fresh = crate::backend::cpu::cq_noise::bridge_draw(self.noise, &self.model.lattice, self.step, node, h, geo);
        Ok(crate::numerics::brownian_bridge::halves(dw, &fresh))
    }
}

/// A refused conditioning with what it means physically.
pub fn unresolved_context(e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<crate::numerics::substep::Unresolved>().is_none() {
        return e;
    }
    e.context(
        "the quantum state's conditioning on the CQ noise cannot be followed by a Gaussian update: the metric's \
         measurement of the field's quadratic observables L̂^ab resolves the state within a small fraction of a time \
         step, so the exact conditioned state is non-Gaussian here and the Gaussian state no longer represents it \
         (docs/quantum.md R4, the validity map). This regime is reached through the decoherence heating that \
         `cqgrav check` prints: raise cq.diffusion (D2) or lattice.spacing (h), or lower matter.mass (m), cq.beta or \
         time.t_end",
    )
}

/// One step of the dense field in a metric frozen at the coefficients `c` exactly as the stepper takes it
/// (`cq.frozen_drift`): the RK4 of the drift over dt, then the controller's test and, where needed, the refined
/// step (numerics/substep.rs) with the increments `dw` of step `step`. Returns the number of pieces.
#[allow(clippy::too_many_arguments)]
pub fn step_frozen_adaptive(
    model: &GaussianModel,
    c: &Coeffs,
    xbar: &mut [f64],
    gamma: &mut [f64],
    dt: f64,
    dw: &[f64],
    step: u64,
    noise: &NoiseParams,
    controller: &SubstepController,
) -> anyhow::Result<u32> {
    let rho0 = model.drift_stiffness(c, xbar, gamma);
    let (x0, g0) = (xbar.to_vec(), gamma.to_vec());
    model.drift_rk4(c, xbar, gamma, dt);
    let mut piece = (x0.clone(), g0.clone());
    let mut t = DenseSubsteps {
        model,
        c,
        xbar,
        gamma,
        step_start: (&x0, &g0),
        piece: &mut piece,
        noise,
        step,
        dt,
        prepared: None,
    };
    controller.finish_step(&mut t, dw, dt, rho0).map_err(unresolved_context)
}

impl QuantumField for DenseField {
    fn stage(&mut self, index: usize, u: &[f64], background: &[f64; 6], _: &dyn crate::numerics::site_domain::SiteDomain) -> anyhow::Result<Option<StageQuantum>> {
        self.stage_rhs(index, u, background).map(Some)
    }

    /// The RK4 combination of Γ (numerics/rk4.rs, as `evolve_stage::combine` does for the fields).
    fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        let next = if st.index == 1 { &mut self.gu2 } else { &mut self.gu1 };
        combine_f64(st, dt, &self.dg, &mut self.gy, &mut self.gacc, next);
    }

    /// The conditioning of this step on the increments dW (component-major, 6n) of x̄ (2n: φ̄ then π̄_φ) and Γ: the
    /// noise flow, or, where the controller requires it, the step again from its start in refined pieces.
    fn condition(&mut self, noise: &StepNoise<'_>, xbar: &mut [f64], _: &dyn crate::numerics::site_domain::SiteDomain) -> anyhow::Result<()> {
        let c = self.start.as_ref().expect("condition() after a step's stage 0");
        let mut t = DenseSubsteps {
            model: &self.model,
            c,
            xbar,
            gamma: &mut self.gy,
            step_start: (&self.x_step, &self.g_step),
            piece: &mut self.piece,
            noise: &self.noise,
            step: noise.step,
            dt: self.dt,
            prepared: None,
        };
        self.report.substeps = self.controller.finish_step(&mut t, noise.increments, self.dt, self.rho0).map_err(unresolved_context)?;
        Ok(())
    }

    fn save(&self) -> QuantumData {
        gamma_data(self.gy.clone(), self.model.sites())
    }

    fn restore(&mut self, q: &QuantumData) -> anyhow::Result<()> {
        let g = q.require("gamma", self.gy.len())?;
        self.gy.copy_from_slice(g);
        Ok(())
    }

    fn report(&self) -> QuantumStepReport {
        self.report
    }
}
