//! Issue 18: runs over MPI ranks, against the same runs on one process. Built and run by scripts/test_mpi.sh
//! (`cargo test --features mpi --test mpi`): each test starts the `cqgrav` binary under
//! `mpirun --oversubscribe -np P` and compares its files with those of the binary run alone (rank 0 of 1, the
//! ordinary serial code path) byte for byte with tests/python/same_output.py (h5py): every dataset of the main
//! file, of every snapshot file and of the checkpoint; the wall-clock column and the attributes are not compared.
#![cfg(feature = "mpi")]
mod common;

use std::path::Path;
use std::process::Command;

const FRW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/frw-lattice.toml");

/// The classical system (representation "none") with CQ noise on, fourth-order stencils, Kreiss–Oliger
/// dissipation and an evolving lapse, 10 steps with snapshots and checkpoints every 5.
const CLASSICAL_NOISE: &[&str] = &[
    "--set", "cq.diffusion=0.001",
    "--set", "gravity.dissipation=0.1",
    "--set", "gauge.lapse=\"harmonic\"",
    "--set", "time.t_end=0.5",
    "--set", "output.snapshot_every=5",
    "--set", "output.checkpoint_every=5",
    "--set", "run.backend=\"cpu\"",
    "--quiet",
];

/// `cqgrav ARGS` on `ranks` MPI ranks (`None`: the binary alone, no mpirun) in `dir`: (success, output).
fn cqgrav_on(ranks: Option<u32>, dir: &Path, args: &[&str]) -> (bool, String) {
    let bin = env!("CARGO_BIN_EXE_cqgrav");
    let mut cmd = match ranks {
        None => Command::new(bin),
        Some(p) => {
            let mut c = Command::new("mpirun");
            // root in CI containers; more ranks than cores on a 2-core runner
            c.args(["--allow-run-as-root", "--oversubscribe", "-np", &p.to_string(), bin]);
            c
        }
    };
    let out = cmd.args(args).current_dir(dir).env("NODEVICE_SELECT", "1").env("RAYON_NUM_THREADS", "1").output().expect("mpirun (scripts/test_mpi.sh installs openmpi-bin)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn run_ok(ranks: Option<u32>, dir: &Path, args: &[&str]) -> String {
    let (ok, out) = cqgrav_on(ranks, dir, args);
    assert!(ok, "cqgrav {args:?} on {ranks:?} ranks failed:\n{out}");
    out
}

/// Every dataset of the two outputs (and their snapshot and checkpoint files) equal byte for byte.
fn assert_same_output(dir: &Path, a: &str, b: &str) {
    let py = common::python_with("h5py, numpy");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/same_output.py");
    let out = Command::new(py).args([script, a, b]).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{a} and {b} differ: {text}");
    println!("{}", text.trim());
}

/// `run FRW EXTRA… --set output.file="FILE"`.
fn args(extra: &[&str], file: &str) -> Vec<String> {
    let mut v: Vec<String> = ["run", FRW].iter().chain(extra).map(|s| s.to_string()).collect();
    v.extend(["--set".to_string(), format!("output.file=\"{file}\"")]);
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Acceptance 1: `mpirun -np 2 cqgrav run --realizations 3` = `cqgrav run --realizations 3`, bit for bit: the
/// three realisation files, the semiclassical companion run and the ensemble summary (mean, variance and the
/// semiclassical path of every column; the seeds and members in its attributes are compared too).
#[test]
fn realizations_over_two_ranks_equal_the_serial_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (ranks, stem) in [(None, "serial"), (Some(2), "mpi")] {
        let mut a = args(CLASSICAL_NOISE, &format!("{stem}.h5"));
        a.extend(["--realizations".to_string(), "3".to_string()]);
        let out = run_ok(ranks, d, &strs(&a));
        assert!(out.contains("3 completed realisations"), "{out}");
    }
    for f in ["_r0000", "_r0001", "_r0002", "_semiclassical", "_ensemble"] {
        assert_same_output(d, &format!("serial{f}.h5"), &format!("mpi{f}.h5"));
    }
    let py = common::python_with("h5py");
    let attrs = "import h5py,sys; a,b=(h5py.File(f,'r').attrs for f in sys.argv[1:]); \
                 k=['realizations','requested','indices','seeds','stopped','base_seed']; \
                 names=all(a[x].replace('serial','mpi')==b[x] for x in ['members','semiclassical']); \
                 sys.exit(0 if names and all(str(a[x])==str(b[x]) for x in k) else 1)";
    let ok = Command::new(py).args(["-c", attrs, "serial_ensemble.h5", "mpi_ensemble.h5"]).current_dir(d).status().unwrap();
    assert!(ok.success(), "the ensemble summaries' attributes differ");
}

/// Realisations over ranks on the GPU backend (each rank opens its own wgpu device after MPI_Init_thread; the
/// software device lavapipe when there is no GPU) = the serial GPU ensemble, bit for bit.
#[test]
fn gpu_realizations_over_two_ranks_equal_the_serial_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gpu = ["--set", "run.backend=\"gpu\"", "--set", "lattice.shape=[8,8,8]", "--set", "time.steps=4"];
    for (ranks, stem) in [(None, "serial"), (Some(2), "mpi")] {
        let base: Vec<&str> = CLASSICAL_NOISE.iter().chain(&gpu).copied().collect();
        let mut a = args(&base, &format!("{stem}.h5"));
        a.extend(["--realizations".to_string(), "2".to_string()]);
        let out = run_ok(ranks, d, &strs(&a));
        assert!(out.contains("GPU backend"), "{out}");
    }
    for f in ["_r0000", "_r0001", "_semiclassical", "_ensemble"] {
        assert_same_output(d, &format!("serial{f}.h5"), &format!("mpi{f}.h5"));
    }
}

/// Acceptance 2: the lattice split in z-slabs over 2 (and 3) ranks = one process, bit for bit, for the classical
/// system with CQ noise on: f64 with 64-site planes (the reductions' first pass local to each rank), f64 with
/// 63-site planes (values gathered), f32 with second-order stencils and no dissipation (halos of g_ab, N, φ only),
/// smoothed noise (ℓ = 1.5h: a smoothing radius of 6 planes, wider than the 5 owned planes of a rank).
#[test]
fn slabs_on_two_and_three_ranks_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[&str], u32); 4] = [
        ("aligned", &["--set", "lattice.shape=[8,8,16]"], 2),
        ("smoothed", &["--set", "lattice.shape=[8,8,16]", "--set", "cq.correlation_length=0.3"], 3),
        ("unaligned", &["--set", "lattice.shape=[7,9,12]"], 3),
        ("f32", &["--set", "lattice.shape=[8,8,12]", "--set", "run.precision=\"f32\"", "--set", "gravity.fd_order=2", "--set", "gravity.dissipation=0.0"], 2),
    ];
    for (name, extra, ranks) in cases {
        let base: Vec<&str> = CLASSICAL_NOISE.iter().chain(extra).copied().collect();
        run_ok(None, d, &strs(&args(&base, &format!("{name}_1.h5"))));
        let out = run_ok(Some(ranks), d, &strs(&args(&base, &format!("{name}_p.h5"))));
        assert!(out.contains(&format!("{ranks} z-slabs over MPI ranks")), "not decomposed:\n{out}");
        assert_same_output(d, &format!("{name}_1.h5"), &format!("{name}_p.h5"));
    }
}

/// Acceptance 3: a 2-rank checkpoint continued on 1 rank, and a 1-rank checkpoint continued on 2 ranks, = the
/// uninterrupted run, bit for bit (timeseries, snapshots, final checkpoint).
#[test]
fn restart_across_rank_counts_is_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base: Vec<&str> = CLASSICAL_NOISE.iter().chain(&["--set", "lattice.shape=[8,8,16]"]).copied().collect();
    run_ok(None, d, &strs(&args(&base, "whole.h5")));
    for (first, then, stem) in [(Some(2), None, "two_then_one"), (None, Some(2), "one_then_two")] {
        let mut half: Vec<&str> = base.clone();
        half.extend_from_slice(&["--set", "time.t_end=0.25"]);
        run_ok(first, d, &strs(&args(&half, &format!("{stem}.h5"))));
        let file = format!("{stem}.h5");
        let out = run_ok(then, d, &["run", "--restart", &file, "--set", "time.t_end=0.5", "--quiet"]);
        assert!(out.contains("restarting"), "{out}");
        assert_same_output(d, "whole.h5", &file);
    }
}

/// What the decomposition cannot do yet is refused on every rank with a message, never a hang: a quantum field,
/// slabs thinner than the stencil's reach.
#[test]
fn unsupported_decompositions_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = cqgrav_on(Some(2), d, &["run", "--quiet", "--set", "run.backend=\"cpu\"", "--set", "output.file=\"dense.h5\""]);
    assert!(!ok && out.contains("the quantum field is not domain-decomposed yet"), "{out}");
    let (ok, out) = cqgrav_on(Some(3), d, &strs(&args(&["--set", "lattice.shape=[8,8,8]", "--set", "run.backend=\"cpu\""], "thin.h5")));
    assert!(!ok && out.contains("fewer than the stencil's reach of 4 planes"), "{out}");
    assert!(!d.join("thin.h5").exists(), "a refused run wrote its output");
}

/// Acceptance 2 on the GPU backend (lavapipe when there is no GPU): the lattice split in z-slabs over 2 ranks,
/// each with its own wgpu device and the halos staged through the host, = one GPU, byte for byte, in f64 and
/// f32 (the classical system with CQ noise, dissipation and an evolving lapse; snapshots and checkpoints), and
/// with smoothed noise (a halo of ⌈4ℓ/h⌉ = 6 planes); a 2-rank GPU checkpoint continued on one GPU, bit for bit.
#[test]
fn gpu_slabs_on_two_ranks_equal_one_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[&str]); 3] = [
        ("gpu64", &[]),
        ("gpu32", &["--set", "run.precision=\"f32\""]),
        ("gpu_smoothed", &["--set", "cq.correlation_length=0.3"]),
    ];
    for (name, extra) in cases {
        let base: Vec<&str> = CLASSICAL_NOISE
            .iter()
            .chain(&["--set", "lattice.shape=[8,8,16]", "--set", "run.backend=\"gpu\""])
            .chain(extra)
            .copied()
            .collect();
        run_ok(None, d, &strs(&args(&base, &format!("{name}_1.h5"))));
        let out = run_ok(Some(2), d, &strs(&args(&base, &format!("{name}_p.h5"))));
        assert!(out.contains("gpu (2 z-slabs over MPI ranks"), "not decomposed on the GPU:\n{out}");
        assert_same_output(d, &format!("{name}_1.h5"), &format!("{name}_p.h5"));
        if name == "gpu64" {
            // restart: a checkpoint of the 2-rank GPU slabs continued on one GPU = the uninterrupted run
            let mut half = base.clone();
            half.extend_from_slice(&["--set", "time.t_end=0.25"]);
            run_ok(Some(2), d, &strs(&args(&half, "gpu_restart.h5")));
            run_ok(None, d, &["run", "--restart", "gpu_restart.h5", "--set", "time.t_end=0.5", "--quiet"]);
            assert_same_output(d, "gpu64_1.h5", "gpu_restart.h5");
        }
    }
}
