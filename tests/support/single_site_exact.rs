//! Exact single-site reference for the Gaussian quantum scalar field (SPEC §4, §4.1, §8 item 7).
//!
//! One lattice site (n = 1) with cell volume ΔV, frozen homogeneous metric g_ab, lapse N and mass m. Gradients
//! vanish, so (SPEC §4)
//!   Ĥ  = ΔV N ½(π̂²/√g + √g m² φ̂²),   [φ̂, π̂] = i/ΔV,
//!   L̂^ab = −(N√g/2) g^ab Ô,   Ô = ½(π̂²/g − m²φ̂²)   (all six observables ∝ one operator),
//! and the noise in dπ^ab has covariance 𝒟 dt, 𝒟^{abcd} = D2 N√g [½(g^ac g^bd + g^ad g^bc) − β g^ab g^cd]/ΔV
//! (tensor) or D2 N√g g^ab g^cd/ΔV (trace-only).
//!
//! The exact conditional (Itô) master equation implemented here (derivation in docs/quantum_references.md):
//!   dρ = −i[Ĥ, ρ] dt + Σ_IJ C_IJ (L̂_J ρ L̂_I − ½{L̂_I L̂_J, ρ}) dt
//!        − ½ Σ_IJ (𝒟⁺)_IJ (L̂_I ρ + ρ L̂_I − 2⟨L̂_I⟩ρ) dW_J,
//! where dW is the noise of dπ^ab = −⟨L̂^ab⟩ dt + dW^ab (SPEC §2, §3) and C = (1 + ε) ¼ 𝒟⁺, ε = C_extra factor.
//! The index I runs over the 6 independent components (xx, xy, xz, yy, yz, zz) and 𝒟 is the 6×6 covariance
//! matrix of those components; this is equivalent to SPEC's 9-component sums (docs).
//!
//! With L̂_I = c_I Ô this reduces to the measurement of the single operator Ô at information rate
//! γ = cᵀ𝒟⁺c with innovation dw = cᵀ𝒟⁺dW (variance γ dt), decoherence rate (1 + ε)γ/4.
//! The state is held in a truncated Fock basis of the instantaneous vacuum (the ground state of Ĥ) and
//! integrated with a positivity-preserving Kraus ("Rouchon–Ralph") step, Strang-split with the exact unitary
//! exp(−iĤ dt/2). The step is of strong order 1 in dt (single effective noise channel, Milstein term included);
//! it keeps Tr ρ = 1 and ρ ≥ 0 exactly, and a pure state exactly pure at saturation (ε = 0).
//!
//! Also here: the SPEC §4.1 Gaussian-moment equations written out for n = 1 (independently, from the definitions)
//! and an order-1 integrator for them, the exact moment coefficients of the master equation at a given ρ, a seeded
//! noise-record generator, and the small linear-algebra helpers the other reference modules share.

use num_complex::Complex64 as C64;

/// Symmetric-tensor component order of SPEC §1.
pub const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];

// ---------------------------------------------------------------------------------------------------------------
// Small dense real linear algebra (row-major n×n in a Vec<f64>)
// ---------------------------------------------------------------------------------------------------------------

/// Eigen-decomposition of a real symmetric matrix by cyclic Jacobi rotations.
/// Returns (eigenvalues λ_k, eigenvectors V row-major with V[i*n + k] = k-th eigenvector's i-th entry),
/// A = V diag(λ) Vᵀ. Accurate to a few ulps relative to ‖A‖.
pub fn jacobi_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n);
    let mut m = a.to_vec();
    // symmetrise against round-off in the input
    for i in 0..n {
        for j in 0..i {
            let s = 0.5 * (m[i * n + j] + m[j * n + i]);
            m[i * n + j] = s;
            m[j * n + i] = s;
        }
    }
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        return (vec![0.0; n], v);
    }
    for _sweep in 0..100 {
        let mut off = 0.0;
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    off += m[i * n + j] * m[i * n + j];
                }
            }
        }
        if off.sqrt() <= 1e-17 * norm {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = m[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let app = m[p * n + p];
                let aqq = m[q * n + q];
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let mkp = m[k * n + p];
                    let mkq = m[k * n + q];
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[p * n + k];
                    let mqk = m[q * n + k];
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let vkp = v[k * n + p];
                    let vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i * n + i]).collect(), v)
}

/// f(A) = V f(Λ) Vᵀ for a real symmetric A.
pub fn sym_fn(a: &[f64], n: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let (lam, v) = jacobi_eigen(a, n);
    let fl: Vec<f64> = lam.iter().map(|&l| f(l)).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0;
            for k in 0..n {
                s += v[i * n + k] * fl[k] * v[j * n + k];
            }
            out[i * n + j] = s;
        }
    }
    out
}

/// Moore–Penrose pseudo-inverse of a real symmetric matrix (eigenvalues below `rel_tol`·max|λ| count as zero).
pub fn sym_pinv(a: &[f64], n: usize, rel_tol: f64) -> Vec<f64> {
    let (lam, _) = jacobi_eigen(a, n);
    let lmax = lam.iter().fold(0.0_f64, |m, l| m.max(l.abs()));
    if lmax == 0.0 {
        return vec![0.0; n * n];
    }
    sym_fn(a, n, |l| {
        if l.abs() > rel_tol * lmax {
            1.0 / l
        } else {
            0.0
        }
    })
}

/// Symmetric square root of a positive semi-definite matrix (negative round-off eigenvalues clipped to 0).
pub fn sym_sqrt_psd(a: &[f64], n: usize) -> Vec<f64> {
    sym_fn(a, n, |l| l.max(0.0).sqrt())
}

/// Smallest eigenvalue of a Hermitian matrix (row-major d×d), through its real 2d×2d embedding [[Re, −Im], [Im, Re]]
/// (whose spectrum is that of the matrix, each eigenvalue twice).
pub fn hermitian_min_eigenvalue(h: &[C64], d: usize) -> f64 {
    let n = 2 * d;
    let mut r = vec![0.0; n * n];
    for i in 0..d {
        for j in 0..d {
            let z = h[i * d + j];
            r[i * n + j] = z.re;
            r[(i + d) * n + (j + d)] = z.re;
            r[i * n + (j + d)] = -z.im;
            r[(i + d) * n + j] = z.im;
        }
    }
    let (lam, _) = jacobi_eigen(&r, n);
    lam.into_iter().fold(f64::INFINITY, f64::min)
}

// ---------------------------------------------------------------------------------------------------------------
// 3-metrics
// ---------------------------------------------------------------------------------------------------------------

/// Full symmetric 3×3 matrix from the 6 stored components.
pub fn sym3(c: &[f64; 6]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (k, &(a, b)) in PAIRS.iter().enumerate() {
        m[a][b] = c[k];
        m[b][a] = c[k];
    }
    m
}

pub fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

pub fn inv3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let d = det3(m);
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let (i1, i2) = ((j + 1) % 3, (j + 2) % 3);
            let (j1, j2) = ((i + 1) % 3, (i + 2) % 3);
            r[i][j] = (m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]) / d;
        }
    }
    r
}

/// Structure of the noise tensor s^{abcd} (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoiseKind {
    /// s = N√g [½(g^ac g^bd + g^ad g^bc) − β g^ab g^cd]
    Tensor,
    /// s = N√g g^ab g^cd (rank one per site)
    TraceOnly,
}

/// Which generalised inverse 𝒟⁺ of the 6×6 per-site noise covariance is used (they differ only where 𝒟 is
/// singular AND the back-reaction has a component outside its range: tensor noise at β = 1/3 with a metric that
/// is not ∝ δ, or trace-only noise with gradient terms; see docs/quantum_references.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GInverse {
    /// Moore–Penrose pseudo-inverse of the 6×6 component matrix (Euclidean in the stored components).
    MoorePenrose,
    /// Inverse of s^{abcd} on its range, zero on the g-orthogonal complement (covariant):
    /// tensor β < 1/3: s⁻¹ = [½(g_ac g_bd + g_ad g_bc) + β/(1−3β) g_ab g_cd]/(N√g);
    /// tensor β = 1/3: [½(g_ac g_bd + g_ad g_bc) − ⅓ g_ab g_cd]/(N√g); trace-only: g_ab g_cd/(9 N√g).
    Covariant,
}

/// Per-site 6×6 noise covariance 𝒟_ij = Cov(dW^{a_i b_i}, dW^{c_j d_j})/dt for white noise (ℓ = 0).
pub fn noise_cov6(
    g: &[f64; 6],
    lapse: f64,
    dv: f64,
    d2: f64,
    beta: f64,
    kind: NoiseKind,
) -> [[f64; 6]; 6] {
    assert!(
        beta <= 1.0 / 3.0 + 1e-15,
        "β > 1/3 is not positive semi-definite"
    );
    let gm = sym3(g);
    let sqrt_g = det3(&gm).sqrt();
    let gi = inv3(&gm);
    let pref = d2 * lapse * sqrt_g / dv;
    let mut out = [[0.0; 6]; 6];
    for (i, &(a, b)) in PAIRS.iter().enumerate() {
        for (j, &(c, d)) in PAIRS.iter().enumerate() {
            out[i][j] = pref
                * match kind {
                    NoiseKind::Tensor => {
                        0.5 * (gi[a][c] * gi[b][d] + gi[a][d] * gi[b][c])
                            - beta * gi[a][b] * gi[c][d]
                    }
                    NoiseKind::TraceOnly => gi[a][b] * gi[c][d],
                };
        }
    }
    out
}

/// Generalised inverse 𝒟⁺ of [`noise_cov6`] (zero matrix for D2 = 0).
pub fn noise_ginv6(
    g: &[f64; 6],
    lapse: f64,
    dv: f64,
    d2: f64,
    beta: f64,
    kind: NoiseKind,
    which: GInverse,
) -> [[f64; 6]; 6] {
    let mut out = [[0.0; 6]; 6];
    if d2 == 0.0 {
        return out;
    }
    match which {
        GInverse::MoorePenrose => {
            let d = noise_cov6(g, lapse, dv, d2, beta, kind);
            let flat: Vec<f64> = d.iter().flatten().copied().collect();
            let p = sym_pinv(&flat, 6, 1e-10);
            for i in 0..6 {
                for j in 0..6 {
                    out[i][j] = p[i * 6 + j];
                }
            }
        }
        GInverse::Covariant => {
            let gm = sym3(g);
            let sqrt_g = det3(&gm).sqrt();
            let pref = dv / (d2 * lapse * sqrt_g);
            let w = |i: usize| if PAIRS[i].0 == PAIRS[i].1 { 1.0 } else { 2.0 };
            let singular = (1.0 - 3.0 * beta).abs() < 1e-12;
            for (i, &(a, b)) in PAIRS.iter().enumerate() {
                for (j, &(c, d)) in PAIRS.iter().enumerate() {
                    let s = match kind {
                        NoiseKind::Tensor => {
                            let coef = if singular {
                                -1.0 / 3.0
                            } else {
                                beta / (1.0 - 3.0 * beta)
                            };
                            0.5 * (gm[a][c] * gm[b][d] + gm[a][d] * gm[b][c])
                                + coef * gm[a][b] * gm[c][d]
                        }
                        NoiseKind::TraceOnly => gm[a][b] * gm[c][d] / 9.0,
                    };
                    out[i][j] = pref * w(i) * w(j) * s;
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Random numbers and noise records
// ---------------------------------------------------------------------------------------------------------------

/// SplitMix64 generator with Box–Muller normals (reproducible; not the solver's Philox).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
    spare: Option<f64>,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x5DEE_CE66_D1CE_4E5B,
            spare: None,
        }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }
    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let th = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * th.sin());
        r * th.cos()
    }
}

/// `steps` increments dW (6 components each) with covariance `d6`·dt: dW = 𝒟^{1/2} ξ √dt, ξ standard normal.
pub fn noise_record_from_cov(
    d6: &[[f64; 6]; 6],
    dt: f64,
    steps: usize,
    seed: u64,
) -> Vec<[f64; 6]> {
    let flat: Vec<f64> = d6.iter().flatten().copied().collect();
    let s = sym_sqrt_psd(&flat, 6);
    let mut rng = SplitMix64::new(seed);
    let sdt = dt.sqrt();
    (0..steps)
        .map(|_| {
            let xi: [f64; 6] = std::array::from_fn(|_| rng.normal());
            std::array::from_fn(|i| sdt * (0..6).map(|k| s[i * 6 + k] * xi[k]).sum::<f64>())
        })
        .collect()
}

/// Noise record of one site of `site` (covariance 𝒟 dt), seeded.
pub fn noise_record(site: &SingleSite, dt: f64, steps: usize, seed: u64) -> Vec<[f64; 6]> {
    noise_record_from_cov(&site.noise_cov6(), dt, steps, seed)
}

/// Sums consecutive groups of `factor` increments (a coarse record of the same Brownian path).
pub fn coarsen_record(dw: &[[f64; 6]], factor: usize) -> Vec<[f64; 6]> {
    dw.chunks(factor)
        .map(|ch| std::array::from_fn(|i| ch.iter().map(|w| w[i]).sum()))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The single site
// ---------------------------------------------------------------------------------------------------------------

/// One lattice site with frozen homogeneous metric (all quantities in units ħ = c = 16πG = 1).
#[derive(Clone, Copy, Debug)]
pub struct SingleSite {
    /// cell volume ΔV
    pub dv: f64,
    /// metric g_ab (lower), stored xx, xy, xz, yy, yz, zz; positive definite
    pub g: [f64; 6],
    pub lapse: f64,
    /// m > 0 (the n = 1 vacuum needs it)
    pub mass: f64,
    /// D2 (0 = no noise, no decoherence)
    pub d2: f64,
    pub beta: f64,
    pub noise: NoiseKind,
    /// ε: C = (1 + ε) ¼ 𝒟⁺ (SPEC's `decoherence_excess`), ε ≥ 0
    pub c_extra_factor: f64,
    pub ginverse: GInverse,
}

impl SingleSite {
    /// Flat metric, N = 1, tensor noise with β = 0, saturated, Moore–Penrose inverse.
    pub fn flat(dv: f64, mass: f64, d2: f64) -> Self {
        Self {
            dv,
            g: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            lapse: 1.0,
            mass,
            d2,
            beta: 0.0,
            noise: NoiseKind::Tensor,
            c_extra_factor: 0.0,
            ginverse: GInverse::MoorePenrose,
        }
    }
    pub fn sqrt_g(&self) -> f64 {
        det3(&sym3(&self.g)).sqrt()
    }
    pub fn ginv(&self) -> [[f64; 3]; 3] {
        inv3(&sym3(&self.g))
    }
    /// 𝒟 (6×6, per unit time)
    pub fn noise_cov6(&self) -> [[f64; 6]; 6] {
        noise_cov6(&self.g, self.lapse, self.dv, self.d2, self.beta, self.noise)
    }
    /// 𝒟⁺
    pub fn noise_ginv6(&self) -> [[f64; 6]; 6] {
        noise_ginv6(
            &self.g,
            self.lapse,
            self.dv,
            self.d2,
            self.beta,
            self.noise,
            self.ginverse,
        )
    }
    /// C = (1 + ε) ¼ 𝒟⁺
    pub fn decoherence6(&self) -> [[f64; 6]; 6] {
        let p = self.noise_ginv6();
        std::array::from_fn(|i| {
            std::array::from_fn(|j| 0.25 * (1.0 + self.c_extra_factor) * p[i][j])
        })
    }
    /// c_I with L̂^{a_I b_I} = c_I Ô: c = −(N√g/2) g^ab.
    pub fn coupling6(&self) -> [f64; 6] {
        let gi = self.ginv();
        let s = self.sqrt_g();
        std::array::from_fn(|i| -0.5 * self.lapse * s * gi[PAIRS[i].0][PAIRS[i].1])
    }
    /// γ = cᵀ𝒟⁺c (information rate of the measurement of Ô). Analytically (tensor, β < 1/3):
    /// γ = 3 N √g ΔV / (4 D2 (1 − 3β)); trace-only: N √g ΔV / (4 D2).
    pub fn info_rate(&self) -> f64 {
        let c = self.coupling6();
        let p = self.noise_ginv6();
        (0..6)
            .map(|i| (0..6).map(|j| c[i] * p[i][j] * c[j]).sum::<f64>())
            .sum()
    }
    /// Σ_IJ C_IJ c_I c_J: the coefficient of D[Ô] in the master equation.
    pub fn decoherence_rate(&self) -> f64 {
        let c = self.coupling6();
        let cm = self.decoherence6();
        (0..6)
            .map(|i| (0..6).map(|j| c[i] * cm[i][j] * c[j]).sum::<f64>())
            .sum()
    }
    /// The innovation of the effective scalar measurement, dw = cᵀ𝒟⁺dW.
    pub fn effective_noise(&self, dw: &[f64; 6]) -> f64 {
        let c = self.coupling6();
        let p = self.noise_ginv6();
        (0..6)
            .map(|i| (0..6).map(|j| c[i] * p[i][j] * dw[j]).sum::<f64>())
            .sum()
    }
    /// Var(dw)/dt = cᵀ𝒟⁺𝒟𝒟⁺c (= γ for a reflexive generalised inverse).
    pub fn effective_noise_variance_rate(&self) -> f64 {
        let c = self.coupling6();
        let p = self.noise_ginv6();
        let d = self.noise_cov6();
        let pc: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| p[i][j] * c[j]).sum());
        (0..6)
            .map(|i| (0..6).map(|j| pc[i] * d[i][j] * pc[j]).sum::<f64>())
            .sum()
    }
    /// Oscillator frequency of Ĥ in coordinate time: N m.
    pub fn frequency(&self) -> f64 {
        self.lapse * self.mass
    }
    /// Covariance of the instantaneous vacuum (ground state of Ĥ): ⟨φ²⟩ = 1/(2 ΔV √g m), ⟨π²⟩ = √g m/(2 ΔV).
    pub fn vacuum_cov(&self) -> [[f64; 2]; 2] {
        let mw = self.sqrt_g() * self.mass;
        [
            [1.0 / (2.0 * self.dv * mw), 0.0],
            [0.0, mw / (2.0 * self.dv)],
        ]
    }
    /// Covariance of a squeezed vacuum: in the vacuum-scaled quadratures Q = (ΔV√g m)^{1/2} φ,
    /// P = (ΔV/(√g m))^{1/2} π it is ½ R(θ) diag(e^{2r}, e^{−2r}) R(θ)ᵀ.
    pub fn squeezed_cov(&self, r: f64, theta: f64) -> [[f64; 2]; 2] {
        let (c, s) = (theta.cos(), theta.sin());
        let (l1, l2) = (0.5 * (2.0 * r).exp(), 0.5 * (-2.0 * r).exp());
        let qq = c * c * l1 + s * s * l2;
        let pp = s * s * l1 + c * c * l2;
        let qp = c * s * (l1 - l2);
        let mw = self.sqrt_g() * self.mass;
        [
            [qq / (self.dv * mw), qp / self.dv],
            [qp / self.dv, pp * mw / self.dv],
        ]
    }
    fn check(&self) {
        assert!(self.dv > 0.0 && self.mass > 0.0 && self.lapse > 0.0 && self.d2 >= 0.0);
        assert!(
            self.c_extra_factor >= 0.0,
            "below saturation the dynamics is not completely positive"
        );
        let gm = sym3(&self.g);
        assert!(
            gm[0][0] > 0.0 && det3(&gm) > 0.0,
            "metric must be positive definite"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Fock-space operators
// ---------------------------------------------------------------------------------------------------------------

/// Sparse square matrix (rows of (column, value)).
#[derive(Clone, Debug)]
pub struct Sparse {
    pub dim: usize,
    pub rows: Vec<Vec<(usize, C64)>>,
}

impl Sparse {
    fn zero(dim: usize) -> Self {
        Self {
            dim,
            rows: vec![Vec::new(); dim],
        }
    }
    fn add(&mut self, i: usize, j: usize, v: C64) {
        if v == C64::new(0.0, 0.0) {
            return;
        }
        if let Some(e) = self.rows[i].iter_mut().find(|e| e.0 == j) {
            e.1 += v;
        } else {
            self.rows[i].push((j, v));
        }
    }
    fn lin(terms: &[(f64, &Sparse)], dim: usize) -> Sparse {
        let mut out = Sparse::zero(dim);
        for &(c, m) in terms {
            for (i, row) in m.rows.iter().enumerate() {
                for &(j, v) in row {
                    out.add(i, j, v * c);
                }
            }
        }
        out
    }
    fn mul(&self, other: &Sparse) -> Sparse {
        let mut out = Sparse::zero(self.dim);
        for (i, row) in self.rows.iter().enumerate() {
            for &(k, v) in row {
                for &(j, w) in &other.rows[k] {
                    out.add(i, j, v * w);
                }
            }
        }
        out
    }
    /// A·ρ for dense row-major ρ.
    pub fn left(&self, rho: &[C64]) -> Vec<C64> {
        let d = self.dim;
        let mut out = vec![C64::new(0.0, 0.0); d * d];
        for (i, row) in self.rows.iter().enumerate() {
            for &(k, v) in row {
                for j in 0..d {
                    out[i * d + j] += v * rho[k * d + j];
                }
            }
        }
        out
    }
    /// ρ·A†.
    pub fn right_dagger(&self, rho: &[C64]) -> Vec<C64> {
        let d = self.dim;
        let mut out = vec![C64::new(0.0, 0.0); d * d];
        // (ρ A†)_ij = Σ_k ρ_ik conj(A_jk)
        for (j, row) in self.rows.iter().enumerate() {
            for &(k, v) in row {
                let cv = v.conj();
                for i in 0..d {
                    out[i * d + j] += rho[i * d + k] * cv;
                }
            }
        }
        out
    }
    /// A ψ.
    pub fn apply(&self, psi: &[C64]) -> Vec<C64> {
        self.rows
            .iter()
            .map(|row| row.iter().map(|&(k, v)| v * psi[k]).sum())
            .collect()
    }
    /// Tr(A ρ).
    pub fn expect(&self, rho: &[C64]) -> C64 {
        let d = self.dim;
        let mut s = C64::new(0.0, 0.0);
        for (i, row) in self.rows.iter().enumerate() {
            for &(k, v) in row {
                s += v * rho[k * d + i];
            }
        }
        s
    }
    /// ⟨ψ|A|ψ⟩ (ψ normalised).
    pub fn expect_pure(&self, psi: &[C64]) -> C64 {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| psi[i].conj() * row.iter().map(|&(k, v)| v * psi[k]).sum::<C64>())
            .sum()
    }
    pub fn to_dense(&self) -> Vec<C64> {
        let d = self.dim;
        let mut out = vec![C64::new(0.0, 0.0); d * d];
        for (i, row) in self.rows.iter().enumerate() {
            for &(j, v) in row {
                out[i * d + j] += v;
            }
        }
        out
    }
}

/// Operators of the single site in the truncated Fock basis {|0⟩ … |d−1⟩} of the instantaneous vacuum.
/// With μω = √g m and a = ((μω)^{1/2} q + i p/(μω)^{1/2})/√2, q = ΔV^{1/2} φ, p = ΔV^{1/2} π:
///   φ = (a + a†)/(2 ΔV μω)^{1/2},  π = i (μω/(2ΔV))^{1/2} (a† − a),
///   Ĥ = N m (a†a + ½),  Ô = ½(π²/g − m²φ²) = −(m/(2 ΔV √g)) (a² + a†²).
/// The moment operators (φ², π², ½{φ,π}) are the truncations of the exact operators; the dynamics uses the
/// truncated Ô and its square (a consistent finite-dimensional model, whose CP/purity properties are exact).
#[derive(Clone, Debug)]
pub struct FockOps {
    pub dim: usize,
    pub phi: Sparse,
    pub pi: Sparse,
    pub phi2: Sparse,
    pub pi2: Sparse,
    /// ½{φ, π}
    pub phipi: Sparse,
    /// Ô
    pub o: Sparse,
    /// Ô² (square of the truncated Ô)
    pub o2: Sparse,
    /// diagonal of Ĥ (N m (n + ½))
    pub h_diag: Vec<f64>,
}

impl FockOps {
    pub fn new(site: &SingleSite, dim: usize) -> Self {
        site.check();
        assert!(dim >= 3);
        let mw = site.sqrt_g() * site.mass;
        let dv = site.dv;
        let mut a = Sparse::zero(dim);
        for n in 1..dim {
            a.add(n - 1, n, C64::new((n as f64).sqrt(), 0.0));
        }
        let mut ad = Sparse::zero(dim);
        for n in 1..dim {
            ad.add(n, n - 1, C64::new((n as f64).sqrt(), 0.0));
        }
        let a2 = a.mul(&a);
        let ad2 = ad.mul(&ad);
        let mut n2p1 = Sparse::zero(dim); // 2n + 1
        for n in 0..dim {
            n2p1.add(n, n, C64::new(2.0 * n as f64 + 1.0, 0.0));
        }
        let cphi = 1.0 / (2.0 * dv * mw).sqrt();
        let phi = Sparse::lin(&[(cphi, &a), (cphi, &ad)], dim);
        let cpi = (mw / (2.0 * dv)).sqrt();
        let mut pi = Sparse::zero(dim);
        for (i, row) in ad.rows.iter().enumerate() {
            for &(j, v) in row {
                pi.add(i, j, v * C64::new(0.0, cpi));
            }
        }
        for (i, row) in a.rows.iter().enumerate() {
            for &(j, v) in row {
                pi.add(i, j, v * C64::new(0.0, -cpi));
            }
        }
        let phi2 = Sparse::lin(
            &[
                (cphi * cphi, &a2),
                (cphi * cphi, &ad2),
                (cphi * cphi, &n2p1),
            ],
            dim,
        );
        let pi2 = Sparse::lin(
            &[(-cpi * cpi, &a2), (-cpi * cpi, &ad2), (cpi * cpi, &n2p1)],
            dim,
        );
        // ½{φ, π} = (1/ΔV)·(i/2)(a†² − a²)
        let mut phipi = Sparse::zero(dim);
        for (i, row) in ad2.rows.iter().enumerate() {
            for &(j, v) in row {
                phipi.add(i, j, v * C64::new(0.0, 0.5 / dv));
            }
        }
        for (i, row) in a2.rows.iter().enumerate() {
            for &(j, v) in row {
                phipi.add(i, j, v * C64::new(0.0, -0.5 / dv));
            }
        }
        let lam = -site.mass / (2.0 * dv * site.sqrt_g());
        let o = Sparse::lin(&[(lam, &a2), (lam, &ad2)], dim);
        let o2 = o.mul(&o);
        let w = site.frequency();
        let h_diag = (0..dim).map(|n| w * (n as f64 + 0.5)).collect();
        Self {
            dim,
            phi,
            pi,
            phi2,
            pi2,
            phipi,
            o,
            o2,
            h_diag,
        }
    }
}

/// Density matrix, row-major dim×dim.
#[derive(Clone, Debug)]
pub struct DensityMatrix {
    pub dim: usize,
    pub data: Vec<C64>,
}

impl DensityMatrix {
    pub fn from_pure(psi: &[C64]) -> Self {
        let d = psi.len();
        let mut data = vec![C64::new(0.0, 0.0); d * d];
        for i in 0..d {
            for j in 0..d {
                data[i * d + j] = psi[i] * psi[j].conj();
            }
        }
        Self { dim: d, data }
    }
    /// Thermal state of Ĥ with mean occupation n̄ (truncated and renormalised).
    pub fn thermal(dim: usize, nbar: f64) -> Self {
        let q = nbar / (1.0 + nbar);
        let mut data = vec![C64::new(0.0, 0.0); dim * dim];
        let mut p = 1.0;
        let mut tot = 0.0;
        for n in 0..dim {
            data[n * dim + n] = C64::new(p, 0.0);
            tot += p;
            p *= q;
        }
        for x in data.iter_mut() {
            *x /= tot;
        }
        Self { dim, data }
    }
    pub fn trace(&self) -> C64 {
        (0..self.dim).map(|i| self.data[i * self.dim + i]).sum()
    }
    pub fn purity(&self) -> f64 {
        self.data.iter().map(|z| z.norm_sqr()).sum()
    }
    /// max |ρ − ρ†|
    pub fn hermiticity_error(&self) -> f64 {
        let d = self.dim;
        let mut e = 0.0_f64;
        for i in 0..d {
            for j in 0..d {
                e = e.max((self.data[i * d + j] - self.data[j * d + i].conj()).norm());
            }
        }
        e
    }
    pub fn min_eigenvalue(&self) -> f64 {
        hermitian_min_eigenvalue(&self.data, self.dim)
    }
    /// Population of the top `k` Fock levels (truncation diagnostic).
    pub fn tail(&self, k: usize) -> f64 {
        let d = self.dim;
        (d.saturating_sub(k)..d)
            .map(|n| self.data[n * d + n].re)
            .sum()
    }
}

/// Pure Gaussian state with mean (φ̄, π̄) and covariance `cov` (must satisfy ΔV² det Γ = ¼) as Fock amplitudes.
/// In the scaled quadratures (Q, P) the wave function is exp(−½ z (Q − Q̄)² + i P̄ Q), z = (1 − 2iΓ_QP)/(2Γ_QQ);
/// it is annihilated by (z+1)a + (z−1)a† − √2 (z Q̄ + i P̄), which gives a forward recursion for the amplitudes.
pub fn gaussian_pure_state(
    site: &SingleSite,
    dim: usize,
    mean: [f64; 2],
    cov: [[f64; 2]; 2],
) -> Vec<C64> {
    let mw = site.sqrt_g() * site.mass;
    let dv = site.dv;
    let (sq, sp) = ((dv * mw).sqrt(), (dv / mw).sqrt());
    let (qbar, pbar) = (sq * mean[0], sp * mean[1]);
    let (gqq, gqp, gpp) = (
        sq * sq * cov[0][0],
        sq * sp * cov[0][1],
        sp * sp * cov[1][1],
    );
    assert!(
        (gqq * gpp - gqp * gqp - 0.25).abs() < 1e-9,
        "gaussian_pure_state: covariance is not that of a pure state (det = {})",
        gqq * gpp - gqp * gqp
    );
    let z = C64::new(1.0, -2.0 * gqp) / (2.0 * gqq);
    let beta = (z * qbar + C64::new(0.0, pbar)) * std::f64::consts::SQRT_2;
    let mut psi = vec![C64::new(0.0, 0.0); dim];
    psi[0] = C64::new(1.0, 0.0);
    psi[1] = beta * psi[0] / (z + 1.0);
    for n in 1..dim - 1 {
        psi[n + 1] = (beta * psi[n] - (z - 1.0) * (n as f64).sqrt() * psi[n - 1])
            / ((z + 1.0) * ((n + 1) as f64).sqrt());
    }
    let norm: f64 = psi.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
    psi.iter().map(|c| c / norm).collect()
}

/// Coherent state of the instantaneous vacuum displaced to mean (φ̄, π̄).
pub fn coherent_state(site: &SingleSite, dim: usize, mean: [f64; 2]) -> Vec<C64> {
    gaussian_pure_state(site, dim, mean, site.vacuum_cov())
}

/// D(α) ρ D(α)† with α chosen so that the mean moves by (Δφ, Δπ); computed in a basis of twice the dimension with
/// a scaling-and-squaring Taylor exponential, then truncated (accurate while ρ has no weight near the top).
pub fn displace(site: &SingleSite, rho: &DensityMatrix, shift: [f64; 2]) -> DensityMatrix {
    let d = rho.dim;
    let big = 2 * d;
    let mw = site.sqrt_g() * site.mass;
    let (sq, sp) = ((site.dv * mw).sqrt(), (site.dv / mw).sqrt());
    let alpha = C64::new(sq * shift[0], sp * shift[1]) / std::f64::consts::SQRT_2;
    // G = α a† − α* a (dense, big×big)
    let mut g = vec![C64::new(0.0, 0.0); big * big];
    for n in 1..big {
        let s = (n as f64).sqrt();
        g[n * big + (n - 1)] += alpha * s;
        g[(n - 1) * big + n] -= alpha.conj() * s;
    }
    let norm = alpha.norm() * (2.0 * big as f64).sqrt();
    let k = (norm.max(1e-300).log2().ceil().max(0.0) as i32 + 4) as u32;
    let scale = 0.5_f64.powi(k as i32);
    let mul = |x: &[C64], y: &[C64]| {
        let mut o = vec![C64::new(0.0, 0.0); big * big];
        for i in 0..big {
            for l in 0..big {
                let xil = x[i * big + l];
                if xil == C64::new(0.0, 0.0) {
                    continue;
                }
                for j in 0..big {
                    o[i * big + j] += xil * y[l * big + j];
                }
            }
        }
        o
    };
    let gs: Vec<C64> = g.iter().map(|z| z * scale).collect();
    let mut e = vec![C64::new(0.0, 0.0); big * big];
    let mut term = vec![C64::new(0.0, 0.0); big * big];
    for i in 0..big {
        e[i * big + i] = C64::new(1.0, 0.0);
        term[i * big + i] = C64::new(1.0, 0.0);
    }
    for j in 1..30 {
        term = mul(&term, &gs);
        for x in term.iter_mut() {
            *x /= j as f64;
        }
        for (ei, ti) in e.iter_mut().zip(&term) {
            *ei += ti;
        }
    }
    for _ in 0..k {
        e = mul(&e, &e);
    }
    let mut rb = vec![C64::new(0.0, 0.0); big * big];
    for i in 0..d {
        for j in 0..d {
            rb[i * big + j] = rho.data[i * d + j];
        }
    }
    let t = mul(&e, &rb);
    let mut edag = vec![C64::new(0.0, 0.0); big * big];
    for i in 0..big {
        for j in 0..big {
            edag[i * big + j] = e[j * big + i].conj();
        }
    }
    let r2 = mul(&t, &edag);
    let mut out = vec![C64::new(0.0, 0.0); d * d];
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] = r2[i * big + j];
        }
    }
    let mut dm = DensityMatrix { dim: d, data: out };
    let tr = dm.trace().re;
    for x in dm.data.iter_mut() {
        *x /= tr;
    }
    dm
}

// ---------------------------------------------------------------------------------------------------------------
// Moments
// ---------------------------------------------------------------------------------------------------------------

/// Moments of the single-site state.
#[derive(Clone, Copy, Debug)]
pub struct Moments {
    pub t: f64,
    /// (⟨φ⟩, ⟨π⟩)
    pub mean: [f64; 2],
    /// Γ = ½⟨{X − x̄, (X − x̄)ᵀ}⟩
    pub cov: [[f64; 2]; 2],
    /// Tr ρ² (Gaussian: 1/(2 ΔV √det Γ))
    pub purity: f64,
    /// ⟨Ô⟩ (⟨L̂^ab⟩ = −(N√g/2) g^ab ⟨Ô⟩)
    pub o_mean: f64,
    /// population of the top 4 Fock levels (0 for Gaussian states)
    pub tail: f64,
}

impl Moments {
    /// Symplectic eigenvalue relative to 1/ΔV: ΔV √det Γ (½ for a pure Gaussian state).
    pub fn symplectic(&self, dv: f64) -> f64 {
        dv * (self.cov[0][0] * self.cov[1][1] - self.cov[0][1] * self.cov[1][0]).sqrt()
    }
    /// Second moments S = Γ + x̄x̄ᵀ.
    pub fn second_moments(&self) -> [[f64; 2]; 2] {
        std::array::from_fn(|i| {
            std::array::from_fn(|j| self.cov[i][j] + self.mean[i] * self.mean[j])
        })
    }
}

pub fn moments_of(ops: &FockOps, rho: &DensityMatrix, t: f64) -> Moments {
    let e = |op: &Sparse| op.expect(&rho.data).re;
    let mean = [e(&ops.phi), e(&ops.pi)];
    let (s00, s01, s11) = (e(&ops.phi2), e(&ops.phipi), e(&ops.pi2));
    let c01 = s01 - mean[0] * mean[1];
    Moments {
        t,
        mean,
        cov: [
            [s00 - mean[0] * mean[0], c01],
            [c01, s11 - mean[1] * mean[1]],
        ],
        purity: rho.purity(),
        o_mean: e(&ops.o),
        tail: rho.tail(4),
    }
}

pub fn moments_of_pure(ops: &FockOps, psi: &[C64], t: f64) -> Moments {
    let e = |op: &Sparse| op.expect_pure(psi).re;
    let mean = [e(&ops.phi), e(&ops.pi)];
    let (s00, s01, s11) = (e(&ops.phi2), e(&ops.phipi), e(&ops.pi2));
    let c01 = s01 - mean[0] * mean[1];
    let d = psi.len();
    Moments {
        t,
        mean,
        cov: [
            [s00 - mean[0] * mean[0], c01],
            [c01, s11 - mean[1] * mean[1]],
        ],
        purity: psi.iter().map(|c| c.norm_sqr()).sum::<f64>().powi(2),
        o_mean: e(&ops.o),
        tail: psi[d - 4..].iter().map(|c| c.norm_sqr()).sum(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Exact conditional evolution (Kraus / Rouchon–Ralph step, Strang-split unitary)
// ---------------------------------------------------------------------------------------------------------------

/// What the record holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecordKind {
    /// the noise dW^ab of dπ^ab (innovation; SPEC §3)
    Noise,
    /// the increments dπ^ab = −⟨L̂^ab⟩dt + dW^ab themselves (metric frozen, no other drift)
    Observation,
}

struct Stepper {
    gamma: f64,
    extra: f64,
    dt: f64,
    /// 𝒟⁺c: dw = (𝒟⁺c)·dW
    pc: [f64; 6],
}

impl Stepper {
    fn new(site: &SingleSite, dt: f64) -> Self {
        let c = site.coupling6();
        let p = site.noise_ginv6();
        let pc = std::array::from_fn(|i| (0..6).map(|j| p[i][j] * c[j]).sum());
        Self {
            gamma: site.info_rate(),
            extra: site.c_extra_factor,
            dt,
            pc,
        }
    }
    /// dy = √γ⟨Ô⟩dt − dw/√γ (unit-variance observation of L_m = (√γ/2)Ô).
    fn dy(&self, _site: &SingleSite, rec: &[f64; 6], kind: RecordKind, o_mean: f64) -> f64 {
        let eff: f64 = (0..6).map(|i| self.pc[i] * rec[i]).sum();
        let sg = self.gamma.sqrt();
        match kind {
            RecordKind::Noise => sg * o_mean * self.dt - eff / sg,
            // cᵀ𝒟⁺dπ = −γ⟨Ô⟩dt + dw  ⇒  dy = −cᵀ𝒟⁺dπ/√γ
            RecordKind::Observation => -eff / sg,
        }
    }
    /// M = I + α1 Ô + α2 Ô²
    fn kraus_coeffs(&self, dy: f64) -> (f64, f64) {
        let g = self.gamma;
        let dt = self.dt;
        let a1 = 0.5 * g.sqrt() * dy;
        let a2 = 0.125 * g * (dy * dy - dt) - 0.125 * (1.0 + self.extra) * g * dt;
        (a1, a2)
    }
    fn half_unitary(&self, ops: &FockOps, rho: &mut [C64]) {
        let d = ops.dim;
        let h = 0.5 * self.dt;
        for i in 0..d {
            for j in 0..d {
                let ph = -(ops.h_diag[i] - ops.h_diag[j]) * h;
                rho[i * d + j] *= C64::new(ph.cos(), ph.sin());
            }
        }
    }
    fn half_unitary_pure(&self, ops: &FockOps, psi: &mut [C64]) {
        let h = 0.5 * self.dt;
        for (n, p) in psi.iter_mut().enumerate() {
            let ph = -ops.h_diag[n] * h;
            *p *= C64::new(ph.cos(), ph.sin());
        }
    }
    fn step(
        &self,
        site: &SingleSite,
        ops: &FockOps,
        rho: &mut DensityMatrix,
        rec: &[f64; 6],
        kind: RecordKind,
    ) {
        self.half_unitary(ops, &mut rho.data);
        if self.gamma > 0.0 {
            let o_mean = ops.o.expect(&rho.data).re;
            let dy = self.dy(site, rec, kind, o_mean);
            let (a1, a2) = self.kraus_coeffs(dy);
            let m = Sparse::lin(&[(a1, &ops.o), (a2, &ops.o2)], ops.dim);
            let mut mm = m;
            for i in 0..ops.dim {
                mm.add(i, i, C64::new(1.0, 0.0));
            }
            let t = mm.left(&rho.data);
            let mut new = mm.right_dagger(&t);
            if self.extra > 0.0 {
                let c = 0.25 * self.extra * self.gamma * self.dt;
                let t2 = ops.o.left(&rho.data);
                let oo = ops.o.right_dagger(&t2);
                for (x, y) in new.iter_mut().zip(&oo) {
                    *x += y * c;
                }
            }
            rho.data = new;
            let tr = rho.trace().re;
            for x in rho.data.iter_mut() {
                *x /= tr;
            }
        }
        self.half_unitary(ops, &mut rho.data);
    }
    fn step_pure(
        &self,
        site: &SingleSite,
        ops: &FockOps,
        psi: &mut Vec<C64>,
        rec: &[f64; 6],
        kind: RecordKind,
    ) {
        self.half_unitary_pure(ops, psi);
        if self.gamma > 0.0 {
            let o_mean = ops.o.expect_pure(psi).re;
            let dy = self.dy(site, rec, kind, o_mean);
            let (a1, a2) = self.kraus_coeffs(dy);
            let op = ops.o.apply(psi);
            let op2 = ops.o2.apply(psi);
            let new: Vec<C64> = (0..psi.len())
                .map(|i| psi[i] + op[i] * a1 + op2[i] * a2)
                .collect();
            let norm = new.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
            *psi = new.into_iter().map(|c| c / norm).collect();
        }
        self.half_unitary_pure(ops, psi);
    }
}

/// Exact conditional evolution of `rho0` driven by the noise record `dw` (one 6-vector dW^ab per step, the noise
/// of dπ^ab). Returns the moments at t = 0, dt, …, steps·dt (steps + 1 entries).
pub fn evolve_exact(
    site: &SingleSite,
    fock_dim: usize,
    rho0: DensityMatrix,
    dt: f64,
    dw: &[[f64; 6]],
) -> Vec<Moments> {
    evolve_exact_record(site, fock_dim, rho0, dt, dw, RecordKind::Noise).0
}

/// As [`evolve_exact`], with the record kind explicit; also returns the final density matrix.
pub fn evolve_exact_record(
    site: &SingleSite,
    fock_dim: usize,
    rho0: DensityMatrix,
    dt: f64,
    rec: &[[f64; 6]],
    kind: RecordKind,
) -> (Vec<Moments>, DensityMatrix) {
    assert_eq!(rho0.dim, fock_dim);
    let ops = FockOps::new(site, fock_dim);
    let st = Stepper::new(site, dt);
    let mut rho = rho0;
    let mut out = Vec::with_capacity(rec.len() + 1);
    out.push(moments_of(&ops, &rho, 0.0));
    for (k, r) in rec.iter().enumerate() {
        st.step(site, &ops, &mut rho, r, kind);
        out.push(moments_of(&ops, &rho, (k + 1) as f64 * dt));
    }
    (out, rho)
}

/// Pure-state version (state vector; only for ε = 0, where a pure state stays pure). Much cheaper.
pub fn evolve_exact_pure(
    site: &SingleSite,
    fock_dim: usize,
    psi0: Vec<C64>,
    dt: f64,
    rec: &[[f64; 6]],
    kind: RecordKind,
) -> (Vec<Moments>, Vec<C64>) {
    assert_eq!(psi0.len(), fock_dim);
    assert!(
        site.c_extra_factor == 0.0,
        "above saturation the conditional state is mixed: use evolve_exact"
    );
    let ops = FockOps::new(site, fock_dim);
    let st = Stepper::new(site, dt);
    let mut psi = psi0;
    let mut out = Vec::with_capacity(rec.len() + 1);
    out.push(moments_of_pure(&ops, &psi, 0.0));
    for (k, r) in rec.iter().enumerate() {
        st.step_pure(site, &ops, &mut psi, r, kind);
        out.push(moments_of_pure(&ops, &psi, (k + 1) as f64 * dt));
    }
    (out, psi)
}

/// One Kraus step of the density matrix (for the self-tests of the integrator).
pub fn exact_step(
    site: &SingleSite,
    ops: &FockOps,
    rho: &DensityMatrix,
    dt: f64,
    dw: &[f64; 6],
) -> DensityMatrix {
    let st = Stepper::new(site, dt);
    let mut r = rho.clone();
    st.step(site, ops, &mut r, dw, RecordKind::Noise);
    r
}

// ---------------------------------------------------------------------------------------------------------------
// Moment coefficients: exact master equation at a given ρ, and SPEC §4.1 at a Gaussian state
// ---------------------------------------------------------------------------------------------------------------

/// Itô coefficients of the mean and covariance: dx̄ = drift_mean dt + Σ_J noise_mean[J] dW_J,
/// dΓ = drift_cov dt + Σ_J noise_cov[J] dW_J.
#[derive(Clone, Copy, Debug)]
pub struct MomentCoeffs {
    pub drift_mean: [f64; 2],
    pub noise_mean: [[f64; 2]; 6],
    pub drift_cov: [[f64; 2]; 2],
    pub noise_cov: [[[f64; 2]; 2]; 6],
}

type M2 = [[f64; 2]; 2];

fn mm2(a: &M2, b: &M2) -> M2 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[i][0] * b[0][j] + a[i][1] * b[1][j]))
}
fn tr2(a: &M2) -> M2 {
    [[a[0][0], a[1][0]], [a[0][1], a[1][1]]]
}
fn add2(a: &M2, b: &M2, s: f64) -> M2 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[i][j] + s * b[i][j]))
}
fn mv2(a: &M2, v: &[f64; 2]) -> [f64; 2] {
    [
        a[0][0] * v[0] + a[0][1] * v[1],
        a[1][0] * v[0] + a[1][1] * v[1],
    ]
}
fn outer2(u: &[f64; 2], v: &[f64; 2]) -> M2 {
    std::array::from_fn(|i| std::array::from_fn(|j| u[i] * v[j]))
}

/// The SPEC §4 / §4.1 objects for n = 1, written out from the definitions:
/// Ω = (1/ΔV)[[0, 1], [−1, 0]];  H = ½XᵀMX with M = ΔV N diag(√g m², 1/√g);
/// L̂^{ab} = ½XᵀA_{ab}X with A_{ab} = −(N√g/2) g^{ab} diag(−m², 1/g)   (from −(N√g/2)·½g^ab(Π² − m²φ²), Π = π/√g).
pub struct Spec41N1 {
    pub omega: M2,
    pub m: M2,
    pub a: [M2; 6],
    /// C = (1 + ε)¼𝒟⁺
    pub c: [[f64; 6]; 6],
    /// 𝒟⁺
    pub p: [[f64; 6]; 6],
}

impl Spec41N1 {
    pub fn new(site: &SingleSite) -> Self {
        let dv = site.dv;
        let n = site.lapse;
        let sg = site.sqrt_g();
        let g = sg * sg;
        let m2 = site.mass * site.mass;
        let gi = site.ginv();
        Self {
            omega: [[0.0, 1.0 / dv], [-1.0 / dv, 0.0]],
            m: [[dv * n * sg * m2, 0.0], [0.0, dv * n / sg]],
            a: std::array::from_fn(|i| {
                let (p, q) = PAIRS[i];
                let f = -0.5 * n * sg * gi[p][q];
                [[-f * m2, 0.0], [0.0, f / g]]
            }),
            c: site.decoherence6(),
            p: site.noise_ginv6(),
        }
    }
}

/// SPEC §4.1's Itô coefficients at the Gaussian state (x̄, Γ), evaluated literally (Σ_IJ over the 6 components):
///   dx̄ = [K_H x̄ + ½ Σ C_IJ K_J K_I x̄] dt − Σ (𝒟⁺)_IJ Γ A_I x̄ dW_J
///   dΓ = [K_H Γ + Γ K_Hᵀ + Σ C_IJ(½(K_J K_I Γ + Γ K_Iᵀ K_Jᵀ) + K_I(Γ + x̄x̄ᵀ)K_Jᵀ) − Γ(Σ A_I x̄ (𝒟⁺)_IJ x̄ᵀA_J)Γ] dt
///        − Σ (𝒟⁺)_IJ (Γ A_I Γ − ¼ Ω A_I Ωᵀ) dW_J
pub fn spec41_coefficients(site: &SingleSite, mean: [f64; 2], cov: M2) -> MomentCoeffs {
    spec41_coefficients_parts(site, mean, cov, true)
}

/// [`spec41_coefficients`] with (`with_h = true`) or without the K_H terms.
pub fn spec41_coefficients_parts(
    site: &SingleSite,
    mean: [f64; 2],
    cov: M2,
    with_h: bool,
) -> MomentCoeffs {
    spec41_coefficients_ctx(&Spec41N1::new(site), mean, cov, with_h)
}

/// [`spec41_coefficients_parts`] with the matrices precomputed.
pub fn spec41_coefficients_ctx(
    s: &Spec41N1,
    mean: [f64; 2],
    cov: M2,
    with_h: bool,
) -> MomentCoeffs {
    let kh = if with_h {
        mm2(&s.omega, &s.m)
    } else {
        [[0.0; 2]; 2]
    };
    let k: [M2; 6] = std::array::from_fn(|i| mm2(&s.omega, &s.a[i]));
    let c = &s.c;
    let p = &s.p;
    let sm = add2(&cov, &outer2(&mean, &mean), 1.0);
    let mut drift_mean = mv2(&kh, &mean);
    let mut drift_cov = add2(&mm2(&kh, &cov), &mm2(&cov, &tr2(&kh)), 1.0);
    let mut inner = [[0.0; 2]; 2];
    for i in 0..6 {
        for j in 0..6 {
            let kjki = mm2(&k[j], &k[i]);
            let v = mv2(&kjki, &mean);
            drift_mean[0] += 0.5 * c[i][j] * v[0];
            drift_mean[1] += 0.5 * c[i][j] * v[1];
            let t1 = mm2(&kjki, &cov);
            let t2 = mm2(&cov, &mm2(&tr2(&k[i]), &tr2(&k[j])));
            let t3 = mm2(&k[i], &mm2(&sm, &tr2(&k[j])));
            for a in 0..2 {
                for b in 0..2 {
                    drift_cov[a][b] += c[i][j] * (0.5 * (t1[a][b] + t2[a][b]) + t3[a][b]);
                }
            }
            let ai = mv2(&s.a[i], &mean);
            let aj = mv2(&s.a[j], &mean);
            inner = add2(&inner, &outer2(&ai, &aj), p[i][j]);
        }
    }
    drift_cov = add2(&drift_cov, &mm2(&cov, &mm2(&inner, &cov)), -1.0);
    let mut noise_mean = [[0.0; 2]; 6];
    let mut noise_cov = [[[0.0; 2]; 2]; 6];
    for j in 0..6 {
        for i in 0..6 {
            let v = mv2(&mm2(&cov, &s.a[i]), &mean);
            noise_mean[j][0] -= p[i][j] * v[0];
            noise_mean[j][1] -= p[i][j] * v[1];
            let r = add2(
                &mm2(&cov, &mm2(&s.a[i], &cov)),
                &mm2(&s.omega, &mm2(&s.a[i], &tr2(&s.omega))),
                -0.25,
            );
            noise_cov[j] = add2(&noise_cov[j], &r, -p[i][j]);
        }
    }
    MomentCoeffs {
        drift_mean,
        noise_mean,
        drift_cov,
        noise_cov,
    }
}

/// Exact Itô coefficients of the moments under the master equation at the state ρ (any state), from the Fock-space
/// superoperators with the full 6×6 sums (L̂_I = c_I Ô as matrices):
///   drift:  𝓛ρ = −i[Ĥ, ρ] + Σ_IJ C_IJ (L̂_J ρ L̂_I − ½{L̂_I L̂_J, ρ}),
///   noise J: 𝓗_J ρ = −½ Σ_I (𝒟⁺)_IJ (L̂_I ρ + ρ L̂_I − 2⟨L̂_I⟩ρ),
/// then Γ = S − x̄x̄ᵀ by Itô's rule (drift Γ = drift S − ẋ̄x̄ᵀ − x̄ẋ̄ᵀ − Σ_JK b_J 𝒟_JK b_Kᵀ).
pub fn exact_moment_coefficients(
    site: &SingleSite,
    ops: &FockOps,
    rho: &DensityMatrix,
) -> MomentCoeffs {
    let d = ops.dim;
    let c = site.coupling6();
    let cm = site.decoherence6();
    let p = site.noise_ginv6();
    let dcov = site.noise_cov6();
    let r = &rho.data;
    // drift superoperator
    let h = |x: &[C64]| -> Vec<C64> {
        let mut o = vec![C64::new(0.0, 0.0); d * d];
        for i in 0..d {
            for j in 0..d {
                o[i * d + j] = C64::new(0.0, -1.0) * (ops.h_diag[i] - ops.h_diag[j]) * x[i * d + j];
            }
        }
        o
    };
    let mut lr = h(r);
    let o_r = ops.o.left(r);
    let r_o = ops.o.right_dagger(r); // Ô Hermitian: ρÔ† = ρÔ
    let o_r_o = ops.o.right_dagger(&o_r);
    let o2_r = ops.o2.left(r);
    let r_o2 = ops.o2.right_dagger(r);
    for i in 0..6 {
        for j in 0..6 {
            let w = cm[i][j] * c[i] * c[j];
            for k in 0..d * d {
                lr[k] += (o_r_o[k] - (o2_r[k] + r_o2[k]) * 0.5) * w;
            }
        }
    }
    let o_mean = ops.o.expect(r).re;
    let hr: Vec<Vec<C64>> = (0..6)
        .map(|jj| {
            let mut v = vec![C64::new(0.0, 0.0); d * d];
            for ii in 0..6 {
                let w = -0.5 * p[ii][jj] * c[ii];
                for k in 0..d * d {
                    v[k] += (o_r[k] + r_o[k] - r[k] * (2.0 * o_mean)) * w;
                }
            }
            v
        })
        .collect();
    let e = |op: &Sparse, x: &[C64]| op.expect(x).re;
    let mean = [e(&ops.phi, r), e(&ops.pi, r)];
    let dm = [e(&ops.phi, &lr), e(&ops.pi, &lr)];
    let ds = [
        [e(&ops.phi2, &lr), e(&ops.phipi, &lr)],
        [e(&ops.phipi, &lr), e(&ops.pi2, &lr)],
    ];
    let bm: [[f64; 2]; 6] = std::array::from_fn(|j| [e(&ops.phi, &hr[j]), e(&ops.pi, &hr[j])]);
    let bs: [M2; 6] = std::array::from_fn(|j| {
        [
            [e(&ops.phi2, &hr[j]), e(&ops.phipi, &hr[j])],
            [e(&ops.phipi, &hr[j]), e(&ops.pi2, &hr[j])],
        ]
    });
    let mut drift_cov = add2(
        &add2(&ds, &outer2(&dm, &mean), -1.0),
        &outer2(&mean, &dm),
        -1.0,
    );
    for j in 0..6 {
        for k in 0..6 {
            drift_cov = add2(&drift_cov, &outer2(&bm[j], &bm[k]), -dcov[j][k]);
        }
    }
    let noise_cov: [M2; 6] = std::array::from_fn(|j| {
        add2(
            &add2(&bs[j], &outer2(&bm[j], &mean), -1.0),
            &outer2(&mean, &bm[j]),
            -1.0,
        )
    });
    MomentCoeffs {
        drift_mean: dm,
        noise_mean: bm,
        drift_cov,
        noise_cov,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// SPEC §4.1 Gaussian closure at n = 1: order-1 (Platen, derivative-free Milstein) integrator
// ---------------------------------------------------------------------------------------------------------------

/// Integrates SPEC §4.1's Itô equations for n = 1: the Hamiltonian flow (x̄ → Px̄, Γ → PΓPᵀ, P = exp(K_H dt/2), a
/// rotation at frequency N m) is applied exactly, Strang-split around a derivative-free Milstein (Platen) step for
/// the decoherence and conditioning terms. The latter has strong order 1 here because the six noise channels act
/// through the single combination dw = cᵀ𝒟⁺dW (commutative noise). The same splitting as the exact reference;
/// a calibration companion of it (same record, same dt).
pub fn evolve_gaussian_n1(
    site: &SingleSite,
    mean0: [f64; 2],
    cov0: M2,
    dt: f64,
    dw: &[[f64; 6]],
) -> Vec<Moments> {
    type Y = [f64; 5];
    let pack = |m: [f64; 2], c: M2| -> Y { [m[0], m[1], c[0][0], c[0][1], c[1][1]] };
    let unpack = |y: &Y| -> ([f64; 2], M2) { ([y[0], y[1]], [[y[2], y[3]], [y[3], y[4]]]) };
    let dcov = site.noise_cov6();
    let p = site.noise_ginv6();
    let c = site.coupling6();
    let pc: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| p[i][j] * c[j]).sum());
    // v = 𝒟𝒟⁺c: a direction with cᵀ𝒟⁺v = γ' (the variance rate of dw)
    let v: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| dcov[i][j] * pc[j]).sum());
    let gamma_eff: f64 = (0..6).map(|i| pc[i] * v[i]).sum();
    let ctx = Spec41N1::new(site);
    let coeffs = |y: &Y| {
        let (m, cv) = unpack(y);
        spec41_coefficients_ctx(&ctx, m, cv, false)
    };
    let th = 0.5 * site.frequency() * dt;
    let mw = site.sqrt_g() * site.mass;
    let prop: M2 = [[th.cos(), th.sin() / mw], [-mw * th.sin(), th.cos()]];
    let half_h = |y: &mut Y| {
        let (m, cv) = unpack(y);
        *y = pack(mv2(&prop, &m), mm2(&prop, &mm2(&cv, &tr2(&prop))));
    };
    // Σ_J b_J w_J
    let contract = |k: &MomentCoeffs, w: &[f64; 6]| -> Y {
        let mut o = [0.0; 5];
        for j in 0..6 {
            let t = pack(k.noise_mean[j], k.noise_cov[j]);
            for q in 0..5 {
                o[q] += t[q] * w[j];
            }
        }
        o
    };
    let drift = |k: &MomentCoeffs| pack(k.drift_mean, k.drift_cov);
    let to_m = |y: &Y, t: f64| {
        let (m, cv) = unpack(y);
        let det = cv[0][0] * cv[1][1] - cv[0][1] * cv[0][1];
        Moments {
            t,
            mean: m,
            cov: cv,
            purity: 1.0 / (2.0 * site.dv * det.sqrt()),
            o_mean: f64::NAN,
            tail: 0.0,
        }
    };
    let mut y = pack(mean0, cov0);
    let mut out = vec![to_m(&y, 0.0)];
    for (n, w) in dw.iter().enumerate() {
        half_h(&mut y);
        let k = coeffs(&y);
        let a = drift(&k);
        let bw = contract(&k, w);
        if gamma_eff > 0.0 {
            let weff: f64 = (0..6).map(|i| pc[i] * w[i]).sum();
            // b̃ = Σ_J b_J v_J / γ' (noise vector per unit dw)
            let bt: Y = {
                let bv = contract(&k, &v);
                std::array::from_fn(|q| bv[q] / gamma_eff)
            };
            let sq = (gamma_eff * dt).sqrt();
            let ysup: Y = std::array::from_fn(|q| y[q] + a[q] * dt + bt[q] * sq);
            let ks = coeffs(&ysup);
            let bts: Y = {
                let bv = contract(&ks, &v);
                std::array::from_fn(|q| bv[q] / gamma_eff)
            };
            let corr = (weff * weff - gamma_eff * dt) / (2.0 * sq);
            for q in 0..5 {
                y[q] += a[q] * dt + bw[q] + (bts[q] - bt[q]) * corr;
            }
        } else {
            for q in 0..5 {
                y[q] += a[q] * dt + bw[q];
            }
        }
        half_h(&mut y);
        out.push(to_m(&y, (n + 1) as f64 * dt));
    }
    out
}
