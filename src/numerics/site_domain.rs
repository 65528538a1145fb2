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
    /// Refills the ghost planes of `nvars` fields of `width` values per site (field-major, site, then the `width`
    /// values: the members' layout); nothing to do on the whole lattice, whose stencils wrap around.
    fn exchange(&self, u: &mut [f64], nvars: usize, width: usize);
    /// Σ over the whole lattice of each column (local arrays: the owned sites count), summed plane by plane (each
    /// plane's sites in order, from 0) and then over the planes in z order (from 0): [`plane_sums`], then [`sum_in_order`].
    fn box_sums(&self, cols: &[&[f64]]) -> Vec<f64>;
    /// The maximum of `v` over the ranks (f64::max: NaN is ignored, as a fold over the sites ignores it).
    fn max(&self, v: f64) -> f64;
    /// The minimum of `v` over the ranks.
    fn min(&self, v: f64) -> f64 {
        -self.max(-v)
    }
    /// The box reduction of each column (local arrays: the owned sites count) in the 64-wide tree of
    /// backend/cpu/reduce.rs over the whole lattice's site order (the diagnostics' order, the GPU's).
    fn reduce(&self, cols: &[&[f64]], ops: &[Op]) -> Vec<f64>;
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
    fn exchange(&self, _: &mut [f64], _: usize, _: usize) {}
    fn box_sums(&self, cols: &[&[f64]]) -> Vec<f64> {
        let plane = self.0.shape[0] * self.0.shape[1];
        cols.iter().map(|c| sum_in_order(&plane_sums(c, plane))).collect()
    }
    fn max(&self, v: f64) -> f64 {
        v
    }
    fn reduce(&self, cols: &[&[f64]], ops: &[Op]) -> Vec<f64> {
        cols.iter().zip(ops).map(|(c, &op)| tree_reduce(c, op)).collect()
    }
}

/// The sum of each whole plane of `plane` sites of `values`, each plane's sites in order from 0.0.
pub fn plane_sums(values: &[f64], plane: usize) -> Vec<f64> {
    values.chunks(plane).map(sum_in_order).collect()
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
