//! `cqgrav toy [CONFIG] [--set KEY=VALUE]... [--check] [--quiet]`: the paper's toy CQ systems (SPEC §12,
//! src/toy): runs the ensemble of trajectories of a configuration (the built-in qubit example without CONFIG)
//! and writes the HDF5 file of docs/toy.md; `--check` validates and summarises without running.
use super::check::{print_warnings, report_failure};
use crate::config::fmt_num;
use crate::toy::config::{load, ToyConfig};
use crate::toy::continuous::{discrete_diffusion, saturated_decoherence};
use crate::toy::ensemble::{Realisation, ToySetup};
use crate::toy::model::SystemKind;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

pub fn toy(config: Option<&Path>, set: &[String], check_only: bool, quiet: bool) -> anyhow::Result<()> {
    let source = config.map_or_else(|| "built-in toy example (data/examples/toy/qubit-particle.toml)".to_string(), |p| p.display().to_string());
    let loaded = load(config, set).map_err(|e| report_failure(&source, &e.lines()))?;
    let setup = loaded.config.setup();
    println!("cqgrav {}: toy model from {source}", env!("CARGO_PKG_VERSION"));
    print!("{}", summary(&loaded.config, &setup));
    print_warnings(&loaded.warnings);
    if check_only {
        println!("ok: the configuration is valid");
        return Ok(());
    }
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(setup.trajectories as u64) };
    let start = Instant::now();
    let result = setup.run(&|done| bar.set_position(done))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    println!("done: {} trajectories in {secs:.2} s ({:.3e} s per trajectory)", setup.trajectories, secs / setup.trajectories as f64);
    print!("{}", final_summary(&setup, &result));
    let file = &loaded.config.output.file;
    crate::io::toy::write(file, &setup, &result, &loaded.text)?;
    println!("wrote {} (cqgrav plot {} draws Figure 1)", file.display(), file.display());
    Ok(())
}

/// What the configuration sets up, in words.
pub fn summary(c: &ToyConfig, s: &ToySetup) -> String {
    let mut out = String::new();
    let m = &s.model;
    let f = fmt_num;
    let system = match m.system {
        SystemKind::QubitParticle => "qubit-particle, H_m = diag(ω, -ω)".to_string(),
        SystemKind::OscillatorParticle => format!("oscillator-particle, H_m = ω(a†a + 1/2), {} Fock levels", m.levels),
    };
    let _ = writeln!(out, "model        {system}; ω = {}, B = {}, m = {}; Lindblad {}", f(m.omega), f(m.coupling), f(m.mass), m.lindblad.name());
    match &s.realisation {
        Realisation::Discrete(d) => {
            let kicks: Vec<String> = d.groups.iter().map(|g| f(g.kick)).collect();
            let _ = writeln!(
                out,
                "realisation  discrete, τ = {}: momentum kicks {} at total rate ≥ ω/τ = {}; momentum diffusion ωB²τ = {} (Eq. (82))",
                f(d.tau),
                kicks.join(", "),
                f(m.omega / d.tau),
                f(discrete_diffusion(m, d.tau))
            );
        }
        Realisation::Continuous(cr) => {
            let _ = writeln!(
                out,
                "realisation  continuous: D2 = {}{}, D0 = {} (trade-off D0·D2 ≥ 1/4: saturated D0 = {}, excess {})",
                f(cr.diffusion),
                if c.realisation.diffusion.is_none() { " (= ωB²τ)" } else { "" },
                f(cr.decoherence),
                f(saturated_decoherence(cr.diffusion)),
                f(c.realisation.decoherence_excess.unwrap_or(0.0))
            );
        }
    }
    let i = &s.initial;
    let classical = if i.sigma_q == 0.0 && i.sigma_p == 0.0 {
        format!("(q, p) = ({}, {}) sharp", f(i.q), f(i.p))
    } else {
        format!("(q, p) ~ N(({}, {}), diag({}², {}²))", f(i.q), f(i.p), f(i.sigma_q), f(i.sigma_p))
    };
    let quantum = match m.system {
        SystemKind::QubitParticle => format!("|c↑|² = {}", f(i.psi[1].norm_sqr())),
        SystemKind::OscillatorParticle => {
            let b = c.initial.coherent.unwrap_or([1.0, 0.0]);
            format!("coherent |β = {}{:+}i⟩", f(b[0]), f(b[1]))
        }
    };
    let _ = writeln!(out, "initial      {classical}; {quantum}");
    let _ = writeln!(
        out,
        "ensemble     {} trajectories ({} saved), {} recording times to t = {}, seed {}",
        s.trajectories,
        s.saved,
        s.times.len(),
        f(*s.times.last().unwrap_or(&0.0)),
        s.seed
    );
    let _ = writeln!(out, "output       {}", c.output.file.display());
    out
}

/// The ensemble at t_end: means against the semiclassical path, outcome fractions with their binomial errors.
fn final_summary(s: &ToySetup, r: &crate::toy::ToyResult) -> String {
    let mut out = String::new();
    let last = |name: &str| r.column(name).last().copied().unwrap_or(f64::NAN);
    let n = r.finals.len() as f64;
    let _ = writeln!(
        out,
        "t = {}: E[q] = {:.5}, E[p] = {:.5} (semiclassical {:.5}, {:.5}); sd(p) = {:.4}; E[coherence] = {:.3e}; E[purity] = {:.6}",
        fmt_num(*s.times.last().unwrap_or(&0.0)),
        last("q_mean"),
        last("p_mean"),
        last("q_semiclassical"),
        last("p_semiclassical"),
        last("p_var").sqrt(),
        last("coherence_mean"),
        last("purity_mean")
    );
    let labels = crate::io::toy::level_labels(s.model.system, s.model.dim());
    let mut parts = Vec::new();
    for (k, label) in labels.iter().enumerate().chain([(usize::MAX, &"undecided".to_string())]) {
        let count = r.finals.iter().filter(|f| if k == usize::MAX { f.outcome < 0 } else { f.outcome == k as i32 }).count() as f64;
        if count > 0.0 {
            let frac = count / n;
            parts.push(format!("{label} {frac:.4} ± {:.4}", (frac * (1.0 - frac) / n).sqrt()));
        }
    }
    let _ = writeln!(out, "outcomes     {}", parts.join(", "));
    out
}

/// `cqgrav inspect` of a toy output file: the model, the ensemble at t_end, the outcomes, the configuration.
pub fn inspect_summary(f: &crate::io::toy::ToyOutput) -> String {
    let mut out = String::new();
    let ts = &f.timeseries;
    let last = |name: &str| ts.column(name).and_then(|c| c.last().copied()).unwrap_or(f64::NAN);
    let _ = writeln!(out, "file         {} (cqgrav toy output)", f.path.display());
    let _ = writeln!(out, "model        {}, {} levels, {} realisation", f.model, f.levels, f.realisation);
    let _ = writeln!(out, "trajectories {} ({} saved), {} recording times to t = {}", f.final_q.len(), f.saved_q.len(), f.t.len(), fmt_num(last("t")));
    let _ = writeln!(
        out,
        "at t_end     E[q] = {:.5}, E[p] = {:.5} (semiclassical {:.5}, {:.5}); E[coherence] = {:.3e}; E[purity] = {:.6}; E[jumps] = {:.3}",
        last("q_mean"),
        last("p_mean"),
        last("q_semiclassical"),
        last("p_semiclassical"),
        last("coherence_mean"),
        last("purity_mean"),
        last("jumps_mean")
    );
    let n = f.final_outcome.len().max(1) as f64;
    let mut parts = Vec::new();
    for (k, label) in f.level_labels.iter().enumerate() {
        let c = f.final_outcome.iter().filter(|&&o| o == k as i32).count();
        if c > 0 {
            parts.push(format!("{label} {:.4}", c as f64 / n));
        }
    }
    let undecided = f.final_outcome.iter().filter(|&&o| o < 0).count();
    if undecided > 0 {
        parts.push(format!("undecided {:.4}", undecided as f64 / n));
    }
    let _ = writeln!(out, "outcomes     {}", parts.join(", "));
    let _ = writeln!(out, "config:\n{}", f.config_text);
    out
}
