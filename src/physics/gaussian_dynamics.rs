//! SPEC §4.1 on the lattice: the vector fields of the conditional Gaussian state (x̄, Γ), written in the
//! Stratonovich form, for the `dense` representation (Γ stored in full, row-major 2n × 2n). docs/quantum.md
//! derives every line; with white noise (ℓ = 0) every Σ_IJ over the 6n back-reaction observables collapses to a
//! local 5×5 jet form (physics/gaussian_forms.rs, numerics/jets.rs), so the cost per evaluation is a few sparse
//! passes over Γ and one dense product Γ·(·).
//!
//! Drift (Stratonovich = Itô drift + SPEC §4.1's correction; C = (1+ε)¼𝒟⁻¹):
//!   dx̄/dt = Ω Rᵀk R x̄ − Γ Rᵀp R x̄
//!   dΓ/dt = Ω Rᵀk R Γ + (…)ᵀ + ((1+ε)/4) Ω Rᵀσ R Ωᵀ − Γ Rᵀσ R Γ
//! with, per site, k = m + (ε/8)Σ(𝒟⁻¹)_IJ ã_I ω ã_J (the decoherence ½ΣC K_J K_I and the Stratonovich
//! ⅛ΩP′ cancel at saturation), p = Σ(𝒟⁻¹)_IJ ã_I Γ_loc ã_J, σ = Σ(𝒟⁻¹)_IJ ã_I (Γ_loc + y yᵀ) ã_J,
//! Γ_loc = R_xΓR_xᵀ, y = R_x x̄.
//! Noise (one vector field per increment; B = Σ_I ξ_I A_I, ξ = 𝒟⁻¹ dW — the same dW that enters dπ^ab):
//!   dx̄ = −Γ B x̄,   dΓ = −Γ B Γ + ¼ Ω B Ωᵀ
//! Back-reaction on π^ab: −⟨L̂_I⟩ with ⟨L̂_I⟩ = ½x̄ᵀA_I x̄ (the classical kernel's mean-field term) + ½tr(ã_IΓ_loc)
//! − (vacuum scheme) ½tr(ã_I Γvac_loc(ḡ)), Γvac_loc the lattice vacuum's jet covariance for the box-mean metric.
use crate::numerics::site_domain::SiteDomain;
use super::gaussian_forms::{expectation, QuantumParams, SiteCoeffs, SiteGeometry};
use super::lattice_vacuum::{vacuum_jet_covariance, vacuum_jet_covariance_of};
use super::tensor::Sym;
use crate::numerics::jets::{mat5_axpy, JetMap, Mat5, J_PI, ZERO5};
use crate::numerics::lattice::Lattice;
use crate::numerics::stencil::Stencil;
use crate::numerics::matmul::matmul_into;
use crate::numerics::psd_factor::psd_factor;
use crate::numerics::isa::Isa;
use crate::numerics::par;
use crate::numerics::scratch::ScratchPool;

/// Largest local escape rate (−λ_min of Γ_loc^½ b Γ_loc^½, [`GaussianModel::conditioning_strength`]) a step may
/// have: the frozen-increment flow over the step then stays at most halfway to its finite escape.
pub const MAX_CONDITIONING_STRENGTH: f64 = 0.5;

/// The refusal of a step whose conditioning is too strong (local escape rate `escape` >
/// [`MAX_CONDITIONING_STRENGTH`]), with what to change.
pub fn check_conditioning(escape: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        escape <= MAX_CONDITIONING_STRENGTH,
        "the quantum state's conditioning on this step's noise is too strong for the Gaussian update (local \
         escape rate {escape:.3} > {MAX_CONDITIONING_STRENGTH}: the flow of the frozen increment is a Riccati equation \
         that approaches its finite escape, and Γ + iΩ/2 would lose positivity); the increments scale as \
         √(ΔV dt / D2): reduce the time step (time.courant or time.dt), or raise cq.diffusion or the lattice spacing"
    );
    Ok(())
}

/// RK4 sub-steps of the noise flow for a step of strength `size` (largest |λ| of
/// [`GaussianModel::conditioning_strength`]): |λ| ≤ 0.02 per sub-step (local error ~ 0.02⁵/120 relative).
pub fn noise_substeps(size: f64) -> usize {
    ((size / 0.02).ceil() as usize).max(1)
}

/// The lattice model of the quantum field (fixed for a run).
#[derive(Debug, Clone)]
pub struct GaussianModel {
    pub lattice: Lattice,
    pub stencil: Stencil,
    pub jets: JetMap,
    pub params: QuantumParams,
    /// the Γ-sized work arrays of the drift and the noise flow, reused (numerics/scratch.rs)
    pub scratch: ScratchPool,
    /// the stencil's symbols σ_a of this lattice (physics/lattice_vacuum.rs), for the vacuum subtraction of every stage
    vacuum_symbols: [Vec<f64>; 3],
}

/// The per-site coefficients at one metric, and the vacuum subtraction.
#[derive(Debug, Clone)]
pub struct Coeffs {
    pub sites: Vec<SiteCoeffs>,
    /// Γvac_loc for the box-mean metric (zero for renormalisation `none`)
    pub vacuum: Mat5,
}

/// The per-site forms of the drift at one (x̄, Γ) ([`GaussianModel::drift_forms`]).
#[derive(Debug, Clone)]
pub struct DriftForms {
    /// Γ_loc = R_xΓR_xᵀ
    pub loc: Vec<Mat5>,
    /// back-reaction, p and σ per site ([`GaussianModel::site_forms`])
    pub per: SiteForms,
}

/// The per-site forms of [`GaussianModel::site_forms`], each an array over the sites (as the jet maps take them).
#[derive(Debug, Clone, Default)]
pub struct SiteForms {
    /// ⟨L̂_I⟩_ren − ½x̄ᵀA_Ix̄ (stored components)
    pub br: Vec<[f64; 6]>,
    /// p = Σ(𝒟⁻¹)_IJ ã_I Γ_loc ã_J
    pub p: Vec<Mat5>,
    /// σ = Σ(𝒟⁻¹)_IJ ã_I (Γ_loc + y yᵀ) ã_J
    pub sigma: Vec<Mat5>,
}

/// A conditioning prepared at one Γ ([`GaussianModel::conditioning`]).
#[derive(Debug, Clone)]
pub struct Conditioning {
    /// the noise forms b_x = Σ_I ξ_I ã_I, ξ = 𝒟⁻¹dW
    pub forms: Vec<Mat5>,
    /// largest |λ| of Γ_loc^½ b_x Γ_loc^½ over sites
    pub size: f64,
    /// largest −λ (the escape rate of the Riccati flow)
    pub escape: f64,
}

/// Per-site quantum contributions to the diagnostics.
#[derive(Debug, Clone, Copy, Default)]
pub struct SiteQuantum {
    /// ⟨δφ²⟩
    pub phi2: f64,
    /// ⟨δπ_φ²⟩
    pub pi2: f64,
    /// ⟨L̂^ab⟩_ren − ½x̄ᵀA_{ab}x̄ (stored components): the fluctuations' back-reaction
    pub backreaction: [f64; 6],
    /// ⟨Ĥ_m⟩_ren − Ĥ_m(x̄): the fluctuations' energy density (renormalised)
    pub rho: f64,
    /// ⟨π_φ ∂_aφ⟩ − π̄ ∂_a φ̄ (Weyl-symmetrised covariance)
    pub mom: [f64; 3],
}

impl SiteQuantum {
    /// The fluctuation terms of the constraints (physics/constraints.rs `ConstraintData::quantum`): (ρ, mom).
    pub fn constraint_terms(&self) -> [f64; 4] {
        [self.rho, self.mom[0], self.mom[1], self.mom[2]]
    }
}

fn sym_add_transpose(m: &mut [f64], d: usize, scale: f64) {
    // m ← scale·(m + mᵀ)
    for i in 0..d {
        for j in i..d {
            let s = scale * (m[i * d + j] + m[j * d + i]);
            m[i * d + j] = s;
            m[j * d + i] = s;
        }
    }
}

fn matvec(a: &[f64], v: &[f64], out: &mut [f64]) {
    let d = v.len();
    par::chunks(d / 2, out, 1, |i, o| o[0] = a[i * d..(i + 1) * d].iter().zip(v).map(|(x, y)| x * y).sum());
}

impl GaussianModel {
    pub fn new(lattice: Lattice, stencil: Stencil, params: QuantumParams) -> Self {
        let vacuum_symbols = crate::physics::lattice_vacuum::symbols(&lattice, &stencil);
        Self { jets: JetMap::merged(&lattice, &stencil), lattice, stencil, params, scratch: ScratchPool::default(), vacuum_symbols }
    }
    pub fn sites(&self) -> usize {
        self.lattice.sites()
    }
    pub fn dim(&self) -> usize {
        2 * self.lattice.sites()
    }

    /// Coefficients at the metric `metric(i)` and lapse `lapse[i]`.
    pub fn coeffs(&self, metric: impl Fn(usize) -> Sym<f64> + Sync, lapse: &[f64]) -> anyhow::Result<Coeffs> {
        let n = self.sites();
        self.coeffs_with(metric, lapse, &self.lattice, |sites| {
            let mut gbar = [0.0; 6];
            for s in sites {
                for k in 0..6 {
                    gbar[k] += s.geo.g[k];
                }
            }
            gbar.iter_mut().for_each(|v| *v /= n as f64);
            gbar
        })
    }

    /// The per-site coefficients and the vacuum subtraction of the lattice `whole` at the box-mean metric that
    /// `box_mean` takes of the sites (only with renormalisation).
    fn coeffs_with(
        &self,
        metric: impl Fn(usize) -> Sym<f64> + Sync,
        lapse: &[f64],
        whole: &Lattice,
        box_mean: impl FnOnce(&[SiteCoeffs]) -> Sym<f64>,
    ) -> anyhow::Result<Coeffs> {
        let n = self.sites();
        let dv = self.lattice.cell_volume();
        let sites: Vec<SiteCoeffs> = par::map(n, n, |i| SiteCoeffs::new(SiteGeometry::new(&metric(i), lapse[i]), &self.params, dv));
        let vacuum = match (self.params.renormalize, *whole == self.lattice) {
            (false, _) => ZERO5,
            (true, true) => vacuum_jet_covariance_of(whole, &self.vacuum_symbols, &box_mean(&sites), self.params.mass)?,
            (true, false) => vacuum_jet_covariance(whole, &self.stencil, &box_mean(&sites), self.params.mass)?,
        };
        Ok(Coeffs { sites, vacuum })
    }

    /// Coefficients of a state held as SoA fields (state.rs layout, δg + background).
    pub fn coeffs_of(&self, u: &[f64], background: &[f64; 6]) -> anyhow::Result<Coeffs> {
        let (metric, lapse) = soa_geometry(u, background, self.sites());
        self.coeffs(metric, lapse)
    }

    /// [`Self::coeffs_of`] on a lattice that is the `domain`'s local part (issue 18): the vacuum subtraction at the
    /// box-mean metric of the whole lattice, summed in the domain's plane order ([`SiteDomain::box_sums`]), so one
    /// process and any number of slabs subtract the same vacuum. The ensemble's stages use it.
    pub fn coeffs_in(&self, u: &[f64], background: &[f64; 6], domain: &dyn SiteDomain) -> anyhow::Result<Coeffs> {
        let (metric, lapse) = soa_geometry(u, background, self.sites());
        self.coeffs_with(metric, lapse, &domain.global(), |sites| box_mean_geometry(sites, domain).0)
    }

    fn local_covs(&self, gamma: &[f64]) -> Vec<Mat5> {
        par::map(self.sites(), self.sites(), |x| self.jets.local_cov(gamma, x))
    }

    /// The per-site forms of the drift at the jet covariances `loc` (Γ_loc = R_xΓR_xᵀ): the fluctuation
    /// back-reaction ½tr(ã_I Γ_loc) − vacuum computed from `br_loc` (the same as `loc`, or a better estimate of it),
    /// and p = Σ(𝒟⁻¹)_IJ ã_I Γ_loc ã_J, σ = Σ(𝒟⁻¹)_IJ ã_I (Γ_loc + y yᵀ) ã_J with y = R_x x̄ (zero without coupling).
    pub fn site_forms(&self, c: &Coeffs, loc: &[Mat5], br_loc: &[Mat5], xbar: &[f64]) -> SiteForms {
        let isa = Isa::detect();
        let n = self.sites();
        let mut f = SiteForms { br: vec![[0.0; 6]; n], p: vec![ZERO5; n], sigma: vec![ZERO5; n] };
        let form = |(x, ((b, p), s)): (usize, ((&mut [f64; 6], &mut Mat5), &mut Mat5))| {
            (*b, *p, *s) = match isa {
                // SAFETY: the CPU has the detected instruction set
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { site_form_avx512(self, c, loc, br_loc, xbar, x) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { site_form_avx2(self, c, loc, br_loc, xbar, x) },
                _ => self.site_form(c, loc, br_loc, xbar, x),
            }
        };
        if par::parallel(n) {
            use rayon::prelude::*;
            f.br.par_iter_mut().zip(f.p.par_iter_mut()).zip(f.sigma.par_iter_mut()).enumerate().for_each(form);
        } else {
            f.br.iter_mut().zip(f.p.iter_mut()).zip(f.sigma.iter_mut()).enumerate().for_each(form);
        }
        f
    }

    /// [`Self::site_forms`] at site x (built for each instruction set: numerics/isa.rs).
    #[inline(always)]
    fn site_form(&self, c: &Coeffs, loc: &[Mat5], br_loc: &[Mat5], xbar: &[f64], x: usize) -> ([f64; 6], Mat5, Mat5) {
        let s = &c.sites[x];
        let b: [f64; 6] = std::array::from_fn(|i| expectation(&s.a[i], &br_loc[x]) - expectation(&s.a[i], &c.vacuum));
        if self.params.diffusion == 0.0 {
            return (b, ZERO5, ZERO5);
        }
        // σ = Σ(𝒟⁻¹)_IJ ã_I (Γ_loc + y yᵀ) ã_J = p + Σ(𝒟⁻¹)_IJ (ã_I y)(ã_J y)ᵀ
        let p = s.dinv_sandwich(&loc[x]);
        let mut sigma = s.dinv_outer(&self.jets.jets_at(xbar, x));
        mat5_axpy(1.0, &p, &mut sigma);
        (b, p, sigma)
    }

    /// The Stratonovich drift of (x̄, Γ) into (dx, dg), and the fluctuation back-reaction ⟨L̂_I⟩_ren − ½x̄ᵀA_Ix̄
    /// per site into `br`.
    pub fn drift(&self, c: &Coeffs, xbar: &[f64], gamma: &[f64], dx: &mut [f64], dg: &mut [f64], br: &mut [[f64; 6]]) {
        self.drift_with(&self.drift_forms(c, xbar, gamma), c, xbar, gamma, dx, dg, br)
    }

    /// The per-site forms of the drift at (x̄, Γ): Γ_loc and [`Self::site_forms`] (also what
    /// [`Self::drift_stiffness`] needs, so a stage at the step's start computes them once).
    pub fn drift_forms(&self, c: &Coeffs, xbar: &[f64], gamma: &[f64]) -> DriftForms {
        let loc = self.local_covs(gamma);
        let per = self.site_forms(c, &loc, &loc, xbar);
        DriftForms { loc, per }
    }

    /// [`Self::drift`] from its per-site forms `f` at (x̄, Γ).
    #[allow(clippy::too_many_arguments)]
    pub fn drift_with(&self, f: &DriftForms, c: &Coeffs, xbar: &[f64], gamma: &[f64], dx: &mut [f64], dg: &mut [f64], br: &mut [[f64; 6]]) {
        let n = self.sites();
        let d = 2 * n;
        let dv = self.lattice.cell_volume();
        let eps = self.params.decoherence_excess;
        let coupled = self.params.diffusion != 0.0;
        br.copy_from_slice(&f.per.br);
        let k: Vec<Mat5> = c.sites.iter().map(|s| s.k).collect();
        // x̄: Ω Rᵀk R x̄ − Γ Rᵀp R x̄
        let mut v = vec![0.0; d];
        self.jets.apply(&k, xbar, &mut v);
        for i in 0..n {
            dx[i] = v[n + i] / dv;
            dx[n + i] = -v[i] / dv;
        }
        if coupled {
            self.jets.apply(&f.per.p, xbar, &mut v);
            let mut gv = vec![0.0; d];
            matvec(gamma, &v, &mut gv);
            for i in 0..d {
                dx[i] -= gv[i];
            }
        }
        // Γ: E + Eᵀ with E = (ΓRᵀkᵀR) Ωᵀ
        let mut zk = self.scratch.zeroed(d * d);
        self.jets.apply_rows(&k, gamma, &mut zk);
        par::chunks(n, dg, d, |i, o| {
            let z = &zk[i * d..(i + 1) * d];
            for j in 0..n {
                o[j] = z[n + j] / dv;
                o[n + j] = -z[j] / dv;
            }
        });
        sym_add_transpose(dg, d, 1.0);
        if coupled {
            let sigma = &f.per.sigma;
            self.jets.scatter_omega(sigma, 0.25 * (1.0 + eps), dg);
            let mut zs = self.scratch.zeroed(d * d);
            self.jets.apply_rows(sigma, gamma, &mut zs);
            let mut t3 = self.scratch.zeroed(d * d);
            matmul_into(&zs, gamma, d, &mut t3);
            sym_add_transpose(&mut t3, d, 0.5);
            par::chunks(n, dg, d, |i, o| o.iter_mut().zip(&t3[i * d..(i + 1) * d]).for_each(|(o, t)| *o -= t));
        }
    }

    /// The noise forms b_x = Σ_I ξ_I ã_I of the increments dW (component-major: dw[k·n + i]).
    pub fn noise_forms(&self, c: &Coeffs, dw: &[f64]) -> Vec<Mat5> {
        let n = self.sites();
        (0..n)
            .map(|x| {
                let w: [f64; 6] = std::array::from_fn(|k| dw[k * n + x]);
                c.sites[x].noise_form(&c.sites[x].xi(&w))
            })
            .collect()
    }

    /// The noise vector field at B = Σ R_xᵀ b_x R_x: (−ΓBx̄, −ΓBΓ + q) with q = ¼ΩBΩᵀ precomputed.
    pub fn noise_field(&self, b: &[Mat5], q: &[f64], xbar: &[f64], gamma: &[f64], fx: &mut [f64], fg: &mut [f64]) {
        let d = self.dim();
        let mut v = vec![0.0; d];
        self.jets.apply(b, xbar, &mut v);
        matvec(gamma, &v, fx);
        fx.iter_mut().for_each(|f| *f = -*f);
        let mut zb = self.scratch.zeroed(d * d);
        self.jets.apply_rows(b, gamma, &mut zb);
        let mut t = self.scratch.zeroed(d * d);
        matmul_into(&zb, gamma, d, &mut t);
        sym_add_transpose(&mut t, d, 0.5);
        par::chunks(d / 2, fg, d, |i, o| {
            let r = i * d..(i + 1) * d;
            o.iter_mut().zip(t[r.clone()].iter().zip(&q[r])).for_each(|(o, (t, q))| *o = q - t)
        });
    }

    /// The strength of a step's conditioning: (largest |λ|, largest −λ) over sites of the eigenvalues λ of
    /// Γ_loc^½ b_x Γ_loc^½ (the local ΓB). The flow of the frozen noise field is a matrix Riccati equation
    /// dΓ/ds = −ΓBΓ + ¼ΩBΩᵀ; along a direction with λ < 0 it escapes to infinity at s ≈ 1/|λ|, so a step is
    /// valid only for −λ well below 1 (see [`MAX_CONDITIONING_STRENGTH`]).
    pub fn conditioning_strength(&self, b: &[Mat5], gamma: &[f64]) -> (f64, f64) {
        conditioning_strength_local(b, &self.local_covs(gamma))
    }

    /// The drift's stiffness ρ at (x̄, Γ): the largest eigenvalue over sites of Γ_loc^½ σ_x Γ_loc^½, the rate of the
    /// Riccati term −ΓRᵀσRΓ of the drift (the information rate of the conditioning; docs/quantum.md §4). A drift
    /// over h integrated by RK4 keeps the pure states pure to O((ρh)⁵) per step; the sub-stepping controller keeps
    /// ρh ≤ τ (numerics/substep.rs). Zero without coupling.
    pub fn drift_stiffness(&self, c: &Coeffs, xbar: &[f64], gamma: &[f64]) -> f64 {
        if self.params.diffusion == 0.0 {
            return 0.0;
        }
        self.stiffness_of(&self.drift_forms(c, xbar, gamma))
    }

    /// [`Self::drift_stiffness`] from the drift's per-site forms at (x̄, Γ).
    pub fn stiffness_of(&self, f: &DriftForms) -> f64 {
        if self.params.diffusion == 0.0 {
            return 0.0;
        }
        conditioning_strength_local(&f.per.sigma, &f.loc).0
    }

    /// The conditioning on the increments `dw` at Γ: the noise forms b_x and their strength (largest |λ|, largest
    /// escape rate) of [`Self::conditioning_strength`].
    pub fn conditioning(&self, c: &Coeffs, dw: &[f64], gamma: &[f64]) -> Conditioning {
        let forms = self.noise_forms(c, dw);
        let (size, escape) = self.conditioning_strength(&forms, gamma);
        Conditioning { forms, size, escape }
    }

    /// The noise flow over one step: the exact flow (to RK4 accuracy in s ∈ [0, 1], [`noise_substeps`] sub-steps)
    /// of the noise vector field frozen at this step's increments. Composed with the Stratonovich drift this is a
    /// Lie splitting of the Stratonovich SDE (docs/quantum.md §4). The GPU twin records the same sub-steps
    /// (backend/gpu/dense_field.rs).
    pub fn noise_flow(&self, c: &Coeffs, dw: &[f64], xbar: &mut [f64], gamma: &mut [f64]) -> anyhow::Result<()> {
        let cond = self.conditioning(c, dw, gamma);
        check_conditioning(cond.escape)?;
        self.conditioning_flow(&cond, xbar, gamma);
        Ok(())
    }

    /// The flow of the noise field of `cond` (computed at this Γ by [`Self::conditioning`]) over s ∈ [0, 1]: RK4 in
    /// s with [`noise_substeps`] sub-steps.
    pub fn conditioning_flow(&self, cond: &Conditioning, xbar: &mut [f64], gamma: &mut [f64]) {
        use crate::numerics::rk4::{combine_f64, STAGES};
        let d = self.dim();
        let b = &cond.forms;
        let mut q = vec![0.0; d * d];
        self.jets.scatter_omega(b, 0.25, &mut q);
        let m = noise_substeps(cond.size);
        let h = 1.0 / m as f64;
        let (mut kx, mut kg) = (vec![0.0; d], vec![0.0; d * d]);
        let (mut ax, mut ag) = (vec![0.0; d], vec![0.0; d * d]);
        let (mut u1x, mut u1g, mut u2x, mut u2g) = (vec![0.0; d], vec![0.0; d * d], vec![0.0; d], vec![0.0; d * d]);
        for _ in 0..m {
            // classical RK4 in s, the same fused stages as the drift (numerics/rk4.rs)
            for st in STAGES {
                {
                    let (ix, ig): (&[f64], &[f64]) = match st.index {
                        0 => (xbar, gamma),
                        1 | 3 => (&u1x, &u1g),
                        _ => (&u2x, &u2g),
                    };
                    self.noise_field(b, &q, ix, ig, &mut kx, &mut kg);
                }
                let (nx, ng) = if st.index == 1 { (&mut u2x, &mut u2g) } else { (&mut u1x, &mut u1g) };
                combine_f64(&st, h, &kx, xbar, &mut ax, nx);
                combine_f64(&st, h, &kg, gamma, &mut ag, ng);
            }
        }
    }

    /// The RK4 of the Stratonovich drift over `dt` with the metric frozen at the coefficients `c` (the same fused
    /// stages and arithmetic as the stepper, numerics/rk4.rs).
    pub fn drift_rk4(&self, c: &Coeffs, xbar: &mut [f64], gamma: &mut [f64], dt: f64) {
        use crate::numerics::rk4::{combine_f64, STAGES};
        let n = self.sites();
        let d = 2 * n;
        let (mut ax, mut ag) = (vec![0.0; d], vec![0.0; d * d]);
        let (mut u1x, mut u1g, mut u2x, mut u2g) = (vec![0.0; d], vec![0.0; d * d], vec![0.0; d], vec![0.0; d * d]);
        let (mut kx, mut kg, mut br) = (vec![0.0; d], vec![0.0; d * d], vec![[0.0; 6]; n]);
        for st in STAGES {
            {
                let (ix, ig): (&[f64], &[f64]) = match st.index {
                    0 => (xbar, gamma),
                    1 | 3 => (&u1x, &u1g),
                    _ => (&u2x, &u2g),
                };
                self.drift(c, ix, ig, &mut kx, &mut kg, &mut br);
            }
            let (nx, ng) = if st.index == 1 { (&mut u2x, &mut u2g) } else { (&mut u1x, &mut u1g) };
            combine_f64(&st, dt, &kx, xbar, &mut ax, nx);
            combine_f64(&st, dt, &kg, gamma, &mut ag, ng);
        }
    }

    /// One unrefined step with the metric frozen at the coefficients `c`: [`Self::drift_rk4`] over dt, then the
    /// noise flow of the increments `dw` (component-major 6n; None: no noise). This is the plain Lie step the
    /// stepper takes when the sub-stepping controller does not refine it (backend/cpu/dense_field.rs
    /// `step_frozen_adaptive` is the stepper's step including the refinement); tests use it to drive the scheme
    /// with given noise paths.
    pub fn step_frozen(&self, c: &Coeffs, xbar: &mut [f64], gamma: &mut [f64], dt: f64, dw: Option<&[f64]>) -> anyhow::Result<()> {
        self.drift_rk4(c, xbar, gamma, dt);
        if let Some(dw) = dw {
            self.noise_flow(c, dw, xbar, gamma)?;
        }
        Ok(())
    }

    /// Per-site diagnostics of the fluctuations (SPEC §5, §6).
    pub fn site_quantum(&self, c: &Coeffs, gamma: &[f64]) -> Vec<SiteQuantum> {
        site_quantum_from_local(c, &self.local_covs(gamma))
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn site_form_avx2(m: &GaussianModel, c: &Coeffs, loc: &[Mat5], br_loc: &[Mat5], xbar: &[f64], x: usize) -> ([f64; 6], Mat5, Mat5) {
    m.site_form(c, loc, br_loc, xbar, x)
}

/// # Safety
/// The CPU must have AVX-512 F, VL and DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512dq")]
unsafe fn site_form_avx512(m: &GaussianModel, c: &Coeffs, loc: &[Mat5], br_loc: &[Mat5], xbar: &[f64], x: usize) -> ([f64; 6], Mat5, Mat5) {
    m.site_form(c, loc, br_loc, xbar, x)
}

/// Per-site diagnostics of the fluctuations from the jet covariances Γ_loc(x) (any representation).
pub fn site_quantum_from_local(c: &Coeffs, loc: &[Mat5]) -> Vec<SiteQuantum> {
    use crate::numerics::jets::J_PHI;
    loc.iter()
        .zip(&c.sites)
        .map(|(l, s)| SiteQuantum {
            phi2: l[J_PHI][J_PHI],
            pi2: l[J_PI][J_PI],
            rho: expectation(&s.e, l) - expectation(&s.e, &c.vacuum),
            mom: std::array::from_fn(|a| l[J_PI][a] - c.vacuum[J_PI][a]),
            backreaction: std::array::from_fn(|i| expectation(&s.a[i], l) - expectation(&s.a[i], &c.vacuum)),
        })
        .collect()
}

/// The metric ḡ + δg of each site and the lapse of a state held as SoA fields over `n` sites (state.rs layout).
fn soa_geometry<'a>(u: &'a [f64], background: &'a [f64; 6], n: usize) -> (impl Fn(usize) -> Sym<f64> + Sync + 'a, &'a [f64]) {
    use crate::state::var;
    (move |i: usize| -> Sym<f64> { std::array::from_fn(|k| background[k] + u[(var::G + k) * n + i]) }, &u[var::LAPSE * n..(var::LAPSE + 1) * n])
}

/// The box means of the metric and the lapse of per-site coefficients over the `domain`'s whole lattice (plane
/// order, [`SiteDomain::box_sums`]).
pub fn box_mean_geometry(sites: &[SiteCoeffs], domain: &dyn SiteDomain) -> (Sym<f64>, f64) {
    let cols: Vec<Vec<f64>> = (0..7).map(|k| sites.iter().map(|s| if k < 6 { s.geo.g[k] } else { s.geo.lapse }).collect()).collect();
    let refs: Vec<&[f64]> = cols.iter().map(|c| &c[..]).collect();
    let m = crate::numerics::site_domain::box_means(domain, &refs);
    (std::array::from_fn(|k| m[k]), m[6])
}

/// The conditioning strength of noise forms b_x at the jet covariances Γ_loc(x) ([`GaussianModel::conditioning_strength`]):
/// (largest |λ|, largest −λ) over sites of the eigenvalues λ of Γ_loc^½ b_x Γ_loc^½.
/// With Γ_loc = L Lᵀ (numerics/psd_factor.rs) these are the eigenvalues of Lᵀ b_x L: L = Γ_loc^½ Q with Q
/// orthogonal, so Lᵀ b L = Qᵀ (Γ_loc^½ b Γ_loc^½) Q — one factorisation and one symmetric eigenvalue problem per site.
pub fn conditioning_strength_local(b: &[Mat5], loc: &[Mat5]) -> (f64, f64) {
    use nalgebra::Matrix5;
    par::map(loc.len(), loc.len(), |x| {
        let l = psd_factor(&loc[x]);
        let l = Matrix5::from_fn(|i, j| l[i][j]);
        let s = l.transpose() * Matrix5::from_fn(|i, j| b[x][i][j]) * l;
        let ev = ((s + s.transpose()) * 0.5).symmetric_eigenvalues();
        let lo = ev.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ev.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (lo.abs().max(hi.abs()), (-lo).max(0.0))
    })
    .into_iter()
    .fold((0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Matrix5;

    /// The reference: the eigenvalues of Γ^½ b Γ^½ with Γ^½ from the eigen-decomposition of Γ (negative round-off
    /// eigenvalues clamped).
    fn strength_by_square_root(b: &Mat5, g: &Mat5) -> (f64, f64) {
        let e = nalgebra::SymmetricEigen::new(Matrix5::from_fn(|i, j| g[i][j]));
        let h = e.eigenvectors * Matrix5::from_diagonal(&e.eigenvalues.map(|l| l.max(0.0).sqrt())) * e.eigenvectors.transpose();
        let s = h * Matrix5::from_fn(|i, j| b[i][j]) * h;
        let ev = nalgebra::SymmetricEigen::new((s + s.transpose()) * 0.5).eigenvalues;
        let lo = ev.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ev.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (lo.abs().max(hi.abs()), (-lo).max(0.0))
    }

    /// The factorised strength equals the square-root formula on a positive-definite Γ_loc and on a singular one
    /// whose gradient rows vanish (a 2³ lattice), with an indefinite b.
    #[test]
    fn factorised_strength_is_the_square_root_formula() {
        let mut seed = 11u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let vs: Vec<[f64; 5]> = (0..7).map(|_| std::array::from_fn(|_| rnd())).collect();
        let pd: Mat5 = std::array::from_fn(|i| std::array::from_fn(|j| vs.iter().map(|v| v[i] * v[j]).sum()));
        let mut singular = ZERO5;
        for i in 3..5 {
            for j in 3..5 {
                singular[i][j] = pd[i][j];
            }
        }
        let r: Mat5 = std::array::from_fn(|_| std::array::from_fn(|_| rnd()));
        let b: Mat5 = std::array::from_fn(|i| std::array::from_fn(|j| r[i][j] + r[j][i]));
        for g in [pd, singular] {
            let (want, got) = (strength_by_square_root(&b, &g), conditioning_strength_local(&[b], &[g]));
            assert!(want.0 > 0.05 && want.1 > 0.0, "the test needs an indefinite b: {want:?}");
            assert!((got.0 - want.0).abs() <= 1e-12 * want.0 && (got.1 - want.1).abs() <= 1e-12 * want.0, "{got:?} vs {want:?}");
        }
    }
}
