//! The semiclassical comparison (the right panel of the paper's Figure 1): the particle is driven by the
//! expectation value of the force, ṗ = −⟨L̂⟩_ψ = −B⟨Ĥ_m⟩_ψ, q̇ = p/m, and the quantum state evolves unitarily under
//! Ĥ(q) = q L̂ along that path, with no decoherence and no back-reaction fluctuations. L̂ commutes with Ĥ_m, so
//! ⟨L̂⟩ = Σ_k l_k |ψ_k|² =: F is constant and the solution is exact:
//!   p(t) = p₀ − F t,  q(t) = q₀ + p₀t/m − F t²/2m,  ψ_k(t) = ψ_k(0) e^{−i l_k Q(t)},  Q = q₀t + p₀t²/2m − F t³/6m.
use super::model::{pure, Density, ToyModel};
use super::trajectory::Initial;
use num_complex::Complex64;

/// The semiclassical particle and state at time t, from the mean initial (q, p).
pub fn semiclassical(model: &ToyModel, initial: &Initial, t: f64) -> (f64, f64, Density) {
    let m = model.mass;
    let (q0, p0) = (initial.q, initial.p);
    let f: f64 = (0..model.dim()).map(|k| model.force_operator(k) * initial.psi[k].norm_sqr()).sum();
    let q_integral = q0 * t + p0 * t * t / (2.0 * m) - f * t * t * t / (6.0 * m);
    let psi = initial.psi.map_with_location(|k, _, c| c * Complex64::from_polar(1.0, -model.force_operator(k) * q_integral));
    (q0 + p0 * t / m - f * t * t / (2.0 * m), p0 - f * t, pure(&psi))
}
