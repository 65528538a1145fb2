//! One GPU measurement (one lattice size, one precision): the whole step through `Stepper::advance`, every op of
//! the step (GpuStepper::step_ops) with timestamps or host timing, the diagnostics kernels and the end-to-end
//! `Stepper::diagnostics` call, and the copy kernel over a buffer as large as the step's working set.
use super::bytes::{self, MemoryModel};
use super::gpu_timing::{self, Method, Op, SequenceTiming};
use super::report::{kernel_rows, DiagResult, NoiseResult, OpRow, RunResult};
use super::roofline::GpuCopy;
use super::Opts;
use crate::backend::gpu::{params, GpuStepper};
use crate::backend::{Stepper, StepperSetup};
use crate::backend::cpu::diagnostics::NCOL;
use crate::config::{Config, Precision};
use crate::gpu::{Binding, GpuContext, Kernel};
use crate::numerics::rk4::STAGES;
use crate::physics::initial_data::initial_state;
use crate::state::State;
use std::time::Instant;

fn to_device(data: &[f64], p: Precision) -> Vec<u8> {
    match p {
        Precision::F64 => bytemuck::cast_slice(data).to_vec(),
        Precision::F32 => {
            let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
            bytemuck::cast_slice(&v).to_vec()
        }
    }
}

/// The diagnostics kernels of GpuDiagnostics (src/backend/gpu/diagnostics.rs: site kernel, then reduce passes),
/// rebuilt here on bench-owned buffers holding the same state, because GpuDiagnostics does not expose its
/// dispatches. Same shaders, bindings, sizes and dispatch counts as GpuDiagnostics::new / record.
struct DiagKernels {
    site: Kernel,
    reduce: Kernel,
    site_group: wgpu::BindGroup,
    passes: Vec<(wgpu::BindGroup, u32, usize)>,
    n: usize,
    _buffers: Vec<wgpu::Buffer>,
}

impl DiagKernels {
    fn new(ctx: &GpuContext, setup: &StepperSetup, state: &State) -> anyhow::Result<Self> {
        let p = setup.precision;
        let n = setup.lattice.sites();
        let real = bytes::real_bytes(p) as u64;
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let site = Kernel::new(ctx, "diagnostics", p, "main", &[R, R, R, W, W])?;
        let reduce = Kernel::new(ctx, "reduce", p, "main", &[R, R, W])?;
        let pu = ctx.storage_buffer("bench pu", &params::params_u(setup, &STAGES[0]))?;
        let pr = ctx.storage_buffer::<u8>("bench pr", &to_device(&params::params_r(setup, &STAGES[0]), p))?;
        let y = ctx.storage_buffer::<u8>("bench state", &to_device(&state.data, p))?;
        let cfields = ctx.storage_buffer_zeroed("bench constraint fields", 4 * n as u64 * real)?;
        let m0 = n.div_ceil(64);
        let partials = [
            ctx.storage_buffer_zeroed("bench partials A", (NCOL * m0) as u64 * real)?,
            ctx.storage_buffer_zeroed("bench partials B", (NCOL * m0.div_ceil(64).max(1)) as u64 * real)?,
        ];
        let site_group = site.bind(ctx, &[&pu, &pr, &y, &cfields, &partials[0]]);
        let mut passes = Vec::new();
        let mut bufs = Vec::new();
        let mut src = 0usize;
        for m in bytes::gpu_reduce_pass_sizes(n) {
            let rp = ctx.storage_buffer("bench reduce params", &[m as u32, NCOL as u32])?;
            let group = reduce.bind(ctx, &[&rp, &partials[src], &partials[1 - src]]);
            passes.push((group, (NCOL * m.div_ceil(64) * 64) as u32, m));
            bufs.push(rp);
            src = 1 - src;
        }
        let [a, b] = partials;
        bufs.extend([pu, pr, y, cfields, a, b]);
        Ok(Self { site, reduce, site_group, passes, n, _buffers: bufs })
    }

    /// (name, pass size m for reduce, op)
    fn ops(&self) -> Vec<(&'static str, Option<usize>, Op<'_>)> {
        let mut v: Vec<(&'static str, Option<usize>, Op<'_>)> = vec![(
            "diagnostics",
            None,
            Box::new(move |e: &mut wgpu::CommandEncoder| self.site.dispatch(e, &self.site_group, self.n as u32)),
        )];
        for (group, threads, m) in &self.passes {
            v.push(("reduce", Some(*m), Box::new(move |e: &mut wgpu::CommandEncoder| self.reduce.dispatch(e, group, *threads))));
        }
        v
    }
}

/// Wall seconds of `f` (which must wait for the device itself).
fn wall<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = Instant::now();
    let r = f();
    (r, t0.elapsed().as_secs_f64())
}

/// Bytes the device's memory allocator holds (Vulkan, DX12; `None` elsewhere), after an empty submission and a
/// wait, so that the staging buffers of the initial uploads are released.
fn allocated_bytes(ctx: &GpuContext) -> anyhow::Result<Option<u64>> {
    ctx.queue.submit([]);
    ctx.wait()?;
    Ok(ctx.device.generate_allocator_report().map(|r| r.total_allocated_bytes))
}

/// The whole step (host wall time of `advance`) and every op of it (GpuStepper::step_ops).
struct StepMeasure {
    steps: u64,
    step_time_s: f64,
    sequence: SequenceTiming,
    rows: Vec<OpRow>,
}

fn measure_step(stepper: &mut GpuStepper, state: &State, opts: &Opts, method: Method) -> anyhow::Result<StepMeasure> {
    let p = stepper.setup().precision;
    // whole step as a run does it: Stepper::advance (batched submissions, one wait at the end)
    let (r, one_s) = wall(|| stepper.advance(1));
    r?;
    let steps = opts.steps.map(u64::from).unwrap_or_else(|| gpu_timing::reps_for(opts.budget_s, one_s, 3, 200) as u64);
    stepper.upload(state);
    let (r, t) = wall(|| stepper.advance(steps));
    r?;
    let step_time_s = t / steps as f64;

    // every op of the step, in recording order
    stepper.upload(state);
    let step_ops = stepper.step_ops();
    let names: Vec<(&'static str, Option<usize>)> = step_ops.iter().map(|o| (o.name(), o.stage())).collect();
    let ops: Vec<Op> = step_ops.iter().map(|o| Box::new(move |e: &mut wgpu::CommandEncoder| o.record(e)) as Op).collect();
    let reps = opts.steps.unwrap_or_else(|| gpu_timing::reps_for(opts.budget_s, one_s, 3, 200));
    let sequence = gpu_timing::time_sequence(stepper.context(), &ops, reps, method)?;
    let rows = names
        .iter()
        .zip(&sequence.per_op_s)
        .map(|(&(name, stage), &t)| OpRow {
            name: name.to_owned(),
            stage,
            time_s: t,
            bytes_per_site: bytes::gpu_op_reals(name, stage).map(|r| r * bytes::real_bytes(p)),
        })
        .collect();
    Ok(StepMeasure { steps, step_time_s, sequence, rows })
}

/// D2 of the noise variant when the base configuration has none (the kernels' cost does not depend on it).
pub const NOISE_VARIANT_DIFFUSION: f64 = 1e-6;

/// The same configuration with the CQ noise on (`cq.diffusion` = [`NOISE_VARIANT_DIFFUSION`], the other `cq`
/// keys as given), measured like the main run: the noise's cost relative to `base_step_time_s`.
fn noise_variant(
    cfg: &Config,
    features: wgpu::Features,
    opts: &Opts,
    method: Method,
    base_step_time_s: f64,
) -> anyhow::Result<NoiseResult> {
    let mut cfg = cfg.clone();
    cfg.cq.diffusion = NOISE_VARIANT_DIFFUSION;
    let review = crate::config::review(&cfg);
    if !review.problems.is_empty() {
        anyhow::bail!("{}", crate::config::ConfigError::Invalid(review.problems));
    }
    let state = initial_state(&cfg);
    let setup = StepperSetup::from_config(&cfg).with_background_of(&state);
    let ctx = GpuContext::new_with_features(setup.precision, features)?;
    let mut stepper = GpuStepper::with_context(ctx, setup, &state)?;
    let memory_measured_bytes = allocated_bytes(stepper.context())?;
    let m = measure_step(&mut stepper, &state, opts, method)?;
    let n = setup.lattice.sites();
    let is_noise = |o: &&OpRow| o.name.contains("noise");
    let noise_s: f64 = m.rows.iter().filter(is_noise).map(|o| o.time_s).sum();
    let other_s: f64 = m.rows.iter().map(|o| o.time_s).sum::<f64>() - noise_s;
    anyhow::ensure!(m.rows.iter().any(|o| is_noise(&o)), "the step has no noise op with cq.diffusion > 0 (GpuStepper::step_ops)");
    Ok(NoiseResult {
        diffusion: cfg.cq.diffusion,
        correlation_length: cfg.cq.correlation_length,
        steps_timed: m.steps,
        step_time_s: m.step_time_s,
        overhead_wall: m.step_time_s / base_step_time_s - 1.0,
        overhead_ops: noise_s / other_s,
        kernels: kernel_rows(&m.rows, n, None),
        ops: m.rows,
        memory_measured_bytes,
    })
}

/// Measures one configuration on the GPU. `ctx` must be open for `cfg.run.precision`.
pub fn run(ctx: GpuContext, cfg: &Config, opts: &Opts) -> anyhow::Result<RunResult> {
    let state = initial_state(cfg);
    let setup = StepperSetup::from_config(cfg).with_background_of(&state);
    let p = setup.precision;
    let n = setup.lattice.sites();
    let method = if opts.host_timing || !gpu_timing::has_timestamps(&ctx) { Method::Host } else { Method::Timestamps };
    let features = ctx.features & gpu_timing::TIMESTAMP_FEATURES;
    let mut stepper = GpuStepper::with_context(ctx, setup, &state)?;
    let memory_measured_bytes = allocated_bytes(stepper.context())?;

    let m = measure_step(&mut stepper, &state, opts, method)?;

    // copy kernel over the step's working set
    let mem = MemoryModel::gpu(p);
    let working_set = (mem.step_bytes_per_site * n as f64) as u64;
    let copy = {
        let c = GpuCopy::new(stepper.context(), p, working_set)?;
        c.measure(stepper.context(), method, opts.budget_s, opts.steps)?
    };

    // diagnostics: per kernel (mirror of GpuDiagnostics), and the end-to-end call of a run
    stepper.upload(&state);
    let diag = DiagKernels::new(stepper.context(), &setup, &state)?;
    let dops = diag.ops();
    let dnames: Vec<(&'static str, Option<usize>)> = dops.iter().map(|(a, b, _)| (*a, *b)).collect();
    let dfns: Vec<Op> = dops.into_iter().map(|(_, _, f)| f).collect();
    let one_diag = gpu_timing::host_time(stepper.context(), |e| dfns.iter().for_each(|f| f(e)))?;
    let dreps = opts.steps.unwrap_or_else(|| gpu_timing::reps_for(opts.budget_s, one_diag, 3, 200));
    let dtiming = gpu_timing::time_sequence(stepper.context(), &dfns, dreps, method)?;
    drop(dfns);
    let diag_rows: Vec<OpRow> = dnames
        .iter()
        .zip(&dtiming.per_op_s)
        .map(|(&(name, m), &t)| OpRow {
            name: name.to_owned(),
            stage: None,
            time_s: t,
            bytes_per_site: Some(
                match m {
                    None => bytes::gpu_diag_site_reals(),
                    Some(m) => bytes::reduce_pass_reals(m) / n as f64,
                } * bytes::real_bytes(p),
            ),
        })
        .collect();
    drop(diag);
    let mut call_times = Vec::new();
    let mut finite = true;
    for _ in 0..dreps.clamp(3, 20) {
        let (d, t) = wall(|| stepper.diagnostics());
        let d = d?;
        finite &= d.a.is_finite() && d.constraints.ham_l2.is_finite();
        call_times.push(t);
    }
    call_times.sort_by(|a, b| a.total_cmp(b));
    let call_time_s = call_times[call_times.len() / 2];
    drop(stepper);

    // the noise: in the step already, or measured in a variant with the noise on
    let (noise, noise_note) = if cfg.cq.diffusion > 0.0 {
        (None, None)
    } else if !opts.noise_variant {
        (None, Some("not measured (--no-noise)".to_owned()))
    } else {
        match noise_variant(cfg, features, opts, method, m.step_time_s) {
            Ok(mut v) => {
                v.kernels = kernel_rows(&v.ops, n, Some(copy.bandwidth_gbs));
                (Some(v), None)
            }
            Err(e) => (None, Some(format!("noise variant not measured: {e:#}"))),
        }
    };

    let diagnostics = DiagResult::new(&diag_rows, n, copy.bandwidth_gbs, call_time_s, m.step_time_s, finite);
    let mut r = RunResult::new(
        "gpu",
        cfg,
        method.name(),
        m.steps,
        m.step_time_s,
        Some(m.sequence.per_rep_s),
        m.sequence.reps,
        copy,
        m.rows,
        diagnostics,
        mem,
        noise,
        noise_note,
    );
    r.memory_measured_bytes = memory_measured_bytes;
    Ok(r)
}
