//! Time-step stability of the scheme (SPEC §2): method of lines, classical RK4 in time, the centred stencils of
//! [`Stencil`] in space, Kreiss–Oliger dissipation of strength σ.
//!
//! Model problem (von Neumann analysis of the linearised, frozen-coefficient system): a set of waves of
//! coordinate speed c with a mass term m·N. For Fourier angles θ_d ∈ [0, π] on each active axis d the
//! semi-discrete eigenvalues are
//!
//!   λ(θ) = σ/h · Σ_d s_KO(θ_d)  ±  i·sqrt( c² Σ_d (−s_D2(θ_d)) / h²  +  (m·N)² ),
//!
//! with `s_KO = Stencil::symbol_ko ≤ 0` and `s_D2 = Stencil::symbol_d2 ≤ 0`. (The scalar field's Laplacian is
//! built from first-derivative products D1∘D1 whose symbol −s_D1² is smaller in magnitude than the compact
//! −s_D2, so the compact symbol gives the tighter, i.e. safe, bound.) RK4 multiplies a mode by
//! R(z) = 1 + z + z²/2 + z³/6 + z⁴/24 with z = dt·λ; the scheme is stable when |R(dt·λ(θ))| ≤ 1 for every θ.
//! [`stability_limit_dt`] finds the largest such dt by bisection over a grid of θ that contains θ = 0 and
//! θ = π exactly; [`max_stable_dt`] returns it times the safety factor [`SAFETY`] = 0.98, which leaves room
//! for what the model leaves out (variable coefficients, non-linear terms, the growth rates ~H of an
//! expanding background).
//!
//! Known limits used by the tests: on the imaginary axis RK4 is stable up to |z| = 2√2, on the negative real
//! axis up to [`RK4_REAL_AXIS_LIMIT`] ≈ 2.7853.
use crate::config::{Config, InitialKind, Lapse};
use crate::numerics::stencil::Stencil;
use num_complex::Complex64;

/// Safety factor applied by [`max_stable_dt`] to the exact bound of the linear model.
pub const SAFETY: f64 = 0.98;
/// RK4 stability limit on the imaginary axis: |R(iy)| ≤ 1 ⇔ |y| ≤ 2√2.
pub const RK4_IMAG_AXIS_LIMIT: f64 = 2.0 * std::f64::consts::SQRT_2;
/// RK4 stability limit on the negative real axis: the root x ≈ 2.7853 of R(−x) = 1.
pub const RK4_REAL_AXIS_LIMIT: f64 = 2.785_293_563_405_281;

/// The classical RK4 amplification factor R(z) = 1 + z + z²/2 + z³/6 + z⁴/24.
pub fn rk4_amplification(z: Complex64) -> Complex64 {
    // Horner form.
    Complex64::new(1.0, 0.0) + z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z / 24.0)))
}

/// Points per axis of the θ grid on [0, π] (both ends included), by number of active directions.
fn grid_points(active_dims: usize) -> usize {
    match active_dims {
        0 => 1,
        1 => 4097,
        2 => 513,
        _ => 129,
    }
}

/// (Σ_d s_KO(θ_d), Σ_d −s_D2(θ_d)) over the θ grid. λ depends on θ only through these two sums, which are
/// symmetric in the axes, so only θ_1 ≤ θ_2 ≤ θ_3 is visited.
fn symbol_sums(stencil: &Stencil, active_dims: usize) -> Vec<(f64, f64)> {
    let n = grid_points(active_dims);
    let per_axis: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            // θ = π exactly at the last point.
            let theta = if n == 1 {
                0.0
            } else if i + 1 == n {
                std::f64::consts::PI
            } else {
                std::f64::consts::PI * i as f64 / (n - 1) as f64
            };
            (stencil.symbol_ko(theta), -stencil.symbol_d2(theta))
        })
        .collect();
    let mut out = Vec::new();
    match active_dims {
        0 => out.push((0.0, 0.0)),
        1 => out.extend(per_axis.iter().copied()),
        2 => {
            for i in 0..n {
                for j in i..n {
                    out.push((per_axis[i].0 + per_axis[j].0, per_axis[i].1 + per_axis[j].1));
                }
            }
        }
        _ => {
            for i in 0..n {
                for j in i..n {
                    for k in j..n {
                        out.push((
                            per_axis[i].0 + per_axis[j].0 + per_axis[k].0,
                            per_axis[i].1 + per_axis[j].1 + per_axis[k].1,
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The largest dt with |R(dt·λ(θ))| ≤ 1 for every θ of the grid (no safety factor), to a relative accuracy of
/// about 1e-12. `h` the spacing, `active_dims` the number of lattice directions with more than one site (0..=3),
/// `dissipation` the Kreiss–Oliger σ ≥ 0, `wave_speed` the largest coordinate speed c ≥ 0, `mass_term` the
/// largest m·N ≥ 0. Returns `f64::INFINITY` when every eigenvalue is zero, NaN for invalid input (h ≤ 0,
/// negative or non-finite parameters, more than 3 directions).
pub fn stability_limit_dt(
    stencil: &Stencil,
    h: f64,
    active_dims: usize,
    dissipation: f64,
    wave_speed: f64,
    mass_term: f64,
) -> f64 {
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    let valid = h.is_finite() && h > 0.0 && ok(dissipation) && ok(wave_speed) && ok(mass_term) && active_dims <= 3;
    if !valid {
        return f64::NAN;
    }
    // One sign suffices: R has real coefficients, so |R(conj z)| = |R(z)|.
    let lambdas: Vec<Complex64> = symbol_sums(stencil, active_dims)
        .into_iter()
        .map(|(ko, d2)| {
            Complex64::new(
                dissipation / h * ko,
                (wave_speed * wave_speed * d2 / (h * h) + mass_term * mass_term).sqrt(),
            )
        })
        .collect();
    let rho = lambdas.iter().map(|l| l.norm_sqr()).fold(0.0, f64::max).sqrt();
    if rho == 0.0 {
        return f64::INFINITY;
    }
    // Bisect on a few candidates (the largest |λ| and the most damped), then check the result against all
    // eigenvalues in one pass; add those that fail and repeat. The answer is that of a bisection over all of
    // them (same bracket, same 1e-13 tolerance) at a fraction of the cost: `cqgrav check` and every run start
    // with this estimate.
    let mut candidates = extremes(&lambdas, CANDIDATES, |l| l.norm_sqr());
    candidates.extend(extremes(&lambdas, CANDIDATES, |l| -l.re));
    loop {
        let dt = bisect(&candidates, rho);
        if !dt.is_finite() {
            return dt;
        }
        let failing: Vec<Complex64> = lambdas.iter().copied().filter(|&l| !rk4_stable(l, dt)).collect();
        if failing.is_empty() {
            return dt;
        }
        candidates.extend(failing);
    }
}

/// Eigenvalues per side of the first candidate set of [`stability_limit_dt`].
const CANDIDATES: usize = 256;

/// The `k` eigenvalues with the largest `key`.
fn extremes(lambdas: &[Complex64], k: usize, key: impl Fn(&Complex64) -> f64) -> Vec<Complex64> {
    let mut v = lambdas.to_vec();
    if v.len() > k {
        v.select_nth_unstable_by(k, |a, b| key(b).total_cmp(&key(a)));
        v.truncate(k);
    }
    v
}

/// |R(λ dt)| ≤ 1 + 1e-13, as |R|² ≤ (1 + 1e-13)² (no hypot per eigenvalue).
fn rk4_stable(l: Complex64, dt: f64) -> bool {
    rk4_amplification(l * dt).norm_sqr() <= (1.0 + 1e-13f64).powi(2)
}

/// The largest dt stable for every eigenvalue of `lambdas` by bisection from the bracket [0, 3/ρ] (ρ the
/// spectral radius of the whole set), to a relative width of 1e-13.
fn bisect(lambdas: &[Complex64], rho: f64) -> f64 {
    let stable = |dt: f64| lambdas.iter().all(|&l| rk4_stable(l, dt));
    // The RK4 region lies inside |z| < 3; bracket the bound (doubling only as a guard) and bisect.
    let mut hi = 3.0 / rho;
    while stable(hi) {
        hi *= 2.0;
        if hi > 1e6 / rho {
            return f64::INFINITY;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if stable(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    lo
}

/// The time step to stay below: [`SAFETY`] × [`stability_limit_dt`]. Same arguments.
pub fn max_stable_dt(
    stencil: &Stencil,
    h: f64,
    active_dims: usize,
    dissipation: f64,
    wave_speed: f64,
    mass_term: f64,
) -> f64 {
    SAFETY * stability_limit_dt(stencil, h, active_dims, dissipation, wave_speed, mass_term)
}

/// The largest coordinate propagation speed of the initial data of a configuration: N·sqrt(λ_max(g^ab))
/// maximised over the lattice (the light cone), times √2 for `one-plus-log` slicing (its gauge speed is
/// sqrt(2/N) times the light speed: √2 at N = 1, the documented bound for N ≤ 1); `geodesic` and `harmonic`
/// slicing have gauge speed ≤ the light speed. Per initial kind:
/// - `minkowski`: 1;
/// - `linear-wave` (g_yy = 1 + A sin, g_zz = 1 − A sin, N = 1): sqrt(1/(1 − |A|));
/// - `gauge-wave` (g_xx = H = 1 − A sin, N = √H): 1 along x; sqrt(1 + |A|) when y or z is active
///   (N·sqrt(g^yy) = √H there);
/// - `frw` (g = a0² δ, N = 1): 1/a0.
///
/// Returns NaN when the initial data is not a valid metric (|A| ≥ 1, a0 ≤ 0).
pub fn characteristic_speed(cfg: &Config) -> f64 {
    let a = cfg.initial.amplitude.abs();
    let light = match cfg.initial.kind {
        InitialKind::Minkowski => 1.0,
        InitialKind::LinearWave => {
            if a < 1.0 {
                (1.0 / (1.0 - a)).sqrt()
            } else {
                f64::NAN
            }
        }
        InitialKind::GaugeWave => {
            if a >= 1.0 {
                f64::NAN
            } else if cfg.lattice.shape[1] > 1 || cfg.lattice.shape[2] > 1 {
                (1.0 + a).sqrt()
            } else {
                1.0
            }
        }
        InitialKind::Frw => {
            let a0 = cfg.initial.scale_factor;
            if a0 > 0.0 {
                1.0 / a0
            } else {
                f64::NAN
            }
        }
    };
    light * gauge_speed_factor(cfg.gauge.lapse)
}

/// Gauge speed relative to the light speed used in the bound: √2 for `one-plus-log`, 1 otherwise.
pub fn gauge_speed_factor(lapse: Lapse) -> f64 {
    match lapse {
        Lapse::OnePlusLog => std::f64::consts::SQRT_2,
        Lapse::Geodesic | Lapse::Harmonic => 1.0,
    }
}

/// The largest lapse of the initial data: sqrt(1 + |A|) for the gauge wave, 1 otherwise.
pub fn initial_max_lapse(cfg: &Config) -> f64 {
    match cfg.initial.kind {
        InitialKind::GaugeWave => (1.0 + cfg.initial.amplitude.abs()).sqrt(),
        _ => 1.0,
    }
}

/// The mass term of the model problem: m_eff · max N, with m_eff² the largest of m² and V″ = m² + U″ at the initial
/// mean field and at φ = 0 (a non-quadratic potential, physics/potential.rs, stiffens the field there).
pub fn mass_term(cfg: &Config) -> f64 {
    let m = cfg.matter.mass;
    if !m.is_finite() {
        return m;
    }
    let u = crate::physics::potential::Polynomial::from_config(&cfg.matter);
    let m2 = [cfg.initial.phi, 0.0]
        .iter()
        .map(|&phi| crate::physics::potential::effective_mass2(m, &u, phi))
        .filter(|v| v.is_finite())
        .fold(m * m, f64::max);
    m2.sqrt() * initial_max_lapse(cfg)
}

/// The stability bound of a configuration with everything that went into it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StabilityBound {
    /// Largest dt to use (safety factor included); may be infinite.
    pub dt_max: f64,
    /// dt_max / h.
    pub courant_max: f64,
    pub fd_order: u32,
    pub dissipation: f64,
    pub active_dims: usize,
    pub wave_speed: f64,
    pub mass_term: f64,
}

/// The stability bound of a configuration, or `None` when its inputs are invalid (fd_order not 2 or 4,
/// spacing not > 0, negative dissipation or mass, invalid initial metric): validation reports those.
pub fn stability_bound(cfg: &Config) -> Option<StabilityBound> {
    let order = cfg.gravity.fd_order;
    if order != 2 && order != 4 {
        return None;
    }
    let h = cfg.lattice.spacing;
    let active = cfg.lattice.shape.iter().filter(|&&n| n > 1).count();
    let speed = characteristic_speed(cfg);
    let mass = mass_term(cfg);
    let dt_max = max_stable_dt(&Stencil::new(order), h, active, cfg.gravity.dissipation, speed, mass);
    if dt_max.is_nan() {
        return None;
    }
    Some(StabilityBound {
        dt_max,
        courant_max: dt_max / h,
        fd_order: order,
        dissipation: cfg.gravity.dissipation,
        active_dims: active,
        wave_speed: speed,
        mass_term: mass,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn rk4_axis_limits() {
        // R(−x) = 1 at the real-axis limit, |R(iy)| = 1 at y = 2√2.
        assert!((rk4_amplification(Complex64::new(-RK4_REAL_AXIS_LIMIT, 0.0)).re - 1.0).abs() < 1e-14);
        assert!((rk4_amplification(Complex64::new(0.0, RK4_IMAG_AXIS_LIMIT)).norm() - 1.0).abs() < 1e-14);
    }

    /// 1-D pure wave, order 2: max |s_D2| = 4 at θ = π, so dt·2/h ≤ 2√2, courant ≤ √2.
    #[test]
    fn wave_order2_1d() {
        let dt = stability_limit_dt(&Stencil::new(2), 1.0, 1, 0.0, 1.0, 0.0);
        assert!(close(dt, std::f64::consts::SQRT_2, 1e-9), "{dt}");
        let dt = max_stable_dt(&Stencil::new(2), 0.1, 1, 0.0, 1.0, 0.0);
        assert!(close(dt, SAFETY * 0.1 * std::f64::consts::SQRT_2, 1e-9), "{dt}");
    }

    /// Order 4: max |s_D2| = 16/3 at θ = π, courant ≤ 2√2 / sqrt(16/3) ≈ 1.2247 in 1-D, 2√2/4 in 3-D.
    #[test]
    fn wave_order4() {
        let dt = stability_limit_dt(&Stencil::new(4), 1.0, 1, 0.0, 1.0, 0.0);
        assert!(close(dt, RK4_IMAG_AXIS_LIMIT / (16.0f64 / 3.0).sqrt(), 1e-9), "{dt}");
        let dt = stability_limit_dt(&Stencil::new(4), 1.0, 3, 0.0, 1.0, 0.0);
        assert!(close(dt, RK4_IMAG_AXIS_LIMIT / 4.0, 1e-9), "{dt}");
        // speed c scales the bound by 1/c, h scales it by h.
        let dt = stability_limit_dt(&Stencil::new(4), 0.5, 3, 0.0, 2.0, 0.0);
        assert!(close(dt, 0.5 * RK4_IMAG_AXIS_LIMIT / 8.0, 1e-9), "{dt}");
    }

    /// Pure dissipation: s_KO(π) = −1 per axis, so σ·dt/h·d ≤ 2.7853.
    #[test]
    fn pure_dissipation() {
        for order in [2, 4] {
            for d in 1..=3 {
                let sigma = 0.7;
                let dt = stability_limit_dt(&Stencil::new(order), 0.2, d, sigma, 0.0, 0.0);
                assert!(
                    close(dt, RK4_REAL_AXIS_LIMIT * 0.2 / (sigma * d as f64), 1e-9),
                    "order {order} d {d}: {dt}"
                );
            }
        }
    }

    /// Mass term only (no active direction): m·dt ≤ 2√2.
    #[test]
    fn mass_only() {
        let dt = stability_limit_dt(&Stencil::new(4), 0.1, 0, 0.0, 1.0, 2.0);
        assert!(close(dt, RK4_IMAG_AXIS_LIMIT / 2.0, 1e-9), "{dt}");
        assert!(stability_limit_dt(&Stencil::new(4), 0.1, 0, 0.0, 1.0, 0.0).is_infinite());
        assert!(stability_limit_dt(&Stencil::new(4), -0.1, 1, 0.0, 1.0, 0.0).is_nan());
    }

    /// Combined: the found dt is stable for every grid mode and slightly larger dt is not; dissipation and mass
    /// never make the wave bound larger than pure-wave + pure-dissipation alone allow.
    #[test]
    fn combined_is_consistent() {
        let s = Stencil::new(4);
        let dt = stability_limit_dt(&s, 0.1, 3, 0.3, 1.0, 1.0);
        let wave_only = stability_limit_dt(&s, 0.1, 3, 0.0, 1.0, 0.0);
        let diss_only = stability_limit_dt(&s, 0.1, 3, 0.3, 0.0, 0.0);
        assert!(dt > 0.0 && dt <= diss_only * (1.0 + 1e-12));
        assert!(dt < 1.05 * wave_only, "{dt} vs {wave_only}");
        // independent brute-force check on a coarse grid at θ = (π, π, π)
        let lam = Complex64::new(0.3 / 0.1 * 3.0 * s.symbol_ko(std::f64::consts::PI), {
            let d2 = -3.0 * s.symbol_d2(std::f64::consts::PI);
            (d2 / 0.01 + 1.0).sqrt()
        });
        assert!(rk4_amplification(lam * dt).norm() <= 1.0 + 1e-12);
    }

    #[test]
    fn speeds() {
        let mut c = Config::default();
        c.initial.kind = InitialKind::Frw;
        c.initial.scale_factor = 2.0;
        assert_eq!(characteristic_speed(&c), 0.5);
        c.gauge.lapse = Lapse::OnePlusLog;
        assert!(close(characteristic_speed(&c), 0.5 * std::f64::consts::SQRT_2, 1e-15));
        c.gauge.lapse = Lapse::Harmonic;
        c.initial.kind = InitialKind::LinearWave;
        c.initial.amplitude = 0.75;
        assert!(close(characteristic_speed(&c), 2.0, 1e-15));
        c.initial.kind = InitialKind::GaugeWave;
        c.lattice.shape = [32, 1, 1];
        assert_eq!(characteristic_speed(&c), 1.0);
        c.lattice.shape = [32, 8, 8];
        assert!(close(characteristic_speed(&c), 1.75f64.sqrt(), 1e-15));
        c.initial.amplitude = 1.0;
        assert!(characteristic_speed(&c).is_nan());
    }
}
