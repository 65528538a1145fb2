//! The configuration of `cqgrav toy` (TOML; every key documented in docs/toy.md; loaded by the project's
//! loader, so unknown keys, wrong types and bad values are errors naming the dotted key).
use super::continuous::{discrete_diffusion, Continuous, TRADEOFF};
use super::discrete::Discrete;
use super::ensemble::{HistogramSpec, Realisation, ToySetup};
use super::model::{LindbladChoice, SystemKind, ToyModel};
use super::trajectory::Initial;
use crate::config::{fmt_num, keys, load_schema_lenient, ConfigError, KeyInfo, LoadedConfig, Problem, Schema};
use nalgebra::DVector;
use num_complex::Complex64;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in example `cqgrav toy` runs without CONFIG: the paper's qubit, discrete realisation.
pub const DEFAULT_TOML: &str = include_str!("../../data/examples/toy/qubit-particle.toml");
const DEFAULT_ORIGIN: &str = "<built-in toy example data/examples/toy/qubit-particle.toml>";

/// Oscillator levels by default, and at most.
pub const DEFAULT_LEVELS: usize = 32;
pub const MAX_LEVELS: usize = 512;
/// Largest norm a truncated initial coherent state may lose.
pub const INITIAL_TRUNCATION_TOLERANCE: f64 = 1e-10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ToyConfig {
    pub model: ModelConfig,
    pub realisation: RealisationConfig,
    pub initial: ToyInitialConfig,
    pub time: ToyTimeConfig,
    pub ensemble: EnsembleConfig,
    pub histogram: HistogramConfig,
    pub output: ToyOutputConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub kind: SystemKind,
    pub omega: f64,
    pub coupling: f64,
    pub mass: f64,
    pub lindblad: LindbladChoice,
    /// Oscillator only (default [`DEFAULT_LEVELS`]).
    pub levels: Option<usize>,
}
impl Default for ModelConfig {
    fn default() -> Self {
        Self { kind: SystemKind::QubitParticle, omega: 1.0, coupling: 1.0, mass: 1.0, lindblad: LindbladChoice::Diagonal, levels: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RealisationKind {
    Discrete,
    Continuous,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealisationConfig {
    pub kind: RealisationKind,
    pub tau: f64,
    /// Continuous only: D2 (default ωB²τ, Eq. (82)).
    pub diffusion: Option<f64>,
    /// Continuous only: x in D0 = (1 + x)/(4 D2) (default 0, the saturated trade-off).
    pub decoherence_excess: Option<f64>,
}
impl Default for RealisationConfig {
    fn default() -> Self {
        Self { kind: RealisationKind::Discrete, tau: 0.05, diffusion: None, decoherence_excess: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ToyInitialConfig {
    pub q: f64,
    pub p: f64,
    pub sigma_q: f64,
    pub sigma_p: f64,
    /// Qubit only: |c↑|² (default ½).
    pub up_probability: Option<f64>,
    /// Qubit only: arg c↑ − arg c↓ (default 0).
    pub phase: Option<f64>,
    /// Oscillator only: the coherent amplitude β = [Re, Im] (default [1, 0]).
    pub coherent: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToyTimeConfig {
    pub t_end: f64,
    pub samples: u64,
}
impl Default for ToyTimeConfig {
    fn default() -> Self {
        Self { t_end: 2.0, samples: 200 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleConfig {
    pub trajectories: u64,
    pub saved: u64,
    pub seed: u64,
    pub outcome_threshold: f64,
}
impl Default for EnsembleConfig {
    fn default() -> Self {
        Self { trajectories: 10_000, saved: 40, seed: 1, outcome_threshold: 0.99 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistogramConfig {
    pub q_bins: usize,
    pub p_bins: usize,
    pub q_range: Option<[f64; 2]>,
    pub p_range: Option<[f64; 2]>,
}
impl Default for HistogramConfig {
    fn default() -> Self {
        Self { q_bins: 64, p_bins: 64, q_range: None, p_range: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToyOutputConfig {
    pub file: PathBuf,
}
impl Default for ToyOutputConfig {
    fn default() -> Self {
        Self { file: PathBuf::from("toy.h5") }
    }
}

impl Schema for ToyConfig {
    const KEYS: &'static [KeyInfo] = keys![
        "model"."kind" => "one of \"qubit-particle\", \"oscillator-particle\"",
        "model"."omega" => "a number ω > 0",
        "model"."coupling" => "a finite number B != 0",
        "model"."mass" => "a number m > 0",
        "model"."lindblad" => "one of \"diagonal\", \"raising-lowering\"",
        "model"."levels" => "an integer from 2 to 512 (oscillator-particle only)",
        "realisation"."kind" => "one of \"discrete\", \"continuous\"",
        "realisation"."tau" => "a number τ > 0",
        "realisation"."diffusion" => "a number D2 > 0 (continuous only)",
        "realisation"."decoherence_excess" => "a number >= 0 (continuous only)",
        "initial"."q" => "a finite number",
        "initial"."p" => "a finite number",
        "initial"."sigma_q" => "a number >= 0",
        "initial"."sigma_p" => "a number >= 0",
        "initial"."up_probability" => "a number in [0, 1] (qubit-particle only)",
        "initial"."phase" => "a finite number (radians; qubit-particle only)",
        "initial"."coherent" => "an array [Re β, Im β] of 2 finite numbers (oscillator-particle only)",
        "time"."t_end" => "a number > 0",
        "time"."samples" => "an integer from 1 to 1000000",
        "ensemble"."trajectories" => "an integer from 1 to 4294967295",
        "ensemble"."saved" => "an integer from 0 to ensemble.trajectories",
        "ensemble"."seed" => "an integer >= 0",
        "ensemble"."outcome_threshold" => "a number in (0.5, 1]",
        "histogram"."q_bins" => "an integer from 1 to 4096",
        "histogram"."p_bins" => "an integer from 1 to 4096",
        "histogram"."q_range" => "an array [lo, hi] of finite numbers, lo < hi",
        "histogram"."p_range" => "an array [lo, hi] of finite numbers, lo < hi",
        "output"."file" => "a non-empty string (file path)",
    ];
    const FOREIGN_TABLES: &'static [(&'static str, &'static str)] = &[
        ("lattice", "this is a lattice-run configuration: run it with `cqgrav run FILE`"),
        ("cq", "this is a lattice-run configuration: run it with `cqgrav run FILE`"),
        ("gravity", "this is a lattice-run configuration: run it with `cqgrav run FILE`"),
    ];
}

/// Loads (or, without `path`, the built-in example), applies `--set`, validates: every problem at once.
pub fn load(path: Option<&Path>, sets: &[String]) -> Result<LoadedConfig<ToyConfig>, ConfigError> {
    let (loaded, mut problems) = load_schema_lenient::<ToyConfig>(path, (DEFAULT_ORIGIN, DEFAULT_TOML), sets)?;
    problems.extend(review(&loaded.config));
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// The value problems of a toy configuration.
pub fn review(c: &ToyConfig) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut bad = |key: &str, msg: String| p.push(Problem::new(key, msg));
    let qubit = c.model.kind == SystemKind::QubitParticle;
    let m = &c.model;
    if !(m.omega.is_finite() && m.omega > 0.0) {
        bad("model.omega", format!("model.omega = {} must be a finite number > 0 (the level splitting ω)", fmt_num(m.omega)));
    }
    if !(m.coupling.is_finite() && m.coupling != 0.0) {
        bad("model.coupling", format!("model.coupling = {} must be a finite number != 0 (B in B(q) = Bq; B = 0 decouples the particle)", fmt_num(m.coupling)));
    }
    if !(m.mass.is_finite() && m.mass > 0.0) {
        bad("model.mass", format!("model.mass = {} must be a finite number > 0", fmt_num(m.mass)));
    }
    match (qubit, m.levels) {
        (true, Some(_)) => bad("model.levels", "model.levels applies to model.kind = \"oscillator-particle\" only (the qubit has 2 levels)".into()),
        (false, Some(l)) if !(2..=MAX_LEVELS).contains(&l) => {
            bad("model.levels", format!("model.levels = {l} must be from 2 to {MAX_LEVELS} (the oscillator's Fock truncation)"))
        }
        _ => {}
    }
    let r = &c.realisation;
    let continuous = r.kind == RealisationKind::Continuous;
    if !(r.tau.is_finite() && r.tau > 0.0) {
        bad("realisation.tau", format!("realisation.tau = {} must be a finite number > 0 (jumps of size τB at rate ω/τ, Eq. (78))", fmt_num(r.tau)));
    }
    if let Some(d2) = r.diffusion {
        if !continuous {
            bad("realisation.diffusion", "realisation.diffusion applies to realisation.kind = \"continuous\" only (the discrete realisation's momentum diffusion is ωB²τ, Eq. (82))".into());
        } else if !(d2.is_finite() && d2 > 0.0) {
            bad("realisation.diffusion", format!("realisation.diffusion = {} must be a finite number > 0 (D2, E[dp²] = D2 dt)", fmt_num(d2)));
        }
    }
    if let Some(x) = r.decoherence_excess {
        if !continuous {
            bad("realisation.decoherence_excess", "realisation.decoherence_excess applies to realisation.kind = \"continuous\" only (the discrete realisation decoheres at ω/τ, Eq. (80))".into());
        } else if !x.is_finite() {
            bad("realisation.decoherence_excess", format!("realisation.decoherence_excess = {x} must be a finite number >= 0"));
        } else if x < 0.0 {
            bad(
                "realisation.decoherence_excess",
                format!(
                    "realisation.decoherence_excess = {} puts the decoherence below the decoherence–diffusion trade-off D0·D2 >= {TRADEOFF} (D0 = (1 + x)/(4 D2)): the continuous master equation is then not completely positive (the cq-state loses positivity, docs/toy.md); use x >= 0",
                    fmt_num(x)
                ),
            );
        }
    }
    if continuous && m.lindblad == LindbladChoice::RaisingLowering {
        bad("model.lindblad", "model.lindblad = \"raising-lowering\" applies to the discrete realisation; the continuous realisation's Lindblad operator is L = dH/dq = B·H_m (the diagonal choice), docs/toy.md".into());
    }
    let i = &c.initial;
    for (key, v) in [("initial.q", i.q), ("initial.p", i.p)] {
        if !v.is_finite() {
            bad(key, format!("{key} = {v} must be a finite number"));
        }
    }
    for (key, v) in [("initial.sigma_q", i.sigma_q), ("initial.sigma_p", i.sigma_p)] {
        if !(v.is_finite() && v >= 0.0) {
            bad(key, format!("{key} = {} must be a finite number >= 0 (the width of the initial Gaussian; 0 = sharp)", fmt_num(v)));
        }
    }
    if qubit {
        if let Some(pu) = i.up_probability {
            if !(0.0..=1.0).contains(&pu) {
                bad("initial.up_probability", format!("initial.up_probability = {} must be in [0, 1] (|c↑|²)", fmt_num(pu)));
            }
        }
        if i.phase.is_some_and(|v| !v.is_finite()) {
            bad("initial.phase", "initial.phase must be a finite number (radians)".into());
        }
        if i.coherent.is_some() {
            bad("initial.coherent", "initial.coherent applies to model.kind = \"oscillator-particle\" only; the qubit's state is initial.up_probability and initial.phase".into());
        }
    } else {
        for (key, given) in [("initial.up_probability", i.up_probability.is_some()), ("initial.phase", i.phase.is_some())] {
            if given {
                bad(key, format!("{key} applies to model.kind = \"qubit-particle\" only; the oscillator's state is initial.coherent"));
            }
        }
        let beta = i.coherent.unwrap_or([1.0, 0.0]);
        if !(beta[0].is_finite() && beta[1].is_finite()) {
            bad("initial.coherent", "initial.coherent must be 2 finite numbers [Re β, Im β]".into());
        } else if (2..=MAX_LEVELS).contains(&m.levels.unwrap_or(DEFAULT_LEVELS)) {
            let d = m.levels.unwrap_or(DEFAULT_LEVELS);
            let lost = 1.0 - coherent_state(Complex64::new(beta[0], beta[1]), d).norm_squared();
            if lost > INITIAL_TRUNCATION_TOLERANCE {
                bad("model.levels", format!("model.levels = {d} cuts the initial coherent state |β = {}{:+}i⟩: it loses {lost:.1e} of its norm (> {INITIAL_TRUNCATION_TOLERANCE:e}); raise model.levels or lower |β|", fmt_num(beta[0]), fmt_num(beta[1])));
            }
        }
    }
    let t = &c.time;
    if !(t.t_end.is_finite() && t.t_end > 0.0) {
        bad("time.t_end", format!("time.t_end = {} must be a finite number > 0", fmt_num(t.t_end)));
    }
    if !(1..=1_000_000).contains(&t.samples) {
        bad("time.samples", format!("time.samples = {} must be from 1 to 1000000 (output intervals)", t.samples));
    }
    let e = &c.ensemble;
    if !(1..=u32::MAX as u64).contains(&e.trajectories) {
        bad("ensemble.trajectories", format!("ensemble.trajectories = {} must be from 1 to {}", e.trajectories, u32::MAX));
    }
    if e.saved > e.trajectories {
        bad("ensemble.saved", format!("ensemble.saved = {} exceeds ensemble.trajectories = {}", e.saved, e.trajectories));
    }
    if !(e.outcome_threshold > 0.5 && e.outcome_threshold <= 1.0) {
        bad("ensemble.outcome_threshold", format!("ensemble.outcome_threshold = {} must be in (0.5, 1] (the population a level needs to count as the outcome)", fmt_num(e.outcome_threshold)));
    }
    let h = &c.histogram;
    for (key, n) in [("histogram.q_bins", h.q_bins), ("histogram.p_bins", h.p_bins)] {
        if !(1..=4096).contains(&n) {
            bad(key, format!("{key} = {n} must be from 1 to 4096"));
        }
    }
    for (key, range) in [("histogram.q_range", h.q_range), ("histogram.p_range", h.p_range)] {
        if let Some([lo, hi]) = range {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                bad(key, format!("{key} = [{}, {}] must be two finite numbers lo < hi", fmt_num(lo), fmt_num(hi)));
            }
        }
    }
    if c.output.file.as_os_str().is_empty() {
        bad("output.file", "output.file must be a non-empty path".into());
    }
    // memory of what is kept: the saved trajectories' timeseries and every trajectory's final state
    let d = if qubit { 2 } else { m.levels.unwrap_or(DEFAULT_LEVELS) } as f64;
    let block = d.min(super::ensemble::SAVED_BLOCK as f64);
    let bytes = e.saved as f64 * (t.samples as f64 + 1.0) * (d + 2.0 * block * block + 6.0) * 8.0 + e.trajectories as f64 * (d + 8.0) * 8.0;
    if bytes > 8.0 * (1u64 << 30) as f64 {
        bad("ensemble.saved", format!("the run would keep {:.1} GiB in memory (ensemble.saved × (time.samples + 1) timeseries, ensemble.trajectories final states): lower ensemble.saved, time.samples or ensemble.trajectories", bytes / (1u64 << 30) as f64));
    }
    p
}

/// The coherent state |β⟩ in the first `d` Fock states (not renormalised): ψ_n = e^{−|β|²/2} βⁿ/√n!.
pub fn coherent_state(beta: Complex64, d: usize) -> DVector<Complex64> {
    let mut psi = DVector::from_element(d, Complex64::new(0.0, 0.0));
    psi[0] = Complex64::new((-0.5 * beta.norm_sqr()).exp(), 0.0);
    for n in 1..d {
        psi[n] = psi[n - 1] * beta / (n as f64).sqrt();
    }
    psi
}

impl ToyConfig {
    /// The model, realisation, initial state, output times and ensemble of a validated configuration.
    pub fn setup(&self) -> ToySetup {
        let m = &self.model;
        let model = ToyModel {
            system: m.kind,
            levels: if m.kind == SystemKind::QubitParticle { 2 } else { m.levels.unwrap_or(DEFAULT_LEVELS) },
            omega: m.omega,
            coupling: m.coupling,
            mass: m.mass,
            lindblad: m.lindblad,
        };
        let r = &self.realisation;
        let realisation = match r.kind {
            RealisationKind::Discrete => Realisation::Discrete(Discrete::new(model.clone(), r.tau)),
            RealisationKind::Continuous => Realisation::Continuous(Continuous::new(
                model.clone(),
                r.diffusion.unwrap_or_else(|| discrete_diffusion(&model, r.tau)),
                r.decoherence_excess.unwrap_or(0.0),
            )),
        };
        let i = &self.initial;
        let mut psi = match m.kind {
            SystemKind::QubitParticle => {
                let pu = i.up_probability.unwrap_or(0.5);
                DVector::from_vec(vec![Complex64::new((1.0 - pu).sqrt(), 0.0), Complex64::from_polar(pu.sqrt(), i.phase.unwrap_or(0.0))])
            }
            SystemKind::OscillatorParticle => {
                let b = i.coherent.unwrap_or([1.0, 0.0]);
                coherent_state(Complex64::new(b[0], b[1]), model.levels)
            }
        };
        psi /= Complex64::new(psi.norm(), 0.0);
        let n = self.time.samples;
        let times = (0..=n).map(|k| self.time.t_end * k as f64 / n as f64).collect();
        ToySetup {
            model,
            realisation,
            initial: Initial { q: i.q, p: i.p, sigma_q: i.sigma_q, sigma_p: i.sigma_p, psi },
            times,
            trajectories: self.ensemble.trajectories as u32,
            saved: self.ensemble.saved as u32,
            seed: self.ensemble.seed,
            outcome_threshold: self.ensemble.outcome_threshold,
            histogram: HistogramSpec {
                q_bins: self.histogram.q_bins,
                p_bins: self.histogram.p_bins,
                q_range: self.histogram.q_range,
                p_range: self.histogram.p_range,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key of the schema is in KEYS, and docs/toy.md documents every key.
    #[test]
    fn keys_match_schema_and_docs() {
        let mut c = ToyConfig::default();
        c.model.levels = Some(4);
        c.realisation.diffusion = Some(1.0);
        c.realisation.decoherence_excess = Some(0.0);
        c.initial.up_probability = Some(0.5);
        c.initial.phase = Some(0.0);
        c.initial.coherent = Some([1.0, 0.0]);
        c.histogram.q_range = Some([0.0, 1.0]);
        c.histogram.p_range = Some([0.0, 1.0]);
        crate::config::tests::assert_keys_match(&c);
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/toy.md")).unwrap();
        for k in ToyConfig::KEYS {
            assert!(doc.contains(&format!("`{}`", k.dotted())), "docs/toy.md does not document `{}`", k.dotted());
        }
    }

    #[test]
    fn built_in_example_is_valid() {
        let l = load(None, &[]).unwrap();
        assert!(review(&l.config).is_empty());
    }
}
