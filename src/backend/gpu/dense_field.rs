//! The `dense` quantum scalar field on the GPU (f32 or f64; SPEC §4.2, issue 5): the twin of
//! backend/cpu/dense_field.rs and physics/gaussian_dynamics.rs, as recorded kernel dispatches. Γ is a row-major
//! 2n × 2n buffer; x̄ = (φ̄, π̄_φ) lives in the state buffer's φ, π_φ slots as for the classical field.
//!
//! Per RK4 stage s (stage input u_s, Γ_s ∈ {Γ, Γ₁, Γ₂, Γ₁} as the fields' u_s):
//!   before the field kernels — gaussian_coeffs (ã_I, 𝒟⁻¹, k at the metric of u_s), vacuum_jets (Γvac of the
//!   box-mean metric, `vacuum` scheme), jet_covariance (Γ_loc), gaussian_site_forms (back-reaction into qrhs, forms
//!   k, p, σ), Rᵀk R x̄ and Rᵀp R x̄ (jet_forms_apply + jet_transpose), dense_mean_rhs (∂t x̄ into qrhs);
//!   evolve_stage.wgsl then uses qrhs (pu[7] = 1, or 2 in a frozen metric);
//!   after them — ΓRᵀkR and ΓRᵀσR (jet_forms_apply + jet_transpose), T = (ΓRᵀσR)Γ (matmul), dense_riccati_rhs
//!   (∂t Γ), rk4_combine of Γ.
//! After the step's noise is added to π^ab: x̄ is copied out of the state, noise_forms (b_x from the same dW and
//! the stage-0 coefficients), jet_covariance of Γ and conditioning_strength per site; the host reads the strengths
//! back (the one read-back of a noisy step) with the drift stiffness of stage 0 (conditioning_strength on σ),
//! tests them with the sub-stepping controller as the CPU does (numerics/substep.rs), and records
//! `noise_substeps(size)` RK4 sub-steps of the noise field (jet_forms_apply, jet_transpose, dense_mean_rhs, matmul,
//! dense_riccati_rhs, rk4_combine), then copies x̄ back. A step the controller refines goes back to its start
//! (Γ and x̄ copied at stage 0) and is taken in pieces: each piece's drift with the stage-0 coefficients (the same
//! kernels on a scratch state holding x̄), its stiffness and conditioning strength read back, and its noise flow
//! with its Brownian-bridge share of dW, which the host computes from the step-start metric (read back) and
//! uploads — the same numbers and decisions as the CPU twin.
use crate::backend::StepperSetup;
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};
use crate::backend::quantum::QuantumStepReport;
use crate::numerics::rk4::STAGES;
use crate::numerics::substep::{SubstepController, SubstepTarget};
use crate::physics::cq_noise::NoiseParams;
use crate::physics::gaussian_dynamics::noise_substeps;
use crate::physics::gaussian_forms::QuantumParams;
use crate::state::{var, State, NVARS};

use super::params::{params_r, params_u};
use super::quantum::{record_ops, xbar_bytes, FieldBuffers, GpuQuantumField, KernelOp};
use super::to_device;
use crate::state::QuantumData;

/// Reals per site of the coefficient block (shaders/gaussian_coeffs.wgsl: ã 6×25 | 𝒟⁻¹ 36 | k 25).
const SC: usize = 211;
/// Reals per site of the drift forms (k | p | σ).
const FORMS: usize = 75;
/// Index into the dense real parameters of the scales of Ω(Σ R_xᵀz_xR_x)Ωᵀ (shaders/jets.wgsl).
const P_DRIFT_SCALE: u32 = 39;
const P_NOISE_SCALE: u32 = 40;

/// The real parameter block of the dense kernels (shaders/jets.wgsl): the lattice block, then ΔV, m, D2, β, ε,
/// renormalise, coupled, (1+ε)/4 (0 without coupling), ¼.
pub fn dense_params_r(setup: &StepperSetup, q: &QuantumParams) -> Vec<f64> {
    let mut p = params_r(setup, &STAGES[0])[..super::params::LATTICE_BLOCK].to_vec();
    let coupled = q.diffusion != 0.0;
    p.extend_from_slice(&[
        setup.lattice.cell_volume(),
        q.mass,
        q.diffusion,
        q.beta,
        q.decoherence_excess,
        if q.renormalize { 1.0 } else { 0.0 },
        if coupled { 1.0 } else { 0.0 },
        if coupled { 0.25 * (1.0 + q.decoherence_excess) } else { 0.0 },
        0.25,
    ]);
    p
}

/// Device bytes of the dense field for n sites in `precision` (Γ and its RK4 copies, the work matrices, the
/// jet-form intermediate of 2.5 Γ, per-site blocks).
pub fn device_bytes(n: usize, precision: Precision) -> u64 {
    let real = if precision == Precision::F64 { 8 } else { 4 };
    let d = 2 * n as u64;
    // gy, gacc, gu1, gu2, dg, zk, zs, t3 and the step and piece starts of the sub-steps (10 d²) + the jet
    // intermediate (rows·n·5 = 2.5 d²) + per-site data
    (10 * d * d + 5 * d * n as u64 + (2 * SC + 25 + FORMS + 25 + 8 + 4 + 7 + 6 + NVARS) as u64 * n as u64 + 12 * d) * real
}

#[derive(Clone, Copy)]
enum K {
    Coeffs,
    Vacuum,
    Cov,
    SiteForms,
    Apply,
    Transpose,
    Mean,
    Riccati,
    Matmul,
    Combine,
    NoiseForms,
    Strength,
}


pub struct GpuDenseField {
    n: usize,
    precision: Precision,
    kernels: Vec<Kernel>,
    /// Γ at the start of the step
    gy: wgpu::Buffer,
    /// the quantum right-hand side read by evolve_stage.wgsl (binding 7)
    qrhs: wgpu::Buffer,
    /// x̄ during the noise flow
    xy: wgpu::Buffer,
    strength: wgpu::Buffer,
    /// w·h, c·h of the noise flow's sub-stages (rewritten each step)
    substep_kr: Vec<wgpu::Buffer>,
    drift_pre: Vec<Vec<KernelOp>>,
    drift_post: Vec<Vec<KernelOp>>,
    cond_pre: Vec<KernelOp>,
    substep: Vec<KernelOp>,
    /// the sub-stepping controller's part (None without noise)
    refine: Option<Refinement>,
    controller: SubstepController,
    noise: NoiseParams,
    lattice: crate::numerics::lattice::Lattice,
    dt: f64,
    background: [f64; 6],
    report: QuantumStepReport,
}

/// The buffers and recorded operations of the sub-stepping controller's refined steps.
struct Refinement {
    /// the stage-0 input u_0 (a copy of the state at the step's start)
    u0: wgpu::Buffer,
    /// the step's noise increments
    dw: wgpu::Buffer,
    /// per site (drift stiffness, −) of the stage-0 or piece forms σ
    stiffness: wgpu::Buffer,
    /// (x̄, Γ) at the start of the step and of the current piece; g_ab and N at the start of the step
    x_step: wgpu::Buffer,
    g_step: wgpu::Buffer,
    x_piece: wgpu::Buffer,
    g_piece: wgpu::Buffer,
    metric_step: wgpu::Buffer,
    /// a piece's increments (uploaded)
    dw_piece: wgpu::Buffer,
    /// a state-layout scratch whose φ, π_φ slots hold a piece's x̄ stage input (for the drift kernels)
    qs: wgpu::Buffer,
    /// x̄ stage inputs of the sub-stages (xy, xu1, xu2, xu1)
    xin: [wgpu::Buffer; 4],
    /// w·h, c·h of a piece's drift stages
    drift_kr: Vec<wgpu::Buffer>,
    /// stage 0's stiffness (recorded in the step's stage 0)
    stage0_stiffness: Vec<KernelOp>,
    /// a piece's stiffness: jet_covariance of Γ, site forms with the stage-0 coefficients, conditioning_strength on σ
    piece_stiffness: Vec<KernelOp>,
    /// a piece's drift stages (before the copy of x̄ into qs: none; pre and post as the step's, stage-0 coefficients)
    piece_drift: Vec<Vec<KernelOp>>,
    /// a piece's conditioning preparation: noise_forms of dw_piece, jet_covariance, conditioning_strength
    piece_cond: Vec<KernelOp>,
}

impl GpuDenseField {
    pub fn new(ctx: &GpuContext, setup: &StepperSetup, q: QuantumParams, state: &State, f: FieldBuffers<'_>) -> anyhow::Result<Self> {
        let p = setup.precision;
        let lat = setup.lattice;
        let n = lat.sites();
        let d = 2 * n;
        let rb = if p == Precision::F64 { 8u64 } else { 4 };
        let need = device_bytes(n, p);
        let explain = |e: GpuError| {
            anyhow::anyhow!(
                "{e}: the dense quantum state of {n} sites (Γ is {d} × {d}) needs about {:.2} GiB on the device in {p:?}; \
                 use a smaller lattice or run.backend = \"cpu\"",
                need as f64 / (1u64 << 30) as f64
            )
        };
        let alloc = |r: Result<wgpu::Buffer, GpuError>| -> anyhow::Result<wgpu::Buffer> { r.map_err(explain) };
        // the largest buffers first, before any work on the host
        for (label, reals) in [("Γ", d * d), ("jet intermediate", d * n * 5)] {
            ctx.check_storage_size(label, reals as u64 * rb).map_err(explain)?;
        }
        let zeros = |label: &str, reals: usize| alloc(ctx.storage_buffer_zeroed(label, reals as u64 * rb));
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let kern = |shader: &str, b: &[Binding]| Kernel::new(ctx, shader, p, "main", b);
        let kernels = vec![
            kern("gaussian_coeffs", &[R, R, R, W])?,
            kern("vacuum_jets", &[R, R, R, R, W])?,
            kern("jet_covariance", &[R, R, R, W])?,
            kern("gaussian_site_forms", &[R, R, R, R, R, W, W, R])?,
            kern("jet_forms_apply", &[R, R, R, R, R, W])?,
            kern("jet_transpose", &[R, R, R, R, W])?,
            kern("dense_mean_rhs", &[R, R, R, R, R, R, W])?,
            kern("dense_riccati_rhs", &[R, R, R, R, R, R, W])?,
            kern("matmul", &[R, R, R, W])?,
            kern("rk4_combine", &[R, R, R, W, W, W])?,
            kern("noise_forms", &[R, R, R, W])?,
            kern("conditioning_strength", &[R, R, R, W])?,
        ];
        // parameters
        let mut pu = params_u(setup, &STAGES[0]).to_vec();
        // pu[8]: the vacuum block of loc; pu[9], pu[10]: stride and offset of the forms conditioning_strength reads
        pu.extend_from_slice(&[(25 * n) as u32, 25, 0]);
        let pu_sigma = ctx.storage_buffer("dense pu (σ forms)", &[&pu[..9], &[FORMS as u32, 50]].concat())?;
        let pu = ctx.storage_buffer("dense pu", &pu)?;
        let pr = ctx.storage_buffer::<u8>("dense pr", &to_device(&dense_params_r(setup, &q), p))?;
        let sig: Vec<f64> = crate::physics::lattice_vacuum::symbols(&lat, &setup.stencil).concat();
        let sig = ctx.storage_buffer::<u8>("stencil symbols", &to_device(&sig, p))?;
        let ku = |label: &str, v: &[u32]| ctx.storage_buffer(label, v);
        // Γ: the initial lattice vacuum (coherent state), or the state's
        let g0 = crate::backend::cpu::dense_field::initial_gamma(setup, q.mass, state)?;
        let gy = alloc(ctx.storage_buffer::<u8>("Γ", &to_device(&g0, p)))?;
        let gacc = zeros("Γ rk4 accumulator", d * d)?;
        let gu1 = zeros("Γ stage input 1", d * d)?;
        let gu2 = zeros("Γ stage input 2", d * d)?;
        let dg = zeros("dΓ", d * d)?;
        let zk = zeros("Γ·RᵀkR", d * d)?;
        let zs = zeros("Γ·RᵀσR", d * d)?;
        let t3 = zeros("T", d * d)?;
        let tbuf = zeros("jet intermediate", d * n * 5)?;
        let sc = [zeros("coefficients (stage 0)", n * SC)?, zeros("coefficients", n * SC)?];
        let loc = zeros("local covariance", n * 25 + 25)?;
        let forms = zeros("drift forms", n * FORMS)?;
        let qrhs = zeros("quantum rhs", 8 * n)?;
        let v1 = zeros("R^T k R x", d)?;
        let v2 = zeros("R^T p R x", d)?;
        let xy = zeros("x̄", d)?;
        let xacc = zeros("x̄ rk4 accumulator", d)?;
        let xu1 = zeros("x̄ stage input 1", d)?;
        let xu2 = zeros("x̄ stage input 2", d)?;
        let kx = zeros("dx̄", d)?;
        let fb = zeros("noise forms", n * 25)?;
        let strength = zeros("conditioning strength", 2 * n)?;

        let coupled = q.diffusion != 0.0;
        let k = |kernel: K| &kernels[kernel as usize];
        let op = |kernel: K, bufs: &[&wgpu::Buffer], threads: usize| KernelOp { kernel: kernel as usize, group: k(kernel).bind(ctx, bufs), threads: threads as u32 };
        let (nn, dd) = (n as u32, d as u32);
        // ku blocks
        let apply_x_k = ku("apply k x", &[1, var::PHI as u32 * nn, FORMS as u32, 0])?;
        let apply_x_p = ku("apply p x", &[1, var::PHI as u32 * nn, FORMS as u32, 25])?;
        let apply_g_k = ku("apply k Γ", &[dd, 0, FORMS as u32, 0])?;
        let apply_g_s = ku("apply σ Γ", &[dd, 0, FORMS as u32, 50])?;
        let apply_x_b = ku("apply b x", &[1, 0, 25, 0])?;
        let apply_g_b = ku("apply b Γ", &[dd, 0, 25, 0])?;
        let transpose_1 = ku("transpose 1", &[1, 0])?;
        let transpose_d = ku("transpose d", &[dd, 0])?;
        let mean_drift = ku("mean drift", &[1, coupled as u32, 6 * nn])?;
        let mean_noise = ku("mean noise", &[0, 1, 0])?;
        let ric_drift = ku("riccati drift", &[1, coupled as u32, FORMS as u32, 50, P_DRIFT_SCALE])?;
        let ric_noise = ku("riccati noise", &[0, 1, 25, 0, P_NOISE_SCALE])?;
        let mm = ku("matmul", &[dd])?;
        let tiles = d.div_ceil(16);
        let comb_g: Vec<wgpu::Buffer> = (0..4).map(|s| ku("combine Γ", &[(d * d) as u32, s])).collect::<Result<_, _>>()?;
        let comb_x: Vec<wgpu::Buffer> = (0..4).map(|s| ku("combine x̄", &[dd, s])).collect::<Result<_, _>>()?;
        let drift_kr: Vec<wgpu::Buffer> = STAGES
            .iter()
            .map(|st| ctx.storage_buffer::<u8>("combine w c", &to_device(&[st.w * setup.dt, st.c * setup.dt], p)))
            .collect::<Result<_, _>>()?;
        let substep_kr: Vec<wgpu::Buffer> = (0..4).map(|_| zeros("noise sub-step w c", 2)).collect::<Result<_, _>>()?;

        let gin = [&gy, &gu1, &gu2, &gu1];
        let gnext = [&gu1, &gu2, &gu1, &gu2];
        let xin = [&xy, &xu1, &xu2, &xu1];
        let xnext = [&xu1, &xu2, &xu1, &xu2];
        // after the field kernels of stage s: ∂t Γ at Γ_s and its RK4 combination with the weights `kr`
        let drift_post_ops = |s: usize, kr: &wgpu::Buffer| -> Vec<KernelOp> {
            let g = gin[s];
            let mut post = vec![
                op(K::Apply, &[&pu, &pr, &apply_g_k, g, &forms, &tbuf], d * n),
                op(K::Transpose, &[&pu, &pr, &transpose_d, &tbuf, &zk], d * d),
            ];
            if coupled {
                post.push(op(K::Apply, &[&pu, &pr, &apply_g_s, g, &forms, &tbuf], d * n));
                post.push(op(K::Transpose, &[&pu, &pr, &transpose_d, &tbuf, &zs], d * d));
                post.push(op(K::Matmul, &[&mm, &zs, g, &t3], tiles * tiles * 64));
            }
            post.push(op(K::Riccati, &[&pu, &pr, &ric_drift, &zk, &forms, &t3, &dg], d * d));
            post.push(op(K::Combine, &[&comb_g[s], kr, &dg, &gy, &gacc, gnext[s]], d * d));
            post
        };
        let mut drift_pre = Vec::new();
        let mut drift_post = Vec::new();
        for s in 0..4 {
            let u = f.inputs[s];
            let scs = &sc[(s > 0) as usize];
            let g = gin[s];
            let mut pre = vec![op(K::Coeffs, &[&pu, &pr, u, scs], n)];
            if q.renormalize {
                pre.push(op(K::Vacuum, &[&pu, &pr, u, &sig, &loc], 64));
            }
            pre.push(op(K::Cov, &[&pu, &pr, g, &loc], n));
            pre.push(op(K::SiteForms, &[&pu, &pr, u, scs, &loc, &forms, &qrhs, &loc], n));
            pre.push(op(K::Apply, &[&pu, &pr, &apply_x_k, u, &forms, &tbuf], n));
            pre.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v1], d));
            if coupled {
                pre.push(op(K::Apply, &[&pu, &pr, &apply_x_p, u, &forms, &tbuf], n));
                pre.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v2], d));
            }
            pre.push(op(K::Mean, &[&pu, &pr, &mean_drift, &v1, &v2, g, &qrhs], d));
            drift_pre.push(pre);
            drift_post.push(drift_post_ops(s, &drift_kr[s]));
        }
        let (mut cond_pre, mut substep) = (Vec::new(), Vec::new());
        if let Some(dw) = f.dw {
            cond_pre.push(op(K::NoiseForms, &[&pu, &sc[0], dw, &fb], n));
            cond_pre.push(op(K::Cov, &[&pu, &pr, &gy, &loc], n));
            cond_pre.push(op(K::Strength, &[&pu, &loc, &fb, &strength], n));
            for s in 0..4 {
                let g = gin[s];
                substep.push(op(K::Apply, &[&pu, &pr, &apply_x_b, xin[s], &fb, &tbuf], n));
                substep.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v2], d));
                substep.push(op(K::Mean, &[&pu, &pr, &mean_noise, &v1, &v2, g, &kx], d));
                substep.push(op(K::Apply, &[&pu, &pr, &apply_g_b, g, &fb, &tbuf], d * n));
                substep.push(op(K::Transpose, &[&pu, &pr, &transpose_d, &tbuf, &zs], d * d));
                substep.push(op(K::Matmul, &[&mm, &zs, g, &t3], tiles * tiles * 64));
                substep.push(op(K::Riccati, &[&pu, &pr, &ric_noise, &zk, &fb, &t3, &dg], d * d));
                substep.push(op(K::Combine, &[&comb_x[s], &substep_kr[s], &kx, &xy, &xacc, xnext[s]], d));
                substep.push(op(K::Combine, &[&comb_g[s], &substep_kr[s], &dg, &gy, &gacc, gnext[s]], d * d));
            }
        }
        let refine = match f.dw {
            None => None,
            Some(dw) => {
                let stiffness = zeros("drift stiffness", 2 * n)?;
                let qs = zeros("piece state (x̄ slots)", NVARS * n)?;
                let dw_piece = zeros("piece increments", 6 * n)?;
                let piece_kr: Vec<wgpu::Buffer> = (0..4).map(|_| zeros("piece drift w c", 2)).collect::<Result<_, _>>()?;
                let mean_piece = ku("mean drift (piece)", &[1, coupled as u32, 0])?;
                let strength_sigma = |g: &wgpu::Buffer| -> Vec<KernelOp> {
                    vec![
                        op(K::Cov, &[&pu, &pr, g, &loc], n),
                        op(K::SiteForms, &[&pu, &pr, &qs, &sc[0], &loc, &forms, &qrhs, &loc], n),
                        op(K::Strength, &[&pu_sigma, &loc, &forms, &stiffness], n),
                    ]
                };
                let piece_drift: Vec<Vec<KernelOp>> = (0..4)
                    .map(|s| {
                        let g = gin[s];
                        let mut ops = vec![
                            op(K::Cov, &[&pu, &pr, g, &loc], n),
                            op(K::SiteForms, &[&pu, &pr, &qs, &sc[0], &loc, &forms, &qrhs, &loc], n),
                            op(K::Apply, &[&pu, &pr, &apply_x_k, &qs, &forms, &tbuf], n),
                            op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v1], d),
                        ];
                        if coupled {
                            ops.push(op(K::Apply, &[&pu, &pr, &apply_x_p, &qs, &forms, &tbuf], n));
                            ops.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v2], d));
                        }
                        ops.push(op(K::Mean, &[&pu, &pr, &mean_piece, &v1, &v2, g, &kx], d));
                        ops.extend(drift_post_ops(s, &piece_kr[s]));
                        ops.push(op(K::Combine, &[&comb_x[s], &piece_kr[s], &kx, &xy, &xacc, xnext[s]], d));
                        ops
                    })
                    .collect();
                Some(Refinement {
                    u0: f.inputs[0].clone(),
                    dw: dw.clone(),
                    x_step: zeros("x̄ at the step's start", d)?,
                    g_step: zeros("Γ at the step's start", d * d)?,
                    x_piece: zeros("x̄ at the piece's start", d)?,
                    g_piece: zeros("Γ at the piece's start", d * d)?,
                    metric_step: zeros("metric at the step's start", 7 * n)?,
                    xin: [xy.clone(), xu1.clone(), xu2.clone(), xu1.clone()],
                    drift_kr: piece_kr,
                    stage0_stiffness: vec![op(K::Strength, &[&pu_sigma, &loc, &forms, &stiffness], n)],
                    piece_stiffness: strength_sigma(&gy),
                    piece_drift,
                    piece_cond: vec![
                        op(K::NoiseForms, &[&pu, &sc[0], &dw_piece, &fb], n),
                        op(K::Cov, &[&pu, &pr, &gy, &loc], n),
                        op(K::Strength, &[&pu, &loc, &fb, &strength], n),
                    ],
                    stiffness,
                    dw_piece,
                    qs,
                })
            }
        };
        Ok(Self {
            n,
            precision: p,
            kernels,
            gy,
            qrhs,
            xy,
            strength,
            substep_kr,
            drift_pre,
            drift_post,
            cond_pre,
            substep,
            refine,
            controller: setup.substep_controller(),
            noise: setup.noise,
            lattice: lat,
            dt: setup.dt,
            background: setup.background,
            report: QuantumStepReport::default(),
        })
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder, ops: &[KernelOp]) {
        record_ops(&self.kernels, encoder, ops);
    }

    /// (largest |λ|, largest escape rate) over sites, read back (blocks).
    pub fn read_strength(&self, ctx: &GpuContext) -> anyhow::Result<(f64, f64)> {
        self.read_max(ctx, &self.strength)
    }

    /// The maxima over sites of the two per-site columns of a strength buffer.
    fn read_max(&self, ctx: &GpuContext, buf: &wgpu::Buffer) -> anyhow::Result<(f64, f64)> {
        let v = ctx.read_reals(buf, 2 * self.n, self.precision)?;
        Ok(v.chunks(2).fold((0.0, 0.0), |a, c| (a.0.max(c[0]), a.1.max(c[1]))))
    }

    /// The noise flow of the prepared noise forms (strength `size`): `noise_substeps(size)` RK4 sub-steps in s.
    fn flow(&self, ctx: &GpuContext, size: f64) -> anyhow::Result<()> {
        let m = noise_substeps(size);
        let h = 1.0 / m as f64;
        for (st, buf) in STAGES.iter().zip(&self.substep_kr) {
            ctx.write_buffer::<u8>(buf, 0, &to_device(&[st.w * h, st.c * h], self.precision))?;
        }
        let mut encoder = ctx.encoder("dense noise flow");
        for _ in 0..m {
            self.record(&mut encoder, &self.substep);
        }
        ctx.submit(encoder);
        Ok(())
    }

    /// Copies (whole buffers of the same size, or x̄ into the scratch state's φ, π_φ slots) submitted now.
    fn copy(&self, ctx: &GpuContext, pairs: &[(&wgpu::Buffer, &wgpu::Buffer)]) {
        let mut encoder = ctx.encoder("dense copies");
        for (src, dst) in pairs {
            encoder.copy_buffer_to_buffer(src, 0, dst, 0, src.size());
        }
        ctx.submit(encoder);
    }
}

/// The GPU dense field's quantum update as the sub-stepping controller drives it (numerics/substep.rs), twin of
/// backend/cpu/dense_field.rs `DenseSubsteps`: the same pieces with the same decisions on the read-back numbers.
struct GpuSubsteps<'a> {
    f: &'a GpuDenseField,
    r: &'a Refinement,
    ctx: &'a GpuContext,
    step: u64,
    /// the strength of the conditioning prepared last
    prepared: f64,
    /// g_ab and N at the step's start (read back when the first halves are needed)
    geometry: Option<Vec<([f64; 6], f64)>>,
}

impl GpuSubsteps<'_> {
    /// Records x̄ (the stage input `xin`) into the scratch state's φ, π_φ slots.
    fn xbar_into_qs(&self, encoder: &mut wgpu::CommandEncoder, xin: &wgpu::Buffer) {
        let (off, len) = xbar_bytes(self.f.n, self.f.precision);
        encoder.copy_buffer_to_buffer(xin, 0, &self.r.qs, off, len);
    }
}

impl SubstepTarget for GpuSubsteps<'_> {
    fn restore_step_start(&mut self) -> anyhow::Result<()> {
        self.f.copy(self.ctx, &[(&self.r.g_step, &self.f.gy), (&self.r.x_step, &self.f.xy)]);
        Ok(())
    }
    fn save_piece_start(&mut self) -> anyhow::Result<()> {
        self.f.copy(self.ctx, &[(&self.f.gy, &self.r.g_piece), (&self.f.xy, &self.r.x_piece)]);
        Ok(())
    }
    fn restore_piece_start(&mut self) -> anyhow::Result<()> {
        self.f.copy(self.ctx, &[(&self.r.g_piece, &self.f.gy), (&self.r.x_piece, &self.f.xy)]);
        Ok(())
    }
    fn drift_stiffness(&mut self) -> anyhow::Result<f64> {
        let mut encoder = self.ctx.encoder("piece stiffness");
        self.xbar_into_qs(&mut encoder, &self.f.xy);
        self.f.record(&mut encoder, &self.r.piece_stiffness);
        self.ctx.submit(encoder);
        Ok(self.f.read_max(self.ctx, &self.r.stiffness)?.0)
    }
    fn drift(&mut self, h: f64) -> anyhow::Result<()> {
        for (st, buf) in STAGES.iter().zip(&self.r.drift_kr) {
            self.ctx.write_buffer::<u8>(buf, 0, &to_device(&[st.w * h, st.c * h], self.f.precision))?;
        }
        let mut encoder = self.ctx.encoder("piece drift");
        for s in 0..4 {
            self.xbar_into_qs(&mut encoder, &self.r.xin[s]);
            self.f.record(&mut encoder, &self.r.piece_drift[s]);
        }
        self.ctx.submit(encoder);
        Ok(())
    }
    fn conditioning_strength(&mut self, dw: &[f64]) -> anyhow::Result<(f64, f64)> {
        self.ctx.write_buffer::<u8>(&self.r.dw_piece, 0, &to_device(dw, self.f.precision))?;
        let mut encoder = self.ctx.encoder("piece conditioning");
        self.f.record(&mut encoder, &self.r.piece_cond);
        self.ctx.submit(encoder);
        let s = self.f.read_strength(self.ctx)?;
        self.prepared = s.0;
        Ok(s)
    }
    fn condition(&mut self, _: &[f64]) -> anyhow::Result<()> {
        self.f.flow(self.ctx, self.prepared)
    }
    fn halves(&mut self, node: u32, dw: &[f64]) -> anyhow::Result<[Vec<f64>; 2]> {
        let n = self.f.n;
        if self.geometry.is_none() {
            let m = self.ctx.read_reals(&self.r.metric_step, 7 * n, self.f.precision)?;
            let bg = self.f.background;
            self.geometry = Some((0..n).map(|i| (std::array::from_fn(|k| bg[k] + m[k * n + i]), m[6 * n + i])).collect());
        }
        let geo = self.geometry.as_ref().expect("read above");
        let h = crate::numerics::brownian_bridge::duration(self.f.dt, node);
        let fresh = crate::backend::cpu::cq_noise::bridge_draw(&self.f.noise, &self.f.lattice, self.step, node, h, |i| geo[i]);
        Ok(crate::numerics::brownian_bridge::halves(dw, &fresh))
    }
}

impl GpuQuantumField for GpuDenseField {
    /// The quantum right-hand side buffer bound to evolve_stage.wgsl (binding 7).
    fn qrhs(&self) -> Option<&wgpu::Buffer> {
        Some(&self.qrhs)
    }

    /// Stage s before the field kernels: coefficients, back-reaction and ∂t x̄ into qrhs; in stage 0 of a noisy
    /// step also the drift stiffness and the copies of the step's start the controller may go back to.
    fn record_stage_pre(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, &self.drift_pre[s]);
        if let (0, Some(r)) = (s, &self.refine) {
            self.record(encoder, &r.stage0_stiffness);
            let rb = if self.precision == Precision::F64 { 8 } else { 4 };
            let n = self.n as u64;
            let (off, len) = xbar_bytes(self.n, self.precision);
            encoder.copy_buffer_to_buffer(&self.gy, 0, &r.g_step, 0, self.gy.size());
            encoder.copy_buffer_to_buffer(&r.u0, off, &r.x_step, 0, len);
            encoder.copy_buffer_to_buffer(&r.u0, var::G as u64 * n * rb, &r.metric_step, 0, 6 * n * rb);
            encoder.copy_buffer_to_buffer(&r.u0, var::LAPSE as u64 * n * rb, &r.metric_step, 6 * n * rb, n * rb);
        }
    }

    /// Stage s after the field kernels: ∂t Γ and its RK4 combination.
    fn record_stage_post(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, &self.drift_post[s]);
    }

    /// After the noise is added: x̄ out of the state, the noise forms and the per-site conditioning strengths.
    fn record_conditioning_prep(&self, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer) {
        let (off, len) = xbar_bytes(self.n, self.precision);
        encoder.copy_buffer_to_buffer(y, off, &self.xy, 0, len);
        self.record(encoder, &self.cond_pre);
    }

    fn conditions(&self) -> bool {
        !self.cond_pre.is_empty()
    }

    /// The conditioning of the step (after [`Self::record_conditioning_prep`] has run): the controller's test on
    /// the read-back strengths as the CPU makes it, then the noise flow — or the refined step — and the copy of x̄
    /// back into the state.
    fn condition(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, step: u64) -> anyhow::Result<()> {
        let r = self.refine.as_ref().expect("a conditioned step has noise");
        let strength = self.read_strength(ctx)?;
        let rho0 = self.read_max(ctx, &r.stiffness)?.0;
        let pieces = if self.controller.unrefined_passes(rho0, self.dt, strength) {
            self.flow(ctx, strength.0)?;
            1
        } else {
            let dw = ctx.read_reals(&r.dw, 6 * self.n, self.precision)?;
            let mut t = GpuSubsteps { f: self, r, ctx, step, prepared: 0.0, geometry: None };
            self.controller.refine(&mut t, &dw, self.dt).map_err(crate::backend::cpu::dense_field::unresolved_context)?
        };
        let mut encoder = ctx.encoder("x̄ back into the state");
        let (off, len) = xbar_bytes(self.n, self.precision);
        encoder.copy_buffer_to_buffer(&self.xy, 0, y, off, len);
        ctx.submit(encoder);
        self.report.substeps = pieces;
        Ok(())
    }

    fn report(&self) -> QuantumStepReport {
        self.report
    }

    /// Γ in f64 (row-major 2n × 2n).
    fn download(&self, ctx: &GpuContext) -> anyhow::Result<QuantumData> {
        let g = ctx.read_reals(&self.gy, 4 * self.n * self.n, self.precision)?;
        Ok(crate::backend::cpu::dense_field::gamma_data(g, self.n))
    }

    fn upload(&self, ctx: &GpuContext, q: &QuantumData) -> anyhow::Result<()> {
        let gamma = q.require("gamma", 4 * self.n * self.n)?;
        ctx.write_buffer::<u8>(&self.gy, 0, &to_device(gamma, self.precision))?;
        Ok(())
    }
}
