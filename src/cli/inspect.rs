//! `cqgrav inspect FILE`: a summary of an output file (SPEC §7): provenance, steps and last t, the extremes of
//! the constraint history, the snapshots and the checkpoint, then the stored configuration.
use crate::io::OutputFile;
use std::fmt::Write as _;
use std::path::Path;

pub fn inspect(file: &Path) -> anyhow::Result<()> {
    if crate::io::toy::is_toy_output(file) {
        // a `cqgrav toy` file (docs/toy.md)
        print!("{}", super::toy::inspect_summary(&crate::io::toy::ToyOutput::open(file)?));
        return Ok(());
    }
    let f = OutputFile::open(file)?;
    print!("{}", summary(&f));
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

pub fn summary(f: &OutputFile) -> String {
    let mut s = String::new();
    let a = |n: &str| f.attr(n).unwrap_or("?").to_string();
    let p = &f.paths;
    let _ = writeln!(s, "file         {} (sidecars {}/ and {})", p.main.display(), p.dir.display(), p.xdmf.display());
    let _ = writeln!(s, "code         cqgrav {}, git commit {}", a("code_version"), a("git_commit"));
    let _ = writeln!(s, "backend      {} ({})", a("backend"), a("device"));
    let _ = writeln!(
        s,
        "lattice      {:?}, h = {}, dt = {}, precision {}, seed {}",
        f.lattice_shape,
        f.spacing,
        f.dt,
        a("precision"),
        a("seed")
    );
    let _ = writeln!(s, "units        {}", a("units"));
    for (i, line) in a("history").lines().enumerate() {
        let _ = writeln!(s, "{}{line}", if i == 0 { "history      " } else { "             " });
    }

    let ts = &f.timeseries;
    let steps = ts.steps();
    let t = ts.column("t").unwrap_or(&[]);
    if ts.is_empty() {
        let _ = writeln!(s, "timeseries   no rows");
    } else {
        let n = ts.len();
        let dup = steps.windows(2).filter(|w| w[1] <= w[0]).count();
        let _ = writeln!(
            s,
            "timeseries   {n} rows x {} columns, steps {} … {}, t {} … {}{}",
            ts.names.len(),
            steps[0],
            steps[n - 1],
            t[0],
            t[n - 1],
            if dup > 0 { format!(" — WARNING: {dup} rows out of order or duplicated") } else { String::new() }
        );
        let last = |name: &str| ts.column(name).map_or(f64::NAN, |c| c[n - 1]);
        let _ = writeln!(
            s,
            "last row     step {}, t = {}: a = {}, H = {:e}, e_kin_grav = {:e}, e_pot_grav = {:e}, e_matter = {:e}, φ̄ = {}",
            steps[n - 1],
            t[n - 1],
            last("a"),
            last("hubble"),
            last("e_kin_grav"),
            last("e_pot_grav"),
            last("e_matter"),
            last("phi_mean")
        );
        let _ = writeln!(s, "constraints  {:<10} {:>26} {:>26} {:>12}", "", "min (at t)", "max (at t)", "last");
        for name in ["ham_l2", "ham_linf", "ham_rel", "mom_l2", "mom_linf", "mom_rel"] {
            let Some(c) = ts.column(name) else { continue };
            let fmt = |e: Option<(f64, f64)>| e.map_or("-".into(), |(v, at)| format!("{v:.3e} ({at:.5})"));
            let _ = writeln!(
                s,
                "             {name:<10} {:>26} {:>26} {:>12.3e}",
                fmt(extreme(c, t, false)),
                fmt(extreme(c, t, true)),
                c[n - 1]
            );
        }
    }

    let _ = write!(s, "snapshots    {}", f.snapshots.len());
    for (i, e) in f.snapshots.iter().enumerate() {
        let _ = write!(s, "{}", if i % 4 == 0 { "\n             " } else { "  " });
        match &e.info {
            Ok((_, t)) => {
                let _ = write!(s, "{} (t = {t})", e.name);
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
            let _ = writeln!(s, "checkpoint   step {}, t = {} ({}; continue with cqgrav run --restart {})", c.step, c.t, p.checkpoint().display(), p.main.display());
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
