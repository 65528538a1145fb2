//! Where a field's local lattice sits in the run's lattice (issue 18): the whole periodic lattice on one process
//! ([`WholeLattice`]), or one rank's z-slab with ghost planes (parallel/slab.rs `SlabDomain`). A quantum field that
//! can be decomposed (the `ensemble`) computes on its local lattice, which is itself periodic, and asks its domain
//! for the three things a slab cannot do alone: fresh ghost planes, box sums over the whole lattice, and maxima over
//! the ranks. Both domains give the same bits, so a decomposed run is the single-process run bit for bit.
use super::lattice::Lattice;
use crate::backend::cpu::reduce::{tree_reduce, Op};
use std::ops::Range;

pub trait SiteDomain {
    /// The run's whole lattice.
    fn global(&self) -> Lattice;
    /// The local sites whose values are this domain's own (all sites of the whole lattice; a slab's owned planes).
    fn owned(&self) -> Range<usize>;
    /// The whole lattice's index of local site `i` (a slab's ghost planes wrap around the periodic z axis).
    fn global_site(&self, i: usize) -> usize;
    /// Refills the ghost planes of `nvars` fields of `width` values per site (field-major, site, then the `width`
    /// values: the members' layout); nothing to do on the whole lattice, whose stencils wrap around.
    fn exchange(&self, u: &mut [f64], nvars: usize, width: usize);
    /// Per column, the totals of all the whole lattice's planes added in z order (from 0.0): `planes` holds the totals
    /// of this domain's owned planes, column after column (`ncols` columns).
    fn sum_planes(&self, planes: &[f64], ncols: usize) -> Vec<f64>;
    /// Σ over the whole lattice of each column (local arrays: the owned sites count), summed plane by plane
    /// ([`plane_sums`]) and then over the planes in z order ([`Self::sum_planes`]).
    fn box_sums(&self, cols: &[&[f64]]) -> Vec<f64> {
        let (r, plane) = (self.owned(), plane_of(&self.global()));
        let local: Vec<f64> = cols.iter().flat_map(|c| plane_sums(&c[r.clone()], plane)).collect();
        self.sum_planes(&local, cols.len())
    }
    /// The maximum of `v` over the ranks (f64::max: NaN is ignored, as a fold over the sites ignores it).
    fn max(&self, v: f64) -> f64;
    /// The minimum of `v` over the ranks.
    fn min(&self, v: f64) -> f64 {
        -self.max(-v)
    }
    /// The box reduction of each column (local arrays: the owned sites count) in the 64-wide tree of
    /// backend/cpu/reduce.rs over the whole lattice's site order (the diagnostics' order, the GPU's).
    fn reduce(&self, cols: &[&[f64]], ops: &[Op]) -> Vec<f64>;
    /// The whole lattice's `nvars` fields (field-major) from the owned sites of the local fields `u` (every rank
    /// gets all of them: the `fourier` field's transforms of the mean field; the whole lattice lends `u` itself).
    fn all_gather<'a>(&self, u: &'a [f64], nvars: usize) -> std::borrow::Cow<'a, [f64]>;
    /// Every rank's `owned` bytes (values of its owned sites, or of their 64-site groups), in rank order: the order
    /// of the whole lattice's sites (the GPU `fourier` field's host round-trips on a slab; the whole lattice: `owned`).
    fn all_gather_bytes(&self, owned: &[u8]) -> Vec<Vec<u8>>;
    /// The ring exchange of a slab's packed halo planes as bytes (those sent to rank + 1, to rank − 1): returns
    /// (from rank − 1, from rank + 1); the GPU ensemble's host round-trips (issue 18). The whole lattice is its own
    /// neighbour.
    fn swap_halo_bytes(&self, to_next: &[u8], to_prev: &[u8]) -> (Vec<u8>, Vec<u8>);
}

/// The whole periodic lattice of one process.
#[derive(Debug, Clone, Copy)]
pub struct WholeLattice(pub Lattice);

impl SiteDomain for WholeLattice {
    fn global(&self) -> Lattice {
        self.0
    }
    fn owned(&self) -> Range<usize> {
        0..self.0.sites()
    }
    fn global_site(&self, i: usize) -> usize {
        i
    }
    fn exchange(&self, _: &mut [f64], _: usize, _: usize) {}
    fn sum_planes(&self, planes: &[f64], ncols: usize) -> Vec<f64> {
        let nz = self.0.shape[2];
        (0..ncols).map(|c| sum_in_order(&planes[c * nz..(c + 1) * nz])).collect()
    }
    fn max(&self, v: f64) -> f64 {
        v
    }
    fn reduce(&self, cols: &[&[f64]], ops: &[Op]) -> Vec<f64> {
        cols.iter().zip(ops).map(|(c, &op)| tree_reduce(c, op)).collect()
    }
    fn all_gather<'a>(&self, u: &'a [f64], nvars: usize) -> std::borrow::Cow<'a, [f64]> {
        std::borrow::Cow::Borrowed(&u[..nvars * self.0.sites()])
    }
    fn all_gather_bytes(&self, owned: &[u8]) -> Vec<Vec<u8>> {
        vec![owned.to_vec()]
    }
    fn swap_halo_bytes(&self, to_next: &[u8], to_prev: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (to_next.to_vec(), to_prev.to_vec())
    }
}

/// Sites of one plane (N1·N2).
pub fn plane_of(lattice: &Lattice) -> usize {
    lattice.shape[0] * lattice.shape[1]
}

/// The pieces a plane's sum is taken in: a plane's sites in chunks of this many, in order (so a large plane's sum
/// runs in parallel and is still the same on any number of threads and ranks).
pub const PLANE_CHUNK: usize = 4096;

/// The chunks of the whole `planes` in `sites` (a range of whole planes of `plane` sites): each plane's sites in
/// pieces of [`PLANE_CHUNK`], plane after plane.
pub fn plane_chunks(sites: Range<usize>, plane: usize) -> Vec<Range<usize>> {
    debug_assert!(sites.start % plane == 0 && sites.end % plane == 0, "whole planes");
    (sites.start / plane..sites.end / plane)
        .flat_map(|z| (0..plane.div_ceil(PLANE_CHUNK)).map(move |c| z * plane + c * PLANE_CHUNK..z * plane + ((c + 1) * PLANE_CHUNK).min(plane)))
        .collect()
}

/// Box sums over the `domain`'s whole lattice of C columns computed chunk by chunk ([`plane_chunks`] of the owned
/// sites, in parallel): `per_chunk(sites)` returns the sum over the chunk's sites, in order from 0.0, and whatever
/// else it computes for them. A plane's total is its chunks' sums in order, the box sum the planes' in z order —
/// the order of [`SiteDomain::box_sums`]. Returns the sums and each chunk's other result with its sites.
pub fn box_sums_by<const C: usize, R: Send>(
    domain: &dyn SiteDomain,
    per_chunk: impl Fn(Range<usize>) -> ([f64; C], R) + Sync,
) -> ([f64; C], Vec<(Range<usize>, R)>) {
    use rayon::prelude::*;
    let plane = plane_of(&domain.global());
    let owned = domain.owned();
    let chunks = plane_chunks(owned.clone(), plane);
    let done: Vec<([f64; C], R)> = chunks.par_iter().map(|r| per_chunk(r.clone())).collect();
    let nplanes = owned.len() / plane;
    let mut planes = vec![0.0; C * nplanes];
    for (r, (s, _)) in chunks.iter().zip(&done) {
        let z = (r.start - owned.start) / plane;
        for (c, v) in s.iter().enumerate() {
            planes[c * nplanes + z] += v;
        }
    }
    let sums = domain.sum_planes(&planes, C);
    (std::array::from_fn(|c| sums[c]), chunks.into_iter().zip(done.into_iter().map(|(_, r)| r)).collect())
}

/// The sum of each whole plane of `plane` sites of `values`: its [`PLANE_CHUNK`]s' sums (each in order from 0.0)
/// added in order from 0.0 (one chunk: the plane's sites in order).
pub fn plane_sums(values: &[f64], plane: usize) -> Vec<f64> {
    values.chunks(plane).map(|p| p.chunks(PLANE_CHUNK).map(sum_in_order).fold(0.0, |s, x| s + x)).collect()
}

/// Σ v in the order given, from 0.0.
pub fn sum_in_order(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |s, x| s + x)
}

/// The box mean of per-site values over the domain's whole lattice ([`SiteDomain::box_sums`] / N).
pub fn box_means(domain: &dyn SiteDomain, cols: &[&[f64]]) -> Vec<f64> {
    let n = domain.global().sites() as f64;
    domain.box_sums(cols).into_iter().map(|s| s / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plane-order sum of the whole lattice is the sum of every value (to round-off) and the box mean its
    /// N-th part.
    #[test]
    fn plane_order_sum_is_the_sum() {
        let lat = Lattice::new([3, 2, 5], 1.0);
        let v: Vec<f64> = (0..lat.sites()).map(|i| (i as f64 * 0.37).sin() * 1e3f64.powi(i as i32 % 3)).collect();
        let d = WholeLattice(lat);
        let s = d.box_sums(&[&v])[0];
        let exact: f64 = v.iter().sum();
        assert!((s - exact).abs() <= 1e-12 * v.iter().map(|x| x.abs()).sum::<f64>());
        assert_eq!(box_means(&d, &[&v])[0], s / 30.0);
        assert_eq!(d.owned(), 0..30);
    }
}
