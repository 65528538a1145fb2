//! Independent realisations of a stochastic run (`cqgrav run --realizations R`, issue 4) and their ensemble
//! summary.
//!
//! - Seeds: realisation r = 0 … R−1 runs with `run.seed` = [`realization_seed`](base, r), the r-th output of
//!   the SplitMix64 generator started at the base seed (`run.seed` of the configuration), shifted right by one
//!   bit so that it is a valid (non-negative) TOML integer. Distinct realisations therefore use unrelated
//!   Philox keys; the whole ensemble is reproducible from the base seed.
//! - Files: realisation r writes the ordinary output of a run (SPEC §7) to `<stem>_rNNNN.h5` (`output.file`
//!   = `<stem>.h5`, NNNN = r with at least 4 digits), with its own snapshots, checkpoint and XDMF sidecar; the
//!   effective configuration stored in it holds its seed and file name, so each realisation can be rerun or
//!   restarted alone.
//! - Summary: `<stem>_ensemble.h5` with `/ensemble/mean/<name>` and `/ensemble/var/<name>` for every
//!   timeseries column `<name>` (one value per output row): the mean and the unbiased variance
//!   (1/(R−1) Σ (x − mean)²; NaN for R = 1) across the completed realisations, row by row. Root attributes:
//!   `format` (`cqgrav-ensemble`), `realizations` (how many completed and are summarised), `requested`,
//!   `indices`, `seeds` and `members` (the completed realisations and their file names), `stopped` and
//!   `stopped_reasons` (the realisations that stopped before their end, each with its seed, the last step its
//!   file holds and why), `base_seed`, `config` (the base configuration text), `code_version`, `git_commit`.
//! - A realisation that stops (a physical or numerical failure of that trajectory) is recorded and the others go
//!   on; the summary covers the completed ones, and the command exits non-zero with [`EnsembleRun::account`].
//! - The semiclassical comparison (issue 13): with CQ noise on (`cq.diffusion` > 0) one more run of the same
//!   universe with `cq.diffusion = 0` — the expectation-value coupling of semiclassical gravity: no noise, no
//!   decoherence, no conditioning; with a quantum field its ⟨δĤ_m/δg_ab⟩_ren still back-reacts — writes
//!   `<stem>_semiclassical.h5`, and the summary holds its timeseries as `/semiclassical/<name>` (root attribute
//!   `semiclassical`: the file name, or `semiclassical_stopped`: why it did not finish). The command prints the
//!   CQ mean ± spread of a and H at the last row against the semiclassical values; `cqgrav plot` draws the
//!   semiclassical path dashed over the realisations' mean ± 1σ.
//!
//! The driver [`run_realizations`] takes the function that runs one trajectory with extra `--set` overrides
//! (`cli::run::run`), so every realisation is a normal run (progress, health check, snapshots, checkpoints).
use crate::config::{load_and_validate, Config, ConfigError};
use crate::io::h5util::{write_array_attr, write_scalar_attr, write_str_attr};
use crate::io::{atomic_write, OutputFile, Timeseries};
use crate::parallel::realizations::{gather_outcomes, owner};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Root attribute `format` of an ensemble summary file.
pub const FORMAT: &str = "cqgrav-ensemble";

/// SplitMix64 (Steele, Lea, Flood 2014): the state advances by the golden-ratio increment and is mixed.
pub fn splitmix64_next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of realisation r: output r (0-based) of SplitMix64 started at `base`, shifted right by one bit
/// (63 bits: a valid `run.seed`).
pub fn realization_seed(base: u64, r: u32) -> u64 {
    let mut s = base.wrapping_add((r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    splitmix64_next(&mut s) >> 1
}

/// `<stem>.h5` → `<stem>` + `suffix` + `.h5` (the extension is kept if it is not `.h5`: `x.hdf5` →
/// `x<suffix>.hdf5`; none: `x` → `x<suffix>.h5`).
fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = file.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "h5".into());
    file.with_file_name(format!("{stem}{suffix}.{ext}"))
}

/// The output file of realisation r: `<stem>_rNNNN.h5`.
pub fn realization_path(file: &Path, r: u32) -> PathBuf {
    with_suffix(file, &format!("_r{r:04}"))
}

/// The semiclassical companion run's file: `<stem>_semiclassical.h5`.
pub fn semiclassical_path(file: &Path) -> PathBuf {
    with_suffix(file, "_semiclassical")
}

/// The `--set` overrides of the semiclassical companion run: `cq.diffusion = 0` and its `output.file`.
pub fn semiclassical_overrides(cfg: &Config) -> Vec<String> {
    let quoted = toml::Value::String(semiclassical_path(&cfg.output.file).to_string_lossy().into_owned()).to_string();
    vec!["cq.diffusion=0.0".to_string(), format!("output.file={quoted}")]
}

/// The ensemble summary file: `<stem>_ensemble.h5`.
pub fn ensemble_path(file: &Path) -> PathBuf {
    with_suffix(file, "_ensemble")
}

/// The `--set` overrides of realisation r: `run.seed` and `output.file` (a TOML string, quoted).
pub fn realization_overrides(cfg: &Config, r: u32) -> Vec<String> {
    let file = realization_path(&cfg.output.file, r);
    let quoted = toml::Value::String(file.to_string_lossy().into_owned()).to_string();
    vec![format!("run.seed={}", realization_seed(cfg.run.seed, r)), format!("output.file={quoted}")]
}

/// Mean and unbiased variance, row by row, of the timeseries of R realisations.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleSummary {
    pub realizations: u32,
    /// Column names, in the order of the first realisation.
    pub names: Vec<String>,
    /// mean[c][row]
    pub mean: Vec<Vec<f64>>,
    /// var[c][row]: 1/(R−1) Σ (x − mean)²; NaN for R = 1
    pub var: Vec<Vec<f64>>,
    /// semiclassical[c][row]: the semiclassical companion run (`cq.diffusion = 0`) on the same rows; empty when
    /// there is none
    pub semiclassical: Vec<Vec<f64>>,
}

impl EnsembleSummary {
    /// From the realisations' timeseries, which must have the same rows (the same `step` column).
    pub fn from_timeseries(series: &[Timeseries]) -> Result<Self> {
        let Some(first) = series.first() else { bail!("no realisations") };
        let steps = first.steps();
        for (r, ts) in series.iter().enumerate() {
            if ts.steps() != steps {
                bail!("realisation {r} has other timeseries rows than realisation 0 ({} vs {} rows)", ts.len(), first.len());
            }
        }
        let rf = series.len() as f64;
        let mut mean = Vec::new();
        let mut var = Vec::new();
        for name in &first.names {
            let cols: Vec<&[f64]> = series
                .iter()
                .enumerate()
                .map(|(r, ts)| ts.column(name).with_context(|| format!("realisation {r} has no column {name}")))
                .collect::<Result<_>>()?;
            let m: Vec<f64> = (0..first.len()).map(|i| cols.iter().map(|c| c[i]).sum::<f64>() / rf).collect();
            let v: Vec<f64> = (0..first.len())
                .map(|i| {
                    if series.len() < 2 {
                        f64::NAN
                    } else {
                        cols.iter().map(|c| (c[i] - m[i]).powi(2)).sum::<f64>() / (rf - 1.0)
                    }
                })
                .collect();
            mean.push(m);
            var.push(v);
        }
        Ok(Self { realizations: series.len() as u32, names: first.names.clone(), mean, var, semiclassical: Vec::new() })
    }

    pub fn mean_of(&self, name: &str) -> Option<&[f64]> {
        self.names.iter().position(|n| n == name).map(|i| self.mean[i].as_slice())
    }
    pub fn var_of(&self, name: &str) -> Option<&[f64]> {
        self.names.iter().position(|n| n == name).map(|i| self.var[i].as_slice())
    }
    pub fn semiclassical_of(&self, name: &str) -> Option<&[f64]> {
        self.names.iter().position(|n| n == name).and_then(|i| self.semiclassical.get(i)).map(Vec::as_slice)
    }

    /// Takes the semiclassical run's timeseries as the reference path; an error (and no reference) when its rows
    /// are not the realisations' rows or a column is missing.
    pub fn set_semiclassical(&mut self, ts: &Timeseries) -> Result<()> {
        let rows = self.mean.first().map_or(0, Vec::len);
        let cols: Vec<Vec<f64>> = self
            .names
            .iter()
            .map(|n| ts.column(n).map(<[f64]>::to_vec).with_context(|| format!("the semiclassical run has no column {n}")))
            .collect::<Result<_>>()?;
        if ts.len() != rows || self.mean_of("step") != ts.column("step") {
            bail!("the semiclassical run has other timeseries rows than the realisations ({} vs {rows} rows)", ts.len());
        }
        self.semiclassical = cols;
        Ok(())
    }

    /// One line per column (a, hubble) at the last row: the realisations' mean ± standard deviation against the
    /// semiclassical value, with z = (mean − semiclassical)/(sd/√R), the standard error of the mean.
    pub fn comparison(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in ["a", "hubble"] {
            let (Some(m), Some(v), Some(sc), Some(t)) = (self.mean_of(name), self.var_of(name), self.semiclassical_of(name), self.mean_of("t")) else {
                continue;
            };
            let Some(last) = m.len().checked_sub(1) else { continue };
            let sd = v[last].max(0.0).sqrt();
            let se = sd / (self.realizations as f64).sqrt();
            let z = if se > 0.0 { format!("{:.2}", (m[last] - sc[last]) / se) } else { "–".into() };
            out.push(format!(
                "t = {:.6}: {name} = {:.9} ± {:.3e} (CQ: mean ± sd over {} realisations) vs {:.9} semiclassical (D2 = 0); \
                 (mean − semiclassical)/standard error = {z}",
                t[last], m[last], sd, self.realizations, sc[last]
            ));
        }
        out
    }

    /// Writes the summary file (atomically): `/ensemble/mean/<name>`, `/ensemble/var/<name>` and the root
    /// attributes of the module documentation. `members`: (index, file) of the summarised realisations.
    /// `semiclassical`: the companion run's file name, or why it did not finish (`Err`), when there was one.
    pub fn write(
        &self,
        path: &Path,
        base: &Config,
        config_text: &str,
        members: &[(u32, PathBuf)],
        stopped: &[StoppedRealization],
        semiclassical: Option<std::result::Result<String, String>>,
    ) -> Result<()> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        atomic_write(path, &dir, "the ensemble summary", |tmp| {
            let f = hdf5::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
            write_str_attr(&f, "format", FORMAT)?;
            write_str_attr(&f, "code_version", env!("CARGO_PKG_VERSION"))?;
            write_str_attr(&f, "git_commit", crate::io::git_commit())?;
            write_str_attr(&f, "config", config_text)?;
            write_scalar_attr(&f, "realizations", self.realizations as u64)?;
            write_scalar_attr(&f, "requested", (members.len() + stopped.len()) as u64)?;
            write_scalar_attr(&f, "base_seed", base.run.seed)?;
            let indices: Vec<u64> = members.iter().map(|m| m.0 as u64).collect();
            write_array_attr(&f, "indices", &indices)?;
            let seeds: Vec<u64> = members.iter().map(|m| realization_seed(base.run.seed, m.0)).collect();
            write_array_attr(&f, "seeds", &seeds)?;
            let names: Vec<String> =
                members.iter().map(|m| m.1.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
            write_str_attr(&f, "members", &names.join("\n"))?;
            let failed: Vec<u64> = stopped.iter().map(|s| s.index as u64).collect();
            write_array_attr(&f, "stopped", &failed)?;
            write_str_attr(&f, "stopped_reasons", &stopped.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("\n"))?;
            let g = f.create_group("ensemble").context("creating /ensemble")?;
            for (what, data) in [("mean", &self.mean), ("var", &self.var)] {
                let sub = g.create_group(what).with_context(|| format!("creating /ensemble/{what}"))?;
                for (name, col) in self.names.iter().zip(data.iter()) {
                    sub.new_dataset_builder()
                        .with_data(col.as_slice())
                        .create(name.as_str())
                        .with_context(|| format!("writing /ensemble/{what}/{name}"))?;
                }
            }
            match &semiclassical {
                Some(Ok(file)) => write_str_attr(&f, "semiclassical", file)?,
                Some(Err(why)) => write_str_attr(&f, "semiclassical_stopped", why)?,
                None => {}
            }
            if !self.semiclassical.is_empty() {
                let sub = f.create_group("semiclassical").context("creating /semiclassical")?;
                for (name, col) in self.names.iter().zip(&self.semiclassical) {
                    sub.new_dataset_builder().with_data(col.as_slice()).create(name.as_str()).with_context(|| format!("writing /semiclassical/{name}"))?;
                }
            }
            Ok(())
        })
    }

    /// Reads a summary file written by [`EnsembleSummary::write`].
    pub fn read(path: &Path) -> Result<Self> {
        let f = hdf5::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let realizations: u64 = crate::io::h5util::read_scalar_attr(&f, "realizations")?;
        let g = f.group("ensemble/mean").context("no /ensemble/mean")?;
        // the column order of Diagnostics::columns, then the others by name (as io::Timeseries::read)
        let names = crate::io::timeseries::ordered_names(g.member_names()?);
        let (mut mean, mut var) = (Vec::new(), Vec::new());
        for n in &names {
            mean.push(f.dataset(&format!("ensemble/mean/{n}"))?.read_raw::<f64>()?);
            var.push(f.dataset(&format!("ensemble/var/{n}"))?.read_raw::<f64>()?);
        }
        let semiclassical = match f.group("semiclassical") {
            Ok(_) => names.iter().map(|n| Ok(f.dataset(&format!("semiclassical/{n}"))?.read_raw::<f64>()?)).collect::<Result<_>>()?,
            Err(_) => Vec::new(),
        };
        Ok(Self { realizations: realizations as u32, names, mean, var, semiclassical })
    }
}

/// A realisation that stopped before its end.
#[derive(Debug, Clone, PartialEq)]
pub struct StoppedRealization {
    pub index: u32,
    pub seed: u64,
    /// the last step its output file holds a timeseries row of (None: it wrote none)
    pub last_row: Option<u64>,
    /// the run's error, with its causes
    pub reason: String,
}

impl std::fmt::Display for StoppedRealization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let row = self.last_row.map_or("no rows written".to_string(), |s| format!("last row at step {s}"));
        write!(f, "realisation {} (seed {}, {row}): {}", self.index, self.seed, self.reason)
    }
}

/// What [`run_realizations`] produced.
#[derive(Debug, Clone)]
pub struct EnsembleRun {
    pub summary: EnsembleSummary,
    /// `<stem>_rNNNN.h5` of the completed realisations, with their indices r
    pub members: Vec<(u32, PathBuf)>,
    /// `<stem>_ensemble.h5`
    pub summary_file: PathBuf,
    /// the realisations that stopped
    pub stopped: Vec<StoppedRealization>,
}

impl EnsembleRun {
    /// One line: how many realisations completed, and which stopped where and why.
    pub fn account(&self) -> String {
        let total = self.members.len() + self.stopped.len();
        let mut line = format!("{} of {total} realisations completed and are summarised in {}", self.members.len(), self.summary_file.display());
        if !self.stopped.is_empty() {
            line.push_str(&format!("; {} stopped: ", self.stopped.len()));
            line.push_str(&self.stopped.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("; "));
        }
        line
    }
}

/// Runs R independent realisations of the configuration (`config`, `set` as for `cqgrav run`) and writes the
/// ensemble summary. `run_one(extra)` must run one trajectory with the `--set` overrides `set` followed by
/// `extra` (the realisation's `run.seed` and `output.file`, [`realization_overrides`]) and write its output
/// file — in the CLI, `|extra| cli::run::run(config, &[set, extra].concat(), quiet, None, overwrite)`. Realisations
/// run one after the other (under `mpirun -np P`, rank p runs those with r mod P = p: `parallel::realizations`); the timeseries are read back from their files. A realisation whose run fails is
/// recorded ([`EnsembleRun::stopped`]) and the others go on; the summary covers the completed ones (an error if
/// none completed).
pub fn run_realizations(
    config: Option<&Path>,
    set: &[String],
    realizations: u32,
    mut run_one: impl FnMut(&[String]) -> Result<()>,
) -> Result<EnsembleRun> {
    if realizations == 0 {
        bail!("--realizations must be at least 1");
    }
    let loaded = load_and_validate(config, set).map_err(|e: ConfigError| anyhow::anyhow!("invalid configuration:\n  {}", e.lines().join("\n  ")))?;
    let cfg = &loaded.config;
    if cfg.cq.diffusion == 0.0 && realizations > 1 {
        eprintln!("warning: cq.diffusion = 0: the run is deterministic, all {realizations} realisations are identical");
    }
    // issue 18: under `mpirun -np P` job j (realisation j < R, the semiclassical run j = R) runs on rank j mod P
    let world = crate::parallel::world();
    let (rank, size) = (world.rank(), world.size());
    let semiclassical_job = (cfg.cq.diffusion > 0.0).then_some(realizations);
    let mut local = Vec::new();
    for r in (0..realizations).chain(semiclassical_job).filter(|&j| owner(j, size) == rank) {
        let extra = if r == realizations { semiclassical_overrides(cfg) } else { realization_overrides(cfg, r) };
        if r == realizations {
            println!("semiclassical run (the same universe with cq.diffusion = 0): {}", extra.join(" "));
        } else {
            println!("realisation {r} of {realizations}: {}", extra.join(" "));
        }
        // each job on its rank alone (its lattice is not split over the ranks)
        let done = crate::parallel::alone(|| run_one(&extra)).map_err(|e| format!("{e:#}"));
        if let (Err(why), true) = (&done, r < realizations) {
            eprintln!("realisation {r} stopped: {why}; the other realisations go on");
        }
        local.push((r, done));
    }
    // every rank's outcomes (a collective: the files of all jobs are complete after it)
    let outcomes = gather_outcomes(world.as_ref(), &local);
    let mut members = Vec::new();
    let mut series = Vec::new();
    let mut stopped = Vec::new();
    for (r, done) in outcomes.iter().filter(|o| o.0 < realizations) {
        let path = realization_path(&cfg.output.file, *r);
        if let Err(reason) = done {
            stopped.push(StoppedRealization {
                index: *r,
                seed: realization_seed(cfg.run.seed, *r),
                last_row: OutputFile::open(&path).ok().and_then(|f| f.timeseries.steps().last().copied()),
                reason: reason.clone(),
            });
            continue;
        }
        series.push(OutputFile::open(&path)?.timeseries);
        members.push((*r, path));
    }
    if series.is_empty() {
        bail!("none of the {realizations} realisations completed; the first stopped: {}", stopped[0]);
    }
    let mut summary = EnsembleSummary::from_timeseries(&series)?;
    // the semiclassical companion run: the same universe with the expectation-value coupling only
    let semiclassical = semiclassical_job.map(|j| {
        let path = semiclassical_path(&cfg.output.file);
        let done = outcomes
            .iter()
            .find(|o| o.0 == j)
            .map_or(Err("it did not run".to_string()), |o| o.1.clone())
            .and_then(|_| {
                OutputFile::open(&path).and_then(|f| summary.set_semiclassical(&f.timeseries)).map_err(|e| format!("{e:#}"))
            })
            .map(|_| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        if let (Err(why), 0) = (&done, rank) {
            eprintln!("warning: the semiclassical run did not finish, the summary has no semiclassical path: {why}");
        }
        done
    });
    let summary_file = ensemble_path(&cfg.output.file);
    // rank 0 writes the summary; the others wait for it, so that every rank returns with the ensemble complete
    if rank == 0 {
        summary.write(&summary_file, cfg, &loaded.text, &members, &stopped, semiclassical)?;
        println!(
            "wrote {}: mean and variance of {} timeseries columns over {} completed realisations",
            summary_file.display(),
            summary.names.len(),
            series.len()
        );
        for line in summary.comparison() {
            println!("{line}");
        }
    }
    world.barrier();
    Ok(EnsembleRun { summary, members, summary_file, stopped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // SplitMix64 seeded with 0: the published first outputs
        let mut s = 0u64;
        assert_eq!(splitmix64_next(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64_next(&mut s), 0x6E78_9E6A_A1B9_65F4);
        // realisation r uses output r
        let mut s = 1234u64;
        for r in 0..5 {
            assert_eq!(realization_seed(1234, r), splitmix64_next(&mut s) >> 1);
        }
        assert!(realization_seed(u64::MAX, 7) < 1 << 63);
    }

    #[test]
    fn paths() {
        assert_eq!(realization_path(Path::new("out/run.h5"), 3), PathBuf::from("out/run_r0003.h5"));
        assert_eq!(realization_path(Path::new("run"), 12345), PathBuf::from("run_r12345.h5"));
        assert_eq!(ensemble_path(Path::new("a/b.hdf5")), PathBuf::from("a/b_ensemble.hdf5"));
    }

    #[test]
    fn summary_statistics() {
        let mut series = Vec::new();
        for r in 0..3 {
            let mut ts = Timeseries::default();
            for step in 0..4 {
                ts.push(&[("t", step as f64), ("step", step as f64), ("x", (r * step) as f64)]);
            }
            series.push(ts);
        }
        let s = EnsembleSummary::from_timeseries(&series).unwrap();
        // x over r = 0, 1, 2 at step k: 0, k, 2k → mean k, variance k²
        assert_eq!(s.mean_of("x").unwrap(), &[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(s.var_of("x").unwrap(), &[0.0, 1.0, 4.0, 9.0]);
        assert_eq!(s.var_of("t").unwrap(), &[0.0; 4]);
        series[1].push(&[("t", 9.0), ("step", 9.0), ("x", 0.0)]);
        assert!(EnsembleSummary::from_timeseries(&series).is_err());
    }
}
