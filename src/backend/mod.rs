//! Time stepping backends. Both implement [`Stepper`] over the same discrete equations:
//! `cpu` (Rust twin, rayon) and `gpu` (wgpu/WGSL).
pub mod cpu;
pub mod gpu;
pub mod quantum;

use crate::config::{BackendChoice, Config, Precision};
use crate::numerics::lattice::Lattice;
use crate::numerics::stencil::Stencil;
use crate::physics::adm_rhs::RhsParams;
use crate::diagnostics::{ConstraintFields, Diagnostics};
use crate::state::State;

/// Everything that fixes the discrete equations of a run.
#[derive(Debug, Clone, Copy)]
pub struct StepperSetup {
    pub lattice: Lattice,
    pub stencil: Stencil,
    pub dissipation: f64,
    pub params: RhsParams<f64>,
    pub dt: f64,
    pub precision: Precision,
    /// Background metric ḡ_ab of the state's δg storage (state.rs), taken from the state by
    /// [`StepperSetup::with_background_of`].
    pub background: [f64; 6],
    /// CQ noise of π^ab (SPEC §3; issue 4): D2, β, kind, ℓ, seed. Off when D2 = 0.
    pub noise: crate::physics::cq_noise::NoiseParams,
    /// false = frozen drift (`cq.frozen_drift`, for tests): the deterministic RK4 update is skipped and each step
    /// only adds the noise increments to π^ab.
    pub drift: bool,
    /// The quantum scalar field's parameters (SPEC §4, §4.1); None for the classical field (`none`).
    pub quantum: Option<crate::physics::gaussian_forms::QuantumParams>,
    /// How the fluctuations are represented (`matter.representation`, SPEC §4.2; backend/quantum.rs).
    pub representation: crate::config::Representation,
    /// The `ensemble` representation's settings (members, localisation, control variate).
    pub ensemble: crate::physics::ensemble_dynamics::EnsembleParams,
    /// τ of the quantum update's sub-stepping controller (`cq.substep_tolerance`, numerics/substep.rs).
    pub substep_tolerance: f64,
}

impl StepperSetup {
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            lattice: Lattice::new(cfg.lattice.shape, cfg.lattice.spacing),
            stencil: Stencil::new(cfg.gravity.fd_order),
            dissipation: cfg.gravity.dissipation,
            params: RhsParams {
                lambda: cfg.gravity.cosmological_constant,
                mass: cfg.matter.mass,
                potential: crate::physics::potential::Polynomial::from_config(&cfg.matter),
                lapse: cfg.gauge.lapse,
                background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            },
            dt: cfg.dt(),
            precision: cfg.run.precision,
            background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            noise: crate::physics::cq_noise::NoiseParams {
                diffusion: cfg.cq.diffusion,
                beta: cfg.cq.beta,
                kind: cfg.cq.noise,
                correlation_length: cfg.cq.correlation_length,
                seed: cfg.run.seed,
            },
            drift: !cfg.cq.frozen_drift,
            substep_tolerance: cfg.cq.substep_tolerance,
            representation: cfg.matter.representation,
            ensemble: crate::physics::ensemble_dynamics::EnsembleParams {
                members: cfg.matter.members as usize,
                localization: cfg.matter.localization * cfg.lattice.spacing,
                control_variate: cfg.matter.control_variate,
                seed: cfg.run.seed,
                fluctuation_cutoff: cfg.initial.fluctuation_cutoff,
            },
            quantum: (cfg.matter.representation != crate::config::Representation::None).then_some(
                crate::physics::gaussian_forms::QuantumParams {
                    mass: cfg.matter.mass,
                    diffusion: cfg.cq.diffusion,
                    beta: cfg.cq.beta,
                    decoherence_excess: cfg.cq.decoherence_excess,
                    renormalize: cfg.matter.renormalization == crate::config::Renormalization::Vacuum,
                },
            ),
        }
    }
    /// The same setup with the state's background metric ḡ_ab.
    pub fn with_background_of(mut self, state: &State) -> Self {
        self.background = state.background;
        self.params.background = state.background;
        self
    }
    /// The ensemble with a non-quadratic potential (issue 13): its member evolution exists on the CPU only.
    pub fn cpu_only(&self) -> bool {
        self.representation == crate::config::Representation::Ensemble && self.params.potential.c[1..].iter().any(|&c| c != 0.0)
    }
    /// The sub-stepping controller of the quantum update (numerics/substep.rs).
    pub fn substep_controller(&self) -> crate::numerics::substep::SubstepController {
        crate::numerics::substep::SubstepController::new(
            self.substep_tolerance,
            crate::physics::gaussian_dynamics::MAX_CONDITIONING_STRENGTH,
        )
    }
    /// t = step·dt (computed, not accumulated, so restarts reproduce it exactly).
    pub fn time_at(&self, step: u64) -> f64 {
        step as f64 * self.dt
    }
}

/// A backend that advances the state by whole RK4 steps.
pub trait Stepper {
    fn advance(&mut self, steps: u64) -> anyhow::Result<()>;
    /// The current state (converted to f64), with its step and time.
    fn download(&mut self) -> anyhow::Result<State>;
    fn upload(&mut self, state: &State);
    fn description(&self) -> String;
    /// The discrete equations this stepper integrates.
    fn setup(&self) -> &StepperSetup;
    /// SPEC §6 diagnostics of the current state. Default: download and evaluate on the host (CPU twin).
    fn diagnostics(&mut self) -> anyhow::Result<Diagnostics> {
        host_diagnostics(self)
    }
    // ---- CQ noise (issue 4) ----
    /// The CQ noise increments dW^ab of the last step taken (SPEC §3): `Some(v)` with v of length 6·n, component k
    /// (storage order xx, xy, xz, yy, yz, zz) of site i at `v[k·n + i]`, converted to f64; `None` when the noise
    /// is off (D2 = 0). The increments of step m → m+1 are drawn at its start from g, N at t_m (before the RK4
    /// update of the drift) and added to π^ab at its end; they are what the quantum conditioning of SPEC §4.1
    /// consumes. Zeros before the first step after construction. On the GPU the same data stays on the device
    /// ([`gpu::GpuStepper::noise_buffer`]).
    fn noise_increments(&mut self) -> anyhow::Result<Option<Vec<f64>>> {
        Ok(None)
    }
    /// Realised statistics of the last step's increments (`noise_*` timeseries columns); zeros when D2 = 0.
    fn noise_diagnostics(&mut self) -> anyhow::Result<crate::diagnostics::NoiseDiagnostics> {
        Ok(Default::default())
    }
    // ---- end CQ noise ----
    /// What the last step's quantum update did (sub-steps of the controller; backend/quantum.rs).
    fn quantum_report(&mut self) -> quantum::QuantumStepReport {
        Default::default()
    }
    /// The health check of every step (issue 15): the first step since the last call after which the sum of all
    /// state values (the 64-wide tree of [`cpu::health::state_sum`], on the GPU the same reduction on the device)
    /// was not finite — a NaN or an infinity anywhere in the state — or None. The CPU stops advancing at that
    /// step; the GPU finishes the batch it had submitted (the state is then a few steps later).
    fn take_first_nonfinite(&mut self) -> anyhow::Result<Option<u64>> {
        Ok(None)
    }
    /// Constraint fields 𝓗, 𝓗_a of the current state (for snapshots). Default: on the host (CPU twin).
    fn constraint_fields(&mut self) -> anyhow::Result<ConstraintFields> {
        host_constraint_fields(self)
    }
    /// A domain-decomposed stepper's own z-planes of the state and of its constraint fields, for the per-rank
    /// snapshot and checkpoint files (issue 18, io/parts.rs); None for a stepper that holds the whole lattice.
    fn owned_planes(&mut self) -> anyhow::Result<Option<crate::parallel::slab::OwnedPlanes>> {
        Ok(None)
    }
}

/// Diagnostics evaluated on the host from the downloaded state (the CPU twin; with a dense quantum field this is
/// what both backends use, since the quantum terms need Γ).
pub fn host_diagnostics<S: Stepper + ?Sized>(st: &mut S) -> anyhow::Result<Diagnostics> {
    let s = st.download()?;
    let mut d = crate::diagnostics::diagnostics(&s, st.setup());
    d.noise = st.noise_diagnostics()?;
    d.quantum_substeps = st.quantum_report().substeps as f64;
    Ok(d)
}

/// Constraint fields evaluated on the host from the downloaded state.
pub fn host_constraint_fields<S: Stepper + ?Sized>(st: &mut S) -> anyhow::Result<ConstraintFields> {
    let s = st.download()?;
    Ok(crate::diagnostics::constraint_field_values(&s, st.setup()))
}

/// A CPU stepper in the requested precision.
pub fn cpu_stepper(setup: StepperSetup, state: &State) -> Box<dyn Stepper> {
    match setup.precision {
        Precision::F32 => Box::new(cpu::CpuStepper::<f32>::new(setup, state)),
        Precision::F64 => Box::new(cpu::CpuStepper::<f64>::new(setup, state)),
    }
}

/// A CPU stepper, or the error of setting up its quantum field (`dense`: the initial vacuum needs m > 0).
pub fn try_cpu_stepper(setup: StepperSetup, state: &State) -> anyhow::Result<Box<dyn Stepper>> {
    Ok(match setup.precision {
        Precision::F32 => Box::new(cpu::CpuStepper::<f32>::try_new(setup, state)?),
        Precision::F64 => Box::new(cpu::CpuStepper::<f64>::try_new(setup, state)?),
    })
}

/// The stepper the config asks for (`run.backend`), and a note on the choice for the user. `auto` takes a
/// hardware GPU adapter; when the only adapter is a software device (device type `Cpu`: lavapipe, SwiftShader,
/// WARP) it runs on the CPU backend, which is much faster than a software rasteriser (40× on the issue-16
/// default example), and says so; `run.backend = "gpu"` still uses the software device when asked.
pub fn make_stepper(cfg: &Config, state: &State) -> anyhow::Result<(Box<dyn Stepper>, String)> {
    let setup = StepperSetup::from_config(cfg).with_background_of(state);
    let threads = rayon::current_num_threads();
    let cpu = |why: String| -> anyhow::Result<(Box<dyn Stepper>, String)> {
        Ok((try_cpu_stepper(setup, state)?, format!("CPU backend ({why}), {threads} threads")))
    };
    match cfg.run.backend {
        BackendChoice::Cpu => cpu("run.backend = \"cpu\"".into()),
        BackendChoice::Gpu => {
            let st = gpu::GpuStepper::new(setup, state)?;
            let note = format!("GPU backend: {}", st.context().describe());
            Ok((Box::new(st), note))
        }
        // issue 13: the non-linear (classical-statistical) ensemble has no GPU twin yet
        BackendChoice::Auto if setup.cpu_only() => cpu("auto: the ensemble with a non-quadratic potential runs on the CPU".into()),
        BackendChoice::Auto => match crate::gpu::GpuContext::new(setup.precision) {
            Ok(ctx) if !ctx.is_software() => match gpu::GpuStepper::with_context(ctx, setup, state) {
                Ok(st) => {
                    let note = format!("GPU backend (auto): {}", st.context().describe());
                    Ok((Box::new(st), note))
                }
                Err(e) => cpu(format!("auto: the GPU could not be set up — {e:#}")),
            },
            Ok(ctx) => cpu(format!(
                "auto: the only GPU adapter, {}, is a software device, slower than the CPU backend; run.backend = \"gpu\" uses it",
                ctx.describe()
            )),
            Err(e) => cpu(format!("auto: no usable GPU — {e:#}")),
        },
    }
}
