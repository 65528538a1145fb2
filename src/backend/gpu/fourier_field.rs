//! The `fourier` quantum field on the GPU (f32 or f64; SPEC §4.2, issue 11): the twin of
//! backend/cpu/fourier_field.rs and physics/fourier_dynamics.rs as recorded kernel dispatches. Γ_k is a buffer of 3
//! reals per lattice momentum; x̄ = (φ̄, π̄_φ) lives in the state's φ, π_φ slots as for the classical field.
//!
//! Per RK4 stage s (stage input u_s, Γ_k of the stage as the fields' inputs):
//!   before the field kernels — scalar_flux (the classical flux of u_s), vacuum_jets (Γvac of the box-mean metric,
//!   `vacuum` scheme), fourier_mode_sums + fourier_sum_partials (Γ_loc), fourier_site_forms + fourier_sum_partials
//!   (back-reaction into qrhs, the box sums), fourier_coeffs (the box block), with the conditioning on fourier_dft × 3
//!   (x̂ of u_s), fourier_mode_drift (dΓ_k, and ŵ), fourier_dft × 3 (w), fourier_mean_rhs (∂t x̄ into qrhs);
//!   evolve_stage.wgsl then uses qrhs (pu[7] = 1, or 2 in a frozen metric);
//!   after them — rk4_combine of Γ_k.
//! After the step's noise is added to π^ab: x̄ is copied out of the state, fourier_noise_sums + fourier_sum_partials
//! (Σ_x dW), fourier_noise_strength + fourier_sum_partials (the largest escape rate over momenta), fourier_dft × 3 (x̂);
//! the host reads the two strengths back (the one read-back of a noisy step), refuses a too strong step as the CPU does
//! (`gaussian_dynamics::check_conditioning`) and records fourier_noise_flow with `noise_substeps(size)` RK4 sub-steps per
//! momentum, the inverse transform of the change of x̂ added to x̄ (fourier_dft × 3), and the copy of x̄ back.
//!
//! On a rank's z-slab (issue 18, parallel/gpu_slab_stepper.rs; `FieldBuffers::domain` a slab's) the per-site kernels
//! (scalar_flux, fourier_site_forms, fourier_mean_rhs, fourier_noise_sums) run on the local lattice with its own
//! parameter block, and the momentum kernels over the whole lattice's momenta with the whole lattice's: Γ_k, its RK4
//! copies and the transforms are held whole and evolved identically on every rank's device. The host steps in where a
//! momentum kernel reads what the sites of every rank give ([`SlabPart`]): the owned planes of g_ab (Γvac's box-mean
//! metric, `vacuum` scheme) and of x̄ (the forward transforms) are gathered into whole-lattice copies before a stage
//! and after the noise; the per-site passes' partial sums of the owned 64-site groups are gathered into the whole
//! lattice's partials, which fourier_sum_partials then finishes as on one GPU. The inverse transform w and the noise
//! flow's x̄ are whole: each local site copies its own. Every rank therefore runs one GPU's kernels on one GPU's
//! numbers, so the slabs are one GPU bit for bit.
use super::dense_field::dense_params_r;
use super::params::params_u;
use super::quantum::{flush, gather_regions, record_ops, xbar_bytes, FieldBuffers, GpuQuantumField, KernelOp};
use super::to_device;
use crate::backend::StepperSetup;
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};
use crate::numerics::rk4::STAGES;
use crate::physics::fourier_dynamics::{MODE, MODE_SUMS, SITE_SUMS};
use crate::physics::gaussian_dynamics::{check_conditioning, noise_substeps};
use crate::numerics::site_domain::SiteDomain;
use crate::state::{var, QuantumData, State};
use std::ops::Range;

/// Reals of a stage's box block (shaders/fourier_layout.wgsl).
const BOX: usize = 109;

/// Device bytes of the fourier field for n sites in `precision`: Γ_k and its RK4 copies (5 × 3n), the quantum
/// right-hand side (8n), the flux (3n), x̄ (2n), the transforms (6 complex n-vectors, with CQ coupling) and the partial
/// sums.
pub fn device_bytes(n: usize, coupled: bool, precision: Precision) -> u64 {
    let real = if precision == Precision::F64 { 8 } else { 4 };
    let n = n as u64;
    let groups = n.div_ceil(64);
    (15 * n + 8 * n + 3 * n + 2 * n + if coupled { 12 * n } else { 0 } + (MODE_SUMS + SITE_SUMS) as u64 * groups + 512) * real
}

#[derive(Clone, Copy)]
enum K {
    Flux,
    Vacuum,
    ModeSums,
    SumPartials,
    SiteForms,
    Coeffs,
    Dft,
    ModeDrift,
    MeanRhs,
    Combine,
    NoiseSums,
    NoiseStrength,
    NoiseFlow,
}


pub struct GpuFourierField {
    /// lattice momenta (the whole lattice's sites) and the sites of the per-site kernels' lattice (the same on one
    /// GPU; a rank's local lattice on a z-slab)
    n: usize,
    sites: usize,
    shape: [usize; 3],
    precision: Precision,
    kernels: Vec<Kernel>,
    /// Γ_k at the start of the step
    gy: wgpu::Buffer,
    /// the quantum right-hand side read by evolve_stage.wgsl (binding 7)
    qrhs: wgpu::Buffer,
    /// x̄ during the noise flow (φ̄ then π̄; the whole lattice's)
    xy: wgpu::Buffer,
    /// Σ_x dW (6) | the number of noise sub-steps
    noise: wgpu::Buffer,
    strength: wgpu::Buffer,
    stages: Vec<StagePre>,
    drift_post: Vec<KernelOp>,
    /// after the step's noise is added: Σ_x dW per 64-site group, then the box sums and the momentum side
    cond_sites: Vec<KernelOp>,
    cond_modes: Vec<KernelOp>,
    flow: Vec<KernelOp>,
    /// the last step's report (the noise flow's RK4 sub-steps, as the CPU's `noise_flow` returns)
    report: crate::backend::quantum::QuantumStepReport,
    /// issue 18: what a rank's z-slab adds (None on the whole lattice)
    slab: Option<SlabPart>,
}

/// The kernels of a stage before the field kernels, in the three runs between which a slab gathers every rank's
/// values (one GPU records them in a row).
struct StagePre {
    /// the scalar flux, Γvac, the momentum sums of Γ_k, the per-site pass (its 64-site partial sums)
    sites: Vec<KernelOp>,
    /// the site sums from the partials, the box block, x̂, the momentum drift and w
    modes: Vec<KernelOp>,
    /// the mean field's right-hand side
    mean: Vec<KernelOp>,
}

/// A rank's z-slab (issue 18; docs/mpi.md): Γ_k is held whole and evolved identically on every rank's device (the
/// momentum kernels run over the whole lattice's momenta), the per-site kernels run on the local lattice (owned and
/// ghost planes), and between them the host gathers from every rank what the whole lattice's passes read: the owned
/// 64-site groups' partial sums (the box sums are then finished by the device's own kernel, in one GPU's order),
/// and the owned planes of the fields the momentum side reads (g_ab for Γvac, x̄ for x̂).
struct SlabPart {
    real_bytes: u64,
    /// the owned local sites (whole planes of whole 64-site groups)
    owned: Range<usize>,
    /// the stage inputs (u2, u1, u2, u1)
    inputs: [wgpu::Buffer; 4],
    /// the state fields the momentum side reads, and their whole lattice's values, field after field
    fields: Vec<usize>,
    gathered: wgpu::Buffer,
    /// the per-site passes' partial sums: the local lattice's groups, the whole lattice's
    part_x: wgpu::Buffer,
    part_xg: wgpu::Buffer,
    /// the circulant part w (complex; with the conditioning) of the whole lattice and of the local sites
    circulant: bool,
    wx: wgpu::Buffer,
    wx_local: wgpu::Buffer,
    /// (l, g, len): local sites l .. l + len are the whole lattice's g .. g + len (ghost planes wrap around z)
    runs: Vec<(usize, usize, usize)>,
}

impl SlabPart {
    /// Every rank's owned `regions` (reals) of `src` written to `dst` from real 0 ([`gather_regions`]).
    fn gather(&self, ctx: &GpuContext, domain: &dyn SiteDomain, src: &wgpu::Buffer, regions: &[Range<usize>], dst: &wgpu::Buffer) -> anyhow::Result<()> {
        gather_regions(ctx, domain, src, regions, self.real_bytes, dst)
    }

    /// The owned 64-site groups' partial sums of `cols` columns into the whole lattice's.
    fn gather_partials(&self, ctx: &GpuContext, domain: &dyn SiteDomain, cols: usize) -> anyhow::Result<()> {
        let (g0, g1) = (self.owned.start / 64, self.owned.end / 64);
        self.gather(ctx, domain, &self.part_x, &[g0 * cols..g1 * cols], &self.part_xg)
    }

    /// The owned sites of `fields` of the local state-layout buffer `src` (`sites` per field) into the whole
    /// lattice's `dst`, field after field.
    fn gather_fields(&self, ctx: &GpuContext, domain: &dyn SiteDomain, src: &wgpu::Buffer, sites: usize, fields: &[usize], dst: &wgpu::Buffer) -> anyhow::Result<()> {
        let regions: Vec<Range<usize>> = fields.iter().map(|&v| v * sites + self.owned.start..v * sites + self.owned.end).collect();
        self.gather(ctx, domain, src, &regions, dst)
    }

    /// Records the copy of the whole lattice's `width` reals per site in `src` (from real `from`) to every local
    /// site of `dst` (from real `to`).
    fn copy_to_local(&self, encoder: &mut wgpu::CommandEncoder, src: &wgpu::Buffer, from: usize, dst: &wgpu::Buffer, to: usize, width: usize) {
        let b = self.real_bytes;
        for &(l, g, len) in &self.runs {
            encoder.copy_buffer_to_buffer(src, (from + g * width) as u64 * b, dst, (to + l * width) as u64 * b, (len * width) as u64 * b);
        }
    }
}

/// (l, g, len) runs of the `domain`'s local sites (planes of `plane` sites, `planes` of them) that are consecutive
/// in the whole lattice.
fn global_runs(domain: &dyn SiteDomain, plane: usize, planes: usize) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for z in 0..planes {
        let (l, g) = (z * plane, domain.global_site(z * plane));
        match runs.last_mut() {
            Some(r) if r.0 + r.2 == l && r.1 + r.2 == g => r.2 += plane,
            _ => runs.push((l, g, plane)),
        }
    }
    runs
}

impl GpuFourierField {
    /// The field on the lattice of `setup` placed in the run's by `f.domain`: the whole lattice, or a rank's z-slab
    /// (issue 18; `state` then carries the whole lattice's Γ_k, and N1·N2 is a multiple of 64).
    pub fn new(ctx: &GpuContext, setup: &StepperSetup, state: &State, f: FieldBuffers<'_>) -> anyhow::Result<Box<dyn GpuQuantumField>> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the fourier representation needs the quantum field's parameters"))?;
        let p = setup.precision;
        let local = setup.lattice;
        let lat = f.domain.global();
        let (n, sites) = (lat.sites(), local.sites());
        // a slab (whose local lattice may have the whole lattice's shape: ghost planes as thick as the slab)
        let split = f.domain.owned() != (0..sites);
        let rb = if p == Precision::F64 { 8u64 } else { 4 };
        let coupled = q.diffusion != 0.0;
        let conditioned = coupled;
        let need = device_bytes(n, coupled, p);
        let explain = |e: GpuError| {
            anyhow::anyhow!(
                "{e}: the fourier quantum state of {n} sites needs about {:.2} GiB on the device in {p:?}; use a smaller lattice or \
                 run.backend = \"cpu\"",
                need as f64 / (1u64 << 30) as f64
            )
        };
        ctx.check_storage_size("quantum right-hand side", 8 * sites as u64 * rb).map_err(explain)?;
        let zeros = |label: &str, reals: usize| ctx.storage_buffer_zeroed(label, reals.max(1) as u64 * rb).map_err(explain);
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let kern = |shader: &str, b: &[Binding]| Kernel::new(ctx, shader, p, "main", b);
        let kernels = vec![
            kern("scalar_flux", &[R, R, R, W])?,
            kern("vacuum_jets", &[R, R, R, R, W])?,
            kern("fourier_mode_sums", &[R, R, R, W])?,
            kern("fourier_sum_partials", &[R, R, W])?,
            kern("fourier_site_forms", &[R, R, R, R, R, W, W])?,
            kern("fourier_coeffs", &[R, R, R, W])?,
            kern("fourier_dft", &[R, R, R, R, W])?,
            kern("fourier_mode_drift", &[R, R, R, R, R, R, W, W])?,
            kern("fourier_mean_rhs", &[R, R, R, R, R, W])?,
            kern("rk4_combine", &[R, R, R, W, W, W])?,
            kern("fourier_noise_sums", &[R, R, W])?,
            kern("fourier_noise_strength", &[R, R, R, R, R, R, W])?,
            kern("fourier_noise_flow", &[R, R, R, R, R, R, W, W])?,
        ];
        // parameters (shaders/fourier_layout.wgsl): the momentum kernels' over the whole lattice, the per-site
        // kernels' over the local lattice (the same block on one GPU)
        let (groups, local_groups) = (n.div_ceil(64), sites.div_ceil(64));
        let global_setup = StepperSetup { lattice: lat, ..*setup };
        let params = |on: &StepperSetup, groups: usize| {
            let mut pu = params_u(on, &STAGES[0]).to_vec();
            pu.extend_from_slice(&[0, conditioned as u32, groups as u32, n as u32]);
            ctx.storage_buffer("fourier pu", &pu)
        };
        let pu = params(&global_setup, groups)?;
        let pl = if split { params(setup, local_groups)? } else { pu.clone() };
        let pr = ctx.storage_buffer::<u8>("fourier pr", &to_device(&dense_params_r(setup, &q), p))?;
        let sig: Vec<f64> = crate::physics::lattice_vacuum::symbols(&lat, &setup.stencil).concat();
        let sig = ctx.storage_buffer::<u8>("stencil symbols", &to_device(&sig, p))?;
        let tw: Vec<f64> = (0..3)
            .flat_map(|a| {
                let m = lat.shape[a];
                (0..m).flat_map(move |j| {
                    let (s, c) = (std::f64::consts::TAU * j as f64 / m as f64).sin_cos();
                    [c, s]
                })
            })
            .collect();
        let tw = ctx.storage_buffer::<u8>("twiddles", &to_device(&tw, p))?;
        let ku = |label: &str, v: &[u32]| ctx.storage_buffer(label, v);
        // Γ_k: the state's, or the lattice vacuum of its box-mean metric (a slab starts from the whole lattice's)
        anyhow::ensure!(!split || !state.quantum.is_empty(), "a slab's fourier field starts from the whole lattice's Γ_k");
        let m0 = crate::backend::cpu::fourier_field::initial_modes(&global_setup, q.mass, state)?;
        let gy = ctx.storage_buffer::<u8>("Γ_k", &to_device(&m0, p)).map_err(explain)?;
        let gacc = zeros("Γ_k rk4 accumulator", MODE * n)?;
        let gu1 = zeros("Γ_k stage input 1", MODE * n)?;
        let gu2 = zeros("Γ_k stage input 2", MODE * n)?;
        let dg = zeros("dΓ_k", MODE * n)?;
        let qrhs = zeros("quantum rhs", 8 * sites)?;
        let flux = zeros("scalar flux (fourier)", 3 * sites)?;
        let vac = zeros("vacuum jets", 25)?;
        let part_k = zeros("momentum partial sums", MODE_SUMS * groups)?;
        let part_x = zeros("site partial sums", SITE_SUMS * local_groups)?;
        let msum = zeros("momentum sums", MODE_SUMS)?;
        let ssum = zeros("site sums", SITE_SUMS)?;
        let boxes = [zeros("box block (stage 0)", BOX)?, zeros("box block", BOX)?];
        let cplx = |label: &str, sites: usize| zeros(label, if conditioned { 2 * sites } else { 1 });
        let (zhat, tmp1, tmp2, what, wx) = (cplx("x̂", n)?, cplx("transform pass 1", n)?, cplx("transform pass 2", n)?, cplx("ŵ", n)?, cplx("w", n)?);
        let xy = zeros("x̄ (fourier)", 2 * n)?;
        let noise = zeros("noise sum", 7)?;
        let strength = zeros("conditioning strength", 2)?;
        let dz = cplx("Δx̂", n)?;
        let slab = if split {
            let fields: Vec<usize> = if q.renormalize { (var::G..var::G + 6).collect() } else { Vec::new() };
            let fields: Vec<usize> = fields.into_iter().chain(if conditioned { vec![var::PHI, var::PI_PHI] } else { Vec::new() }).collect();
            let plane = local.shape[0] * local.shape[1];
            Some(SlabPart {
                real_bytes: rb,
                owned: f.domain.owned(),
                inputs: f.inputs.map(|b| b.clone()),
                gathered: zeros("gathered fields (fourier slab)", fields.len() * n)?,
                fields,
                part_x: part_x.clone(),
                part_xg: zeros("site partial sums of the whole lattice", SITE_SUMS * groups)?,
                circulant: conditioned,
                wx: wx.clone(),
                wx_local: cplx("w of the local sites", sites)?,
                runs: global_runs(f.domain, plane, local.shape[2]),
            })
        } else {
            None
        };

        let k = |kernel: K| &kernels[kernel as usize];
        let op = |kernel: K, bufs: &[&wgpu::Buffer], threads: usize| KernelOp { kernel: kernel as usize, group: k(kernel).bind(ctx, bufs), threads: threads as u32 };
        let g = groups as u32;
        // the box sums from the whole lattice's 64-site partials (on a slab: gathered from every rank)
        let part_sums = slab.as_ref().map_or(&part_x, |sp| &sp.part_xg);
        let ku_msum = ku("sum momenta", &[g, MODE_SUMS as u32, 0, 0])?;
        let ku_ssum = ku("sum sites", &[g, SITE_SUMS as u32, 0, 0])?;
        let ku_noise = ku("sum noise", &[g, 6, 0, 0])?;
        let ku_strength = ku("max strength", &[g, 2, 0, 1])?;
        let nn = n as u32;
        let dft_ku = |axis: u32, inverse: u32, in_real: Option<(u32, u32)>, out_add: Option<(u32, u32)>| {
            let (im, i1, i2) = in_real.map_or((0, 0, 0), |(a, b)| (1, a, b));
            let (om, o1, o2) = out_add.map_or((0, 0, 0), |(a, b)| (1, a, b));
            ku("dft pass", &[axis, inverse, im, i1, i2, om, o1, o2])
        };
        // x̂ of a stage input: its φ, π_φ slots on one GPU, the gathered fields' last two on a slab
        let fwd_u = match &slab {
            None => dft_ku(0, 0, Some((var::PHI as u32 * nn, var::PI_PHI as u32 * nn)), None)?,
            Some(sp) => {
                let at = sp.fields.len().saturating_sub(2) as u32 * nn;
                dft_ku(0, 0, Some((at, at + nn)), None)?
            }
        };
        let fwd_x = dft_ku(0, 0, Some((0, nn)), None)?;
        let pass = [dft_ku(0, 1, None, None)?, dft_ku(1, 0, None, None)?, dft_ku(2, 0, None, None)?, dft_ku(1, 1, None, None)?, dft_ku(2, 1, None, None)?];
        let inv_add = dft_ku(2, 1, None, Some((0, nn)))?;
        // forward (from a real pair at the given ku) into zhat, inverse of `src` into `dst`
        let forward = |first: &wgpu::Buffer, src: &wgpu::Buffer| -> Vec<KernelOp> {
            vec![op(K::Dft, &[&pu, first, &tw, src, &tmp1], n), op(K::Dft, &[&pu, &pass[1], &tw, &tmp1, &tmp2], n), op(K::Dft, &[&pu, &pass[2], &tw, &tmp2, &zhat], n)]
        };
        let comb: Vec<wgpu::Buffer> = (0..4).map(|s| ku("combine Γ_k", &[(MODE * n) as u32, s])).collect::<Result<_, _>>()?;
        let kr: Vec<wgpu::Buffer> = STAGES
            .iter()
            .map(|st| ctx.storage_buffer::<u8>("combine w c", &to_device(&[st.w * setup.dt, st.c * setup.dt], p)))
            .collect::<Result<_, _>>()?;
        let gin = [&gy, &gu1, &gu2, &gu1];
        let gnext = [&gu1, &gu2, &gu1, &gu2];
        let mut stages = Vec::new();
        let mut drift_post = Vec::new();
        for s in 0..4 {
            let u = f.inputs[s];
            // what the momentum side reads of the stage input: the input itself, or the gathered fields
            let whole_u = slab.as_ref().map_or(u, |sp| &sp.gathered);
            let bx = &boxes[(s > 0) as usize];
            let mut sites_ops = vec![op(K::Flux, &[&pl, &pr, u, &flux], sites)];
            if q.renormalize {
                sites_ops.push(op(K::Vacuum, &[&pu, &pr, whole_u, &sig, &vac], 64));
            }
            sites_ops.push(op(K::ModeSums, &[&pu, &sig, gin[s], &part_k], n));
            sites_ops.push(op(K::SumPartials, &[&ku_msum, &part_k, &msum], 64));
            sites_ops.push(op(K::SiteForms, &[&pl, &pr, u, &msum, &vac, &qrhs, &part_x], sites));
            let mut modes = vec![op(K::SumPartials, &[&ku_ssum, part_sums, &ssum], 64), op(K::Coeffs, &[&pu, &pr, &ssum, bx], 1)];
            if conditioned {
                modes.extend(forward(&fwd_u, whole_u));
            }
            modes.push(op(K::ModeDrift, &[&pu, &pr, &sig, bx, gin[s], &zhat, &dg, &what], n));
            if conditioned {
                modes.push(op(K::Dft, &[&pu, &pass[0], &tw, &what, &tmp1], n));
                modes.push(op(K::Dft, &[&pu, &pass[3], &tw, &tmp1, &tmp2], n));
                modes.push(op(K::Dft, &[&pu, &pass[4], &tw, &tmp2, &wx], n));
            }
            let w_local = slab.as_ref().map_or(&wx, |sp| &sp.wx_local);
            let mean = vec![op(K::MeanRhs, &[&pl, &pr, u, &flux, w_local, &qrhs], sites)];
            stages.push(StagePre { sites: sites_ops, modes, mean });
            drift_post.push(op(K::Combine, &[&comb[s], &kr[s], &dg, &gy, &gacc, gnext[s]], MODE * n));
        }
        let (mut cond_sites, mut cond_modes, mut flow) = (Vec::new(), Vec::new(), Vec::new());
        if let (Some(dw), true) = (f.dw, conditioned) {
            cond_sites.push(op(K::NoiseSums, &[&pl, dw, &part_x], sites));
            cond_modes.push(op(K::SumPartials, &[&ku_noise, part_sums, &noise], 64));
            cond_modes.push(op(K::NoiseStrength, &[&pu, &pr, &sig, &boxes[0], &noise, &gy, &part_k], n));
            cond_modes.push(op(K::SumPartials, &[&ku_strength, &part_k, &strength], 64));
            cond_modes.extend(forward(&fwd_x, &xy));
            flow.push(op(K::NoiseFlow, &[&pu, &pr, &sig, &boxes[0], &noise, &zhat, &gy, &dz], n));
            flow.push(op(K::Dft, &[&pu, &pass[0], &tw, &dz, &tmp1], n));
            flow.push(op(K::Dft, &[&pu, &pass[3], &tw, &tmp1, &tmp2], n));
            flow.push(op(K::Dft, &[&pu, &inv_add, &tw, &tmp2, &xy], n));
        }
        Ok(Box::new(Self {
            n,
            sites,
            shape: lat.shape,
            precision: p,
            kernels,
            gy,
            qrhs,
            xy,
            noise,
            strength,
            stages,
            drift_post,
            cond_sites,
            cond_modes,
            flow,
            report: Default::default(),
            slab,
        }))
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder, ops: &[KernelOp]) {
        record_ops(&self.kernels, encoder, ops);
    }
}

impl GpuQuantumField for GpuFourierField {
    fn qrhs(&self) -> Option<&wgpu::Buffer> {
        Some(&self.qrhs)
    }

    /// One GPU: the stage's kernels in a row.
    fn record_stage_pre(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        debug_assert!(self.slab.is_none(), "a slab's stage needs the host between its passes (stage_pre_in)");
        let st = &self.stages[s];
        for ops in [&st.sites, &st.modes, &st.mean] {
            self.record(encoder, ops);
        }
    }

    /// On a slab: the owned planes of the fields the momentum side reads gathered from every rank (when Γvac or x̂
    /// needs them), the per-site pass, its owned partial sums gathered, the momentum side (identical on every
    /// rank), the local sites' w copied out of the whole lattice's, the mean field's right-hand side.
    fn stage_pre_in(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, s: usize, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let Some(sp) = &self.slab else {
            self.record_stage_pre(encoder, s);
            return Ok(());
        };
        let st = &self.stages[s];
        if !sp.fields.is_empty() {
            flush(ctx, encoder);
            sp.gather_fields(ctx, domain, &sp.inputs[s], self.sites, &sp.fields, &sp.gathered)?;
        }
        self.record(encoder, &st.sites);
        flush(ctx, encoder);
        sp.gather_partials(ctx, domain, SITE_SUMS)?;
        self.record(encoder, &st.modes);
        if sp.circulant {
            sp.copy_to_local(encoder, &sp.wx, 0, &sp.wx_local, 0, 2);
        }
        self.record(encoder, &st.mean);
        Ok(())
    }

    fn record_stage_post(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, std::slice::from_ref(&self.drift_post[s]));
    }

    fn conditions(&self) -> bool {
        !self.cond_modes.is_empty()
    }

    /// After the noise is added: x̄ out of the state, Σ_x dW, the conditioning strengths and x̂.
    fn record_conditioning_prep(&self, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer) {
        debug_assert!(self.slab.is_none(), "a slab's conditioning needs the host (conditioning_prep_in)");
        let (off, len) = xbar_bytes(self.sites, self.precision);
        encoder.copy_buffer_to_buffer(y, off, &self.xy, 0, len);
        self.record(encoder, &self.cond_sites);
        self.record(encoder, &self.cond_modes);
    }

    /// On a slab: Σ_x dW's owned partials and x̄'s owned planes gathered from every rank between the two.
    fn conditioning_prep_in(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let Some(sp) = &self.slab else {
            self.record_conditioning_prep(encoder, y);
            return Ok(());
        };
        self.record(encoder, &self.cond_sites);
        flush(ctx, encoder);
        sp.gather_partials(ctx, domain, 6)?;
        sp.gather_fields(ctx, domain, y, self.sites, &[var::PHI, var::PI_PHI], &self.xy)?;
        self.record(encoder, &self.cond_modes);
        Ok(())
    }

    /// The noise flow of the step (after the conditioning's preparation has run): checks the strength as the CPU
    /// does, then records and submits the flow per momentum, the change of x̄ and its copy back into the state (on
    /// a slab every local site's, so the ghost planes are the neighbours' values too).
    fn condition(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, _step: u64) -> anyhow::Result<()> {
        let s = ctx.read_reals(&self.strength, 2, self.precision)?;
        check_conditioning(s[1])?;
        let m = noise_substeps(s[0]);
        self.report.substeps = m as u32;
        ctx.write_buffer::<u8>(&self.noise, 6 * if self.precision == Precision::F64 { 8 } else { 4 }, &to_device(&[m as f64], self.precision))?;
        let mut encoder = ctx.encoder("fourier noise flow");
        self.record(&mut encoder, &self.flow);
        match &self.slab {
            None => {
                let (off, len) = xbar_bytes(self.sites, self.precision);
                encoder.copy_buffer_to_buffer(&self.xy, 0, y, off, len);
            }
            Some(sp) => {
                sp.copy_to_local(&mut encoder, &self.xy, 0, y, var::PHI * self.sites, 1);
                sp.copy_to_local(&mut encoder, &self.xy, self.n, y, var::PI_PHI * self.sites, 1);
            }
        }
        ctx.submit(encoder);
        Ok(())
    }

    fn report(&self) -> crate::backend::quantum::QuantumStepReport {
        self.report
    }

    /// Γ_k in f64 (the whole lattice's, also on a slab).
    fn download(&self, ctx: &GpuContext) -> anyhow::Result<QuantumData> {
        let g = ctx.read_reals(&self.gy, MODE * self.n, self.precision)?;
        Ok(crate::backend::cpu::fourier_field::modes_data(g, self.shape))
    }

    fn upload(&self, ctx: &GpuContext, q: &QuantumData) -> anyhow::Result<()> {
        let g = q.require(crate::backend::cpu::fourier_field::GAMMA_K, MODE * self.n)?;
        ctx.write_buffer::<u8>(&self.gy, 0, &to_device(g, self.precision))?;
        Ok(())
    }
}
