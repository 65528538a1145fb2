//! Issue 3 acceptance 2 (SPEC §7 `/checkpoint`, §8.6): 2k steps in one go vs k steps, checkpoint,
//! `cqgrav run --restart`, k more steps: the final state is identical bit for bit (CPU and GPU, f32 and f64),
//! and so are the timeseries (without duplicated rows) and the snapshots. Also: a run that went on past its
//! last checkpoint before dying is cut back to it on restart; changed physics keys are refused, naming them.
//! The GPU cases run on whatever adapter wgpu finds (lavapipe in CI); without one they fail unless
//! CQGRAV_ALLOW_NO_GPU=1.
mod common;
use cqgrav::io::{Checkpoint, OutputFile, SnapshotData};
use std::path::Path;

/// A gauge wave with harmonic slicing, dissipation and CQ noise (keyed by seed and step) on 8³: every field
/// and the lapse evolve, and the random numbers after the restart must be the same.
const CONFIG: &str = r#"
[lattice]
shape = [8, 8, 8]
spacing = 0.125
[time]
courant = 0.25
steps = 12
[gauge]
lapse = "harmonic"
[gravity]
fd_order = 4
dissipation = 0.1
[cq]
diffusion = 1e-6
[initial]
kind = "gauge-wave"
amplitude = 0.01
[output]
file = "run.h5"
timeseries_every = 2
snapshot_every = 4
checkpoint_every = 4
[run]
backend = "cpu"
seed = 7
"#;

use common::cqgrav;

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = cqgrav(dir, args);
    assert!(ok, "cqgrav {args:?} failed:\n{text}");
    text
}

fn gpu_missing(text: &str) -> bool {
    let skip = std::env::var("CQGRAV_ALLOW_NO_GPU").as_deref() == Ok("1");
    if skip && text.contains("could not set up the time stepper") {
        eprintln!("skipping the GPU case (CQGRAV_ALLOW_NO_GPU=1):\n{text}");
        return true;
    }
    false
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `b` continues `a` exactly: final checkpoint state, timeseries (but wall_per_step), snapshots.
fn assert_same_run(a: &Path, b: &Path, label: &str) {
    let (fa, fb) = (OutputFile::open(a).unwrap(), OutputFile::open(b).unwrap());
    let (ca, cb) = (fa.read_checkpoint().unwrap(), fb.read_checkpoint().unwrap());
    assert_eq!(ca.state.step, cb.state.step, "{label}: final step");
    assert_eq!(ca.state.t.to_bits(), cb.state.t.to_bits(), "{label}: final t");
    assert_eq!(ca.state.background, cb.state.background, "{label}: background");
    let diff = ca.state.data.iter().zip(&cb.state.data).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
    assert_eq!(diff, 0, "{label}: {diff} of {} state values differ after the restart", ca.state.data.len());
    assert_eq!((ca.seed, ca.precision, ca.dt.to_bits()), (cb.seed, cb.precision, cb.dt.to_bits()), "{label}");

    let (ta, tb) = (&fa.timeseries, &fb.timeseries);
    assert_eq!(ta.names, tb.names, "{label}: timeseries columns");
    let steps = tb.steps();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{label}: duplicated or unordered rows: {steps:?}");
    let t = tb.column("t").unwrap();
    assert!(t.windows(2).all(|w| w[0] < w[1]), "{label}: duplicated times");
    for (name, col) in ta.names.iter().zip(&ta.columns) {
        if name != "wall_per_step" {
            assert_eq!(bits(col), bits(tb.column(name).unwrap()), "{label}: timeseries column {name} differs");
        }
    }
    let names = |f: &OutputFile| f.snapshots.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "{label}: snapshot lists");
    for s in &fa.snapshots {
        let step = s.info.as_ref().unwrap().0;
        let (sa, sb) = (fa.snapshot(step).unwrap(), fb.snapshot(step).unwrap());
        for ((n, _, x), (_, _, y)) in sa.fields.iter().zip(&sb.fields) {
            assert_eq!(bits(x), bits(y), "{label}: snapshot {step} field {n} differs");
        }
        assert_eq!((sa.t.to_bits(), sa.step), (sb.t.to_bits(), sb.step));
    }
    println!("{label}: identical: step {}, t = {}, {} rows, {} snapshots", cb.state.step, cb.state.t, tb.len(), fb.snapshots.len());
}

fn one_case(backend: &str, precision: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    let be = format!("run.backend={backend}");
    let pr = format!("run.precision={precision}");
    let (ok, text) = cqgrav(d, &["run", "c.toml", "--quiet", "--set", &be, "--set", &pr, "--set", "output.file=whole.h5"]);
    if !ok && backend == "gpu" && gpu_missing(&text) {
        return;
    }
    assert!(ok, "{text}");
    // k = 6: the checkpoint of the first half (its final one) is at step 6, between the periodic ones
    run_ok(d, &["run", "c.toml", "--quiet", "--set", &be, "--set", &pr, "--set", "output.file=split.h5", "--set", "time.steps=6"]);
    let text = run_ok(d, &["run", "--quiet", "--restart", "split.h5", "--set", "time.steps=12"]);
    assert!(text.contains("restarting split.h5 from its checkpoint at step 6"), "{text}");
    assert_same_run(&d.join("whole.h5"), &d.join("split.h5"), &format!("{backend} {precision}"));
}

#[test]
fn restart_is_bit_for_bit_cpu_f64() {
    one_case("cpu", "f64");
}

#[test]
fn restart_is_bit_for_bit_cpu_f32() {
    one_case("cpu", "f32");
}

#[test]
fn restart_is_bit_for_bit_gpu_f64() {
    one_case("gpu", "f64");
}

#[test]
fn restart_is_bit_for_bit_gpu_f32() {
    one_case("gpu", "f32");
}

/// A run that wrote rows and snapshots past its last checkpoint (it died before the next one): the restart
/// drops them and continues from the checkpoint, ending identical to the uninterrupted run.
#[test]
fn restart_drops_what_came_after_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    run_ok(d, &["run", "c.toml", "--quiet", "--set", "output.file=whole.h5"]);
    run_ok(d, &["run", "c.toml", "--quiet", "--set", "output.file=x.h5", "--set", "time.steps=6"]);
    let saved = std::fs::read(d.join("x.h5.d/checkpoint.h5")).unwrap();
    run_ok(d, &["run", "--quiet", "--restart", "x.h5", "--set", "time.steps=10"]);
    let f = OutputFile::open(&d.join("x.h5")).unwrap();
    assert_eq!(f.timeseries.steps().last(), Some(&10));
    assert_eq!(f.snapshots.len(), 3, "snapshots 0, 4, 8");
    // as if it had died at step 10: the checkpoint on disk is the one of step 6
    std::fs::write(d.join("x.h5.d/checkpoint.h5"), saved).unwrap();
    let text = run_ok(d, &["run", "--quiet", "--restart", "x.h5", "--set", "time.steps=12"]);
    assert!(text.contains("at step 6"), "{text}");
    assert!(text.contains("dropped 2 timeseries rows and 1 snapshot written after the checkpoint"), "{text}");
    assert_same_run(&d.join("whole.h5"), &d.join("x.h5"), "cut back to the checkpoint");
    // the restart was recorded (the abandoned segment is not: the checkpoint's history is the authority), and
    // the checkpoint itself can be named instead of the main file
    let f = OutputFile::open(&d.join("x.h5")).unwrap();
    assert_eq!(f.attr("history").unwrap().lines().count(), 2, "{:?}", f.attr("history"));
    run_ok(d, &["run", "--quiet", "--restart", "x.h5.d/checkpoint.h5", "--set", "time.steps=14"]);
    assert_eq!(OutputFile::open(&d.join("x.h5")).unwrap().timeseries.steps().last(), Some(&14));
    let ck: Checkpoint = Checkpoint::read(&d.join("x.h5.d/checkpoint.h5")).unwrap();
    assert_eq!(ck.state.step, 14);
    assert_eq!(ck.seed, 7);
}

#[test]
fn restart_refuses_changed_physics_naming_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    run_ok(d, &["run", "c.toml", "--quiet", "--set", "time.steps=4"]);

    // a config file with other physics: refused, naming each key and both values
    let changed = CONFIG.replace("dissipation = 0.1", "dissipation = 0.2").replace("seed = 7", "seed = 8").replace("steps = 12", "steps = 8");
    std::fs::write(d.join("changed.toml"), changed).unwrap();
    let (ok, text) = cqgrav(d, &["run", "changed.toml", "--quiet", "--restart", "run.h5"]);
    assert!(!ok, "{text}");
    assert!(text.contains("gravity.dissipation: checkpoint 0.1, now 0.2"), "{text}");
    assert!(text.contains("run.seed: checkpoint 7, now 8"), "{text}");
    assert!(!text.contains("time.steps"), "extending the run is allowed:\n{text}");

    // the same change given explicitly with --set: allowed, with a warning
    let (ok, text) = cqgrav(
        d,
        &["run", "changed.toml", "--quiet", "--restart", "run.h5", "--set", "gravity.dissipation=0.2", "--set", "run.seed=8"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("warning: gravity.dissipation changed from 0.1 (checkpoint) to 0.2 by --set"), "{text}");

    // the lattice shape can never change
    let (ok, text) = cqgrav(d, &["run", "--quiet", "--restart", "run.h5", "--set", "lattice.shape=[8,8,7]", "--set", "time.steps=20"]);
    assert!(!ok && text.contains("lattice.shape"), "{text}");
    let (ok, text) = cqgrav(d, &["run", "--quiet", "--restart", "run.h5", "--set", "time.steps=20", "--set", "output.snapshot_every=0"]);
    assert!(ok, "output keys and the step count may change:\n{text}");
    // precision is guarded as well
    let f32cfg = CONFIG.replace("seed = 7", "seed = 7\nprecision = \"f32\"").replace("steps = 12", "steps = 30");
    std::fs::write(d.join("f32.toml"), f32cfg).unwrap();
    let (ok, text) = cqgrav(d, &["run", "f32.toml", "--quiet", "--restart", "run.h5"]);
    assert!(!ok && text.contains("run.precision: checkpoint \"f64\", now \"f32\""), "{text}");

    // nothing left to run
    let (ok, text) = cqgrav(d, &["run", "--quiet", "--restart", "run.h5"]);
    assert!(!ok && text.contains("nothing to run"), "{text}");
    // output.file cannot be redirected
    let (ok, text) = cqgrav(d, &["run", "--quiet", "--restart", "run.h5", "--set", "output.file=other.h5", "--set", "time.steps=30"]);
    assert!(!ok && text.contains("output.file"), "{text}");
}

#[test]
fn restart_without_checkpoint_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, text) = cqgrav(d, &["run", "--quiet", "--restart", "absent.h5"]);
    assert!(!ok && text.contains("absent.h5") && text.contains("checkpoint"), "{text}");
    // a main file whose checkpoint is gone
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    run_ok(d, &["run", "c.toml", "--quiet", "--set", "time.steps=2"]);
    std::fs::remove_file(d.join("run.h5.d/checkpoint.h5")).unwrap();
    let (ok, text) = cqgrav(d, &["run", "--quiet", "--restart", "run.h5"]);
    assert!(!ok && text.contains("has no checkpoint"), "{text}");
    // snapshots read back through the library
    let s = SnapshotData::read(&d.join("run.h5.d/snapshot_000000.h5")).unwrap();
    assert_eq!(s.step, 0);
    assert_eq!(s.shape, [8, 8, 8]);
}

/// Negative control: the noise is on and the comparison sees it (another seed gives other bits).
#[test]
fn another_seed_gives_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    run_ok(d, &["run", "c.toml", "--quiet", "--set", "output.file=a.h5", "--set", "time.steps=2"]);
    run_ok(d, &["run", "c.toml", "--quiet", "--set", "output.file=b.h5", "--set", "time.steps=2", "--set", "run.seed=8"]);
    let read = |f: &str| Checkpoint::read(&d.join(format!("{f}.d/checkpoint.h5"))).unwrap().state.data;
    let (a, b) = (read("a.h5"), read("b.h5"));
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differ > 0, "runs with seeds 7 and 8 are identical: is the CQ noise (cq.diffusion) active?");
}
