//! Configuration: schema (SPEC §10), loading with `--set` overrides, validation.
//!
//! - [`load`] reads a TOML file (or the built-in default example `data/default.toml`), applies `--set`
//!   overrides and deserialises into [`Config`], reporting unknown keys and wrong types with the full dotted key,
//!   what is allowed there and the file position.
//! - [`validate`] checks every value range (SPEC §2–§4, §10) and the RK4 stability bound, collecting all problems.
//! - [`load_and_validate`] does both, which is what `cqgrav run` and `cqgrav check` need.
//!
//! The documentation of every key is `docs/config.md`; [`KEYS`] is the machine-readable list of them.
mod load;
pub mod regime;
mod schema;
mod validate;

pub use load::{
    load, load_and_validate, load_and_validate_text, load_lenient, load_schema_lenient, load_text, read_config_file, LoadedConfig,
    Schema, DEFAULT_TOML, MAX_CONFIG_BYTES,
};
pub(crate) use validate::fmt_num;
pub use schema::*;
pub use validate::{
    dense_memory_bytes, ensemble_gram_blocks, ensemble_gram_bytes, ensemble_memory_bytes, host_bytes_per_site, host_memory_bytes, machine_memory, review, unimplemented_features,
    validate, Review, MAX_STEPS,
};

use std::fmt;

/// One problem found in a configuration: the dotted key it concerns, what is wrong and what is allowed, and
/// where the value came from (`file:line:col` or the `--set` argument) when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Full dotted key, e.g. `lattice.shape` or `cq.beta` (for a malformed `--set`, the argument itself).
    pub key: String,
    /// What is wrong, including the value and what is allowed.
    pub message: String,
    /// `path:line:col` in the config file, or `--set KEY=VALUE`.
    pub location: Option<String>,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into(), location: None }
    }
    pub fn at(mut self, location: Option<String>) -> Self {
        self.location = location;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)?;
        if let Some(loc) = &self.location {
            write!(f, " (at {loc})")?;
        }
        Ok(())
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The file is not valid TOML. The message carries `file:line:col` and the offending line.
    #[error("{0}")]
    Syntax(String),
    /// Unknown keys, wrong types, out-of-range values, unimplemented features: every problem found.
    #[error("{}", format_problems(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems, one line each, each starting with its dotted key.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ConfigError::Invalid(ps) => ps.iter().map(|p| p.to_string()).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn format_problems(ps: &[Problem]) -> String {
    let mut s = format!("{} problem{} in the configuration:", ps.len(), if ps.len() == 1 { "" } else { "s" });
    for p in ps {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

/// One documented key of the SPEC §10 schema (see `docs/config.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The `[table]` it lives in.
    pub table: &'static str,
    /// The key inside that table.
    pub key: &'static str,
    /// The TOML type and the allowed values, as shown in error messages.
    pub expects: &'static str,
}

impl KeyInfo {
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.table, self.key)
    }
}

macro_rules! keys {
    ($( $t:literal . $k:literal => $e:literal ),* $(,)?) => {
        &[ $( $crate::config::KeyInfo { table: $t, key: $k, expects: $e } ),* ]
    };
}
pub(crate) use keys;

/// Every key of the configuration schema (SPEC §10), in documentation order.
pub const KEYS: &[KeyInfo] = keys![
    "lattice"."shape" => "an array of 3 integers [N1, N2, N3], each 1 (homogeneous direction) or at least 2·reach+1 sites (5 for fd_order = 2, 7 for fd_order = 4)",
    "lattice"."spacing" => "a number h > 0",
    "time"."courant" => "a number > 0 (dt = courant·h)",
    "time"."dt" => "a number > 0",
    "time"."t_end" => "a number > 0",
    "time"."steps" => "an integer >= 1",
    "gauge"."lapse" => "one of \"geodesic\", \"harmonic\", \"one-plus-log\"",
    "gravity"."fd_order" => "the integer 2 or 4",
    "gravity"."dissipation" => "a number >= 0 (Kreiss-Oliger strength)",
    "gravity"."cosmological_constant" => "a finite number",
    "matter"."mass" => "a number >= 0",
    "matter"."representation" => "one of \"none\", \"dense\", \"fourier\", \"ensemble\"",
    "matter"."members" => "an even integer >= 4",
    "matter"."renormalization" => "one of \"vacuum\", \"none\"",
    "matter"."localization" => "a number >= 0 (ensemble: Gaspari-Cohn half-width c in lattice spacings; 0 = no localisation)",
    "matter"."control_variate" => "a boolean (ensemble: estimate the back-reaction with the homogeneous control variate)",
    "matter"."quartic_coupling" => "a finite number λ (V ⊃ λφ⁴/4)",
    "matter"."potential" => "an array of at most 9 finite numbers [c0, c1, …, c8] (V ⊃ Σ c_n φ^n)",
    "cq"."diffusion" => "a number >= 0",
    "cq"."beta" => "a number <= 1/3",
    "cq"."noise" => "one of \"tensor\", \"trace-only\"",
    "cq"."correlation_length" => "a number >= 0",
    "cq"."decoherence_excess" => "a number >= 0",
    "cq"."frozen_drift" => "a boolean (testing: true switches off the deterministic drift)",
    "cq"."substep_tolerance" => "a number in (0, 0.25] (quantum field: the largest strength of a quantum sub-step)",
    "initial"."kind" => "one of \"minkowski\", \"linear-wave\", \"gauge-wave\", \"frw\"",
    "initial"."scale_factor" => "a number > 0",
    "initial"."phi" => "a finite number",
    "initial"."phi_dot" => "a finite number",
    "initial"."amplitude" => "a number with |A| < 1",
    "initial"."fluctuation_cutoff" => "a number >= 0 (coordinate wavenumber; 0 = no cutoff)",
    "output"."file" => "a non-empty string (file path)",
    "output"."timeseries_every" => "an integer >= 1",
    "output"."snapshot_every" => "an integer >= 0 (0 = none)",
    "output"."checkpoint_every" => "an integer >= 0 (0 = none)",
    "output"."flush_interval" => "a number of seconds >= 0 (0 = flush at every timeseries row)",
    "output"."spectra_every" => "an integer >= 0 (0 = no spectra)",
    "run"."backend" => "one of \"auto\", \"gpu\", \"cpu\"",
    "run"."precision" => "one of \"f32\", \"f64\"",
    "run"."seed" => "an integer >= 0",
];

/// The tables of the schema, in documentation order.
pub fn tables() -> Vec<&'static str> {
    tables_in(KEYS)
}

/// The keys of one table.
pub fn keys_of(table: &str) -> Vec<&'static str> {
    keys_in(KEYS, table)
}

/// The schema entry of a dotted key `table.key`.
pub fn key_info(dotted: &str) -> Option<&'static KeyInfo> {
    key_info_in(KEYS, dotted)
}

/// The tables of a key list (any [`Schema`]'s), in documentation order.
pub fn tables_in(keys: &'static [KeyInfo]) -> Vec<&'static str> {
    let mut t: Vec<&'static str> = Vec::new();
    for k in keys {
        if !t.contains(&k.table) {
            t.push(k.table);
        }
    }
    t
}

/// The keys of one table of a key list.
pub fn keys_in(keys: &'static [KeyInfo], table: &str) -> Vec<&'static str> {
    keys.iter().filter(|k| k.table == table).map(|k| k.key).collect()
}

/// The entry of a dotted key `table.key` in a key list.
pub fn key_info_in(keys: &'static [KeyInfo], dotted: &str) -> Option<&'static KeyInfo> {
    let (t, k) = dotted.split_once('.')?;
    keys.iter().find(|i| i.table == t && i.key == k)
}

impl Config {
    /// The time step: `time.dt` when given, else `time.courant · lattice.spacing`.
    pub fn dt(&self) -> f64 {
        self.time.dt.unwrap_or(self.time.courant * self.lattice.spacing)
    }

    /// The number of steps: `time.steps` when given (it wins over `t_end`), else the first whole number of
    /// steps reaching `t_end`: ceil(t_end/dt − 1e-9), at least 1. The run ends at t = n_steps·dt ≥ t_end.
    /// Validation refuses counts above [`MAX_STEPS`], so in a run the conversion never saturates.
    pub fn n_steps(&self) -> u64 {
        if let Some(s) = self.time.steps {
            return s;
        }
        let x = self.time.t_end / self.dt();
        if !x.is_finite() || x <= 0.0 {
            return 0;
        }
        ((x - 1e-9).ceil() as u64).max(1)
    }

    /// The lattice geometry of this configuration.
    pub fn lattice(&self) -> crate::numerics::lattice::Lattice {
        crate::numerics::lattice::Lattice::new(self.lattice.shape, self.lattice.spacing)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `KEYS` lists exactly the fields of the serde schema (the optional `time.dt` / `time.steps` included).
    #[test]
    fn keys_match_schema() {
        let mut cfg = Config::default();
        cfg.time.dt = Some(0.1);
        cfg.time.steps = Some(3);
        assert_keys_match(&cfg);
    }

    /// Test helper for any [`Schema`]: the dotted keys `value` serialises to (set every optional key) are exactly
    /// `C::KEYS`.
    pub(crate) fn assert_keys_match<C: Schema>(value: &C) {
        let v: toml::Table = toml::from_str(&toml::to_string(value).unwrap()).unwrap();
        let mut from_schema: Vec<String> = Vec::new();
        for (t, sub) in &v {
            for k in sub.as_table().unwrap().keys() {
                from_schema.push(format!("{t}.{k}"));
            }
        }
        from_schema.sort();
        let mut listed: Vec<String> = C::KEYS.iter().map(|k| k.dotted()).collect();
        listed.sort();
        assert_eq!(from_schema, listed);
    }

    /// docs/config.md documents every key.
    #[test]
    fn docs_cover_every_key() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md")).unwrap();
        for k in KEYS {
            assert!(doc.contains(&format!("`{}`", k.dotted())), "docs/config.md does not document `{}`", k.dotted());
        }
    }

    #[test]
    fn dt_and_steps() {
        let mut c = Config::default();
        c.lattice.spacing = 0.1;
        c.time.courant = 0.25;
        c.time.t_end = 1.0;
        assert!((c.dt() - 0.025).abs() < 1e-15);
        assert_eq!(c.n_steps(), 40);
        c.time.t_end = 1.01;
        assert_eq!(c.n_steps(), 41);
        c.time.dt = Some(0.3);
        assert_eq!(c.dt(), 0.3);
        assert_eq!(c.n_steps(), 4);
        c.time.steps = Some(7);
        assert_eq!(c.n_steps(), 7);
    }
}
