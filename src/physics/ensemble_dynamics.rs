//! SPEC §4.1 in the `ensemble` representation (SPEC §4.2; docs/quantum.md E1–E10): the Gaussian state as its mean x̄
//! (the state's φ, π_φ fields) and M member fields δ_s ∈ R^{2n} (square-root form; numerics/member_ops.rs holds
//! them) in two halves A = [0, M/2), B = [M/2, M), each centred (Σ_{s∈A} δ_s = 0 = Σ_{s∈B} δ_s), so each half
//! estimates Γ without bias, Γ_A = Σ_{s∈A} δ_sδ_sᵀ/(M/2 − 1), and the whole ensemble does,
//! Γ_ens = Σ_s δ_sδ_sᵀ/(M − 2). Nothing of size n² is formed: every product with Γ goes through the members,
//! Γ v = Σ_s δ_s (δ_s · v)/(M − 2), localised by a positive-definite taper (numerics/localization.rs):
//! Γ_ρ = ρ ∘ Γ_ens, applied by site pairs (O(K·M·n)) or block Gram matrices (O(M²·n)), docs/quantum.md E4.
//!
//! The equations are the dense representation's (docs/quantum.md §3) with ε = 0 (saturated decoherence):
//!   Stratonovich drift   dx̄/dt = Ω Rᵀk R x̄ − Γ Rᵀp R x̄,   dΓ/dt = KΓ + ΓKᵀ + ¼ΩΣΩᵀ − ΓΣΓ,
//!   noise flow (s ∈ [0,1]) dx̄/ds = −Γ B x̄,              dΓ/ds = −ΓBΓ + ¼ΩBΩᵀ,
//! with K = Ω Rᵀk R, Σ = Rᵀσ R, B = Rᵀb R (per-site forms of physics/gaussian_dynamics.rs). For a pure state
//! (2ΓΩ⁻¹)² = −1, i.e. ΓΩ⁻¹Γ = ¼Ωᵀ, and then for any symmetric X
//!   −ΓXΓ + ¼ΩXΩᵀ = G_X Γ + Γ G_Xᵀ,   G_X = ½(Ω X Γ Ω⁻¹ − Γ X),
//! where G_X = Ω S_X with S_X = ½(XΓΩ⁻¹ − Ω⁻¹ΓX) symmetric: a Hamiltonian (infinitesimally symplectic) matrix.
//! So the members move by linear maps, dδ_s = (K + G_Σ) δ_s dt and dδ_s/ds = G_B δ_s; G is symplectic for ANY
//! symmetric Γ in it, so the Gaussian state the members sample stays pure for every M. G is built from the OTHER
//! half's (localised) covariance — half A moves with G(Γ_B), half B with G(Γ_A) (the "double" ensemble of
//! Houtekamer & Mitchell 1998): with G built from a half's own samples S, E[S X S] = ΣXΣ + (ΣXΣ + tr(XΣ)Σ)/ν and
//! E[SΩ⁻¹S] = (1 − 1/ν)ΣΩ⁻¹Σ (Wishart moments, ν dof), a deflation whose lattice trace tr(XΣ) grows with n (tested:
//! 45 % low at M = 16 on 49 sites); with independent halves E[Γ_B X Γ_A] = ΣXΣ, and the drift of Γ_ens is
//! unbiased. The decoherence of the saturated trade-off is inside these maps:
//! along one trajectory the Lindblad heating ¼ΩΣΩᵀ and the conditioning −ΓΣΓ combine into the deterministic
//! symplectic G_Σ (docs/quantum.md E3 states the random-Lindblad-rotation picture of the average, tested by the trajectory average).
//!
//! Time integration: the drift in the stepper's RK4 stages (as dense); the noise flow by the implicit midpoint
//! rule in s (Gauss–Legendre, order 2), which preserves the members' symplectic Gram matrix δ_rᵀΩ⁻¹δ_s exactly
//! (it is a quadratic invariant of dδ/ds = G(δ)δ for every Hamiltonian G), solved by fixed-point iteration with a
//! count fixed by the step's strength (so the GPU twin does the same work), in sub-steps with h·|λ| ≤
//! [`FLOW_STEP`].
use super::gaussian_dynamics::{check_conditioning, conditioning_strength_local, Coeffs, GaussianModel};
use super::gaussian_forms::QuantumParams;
use super::tensor::Sym;
use crate::numerics::jets::{JetMap, Mat5, J_PHI, J_PI};
use crate::numerics::lattice::Lattice;
use crate::numerics::localization::{Blocks, SitePairs};
use crate::numerics::member_ops::{MemberOps, Rows};
use crate::numerics::site_domain::{SiteDomain, WholeLattice};
use crate::numerics::stencil::Stencil;
use rayon::prelude::*;

/// Largest h·|λ| of one implicit-midpoint sub-step of the noise flow (|λ| the conditioning strength,
/// [`GaussianModel::conditioning_strength`]); the local error is ~ (h|λ|)³/12.
pub const FLOW_STEP: f64 = 0.05;

/// Sub-steps of the noise flow for a step of strength `size`.
pub fn flow_substeps(size: f64) -> usize {
    ((size / FLOW_STEP).ceil() as usize).max(1)
}

/// Fixed-point iterations of one implicit-midpoint sub-step of size h·|λ| = `hs`: the iteration contracts by about
/// h|λ| per pass, so ⌈15/−log10(h|λ|)⌉ passes reach round-off (at least 2, at most 40).
pub fn midpoint_iterations(hs: f64) -> usize {
    if hs <= 1e-15 {
        return 2;
    }
    ((15.0 / -hs.log10()).ceil() as usize).clamp(2, 40)
}

/// The ensemble representation's settings (config [matter]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnsembleParams {
    /// M ≥ 2
    pub members: usize,
    /// Gaspari–Cohn half-width c of the localisation, coordinate units (0 = none; config: in lattice spacings)
    pub localization: f64,
    /// estimate the back-reaction with the homogeneous control variate
    pub control_variate: bool,
    /// key of the initial samples (`run.seed`; their Philox stream is independent of the CQ noise's)
    pub seed: u64,
    /// `initial.fluctuation_cutoff` (issue 13): > 0 when the initial members keep only |k| ≤ this — a
    /// classical-statistical ensemble, not a quantum state (the physicality monitor does not stop it)
    pub fluctuation_cutoff: f64,
}

impl Default for EnsembleParams {
    fn default() -> Self {
        Self { members: 64, localization: 0.0, control_variate: true, seed: 1, fluctuation_cutoff: 0.0 }
    }
}

/// The lattice model of the ensemble (fixed for a run).
#[derive(Debug, Clone)]
pub struct EnsembleModel {
    pub gauss: GaussianModel,
    pub ops: MemberOps,
    pub blocks: Blocks,
    /// the localised products by site pairs when the blocks are single sites and that is cheaper
    /// ([`Blocks::site_pairs`]); `None`: by block Gram matrices
    pub pairs: Option<SitePairs>,
    pub params: EnsembleParams,
}

impl EnsembleModel {
    pub fn new(lattice: Lattice, stencil: Stencil, q: QuantumParams, params: EnsembleParams) -> Self {
        let gauss = GaussianModel::new(lattice, stencil, q);
        let ops = MemberOps::new(JetMap::new(&lattice, &stencil), params.members);
        let blocks = Blocks::new(&lattice, params.localization);
        let pairs = blocks.site_pairs(params.members);
        Self { gauss, ops, blocks, pairs, params }
    }
    pub fn sites(&self) -> usize {
        self.gauss.sites()
    }
    pub fn members(&self) -> usize {
        self.params.members
    }
    /// 1/(M − 2), the normalisation of Γ_ens (two centred halves).
    pub fn norm(&self) -> f64 {
        1.0 / (self.members() as f64 - 2.0)
    }
    /// 1/(M/2 − 1), the normalisation of one half's Γ.
    pub fn half_norm(&self) -> f64 {
        1.0 / (self.members() as f64 / 2.0 - 1.0)
    }
    /// Length of a member array (2n·M).
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn cell_volume(&self) -> f64 {
        self.gauss.lattice.cell_volume()
    }

    /// Γ_loc(x) = R_x Γ_ens R_xᵀ per site.
    pub fn local_covs(&self, d: &[f64]) -> Vec<Mat5> {
        self.ops.local_covs(d, self.norm())
    }

    /// out = Γ_ρ v (v, out: 2n).
    pub fn cov_apply(&self, d: &[f64], v: &[f64], out: &mut [f64]) {
        self.cov_apply_in(d, v, out, &WholeLattice(self.gauss.lattice))
    }

    /// [`Self::cov_apply`] on the `domain`'s local lattice: by site pairs, out is computed at the owned sites only
    /// (elsewhere it keeps its values; issue 18: a slab's ghost planes, which the next exchange refills).
    pub fn cov_apply_in(&self, d: &[f64], v: &[f64], out: &mut [f64], domain: &dyn SiteDomain) {
        if let Some(pairs) = &self.pairs {
            return self.ops.pair_vec(pairs, d, v, self.norm(), out, domain.owned());
        }
        let w = self.members() * self.blocks.len();
        let mut g = self.ops.scratch.zeroed(w);
        self.ops.gram_vec(&self.blocks, d, v, Rows::Both, 1.0, &mut g);
        let mut gt = self.ops.scratch.zeroed(w);
        self.blocks.taper(&g, self.members(), &mut gt);
        out.iter_mut().for_each(|o| *o = 0.0);
        self.ops.combine_vec(&self.blocks, d, &gt, self.norm(), out);
    }

    /// out = G_X δ_s = ½(Ω X Γ_ρ Ω⁻¹ δ_s − Γ_ρ X δ_s) for every member, X = Σ_x R_xᵀ z_x R_x, with Γ_ρ the localised
    /// covariance of the other half (overwrites out).
    pub fn symplectic_generator(&self, z: &[Mat5], d: &[f64], out: &mut [f64]) {
        self.symplectic_generator_in(z, d, out, &WholeLattice(self.gauss.lattice))
    }

    /// [`Self::symplectic_generator`] on the `domain`'s local lattice. By site pairs (issue 18) the products are
    /// taken at the owned sites only and w's ghost planes come from the neighbours (an exchange of 2M values per
    /// site instead of recomputing the products on S + 2r ghost planes per side); out is right at the owned sites.
    pub fn symplectic_generator_in(&self, z: &[Mat5], d: &[f64], out: &mut [f64], domain: &dyn SiteDomain) {
        let (m, nb, dv) = (self.members(), self.blocks.len(), self.cell_volume());
        let nm = self.sites() * m;
        let mut u = self.ops.scratch.zeroed(d.len());
        self.ops.apply_forms(z, d, &mut u);
        if let Some(pairs) = &self.pairs {
            // w = Γ_ρ Ω⁻¹ δ and out = −½ Γ_ρ X δ by site pairs, then out += ½ Ω X w
            let mut w = self.ops.scratch.zeroed(d.len());
            self.ops.pair_products(pairs, d, &u, dv, self.half_norm(), &mut w, -0.5 * self.half_norm(), out, false, domain.owned());
            domain.exchange(&mut w, 2, m);
            self.ops.apply_forms(z, &w, &mut u);
            let (phi, pi) = out.split_at_mut(nm);
            phi.par_iter_mut().zip(&u[nm..]).for_each(|(o, v)| *o += 0.5 * v / dv);
            pi.par_iter_mut().zip(&u[..nm]).for_each(|(o, v)| *o -= 0.5 * v / dv);
            return;
        }
        // C^X_rs = Σ δ_r·(Xδ_s), C^Ω_rs = Σ δ_r·(Ω⁻¹δ_s) with (Ω⁻¹δ)_φ = −ΔV δ_π, (Ω⁻¹δ)_π = ΔV δ_φ; per block, tapered
        let mut gx = self.ops.scratch.zeroed(nb * m * m);
        self.ops.gram(&self.blocks, d, Rows::Both, &u, Rows::Both, 1.0, &mut gx);
        let mut go = self.ops.scratch.zeroed(nb * m * m);
        self.ops.gram(&self.blocks, d, Rows::Phi, d, Rows::Pi, -dv, &mut go);
        self.ops.gram(&self.blocks, d, Rows::Pi, d, Rows::Phi, dv, &mut go);
        // member s is moved by the other half: keep C_rs only for r, s in different halves
        cross_halves(&mut gx, m);
        cross_halves(&mut go, m);
        let mut t = self.ops.scratch.zeroed(nb * m * m);
        self.blocks.taper(&gx, m * m, &mut t);
        std::mem::swap(&mut gx, &mut t);
        self.blocks.taper(&go, m * m, &mut t);
        // w = Γ_ρ Ω⁻¹ δ, then u = X w, out = ½ Ω u − ½ Γ_ρ X δ
        let mut w = self.ops.scratch.zeroed(d.len());
        self.ops.combine(&self.blocks, d, &t, self.half_norm(), &mut w);
        self.ops.apply_forms(z, &w, &mut u);
        let (phi, pi) = out.split_at_mut(nm);
        phi.par_iter_mut().zip(&u[nm..]).for_each(|(o, v)| *o = 0.5 * v / dv);
        pi.par_iter_mut().zip(&u[..nm]).for_each(|(o, v)| *o = -0.5 * v / dv);
        self.ops.combine(&self.blocks, d, &gx, -0.5 * self.half_norm(), out);
    }

    /// ΩRᵀzR applied to every member (overwrites out).
    pub fn hamiltonian_flow(&self, z: &[Mat5], d: &[f64], out: &mut [f64]) {
        let dv = self.cell_volume();
        let nm = self.sites() * self.members();
        let mut u = self.ops.scratch.zeroed(d.len());
        self.ops.apply_forms(z, d, &mut u);
        let (phi, pi) = out.split_at_mut(nm);
        phi.par_iter_mut().zip(&u[nm..]).for_each(|(o, v)| *o = v / dv);
        pi.par_iter_mut().zip(&u[..nm]).for_each(|(o, v)| *o = -v / dv);
    }

    /// The Stratonovich drift: ∂t x̄ into `dx` (2n), ∂t δ_s into `dd`, and the fluctuation back-reaction
    /// ⟨L̂_I⟩_ren − ½x̄ᵀA_Ix̄ per site into `br`, evaluated with the jet covariances `br_loc` (the members' own, or
    /// the control-variate estimate).
    /// `loc` = [`Self::local_covs`] of `d`.
    /// On the `domain`'s local lattice (the whole lattice on one process; issue 18: right at a slab's owned sites).
    #[allow(clippy::too_many_arguments)]
    pub fn drift(
        &self,
        c: &Coeffs,
        xbar: &[f64],
        d: &[f64],
        loc: &[Mat5],
        br_loc: &[Mat5],
        dx: &mut [f64],
        dd: &mut [f64],
        br: &mut [[f64; 6]],
        domain: &dyn SiteDomain,
    ) {
        let n = self.sites();
        let dv = self.cell_volume();
        let coupled = self.gauss.params.diffusion != 0.0;
        let per = self.gauss.site_forms(c, loc, br_loc, xbar);
        br.copy_from_slice(&per.br);
        let k: Vec<Mat5> = c.sites.iter().map(|s| s.k).collect();
        // x̄: Ω Rᵀk R x̄ − Γ_ρ Rᵀp R x̄
        let mut v = vec![0.0; 2 * n];
        self.ops.apply_forms_vec(&k, xbar, &mut v);
        for i in 0..n {
            dx[i] = v[n + i] / dv;
            dx[n + i] = -v[i] / dv;
        }
        // members: (K + G_σ) δ_s
        self.hamiltonian_flow(&k, d, dd);
        if coupled {
            self.ops.apply_forms_vec(&per.p, xbar, &mut v);
            let mut gv = vec![0.0; 2 * n];
            self.cov_apply_in(d, &v, &mut gv, domain);
            dx.iter_mut().zip(&gv).for_each(|(a, b)| *a -= b);
            let mut g = self.ops.scratch.zeroed(d.len());
            self.symplectic_generator_in(&per.sigma, d, &mut g, domain);
            dd.par_iter_mut().zip(&g[..]).for_each(|(a, b)| *a += b);
        }
    }

    /// The noise flow of one step with the increments dW (component-major 6n) and the step-start coefficients
    /// `c`: implicit midpoint sub-steps of (x̄, δ_s). Returns the number of sub-steps.
    pub fn noise_flow(&self, c: &Coeffs, dw: &[f64], xbar: &mut [f64], d: &mut [f64]) -> anyhow::Result<u32> {
        self.noise_flow_in(c, dw, xbar, d, &WholeLattice(self.gauss.lattice))
    }

    /// [`Self::noise_flow`] on the `domain`'s local lattice (issue 18; `dw` with fresh ghost planes): the
    /// strength is the maximum over the owned sites of all ranks, and the members' and x̄'s ghost planes are
    /// refilled before every evaluation of the flow (each reaches S + 2r sites: the taper's support and the jets
    /// of its forms).
    pub fn noise_flow_in(&self, c: &Coeffs, dw: &[f64], xbar: &mut [f64], d: &mut [f64], domain: &dyn SiteDomain) -> anyhow::Result<u32> {
        let b = self.gauss.noise_forms(c, dw);
        let m = self.members();
        domain.exchange(d, 2, m);
        let owned = domain.owned();
        let (size, escape) = conditioning_strength_local(&b[owned.clone()], &self.local_covs(d)[owned]);
        let (size, escape) = (domain.max(size), domain.max(escape));
        anyhow::ensure!(
            size.is_finite() && escape.is_finite(),
            "the conditioning strength of this step is not finite ({size:e}): the state has blown up"
        );
        check_conditioning(escape)?;
        let steps = flow_substeps(size);
        let h = 1.0 / steps as f64;
        let iters = midpoint_iterations(h * size);
        let n2 = xbar.len();
        let (mut mid, mut g) = (self.ops.scratch.zeroed(d.len()), self.ops.scratch.zeroed(d.len()));
        let (mut xm, mut v, mut gv) = (vec![0.0; n2], vec![0.0; n2], vec![0.0; n2]);
        for _ in 0..steps {
            domain.exchange(xbar, 2, 1);
            let mut d0 = self.ops.scratch.zeroed(d.len());
            d0.copy_from_slice(d);
            let x0 = xbar.to_vec();
            for it in 0..iters {
                if it > 0 {
                    domain.exchange(d, 2, m);
                    domain.exchange(xbar, 2, 1);
                }
                mid.par_iter_mut().zip(d0.par_iter().zip(d.par_iter())).for_each(|(m, (a, b))| *m = 0.5 * (a + b));
                xm.iter_mut().zip(x0.iter().zip(xbar.iter())).for_each(|(m, (a, b))| *m = 0.5 * (a + b));
                self.symplectic_generator_in(&b, &mid, &mut g, domain);
                self.ops.apply_forms_vec(&b, &xm, &mut v);
                self.cov_apply_in(&mid, &v, &mut gv, domain);
                d.par_iter_mut().zip(d0.par_iter().zip(g.par_iter())).for_each(|(o, (a, gg))| *o = a + h * gg);
                xbar.iter_mut().zip(x0.iter().zip(gv.iter())).for_each(|(o, (a, gg))| *o = a - h * gg);
            }
            domain.exchange(d, 2, m);
        }
        Ok(steps as u32)
    }

    /// The statistical error (one standard deviation) of the box-mean back-reaction trace (1/n)Σ_x g_ab⟨L̂^ab⟩_ren
    /// (9-term sum) estimated from the members `d` (minus their shadows `h` with the control variate): with
    /// q_s = (1/n)Σ_x ½(Y_sᵀW_xY_s − Y^hᵀ_sW_xY^h_s), W_x = Σ_ab g_ab ã_ab(x), the estimate is Σ_s q_s/(M−2) (+ a
    /// constant) and its standard error √M·sd(q)/(M − 2).
    pub fn backreaction_error(&self, c: &Coeffs, d: &[f64], h: Option<&[f64]>) -> f64 {
        self.backreaction_error_in(c, d, h, &WholeLattice(self.gauss.lattice))
    }

    /// [`Self::backreaction_error`] on the `domain`'s local lattice (issue 18): each member's q_s summed over the
    /// whole lattice in the domain's plane order.
    pub fn backreaction_error_in(&self, c: &Coeffs, d: &[f64], h: Option<&[f64]>, domain: &dyn SiteDomain) -> f64 {
        let (n, m) = (self.sites(), self.members());
        let w = [1.0, 2.0, 2.0, 1.0, 2.0, 1.0];
        // per site, then summed in the domain's order: the same bits on every run and any number of ranks (a rayon
        // reduce's order follows its splits)
        let per_site: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map_init(
                || (vec![0.0; 5 * m], vec![0.0; 5 * m]),
                |(y, yh), x| {
                    let s = &c.sites[x];
                    let mut wx = [[0.0; 5]; 5];
                    for k in 0..6 {
                        crate::numerics::jets::mat5_axpy(w[k] * s.geo.g[k], &s.a[k], &mut wx);
                    }
                    self.ops.jets_at(d, x, y);
                    if let Some(h) = h {
                        self.ops.jets_at(h, x, yh);
                    }
                    (0..m)
                        .map(|k| {
                            let form = |v: &[f64]| -> f64 {
                                (0..5).map(|i| (0..5).map(|j| v[i * m + k] * wx[i][j] * v[j * m + k]).sum::<f64>()).sum::<f64>()
                            };
                            0.5 * (form(y) - if h.is_some() { form(yh) } else { 0.0 })
                        })
                        .collect::<Vec<f64>>()
                },
            )
            .collect();
        let cols: Vec<Vec<f64>> = (0..m).map(|k| per_site.iter().map(|v| v[k]).collect()).collect();
        let q = crate::numerics::site_domain::box_means(domain, &cols.iter().map(|c| &c[..]).collect::<Vec<_>>());
        let mean = q.iter().sum::<f64>() / m as f64;
        let var = q.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m as f64 - 1.0);
        (m as f64).sqrt() * var.sqrt() / (m as f64 - 2.0)
    }

    /// The members' symplectic Gram matrix δ_rᵀ Ω⁻¹ δ_s (M × M, row-major), an invariant of every symplectic
    /// map of the members (tests; O(M²n)).
    pub fn symplectic_gram(&self, d: &[f64]) -> Vec<f64> {
        let (m, dv) = (self.members(), self.cell_volume());
        let one = Blocks::new(&self.gauss.lattice, 0.0);
        let mut g = vec![0.0; m * m];
        self.ops.gram(&one, d, Rows::Phi, d, Rows::Pi, -dv, &mut g);
        self.ops.gram(&one, d, Rows::Pi, d, Rows::Phi, dv, &mut g);
        g
    }
}

/// The local physicality proxy at one site: 2ΔV·sqrt(det) of the (φ, π) block of the jet covariance, the
/// symplectic eigenvalue of the site's reduced state relative to ½ (≥ 1 for any physical state).
pub fn local_symplectic_ratio(loc: &Mat5, cell_volume: f64) -> f64 {
    let det = loc[J_PHI][J_PHI] * loc[J_PI][J_PI] - loc[J_PHI][J_PI] * loc[J_PI][J_PHI];
    2.0 * cell_volume * det.max(0.0).sqrt()
}

/// M members sampled from the lattice Fock vacuum of the homogeneous metric `g` (any lapse): in Fourier space
/// δ̃_k = Γ_k^½ w̃_k with w white noise per site from the counter-based generator (seed, site, member), so the
/// sample covariance has expectation Γ_vac; then each half centred (so Σ_half δδᵀ/(M/2 − 1) stays unbiased).
pub fn sample_vacuum_homogeneous(lat: &Lattice, stencil: &Stencil, g: &Sym<f64>, mass: f64, m: usize, seed: u64) -> anyhow::Result<Vec<f64>> {
    use num_complex::Complex64;
    let n = lat.sites();
    let (w, _) = super::lattice_vacuum::frequencies(lat, stencil, g, mass)?;
    let sqrtg = super::tensor::det(g).sqrt();
    let dv = lat.cell_volume();
    let fft = crate::numerics::fft::LatticeFft::new(lat);
    let mut d = vec![0.0; 2 * n * m];
    let cols: Vec<(Vec<f64>, Vec<f64>)> = (0..m)
        .into_par_iter()
        .map(|s| {
            let mut f: [Vec<Complex64>; 2] = std::array::from_fn(|_| vec![Complex64::default(); n]);
            for x in 0..n {
                let z = white_normals(seed, x, s);
                f[0][x] = Complex64::new(z[0], 0.0);
                f[1][x] = Complex64::new(z[1], 0.0);
            }
            for (fi, field) in f.iter_mut().enumerate() {
                fft.forward(field);
                for (k, v) in field.iter_mut().enumerate() {
                    let var = if fi == 0 { 1.0 / (2.0 * dv * sqrtg * w[k]) } else { sqrtg * w[k] / (2.0 * dv) };
                    *v *= var.sqrt() / n as f64;
                }
                fft.inverse(field);
            }
            (f[0].iter().map(|c| c.re).collect(), f[1].iter().map(|c| c.re).collect())
        })
        .collect();
    for (s, (phi, pi)) in cols.iter().enumerate() {
        for x in 0..n {
            d[x * m + s] = phi[x];
            d[(n + x) * m + s] = pi[x];
        }
    }
    center(&mut d, m);
    Ok(d)
}

/// M members sampled from a Gaussian with the given (φ, π)-block-diagonal covariance Γ (dense, 2n × 2n; for small
/// lattices: the exact vacuum of an inhomogeneous metric): δ = L w with L the Cholesky factors of the blocks.
pub fn sample_dense(gamma: &[f64], n: usize, m: usize, seed: u64) -> anyhow::Result<Vec<f64>> {
    use nalgebra::DMatrix;
    let d2 = 2 * n;
    let mut d = vec![0.0; 2 * n * m];
    for f in 0..2 {
        let block = DMatrix::from_fn(n, n, |i, j| gamma[(f * n + i) * d2 + f * n + j]);
        let l = nalgebra::Cholesky::new(block)
            .ok_or_else(|| anyhow::anyhow!("the initial covariance of the quantum field is not positive definite"))?
            .l();
        for s in 0..m {
            let wv: Vec<f64> = (0..n).map(|x| white_normals(seed, x, s)[f]).collect();
            for i in 0..n {
                d[(f * n + i) * m + s] = (0..=i).map(|j| l[(i, j)] * wv[j]).sum();
            }
        }
    }
    center(&mut d, m);
    Ok(d)
}

/// Two standard normals (φ, π) for (site, member) of the initial sample (stream ENSEMBLE_INIT, step 0).
fn white_normals(seed: u64, site: usize, member: usize) -> [f64; 2] {
    use crate::numerics::philox::{draw, normals4, stream};
    let z = normals4::<f64>(draw(seed, site as u32, member as u32, 0, stream::ENSEMBLE_INIT));
    [z[0], z[1]]
}

/// Subtract each half's member mean from every row (member-minor layout; halves [0, M/2) and [M/2, M)).
fn center(d: &mut [f64], m: usize) {
    let h = m / 2;
    d.par_chunks_mut(m).for_each(|row| {
        let (a, b) = row.split_at_mut(h);
        for half in [a, b] {
            let mean = half.iter().sum::<f64>() / half.len() as f64;
            half.iter_mut().for_each(|v| *v -= mean);
        }
    });
}

/// Zero the entries (r, s) of per-block M × M matrices with r and s in the same half.
fn cross_halves(g: &mut [f64], m: usize) {
    let h = m / 2;
    g.par_chunks_mut(m * m).for_each(|b| {
        for r in 0..m {
            for s in 0..m {
                if (r < h) == (s < h) {
                    b[r * m + s] = 0.0;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rnd(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    /// The site-pair products (numerics/localization.rs `SitePairs`) equal the block-Gram products with one-site
    /// blocks — the symplectic generator G_X δ_s (each half moved by the other's localised covariance) and Γ_ρ v — to
    /// round-off, on a lattice whose taper support wraps the box (c = h: K = 27; c = 1.5h: K = 100 > 4M, where the
    /// model itself picks the blocks), and on a long lattice whose cache-blocked slabs hold several z-planes.
    #[test]
    fn site_pairs_equal_block_grams() {
        let q = QuantumParams { mass: 1.0, diffusion: 1.0, beta: 0.0, decoherence_excess: 0.0, renormalize: true };
        for (shape, c, m, pairs_chosen) in [([6, 5, 4], 0.5, 8, true), ([6, 5, 4], 0.75, 8, false), ([6, 5, 4], 0.75, 32, true), ([4, 3, 64], 0.5, 8, true)] {
            let lat = Lattice::new(shape, 0.5);
            let params = EnsembleParams { members: m, localization: c, control_variate: false, seed: 1, fluctuation_cutoff: 0.0 };
            let model = EnsembleModel::new(lat, Stencil::new(4), q, params);
            assert_eq!(model.pairs.is_some(), pairs_chosen, "c = {c}, M = {m}: scheme");
            assert_eq!(Blocks::uses_site_pairs(&lat, c, m), pairs_chosen, "c = {c}, M = {m}: the memory estimate's scheme");
            let with_pairs = EnsembleModel { pairs: model.blocks.pairs(), ..model.clone() };
            let with_blocks = EnsembleModel { pairs: None, ..model };
            let n = lat.sites();
            let mut seed = 11;
            let d: Vec<f64> = (0..2 * n * m).map(|_| rnd(&mut seed)).collect();
            let z: Vec<Mat5> = (0..n).map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rnd(&mut seed)))).collect();
            let v: Vec<f64> = (0..2 * n).map(|_| rnd(&mut seed)).collect();
            let max_diff = |a: &[f64], b: &[f64]| -> (f64, f64) {
                let scale = b.iter().fold(0.0f64, |s, x| s.max(x.abs()));
                (a.iter().zip(b).fold(0.0f64, |s, (x, y)| s.max((x - y).abs())), scale)
            };
            let (mut ga, mut gb) = (vec![0.0; 2 * n * m], vec![0.0; 2 * n * m]);
            with_pairs.symplectic_generator(&z, &d, &mut ga);
            with_blocks.symplectic_generator(&z, &d, &mut gb);
            let (diff, scale) = max_diff(&ga, &gb);
            assert!(scale > 1e-3 && diff <= 1e-12 * scale, "c = {c}, M = {m}: G_X δ differs by {diff:e} (scale {scale:e})");
            let (mut va, mut vb) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
            with_pairs.cov_apply(&d, &v, &mut va);
            with_blocks.cov_apply(&d, &v, &mut vb);
            let (diff, scale) = max_diff(&va, &vb);
            assert!(scale > 1e-3 && diff <= 1e-12 * scale, "c = {c}, M = {m}: Γ_ρ v differs by {diff:e} (scale {scale:e})");
        }
    }
}
