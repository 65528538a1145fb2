//! The CQ noise step on the GPU (SPEC §3): buffers, kernels and the dispatches of one step, twin of
//! backend/cpu/cq_noise.rs. Per step: `cq_noise::white`, then (ℓ > 0) `noise_smooth::main` along each active
//! axis, then `cq_noise::sample` — all before the RK4 stages, from the state at the start of the step — and
//! `cq_noise::add` after them. `add` also advances the step counter `nstep` on the device (its thread 0), so a
//! batch of steps recorded into one command buffer draws step after step without host writes; the host sets
//! the counter at construction and on upload.
//!
//! Buffers kept for the quantum conditioning of SPEC §4.1: `dw` ([`GpuNoise::increments_buffer`]) holds the
//! increments dW^ab of the step being taken from `sample` on, and those of the last step after `advance`
//! (6 components SoA, the run's precision).
use crate::backend::StepperSetup;
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};
pub use crate::numerics::lattice::SiteNumbering;
use crate::physics::cq_noise::smoothing_weights;

use super::to_device;

/// Per-site statistic columns of `sample` (τ, q, τ², N√g), as backend/cpu/cq_noise.rs `NSTAT`.
pub const NSTAT: usize = crate::backend::cpu::cq_noise::NSTAT;

pub struct GpuNoise {
    white: Kernel,
    sample: Kernel,
    add: Kernel,
    smooth: Option<Kernel>,
    reduce: Kernel,
    white_group: wgpu::BindGroup,
    sample_group: wgpu::BindGroup,
    add_group: wgpu::BindGroup,
    smooth_groups: Vec<wgpu::BindGroup>,
    /// (bind group, threads) of each pass of the statistics reduction (shaders/reduce.wgsl)
    reduce_passes: Vec<(wgpu::BindGroup, u32)>,
    nstep: wgpu::Buffer,
    dw: wgpu::Buffer,
    stat: wgpu::Buffer,
    partials: [wgpu::Buffer; 2],
    result: usize,
    n: usize,
    precision: Precision,
}

fn blocks(m: usize) -> usize {
    m.div_ceil(64)
}

/// The words (low, high) of a step number.
fn step_words(step: u64) -> [u32; 4] {
    [step as u32, (step >> 32) as u32, 0, 0]
}

impl GpuNoise {
    /// Kernels and buffers for `setup.noise` acting on the state buffer `y`, with the device step counter set
    /// to `step`; the lattice's sites are numbered `sites` in the Philox counters.
    pub fn new(ctx: &GpuContext, setup: &StepperSetup, y: &wgpu::Buffer, step: u64, sites: SiteNumbering) -> Result<Self, GpuError> {
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let p = setup.precision;
        let lat = setup.lattice;
        let n = lat.sites();
        let np = setup.noise;
        let real = if p == Precision::F64 { 8u64 } else { 4 };
        let layout = [R, R, W, W, W, W, W];
        let white = Kernel::new(ctx, "cq_noise", p, "white", &layout)?;
        let sample = Kernel::new(ctx, "cq_noise", p, "sample", &layout)?;
        let add = Kernel::new(ctx, "cq_noise", p, "add", &layout)?;
        let reduce = Kernel::new(ctx, "reduce", p, "main", &[R, R, W])?;

        let [n1, n2, n3] = lat.shape;
        let seed = np.seed;
        let pu = ctx.storage_buffer(
            "cq noise params u32",
            &[n1 as u32, n2 as u32, n3 as u32, seed as u32, (seed >> 32) as u32, np.trace_only() as u32, sites.first as u32, sites.global as u32],
        )?;
        let dv = lat.cell_volume();
        let mut pr = vec![1.0 / dv.sqrt(), 1.0 / (2.0 * dv).sqrt(), (np.diffusion * setup.dt).sqrt(), np.beta];
        pr.extend_from_slice(&setup.background);
        let npr = ctx.storage_buffer::<u8>("cq noise params real", &to_device(&pr, p))?;
        let nstep = ctx.storage_buffer("cq noise step", &step_words(step))?;
        let field_bytes = 6 * n as u64 * real;
        let z = [
            ctx.storage_buffer_zeroed("cq noise zeta A", field_bytes)?,
            ctx.storage_buffer_zeroed("cq noise zeta B", field_bytes)?,
        ];
        let dw = ctx.storage_buffer_zeroed("cq noise increments dW", field_bytes)?;
        let stat = ctx.storage_buffer_zeroed("cq noise statistics", NSTAT as u64 * n as u64 * real)?;

        // ℓ > 0: ping-pong smoothing passes along the active axes, the last output feeds `sample`
        let mut smooth = None;
        let mut smooth_groups = Vec::new();
        let mut cur = 0usize;
        if np.correlation_length > 0.0 {
            let kernel = Kernel::new(ctx, "noise_smooth", p, "main", &[R, R, R, W])?;
            let w = smoothing_weights(np.correlation_length, lat.spacing);
            let sw = ctx.storage_buffer::<u8>("noise smoothing weights", &to_device(&w, p))?;
            let r = (w.len() / 2) as u32;
            for axis in (0..3).filter(|&a| lat.shape[a] > 1) {
                let spu = ctx.storage_buffer("noise smoothing params", &[n1 as u32, n2 as u32, n3 as u32, axis as u32, r])?;
                smooth_groups.push(kernel.bind(ctx, &[&spu, &sw, &z[cur], &z[1 - cur]]));
                cur = 1 - cur;
            }
            smooth = Some(kernel);
        }
        let white_group = white.bind(ctx, &[&pu, &npr, &nstep, y, &z[0], &dw, &stat]);
        let sample_group = sample.bind(ctx, &[&pu, &npr, &nstep, y, &z[cur], &dw, &stat]);
        let add_group = add.bind(ctx, &[&pu, &npr, &nstep, y, &z[cur], &dw, &stat]);

        // statistics: NSTAT columns of n values → one sum each (all columns < 10 are summed by reduce.wgsl)
        let m0 = blocks(n);
        let partials = [
            ctx.storage_buffer_zeroed("cq noise stat partials A", (NSTAT * n.max(1)) as u64 * real)?,
            ctx.storage_buffer_zeroed("cq noise stat partials B", (NSTAT * m0.max(1)) as u64 * real)?,
        ];
        let mut reduce_passes = Vec::new();
        let (mut m, mut src) = (n, None::<usize>);
        let mut dst = 0usize;
        while m > 1 || src.is_none() {
            let rp = ctx.storage_buffer("cq noise reduce params", &[m as u32, NSTAT as u32])?;
            let from = match src {
                None => &stat,
                Some(s) => &partials[s],
            };
            reduce_passes.push((reduce.bind(ctx, &[&rp, from, &partials[dst]]), (NSTAT * blocks(m) * 64) as u32));
            m = blocks(m);
            src = Some(dst);
            dst = 1 - dst;
        }
        let result = src.expect("at least one pass");
        Ok(Self {
            white,
            sample,
            add,
            smooth,
            reduce,
            white_group,
            sample_group,
            add_group,
            smooth_groups,
            reduce_passes,
            nstep,
            dw,
            stat,
            partials,
            result,
            n,
            precision: p,
        })
    }

    /// The dispatches before the drift (white, smoothing passes, sample): (shader name, kernel, bind group).
    pub fn pre_ops(&self) -> Vec<(&'static str, &Kernel, &wgpu::BindGroup)> {
        let mut ops = vec![("cq_noise", &self.white, &self.white_group)];
        if let Some(k) = &self.smooth {
            for g in &self.smooth_groups {
                ops.push(("noise_smooth", k, g));
            }
        }
        ops.push(("cq_noise", &self.sample, &self.sample_group));
        ops
    }

    /// The dispatch after the drift (add, which also advances the device step counter).
    pub fn post_op(&self) -> (&'static str, &Kernel, &wgpu::BindGroup) {
        ("cq_noise", &self.add, &self.add_group)
    }

    pub fn record_pre(&self, encoder: &mut wgpu::CommandEncoder) {
        for (_, k, g) in self.pre_ops() {
            k.dispatch(encoder, g, self.n as u32);
        }
    }

    pub fn record_post(&self, encoder: &mut wgpu::CommandEncoder) {
        self.add.dispatch(encoder, &self.add_group, self.n as u32);
    }

    /// Sets the device step counter (construction, upload).
    pub fn set_step(&self, ctx: &GpuContext, step: u64) -> Result<(), GpuError> {
        ctx.write_buffer(&self.nstep, 0, &step_words(step))
    }

    /// The device step counter (for tests: it must equal the stepper's step).
    pub fn device_step(&self, ctx: &GpuContext) -> Result<u64, GpuError> {
        let w = ctx.read_buffer_range::<u32>(&self.nstep, 0, 2)?;
        Ok(w[0] as u64 | (w[1] as u64) << 32)
    }

    /// The increment buffer dW (6 components SoA, the run's precision) — for kernels of the quantum
    /// conditioning (SPEC §4.1).
    pub fn increments_buffer(&self) -> &wgpu::Buffer {
        &self.dw
    }

    fn read(&self, ctx: &GpuContext, buf: &wgpu::Buffer, count: usize) -> Result<Vec<f64>, GpuError> {
        ctx.read_reals(buf, count, self.precision)
    }

    /// The increments of the last step, in f64.
    pub fn increments(&self, ctx: &GpuContext) -> Result<Vec<f64>, GpuError> {
        self.read(ctx, &self.dw, 6 * self.n)
    }

    /// Box sums of the NSTAT statistic columns of the last step.
    pub fn stat_sums(&self, ctx: &GpuContext) -> Result<[f64; NSTAT], GpuError> {
        let mut encoder = ctx.encoder("cq noise statistics");
        for (g, threads) in &self.reduce_passes {
            self.reduce.dispatch(&mut encoder, g, *threads);
        }
        ctx.submit(encoder);
        let v = self.read(ctx, &self.partials[self.result], NSTAT)?;
        Ok(std::array::from_fn(|c| v[c]))
    }

    #[doc(hidden)]
    pub fn stat_buffer(&self) -> &wgpu::Buffer {
        &self.stat
    }
}
