//! One CPU measurement (one lattice size, one precision), in the same shape as the GPU one: the whole step
//! through `Stepper::advance` (CpuStepper), each op of the step (the functions CpuStepper::rk4_step calls, in
//! its order, on bench-owned buffers), the diagnostics (site values, reductions, and the end-to-end call), and a
//! parallel copy over the step's working set.
use super::bytes::{self, MemoryModel};
use super::gpu_timing::reps_for;
use super::report::{DiagResult, OpRow, RunResult};
use super::roofline;
use super::Opts;
use crate::backend::cpu::diagnostics::{all_site_values, reduce_columns};
use crate::backend::cpu::evolve_row::Isa;
use crate::backend::cpu::evolve_stage::{combine, rhs_all, rhs_all_reference, StageBuffers};
use crate::backend::cpu::fd::Fd;
use crate::backend::cpu::{scalar_flux::scalar_flux, CpuStepper};
use crate::backend::{Stepper, StepperSetup};
use crate::config::{Config, Precision};
use crate::numerics::real::Real;
use crate::numerics::rk4::STAGES;
use crate::physics::initial_data::initial_state;
use crate::state::{State, NVARS};
use std::hint::black_box;
use std::time::Instant;

/// The CPU step's arithmetic: flops, the fraction of peak, and the row kernel against the per-site reference.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CpuCompute {
    /// the instruction set of the row kernel (evolve_row.rs)
    pub isa: &'static str,
    pub flops: super::flops::StepFlops,
    /// flops per site-step · site-steps/s / 1e9
    pub gflops: f64,
    pub peak: super::flops::CpuPeak,
    /// the peak in the run's precision
    pub peak_gflops: Option<f64>,
    pub fraction_of_peak: Option<f64>,
    /// median seconds of one `rhs_all` (the row kernel) and of one `rhs_all_reference` (per-site stencils with
    /// wrapping: the kernel before issue 17), timed in alternation on the same input
    pub rhs_time_s: f64,
    pub rhs_reference_time_s: f64,
    /// rhs_reference_time_s / rhs_time_s
    pub rhs_speedup: f64,
    pub rhs_pairs: u32,
}

/// Times `rhs_all` and `rhs_all_reference` in alternation (medians of `pairs` each).
fn rhs_against_reference<T: Real>(setup: &StepperSetup, state: &State, pairs: u32) -> (f64, f64) {
    let lat = setup.lattice;
    let fd = Fd::<T>::new(&setup.stencil, lat.spacing, setup.dissipation);
    let params = setup.params.cast::<T>();
    let y: Vec<T> = state.data.iter().map(|&x| T::c(x)).collect();
    let mut flux = vec![T::zero(); 3 * lat.sites()];
    scalar_flux(&fd, &lat, &params.background, &y, &mut flux);
    let b = StageBuffers { input: &y, flux: &flux };
    let (mut k, mut kr) = (Vec::new(), Vec::new());
    let (mut fast, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        fast.push(secs(|| rhs_all(&fd, &lat, &params, &b, &mut k)).1);
        reference.push(secs(|| rhs_all_reference(&fd, &lat, &params, &b, &mut kr)).1);
    }
    black_box((&k, &kr));
    (median(&mut fast), median(&mut reference))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn secs<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = Instant::now();
    let r = f();
    (r, t0.elapsed().as_secs_f64())
}

/// The per-op timings of `steps` RK4 steps, replaying CpuStepper::rk4_step. Returns (name, stage, seconds per call).
fn time_ops<T: Real>(setup: &StepperSetup, state: &State, steps: u32) -> Vec<(&'static str, Option<usize>, f64)> {
    let lat = setup.lattice;
    let n = lat.sites();
    let fd = Fd::<T>::new(&setup.stencil, lat.spacing, setup.dissipation);
    let params = setup.params.cast::<T>();
    let mut y: Vec<T> = state.data.iter().map(|&x| T::c(x)).collect();
    let mut acc = vec![T::zero(); NVARS * n];
    let mut u1 = vec![T::zero(); NVARS * n];
    let mut u2 = vec![T::zero(); NVARS * n];
    let mut flux = vec![T::zero(); 3 * n];
    let mut k: Vec<[T; NVARS]> = Vec::with_capacity(n);
    // (flux, rhs, combine) seconds per stage, summed over the steps
    let mut t = [[0.0f64; 3]; 4];
    for _ in 0..steps {
        for st in STAGES {
            let s = st.index;
            let input: &[T] = match s {
                0 => &y,
                1 | 3 => &u1,
                _ => &u2,
            };
            let (_, a) = secs(|| scalar_flux(&fd, &lat, &params.background, input, &mut flux));
            let (_, b) = secs(|| rhs_all(&fd, &lat, &params, &StageBuffers { input, flux: &flux }, &mut k));
            let next = if s == 1 { &mut u2 } else { &mut u1 };
            let (_, c) = secs(|| combine(&st, setup.dt, &k, &mut y, &mut acc, next));
            t[s][0] += a;
            t[s][1] += b;
            t[s][2] += c;
        }
    }
    black_box(&y);
    let mut out = Vec::new();
    for (s, ts) in t.iter().enumerate() {
        out.push(("scalar_flux", Some(s), ts[0] / steps as f64));
        out.push(("evolve_stage.rhs", Some(s), ts[1] / steps as f64));
        out.push(("evolve_stage.combine", Some(s), ts[2] / steps as f64));
    }
    out
}

fn run_t<T: Real>(cfg: &Config, opts: &Opts) -> anyhow::Result<RunResult> {
    let state = initial_state(cfg);
    let setup = StepperSetup::from_config(cfg).with_background_of(&state);
    let p = setup.precision;
    let n = setup.lattice.sites();
    let real = bytes::real_bytes(p);

    let mut stepper = CpuStepper::<T>::new(setup, &state);
    let (r, one) = secs(|| stepper.advance(1));
    r?;
    let steps = opts.steps.map(u64::from).unwrap_or_else(|| reps_for(opts.budget_s, one, 2, 200) as u64);
    stepper.upload(&state);
    let (r, t) = secs(|| stepper.advance(steps));
    r?;
    let step_time_s = t / steps as f64;

    let op_steps = opts.steps.unwrap_or_else(|| reps_for(opts.budget_s, one, 1, 200));
    let (ops, span) = secs(|| time_ops::<T>(&setup, &state, op_steps));
    let rows: Vec<OpRow> = ops
        .iter()
        .map(|&(name, stage, t)| OpRow {
            name: name.to_owned(),
            stage,
            time_s: t,
            bytes_per_site: bytes::cpu_op_reals(name, stage).map(|r| r * real),
        })
        .collect();

    let mem = MemoryModel::cpu(p);
    let copy = roofline::cpu_copy::<T>((mem.step_bytes_per_site * n as f64) as u64, opts.budget_s, opts.steps);

    // diagnostics: site values and reduction separately, then the end-to-end call
    let fd = Fd::<T>::new(&setup.stencil, setup.lattice.spacing, setup.dissipation);
    let bg = setup.background.map(T::c);
    let y: Vec<T> = state.data.iter().map(|&x| T::c(x)).collect();
    let (lambda, mass) = (T::c(setup.params.lambda), T::c(setup.params.mass));
    let pot = setup.params.potential.cast::<T>();
    let ((cols, _), one_site) = secs(|| all_site_values(&fd, &setup.lattice, &bg, &y, lambda, mass, &pot));
    let dreps = opts.steps.unwrap_or_else(|| reps_for(opts.budget_s, one_site, 1, 50));
    let (mut ts, mut tr) = (Vec::new(), Vec::new());
    for _ in 0..dreps {
        let (v, a) = secs(|| all_site_values(&fd, &setup.lattice, &bg, &y, lambda, mass, &pot));
        black_box(v);
        let (v, b) = secs(|| reduce_columns(&cols));
        black_box(v);
        ts.push(a);
        tr.push(b);
    }
    let med = |v: &mut Vec<f64>| median(v);
    let diag_rows = vec![
        OpRow {
            name: "diagnostics.site_values".into(),
            stage: None,
            time_s: med(&mut ts),
            bytes_per_site: bytes::cpu_diag_reals("diagnostics.site_values", n).map(|r| r * real),
        },
        OpRow {
            name: "diagnostics.reduce".into(),
            stage: None,
            time_s: med(&mut tr),
            bytes_per_site: bytes::cpu_diag_reals("diagnostics.reduce", n).map(|r| r * real),
        },
    ];
    let mut calls = Vec::new();
    let mut finite = true;
    for _ in 0..dreps.clamp(1, 5) {
        let (d, t) = secs(|| stepper.diagnostics());
        let d = d?;
        finite &= d.a.is_finite() && d.constraints.ham_l2.is_finite();
        calls.push(t);
    }
    let call_time_s = med(&mut calls);

    let diagnostics = DiagResult::new(&diag_rows, n, copy.bandwidth_gbs, call_time_s, step_time_s, finite);

    // the arithmetic: counted flops against the peak, and the row kernel against the per-site reference
    let flops = super::flops::step_flops(&fd, setup.params.lapse, &setup.params.potential);
    let peak = super::flops::cpu_peak(rayon::current_num_threads(), opts.peak_gflops);
    let peak_gflops = if p == Precision::F32 { peak.gflops_f32 } else { peak.gflops_f64 };
    let gflops = flops.per_site_step as f64 * n as f64 / step_time_s / 1e9;
    let pairs = opts.steps.unwrap_or(7).max(3);
    let (rhs_time_s, rhs_reference_time_s) = rhs_against_reference::<T>(&setup, &state, pairs);
    let cpu_compute = CpuCompute {
        isa: Isa::detect().name(),
        flops,
        gflops,
        peak_gflops,
        fraction_of_peak: peak_gflops.map(|g| gflops / g),
        peak,
        rhs_time_s,
        rhs_reference_time_s,
        rhs_speedup: rhs_reference_time_s / rhs_time_s,
        rhs_pairs: pairs,
    };
    let mut result = RunResult::new(
        "cpu",
        cfg,
        "host",
        steps,
        step_time_s,
        Some(span / op_steps as f64),
        op_steps,
        copy,
        rows,
        diagnostics,
        mem,
        None,
        Some(if cfg.cq.diffusion > 0.0 {
            "CPU: the step time includes the noise; the per-op table does not time it".to_owned()
        } else {
            "not measured on the CPU".to_owned()
        }),
    );
    result.cpu_compute = Some(cpu_compute);
    Ok(result)
}

/// Measures one configuration on the CPU backend (rayon's current thread pool).
pub fn run(cfg: &Config, opts: &Opts) -> anyhow::Result<RunResult> {
    match cfg.run.precision {
        Precision::F32 => run_t::<f32>(cfg, opts),
        Precision::F64 => run_t::<f64>(cfg, opts),
    }
}
