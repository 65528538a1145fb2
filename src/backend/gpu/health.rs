//! The health check of every step on the GPU (issue 15), twin of `backend/cpu/health.rs`: after each step the
//! `reduce.wgsl` passes sum all values of the state buffer y (one column of 15·n values, the tree order of the
//! CPU's `state_sum`), and the sum is copied into slot j of a small ring buffer. The ring is read back once per
//! `advance` (or when it is full): a few bytes per step, no extra wait per step. The first non-finite slot is
//! the first step whose state holds a NaN or an infinity.
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};
use crate::state::NVARS;

/// Steps whose sums the ring holds before it must be read back.
pub const RING: u64 = 1024;

pub struct GpuHealth {
    kernel: Kernel,
    /// (bind group, threads) of each reduction pass, the first reading the state
    passes: Vec<(wgpu::BindGroup, u32)>,
    partials: [wgpu::Buffer; 2],
    /// which of `partials` holds the final sum
    result: usize,
    ring: wgpu::Buffer,
    real: u64,
    precision: Precision,
}

fn blocks(m: usize) -> usize {
    m.div_ceil(64)
}

impl GpuHealth {
    /// The reduction of the state buffer `y` of `n` sites.
    pub fn new(ctx: &GpuContext, precision: Precision, n: usize, y: &wgpu::Buffer) -> Result<Self, GpuError> {
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let real = if precision == Precision::F64 { 8u64 } else { 4 };
        let kernel = Kernel::new(ctx, "reduce", precision, "main", &[R, R, W])?;
        let values = NVARS * n;
        let count = |m: usize| {
            u32::try_from(m).map_err(|_| GpuError::BufferTooLarge {
                label: "state health sum".into(),
                bytes: m as u64 * real,
                limit: u32::MAX as u64 * real,
                limit_name: "2^32 values of one reduction",
            })
        };
        let m0 = blocks(values);
        let partials = [
            ctx.storage_buffer_zeroed("health partials A", m0.max(1) as u64 * real)?,
            ctx.storage_buffer_zeroed("health partials B", blocks(m0).max(1) as u64 * real)?,
        ];
        let mut passes = Vec::new();
        let rp = ctx.storage_buffer("health reduce params", &[count(values)?, 1])?;
        passes.push((kernel.bind(ctx, &[&rp, y, &partials[0]]), count(m0 * 64)?));
        let (mut m, mut src) = (m0, 0usize);
        while m > 1 {
            let rp = ctx.storage_buffer("health reduce params", &[m as u32, 1])?;
            passes.push((kernel.bind(ctx, &[&rp, &partials[src], &partials[1 - src]]), (blocks(m) * 64) as u32));
            m = blocks(m);
            src = 1 - src;
        }
        let ring = ctx.storage_buffer_zeroed("health sums", RING * real)?;
        Ok(Self { kernel, passes, partials, result: src, ring, real, precision })
    }

    /// Records the sum of the state into ring slot `slot` (< [`RING`]).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, slot: u64) {
        for (group, threads) in &self.passes {
            self.kernel.dispatch(encoder, group, *threads);
        }
        encoder.copy_buffer_to_buffer(&self.partials[self.result], 0, &self.ring, slot * self.real, self.real);
    }

    /// The first of the `count` recorded slots whose sum is not finite. Waits for the device.
    pub fn first_nonfinite(&self, ctx: &GpuContext, count: u64) -> Result<Option<u64>, GpuError> {
        let sums = ctx.read_reals(&self.ring, count as usize, self.precision)?;
        Ok(sums.iter().position(|s| !s.is_finite()).map(|i| i as u64))
    }
}
