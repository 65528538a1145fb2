//! The `fourier` quantum scalar field on the CPU (float64; SPEC §4.2, issue 11; docs/quantum.md F1–F8): per-momentum
//! covariances Γ_k in the box-averaged metric (physics/fourier_dynamics.rs) integrated with the classical fields in
//! the same RK4 stages, then the frozen-increment noise flow with the box sum of the step's increments dW.
//!
//! Per RK4 stage (input u_s, Γ_k of the stage):
//!   1. Γ_loc = (1/n) Σ_k r Γ_k r† (a sum over momenta) and Γvac_loc of the box-mean metric;
//!   2. per site: the back-reaction ½tr(ã_s(x)(Γ_loc − Γvac)) with the LOCAL forms, and the box sums of g, N, 𝒟_x and the
//!      Lindblad forms z_x, c_x → the stage's box coefficients (ḡ, N̄, ā, P̄ = 𝒟_tot⁻¹, z̄, c̄);
//!   3. with CQ coupling: x̂ = FFT(φ̄ + iπ̄) (numerics/fft.rs);
//!   4. per momentum: dΓ_k/dt, and the circulant part of dx̄/dt in k-space (inverse FFT);
//!   5. per site: dx̄/dt = the classical field equations (scalar flux and its divergence, as the classical kernel)
//!      − (c_x/ΔV) x̄(x) + the circulant part.
//!
//! Then π^ab += dW and (x̄, Γ_k) ← the noise flow of ξ̄ = P̄ Σ_x dW(x) with the stage-0 coefficients (per momentum, in
//! k-space: x̂ is transformed once, evolved with Γ_k, and its change transformed back).
use super::fd::{d1, gradient, Fd};
use crate::backend::quantum::{QuantumField, QuantumStepReport, Representation, StageQuantum};
use crate::backend::StepperSetup;
use crate::numerics::fft::LatticeFft;
use crate::numerics::site_domain::{box_sums_by, SiteDomain, WholeLattice};
use crate::numerics::jets::{Mat5, ZERO5};
use crate::numerics::rk4::Rk4Stage;
use crate::physics::fourier_dynamics::{
    coeffs_from_sums, min_symplectic_ratio, mode_noise_flow, mode_strength, noise_form, pack_mean, site_terms, unpack_mean, ModeCoeffs,
    ModeCovariance, MomentumGrid, MODE, SITE_SUMS,
};
use crate::physics::gaussian_dynamics::{check_conditioning, noise_substeps, SiteQuantum};
use crate::physics::gaussian_forms::{QuantumParams, SiteGeometry};
use crate::physics::tensor::Sym;
use crate::state::{var, QuantumArray, QuantumData, State};
use num_complex::Complex64;
use rayon::prelude::*;

/// The `fourier` representation (backend/quantum.rs).
pub struct Fourier;

/// Name of the checkpoint array of Γ_k (shape [N3, N2, N1, 3]: Γφφ, Γφπ, Γππ per lattice momentum).
pub const GAMMA_K: &str = "gamma_k";

impl Representation for Fourier {
    fn name(&self) -> &'static str {
        "fourier"
    }
    /// Issue 18: the per-site passes read the mean field's gradient and the scalar flux's divergence (2r planes);
    /// the modes Γ_k are held whole by every rank, and the mean field's transforms gather x̄ (docs/mpi.md).
    fn slab_halo(&self, setup: &StepperSetup) -> Result<usize, String> {
        Ok(2 * setup.stencil.radius)
    }
    fn cpu_slab(&self, setup: &StepperSetup, state: &State, global: crate::numerics::lattice::Lattice) -> anyhow::Result<Box<dyn QuantumField>> {
        Ok(Box::new(FourierField::new_in(setup, state, global)?))
    }
    /// Issue 18: the GPU field too — Γ_k whole on every rank's device, the per-site kernels on the slab
    /// (backend/gpu/fourier_field.rs).
    fn gpu_slab(&self) -> bool {
        true
    }
    fn site_terms_in(&self, setup: &StepperSetup, state: &State, domain: &dyn SiteDomain) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        let Some(params) = setup.quantum else { return Ok(None) };
        let Some(modes) = state.quantum.get(GAMMA_K) else { return Ok(None) };
        let model = FourierModel::new_in(setup, params, true, domain.global());
        Ok(Some(model.site_quantum(&state.data, &state.background, modes, domain)?))
    }
    fn mode_power(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<crate::spectra::quantum::QuantumPower>> {
        Ok(match state.quantum.get("gamma_k") {
            Some(g) => Some(crate::spectra::quantum::fourier(&setup.lattice, g)?),
            None => None,
        })
    }
    fn cpu(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Box<dyn QuantumField>> {
        Ok(Box::new(FourierField::new(setup, state)?))
    }
    fn gpu(
        &self,
        ctx: &crate::gpu::GpuContext,
        setup: &StepperSetup,
        state: &State,
        f: crate::backend::gpu::quantum::FieldBuffers<'_>,
    ) -> anyhow::Result<Box<dyn crate::backend::gpu::quantum::GpuQuantumField>> {
        crate::backend::gpu::fourier_field::GpuFourierField::new(ctx, setup, state, f)
    }
    fn site_terms(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        self.site_terms_in(setup, state, &WholeLattice(setup.lattice))
    }
    fn physicality(&self, _: &StepperSetup, state: &State) -> f64 {
        match state.quantum.get(GAMMA_K) {
            Some(m) => min_symplectic_ratio(m, state.lattice.cell_volume()),
            None => f64::NAN,
        }
    }
}

/// Γ_k as the checkpoint array `gamma_k`.
pub fn modes_data(modes: Vec<f64>, shape: [usize; 3]) -> QuantumData {
    QuantumData {
        representation: "fourier".into(),
        arrays: vec![QuantumArray { name: GAMMA_K.into(), shape: vec![shape[2], shape[1], shape[0], MODE], data: modes }],
    }
}

/// Host bytes the CPU fourier field uses for n sites, besides the classical stepper's state: Γ_k, its RK4 copies and
/// right-hand side (5 × 3n f64), a stage's quantum right-hand side and back-reaction (8n), the per-site pass (7n) and,
/// with CQ coupling, the transforms of the mean field (3 complex n-vectors).
pub fn host_bytes(n: usize, coupled: bool) -> u64 {
    let n = n as u64;
    (15 * n + 8 * n + 7 * n + if coupled { 6 * n } else { 0 }) * 8
}

/// The box-mean metric over the `domain`'s whole lattice of a state held as SoA fields on its local lattice (δg +
/// background; the owned sites count, summed in plane order: numerics/site_domain.rs `box_sums_by`).
pub fn box_mean_metric(u: &[f64], background: &[f64; 6], domain: &dyn SiteDomain) -> Sym<f64> {
    let n = u.len() / crate::state::NVARS;
    let (s, _) = box_sums_by(domain, |sites| {
        let mut s = [0.0; 6];
        for i in sites {
            s.iter_mut().enumerate().for_each(|(k, a)| *a += background[k] + u[(var::G + k) * n + i]);
        }
        (s, ())
    });
    s.map(|v| v / domain.global().sites() as f64)
}

/// The initial Γ_k of a fourier field: the state's, or the lattice vacuum of its box-mean metric.
pub fn initial_modes(setup: &StepperSetup, mass: f64, state: &State) -> anyhow::Result<Vec<f64>> {
    let n = setup.lattice.sites();
    if state.quantum.is_empty() {
        let g = box_mean_metric(&state.data, &state.background, &WholeLattice(setup.lattice));
        crate::physics::fourier_dynamics::vacuum_modes(&setup.lattice, &setup.stencil, &g, mass)
    } else {
        Ok(state.quantum.require(GAMMA_K, MODE * n)?.to_vec())
    }
}

/// The lattice model of the fourier field: the per-site and per-momentum passes of a stage, the noise flow.
/// `setup.lattice` is the lattice of the per-site passes (the whole lattice, or a slab's local lattice: issue 18),
/// `global` the run's, whose momenta the modes are.
pub struct FourierModel {
    pub setup: StepperSetup,
    pub global: crate::numerics::lattice::Lattice,
    pub grid: MomentumGrid,
    pub params: QuantumParams,
    pub fd: Fd<f64>,
    pub fft: LatticeFft,
    /// Test hook: false drops the conditioning on the box-summed record (P̄: the Kalman term, the Stratonovich
    /// corrections and the noise flow), leaving the unconditional (Lindblad) dynamics of docs/quantum.md F1–F8.
    pub conditioning: bool,
}

/// What a stage's per-site pass produced.
pub struct StagePass {
    pub coeffs: ModeCoeffs,
    /// ½tr(ã_s(x)(Γ_loc − Γvac)) per site
    pub br: Vec<[f64; 6]>,
    /// c_x per site (empty without coupling)
    pub cx: Vec<f64>,
    pub local: Mat5,
    pub vacuum: Mat5,
}

impl FourierModel {
    pub fn new(setup: &StepperSetup, params: QuantumParams, conditioning: bool) -> Self {
        Self::new_in(setup, params, conditioning, setup.lattice)
    }

    /// The model of a field whose per-site passes run on `setup.lattice`, a part of the run's lattice `global`.
    pub fn new_in(setup: &StepperSetup, params: QuantumParams, conditioning: bool, global: crate::numerics::lattice::Lattice) -> Self {
        Self {
            setup: *setup,
            global,
            grid: MomentumGrid::new(&global, &setup.stencil),
            params,
            fd: Fd::new(&setup.stencil, setup.lattice.spacing, 0.0),
            fft: LatticeFft::new(&global),
            conditioning,
        }
    }

    fn coupled(&self) -> bool {
        self.params.diffusion != 0.0
    }

    /// Γvac_loc of the box-mean metric of u (zero for renormalisation `none`).
    fn vacuum(&self, u: &[f64], background: &[f64; 6], domain: &dyn SiteDomain) -> anyhow::Result<Mat5> {
        if !self.params.renormalize {
            return Ok(ZERO5);
        }
        let g = box_mean_metric(u, background, domain);
        crate::physics::lattice_vacuum::vacuum_jet_covariance(&self.global, &self.setup.stencil, &g, self.params.mass)
    }

    /// The per-site pass of a stage at the classical stage input u (f64 SoA) with the jet covariance `local`: the
    /// back-reaction and c_x of the `domain`'s owned sites (zero on a slab's ghost planes, whose right-hand side is
    /// never read) and the box sums over its whole lattice in plane order.
    pub fn site_pass(&self, u: &[f64], background: &[f64; 6], local: Mat5, domain: &dyn SiteDomain) -> anyhow::Result<StagePass> {
        let lat = self.setup.lattice;
        let n = lat.sites();
        let dv = lat.cell_volume();
        let vacuum = self.vacuum(u, background, domain)?;
        let p = self.params;
        let coupled = self.coupled();
        let phi = &u[var::PHI * n..(var::PHI + 1) * n];
        let per = |i: usize| -> ([f64; 6], [f64; SITE_SUMS]) {
            let g: Sym<f64> = std::array::from_fn(|k| background[k] + u[(var::G + k) * n + i]);
            let geo = SiteGeometry::new(&g, u[var::LAPSE * n + i]);
            let y = if coupled {
                let d = gradient(&self.fd, &lat, phi, lat.coords(i));
                [d[0], d[1], d[2], phi[i], u[var::PI_PHI * n + i]]
            } else {
                [0.0; 5]
            };
            site_terms(&geo, &p, dv, &local, &vacuum, &y)
        };
        // chunks of whole planes: the box sums in the same order on any number of threads and ranks
        let (sums, chunks) = box_sums_by(domain, |sites| {
            let mut s = [0.0; SITE_SUMS];
            let terms: Vec<([f64; 6], f64)> = sites
                .map(|i| {
                    let (v, t) = per(i);
                    s.iter_mut().zip(t).for_each(|(a, x)| *a += x);
                    (v, t[crate::physics::fourier_dynamics::S_C])
                })
                .collect();
            (s, terms)
        });
        let mut br = vec![[0.0; 6]; n];
        let mut cx = if coupled { vec![0.0; n] } else { Vec::new() };
        for (sites, terms) in chunks {
            for (i, (v, c)) in sites.zip(terms) {
                br[i] = v;
                if coupled {
                    cx[i] = c;
                }
            }
        }
        let coeffs = coeffs_from_sums(&self.global, &p, &sums, self.conditioning)?;
        Ok(StagePass { coeffs, br, cx, local, vacuum })
    }

    /// The transform ẑ of z = φ̄ + iπ̄ over the whole lattice, from x̄ (φ̄ then π̄) on the `domain`'s local lattice
    /// (a slab's owned planes are gathered from every rank).
    pub fn transform_mean(&self, xbar: &[f64], domain: &dyn SiteDomain) -> Vec<Complex64> {
        let whole = domain.all_gather(xbar, 2);
        let (phi, pi) = whole.split_at(whole.len() / 2);
        let mut z: Vec<Complex64> = phi.iter().zip(pi).map(|(a, b)| Complex64::new(*a, *b)).collect();
        self.fft.forward(&mut z);
        z
    }

    /// The stage's right-hand side: Γ_k's (into `modes`' rate) and the mean field's ∂t x̄ (2n) and the fluctuation
    /// back-reaction per site. Returns the stage's coefficients.
    /// On a slab (`domain`) the modes are the whole lattice's (every rank evolves all of them from the same
    /// coefficients) and x̄'s transforms gather it; ∂t x̄ and the back-reaction are those of the owned sites.
    #[allow(clippy::too_many_arguments)]
    pub fn stage(&self, index: usize, u: &[f64], background: &[f64; 6], modes: &mut ModeCovariance, dx: &mut [f64], br: &mut Vec<[f64; 6]>, domain: &dyn SiteDomain) -> anyhow::Result<ModeCoeffs> {
        let lat = self.setup.lattice;
        let n = lat.sites();
        let dv = lat.cell_volume();
        let local = modes.local_covariance(index);
        let pass = self.site_pass(u, background, local, domain)?;
        let phi = &u[var::PHI * n..(var::PHI + 1) * n];
        let pi = &u[var::PI_PHI * n..(var::PI_PHI + 1) * n];
        // the circulant part of dx̄/dt (k-space), with the conditioning
        let circ = if pass.coeffs.conditioned() {
            let z = self.transform_mean(&u[var::PHI * n..(var::PI_PHI + 1) * n], domain);
            let mut w = vec![Complex64::default(); self.global.sites()];
            modes.stage(index, &pass.coeffs, Some(&z), Some(&mut w));
            self.fft.inverse(&mut w);
            Some((w, global_sites(domain, n)))
        } else {
            modes.stage(index, &pass.coeffs, None, None);
            None
        };
        // the mean field: classical equations (scalar flux, as the classical kernel) + local Lindblad + circulant part
        let mut flux = vec![0.0; 3 * n];
        super::scalar_flux::scalar_flux(&self.fd, &lat, background, u, &mut flux);
        let mass = self.params.mass;
        let inv_n = 1.0 / self.global.sites() as f64;
        let (dphi, dpi) = dx.split_at_mut(n);
        dphi.par_iter_mut().zip(dpi.par_iter_mut()).enumerate().for_each(|(i, (a, b))| {
            let g: Sym<f64> = std::array::from_fn(|k| background[k] + u[(var::G + k) * n + i]);
            let (_, det) = crate::physics::tensor::inverse(&g);
            let c = lat.coords(i);
            let div = d1(&self.fd, &lat, &flux[0..n], c, 0) + d1(&self.fd, &lat, &flux[n..2 * n], c, 1) + d1(&self.fd, &lat, &flux[2 * n..], c, 2);
            let (mut fa, mut fb) = crate::physics::scalar_field::rhs(u[var::LAPSE * n + i], det.sqrt(), phi[i], pi[i], div, mass, &Default::default());
            if !pass.cx.is_empty() {
                fa -= pass.cx[i] / dv * phi[i];
                fb -= pass.cx[i] / dv * pi[i];
            }
            if let Some((w, global_site)) = &circ {
                let x = global_site[i];
                fa += w[x].re * inv_n;
                fb += w[x].im * inv_n;
            }
            *a = fa;
            *b = fb;
        });
        *br = pass.br;
        Ok(pass.coeffs)
    }

    /// The box sum Σ_x dW(x) of the increments (component-major 6n on the `domain`'s local lattice; plane order).
    pub fn increment_sum(&self, dw: &[f64], domain: &dyn SiteDomain) -> [f64; 6] {
        let n = self.setup.lattice.sites();
        box_sums_by(domain, |sites| {
            let mut s = [0.0; 6];
            for x in sites {
                s.iter_mut().enumerate().for_each(|(c, a)| *a += dw[c * n + x]);
            }
            (s, ())
        })
        .0
    }

    /// The noise flow of a step (docs/quantum.md F1–F8) with the coefficients of the step's start and the increments dW
    /// (component-major 6n) on x̄ (2n) and Γ_k; returns the number of RK4 sub-steps (0: no conditioning).
    /// On a slab (`domain`) every rank flows all the modes and the owned and ghost sites of x̄.
    pub fn noise_flow(&self, c: &ModeCoeffs, dw: &[f64], xbar: &mut [f64], modes: &mut [f64], domain: &dyn SiteDomain) -> anyhow::Result<u32> {
        if !c.conditioned() {
            return Ok(0);
        }
        let lat = self.setup.lattice;
        let n = lat.sites();
        let grid = &self.grid;
        let b = noise_form(c, &self.increment_sum(dw, domain));
        let (size, escape) = modes
            .par_chunks(MODE)
            .enumerate()
            .map(|(k, g)| mode_strength(&b, &grid.sigma(k), g))
            .reduce(|| (0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
        check_conditioning(escape)?;
        let m = noise_substeps(size);
        let z = self.transform_mean(xbar, domain);
        let (phi, pi) = xbar.split_at_mut(n);
        let dv = lat.cell_volume();
        let mut dz = vec![Complex64::default(); self.global.sites()];
        modes.par_chunks_mut(MODE).zip(dz.par_iter_mut()).enumerate().for_each(|(k, (g, d))| {
            let x0 = unpack_mean(&z, k, grid.negative(k));
            let mut x = x0;
            mode_noise_flow(&b, &grid.sigma(k), dv, m, g, &mut x);
            *d = pack_mean(&std::array::from_fn(|i| x[i] - x0[i]));
        });
        self.fft.inverse(&mut dz);
        let inv_n = 1.0 / self.global.sites() as f64;
        let global_site = global_sites(domain, n);
        phi.par_iter_mut().zip(pi.par_iter_mut()).enumerate().for_each(|(i, (a, b))| {
            let d = dz[global_site[i]];
            *a += d.re * inv_n;
            *b += d.im * inv_n;
        });
        Ok(m as u32)
    }

    /// Per-site diagnostics of the fluctuations (SPEC §5, §6): ⟨δφ²⟩ = Γ_loc,φφ, the renormalised energy density
    /// ½tr(e_x(Γ_loc − Γvac)) with the local form e_x, and ⟨π_φ∂_aφ⟩ − π̄∂_aφ̄ = Γ_loc,πa − Γvac,πa (zero by parity).
    /// On the `domain`'s local lattice (the vacuum at the whole lattice's box-mean metric, plane order).
    pub fn site_quantum(&self, u: &[f64], background: &[f64; 6], modes: &[f64], domain: &dyn SiteDomain) -> anyhow::Result<Vec<SiteQuantum>> {
        let lat = self.setup.lattice;
        let n = lat.sites();
        let nk = self.global.sites();
        anyhow::ensure!(modes.len() == MODE * nk, "the fourier state has {} values, expected {}", modes.len(), MODE * nk);
        let local = crate::physics::fourier_dynamics::local_covariance(&self.grid, modes);
        let c = crate::physics::gaussian_dynamics::GaussianModel::new(lat, self.setup.stencil, self.params).coeffs_in(u, background, domain)?;
        Ok(crate::physics::gaussian_dynamics::site_quantum_from_local(&c, &vec![local; n]))
    }

    /// One step with the metric frozen (tests): the RK4 of the drift over dt of (x̄, Γ_k) in the metric and lapse of
    /// `u` (f64 SoA state; its φ, π_φ slots are the mean field and are updated), then the noise flow of `dw` (None: no
    /// noise). With a frozen metric this is what the CPU stepper does (tests/fourier_quantum.rs checks it bit for bit).
    pub fn step_frozen(&self, u: &mut [f64], background: &[f64; 6], modes: &mut ModeCovariance, dt: f64, dw: Option<&[f64]>) -> anyhow::Result<()> {
        use crate::numerics::rk4::{combine_f64, STAGES};
        let n = self.setup.lattice.sites();
        let r = var::PHI * n..(var::PI_PHI + 1) * n;
        let (mut acc, mut u1, mut u2) = (vec![0.0; 2 * n], u.to_vec(), u.to_vec());
        let (mut k, mut br) = (vec![0.0; 2 * n], Vec::new());
        let mut start = None;
        for st in STAGES {
            let c = {
                let input: &[f64] = match st.index {
                    0 => u,
                    1 | 3 => &u1,
                    _ => &u2,
                };
                self.stage(st.index, input, background, modes, &mut k, &mut br, &WholeLattice(self.setup.lattice))?
            };
            if st.index == 0 {
                start = Some(c);
            }
            let next = if st.index == 1 { &mut u2[r.clone()] } else { &mut u1[r.clone()] };
            combine_f64(&st, dt, &k, &mut u[r.clone()], &mut acc, next);
            modes.combine(&st, dt);
        }
        if let (Some(dw), Some(c)) = (dw, start) {
            self.noise_flow(&c, dw, &mut u[r], modes.modes_mut(), &WholeLattice(self.setup.lattice))?;
        }
        Ok(())
    }
}

/// The whole lattice's index of each of the `n` local sites of `domain` (read by the parallel per-site loops, which
/// cannot hold the domain itself).
fn global_sites(domain: &dyn SiteDomain, n: usize) -> Vec<usize> {
    (0..n).map(|i| domain.global_site(i)).collect()
}

/// The fourier field of a CPU stepper.
pub struct FourierField {
    pub model: FourierModel,
    pub modes: ModeCovariance,
    /// the coefficients at the start of the current step (stage 0), used by the noise flow
    start: Option<ModeCoeffs>,
    report: QuantumStepReport,
}

impl FourierField {
    pub fn new(setup: &StepperSetup, state: &State) -> anyhow::Result<Self> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the fourier representation needs the quantum field's parameters"))?;
        let m0 = initial_modes(setup, q.mass, state)?;
        Self::with_modes(setup, m0, setup.lattice)
    }

    /// The field of one rank's slab (issue 18): `setup` on its local lattice, `state` its local state holding the
    /// whole lattice's Γ_k, `global` the run's lattice.
    pub fn new_in(setup: &StepperSetup, state: &State, global: crate::numerics::lattice::Lattice) -> anyhow::Result<Self> {
        Self::with_modes(setup, state.quantum.require(GAMMA_K, MODE * global.sites())?.to_vec(), global)
    }

    fn with_modes(setup: &StepperSetup, m0: Vec<f64>, global: crate::numerics::lattice::Lattice) -> anyhow::Result<Self> {
        let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the fourier representation needs the quantum field's parameters"))?;
        let modes = ModeCovariance::from_modes(&global, &setup.stencil, q.mass, m0)?;
        Ok(Self { model: FourierModel::new_in(setup, q, true, global), modes, start: None, report: QuantumStepReport::default() })
    }
}

impl QuantumField for FourierField {
    fn stage(&mut self, index: usize, u: &[f64], background: &[f64; 6], domain: &dyn SiteDomain) -> anyhow::Result<Option<StageQuantum>> {
        let n = self.model.setup.lattice.sites();
        let mut q = StageQuantum { dx: vec![0.0; 2 * n], br: Vec::new() };
        let c = self.model.stage(index, u, background, &mut self.modes, &mut q.dx, &mut q.br, domain)?;
        if index == 0 {
            self.start = Some(c);
        }
        Ok(Some(q))
    }

    fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        self.modes.combine(st, dt);
    }

    fn condition(&mut self, noise: &crate::backend::quantum::StepNoise<'_>, xbar: &mut [f64], domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let c = self.start.as_ref().expect("condition() after a step's stage 0");
        self.report.substeps = self.model.noise_flow(c, noise.increments, xbar, self.modes.modes_mut(), domain)?;
        Ok(())
    }

    fn save(&self) -> QuantumData {
        modes_data(self.modes.modes().to_vec(), self.model.global.shape)
    }

    fn restore(&mut self, q: &QuantumData) -> anyhow::Result<()> {
        let m = q.require(GAMMA_K, self.modes.modes().len())?;
        self.modes.modes_mut().copy_from_slice(m);
        Ok(())
    }

    fn report(&self) -> QuantumStepReport {
        self.report
    }
}
