//! The quantum scalar field's operators at one site as 5×5 jet forms (SPEC §4, §4.1; numerics/jets.rs for
//! Y_x = (D_1φ, D_2φ, D_3φ, φ, π_φ) at x). Pure functions of the local metric and lapse.
//!
//! - Hamiltonian  H_m = ½XᵀMX = Σ_x ½ Y_xᵀ m_x Y_x,  m_x = ΔV N [√g g^ab | √g m² | 1/√g]   (block diagonal)
//! - energy density Ĥ_m(x) = ½ Y_xᵀ e_x Y_x,  e_x = m_x/(ΔV N)
//! - back-reaction L̂^ab(x) = −(N√g/2)[D^aφD^bφ + ½g^ab(Π² − (Dφ)² − m²φ²)] = ½ Y_xᵀ ã_ab Y_x for the 6 stored
//!   components ab (each once; SPEC §3 𝒟 in the same components, docs/quantum.md §1)
//! - 𝒟⁻¹ at a site (white noise, ℓ = 0): (𝒟⁻¹)_ij = w_i w_j (ΔV/D2) s⁻¹_{a_ib_i c_jd_j} with w = 1 (diagonal),
//!   2 (off-diagonal) and s⁻¹_abcd = [½(g_ac g_bd + g_ad g_bc) + β/(1−3β) g_ab g_cd]/(N√g), the inverse of s on
//!   symmetric tensors (tested against the numerical inverse of physics/cq_noise.rs's 𝒟).
//!
//! With these, every Σ_IJ c_IJ A_I (·) A_J of SPEC §4.1 is local (white noise: I, J at the same site):
//! Σ_IJ c_IJ A_I S A_J = Σ_x R_xᵀ [Σ_IJ c_IJ ã_I (R_x S R_xᵀ) ã_J] R_x.
use super::tensor::{inverse, Sym, PAIRS, SYM};
use crate::numerics::jets::{mat5_axpy, mat5_mul, Mat5, J_PHI, J_PI, ZERO5};

/// Parameters of the quantum field's dynamics (config [matter] and [cq]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantumParams {
    pub mass: f64,
    /// D2 (0: no CQ coupling — unitary evolution, no decoherence, no conditioning)
    pub diffusion: f64,
    pub beta: f64,
    /// ε: C = (1 + ε) ¼ 𝒟⁻¹ (ε = 0: saturation)
    pub decoherence_excess: f64,
    /// `vacuum` renormalisation of ⟨L̂⟩ and ⟨Ĥ_m⟩ (SPEC §4); false = `none`
    pub renormalize: bool,
}

/// Metric data at one site.
#[derive(Debug, Clone, Copy)]
pub struct SiteGeometry {
    pub g: Sym<f64>,
    pub ginv: Sym<f64>,
    pub sqrtg: f64,
    pub lapse: f64,
}

impl SiteGeometry {
    pub fn new(g: &Sym<f64>, lapse: f64) -> Self {
        let (ginv, det) = inverse(g);
        Self { g: *g, ginv, sqrtg: det.sqrt(), lapse }
    }
    fn gi(&self, a: usize, b: usize) -> f64 {
        self.ginv[SYM[a][b]]
    }
}

/// e_x: Ĥ_m(x) = ½ Yᵀ e Y = ½(π²/√g + √g g^ab D_aφ D_bφ + √g m² φ²).
pub fn energy_density_form(geo: &SiteGeometry, mass: f64) -> Mat5 {
    let mut e = ZERO5;
    for a in 0..3 {
        for b in 0..3 {
            e[a][b] = geo.sqrtg * geo.gi(a, b);
        }
    }
    e[J_PHI][J_PHI] = geo.sqrtg * mass * mass;
    e[J_PI][J_PI] = 1.0 / geo.sqrtg;
    e
}

/// m_x = ΔV N e_x (H_m = Σ_x ΔV N Ĥ_m).
pub fn hamiltonian_form(geo: &SiteGeometry, mass: f64, cell_volume: f64) -> Mat5 {
    let mut m = energy_density_form(geo, mass);
    let f = cell_volume * geo.lapse;
    m.iter_mut().for_each(|r| r.iter_mut().for_each(|v| *v *= f));
    m
}

/// ã_s for the stored components s = (a, b): L̂^ab(x) = ½ Yᵀ ã_s Y.
#[inline(always)]
pub fn backreaction_forms(geo: &SiteGeometry, mass: f64) -> [Mat5; 6] {
    let f = geo.lapse * geo.sqrtg;
    // g^ab as a full 3×3 and plain loops (no array maps: they did not inline; the per-stage cost of a small lattice)
    let gi = full3(&geo.ginv);
    let mut out = [ZERO5; 6];
    for (t, &(a, b)) in out.iter_mut().zip(PAIRS.iter()) {
        let gab = gi[a][b];
        for c in 0..3 {
            for d in 0..3 {
                let sym = 0.5 * (gi[a][c] * gi[b][d] + gi[b][c] * gi[a][d]);
                t[c][d] = -f * (sym - 0.5 * gab * gi[c][d]);
            }
        }
        t[J_PHI][J_PHI] = 0.5 * f * gab * mass * mass;
        t[J_PI][J_PI] = -0.5 * geo.lapse * gab / geo.sqrtg;
    }
    out
}

/// The stored components (xx, xy, xz, yy, yz, zz) of a symmetric tensor as a full 3×3.
#[inline(always)]
fn full3(v: &Sym<f64>) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (a, row) in m.iter_mut().enumerate() {
        for (b, x) in row.iter_mut().enumerate() {
            *x = v[SYM[a][b]];
        }
    }
    m
}

/// The factors of 𝒟⁻¹ = w_I w_J pre [½(g_ac g_bd + g_ad g_bc) + τ g_ab g_cd]: (pre = ΔV/(D2 N√g), τ = β/(1 − 3β)),
/// pre = 0 without coupling (D2 = 0).
#[inline(always)]
pub fn inverse_diffusion_factors(geo: &SiteGeometry, p: &QuantumParams, cell_volume: f64) -> (f64, f64) {
    let pre = if p.diffusion == 0.0 { 0.0 } else { cell_volume / (p.diffusion * geo.lapse * geo.sqrtg) };
    (pre, p.beta / (1.0 - 3.0 * p.beta))
}

/// 𝒟⁻¹ at one site for white tensor noise (stored components); zero when D2 = 0 (no coupling).
/// Requires β < 1/3 (config validation refuses β = 1/3 and `trace-only` noise with a quantum field: there the
/// back-reaction leaves the range of 𝒟 and the decoherence–diffusion trade-off cannot be met).
#[inline(always)]
pub fn inverse_diffusion(geo: &SiteGeometry, p: &QuantumParams, cell_volume: f64) -> [[f64; 6]; 6] {
    if p.diffusion == 0.0 {
        return [[0.0; 6]; 6];
    }
    let g = full3(&geo.g);
    let w = |s: usize| if PAIRS[s].0 == PAIRS[s].1 { 1.0 } else { 2.0 };
    let (pre, tr) = inverse_diffusion_factors(geo, p, cell_volume);
    let mut out = [[0.0; 6]; 6];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            let (a, b) = PAIRS[i];
            let (c, d) = PAIRS[j];
            *o = w(i) * w(j) * pre * (0.5 * (g[a][c] * g[b][d] + g[a][d] * g[b][c]) + tr * g[a][b] * g[c][d]);
        }
    }
    out
}

/// ω = R_x Ω R_xᵀ: (1/ΔV) at (φ, π), −(1/ΔV) at (π, φ).
pub fn omega_jet(cell_volume: f64) -> Mat5 {
    let mut w = ZERO5;
    w[J_PHI][J_PI] = 1.0 / cell_volume;
    w[J_PI][J_PHI] = -1.0 / cell_volume;
    w
}

/// The per-site coefficients of SPEC §4.1 at one metric.
#[derive(Debug, Clone, Copy)]
pub struct SiteCoeffs {
    pub geo: SiteGeometry,
    /// ã_I, I = stored component
    pub a: [Mat5; 6],
    /// 𝒟⁻¹ (zero without coupling)
    pub dinv: [[f64; 6]; 6],
    /// the factors (pre, τ) of 𝒟⁻¹ ([`inverse_diffusion_factors`])
    pub dinv_pre: f64,
    pub dinv_trace: f64,
    /// m (the φφ entries of the forms)
    pub mass: f64,
    /// left generator of the Stratonovich drift (docs/quantum.md §3):
    /// k = m + Σ_IJ (½C_IJ − ⅛(𝒟⁻¹)_IJ) ã_I ω ã_J = m + (ε/8) Σ_IJ (𝒟⁻¹)_IJ ã_I ω ã_J
    pub k: Mat5,
    /// e (energy density form)
    pub e: Mat5,
}

impl SiteCoeffs {
    #[inline(always)]
    pub fn new(geo: SiteGeometry, p: &QuantumParams, cell_volume: f64) -> Self {
        let a = backreaction_forms(&geo, p.mass);
        let dinv = inverse_diffusion(&geo, p, cell_volume);
        let mut k = hamiltonian_form(&geo, p.mass, cell_volume);
        if p.decoherence_excess != 0.0 {
            let om = omega_jet(cell_volume);
            for i in 0..6 {
                let aw = mat5_mul(&a[i], &om);
                for j in 0..6 {
                    let c = 0.125 * p.decoherence_excess * dinv[i][j];
                    if c != 0.0 {
                        mat5_axpy(c, &mat5_mul(&aw, &a[j]), &mut k);
                    }
                }
            }
        }
        let (dinv_pre, dinv_trace) = inverse_diffusion_factors(&geo, p, cell_volume);
        Self { geo, a, dinv, dinv_pre, dinv_trace, mass: p.mass, k, e: energy_density_form(&geo, p.mass) }
    }

    /// Σ_IJ (𝒟⁻¹)_IJ ã_I s ã_J (symmetric for symmetric s), in closed form. With 𝒟⁻¹ = w_I w_J pre [½(g_ac g_bd +
    /// g_ad g_bc) + τ g_ab g_cd] and ã^ab symmetric in ab, the weighted sum over the stored I, J is the sum over all
    /// a, b, c, d, and the metric lowers indices: pre [Σ_ab ã^ab s ã_ab + τ T s T], T = g_ab ã^ab. The forms are
    /// block diagonal — `backreaction_forms`: gradient block G^ab = −f(S^ab − ½g^ab K), S^ab_cd = ½(g^ac g^bd +
    /// g^ad g^bc), K = g^cd, f = N√g; φφ entry P g^ab, P = ½f m²; ππ entry Q g^ab, Q = −N/(2√g) — so the sums over
    /// a, b reduce to K (Σ g_ab S^ab = K, Σ_ab S^ab X Δ_ab = ½(K Xᵀ K + tr(XK) K), Σ g_ab g^ab = 3). With s in
    /// blocks X (gradient), u = s_gφ, v = s_gπ, u′ = s_φg, v′ = s_πg and c = 1 + 3τ:
    ///   gradient block  f² [½ K Xᵀ K + ½ tr(XK) K + ¼(τ − 1) K X K]
    ///   g–φ, g–π        ½ f P c K u,  ½ f Q c K v       (and u′K, v′K on the φ–g, π–g side)
    ///   φφ, φπ, ππ      3P² c s_φφ,  3PQ c s_φπ (and s_πφ),  3Q² c s_ππ
    /// all times pre (tested against the 36 products with 𝒟⁻¹, symmetric and antisymmetric s).
    #[inline(always)]
    pub fn dinv_sandwich(&self, s: &Mat5) -> Mat5 {
        if self.dinv_pre == 0.0 {
            return ZERO5;
        }
        let geo = &self.geo;
        let f = geo.lapse * geo.sqrtg;
        let k = full3(&geo.ginv);
        let (p, q, tau) = (0.5 * f * self.mass * self.mass, -0.5 * geo.lapse / geo.sqrtg, self.dinv_trace);
        let (pre, c) = (self.dinv_pre, 1.0 + 3.0 * tau);
        let mul3 = |a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]| -> [[f64; 3]; 3] { std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|m| a[i][m] * b[m][j]).sum())) };
        let x: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| s[i][j]));
        let xt: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| s[j][i]));
        let (kxk, kxtk) = (mul3(&mul3(&k, &x), &k), mul3(&mul3(&k, &xt), &k));
        let tr: f64 = (0..3).map(|i| (0..3).map(|j| x[i][j] * k[j][i]).sum::<f64>()).sum();
        let mut out = ZERO5;
        for i in 0..3 {
            for j in 0..3 {
                out[i][j] = pre * f * f * (0.5 * kxtk[i][j] + 0.5 * tr * k[i][j] + 0.25 * (tau - 1.0) * kxk[i][j]);
            }
            let (ku, kv): (f64, f64) = ((0..3).map(|m| k[i][m] * s[m][J_PHI]).sum(), (0..3).map(|m| k[i][m] * s[m][J_PI]).sum());
            let (uk, vk): (f64, f64) = ((0..3).map(|m| s[J_PHI][m] * k[m][i]).sum(), (0..3).map(|m| s[J_PI][m] * k[m][i]).sum());
            out[i][J_PHI] = pre * 0.5 * f * p * c * ku;
            out[i][J_PI] = pre * 0.5 * f * q * c * kv;
            out[J_PHI][i] = pre * 0.5 * f * p * c * uk;
            out[J_PI][i] = pre * 0.5 * f * q * c * vk;
        }
        out[J_PHI][J_PHI] = pre * 3.0 * p * p * c * s[J_PHI][J_PHI];
        out[J_PHI][J_PI] = pre * 3.0 * p * q * c * s[J_PHI][J_PI];
        out[J_PI][J_PHI] = pre * 3.0 * p * q * c * s[J_PI][J_PHI];
        out[J_PI][J_PI] = pre * 3.0 * q * q * c * s[J_PI][J_PI];
        out
    }

    /// Σ_IJ (𝒟⁻¹)_IJ ã_I y yᵀ ã_J: [`Self::dinv_sandwich`] of the rank-one s = y yᵀ.
    #[inline(always)]
    pub fn dinv_outer(&self, y: &[f64; 5]) -> Mat5 {
        self.dinv_sandwich(&std::array::from_fn(|i| std::array::from_fn(|j| y[i] * y[j])))
    }

    /// ξ = 𝒟⁻¹ dW at this site.
    pub fn xi(&self, dw: &[f64; 6]) -> [f64; 6] {
        std::array::from_fn(|i| (0..6).map(|j| self.dinv[i][j] * dw[j]).sum())
    }

    /// b = Σ_I ξ_I ã_I: B(ξ) = Σ_I ξ_I A_I.
    pub fn noise_form(&self, xi: &[f64; 6]) -> Mat5 {
        let mut b = ZERO5;
        for i in 0..6 {
            mat5_axpy(xi[i], &self.a[i], &mut b);
        }
        b
    }
}

/// ½ tr(f c): the expectation of ½ Yᵀ f Y in a state with jet covariance c (second moments).
#[inline(always)]
pub fn expectation(f: &Mat5, c: &Mat5) -> f64 {
    0.5 * crate::numerics::jets::mat5_trace_prod(f, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NoiseKind;
    use crate::physics::cq_noise::diffusion_tensor;

    /// 𝒟⁻¹ (formula) · 𝒟 (physics/cq_noise.rs, ℓ = 0: D2 s/ΔV) = I on an anisotropic metric, several β.
    #[test]
    fn inverse_diffusion_inverts_the_noise_covariance() {
        let g = [1.3, 0.2, -0.1, 0.8, 0.15, 1.7];
        let geo = SiteGeometry::new(&g, 0.7);
        let dv = 0.3f64.powi(3);
        for beta in [-1.0, 0.0, 0.25, 0.33] {
            let p = QuantumParams { mass: 1.0, diffusion: 2.5, beta, decoherence_excess: 0.0, renormalize: true };
            let di = inverse_diffusion(&geo, &p, dv);
            let s = diffusion_tensor(&g, 0.7, beta, NoiseKind::Tensor);
            for i in 0..6 {
                for j in 0..6 {
                    let e: f64 = (0..6).map(|k| di[i][k] * 2.5 * s[k][j] / dv).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((e - want).abs() < 1e-9, "beta {beta}: ({i},{j}) = {e}");
                }
            }
        }
    }

    /// dinv_sandwich (the closed form in the metric) equals Σ_IJ (𝒟⁻¹)_IJ ã_I s ã_J with full 5×5
    /// products and the 6 × 6 matrix 𝒟⁻¹ of `inverse_diffusion` (to round-off), on an anisotropic metric, β ≠ 0, for
    /// a symmetric s, a general one and the antisymmetric ω the regime estimate sandwiches (physics/cq_regime.rs).
    #[test]
    fn dinv_sandwich_equals_the_full_products() {
        let geo = SiteGeometry::new(&[1.3, 0.2, -0.1, 0.8, 0.15, 1.7], 0.7);
        let p = QuantumParams { mass: 1.1, diffusion: 2.5, beta: 0.1, decoherence_excess: 0.0, renormalize: true };
        let c = SiteCoeffs::new(geo, &p, 0.3);
        let symmetric: Mat5 = std::array::from_fn(|i| std::array::from_fn(|j| 0.3 + 0.1 * (i * j) as f64 - 0.05 * (i + j) as f64));
        let general: Mat5 = std::array::from_fn(|i| std::array::from_fn(|j| ((3 * i + 7 * j) % 5) as f64 - 1.7 + 0.1 * i as f64));
        for s in [symmetric, general, omega_jet(0.3)] {
            let mut want = ZERO5;
            for i in 0..6 {
                let mut acc = ZERO5;
                for j in 0..6 {
                    mat5_axpy(c.dinv[i][j], &mat5_mul(&s, &c.a[j]), &mut acc);
                }
                mat5_axpy(1.0, &mat5_mul(&c.a[i], &acc), &mut want);
            }
            let got = c.dinv_sandwich(&s);
            let scale = want.as_flattened().iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(scale > 0.1, "the test must see a non-trivial form ({scale})");
            for (w, g) in want.as_flattened().iter().zip(got.as_flattened()) {
                assert!((w - g).abs() <= 1e-13 * scale, "{w} vs {g}");
            }
        }
    }

    /// ½YᵀãY reproduces L̂^ab of SPEC §4 at a random jet, and Σ_ab (9-sum) g_ab L̂^ab matches the trace form.
    #[test]
    fn backreaction_forms_match_the_stress_tensor() {
        let g = [1.3, 0.2, -0.1, 0.8, 0.15, 1.7];
        let geo = SiteGeometry::new(&g, 0.7);
        let y = [0.3, -0.7, 0.4, 1.1, -0.6];
        let a = backreaction_forms(&geo, 1.4);
        let s = crate::physics::scalar_field::stress(&geo.ginv, geo.sqrtg, y[3], y[4], &[y[0], y[1], y[2]], 1.4, &Default::default());
        for k in 0..6 {
            let q: f64 = (0..5).map(|i| (0..5).map(|j| 0.5 * y[i] * a[k][i][j] * y[j]).sum::<f64>()).sum();
            let want = -0.5 * geo.lapse * geo.sqrtg * s[k];
            assert!((q - want).abs() < 1e-12, "{k}: {q} vs {want}");
        }
    }
}
