//! Output overhead (issue 3 acceptance 5): the cost of one snapshot at 64³ (constraint fields + the snapshot
//! file + the main-file flush, f64 and f32), of one checkpoint, and of one CPU RK4 step at 64³, then the
//! overhead of one snapshot per 100 steps relative to those 100 steps (budget: ≤ 10 %).
//!
//! `cargo bench --bench output` (about 8 minutes on 2 cores); `CQGRAV_BENCH_N=32` for a smaller lattice,
//! `CQGRAV_BENCH_QUICK=1` for the summary lines alone. Results measured on the project's machines are in docs/output.md.
use cqgrav::backend::{cpu_stepper, Stepper, StepperSetup};
use cqgrav::config::{self, Precision};
use cqgrav::io::writer::{history_line, lock_new_output, new_run_id};
use cqgrav::io::{OutputPaths, OutputWriter, RunMeta, SnapshotData};
use cqgrav::physics::initial_data::initial_state;
use cqgrav::state::State;
use criterion::Criterion;
use std::path::Path;
use std::time::{Duration, Instant};

/// 64 under `cargo bench`; 16 when `cargo test --all-targets` runs this as a smoke test (no `--bench`).
fn lattice_n(bench: bool) -> usize {
    std::env::var("CQGRAV_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(if bench { 64 } else { 16 })
}

/// The default example (FRW, φ̄ = 1) on n³ with a small inhomogeneity and CQ noise, so the snapshot fields are
/// not smooth (smooth fields would compress unrealistically well).
fn setup(n: usize, p: Precision) -> (StepperSetup, State, config::LoadedConfig) {
    let mut loaded = config::load(Some(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/frw-lattice.toml"))), &[]).expect("data/examples/frw-lattice.toml");
    let cfg = &mut loaded.config;
    cfg.lattice.shape = [n; 3];
    cfg.run.precision = p;
    cfg.gravity.dissipation = 0.1;
    cfg.cq.diffusion = 1e-6;
    let mut state = initial_state(cfg);
    let lat = state.lattice;
    for i in 0..lat.sites() {
        let x = lat.position(i);
        let l = lat.box_lengths();
        let s = 1e-3 * (std::f64::consts::TAU * x[0] / l[0]).sin() * (std::f64::consts::TAU * x[1] / l[1]).cos();
        for v in [0, 3, 13] {
            state.data[v * lat.sites() + i] += s;
        }
    }
    (StepperSetup::from_config(cfg).with_background_of(&state), state, loaded)
}

fn writer(dir: &Path, setup: &StepperSetup, loaded: &config::LoadedConfig, p: Precision) -> OutputWriter {
    let meta = RunMeta {
        config_text: loaded.text.clone(),
        lattice_shape: setup.lattice.shape,
        spacing: setup.lattice.spacing,
        dt: setup.dt,
        seed: 1,
        precision: p,
        backend: "bench".into(),
        device: "bench".into(),
        background: setup.background,
        history: vec![history_line("bench", 0, "bench")],
        run_id: new_run_id(),
        spectra: None,
    };
    let paths = OutputPaths::new(&dir.join("run.h5"));
    let lock = lock_new_output(&paths, false).expect("a new output");
    let mut w = OutputWriter::create(lock, &paths, meta, Duration::from_secs(2), false);
    // a realistic main file: 1000 timeseries rows
    for k in 0..1000u64 {
        let d = cqgrav::diagnostics::Diagnostics { step: k, t: k as f64 * setup.dt, ..Default::default() };
        w.push_row(&d.columns()).unwrap();
    }
    w.flush().unwrap();
    w
}

/// One snapshot as the run driver writes it: constraint fields, download, file, main-file flush.
fn snapshot(st: &mut dyn Stepper, w: &mut OutputWriter) {
    let s = st.download().unwrap();
    let cf = st.constraint_fields().unwrap();
    w.write_snapshot(SnapshotData::from_state(&s, &cf, None)).unwrap();
    w.finish().unwrap();
}

fn time<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    f(); // warm-up
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = lattice_n(bench);
    let reps = if bench { 3 } else { 1 };
    // CQGRAV_BENCH_QUICK=1: only the direct timing of the summary (3 repetitions each), no criterion statistics
    let quick = std::env::var("CQGRAV_BENCH_QUICK").as_deref() == Ok("1");
    let dir = tempfile::tempdir().unwrap();
    let mut c = Criterion::default().configure_from_args().sample_size(10).measurement_time(Duration::from_secs(20));
    let mut summary = Vec::new();
    for p in [Precision::F64, Precision::F32] {
        let pn = if p == Precision::F64 { "f64" } else { "f32" };
        let sub = dir.path().join(pn);
        let (s, state, loaded) = setup(n, p);
        let mut st = cpu_stepper(s, &state);
        let mut w = writer(&sub, &s, &loaded, p);
        if !quick {
            let mut g = c.benchmark_group(format!("output_{n}^3_{pn}"));
            g.bench_function("cpu_rk4_step", |b| b.iter(|| st.advance(1).unwrap()));
            g.bench_function("snapshot", |b| b.iter(|| snapshot(st.as_mut(), &mut w)));
            g.bench_function("checkpoint", |b| b.iter(|| w.write_checkpoint(&st.download().unwrap()).unwrap()));
            g.finish();
        }
        // the ratio, timed directly (criterion's estimates are printed above)
        let step = time(reps, || st.advance(1).unwrap());
        let snap = time(reps, || snapshot(st.as_mut(), &mut w));
        let ckpt = time(reps, || w.write_checkpoint(&st.download().unwrap()).unwrap());
        // the file alone (what a GPU run pays besides two downloads: its constraint fields come from the GPU)
        let data = SnapshotData::from_state(&st.download().unwrap(), &st.constraint_fields().unwrap(), None);
        let file = time(reps, || data.write(&sub.join("alone.h5"), w.meta()).unwrap());
        let bytes = std::fs::metadata(w.paths().snapshot(st.download().unwrap().step)).map_or(0, |m| m.len());
        summary.push(format!(
            "{n}^3 {pn}: CPU step {step:.3} s, snapshot {snap:.3} s (of which the file {file:.3} s, {:.1} MiB), \
             checkpoint {ckpt:.3} s; one snapshot per 100 steps = {:.2} % of the run time (budget 10 %)",
            bytes as f64 / 1048576.0,
            100.0 * snap / (100.0 * step)
        ));
    }
    c.final_summary();
    println!("\noutput overhead ({} rayon threads):", rayon::current_num_threads());
    for line in summary {
        println!("  {line}");
    }
}
