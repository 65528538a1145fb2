//! `cqgrav inspect FILE`: a summary of an output file (SPEC §7) — provenance, steps and last t, the extremes of
//! the constraint history, the quantum state and the CQ noise, further columns, the snapshots and the
//! checkpoint, then the stored configuration — or of a snapshot file alone (its provenance and the statistics of
//! its fields). Every number is written in one format (`number.rs`: 7 significant digits, `%g` style).
use super::number::num;
use crate::io::{OutputFile, SnapshotFile};
use std::fmt::Write as _;
use std::path::Path;

pub fn inspect(file: &Path) -> anyhow::Result<()> {
    if crate::io::toy::is_toy_output(file) {
        // a `cqgrav toy` file (docs/toy.md)
        print!("{}", super::toy::inspect_summary(&crate::io::toy::ToyOutput::open(file)?));
        return Ok(());
    }
    if SnapshotFile::is_snapshot(file) {
        print!("{}", snapshot_summary(&SnapshotFile::open(file)?));
        return Ok(());
    }
    let f = OutputFile::open(file)?;
    print!("{}", summary(&f));
    // issue 18: a missing part file of a domain-decomposed run's snapshot or checkpoint is an error, not a note:
    // other readers would see NaN planes in a file that looks complete
    let damaged = f.damaged_parts();
    if !damaged.is_empty() {
        anyhow::bail!("the output {} is damaged: {} of its snapshot and checkpoint files lack a part:\n  {}", file.display(), damaged.len(), damaged.join("\n  "));
    }
    Ok(())
}

/// Name / value of the extreme of `col` (`max` or min), ignoring NaN, with the t of that row.
fn extreme(col: &[f64], t: &[f64], max: bool) -> Option<(f64, f64)> {
    let mut best: Option<(f64, f64)> = None;
    for (&v, &tt) in col.iter().zip(t) {
        if v.is_nan() {
            continue;
        }
        if best.is_none_or(|(b, _)| if max { v > b } else { v < b }) {
            best = Some((v, tt));
        }
    }
    best
}

/// `value (at t = …)` of an extreme, or `-`.
fn at(e: Option<(f64, f64)>) -> String {
    e.map_or("-".into(), |(v, t)| format!("{} (t = {})", num(v), num(t)))
}

/// The provenance lines shared by a main file and a snapshot file (its root attributes).
fn provenance(s: &mut String, a: &dyn Fn(&str) -> Option<String>) {
    let get = |n: &str| a(n).unwrap_or_else(|| "?".into());
    let _ = writeln!(s, "code         cqgrav {}, git commit {}", get("code_version"), get("git_commit"));
    if let Some(id) = a("run_id") {
        let _ = writeln!(s, "run id       {id}");
    }
    let _ = writeln!(s, "backend      {} ({})", get("backend"), get("device"));
    let (shape, h) = (get("lattice_shape"), a("spacing").and_then(|v| v.parse::<f64>().ok()));
    let dt = a("dt").and_then(|v| v.parse::<f64>().ok());
    let _ = writeln!(
        s,
        "lattice      {shape}, h = {}, dt = {}, precision {}, seed {}",
        h.map_or("?".into(), num),
        dt.map_or("?".into(), num),
        get("precision"),
        get("seed")
    );
    let _ = writeln!(s, "units        {}", get("units"));
    for (i, line) in get("history").lines().enumerate() {
        let _ = writeln!(s, "{}{line}", if i == 0 { "history      " } else { "             " });
    }
}

/// The physics of the stored configuration in one line (representation, CQ coupling), if it loads.
fn physics(config_text: &str) -> Option<String> {
    let c = crate::config::load_text("the stored configuration", config_text, &[]).ok()?.config;
    let cq = if c.cq.diffusion > 0.0 {
        format!("CQ coupling D2 = {}, β = {}, noise {:?}, decoherence excess {}", num(c.cq.diffusion), num(c.cq.beta), c.cq.noise, num(c.cq.decoherence_excess))
    } else {
        "no CQ coupling (D2 = 0)".into()
    };
    Some(format!(
        "initial {:?}, lapse {:?}, fd_order {}, m = {}, matter {:?}; {cq}",
        c.initial.kind,
        c.gauge.lapse,
        c.gravity.fd_order,
        num(c.matter.mass),
        c.matter.representation
    ))
}

/// Columns printed by a section of their own (or bookkeeping).
const SHOWN: [&str; 22] = [
    "t", "step", "a", "hubble", "ham_l2", "ham_linf", "ham_rel", "mom_l2", "mom_linf", "mom_rel", "e_kin_grav", "e_pot_grav",
    "e_matter", "phi_mean", "phi2_mean", "state_min_symplectic", "wall_per_step", "noise_mean", "noise_var", "noise_var_expected",
    "noise_trace_var", "noise_trace_var_expected",
];

pub fn summary(f: &OutputFile) -> String {
    let mut s = String::new();
    let p = &f.paths;
    let _ = writeln!(s, "file         {} (sidecars {}/ and {})", p.main.display(), p.dir.display(), p.xdmf.display());
    provenance(&mut s, &|n| f.attr(n).map(str::to_string));
    if let Some(line) = physics(&f.config_text) {
        let _ = writeln!(s, "physics      {line}");
    }

    let ts = &f.timeseries;
    let steps = ts.steps();
    let t = ts.column("t").unwrap_or(&[]);
    if ts.is_empty() || t.is_empty() {
        let _ = writeln!(s, "timeseries   no rows");
    } else {
        let n = ts.len();
        let dup = steps.windows(2).filter(|w| w[1] <= w[0]).count();
        let _ = writeln!(
            s,
            "timeseries   {n} rows x {} columns, steps {} … {}, t {} … {}{}",
            ts.names.len(),
            steps.first().copied().unwrap_or(0),
            steps.last().copied().unwrap_or(0),
            num(t[0]),
            num(t[n - 1]),
            if dup > 0 { format!(" — WARNING: {dup} rows out of order or duplicated") } else { String::new() }
        );
        let last = |name: &str| ts.column(name).map(|c| c[n - 1]);
        let items: Vec<String> = [("a", "a"), ("H", "hubble"), ("e_kin_grav", "e_kin_grav"), ("e_pot_grav", "e_pot_grav"), ("e_matter", "e_matter"), ("φ̄", "phi_mean")]
            .iter()
            .filter_map(|(label, name)| last(name).map(|v| format!("{label} = {}", num(v))))
            .collect();
        let _ = writeln!(s, "last row     step {}, t = {}: {}", steps.last().copied().unwrap_or(0), num(t[n - 1]), items.join(", "));
        let _ = writeln!(s, "constraints  {:<10} {:>28} {:>28} {:>14}", "", "min (at t)", "max (at t)", "last");
        for name in ["ham_l2", "ham_linf", "ham_rel", "mom_l2", "mom_linf", "mom_rel"] {
            let Some(c) = ts.column(name) else { continue };
            let _ = writeln!(s, "             {name:<10} {:>28} {:>28} {:>14}", at(extreme(c, t, false)), at(extreme(c, t, true)), num(c[n - 1]));
        }
        quantum(&mut s, f);
        let extra: Vec<&String> = ts.names.iter().filter(|n| !SHOWN.contains(&n.as_str())).collect();
        if !extra.is_empty() {
            let _ = writeln!(s, "other        {:<24} {:>28} {:>28} {:>14}", "", "min (at t)", "max (at t)", "last");
            for name in extra {
                let c = ts.column(name).unwrap_or(&[]);
                let _ = writeln!(s, "             {name:<24} {:>28} {:>28} {:>14}", at(extreme(c, t, false)), at(extreme(c, t, true)), num(c[n - 1]));
            }
        }
    }

    let _ = write!(s, "snapshots    {}", f.snapshots.len());
    for (i, e) in f.snapshots.iter().enumerate() {
        let _ = write!(s, "{}", if i % 4 == 0 { "\n             " } else { "  " });
        match &e.info {
            Ok((_, t)) => {
                let _ = write!(s, "{} (t = {})", e.name, num(*t));
            }
            Err(msg) => {
                let _ = write!(s, "{} (MISSING: {msg})", e.name);
            }
        }
    }
    s.push('\n');
    match &f.checkpoint {
        None => s.push_str("checkpoint   none\n"),
        Some(Ok(c)) => {
            let _ = writeln!(
                s,
                "checkpoint   step {}, t = {} ({}; continue with cqgrav run --restart {})",
                c.step,
                num(c.t),
                p.checkpoint().display(),
                p.main.display()
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(s, "checkpoint   UNREADABLE: {e}");
        }
    }
    let _ = writeln!(s, "config");
    for line in f.config_text.lines() {
        let _ = writeln!(s, "  {line}");
    }
    s
}

/// The quantum state (⟨δφ²⟩, the smallest symplectic eigenvalue) and the realised CQ noise, when the run has them.
fn quantum(s: &mut String, f: &OutputFile) {
    let ts = &f.timeseries;
    let (Some(t), n) = (ts.column("t"), ts.len()) else { return };
    let finite = |name: &str| ts.column(name).filter(|c| c.iter().any(|v| v.is_finite()));
    if let Some(nu) = finite("state_min_symplectic") {
        let phi2 = ts.column("phi2_mean").unwrap_or(&[]);
        if let (Some(&first), Some(&last)) = (phi2.first(), phi2.last()) {
            let _ = writeln!(
                s,
                "quantum      ⟨δφ²⟩ (box mean) {} at t = {} → {} at t = {} ({}×); min {}, max {}",
                num(first),
                num(t[0]),
                num(last),
                num(t[n - 1]),
                num(if first != 0.0 { last / first } else { f64::NAN }),
                at(extreme(phi2, t, false)),
                at(extreme(phi2, t, true))
            );
        }
        let dev = nu.iter().map(|v| (v - 1.0).abs()).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
        let _ = writeln!(
            s,
            "             smallest symplectic eigenvalue of Γ / ½: min {}, last {} (1: pure; largest |ν − 1| = {})",
            at(extreme(nu, t, false)),
            num(nu[n - 1]),
            num(dev)
        );
    }
    if let (Some(var), Some(exp)) = (ts.column("noise_var"), ts.column("noise_var_expected")) {
        let ratios = |num_: &[f64], den: &[f64]| -> Vec<f64> {
            num_.iter().zip(den).filter(|(_, d)| **d > 0.0).map(|(v, d)| v / d).filter(|r| r.is_finite()).collect()
        };
        let r = ratios(var, exp);
        if !r.is_empty() {
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len().max(2) - 1) as f64).sqrt();
            let tr = match (ts.column("noise_trace_var"), ts.column("noise_trace_var_expected")) {
                (Some(a), Some(b)) => {
                    let r = ratios(a, b);
                    if r.is_empty() { String::new() } else { format!("; trace part {}", num(r.iter().sum::<f64>() / r.len() as f64)) }
                }
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "CQ noise     realised / expected variance of the increments dW^ab: mean over {} rows {} (standard deviation {}){tr}",
                r.len(),
                num(mean),
                num(sd)
            );
        }
    }
}

/// `cqgrav inspect` of a snapshot file: its provenance, time, and per field (and component) min, max, mean.
pub fn snapshot_summary(f: &SnapshotFile) -> String {
    let mut s = String::new();
    let d = &f.data;
    let _ = writeln!(s, "file         {} (a snapshot: step {}, t = {})", f.path.display(), d.step, num(d.t));
    if f.attr("format").is_none() {
        let _ = writeln!(s, "note         written before snapshots carried the run's provenance: only its fields and time are known");
    } else {
        provenance(&mut s, &|n| f.attr(n).map(str::to_string));
        if let Some(line) = f.attr("config").and_then(physics) {
            let _ = writeln!(s, "physics      {line}");
        }
    }
    let _ = writeln!(s, "fields       {:<10} {:>15} {:>15} {:>15}", "", "min", "max", "mean");
    let comps = |c: usize| -> Vec<String> {
        match c {
            6 => crate::io::dims::TENSOR_COMPONENTS.iter().map(|x| format!("_{x}")).collect(),
            3 => crate::io::dims::VECTOR_COMPONENTS.iter().map(|x| format!("_{x}")).collect(),
            _ => vec![String::new()],
        }
    };
    for (name, shape, v) in &d.fields {
        let c = if shape.len() == 4 { shape[0] } else { 1 };
        let per = v.len() / c.max(1);
        for (k, suffix) in comps(c).iter().enumerate() {
            let part = &v[k * per..(k + 1) * per];
            let (lo, hi) = part.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
            let mean = part.iter().sum::<f64>() / part.len().max(1) as f64;
            let _ = writeln!(s, "             {:<10} {:>15} {:>15} {:>15}", format!("{name}{suffix}"), num(lo), num(hi), num(mean));
        }
    }
    let ham = d.field("ham").unwrap_or(&[]);
    let rms = (ham.iter().map(|x| x * x).sum::<f64>() / ham.len().max(1) as f64).sqrt();
    let _ = writeln!(s, "derived      Hamiltonian constraint RMS over sites {}", num(rms));
    if let Some(text) = f.attr("config") {
        let _ = writeln!(s, "config");
        for line in text.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}
