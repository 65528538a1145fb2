//! The scalar field's mean-field (classical) equations and its stress tensor (SPEC §4, representation `none`),
//! with V(φ) = ½m²φ² + U(φ) (U: physics/potential.rs, issue 13):
//!   H_m density  Ĥ_m = ½ ( π_φ²/√g + √g g^ab ∂_aφ ∂_bφ + √g m² φ² ) + √g U(φ)
//!   ∂t φ   = N π_φ / √g
//!   ∂t π_φ = ∂_a F^a − N √g m² φ − N √g U′(φ),     F^a = N √g g^ab ∂_bφ
//! The divergence ∂_a F^a is taken with the same first-derivative stencil as ∂_bφ, which makes it the exact
//! gradient of the lattice Hamiltonian H_m = Σ ΔV N Ĥ_m (the stencil is antisymmetric), as SPEC §4 requires
//! for the quadratic form M. Back-reaction on π^ab: −δH_m/δg_ab = (N√g/2) S^ab with
//!   S^ab = D^aφ D^bφ + ½ g^ab (Π² − (Dφ)² − m²φ²) − g^ab U(φ),   Π = π_φ/√g.  Twin: shaders/scalar_field.wgsl.
//! The U terms are separate additions, so with U ≡ 0 every value is bit for bit the quadratic model's.
use super::potential::Polynomial;
use super::tensor::{Sym, PAIRS, SYM};
use crate::numerics::lanes::Arith;

/// F^a = N √g g^ab ∂_b φ.
#[inline(always)]
pub fn flux<T: Arith>(lapse: T, sqrtg: T, ginv: &Sym<T>, dphi: &[T; 3]) -> [T; 3] {
    let f = lapse * sqrtg;
    let mut out = [T::zero(); 3];
    for a in 0..3 {
        out[a] = f * (ginv[SYM[a][0]] * dphi[0] + ginv[SYM[a][1]] * dphi[1] + ginv[SYM[a][2]] * dphi[2]);
    }
    out
}

/// (∂t φ, ∂t π_φ) given the divergence of the flux.
#[inline(always)]
pub fn rhs<T: Arith>(lapse: T, sqrtg: T, phi: T, pi_phi: T, div_flux: T, mass: T, u: &Polynomial<T>) -> (T, T) {
    (lapse * pi_phi / sqrtg, div_flux - lapse * sqrtg * mass * mass * phi - lapse * sqrtg * u.d1(phi))
}

/// g^ab ∂_aφ ∂_bφ.
#[inline(always)]
pub fn grad_sq<T: Arith>(ginv: &Sym<T>, dphi: &[T; 3]) -> T {
    let mut s = T::zero();
    for a in 0..3 {
        for b in 0..3 {
            s = s + ginv[SYM[a][b]] * dphi[a] * dphi[b];
        }
    }
    s
}

/// S^ab = D^aφ D^bφ + ½ g^ab (Π² − (Dφ)² − m²φ²) − g^ab U(φ).
#[inline(always)]
pub fn stress<T: Arith>(ginv: &Sym<T>, sqrtg: T, phi: T, pi_phi: T, dphi: &[T; 3], mass: T, u: &Polynomial<T>) -> Sym<T> {
    let mut up = [T::zero(); 3];
    for a in 0..3 {
        up[a] = ginv[SYM[a][0]] * dphi[0] + ginv[SYM[a][1]] * dphi[1] + ginv[SYM[a][2]] * dphi[2];
    }
    let big_pi = pi_phi / sqrtg;
    let l = T::c(0.5) * (big_pi * big_pi - grad_sq(ginv, dphi) - mass * mass * phi * phi) - u.value(phi);
    let mut out = [T::zero(); 6];
    for (s, &(a, b)) in PAIRS.iter().enumerate() {
        out[s] = up[a] * up[b] + ginv[s] * l;
    }
    out
}

/// Energy density (weight one) Ĥ_m = ½ (π_φ²/√g + √g (Dφ)² + √g m²φ²) + √g U(φ).
#[inline(always)]
pub fn energy_density<T: Arith>(ginv: &Sym<T>, sqrtg: T, phi: T, pi_phi: T, dphi: &[T; 3], mass: T, u: &Polynomial<T>) -> T {
    T::c(0.5) * (pi_phi * pi_phi / sqrtg + sqrtg * grad_sq(ginv, dphi) + sqrtg * mass * mass * phi * phi) + sqrtg * u.value(phi)
}
