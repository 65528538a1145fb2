//! Issue 3 acceptance 1 (SPEC §7, §10): runs cqgrav and opens its output with h5py
//! (tests/python/check_output.py): every root attribute, timeseries column, snapshot dataset and checkpoint
//! item with its name, shape, dtype and attributes; the XDMF references resolve to datasets of the stated
//! shapes; the h5py + xarray example of docs/output.md runs on the file. Also `cqgrav inspect` and
//! `cqgrav plot` on the same file.
//!
//! Python: $CQGRAV_PYTHON, else <repo>/.venv/bin/python, else python3, with h5py, numpy and xarray
//! (scripts/test.sh creates the venv). Without them the test fails, saying so.
mod common;
use std::path::Path;
use std::process::Command;

/// Non-cubic (N1, N2, N3) = (9, 8, 7), so an axis-order mistake shows as a wrong shape; a linear wave along x,
/// so the data must vary along the last array axis only; CQ noise off (the wave check needs clean data).
const CONFIG: &str = r#"
[lattice]
shape = [9, 8, 7]
spacing = 0.125
[time]
courant = 0.25
steps = 12
[initial]
kind = "linear-wave"
amplitude = 1e-3
[output]
file = "run.h5"
timeseries_every = 1
snapshot_every = 4
checkpoint_every = 5
[run]
backend = "cpu"
seed = 11
"#;


fn checker(dir: &Path, args: &[&str]) -> (bool, String) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(common::python_with("h5py, numpy, xarray")).arg(repo.join("tests/python/check_output.py")).args(args).current_dir(dir).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

use common::cqgrav;

/// Runs CONFIG with `sets` in a fresh directory; `None` when the GPU is missing and CQGRAV_ALLOW_NO_GPU=1.
fn run(sets: &[&str]) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), CONFIG).unwrap();
    let mut args = vec!["run", "c.toml", "--quiet"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let (ok, text) = cqgrav(dir.path(), &args);
    if !ok && std::env::var("CQGRAV_ALLOW_NO_GPU").as_deref() == Ok("1") && text.contains("could not set up the time stepper") {
        eprintln!("skipping (CQGRAV_ALLOW_NO_GPU=1):\n{text}");
        return None;
    }
    assert!(ok, "cqgrav run failed:\n{text}");
    assert!(!text.contains("not written yet"), "{text}");
    Some(dir)
}

fn docs() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/output.md").display().to_string()
}

#[test]
fn layout_f64_cpu_and_docs_example() {
    let dir = run(&[]).unwrap();
    let d = dir.path();
    let (ok, text) = checker(d, &["run.h5", "--expect-rows", "13", "--expect-snapshots", "4", "--doc-example", &docs()]);
    println!("{text}");
    assert!(ok, "{text}");
    assert!(text.contains("snapshot 000012: t = 0.375"), "the docs example did not print its line:\n{text}");

    // the wave runs along x: the last array axis, (N3, N2, N1) = (z, y, x)
    let script = r#"
import h5py, numpy as np
with h5py.File("run.h5", "r") as f:
    g = f["snapshots/000000/g"][()]
    assert g.shape == (6, 7, 8, 9), g.shape
    gyy = g[3]
    assert np.ptp(gyy, axis=(0, 1)).max() == 0, "g_yy varies along z or y"
    assert np.ptp(gyy[0, 0, :]) > 1e-3, "g_yy does not vary along x"
    assert np.all(g[0] == 1.0) and np.all(g[1] == 0.0), "g_xx = 1, g_xy = 0 for this wave"
    print("axis order ok")
"#;
    let out = Command::new(common::python_with("h5py, numpy, xarray")).args(["-c", script]).current_dir(d).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // inspect
    let (ok, text) = cqgrav(d, &["inspect", "run.h5"]);
    println!("{text}");
    assert!(ok, "{text}");
    for want in [
        "lattice      [9, 8, 7], h = 0.125, dt = 0.03125, precision f64, seed 11",
        "timeseries   13 rows",
        "steps 0 … 12",
        "ham_rel",
        "000012 (t = 0.375)",
        "checkpoint   step 12, t = 0.375",
        "kind = \"linear-wave\"",
    ] {
        assert!(text.contains(want), "inspect output lacks {want:?}:\n{text}");
    }

    // plot: three pages, PNG and SVG (tests/plot_pages.rs checks their content)
    let (ok, text) = cqgrav(d, &["plot", "run.h5", "--out", "plots"]);
    assert!(ok, "{text}");
    for page in ["expansion", "constraints", "energies"] {
        let bytes = std::fs::read(d.join("plots").join(format!("{page}.png"))).unwrap_or_else(|e| panic!("{page}.png: {e}\n{text}"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 2000, "{page}.png is not a PNG plot");
        let svg = std::fs::read_to_string(d.join("plots").join(format!("{page}.svg"))).unwrap_or_else(|e| panic!("{page}.svg: {e}\n{text}"));
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{page}.svg is not an SVG plot");
    }
    let (ok, text) = cqgrav(d, &["plot", "run.h5"]);
    assert!(ok && d.join("run.h5.plots/expansion.png").exists(), "{text}");

    // negative controls: the checker notices a missing snapshot file and a non-output file
    std::fs::remove_file(d.join("run.h5.d/snapshot_000004.h5")).unwrap();
    let (ok, text) = checker(d, &["run.h5"]);
    assert!(!ok && text.contains("000004"), "{text}");
    let (ok, text) = cqgrav(d, &["inspect", "run.h5"]);
    assert!(ok && text.contains("000004 (MISSING"), "{text}");
    let (ok, text) = cqgrav(d, &["inspect", "c.toml"]);
    assert!(!ok && text.contains("c.toml"), "{text}");
}

#[test]
fn layout_f32_gpu() {
    let Some(dir) = run(&["run.backend=gpu", "run.precision=f32"]) else { return };
    let (ok, text) = checker(dir.path(), &["run.h5", "--expect-rows", "13", "--expect-snapshots", "4"]);
    println!("{text}");
    assert!(ok, "{text}");
    assert!(text.contains("precision f32"), "{text}");
}

#[test]
fn layout_without_snapshots_and_with_noise() {
    let dir = run(&["output.snapshot_every=0", "output.checkpoint_every=0", "output.timeseries_every=5", "cq.diffusion=1e-8"]).unwrap();
    // rows at 0, 5, 10 and the last step 12; only the final checkpoint
    let (ok, text) = checker(dir.path(), &["run.h5", "--expect-rows", "4", "--expect-snapshots", "0"]);
    println!("{text}");
    assert!(ok, "{text}");
}
