//! The scalar flux F^a = N √g g^ab ∂_b φ (SPEC §4; physics/scalar_field.rs) one x-row at a time: the fast path
//! of `scalar_flux::scalar_flux` (its per-site `scalar_flux_reference` stays the reference). ∂_b φ from the
//! padded rows of φ (fd_row.rs), the metric inverse and the flux on `Lanes<T, L>` (numerics/lanes.rs), L sites
//! at once, the row's remainder one site at a time. Every site gets the reference's operations in the
//! reference's order, so the result is bit for bit the same (tests/cpu_row_kernel.rs, every instruction set).
//! Built for baseline x86-64, AVX2 + FMA and AVX-512 and chosen at run time, as the row kernel
//! (backend/cpu/evolve_row.rs).
use super::fd::Fd;
use super::fd_row::{self, load, PaddedRows};
use crate::numerics::isa::Isa;
use crate::numerics::lanes::{Arith, Lanes};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::physics::{scalar_field, tensor::inverse};
use crate::state::var;
use rayon::prelude::*;

/// What every row reads.
struct FluxInputs<'a, T> {
    fd: &'a Fd<T>,
    lat: &'a Lattice,
    background: &'a [T; 6],
    u: &'a [T],
}

/// Per-thread scratch: φ's padded rows and ∂_b φ along one row (3 columns of n1).
struct FluxScratch<T> {
    pad: PaddedRows<T>,
    dphi: Vec<T>,
}

/// F^a at the W sites from x = i of the row starting at site `base`, into `out[a][i..i + W]`.
#[inline(always)]
fn flux_at<T: Real, const W: usize>(c: &FluxInputs<T>, base: usize, dphi: &[T], i: usize, out: &mut [&mut [T]; 3]) {
    let n = c.lat.sites();
    let n1 = c.lat.shape[0];
    let mut g = [Lanes::<T, W>::default(); 6];
    for k in 0..6 {
        g[k] = Lanes::splat(c.background[k]) + load::<T, W>(c.u, (var::G + k) * n + base + i);
    }
    let (ginv, det) = inverse(&g);
    let d = [load::<T, W>(dphi, i), load::<T, W>(dphi, n1 + i), load::<T, W>(dphi, 2 * n1 + i)];
    let f = scalar_field::flux(load::<T, W>(c.u, var::LAPSE * n + base + i), det.sqrt(), &ginv, &d);
    for a in 0..3 {
        out[a][i..i + W].copy_from_slice(&f[a].0);
    }
}

/// F^a of row r (sites r·n1 … r·n1 + n1 − 1) into `out` (the row's part of F^x, F^y, F^z).
#[inline(always)]
fn row_flux<T: Real, const R: usize, const L: usize>(c: &FluxInputs<T>, r: usize, s: &mut FluxScratch<T>, mut out: [&mut [T]; 3]) {
    let [n1, n2, _] = c.lat.shape;
    let n = c.lat.sites();
    let phi = &c.u[var::PHI * n..(var::PHI + 1) * n];
    let rows = s.pad.fill(phi, r % n2, r / n2, R, 0);
    for a in 0..3 {
        fd_row::d1::<T, _, R, L>(c.fd, &rows, a, &mut s.dphi[a * n1..(a + 1) * n1]);
    }
    let full = n1 - n1 % L;
    for i in (0..full).step_by(L) {
        flux_at::<T, L>(c, r * n1, &s.dphi, i, &mut out);
    }
    for i in full..n1 {
        flux_at::<T, 1>(c, r * n1, &s.dphi, i, &mut out);
    }
}

type FluxFn<T> = unsafe fn(&FluxInputs<T>, usize, &mut FluxScratch<T>, [&mut [T]; 3]);

/// # Safety
/// None beyond the caller's: the baseline build runs everywhere.
unsafe fn flux_baseline<T: Real, const R: usize, const L: usize>(c: &FluxInputs<T>, r: usize, s: &mut FluxScratch<T>, out: [&mut [T]; 3]) {
    row_flux::<T, R, L>(c, r, s, out)
}

/// # Safety
/// The CPU must have AVX2 and FMA (`Isa::available`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn flux_avx2<T: Real, const R: usize, const L: usize>(c: &FluxInputs<T>, r: usize, s: &mut FluxScratch<T>, out: [&mut [T]; 3]) {
    row_flux::<T, R, L>(c, r, s, out)
}

/// # Safety
/// The CPU must have AVX-512 F, VL and DQ (`Isa::available`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512dq")]
unsafe fn flux_avx512<T: Real, const R: usize, const L: usize>(c: &FluxInputs<T>, r: usize, s: &mut FluxScratch<T>, out: [&mut [T]; 3]) {
    row_flux::<T, R, L>(c, r, s, out)
}

/// The row flux for `isa` with as many lanes as one vector register holds values of T.
fn flux_fn<T: Real, const R: usize>(isa: Isa) -> FluxFn<T> {
    let single = std::mem::size_of::<T>() == 4;
    match (isa, single) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, false) => flux_avx2::<T, R, 4>,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, true) => flux_avx2::<T, R, 8>,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, false) => flux_avx512::<T, R, 8>,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, true) => flux_avx512::<T, R, 16>,
        (_, false) => flux_baseline::<T, R, 2>,
        (_, true) => flux_baseline::<T, R, 4>,
    }
}

/// flux[a·n + i] = F^a(i) from the state `u` (structure of arrays; the metric slots hold δg_ab, `background` is
/// ḡ_ab), row by row with the kernel built for `isa`, which must be one of `Isa::available()`. Bit for bit
/// `scalar_flux_reference`.
pub fn scalar_flux_rows<T: Real>(isa: Isa, fd: &Fd<T>, lat: &Lattice, background: &[T; 6], u: &[T], flux: &mut [T]) {
    assert!(isa == Isa::detect() || Isa::available().contains(&isa), "instruction set {isa:?} is not available on this CPU");
    let f = match fd.radius {
        1 => flux_fn::<T, 1>(isa),
        2 => flux_fn::<T, 2>(isa),
        r => panic!("no row flux for stencil radius {r}"),
    };
    let n = lat.sites();
    let n1 = lat.shape[0];
    let c = FluxInputs { fd, lat, background, u };
    let scratch = || FluxScratch { pad: PaddedRows::new(lat), dphi: vec![T::zero(); 3 * n1] };
    let (fx, rest) = flux[..3 * n].split_at_mut(n);
    let (fy, fz) = rest.split_at_mut(n);
    // SAFETY: `f` is built for an instruction set this CPU has (asserted above).
    let run = |s: &mut FluxScratch<T>, (r, ((x, y), z)): (usize, ((&mut [T], &mut [T]), &mut [T]))| unsafe { f(&c, r, s, [x, y, z]) };
    if crate::numerics::par::parallel(n) {
        fx.par_chunks_mut(n1).zip(fy.par_chunks_mut(n1)).zip(fz.par_chunks_mut(n1)).enumerate().for_each_init(scratch, run);
    } else {
        let mut s = scratch();
        fx.chunks_mut(n1).zip(fy.chunks_mut(n1)).zip(fz.chunks_mut(n1)).enumerate().for_each(|item| run(&mut s, item));
    }
}
