//! Initial data (SPEC §10 `initial.kind`): Minkowski, the Alcubierre et al. (2004) linear and gauge waves
//! (wave along x, wavelength = box length), and homogeneous FRW with a massive scalar field.
//! The wave solutions are also exact solutions at any time t, used by the tests.
//! Momenta follow from ∂t g_ab = 2N K_ab and π^ab = √g (K^ab − g^ab K) (SPEC §1–§2).
use super::tensor::{contract, inverse, sandwich, Sym};
use crate::config::{Config, InitialKind};
use crate::numerics::lattice::Lattice;
use crate::state::{var, State};
use std::f64::consts::PI;

/// π^ab = √g (K^ab − g^ab K) for K_ab = ∂t g_ab / (2N).
pub fn momentum_from_metric_rate(g: &Sym<f64>, gdot: &Sym<f64>, lapse: f64) -> Sym<f64> {
    let (ginv, det) = inverse(g);
    let k_low: Sym<f64> = std::array::from_fn(|k| gdot[k] / (2.0 * lapse));
    let k_up = sandwich(&ginv, &k_low);
    let tr = contract(&ginv, &k_low);
    std::array::from_fn(|k| det.sqrt() * (k_up[k] - ginv[k] * tr))
}

/// Store one site; `dg` is the metric perturbation δg_ab = g_ab − ḡ_ab (state.rs), computed directly by the
/// caller so that no precision is lost forming g − ḡ.
fn set_site(s: &mut State, i: usize, dg: &Sym<f64>, pi: &Sym<f64>, lapse: f64, phi: f64, pi_phi: f64) {
    let n = s.lattice.sites();
    for k in 0..6 {
        s.data[(var::G + k) * n + i] = dg[k];
        s.data[(var::PI + k) * n + i] = pi[k];
    }
    s.data[var::LAPSE * n + i] = lapse;
    s.data[var::PHI * n + i] = phi;
    s.data[var::PI_PHI * n + i] = pi_phi;
}

/// Flat space, unit lapse, field at rest at zero.
pub fn minkowski(lat: Lattice) -> State {
    let mut s = State::zeros(lat);
    for i in 0..lat.sites() {
        set_site(&mut s, i, &[0.0; 6], &[0.0; 6], 1.0, 0.0, 0.0);
    }
    s
}

/// A plane wave along x with phase θ = 2π(x − t)/d, d = box length along x. `fields(sin θ, −(2π/d) cos θ)`
/// returns (δg_ab, ∂t g_ab, N) at a site from the wave profile s = sin θ and its time derivative ṡ.
fn plane_wave_x(lat: Lattice, t: f64, fields: impl Fn(f64, f64) -> (Sym<f64>, Sym<f64>, f64)) -> State {
    let mut s = State::zeros(lat);
    let kw = 2.0 * PI / lat.box_lengths()[0];
    for i in 0..lat.sites() {
        let ph = kw * (lat.position(i)[0] - t);
        let (dg, gdot, lapse) = fields(ph.sin(), -kw * ph.cos());
        let g: Sym<f64> = std::array::from_fn(|k| crate::state::FLAT[k] + dg[k]);
        let pi = momentum_from_metric_rate(&g, &gdot, lapse);
        set_site(&mut s, i, &dg, &pi, lapse, 0.0, 0.0);
    }
    s.t = t;
    s
}

/// Linear gravitational wave, h_yy = −h_zz = A sin(2π(x − t)/d), N = 1 (exact to O(A²)).
pub fn linear_wave(lat: Lattice, amplitude: f64, t: f64) -> State {
    plane_wave_x(lat, t, |sin, sdot| {
        let (h, hdot) = (amplitude * sin, amplitude * sdot);
        ([0.0, 0.0, 0.0, h, 0.0, -h], [0.0, 0.0, 0.0, hdot, 0.0, -hdot], 1.0)
    })
}

/// Gauge wave, g_xx = 1 − H, N = √(1 − H), H = A sin(2π(x − t)/d): flat space in harmonic slicing (exact).
pub fn gauge_wave(lat: Lattice, amplitude: f64, t: f64) -> State {
    plane_wave_x(lat, t, |sin, sdot| {
        let (hh, hdot) = (amplitude * sin, amplitude * sdot);
        ([-hh, 0.0, 0.0, 0.0, 0.0, 0.0], [-hdot, 0.0, 0.0, 0.0, 0.0, 0.0], (1.0 - hh).sqrt())
    })
}

/// Initial Hubble rate on the expanding branch of the Friedmann equation H² = (ρ + 2Λ)/6,
/// ρ = ½ φ̇² + ½ m² φ² (units 16πG = 1).
pub fn frw_hubble(mass: f64, lambda: f64, phi: f64, phi_dot: f64) -> f64 {
    let rho = 0.5 * phi_dot * phi_dot + 0.5 * mass * mass * phi * phi;
    hubble_from_density(rho, lambda)
}

/// H = +sqrt((ρ + 2Λ)/6): the expanding branch of the Friedmann equation for an energy density ρ.
pub fn hubble_from_density(rho: f64, lambda: f64) -> f64 {
    ((rho + 2.0 * lambda) / 6.0).sqrt()
}

/// Homogeneous FRW: g = a0² δ, N = 1, φ̄ = φ0, π_φ = a0³ φ̇0, π^ab = −2 a0 H0 δ^ab (Hamiltonian constraint,
/// expanding branch).
pub fn frw(lat: Lattice, a0: f64, mass: f64, lambda: f64, phi: f64, phi_dot: f64) -> State {
    frw_with_hubble(lat, a0, frw_hubble(mass, lambda, phi, phi_dot), phi, phi_dot)
}

/// Homogeneous FRW with a given initial Hubble rate H0 (the caller solved the Friedmann equation with the energy
/// it includes: the potential, the quantum fluctuations): π^ab = −2 a0 H0 δ^ab, i.e. π = g_ab π^ab = −6 a0³ H0.
pub fn frw_with_hubble(lat: Lattice, a0: f64, h0: f64, phi: f64, phi_dot: f64) -> State {
    let mut s = State::zeros(lat);
    let a2 = a0 * a0;
    s.background = [a2, 0.0, 0.0, a2, 0.0, a2];
    let p = -2.0 * a0 * h0;
    let pi = [p, 0.0, 0.0, p, 0.0, p];
    for i in 0..lat.sites() {
        set_site(&mut s, i, &[0.0; 6], &pi, 1.0, phi, a0 * a2 * phi_dot);
    }
    s
}

/// The homogeneous field's energy density ρ = ½ φ̇² + V(φ) with V of the configuration (physics/potential.rs).
pub fn mean_field_density(cfg: &Config, phi: f64, phi_dot: f64) -> f64 {
    let u = super::potential::Polynomial::from_config(&cfg.matter);
    0.5 * phi_dot * phi_dot + super::potential::potential(cfg.matter.mass, &u, phi)
}

/// The initial state a config asks for.
pub fn initial_state(cfg: &Config) -> State {
    let lat = Lattice::new(cfg.lattice.shape, cfg.lattice.spacing);
    let ic = &cfg.initial;
    match ic.kind {
        InitialKind::Minkowski => minkowski(lat),
        InitialKind::LinearWave => linear_wave(lat, ic.amplitude, 0.0),
        InitialKind::GaugeWave => gauge_wave(lat, ic.amplitude, 0.0),
        InitialKind::Frw => {
            let h0 = hubble_from_density(mean_field_density(cfg, ic.phi, ic.phi_dot), cfg.gravity.cosmological_constant);
            frw_with_hubble(lat, ic.scale_factor, h0, ic.phi, ic.phi_dot)
        }
    }
}
