//! Flush cost of the output (issue 15 acceptance 3), measured, not asserted: the numbers go to docs/output.md.
//!
//! 1. Flush time against the rows the output already holds: a writer holds R rows (10³ … 10⁶), gains 100 new
//!    rows, and one flush is timed (median of 15). Acceptance: flat within 2× from 10³ to 10⁶ rows.
//! 2. A 100 000-step single-site CPU run (FRW, a row every step) with `output.snapshot_every = 100` against the
//!    same run without snapshots (and with `checkpoint_every = 1000`), through the `cqgrav` binary, 3 runs of
//!    each interleaved: the wall time, the output's part of it (which the binary reports) and the process's CPU
//!    time, medians. On a shared machine the wall time of the stepping varies from run to run by more than the
//!    output costs, so the last column also gives the ratio with the stepping time of the plain run:
//!    (plain wall − plain output + this run's output) / plain wall. Acceptance: ≤ 1.2× the run without snapshots.
//!
//! `cargo bench --bench flush` (a few minutes); without `--bench` (as `cargo test --all-targets` runs it) a smoke
//! version with 10³–10⁴ rows and 2000 steps.
use cqgrav::config;
use cqgrav::diagnostics::Diagnostics;
use cqgrav::io::writer::{history_line, lock_new_output, new_run_id};
use cqgrav::io::{OutputPaths, OutputWriter, RunMeta};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn writer(path: &Path) -> OutputWriter {
    let cfg = config::load(Some(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/frw-lattice.toml"))), &[]).unwrap();
    let meta = RunMeta {
        config_text: cfg.text.clone(),
        lattice_shape: cfg.config.lattice.shape,
        spacing: cfg.config.lattice.spacing,
        dt: cfg.config.dt(),
        seed: 1,
        precision: config::Precision::F64,
        backend: "bench".into(),
        device: "bench".into(),
        background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
        history: vec![history_line("bench", 0, "bench")],
        run_id: new_run_id(),
        spectra: None,
    };
    let paths = OutputPaths::new(path);
    OutputWriter::create(lock_new_output(&paths, false).unwrap(), &paths, meta, Duration::from_secs(3600), false)
}

fn push(w: &mut OutputWriter, step: u64) {
    let d = Diagnostics { step, t: step as f64 * 0.05, a: 1.0 + 1e-6 * step as f64, ..Default::default() };
    w.push_row(&d.columns()).unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time of one flush after 100 new rows, with `rows` rows held.
fn flush_time(dir: &Path, rows: u64) -> f64 {
    let mut w = writer(&dir.join(format!("rows_{rows}.h5")));
    let mut step = 0;
    while step < rows {
        push(&mut w, step);
        step += 1;
        if step % 100_000 == 0 {
            w.flush().unwrap();
        }
    }
    w.flush().unwrap();
    let mut times = Vec::new();
    for _ in 0..15 {
        for _ in 0..100 {
            push(&mut w, step);
            step += 1;
        }
        let t = Instant::now();
        w.flush().unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    median(times)
}

const RUN: &str = r#"
[lattice]
shape = [1, 1, 1]
spacing = 1.0
[time]
dt = 0.001
[initial]
kind = "frw"
phi = 1.0
[output]
timeseries_every = 1
[run]
backend = "cpu"
"#;

/// One `cqgrav run` of `steps` steps with the `--set` overrides `sets`: (wall s, the output's part of it as the
/// binary reports it ("output X s of it"), CPU s = user + sys of the process).
fn run_once(dir: &Path, steps: u64, sets: &[&str], name: &str) -> (f64, f64, f64) {
    std::fs::write(dir.join("run.toml"), RUN).unwrap();
    let mut args = vec!["run".to_string(), "run.toml".into(), "--quiet".into(), "--set".into(), format!("time.steps={steps}")];
    args.extend(["--set".into(), format!("output.file=\"{name}.h5\"")]);
    for s in sets {
        args.extend(["--set".into(), s.to_string()]);
    }
    let cpu = || {
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage fills the struct it is given
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
        let s = |t: libc::timeval| t.tv_sec as f64 + 1e-6 * t.tv_usec as f64;
        s(u.ru_utime) + s(u.ru_stime)
    };
    let (t, c) = (Instant::now(), cpu());
    let out = Command::new(env!("CARGO_BIN_EXE_cqgrav")).args(&args).current_dir(dir).output().unwrap();
    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu() - c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let output = text
        .lines()
        .find_map(|l| l.split_once("; output ").and_then(|(_, r)| r.split_whitespace().next()?.parse::<f64>().ok()))
        .expect("the run's `done:` line reports its output time");
    (wall, output, cpu)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    let rows: &[u64] = if bench { &[1_000, 10_000, 100_000, 1_000_000] } else { &[1_000, 10_000] };
    println!("flush time (100 new rows, median of 15) against the rows held:");
    let mut ts = Vec::new();
    for &r in rows {
        let t = flush_time(dir.path(), r);
        ts.push(t);
        println!("  {r:>9} rows: {:.2} ms", 1e3 * t);
    }
    let (lo, hi) = (ts.iter().copied().fold(f64::INFINITY, f64::min), ts.iter().copied().fold(0.0, f64::max));
    println!("  max/min = {:.2} (acceptance: <= 2)", hi / lo);

    let steps = if bench { 100_000 } else { 2_000 };
    println!("\n{steps}-step single-site CPU run, a row every step; median of 3 runs, interleaved:");
    let variants: [(&str, &[&str]); 3] =
        [("no snapshots", &[]), ("snapshot_every = 100", &["output.snapshot_every=100"]), ("checkpoint_every = 1000", &["output.checkpoint_every=1000"])];
    let mut results: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); variants.len()];
    for rep in 0..3 {
        for (k, (_, sets)) in variants.iter().enumerate() {
            results[k].push(run_once(dir.path(), steps, sets, &format!("run{k}_{rep}")));
        }
    }
    let med = |k: usize, f: fn(&(f64, f64, f64)) -> f64| median(results[k].iter().map(f).collect());
    let base = (med(0, |r| r.0), med(0, |r| r.1), med(0, |r| r.2));
    for (k, (name, _)) in variants.iter().enumerate() {
        let (w, o, c) = (med(k, |r| r.0), med(k, |r| r.1), med(k, |r| r.2));
        println!(
            "  {name:<24} wall {w:6.2} s = {:.3} ×   output {o:5.2} s   CPU {c:6.2} s = {:.3} ×   with the plain run's stepping \
             time: {:.3} ×",
            w / base.0,
            c / base.2,
            (base.0 - base.1 + o) / base.0
        );
    }
    println!("  (acceptance: snapshot_every = 100 costs <= 1.2 × the run without snapshots)");
}
