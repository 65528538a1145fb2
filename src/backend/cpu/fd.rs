//! Finite-difference operators on the periodic lattice, applied to one field at one site (CPU twin of
//! shaders/stencil.wgsl). Sums run over offsets in increasing order and are divided once at the end, exactly
//! as the WGSL does.
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::numerics::stencil::Stencil;

/// A stencil converted to the run's float type, with its divisors folded into inverse factors.
#[derive(Debug, Clone, Copy)]
pub struct Fd<T> {
    pub radius: usize,
    pub ko_radius: usize,
    pub c1: [T; 5],
    pub c2: [T; 5],
    pub ko: [T; 7],
    /// 1/(d1·h)
    pub inv_d1: T,
    /// 1/(d2·h²)
    pub inv_d2: T,
    /// 1/(d1·h)²
    pub inv_d11: T,
    /// (−1)^(r+1) σ / (2^(2r) h)
    pub ko_scale: T,
}

impl<T: Real> Fd<T> {
    pub fn new(stencil: &Stencil, h: f64, dissipation: f64) -> Self {
        Self {
            radius: stencil.radius,
            ko_radius: stencil.ko_radius,
            c1: stencil.c1.map(T::c),
            c2: stencil.c2.map(T::c),
            ko: stencil.ko.map(T::c),
            inv_d1: T::c(1.0 / (stencil.d1 * h)),
            inv_d2: T::c(1.0 / (stencil.d2 * h * h)),
            inv_d11: T::c(1.0 / (stencil.d1 * h * stencil.d1 * h)),
            ko_scale: T::c(stencil.ko_factor * dissipation / h),
        }
    }
}

/// (c + d) mod n for a site c < n: the offsets are a few sites, so a few additions replace the division.
#[inline(always)]
fn wrap(c: usize, d: isize, n: usize) -> usize {
    let n = n as isize;
    let mut x = c as isize + d;
    while x < 0 {
        x += n;
    }
    while x >= n {
        x -= n;
    }
    x as usize
}

#[inline(always)]
fn idx(lat: &Lattice, c: [usize; 3]) -> usize {
    c[0] + lat.shape[0] * (c[1] + lat.shape[1] * c[2])
}

/// ∂_axis f at site c: Σ_{k=1..r} c1[r+k] (f(+k) − f(−k)) / (d1 h).
#[inline(always)]
pub fn d1<T: Real>(fd: &Fd<T>, lat: &Lattice, f: &[T], c: [usize; 3], axis: usize) -> T {
    let r = fd.radius;
    let mut acc = T::zero();
    for k in 1..=r {
        let mut cp = c;
        let mut cm = c;
        cp[axis] = wrap(c[axis], k as isize, lat.shape[axis]);
        cm[axis] = wrap(c[axis], -(k as isize), lat.shape[axis]);
        acc = acc + fd.c1[r + k] * (f[idx(lat, cp)] - f[idx(lat, cm)]);
    }
    acc * fd.inv_d1
}

/// ∂_axis ∂_axis f at site c (compact stencil): Σ_{k=1..r} c2[r+k] ((f(+k) − f0) + (f(−k) − f0)) / (d2 h²).
#[inline(always)]
pub fn d2<T: Real>(fd: &Fd<T>, lat: &Lattice, f: &[T], c: [usize; 3], axis: usize) -> T {
    let r = fd.radius;
    let f0 = f[idx(lat, c)];
    let mut acc = T::zero();
    for k in 1..=r {
        let mut cp = c;
        let mut cm = c;
        cp[axis] = wrap(c[axis], k as isize, lat.shape[axis]);
        cm[axis] = wrap(c[axis], -(k as isize), lat.shape[axis]);
        acc = acc + fd.c2[r + k] * ((f[idx(lat, cp)] - f0) + (f[idx(lat, cm)] - f0));
    }
    acc * fd.inv_d2
}

/// ∂_a ∂_b f at site c for a ≠ b: the first-derivative stencil along b applied to the one along a, both in
/// antisymmetric-pair form: Σ_j c1[r+j] [ Σ_k c1[r+k] (f(+j,+k) − f(+j,−k)) − Σ_k c1[r+k] (f(−j,+k) − f(−j,−k)) ].
#[inline(always)]
pub fn d11<T: Real>(fd: &Fd<T>, lat: &Lattice, f: &[T], c: [usize; 3], a: usize, b: usize) -> T {
    let r = fd.radius;
    let at = |j: isize, k: isize| {
        let mut cc = c;
        cc[a] = wrap(c[a], j, lat.shape[a]);
        cc[b] = wrap(c[b], k, lat.shape[b]);
        f[idx(lat, cc)]
    };
    let mut acc = T::zero();
    for j in 1..=r {
        let mut plus = T::zero();
        let mut minus = T::zero();
        for k in 1..=r {
            let (ji, ki) = (j as isize, k as isize);
            plus = plus + fd.c1[r + k] * (at(ji, ki) - at(ji, -ki));
            minus = minus + fd.c1[r + k] * (at(-ji, ki) - at(-ji, -ki));
        }
        acc = acc + fd.c1[r + j] * (plus - minus);
    }
    acc * fd.inv_d11
}

/// Second derivatives of f in storage order xx, xy, xz, yy, yz, zz.
#[inline(always)]
pub fn hessian<T: Real>(fd: &Fd<T>, lat: &Lattice, f: &[T], c: [usize; 3]) -> [T; 6] {
    [
        d2(fd, lat, f, c, 0),
        d11(fd, lat, f, c, 0, 1),
        d11(fd, lat, f, c, 0, 2),
        d2(fd, lat, f, c, 1),
        d11(fd, lat, f, c, 1, 2),
        d2(fd, lat, f, c, 2),
    ]
}

#[inline(always)]
pub fn gradient<T: Real>(fd: &Fd<T>, lat: &Lattice, f: &[T], c: [usize; 3]) -> [T; 3] {
    [d1(fd, lat, f, c, 0), d1(fd, lat, f, c, 1), d1(fd, lat, f, c, 2)]
}

/// Kreiss–Oliger dissipation term Q f at site c (zero when σ = 0), in deviation form per axis.
#[inline(always)]
pub fn ko<T: Real>(fd: &Fd<T>, lat: &Lattice, f: &[T], c: [usize; 3]) -> T {
    // σ = 0 (gravity.dissipation = 0, the default): no stencil work (the twin shaders/stencil.wgsl returns the same 0)
    if fd.ko_scale == T::zero() {
        return T::zero();
    }
    let r = fd.ko_radius;
    let f0 = f[idx(lat, c)];
    let mut acc = T::zero();
    for axis in 0..3 {
        for k in 1..=r {
            let mut cp = c;
            let mut cm = c;
            cp[axis] = wrap(c[axis], k as isize, lat.shape[axis]);
            cm[axis] = wrap(c[axis], -(k as isize), lat.shape[axis]);
            acc = acc + fd.ko[r + k] * ((f[idx(lat, cp)] - f0) + (f[idx(lat, cm)] - f0));
        }
    }
    acc * fd.ko_scale
}
