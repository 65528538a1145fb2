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

/// xorshift64*: reproducible kill moments.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
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

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for trial in 0..TRIALS {
        let name = format!("k{trial}.h5");
        let mut child = cqgrav(d, &["run", "c.toml", "--quiet", "--set", &format!("output.file={name}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // the kill comes at a random moment after the output file first appears (before, there is nothing to
        // check: the run is still loading its configuration), up to the end of the run
        let started = Instant::now();
        while !d.join(&name).exists() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let appeared = started.elapsed();
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
