//! The GPU side of a quantum-field representation (backend/quantum.rs): the kernels it records around the field
//! kernels of each RK4 stage, its conditioning after the noise, and its transfers. evolve_stage.wgsl reads the
//! representation's right-hand side from `qrhs` (binding 7) when the run has a quantum field (pu[7] ≠ 0).
use crate::config::Precision;
use crate::gpu::{GpuContext, Kernel};
use crate::numerics::site_domain::SiteDomain;
use crate::state::QuantumData;

/// The stepper's buffers a representation reads or writes.
pub struct FieldBuffers<'a> {
    /// the fields' stage inputs u_s of stages 0..4 (u2 = copy of y, u1, u2, u1)
    pub inputs: [&'a wgpu::Buffer; 4],
    /// the CQ noise increments dW^ab (None: no noise)
    pub dw: Option<&'a wgpu::Buffer>,
    /// where the stepper's lattice sits in the run's (numerics/site_domain.rs): the whole lattice on one GPU, a
    /// rank's z-slab in a domain-decomposed run (issue 18; only the representations that split on the GPU,
    /// `Representation::gpu_slab`, are built on one)
    pub domain: &'a dyn SiteDomain,
}

pub trait GpuQuantumField {
    /// The quantum right-hand side read by evolve_stage.wgsl (binding 7): per site the fluctuation back-reaction
    /// subtracted from ∂t π^ab (6 components) and the mean field's ∂t φ̄, ∂t π̄_φ; None for the classical field.
    fn qrhs(&self) -> Option<&wgpu::Buffer>;
    /// Stage s before the field kernels (the back-reaction and ∂t x̄ into qrhs).
    fn record_stage_pre(&self, encoder: &mut wgpu::CommandEncoder, s: usize);
    /// Issue 18: stage s before the field kernels on the `domain` the field was built on. A field split over z-slabs
    /// submits `encoder` where its passes need every rank's values (box sums, the mean field's transforms), gathers
    /// them through `domain` and goes on recording into a fresh encoder. Default (a field on the whole lattice):
    /// [`Self::record_stage_pre`].
    fn stage_pre_in(&self, _ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, s: usize, _domain: &dyn SiteDomain) -> anyhow::Result<()> {
        self.record_stage_pre(encoder, s);
        Ok(())
    }
    /// Stage s after the field kernels (the fluctuations' own stage and RK4 combination).
    fn record_stage_post(&self, encoder: &mut wgpu::CommandEncoder, s: usize);
    /// Issue 18: [`Self::record_stage_post`] on the `domain` the field was built on, with the host round-trips of a
    /// field split over z-slabs (as [`Self::stage_pre_in`]). Default: [`Self::record_stage_post`].
    fn stage_post_in(&self, _ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, s: usize, _domain: &dyn SiteDomain) -> anyhow::Result<()> {
        self.record_stage_post(encoder, s);
        Ok(())
    }
    /// Whether the conditioning on a step's noise needs the host between steps (then every noisy step is submitted
    /// on its own and [`Self::condition`] is called after it).
    fn conditions(&self) -> bool;
    /// After the noise is added to π^ab (state buffer `y`): what the conditioning needs recorded in the step's
    /// command buffer.
    fn record_conditioning_prep(&self, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer);
    /// Issue 18: [`Self::record_conditioning_prep`] on the `domain` the field was built on, with the host round-trips
    /// of a field split over z-slabs (as [`Self::stage_pre_in`]). Default: [`Self::record_conditioning_prep`].
    fn conditioning_prep_in(&self, _ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer, _domain: &dyn SiteDomain) -> anyhow::Result<()> {
        self.record_conditioning_prep(encoder, y);
        Ok(())
    }
    /// The conditioning of step `step` just submitted (may read back a few numbers and submit more work).
    fn condition(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, step: u64) -> anyhow::Result<()>;
    /// Issue 18: [`Self::condition`] on the `domain` the field was built on (a field split over z-slabs reduces its
    /// strengths over the ranks and exchanges halos between its passes). Default: [`Self::condition`].
    fn condition_in(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, step: u64, _domain: &dyn SiteDomain) -> anyhow::Result<()> {
        self.condition(ctx, y, step)
    }
    /// What the last step's quantum update did (backend/quantum.rs).
    fn report(&self) -> crate::backend::quantum::QuantumStepReport {
        Default::default()
    }
    /// The fluctuations in f64 (checkpoint arrays).
    fn download(&self, ctx: &GpuContext) -> anyhow::Result<QuantumData>;
    fn upload(&self, ctx: &GpuContext, q: &QuantumData) -> anyhow::Result<()>;
}

/// `none`: no fluctuations, nothing to record.
pub struct GpuClassicalField;

impl GpuQuantumField for GpuClassicalField {
    fn qrhs(&self) -> Option<&wgpu::Buffer> {
        None
    }
    fn record_stage_pre(&self, _: &mut wgpu::CommandEncoder, _: usize) {}
    fn record_stage_post(&self, _: &mut wgpu::CommandEncoder, _: usize) {}
    fn conditions(&self) -> bool {
        false
    }
    fn record_conditioning_prep(&self, _: &mut wgpu::CommandEncoder, _: &wgpu::Buffer) {}
    fn condition(&mut self, _: &GpuContext, _: &wgpu::Buffer, _: u64) -> anyhow::Result<()> {
        Ok(())
    }
    fn download(&self, _: &GpuContext) -> anyhow::Result<QuantumData> {
        Ok(QuantumData::default())
    }
    fn upload(&self, _: &GpuContext, _: &QuantumData) -> anyhow::Result<()> {
        Ok(())
    }
}

/// One dispatch of a representation's kernels, recorded at construction: the index of its kernel in the
/// representation's list, its bind group and its thread count.
pub struct KernelOp {
    pub kernel: usize,
    pub group: wgpu::BindGroup,
    pub threads: u32,
}

/// Records `ops` in order (their kernels indexed into `kernels`).
pub fn record_ops(kernels: &[Kernel], encoder: &mut wgpu::CommandEncoder, ops: &[KernelOp]) {
    for o in ops {
        kernels[o.kernel].dispatch(encoder, &o.group, o.threads);
    }
}

/// Submits what `encoder` holds and replaces it by a fresh one (a slab's host round-trip comes next).
pub fn flush(ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder) {
    let done = std::mem::replace(encoder, ctx.encoder("quantum field (slab)"));
    ctx.submit(done);
}

/// Every rank's owned `regions` (reals of `real_bytes` bytes) of `src` written to `dst` from real 0: region j of
/// every rank in rank order (the whole lattice's order), then region j + 1 (issue 18: a slab's gathers).
pub fn gather_regions(ctx: &GpuContext, domain: &dyn SiteDomain, src: &wgpu::Buffer, regions: &[std::ops::Range<usize>], real_bytes: u64, dst: &wgpu::Buffer) -> anyhow::Result<()> {
    let w = (real_bytes / 4) as usize;
    let words: Vec<std::ops::Range<usize>> = regions.iter().map(|r| r.start * w..r.end * w).collect();
    let mine: Vec<u32> = ctx.read_regions(src, &words)?;
    let all = domain.all_gather_bytes(bytemuck::cast_slice(&mine));
    let k = regions.len();
    let mut out = Vec::with_capacity(all.iter().map(Vec::len).sum());
    for j in 0..k {
        for b in &all {
            let len = b.len() / k;
            out.extend_from_slice(&b[j * len..(j + 1) * len]);
        }
    }
    ctx.write_buffer::<u8>(dst, 0, &out)?;
    Ok(())
}

/// Byte offset and length of the mean field x̄ = (φ̄, π̄_φ) (two SoA slots) in the state buffer of n sites.
pub fn xbar_bytes(n: usize, precision: Precision) -> (u64, u64) {
    let rb = if precision == Precision::F64 { 8 } else { 4 };
    ((crate::state::var::PHI * n) as u64 * rb, (2 * n) as u64 * rb)
}
