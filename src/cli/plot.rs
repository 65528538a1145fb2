//! `cqgrav plot FILE [--out DIR]`: pages of plots of an output file's timeseries, each as SVG and PNG
//! (docs/output.md "cqgrav plot"): `expansion` (a, H, φ̄), `constraints` (relative and absolute norms, log axes),
//! `energies`, `quantum` (⟨φ̂⟩, ⟨δφ²⟩, the smallest symplectic eigenvalue, the realised CQ noise against its
//! expected variance, and any further columns — written when the run has a quantum state or CQ noise), and
//! `other` for columns no page knows. Of an ensemble summary (`cqgrav run --realizations`): the same pages as
//! mean ± one standard deviation over the realisations, with each realisation drawn faintly. Of a `cqgrav toy`
//! file: the paper's Figure 1 (`plot_toy.rs`).
//!
//! Drawing, the embedded font and the axis rules are in `figure.rs`; columns that are missing are left out of
//! their page, columns nobody planned for get a panel.
use super::figure::{Curve, Page, Panel, Style};
use super::number::g;
use crate::ensemble::EnsembleSummary;
use crate::io::{OutputFile, Timeseries};
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};

pub fn plot(file: &Path, out: Option<&Path>) -> Result<()> {
    let dir = out.map_or_else(|| default_dir(file), Path::to_path_buf);
    if crate::io::toy::is_toy_output(file) {
        // a `cqgrav toy` file: the paper's Figure 1 (src/cli/plot_toy.rs)
        return super::plot_toy::plot(file, &dir);
    }
    let pages = if is_ensemble(file) {
        ensemble_pages(file)?
    } else if crate::io::SnapshotFile::is_snapshot(file) {
        bail!("{} is a snapshot file: cqgrav plot draws a run's timeseries; give its main output file (the one beside the .d directory)", file.display());
    } else {
        let f = OutputFile::open(file)?;
        let about = describe_run(&f.config_text, &file.display().to_string());
        let mut pages = run_pages(&f.timeseries, &about)?;
        let h = hdf5::File::open(&f.paths.main).with_context(|| format!("opening {}", f.paths.main.display()))?;
        if let Some(s) = crate::io::spectra::SpectraSeries::read(&h)? {
            pages.extend(spectra_page(&s, &about));
        }
        pages
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the plot directory {}", dir.display()))?;
    for page in &pages {
        for p in page.write(&dir).with_context(|| format!("writing the page {}", page.name))? {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// `<file>.plots` beside the file.
pub fn default_dir(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".plots");
    PathBuf::from(s)
}

fn is_ensemble(file: &Path) -> bool {
    hdf5::File::open(file)
        .ok()
        .and_then(|f| crate::io::h5util::read_str_attr(&f, "format").ok())
        .is_some_and(|s| s == crate::ensemble::FORMAT)
}

/// What the page footers say about units (SPEC §1): the unit L of length and time is √(16π) Planck lengths.
pub const UNITS_NOTE: &str = "Units ħ = c = 16πG = 1: times and lengths in L = √(16π) ℓ_P ≈ 7.09 Planck lengths; [E] = ħ/L, [φ] = 1/L.";

/// One line about the run for the page subtitles: file, lattice, matter, CQ coupling.
fn describe_run(config_text: &str, file: &str) -> String {
    match crate::config::load_text("the stored configuration", config_text, &[]) {
        Ok(l) => {
            let c = &l.config;
            let [n1, n2, n3] = c.lattice.shape;
            let cq = if c.cq.diffusion > 0.0 { format!("CQ coupling D2 = {}, β = {}", g(c.cq.diffusion, 4), g(c.cq.beta, 4)) } else { "no CQ noise (D2 = 0)".into() };
            format!(
                "{file} — {n1}×{n2}×{n3} lattice, h = {}, {:?} initial data, matter {:?} (m = {}), {cq}",
                g(c.lattice.spacing, 4),
                c.initial.kind,
                c.matter.representation,
                g(c.matter.mass, 4)
            )
        }
        Err(_) => file.to_string(),
    }
}

/// The y-axis label (with units in L) and legend text of each known column.
fn label(name: &str) -> (&'static str, &'static str) {
    match name {
        "a" => ("a = ⟨√g⟩^(1/3)  (dimensionless)", "scale factor a"),
        "hubble" => ("H = ⟨K⟩/3  [1/L]", "Hubble rate H"),
        "phi_mean" => ("⟨φ⟩ box mean  [1/L]", "mean field ⟨φ⟩"),
        "phi2_mean" => ("⟨δφ²⟩ box mean  [1/L²]", "fluctuations ⟨δφ²⟩"),
        "state_min_symplectic" => ("ν_min − 1  (dimensionless)", "smallest symplectic eigenvalue of Γ / ½, minus 1 (0: a pure state)"),
        "ham_rel" => ("relative norm  (dimensionless)", "Hamiltonian ℋ, L2 / L2 of |terms|"),
        "mom_rel" => ("relative norm  (dimensionless)", "momentum ℋ_a, L2 / L2 of |terms|"),
        "ham_l2" => ("constraint norm  [1/L²]", "Hamiltonian ℋ, RMS over sites"),
        "ham_linf" => ("constraint norm  [1/L²]", "Hamiltonian ℋ, max over sites"),
        "mom_l2" => ("constraint norm  [1/L²]", "momentum |ℋ_a|, RMS over sites"),
        "mom_linf" => ("constraint norm  [1/L²]", "momentum |ℋ_a|, max over sites"),
        "e_kin_grav" => ("energy  [ħ/L]", "gravitational kinetic Σ ΔV N G_abcd π^ab π^cd"),
        "e_pot_grav" => ("energy  [ħ/L]", "gravitational potential −Σ ΔV N √g R"),
        "e_matter" => ("energy  [ħ/L]", "matter Σ ΔV N ⟨Ĥ_m⟩"),
        "backreaction_error" => ("1σ error  [1/L⁴]", "sampling error of the box-mean back-reaction g_ab⟨L^ab⟩_ren (ensemble)"),
        "quantum_substeps" => ("pieces per step", "quantum sub-steps of the last step (dense: controller pieces; fourier, ensemble: noise-flow sub-steps)"),
        _ => ("", ""),
    }
}

/// Columns that are shown by a page of their own or not at all (the bookkeeping ones).
const KNOWN: [&str; 24] = [
    "t", "step", "a", "hubble", "ham_l2", "ham_linf", "ham_rel", "mom_l2", "mom_linf", "mom_rel", "e_kin_grav", "e_pot_grav",
    "e_matter", "phi_mean", "phi2_mean", "state_min_symplectic", "wall_per_step", "noise_mean", "noise_var", "noise_var_expected",
    "noise_trace_var", "noise_trace_var_expected", "backreaction_error", "quantum_substeps",
];

/// The timeseries as curves: one value per row (`col`), optionally with a band (mean ± σ) and faint members.
struct Source<'a> {
    t: Vec<f64>,
    /// the column, or the ensemble mean
    col: Box<dyn Fn(&str) -> Option<Vec<f64>> + 'a>,
    /// the ensemble's standard deviation per row
    sd: Box<dyn Fn(&str) -> Option<Vec<f64>> + 'a>,
    /// the realisations: (t, column)
    members: Box<dyn Fn(&str) -> Vec<(Vec<f64>, Vec<f64>)> + 'a>,
    /// the semiclassical companion run's column (ensembles with CQ noise, src/ensemble.rs)
    semiclassical: Box<dyn Fn(&str) -> Option<Vec<f64>> + 'a>,
    ensemble: Option<u32>,
}

impl Source<'_> {
    fn has(&self, name: &str) -> bool {
        (self.col)(name).is_some_and(|c| c.iter().any(|v| v.is_finite()))
    }
    /// The curves of `name` (`f` maps the values, e.g. a ratio): members, then the mean with its band.
    fn curves(&self, name: &str, legend: &str, color: usize, f: &dyn Fn(&str, usize, f64) -> f64) -> Vec<Curve> {
        let Some(y) = (self.col)(name) else { return Vec::new() };
        let map = |ys: &[f64]| ys.iter().enumerate().map(|(i, &v)| f(name, i, v)).collect::<Vec<f64>>();
        let mut out = Vec::new();
        for (t, m) in (self.members)(name) {
            let m = map(&m);
            out.push(Curve { label: "realisations".into(), x: t, y: m, color: 6, style: Style::Faint, band: None });
        }
        let y = map(&y);
        let band = (self.sd)(name).map(|sd| {
            let lo = y.iter().zip(&sd).map(|(m, s)| m - s).collect();
            let hi = y.iter().zip(&sd).map(|(m, s)| m + s).collect();
            (lo, hi)
        });
        let label = match self.ensemble {
            Some(_) => format!("{legend}, mean ± 1σ"),
            None => legend.to_string(),
        };
        let mut mean = Curve::line(label, &self.t, &y, color);
        mean.band = band;
        out.push(mean);
        if let Some(sc) = (self.semiclassical)(name) {
            let mut c = Curve::line("semiclassical (D2 = 0)", &self.t, &map(&sc), color);
            c.style = Style::Dashed;
            out.push(c);
        }
        out
    }
    fn plain(&self, name: &str, color: usize) -> Vec<Curve> {
        let legend = match label(name).1 {
            "" => name,
            l => l,
        };
        self.curves(name, legend, color, &|_, _, v| v)
    }
}

/// The panel of one known column (empty when absent).
fn single(src: &Source, name: &str, log: bool) -> Option<Panel> {
    src.has(name).then(|| Panel { ylabel: label(name).0.into(), log, curves: src.plain(name, 0), ..Default::default() })
}

/// The pages of a run (or, with `src.ensemble`, of an ensemble): see the module documentation.
fn pages(src: &Source, about: &str, names: &[String]) -> Vec<Page> {
    let prefix = if src.ensemble.is_some() { "ensemble_" } else { "" };
    let what = match src.ensemble {
        Some(r) => format!(" — mean ± 1σ over {r} realisations"),
        None => String::new(),
    };
    let page = |name: &str, title: &str, panels: Vec<Panel>, columns: usize| Page {
        name: format!("{prefix}{name}"),
        title: format!("{title}{what}"),
        subtitle: about.to_string(),
        xlabel: "t  [L]".into(),
        footer: UNITS_NOTE.into(),
        panels,
        columns,
    };
    let mut out = Vec::new();

    let expansion: Vec<Panel> = ["a", "hubble", "phi_mean"].iter().filter_map(|n| single(src, n, false)).collect();
    if !expansion.is_empty() {
        out.push(page("expansion", "Expansion: scale factor, Hubble rate and the mean field that drives it", expansion, 1));
    }

    let group = |names: &[&str], log: bool| -> Option<Panel> {
        let curves: Vec<Curve> = names.iter().enumerate().flat_map(|(k, n)| if src.has(n) { src.plain(n, k) } else { Vec::new() }).collect();
        (!curves.is_empty()).then(|| Panel { ylabel: label(names[0]).0.into(), log, curves, ..Default::default() })
    };
    let constraints: Vec<Panel> = [group(&["ham_rel", "mom_rel"], true), group(&["ham_l2", "ham_linf", "mom_l2", "mom_linf"], true)]
        .into_iter()
        .flatten()
        .collect();
    if !constraints.is_empty() {
        out.push(page(
            "constraints",
            "Constraints (SPEC §5): monitored, not enforced",
            constraints,
            1,
        ));
    }

    let mut energies = group(&["e_kin_grav", "e_pot_grav", "e_matter"], false);
    if let (Some(p), true) = (&mut energies, ["e_kin_grav", "e_pot_grav", "e_matter"].iter().all(|n| src.has(n))) {
        let total = |_: &str, i: usize, _: f64| ["e_kin_grav", "e_pot_grav", "e_matter"].iter().map(|n| (src.col)(n).map_or(f64::NAN, |c| c[i])).sum();
        let mut c = src.curves("e_kin_grav", "total", 3, &total);
        c.retain(|c| c.style != Style::Faint);
        p.curves.extend(c);
    }
    if let Some(p) = energies {
        out.push(page("energies", "Energies (volume integrals over the lattice)", vec![p], 1));
    }

    // the quantum state and the CQ noise
    let quantum_state = src.has("state_min_symplectic") || (src.col)("phi2_mean").is_some_and(|c| c.iter().any(|&v| v != 0.0 && v.is_finite()));
    let noise = (src.col)("noise_var_expected").is_some_and(|c| c.iter().any(|&v| v > 0.0));
    let extra: Vec<&String> = names.iter().filter(|n| !KNOWN.contains(&n.as_str())).collect();
    let extra_panels = || -> Vec<Panel> {
        extra.iter().filter(|n| src.has(n)).map(|n| Panel { ylabel: n.to_string(), curves: src.plain(n, 4), ..Default::default() }).collect()
    };
    if quantum_state || noise {
        let mut q: Vec<Panel> = Vec::new();
        q.extend(single(src, "phi_mean", false));
        if quantum_state {
            q.extend(single(src, "phi2_mean", false));
            if src.has("state_min_symplectic") {
                let nu = src.curves("state_min_symplectic", label("state_min_symplectic").1, 2, &|_, _, v| v - 1.0);
                q.push(Panel { ylabel: label("state_min_symplectic").0.into(), curves: nu, ..Default::default() });
            }
        }
        if noise {
            // the realised variance of the last step's increments over its expected value (1 in expectation)
            let ratio = |den: &'static str| {
                let den = (src.col)(den);
                move |_: &str, i: usize, v: f64| den.as_ref().map_or(f64::NAN, |d| if d[i] > 0.0 { v / d[i] } else { f64::NAN })
            };
            let mut curves = src.curves("noise_var", "g_ac g_bd dW^ab dW^cd (tensor part)", 1, &ratio("noise_var_expected"));
            curves.extend(src.curves("noise_trace_var", "(g_ab dW^ab)² (trace part)", 0, &ratio("noise_trace_var_expected")));
            q.push(Panel {
                ylabel: "realised / expected variance".into(),
                curves,
                reference: Some((1.0, "expected (SPEC §3 diffusion tensor)".into())),
                notes: vec!["box means of the last step's CQ increments dW^ab (the classical noise that kicks π^ab)".into()],
                ..Default::default()
            });
        }
        if quantum_state {
            // the ensemble's sampling error (0 for the exact representations, then not drawn)
            if (src.col)("backreaction_error").is_some_and(|c| c.iter().any(|&v| v != 0.0 && v.is_finite())) {
                q.extend(single(src, "backreaction_error", false));
            }
            // the quantum update's sub-steps (issue 12; 0 for a classical field, then not drawn)
            if (src.col)("quantum_substeps").is_some_and(|c| c.iter().any(|&v| v > 0.0 && v.is_finite())) {
                q.extend(single(src, "quantum_substeps", false));
            }
            q.extend(extra_panels());
        }
        let title = if quantum_state {
            "Quantum field and CQ noise: mean field, fluctuations, purity, noise statistics"
        } else {
            "CQ noise (classical field: no quantum state)"
        };
        out.push(page("quantum", title, q, 2));
    }
    let others = if quantum_state { Vec::new() } else { extra_panels() };
    if !others.is_empty() {
        out.push(page("other", "Further timeseries columns", others, 2));
    }
    out
}

/// The pages of a run's timeseries; `about` is the subtitle line.
pub fn run_pages(ts: &Timeseries, about: &str) -> Result<Vec<Page>> {
    if ts.is_empty() {
        return Err(anyhow!("{about}: the timeseries has no rows yet: nothing to plot"));
    }
    let t = ts.column("t").ok_or_else(|| anyhow!("{about}: no timeseries column t"))?.to_vec();
    let src = Source {
        t,
        col: Box::new(|n| ts.column(n).map(<[f64]>::to_vec)),
        sd: Box::new(|_| None),
        members: Box::new(|_| Vec::new()),
        semiclassical: Box::new(|_| None),
        ensemble: None,
    };
    Ok(pages(&src, about, &ts.names))
}

/// The spectra page of a run with `/spectra` (docs/output.md, SPEC §11): the field's shell spectrum S_j of δφ, the
/// adiabatic occupation n_k, the tensor spectrum of h_TT and the gravitational-wave energy per shell, against
/// log₁₀ k, at up to five rows spread evenly from the first to the last (log y; shells with a value ≤ 1e-14 of the
/// panel's largest, i.e. round-off of zero, or NaN are left out — the k = 0 shell is on no log axis). None when no
/// spectrum has a positive value.
pub fn spectra_page(s: &crate::io::spectra::SpectraSeries, about: &str) -> Option<Page> {
    let rows = s.t.len();
    if rows == 0 {
        return None;
    }
    // up to five rows, evenly from the first to the last
    let shown = rows.min(5);
    let picks: Vec<usize> = (0..shown).map(|i| if shown == 1 { 0 } else { i * (rows - 1) / (shown - 1) }).collect();
    let wanted = [
        ("phi", "S_j of δφ  [1/L²]"),
        ("occupation", "occupation n_k  (dimensionless)"),
        ("h_tt", "S_j of h_TT  (dimensionless)"),
        ("gw_energy", "ρ_GW per shell  [1/L⁴]"),
    ];
    let panels: Vec<Panel> = wanted
        .iter()
        .filter_map(|&(name, ylabel)| {
            let data = s.get(name)?;
            // values below 1e-14 of the panel's largest are round-off of an exact zero (e.g. h_TT of FRW data at
            // t = 0): left out, so they do not squeeze the curves into the top of the log axis
            let top = picks.iter().flat_map(|&r| data[r].iter()).copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
            let curves: Vec<Curve> = picks
                .iter()
                .enumerate()
                .filter_map(|(c, &r)| {
                    let (x, y): (Vec<f64>, Vec<f64>) = s
                        .k
                        .iter()
                        .zip(&data[r])
                        .filter(|(k, v)| **k > 0.0 && v.is_finite() && **v > 1e-14 * top)
                        .map(|(k, v)| (k.log10(), *v))
                        .unzip();
                    (!x.is_empty()).then(|| Curve::line(format!("t = {}", crate::cli::number::g(s.t[r], 4)), &x, &y, c))
                })
                .collect();
            (!curves.is_empty()).then(|| Panel { ylabel: ylabel.into(), log: true, curves, all_points: true, ..Default::default() })
        })
        .collect();
    (!panels.is_empty()).then(|| Page {
        name: "spectra".into(),
        title: "Spectra per k shell (SPEC §11; Δk = 2π/(max N_a h), S_j sums the shell's modes)".into(),
        subtitle: about.to_string(),
        xlabel: "log₁₀ k  [k in 1/L]".into(),
        footer: format!("{rows} spectra rows, curves at {} of them (/spectra in the run file, docs/output.md). {UNITS_NOTE}", picks.len()),
        panels,
        columns: 2,
    })
}

/// The pages of an ensemble summary: mean ± σ, with the realisations found beside it drawn faintly.
fn ensemble_pages(file: &Path) -> Result<Vec<Page>> {
    let s = EnsembleSummary::read(file).with_context(|| format!("reading the ensemble summary {}", file.display()))?;
    let f = hdf5::File::open(file)?;
    let members_attr = crate::io::h5util::read_str_attr(&f, "members").unwrap_or_default();
    let config = crate::io::h5util::read_str_attr(&f, "config").unwrap_or_default();
    let dir = file.parent().unwrap_or(Path::new("."));
    let members: Vec<Timeseries> = members_attr
        .lines()
        .filter(|l| !l.is_empty())
        .filter_map(|name| OutputFile::open(&dir.join(name)).ok().map(|o| o.timeseries))
        .collect();
    let t = s.mean_of("t").ok_or_else(|| anyhow!("{}: no column t", file.display()))?.to_vec();
    let src = Source {
        t,
        col: Box::new(|n| s.mean_of(n).map(<[f64]>::to_vec)),
        sd: Box::new(|n| s.var_of(n).map(|v| v.iter().map(|x| x.max(0.0).sqrt()).collect())),
        members: Box::new(|n| members.iter().filter_map(|m| Some((m.column("t")?.to_vec(), m.column(n)?.to_vec()))).collect()),
        semiclassical: Box::new(|n| s.semiclassical_of(n).map(<[f64]>::to_vec)),
        ensemble: Some(s.realizations),
    };
    let about = format!("{} ({} of {} realisation files found)", describe_run(&config, &file.display().to_string()), members.len(), s.realizations);
    Ok(pages(&src, &about, &s.names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(names: &[&str], rows: usize) -> Timeseries {
        let mut t = Timeseries::default();
        for i in 0..rows {
            let row: Vec<(&str, f64)> = names.iter().map(|&n| (n, if n == "t" { i as f64 * 0.1 } else { 1.0 + i as f64 })).collect();
            t.push(&row);
        }
        t
    }

    fn names(pages: &[Page]) -> Vec<String> {
        pages.iter().map(|p| p.name.clone()).collect()
    }

    /// Missing columns leave their panels out; extra ones get one; a quantum run gets the quantum page.
    #[test]
    fn pages_follow_the_columns() {
        let classical = ts(&["t", "step", "a", "hubble", "ham_rel", "e_kin_grav", "phi_mean"], 4);
        let p = run_pages(&classical, "x").unwrap();
        assert_eq!(names(&p), ["expansion", "constraints", "energies"]);
        assert_eq!(p[0].panels.len(), 3);
        let quantum = ts(&["t", "a", "phi_mean", "phi2_mean", "state_min_symplectic", "noise_var", "noise_var_expected", "quantum_substeps"], 4);
        let p = run_pages(&quantum, "x").unwrap();
        assert_eq!(names(&p), ["expansion", "quantum"]);
        let q = &p[1];
        let labels: Vec<&str> = q.panels.iter().map(|p| p.ylabel.as_str()).collect();
        assert!(labels.contains(&"pieces per step") && labels.iter().any(|l| l.contains("ν_min")), "{labels:?}");
        let odd = ts(&["t", "a", "a_column_no_page_knows"], 3);
        assert_eq!(names(&run_pages(&odd, "x").unwrap()), ["expansion", "other"]);
        assert!(run_pages(&Timeseries::default(), "x").is_err());
    }
}
