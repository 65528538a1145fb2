//! Criterion benchmarks of the CPU backend's kernels (src/backend/cpu/) on 16³ and 32³, f32 and f64:
//! the scalar-flux pre-pass, one fused evolve stage (right-hand side `rhs_all` + RK combination `combine`, a
//! middle stage), the diagnostics (site values + box reductions), and one whole RK4 step (`CpuStepper::advance`).
//! Throughput is in lattice sites. `cqgrav bench` gives the same numbers per kernel in one table with bandwidths
//! (src/bench/); this is the statistically careful view of the CPU side.
//!
//! `cargo bench --bench cpu_kernels` (`-- --quick` for a short run). Initial data: the built-in default example
//! (FRW) with a small linear wave on top, so no stencil sees only constants.
use cqgrav::backend::cpu::diagnostics::{all_site_values, reduce_columns};
use cqgrav::backend::cpu::evolve_stage::{combine, rhs_all, StageBuffers};
use cqgrav::backend::cpu::fd::Fd;
use cqgrav::backend::cpu::scalar_flux::scalar_flux;
use cqgrav::backend::cpu::CpuStepper;
use cqgrav::backend::{Stepper, StepperSetup};
use cqgrav::config::{self, Precision};
use cqgrav::numerics::real::Real;
use cqgrav::numerics::rk4::STAGES;
use cqgrav::physics::adm_rhs::RhsParams;
use cqgrav::physics::initial_data::initial_state;
use cqgrav::state::{State, NVARS};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 2] = [16, 32];

fn setup(n: usize, p: Precision) -> (StepperSetup, State) {
    let mut cfg = config::load(Some(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/frw-lattice.toml"))), &[]).expect("data/examples/frw-lattice.toml").config;
    cfg.lattice.shape = [n; 3];
    cfg.run.precision = p;
    cfg.gravity.dissipation = 0.1;
    let mut state = initial_state(&cfg);
    // a small inhomogeneity on top of FRW
    let lat = state.lattice;
    for i in 0..lat.sites() {
        let x = lat.position(i);
        let s = 1e-3 * (std::f64::consts::TAU * x[0] / lat.box_lengths()[0]).sin();
        for v in [0, 3, 13] {
            state.data[v * lat.sites() + i] += s;
        }
    }
    (StepperSetup::from_config(&cfg).with_background_of(&state), state)
}

struct Buffers<T> {
    fd: Fd<T>,
    params: RhsParams<T>,
    y: Vec<T>,
    acc: Vec<T>,
    u1: Vec<T>,
    flux: Vec<T>,
    k: Vec<[T; NVARS]>,
}

fn buffers<T: Real>(s: &StepperSetup, state: &State) -> Buffers<T> {
    let n = s.lattice.sites();
    let y: Vec<T> = state.data.iter().map(|&x| T::c(x)).collect();
    Buffers {
        fd: Fd::new(&s.stencil, s.lattice.spacing, s.dissipation),
        params: s.params.cast(),
        acc: y.clone(),
        u1: y.clone(),
        y,
        flux: vec![T::zero(); 3 * n],
        k: Vec::with_capacity(n),
    }
}

fn name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

fn bench_t<T: Real>(c: &mut Criterion, p: Precision) {
    for n in SIZES {
        let (s, state) = setup(n, p);
        let lat = s.lattice;
        let sites = lat.sites() as u64;
        let id = |what: &str| BenchmarkId::new(what, format!("{}_{n}^3", name(p)));
        let mut b = buffers::<T>(&s, &state);

        let mut g = c.benchmark_group("cpu");
        g.throughput(Throughput::Elements(sites));
        g.bench_function(id("scalar_flux"), |bench| {
            bench.iter(|| scalar_flux(&b.fd, &lat, &b.params.background, black_box(&b.y), &mut b.flux))
        });
        g.bench_function(id("evolve_stage"), |bench| {
            let st = STAGES[1];
            bench.iter(|| {
                rhs_all(&b.fd, &lat, &b.params, &StageBuffers { input: black_box(&b.u1), flux: &b.flux }, &mut b.k);
                let mut next = std::mem::take(&mut b.u1);
                combine(&st, s.dt, &b.k, &mut b.y, &mut b.acc, &mut next);
                b.u1 = next;
            })
        });
        g.bench_function(id("diagnostics"), |bench| {
            bench.iter(|| {
                let (cols, fields) =
                    all_site_values(&b.fd, &lat, &b.params.background, black_box(&b.y), b.params.lambda, b.params.mass, &b.params.potential);
                black_box(fields);
                reduce_columns(&cols)
            })
        });
        let mut stepper = CpuStepper::<T>::new(s, &state);
        g.bench_function(id("rk4_step"), |bench| bench.iter(|| stepper.advance(1).unwrap()));
        g.finish();
    }
}

fn cpu_kernels(c: &mut Criterion) {
    bench_t::<f32>(c, Precision::F32);
    bench_t::<f64>(c, Precision::F64);
}

criterion_group! {
    name = benches;
    // short: 2 shared cores must do; raise with --measurement-time / --sample-size on the command line
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = cpu_kernels
}
criterion_main!(benches);
