//! Issue 4 acceptance 4: weak convergence of the stochastic time stepper (RK4 for the drift, then the noise
//! increment drawn with g, N at the start of the step; docs/physics.md "Time stepping with noise") on full
//! dynamics with small-amplitude noise around Minkowski, where the linearised solution is analytic.
//!
//! The mean of a linear observable L of a linear system is the deterministic solution (0 here), so the first
//! functional that sees the noise scheme is the second moment E[L²] of a linear observable:
//! 1. one site (homogeneous, R ≡ 0): L = δg_xy. Linearised, ∂t g_xy = 2π^xy and π^xy is a random walk, so
//!    g_xy is integrated Brownian motion: E[L²](T) = (4/3) q T³ (q = D2/(2ΔV) per unit time) in the
//!    continuum, and for the scheme exactly (4/3) q T³ (1 − 1/N)(1 − 1/(2N)) after N steps: weak order 1,
//!    error −(3/2)/N. Measured against both.
//! 2. a 16×1×1 lattice: L = Fourier amplitudes of the two gravitational-wave polarisations δg_yz and
//!    (δg_yy − δg_zz)/2 for wavenumbers m = 1…7. Linearised, each is a noise-driven oscillator x'' = −κ_m² x + 2ξ
//!    with κ_m² the symbol of the compact 4th-order second-derivative stencil (an Ornstein–Uhlenbeck-like
//!    process without damping): E|x̂_m|² is computed exactly for the discrete scheme (the RK4 propagator of
//!    the mode) and for the continuum; the measured second moments match the former (dt = h, h/2, h/4), and
//!    the former's weak error against the latter decreases at order 1 once the RK4 error of the drift (4th
//!    order in κ dt, dominant for the short waves at dt ≳ h/2) is small (dt = h/4 … h/32).
mod common;
use common::*;
use cqgrav::backend::cpu_stepper;
use cqgrav::config::NoiseKind;
use cqgrav::physics::cq_noise::NoiseParams;
use cqgrav::state::{var, State};
use std::f64::consts::PI;

fn mean_se(v: &[f64]) -> (f64, f64) {
    let m = v.len() as f64;
    let mean = v.iter().sum::<f64>() / m;
    (mean, (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0) / m).sqrt())
}

fn noise(d2: f64, seed: u64) -> NoiseParams {
    NoiseParams { diffusion: d2, beta: 0.0, kind: NoiseKind::Tensor, correlation_length: 0.0, seed }
}

/// Part 1: integrated random walk on one site.
#[test]
fn single_site_second_moment_is_weak_order_one() {
    let (d2, t_end, runs) = (1e-8f64, 1.0f64, 5000u64);
    let q = d2 / 2.0; // Var(dW^xy)/dt for g = δ, N = 1, ΔV = 1
    let cont = 4.0 / 3.0 * q * t_end.powi(3);
    let mut errors = Vec::new();
    for (level, nsteps) in [4u64, 8, 16, 32].into_iter().enumerate() {
        let nf = nsteps as f64;
        let s = Setup { shape: [1, 1, 1], h: 1.0, dt: t_end / nf, mass: 0.0, ..Default::default() };
        let init = cqgrav::physics::initial_data::minkowski(s.lattice());
        let mut ratios = Vec::with_capacity(3 * runs as usize);
        for r in 0..runs {
            let mut setup = s.build().with_background_of(&init);
            setup.noise = noise(d2, 1_000_000 * level as u64 + r);
            let mut st = cpu_stepper(setup, &init);
            st.advance(nsteps).unwrap();
            let out = st.download().unwrap();
            for k in [1, 2, 4] {
                // δg_xy, δg_xz, δg_yz
                ratios.push(out.data[var::G + k].powi(2) / cont);
            }
        }
        let (m, se) = mean_se(&ratios);
        let exact_discrete = (1.0 - 1.0 / nf) * (1.0 - 1.0 / (2.0 * nf));
        let z = (m - exact_discrete) / se;
        println!(
            "N = {nsteps:>2}: E[δg_xy²]/continuum = {m:.4} ± {se:.4}; scheme exactly {exact_discrete:.4} ({z:.2} SE); weak error {:.4} (−3/(2N) = {:.4})",
            m - 1.0,
            -1.5 / nf
        );
        assert!(z.abs() < 4.0, "N = {nsteps}: {m} vs {exact_discrete}");
        errors.push((nf, m - 1.0, se));
    }
    // observed order between N = 4 and N = 16: log2(e4/e16)/2 (exact value for the scheme 0.95)
    let (e4, e16) = (errors[0].1, errors[2].1);
    let order = (e4 / e16).log2() / 2.0;
    println!("observed weak order (N = 4 → 16): {order:.3}");
    assert!((0.7..1.3).contains(&order), "weak order {order}");
}

/// RK4 propagator of the mode system (x, p)' = A (x, p), A = [[0, 2], [−κ²/2, 0]]: Σ_{k≤4} (A dt)^k / k!.
fn rk4_matrix(kappa2: f64, dt: f64) -> [[f64; 2]; 2] {
    let a = [[0.0, 2.0 * dt], [-0.5 * kappa2 * dt, 0.0]];
    let mul = |x: [[f64; 2]; 2], y: [[f64; 2]; 2]| -> [[f64; 2]; 2] {
        std::array::from_fn(|i| std::array::from_fn(|j| x[i][0] * y[0][j] + x[i][1] * y[1][j]))
    };
    let mut term = [[1.0, 0.0], [0.0, 1.0]];
    let mut sum = term;
    for k in 1..=4 {
        term = mul(term, a);
        for i in 0..2 {
            for j in 0..2 {
                sum[i][j] += term[i][j] / (1..=k).product::<usize>() as f64;
            }
        }
    }
    sum
}

/// E|x̂|² after N steps per unit E|Ŵ|² per step: Σ_{j<N} ((R^j e_p)_x)².
fn discrete_second_moment(kappa2: f64, dt: f64, nsteps: u64) -> f64 {
    let r = rk4_matrix(kappa2, dt);
    let mut v = [0.0, 1.0];
    let mut s = 0.0;
    for _ in 0..nsteps {
        s += v[0] * v[0];
        v = [r[0][0] * v[0] + r[0][1] * v[1], r[1][0] * v[0] + r[1][1] * v[1]];
    }
    s
}

/// The same in the continuum, per unit E|Ŵ|²/dt: 4 ∫_0^T sin²(κu)/κ² du.
fn continuum_second_moment(kappa2: f64, t: f64) -> f64 {
    let k = kappa2.sqrt();
    4.0 * (t / 2.0 - (2.0 * k * t).sin() / (4.0 * k)) / kappa2
}

/// Part 2: gravitational-wave modes driven by the noise on a 16×1×1 lattice.
#[test]
fn wave_modes_follow_the_linearised_oscillator() {
    let n = 16usize;
    let h = 1.0 / n as f64;
    let (d2, t_end, runs) = (1e-10f64, 1.0f64, 300u64);
    let modes: Vec<usize> = (1..n / 2).collect();
    // compact 4th-order second derivative: D2 e^{iθx} = −κ² e^{iθx}, κ²h² = (30 − 32 cos θ + 2 cos 2θ)/12
    let kappa2 = |m: usize| {
        let th = 2.0 * PI * m as f64 / n as f64;
        (30.0 - 32.0 * th.cos() + 2.0 * (2.0 * th).cos()) / (12.0 * h * h)
    };
    // the scheme's exact weak error against the continuum, averaged over the modes
    let weak_error = |dt: f64| -> f64 {
        let nsteps = (t_end / dt).round() as u64;
        modes
            .iter()
            .map(|&m| discrete_second_moment(kappa2(m), dt, nsteps) / (continuum_second_moment(kappa2(m), t_end) / dt) - 1.0)
            .sum::<f64>()
            / modes.len() as f64
    };
    for (level, dt) in [h, h / 2.0, h / 4.0].into_iter().enumerate() {
        let nsteps = (t_end / dt).round() as u64;
        let s = Setup { shape: [n, 1, 1], h, dt, mass: 0.0, ..Default::default() };
        let init = cqgrav::physics::initial_data::minkowski(s.lattice());
        let dv = s.lattice().cell_volume();
        // E|Ŵ_m|² per step: Var(dW^yz) = D2 dt/(2ΔV) = Var((dW^yy − dW^zz)/2) per site, divided by n
        let qw = d2 * dt / (2.0 * dv) / n as f64;
        let mut ratios = Vec::new();
        for r in 0..runs {
            let mut setup = s.build().with_background_of(&init);
            setup.noise = noise(d2, 7_000_000 * level as u64 + r);
            let mut st = cpu_stepper(setup, &init);
            st.advance(nsteps).unwrap();
            let out: State = st.download().unwrap();
            let f = |v: usize| out.field(v).to_vec();
            let (gyz, gyy, gzz) = (f(var::G + 4), f(var::G + 3), f(var::G + 5));
            for &m in &modes {
                let th = 2.0 * PI * m as f64 / n as f64;
                let e = discrete_second_moment(kappa2(m), dt, nsteps) * qw;
                for pol in 0..2 {
                    let (mut re, mut im) = (0.0, 0.0);
                    for x in 0..n {
                        let v = if pol == 0 { gyz[x] } else { 0.5 * (gyy[x] - gzz[x]) };
                        re += v * (th * x as f64).cos() / n as f64;
                        im -= v * (th * x as f64).sin() / n as f64;
                    }
                    ratios.push((re * re + im * im) / e);
                }
            }
        }
        let (m, se) = mean_se(&ratios);
        let weak = weak_error(dt);
        println!(
            "dt = h/{}: measured E|x̂|²/(exact discrete) = {m:.4} ± {se:.4} ({:.2} SE) over {} samples; scheme's weak error vs continuum {weak:+.5}",
            1 << level,
            (m - 1.0) / se,
            ratios.len()
        );
        assert!(((m - 1.0) / se).abs() < 4.0, "dt = {dt}: {m} ± {se}");
    }
    let errs: Vec<f64> = [4.0, 8.0, 16.0, 32.0].iter().map(|&k| weak_error(h / k)).collect();
    let orders: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    println!("scheme's weak error vs continuum at dt = h/4 … h/32: {errs:.3?}; orders {orders:.3?}");
    assert!(errs.iter().all(|e| *e < 0.0), "the first-order error of the noise increment has a fixed sign");
    assert!((0.9..1.1).contains(orders.last().unwrap()), "weak order {orders:?}");
}
