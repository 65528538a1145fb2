//! The quantum scalar field's representations (SPEC §4.2) behind one interface — cqgrav's "sectors" (pystella's
//! `Sector`, ../STYLE.md). A representation supplies, on each backend, its contribution to every RK4 stage (the
//! mean field's ∂t x̄ and the back-reaction −⟨L̂^ab⟩_ren on π^ab), its conditioning on the step's noise, its
//! per-site diagnostics, its snapshot field ⟨δφ²⟩ and its checkpoint arrays. The steppers (backend/cpu,
//! backend/gpu), the run driver and the output call these and never ask which representation they hold.
//!
//! | `matter.representation` | fluctuations stored as | CPU | GPU |
//! | --- | --- | --- | --- |
//! | `none` | nothing (classical mean field) | [`ClassicalField`] | classical kernels only |
//! | `dense` | Γ, 2n × 2n | backend/cpu/dense_field.rs | backend/gpu/dense_field.rs |
//! | `fourier` | a 2×2 covariance per lattice momentum | backend/cpu/fourier_field.rs | backend/gpu/fourier_field.rs |
//! | `ensemble` | M member fields δ_s | backend/cpu/ensemble_field.rs | backend/gpu/ensemble_field.rs |
use super::gpu::quantum::{FieldBuffers, GpuClassicalField, GpuQuantumField};
use super::StepperSetup;
use crate::gpu::GpuContext;
use crate::numerics::rk4::Rk4Stage;
use crate::numerics::site_domain::SiteDomain;
use crate::physics::gaussian_dynamics::SiteQuantum;
use crate::state::{QuantumData, State};

/// The quantum part of one RK4 stage's right-hand side.
pub struct StageQuantum {
    /// ∂t x̄ (2n: φ̄ then π̄_φ); replaces the classical kernel's scalar-field right-hand side.
    pub dx: Vec<f64>,
    /// ⟨L̂^ab⟩_ren − ½x̄ᵀA_{ab}x̄ per site (stored components): subtracted from ∂t π^ab (the classical kernel has the
    /// mean-field part already).
    pub br: Vec<[f64; 6]>,
}

/// What the last step's quantum update did, for the timeseries (`quantum_substeps`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QuantumStepReport {
    /// The sub-steps of the last step's quantum update: for `dense` the pieces the sub-stepping controller divided
    /// it into (numerics/substep.rs: 1 = the step as it is), for `fourier` and `ensemble` the sub-steps of their
    /// noise flow; 0 = no conditioning.
    pub substeps: u32,
}

/// A step's CQ noise as the quantum conditioning receives it.
#[derive(Debug, Clone, Copy)]
pub struct StepNoise<'a> {
    /// dW^ab of the step (component-major, 6n, f64)
    pub increments: &'a [f64],
    /// the step m of m → m + 1 (the key of its increments and of their Brownian-bridge refinement,
    /// backend/cpu/cq_noise.rs `bridge_draw`)
    pub step: u64,
}

/// The quantum field's part of a timeseries row (SPEC §6) of a stored state.
#[derive(Debug, Clone)]
pub struct QuantumDiagnostics {
    /// per site of the state's lattice (on a slab: every local site; the owned ones count)
    pub sites: Vec<SiteQuantum>,
    /// ⟨δφ²⟩'s box mean over the whole lattice
    pub phi2_mean: f64,
    /// `state_min_symplectic`
    pub min_symplectic: f64,
    /// `backreaction_error`
    pub backreaction_error: f64,
}

/// The host (CPU, f64) side of a representation: the state of the fluctuations and their equations.
pub trait QuantumField: Send {
    /// The quantum part of RK4 stage `index` at the classical stage input `u` (f64, SoA layout of state.rs, δg
    /// slots with `background`; on a slab its ghost planes are fresh, issue 18); None for the classical
    /// representation (the classical kernel's scalar field right-hand side stands). `domain`: where the field's
    /// lattice sits in the run's (numerics/site_domain.rs; the whole lattice on one process).
    fn stage(&mut self, index: usize, u: &[f64], background: &[f64; 6], domain: &dyn SiteDomain) -> anyhow::Result<Option<StageQuantum>>;
    /// The RK4 combination of the fluctuations for stage `st` (numerics/rk4.rs, as the fields').
    fn combine(&mut self, st: &Rk4Stage, dt: f64);
    /// Conditioning on the step's noise increments dW (`noise.increments`, component-major, 6n: the very increments
    /// added to π^ab), updating the mean x̄ (2n) too.
    /// On a slab the increments' ghost planes are fresh.
    fn condition(&mut self, noise: &StepNoise<'_>, xbar: &mut [f64], domain: &dyn SiteDomain) -> anyhow::Result<()>;
    /// The fluctuations as checkpoint arrays (empty for `none`).
    fn save(&self) -> QuantumData;
    /// Continue from saved arrays (a checkpoint, or another stepper's state).
    fn restore(&mut self, q: &QuantumData) -> anyhow::Result<()>;
    /// The last step's report.
    fn report(&self) -> QuantumStepReport {
        QuantumStepReport::default()
    }
}

/// A representation as a kind (`matter.representation`): how to build its fields and how to evaluate a stored
/// state. One static instance per representation ([`representation`]).
pub trait Representation: Sync {
    /// `matter.representation`
    fn name(&self) -> &'static str;
    /// The CPU field for `state` (its stored fluctuations, or the initial lattice vacuum when it has none).
    fn cpu(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Box<dyn QuantumField>>;
    /// The GPU field for `state`, reading and writing the stepper's buffers `f`.
    fn gpu(&self, ctx: &GpuContext, setup: &StepperSetup, state: &State, f: FieldBuffers<'_>) -> anyhow::Result<Box<dyn GpuQuantumField>>;
    /// Per-site fluctuation terms (⟨δφ²⟩, renormalised energy density, momentum density) of a stored state; None
    /// without fluctuations.
    fn site_terms(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<Vec<SiteQuantum>>>;
    /// [`Self::site_terms`] of a state on the `domain`'s local lattice (issue 18: a slab with fresh ghost planes;
    /// every local site, the owned ones count). Default: the whole lattice's, for the representations not split.
    fn site_terms_in(&self, setup: &StepperSetup, state: &State, _domain: &dyn SiteDomain) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        self.site_terms(setup, state)
    }
    /// The physicality monitor `state_min_symplectic` of a stored state (NaN without fluctuations): 1 for a pure
    /// state, < 1 when Γ + iΩ/2 ⪰ 0 is violated (docs/quantum.md says what each representation reports).
    fn physicality(&self, setup: &StepperSetup, state: &State) -> f64;
    /// The statistical error (one standard deviation) of the box-mean back-reaction trace g_ab⟨L̂^ab⟩_ren of a stored
    /// state (`backreaction_error` column): 0 for the exact representations.
    fn backreaction_error(&self, _setup: &StepperSetup, _state: &State) -> f64 {
        0.0
    }
    /// The quantum part of a timeseries row of a stored state on the `domain`'s local lattice (None without
    /// fluctuations, or when the state's metric is not valid for them). Default: the whole-lattice evaluations above,
    /// for the representations that are not split over ranks.
    fn quantum_diagnostics(&self, setup: &StepperSetup, state: &State, domain: &dyn SiteDomain) -> Option<QuantumDiagnostics> {
        let sites = self.site_terms_in(setup, state, domain).ok().flatten()?;
        let phi2: Vec<f64> = sites.iter().map(|s| s.phi2).collect();
        Some(QuantumDiagnostics {
            phi2_mean: crate::numerics::site_domain::box_means(domain, &[&phi2])[0],
            min_symplectic: self.physicality(setup, state),
            backreaction_error: self.backreaction_error(setup, state),
            sites,
        })
    }
    /// The value of `state_min_symplectic` below which the run stops as unphysical.
    fn physicality_limit(&self, _setup: &StepperSetup) -> f64 {
        1.0 - crate::diagnostics::PHYSICALITY_TOLERANCE
    }
    /// Issue 18: the planes of halo a z-slab of this representation's CPU field needs around its owned planes
    /// (the reach of its stage and conditioning operators; 0 for the classical field), or why it cannot be split.
    fn slab_halo(&self, _setup: &StepperSetup) -> Result<usize, String> {
        Err(format!("the \"{}\" representation is not domain-decomposed", self.name()))
    }
    /// Issue 18: the names of the checkpoint arrays laid out over the sites, shape (fields, N3, N2, N1, width): a
    /// slab holds its planes of them (the others are held whole on every rank).
    fn site_arrays(&self) -> &'static [&'static str] {
        &[]
    }
    /// The checkpoint arrays a fresh field of `state` starts from (its stored ones, or the initial state the CPU field
    /// samples); a representation may override it to skip building the field's work arrays.
    fn initial_arrays(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<QuantumData> {
        Ok(self.cpu(setup, state)?.save())
    }
    /// Issue 18: the CPU field of one rank's slab: `setup` on the slab's local lattice (owned and ghost planes),
    /// `state` its local state with its planes of the [`Self::site_arrays`], `global` the run's lattice.
    fn cpu_slab(&self, _setup: &StepperSetup, _state: &State, _global: crate::numerics::lattice::Lattice) -> anyhow::Result<Box<dyn QuantumField>> {
        anyhow::bail!("the \"{}\" representation is not domain-decomposed", self.name())
    }
    /// Issue 18: whether [`Self::gpu`] builds the field on a rank's z-slab (`FieldBuffers::domain` a slab's, the
    /// state its local state with the whole lattice's fluctuations; the halo is [`Self::slab_halo`]'s). Default: no.
    fn gpu_slab(&self) -> bool {
        false
    }
    /// The fluctuations' per-mode powers ⟨|δφ̃_k|²⟩, ⟨|δπ̃_k|²⟩ of a stored state (the spectra, SPEC §11;
    /// spectra/quantum.rs); None without fluctuations.
    fn mode_power(&self, _setup: &StepperSetup, _state: &State) -> anyhow::Result<Option<crate::spectra::quantum::QuantumPower>> {
        Ok(None)
    }
}

/// The representation of a setup.
pub fn representation(setup: &StepperSetup) -> &'static dyn Representation {
    use crate::config::Representation as R;
    match setup.representation {
        R::None => &Classical,
        R::Dense => &super::cpu::dense_field::Dense,
        R::Fourier => &super::cpu::fourier_field::Fourier,
        R::Ensemble => &super::cpu::ensemble_field::Ensemble,
    }
}

/// `none`: the classical scalar mean field, no fluctuations.
pub struct Classical;

/// The classical field's (empty) quantum part.
pub struct ClassicalField;

impl QuantumField for ClassicalField {
    fn stage(&mut self, _: usize, _: &[f64], _: &[f64; 6], _: &dyn SiteDomain) -> anyhow::Result<Option<StageQuantum>> {
        Ok(None)
    }
    fn combine(&mut self, _: &Rk4Stage, _: f64) {}
    fn condition(&mut self, _: &StepNoise<'_>, _: &mut [f64], _: &dyn SiteDomain) -> anyhow::Result<()> {
        Ok(())
    }
    fn save(&self) -> QuantumData {
        QuantumData::default()
    }
    fn restore(&mut self, _: &QuantumData) -> anyhow::Result<()> {
        Ok(())
    }
}

impl Representation for Classical {
    fn name(&self) -> &'static str {
        "none"
    }
    fn cpu(&self, _: &StepperSetup, _: &State) -> anyhow::Result<Box<dyn QuantumField>> {
        Ok(Box::new(ClassicalField))
    }
    fn gpu(&self, _: &GpuContext, _: &StepperSetup, _: &State, _: FieldBuffers<'_>) -> anyhow::Result<Box<dyn GpuQuantumField>> {
        Ok(Box::new(GpuClassicalField))
    }
    fn site_terms(&self, _: &StepperSetup, _: &State) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        Ok(None)
    }
    fn physicality(&self, _: &StepperSetup, _: &State) -> f64 {
        f64::NAN
    }
    fn slab_halo(&self, _: &StepperSetup) -> Result<usize, String> {
        Ok(0)
    }
    fn cpu_slab(&self, setup: &StepperSetup, state: &State, _: crate::numerics::lattice::Lattice) -> anyhow::Result<Box<dyn QuantumField>> {
        self.cpu(setup, state)
    }
    fn gpu_slab(&self) -> bool {
        true
    }
}
