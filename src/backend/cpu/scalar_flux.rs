//! Pre-pass of every RK stage: the scalar flux F^a = N √g g^ab ∂_b φ at every site (SPEC §4; physics in
//! physics/scalar_field.rs). Its divergence is taken by the stage kernel. Twin: shaders/scalar_flux.wgsl.
use super::fd::{gradient, Fd};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::physics::{scalar_field, tensor::inverse};
use crate::state::var;
use rayon::prelude::*;

/// Rows shorter than this take the per-site path (a row kernel's vectors would be mostly empty).
const ROW_MIN_LEN: usize = 4;

/// flux[a·n + i] = F^a(i) computed from the state `u` (structure of arrays).
/// The metric slots of `u` hold δg_ab; `background` is ḡ_ab.
/// Row by row (backend/cpu/flux_row.rs) on a lattice of `PARALLEL_MIN_SITES` sites or more, per site otherwise;
/// either is bit for bit `scalar_flux_reference`.
pub fn scalar_flux<T: Real>(fd: &Fd<T>, lat: &Lattice, background: &[T; 6], u: &[T], flux: &mut [T]) {
    if super::evolve_stage::parallel(lat.sites()) && lat.shape[0] >= ROW_MIN_LEN {
        return super::flux_row::scalar_flux_rows(crate::numerics::isa::Isa::detect(), fd, lat, background, u, flux);
    }
    scalar_flux_reference(fd, lat, background, u, flux)
}

/// [`scalar_flux`] one site at a time, with the per-site stencils of fd.rs: the reference of the row path.
pub fn scalar_flux_reference<T: Real>(fd: &Fd<T>, lat: &Lattice, background: &[T; 6], u: &[T], flux: &mut [T]) {
    let n = lat.sites();
    let phi = &u[var::PHI * n..(var::PHI + 1) * n];
    let (fx, rest) = flux.split_at_mut(n);
    let (fy, fz) = rest.split_at_mut(n);
    let site = |(i, ((x, y), z)): (usize, ((&mut T, &mut T), &mut T))| {
        let g: [T; 6] = std::array::from_fn(|k| background[k] + u[(var::G + k) * n + i]);
        let (ginv, det) = inverse(&g);
        let dphi = gradient(fd, lat, phi, lat.coords(i));
        let f = scalar_field::flux(u[var::LAPSE * n + i], det.sqrt(), &ginv, &dphi);
        *x = f[0];
        *y = f[1];
        *z = f[2];
    };
    if super::evolve_stage::parallel(n) {
        fx.par_iter_mut().zip(fy.par_iter_mut()).zip(fz.par_iter_mut()).enumerate().for_each(site);
    } else {
        fx.iter_mut().zip(fy.iter_mut()).zip(fz.iter_mut()).enumerate().for_each(site);
    }
}
