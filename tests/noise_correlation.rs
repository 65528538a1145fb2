//! Issue 4 acceptance 3 (SPEC §3, ℓ > 0): the measured two-point correlation of the smoothed noise matches the
//! Gaussian kernel K_ℓ(r) = (2πℓ²)^{-3/2} exp(−r²/(2ℓ²)) in shape and normalisation, and — the part of SPEC §3
//! that depends on how the square root of s is taken — the cross-covariance of the increments at two different
//! sites with different metrics is D2 dt K_ℓ(x−y) [s(x)^{1/2} s(y)^{1/2}] with the *symmetric* square roots, as
//! SPEC writes 𝒟(x,y), and not what another factor of s (e.g. a Cholesky frame) would give.
//!
//! References computed here: K_ℓ from its formula; s from SPEC §3; matrix square roots by the Denman–Beavers
//! iteration (a different algorithm from the solver's Jacobi eigen-decompositions) and Cholesky factors.
//! Statistical errors come from the spread over independent steps (each step draws fresh noise).
mod common;
use common::*;
use cqgrav::backend::{cpu_stepper, StepperSetup};
use cqgrav::config::NoiseKind;
use cqgrav::numerics::lattice::Lattice;
use cqgrav::physics::cq_noise::NoiseParams;
use cqgrav::state::{var, State};
use std::f64::consts::PI;

const D2: f64 = 0.01;

fn kernel(ell: f64, r2: f64) -> f64 {
    (2.0 * PI * ell * ell).powf(-1.5) * (-r2 / (2.0 * ell * ell)).exp()
}

fn frozen(s: &Setup, init: &State, kind: NoiseKind, beta: f64, ell: f64, seed: u64) -> StepperSetup {
    let mut setup = s.build().with_background_of(init);
    setup.noise = NoiseParams { diffusion: D2, beta, kind, correlation_length: ell, seed };
    setup.drift = false;
    setup
}

/// Mean and standard error of samples.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let m = v.len() as f64;
    let mean = v.iter().sum::<f64>() / m;
    (mean, (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0) / m).sqrt())
}

/// Flat metric, β = 0: dW^ab = sqrt(D2 dt) ζ^ab with E[ζ_aa(x) ζ_aa(y)] = K(x−y) and
/// E[ζ_ab(x) ζ_ab(y)] = ½ K(x−y) (a ≠ b). The component-averaged, normalised correlation
/// Ĉ(r) = ⟨Σ_k dW_k(x) dW_k(x+r) / f_k⟩ / (6 D2 dt) (f = 1 diagonal, ½ off-diagonal) must equal K_ℓ(|r|).
#[test]
fn smoothed_noise_two_point_function_is_k_ell() {
    let s = Setup { shape: [16, 16, 16], h: 0.1, dt: 0.01, ..Default::default() };
    let lat = s.lattice();
    let init = cqgrav::physics::initial_data::minkowski(lat);
    for (ell, steps) in [(0.2, 60u64), (0.0, 30)] {
        let mut st = cpu_stepper(frozen(&s, &init, NoiseKind::Tensor, 0.0, ell, 5), &init);
        let seps: Vec<[isize; 3]> = vec![
            [0, 0, 0],
            [1, 0, 0],
            [2, 0, 0],
            [3, 0, 0],
            [4, 0, 0],
            [5, 0, 0],
            [6, 0, 0],
            [0, 1, 0],
            [0, 2, 0],
            [0, 0, 1],
            [0, 0, 3],
            [1, 1, 0],
            [1, 0, 1],
            [0, 1, 1],
            [1, 1, 1],
            [2, 1, 0],
            [2, 2, 1],
            [-1, 2, 0],
        ];
        let mut samples = vec![Vec::new(); seps.len()];
        let n = lat.sites();
        let f = [1.0, 0.5, 0.5, 1.0, 0.5, 1.0];
        for _ in 0..steps {
            st.advance(1).unwrap();
            let dw = st.noise_increments().unwrap().unwrap();
            for (j, r) in seps.iter().enumerate() {
                let mut acc = 0.0;
                for i in 0..n {
                    let c = lat.coords(i);
                    let c2: [usize; 3] =
                        std::array::from_fn(|a| (c[a] as isize + r[a]).rem_euclid(lat.shape[a] as isize) as usize);
                    let i2 = lat.index(c2[0], c2[1], c2[2]);
                    for k in 0..6 {
                        acc += dw[k * n + i] * dw[k * n + i2] / f[k];
                    }
                }
                samples[j].push(acc / (6.0 * n as f64 * D2 * s.dt));
            }
        }
        let h = lat.spacing;
        let mut worst = 0.0f64;
        for (j, r) in seps.iter().enumerate() {
            let r2 = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) as f64 * h * h;
            let want = if ell > 0.0 {
                kernel(ell, r2)
            } else if r2 == 0.0 {
                1.0 / lat.cell_volume()
            } else {
                0.0
            };
            let (m, se) = mean_se(&samples[j]);
            let z = (m - want) / se;
            worst = worst.max(z.abs());
            println!("ℓ = {ell}: r = {r:?}: measured {m:.5} ± {se:.5}, K = {want:.5} ({z:.2} SE)");
            assert!(z.abs() < 4.0, "ℓ = {ell}, r = {r:?}: {m} vs {want} ({z} SE)");
        }
        // normalisation to the percent: at r = 0 the realised variance is K_ℓ(0) (SE small)
        let (m0, se0) = mean_se(&samples[0]);
        let k0 = if ell > 0.0 { kernel(ell, 0.0) } else { 1.0 / lat.cell_volume() };
        assert!(se0 / k0 < 0.01, "the zero-separation estimate is not precise enough: {se0}");
        println!("ℓ = {ell}: K(0) measured {m0:.4} ± {se0:.4}, exact {k0:.4}; all {} separations within {worst:.2} SE", seps.len());
        // the noise diagnostics use the same K(0)
        let d = st.noise_diagnostics().unwrap();
        let expect = D2 * s.dt * k0 * 6.0;
        assert!((d.var_expected - expect).abs() < 1e-9 * expect, "{} vs {expect}", d.var_expected);
    }
}

// ---- symmetric square roots: 𝒟(x,y) = D2 s(x)^{1/2} K s(y)^{1/2} -------------------------------------------

type M6 = [[f64; 6]; 6];
const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
/// Storage → orthonormal Frobenius coordinates: ω_k = T_k dW_k.
const T: [f64; 6] = [1.0, std::f64::consts::SQRT_2, std::f64::consts::SQRT_2, 1.0, std::f64::consts::SQRT_2, 1.0];

fn matmul(a: &M6, b: &M6) -> M6 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..6).map(|k| a[i][k] * b[k][j]).sum()))
}
fn transpose(a: &M6) -> M6 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[j][i]))
}
fn inverse6(m: &M6) -> M6 {
    let mut a = *m;
    let mut inv: M6 = std::array::from_fn(|i| std::array::from_fn(|j| if i == j { 1.0 } else { 0.0 }));
    for c in 0..6 {
        let p = (c..6).max_by(|&i, &j| a[i][c].abs().partial_cmp(&a[j][c].abs()).unwrap()).unwrap();
        a.swap(p, c);
        inv.swap(p, c);
        let d = a[c][c];
        for j in 0..6 {
            a[c][j] /= d;
            inv[c][j] /= d;
        }
        for r in 0..6 {
            if r != c {
                let f = a[r][c];
                for j in 0..6 {
                    a[r][j] -= f * a[c][j];
                    inv[r][j] -= f * inv[c][j];
                }
            }
        }
    }
    inv
}
/// Principal square root of a symmetric positive definite matrix by the Denman–Beavers iteration.
fn sqrtm(a: &M6) -> M6 {
    let mut y = *a;
    let mut z: M6 = std::array::from_fn(|i| std::array::from_fn(|j| if i == j { 1.0 } else { 0.0 }));
    for _ in 0..60 {
        let (yi, zi) = (inverse6(&y), inverse6(&z));
        let ny: M6 = std::array::from_fn(|i| std::array::from_fn(|j| 0.5 * (y[i][j] + zi[i][j])));
        let nz: M6 = std::array::from_fn(|i| std::array::from_fn(|j| 0.5 * (z[i][j] + yi[i][j])));
        y = ny;
        z = nz;
    }
    let r = matmul(&y, &y);
    let err = (0..6).flat_map(|i| (0..6).map(move |j| (i, j))).map(|(i, j)| (r[i][j] - a[i][j]).abs()).fold(0.0, f64::max);
    assert!(err < 1e-10, "Denman–Beavers did not converge ({err})");
    y
}
/// Lower Cholesky factor.
fn cholesky(a: &M6) -> M6 {
    let mut l = [[0.0; 6]; 6];
    for i in 0..6 {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            l[i][j] = if i == j { s.sqrt() } else { s / l[j][j] };
        }
    }
    l
}

/// g^{-1} by cofactors.
fn ginv(g: &[f64; 6]) -> [[f64; 3]; 3] {
    let mut gm = [[0.0; 3]; 3];
    for (k, &(a, b)) in PAIRS.iter().enumerate() {
        gm[a][b] = g[k];
        gm[b][a] = g[k];
    }
    let det = gm[0][0] * (gm[1][1] * gm[2][2] - gm[1][2] * gm[2][1]) - gm[0][1] * (gm[1][0] * gm[2][2] - gm[1][2] * gm[2][0])
        + gm[0][2] * (gm[1][0] * gm[2][1] - gm[1][1] * gm[2][0]);
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let (i1, i2, j1, j2) = ((j + 1) % 3, (j + 2) % 3, (i + 1) % 3, (i + 2) % 3);
            (gm[i1][j1] * gm[i2][j2] - gm[i1][j2] * gm[i2][j1]) / det
        })
    })
}

/// g^{-1} in orthonormal Frobenius coordinates.
fn u_vec(g: &[f64; 6]) -> [f64; 6] {
    let gi = ginv(g);
    std::array::from_fn(|k| T[k] * gi[PAIRS[k].0][PAIRS[k].1])
}

/// s̃ = s/(N√g) in orthonormal Frobenius coordinates at a metric g (storage order).
fn s_tilde(g: &[f64; 6], beta: f64, kind: NoiseKind) -> M6 {
    let gi = ginv(g);
    std::array::from_fn(|k| {
        std::array::from_fn(|l| {
            let ((a, b), (c, d)) = (PAIRS[k], PAIRS[l]);
            let v = match kind {
                NoiseKind::Tensor => 0.5 * (gi[a][c] * gi[b][d] + gi[a][d] * gi[b][c]) - beta * gi[a][b] * gi[c][d],
                NoiseKind::TraceOnly => gi[a][b] * gi[c][d],
            };
            T[k] * v * T[l]
        })
    })
}

fn det3(g: &[f64; 6]) -> f64 {
    g[0] * (g[3] * g[5] - g[4] * g[4]) - g[1] * (g[1] * g[5] - g[4] * g[2]) + g[2] * (g[1] * g[4] - g[3] * g[2])
}

/// A metric and lapse varying along x only (strongly: the factors differ between neighbouring sites).
fn metric_along_x(lat: &Lattice) -> State {
    let mut st = State::zeros(*lat);
    let n = lat.sites();
    let l = lat.box_lengths()[0];
    for i in 0..n {
        let th = 2.0 * PI * lat.position(i)[0] / l;
        let dg = [0.5 * th.sin(), 0.3 * (th + 1.0).sin(), 0.2 * (2.0 * th).sin(), 0.4 * th.cos(), 0.3 * (2.0 * th).cos(), 0.3 * (th + 2.0).sin()];
        for (k, v) in dg.iter().enumerate() {
            st.data[(var::G + k) * n + i] = *v;
        }
        st.data[var::LAPSE * n + i] = 1.0 + 0.2 * th.cos();
        let g = st.metric(i);
        assert!(g[0] > 0.0 && g[0] * g[3] - g[1] * g[1] > 0.0 && det3(&g) > 0.0, "metric not positive definite");
    }
    st
}

/// The cross-covariance ⟨ω(x) ω(x + d ê_x)ᵀ⟩ (orthonormal coordinates) for each x, measured over the (y, z)
/// planes and `steps` steps, against D2 dt K_ℓ(d h) c(x) c(y) F(x) F(y)ᵀ with F the symmetric square root of s̃
/// (SPEC) and, for contrast, F the Cholesky factor. Returns the mean z² of both over all x and all 36 entries.
fn cross_covariance_z2(kind: NoiseKind, beta: f64, steps: usize, d: usize) -> (f64, f64, f64) {
    let s = Setup { shape: [16, 16, 16], h: 0.1, dt: 0.01, ..Default::default() };
    let lat = s.lattice();
    let ell = 0.2;
    let init = metric_along_x(&lat);
    let mut st = cpu_stepper(frozen(&s, &init, kind, beta, ell, 11), &init);
    let [n1, n2, n3] = lat.shape;
    let n = lat.sites();
    // samples[x][k][l] over steps
    let mut samples = vec![vec![[[0.0f64; 6]; 6]; steps]; n1];
    for step in 0..steps {
        st.advance(1).unwrap();
        let dw = st.noise_increments().unwrap().unwrap();
        for (x, sx) in samples.iter_mut().enumerate() {
            let x2 = (x + d) % n1;
            let acc = &mut sx[step];
            for y in 0..n2 {
                for z in 0..n3 {
                    let (i, j) = (lat.index(x, y, z), lat.index(x2, y, z));
                    for k in 0..6 {
                        for l in 0..6 {
                            acc[k][l] += T[k] * dw[k * n + i] * T[l] * dw[l * n + j];
                        }
                    }
                }
            }
            for row in acc.iter_mut() {
                for v in row.iter_mut() {
                    *v /= (n2 * n3) as f64;
                }
            }
        }
    }
    let k_d = kernel(ell, (d as f64 * lat.spacing).powi(2));
    let (mut z2_sym, mut z2_chol, mut zmax) = (0.0, 0.0, 0.0f64);
    let mut count = 0.0;
    for (x, sx) in samples.iter().enumerate() {
        let (i, j) = (lat.index(x, 0, 0), lat.index((x + d) % n1, 0, 0));
        let (gi, gj) = (init.metric(i), init.metric(j));
        let c = |g: &[f64; 6], idx: usize| (D2 * s.dt * init.data[var::LAPSE * n + idx] * det3(g).sqrt()).sqrt();
        let (si, sj) = (s_tilde(&gi, beta, kind), s_tilde(&gj, beta, kind));
        let (pred_sym, pred_chol) = match kind {
            NoiseKind::Tensor => {
                let (ri, rj) = (sqrtm(&si), sqrtm(&sj));
                let (li, lj) = (cholesky(&si), cholesky(&sj));
                (matmul(&ri, &rj), matmul(&li, &transpose(&lj)))
            }
            NoiseKind::TraceOnly => {
                // rank one: s̃ = u uᵀ with u = g^{-1} (orthonormal coordinates), root u uᵀ/|u|
                let (ui, uj) = (u_vec(&gi), u_vec(&gj));
                let _ = (si, sj);
                let (ni, nj) = (ui.iter().map(|x| x * x).sum::<f64>().sqrt(), uj.iter().map(|x| x * x).sum::<f64>().sqrt());
                let cos: f64 = (0..6).map(|k| ui[k] * uj[k]).sum::<f64>() / (ni * nj);
                // symmetric roots: u(x) u(y)ᵀ cos; a scalar noise g^ab ξ smoothed instead: u(x) u(y)ᵀ
                (
                    std::array::from_fn(|k| std::array::from_fn(|l| ui[k] * uj[l] * cos)),
                    std::array::from_fn(|k| std::array::from_fn(|l| ui[k] * uj[l])),
                )
            }
        };
        let scale = k_d * c(&gi, i) * c(&gj, j);
        for k in 0..6 {
            for l in 0..6 {
                let v: Vec<f64> = sx.iter().map(|a| a[k][l]).collect();
                let (m, se) = mean_se(&v);
                let zs = (m - scale * pred_sym[k][l]) / se;
                let zc = (m - scale * pred_chol[k][l]) / se;
                z2_sym += zs * zs;
                z2_chol += zc * zc;
                zmax = zmax.max(zs.abs());
                count += 1.0;
            }
        }
    }
    (z2_sym / count, z2_chol / count, zmax)
}

/// SPEC §3's 𝒟(x,y) = D2 s(x)^{1/2} K_ℓ(x−y) s(y)^{1/2} with symmetric square roots, on a metric that varies
/// between the two sites: the mean z² over 16 site pairs × 36 entries is ≈ 1 for the symmetric roots, while
/// the Cholesky-frame factor (a valid factor at one site, but not SPEC's kernel across sites) is excluded.
#[test]
fn cross_site_covariance_uses_symmetric_square_roots() {
    let (sym, chol, zmax) = cross_covariance_z2(NoiseKind::Tensor, -0.5, 250, 2);
    println!("tensor β = −0.5, separation 2h, ℓ = 2h: mean z² symmetric roots {sym:.3} (max |z| {zmax:.2}), Cholesky frame {chol:.3}");
    assert!((0.6..1.5).contains(&sym), "symmetric-root prediction: mean z² = {sym}");
    assert!(zmax < 5.0, "largest deviation {zmax} SE");
    assert!(chol > 3.0, "the test cannot tell the factorisations apart (mean z² = {chol})");
}

/// The same for `trace-only` (s̃ = g^ab g^cd, rank one): the symmetric roots give u(x)u(y)ᵀ cos∠(u(x), u(y)).
#[test]
fn trace_only_cross_site_covariance() {
    let (sym, scalar, zmax) = cross_covariance_z2(NoiseKind::TraceOnly, 0.0, 250, 2);
    println!("trace-only, separation 2h: mean z² symmetric roots {sym:.3} (max |z| {zmax:.2}), scalar-ξ kernel {scalar:.3}");
    assert!((0.6..1.5).contains(&sym), "symmetric-root prediction: mean z² = {sym}");
    assert!(zmax < 5.0, "largest deviation {zmax} SE");
}
