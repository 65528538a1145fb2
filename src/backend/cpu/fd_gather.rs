//! The stencil taps of a whole small lattice, gathered: for each displacement d an operator reads, one
//! contiguous array holding f at every site displaced by d (periodically wrapped), so that the operators of
//! fd_row.rs run over all sites of the lattice a vector at a time — the small-lattice path of the CPU step
//! (backend/cpu/evolve_row.rs). On a lattice of a few sites the x-rows are too short to fill a vector (a 2³
//! lattice has 2-site rows); here the vectors run across rows and planes instead.
//!
//! Each operator reads the same values as the per-site reference (fd.rs) and does the same arithmetic, so the
//! result is bit for bit the reference's (tests/cpu_row_kernel.rs).
use super::fd_row::{wrap_table, Taps, MAX_REACH, SIDE};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;

/// No slot: a displacement that is not gathered.
const NONE: u16 = u16::MAX;

/// The gathered taps of one field at a time over the whole lattice.
pub struct Gathered<T> {
    shape: [usize; 3],
    /// the reaches of `new`
    reach: (usize, usize),
    /// slot of displacement d at [(dx + M) + SIDE·((dy + M) + SIDE·(dz + M))], M = MAX_REACH
    slot: Vec<u16>,
    /// the displacement of each slot as (nonzero components, reach)
    kinds: Vec<(usize, usize)>,
    /// slot s: the site displaced by that slot's d from every site i, at [s·n + i] (computed once)
    index: Vec<u32>,
    /// slot s: f at the sites of `index`
    data: Vec<T>,
}

#[inline(always)]
fn cube(d: [isize; 3]) -> usize {
    let m = MAX_REACH as isize;
    ((d[0] + m) + SIDE as isize * ((d[1] + m) + SIDE as isize * (d[2] + m))) as usize
}

/// Whether `fill(cross, corner)` gathers displacement d: one nonzero component up to `cross`, or two up to
/// `corner`.
fn within(d: [isize; 3], cross: usize, corner: usize) -> bool {
    let nonzero = d.iter().filter(|&&x| x != 0).count();
    let reach = d.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
    (nonzero == 1 && reach <= cross) || (nonzero == 2 && reach <= corner)
}

impl<T: Real> Gathered<T> {
    /// For `lat`, with room for the displacements of `fill(cross, corner)` up to these reaches.
    pub fn new(lat: &Lattice, cross: usize, corner: usize) -> Self {
        assert!(cross <= MAX_REACH && corner <= MAX_REACH);
        let m = MAX_REACH as isize;
        let all = (-m..=m).flat_map(|z| (-m..=m).flat_map(move |y| (-m..=m).map(move |x| [x, y, z])));
        let taps: Vec<[isize; 3]> = all.filter(|&d| within(d, cross, corner)).collect();
        let mut slot = vec![NONE; SIDE * SIDE * SIDE];
        for (s, &d) in taps.iter().enumerate() {
            slot[cube(d)] = s as u16;
        }
        let [n1, n2, n3] = lat.shape;
        let wrap = lat.shape.map(wrap_table);
        let mut index = Vec::with_capacity(taps.len() * lat.sites());
        for d in &taps {
            let at = |axis: usize, c: usize| wrap[axis][c * SIDE + (d[axis] + m) as usize];
            for z in 0..n3 {
                for y in 0..n2 {
                    index.extend((0..n1).map(|x| (at(0, x) + n1 * (at(1, y) + n2 * at(2, z))) as u32));
                }
            }
        }
        let kinds = taps.iter().map(|d| (d.iter().filter(|&&x| x != 0).count(), d.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0))).collect();
        Self { shape: lat.shape, reach: (cross, corner), slot, data: vec![T::zero(); index.len()], kinds, index }
    }

    /// Whether this is `new(lat, cross, corner)`.
    pub fn fits(&self, lat: &Lattice, cross: usize, corner: usize) -> bool {
        self.shape == lat.shape && self.reach == (cross, corner)
    }

    /// Gathers the displacements of `f` (one field over the whole lattice) that the operators with these reaches
    /// read: ±1 … ±cross along each axis, and the corners (±j, ±k), 1 ≤ j, k ≤ corner, of each pair of axes.
    pub fn fill<'a>(&'a mut self, f: &'a [T], cross: usize, corner: usize) -> GatheredTaps<'a, T> {
        assert!(cross <= self.reach.0 && corner <= self.reach.1, "reaches beyond those of Gathered::new");
        let n = f.len();
        assert_eq!(n, self.shape.iter().product::<usize>(), "a field of the lattice of Gathered::new");
        for ((&(kind, reach), out), idx) in self.kinds.iter().zip(self.data.chunks_exact_mut(n)).zip(self.index.chunks_exact(n)) {
            if reach <= if kind == 1 { cross } else { corner } {
                for (o, &j) in out.iter_mut().zip(idx) {
                    // SAFETY: every entry of `index` is a site of the lattice (< n = f.len(), asserted above)
                    *o = unsafe { *f.get_unchecked(j as usize) };
                }
            }
        }
        GatheredTaps { g: self, f }
    }
}

/// The taps `Gathered::fill` prepared: f itself at displacement 0.
pub struct GatheredTaps<'a, T> {
    g: &'a Gathered<T>,
    f: &'a [T],
}

impl<T: Real> Taps<T> for GatheredTaps<'_, T> {
    #[inline(always)]
    fn at(&self, d: [isize; 3]) -> &[T] {
        if d == [0; 3] {
            return self.f;
        }
        let n = self.f.len();
        let s = self.g.slot[cube(d)];
        debug_assert!(s != NONE, "displacement {d:?} not gathered");
        &self.g.data[s as usize * n..][..n]
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.f.len()
    }
}
