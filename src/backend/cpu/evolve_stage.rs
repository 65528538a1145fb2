//! One fused RK4 stage (numerics/rk4.rs): gather derivatives of the stage input, evaluate the ADM + scalar
//! right-hand side (physics/adm_rhs.rs) plus Kreiss–Oliger dissipation, and combine into the accumulator and
//! the next stage input. The metric slots of the state hold δg_ab = g_ab − ḡ_ab (backend/mod.rs).
//! Twin: shaders/evolve_stage.wgsl.
use super::fd::{d1, gradient, hessian, ko, Fd};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::numerics::rk4::Rk4Stage;
use crate::physics::adm_rhs::{adm_rhs, RhsParams, SiteData};
use crate::physics::ricci::SymDerivs;
use crate::state::{var, NVARS};
use rayon::prelude::*;

/// Right-hand side (with dissipation) of all variables at site i of the state u.
#[inline]
pub fn site_rhs<T: Real>(fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, u: &[T], flux: &[T], i: usize) -> [T; NVARS] {
    let n = lat.sites();
    let c = lat.coords(i);
    let f = |v: usize| &u[v * n..(v + 1) * n];
    let mut s = SiteData::<T>::default();
    let mut dg = SymDerivs::<T>::default();
    for k in 0..6 {
        let gk = f(var::G + k);
        s.g[k] = p.background[k] + gk[i];
        s.pi[k] = u[(var::PI + k) * n + i];
        let grad = gradient(fd, lat, gk, c);
        for (axis, gv) in grad.iter().enumerate() {
            dg.d[axis][k] = *gv;
        }
        let hess = hessian(fd, lat, gk, c);
        for (pair, hv) in hess.iter().enumerate() {
            dg.dd[pair][k] = *hv;
        }
    }
    s.dg = dg;
    s.lapse = u[var::LAPSE * n + i];
    s.phi = u[var::PHI * n + i];
    s.pi_phi = u[var::PI_PHI * n + i];
    s.dlapse = gradient(fd, lat, f(var::LAPSE), c);
    s.ddlapse = hessian(fd, lat, f(var::LAPSE), c);
    s.dphi = gradient(fd, lat, f(var::PHI), c);
    s.div_flux = d1(fd, lat, &flux[0..n], c, 0) + d1(fd, lat, &flux[n..2 * n], c, 1) + d1(fd, lat, &flux[2 * n..3 * n], c, 2);
    let mut rhs = adm_rhs(&s, p);
    for (v, r) in rhs.iter_mut().enumerate() {
        *r = *r + ko(fd, lat, f(v), c);
    }
    rhs
}

/// `site_rhs` on a one-site lattice, where every stencil sees a constant: each derivative is exactly +0 (every
/// difference f(±k) − f0 is +0, and +0 + (±0) = +0) and so is the KO sum, scaled by σ's factor as in `fd::ko`.
pub fn single_site_rhs<T: Real>(fd: &Fd<T>, p: &RhsParams<T>, u: &[T]) -> [T; NVARS] {
    let mut s = SiteData::<T>::default();
    for k in 0..6 {
        s.g[k] = p.background[k] + u[var::G + k];
        s.pi[k] = u[var::PI + k];
    }
    s.lapse = u[var::LAPSE];
    s.phi = u[var::PHI];
    s.pi_phi = u[var::PI_PHI];
    let ko = if fd.ko_scale == T::zero() { T::zero() } else { T::zero() * fd.ko_scale };
    let mut rhs = adm_rhs(&s, p);
    for r in rhs.iter_mut() {
        *r = *r + ko;
    }
    rhs
}

/// Buffers of one stage. `input` is read with stencils; `y` and `acc` pointwise.
pub struct StageBuffers<'a, T> {
    pub input: &'a [T],
    pub flux: &'a [T],
}

/// In a part of a lattice (a slab's owned rows), rows shorter than this take the per-site path: the row kernel's
/// set-up per row (copying the rows with their ghosts, one scalar pass per stencil) outweighs its vectors there
/// (measured: 0.7× the per-site reference at 2³, 1.2× at 4³, 1.7× at 7³). A whole small lattice takes the
/// gathered kernel instead.
const ROW_KERNEL_MIN_LEN: usize = 4;

/// Evaluate the right-hand side on every site into `k` (site-major scratch) with the kernel of evolve_row.rs
/// built for the widest instruction set of this CPU: below `PARALLEL_MIN_SITES` sites all sites in one block
/// with their stencil taps gathered across rows (fd_gather.rs; the whole classical step in 2.1× fewer
/// instructions than with the per-site path at 2³ and 1.7× fewer than with the row kernel at 7³), else row by
/// row; either is bit for bit `rhs_all_reference`. A one-site lattice skips the stencils.
pub fn rhs_all<T: Real>(fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>) {
    if lat.sites() == 1 {
        k.resize(1, [T::zero(); NVARS]);
        k[0] = single_site_rhs(fd, p, b.input);
        return;
    }
    rhs_sites(fd, lat, p, b, k, 0..lat.sites());
}

/// The right-hand side of the sites `sites` (whole rows: the owned planes of a z-slab, parallel/slab_stepper.rs)
/// into `k` (resized to the lattice; the other sites' entries are left as they were): the gathered kernel for
/// a whole small lattice, the row kernel, or `site_rhs` for rows shorter than `ROW_KERNEL_MIN_LEN` — bit for
/// bit `rhs_all` at those sites.
pub fn rhs_sites<T: Real>(fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>, sites: std::ops::Range<usize>) {
    let n1 = lat.shape[0];
    let isa = super::evolve_row::Isa::detect();
    if sites == (0..lat.sites()) && !parallel(sites.len()) {
        return super::evolve_row::rhs_gathered(isa, fd, lat, p, b, k);
    }
    if n1 < ROW_KERNEL_MIN_LEN || !sites.start.is_multiple_of(n1) || !sites.end.is_multiple_of(n1) {
        return rhs_sites_reference(fd, lat, p, b, k, sites);
    }
    super::evolve_row::rhs_rows_in(isa, fd, lat, p, b, k, sites.start / n1..sites.end / n1);
}

/// The reference of `rhs_all`: `site_rhs` at every site (per-site stencils with periodic wrapping).
pub fn rhs_all_reference<T: Real>(fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>) {
    rhs_sites_reference(fd, lat, p, b, k, 0..lat.sites());
}

/// `site_rhs` at the sites `sites` into `k` (resized to the lattice; the other sites' entries are left as they were).
fn rhs_sites_reference<T: Real>(fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>, sites: std::ops::Range<usize>) {
    k.resize(lat.sites(), [T::zero(); NVARS]);
    let f = |(j, ki): (usize, &mut [T; NVARS])| *ki = site_rhs(fd, lat, p, b.input, b.flux, sites.start + j);
    let part = &mut k[sites.clone()];
    if parallel(part.len()) {
        part.par_iter_mut().enumerate().for_each(f);
    } else {
        part.iter_mut().enumerate().for_each(f);
    }
}

/// Whether a pass over n sites goes to the thread pool: below `PARALLEL_MIN_SITES` it runs on the calling
/// thread, since waking the pool costs more than the work (a small lattice's step in microseconds).
pub fn parallel(n: usize) -> bool {
    crate::numerics::par::parallel(n)
}

/// The RK4 combination of a stage (pointwise): acc ← base + w·dt·k, next ← y + c·dt·k; the last stage
/// writes y ← acc + w·dt·k. `next` is ignored by the last stage.
/// The products w·dt and c·dt are formed in f64 and rounded once, as on the GPU.
pub fn combine<T: Real>(st: &Rk4Stage, dt: f64, k: &[[T; NVARS]], y: &mut [T], acc: &mut [T], next: &mut [T]) {
    let n = k.len();
    let wdt = T::c(st.w * dt);
    let cdt = T::c(st.c * dt);
    if st.is_last() {
        let f = |(v, (yv, av)): (usize, (&mut [T], &[T]))| {
            for i in 0..n {
                yv[i] = av[i] + wdt * k[i][v];
            }
        };
        if parallel(n) {
            y.par_chunks_mut(n).zip(acc.par_chunks(n)).enumerate().for_each(f);
        } else {
            y.chunks_mut(n).zip(acc.chunks(n)).enumerate().for_each(f);
        }
        return;
    }
    let first = st.is_first();
    let stage = |v: usize, av: &mut [T], nv: &mut [T], yv: &[T]| {
        for i in 0..n {
            let base = if first { yv[i] } else { av[i] };
            av[i] = base + wdt * k[i][v];
            nv[i] = yv[i] + cdt * k[i][v];
        }
    };
    if parallel(n) {
        acc.par_chunks_mut(n).zip(next.par_chunks_mut(n)).zip(y.par_chunks(n)).enumerate().for_each(|(v, ((av, nv), yv))| stage(v, av, nv, yv));
    } else {
        acc.chunks_mut(n).zip(next.chunks_mut(n)).zip(y.chunks(n)).enumerate().for_each(|(v, ((av, nv), yv))| stage(v, av, nv, yv));
    }
}

/// Apply a stage's quantum part to the classical right-hand side k (site-major). `freeze_metric`: the metric
/// (g, π, N) does not evolve (`cq.frozen_drift`), only the scalar field.
pub fn apply_quantum<T: Real>(q: &crate::backend::quantum::StageQuantum, k: &mut [[T; NVARS]], freeze_metric: bool) {
    let n = k.len();
    let site = |(i, ki): (usize, &mut [T; NVARS])| {
        if freeze_metric {
            for v in ki.iter_mut().take(var::PHI) {
                *v = T::zero();
            }
        } else {
            for s in 0..6 {
                ki[var::PI + s] = ki[var::PI + s] - T::c(q.br[i][s]);
            }
        }
        ki[var::PHI] = T::c(q.dx[i]);
        ki[var::PI_PHI] = T::c(q.dx[n + i]);
    };
    if parallel(n) {
        k.par_iter_mut().enumerate().for_each(site);
    } else {
        k.iter_mut().enumerate().for_each(site);
    }
}
