//! Right-hand side of the ADM equations at one site (SPEC §2, zero shift), with the scalar field's
//! back-reaction (SPEC §4, mean field) and the lapse condition. Pure function of local data and derivatives.
//!   ∂t g_ab  = (2N/√g)(π_ab − ½ g_ab π)
//!   ∂t π^ab  = −N√g (R^ab − ½ g^ab R) − N√g Λ g^ab + (N/(2√g)) g^ab (π_cd π^cd − ½ π²)
//!              − (2N/√g)(π^ac π_c^b − ½ π π^ab) + √g (D^a D^b N − g^ab D^c D_c N) + (N√g/2) S^ab
//!   ∂t φ, ∂t π_φ from scalar_field.rs; ∂t N from gauge.rs.                    Twin: shaders/adm_rhs.wgsl.
use super::ricci::{ricci, SymDerivs};
use super::tensor::{contract, inverse, sandwich, Sym};
use super::{gauge, scalar_field};
use crate::config::Lapse;
use crate::numerics::lanes::Arith;
use crate::numerics::unroll::unroll;
use crate::state::{var, NVARS};

/// Physical parameters entering the right-hand side.
#[derive(Debug, Clone, Copy)]
pub struct RhsParams<T> {
    pub lambda: T,
    pub mass: T,
    /// The potential beyond the mass term, U(φ) (physics/potential.rs; zero for V = ½m²φ²).
    pub potential: super::potential::Polynomial<T>,
    pub lapse: Lapse,
    /// Background metric ḡ_ab of the δg storage (the stencil kernels add it to δg to form g_ab).
    pub background: Sym<T>,
}

impl RhsParams<f64> {
    /// The same parameters in the run's float type (each value rounded once).
    pub fn cast<T: crate::numerics::real::Real>(&self) -> RhsParams<T> {
        RhsParams {
            lambda: <T as crate::numerics::real::Real>::c(self.lambda),
            mass: <T as crate::numerics::real::Real>::c(self.mass),
            potential: self.potential.cast(),
            lapse: self.lapse,
            background: self.background.map(<T as crate::numerics::real::Real>::c),
        }
    }
}

/// Everything the right-hand side needs at one site: the fields and their lattice derivatives.
#[derive(Debug, Clone, Copy, Default)]
pub struct SiteData<T> {
    pub g: Sym<T>,
    pub pi: Sym<T>,
    pub lapse: T,
    pub phi: T,
    pub pi_phi: T,
    pub dg: SymDerivs<T>,
    /// ∂_k N
    pub dlapse: [T; 3],
    /// ∂_k ∂_l N
    pub ddlapse: Sym<T>,
    /// ∂_k φ
    pub dphi: [T; 3],
    /// ∂_a F^a of the scalar flux F^a = N √g g^ab ∂_b φ
    pub div_flux: T,
}

/// Covariant Hessian of the lapse, D_a D_b N = ∂_a ∂_b N − Γ^k_ab ∂_k N.
#[inline(always)]
pub fn lapse_hessian<T: Arith>(gam: &[Sym<T>; 3], dlapse: &[T; 3], ddlapse: &Sym<T>) -> Sym<T> {
    let mut h = [T::zero(); 6];
    // written out (numerics/unroll.rs): as a loop on lanes, LLVM vectorised it across k with gathers
    unroll!(k in 0..6 => {
        h[k] = ddlapse[k] - gam[0][k] * dlapse[0] - gam[1][k] * dlapse[1] - gam[2][k] * dlapse[2];
    });
    h
}

/// The time derivative of all 15 evolved variables (state layout order) at one site.
#[inline(always)]
pub fn adm_rhs<T: Arith>(s: &SiteData<T>, p: &RhsParams<T>) -> [T; NVARS] {
    let half = T::c(0.5);
    let two = T::c(2.0);
    let n = s.lapse;
    let (ginv, detg) = inverse(&s.g);
    let sqrtg = detg.sqrt();
    let isg = T::one() / sqrtg;
    let pi_low = sandwich(&s.g, &s.pi); // π_ab
    let trpi = contract(&s.pi, &s.g); // π = g_ab π^ab
    let pipi = contract(&s.pi, &pi_low); // π_ab π^ab
    let pgp = sandwich(&s.pi, &s.g); // π^ac g_cd π^db

    let (ric, gam) = ricci(&ginv, &s.dg);
    let ric_up = sandwich(&ginv, &ric);
    let r_scalar = contract(&ginv, &ric);

    let hess = lapse_hessian(&gam, &s.dlapse, &s.ddlapse);
    let hess_up = sandwich(&ginv, &hess);
    let lap_n = contract(&ginv, &hess);

    let stress = scalar_field::stress(&ginv, sqrtg, s.phi, s.pi_phi, &s.dphi, p.mass, &p.potential);

    let mut out = [T::zero(); NVARS];
    let kin = half * n * isg * (pipi - half * trpi * trpi);
    // written out (numerics/unroll.rs), as lapse_hessian's loop
    unroll!(k in 0..6 => {
        out[var::G + k] = two * n * isg * (pi_low[k] - half * s.g[k] * trpi);
        out[var::PI + k] = -n * sqrtg * (ric_up[k] - half * ginv[k] * r_scalar) - n * sqrtg * p.lambda * ginv[k]
            + kin * ginv[k]
            - two * n * isg * (pgp[k] - half * trpi * s.pi[k])
            + sqrtg * (hess_up[k] - ginv[k] * lap_n)
            + half * n * sqrtg * stress[k];
    });
    let trace_k = -half * trpi * isg;
    out[var::LAPSE] = gauge::lapse_rhs(p.lapse, n, trace_k);
    let (dphi, dpiphi) = scalar_field::rhs(n, sqrtg, s.phi, s.pi_phi, s.div_flux, p.mass, &p.potential);
    out[var::PHI] = dphi;
    out[var::PI_PHI] = dpiphi;
    out
}
