//! Issue 3 acceptance 3 (SPEC §7, crash safety): a run that writes snapshots and checkpoints often is killed
//! with SIGKILL at 10 random (seeded, so reproducible) moments. Every time, the file must open with h5py, pass
//! the layout checks, and every timeseries row and snapshot present must equal the clean run's bit for bit
//! (tests/python/check_output.py --crashed --compare). Then the killed run is continued with `--restart` and
//! must end identical to the clean run.
//!
//! Python: $CQGRAV_PYTHON, else <repo>/.venv/bin/python, else python3, with h5py and numpy (scripts/test.sh
//! creates the venv). Without them the test fails, saying so.
mod common;
use cqgrav::io::{Checkpoint, OutputFile};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// FRW with a massive scalar field and CQ noise on 8³ (stable for these 240 steps, t = 12).
const CONFIG: &str = r#"
[lattice]
shape = [8, 8, 8]
spacing = 0.2
[time]
courant = 0.25
steps = 240
[gravity]
dissipation = 0.05
[cq]
diffusion = 1e-7
[initial]
kind = "frw"
phi = 1.0
[output]
file = "run.h5"
timeseries_every = 1
snapshot_every = 3
checkpoint_every = 10
[run]
backend = "cpu"
seed = 3
"#;

const TRIALS: usize = 10;


fn checker(py: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_output.py");
    let out = Command::new(py).arg(script).args(args).current_dir(dir).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn cqgrav(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cqgrav"));
    c.args(args).current_dir(dir).env("NODEVICE_SELECT", "1");
    c
}

/// Starts `cqgrav run c.toml` writing `name` in `d` and waits until its main file appears (before, a killed run
/// leaves no output to check: it is still loading its configuration); also returns how long that took.
fn start_run(d: &Path, name: &str, stdout: Stdio) -> (std::process::Child, Duration) {
    let child = cqgrav(d, &["run", "c.toml", "--quiet", "--set", &format!("output.file={name}")]).stdout(stdout).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while !d.join(name).exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(1));
    }
    (child, started.elapsed())
}

#[test]
fn sigkill_at_random_moments_leaves_readable_correct_files() {
    let py = common::python_with("h5py, numpy");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();

    let t0 = Instant::now();
    let out = cqgrav(d, &["run", "c.toml", "--quiet", "--set", "output.file=clean.h5"]).output().unwrap();
    let clean_wall = t0.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (ok, text) = checker(&py, d, &["clean.h5", "--expect-rows", "241", "--expect-snapshots", "81"]);
    assert!(ok, "the clean run's file fails the checks:\n{text}");
    let clean_ck = Checkpoint::read(&d.join("clean.h5.d/checkpoint.h5")).unwrap();
    println!("clean run: {:.2} s; {text}", clean_wall.as_secs_f64());

    let mut rng = common::Rng(0x9E37_79B9_7F4A_7C15);
    for trial in 0..TRIALS {
        let name = format!("k{trial}.h5");
        // the kill comes at a random moment after the output file first appears, up to the end of the run
        let (mut child, appeared) = start_run(d, &name, Stdio::piped());
        let delay = clean_wall.saturating_sub(appeared).mul_f64(rng.uniform());
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let finished = out.status.success();
        let rows_printed = stdout.lines().filter(|l| l.starts_with("step")).count();
        assert!(d.join(&name).exists(), "trial {trial}: {name} never appeared");
        let delay = appeared + delay;
        let (ok, text) = checker(&py, d, &[&name, "--crashed", "--compare", "clean.h5"]);
        assert!(ok, "trial {trial} (killed after {:.3} s): {text}", delay.as_secs_f64());
        let f = OutputFile::open(&d.join(&name)).unwrap();
        let ck = f.checkpoint.clone().map(|c| c.unwrap().step);
        println!(
            "trial {trial}: killed after {:.3} s{} (printed {rows_printed} rows); file: {} rows, {} snapshots, checkpoint {ck:?}",
            delay.as_secs_f64(),
            if finished { " (had finished)" } else { "" },
            f.timeseries.len(),
            f.snapshots.len()
        );
        assert!(f.timeseries.len() <= rows_printed.max(1), "trial {trial}: more rows on disk than computed");

        // continue the killed run: it must end exactly as the clean run did
        if let Some(step) = ck {
            let out = cqgrav(d, &["run", "--quiet", "--restart", &name]).output().unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if step == clean_ck.state.step {
                assert!(!out.status.success() && text.contains("nothing to run"), "trial {trial}:\n{text}");
            } else {
                assert!(out.status.success(), "trial {trial}: the restart failed:\n{text}");
            }
            let (ok, text) = checker(&py, d, &[&name, "--compare", "clean.h5", "--expect-rows", "241", "--expect-snapshots", "81"]);
            assert!(ok, "trial {trial}, after the restart: {text}");
            let ck = Checkpoint::read(&d.join(format!("{name}.d/checkpoint.h5"))).unwrap();
            assert_eq!(ck.state.step, clean_ck.state.step);
            let same = ck.state.data.iter().zip(&clean_ck.state.data).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "trial {trial}: the restarted run's final state differs from the clean run's");
        }
    }
}

/// A temporary file of a flush (`.<name>.tmp.<pid>` of the main file, the XDMF sidecar or a timeseries
/// segment; not a snapshot's or the checkpoint's) in `dir/run.h5.d`, if any.
fn flush_tmp_file(dir: &Path, name: &str) -> Option<String> {
    let d = dir.join(format!("{name}.d"));
    std::fs::read_dir(d).ok()?.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).find(|n| {
        n.contains(".tmp.") && (n.starts_with(&format!(".{name}.")) || n.starts_with(".timeseries_"))
    })
}

/// Issue 15 acceptance 2: kills that land inside a flush. With `output.flush_interval = 0` the main file, the
/// sidecar and the open timeseries segment are rewritten at every row; the test waits a random time, then
/// kills the run the moment a flush's temporary file appears, and counts a trial only when that file is still
/// there after the kill (the process died between creating and renaming it). Each such output must pass the
/// checks against the clean run, and continue to the clean run's final state bit for bit (the restart also
/// removes the dead process's temporary files).
#[test]
fn sigkill_during_a_flush_leaves_readable_correct_files() {
    let py = common::python_with("h5py, numpy");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 120 steps (121 rows, 41 snapshots), a flush at every row
    let config = CONFIG.replace("steps = 240", "steps = 120").replace("checkpoint_every = 10", "checkpoint_every = 10\nflush_interval = 0");
    std::fs::write(d.join("c.toml"), config).unwrap();
    let t0 = Instant::now();
    let out = cqgrav(d, &["run", "c.toml", "--quiet", "--set", "output.file=clean.h5"]).output().unwrap();
    let clean_wall = t0.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let clean_ck = Checkpoint::read(&d.join("clean.h5.d/checkpoint.h5")).unwrap();

    let mut rng = common::Rng(0x5DEE_CE66_D1CE_4E5B);
    let (mut caught, mut attempts) = (0, 0);
    while caught < 5 {
        attempts += 1;
        assert!(attempts <= 40, "only {caught} of {attempts} kills landed inside a flush");
        let name = format!("f{attempts}.h5");
        let (mut child, _) = start_run(d, &name, Stdio::null());
        std::thread::sleep(clean_wall.mul_f64(0.8 * rng.uniform()));
        let t = Instant::now();
        while flush_tmp_file(d, &name).is_none() && t.elapsed() < Duration::from_secs(30) && child.try_wait().unwrap().is_none() {}
        let _ = child.kill();
        let _ = child.wait();
        let Some(tmp) = flush_tmp_file(d, &name) else { continue };
        caught += 1;
        let (ok, text) = checker(&py, d, &[&name, "--crashed", "--compare", "clean.h5"]);
        assert!(ok, "killed while writing {tmp}: {text}");
        println!("kill {caught}: during {tmp}: {text}");
        let Some(Ok(ck)) = OutputFile::open(&d.join(&name)).unwrap().checkpoint else { continue };
        if ck.step == clean_ck.state.step {
            continue;
        }
        let out = cqgrav(d, &["run", "--quiet", "--restart", &name]).output().unwrap();
        assert!(out.status.success(), "restart after a kill during {tmp}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(flush_tmp_file(d, &name).is_none(), "the restart left the dead process's {tmp}");
        let (ok, text) = checker(&py, d, &[&name, "--compare", "clean.h5", "--expect-rows", "121", "--expect-snapshots", "41"]);
        assert!(ok, "after the restart: {text}");
        let ck = Checkpoint::read(&d.join(format!("{name}.d/checkpoint.h5"))).unwrap();
        assert!(ck.state.data.iter().zip(&clean_ck.state.data).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    println!("{caught} kills inside a flush in {attempts} attempts");
}
