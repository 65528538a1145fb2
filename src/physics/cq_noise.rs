//! The CQ diffusion of π^ab (SPEC §3) as pure functions of local data: the diffusion tensor s^abcd, its
//! symmetric square root applied to a white tensor (the per-site sampling formula), the Gaussian correlation
//! kernel K_ℓ and its lattice square root, and the expected values the noise diagnostics compare against.
//! Twin of the sampling: `shaders/cq_noise.wgsl` (same operations in the same order). Derivations:
//! docs/physics.md, "CQ noise".
//!
//! # The sampling formula
//! Tensors are symmetric 3×3 matrices; the inner product on them is the Frobenius one of SPEC §1 (sums over
//! all 9 index pairs), ⟨A, B⟩ = Σ_ab A_ab B_ab. A *Frobenius-white* tensor A has E[A_ab A_cd] =
//! ½(δ_ac δ_bd + δ_ad δ_bc), i.e. A_aa ~ N(0, 1) and A_ab ~ N(0, ½) for a ≠ b, independent: its covariance is
//! the identity operator. With s̃ = s/(N√g) = ½(g^ac g^bd + g^ad g^bc) − β g^ab g^cd (an operator on symmetric
//! tensors through the Frobenius contraction), dW = sqrt(D2 N√g dt) · s̃^{1/2}(ζ) has covariance
//! D2 s dt ⟨ζζ⟩, for any factor of s̃. cqgrav uses the **symmetric (principal) square root** s̃^{1/2}, because
//! SPEC's correlated kernel 𝒟(x,y) = D2 s(x)^{1/2} K_ℓ(x−y) s(y)^{1/2} needs exactly that factor at x ≠ y
//! (another factor L gives L(x) K L(y)^T, which differs when g(x) ≠ g(y)).
//!
//! In the eigenbasis of g (g = V diag(λ) V^T, d_i = 1/λ_i) s̃ is block diagonal: on the three off-diagonal
//! basis tensors it is diag(d_i d_j), on the diagonal ones it is the 3×3 matrix M = diag(d)² − β d dᵀ. Hence
//!   Ã = Vᵀ A V,  Ỹ_ij = sqrt(d_i d_j) Ã_ij (i ≠ j),  (Ỹ_11, Ỹ_22, Ỹ_33) = M^{1/2} (Ã_11, Ã_22, Ã_33),
//!   s̃^{1/2}(A) = V Ỹ Vᵀ,
//! with both eigen-decompositions by cyclic Jacobi rotations (square roots and divisions only, so the f64 GPU
//! twin needs no transcendental function). For g = δ this is SPEC's frame formula with e = δ:
//! M^{1/2} = I + γ 11ᵀ, γ = (−1 + sqrt(1 − 3β))/3. The `trace-only` variant s̃ = g^ab g^cd is rank one with
//! root |u⟩⟨u|/|u|, u = g^{-1}: s̃^{1/2}(A) = g^{-1} tr(g^{-1} A) / sqrt(tr g^{-2}).
use crate::config::NoiseKind;
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::physics::tensor::{det, inverse, Sym, PAIRS, SYM};

/// The noise parameters of a run (SPEC §3, §10 `[cq]`, `run.seed`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseParams {
    /// D2 ≥ 0; 0 switches the noise off.
    pub diffusion: f64,
    /// β ≤ 1/3 (`tensor` only).
    pub beta: f64,
    pub kind: NoiseKind,
    /// ℓ ≥ 0; 0 = white.
    pub correlation_length: f64,
    /// Key of the counter-based generator.
    pub seed: u64,
}

impl Default for NoiseParams {
    fn default() -> Self {
        Self { diffusion: 0.0, beta: 0.0, kind: NoiseKind::Tensor, correlation_length: 0.0, seed: 1 }
    }
}

impl NoiseParams {
    /// Whether there is noise to draw (D2 > 0).
    pub fn is_active(&self) -> bool {
        self.diffusion > 0.0
    }
    pub fn trace_only(&self) -> bool {
        self.kind == NoiseKind::TraceOnly
    }
}

/// γ = (−1 + sqrt(1 − 3β))/3, the root of 3γ² + 2γ + β = 0 that makes η = A + γ δ tr A have
/// E[η_ij η_kl] = ½(δ_ik δ_jl + δ_il δ_jk) − β δ_ij δ_kl (SPEC §3). NaN for β > 1/3.
pub fn gamma(beta: f64) -> f64 {
    (-1.0 + (1.0 - 3.0 * beta).sqrt()) / 3.0
}

/// s^{abcd} = N√g [½(g^ac g^bd + g^ad g^bc) − β g^ab g^cd] (`tensor`) or N√g g^ab g^cd (`trace-only`), as the
/// 6×6 array s[k][l] = s^{a_k b_k c_l d_l} over storage components (PAIRS order).
pub fn diffusion_tensor(g: &Sym<f64>, lapse: f64, beta: f64, kind: NoiseKind) -> [[f64; 6]; 6] {
    let (gi, d) = inverse(g);
    let w = lapse * d.sqrt();
    let u = |a: usize, b: usize| gi[SYM[a][b]];
    let mut s = [[0.0; 6]; 6];
    for (k, &(a, b)) in PAIRS.iter().enumerate() {
        for (l, &(c, e)) in PAIRS.iter().enumerate() {
            s[k][l] = w * match kind {
                NoiseKind::Tensor => 0.5 * (u(a, c) * u(b, e) + u(a, e) * u(b, c)) - beta * u(a, b) * u(c, e),
                NoiseKind::TraceOnly => u(a, b) * u(c, e),
            };
        }
    }
    s
}

/// G_abcd s^abcd / N: the rate d/dt E[G_abcd π^ab π^cd] = D2 N K_ℓ(0) × this (SPEC §3, §8.5, §9):
/// (3/2)(3 + β) for `tensor`, −3/2 for `trace-only` (the trace mode has negative DeWitt norm). Metric independent.
pub fn dewitt_rate(beta: f64, kind: NoiseKind) -> f64 {
    match kind {
        NoiseKind::Tensor => 1.5 * (3.0 + beta),
        NoiseKind::TraceOnly => -1.5,
    }
}

/// g_ac g_bd s^abcd / (N√g): the expected g-norm² of an increment per unit D2·dt·K_ℓ(0)·N√g.
/// 6 − 3β (`tensor`), 3 (`trace-only`).
pub fn gnorm_rate(beta: f64, kind: NoiseKind) -> f64 {
    match kind {
        NoiseKind::Tensor => 6.0 - 3.0 * beta,
        NoiseKind::TraceOnly => 3.0,
    }
}

/// g_ab g_cd s^abcd / (N√g): the expected square of the trace g_ab dW^ab per unit D2·dt·K_ℓ(0)·N√g.
/// 3(1 − 3β) (`tensor`), 9 (`trace-only`).
pub fn trace_rate(beta: f64, kind: NoiseKind) -> f64 {
    match kind {
        NoiseKind::Tensor => 3.0 - 9.0 * beta,
        NoiseKind::TraceOnly => 9.0,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Per-site sampling (twin: shaders/cq_noise.wgsl)
// ---------------------------------------------------------------------------------------------------------

/// Jacobi sweeps of the 3×3 eigen-decompositions (each sweep = 3 rotations; convergence is quadratic, 8 sweeps
/// are far more than f64 needs for any symmetric 3×3 matrix).
pub const JACOBI_SWEEPS: usize = 8;

/// Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations: (eigenvalues, V) with
/// m = V diag(λ) Vᵀ (eigenvectors in the columns of V, `v[row][col]`). Unordered.
#[inline]
pub fn jacobi3<T: Real>(m: &Sym<T>) -> ([T; 3], [[T; 3]; 3]) {
    let mut a = [[T::zero(); 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            a[i][j] = m[SYM[i][j]];
        }
    }
    let mut v = [[T::zero(); 3]; 3];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = T::one();
    }
    let big = T::c(1e15);
    for _ in 0..JACOBI_SWEEPS {
        for (p, q) in [(0usize, 1usize), (0, 2), (1, 2)] {
            let apq = a[p][q];
            if apq == T::zero() {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (T::c(2.0) * apq);
            let t = if theta.abs() > big {
                T::c(0.5) / theta
            } else {
                let sgn = if theta >= T::zero() { T::one() } else { -T::one() };
                sgn / (theta.abs() + (theta * theta + T::one()).sqrt())
            };
            let c = T::one() / (t * t + T::one()).sqrt();
            let s = t * c;
            a[p][p] = a[p][p] - t * apq;
            a[q][q] = a[q][q] + t * apq;
            a[p][q] = T::zero();
            a[q][p] = T::zero();
            let r = 3 - p - q;
            let arp = a[r][p];
            let arq = a[r][q];
            a[r][p] = c * arp - s * arq;
            a[p][r] = a[r][p];
            a[r][q] = s * arp + c * arq;
            a[q][r] = a[r][q];
            for row in v.iter_mut() {
                let vp = row[p];
                let vq = row[q];
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2]], v)
}

/// s̃^{1/2}(A) for s̃ = s/(N√g) (module documentation): the symmetric square root of the normalised diffusion
/// tensor applied to the symmetric tensor A (storage order). With A Frobenius-white, the result has covariance
/// s̃ exactly.
#[inline]
pub fn sqrt_diffusion_apply<T: Real>(g: &Sym<T>, beta: T, trace_only: bool, a: &Sym<T>) -> Sym<T> {
    if trace_only {
        let (gi, _) = inverse(g);
        // tr(g^{-1} A) = ⟨g^{-1}, A⟩ and tr(g^{-2}) = ⟨g^{-1}, g^{-1}⟩ (Frobenius, 9 pairs)
        let ua = gi[0] * a[0] + gi[3] * a[3] + gi[5] * a[5] + T::c(2.0) * (gi[1] * a[1] + gi[2] * a[2] + gi[4] * a[4]);
        let uu = gi[0] * gi[0] + gi[3] * gi[3] + gi[5] * gi[5] + T::c(2.0) * (gi[1] * gi[1] + gi[2] * gi[2] + gi[4] * gi[4]);
        let f = ua / uu.sqrt();
        return gi.map(|x| x * f);
    }
    let (lam, v) = jacobi3(g);
    let d = [T::one() / lam[0], T::one() / lam[1], T::one() / lam[2]];
    // Ã = Vᵀ A V
    let mut at = [[T::zero(); 3]; 3];
    for i in 0..3 {
        for j in i..3 {
            let mut s = T::zero();
            for k in 0..3 {
                for l in 0..3 {
                    s = s + v[k][i] * a[SYM[k][l]] * v[l][j];
                }
            }
            at[i][j] = s;
            at[j][i] = s;
        }
    }
    // diagonal block: M = diag(d)² − β d dᵀ, Ỹ_diag = M^{1/2} Ã_diag
    let mm: Sym<T> = [
        d[0] * d[0] - beta * d[0] * d[0],
        -(beta * d[0] * d[1]),
        -(beta * d[0] * d[2]),
        d[1] * d[1] - beta * d[1] * d[1],
        -(beta * d[1] * d[2]),
        d[2] * d[2] - beta * d[2] * d[2],
    ];
    let (mu, w) = jacobi3(&mm);
    let mut proj = [T::zero(); 3];
    for (k, pk) in proj.iter_mut().enumerate() {
        *pk = (w[0][k] * at[0][0] + w[1][k] * at[1][1] + w[2][k] * at[2][2]) * mu[k].max(T::zero()).sqrt();
    }
    let mut yt = [[T::zero(); 3]; 3];
    for i in 0..3 {
        yt[i][i] = w[i][0] * proj[0] + w[i][1] * proj[1] + w[i][2] * proj[2];
    }
    for (i, j) in [(0usize, 1usize), (0, 2), (1, 2)] {
        let y = at[i][j] * (d[i] * d[j]).sqrt();
        yt[i][j] = y;
        yt[j][i] = y;
    }
    // Y = V Ỹ Vᵀ
    let mut out = [T::zero(); 6];
    for (k, &(i, j)) in PAIRS.iter().enumerate() {
        let mut s = T::zero();
        for p in 0..3 {
            for q in 0..3 {
                s = s + v[i][p] * yt[p][q] * v[j][q];
            }
        }
        out[k] = s;
    }
    out
}

/// The increment at one site: dW = amp · sqrt(N√g) · s̃^{1/2}(ζ), amp = sqrt(D2·dt), ζ the (white or smoothed)
/// normal tensor field at the site (which carries the 1/ΔV or K_ℓ of the correlation).
#[inline]
pub fn site_increment<T: Real>(g: &Sym<T>, lapse: T, amp: T, beta: T, trace_only: bool, zeta: &Sym<T>) -> Sym<T> {
    let c = amp * (lapse * det(g).sqrt()).sqrt();
    sqrt_diffusion_apply(g, beta, trace_only, zeta).map(|x| x * c)
}

/// The white lattice tensor from 6 standard normals n: ζ_aa = n_a·(1/√ΔV) (a = x, y, z from n0, n1, n2) and
/// ζ_xy, ζ_xz, ζ_yz = n3, n4, n5 · (1/√(2ΔV)): Frobenius-white with E[ζ(x)ζ(y)] = identity · δ_xy/ΔV.
/// `scale` = [1/√ΔV, 1/√(2ΔV)] in the run's precision.
#[inline]
pub fn white_tensor<T: Real>(n: [T; 6], scale: [T; 2]) -> Sym<T> {
    [n[0] * scale[0], n[3] * scale[1], n[4] * scale[1], n[1] * scale[0], n[5] * scale[1], n[2] * scale[0]]
}

// ---------------------------------------------------------------------------------------------------------
// The correlation kernel K_ℓ and its lattice square root
// ---------------------------------------------------------------------------------------------------------

/// K_ℓ(r) = (2πℓ²)^{-3/2} exp(−r²/(2ℓ²)), the normalised Gaussian of width ℓ (SPEC §3).
pub fn kernel(ell: f64, r: f64) -> f64 {
    (2.0 * std::f64::consts::PI * ell * ell).powf(-1.5) * (-r * r / (2.0 * ell * ell)).exp()
}

/// Truncation radius (in sites) of the lattice square root of K_ℓ: R = ⌈4ℓ/h⌉ (the 1-D factor exp(−x²/ℓ²) is
/// e^{-16} ≈ 1e-7 of its peak there).
pub fn smoothing_radius(ell: f64, h: f64) -> usize {
    ((4.0 * ell / h).ceil() as usize).max(1)
}

/// The 1-D weights w_j, j = −R..R, of the separable lattice square root of K_ℓ: w_j = C exp(−(jh)²/ℓ²) (the
/// continuum square root K_ℓ^{1/2} is the normalised Gaussian of width ℓ/√2, a product of three such factors),
/// with C fixed so that Σ_j w_j² = h / (sqrt(2π) ℓ). Smoothing a white lattice field (covariance δ_xy/ΔV) with
/// w⊗w⊗w along the active axes gives the covariance Π_axes (1/h) Σ_j w_j w_{j+m}, which equals K_ℓ(0) exactly at
/// zero separation and K_ℓ(m h) to within 2 exp(−π²ℓ²/h²) relative elsewhere (Poisson summation), as long as
/// the kernel does not wrap around the box.
pub fn smoothing_weights(ell: f64, h: f64) -> Vec<f64> {
    let r = smoothing_radius(ell, h) as i64;
    let e: Vec<f64> = (-r..=r).map(|j| (-((j as f64 * h) / ell).powi(2)).exp()).collect();
    let sum2: f64 = e.iter().map(|x| x * x).sum();
    let c = (h / ((2.0 * std::f64::consts::PI).sqrt() * ell) / sum2).sqrt();
    e.into_iter().map(|x| c * x).collect()
}

/// The lattice autocorrelation (1/h) Σ_j w̄_j w̄_{j+m} along one axis of n sites, with the weights folded onto
/// the periodic axis (w̄_j = Σ_{k ≡ j mod n} w_k). For an axis of one site (homogeneous) no smoothing is done
/// and the factor is the white one, 1/h.
pub fn axis_correlation(weights: &[f64], n: usize, h: f64, m: isize) -> f64 {
    if n == 1 {
        return 1.0 / h;
    }
    let r = (weights.len() / 2) as isize;
    let mut folded = vec![0.0; n];
    for (k, w) in weights.iter().enumerate() {
        folded[(k as isize - r).rem_euclid(n as isize) as usize] += w;
    }
    (0..n).map(|j| folded[j] * folded[(j as isize + m).rem_euclid(n as isize) as usize]).sum::<f64>() / h
}

/// The zero-separation value of the realised lattice correlation, "K_ℓ(0)" of the noise: 1/ΔV for white noise;
/// for ℓ > 0 the product of [`axis_correlation`] at m = 0 over the three axes, which is (2πℓ²)^{-d/2} h^{d-3}
/// (d active axes) unless the kernel wraps around the box.
pub fn kernel_at_zero(ell: f64, lattice: &Lattice) -> f64 {
    let h = lattice.spacing;
    if ell <= 0.0 {
        return 1.0 / lattice.cell_volume();
    }
    let w = smoothing_weights(ell, h);
    lattice.shape.iter().map(|&n| axis_correlation(&w, n, h, 0)).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_solves_the_quadratic() {
        for beta in [-3.0, -1.0, 0.0, 0.2, 1.0 / 3.0] {
            let g = gamma(beta);
            assert!((3.0 * g * g + 2.0 * g + beta).abs() < 1e-14);
        }
        assert!(gamma(0.34).is_nan());
    }

    #[test]
    fn jacobi_diagonalises() {
        let m = [2.0, 0.3, -0.2, 1.5, 0.4, 0.7f64];
        let (l, v) = jacobi3(&m);
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| v[i][k] * l[k] * v[j][k]).sum();
                assert!((r - m[SYM[i][j]]).abs() < 1e-14, "{i}{j}");
            }
        }
    }

    #[test]
    fn weights_normalised() {
        for (ell, h) in [(0.2, 0.1), (0.35, 0.1), (0.05, 0.1)] {
            let w = smoothing_weights(ell, h);
            let s2: f64 = w.iter().map(|x| x * x).sum();
            assert!((s2 / h - 1.0 / ((2.0 * std::f64::consts::PI).sqrt() * ell)).abs() < 1e-12);
            assert_eq!(w.len(), 2 * smoothing_radius(ell, h) + 1);
        }
    }
}
