//! The `ensemble` quantum scalar field on the GPU (f32 or f64; SPEC §4.2, issue 11): the twin of
//! backend/cpu/ensemble_field.rs and physics/ensemble_dynamics.rs as recorded kernel dispatches. The members are
//! one buffer per RK4 copy in the member-minor layout of numerics/member_ops.rs (ensemble_layout.wgsl); x̄ lives in
//! the state buffer's φ, π_φ slots.
//!
//! Per RK4 stage s (stage inputs u_s, δ_s ∈ {δ, δ₁, δ₂, δ₁} as the fields'):
//!   before the field kernels — at stage 0 ensemble_noise_forms (the step's dW is drawn before stage 0; the
//!   step-start coefficients computed in place, site_coeffs.wgsl), vacuum_jets (`vacuum` scheme), ensemble_local_cov (Γ_loc of the
//!   members), with the control variate mode_propagator (box means), fourier_mode_sums + fourier_sum_partials (the
//!   reference's jet covariance) and ensemble_local_cov on the shadows (the estimate Γ_loc − Γ_loc^shadows + reference), ensemble_site_forms (the
//!   coefficients computed in place, as gaussian_coeffs would store them; back-reaction into qrhs; forms
//!   k, p, σ), jet_forms_apply + jet_transpose (Rᵀk R x̄, Rᵀp R x̄), ensemble_vec + ensemble_taper or, by site
//!   pairs, ensemble_pairs (Γ_ρ Rᵀp R x̄),
//!   dense_mean_rhs (∂t x̄ into qrhs);
//!   after them — ensemble_forms (ΩRᵀkR δ), with coupling the symplectic map G_σ δ (ensemble_forms,
//!   ensemble_gram, ensemble_taper, ensemble_combine; by site pairs ensemble_forms, ensemble_pairs), rk4_combine of the members; with the control variate the
//!   shadows' ΩRᵀk̄R δ^h and the reference's dΓ_k (mode_propagator) and their rk4_combine.
//! After the step's noise is added to π^ab: ensemble_local_cov, conditioning_strength; the host reads
//! the strengths back (as dense), refuses a too strong step with the CPU's check, and records the CPU's
//! `flow_substeps` × `midpoint_iterations` passes of the implicit-midpoint noise flow (axpby, the G_B map,
//! jet_forms_apply + jet_transpose + ensemble_vec for Γ_ρ B x̄).
//!
//! On a rank's z-slab (issue 18, parallel/gpu_slab_stepper.rs; `FieldBuffers::domain` a slab's; localised by site
//! pairs) every per-site kernel runs on the local lattice, whose halo S + 2r (`Ensemble::slab_halo`) covers what an
//! owned site reads; the host refills the ghost planes of the members (and the control variate's shadows) before each
//! stage, of dW before stage 0 with smoothed noise, of the members before the conditioning's covariance, of the
//! members and x̄ before every noise-flow pass ([`SlabPlanes::exchange`]), gathers the metric (and with the control
//! variate the lapse) of the whole lattice for Γvac and the box means, and takes the strengths' maximum over the owned
//! sites of every rank. The control variate's reference Γ_k is the whole lattice's on every rank's device, its
//! momentum kernels run with the whole lattice's parameter block, so every rank evolves it as one GPU does
//! (docs/mpi.md).
use super::dense_field::dense_params_r;
use super::params::params_u;
use super::quantum::{flush, gather_regions, FieldBuffers, GpuQuantumField};
use super::to_device;
use crate::backend::cpu::ensemble_field::{ensemble_data, initial_control_variate, initial_members};
use crate::backend::StepperSetup;
use crate::config::Precision;
use crate::gpu::{Binding, GpuContext, GpuError, Kernel};
use crate::numerics::lattice::Lattice;
use crate::numerics::localization::Blocks;
use crate::numerics::site_domain::{SiteDomain, WholeLattice};
use crate::numerics::rk4::STAGES;
use crate::physics::ensemble_dynamics::{flow_substeps, midpoint_iterations};
use crate::physics::gaussian_dynamics::check_conditioning;
use crate::state::{var, QuantumData, State};
use std::ops::Range;

/// Reals per site of the drift forms (k | p | σ).
const FORMS: usize = 75;

/// Device bytes of the ensemble for n sites and M members in `precision`: the members, their RK4 accumulator,
/// stage input and right-hand side and two work arrays (6 × 2nM; the noise flow reuses the accumulator and the
/// stage input; with the control variate the shadows with their accumulator, stage input and right-hand side, 4
/// more), the Gram matrices of `gram_blocks` localisation blocks (4·nb·M² and 2·nb·M; 0 blocks when the products
/// go by site pairs, ensemble_pairs.wgsl) and the per-site blocks (the coefficients are computed where they are
/// used, not stored: ensemble_site_forms.wgsl, ensemble_noise_forms.wgsl): the jet covariance (25),
/// the drift forms (FORMS), the quantum right-hand side (8), the noise forms (25), six 2n vectors and the jet
/// intermediate (5) and strengths (2); with the control variate its covariance (25) and the reference Γ_k with its
/// RK4 copies (5 × 3).
pub fn device_bytes(n: usize, m: usize, gram_blocks: usize, control_variate: bool, precision: Precision) -> u64 {
    let real = if precision == Precision::F64 { 8 } else { 4 };
    let member = (2 * n * m) as u64;
    let copies = 6 + if control_variate { 4 } else { 0 };
    let grams = (gram_blocks * (4 * m * m + 2 * m)) as u64;
    let per_site = 25 + FORMS + 8 + 25 + 6 * 2 + 5 + 2 + if control_variate { 25 + 5 * 3 } else { 0 };
    (copies * member + grams + (per_site * n + n.div_ceil(64) * 9 + 100) as u64) * real
}

#[derive(Clone, Copy)]
enum K {
    Vacuum,
    SiteForms,
    Apply,
    Transpose,
    Mean,
    Combine,
    NoiseForms,
    Strength,
    LocalCov,
    Forms,
    Gram,
    Taper,
    Mix,
    Vec,
    Pairs,
    Axpby,
    Modes,
    ModeSums,
    SumPartials,
}

/// What the field records: a kernel dispatch, or on a rank's z-slab (issue 18) a host round-trip between two of
/// them — the halo exchange of an array of `fields` fields of `width` values per site (the member layout: 2 fields
/// of M; the noise increments: 6 of 1), or the gather of the stage input's metric (and lapse) for Γvac and the
/// control variate's box means.
enum Op {
    Kernel { kernel: K, group: wgpu::BindGroup, threads: u32 },
    Halo { buf: wgpu::Buffer, fields: usize, width: usize },
    GatherMetric(wgpu::Buffer),
}

/// A rank's z-slab of the run's lattice (issue 18): where the local lattice's owned and ghost planes lie, for the
/// host halo exchanges of the member arrays, and the whole lattice's metric gathered for Γvac and the box means.
struct SlabPlanes {
    /// the owned local sites, and the sites of one plane, of the local lattice and of its ghost planes per side
    owned: Range<usize>,
    plane: usize,
    sites: usize,
    ghost: usize,
    real_bytes: u64,
    /// the state fields gathered whole (g_ab for Γvac, `vacuum` scheme; g_ab and N for the control variate's box
    /// means) and their whole lattice's values, field after field
    gathered: Vec<usize>,
    metric: wgpu::Buffer,
}

impl SlabPlanes {
    /// Fills the ghost planes of the `fields` fields of `width` values per site in `buf` from the neighbours' owned
    /// planes (as the CPU's `SiteDomain::exchange`): `encoder` submitted, the sent planes read back, swapped over the
    /// ring, written back.
    fn exchange(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, buf: &wgpu::Buffer, fields: usize, width: usize, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        flush(ctx, encoder);
        let (n, g, p) = (self.sites * width, self.ghost * self.plane * width, self.plane * width);
        let nz = self.owned.len() / self.plane;
        let w = (self.real_bytes / 4) as usize;
        // to rank + 1 the last `ghost` owned planes, to rank − 1 the first, field after field
        let sent = |start: usize| (0..fields).map(move |v| (v * n + start) * w..(v * n + start + g) * w);
        let words: Vec<Range<usize>> = sent(nz * p).chain(sent(g)).collect();
        let packed: Vec<u32> = ctx.read_regions(buf, &words)?;
        let bytes: &[u8] = bytemuck::cast_slice(&packed);
        let (to_next, to_prev) = bytes.split_at(bytes.len() / 2);
        let (from_prev, from_next) = domain.swap_halo_bytes(to_next, to_prev);
        let (gb, rb) = (g * self.real_bytes as usize, self.real_bytes);
        for v in 0..fields {
            ctx.write_buffer::<u8>(buf, (v * n) as u64 * rb, &from_prev[v * gb..(v + 1) * gb])?;
            ctx.write_buffer::<u8>(buf, (v * n + (self.ghost + nz) * p) as u64 * rb, &from_next[v * gb..(v + 1) * gb])?;
        }
        Ok(())
    }
}

pub struct GpuEnsembleField {
    n: usize,
    m: usize,
    lattice: Lattice,
    /// the run's lattice (the control variate's reference Γ_k is its, whole on every rank's device)
    global: Lattice,
    /// a rank's z-slab (issue 18; None: the whole lattice)
    slab: Option<SlabPlanes>,
    precision: Precision,
    control_variate: bool,
    kernels: Vec<Kernel>,
    /// members at the start of the step, their stage input copies (reused as d₀ and the midpoint by the noise flow)
    dy: wgpu::Buffer,
    du1: wgpu::Buffer,
    /// shadows and the reference Γ_k (control variate)
    hy: Option<wgpu::Buffer>,
    gy: Option<wgpu::Buffer>,
    qrhs: wgpu::Buffer,
    xy: wgpu::Buffer,
    x0: wgpu::Buffer,
    strength: wgpu::Buffer,
    /// (1, h) and (1, −h) of the noise flow's updates (rewritten each step)
    flow_h: [wgpu::Buffer; 2],
    drift_pre: Vec<Vec<Op>>,
    drift_post: Vec<Vec<Op>>,
    cond_pre: Vec<Op>,
    /// one fixed-point pass of the implicit midpoint (the host repeats it), and its sub-step start/end copies
    pass: Vec<Op>,
    /// the last step's report (the noise flow's sub-steps, as the CPU's `noise_flow` returns)
    report: crate::backend::quantum::QuantumStepReport,
}

impl GpuEnsembleField {
    pub fn new(ctx: &GpuContext, setup: &StepperSetup, state: &State, f: FieldBuffers<'_>) -> anyhow::Result<Self> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the ensemble representation needs the quantum field's parameters"))?;
        let p = setup.precision;
        let lat = setup.lattice;
        let n = lat.sites();
        let m = setup.ensemble.members;
        anyhow::ensure!(m >= 4 && m % 2 == 0, "matter.members = {m}: the ensemble needs an even number of at least 4 members");
        anyhow::ensure!(
            !setup.cpu_only(),
            "the ensemble with a non-quadratic potential (matter.quartic_coupling, matter.potential) runs on the CPU only \
             in this version (its members evolve non-linearly, docs/cosmology.md §1); use run.backend = \"cpu\""
        );
        let cv = setup.ensemble.control_variate;
        let blocks = Blocks::new(&lat, setup.ensemble.localization);
        let nb = blocks.len();
        // the localised products by site pairs (no Gram matrices) or by block Gram matrices (numerics/localization.rs)
        let pairs = blocks.site_pairs(m);
        let gram_blocks = if pairs.is_some() { 0 } else { nb };
        let rb = if p == Precision::F64 { 8u64 } else { 4 };
        // issue 18: on a rank's z-slab (Representation::slab_halo: localised on single sites, a halo of S + 2r)
        let global = f.domain.global();
        let global_setup = StepperSetup { lattice: global, ..*setup };
        let ng = global.sites();
        let split = f.domain.owned() != (0..n);
        if split {
            anyhow::ensure!(pairs.is_some(), "the GPU slabs take the ensemble localised by site pairs only (matter.localization below 8 spacings)");
        }
        let member = 2 * n * m;
        // on a slab also what it holds of the whole lattice: the reference Γ_k with its RK4 copies (15 per site of the
        // whole lattice instead of the local one) and the gathered metric (6, `vacuum` or the control variate) and lapse
        // (1, the control variate)
        let metric_fields = if q.renormalize || cv { 6 } else { 0 };
        let gathered: Vec<usize> = (var::G..var::G + metric_fields).chain(cv.then_some(var::LAPSE)).collect();
        // (a slab's local lattice, with its ghost planes, may hold more sites than the whole lattice)
        let reference = |sites: usize| if cv { (15 * sites) as u64 * rb } else { 0 };
        let need = match split {
            true => device_bytes(n, m, gram_blocks, cv, p) - reference(n) + reference(ng) + (gathered.len() * ng) as u64 * rb,
            false => device_bytes(n, m, gram_blocks, cv, p),
        };
        let explain = |e: GpuError| {
            anyhow::anyhow!(
                "{e}: the ensemble of {m} members on {n} sites needs about {:.2} GiB on the device in {p:?}; use fewer \
                 members (matter.members), matter.control_variate = false, or a smaller lattice",
                need as f64 / (1u64 << 30) as f64
            )
        };
        for (label, reals) in [("ensemble members", member), ("ensemble Gram matrices", gram_blocks * m * m)].into_iter().filter(|x| x.1 > 0) {
            ctx.check_storage_size(label, reals as u64 * rb).map_err(explain)?;
        }
        let alloc = |r: Result<wgpu::Buffer, GpuError>| -> anyhow::Result<wgpu::Buffer> { r.map_err(explain) };
        let zeros = |label: &str, reals: usize| alloc(ctx.storage_buffer_zeroed(label, reals.max(1) as u64 * rb));
        let reals = |label: &str, v: &[f64]| alloc(ctx.storage_buffer::<u8>(label, &to_device(v, p)));
        let ku = |label: &str, v: &[u32]| ctx.storage_buffer(label, v);
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let kern = |shader: &str, b: &[Binding]| Kernel::new(ctx, shader, p, "main", b);
        let kernels = vec![
            kern("vacuum_jets", &[R, R, R, R, W])?,
            kern("ensemble_site_forms", &[R, R, R, R, W, W, R])?,
            kern("jet_forms_apply", &[R, R, R, R, R, W])?,
            kern("jet_transpose", &[R, R, R, R, W])?,
            kern("dense_mean_rhs", &[R, R, R, R, R, R, W])?,
            kern("rk4_combine", &[R, R, R, W, W, W])?,
            kern("ensemble_noise_forms", &[R, R, R, R, W])?,
            kern("conditioning_strength", &[R, R, R, W])?,
            kern("ensemble_local_cov", &[R, R, R, R, R, R, R, R, W])?,
            kern("ensemble_forms", &[R, R, R, R, R, R, R, W])?,
            kern("ensemble_gram", &[R, R, R, R, R, R, R, R, W])?,
            kern("ensemble_taper", &[R, R, R, R, R, W])?,
            kern("ensemble_combine", &[R, R, R, R, R, R, R, W])?,
            kern("ensemble_vec", &[R, R, R, R, R, R, R, R, R, W, W])?,
            kern("ensemble_pairs", &[R, R, R, R, R, R, R, R, R, W, W])?,
            kern("axpby", &[R, R, R, R, W])?,
            kern("mode_propagator", &[R, R, R, R, R, R, W, W])?,
            kern("fourier_mode_sums", &[R, R, R, W])?,
            kern("fourier_sum_partials", &[R, R, W])?,
        ];
        // parameters
        let mut pu = params_u(setup, &STAGES[0]).to_vec();
        pu.push((25 * n) as u32);
        // conditioning_strength reads the forms at fb[x·pu[9] + pu[10] ..] (stride 25, offset 0 for the noise forms);
        // pu[9], pu[10] of the shared block belong to the fourier kernels, so it gets its own block
        let pu_strength = ctx.storage_buffer("ensemble pu (noise forms)", &[&pu[..], &[25, 0]].concat())?;
        let pu = ctx.storage_buffer("ensemble pu", &pu)?;
        // Γvac and the control variate's modes over the whole lattice: on a slab their own lattice block (the whole
        // lattice's, Γvac writing at 25·n of loc)
        let pu_vac = match split {
            true => ctx.storage_buffer("ensemble pu (Γvac)", &[&params_u(&global_setup, &STAGES[0])[..], &[(25 * n) as u32]].concat())?,
            false => pu.clone(),
        };
        let slab = split.then(|| -> anyhow::Result<SlabPlanes> {
            let plane = lat.shape[0] * lat.shape[1];
            let owned = f.domain.owned();
            let metric = zeros("whole lattice's metric (ensemble slab)", gathered.len() * ng)?;
            Ok(SlabPlanes { ghost: owned.start / plane, owned, plane, sites: n, real_bytes: rb, gathered, metric })
        });
        let slab = slab.transpose()?;
        let pr = reals("ensemble pr", &dense_params_r(setup, &q))?;
        let eu = ku("ensemble eu", &[m as u32, nb as u32, blocks.counts[0] as u32, blocks.counts[1] as u32, blocks.counts[2] as u32])?;
        // the stencil's symbols of the whole lattice's momenta (Γvac; the control variate's modes)
        let sig: Vec<f64> = crate::physics::lattice_vacuum::symbols(&global, &setup.stencil).concat();
        let sig = reals("stencil symbols", &sig)?;
        let start = ku("block starts", &blocks.start.iter().map(|&v| v as u32).collect::<Vec<_>>())?;
        let sites = ku("block sites", &blocks.sites)?;
        let block_of = ku("block of site", &blocks.block_of)?;
        let (mut band_u, mut band_r, mut axes) = (Vec::new(), Vec::new(), Vec::new());
        for (a, band) in blocks.band.iter().enumerate() {
            if band.len() == 1 && band[0] == (0, 1.0) {
                continue;
            }
            axes.push((a as u32, band_u.len() as u32, band.len() as u32));
            for &(o, w) in band {
                band_u.push(o as i32 as u32);
                band_r.push(w);
            }
        }
        let band = ku("taper band", &if band_u.is_empty() { vec![0] } else { band_u })?;
        let bandr = reals("taper weights", &if band_r.is_empty() { vec![0.0] } else { band_r })?;
        // ensemble_pairs.wgsl's band: per axis (start, count), then the offsets; the weights alongside
        let (mut pband, mut pbandr) = (vec![0u32; 6], Vec::new());
        for (a, band) in blocks.band.iter().enumerate() {
            pband[2 * a] = pbandr.len() as u32;
            pband[2 * a + 1] = band.len() as u32;
            for &(o, w) in band {
                pband.push(o as i32 as u32);
                pbandr.push(w);
            }
        }
        let pband = ku("pair band", &pband)?;
        let pbandr = reals("pair weights", &pbandr)?;
        let pair_threads = n * m.div_ceil(64) * 64;
        let norm = 1.0 / (m as f64 - 2.0);
        let half_norm = 1.0 / (m as f64 / 2.0 - 1.0);

        // state
        let d0 = initial_members(setup, state)?;
        let dy = reals("members", &d0)?;
        let dacc = zeros("members rk4 accumulator", member)?;
        let du1 = zeros("members stage input", member)?;
        let dd = zeros("members rhs", member)?;
        let uscr = zeros("members X δ", member)?;
        let wscr = zeros("members Γ Ω⁻¹ δ", member)?;
        let (mut hy, mut hbufs, mut gy, mut gbufs) = (None, None, None, None);
        if cv {
            // on a slab the state's shadows are the local lattice's, its reference Γ_k the whole lattice's (as the CPU's)
            let (h0, reference) = initial_control_variate(&global_setup, state, &d0)?;
            hy = Some(reals("shadows", &h0)?);
            hbufs = Some([zeros("shadows acc", member)?, zeros("shadows stage input", member)?, zeros("shadows rhs", member)?]);
            gy = Some(reals("reference Γ_k", reference.modes())?);
            gbufs = Some([zeros("Γ_k acc", 3 * ng)?, zeros("Γ_k u1", 3 * ng)?, zeros("Γ_k u2", 3 * ng)?, zeros("dΓ_k", 3 * ng)?]);
        }
        let loc = zeros("local covariance", n * 25 + 25)?;
        let brloc = zeros("control-variate covariance", if cv { n * 25 } else { 0 })?;
        let forms = zeros("drift forms", n * FORMS)?;
        let qrhs = zeros("quantum rhs", 8 * n)?;
        let tbuf = zeros("jet intermediate", 5 * n)?;
        let (v1, v2, gv) = (zeros("R^T k R x", 2 * n)?, zeros("R^T p R x", 2 * n)?, zeros("Γ v", 2 * n)?);
        let (xy, x0, xm) = (zeros("x̄", 2 * n)?, zeros("x̄ sub-step start", 2 * n)?, zeros("x̄ midpoint", 2 * n)?);
        let fb = zeros("noise forms", n * 25)?;
        let strength = zeros("conditioning strength", 2 * n)?;
        let (gx, go) = (zeros("Gram X", gram_blocks * m * m)?, zeros("Gram Ω", gram_blocks * m * m)?);
        let (gxt, got) = (zeros("Gram X taper", gram_blocks * m * m)?, zeros("Gram Ω taper", gram_blocks * m * m)?);
        let (gvec, gvt) = (zeros("Gram vector", gram_blocks * m)?, zeros("Gram vector taper", gram_blocks * m)?);
        let boxb = zeros("box means", 40)?;
        let reference = zeros("reference momentum sums", 9)?;
        let groups = ng.div_ceil(64);
        let partials = zeros("momentum partial sums", groups * 9)?;
        // the fourier kernels' u32 block (fourier_layout.wgsl) over the whole lattice's momenta: the lattice block,
        // then 0, 0, the number of groups
        let mut fpu = params_u(&global_setup, &STAGES[0]).to_vec();
        fpu.extend_from_slice(&[0, 0, groups as u32]);
        let fpu = ctx.storage_buffer("fourier pu", &fpu)?;
        let ku_msum = ctx.storage_buffer("sum momenta", &[groups as u32, 9, 0, 0])?;
        let dummy = zeros("unused", 1)?;

        let coupled = q.diffusion != 0.0;
        let smoothed = setup.noise.correlation_length > 0.0;
        let kk = |k: K| &kernels[k as usize];
        let op = |kernel: K, bufs: &[&wgpu::Buffer], threads: usize| Op::Kernel { kernel, group: kk(kernel).bind(ctx, bufs), threads: threads as u32 };
        // on a slab: the ghost planes of a member-layout array refilled from the neighbours (nothing on one GPU)
        let halo = |ops: &mut Vec<Op>, b: &wgpu::Buffer, fields: usize, width: usize| {
            if split {
                ops.push(Op::Halo { buf: b.clone(), fields, width });
            }
        };
        let nn = n as u32;
        let scal = |label: &str, v: &[f64]| reals(label, v);
        let r_norm = scal("1/(M−2)", &[norm])?;
        let r_one = scal("1", &[1.0])?;
        let r_half = scal("½", &[0.5])?;
        let r_mix = scal("1/(M/2−1)", &[half_norm])?;
        let r_mixm = scal("−½/(M/2−1)", &[-0.5 * half_norm])?;
        let loc_members = ku("local cov members", &[0, 0, 0])?;
        let loc_cv = ku("local cov control variate", &[0, 1, ng as u32])?;
        // ensemble_forms ku: forms offset, stride, Ω, accumulate
        let f_k_omega = ku("forms k Ω", &[0, FORMS as u32, 1, 0])?;
        let f_s_plain = ku("forms σ", &[50, FORMS as u32, 0, 0])?;
        let f_s_omega_add = ku("forms σ Ω +", &[50, FORMS as u32, 1, 1])?;
        let f_b_plain = ku("forms b", &[0, 25, 0, 0])?;
        let f_b_omega = ku("forms b Ω", &[0, 25, 1, 0])?;
        let f_b_omega_add = ku("forms b Ω +", &[0, 25, 1, 1])?;
        let pairs_set = ku("pairs members =", &[0, 0])?;
        let pairs_add = ku("pairs members +", &[0, 1])?;
        let pairs_vec = ku("pairs vector", &[1, 0])?;
        let r_pairs = scal("1/(M/2−1), −½/(M/2−1)", &[half_norm, -0.5 * half_norm])?;
        let f_kbar_omega = ku("forms k̄ Ω", &[8, 0, 1, 0])?;
        let gram_x = ku("gram X", &[0])?;
        let gram_o = ku("gram Ω", &[1])?;
        let mix_set = ku("combine =", &[0])?;
        let mix_add = ku("combine +", &[1])?;
        let vec0 = ku("vec gram", &[0])?;
        let vec1 = ku("vec combine", &[1])?;
        // the box means read N at the state's lapse slot, or after the slab's gathered metric
        let lapse_slot = if split { 6 } else { var::LAPSE as u32 };
        let modes = [ku("modes box", &[0, lapse_slot])?, ku("modes stage", &[1, 0])?];
        let apply_x_k = ku("apply k x", &[1, var::PHI as u32 * nn, FORMS as u32, 0])?;
        let apply_x_p = ku("apply p x", &[1, var::PHI as u32 * nn, FORMS as u32, 25])?;
        let apply_v_b = ku("apply b x", &[1, 0, 25, 0])?;
        let transpose_1 = ku("transpose 1", &[1, 0])?;
        let mean_drift = ku("mean drift", &[1, if coupled { 2 } else { 0 }, 6 * nn])?;
        let tapers: Vec<(wgpu::Buffer, wgpu::Buffer)> = axes
            .iter()
            .map(|&(a, s0, cnt)| Ok((ku("taper M²", &[a, (m * m) as u32, s0, cnt])?, ku("taper M", &[a, m as u32, s0, cnt])?)))
            .collect::<anyhow::Result<_>>()?;
        let comb: Vec<wgpu::Buffer> = (0..4).map(|s| ku("combine members", &[member as u32, s])).collect::<Result<_, _>>()?;
        let comb_g: Vec<wgpu::Buffer> = (0..4).map(|s| ku("combine Γ_k", &[3 * ng as u32, s])).collect::<Result<_, _>>()?;
        let drift_kr: Vec<wgpu::Buffer> =
            STAGES.iter().map(|st| scal("combine w c", &[st.w * setup.dt, st.c * setup.dt])).collect::<anyhow::Result<_>>()?;
        // the separable taper of per-block vectors of width w in `a` (scratch `b`): the buffer holding the result
        let taper = |ops: &mut Vec<Op>, a: &wgpu::Buffer, b: &wgpu::Buffer, wide: bool| -> bool {
            let mut in_a = true;
            for (t2, t1) in &tapers {
                let k = if wide { t2 } else { t1 };
                let (src, dst) = if in_a { (a, b) } else { (b, a) };
                ops.push(op(K::Taper, &[&eu, k, &band, &bandr, src, dst], nb * if wide { m * m } else { m }));
                in_a = !in_a;
            }
            in_a
        };
        // G_X δ into out, or added to it (`add`), X the forms `formsb` (ku blocks: plain; Ω setting; Ω adding), δ the
        // members `d`
        let g_map = |ops: &mut Vec<Op>, d: &wgpu::Buffer, formsb: &wgpu::Buffer, x: [&wgpu::Buffer; 3], add: bool, out: &wgpu::Buffer| {
            let [plain, omega_set, omega_add] = x;
            ops.push(op(K::Forms, &[&pu, &pr, &eu, plain, &r_one, formsb, d, &uscr], n * m));
            if pairs.is_some() {
                // w = Γ_ρ Ω⁻¹ δ, out (=|+=) −½ Γ_ρ X δ by site pairs, then out += ½ Ω X w
                let mode = if add { &pairs_add } else { &pairs_set };
                ops.push(op(K::Pairs, &[&pu, &pr, &eu, mode, &r_pairs, &pband, &pbandr, d, &uscr, &wscr, out], pair_threads));
                // on a slab w needs no exchange (unlike the CPU's, computed at the owned sites only): its products read
                // the members alone, which are fresh S + 2r planes deep, so w is right 2r planes into the ghosts, as
                // far as Ω X w reads it
                ops.push(op(K::Forms, &[&pu, &pr, &eu, omega_add, &r_half, formsb, &wscr, out], n * m));
                return;
            }
            let omega = if add { omega_add } else { omega_set };
            ops.push(op(K::Gram, &[&pu, &pr, &eu, &gram_x, &start, &sites, d, &uscr, &gx], nb * m * m));
            ops.push(op(K::Gram, &[&pu, &pr, &eu, &gram_o, &start, &sites, d, &dummy, &go], nb * m * m));
            let gx_res = if taper(ops, &gx, &gxt, true) { &gx } else { &gxt };
            let go_res = if taper(ops, &go, &got, true) { &go } else { &got };
            ops.push(op(K::Mix, &[&pu, &eu, &mix_set, &r_mix, &block_of, go_res, d, &wscr], 2 * n * m));
            ops.push(op(K::Forms, &[&pu, &pr, &eu, omega, &r_half, formsb, &wscr, out], n * m));
            ops.push(op(K::Mix, &[&pu, &eu, &mix_add, &r_mixm, &block_of, gx_res, d, out], 2 * n * m));
        };
        // Γ_ρ v into gv (members d, vector v)
        let cov_apply = |ops: &mut Vec<Op>, d: &wgpu::Buffer, v: &wgpu::Buffer, scale: &wgpu::Buffer| {
            if pairs.is_some() {
                ops.push(op(K::Pairs, &[&pu, &pr, &eu, &pairs_vec, scale, &pband, &pbandr, d, v, &dummy, &gv], n * 64));
                return;
            }
            ops.push(op(K::Vec, &[&pu, &eu, &vec0, scale, &start, &sites, &block_of, d, v, &gvec, &gv], nb * m));
            let res = if taper(ops, &gvec, &gvt, false) { &gvec } else { &gvt };
            ops.push(op(K::Vec, &[&pu, &eu, &vec1, scale, &start, &sites, &block_of, d, v, res, &gv], 2 * n));
        };

        // the stage input is overwritten in place by the next one (rk4_combine reads only k, y and acc)
        let din = [&dy, &du1, &du1, &du1];
        let dnext = [&du1, &du1, &du1, &du1];
        let mut drift_pre = Vec::new();
        let mut drift_post = Vec::new();
        for s in 0..4 {
            let u = f.inputs[s];
            let d = din[s];
            let mut pre = Vec::new();
            halo(&mut pre, d, 2, m);
            if let (0, Some(dw)) = (s, f.dw) {
                if smoothed {
                    // on a slab the device smooths ζ on the local lattice, so dW is one GPU's only R planes inside
                    // its edges: the ghost planes the noise flow reads come from their owners
                    halo(&mut pre, dw, 6, 1);
                }
                // the noise forms with the step-start coefficients: dW is drawn at t_n (before stage 0), so the
                // noise flow needs only these forms, not the coefficients
                pre.push(op(K::NoiseForms, &[&pu, &pr, u, dw, &fb], n));
            }
            // what Γvac and the box means read: the stage input, or on a slab the whole lattice's gathered metric
            let whole_u = match &slab {
                Some(sp) if !sp.gathered.is_empty() => {
                    pre.push(Op::GatherMetric(u.clone()));
                    &sp.metric
                }
                _ => u,
            };
            if q.renormalize {
                pre.push(op(K::Vacuum, &[&pu_vac, &pr, whole_u, &sig, &loc], 64));
            }
            pre.push(op(K::LocalCov, &[&pu, &pr, &eu, &loc_members, &r_norm, d, &dummy, &dummy, &loc], n));
            let mut br = &loc;
            if let (Some(hy), Some(hb), Some(gy), Some(gb)) = (&hy, &hbufs, &gy, &gbufs) {
                let h_in = [hy, &hb[1], &hb[1], &hb[1]][s];
                let g_in = [gy, &gb[1], &gb[2], &gb[1]][s];
                halo(&mut pre, h_in, 2, m);
                // Γ_k is the whole lattice's on every rank: its kernels run over the whole lattice's momenta
                pre.push(op(K::Modes, &[&pu_vac, &pr, &modes[0], whole_u, &sig, g_in, &boxb, &gb[3]], 64));
                pre.push(op(K::ModeSums, &[&fpu, &sig, g_in, &partials], ng));
                pre.push(op(K::SumPartials, &[&ku_msum, &partials, &reference], 64));
                pre.push(op(K::LocalCov, &[&pu, &pr, &eu, &loc_cv, &r_norm, h_in, &loc, &reference, &brloc], n));
                br = &brloc;
            }
            pre.push(op(K::SiteForms, &[&pu, &pr, u, &loc, &forms, &qrhs, br], n));
            pre.push(op(K::Apply, &[&pu, &pr, &apply_x_k, u, &forms, &tbuf], n));
            pre.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v1], 2 * n));
            if coupled {
                pre.push(op(K::Apply, &[&pu, &pr, &apply_x_p, u, &forms, &tbuf], n));
                pre.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v2], 2 * n));
                cov_apply(&mut pre, d, &v2, &r_norm);
            }
            pre.push(op(K::Mean, &[&pu, &pr, &mean_drift, &v1, &gv, &dummy, &qrhs], 2 * n));
            let mut post = vec![op(K::Forms, &[&pu, &pr, &eu, &f_k_omega, &r_one, &forms, d, &dd], n * m)];
            if coupled {
                g_map(&mut post, d, &forms, [&f_s_plain, &f_s_omega_add, &f_s_omega_add], true, &dd);
            }
            post.push(op(K::Combine, &[&comb[s], &drift_kr[s], &dd, &dy, &dacc, dnext[s]], member));
            if let (Some(hy), Some(hb), Some(gy), Some(gb)) = (&hy, &hbufs, &gy, &gbufs) {
                let h_in = [hy, &hb[1], &hb[1], &hb[1]][s];
                let h_next = &hb[1];
                let g_in = [gy, &gb[1], &gb[2], &gb[1]][s];
                let g_next = [&gb[1], &gb[2], &gb[1], &gb[2]][s];
                post.push(op(K::Forms, &[&pu, &pr, &eu, &f_kbar_omega, &r_one, &boxb, h_in, &hb[2]], n * m));
                post.push(op(K::Combine, &[&comb[s], &drift_kr[s], &hb[2], hy, &hb[0], h_next], member));
                post.push(op(K::Modes, &[&pu_vac, &pr, &modes[1], u, &sig, g_in, &boxb, &gb[3]], ng));
                post.push(op(K::Combine, &[&comb_g[s], &drift_kr[s], &gb[3], gy, &gb[0], g_next], 3 * ng));
            }
            drift_pre.push(pre);
            drift_post.push(post);
        }
        let mid_kr = scal("½ ½", &[0.5, 0.5])?;
        let flow_h = [zeros("1 h", 2)?, zeros("1 −h", 2)?];
        let (mut cond_pre, mut pass) = (Vec::new(), Vec::new());
        if f.dw.is_some() {
            halo(&mut cond_pre, &dy, 2, m);
            cond_pre.push(op(K::LocalCov, &[&pu, &pr, &eu, &loc_members, &r_norm, &dy, &dummy, &dummy, &loc], n));
            cond_pre.push(op(K::Strength, &[&pu_strength, &loc, &fb, &strength], n));
            // one fixed-point pass: mid = ½(d₀ + d), x_m = ½(x₀ + x̄); g = G_B(mid) mid; d = d₀ + h g; x̄ = x₀ − h Γ_ρ(mid) B x_m
            let (d0, mid) = (&du1, &dacc);
            let ax = |label: &str, count: usize| ku(label, &[count as u32]);
            let (ax_m, ax_x) = (ax("axpby members", member)?, ax("axpby x̄", 2 * n)?);
            pass.push(op(K::Axpby, &[&ax_m, &mid_kr, d0, &dy, mid], member));
            pass.push(op(K::Axpby, &[&ax_x, &mid_kr, &x0, &xy, &xm], 2 * n));
            g_map(&mut pass, mid, &fb, [&f_b_plain, &f_b_omega, &f_b_omega_add], false, &dd);
            pass.push(op(K::Apply, &[&pu, &pr, &apply_v_b, &xm, &fb, &tbuf], n));
            pass.push(op(K::Transpose, &[&pu, &pr, &transpose_1, &tbuf, &v2], 2 * n));
            cov_apply(&mut pass, mid, &v2, &r_norm);
            pass.push(op(K::Axpby, &[&ax_m, &flow_h[0], d0, &dd, &dy], member));
            pass.push(op(K::Axpby, &[&ax_x, &flow_h[1], &x0, &gv, &xy], 2 * n));
        }
        Ok(Self {
            n,
            m,
            lattice: lat,
            global,
            slab,
            precision: p,
            control_variate: cv,
            kernels,
            dy,
            du1,
            hy,
            gy,
            qrhs,
            xy,
            x0,
            strength,
            flow_h,
            drift_pre,
            drift_post,
            cond_pre,
            pass,
            report: Default::default(),
        })
    }

    /// Records the kernels of `ops` (on one GPU there is nothing else).
    fn record(&self, encoder: &mut wgpu::CommandEncoder, ops: &[Op]) {
        debug_assert!(self.slab.is_none(), "a slab's passes need the host between them (record_in)");
        for o in ops {
            if let Op::Kernel { kernel, group, threads } = o {
                self.kernels[*kernel as usize].dispatch(encoder, group, *threads);
            }
        }
    }

    /// Records `ops` on the `domain` the field was built on: on a slab the host round-trips between the kernels.
    fn record_in(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, ops: &[Op], domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let Some(sp) = &self.slab else {
            self.record(encoder, ops);
            return Ok(());
        };
        for o in ops {
            match o {
                Op::Kernel { kernel, group, threads } => self.kernels[*kernel as usize].dispatch(encoder, group, *threads),
                Op::Halo { buf, fields, width } => sp.exchange(ctx, encoder, buf, *fields, *width, domain)?,
                Op::GatherMetric(u) => {
                    flush(ctx, encoder);
                    let fields: Vec<Range<usize>> = sp.gathered.iter().map(|v| v * self.n + sp.owned.start..v * self.n + sp.owned.end).collect();
                    gather_regions(ctx, domain, u, &fields, sp.real_bytes, &sp.metric)?;
                }
            }
        }
        Ok(())
    }

    /// On a slab: the ghost planes of `buf` (2 fields of `width` values per site) refilled (nothing on one GPU).
    fn halo(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, buf: &wgpu::Buffer, width: usize, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        match &self.slab {
            Some(sp) => sp.exchange(ctx, encoder, buf, 2, width, domain),
            None => Ok(()),
        }
    }

    fn real_bytes(&self) -> u64 {
        if self.precision == Precision::F64 {
            8
        } else {
            4
        }
    }

    fn xbar_bytes(&self) -> (u64, u64) {
        ((var::PHI * self.n) as u64 * self.real_bytes(), (2 * self.n) as u64 * self.real_bytes())
    }

    fn member_reals(&self) -> usize {
        2 * self.n * self.m
    }
}

impl GpuQuantumField for GpuEnsembleField {
    fn qrhs(&self) -> Option<&wgpu::Buffer> {
        Some(&self.qrhs)
    }

    fn record_stage_pre(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, &self.drift_pre[s]);
    }

    /// On a slab: the stage input's members get fresh ghost planes first (and the metric is gathered for Γvac).
    fn stage_pre_in(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, s: usize, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        self.record_in(ctx, encoder, &self.drift_pre[s], domain)
    }

    fn record_stage_post(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.record(encoder, &self.drift_post[s]);
    }

    /// On a slab: w = Γ_ρ Ω⁻¹ δ of the coupling's G_σ δ gets fresh ghost planes between its two passes.
    fn stage_post_in(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, s: usize, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        self.record_in(ctx, encoder, &self.drift_post[s], domain)
    }

    fn conditions(&self) -> bool {
        !self.cond_pre.is_empty()
    }

    fn record_conditioning_prep(&self, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer) {
        let (off, len) = self.xbar_bytes();
        encoder.copy_buffer_to_buffer(y, off, &self.xy, 0, len);
        self.record(encoder, &self.cond_pre);
    }

    /// On a slab: the members' ghost planes refilled before their covariance.
    fn conditioning_prep_in(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, y: &wgpu::Buffer, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let (off, len) = self.xbar_bytes();
        encoder.copy_buffer_to_buffer(y, off, &self.xy, 0, len);
        self.record_in(ctx, encoder, &self.cond_pre, domain)
    }

    fn condition(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, step: u64) -> anyhow::Result<()> {
        self.condition_in(ctx, y, step, &WholeLattice(self.lattice))
    }

    /// The noise flow (after [`Self::record_conditioning_prep`] has run): the strengths read back and checked as
    /// on the CPU (the largest over the owned sites of every rank), then `flow_substeps` sub-steps of
    /// `midpoint_iterations` fixed-point passes each; on a slab the members' and x̄'s ghost planes are refilled
    /// before every pass (as `EnsembleModel::noise_flow_in`).
    fn condition_in(&mut self, ctx: &GpuContext, y: &wgpu::Buffer, _step: u64, domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let v = ctx.read_reals(&self.strength, 2 * self.n, self.precision)?;
        let owned = domain.owned();
        let (size, escape) = v[2 * owned.start..2 * owned.end].chunks(2).fold((0.0f64, 0.0f64), |a, c| (a.0.max(c[0]), a.1.max(c[1])));
        let (size, escape) = (domain.max(size), domain.max(escape));
        anyhow::ensure!(
            size.is_finite() && escape.is_finite(),
            "the conditioning strength of this step is not finite ({size:e}): the state has blown up"
        );
        check_conditioning(escape)?;
        let steps = flow_substeps(size);
        self.report.substeps = steps as u32;
        let h = 1.0 / steps as f64;
        let iters = midpoint_iterations(h * size);
        ctx.write_buffer::<u8>(&self.flow_h[0], 0, &to_device(&[1.0, h], self.precision))?;
        ctx.write_buffer::<u8>(&self.flow_h[1], 0, &to_device(&[1.0, -h], self.precision))?;
        let mut encoder = ctx.encoder("ensemble noise flow");
        let mb = self.member_reals() as u64 * self.real_bytes();
        let xb = (2 * self.n) as u64 * self.real_bytes();
        for _ in 0..steps {
            for it in 0..iters {
                self.halo(ctx, &mut encoder, &self.dy, self.m, domain)?;
                self.halo(ctx, &mut encoder, &self.xy, 1, domain)?;
                if it == 0 {
                    encoder.copy_buffer_to_buffer(&self.dy, 0, &self.du1, 0, mb);
                    encoder.copy_buffer_to_buffer(&self.xy, 0, &self.x0, 0, xb);
                }
                self.record_in(ctx, &mut encoder, &self.pass, domain)?;
            }
        }
        let (off, len) = self.xbar_bytes();
        encoder.copy_buffer_to_buffer(&self.xy, 0, y, off, len);
        ctx.submit(encoder);
        Ok(())
    }

    fn report(&self) -> crate::backend::quantum::QuantumStepReport {
        self.report
    }

    fn download(&self, ctx: &GpuContext) -> anyhow::Result<QuantumData> {
        let p = self.precision;
        let d = ctx.read_reals(&self.dy, self.member_reals(), p)?;
        let cv = match (&self.hy, &self.gy) {
            (Some(h), Some(g)) => Some((ctx.read_reals(h, self.member_reals(), p)?, ctx.read_reals(g, 3 * self.global.sites(), p)?)),
            _ => None,
        };
        Ok(ensemble_data(d, cv, self.lattice.shape, self.global.shape, self.m))
    }

    fn upload(&self, ctx: &GpuContext, q: &QuantumData) -> anyhow::Result<()> {
        let p = self.precision;
        ctx.write_buffer::<u8>(&self.dy, 0, &to_device(q.require("members", self.member_reals())?, p))?;
        if self.control_variate {
            let put = |b: &Option<wgpu::Buffer>, name: &str, len: usize| -> anyhow::Result<()> {
                if let Some(b) = b {
                    ctx.write_buffer::<u8>(b, 0, &to_device(q.require(name, len)?, p))?;
                }
                Ok(())
            };
            put(&self.hy, "shadows", self.member_reals())?;
            put(&self.gy, "reference", 3 * self.global.sites())?;
        }
        Ok(())
    }
}
