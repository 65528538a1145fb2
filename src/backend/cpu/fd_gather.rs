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

/// The gathered taps of one field at a time over the whole lattice.
pub struct Gathered<T> {
    shape: [usize; 3],
    /// the reaches of `new`
    reach: (usize, usize),
    /// the gathered displacements: (slot, nonzero components, reach), the slot of d being `cube(d)`
    taps: Vec<(usize, usize, usize)>,
    /// the site displaced by the k-th tap's d from every site i, at [k·n + i] (computed once)
    index: Vec<u32>,
    /// slot s = cube(d): f at every site displaced by d, at [s·n …] (the centre, s = cube(0), is f itself; slots
    /// of displacements not gathered are never touched)
    data: Vec<T>,
}

/// The slot of displacement d: (dx + M) + SIDE·((dy + M) + SIDE·(dz + M)), M = MAX_REACH (a constant where d is).
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
        let ds: Vec<[isize; 3]> = all.filter(|&d| within(d, cross, corner)).collect();
        let [n1, n2, n3] = lat.shape;
        let wrap = lat.shape.map(wrap_table);
        let mut index = Vec::with_capacity(ds.len() * lat.sites());
        for d in &ds {
            let at = |axis: usize, c: usize| wrap[axis][c * SIDE + (d[axis] + m) as usize];
            for z in 0..n3 {
                for y in 0..n2 {
                    index.extend((0..n1).map(|x| (at(0, x) + n1 * (at(1, y) + n2 * at(2, z))) as u32));
                }
            }
        }
        let taps = ds.iter().map(|&d| (cube(d), d.iter().filter(|&&x| x != 0).count(), d.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0))).collect();
        Self { shape: lat.shape, reach: (cross, corner), taps, index, data: vec![T::zero(); SIDE * SIDE * SIDE * lat.sites()] }
    }

    /// Whether this is `new(lat, cross, corner)`.
    pub fn fits(&self, lat: &Lattice, cross: usize, corner: usize) -> bool {
        self.shape == lat.shape && self.reach == (cross, corner)
    }

    /// Gathers the displacements of `f` (one field over the whole lattice) that the operators with these reaches
    /// read: ±1 … ±cross along each axis, and the corners (±j, ±k), 1 ≤ j, k ≤ corner, of each pair of axes.
    pub fn fill(&mut self, f: &[T], cross: usize, corner: usize) -> GatheredTaps<'_, T> {
        assert!(cross <= self.reach.0 && corner <= self.reach.1, "reaches beyond those of Gathered::new");
        let n = f.len();
        assert_eq!(n, self.shape.iter().product::<usize>(), "a field of the lattice of Gathered::new");
        self.data[cube([0; 3]) * n..][..n].copy_from_slice(f);
        for (&(slot, kind, reach), idx) in self.taps.iter().zip(self.index.chunks_exact(n)) {
            if reach <= if kind == 1 { cross } else { corner } {
                for (o, &j) in self.data[slot * n..][..n].iter_mut().zip(idx) {
                    // SAFETY: every entry of `index` is a site of the lattice (< n = f.len(), asserted above)
                    *o = unsafe { *f.get_unchecked(j as usize) };
                }
            }
        }
        GatheredTaps { data: &self.data, n }
    }
}

/// The taps `Gathered::fill` prepared.
pub struct GatheredTaps<'a, T> {
    data: &'a [T],
    n: usize,
}

impl<T: Real> Taps<T> for GatheredTaps<'_, T> {
    #[inline(always)]
    fn at(&self, d: [isize; 3]) -> &[T] {
        &self.data[cube(d) * self.n..][..self.n]
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.n
    }
}
