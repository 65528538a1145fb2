//! Per-site diagnostic densities and constraint values (SPEC §5, §6), then their box reductions: the CPU twin of
//! shaders/diagnostics.wgsl (site values + workgroup tree) and shaders/reduce.wgsl (further passes).
//! Metric slots of `u` hold δg_ab; `background` is ḡ_ab.
use super::fd::{gradient, hessian, Fd};
use super::reduce::{tree_reduce, Op};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::physics::constraints::{constraints, ConstraintData};
use crate::physics::tensor::contract;
use crate::state::var;
use rayon::prelude::*;

/// Columns of the per-site diagnostic vector and how each is reduced over the box.
pub const NCOL: usize = 13;
pub mod col {
    pub const SQRTG: usize = 0;
    pub const TRACE_K: usize = 1;
    /// N G_abcd π^ab π^cd
    pub const KIN: usize = 2;
    /// −N √g R
    pub const POT: usize = 3;
    /// N Ĥ_m
    pub const MATTER: usize = 4;
    pub const PHI: usize = 5;
    pub const HAM2: usize = 6;
    pub const HAM_ABS2: usize = 7;
    pub const MOM2: usize = 8;
    pub const MOM_ABS2: usize = 9;
    pub const HAM_MAX: usize = 10;
    pub const MOM_MAX: usize = 11;
    /// max over sites of max(−g_xx, −(g_xx g_yy − g_xy²), −det g, −N): > 0 exactly when the metric is not
    /// positive definite (Sylvester) or the lapse is not positive somewhere (the run's health check)
    pub const HEALTH: usize = 12;
}
pub const OPS: [Op; NCOL] = [
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Sum,
    Op::Max,
    Op::Max,
    Op::Max,
];

/// Site i: the NCOL diagnostic values and the constraint fields (𝓗, 𝓗_x, 𝓗_y, 𝓗_z).
pub fn site_values<T: Real>(
    fd: &Fd<T>,
    lat: &Lattice,
    background: &[T; 6],
    u: &[T],
    lambda: T,
    mass: T,
    potential: &crate::physics::potential::Polynomial<T>,
    i: usize,
    quantum: [T; 4],
) -> ([T; NCOL], [T; 4]) {
    let n = lat.sites();
    let f = |v: usize| &u[v * n..(v + 1) * n];
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
    d.quantum = quantum;
    let s = constraints(&d, lambda, mass, potential);
    let lapse = u[var::LAPSE * n + i];
    let half = T::c(0.5);
    let mom2 = s.mom[0] * s.mom[0] + s.mom[1] * s.mom[1] + s.mom[2] * s.mom[2];
    let mom_abs2 = s.mom_abs[0] * s.mom_abs[0] + s.mom_abs[1] * s.mom_abs[1] + s.mom_abs[2] * s.mom_abs[2];
    let mut out = [T::zero(); NCOL];
    out[col::SQRTG] = s.sqrtg;
    out[col::TRACE_K] = -half * contract(&d.pi, &d.g) / s.sqrtg;
    out[col::KIN] = lapse * s.kinetic;
    out[col::POT] = lapse * s.potential;
    out[col::MATTER] = lapse * s.matter;
    out[col::PHI] = d.phi;
    out[col::HAM2] = s.ham * s.ham;
    out[col::HAM_ABS2] = s.ham_abs * s.ham_abs;
    out[col::MOM2] = mom2;
    out[col::MOM_ABS2] = mom_abs2;
    out[col::HAM_MAX] = s.ham.abs();
    out[col::MOM_MAX] = mom2.sqrt();
    let minor2 = d.g[0] * d.g[3] - d.g[1] * d.g[1];
    out[col::HEALTH] = (-d.g[0]).max(-minor2).max(-(s.sqrtg * s.sqrtg)).max(-lapse);
    (out, [s.ham, s.mom[0], s.mom[1], s.mom[2]])
}

/// Site values of every site, column-major (`cols[c][i]`), and the constraint fields (4 × n).
pub fn all_site_values<T: Real>(
    fd: &Fd<T>,
    lat: &Lattice,
    background: &[T; 6],
    u: &[T],
    lambda: T,
    mass: T,
    potential: &crate::physics::potential::Polynomial<T>,
) -> (Vec<Vec<T>>, [Vec<T>; 4]) {
    all_site_values_quantum(fd, lat, background, u, lambda, mass, potential, &[])
}

/// [`all_site_values`] with the quantum field's per-site fluctuation terms (empty: none).
pub fn all_site_values_quantum<T: Real>(
    fd: &Fd<T>,
    lat: &Lattice,
    background: &[T; 6],
    u: &[T],
    lambda: T,
    mass: T,
    potential: &crate::physics::potential::Polynomial<T>,
    quantum: &[[T; 4]],
) -> (Vec<Vec<T>>, [Vec<T>; 4]) {
    let n = lat.sites();
    let q = |i: usize| quantum.get(i).copied().unwrap_or([T::zero(); 4]);
    let rows: Vec<([T; NCOL], [T; 4])> =
        (0..n).into_par_iter().map(|i| site_values(fd, lat, background, u, lambda, mass, potential, i, q(i))).collect();
    let cols = (0..NCOL).map(|c| rows.iter().map(|r| r.0[c]).collect()).collect();
    let fields = std::array::from_fn(|k| rows.iter().map(|r| r.1[k]).collect());
    (cols, fields)
}

/// Box reductions of the site values: the workgroup pass (blocks of 64) then further passes, as on the GPU.
pub fn reduce_columns<T: Real>(cols: &[Vec<T>]) -> [T; NCOL] {
    std::array::from_fn(|c| tree_reduce(&cols[c], OPS[c]))
}
