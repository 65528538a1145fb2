//! Hamiltonian and momentum constraints at one site (SPEC §5), with the sums of the absolute values of their
//! terms (the normalisation of the relative norms).
//!   𝓗   = G_abcd π^ab π^cd − √g R + 2Λ√g + ⟨Ĥ_m⟩_ren,   G_abcd π^ab π^cd = (π_ab π^ab − ½ π²)/√g
//!   𝓗_a = −2 g_ac D_b π^bc + ⟨π_φ ∂_a φ⟩,   D_b π^bc = ∂_b π^bc + Γ^c_bd π^bd   (π^bc a density of weight one)
use super::ricci::{ricci, SymDerivs};
use super::scalar_field;
use super::tensor::{contract, inverse, sandwich, Sym, SYM};
use crate::numerics::real::Real;

/// Local data for the constraints: fields and their first (and, for g, second) derivatives.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConstraintData<T> {
    pub g: Sym<T>,
    pub pi: Sym<T>,
    pub phi: T,
    pub pi_phi: T,
    pub dg: SymDerivs<T>,
    /// ∂_k π^ab
    pub dpi: [Sym<T>; 3],
    pub dphi: [T; 3],
    /// The quantum field's fluctuation terms (representation `dense`): ⟨Ĥ_m⟩_ren − Ĥ_m(x̄) and
    /// ⟨π_φ ∂_aφ⟩ − π̄_φ ∂_aφ̄ (physics/gaussian_dynamics.rs); zero for a classical field.
    pub quantum: [T; 4],
}

/// One site's constraint values and the matching sums of absolute values of their terms.
#[derive(Debug, Clone, Copy, Default)]
pub struct SiteConstraints<T> {
    pub ham: T,
    pub ham_abs: T,
    pub mom: [T; 3],
    pub mom_abs: [T; 3],
    /// the terms of 𝓗: G_abcd π^ab π^cd, −√g R, Ĥ_m (for the energy diagnostics of SPEC §6)
    pub kinetic: T,
    pub potential: T,
    pub matter: T,
    /// √g
    pub sqrtg: T,
}

pub fn constraints<T: Real>(c: &ConstraintData<T>, lambda: T, mass: T, u: &super::potential::Polynomial<T>) -> SiteConstraints<T> {
    let half = T::c(0.5);
    let two = T::c(2.0);
    let (ginv, detg) = inverse(&c.g);
    let sqrtg = detg.sqrt();
    let pi_low = sandwich(&c.g, &c.pi);
    let trpi = contract(&c.pi, &c.g);
    let kinetic = (contract(&c.pi, &pi_low) - half * trpi * trpi) / sqrtg;
    let (ric, gam) = ricci(&ginv, &c.dg);
    let potential = -sqrtg * contract(&ginv, &ric);
    let cosmo = two * lambda * sqrtg;
    let matter = scalar_field::energy_density(&ginv, sqrtg, c.phi, c.pi_phi, &c.dphi, mass, u) + c.quantum[0];
    let ham = kinetic + potential + cosmo + matter;
    let ham_abs = kinetic.abs() + potential.abs() + cosmo.abs() + matter.abs();

    // ∂_b π^bc and Γ^c_bd π^bd
    let div: [T; 3] = std::array::from_fn(|cc| c.dpi[0][SYM[0][cc]] + c.dpi[1][SYM[1][cc]] + c.dpi[2][SYM[2][cc]]);
    let gpi: [T; 3] = std::array::from_fn(|cc| contract(&c.pi, &gam[cc]));
    let mut mom = [T::zero(); 3];
    let mut mom_abs = [T::zero(); 3];
    for a in 0..3 {
        let mut t_div = T::zero();
        let mut t_gam = T::zero();
        for cc in 0..3 {
            t_div = t_div - two * c.g[SYM[a][cc]] * div[cc];
            t_gam = t_gam - two * c.g[SYM[a][cc]] * gpi[cc];
        }
        let t_mat = c.pi_phi * c.dphi[a] + c.quantum[1 + a];
        mom[a] = t_div + t_gam + t_mat;
        mom_abs[a] = t_div.abs() + t_gam.abs() + t_mat.abs();
    }
    SiteConstraints { ham, ham_abs, mom, mom_abs, kinetic, potential, matter, sqrtg }
}
