//! Issue 18: runs over MPI ranks, against the same runs on one process. Built and run by scripts/test_mpi.sh
//! (`cargo test --features mpi --test mpi`): each test starts the `cqgrav` binary under
//! `mpirun --oversubscribe -np P` and compares its files with those of the binary run alone (rank 0 of 1, the
//! ordinary serial code path) byte for byte with tests/python/same_output.py (h5py): every dataset of the main
//! file, of every snapshot file and of the checkpoint; the wall-clock column and the attributes are not compared.
//! The values are compared, not the storage layout: a domain-decomposed run's snapshots and checkpoint are
//! virtual datasets over per-rank part files (io/parts.rs), a single process's are ordinary datasets.
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

/// Acceptance 2 with a quantum field, in each representation that splits over ranks (data/examples/ensemble_frw.toml
/// on 5 × 5 × 12, second order, CQ noise, f64):
/// - the localised `ensemble` (M = 8, c = h, control variate): each rank writes its planes of the members and
///   shadows to its part files (virtual datasets over them), rank 0 the reference;
/// - `fourier`: every rank holds the whole Γ_k, which rank 0 writes;
/// - `fourier` on the GPU slabs (8 × 8 × 12: whole 64-site groups per plane; a wgpu device per rank, lavapipe
///   when there is no GPU) = one GPU: Γ_k whole on every rank's device, the box sums and the mean field's
///   transforms gathered from every rank between the kernels;
/// - the localised `ensemble` on the GPU slabs (8 × 8 × 6, M = 8, 2 ranks, no control variate) = one GPU: the members'
///   ghost planes exchanged through the host, the metric gathered for Γvac.
///
/// Split over 2 and 3 ranks (the GPU ensemble: 2) = one process, bit for bit: timeseries (the quantum diagnostics and sub-step counts
/// included), snapshots (⟨δφ²⟩, the constraint fields with the quantum terms) and checkpoints. Acceptance 3 for
/// each: a 2-rank checkpoint continued on 1 rank, a 1-rank checkpoint on 2 ranks.
#[test]
fn quantum_slabs_equal_one_process_and_restart_across_rank_counts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/ensemble_frw.toml");
    let fourier = ["matter.representation=\"fourier\"", "cq.beta=0.1"];
    let cases = [
        ("ensemble", "[5,5,12]", "cpu", vec!["matter.members=8"], &[2, 3][..]),
        ("fourier", "[5,5,12]", "cpu", fourier.to_vec(), &[2, 3][..]),
        ("fourier_gpu", "[8,8,12]", "gpu", fourier.to_vec(), &[2, 3][..]),
        // 6 planes (halo 3), 2 ranks: the software device's ensemble step takes seconds at 8 × 8 × 12 (3 ranks: the in-process test)
        ("ensemble_gpu", "[8,8,6]", "gpu", vec!["matter.members=8", "matter.control_variate=false"], &[2][..]),
    ];
    for (rep, shape, backend, extra, rank_counts) in cases {
        let config = |file: &str, t_end: &str| -> Vec<String> {
            let (shape, backend) = (format!("lattice.shape={shape}"), format!("run.backend=\"{backend}\""));
            let sets = [shape.as_str(), "gravity.fd_order=2", "time.t_end=0.5", "output.snapshot_every=5", "output.checkpoint_every=5"];
            let more = ["output.timeseries_every=1", "run.precision=\"f64\"", backend.as_str()];
            let mut v: Vec<String> = vec!["run".into(), example.into(), "--quiet".into()];
            let all = sets.iter().chain(&more).chain(&extra).map(|s| s.to_string());
            for s in all.chain([format!("output.file=\"{file}\"")]).chain((!t_end.is_empty()).then(|| format!("time.t_end={t_end}"))) {
                v.extend(["--set".to_string(), s]);
            }
            v
        };
        let whole = format!("{rep}_whole.h5");
        run_ok(None, d, &strs(&config(&whole, "")));
        for &ranks in rank_counts {
            let file = format!("{rep}_slabs{ranks}.h5");
            let out = run_ok(Some(ranks), d, &strs(&config(&file, "")));
            assert!(out.contains(&format!("{backend} ({ranks} z-slabs over MPI ranks")), "{rep}: not decomposed on the {backend}:\n{out}");
            // each rank wrote its planes (the ensemble's members and shadows included) to its own part files
            for p in 0..ranks {
                for part in [format!("checkpoint_000010.part{p}of{ranks}.h5"), format!("snapshot_000010.part{p}of{ranks}.h5")] {
                    assert!(d.join(format!("{file}.d")).join(&part).is_file(), "{file}: part {part} is missing");
                }
            }
            assert_same_output(d, &whole, &file);
        }
        for (first, then, stem) in [(Some(2), None, "two_then_one"), (None, Some(2), "one_then_two")] {
            let file = format!("{rep}_{stem}.h5");
            run_ok(first, d, &strs(&config(&file, "0.25")));
            let out = run_ok(then, d, &["run", "--restart", &file, "--set", "time.t_end=0.5", "--quiet"]);
            assert!(out.contains("restarting"), "{rep}: {out}");
            assert_same_output(d, &whole, &file);
        }
    }
}

/// The MPI build started without a launcher does not start MPI (no MPI_Init: Open MPI's singleton start would spawn
/// a process manager for every `check` or `info`) and says so; under mpirun every rank reports its rank.
#[test]
fn mpi_starts_only_under_a_launcher() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(None, dir.path(), &["info"]);
    assert!(out.contains("MPI: built in, not started (no MPI launcher in the environment): rank 0 of 1"), "{out}");
    let out = run_ok(Some(2), dir.path(), &["info"]);
    for r in 0..2 {
        assert!(out.contains(&format!("MPI: started, rank {r} of 2")), "rank {r}:\n{out}");
    }
}

/// Acceptance 3: a 2-rank checkpoint (per-rank part files joined by a virtual dataset) continued on 1 rank and
/// on 2 ranks, and a 1-rank checkpoint continued on 2 ranks, = the uninterrupted run, bit for bit (timeseries,
/// snapshots, final checkpoint). The 2-rank → 2-rank continuation runs in another directory than the one its
/// first half was written in (the parts are named relative to their whole file); a continuation on 2 ranks reads
/// each rank's planes only; a continuation on 1 rank removes the 2-rank checkpoint's parts once its own
/// checkpoint is in place.
#[test]
fn restart_across_rank_counts_is_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base: Vec<&str> = CLASSICAL_NOISE.iter().chain(&["--set", "lattice.shape=[8,8,16]"]).copied().collect();
    run_ok(None, d, &strs(&args(&base, "whole.h5")));
    let moved = d.join("moved");
    std::fs::create_dir(&moved).unwrap();
    for (first, then, stem) in [(Some(2), None, "two_then_one"), (None, Some(2), "one_then_two"), (Some(2), Some(2), "two_then_two")] {
        let mut half: Vec<&str> = base.clone();
        half.extend_from_slice(&["--set", "time.t_end=0.25"]);
        run_ok(first, d, &strs(&args(&half, &format!("{stem}.h5"))));
        let file = format!("{stem}.h5");
        let parts = |at: &Path, step: u64| (0..2).all(|p| at.join(format!("{file}.d/checkpoint_{step:06}.part{p}of2.h5")).is_file());
        assert_eq!(parts(d, 5), first.is_some(), "{stem}: the checkpoint's part files");
        let at = if stem == "two_then_two" {
            for f in [file.clone(), format!("{file}.d"), format!("{file}.xdmf")] {
                std::fs::rename(d.join(&f), moved.join(&f)).unwrap();
            }
            moved.as_path()
        } else {
            d
        };
        let out = run_ok(then, at, &["run", "--restart", &file, "--set", "time.t_end=0.5", "--quiet"]);
        assert!(out.contains("restarting"), "{out}");
        // on 2 ranks each reads only its planes of the checkpoint (a hyperslab of the virtual or plain dataset)
        assert_eq!(out.contains("each of the 2 ranks read only its own planes of the checkpoint (rank 0: z = 0..8)"), then.is_some(), "{out}");
        assert!(!parts(at, 5) && parts(at, 10) == then.is_some(), "{stem}: the parts of the replaced checkpoint are removed");
        assert_same_output(d, "whole.h5", &at.join(&file).display().to_string());
    }
}

/// Acceptance 4: the snapshots and checkpoint of a 2-rank run are one dataset each for a user: HDF5 virtual
/// datasets over the ranks' part files, equal bit for bit to the single-process run's through h5py
/// (same_output.py) and xarray (check_parts.py), opened by xarray's two netCDF engines (check_xarray.py) and by
/// VTK's XDMF reader and pyvista through the sidecar (check_xdmf.py). A missing part file is never zeros: h5py
/// reads NaN on its planes (the fill value; the check fails for a fill value of 0), and `cqgrav run --restart`
/// and `cqgrav inspect` fail naming the file, changing nothing; a part of another step is refused the same way.
#[test]
fn two_rank_output_is_one_virtual_dataset_and_a_missing_part_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base: Vec<&str> = CLASSICAL_NOISE.iter().chain(&["--set", "lattice.shape=[8,8,16]"]).copied().collect();
    run_ok(None, d, &strs(&args(&base, "serial.h5")));
    run_ok(Some(2), d, &strs(&args(&base, "ranks.h5")));
    assert_same_output(d, "serial.h5", "ranks.h5");
    let python = |modules: &str, script: &str, a: &[&str]| {
        let py = common::python_with(modules);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
        let out = Command::new(py).arg(script).args(a).current_dir(d).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{}", text.trim());
        (out.status.success(), text)
    };
    let ok = |r: (bool, String)| assert!(r.0, "{}", r.1);
    ok(python("h5py, numpy, xarray, h5netcdf", "check_parts.py", &["joined", "serial.h5", "ranks.h5", "2"]));
    ok(python("h5py, numpy, xarray, h5netcdf, netCDF4", "check_xarray.py", &["ranks.h5"]));
    ok(python("vtk, pyvista, h5py, numpy", "check_xdmf.py", &["ranks.h5"]));
    for f in ["ranks.h5.d/snapshot_000005.part1of2.h5", "ranks.h5.d/checkpoint_000010.part0of2.h5"] {
        assert!(d.join(f).is_file(), "{f} missing");
    }

    let (inspected, out) = cqgrav_on(None, d, &["inspect", "ranks.h5.d/snapshot_000000.part0of2.h5"]);
    assert!(!inspected && out.contains("this is one rank's part of snapshot_000000.h5"), "{out}");

    // one part of a snapshot and one of the checkpoint lost
    std::fs::remove_file(d.join("ranks.h5.d/snapshot_000005.part1of2.h5")).unwrap();
    std::fs::remove_file(d.join("ranks.h5.d/checkpoint_000010.part0of2.h5")).unwrap();
    ok(python("h5py, numpy", "check_parts.py", &["missing", "ranks.h5", "serial.h5", "snapshot_000005.h5", "2", "1"]));
    ok(python("h5py, numpy", "check_parts.py", &["missing", "ranks.h5", "serial.h5", "checkpoint.h5", "2", "0"]));
    // the check itself fails on planes that are not NaN (part 1 of the checkpoint is there)
    assert!(!python("h5py, numpy", "check_parts.py", &["missing", "ranks.h5", "serial.h5", "checkpoint.h5", "2", "1"]).0);
    let before = std::fs::read(d.join("ranks.h5")).unwrap();
    for ranks in [None, Some(2)] {
        let (ok, out) = cqgrav_on(ranks, d, &["run", "--restart", "ranks.h5", "--set", "time.t_end=0.6", "--quiet"]);
        assert!(!ok && out.contains("checkpoint_000010.part0of2.h5 is unusable: it is missing"), "{out}");
    }
    assert_eq!(std::fs::read(d.join("ranks.h5")).unwrap(), before, "a refused restart changed the main file");
    assert!(d.join("ranks.h5.d/checkpoint.h5").is_file() && d.join("ranks.h5.d/checkpoint_000010.part1of2.h5").is_file());
    let (ok, out) = cqgrav_on(None, d, &["inspect", "ranks.h5"]);
    assert!(!ok && out.contains("snapshot_000005.part1of2.h5 is unusable") && out.contains("checkpoint_000010.part0of2.h5 is unusable"), "{out}");
    let (ok, out) = cqgrav_on(None, d, &["inspect", "ranks.h5.d/snapshot_000005.h5"]);
    assert!(!ok && out.contains("snapshot_000005.part1of2.h5 is unusable: it is missing"), "{out}");
    // a part of another snapshot in its place (same run, another step) is refused, not read
    std::fs::copy(d.join("ranks.h5.d/snapshot_000000.part1of2.h5"), d.join("ranks.h5.d/snapshot_000005.part1of2.h5")).unwrap();
    let (ok, out) = cqgrav_on(None, d, &["inspect", "ranks.h5.d/snapshot_000005.h5"]);
    assert!(!ok && out.contains("it is part 1 of run") && out.contains("at step 0, not part 1"), "{out}");
}

/// What the decomposition cannot do yet is refused on every rank with a message, never a hang: the dense quantum
/// field (the default example), the ensemble without localisation, GPU slabs whose planes are not whole 64-site
/// blocks (N1·N2 = 72), slabs thinner than the stencil's reach.
#[test]
fn unsupported_decompositions_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = cqgrav_on(Some(2), d, &["run", "--quiet", "--set", "run.backend=\"cpu\"", "--set", "output.file=\"dense.h5\""]);
    assert!(!ok && out.contains("matter.representation = \"dense\"") && out.contains("stays on one rank"), "{out}");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/ensemble_frw.toml");
    let ensemble = |backend: &str, localization: &str, file: &str| -> Vec<String> {
        ["run", example, "--quiet", "--set", "lattice.shape=[8,8,16]", "--set", "matter.members=8", "--set", "time.t_end=0.1"]
            .iter()
            .map(|s| s.to_string())
            .chain(["--set".into(), format!("matter.localization={localization}"), "--set".into(), format!("run.backend=\"{backend}\"")])
            .chain(["--set".into(), format!("output.file=\"{file}\"")])
            .collect()
    };
    let (ok, out) = cqgrav_on(Some(2), d, &strs(&ensemble("cpu", "0.0", "unlocalised.h5")));
    assert!(!ok && out.contains("matter.localization = 0") && out.contains("couples every pair of sites"), "{out}");
    // the GPU slabs take the ensemble with its control variate, but not a plane of N1·N2 sites off the 64-site blocks
    let gpu = [ensemble("gpu", "1.0", "gpu.h5"), vec!["--set".into(), "lattice.shape=[8,9,16]".into()]].concat();
    let (ok, out) = cqgrav_on(Some(2), d, &strs(&gpu));
    assert!(!ok && out.contains("GPU slabs need N1·N2 to be a multiple of 64 (here 72)") && out.contains("run.backend = \"cpu\""), "{out}");
    assert!(!d.join("unlocalised.h5").exists() && !d.join("gpu.h5").exists(), "a refused run wrote its output");
    let (ok, out) = cqgrav_on(Some(3), d, &strs(&args(&["--set", "lattice.shape=[8,8,8]", "--set", "run.backend=\"cpu\""], "thin.h5")));
    assert!(!ok && out.contains("fewer than the stencil's reach of 4 planes"), "{out}");
    assert!(!d.join("thin.h5").exists(), "a refused run wrote its output");
}

/// Acceptance 2 on the GPU backend (lavapipe when there is no GPU): the lattice split in z-slabs over 2 ranks,
/// each with its own wgpu device and the halos staged through the host, = one GPU, byte for byte, in f64 and
/// f32 (the classical system with CQ noise, dissipation and an evolving lapse; snapshots and checkpoints), and
/// with smoothed noise (a halo of ⌈4ℓ/h⌉ = 6 planes); restarts 2 → 1 and 1 → 2 GPU ranks, bit for bit.
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
        let part = d.join(format!("{name}_p.h5.d/snapshot_000005.part1of2.h5"));
        assert!(part.is_file(), "the GPU slabs wrote no part file {}", part.display());
        assert_same_output(d, &format!("{name}_1.h5"), &format!("{name}_p.h5"));
        if name == "gpu64" {
            // restart: a checkpoint of the 2-rank GPU slabs continued on one GPU, and one of one GPU continued on
            // 2-rank GPU slabs (each rank reads its own planes) = the uninterrupted run
            for (first, then, stem) in [(Some(2), None, "gpu_two_then_one"), (None, Some(2), "gpu_one_then_two")] {
                let mut half = base.clone();
                half.extend_from_slice(&["--set", "time.t_end=0.25"]);
                let file = format!("{stem}.h5");
                run_ok(first, d, &strs(&args(&half, &file)));
                run_ok(then, d, &["run", "--restart", &file, "--set", "time.t_end=0.5", "--quiet"]);
                assert_same_output(d, "gpu64_1.h5", &file);
            }
        }
    }
}
