//! Criterion benchmarks of the host side: configuration loading (TOML parse, `--set` overrides, deserialisation,
//! validation) of the built-in default and of every example, and HDF5 writes of a snapshot and a checkpoint
//! (src/io/) on 16³ and 32³ in f32 and f64. Files go to a temporary directory (the OS's, usually tmpfs or a
//! local disk: the numbers include its speed).
//!
//! `cargo bench --bench host` (`-- --quick` for a short run).
use cqgrav::config::{self, Precision};
use cqgrav::diagnostics::ConstraintFields;
use cqgrav::io::{Checkpoint, RunMeta, SnapshotData};
use cqgrav::physics::initial_data::initial_state;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/examples");
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    v.sort();
    v
}

fn config_loading(c: &mut Criterion) {
    let mut g = c.benchmark_group("config");
    g.bench_function("load_and_validate/default", |b| b.iter(|| config::load_and_validate(None, &[]).unwrap()));
    let sets: Vec<String> =
        ["lattice.shape=[32,32,32]", "run.backend=cpu", "run.precision=f32", "gravity.dissipation=0.1", "time.steps=10"]
            .map(String::from)
            .to_vec();
    // the classical FRW lattice example (the built-in default is a dense quantum run on 10×10×1, which 32³ exceeds)
    let frw = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/frw-lattice.toml");
    g.bench_function("load_and_validate/frw-lattice+5_sets", |b| b.iter(|| config::load_and_validate(Some(&frw), black_box(&sets)).unwrap()));
    for path in examples() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        g.bench_function(BenchmarkId::new("load_and_validate", &name), |b| {
            b.iter(|| config::load_and_validate(Some(black_box(&path)), &[]).unwrap())
        });
    }
    let text = config::DEFAULT_TOML;
    g.bench_function("toml_parse_only/default", |b| b.iter(|| black_box(text).parse::<toml::Table>().unwrap()));
    g.finish();
}

fn hdf5_writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("hdf5");
    for n in [16usize, 32] {
        let mut cfg = config::load(Some(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/frw-lattice.toml"))), &[]).unwrap().config;
        cfg.lattice.shape = [n; 3];
        let state = initial_state(&cfg);
        let sites = state.lattice.sites();
        let cf = ConstraintFields { ham: vec![1e-9; sites], mom: [vec![0.0; sites], vec![0.0; sites], vec![0.0; sites]] };
        let snap = SnapshotData::from_state(&state, &cf, None);
        g.throughput(Throughput::Elements(sites as u64));
        for p in [Precision::F32, Precision::F64] {
            let pn = if p == Precision::F32 { "f32" } else { "f64" };
            let path = dir.path().join(format!("snapshot_{n}_{pn}.h5"));
            let meta = RunMeta {
                config_text: config::DEFAULT_TOML.to_owned(),
                lattice_shape: cfg.lattice.shape,
                spacing: cfg.lattice.spacing,
                dt: cfg.dt(),
                seed: 1,
                precision: p,
                backend: "bench".into(),
                device: "bench".into(),
                background: state.background,
                history: vec!["bench".into()],
                run_id: "0123456789abcdef".into(),
                spectra: None,
            };
            g.bench_function(BenchmarkId::new("snapshot_write", format!("{pn}_{n}^3")), |b| b.iter(|| snap.write(&path, &meta).unwrap()));
        }
        let ck = Checkpoint {
            state: state.clone(),
            dt: cfg.dt(),
            precision: Precision::F64,
            seed: 1,
            config_text: config::DEFAULT_TOML.to_owned(),
            timeseries_rows: 100,
            spectra_rows: 0,
            snapshots: Vec::new(),
            history: vec!["bench".into()],
            run_id: "0123456789abcdef".into(),
        };
        let path = dir.path().join(format!("checkpoint_{n}.h5"));
        g.bench_function(BenchmarkId::new("checkpoint_write", format!("f64_{n}^3")), |b| b.iter(|| ck.write(&path).unwrap()));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = config_loading, hdf5_writes
}
criterion_main!(benches);
