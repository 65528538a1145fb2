//! The stencil taps of a whole small lattice, gathered: for each displacement d an operator reads, one
//! contiguous array holding f at every site displaced by d (periodically wrapped; displacements that wrap onto
//! the same sites, as ±1 and ±2 on a 2-site axis, share one array, gathered once), so that the operators of
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
    /// the distinct wrapped displacements gathered, each once: (slot, the smallest reach along one axis and of a
    /// corner among the displacements that wrap to it — `fill(cross, corner)` gathers it when one of them is asked
    /// for); displacements that wrap to the centre (d ≡ 0 on a lattice of ≤ |d| sites) are not here
    taps: Vec<(usize, usize, usize)>,
    /// the site displaced by the k-th tap's d from every site i, at [k·n + i] (computed once)
    index: Vec<u32>,
    /// the data slot of displacement d at [cube(d)]: displacements that the periodic wrap maps to the same sites
    /// (d and d' with d ≡ d' mod the shape) share one slot, gathered once — on a 2³ lattice 8 slots for the 60
    /// displacements of the order-4 operators; the centre's slot is cube(0)
    slot: Vec<u32>,
    /// slot s: f at every site displaced by one of its displacements, at [s·n …] (the centre, s = cube(0), is f
    /// itself; slots of displacements not gathered are never touched)
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
    let (nonzero, reach) = shape(d);
    (nonzero == 1 && reach <= cross) || (nonzero == 2 && reach <= corner)
}

/// (number of nonzero components, largest |component|) of displacement d.
fn shape(d: [isize; 3]) -> (usize, usize) {
    (d.iter().filter(|&&x| x != 0).count(), d.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0))
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
        // the displacement d modulo the shape, and the slot of the first displacement with it (the centre's for 0)
        let wrapped = |d: [isize; 3]| -> [usize; 3] { std::array::from_fn(|a| d[a].rem_euclid(lat.shape[a] as isize) as usize) };
        let mut slot: Vec<u32> = (0..SIDE * SIDE * SIDE).map(|s| s as u32).collect();
        let mut first: Vec<([usize; 3], usize)> = vec![([0; 3], cube([0; 3]))];
        let mut taps: Vec<(usize, usize, usize)> = Vec::new();
        let mut index = Vec::with_capacity(ds.len() * lat.sites());
        for d in &ds {
            let (nonzero, reach) = shape(*d);
            let (cross_reach, corner_reach) = if nonzero == 1 { (reach, usize::MAX) } else { (usize::MAX, reach) };
            let w = wrapped(*d);
            if let Some(&(_, s)) = first.iter().find(|f| f.0 == w) {
                slot[cube(*d)] = s as u32;
                if let Some(t) = taps.iter_mut().find(|t| t.0 == s) {
                    t.1 = t.1.min(cross_reach);
                    t.2 = t.2.min(corner_reach);
                }
                continue;
            }
            first.push((w, cube(*d)));
            taps.push((cube(*d), cross_reach, corner_reach));
            let at = |axis: usize, c: usize| wrap[axis][c * SIDE + (d[axis] + m) as usize];
            for z in 0..n3 {
                for y in 0..n2 {
                    index.extend((0..n1).map(|x| (at(0, x) + n1 * (at(1, y) + n2 * at(2, z))) as u32));
                }
            }
        }
        Self { shape: lat.shape, reach: (cross, corner), taps, index, slot, data: vec![T::zero(); SIDE * SIDE * SIDE * lat.sites()] }
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
        for (&(slot, cross_reach, corner_reach), idx) in self.taps.iter().zip(self.index.chunks_exact(n)) {
            if cross_reach <= cross || corner_reach <= corner {
                for (o, &j) in self.data[slot * n..][..n].iter_mut().zip(idx) {
                    // SAFETY: every entry of `index` is a site of the lattice (< n = f.len(), asserted above)
                    *o = unsafe { *f.get_unchecked(j as usize) };
                }
            }
        }
        GatheredTaps { data: &self.data, slot: &self.slot, n }
    }
}

/// The taps `Gathered::fill` prepared.
pub struct GatheredTaps<'a, T> {
    data: &'a [T],
    slot: &'a [u32],
    n: usize,
}

impl<T: Real> Taps<T> for GatheredTaps<'_, T> {
    #[inline(always)]
    fn at(&self, d: [isize; 3]) -> &[T] {
        &self.data[self.slot[cube(d)] as usize * self.n..][..self.n]
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.n
    }
}
