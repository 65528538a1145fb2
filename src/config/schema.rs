//! The configuration schema of SPEC §10. Every field here is a documented TOML key (docs/config.md).
//! Unknown keys are rejected by serde (`deny_unknown_fields`); value ranges are checked in `validate.rs`.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub lattice: LatticeConfig,
    pub time: TimeConfig,
    pub gauge: GaugeConfig,
    pub gravity: GravityConfig,
    pub matter: MatterConfig,
    pub cq: CqConfig,
    pub initial: InitialConfig,
    pub output: OutputConfig,
    pub run: RunConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatticeConfig {
    /// N1 N2 N3 (x fastest). A direction of size 1 is homogeneous (derivatives along it vanish).
    pub shape: [usize; 3],
    /// Coordinate spacing h.
    pub spacing: f64,
}
impl Default for LatticeConfig {
    fn default() -> Self {
        Self { shape: [16, 16, 16], spacing: 0.1 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// dt = courant * h (ignored when `dt` is given).
    pub courant: f64,
    /// Explicit time step; overrides `courant`.
    pub dt: Option<f64>,
    /// End time (ignored when `steps` is given).
    pub t_end: f64,
    /// Explicit number of steps; overrides `t_end`.
    pub steps: Option<u64>,
}
impl Default for TimeConfig {
    fn default() -> Self {
        Self { courant: 0.25, dt: None, t_end: 1.0, steps: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Lapse {
    #[default]
    Geodesic,
    Harmonic,
    OnePlusLog,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GaugeConfig {
    pub lapse: Lapse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GravityConfig {
    /// Finite-difference order: 2 or 4.
    pub fd_order: u32,
    /// Kreiss–Oliger dissipation strength σ ≥ 0.
    pub dissipation: f64,
    /// Cosmological constant Λ.
    pub cosmological_constant: f64,
}
impl Default for GravityConfig {
    fn default() -> Self {
        Self { fd_order: 4, dissipation: 0.0, cosmological_constant: 0.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Representation {
    #[default]
    None,
    Dense,
    Fourier,
    Ensemble,
}

impl Representation {
    /// The TOML value (`matter.representation`).
    pub fn name(self) -> &'static str {
        match self {
            Representation::None => "none",
            Representation::Dense => "dense",
            Representation::Fourier => "fourier",
            Representation::Ensemble => "ensemble",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Renormalization {
    #[default]
    Vacuum,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatterConfig {
    /// Scalar field mass m ≥ 0.
    pub mass: f64,
    pub representation: Representation,
    /// Ensemble size M (representation = "ensemble").
    pub members: u32,
    pub renormalization: Renormalization,
    /// Ensemble covariance localisation (representation = "ensemble"): Gaspari–Cohn half-width c in lattice
    /// spacings (the taper vanishes beyond 2c); 0 = no localisation (the whole box).
    pub localization: f64,
    /// Ensemble: estimate the back-reaction with the homogeneous control variate (shadow members).
    pub control_variate: bool,
    /// λ in V ⊃ ¼ λ φ⁴ (issue 13; physics/potential.rs).
    pub quartic_coupling: f64,
    /// c_0 … c_8 in V ⊃ Σ_n c_n φⁿ (issue 13; at most 9 coefficients; empty = none).
    pub potential: Vec<f64>,
}
impl Default for MatterConfig {
    fn default() -> Self {
        Self {
            mass: 1.0,
            representation: Representation::None,
            members: 64,
            renormalization: Renormalization::Vacuum,
            localization: 1.0,
            control_variate: true,
            quartic_coupling: 0.0,
            potential: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseKind {
    #[default]
    Tensor,
    TraceOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CqConfig {
    /// D2 ≥ 0 (0 = classical GR + field, no CQ noise).
    pub diffusion: f64,
    /// β ≤ 1/3.
    pub beta: f64,
    pub noise: NoiseKind,
    /// ℓ ≥ 0 (0 = white).
    pub correlation_length: f64,
    /// C_extra as a multiple of ¼𝒟⁻¹ (≥ 0).
    pub decoherence_excess: f64,
    /// Testing: switch off the deterministic drift (each step only adds the noise to π^ab).
    pub frozen_drift: bool,
    /// τ of the quantum update's sub-stepping controller (numerics/substep.rs), 0 < τ ≤ 1/4.
    pub substep_tolerance: f64,
}
/// The default τ of the sub-stepping controller (docs/quantum.md §4: it keeps the purity of the issue-12 cases
/// within 1e-6 over 100 steps).
pub const DEFAULT_SUBSTEP_TOLERANCE: f64 = 0.05;
impl Default for CqConfig {
    fn default() -> Self {
        Self {
            diffusion: 0.0,
            beta: 0.0,
            noise: NoiseKind::Tensor,
            correlation_length: 0.0,
            decoherence_excess: 0.0,
            frozen_drift: false,
            substep_tolerance: DEFAULT_SUBSTEP_TOLERANCE,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum InitialKind {
    Minkowski,
    LinearWave,
    GaugeWave,
    #[default]
    Frw,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitialConfig {
    pub kind: InitialKind,
    /// frw: a0 (g = a0² δ), > 0.
    pub scale_factor: f64,
    /// frw: homogeneous mean field φ̄.
    pub phi: f64,
    /// frw: dφ̄/dt.
    pub phi_dot: f64,
    /// waves: amplitude A (wavelength = box length along x).
    pub amplitude: f64,
    /// ensemble: keep the initial vacuum fluctuations only at lattice momenta |k| ≤ this (coordinate units; 0 =
    /// all), the UV cutoff of lattice cosmology (issue 13; docs/cosmology.md §2).
    pub fluctuation_cutoff: f64,
}
impl Default for InitialConfig {
    fn default() -> Self {
        Self { kind: InitialKind::Frw, scale_factor: 1.0, phi: 0.0, phi_dot: 0.0, amplitude: 1e-8, fluctuation_cutoff: 0.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    pub file: PathBuf,
    /// Steps between timeseries rows / progress summaries (≥ 1).
    pub timeseries_every: u64,
    /// Steps between snapshots, 0 = none.
    pub snapshot_every: u64,
    /// Steps between checkpoints, 0 = none.
    pub checkpoint_every: u64,
    /// Longest wall time (seconds) between two flushes of the main file: what a crash can lose (0 = at every
    /// timeseries row).
    pub flush_interval: f64,
    /// Steps between rows of the `/spectra` datasets (SPEC §11; issue 13), 0 = none.
    pub spectra_every: u64,
}
impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            file: PathBuf::from("cqgrav.h5"),
            timeseries_every: 1,
            snapshot_every: 0,
            checkpoint_every: 0,
            flush_interval: 2.0,
            spectra_every: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    #[default]
    Auto,
    Gpu,
    Cpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    F32,
    #[default]
    F64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    pub backend: BackendChoice,
    pub precision: Precision,
    pub seed: u64,
}
impl Default for RunConfig {
    fn default() -> Self {
        Self { backend: BackendChoice::Auto, precision: Precision::F64, seed: 1 }
    }
}
