//! Tests of the independent references in tests/support (not of the solver).
#![allow(clippy::needless_range_loop)]

mod support;

use support::frw_ode::{friedmann_hubble, frw_reference, frw_reference_detailed, FrwPoint};
use support::ricci_reference::RicciReference;

const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];

fn times(t_end: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|i| t_end * i as f64 / n as f64).collect()
}

/// Classical fixed-step RK4 for y = (a, φ, φ̇): ȧ = aH, φ̈ = −3Hφ̇ − m²φ, H = √((ρ+2Λ)/6).
fn rk4_frw(mass: f64, lambda: f64, y0: [f64; 3], t_end: f64, steps: usize) -> [f64; 3] {
    let f = |y: [f64; 3]| {
        let h = friedmann_hubble(mass, lambda, y[1], y[2]);
        [y[0] * h, y[2], -3.0 * h * y[2] - mass * mass * y[1]]
    };
    let add =
        |y: [f64; 3], k: [f64; 3], s: f64| [y[0] + s * k[0], y[1] + s * k[1], y[2] + s * k[2]];
    let dt = t_end / steps as f64;
    let mut y = y0;
    for _ in 0..steps {
        let k1 = f(y);
        let k2 = f(add(y, k1, 0.5 * dt));
        let k3 = f(add(y, k2, 0.5 * dt));
        let k4 = f(add(y, k3, dt));
        for i in 0..3 {
            y[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    y
}

/// Richardson-extrapolated RK4: (16 y_{dt/2} − y_dt)/15.
fn rk4_richardson(mass: f64, lambda: f64, y0: [f64; 3], t_end: f64, steps: usize) -> [f64; 3] {
    let c = rk4_frw(mass, lambda, y0, t_end, steps);
    let f = rk4_frw(mass, lambda, y0, t_end, 2 * steps);
    [0, 1, 2].map(|i| (16.0 * f[i] - c[i]) / 15.0)
}

/// Largest relative differences (a, H, φ, φ̇) between two runs; φ and φ̇ relative to their max over the run.
fn max_rel_diff(p: &[FrwPoint], q: &[FrwPoint]) -> [f64; 4] {
    let phi_scale = p.iter().map(|x| x.phi.abs()).fold(0.0, f64::max);
    let pd_scale = p.iter().map(|x| x.phi_dot.abs()).fold(0.0, f64::max);
    let mut m = [0.0f64; 4];
    for (x, y) in p.iter().zip(q) {
        assert_eq!(x.t, y.t);
        m[0] = m[0].max(((x.a - y.a) / x.a).abs());
        m[1] = m[1].max(((x.hubble - y.hubble) / x.hubble).abs());
        m[2] = m[2].max((x.phi - y.phi).abs() / phi_scale);
        m[3] = m[3].max((x.phi_dot - y.phi_dot).abs() / pd_scale);
    }
    m
}

const CASES: [(f64, f64, f64, f64, f64); 3] = [
    // (m, Λ, a0, φ0, φ̇0)
    (1.0, 0.0, 1.0, 2.0, 0.0),
    (1.0, 0.2, 1.0, 2.0, 0.0),
    (0.7, 0.05, 1.5, -1.0, 0.8),
];

#[test]
fn frw_friedmann_constraint_holds() {
    // H_ev from Ḣ = −φ̇²/4 must equal √((ρ+2Λ)/6) along the solution.
    for &(m, l, a0, p0, pd0) in &CASES {
        let sol = frw_reference_detailed(m, l, a0, p0, pd0, &times(10.0, 100), 1e-14);
        let worst = sol
            .iter()
            .map(|d| ((d.hubble_evolved - d.point.hubble) / d.point.hubble).abs())
            .fold(0.0, f64::max);
        let worst_c = sol
            .iter()
            .map(|d| {
                ((6.0 * d.hubble_evolved * d.hubble_evolved - d.energy_density) / d.energy_density)
                    .abs()
            })
            .fold(0.0, f64::max);
        eprintln!(
            "case {:?}: max |H_ev − H|/H = {worst:.2e}, max |6H_ev² − ρ−2Λ|/(ρ+2Λ) = {worst_c:.2e}",
            (m, l, a0, p0, pd0)
        );
        assert!(worst < 1e-12, "constraint violated: {worst}");
        assert!(worst_c < 3e-12, "constraint violated: {worst_c}");
    }
}

#[test]
fn frw_tolerance_convergence() {
    // Default run (rtol 1e-14) vs rtol 1e-13 and 1e-12: differences bound the error of the looser runs.
    for &(m, l, a0, p0, pd0) in &CASES {
        let t = times(10.0, 40);
        let r14 = frw_reference(m, l, a0, p0, pd0, &t);
        for rtol in [1e-13, 1e-12] {
            let r: Vec<FrwPoint> = frw_reference_detailed(m, l, a0, p0, pd0, &t, rtol)
                .into_iter()
                .map(|d| d.point)
                .collect();
            let d = max_rel_diff(&r14, &r);
            eprintln!(
                "case {:?}: rtol {rtol:e} vs 1e-14: rel diff a {:.1e} H {:.1e} φ {:.1e} φ̇ {:.1e}",
                (m, l, a0, p0, pd0),
                d[0],
                d[1],
                d[2],
                d[3]
            );
            assert!(d.iter().all(|&x| x < 100.0 * rtol), "{d:?}");
        }
        // output grid must not matter beyond the tolerance
        let coarse = frw_reference(m, l, a0, p0, pd0, &[0.0, 10.0]);
        let d = max_rel_diff(&[r14[0], *r14.last().unwrap()], &coarse);
        eprintln!(
            "case {:?}: one interval vs 40 intervals: a {:.1e} H {:.1e} φ {:.1e} φ̇ {:.1e}",
            (m, l, a0, p0, pd0),
            d[0],
            d[1],
            d[2],
            d[3]
        );
        assert!(d.iter().all(|&x| x < 1e-11), "{d:?}");
    }
}

#[test]
fn frw_matches_independent_rk4_richardson() {
    // Dop853 vs plain fixed-step classical RK4 + Richardson (dt = 5e-4, 2.5e-4) at t = 10.
    for &(m, l, a0, p0, pd0) in &CASES {
        let t_end = 10.0;
        let r = frw_reference(m, l, a0, p0, pd0, &[t_end])[0];
        let y = rk4_richardson(m, l, [a0, p0, pd0], t_end, 20_000);
        let phi_scale = p0.abs().max(pd0.abs() / m);
        let d = [
            ((r.a - y[0]) / y[0]).abs(),
            (r.phi - y[1]).abs() / phi_scale,
            (r.phi_dot - y[2]).abs() / (m * phi_scale),
            ((r.hubble - friedmann_hubble(m, l, y[1], y[2])) / r.hubble).abs(),
        ];
        eprintln!(
            "case {:?}: Dop853 vs RK4-Richardson at t=10: a {:.1e} φ {:.1e} φ̇ {:.1e} H {:.1e}",
            (m, l, a0, p0, pd0),
            d[0],
            d[1],
            d[2],
            d[3]
        );
        assert!(d.iter().all(|&x| x < 1e-11), "{d:?}");
    }
}

#[test]
fn frw_de_sitter_limit() {
    // φ = φ̇ = 0, Λ > 0: a = a0 exp(√(Λ/3) t), H = √(Λ/3).
    for &(lambda, a0) in &[(0.3, 1.3), (3.0, 1.0), (0.01, 0.5)] {
        let t = times(10.0, 20);
        let sol = frw_reference(1.0, lambda, a0, 0.0, 0.0, &t);
        let h = (lambda / 3.0_f64).sqrt();
        let mut worst = 0.0f64;
        for p in &sol {
            let a = a0 * (h * p.t).exp();
            worst = worst.max(((p.a - a) / a).abs());
            assert!(((p.hubble - h) / h).abs() < 1e-15);
            assert_eq!(p.phi, 0.0);
            assert_eq!(p.phi_dot, 0.0);
        }
        eprintln!("de Sitter Λ = {lambda}: max |a − a0 e^(Ht)|/a = {worst:.2e}");
        assert!(worst < 1e-12, "{worst}");
    }
}

#[test]
fn frw_initial_point_and_hubble() {
    let sol = frw_reference(1.0, 0.0, 1.0, 2.0, 0.0, &[0.0, 0.0, 1.0]);
    assert_eq!(
        sol[0],
        FrwPoint {
            t: 0.0,
            a: 1.0,
            hubble: (1.0f64 / 3.0).sqrt(),
            phi: 2.0,
            phi_dot: 0.0
        }
    );
    assert_eq!(sol[0], sol[1]);
    // Expanding, field rolling down: H decreasing, φ decreasing.
    assert!(
        sol[2].a > 1.0 && sol[2].hubble < sol[0].hubble && sol[2].phi < 2.0 && sol[2].phi_dot < 0.0
    );
}

// ------------------------------------------------------------------------------------------ Ricci

fn full(s: &[f64; 6]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (c, &(a, b)) in PAIRS.iter().enumerate() {
        m[a][b] = s[c];
        m[b][a] = s[c];
    }
    m
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn contract(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> f64 {
    (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| a[i][j] * b[i][j])
        .sum()
}

#[test]
fn ricci_reference_loads_and_metric_roundtrips() {
    let r = RicciReference::load();
    assert_eq!(r.box_length(), 1.0);
    assert_eq!(r.samples().len(), 20);
    let mut worst_g = 0.0f64;
    let mut worst_n = 0.0f64;
    for s in r.samples() {
        for d in 0..3 {
            let k = s.point[d] * 16.0;
            assert!(
                k == k.round() && (0.0..16.0).contains(&k),
                "point {:?} not on the 1/16 lattice",
                s.point
            );
        }
        for n in [16usize, 32, 64, 128] {
            let site = s.lattice_site(n, r.box_length());
            for d in 0..3 {
                assert_eq!(site[d] as f64 * r.box_length() / n as f64, s.point[d]);
            }
        }
        let g = r.metric(s.point);
        for c in 0..6 {
            worst_g = worst_g.max((g[c] - s.metric[c]).abs());
        }
        worst_n = worst_n.max((r.lapse(s.point) - s.lapse).abs());
    }
    eprintln!("Rust vs python metric: {worst_g:.1e}, lapse: {worst_n:.1e}");
    assert!(worst_g < 1e-14 && worst_n < 1e-14);
    // periodicity
    let p = [0.3, 0.7, 0.1];
    let q = [1.3, -0.3, 2.1];
    for c in 0..6 {
        assert!((r.metric(p)[c] - r.metric(q)[c]).abs() < 1e-13);
    }
}

#[test]
fn ricci_reference_internal_consistency() {
    // g^ab g_bc = δ, √g² = det g, R = g^ab R_ab, ΔN = g^ab D_a D_b N.
    let r = RicciReference::load();
    for s in r.samples() {
        let g = full(&s.metric);
        let gi = full(&s.inverse_metric);
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| gi[i][k] * g[k][j]).sum();
                assert!((p - if i == j { 1.0 } else { 0.0 }).abs() < 1e-14);
            }
        }
        assert!((s.sqrt_g * s.sqrt_g - det3(&g)).abs() < 1e-14);
        assert!((contract(&gi, &full(&s.ricci)) - s.ricci_scalar).abs() < 1e-13);
        assert!((contract(&gi, &full(&s.hessian_lapse)) - s.laplacian_lapse).abs() < 1e-12);
    }
}

/// 8th-order central first derivative ∂_d f at x, spacing h.
fn fd(f: &dyn Fn([f64; 3]) -> [f64; 6], x: [f64; 3], d: usize, h: f64) -> [f64; 6] {
    const C1: [f64; 4] = [4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0];
    let mut d1 = [0.0; 6];
    for j in 0..4 {
        let mut xp = x;
        let mut xm = x;
        xp[d] += (j + 1) as f64 * h;
        xm[d] -= (j + 1) as f64 * h;
        let (fp, fm) = (f(xp), f(xm));
        for c in 0..6 {
            d1[c] += C1[j] * (fp[c] - fm[c]);
        }
    }
    d1.map(|v| v / h)
}

#[test]
fn ricci_reference_values_match_fd_of_loaded_metric() {
    // Γ^k_ab from 8th-order FD of the Rust metric(), ∂_c Γ^k_ab by 8th-order FD of those, then
    // R_ab = ∂_k Γ^k_ab − ∂_b Γ^k_ak + Γ^k_kl Γ^l_ab − Γ^k_bl Γ^l_ak: checks the JSON definition vs stored values.
    let r = RicciReference::load();
    let h = 2e-3;
    let g_at = |x: [f64; 3]| r.metric(x);
    let dg_at = |x: [f64; 3], c: usize| fd(&g_at, x, c, h);
    let gamma_at = |x: [f64; 3]| -> [[[f64; 3]; 3]; 3] {
        let gi = inv3(&full(&g_at(x)));
        let dg: Vec<[[f64; 3]; 3]> = (0..3).map(|c| full(&dg_at(x, c))).collect();
        let mut gam = [[[0.0; 3]; 3]; 3];
        for k in 0..3 {
            for a in 0..3 {
                for b in 0..3 {
                    gam[k][a][b] = (0..3)
                        .map(|l| 0.5 * gi[k][l] * (dg[a][l][b] + dg[b][l][a] - dg[l][a][b]))
                        .sum();
                }
            }
        }
        gam
    };
    let mut worst_gam = 0.0f64;
    let mut worst_ric = 0.0f64;
    for s in r.samples().iter().take(6) {
        let x = s.point;
        let gam = gamma_at(x);
        // ∂_c Γ^k_ab by 8th-order FD of the FD Christoffels (h_outer = 4h keeps round-off small)
        let ho = 4.0 * h;
        let mut dgam = [[[[0.0; 3]; 3]; 3]; 3];
        const C1: [f64; 4] = [4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0];
        for c in 0..3 {
            for j in 0..4 {
                let mut xp = x;
                let mut xm = x;
                xp[c] += (j + 1) as f64 * ho;
                xm[c] -= (j + 1) as f64 * ho;
                let (gp, gm) = (gamma_at(xp), gamma_at(xm));
                for k in 0..3 {
                    for a in 0..3 {
                        for b in 0..3 {
                            dgam[c][k][a][b] += C1[j] * (gp[k][a][b] - gm[k][a][b]) / ho;
                        }
                    }
                }
            }
        }
        for k in 0..3 {
            for (c, &(a, b)) in PAIRS.iter().enumerate() {
                worst_gam = worst_gam.max((gam[k][a][b] - s.christoffel[k][c]).abs());
            }
        }
        for (c, &(a, b)) in PAIRS.iter().enumerate() {
            let mut ric = 0.0;
            for k in 0..3 {
                ric += dgam[k][k][a][b] - dgam[b][k][a][k];
                for l in 0..3 {
                    ric += gam[k][k][l] * gam[l][a][b] - gam[k][b][l] * gam[l][a][k];
                }
            }
            worst_ric = worst_ric.max((ric - s.ricci[c]).abs());
        }
    }
    eprintln!("FD of loaded metric vs stored: Γ {worst_gam:.1e}, R_ab {worst_ric:.1e}");
    assert!(worst_gam < 1e-9, "{worst_gam}");
    assert!(worst_ric < 1e-7, "{worst_ric}");
}

fn inv3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
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
