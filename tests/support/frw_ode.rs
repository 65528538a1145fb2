//! Independent FRW reference: flat FRW, minimally coupled scalar of mass m, cosmological constant Λ,
//! units ħ = c = 16πG = 1:
//!   ρ = ½φ̇² + ½m²φ²,   H = +√((ρ + 2Λ)/6) (expanding branch),
//!   φ̈ = −3Hφ̇ − m²φ,   ȧ = aH.
//! Integrated with the 8th-order adaptive Dormand–Prince method (`ode_solvers::Dop853`), one solver run per
//! output interval so that every output is a step end point (no dense-output interpolation).
//! The check variable H_ev obeys the evolution equation Ḣ = −(ρ + p)/4 = −φ̇²/4 and is carried alongside;
//! |H_ev − H| measures the accumulated error (Friedmann constraint check).

use ode_solvers::{Dop853, OutputType, SVector, System};

/// Default relative = absolute tolerance of [`frw_reference`].
pub const FRW_DEFAULT_RTOL: f64 = 1e-14;

/// One output of the reference solution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrwPoint {
    pub t: f64,
    /// scale factor a(t)
    pub a: f64,
    /// H = √((ρ + 2Λ)/6) evaluated on the integrated (φ, φ̇)
    pub hubble: f64,
    pub phi: f64,
    pub phi_dot: f64,
}

/// An output plus the constraint-check variable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrwDetailed {
    pub point: FrwPoint,
    /// H integrated independently from Ḣ = −φ̇²/4, H_ev(0) = H(0)
    pub hubble_evolved: f64,
    /// ρ + 2Λ at this time; the Friedmann constraint is 6H² = ρ + 2Λ
    pub energy_density: f64,
}

/// ρ = ½φ̇² + ½m²φ².
pub fn scalar_energy_density(mass: f64, phi: f64, phi_dot: f64) -> f64 {
    0.5 * phi_dot * phi_dot + 0.5 * mass * mass * phi * phi
}

/// Expanding-branch Friedmann rate H = √((ρ + 2Λ)/6).
pub fn friedmann_hubble(mass: f64, lambda: f64, phi: f64, phi_dot: f64) -> f64 {
    let rho = scalar_energy_density(mass, phi, phi_dot);
    let s = (rho + 2.0 * lambda) / 6.0;
    assert!(s >= 0.0, "ρ + 2Λ < 0: no real expanding FRW solution");
    s.sqrt()
}

type State = SVector<f64, 4>; // (a, φ, φ̇, H_ev)

struct Frw {
    mass: f64,
    lambda: f64,
}

impl System<f64, State> for Frw {
    /// ȧ = aH, φ̇ = φ̇, φ̈ = −3Hφ̇ − m²φ with H = √((ρ+2Λ)/6); Ḣ_ev = −φ̇²/4.
    fn system(&self, _t: f64, y: &State, dy: &mut State) {
        let (a, phi, phi_dot) = (y[0], y[1], y[2]);
        let h = friedmann_hubble(self.mass, self.lambda, phi, phi_dot);
        dy[0] = a * h;
        dy[1] = phi_dot;
        dy[2] = -3.0 * h * phi_dot - self.mass * self.mass * phi;
        dy[3] = -0.25 * phi_dot * phi_dot;
    }
}

fn detailed(mass: f64, lambda: f64, t: f64, y: &State) -> FrwDetailed {
    let hubble = friedmann_hubble(mass, lambda, y[1], y[2]);
    FrwDetailed {
        point: FrwPoint {
            t,
            a: y[0],
            hubble,
            phi: y[1],
            phi_dot: y[2],
        },
        hubble_evolved: y[3],
        energy_density: scalar_energy_density(mass, y[1], y[2]) + 2.0 * lambda,
    }
}

/// Solves the FRW system above from t = 0 with (a, φ, φ̇)(0) = (a0, φ0, φ̇0) and returns the solution at
/// `times` (non-decreasing, ≥ 0), with rtol = atol = `rtol` in Dop853.
#[allow(clippy::too_many_arguments)]
pub fn frw_reference_detailed(
    mass: f64,
    lambda: f64,
    a0: f64,
    phi0: f64,
    phi_dot0: f64,
    times: &[f64],
    rtol: f64,
) -> Vec<FrwDetailed> {
    assert!(a0 > 0.0, "a0 must be positive");
    let h0 = friedmann_hubble(mass, lambda, phi0, phi_dot0);
    let mut t = 0.0_f64;
    let mut y = State::new(a0, phi0, phi_dot0, h0);
    let mut out = Vec::with_capacity(times.len());
    for &t_next in times {
        assert!(
            t_next.is_finite() && t_next >= t,
            "times must be finite, ≥ 0 and non-decreasing"
        );
        if t_next > t {
            let mut solver = Dop853::from_param(
                Frw { mass, lambda },
                t,
                t_next,
                0.0,
                y,
                rtol,
                rtol,
                0.9,           // safety factor (Hairer default)
                0.0,           // PI-controller β
                0.333,         // fac_min
                6.0,           // fac_max
                t_next - t,    // h_max
                0.0,           // initial step: automatic
                50_000_000,    // max steps
                1_000_000_000, // stiffness test effectively off
                OutputType::Sparse,
            );
            solver.integrate().expect("Dop853 failed on the FRW system");
            let t_end = *solver.x_out().last().unwrap();
            assert!(
                (t_end - t_next).abs() <= 1e-12 * t_next.abs().max(1.0),
                "solver ended at {t_end}"
            );
            y = *solver.y_out().last().unwrap();
            t = t_next;
        }
        out.push(detailed(mass, lambda, t_next, &y));
    }
    out
}

/// FRW reference at `times` with the default tolerance [`FRW_DEFAULT_RTOL`].
pub fn frw_reference(
    mass: f64,
    lambda: f64,
    a0: f64,
    phi0: f64,
    phi_dot0: f64,
    times: &[f64],
) -> Vec<FrwPoint> {
    frw_reference_detailed(mass, lambda, a0, phi0, phi_dot0, times, FRW_DEFAULT_RTOL)
        .into_iter()
        .map(|d| d.point)
        .collect()
}
