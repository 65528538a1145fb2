//! The lattice split in z-slabs over ranks (issue 18): rank p owns the planes z ∈ [z0(p), z0(p+1)),
//! z0(p) = ⌊p·N3/P⌋, stored with `ghost` planes on each side. The local array is itself a periodic lattice
//! N1 × N2 × (nz + 2·ghost), so the CPU stencils (backend/cpu/fd.rs) run on it unchanged: an owned site reads
//! at most `ghost` planes away, all of which the halo exchange ([`Slab::exchange`]) has filled with the
//! neighbours' owned planes — the same numbers a single process reads, so every owned site computes bit for bit
//! what it computes there. What the wrap-around gives the ghost sites themselves is never used.
//!
//! Reductions are independent of P as well: the box sums of a single process are the 64-wide tree of
//! backend/cpu/reduce.rs over the global site order; a slab is a contiguous range of that order, so when a plane
//! holds a multiple of 64 sites every rank reduces its own blocks of 64 (the tree's first pass) and only those
//! block results travel ([`Slab::global_pass1`]); otherwise the values themselves are gathered. Every rank then
//! finishes the same tree on the same numbers, so every rank holds identical diagnostics, equal to one
//! process's bit for bit (MPI_Allreduce would sum in an order that depends on P).
use super::Comm;
use crate::backend::cpu::reduce::{finish_tree, reduce_pass, Op, BLOCK};
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use anyhow::{bail, Result};
use std::ops::Range;

/// One rank's slab of the global lattice.
#[derive(Debug, Clone, PartialEq)]
pub struct Slab {
    pub global: Lattice,
    /// planes of halo on each side: the stencil's reach
    pub ghost: usize,
    pub rank: usize,
    pub ranks: usize,
    /// first owned plane (global z) and the number of owned planes
    pub z0: usize,
    pub nz: usize,
    /// N1 × N2 × (nz + 2·ghost), periodic
    pub local: Lattice,
}

/// The planes z0 ≤ z < z0 + nz of the state that one rank owns, for its part of a snapshot or checkpoint
/// (io/parts.rs): `state` on the lattice N1 × N2 × nz (f64, as `Stepper::download` converts it), and its
/// constraint fields as the CPU twin evaluates them on the whole lattice; with a quantum field, `state.quantum`
/// holds the rank's planes of the `site_arrays` and the other arrays whole, and `phi2` the owned sites' ⟨δφ²⟩.
#[derive(Debug, Clone)]
pub struct OwnedPlanes {
    pub z0: usize,
    pub rank: usize,
    pub ranks: usize,
    /// the whole lattice
    pub global: Lattice,
    pub state: crate::state::State,
    pub constraints: crate::diagnostics::ConstraintFields,
    /// the quantum arrays laid out over the sites (`Representation::site_arrays`)
    pub site_arrays: &'static [&'static str],
    pub phi2: Option<Vec<f64>>,
}

/// First plane of rank p of P over n3 planes.
pub fn first_plane(p: usize, ranks: usize, n3: usize) -> usize {
    p * n3 / ranks
}

impl Slab {
    pub fn new(global: Lattice, ghost: usize, rank: usize, ranks: usize) -> Result<Self> {
        let n3 = global.shape[2];
        let z0 = first_plane(rank, ranks, n3);
        let nz = first_plane(rank + 1, ranks, n3) - z0;
        let thinnest = n3 / ranks;
        if thinnest < ghost.max(1) {
            bail!(
                "lattice.shape[2] = {n3} split over {ranks} ranks leaves slabs of {thinnest} planes, fewer than the \
                 stencil's reach of {ghost} planes; use at most {} ranks for this lattice (or a larger N3)",
                n3 / ghost.max(1)
            );
        }
        let local = Lattice::new([global.shape[0], global.shape[1], nz + 2 * ghost], global.spacing);
        Ok(Self { global, ghost, rank, ranks, z0, nz, local })
    }

    /// Sites of one plane (N1·N2).
    pub fn plane(&self) -> usize {
        self.global.shape[0] * self.global.shape[1]
    }
    /// Owned sites.
    pub fn owned(&self) -> usize {
        self.nz * self.plane()
    }
    /// The owned sites' local indices.
    pub fn interior(&self) -> Range<usize> {
        self.ghost * self.plane()..(self.ghost + self.nz) * self.plane()
    }
    /// The global index of the first owned site (the owned sites are consecutive in the global order).
    pub fn first_site(&self) -> usize {
        self.z0 * self.plane()
    }
    /// Bytes one rank sends per halo exchange of `nvars` fields of `bytes` each (both neighbours).
    pub fn halo_bytes(&self, nvars: usize, bytes: usize) -> usize {
        2 * self.ghost * self.plane() * nvars * bytes
    }

    /// Fills the ghost planes of the `nvars` fields of `u` (structure of arrays over the local lattice) from the
    /// neighbours' owned planes (periodic in z).
    pub fn exchange<T: Real>(&self, comm: &dyn Comm, u: &mut [T], nvars: usize) {
        self.exchange_fields(comm, u, &(0..nvars).collect::<Vec<_>>());
    }

    /// [`Slab::exchange`] of the listed fields only (the others' ghost planes are left as they were).
    pub fn exchange_fields<T: Real>(&self, comm: &dyn Comm, u: &mut [T], fields: &[usize]) {
        self.exchange_wide(comm, u, fields, 1);
    }

    /// [`Slab::exchange_fields`] of fields with `width` values per site (field-major, site, then the values: the
    /// ensemble's members).
    pub fn exchange_wide<T: bytemuck::Pod>(&self, comm: &dyn Comm, u: &mut [T], fields: &[usize], width: usize) {
        let pack = |side: usize| -> Vec<T> { fields.iter().flat_map(|&v| u[self.sent_planes_wide(v, width)[side].clone()].iter().copied()).collect() };
        let (to_next, to_prev) = (pack(0), pack(1));
        let (from_prev, from_next) = self.swap_halos(comm, &to_next, &to_prev);
        let g = self.ghost * self.plane() * width;
        for (j, &v) in fields.iter().enumerate() {
            let [lower, upper] = self.ghost_planes_wide(v, width);
            u[lower].copy_from_slice(&from_prev[j * g..(j + 1) * g]);
            u[upper].copy_from_slice(&from_next[j * g..(j + 1) * g]);
        }
    }

    /// The owned planes field `v` of a local array sends in a halo exchange: [the last `ghost` owned planes (to
    /// rank + 1), the first `ghost` owned planes (to rank − 1)], as element ranges of the structure of arrays.
    pub fn sent_planes(&self, v: usize) -> [Range<usize>; 2] {
        self.sent_planes_wide(v, 1)
    }

    fn sent_planes_wide(&self, v: usize, width: usize) -> [Range<usize>; 2] {
        let (n, g, p) = (self.local.sites() * width, self.ghost * self.plane() * width, self.plane() * width);
        [v * n + self.nz * p..v * n + self.nz * p + g, v * n + g..v * n + 2 * g]
    }

    /// The ghost planes of field `v` a halo exchange fills: [below the owned planes (from rank − 1), above them
    /// (from rank + 1)].
    pub fn ghost_planes(&self, v: usize) -> [Range<usize>; 2] {
        self.ghost_planes_wide(v, 1)
    }

    fn ghost_planes_wide(&self, v: usize, width: usize) -> [Range<usize>; 2] {
        let (n, g, p) = (self.local.sites() * width, self.ghost * self.plane() * width, self.plane() * width);
        let hi = v * n + (self.ghost + self.nz) * p;
        [v * n..v * n + g, hi..hi + g]
    }

    /// The owned sites of field `v` of a local array, as an element range.
    pub fn owned_planes(&self, v: usize) -> Range<usize> {
        let (n, r) = (self.local.sites(), self.interior());
        v * n + r.start..v * n + r.end
    }

    /// The ring exchange of packed halo planes (fields one after the other, [`Slab::sent_planes`]' order):
    /// returns (from rank − 1, from rank + 1).
    pub fn swap_halos<T: bytemuck::Pod + bytemuck::Zeroable>(&self, comm: &dyn Comm, to_next: &[T], to_prev: &[T]) -> (Vec<T>, Vec<T>) {
        let mut from_prev = vec![T::zeroed(); to_next.len()];
        let mut from_next = vec![T::zeroed(); to_prev.len()];
        comm.ring_exchange(
            bytemuck::cast_slice(to_next),
            bytemuck::cast_slice(to_prev),
            bytemuck::cast_slice_mut(&mut from_prev),
            bytemuck::cast_slice_mut(&mut from_next),
        );
        (from_prev, from_next)
    }

    /// The local array (owned and ghost planes) of `nvars` global fields (structure of arrays over the global
    /// lattice).
    pub fn scatter<T: Copy>(&self, global: &[T], nvars: usize) -> Vec<T> {
        self.scatter_wide(global, nvars, 1)
    }

    /// [`Slab::scatter`] of fields with `width` values per site.
    pub fn scatter_wide<T: Copy>(&self, global: &[T], nvars: usize, width: usize) -> Vec<T> {
        let (ng, nl, p, n3) = (self.global.sites() * width, self.local.sites() * width, self.plane() * width, self.global.shape[2]);
        let mut out = Vec::with_capacity(nvars * nl);
        for v in 0..nvars {
            for lz in 0..self.local.shape[2] {
                let z = (self.z0 + n3 + lz - self.ghost) % n3;
                out.extend_from_slice(&global[v * ng + z * p..v * ng + (z + 1) * p]);
            }
        }
        out
    }

    /// The local array of `nvars` fields whose owned planes are `owned` ([`Slab::owned_of`]'s layout) and whose
    /// ghost planes are zero (for [`Slab::exchange`] to fill).
    pub fn place_owned<T: Copy + Default>(&self, owned: &[T], nvars: usize) -> Vec<T> {
        let m = self.owned();
        let mut out = vec![T::default(); nvars * self.local.sites()];
        for v in 0..nvars {
            out[self.owned_planes(v)].copy_from_slice(&owned[v * m..(v + 1) * m]);
        }
        out
    }

    /// The owned part of each of the `nvars` local fields of `u`, one after the other.
    pub fn owned_of<T: Copy>(&self, u: &[T], nvars: usize) -> Vec<T> {
        self.owned_of_wide(u, nvars, 1)
    }

    /// [`Slab::owned_of`] of fields with `width` values per site.
    pub fn owned_of_wide<T: Copy>(&self, u: &[T], nvars: usize, width: usize) -> Vec<T> {
        let n = self.local.sites() * width;
        let r = self.interior();
        (0..nvars).flat_map(|v| u[v * n..(v + 1) * n][r.start * width..r.end * width].iter().copied()).collect()
    }

    /// The global fields (structure of arrays over the global lattice) from every rank's owned parts
    /// ([`Slab::owned_of`]), on every rank.
    pub fn all_gather<T: Real>(&self, comm: &dyn Comm, owned: &[T], nvars: usize) -> Vec<T> {
        self.all_gather_wide(comm, owned, nvars, 1)
    }

    /// [`Slab::all_gather`] of fields with `width` values per site.
    pub fn all_gather_wide<T: bytemuck::Pod>(&self, comm: &dyn Comm, owned: &[T], nvars: usize, width: usize) -> Vec<T> {
        let parts = comm.all_gather_bytes(bytemuck::cast_slice(owned));
        let (ng, p) = (self.global.sites() * width, self.plane() * width);
        let mut out = vec![T::zeroed(); nvars * ng];
        for (r, bytes) in parts.iter().enumerate() {
            let part: Vec<T> = bytemuck::pod_collect_to_vec(bytes);
            let (z0, z1) = (first_plane(r, self.ranks, self.global.shape[2]), first_plane(r + 1, self.ranks, self.global.shape[2]));
            let len = (z1 - z0) * p;
            for v in 0..nvars {
                out[v * ng + z0 * p..v * ng + z0 * p + len].copy_from_slice(&part[v * len..(v + 1) * len]);
            }
        }
        out
    }

    /// True when every slab starts on a block of 64 of the global order (the first tree pass is local).
    pub fn aligned(&self) -> bool {
        self.plane() % BLOCK == 0
    }

    /// For each global column (this rank's owned values in `cols`), the first pass of its 64-wide reduction tree
    /// over the whole lattice, on every rank.
    pub fn global_pass1<T: Real>(&self, comm: &dyn Comm, cols: &[&[T]], ops: &[Op]) -> Vec<Vec<T>> {
        if !self.aligned() {
            let owned: Vec<T> = cols.iter().flat_map(|c| c.iter().copied()).collect();
            let global = self.all_gather(comm, &owned, cols.len());
            let ng = self.global.sites();
            return (0..cols.len()).map(|c| reduce_pass(&global[c * ng..(c + 1) * ng], ops[c])).collect();
        }
        let local: Vec<T> = cols.iter().zip(ops).flat_map(|(c, &op)| reduce_pass(c, op)).collect();
        self.gather_pass1(comm, &local, cols.len())
    }

    /// Every rank's first-pass block results of `ncols` columns (this rank's in `local`: column after column,
    /// the blocks of its owned sites; the slabs must be [`Slab::aligned`]) as whole columns' first passes, on every
    /// rank. For a first pass taken on a device (the GPU diagnostics' workgroup sums).
    pub fn gather_pass1<T: Real>(&self, comm: &dyn Comm, local: &[T], ncols: usize) -> Vec<Vec<T>> {
        debug_assert!(self.aligned(), "the first pass of an unaligned slab straddles the ranks");
        let parts = comm.all_gather_bytes(bytemuck::cast_slice(local));
        let mut out = vec![Vec::new(); ncols];
        for (r, bytes) in parts.iter().enumerate() {
            let part: Vec<T> = bytemuck::pod_collect_to_vec(bytes);
            let n3 = self.global.shape[2];
            let blocks = (first_plane(r + 1, self.ranks, n3) - first_plane(r, self.ranks, n3)) * self.plane();
            let blocks = blocks.div_ceil(BLOCK);
            for (c, o) in out.iter_mut().enumerate() {
                o.extend_from_slice(&part[c * blocks..(c + 1) * blocks]);
            }
        }
        out
    }

    /// The box reduction of each global column (this rank's owned values in `cols`), identical on every rank and
    /// to backend/cpu/reduce.rs's `tree_reduce` of the whole column.
    pub fn reduce<T: Real>(&self, comm: &dyn Comm, cols: &[&[T]], ops: &[Op]) -> Vec<T> {
        self.global_pass1(comm, cols, ops).into_iter().zip(ops).map(|(p, &op)| finish_tree(p, op)).collect()
    }

    /// The sum of all values of the `nvars` global fields taken as one array, as backend/cpu/health.rs's
    /// `state_sum` of the whole state (the health check of every step).
    pub fn state_sum<T: Real>(&self, comm: &dyn Comm, u: &[T], nvars: usize) -> T {
        let n = self.local.sites();
        let cols: Vec<&[T]> = (0..nvars).map(|v| &u[v * n..(v + 1) * n][self.interior()]).collect();
        if self.global.sites() % BLOCK == 0 {
            // no block straddles two fields: the flat array's first pass is the fields' first passes in turn
            let pass1 = self.global_pass1(comm, &cols, &vec![Op::Sum; nvars]);
            return finish_tree(pass1.concat(), Op::Sum);
        }
        let owned: Vec<T> = cols.concat();
        crate::backend::cpu::reduce::tree_reduce(&self.all_gather(comm, &owned, nvars), Op::Sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::reduce::tree_reduce;
    use crate::parallel::Single;

    #[test]
    fn planes_split_and_reach_is_checked() {
        let lat = Lattice::new([4, 4, 10], 0.1);
        let zs: Vec<usize> = (0..=3).map(|p| first_plane(p, 3, 10)).collect();
        assert_eq!(zs, [0, 3, 6, 10]);
        assert!(Slab::new(lat, 4, 0, 3).is_err());
        let s = Slab::new(lat, 2, 2, 3).unwrap();
        assert_eq!((s.z0, s.nz, s.local.shape), (6, 4, [4, 4, 8]));
    }

    /// One rank: scatter puts the periodic neighbours in the ghosts, the exchange refills them from the owned
    /// planes, and the reductions equal the single-process tree (aligned and not).
    #[test]
    fn one_rank_is_the_periodic_lattice() {
        for shape in [[8, 8, 6], [5, 3, 7]] {
            let lat = Lattice::new(shape, 0.1);
            let s = Slab::new(lat, 2, 0, 1).unwrap();
            let global: Vec<f64> = (0..2 * lat.sites()).map(|i| (i as f64).sin()).collect();
            let mut u = s.scatter(&global, 2);
            let filled = u.clone();
            let n = s.local.sites();
            for v in 0..2 {
                u[v * n..v * n + s.interior().start].fill(f64::NAN);
                u[v * n + s.interior().end..(v + 1) * n].fill(f64::NAN);
            }
            s.exchange(&Single, &mut u, 2);
            assert_eq!(u, filled);
            assert_eq!(s.all_gather(&Single, &s.owned_of(&u, 2), 2), global);
            let cols: Vec<&[f64]> = (0..2).map(|v| &u[v * n..(v + 1) * n][s.interior()]).collect();
            let ng = lat.sites();
            assert_eq!(s.reduce(&Single, &cols, &[Op::Sum, Op::Max]), [tree_reduce(&global[..ng], Op::Sum), tree_reduce(&global[ng..], Op::Max)]);
            assert_eq!(s.state_sum(&Single, &u, 2), tree_reduce(&global, Op::Sum));
        }
    }
}
