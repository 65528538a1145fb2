//! Timing a sequence of GPU operations: with timestamp queries when the device has them, otherwise on the host
//! after a device wait.
//!
//! - **Timestamps** (`TIMESTAMP_QUERY | TIMESTAMP_QUERY_INSIDE_ENCODERS`, requested through
//!   [`GpuContext::new_with_features`]): the sequence is recorded `reps` times into one command buffer with a
//!   `write_timestamp` on the encoder before the first op and after every op (Vulkan: `vkCmdWriteTimestamp` at
//!   bottom of pipe, so each interval is one op in its natural place in the step, including the barrier before
//!   it). Encoder timestamps, not pass timestamps, so that buffer copies (`copy_y_u2`) are timed too and the
//!   kernels are recorded exactly as the stepper records them. Per op: the median over the reps.
//! - **Host** (no timestamp support, or forced): each op alone is recorded `reps` times into one command buffer,
//!   submitted and waited for (`device.poll(wait)`); op time = wall time / reps. Back-to-back repeats of one op
//!   can hit caches the real sequence does not (small lattices); the whole sequence is timed the same way.
use crate::gpu::{GpuContext, GpuError};
use std::time::Instant;

/// The features timestamp timing needs.
pub const TIMESTAMP_FEATURES: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);

/// Whether `ctx` was opened with the timestamp features.
pub fn has_timestamps(ctx: &GpuContext) -> bool {
    ctx.features.contains(TIMESTAMP_FEATURES)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Timestamps,
    Host,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Timestamps => "gpu-timestamps",
            Method::Host => "host",
        }
    }
}

/// One recordable operation.
pub type Op<'a> = Box<dyn Fn(&mut wgpu::CommandEncoder) + 'a>;

/// Result of timing a sequence.
#[derive(Debug, Clone)]
pub struct SequenceTiming {
    /// seconds per op (median over the reps), in sequence order
    pub per_op_s: Vec<f64>,
    /// seconds per whole sequence (timestamps: first to last timestamp / reps; host: wall / reps)
    pub per_rep_s: f64,
    pub reps: u32,
    pub method: Method,
}

/// Queries per query set (wgpu's maximum).
const MAX_QUERIES: u32 = wgpu::QUERY_SET_MAX_QUERIES;

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Wall seconds of recording `f` into one encoder, submitting and waiting.
pub fn host_time(ctx: &GpuContext, f: impl Fn(&mut wgpu::CommandEncoder)) -> Result<f64, GpuError> {
    ctx.wait()?;
    let t0 = Instant::now();
    let mut encoder = ctx.encoder("cqgrav bench (host timing)");
    f(&mut encoder);
    ctx.submit(encoder);
    ctx.wait()?;
    Ok(t0.elapsed().as_secs_f64())
}

/// Reps of the sequence so that timing it takes about `budget_s`, given one run took `one_s`.
pub fn reps_for(budget_s: f64, one_s: f64, min: u32, max: u32) -> u32 {
    let r = (budget_s / one_s.max(1e-9)).ceil();
    (r.max(min as f64).min(max as f64)) as u32
}

/// Times `ops` (in order) `reps` times with `method`.
pub fn time_sequence(ctx: &GpuContext, ops: &[Op<'_>], reps: u32, method: Method) -> Result<SequenceTiming, GpuError> {
    let reps = reps.max(1);
    match method {
        Method::Timestamps => time_with_timestamps(ctx, ops, reps),
        Method::Host => {
            let per_op_s = ops
                .iter()
                .map(|op| {
                    host_time(ctx, |e| {
                        for _ in 0..reps {
                            op(e)
                        }
                    })
                    .map(|t| t / reps as f64)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let all = host_time(ctx, |e| {
                for _ in 0..reps {
                    for op in ops {
                        op(e)
                    }
                }
            })?;
            Ok(SequenceTiming { per_op_s, per_rep_s: all / reps as f64, reps, method })
        }
    }
}

fn time_with_timestamps(ctx: &GpuContext, ops: &[Op<'_>], reps: u32) -> Result<SequenceTiming, GpuError> {
    assert!(has_timestamps(ctx), "timestamp timing on a device opened without {TIMESTAMP_FEATURES:?}");
    let n_ops = ops.len() as u32;
    assert!((1..MAX_QUERIES).contains(&n_ops), "sequence of {n_ops} ops");
    let period_ns = ctx.queue.get_timestamp_period() as f64;
    let per_batch = ((MAX_QUERIES - 1) / n_ops).max(1);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(reps as usize); ops.len()];
    let mut span = 0.0;
    let mut done = 0;
    while done < reps {
        let r = per_batch.min(reps - done);
        let count = 1 + r * n_ops;
        let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("cqgrav bench timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("cqgrav bench timestamps resolve"),
            size: count as u64 * wgpu::QUERY_SIZE as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = ctx.encoder("cqgrav bench (timestamps)");
        encoder.write_timestamp(&set, 0);
        let mut q = 1;
        for _ in 0..r {
            for op in ops {
                op(&mut encoder);
                encoder.write_timestamp(&set, q);
                q += 1;
            }
        }
        encoder.resolve_query_set(&set, 0..count, &resolve, 0);
        ctx.submit(encoder);
        let ticks: Vec<u64> = ctx.read_buffer_range::<u64>(&resolve, 0, count as usize)?;
        let secs = |a: u64, b: u64| b.wrapping_sub(a) as f64 * period_ns * 1e-9;
        for rep in 0..r as usize {
            for (j, s) in samples.iter_mut().enumerate() {
                let k = rep * ops.len() + j;
                s.push(secs(ticks[k], ticks[k + 1]));
            }
        }
        span += secs(ticks[0], ticks[count as usize - 1]);
        done += r;
    }
    let per_op_s = samples.iter_mut().map(|s| median(s)).collect();
    Ok(SequenceTiming { per_op_s, per_rep_s: span / reps as f64, reps, method: Method::Timestamps })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn median_and_reps() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(reps_for(1.0, 0.1, 3, 100), 10);
        assert_eq!(reps_for(1.0, 10.0, 3, 100), 3);
        assert_eq!(reps_for(1.0, 1e-6, 3, 100), 100);
    }
}
