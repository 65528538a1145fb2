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
use super::dense_field::dense_params_r;
use super::params::params_u;
use super::quantum::{record_ops, xbar_bytes, FieldBuffers, GpuQuantumField, KernelOp};
use super::to_device;
use crate::backend::StepperSetup;
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};
use crate::numerics::rk4::STAGES;
use crate::physics::fourier_dynamics::{MODE, MODE_SUMS, SITE_SUMS};
use crate::physics::gaussian_dynamics::{check_conditioning, noise_substeps};
use crate::state::{var, QuantumData, State};

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
    n: usize,
    shape: [usize; 3],
    precision: Precision,
    kernels: Vec<Kernel>,
    /// Γ_k at the start of the step
    gy: wgpu::Buffer,
    /// the quantum right-hand side read by evolve_stage.wgsl (binding 7)
    qrhs: wgpu::Buffer,
    /// x̄ during the noise flow (φ̄ then π̄)
    xy: wgpu::Buffer,
    /// Σ_x dW (6) | the number of noise sub-steps
    noise: wgpu::Buffer,
    strength: wgpu::Buffer,
    drift_pre: Vec<Vec<KernelOp>>,
    drift_post: Vec<KernelOp>,
    cond_pre: Vec<KernelOp>,
    flow: Vec<KernelOp>,
    /// the last step's report (the noise flow's RK4 sub-steps, as the CPU's `noise_flow` returns)
    report: crate::backend::quantum::QuantumStepReport,
}

impl GpuFourierField {
    pub fn new(ctx: &GpuContext, setup: &StepperSetup, state: &State, f: FieldBuffers<'_>) -> anyhow::Result<Box<dyn GpuQuantumField>> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the fourier representation needs the quantum field's parameters"))?;
        let p = setup.precision;
        let lat = setup.lattice;
        let n = lat.sites();
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
        ctx.check_storage_size("quantum right-hand side", 8 * n as u64 * rb).map_err(explain)?;
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
        // parameters (shaders/fourier_layout.wgsl)
        let groups = n.div_ceil(64);
        let mut pu = params_u(setup, &STAGES[0]).to_vec();
        pu.extend_from_slice(&[0, conditioned as u32, groups as u32]);
        let pu = ctx.storage_buffer("fourier pu", &pu)?;
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
        // Γ_k: the state's, or the lattice vacuum of its box-mean metric
        let m0 = crate::backend::cpu::fourier_field::initial_modes(setup, q.mass, state)?;
        let gy = ctx.storage_buffer::<u8>("Γ_k", &to_device(&m0, p)).map_err(explain)?;
        let gacc = zeros("Γ_k rk4 accumulator", MODE * n)?;
        let gu1 = zeros("Γ_k stage input 1", MODE * n)?;
        let gu2 = zeros("Γ_k stage input 2", MODE * n)?;
        let dg = zeros("dΓ_k", MODE * n)?;
        let qrhs = zeros("quantum rhs", 8 * n)?;
        let flux = zeros("scalar flux (fourier)", 3 * n)?;
        let vac = zeros("vacuum jets", 25)?;
        let part_k = zeros("momentum partial sums", MODE_SUMS * groups)?;
        let part_x = zeros("site partial sums", SITE_SUMS * groups)?;
        let msum = zeros("momentum sums", MODE_SUMS)?;
        let ssum = zeros("site sums", SITE_SUMS)?;
        let boxes = [zeros("box block (stage 0)", BOX)?, zeros("box block", BOX)?];
        let cplx = |label: &str| zeros(label, if conditioned { 2 * n } else { 1 });
        let (zhat, tmp1, tmp2, what, wx) = (cplx("x̂")?, cplx("transform pass 1")?, cplx("transform pass 2")?, cplx("ŵ")?, cplx("w")?);
        let xy = zeros("x̄ (fourier)", 2 * n)?;
        let noise = zeros("noise sum", 7)?;
        let strength = zeros("conditioning strength", 2)?;
        let dz = cplx("Δx̂")?;

        let k = |kernel: K| &kernels[kernel as usize];
        let op = |kernel: K, bufs: &[&wgpu::Buffer], threads: usize| KernelOp { kernel: kernel as usize, group: k(kernel).bind(ctx, bufs), threads: threads as u32 };
        let g = groups as u32;
        let ku_msum = ku("sum momenta", &[g, MODE_SUMS as u32, 0, 0])?;
        let ku_ssum = ku("sum sites", &[g, SITE_SUMS as u32, 0, 0])?;
        let ku_noise = ku("sum noise", &[g, 6, 0, 0])?;
        let ku_strength = ku("max strength", &[g, 2, 0, 1])?;
        let nn = n as u32;
        let (phi_off, pi_off) = (var::PHI as u32 * nn, var::PI_PHI as u32 * nn);
        let dft_ku = |axis: u32, inverse: u32, in_real: Option<(u32, u32)>, out_add: Option<(u32, u32)>| {
            let (im, i1, i2) = in_real.map_or((0, 0, 0), |(a, b)| (1, a, b));
            let (om, o1, o2) = out_add.map_or((0, 0, 0), |(a, b)| (1, a, b));
            ku("dft pass", &[axis, inverse, im, i1, i2, om, o1, o2])
        };
        let fwd_u = dft_ku(0, 0, Some((phi_off, pi_off)), None)?;
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
        let mut drift_pre = Vec::new();
        let mut drift_post = Vec::new();
        for s in 0..4 {
            let u = f.inputs[s];
            let bx = &boxes[(s > 0) as usize];
            let mut pre = vec![op(K::Flux, &[&pu, &pr, u, &flux], n)];
            if q.renormalize {
                pre.push(op(K::Vacuum, &[&pu, &pr, u, &sig, &vac], 64));
            }
            pre.push(op(K::ModeSums, &[&pu, &sig, gin[s], &part_k], n));
            pre.push(op(K::SumPartials, &[&ku_msum, &part_k, &msum], 64));
            pre.push(op(K::SiteForms, &[&pu, &pr, u, &msum, &vac, &qrhs, &part_x], n));
            pre.push(op(K::SumPartials, &[&ku_ssum, &part_x, &ssum], 64));
            pre.push(op(K::Coeffs, &[&pu, &pr, &ssum, bx], 1));
            if conditioned {
                pre.extend(forward(&fwd_u, u));
            }
            pre.push(op(K::ModeDrift, &[&pu, &pr, &sig, bx, gin[s], &zhat, &dg, &what], n));
            if conditioned {
                pre.push(op(K::Dft, &[&pu, &pass[0], &tw, &what, &tmp1], n));
                pre.push(op(K::Dft, &[&pu, &pass[3], &tw, &tmp1, &tmp2], n));
                pre.push(op(K::Dft, &[&pu, &pass[4], &tw, &tmp2, &wx], n));
            }
            pre.push(op(K::MeanRhs, &[&pu, &pr, u, &flux, &wx, &qrhs], n));
            drift_pre.push(pre);
            drift_post.push(op(K::Combine, &[&comb[s], &kr[s], &dg, &gy, &gacc, gnext[s]], MODE * n));
        }
        let (mut cond_pre, mut flow) = (Vec::new(), Vec::new());
        if let (Some(dw), true) = (f.dw, conditioned) {
            cond_pre.push(op(K::NoiseSums, &[&pu, dw, &part_x], n));
            cond_pre.push(op(K::SumPartials, &[&ku_noise, &part_x, &noise], 64));
            cond_pre.push(op(K::NoiseStrength, &[&pu, &pr, &sig, &boxes[0], &noise, &gy, &part_k], n));
            cond_pre.push(op(K::SumPartials, &[&ku_strength, &part_k, &strength], 64));
            cond_pre.extend(forward(&fwd_x, &xy));
            flow.push(op(K::NoiseFlow, &[&pu, &pr, &sig, &boxes[0], &noise, &zhat, &gy, &dz], n));
            flow.push(op(K::Dft, &[&pu, &pass[0], &tw, &dz, &tmp1], n));
            flow.push(op(K::Dft, &[&pu, &pass[3], &tw, &tmp1, &tmp2], n));
            flow.push(op(K::Dft, &[&pu, &inv_add, &tw, &tmp2, &xy], n));
        }
        Ok(Box::new(Self { n, shape: lat.shape, precision: p, kernels, gy, qrhs, xy, noise, strength, drift_pre, drift_post, cond_pre, flow, report: Default::default() }))
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder, ops: &[KernelOp]) {
        record_ops(&self.kernels, encoder, ops);
    }
}

impl GpuQuantumField for GpuFourierField {
    fn qrhs(&self) -> Option<&wgpu::Buffer> {
        Some(&self.qrhs)
    }

    fn record_stage_pre(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, &self.drift_pre[s]);
    }

    fn record_stage_post(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, std::slice::from_ref(&self.drift_post[s]));
    }

    fn conditions(&self) -> bool {
        !self.cond_pre.is_empty()
    }

    /// After the noise is added: x̄ out of the state, Σ_x dW, the conditioning strengths and x̂.
    fn record_conditioning_prep(&self, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer) {
        let (off, len) = xbar_bytes(self.n, self.precision);
        encoder.copy_buffer_to_buffer(y, off, &self.xy, 0, len);
        self.record(encoder, &self.cond_pre);
    }

    /// The noise flow of the step (after [`Self::record_conditioning_prep`] has run): checks the strength as the CPU
    /// does, then records and submits the flow per momentum, the change of x̄ and its copy back into the state.
    fn condition(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, _step: u64) -> anyhow::Result<()> {
        let s = ctx.read_reals(&self.strength, 2, self.precision)?;
        check_conditioning(s[1])?;
        let m = noise_substeps(s[0]);
        self.report.substeps = m as u32;
        ctx.write_buffer::<u8>(&self.noise, 6 * if self.precision == Precision::F64 { 8 } else { 4 }, &to_device(&[m as f64], self.precision))?;
        let mut encoder = ctx.encoder("fourier noise flow");
        self.record(&mut encoder, &self.flow);
        let (off, len) = xbar_bytes(self.n, self.precision);
        encoder.copy_buffer_to_buffer(&self.xy, 0, y, off, len);
        ctx.submit(encoder);
        Ok(())
    }

    fn report(&self) -> crate::backend::quantum::QuantumStepReport {
        self.report
    }

    /// Γ_k in f64.
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
