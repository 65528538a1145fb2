//! The classical right-hand side of a stage, one x-row of sites at a time (the fast path of
//! `evolve_stage::rhs_all`; the per-site `evolve_stage::site_rhs` is its reference).
//!
//! For each row: (1) the stencils of every field over the whole row (backend/cpu/fd_row.rs: padded rows, no
//! wrap in the inner loops, a vector of sites at a time) into per-row columns; (2) the pointwise ADM + scalar
//! right-hand side (physics/adm_rhs.rs) on `Lanes<T, L>` (numerics/lanes.rs): L sites at once, L the number of
//! values of T in one vector register. Kreiss–Oliger dissipation is evaluated only when σ ≠ 0.
//! Every site's arithmetic is the reference's, operation for operation (Rust never contracts a·b + c into an
//! FMA), so the result is bit for bit `site_rhs` in f32 and f64, on every instruction set below (tests).
//!
//! Instruction sets: the kernel is compiled three times — baseline x86-64 (SSE2), AVX2 + FMA, AVX-512 — and
//! the widest one the CPU has is chosen at run time (`Isa::detect`); other architectures get the portable
//! build. The binary itself stays baseline (no `target-cpu=native`).
use super::evolve_stage::StageBuffers;
use super::fd::Fd;
use super::fd_gather::{Gathered, GatheredTaps};
use super::fd_row::{self, PaddedRows, Taps, MAX_REACH};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::numerics::lanes::Lanes;
use crate::physics::adm_rhs::{adm_rhs, RhsParams, SiteData};
use crate::physics::potential::Polynomial;
use crate::physics::tensor::PAIRS;
use crate::state::{var, NVARS};
use rayon::prelude::*;

/// Below this many sites a stage runs on the calling thread: waking the thread pool costs more than the work.
pub use crate::numerics::par::PARALLEL_MIN_SITES;

// Columns of the per-row scratch (each `stride` ≥ n1 reals: a whole number of vectors).
/// ∂_a δg_k at DG + 6a + k
const DG: usize = 0;
/// ∂_a∂_b δg_k at DDG + 6·SYM[a][b] + k
const DDG: usize = 18;
/// ∂_a N
const DN: usize = 54;
/// ∂_a∂_b N
const DDN: usize = 57;
/// ∂_a φ
const DPHI: usize = 63;
/// ∂_a F^a, one column per a (summed in x, y, z order)
const DFLUX: usize = 66;
/// Kreiss–Oliger term of each variable
const KO: usize = 69;
const NCOL: usize = KO + NVARS;
/// The 15 values of the state at the row's sites
const VAL: usize = NCOL;
const NIN: usize = VAL + NVARS;
/// Columns are padded to a multiple of this many reals (the widest vector: 16 f32 on AVX-512).
const PAD_TO: usize = 16;


/// The vector instruction set the row kernel is compiled for (numerics/isa.rs).
pub use crate::numerics::isa::Isa;

/// What every row of a stage reads.
pub struct RowInputs<'a, T> {
    pub fd: &'a Fd<T>,
    pub lat: &'a Lattice,
    pub p: &'a RhsParams<T>,
    pub b: &'a StageBuffers<'a, T>,
}

/// Where a block's taps come from.
enum Source<T> {
    /// the padded rows of one field around each row of the block
    Rows(PaddedRows<T>),
    /// the block is the whole lattice: its taps gathered (fd_gather.rs)
    Gathered(Gathered<T>),
}

/// Per-thread scratch: the taps of one field and the columns of a block of rows.
pub struct RowScratch<T> {
    source: Source<T>,
    cols: Vec<T>,
    stride: usize,
}

impl<T: Real> RowScratch<T> {
    /// For blocks of `rows` rows of `lat`.
    pub fn new(lat: &Lattice, rows: usize) -> Self {
        Self::with(Source::Rows(PaddedRows::new(lat)), lat.shape[0] * rows)
    }

    fn with(source: Source<T>, sites: usize) -> Self {
        // the KO columns stay zero when σ = 0; the padding past the block's sites is never used
        let stride = sites.div_ceil(PAD_TO) * PAD_TO;
        Self { source, cols: vec![T::zero(); NIN * stride], stride }
    }
}

/// Rows per block: the pointwise part runs over a block's sites L at a time, so short rows are taken together
/// (a small lattice — under `PARALLEL_MIN_SITES` sites, stepped on one thread — in one block).
fn block_rows(lat: &Lattice) -> usize {
    let [n1, n2, n3] = lat.shape;
    if lat.sites() < PARALLEL_MIN_SITES {
        n2 * n3
    } else {
        PAD_TO.div_ceil(n1)
    }
}

/// Column j of the block from the site `base` (the start of one row).
#[inline(always)]
fn row_column<T>(cols: &mut [T], stride: usize, base: usize, j: usize) -> &mut [T] {
    &mut cols[j * stride + base..(j + 1) * stride]
}

/// The right-hand side of the rows from `row` (sites row·n1 … row·n1 + out.len() − 1) into `out`; R the
/// derivative radius, K the Kreiss–Oliger radius of the scheme.
#[inline(always)]
fn block_rhs<T: Real, const R: usize, const K: usize, const L: usize>(c: &RowInputs<T>, row: usize, s: &mut RowScratch<T>, out: &mut [[T; NVARS]]) {
    let n1 = c.lat.shape[0];
    let len = out.len();
    match &mut s.source {
        Source::Gathered(g) => stencils::<T, R, K, L>(c, g, &mut s.cols, s.stride, 0, 0, len),
        Source::Rows(pad) => {
            for j in 0..len / n1 {
                let [_, n2, _] = c.lat.shape;
                let r = row + j;
                let mut nb = RowAt { pad: &mut *pad, y: r % n2, z: r / n2 };
                stencils::<T, R, K, L>(c, &mut nb, &mut s.cols, s.stride, j * n1, r * n1, n1);
            }
        }
    }
    // the pointwise right-hand side, L sites at a time
    let p = splat_params::<T, L>(c.p);
    let mut res = [[T::zero(); L]; NVARS];
    for i0 in (0..len).step_by(L) {
        pointwise(&s.cols, s.stride, i0, &p, &mut res);
        for (l, o) in out[i0..(i0 + L).min(len)].iter_mut().enumerate() {
            for (v, ov) in o.iter_mut().enumerate() {
                *ov = res[v][l];
            }
        }
    }
}

/// Where a run of sites gets its fields' taps from: the padded rows around one x-row, or the gathered taps of
/// a whole small lattice (fd_gather.rs).
trait Neighbourhood<T: Real> {
    type Taps<'a>: Taps<T>
    where
        Self: 'a;
    /// The taps of `f` (one field over the whole lattice) out to `cross` along each axis and the corners
    /// (±j, ±k), j, k ≤ `corner`, of the axis pairs.
    fn fill<'a>(&'a mut self, f: &'a [T], cross: usize, corner: usize) -> Self::Taps<'a>;
}

/// The padded rows around the x-row (y, z).
struct RowAt<'p, T> {
    pad: &'p mut PaddedRows<T>,
    y: usize,
    z: usize,
}

impl<T: Real> Neighbourhood<T> for RowAt<'_, T> {
    type Taps<'a>
        = fd_row::Rows<'a, T>
    where
        Self: 'a;
    #[inline(always)]
    fn fill<'a>(&'a mut self, f: &'a [T], cross: usize, corner: usize) -> Self::Taps<'a> {
        self.pad.fill(f, self.y, self.z, cross, corner)
    }
}

impl<T: Real> Neighbourhood<T> for Gathered<T> {
    type Taps<'a>
        = GatheredTaps<'a, T>
    where
        Self: 'a;
    #[inline(always)]
    fn fill<'a>(&'a mut self, f: &'a [T], cross: usize, corner: usize) -> Self::Taps<'a> {
        Gathered::fill(self, f, cross, corner)
    }
}

/// The values and stencils of the `len` sites from `site0` (a run whose taps `nb` gives) into the columns from
/// `base`.
#[inline(always)]
fn stencils<T: Real, const R: usize, const K: usize, const L: usize>(
    c: &RowInputs<T>,
    nb: &mut impl Neighbourhood<T>,
    cols: &mut [T],
    stride: usize,
    base: usize,
    site0: usize,
    len: usize,
) {
    let n = c.lat.sites();
    let fd = c.fd;
    let ko_on = fd.ko_scale != T::zero();
    let u = c.b.input;
    for v in 0..NVARS {
        row_column(cols, stride, base, VAL + v)[..len].copy_from_slice(&u[v * n + site0..][..len]);
        let metric_like = v < var::G + 6 || v == var::LAPSE; // gradient and Hessian
        let stencilled = metric_like || v == var::PHI;
        if !stencilled && !ko_on {
            continue;
        }
        let reach = if ko_on { K } else { R };
        let rows = nb.fill(&u[v * n..(v + 1) * n], reach, if metric_like { R } else { 0 });
        if metric_like {
            let (first, second, step) = if v == var::LAPSE { (DN, DDN, 1) } else { (DG + v, DDG + v, 6) };
            for a in 0..3 {
                fd_row::d1::<T, _, R, L>(fd, &rows, a, row_column(cols, stride, base, first + step * a));
            }
            for (q, &(a, b)) in PAIRS.iter().enumerate() {
                if a == b {
                    fd_row::d2::<T, _, R, L>(fd, &rows, a, row_column(cols, stride, base, second + step * q));
                } else {
                    fd_row::d11::<T, _, R, L>(fd, &rows, a, b, row_column(cols, stride, base, second + step * q));
                }
            }
        } else if v == var::PHI {
            for a in 0..3 {
                fd_row::d1::<T, _, R, L>(fd, &rows, a, row_column(cols, stride, base, DPHI + a));
            }
        }
        if ko_on {
            fd_row::ko::<T, _, K, L>(fd, &rows, row_column(cols, stride, base, KO + v));
        }
    }
    for a in 0..3 {
        let rows = nb.fill(&c.b.flux[a * n..(a + 1) * n], R, 0);
        fd_row::d1::<T, _, R, L>(fd, &rows, a, row_column(cols, stride, base, DFLUX + a));
    }
}

/// adm_rhs (+ the Kreiss–Oliger column) for the L sites from i0 of the row's columns, all lanes at once (numerics/lanes.rs):
/// the same operations in the same order as `evolve_stage::site_rhs`, each one vector instruction wide.
#[inline(always)]
fn pointwise<T: Real, const L: usize>(cols: &[T], stride: usize, i0: usize, p: &RhsParams<Lanes<T, L>>, res: &mut [[T; L]; NVARS]) {
    let mut s = SiteData::<Lanes<T, L>>::default();
    for k in 0..6 {
        s.g[k] = p.background[k] + lanes::<T, L>(cols, stride, i0, VAL + var::G + k);
        s.pi[k] = lanes::<T, L>(cols, stride, i0, VAL + var::PI + k);
        for a in 0..3 {
            s.dg.d[a][k] = lanes::<T, L>(cols, stride, i0, DG + 6 * a + k);
        }
        for q in 0..6 {
            s.dg.dd[q][k] = lanes::<T, L>(cols, stride, i0, DDG + 6 * q + k);
        }
    }
    s.lapse = lanes::<T, L>(cols, stride, i0, VAL + var::LAPSE);
    s.phi = lanes::<T, L>(cols, stride, i0, VAL + var::PHI);
    s.pi_phi = lanes::<T, L>(cols, stride, i0, VAL + var::PI_PHI);
    for a in 0..3 {
        s.dlapse[a] = lanes::<T, L>(cols, stride, i0, DN + a);
        s.dphi[a] = lanes::<T, L>(cols, stride, i0, DPHI + a);
    }
    for q in 0..6 {
        s.ddlapse[q] = lanes::<T, L>(cols, stride, i0, DDN + q);
    }
    s.div_flux = lanes::<T, L>(cols, stride, i0, DFLUX) + lanes::<T, L>(cols, stride, i0, DFLUX + 1) + lanes::<T, L>(cols, stride, i0, DFLUX + 2);
    let r = adm_rhs(&s, p);
    for v in 0..NVARS {
        res[v] = (r[v] + lanes::<T, L>(cols, stride, i0, KO + v)).0;
    }
}

/// Column j at sites i0 … i0 + L − 1 (a plain function, not a closure: it must inline into the kernel).
#[inline(always)]
fn lanes<T: Real, const L: usize>(cols: &[T], stride: usize, i0: usize, j: usize) -> Lanes<T, L> {
    Lanes(<[T; L]>::try_from(&cols[j * stride + i0..][..L]).expect("L lanes"))
}

/// The parameters with every value in all L lanes.
fn splat_params<T: Real, const L: usize>(p: &RhsParams<T>) -> RhsParams<Lanes<T, L>> {
    RhsParams {
        lambda: Lanes::splat(p.lambda),
        mass: Lanes::splat(p.mass),
        potential: Polynomial { c: p.potential.c.map(Lanes::splat) },
        lapse: p.lapse,
        background: p.background.map(Lanes::splat),
    }
}

type RowFn<T> = unsafe fn(&RowInputs<T>, usize, &mut RowScratch<T>, &mut [[T; NVARS]]);

/// # Safety
/// None beyond the caller's: the baseline build runs everywhere.
unsafe fn row_baseline<T: Real, const R: usize, const K: usize, const L: usize>(c: &RowInputs<T>, row: usize, s: &mut RowScratch<T>, out: &mut [[T; NVARS]]) {
    block_rhs::<T, R, K, L>(c, row, s, out)
}

/// # Safety
/// The CPU must have AVX2 and FMA (`Isa::available`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_avx2<T: Real, const R: usize, const K: usize, const L: usize>(c: &RowInputs<T>, row: usize, s: &mut RowScratch<T>, out: &mut [[T; NVARS]]) {
    block_rhs::<T, R, K, L>(c, row, s, out)
}

/// # Safety
/// The CPU must have AVX-512 F, VL and DQ (`Isa::available`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512dq")]
unsafe fn row_avx512<T: Real, const R: usize, const K: usize, const L: usize>(c: &RowInputs<T>, row: usize, s: &mut RowScratch<T>, out: &mut [[T; NVARS]]) {
    block_rhs::<T, R, K, L>(c, row, s, out)
}

/// The row kernel for `isa`, with as many lanes as one vector register holds values of T.
fn row_fn<T: Real, const R: usize, const K: usize>(isa: Isa) -> RowFn<T> {
    let single = std::mem::size_of::<T>() == 4;
    match (isa, single) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, false) => row_avx2::<T, R, K, 4>,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, true) => row_avx2::<T, R, K, 8>,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, false) => row_avx512::<T, R, K, 8>,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, true) => row_avx512::<T, R, K, 16>,
        (_, false) => row_baseline::<T, R, K, 2>,
        (_, true) => row_baseline::<T, R, K, 4>,
    }
}

/// The kernel for `isa` (which must be one of `Isa::available()`) and `fd`'s stencil radii.
fn kernel<T: Real>(isa: Isa, fd: &Fd<T>) -> RowFn<T> {
    assert!(isa == Isa::detect() || Isa::available().contains(&isa), "instruction set {isa:?} is not available on this CPU");
    assert!(fd.ko_radius <= MAX_REACH);
    match (fd.radius, fd.ko_radius) {
        (1, 2) => row_fn::<T, 1, 2>(isa),
        (2, 3) => row_fn::<T, 2, 3>(isa),
        other => panic!("no row kernel for stencil radii {other:?}"),
    }
}

/// The right-hand side of every site of a (small) lattice into `k` (site-major) with the kernel built for
/// `isa`: all sites in one block, each field's taps gathered over the whole lattice (fd_gather.rs), so the
/// vectors run across rows — the path of lattices under `PARALLEL_MIN_SITES` sites, whose rows are too short
/// for the row kernel (a 2³ lattice). Bit for bit `rhs_rows`.
pub fn rhs_gathered<T: Real>(isa: Isa, fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>) {
    thread_local! {
        /// The last lattice's scratch (its tap index table is built once; a small lattice is stepped by the
        /// thousand steps on one thread).
        static SCRATCH: std::cell::RefCell<Option<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(None) };
    }
    let f = kernel(isa, fd);
    k.resize(lat.sites(), [T::zero(); NVARS]);
    let (cross, corner) = gathered_reach(fd);
    SCRATCH.with_borrow_mut(|cached| {
        let fits = |b: &Box<dyn std::any::Any>| b.downcast_ref::<RowScratch<T>>().is_some_and(|s| matches!(&s.source, Source::Gathered(g) if g.fits(lat, cross, corner)));
        if !cached.as_ref().is_some_and(fits) {
            *cached = Some(Box::new(RowScratch::with(Source::Gathered(Gathered::<T>::new(lat, cross, corner)), lat.sites())));
        }
        let s = cached.as_mut().and_then(|b| b.downcast_mut::<RowScratch<T>>()).expect("the scratch just made");
        if fd.ko_scale == T::zero() {
            // σ = 0 adds the KO columns unwritten: zero them (a previous call may have had σ ≠ 0)
            s.cols[KO * s.stride..(KO + NVARS) * s.stride].fill(T::zero());
        }
        // SAFETY: `f` is built for an instruction set this CPU has (asserted in `kernel`).
        unsafe { f(&RowInputs { fd, lat, p, b }, 0, s, k) }
    })
}

/// The reaches of the gathered taps for `fd`: along the axes the derivative or KO radius, the corners of the
/// mixed derivatives the derivative radius.
fn gathered_reach<T>(fd: &Fd<T>) -> (usize, usize) {
    (fd.ko_radius.max(fd.radius), fd.radius)
}

/// The right-hand side of every site into `k` (site-major), row by row with the kernel built for `isa`, which
/// must be one of `Isa::available()`.
pub fn rhs_rows<T: Real>(isa: Isa, fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>) {
    rhs_rows_in(isa, fd, lat, p, b, k, 0..lat.shape[1] * lat.shape[2]);
}

/// [`rhs_rows`] of the rows `rows` only (row r: the sites r·N1 … r·N1 + N1 − 1; the owned planes of a z-slab,
/// parallel/slab_stepper.rs); `k` of the other sites is left as it was.
pub fn rhs_rows_in<T: Real>(isa: Isa, fd: &Fd<T>, lat: &Lattice, p: &RhsParams<T>, b: &StageBuffers<T>, k: &mut Vec<[T; NVARS]>, rows: std::ops::Range<usize>) {
    let f = kernel(isa, fd);
    let n = lat.sites();
    let n1 = lat.shape[0];
    k.resize(n, [T::zero(); NVARS]);
    let c = RowInputs { fd, lat, p, b };
    let per = block_rows(lat);
    let (r0, part) = (rows.start, &mut k[rows.start * n1..rows.end * n1]);
    // SAFETY: `f` is built for an instruction set this CPU has (asserted in `kernel`).
    if n < PARALLEL_MIN_SITES {
        let mut s = RowScratch::new(lat, per);
        part.chunks_mut(n1 * per).enumerate().for_each(|(b, out)| unsafe { f(&c, r0 + b * per, &mut s, out) });
    } else {
        part.par_chunks_mut(n1 * per).enumerate().for_each_init(|| RowScratch::new(lat, per), |s, (b, out)| unsafe { f(&c, r0 + b * per, s, out) });
    }
}
