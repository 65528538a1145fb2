//! The output file of `cqgrav toy` (layout in docs/toy.md): root provenance attributes as in SPEC §7 (format,
//! code version, git commit, full config text, units, seed) plus the model's parameters; `/timeseries` (ensemble
//! statistics per recording time, extendible 1-D columns as in the lattice files); `/ensemble`, `/trajectories`
//! (the saved subset), `/final` (every trajectory at t_end), `/histograms` (per outcome), `/cq_state` (the
//! unconditional u_k(q, p) and α(q, p)) and `/semiclassical`. The file is written once, atomically (a temporary
//! file renamed over the target), so a killed run leaves either the old file or the complete new one.
use super::h5util::{read_array, read_scalar_attr, read_str_attr, write_array, write_array_attr, write_scalar_attr, write_str_attr};
use super::timeseries::Timeseries;
use crate::toy::ensemble::{Realisation, ToyResult, ToySetup, SAVED_BLOCK};
use crate::toy::model::SystemKind;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Root attribute `format` of a toy output file.
pub const FORMAT: &str = "cqgrav-toy-output";
pub const FORMAT_VERSION: u32 = 1;
/// Root attribute `units`.
pub const UNITS: &str = "hbar = 1 (toy systems, SPEC §12)";

/// What each ensemble timeseries column holds.
pub fn describe(name: &str) -> &'static str {
    match name {
        "t" => "time",
        "q_mean" => "E[q] over trajectories",
        "p_mean" => "E[p] over trajectories",
        "q_var" => "variance of q over trajectories (unbiased)",
        "p_var" => "variance of p over trajectories (unbiased)",
        "qp_cov" => "covariance of q and p over trajectories (unbiased)",
        "coherence_mean" => "E[sum_{j<k} |rho_jk|] of the conditional state (the qubit: E|alpha|, Eq. (81))",
        "purity_mean" => "E[tr rho^2] of the conditional state",
        "purity_min" => "smallest tr rho^2 over trajectories",
        "jumps_mean" => "E[number of momentum jumps so far] (discrete realisation; 0 for the continuous one)",
        "jumps_var" => "variance of the number of momentum jumps so far",
        "energy_mean" => "E[<H_m>] of the conditional state",
        "undecided_fraction" => "fraction of trajectories with no level at population >= ensemble.outcome_threshold",
        "q_semiclassical" => "q of the semiclassical trajectory (expectation-value coupling)",
        "p_semiclassical" => "p of the semiclassical trajectory",
        _ => "see docs/toy.md",
    }
}

/// Level names: "down", "up" for the qubit, "n=0", "n=1", … for the oscillator.
pub fn level_labels(system: SystemKind, d: usize) -> Vec<String> {
    match system {
        SystemKind::QubitParticle => vec!["down".into(), "up".into()],
        SystemKind::OscillatorParticle => (0..d).map(|n| format!("n={n}")).collect(),
    }
}

/// Writes `result` of `setup` to `path` (atomically); `config_text` is the effective TOML configuration.
pub fn write(path: &Path, setup: &ToySetup, result: &ToyResult, config_text: &str) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    super::atomic_write(path, &dir, "the toy-model output", |tmp| write_file(tmp, setup, result, config_text))
}

fn write_file(path: &Path, setup: &ToySetup, r: &ToyResult, config_text: &str) -> Result<()> {
    let m = &setup.model;
    let d = m.dim();
    let nt = r.times.len();
    let f = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    write_str_attr(&f, "format", FORMAT)?;
    write_scalar_attr(&f, "format_version", FORMAT_VERSION)?;
    write_str_attr(&f, "code_version", env!("CARGO_PKG_VERSION"))?;
    write_str_attr(&f, "git_commit", super::git_commit())?;
    write_str_attr(&f, "config", config_text)?;
    write_str_attr(&f, "units", UNITS)?;
    write_scalar_attr(&f, "seed", setup.seed)?;
    write_str_attr(&f, "model", m.system.name())?;
    write_str_attr(&f, "lindblad", m.lindblad.name())?;
    write_str_attr(&f, "realisation", setup.realisation.name())?;
    write_scalar_attr(&f, "levels", d as u64)?;
    write_str_attr(&f, "level_labels", &level_labels(m.system, d).join(","))?;
    write_scalar_attr(&f, "omega", m.omega)?;
    write_scalar_attr(&f, "coupling", m.coupling)?;
    write_scalar_attr(&f, "mass", m.mass)?;
    match &setup.realisation {
        Realisation::Discrete(dr) => {
            write_scalar_attr(&f, "tau", dr.tau)?;
            write_scalar_attr(&f, "diffusion", crate::toy::continuous::discrete_diffusion(m, dr.tau))?;
        }
        Realisation::Continuous(c) => {
            write_scalar_attr(&f, "diffusion", c.diffusion)?;
            write_scalar_attr(&f, "decoherence", c.decoherence)?;
            write_scalar_attr(&f, "decoherence_saturated", crate::toy::continuous::saturated_decoherence(c.diffusion))?;
        }
    }
    write_scalar_attr(&f, "trajectories", setup.trajectories as u64)?;
    write_scalar_attr(&f, "outcome_threshold", setup.outcome_threshold)?;
    write_array_attr(&f, "initial_psi_re", &setup.initial.psi.iter().map(|c| c.re).collect::<Vec<_>>())?;
    write_array_attr(&f, "initial_psi_im", &setup.initial.psi.iter().map(|c| c.im).collect::<Vec<_>>())?;
    write_str_attr(&f, "history", &crate::io::writer::history_line("toy run", 0, "cpu"))?;

    let mut ts = Timeseries::default();
    for (name, col) in &r.columns {
        ts.names.push((*name).to_string());
        ts.columns.push(col.clone());
    }
    ts.write_described(&f, "timeseries", describe)?;

    let g = f.create_group("ensemble").context("creating /ensemble")?;
    write_array(&g, "populations_mean", &[nt, d], &r.populations_mean)?;

    let g = f.create_group("trajectories").context("creating /trajectories")?;
    let k = r.saved.len();
    let s = d.min(SAVED_BLOCK);
    write_scalar_attr(&g, "rho_block", s as u64)?;
    write_array(&g, "t", &[nt], &r.times)?;
    write_array(&g, "index", &[k], &r.saved.iter().map(|t| t.index as u64).collect::<Vec<_>>())?;
    let cat = |f: &dyn Fn(&crate::toy::ensemble::SavedTrajectory) -> &Vec<f64>| r.saved.iter().flat_map(|t| f(t).iter().copied()).collect::<Vec<f64>>();
    write_array(&g, "q", &[k, nt], &cat(&|t| &t.q))?;
    write_array(&g, "p", &[k, nt], &cat(&|t| &t.p))?;
    write_array(&g, "jumps", &[k, nt], &r.saved.iter().flat_map(|t| t.jumps.iter().copied()).collect::<Vec<u64>>())?;
    write_array(&g, "purity", &[k, nt], &cat(&|t| &t.purity))?;
    write_array(&g, "coherence", &[k, nt], &cat(&|t| &t.coherence))?;
    write_array(&g, "populations", &[k, nt, d], &cat(&|t| &t.populations))?;
    write_array(&g, "rho_re", &[k, nt, s, s], &cat(&|t| &t.rho_re))?;
    write_array(&g, "rho_im", &[k, nt, s, s], &cat(&|t| &t.rho_im))?;

    let g = f.create_group("final").context("creating /final")?;
    let n = r.finals.len();
    write_scalar_attr(&g, "t", *r.times.last().unwrap_or(&0.0))?;
    write_array(&g, "q", &[n], &r.finals.iter().map(|x| x.q).collect::<Vec<_>>())?;
    write_array(&g, "p", &[n], &r.finals.iter().map(|x| x.p).collect::<Vec<_>>())?;
    write_array(&g, "jumps", &[n], &r.finals.iter().map(|x| x.jumps).collect::<Vec<_>>())?;
    write_array(&g, "outcome", &[n], &r.finals.iter().map(|x| x.outcome).collect::<Vec<_>>())?;
    write_array(&g, "populations", &[n, d], &r.finals.iter().flat_map(|x| x.populations.iter().copied()).collect::<Vec<_>>())?;
    write_array(&g, "alpha_re", &[n], &r.finals.iter().map(|x| x.alpha.re).collect::<Vec<_>>())?;
    write_array(&g, "alpha_im", &[n], &r.finals.iter().map(|x| x.alpha.im).collect::<Vec<_>>())?;

    let h = &r.histograms;
    let (nq, np) = (h.q_edges.len() - 1, h.p_edges.len() - 1);
    for (name, what) in [("histograms", "counts"), ("cq_state", "density")] {
        let g = f.create_group(name).with_context(|| format!("creating /{name}"))?;
        write_scalar_attr(&g, "t", *r.times.last().unwrap_or(&0.0))?;
        write_scalar_attr(&g, "outside", h.outside)?;
        write_array(&g, "q_edges", &[nq + 1], &h.q_edges)?;
        write_array(&g, "p_edges", &[np + 1], &h.p_edges)?;
        if what == "counts" {
            let mut labels = level_labels(m.system, d);
            labels.push("undecided".into());
            write_str_attr(&g, "outcome_labels", &labels.join(","))?;
            write_array(&g, "counts", &[d + 1, np, nq], &h.counts)?;
        } else {
            write_array(&g, "u", &[d, np, nq], &h.u)?;
            write_array(&g, "alpha_re", &[np, nq], &h.alpha_re)?;
            write_array(&g, "alpha_im", &[np, nq], &h.alpha_im)?;
            let abs: Vec<f64> = h.alpha_re.iter().zip(&h.alpha_im).map(|(a, b)| a.hypot(*b)).collect();
            write_array(&g, "alpha_abs", &[np, nq], &abs)?;
        }
    }

    let g = f.create_group("semiclassical").context("creating /semiclassical")?;
    write_array(&g, "t", &[nt], &r.times)?;
    write_array(&g, "q", &[nt], &r.semiclassical[0])?;
    write_array(&g, "p", &[nt], &r.semiclassical[1])?;
    write_array(&g, "coherence", &[nt], &r.semiclassical[2])?;
    f.close().with_context(|| format!("closing {}", path.display()))
}

/// A toy output file read back (`cqgrav plot`, `cqgrav inspect`, tests).
#[derive(Debug, Clone)]
pub struct ToyOutput {
    pub path: PathBuf,
    pub model: String,
    pub realisation: String,
    pub levels: usize,
    pub level_labels: Vec<String>,
    pub config_text: String,
    pub timeseries: Timeseries,
    /// Saved trajectories: recording times, q and p as (trajectory, time), their final outcomes.
    pub t: Vec<f64>,
    pub saved_q: Vec<Vec<f64>>,
    pub saved_p: Vec<Vec<f64>>,
    pub saved_outcome: Vec<i32>,
    /// Every trajectory at t_end.
    pub final_q: Vec<f64>,
    pub final_p: Vec<f64>,
    pub final_outcome: Vec<i32>,
    pub final_jumps: Vec<u64>,
    /// /cq_state: edges, u (level, p, q), |α| (p, q).
    pub q_edges: Vec<f64>,
    pub p_edges: Vec<f64>,
    pub u: Vec<f64>,
    pub alpha_abs: Vec<f64>,
    /// /histograms/counts (outcome, p, q), the last plane undecided.
    pub counts: Vec<f64>,
    pub semiclassical_q: Vec<f64>,
    pub semiclassical_p: Vec<f64>,
}

/// Whether `path` is a toy output file (its root attribute `format`).
pub fn is_toy_output(path: &Path) -> bool {
    hdf5::File::open(path).ok().and_then(|f| read_str_attr(&f, "format").ok()).is_some_and(|s| s == FORMAT)
}

impl ToyOutput {
    pub fn open(path: &Path) -> Result<Self> {
        let f = hdf5::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        (|| -> Result<Self> {
            if read_str_attr(&f, "format").ok().as_deref() != Some(FORMAT) {
                bail!("not a cqgrav toy output file (no root attribute format = {FORMAT:?})");
            }
            let levels = read_scalar_attr::<u64>(&f, "levels")? as usize;
            let tr = f.group("trajectories")?;
            let t = read_array::<f64>(&tr, "t")?.1;
            let nt = t.len();
            let index = read_array::<u64>(&tr, "index")?.1;
            let rows = |v: Vec<f64>| v.chunks(nt.max(1)).map(<[f64]>::to_vec).collect::<Vec<_>>();
            let saved_q = rows(read_array::<f64>(&tr, "q")?.1);
            let saved_p = rows(read_array::<f64>(&tr, "p")?.1);
            let fi = f.group("final")?;
            let final_outcome = read_array::<i32>(&fi, "outcome")?.1;
            let saved_outcome = index.iter().map(|&i| final_outcome.get(i as usize).copied().unwrap_or(-1)).collect();
            let cq = f.group("cq_state")?;
            let sc = f.group("semiclassical")?;
            Ok(Self {
                path: path.to_path_buf(),
                model: read_str_attr(&f, "model")?,
                realisation: read_str_attr(&f, "realisation")?,
                levels,
                level_labels: read_str_attr(&f, "level_labels")?.split(',').map(str::to_string).collect(),
                config_text: read_str_attr(&f, "config")?,
                timeseries: Timeseries::read(&f.group("timeseries")?)?,
                t,
                saved_q,
                saved_p,
                saved_outcome,
                final_q: read_array::<f64>(&fi, "q")?.1,
                final_p: read_array::<f64>(&fi, "p")?.1,
                final_jumps: read_array::<u64>(&fi, "jumps")?.1,
                final_outcome,
                q_edges: read_array::<f64>(&cq, "q_edges")?.1,
                p_edges: read_array::<f64>(&cq, "p_edges")?.1,
                u: read_array::<f64>(&cq, "u")?.1,
                alpha_abs: read_array::<f64>(&cq, "alpha_abs")?.1,
                counts: read_array::<f64>(&f.group("histograms")?, "counts")?.1,
                semiclassical_q: read_array::<f64>(&sc, "q")?.1,
                semiclassical_p: read_array::<f64>(&sc, "p")?.1,
            })
        })()
        .with_context(|| format!("reading {}", path.display()))
    }
}
