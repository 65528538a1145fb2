//! Constraint fields on the lattice (SPEC §5; pointwise physics in physics/constraints.rs) and their norms.
use super::fd::{gradient, hessian, Fd};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::physics::constraints::{constraints, ConstraintData, SiteConstraints};
use crate::state::var;
use rayon::prelude::*;

/// 𝓗 and 𝓗_a (with the absolute sums of their terms) at every site of the state u.
/// The metric slots of `u` hold δg_ab; `background` is ḡ_ab.
pub fn constraint_fields<T: Real>(
    fd: &Fd<T>,
    lat: &Lattice,
    background: &[T; 6],
    u: &[T],
    lambda: T,
    mass: T,
) -> Vec<SiteConstraints<T>> {
    let n = lat.sites();
    let f = |v: usize| &u[v * n..(v + 1) * n];
    (0..n)
        .into_par_iter()
        .map(|i| {
            let c = lat.coords(i);
            let mut d = ConstraintData::<T>::default();
            for k in 0..6 {
                d.g[k] = background[k] + u[(var::G + k) * n + i];
                d.pi[k] = u[(var::PI + k) * n + i];
                let gg = gradient(fd, lat, f(var::G + k), c);
                let gp = gradient(fd, lat, f(var::PI + k), c);
                let hh = hessian(fd, lat, f(var::G + k), c);
                for a in 0..3 {
                    d.dg.d[a][k] = gg[a];
                    d.dpi[a][k] = gp[a];
                }
                for p in 0..6 {
                    d.dg.dd[p][k] = hh[p];
                }
            }
            d.phi = u[var::PHI * n + i];
            d.pi_phi = u[var::PI_PHI * n + i];
            d.dphi = gradient(fd, lat, f(var::PHI), c);
            constraints(&d, lambda, mass)
        })
        .collect()
}

/// L2 (root mean square over sites), L∞ and relative (L2 / L2 of the absolute sums of the terms) norms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConstraintNorms {
    pub ham_l2: f64,
    pub ham_linf: f64,
    pub ham_rel: f64,
    pub mom_l2: f64,
    pub mom_linf: f64,
    pub mom_rel: f64,
}

pub fn norms<T: Real>(fields: &[SiteConstraints<T>]) -> ConstraintNorms {
    let n = fields.len() as f64;
    let (mut h2, mut hinf, mut ha2, mut m2, mut minf, mut ma2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for s in fields {
        let h = s.ham.as_f64();
        h2 += h * h;
        hinf = hinf.max(h.abs());
        ha2 += s.ham_abs.as_f64().powi(2);
        let m: f64 = s.mom.iter().map(|x| x.as_f64().powi(2)).sum();
        m2 += m;
        minf = minf.max(m.sqrt());
        ma2 += s.mom_abs.iter().map(|x| x.as_f64().powi(2)).sum::<f64>();
    }
    let rel = |a: f64, b: f64| if a == 0.0 { 0.0 } else { a / b };
    ConstraintNorms {
        ham_l2: (h2 / n).sqrt(),
        ham_linf: hinf,
        ham_rel: rel(h2.sqrt(), ha2.sqrt()),
        mom_l2: (m2 / n).sqrt(),
        mom_linf: minf,
        mom_rel: rel(m2.sqrt(), ma2.sqrt()),
    }
}
