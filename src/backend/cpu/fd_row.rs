//! Row-wise finite differences: the operators of fd.rs evaluated for a whole x-row of sites at once, on padded
//! copies of the neighbouring rows (the fast path of the CPU step, backend/cpu/evolve_row.rs).
//!
//! Periodic wrapping is done once per row, when the rows are copied with `MAX_REACH` ghost sites on each side;
//! the inner loops then read contiguous slices with no division, no wrap and no bounds check, and the compiler
//! vectorises them along x. Each site's arithmetic is that of fd.rs term for term (same coefficients, same
//! order, one division-free scaling at the end), so the results are bit for bit those of the per-site
//! reference (tests in evolve_row.rs) and of the WGSL twin shaders/stencil.wgsl.
use super::fd::Fd;
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;

/// Widest reach of any operator along one axis: the Kreiss–Oliger radius of the order-4 scheme.
pub const MAX_REACH: usize = 3;
const SIDE: usize = 2 * MAX_REACH + 1;

/// One field's x-rows around the row (y, z): slot (dy, dz) holds f(x, y + dy, z + dz) for
/// x = −MAX_REACH … n1 − 1 + MAX_REACH, every coordinate wrapped periodically. Only the slots a field's
/// operators need are filled (`fill`).
pub struct PaddedRows<T> {
    n1: usize,
    stride: usize,
    data: Vec<T>,
}

/// Offset of a site displaced by `k` along `axis`, as (dx, dy, dz).
#[inline(always)]
fn along(axis: usize, k: isize) -> [isize; 3] {
    let mut d = [0; 3];
    d[axis] = k;
    d
}

impl<T: Real> PaddedRows<T> {
    pub fn new(n1: usize) -> Self {
        let stride = n1 + 2 * MAX_REACH;
        Self { n1, stride, data: vec![T::zero(); SIDE * SIDE * stride] }
    }

    pub fn len(&self) -> usize {
        self.n1
    }

    #[inline(always)]
    fn slot(dy: isize, dz: isize) -> usize {
        (dy + MAX_REACH as isize) as usize + SIDE * (dz + MAX_REACH as isize) as usize
    }

    /// Copy the rows of `f` (one field, structure of arrays over `lat`) around row (y, z): the cross
    /// (dy, 0), (0, dz) with |dy|, |dz| ≤ `cross`, and the corners 1 ≤ |dy|, |dz| ≤ `corner` (the mixed y–z
    /// derivative).
    pub fn fill(&mut self, lat: &Lattice, f: &[T], y: usize, z: usize, cross: usize, corner: usize) {
        let (c, k) = (cross as isize, corner as isize);
        self.copy_row(lat, f, y, z, 0, 0);
        for d in 1..=c {
            for s in [-d, d] {
                self.copy_row(lat, f, y, z, s, 0);
                self.copy_row(lat, f, y, z, 0, s);
            }
        }
        for dy in (-k..=k).filter(|&d| d != 0) {
            for dz in (-k..=k).filter(|&d| d != 0) {
                self.copy_row(lat, f, y, z, dy, dz);
            }
        }
    }

    fn copy_row(&mut self, lat: &Lattice, f: &[T], y: usize, z: usize, dy: isize, dz: isize) {
        let [n1, n2, n3] = lat.shape;
        let yy = (y as isize + dy).rem_euclid(n2 as isize) as usize;
        let zz = (z as isize + dz).rem_euclid(n3 as isize) as usize;
        let src = &f[n1 * (yy + n2 * zz)..][..n1];
        let dst = &mut self.data[Self::slot(dy, dz) * self.stride..][..self.stride];
        dst[MAX_REACH..MAX_REACH + n1].copy_from_slice(src);
        for g in 1..=MAX_REACH {
            dst[MAX_REACH - g] = src[(-(g as isize)).rem_euclid(n1 as isize) as usize];
            dst[MAX_REACH + n1 - 1 + g] = src[(g - 1) % n1];
        }
    }

    /// f at (x + dx, y + dy, z + dz) for x = 0 … n1 − 1 (the slot (dy, dz) must be filled).
    #[inline(always)]
    pub fn at(&self, d: [isize; 3]) -> &[T] {
        let start = Self::slot(d[1], d[2]) * self.stride + (MAX_REACH as isize + d[0]) as usize;
        &self.data[start..][..self.n1]
    }
}

/// ∂_axis f for the row (fd::d1): Σ_{k=1..R} c1[R+k] (f(+k) − f(−k)) / (d1 h).
#[inline(always)]
pub fn d1<T: Real, const R: usize>(fd: &Fd<T>, p: &PaddedRows<T>, axis: usize, out: &mut [T]) {
    let n = p.n1;
    let out = &mut out[..n];
    let plus: [&[T]; R] = std::array::from_fn(|k| p.at(along(axis, k as isize + 1)));
    let minus: [&[T]; R] = std::array::from_fn(|k| p.at(along(axis, -(k as isize) - 1)));
    for i in 0..n {
        let mut acc = T::zero();
        for k in 0..R {
            acc = acc + fd.c1[R + 1 + k] * (plus[k][i] - minus[k][i]);
        }
        out[i] = acc * fd.inv_d1;
    }
}

/// ∂_axis ∂_axis f for the row (fd::d2): Σ_{k=1..R} c2[R+k] ((f(+k) − f0) + (f(−k) − f0)) / (d2 h²).
#[inline(always)]
pub fn d2<T: Real, const R: usize>(fd: &Fd<T>, p: &PaddedRows<T>, axis: usize, out: &mut [T]) {
    let n = p.n1;
    let out = &mut out[..n];
    let f0 = p.at([0; 3]);
    let plus: [&[T]; R] = std::array::from_fn(|k| p.at(along(axis, k as isize + 1)));
    let minus: [&[T]; R] = std::array::from_fn(|k| p.at(along(axis, -(k as isize) - 1)));
    for i in 0..n {
        let mut acc = T::zero();
        for k in 0..R {
            acc = acc + fd.c2[R + 1 + k] * ((plus[k][i] - f0[i]) + (minus[k][i] - f0[i]));
        }
        out[i] = acc * fd.inv_d2;
    }
}

/// ∂_a ∂_b f, a ≠ b, for the row (fd::d11):
/// Σ_j c1[R+j] [ Σ_k c1[R+k] (f(+j,+k) − f(+j,−k)) − Σ_k c1[R+k] (f(−j,+k) − f(−j,−k)) ] / (d1 h)².
#[inline(always)]
pub fn d11<T: Real, const R: usize>(fd: &Fd<T>, p: &PaddedRows<T>, a: usize, b: usize, out: &mut [T]) {
    let n = p.n1;
    let out = &mut out[..n];
    let at = |j: isize, k: isize| {
        let mut d = along(a, j);
        d[b] = k;
        p.at(d)
    };
    let step = |k: usize| k as isize + 1;
    let pp: [[&[T]; R]; R] = std::array::from_fn(|j| std::array::from_fn(|k| at(step(j), step(k))));
    let pm: [[&[T]; R]; R] = std::array::from_fn(|j| std::array::from_fn(|k| at(step(j), -step(k))));
    let mp: [[&[T]; R]; R] = std::array::from_fn(|j| std::array::from_fn(|k| at(-step(j), step(k))));
    let mm: [[&[T]; R]; R] = std::array::from_fn(|j| std::array::from_fn(|k| at(-step(j), -step(k))));
    for i in 0..n {
        let mut acc = T::zero();
        for j in 0..R {
            let mut plus = T::zero();
            let mut minus = T::zero();
            for k in 0..R {
                plus = plus + fd.c1[R + 1 + k] * (pp[j][k][i] - pm[j][k][i]);
                minus = minus + fd.c1[R + 1 + k] * (mp[j][k][i] - mm[j][k][i]);
            }
            acc = acc + fd.c1[R + 1 + j] * (plus - minus);
        }
        out[i] = acc * fd.inv_d11;
    }
}

/// Kreiss–Oliger term Q f for the row (fd::ko, σ ≠ 0), K the KO radius:
/// σ-scaled Σ_axes Σ_{k=1..K} ko[K+k] ((f(+k) − f0) + (f(−k) − f0)).
#[inline(always)]
pub fn ko<T: Real, const K: usize>(fd: &Fd<T>, p: &PaddedRows<T>, out: &mut [T]) {
    let n = p.n1;
    let out = &mut out[..n];
    let f0 = p.at([0; 3]);
    let plus: [[&[T]; K]; 3] = std::array::from_fn(|a| std::array::from_fn(|k| p.at(along(a, k as isize + 1))));
    let minus: [[&[T]; K]; 3] = std::array::from_fn(|a| std::array::from_fn(|k| p.at(along(a, -(k as isize) - 1))));
    for i in 0..n {
        let mut acc = T::zero();
        for a in 0..3 {
            for k in 0..K {
                acc = acc + fd.ko[K + 1 + k] * ((plus[a][k][i] - f0[i]) + (minus[a][k][i] - f0[i]));
            }
        }
        out[i] = acc * fd.ko_scale;
    }
}
