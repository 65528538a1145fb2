//! The bandwidth reference measured in the same run: a plain copy over buffers as large as the step's working
//! set. GPU: shaders/bench_copy.wgsl (one real read + one real written per thread, the run's precision), capped
//! at the largest storage binding of the device. CPU: rayon-parallel `copy_from_slice` in 64 Ki-element chunks.
//! Bandwidth = 2 · buffer bytes / time (read + write), the same convention as the kernels' ideal bytes.
use super::gpu_timing::{self, Method, Op};
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, Kernel};
use crate::numerics::real::Real;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// One copy measurement.
#[derive(Debug, Clone, Serialize)]
pub struct CopyResult {
    /// `wgsl bench_copy` or `rayon copy_from_slice`
    pub kind: &'static str,
    /// bytes of the source buffer (= of the destination)
    pub buffer_bytes: u64,
    /// the working set the buffer was sized after (may be larger when capped by the device's binding limit)
    pub working_set_bytes: u64,
    pub reps: u32,
    /// seconds per copy
    pub time_s: f64,
    /// 2 · buffer_bytes / time_s / 1e9
    pub bandwidth_gbs: f64,
    pub timing: &'static str,
}

/// The GPU copy kernel with its buffers.
pub struct GpuCopy {
    kernel: Kernel,
    group: wgpu::BindGroup,
    elements: u32,
    pub buffer_bytes: u64,
    pub working_set_bytes: u64,
}

impl GpuCopy {
    /// Buffers of `working_set_bytes` (capped at the device's largest storage binding and at 2³² − 1 elements).
    pub fn new(ctx: &GpuContext, p: Precision, working_set_bytes: u64) -> anyhow::Result<Self> {
        let real = if p == Precision::F64 { 8u64 } else { 4 };
        let cap = ctx.max_storage_bytes() / 256 * 256;
        let bytes = working_set_bytes.min(cap).min(u32::MAX as u64 * real).max(256) / real * real;
        let elements = (bytes / real) as u32;
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let kernel = Kernel::new(ctx, "bench_copy", p, "main", &[R, R, W])?;
        let cp = ctx.storage_buffer("bench copy params", &[elements, 0, 0, 0])?;
        // wgpu zero-initialises both (the clear touches every page, so no lazily mapped memory is read)
        let src = ctx.storage_buffer_zeroed("bench copy src", bytes)?;
        let dst = ctx.storage_buffer_zeroed("bench copy dst", bytes)?;
        let group = kernel.bind(ctx, &[&cp, &src, &dst]);
        Ok(Self { kernel, group, elements, buffer_bytes: bytes, working_set_bytes })
    }

    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        self.kernel.dispatch(encoder, &self.group, self.elements);
    }

    /// Times the copy: a warm-up, then as many reps as fit in `budget_s` (or `reps`).
    pub fn measure(&self, ctx: &GpuContext, method: Method, budget_s: f64, reps: Option<u32>) -> anyhow::Result<CopyResult> {
        let one = gpu_timing::host_time(ctx, |e| self.record(e))?;
        let reps = reps.unwrap_or_else(|| gpu_timing::reps_for(budget_s, one, 5, 1000));
        let ops: Vec<Op> = vec![Box::new(|e: &mut wgpu::CommandEncoder| self.record(e))];
        let t = gpu_timing::time_sequence(ctx, &ops, reps, method)?;
        let time_s = t.per_op_s[0];
        Ok(CopyResult {
            kind: "wgsl bench_copy",
            buffer_bytes: self.buffer_bytes,
            working_set_bytes: self.working_set_bytes,
            reps,
            time_s,
            bandwidth_gbs: 2.0 * self.buffer_bytes as f64 / time_s / 1e9,
            timing: method.name(),
        })
    }
}

/// CPU copy bandwidth over `working_set_bytes` (rounded to whole elements of `T`).
pub fn cpu_copy<T: Real>(working_set_bytes: u64, budget_s: f64, reps: Option<u32>) -> CopyResult {
    let size = std::mem::size_of::<T>();
    let n = (working_set_bytes as usize / size).max(1024);
    let src: Vec<T> = (0..n).map(|i| T::c((i % 1000) as f64 + 0.5)).collect();
    let mut dst: Vec<T> = vec![T::c(1.0); n];
    const CHUNK: usize = 1 << 16;
    let mut copy = || {
        dst.par_chunks_mut(CHUNK).zip(src.par_chunks(CHUNK)).for_each(|(d, s)| d.copy_from_slice(s));
    };
    let t0 = Instant::now();
    copy();
    let one = t0.elapsed().as_secs_f64();
    let reps = reps.unwrap_or_else(|| gpu_timing::reps_for(budget_s, one, 5, 1000));
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            copy();
            t.elapsed().as_secs_f64()
        })
        .collect();
    std::hint::black_box(&dst);
    times.sort_by(|a, b| a.total_cmp(b));
    let time_s = times[times.len() / 2];
    let bytes = (n * size) as u64;
    CopyResult {
        kind: "rayon copy_from_slice",
        buffer_bytes: bytes,
        working_set_bytes,
        reps,
        time_s,
        bandwidth_gbs: 2.0 * bytes as f64 / time_s / 1e9,
        timing: "host",
    }
}
