//! A rank's z-slab as the [`SiteDomain`] of a decomposed quantum field (issue 18): ghost planes refilled from the
//! neighbours ([`Slab::exchange_wide`]), box sums in the single-process plane order (each rank sums its own planes,
//! the plane sums travel — N3 values per column — and every rank adds them in z order), maxima over the ranks.
use super::slab::Slab;
use super::Comm;
use crate::backend::cpu::reduce::Op;
use crate::numerics::lattice::Lattice;
use crate::numerics::site_domain::{sum_in_order, SiteDomain};
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
    fn global_site(&self, i: usize) -> usize {
        let (plane, n3) = (self.slab.plane(), self.slab.global.shape[2]);
        let z = (self.slab.z0 + n3 + i / plane - self.slab.ghost) % n3;
        z * plane + i % plane
    }
    fn sum_planes(&self, planes: &[f64], ncols: usize) -> Vec<f64> {
        let parts: Vec<Vec<f64>> = self.comm.all_gather_bytes(bytemuck::cast_slice(planes)).iter().map(|b| bytemuck::pod_collect_to_vec(b)).collect();
        (0..ncols)
            .map(|c| {
                let all: Vec<f64> = parts
                    .iter()
                    .flat_map(|p| {
                        let nz = p.len() / ncols;
                        p[c * nz..(c + 1) * nz].to_vec()
                    })
                    .collect();
                sum_in_order(&all)
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
    fn all_gather<'a>(&self, u: &'a [f64], nvars: usize) -> std::borrow::Cow<'a, [f64]> {
        std::borrow::Cow::Owned(self.slab.all_gather(self.comm, &self.slab.owned_of(u, nvars), nvars))
    }
    fn all_gather_bytes(&self, owned: &[u8]) -> Vec<Vec<u8>> {
        self.comm.all_gather_bytes(owned)
    }
    fn swap_halo_bytes(&self, to_next: &[u8], to_prev: &[u8]) -> (Vec<u8>, Vec<u8>) {
        self.slab.swap_halos(self.comm, to_next, to_prev)
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
                            let placed = (0..nl).all(|i| local[i] == v[d.global_site(i)] && local[nl + i] == v[n + d.global_site(i)]);
                            assert!(placed && *d.all_gather(&local, 2) == **v, "rank {r} of {ranks}: global_site, all_gather");
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

    /// Chunked box sums (`box_sums_by`, the `fourier` field's) on planes of three chunks (129 × 64 sites) are the
    /// columns' `box_sums` bit for bit on 1–3 ranks, each chunk's sites are the owned ones in order, and the sum is
    /// the exact one to round-off.
    #[test]
    fn chunked_box_sums_are_the_plane_order_sums() {
        use crate::numerics::site_domain::{box_sums_by, PLANE_CHUNK};
        let lat = Lattice::new([129, 64, 3], 0.5);
        assert!(129 * 64 > 2 * PLANE_CHUNK, "planes of three chunks");
        let n = lat.sites();
        let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 10f64.powi(i as i32 % 7)).collect();
        let expected = WholeLattice(lat).box_sums(&[&v])[0];
        let exact: f64 = v.iter().map(|&x| x as f64).sum();
        assert!((expected - exact).abs() <= 1e-12 * v.iter().map(|x| x.abs()).sum::<f64>());
        for ranks in 1..=3 {
            let v = &v;
            std::thread::scope(|sc| {
                for (r, c) in ThreadComm::group(ranks).into_iter().enumerate() {
                    sc.spawn(move || {
                        let slab = Slab::new(lat, 1, r, ranks).unwrap();
                        let d = SlabDomain { slab: &slab, comm: &c };
                        let local = slab.scatter(v, 1);
                        let ([s], chunks) = box_sums_by(&d, |sites| ([local[sites.clone()].iter().fold(0.0, |a, x| a + x)], sites.len()));
                        assert_eq!(s, expected, "rank {r} of {ranks}");
                        assert_eq!(d.box_sums(&[&local])[0], expected);
                        let covered: Vec<usize> = chunks.iter().flat_map(|(s, len)| {
                            assert_eq!(s.len(), *len);
                            s.clone()
                        }).collect();
                        assert_eq!(covered, slab.interior().collect::<Vec<_>>());
                    });
                }
            });
        }
    }
}
