//! SPEC §8.4 / issue 2 acceptance 4: homogeneous FRW with a classical massive scalar field (m = 1, φ̄0 = 2,
//! dφ̄/dt0 = 0, a0 = 1) against an independent Dormand–Prince 8 solution of H² = ρ/6, φ̈ + 3Hφ̇ + m²φ = 0
//! (tests/support/frw_ode.rs, written separately from the solver): a, H, φ̄ to ≤ 1e-7 relative up to t = 10,
//! Hamiltonian constraint ≤ 1e-8 relative.
mod common;
mod support;
use common::*;
use cqgrav::backend::cpu_stepper;
use cqgrav::diagnostics::diagnostics;
use cqgrav::physics::initial_data::frw;
use support::frw_ode::frw_reference;

pub struct FrwErrors {
    pub a: f64,
    pub hubble: f64,
    pub phi: f64,
    pub ham_rel: f64,
}

/// Run FRW with the given backend factory and compare every `every` steps.
pub fn frw_errors(s: &Setup, lambda: f64, t_end: f64, every: u64) -> FrwErrors {
    let (m, phi0, phidot0, a0) = (s.mass, 2.0, 0.0, 1.0);
    let init = frw(s.lattice(), a0, m, lambda, phi0, phidot0);
    let setup = s.build().with_background_of(&init);
    let mut st = cpu_stepper(setup, &init);
    let steps = (t_end / s.dt).round() as u64;
    let times: Vec<f64> = (0..=steps / every).map(|k| (k * every) as f64 * s.dt).collect();
    let reference = frw_reference(m, lambda, a0, phi0, phidot0, &times);
    let mut e = FrwErrors { a: 0.0, hubble: 0.0, phi: 0.0, ham_rel: 0.0 };
    for (k, r) in reference.iter().enumerate() {
        if k > 0 {
            st.advance(every).unwrap();
        }
        let state = st.download().unwrap();
        let d = diagnostics(&state, &setup);
        assert!((d.t - r.t).abs() < 1e-12);
        e.a = e.a.max(((d.a - r.a) / r.a).abs());
        e.hubble = e.hubble.max(((d.hubble - r.hubble) / r.hubble).abs());
        // φ oscillates through zero: measure relative to its oscillation envelope sqrt(φ² + φ̇²/m²)
        let envelope = (r.phi * r.phi + r.phi_dot * r.phi_dot / (m * m)).sqrt();
        e.phi = e.phi.max(((d.phi_mean - r.phi) / envelope).abs());
        e.ham_rel = e.ham_rel.max(d.constraints.ham_rel);
    }
    e
}

#[test]
fn frw_matches_independent_ode_solution() {
    let s = Setup { shape: [8, 8, 8], h: 0.1, dt: 0.005, ..Default::default() };
    let e = frw_errors(&s, 0.0, 10.0, 100);
    println!("max relative errors to t = 10: a {:.2e}, H {:.2e}, φ {:.2e}; max ham_rel {:.2e}", e.a, e.hubble, e.phi, e.ham_rel);
    assert!(e.a <= 1e-7 && e.hubble <= 1e-7 && e.phi <= 1e-7, "FRW errors too large");
    assert!(e.ham_rel <= 1e-8, "Hamiltonian constraint {}", e.ham_rel);
}

/// With a cosmological constant the same holds (tests the Λ terms of the evolution and the constraint).
#[test]
fn frw_with_cosmological_constant() {
    let s = Setup { shape: [1, 1, 1], h: 0.1, dt: 0.005, lambda: 0.3, ..Default::default() };
    let e = frw_errors(&s, 0.3, 5.0, 100);
    println!("Λ = 0.3: max relative errors a {:.2e}, H {:.2e}, φ {:.2e}; ham_rel {:.2e}", e.a, e.hubble, e.phi, e.ham_rel);
    assert!(e.a <= 1e-7 && e.hubble <= 1e-7 && e.phi <= 1e-7);
    assert!(e.ham_rel <= 1e-8);
}

/// RK4 in time: halving dt reduces the FRW error by 2⁴ (independent of the spatial stencils).
#[test]
fn frw_time_convergence_is_fourth_order() {
    let err = |dt: f64| {
        let s = Setup { shape: [1, 1, 1], h: 0.1, dt, ..Default::default() };
        frw_errors(&s, 0.0, 4.0, (0.4 / dt).round() as u64).a
    };
    let (e1, e2) = (err(0.04), err(0.02));
    let rate = (e1 / e2).log2();
    println!("FRW a(t) error {e1:.3e} → {e2:.3e}: rate {rate:.3}");
    assert!((rate - 4.0).abs() < 0.3, "RK4 rate {rate}");
}
