//! SPEC §5–§6 diagnostics on the GPU: diagnostics.wgsl computes the per-site values, the constraint fields and
//! a first 64-wide reduction per workgroup; reduce.wgsl passes reduce the partials until one value per column is
//! left. Only NCOL numbers come back per output (and 4·n for a snapshot's constraint fields).
//! Twin: src/backend/cpu/diagnostics.rs + reduce.rs.
use crate::backend::cpu::diagnostics::NCOL;
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};

pub struct GpuDiagnostics {
    site_kernel: Kernel,
    reduce_kernel: Kernel,
    site_group: wgpu::BindGroup,
    /// (bind group, number of workgroups' threads) of each reduction pass
    passes: Vec<(wgpu::BindGroup, u32)>,
    cfields: wgpu::Buffer,
    /// the buffer holding the NCOL final values at offsets c (column-major with one value per column)
    result: usize,
    partials: [wgpu::Buffer; 2],
    n: usize,
    precision: Precision,
}

fn blocks(m: usize) -> usize {
    m.div_ceil(64)
}

impl GpuDiagnostics {
    /// `pu`, `pr`: the lattice kernels' parameter blocks; `state`: the state buffer y.
    pub fn new(
        ctx: &GpuContext,
        precision: Precision,
        n: usize,
        pu: &wgpu::Buffer,
        pr: &wgpu::Buffer,
        state: &wgpu::Buffer,
    ) -> Result<Self, GpuError> {
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let real = if precision == Precision::F64 { 8u64 } else { 4 };
        let site_kernel = Kernel::new(ctx, "diagnostics", precision, "main", &[R, R, R, W, W])?;
        let reduce_kernel = Kernel::new(ctx, "reduce", precision, "main", &[R, R, W])?;
        let cfields = ctx.storage_buffer_zeroed("constraint fields", 4 * n as u64 * real)?;
        let m0 = blocks(n);
        let partials = [
            ctx.storage_buffer_zeroed("diagnostic partials A", (NCOL * m0) as u64 * real)?,
            ctx.storage_buffer_zeroed("diagnostic partials B", (NCOL * blocks(m0).max(1)) as u64 * real)?,
        ];
        let site_group = site_kernel.bind(ctx, &[pu, pr, state, &cfields, &partials[0]]);
        let mut passes = Vec::new();
        let (mut m, mut src) = (m0, 0usize);
        while m > 1 {
            let rp = ctx.storage_buffer("reduce params", &[m as u32, NCOL as u32])?;
            let group = reduce_kernel.bind(ctx, &[&rp, &partials[src], &partials[1 - src]]);
            passes.push((group, (NCOL * blocks(m) * 64) as u32));
            m = blocks(m);
            src = 1 - src;
        }
        Ok(Self { site_kernel, reduce_kernel, site_group, passes, cfields, result: src, partials, n, precision })
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        self.site_kernel.dispatch(encoder, &self.site_group, self.n as u32);
        for (group, threads) in &self.passes {
            self.reduce_kernel.dispatch(encoder, group, *threads);
        }
    }

    fn read(&self, ctx: &GpuContext, buf: &wgpu::Buffer, count: usize) -> Result<Vec<f64>, GpuError> {
        Ok(match self.precision {
            Precision::F64 => ctx.read_buffer_range::<f64>(buf, 0, count)?,
            Precision::F32 => ctx.read_buffer_range::<f32>(buf, 0, count)?.into_iter().map(f64::from).collect(),
        })
    }

    /// Runs the per-site kernel only (its workgroups' first reduction pass and the constraint fields), for a
    /// caller that finishes the reduction itself (the GPU slabs of a decomposed run, issue 18).
    pub fn site_pass(&self, ctx: &GpuContext) {
        let mut encoder = ctx.encoder("diagnostics (per site)");
        self.site_kernel.dispatch(&mut encoder, &self.site_group, self.n as u32);
        ctx.submit(encoder);
    }

    /// The first pass's buffer: column c's block b (sites 64b..64b+64) at c·⌈n/64⌉ + b (after [`Self::site_pass`]).
    pub fn first_pass_buffer(&self) -> &wgpu::Buffer {
        &self.partials[0]
    }

    /// The constraint fields' buffer (𝓗, 𝓗_x, 𝓗_y, 𝓗_z, n values each; after [`Self::site_pass`]).
    pub fn constraint_buffer(&self) -> &wgpu::Buffer {
        &self.cfields
    }

    /// The box reductions (sums and maxima) of the NCOL diagnostic columns.
    pub fn reduce(&self, ctx: &GpuContext) -> Result<[f64; NCOL], GpuError> {
        let mut encoder = ctx.encoder("diagnostics");
        self.record(&mut encoder);
        ctx.submit(encoder);
        let v = self.read(ctx, &self.partials[self.result], NCOL)?;
        Ok(std::array::from_fn(|c| v[c]))
    }

    /// The constraint fields (𝓗, 𝓗_x, 𝓗_y, 𝓗_z), each n values.
    pub fn constraint_fields(&self, ctx: &GpuContext) -> Result<[Vec<f64>; 4], GpuError> {
        let mut encoder = ctx.encoder("constraint fields");
        self.record(&mut encoder);
        ctx.submit(encoder);
        let v = self.read(ctx, &self.cfields, 4 * self.n)?;
        Ok(std::array::from_fn(|k| v[k * self.n..(k + 1) * self.n].to_vec()))
    }
}
