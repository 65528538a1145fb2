//! A rank's z-slab as the [`SiteDomain`] of a decomposed quantum field (issue 18): ghost planes refilled from the
//! neighbours ([`Slab::exchange_wide`]), box sums in the single-process plane order (each rank sums its own planes,
//! the plane sums travel — N3 values per column — and every rank adds them in z order), maxima over the ranks.
use super::slab::Slab;
use super::Comm;
use crate::backend::cpu::reduce::Op;
use crate::numerics::lattice::Lattice;
use crate::numerics::site_domain::{plane_sums, sum_in_order, SiteDomain};
use std::ops::Range;

pub struct SlabDomain<'a> {
    pub slab: &'a Slab,
    pub comm: &'a dyn Comm,
}

impl SiteDomain for SlabDomain<'_> {
    fn global(&self) -> Lattice {
        self.slab.global
    }
    fn owned(&self) -> Range<usize> {
        self.slab.interior()
    }
    fn exchange(&self, u: &mut [f64], nvars: usize, width: usize) {
        self.slab.exchange_wide(self.comm, u, &(0..nvars).collect::<Vec<_>>(), width);
    }
    fn box_sums(&self, cols: &[&[f64]]) -> Vec<f64> {
        let r = self.slab.interior();
        let local: Vec<f64> = cols.iter().flat_map(|c| plane_sums(&c[r.clone()], self.slab.plane())).collect();
        let parts: Vec<Vec<f64>> = self.comm.all_gather_bytes(bytemuck::cast_slice(&local)).iter().map(|b| bytemuck::pod_collect_to_vec(b)).collect();
        (0..cols.len())
            .map(|c| {
                let planes: Vec<f64> = parts
                    .iter()
                    .flat_map(|p| {
                        let nz = p.len() / cols.len();
                        p[c * nz..(c + 1) * nz].to_vec()
                    })
                    .collect();
                sum_in_order(&planes)
            })
            .collect()
    }
    fn max(&self, v: f64) -> f64 {
        super::all_gather_f64(self.comm, &[v]).into_iter().fold(v, f64::max)
    }
    fn reduce(&self, cols: &[&[f64]], ops: &[Op]) -> Vec<f64> {
        let r = self.slab.interior();
        let owned: Vec<&[f64]> = cols.iter().map(|c| &c[r.clone()]).collect();
        self.slab.reduce(self.comm, &owned, ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::site_domain::WholeLattice;
    use crate::parallel::threads::ThreadComm;

    /// On 1–3 ranks (threads) the slab's box sums and maxima are the whole lattice's, bit for bit, and the
    /// exchange of a 3-wide field refills its ghost planes with the periodic neighbours' values.
    #[test]
    fn slabs_sum_and_exchange_as_the_whole_lattice() {
        let lat = Lattice::new([3, 4, 7], 0.5);
        let n = lat.sites();
        let v: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.71).sin() * 10f64.powi(i as i32 % 5)).collect();
        let whole = WholeLattice(lat);
        let expected = whole.box_sums(&[&v[..n], &v[n..]]);
        let wide: Vec<f64> = (0..2 * n * 3).map(|i| i as f64).collect();
        for ranks in 1..=3 {
            let (v, wide) = (&v, &wide);
            let got: Vec<_> = std::thread::scope(|sc| {
                let hs: Vec<_> = ThreadComm::group(ranks)
                    .into_iter()
                    .enumerate()
                    .map(|(r, c)| {
                        sc.spawn(move || {
                            let slab = Slab::new(lat, 2, r, ranks).unwrap();
                            let d = SlabDomain { slab: &slab, comm: &c };
                            let local = slab.scatter(v, 2);
                            let nl = slab.local.sites();
                            let sums = d.box_sums(&[&local[..nl], &local[nl..]]);
                            let mut w = slab.scatter_wide(wide, 2, 3);
                            let filled = w.clone();
                            w.iter_mut().for_each(|x| *x = -1.0);
                            let owned = slab.owned_of_wide(&filled, 2, 3);
                            for f in 0..2 {
                                let range = f * nl * 3 + slab.interior().start * 3..f * nl * 3 + slab.interior().end * 3;
                                w[range.clone()].copy_from_slice(&filled[range]);
                            }
                            d.exchange(&mut w, 2, 3);
                            (sums, d.max(r as f64), w == filled, slab.all_gather_wide(&c, &owned, 2, 3) == *wide)
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (r, (sums, max, exchanged, gathered)) in got.into_iter().enumerate() {
                assert_eq!(sums, expected, "rank {r} of {ranks}: box sums");
                assert_eq!(max, (ranks - 1) as f64);
                assert!(exchanged && gathered, "rank {r} of {ranks}: exchange {exchanged}, gather {gathered}");
            }
        }
    }
}
