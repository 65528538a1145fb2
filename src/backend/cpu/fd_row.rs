//! Row-wise finite differences: the operators of fd.rs evaluated for a whole x-row of sites at once, on padded
//! copies of the neighbouring rows (the fast path of the CPU step, backend/cpu/evolve_row.rs).
//!
//! Periodic wrapping is done once per row, when the rows are copied with `MAX_REACH` ghost sites on each side;
//! the inner loops then read contiguous slices with no division and no wrap, L sites (one vector) at a time
//! (numerics/lanes.rs), the row's remainder one site at a time. Each site's arithmetic is that of fd.rs term for term (same coefficients, same
//! order, one division-free scaling at the end), so the results are bit for bit those of the per-site
//! reference (tests in evolve_row.rs) and of the WGSL twin shaders/stencil.wgsl.
use super::fd::Fd;
use crate::numerics::lanes::Lanes;
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;

/// Widest reach of any operator along one axis: the Kreiss–Oliger radius of the order-4 scheme.
pub const MAX_REACH: usize = 3;
/// Offsets −MAX_REACH … MAX_REACH along one axis.
pub(super) const SIDE: usize = 2 * MAX_REACH + 1;

/// One field's x-rows around the row (y, z): slot (dy, dz) holds f(x, y + dy, z + dz) for
/// x = −MAX_REACH … n1 − 1 + MAX_REACH, every coordinate wrapped periodically. Only the slots a field's
/// operators need are copied (`fill`); the corner rows (dy, dz ≠ 0: only the y–z mixed derivative reads them,
/// with no x offset) are read in place.
pub struct PaddedRows<T> {
    n1: usize,
    stride: usize,
    data: Vec<T>,
    /// (y + d) mod n2 at [y·SIDE + d + MAX_REACH], and the same for z: the wraps, computed once
    wrap_y: Vec<usize>,
    wrap_z: Vec<usize>,
    /// the x of the ghosts: below the row at g − 1 (g = 1 … MAX_REACH), above it at MAX_REACH + g − 1
    ghosts: [usize; 2 * MAX_REACH],
}

/// (c + d) mod m at [c·SIDE + d + MAX_REACH] for c < m, |d| ≤ MAX_REACH: the periodic wraps of one axis of
/// length m, computed once.
pub(super) fn wrap_table(m: usize) -> Vec<usize> {
    (0..m * SIDE).map(|k| (k as isize / SIDE as isize + (k % SIDE) as isize - MAX_REACH as isize).rem_euclid(m as isize) as usize).collect()
}

/// Offset of a site displaced by `k` along `axis`, as (dx, dy, dz).
#[inline(always)]
fn along(axis: usize, k: isize) -> [isize; 3] {
    // selects, not a store at a run-time index: the offset stays in registers (no store-to-load round trip in
    // the per-row set-up, which is most of the work on a few-site lattice)
    [0, 1, 2].map(|i| if i == axis { k } else { 0 })
}

/// Offset of a site displaced by `j` along axis `a` and `k` along axis `b` ≠ a.
#[inline(always)]
fn along2(a: usize, j: isize, b: usize, k: isize) -> [isize; 3] {
    [0, 1, 2].map(|i| if i == a { j } else if i == b { k } else { 0 })
}

impl<T: Real> PaddedRows<T> {
    pub fn new(lat: &Lattice) -> Self {
        let [n1, n2, n3] = lat.shape;
        let stride = n1 + 2 * MAX_REACH;
        let ghosts = std::array::from_fn(|k| {
            let g = k % MAX_REACH + 1;
            if k < MAX_REACH {
                (-(g as isize)).rem_euclid(n1 as isize) as usize
            } else {
                (g - 1) % n1
            }
        });
        Self { n1, stride, data: vec![T::zero(); SIDE * SIDE * stride], wrap_y: wrap_table(n2), wrap_z: wrap_table(n3), ghosts }
    }

    /// Index of the first site of row (y + dy, z + dz), wrapped.
    #[inline(always)]
    fn row_start(&self, y: usize, z: usize, dy: isize, dz: isize) -> usize {
        let n2 = self.wrap_y.len() / SIDE;
        let yy = self.wrap_y[y * SIDE + (dy + MAX_REACH as isize) as usize];
        let zz = self.wrap_z[z * SIDE + (dz + MAX_REACH as isize) as usize];
        self.n1 * (yy + n2 * zz)
    }

    #[inline(always)]
    fn slot(dy: isize, dz: isize) -> usize {
        (dy + MAX_REACH as isize) as usize + SIDE * (dz + MAX_REACH as isize) as usize
    }

    /// The rows of `f` (one field, structure of arrays over `lat`) around row (y, z): the cross (dy, 0),
    /// (0, dz) with |dy|, |dz| ≤ `cross` copied with their ghosts, and the corners 1 ≤ |dy|, |dz| ≤ `corner`
    /// (the mixed y–z derivative) in place.
    /// The lattice is the one of `new`.
    pub fn fill<'a>(&'a mut self, f: &'a [T], y: usize, z: usize, cross: usize, corner: usize) -> Rows<'a, T> {
        let (c, k) = (cross as isize, corner as isize);
        self.copy_row(f, y, z, 0, 0);
        for d in 1..=c {
            for s in [-d, d] {
                self.copy_row(f, y, z, s, 0);
                self.copy_row(f, y, z, 0, s);
            }
        }
        let mut corner_start = [0; SIDE * SIDE];
        for dy in (-k..=k).filter(|&d| d != 0) {
            for dz in (-k..=k).filter(|&d| d != 0) {
                corner_start[Self::slot(dy, dz)] = self.row_start(y, z, dy, dz);
            }
        }
        Rows { pad: self, f, corner_start }
    }

    #[inline(always)]
    fn copy_row(&mut self, f: &[T], y: usize, z: usize, dy: isize, dz: isize) {
        let n1 = self.n1;
        let src = &f[self.row_start(y, z, dy, dz)..][..n1];
        let dst = &mut self.data[Self::slot(dy, dz) * self.stride..][..self.stride];
        dst[MAX_REACH..MAX_REACH + n1].copy_from_slice(src);
        for g in 1..=MAX_REACH {
            dst[MAX_REACH - g] = src[self.ghosts[g - 1]];
            dst[MAX_REACH + n1 - 1 + g] = src[self.ghosts[MAX_REACH + g - 1]];
        }
    }
}

/// The rows of one field around one row, as `PaddedRows::fill` prepared them.
pub struct Rows<'a, T> {
    pad: &'a PaddedRows<T>,
    f: &'a [T],
    corner_start: [usize; SIDE * SIDE],
}

/// A field's values at the displaced sites of a run of sites (an x-row, or a whole small lattice): what the
/// operators below read. `at(d)[i]` is f at site i of the run displaced by d, periodically wrapped.
pub trait Taps<T> {
    /// f at the run's sites displaced by `d`, one value per site (a slot the source prepared).
    fn at(&self, d: [isize; 3]) -> &[T];
    /// The number of sites of the run.
    fn len(&self) -> usize;
    /// The whole padded x-row (dy, dz) (dy = 0 or dz = 0), x = −MAX_REACH … len − 1 + MAX_REACH, where the source
    /// has one (the padded rows of an x-row; not the gathered taps of a whole lattice).
    fn padded(&self, _dy: isize, _dz: isize) -> Option<&[T]> {
        None
    }
}

impl<T, P: Taps<T> + ?Sized> Taps<T> for &P {
    #[inline(always)]
    fn at(&self, d: [isize; 3]) -> &[T] {
        (**self).at(d)
    }
    #[inline(always)]
    fn len(&self) -> usize {
        (**self).len()
    }
    #[inline(always)]
    fn padded(&self, dy: isize, dz: isize) -> Option<&[T]> {
        (**self).padded(dy, dz)
    }
}

impl<T: Real> Taps<T> for Rows<'_, T> {
    /// f at (x + dx, y + dy, z + dz) for x = 0 … n1 − 1 (a slot `fill` prepared; corners only with dx = 0).
    #[inline(always)]
    fn at(&self, d: [isize; 3]) -> &[T] {
        let p = self.pad;
        let slot = PaddedRows::<T>::slot(d[1], d[2]);
        if d[1] != 0 && d[2] != 0 {
            debug_assert_eq!(d[0], 0, "corner rows have no ghosts");
            return &self.f[self.corner_start[slot]..][..p.n1];
        }
        &p.data[slot * p.stride + (MAX_REACH as isize + d[0]) as usize..][..p.n1]
    }

    /// The sites of the row, n1.
    #[inline(always)]
    fn len(&self) -> usize {
        self.pad.n1
    }

    #[inline(always)]
    fn padded(&self, dy: isize, dz: isize) -> Option<&[T]> {
        let p = self.pad;
        (dy == 0 || dz == 0).then(|| &p.data[PaddedRows::<T>::slot(dy, dz) * p.stride..][..p.stride])
    }
}

/// W consecutive values of a row from site i.
#[inline(always)]
pub(super) fn load<T: Real, const W: usize>(row: &[T], i: usize) -> Lanes<T, W> {
    Lanes(<[T; W]>::try_from(&row[i..i + W]).expect("W lanes"))
}

/// An operator's value at the W sites from i of the row (W = the vector width, or 1 for the row's tail).
trait RowOp<T: Real> {
    fn at<const W: usize>(&self, i: usize) -> Lanes<T, W>;
}

/// `op` at every site of the row into `out`: L sites per vector, then the remainder one at a time (the same
/// arithmetic either way).
#[inline(always)]
fn each_site<T: Real, const L: usize>(op: &impl RowOp<T>, out: &mut [T]) {
    let n = out.len();
    let full = n - n % L;
    for i0 in (0..full).step_by(L) {
        out[i0..i0 + L].copy_from_slice(&op.at::<L>(i0).0);
    }
    for (i, o) in out.iter_mut().enumerate().skip(full) {
        *o = op.at::<1>(i).0[0];
    }
}

/// The rows at +k and −k along `axis`, k = 1 … R.
#[inline(always)]
fn pair_rows<'a, T: Real, P: Taps<T>, const R: usize>(p: &'a P, axis: usize) -> ([&'a [T]; R], [&'a [T]; R]) {
    let (mut plus, mut minus): ([&[T]; R], [&[T]; R]) = ([&[]; R], [&[]; R]);
    for k in 0..R {
        plus[k] = p.at(along(axis, k as isize + 1));
        minus[k] = p.at(along(axis, -(k as isize) - 1));
    }
    (plus, minus)
}

struct D1<'a, T, const R: usize> {
    fd: &'a Fd<T>,
    plus: [&'a [T]; R],
    minus: [&'a [T]; R],
    /// the final factor: 1/(d1 h), or 1/(d1 h)² for the outer difference of a mixed derivative, or 1 (exact)
    scale: T,
}

impl<T: Real, const R: usize> RowOp<T> for D1<'_, T, R> {
    #[inline(always)]
    fn at<const W: usize>(&self, i: usize) -> Lanes<T, W> {
        let mut acc = Lanes::<T, W>::default();
        for k in 0..R {
            acc = acc + Lanes::splat(self.fd.c1[R + 1 + k]) * (load::<T, W>(self.plus[k], i) - load::<T, W>(self.minus[k], i));
        }
        acc * Lanes::splat(self.scale)
    }
}

/// ∂_axis f for the row (fd::d1): Σ_{k=1..R} c1[R+k] (f(+k) − f(−k)) / (d1 h).
#[inline(always)]
pub fn d1<T: Real, P: Taps<T>, const R: usize, const L: usize>(fd: &Fd<T>, p: &P, axis: usize, out: &mut [T]) {
    let (plus, minus) = pair_rows::<T, P, R>(p, axis);
    each_site::<T, L>(&D1::<T, R> { fd, plus, minus, scale: fd.inv_d1 }, &mut out[..p.len()]);
}

struct D2<'a, T, const R: usize> {
    fd: &'a Fd<T>,
    f0: &'a [T],
    plus: [&'a [T]; R],
    minus: [&'a [T]; R],
}

impl<T: Real, const R: usize> RowOp<T> for D2<'_, T, R> {
    #[inline(always)]
    fn at<const W: usize>(&self, i: usize) -> Lanes<T, W> {
        let f0 = load::<T, W>(self.f0, i);
        let mut acc = Lanes::<T, W>::default();
        for k in 0..R {
            acc = acc + Lanes::splat(self.fd.c2[R + 1 + k]) * ((load::<T, W>(self.plus[k], i) - f0) + (load::<T, W>(self.minus[k], i) - f0));
        }
        acc * Lanes::splat(self.fd.inv_d2)
    }
}

/// ∂_axis ∂_axis f for the row (fd::d2): Σ_{k=1..R} c2[R+k] ((f(+k) − f0) + (f(−k) − f0)) / (d2 h²).
#[inline(always)]
pub fn d2<T: Real, P: Taps<T>, const R: usize, const L: usize>(fd: &Fd<T>, p: &P, axis: usize, out: &mut [T]) {
    let (plus, minus) = pair_rows::<T, P, R>(p, axis);
    each_site::<T, L>(&D2::<T, R> { fd, f0: p.at([0; 3]), plus, minus }, &mut out[..p.len()]);
}

/// Rows at (±j, ±k) along (a, b), j, k = 1 … R: `[pp, pm, mp, mm][j − 1][k − 1]`.
struct D11<'a, T, const R: usize> {
    fd: &'a Fd<T>,
    rows: [[[&'a [T]; R]; R]; 4],
}

impl<T: Real, const R: usize> RowOp<T> for D11<'_, T, R> {
    #[inline(always)]
    fn at<const W: usize>(&self, i: usize) -> Lanes<T, W> {
        let [pp, pm, mp, mm] = &self.rows;
        let mut acc = Lanes::<T, W>::default();
        for j in 0..R {
            let mut plus = Lanes::<T, W>::default();
            let mut minus = Lanes::<T, W>::default();
            for k in 0..R {
                let c = Lanes::splat(self.fd.c1[R + 1 + k]);
                plus = plus + c * (load::<T, W>(pp[j][k], i) - load::<T, W>(pm[j][k], i));
                minus = minus + c * (load::<T, W>(mp[j][k], i) - load::<T, W>(mm[j][k], i));
            }
            acc = acc + Lanes::splat(self.fd.c1[R + 1 + j]) * (plus - minus);
        }
        acc * Lanes::splat(self.fd.inv_d11)
    }
}

/// ∂_a ∂_b f, a ≠ b, for the row (fd::d11):
/// Σ_j c1[R+j] [ Σ_k c1[R+k] (f(+j,+k) − f(+j,−k)) − Σ_k c1[R+k] (f(−j,+k) − f(−j,−k)) ] / (d1 h)².
#[inline(always)]
pub fn d11<T: Real, P: Taps<T>, const R: usize, const L: usize>(fd: &Fd<T>, p: &P, a: usize, b: usize, out: &mut [T]) {
    if a == 0 && d11_x::<T, P, R, L>(fd, p, b, out) {
        return;
    }
    // plain loops, not array maps: the set-up is per row, and `map`/`from_fn` of slices did not inline
    let mut rows: [[[&[T]; R]; R]; 4] = [[[&[]; R]; R]; 4];
    for (q, (sj, sk)) in [(1, 1), (1, -1), (-1, 1), (-1, -1)].into_iter().enumerate() {
        for j in 0..R {
            for k in 0..R {
                rows[q][j][k] = p.at(along2(a, sj * (j as isize + 1), b, sk * (k as isize + 1)));
            }
        }
    }
    each_site::<T, L>(&D11::<T, R> { fd, rows }, &mut out[..p.len()]);
}

/// Longest padded row [`d11_x`] takes (its inner differences live on the stack).
const MAX_INNER: usize = 256 + 2 * MAX_REACH;

/// ∂_x ∂_b f for the row from its padded rows, when the source has them: the inner differences along b,
/// I(x′) = Σ_k c1[R+k] (f(x′, +k) − f(x′, −k)), once at every x′ = −R … n1 − 1 + R of the padded row, then
/// Σ_j c1[R+j] (I(x + j) − I(x − j)) / (d1 h)². Each I(x ± j) is the `plus`/`minus` sum of fd.rs's d11 term for
/// term (the same start and order; the inner scaling by 1 is exact), so the result is bit for bit `D11`'s, with
/// 2R + 2R² instead of 4R² taps per site. Returns false (nothing written) where the source has no padded rows.
#[inline(always)]
fn d11_x<T: Real, P: Taps<T>, const R: usize, const L: usize>(fd: &Fd<T>, p: &P, b: usize, out: &mut [T]) -> bool {
    let n1 = p.len();
    let w = n1 + 2 * R;
    if w > MAX_INNER {
        return false;
    }
    let (mut plus, mut minus): ([&[T]; R], [&[T]; R]) = ([&[]; R], [&[]; R]);
    for k in 0..R {
        let d = along(b, k as isize + 1);
        let (Some(pr), Some(mr)) = (p.padded(d[1], d[2]), p.padded(-d[1], -d[2])) else { return false };
        // x′ = −R … n1 − 1 + R
        plus[k] = &pr[MAX_REACH - R..][..w];
        minus[k] = &mr[MAX_REACH - R..][..w];
    }
    // a stack array about as long as the row (it is zero-filled on every call)
    match w {
        0..=40 => d11_x_in::<T, R, L, 40>(fd, plus, minus, out),
        41..=72 => d11_x_in::<T, R, L, 72>(fd, plus, minus, out),
        73..=136 => d11_x_in::<T, R, L, 136>(fd, plus, minus, out),
        _ => d11_x_in::<T, R, L, MAX_INNER>(fd, plus, minus, out),
    }
    true
}

/// [`d11_x`] with the inner differences in a stack array of M ≥ n1 + 2R reals.
#[inline(always)]
fn d11_x_in<T: Real, const R: usize, const L: usize, const M: usize>(fd: &Fd<T>, plus: [&[T]; R], minus: [&[T]; R], out: &mut [T]) {
    let w = plus[0].len();
    let n1 = w - 2 * R;
    let mut inner = [T::zero(); M];
    each_site::<T, L>(&D1::<T, R> { fd, plus, minus, scale: T::one() }, &mut inner[..w]);
    let (mut ip, mut im): ([&[T]; R], [&[T]; R]) = ([&[]; R], [&[]; R]);
    for j in 0..R {
        ip[j] = &inner[R + j + 1..][..n1];
        im[j] = &inner[R - j - 1..][..n1];
    }
    each_site::<T, L>(&D1::<T, R> { fd, plus: ip, minus: im, scale: fd.inv_d11 }, &mut out[..n1]);
}

struct Ko<'a, T, const K: usize> {
    fd: &'a Fd<T>,
    f0: &'a [T],
    plus: [[&'a [T]; K]; 3],
    minus: [[&'a [T]; K]; 3],
}

impl<T: Real, const K: usize> RowOp<T> for Ko<'_, T, K> {
    #[inline(always)]
    fn at<const W: usize>(&self, i: usize) -> Lanes<T, W> {
        let f0 = load::<T, W>(self.f0, i);
        let mut acc = Lanes::<T, W>::default();
        for a in 0..3 {
            for k in 0..K {
                acc = acc + Lanes::splat(self.fd.ko[K + 1 + k]) * ((load::<T, W>(self.plus[a][k], i) - f0) + (load::<T, W>(self.minus[a][k], i) - f0));
            }
        }
        acc * Lanes::splat(self.fd.ko_scale)
    }
}

/// Kreiss–Oliger term Q f for the row (fd::ko, σ ≠ 0), K the KO radius:
/// σ-scaled Σ_axes Σ_{k=1..K} ko[K+k] ((f(+k) − f0) + (f(−k) − f0)).
#[inline(always)]
pub fn ko<T: Real, P: Taps<T>, const K: usize, const L: usize>(fd: &Fd<T>, p: &P, out: &mut [T]) {
    let (mut plus, mut minus): ([[&[T]; K]; 3], [[&[T]; K]; 3]) = ([[&[]; K]; 3], [[&[]; K]; 3]);
    for a in 0..3 {
        (plus[a], minus[a]) = pair_rows::<T, P, K>(p, a);
    }
    each_site::<T, L>(&Ko::<T, K> { fd, f0: p.at([0; 3]), plus, minus }, &mut out[..p.len()]);
}
