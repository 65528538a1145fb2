//! The lattice Fock vacuum of the scalar field (SPEC §4): the ground state of H_m = ½XᵀMX for the lattice
//! operators themselves (lattice dispersion, not a continuum formula).
//!
//! Homogeneous metric g, lapse N (plane waves diagonalise M): mode k has mass √g and frequency
//!   ω_k² = g^ab σ_a(k) σ_b(k) + m²,   σ_a = s(k_a h)/h the symbol of the first-derivative stencil (D e^{ikx} = iσ e^{ikx}),
//!   ⟨φ_k φ_k†⟩ = 1/(2ΔV√g ω_k),  ⟨π_k π_k†⟩ = √g ω_k/(2ΔV)   (N drops out),
//! so Γ_φφ(x, y) = (1/n) Σ_k cos(k·(x−y))/(2ΔV√g ω_k), Γ_ππ likewise, Γ_φπ = 0, and the jet covariance at
//! a site is ⟨Y_aY_b⟩ = (1/n)Σ σ_aσ_b/(2ΔV√gω), ⟨φ²⟩ = (1/n)Σ 1/(2ΔV√gω), ⟨π²⟩ = (1/n)Σ √gω/(2ΔV).
//!
//! Any metric and lapse: with q = √ΔV φ, p = √ΔV π ([q, p] = i), H = ½pᵀTp + ½qᵀVq, T = M_ππ/ΔV (diagonal),
//! V = M_φφ/ΔV, the ground state has Cov(q) = ½ T^½ (T^½ V T^½)^{−½} T^½, Cov(p) = ½ T^{−½} (T^½ V T^½)^{½} T^{−½}
//! (one symmetric eigen-decomposition, O(n³)).
use super::gaussian_forms::{hamiltonian_form, SiteGeometry};
use super::tensor::{Sym, SYM};
use crate::numerics::jets::{JetMap, Mat5, J_PHI, J_PI, ZERO5};
use crate::numerics::lattice::Lattice;
use crate::numerics::stencil::Stencil;
use std::f64::consts::PI;

/// σ_a(k) for every lattice momentum along each axis: sig[a][j], k_a = 2πj/(N_a h) (metric-independent; the
/// GPU twin of [`vacuum_jet_covariance`] reads them from a buffer, shaders/vacuum_jets.wgsl).
pub fn symbols(lat: &Lattice, stencil: &Stencil) -> [Vec<f64>; 3] {
    std::array::from_fn(|a| {
        let n = lat.shape[a];
        (0..n).map(|j| stencil.symbol_d1(2.0 * PI * j as f64 / n as f64) / lat.spacing).collect()
    })
}

/// ω_k for all n modes (index j1 + N1(j2 + N2 j3)) and the per-axis symbols σ_a. Errors if some ω_k² ≤ 0 (m = 0 has
/// a zero mode).
pub fn frequencies(lat: &Lattice, stencil: &Stencil, g: &Sym<f64>, mass: f64) -> anyhow::Result<(Vec<f64>, [Vec<f64>; 3])> {
    let sig = symbols(lat, stencil);
    Ok((frequencies_of(lat, &sig, g, mass)?, sig))
}

/// ω_k of [`frequencies`] from the lattice's symbols `sig` ([`symbols`], computed once by a caller that needs the
/// frequencies at every stage).
pub fn frequencies_of(lat: &Lattice, sig: &[Vec<f64>; 3], g: &Sym<f64>, mass: f64) -> anyhow::Result<Vec<f64>> {
    // Sylvester: the (box-mean) metric must be positive definite for a vacuum to exist
    let minor2 = g[0] * g[3] - g[1] * g[1];
    let det = super::tensor::det(g);
    if !(g[0] > 0.0 && minor2 > 0.0 && det > 0.0) || g.iter().any(|v| !v.is_finite()) {
        anyhow::bail!(
            "the metric for the lattice vacuum (the box mean of g_ab) is not positive definite (g_xx = {:.3e}, minor \
             {minor2:.3e}, det g = {det:.3e}): the state has blown up — with CQ noise the kicks to π^ab are about \
             √(D2 dt/ΔV) per step (reduce cq.diffusion or time.dt, or raise lattice.spacing)",
            g[0]
        );
    }
    let (gi, _) = super::tensor::inverse(g);
    let [n1, n2, _] = lat.shape;
    let w = (0..lat.sites())
        .map(|k| {
            let j = [k % n1, (k / n1) % n2, k / (n1 * n2)];
            let s = [sig[0][j[0]], sig[1][j[1]], sig[2][j[2]]];
            let mut w2 = mass * mass;
            for a in 0..3 {
                for b in 0..3 {
                    w2 += gi[SYM[a][b]] * s[a] * s[b];
                }
            }
            w2
        })
        .collect::<Vec<_>>();
    if let Some(bad) = w.iter().find(|&&w2| w2 <= 0.0) {
        anyhow::bail!(
            "the lattice vacuum needs ω_k² = g^ab σ_a σ_b + m² > 0 for every lattice momentum (found {bad}): a massless \
             field (matter.mass = 0) has a zero mode with no Fock vacuum; use matter.mass > 0"
        );
    }
    Ok(w.into_iter().map(f64::sqrt).collect())
}

/// The 5×5 jet covariance of the lattice vacuum for a homogeneous metric g (the `vacuum` renormalisation's
/// subtraction, SPEC §4).
pub fn vacuum_jet_covariance(lat: &Lattice, stencil: &Stencil, g: &Sym<f64>, mass: f64) -> anyhow::Result<Mat5> {
    vacuum_jet_covariance_of(lat, &symbols(lat, stencil), g, mass)
}

/// [`vacuum_jet_covariance`] from the lattice's symbols `sig` ([`symbols`]).
pub fn vacuum_jet_covariance_of(lat: &Lattice, sig: &[Vec<f64>; 3], g: &Sym<f64>, mass: f64) -> anyhow::Result<Mat5> {
    let w = frequencies_of(lat, sig, g, mass)?;
    let sqrtg = super::tensor::det(g).sqrt();
    let dv = lat.cell_volume();
    let [n1, n2, _] = lat.shape;
    let n = lat.sites() as f64;
    let mut c = ZERO5;
    for (k, &wk) in w.iter().enumerate() {
        let j = [k % n1, (k / n1) % n2, k / (n1 * n2)];
        let s = [sig[0][j[0]], sig[1][j[1]], sig[2][j[2]]];
        let pphi = 1.0 / (2.0 * dv * sqrtg * wk);
        for a in 0..3 {
            for b in 0..3 {
                c[a][b] += s[a] * s[b] * pphi;
            }
        }
        c[J_PHI][J_PHI] += pphi;
        c[J_PI][J_PI] += sqrtg * wk / (2.0 * dv);
    }
    c.iter_mut().for_each(|r| r.iter_mut().for_each(|v| *v /= n));
    Ok(c)
}

/// Γ (row-major 2n × 2n) of the lattice vacuum for a homogeneous metric: mode sums, O(n²).
pub fn vacuum_covariance_homogeneous(lat: &Lattice, stencil: &Stencil, g: &Sym<f64>, mass: f64) -> anyhow::Result<Vec<f64>> {
    let (w, _) = frequencies(lat, stencil, g, mass)?;
    let sqrtg = super::tensor::det(g).sqrt();
    let dv = lat.cell_volume();
    let n = lat.sites();
    let [n1, n2, n3] = lat.shape;
    // per-axis phase tables: cs[a][j·N + r] = (cos, sin)(2π j r / N)
    let cs: [Vec<(f64, f64)>; 3] = std::array::from_fn(|a| {
        let m = lat.shape[a];
        (0..m * m).map(|t| (2.0 * PI * ((t / m) * (t % m)) as f64 / m as f64).sin_cos()).map(|(s, c)| (c, s)).collect()
    });
    // correlation functions of the separation r (index like a site)
    let corr: Vec<(f64, f64)> = (0..n)
        .map(|r| {
            let rr = [r % n1, (r / n1) % n2, r / (n1 * n2)];
            let (mut cphi, mut cpi) = (0.0, 0.0);
            for (k, &wk) in w.iter().enumerate() {
                let j = [k % n1, (k / n1) % n2, k / (n1 * n2)];
                // cos(θ1 + θ2 + θ3) from the per-axis tables
                let (c1, s1) = cs[0][j[0] * n1 + rr[0]];
                let (c2, s2) = cs[1][j[1] * n2 + rr[1]];
                let (c3, s3) = cs[2][j[2] * n3 + rr[2]];
                let c12 = c1 * c2 - s1 * s2;
                let s12 = s1 * c2 + c1 * s2;
                let cosk = c12 * c3 - s12 * s3;
                cphi += cosk / (2.0 * dv * sqrtg * wk);
                cpi += cosk * sqrtg * wk / (2.0 * dv);
            }
            (cphi / n as f64, cpi / n as f64)
        })
        .collect();
    let d = 2 * n;
    let mut gam = vec![0.0; d * d];
    for x in 0..n {
        let cx = lat.coords(x);
        for y in 0..n {
            let cy = lat.coords(y);
            let r = (0..3).map(|a| (cy[a] + lat.shape[a] - cx[a]) % lat.shape[a]).collect::<Vec<_>>();
            let (cphi, cpi) = corr[lat.index(r[0], r[1], r[2])];
            gam[x * d + y] = cphi;
            gam[(n + x) * d + n + y] = cpi;
        }
    }
    Ok(gam)
}

/// Γ of the ground state of H_m for any metric and lapse (one symmetric eigen-decomposition of T^½VT^½).
pub fn vacuum_covariance_general(
    lat: &Lattice,
    stencil: &Stencil,
    metric: &[Sym<f64>],
    lapse: &[f64],
    mass: f64,
) -> anyhow::Result<Vec<f64>> {
    use nalgebra::DMatrix;
    let n = lat.sites();
    let dv = lat.cell_volume();
    let jm = JetMap::new(lat, stencil);
    let forms: Vec<Mat5> =
        (0..n).map(|x| hamiltonian_form(&SiteGeometry::new(&metric[x], lapse[x]), mass, dv)).collect();
    let d = 2 * n;
    let mut m = vec![0.0; d * d];
    jm.scatter(&forms, 1.0, &mut m);
    // T = diag(M_ππ)/ΔV, V = M_φφ/ΔV
    let t: Vec<f64> = (0..n).map(|x| m[(n + x) * d + n + x] / dv).collect();
    let th: Vec<f64> = t.iter().map(|v| v.sqrt()).collect();
    let w = DMatrix::from_fn(n, n, |i, j| th[i] * m[i * d + j] / dv * th[j]);
    let eig = nalgebra::SymmetricEigen::new(w);
    if let Some(bad) = eig.eigenvalues.iter().find(|&&l| l <= 0.0) {
        anyhow::bail!(
            "the scalar field's Hamiltonian on the initial metric is not positive (eigenvalue {bad} of T^½VT^½): \
             no Fock vacuum (is matter.mass > 0 and the metric positive definite?)"
        );
    }
    let u = &eig.eigenvectors;
    let f_minus: Vec<f64> = eig.eigenvalues.iter().map(|l| 1.0 / l.sqrt().sqrt()).collect(); // λ^{-1/4}
    // W^{∓½} = U diag(λ^{∓½}) Uᵀ = (U diag(λ^{∓¼}))(…)ᵀ
    let a = DMatrix::from_fn(n, n, |i, k| u[(i, k)] * f_minus[k]);
    let b = DMatrix::from_fn(n, n, |i, k| u[(i, k)] / f_minus[k]);
    let w_mhalf = &a * a.transpose();
    let w_half = &b * b.transpose();
    let mut gam = vec![0.0; d * d];
    for i in 0..n {
        for j in 0..n {
            gam[i * d + j] = 0.5 * th[i] * w_mhalf[(i, j)] * th[j] / dv;
            gam[(n + i) * d + n + j] = 0.5 * w_half[(i, j)] / (th[i] * th[j]) / dv;
        }
    }
    Ok(gam)
}

/// The initial Γ of a run: the lattice vacuum of the state's metric and lapse (mode sums when they are
/// homogeneous, the eigen-decomposition otherwise).
pub fn initial_covariance(state: &crate::state::State, stencil: &Stencil, mass: f64) -> anyhow::Result<Vec<f64>> {
    let n = state.lattice.sites();
    let metric: Vec<Sym<f64>> = (0..n).map(|i| state.metric(i)).collect();
    let lapse = state.field(crate::state::var::LAPSE);
    let homogeneous = metric.iter().all(|g| g == &metric[0]) && lapse.iter().all(|&l| l == lapse[0]);
    if homogeneous {
        vacuum_covariance_homogeneous(&state.lattice, stencil, &metric[0], mass)
    } else {
        vacuum_covariance_general(&state.lattice, stencil, &metric, lapse, mass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mode-sum vacuum and the eigen-decomposition vacuum (two independent constructions) agree, on an
    /// anisotropic homogeneous metric, order 2 and 4; the jet covariance equals R Γ Rᵀ of that Γ.
    #[test]
    fn mode_sum_and_eigen_vacua_agree() {
        for order in [2, 4] {
            let lat = Lattice::new([6, 5, 4], 0.4);
            let st = Stencil::new(order);
            let g = [1.2, 0.1, 0.05, 0.9, -0.08, 1.1];
            let n = lat.sites();
            let a = vacuum_covariance_homogeneous(&lat, &st, &g, 0.8).unwrap();
            let b = vacuum_covariance_general(&lat, &st, &vec![g; n], &vec![1.3; n], 0.8).unwrap();
            let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = a.iter().zip(&b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            assert!(err < 1e-11 * scale, "order {order}: {err} vs {scale}");
            let jm = JetMap::new(&lat, &st);
            let c = jm.local_cov(&a, 7);
            let v = vacuum_jet_covariance(&lat, &st, &g, 0.8).unwrap();
            for i in 0..5 {
                for j in 0..5 {
                    assert!((c[i][j] - v[i][j]).abs() < 1e-12 * scale, "order {order} jet ({i},{j})");
                }
            }
        }
    }
}
