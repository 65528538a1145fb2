//! Unconditional Lindblad references for the Gaussian quantum scalar field (SPEC §4.1, §8 item 8).
//!
//! Averaged over the noise, the conditional master equation becomes the Lindblad equation
//!   dρ/dt = −i[Ĥ, ρ] + Σ_IJ C_IJ (L̂_J ρ L̂_I − ½{L̂_I L̂_J, ρ}),   C = (1 + ε) ¼ 𝒟⁺.
//! With Ĥ = ½XᵀMX and L̂_I = ½XᵀA_I X quadratic, the double commutator of two quadratic forms with a quadratic form
//! is again a quadratic form (the quadratic forms close under commutators: [½XᵀAX, ½XᵀBX] = (i/2)Xᵀ(AΩB − BΩA)X),
//! so the first and second moments obey CLOSED linear equations for ANY state, Gaussian or not:
//!   dx̄/dt = (K_H + ½ Σ C_IJ K_J K_I) x̄,
//!   dS/dt = K_H S + S K_Hᵀ + Σ C_IJ (½(K_J K_I S + S K_Iᵀ K_Jᵀ) + K_I S K_Jᵀ),   S = Γ + x̄x̄ᵀ.
//! This is SPEC §4.1's drift with the conditioning terms averaged out (they cancel in S exactly:
//! −Γ(Σ A x̄ 𝒟⁺ x̄ᵀA)Γ + E[dx̄ dx̄ᵀ]/dt = 0). So E[Γ + x̄x̄ᵀ] of the conditional Gaussian dynamics follows it exactly.
//!
//! Provided:
//! - [`LatticeModel`]: a small periodic lattice (n ≤ ~8 sites is cheap; any n works) with frozen homogeneous
//!   metric, building M, Ω, every A_I (I = (site, ab), with gradient terms, SPEC §2 stencils of order 2 or 4),
//!   𝒟 and C as dense matrices, independently of the solver;
//! - [`lindblad_second_moments_closure`]: the linear ODE above, integrated with Dop853;
//! - [`heisenberg_dual`]: the same generator derived the other way (Heisenberg picture, commutator algebra of
//!   quadratic forms) for an algebraic cross-check of SPEC's formula;
//! - [`lindblad_exact_single_site`]: the exact Lindblad evolution of a truncated-Fock density matrix (n = 1).

use super::single_site_exact::{
    det3, inv3, jacobi_eigen, moments_of, noise_cov6, noise_ginv6, sym3, sym_fn, DensityMatrix,
    FockOps, GInverse, Moments, NoiseKind, SingleSite, PAIRS,
};
use num_complex::Complex64 as C64;
use ode_solvers::{DVector, Dop853, OutputType, System};

/// Dense real square matrix, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Mat {
    pub n: usize,
    pub d: Vec<f64>,
}

impl Mat {
    pub fn zeros(n: usize) -> Self {
        Self {
            n,
            d: vec![0.0; n * n],
        }
    }
    pub fn identity(n: usize) -> Self {
        let mut m = Self::zeros(n);
        for i in 0..n {
            m.d[i * n + i] = 1.0;
        }
        m
    }
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.d[i * self.n + j]
    }
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.d[i * self.n + j] = v;
    }
    #[inline]
    pub fn add_at(&mut self, i: usize, j: usize, v: f64) {
        self.d[i * self.n + j] += v;
    }
    pub fn mul(&self, o: &Mat) -> Mat {
        let n = self.n;
        let mut r = Mat::zeros(n);
        for i in 0..n {
            for k in 0..n {
                let a = self.d[i * n + k];
                if a == 0.0 {
                    continue;
                }
                for j in 0..n {
                    r.d[i * n + j] += a * o.d[k * n + j];
                }
            }
        }
        r
    }
    pub fn t(&self) -> Mat {
        let n = self.n;
        let mut r = Mat::zeros(n);
        for i in 0..n {
            for j in 0..n {
                r.d[j * n + i] = self.d[i * n + j];
            }
        }
        r
    }
    /// self + s·o
    pub fn axpy(&self, s: f64, o: &Mat) -> Mat {
        Mat {
            n: self.n,
            d: self.d.iter().zip(&o.d).map(|(a, b)| a + s * b).collect(),
        }
    }
    pub fn scale(&self, s: f64) -> Mat {
        Mat {
            n: self.n,
            d: self.d.iter().map(|a| a * s).collect(),
        }
    }
    pub fn mv(&self, v: &[f64]) -> Vec<f64> {
        let n = self.n;
        (0..n)
            .map(|i| (0..n).map(|j| self.d[i * n + j] * v[j]).sum())
            .collect()
    }
    pub fn trace(&self) -> f64 {
        (0..self.n).map(|i| self.d[i * self.n + i]).sum()
    }
    pub fn max_abs(&self) -> f64 {
        self.d.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
    }
    /// max |self − o| / max(max|o|, tiny)
    pub fn rel_diff(&self, o: &Mat) -> f64 {
        let diff = self
            .d
            .iter()
            .zip(&o.d)
            .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        diff / o.max_abs().max(1e-300)
    }
    pub fn outer(u: &[f64], v: &[f64]) -> Mat {
        let n = u.len();
        let mut r = Mat::zeros(n);
        for i in 0..n {
            for j in 0..n {
                r.d[i * n + j] = u[i] * v[j];
            }
        }
        r
    }
    pub fn sym_fn(&self, f: impl Fn(f64) -> f64) -> Mat {
        Mat {
            n: self.n,
            d: sym_fn(&self.d, self.n, f),
        }
    }
    pub fn min_eigenvalue(&self) -> f64 {
        jacobi_eigen(&self.d, self.n)
            .0
            .into_iter()
            .fold(f64::INFINITY, f64::min)
    }
}

/// A small periodic lattice with frozen homogeneous metric and white noise.
#[derive(Clone, Debug)]
pub struct LatticeModel {
    /// N1, N2, N3 (site index i = x + N1 (y + N2 z))
    pub shape: [usize; 3],
    /// coordinate spacing h; ΔV = h³
    pub h: f64,
    /// g_ab (lower), xx, xy, xz, yy, yz, zz
    pub g: [f64; 6],
    pub lapse: f64,
    pub mass: f64,
    /// 2 or 4 (SPEC §2 centred stencils)
    pub fd_order: u32,
    pub d2: f64,
    pub beta: f64,
    pub noise: NoiseKind,
    /// ε: C = (1 + ε)¼𝒟⁺
    pub c_extra_factor: f64,
    pub ginverse: GInverse,
}

impl LatticeModel {
    /// The flat lattice (g = δ, N = 1) with the fourth-order stencil, tensor noise of strength `d2` with β = 0 and
    /// saturated decoherence (ε = 0): the setting of the trajectory-average tests.
    pub fn flat(shape: [usize; 3], h: f64, mass: f64, d2: f64) -> Self {
        Self {
            shape,
            h,
            g: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            lapse: 1.0,
            mass,
            fd_order: 4,
            d2,
            beta: 0.0,
            noise: NoiseKind::Tensor,
            c_extra_factor: 0.0,
            ginverse: GInverse::Covariant,
        }
    }

    pub fn n_sites(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn dv(&self) -> f64 {
        self.h * self.h * self.h
    }
    pub fn sqrt_g(&self) -> f64 {
        det3(&sym3(&self.g)).sqrt()
    }
    pub fn ginv(&self) -> [[f64; 3]; 3] {
        inv3(&sym3(&self.g))
    }
    /// The per-site parameters as a [`SingleSite`] (the n = 1 model when shape = [1, 1, 1]).
    pub fn single_site(&self) -> SingleSite {
        SingleSite {
            dv: self.dv(),
            g: self.g,
            lapse: self.lapse,
            mass: self.mass,
            d2: self.d2,
            beta: self.beta,
            noise: self.noise,
            c_extra_factor: self.c_extra_factor,
            ginverse: self.ginverse,
        }
    }
    pub fn site_index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.shape[0] * (y + self.shape[1] * z)
    }
    /// Centred first-derivative matrices D_a (n×n), periodic; wrapped stencil points accumulate.
    pub fn derivative_matrices(&self) -> [Mat; 3] {
        let n = self.n_sites();
        let stencil: Vec<(i64, f64)> = match self.fd_order {
            2 => vec![(1, 0.5), (-1, -0.5)],
            4 => vec![
                (1, 8.0 / 12.0),
                (-1, -8.0 / 12.0),
                (2, -1.0 / 12.0),
                (-2, 1.0 / 12.0),
            ],
            o => panic!("fd_order must be 2 or 4, got {o}"),
        };
        std::array::from_fn(|a| {
            let mut d = Mat::zeros(n);
            for z in 0..self.shape[2] {
                for y in 0..self.shape[1] {
                    for x in 0..self.shape[0] {
                        let i = self.site_index(x, y, z);
                        for &(k, w) in &stencil {
                            let mut c = [x as i64, y as i64, z as i64];
                            c[a] = (c[a] + k).rem_euclid(self.shape[a] as i64);
                            let j = self.site_index(c[0] as usize, c[1] as usize, c[2] as usize);
                            d.add_at(i, j, w / self.h);
                        }
                    }
                }
            }
            d
        })
    }
    /// Ω = (1/ΔV)[[0, I], [−I, 0]] (2n×2n), X = (φ(x)…, π(x)…).
    pub fn omega(&self) -> Mat {
        let n = self.n_sites();
        let mut o = Mat::zeros(2 * n);
        for i in 0..n {
            o.set(i, n + i, 1.0 / self.dv());
            o.set(n + i, i, -1.0 / self.dv());
        }
        o
    }
    /// M with Σ_x ΔV N Ĥ_m = ½XᵀMX: M_φφ = ΔV N √g (Σ_ab g^ab D_aᵀD_b + m² I), M_ππ = ΔV N/√g · I.
    pub fn hamiltonian_matrix(&self) -> Mat {
        let n = self.n_sites();
        let d = self.derivative_matrices();
        let gi = self.ginv();
        let sg = self.sqrt_g();
        let dv = self.dv();
        let mut lap = Mat::zeros(n);
        for a in 0..3 {
            for b in 0..3 {
                lap = lap.axpy(gi[a][b], &d[a].t().mul(&d[b]));
            }
        }
        let mut m = Mat::zeros(2 * n);
        for i in 0..n {
            for j in 0..n {
                let mut v = dv * self.lapse * sg * lap.at(i, j);
                if i == j {
                    v += dv * self.lapse * sg * self.mass * self.mass;
                }
                m.set(i, j, v);
            }
            m.set(n + i, n + i, dv * self.lapse / sg);
        }
        m
    }
    /// A_I (2n×2n) with L̂^{ab}(x) = ½XᵀA_I X, I = 6·x + component (component order xx, xy, xz, yy, yz, zz):
    /// L̂^ab = −(N√g/2)[D^aφ D^bφ + ½ g^ab (Π² − (Dφ)² − m²φ²)],  D^aφ = g^ac D_cφ, Π = π/√g.
    pub fn a_matrices(&self) -> Vec<Mat> {
        let n = self.n_sites();
        let d = self.derivative_matrices();
        let gi = self.ginv();
        let sg = self.sqrt_g();
        let g = sg * sg;
        let m2 = self.mass * self.mass;
        let mut out = Vec::with_capacity(6 * n);
        for x in 0..n {
            let rows: [Vec<f64>; 3] =
                std::array::from_fn(|c| (0..n).map(|j| d[c].at(x, j)).collect());
            // quadratic form (D_cφ)(x)(D_dφ)(x) = φᵀ r_c r_dᵀ φ
            let rr = |c: usize, e: usize| Mat::outer(&rows[c], &rows[e]);
            let mut grad2 = Mat::zeros(n); // (Dφ)² = g^cd D_cφ D_dφ
            for c in 0..3 {
                for e in 0..3 {
                    grad2 = grad2.axpy(gi[c][e], &rr(c, e));
                }
            }
            for &(a, b) in PAIRS.iter() {
                let mut q = Mat::zeros(n); // φφ block of the quadratic form (unsymmetrised)
                for c in 0..3 {
                    for e in 0..3 {
                        q = q.axpy(gi[a][c] * gi[b][e], &rr(c, e));
                    }
                }
                q = q.axpy(-0.5 * gi[a][b], &grad2);
                q.add_at(x, x, -0.5 * gi[a][b] * m2);
                let qs = q.axpy(1.0, &q.t()).scale(0.5);
                let mut am = Mat::zeros(2 * n);
                // A = 2 × (−N√g/2) × (quadratic-form matrix) = −N√g × (…)
                for i in 0..n {
                    for j in 0..n {
                        am.set(i, j, -self.lapse * sg * qs.at(i, j));
                    }
                }
                am.set(n + x, n + x, -self.lapse * sg * 0.5 * gi[a][b] / g);
                out.push(am);
            }
        }
        out
    }
    /// 𝒟 (6n×6n, block diagonal for white noise), per unit time.
    pub fn noise_cov(&self) -> Mat {
        let n = self.n_sites();
        let d6 = noise_cov6(
            &self.g,
            self.lapse,
            self.dv(),
            self.d2,
            self.beta,
            self.noise,
        );
        let mut m = Mat::zeros(6 * n);
        for x in 0..n {
            for i in 0..6 {
                for j in 0..6 {
                    m.set(6 * x + i, 6 * x + j, d6[i][j]);
                }
            }
        }
        m
    }
    /// 𝒟⁺ (block diagonal: the generalised inverse of a block-diagonal matrix is that of its blocks).
    pub fn noise_ginv(&self) -> Mat {
        let n = self.n_sites();
        let p6 = noise_ginv6(
            &self.g,
            self.lapse,
            self.dv(),
            self.d2,
            self.beta,
            self.noise,
            self.ginverse,
        );
        let mut m = Mat::zeros(6 * n);
        for x in 0..n {
            for i in 0..6 {
                for j in 0..6 {
                    m.set(6 * x + i, 6 * x + j, p6[i][j]);
                }
            }
        }
        m
    }
    /// C = (1 + ε)¼𝒟⁺.
    pub fn decoherence_matrix(&self) -> Mat {
        self.noise_ginv().scale(0.25 * (1.0 + self.c_extra_factor))
    }
    /// Lattice Fock vacuum of M: Γ_φφ = (1/2ΔV)(V/t)^{−1/2}, Γ_ππ = (1/2ΔV)(V/t)^{1/2}, Γ_φπ = 0, where
    /// M = diag(V, t·I) (t = ΔV N/√g). Needs V > 0 (m > 0).
    pub fn vacuum_cov(&self) -> Mat {
        let n = self.n_sites();
        let m = self.hamiltonian_matrix();
        let t = m.at(n, n);
        let mut v = Mat::zeros(n);
        for i in 0..n {
            for j in 0..n {
                v.set(i, j, m.at(i, j) / t);
            }
        }
        let dv = self.dv();
        let inv_sqrt = v.sym_fn(|l| {
            assert!(
                l > 0.0,
                "vacuum needs a positive-definite potential (m > 0)"
            );
            1.0 / l.sqrt()
        });
        let sqrt = v.sym_fn(|l| l.sqrt());
        let mut g = Mat::zeros(2 * n);
        for i in 0..n {
            for j in 0..n {
                g.set(i, j, inv_sqrt.at(i, j) / (2.0 * dv));
                g.set(n + i, n + j, sqrt.at(i, j) / (2.0 * dv));
            }
        }
        g
    }
}

/// The matrices of SPEC §4.1 for a lattice model.
pub struct ClosureOperators {
    pub omega: Mat,
    pub m: Mat,
    pub a: Vec<Mat>,
    /// K_H = ΩM
    pub kh: Mat,
    /// K_I = ΩA_I
    pub k: Vec<Mat>,
    /// C = (1 + ε)¼𝒟⁺
    pub c: Mat,
}

impl ClosureOperators {
    pub fn new(model: &LatticeModel) -> Self {
        let omega = model.omega();
        let m = model.hamiltonian_matrix();
        let a = model.a_matrices();
        let kh = omega.mul(&m);
        let k = a.iter().map(|ai| omega.mul(ai)).collect();
        let c = model.decoherence_matrix();
        Self {
            omega,
            m,
            a,
            kh,
            k,
            c,
        }
    }
    /// SPEC §4.1's unconditional S drift evaluated literally, with the double sum over (I, J) (slow; reference):
    /// K_H S + S K_Hᵀ + Σ_IJ C_IJ (½(K_J K_I S + S K_Iᵀ K_Jᵀ) + K_I S K_Jᵀ).
    pub fn rhs_literal(&self, s: &Mat) -> Mat {
        let mut r = self.kh.mul(s).axpy(1.0, &s.mul(&self.kh.t()));
        let ni = self.k.len();
        for i in 0..ni {
            for j in 0..ni {
                let cij = self.c.at(i, j);
                if cij == 0.0 {
                    continue;
                }
                let kjki = self.k[j].mul(&self.k[i]);
                let t1 = kjki.mul(s);
                let t2 = s.mul(&kjki.t());
                let t3 = self.k[i].mul(s).mul(&self.k[j].t());
                r = r.axpy(0.5 * cij, &t1).axpy(0.5 * cij, &t2).axpy(cij, &t3);
            }
        }
        r
    }
    /// Mean generator K_H + ½ Σ C_IJ K_J K_I.
    pub fn mean_generator(&self) -> Mat {
        let mut g = self.kh.clone();
        let ni = self.k.len();
        for i in 0..ni {
            for j in 0..ni {
                let cij = self.c.at(i, j);
                if cij != 0.0 {
                    g = g.axpy(0.5 * cij, &self.k[j].mul(&self.k[i]));
                }
            }
        }
        g
    }
    /// The S generator as a (2n)²×(2n)² matrix acting on row-major vec(S) (built from the literal formula
    /// rearranged: Q = Σ C_IJ K_J K_I, K̃_I = Σ_J C_IJ K_J; dS = (K_H + ½Q)S + S(K_H + ½Q)ᵀ + Σ_I K_I S K̃_Iᵀ).
    pub fn s_generator(&self) -> Mat {
        let nn = self.kh.n;
        let q = self.mean_generator(); // K_H + ½Q
        let ni = self.k.len();
        let kt: Vec<Mat> = (0..ni)
            .map(|i| {
                let mut s = Mat::zeros(nn);
                for j in 0..ni {
                    let cij = self.c.at(i, j);
                    if cij != 0.0 {
                        s = s.axpy(cij, &self.k[j]);
                    }
                }
                s
            })
            .collect();
        let big = nn * nn;
        let mut gen = Mat::zeros(big);
        // vec index (a, b) -> a*nn + b. (X S Yᵀ)_ab = Σ_cd X_ac S_cd Y_bd
        let mut add_xsy = |x: &Mat, y: &Mat, s: f64| {
            for a in 0..nn {
                for c in 0..nn {
                    let xac = x.at(a, c);
                    if xac == 0.0 {
                        continue;
                    }
                    for b in 0..nn {
                        for d in 0..nn {
                            let ybd = y.at(b, d);
                            if ybd != 0.0 {
                                gen.add_at(a * nn + b, c * nn + d, s * xac * ybd);
                            }
                        }
                    }
                }
            }
        };
        let id = Mat::identity(nn);
        add_xsy(&q, &id, 1.0);
        add_xsy(&id, &q, 1.0);
        for i in 0..ni {
            add_xsy(&self.k[i], &kt[i], 1.0);
        }
        gen
    }
}

/// c(A, W) = AΩW − WΩA: [½XᵀAX, ½XᵀWX] = (i/2) Xᵀ c(A, W) X.
pub fn quad_commutator(a: &Mat, w: &Mat, omega: &Mat) -> Mat {
    a.mul(omega).mul(w).axpy(-1.0, &w.mul(omega).mul(a))
}

/// Heisenberg-picture generator on quadratic observables: d⟨½XᵀWX⟩/dt = ⟨½XᵀW′X⟩ with
/// W′ = −c(M, W) + ½ Σ_IJ C_IJ c(A_I, c(A_J, W)) (from i[Ĥ, Ô] and −½Σ C_IJ [L̂_I, [L̂_J, Ô]]).
/// Hence tr(W·dS/dt) = tr(W′S) for every symmetric W: an independent derivation of the S equation.
pub fn heisenberg_dual(ops: &ClosureOperators, w: &Mat) -> Mat {
    let mut r = quad_commutator(&ops.m, w, &ops.omega).scale(-1.0);
    let ni = ops.a.len();
    for j in 0..ni {
        let mut cj: Option<Mat> = None;
        for i in 0..ni {
            let cij = ops.c.at(i, j);
            if cij == 0.0 {
                continue;
            }
            let inner = cj.get_or_insert_with(|| quad_commutator(&ops.a[j], w, &ops.omega));
            r = r.axpy(0.5 * cij, &quad_commutator(&ops.a[i], inner, &ops.omega));
        }
    }
    r
}

/// First and second moments of the lattice state at one time.
#[derive(Clone, Debug)]
pub struct LatticeMoments {
    pub t: f64,
    /// x̄ (2n)
    pub mean: Vec<f64>,
    /// S = Γ + x̄x̄ᵀ (2n×2n)
    pub s: Mat,
}

impl LatticeMoments {
    pub fn cov(&self) -> Mat {
        self.s.axpy(-1.0, &Mat::outer(&self.mean, &self.mean))
    }
    /// Box averages (1/n)Σ_x ⟨δφ(x)²⟩ and (1/n)Σ_x ⟨δπ(x)²⟩ (covariance part).
    pub fn box_fluctuations(&self) -> (f64, f64) {
        let n = self.mean.len() / 2;
        let c = self.cov();
        let p = (0..n).map(|i| c.at(i, i)).sum::<f64>() / n as f64;
        let q = (n..2 * n).map(|i| c.at(i, i)).sum::<f64>() / n as f64;
        (p, q)
    }
}

#[derive(Clone)]
struct LinearSystem {
    gen_mean: Mat,
    gen_s: Mat,
}

impl System<f64, DVector<f64>> for LinearSystem {
    fn system(&self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        let nm = self.gen_mean.n;
        let ns = self.gen_s.n;
        for i in 0..nm {
            let mut s = 0.0;
            for j in 0..nm {
                s += self.gen_mean.d[i * nm + j] * y[j];
            }
            dy[i] = s;
        }
        for i in 0..ns {
            let row = &self.gen_s.d[i * ns..(i + 1) * ns];
            let mut s = 0.0;
            for (j, r) in row.iter().enumerate() {
                if *r != 0.0 {
                    s += r * y[nm + j];
                }
            }
            dy[nm + i] = s;
        }
    }
}

/// Integrates the unconditional (Lindblad) first- and second-moment equations of the Gaussian closure of SPEC §4.1
/// (exact for this model, see the module doc) from (x̄0, S0 = Γ0 + x̄0x̄0ᵀ) with Dop853 (rtol, atol = rtol·max|S0|),
/// returning the moments at `times` (non-decreasing, ≥ 0; one solver run per interval).
pub fn lindblad_second_moments_closure(
    model: &LatticeModel,
    mean0: &[f64],
    s0: &Mat,
    times: &[f64],
    rtol: f64,
) -> Vec<LatticeMoments> {
    let ops = ClosureOperators::new(model);
    let sys = LinearSystem {
        gen_mean: ops.mean_generator(),
        gen_s: ops.s_generator(),
    };
    integrate_linear(sys, mean0, s0, times, rtol)
}

fn integrate_linear(
    sys: LinearSystem,
    mean0: &[f64],
    s0: &Mat,
    times: &[f64],
    rtol: f64,
) -> Vec<LatticeMoments> {
    let nm = sys.gen_mean.n;
    assert_eq!(mean0.len(), nm);
    assert_eq!(s0.n, nm);
    let mut y = DVector::from_iterator(
        nm + nm * nm,
        mean0.iter().copied().chain(s0.d.iter().copied()),
    );
    let atol = rtol
        * s0.max_abs()
            .max(mean0.iter().fold(0.0_f64, |m, x| m.max(x.abs())));
    let unpack = |y: &DVector<f64>, t: f64| LatticeMoments {
        t,
        mean: (0..nm).map(|i| y[i]).collect(),
        s: Mat {
            n: nm,
            d: (0..nm * nm).map(|i| y[nm + i]).collect(),
        },
    };
    let mut t = 0.0;
    let mut out = Vec::with_capacity(times.len());
    for &tn in times {
        assert!(tn >= t, "times must be non-decreasing and ≥ 0");
        if tn > t {
            let mut solver = Dop853::from_param(
                sys.clone(),
                t,
                tn,
                0.0,
                y.clone(),
                rtol,
                atol,
                0.9,
                0.0,
                0.333,
                6.0,
                tn - t,
                0.0,
                50_000_000,
                1_000_000_000,
                OutputType::Sparse,
            );
            solver
                .integrate()
                .expect("Dop853 failed on the moment equations");
            y = solver.y_out().last().unwrap().clone();
            t = tn;
        }
        out.push(unpack(&y, tn));
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Exact single-site Lindblad evolution (truncated Fock basis)
// ---------------------------------------------------------------------------------------------------------------

struct FockLindblad {
    ops: FockOps,
    rate: f64,
}

impl FockLindblad {
    fn unpack(&self, y: &DVector<f64>) -> Vec<C64> {
        let dd = self.ops.dim * self.ops.dim;
        (0..dd).map(|k| C64::new(y[2 * k], y[2 * k + 1])).collect()
    }
}

impl System<f64, DVector<f64>> for FockLindblad {
    fn system(&self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        let d = self.ops.dim;
        let r = self.unpack(y);
        let o_r = self.ops.o.left(&r);
        let o_r_o = self.ops.o.right_dagger(&o_r);
        let o2_r = self.ops.o2.left(&r);
        let r_o2 = self.ops.o2.right_dagger(&r);
        for i in 0..d {
            for j in 0..d {
                let k = i * d + j;
                let mut v = C64::new(0.0, -1.0) * (self.ops.h_diag[i] - self.ops.h_diag[j]) * r[k];
                v += (o_r_o[k] - (o2_r[k] + r_o2[k]) * 0.5) * self.rate;
                dy[2 * k] = v.re;
                dy[2 * k + 1] = v.im;
            }
        }
    }
}

/// Exact unconditional evolution dρ/dt = −i[Ĥ, ρ] + Σ_IJ C_IJ c_I c_J (ÔρÔ − ½{Ô², ρ}) of a single-site
/// density matrix in the truncated Fock basis (Dop853, rtol = atol = `rtol`); moments at `times`.
pub fn lindblad_exact_single_site(
    site: &SingleSite,
    fock_dim: usize,
    rho0: &DensityMatrix,
    times: &[f64],
    rtol: f64,
) -> Vec<Moments> {
    assert_eq!(rho0.dim, fock_dim);
    let ops = FockOps::new(site, fock_dim);
    let rate = site.decoherence_rate();
    let dd = fock_dim * fock_dim;
    let mut y = DVector::from_iterator(2 * dd, rho0.data.iter().flat_map(|z| [z.re, z.im]));
    let mut t = 0.0;
    let mut out = Vec::with_capacity(times.len());
    for &tn in times {
        assert!(tn >= t, "times must be non-decreasing and ≥ 0");
        if tn > t {
            let sys = FockLindblad {
                ops: ops.clone(),
                rate,
            };
            let mut solver = Dop853::from_param(
                sys,
                t,
                tn,
                0.0,
                y.clone(),
                rtol,
                rtol,
                0.9,
                0.0,
                0.333,
                6.0,
                tn - t,
                0.0,
                50_000_000,
                1_000_000_000,
                OutputType::Sparse,
            );
            solver
                .integrate()
                .expect("Dop853 failed on the Lindblad equation");
            y = solver.y_out().last().unwrap().clone();
            t = tn;
        }
        let rho = DensityMatrix {
            dim: fock_dim,
            data: (0..dd).map(|k| C64::new(y[2 * k], y[2 * k + 1])).collect(),
        };
        out.push(moments_of(&ops, &rho, tn));
    }
    out
}

/// Instantaneous Lindblad drift of the first and second moments of a single-site state ρ (any state) from the
/// Fock-space superoperator: (d⟨X⟩/dt, dS/dt) with S = ½⟨{X, Xᵀ}⟩. For the check that the moment equations close.
pub fn lindblad_drift_single_site(
    site: &SingleSite,
    ops: &FockOps,
    rho: &DensityMatrix,
) -> ([f64; 2], [[f64; 2]; 2]) {
    let d = ops.dim;
    let rate = site.decoherence_rate();
    let r = &rho.data;
    let o_r = ops.o.left(r);
    let o_r_o = ops.o.right_dagger(&o_r);
    let o2_r = ops.o2.left(r);
    let r_o2 = ops.o2.right_dagger(r);
    let mut lr = vec![C64::new(0.0, 0.0); d * d];
    for i in 0..d {
        for j in 0..d {
            let k = i * d + j;
            lr[k] = C64::new(0.0, -1.0) * (ops.h_diag[i] - ops.h_diag[j]) * r[k]
                + (o_r_o[k] - (o2_r[k] + r_o2[k]) * 0.5) * rate;
        }
    }
    let e = |op: &super::single_site_exact::Sparse| op.expect(&lr).re;
    (
        [e(&ops.phi), e(&ops.pi)],
        [[e(&ops.phi2), e(&ops.phipi)], [e(&ops.phipi), e(&ops.pi2)]],
    )
}
