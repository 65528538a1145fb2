//! Covariance localisation for an ensemble on the periodic lattice (numerics, no physics): the Schur product
//! Γ_ρ(x, y) = ρ(x, y) Γ_ens(x, y) with a positive-definite taper ρ, evaluated on blocks of sites.
//!
//! - Taper: the Gaspari–Cohn function GC(r; c) (Gaspari & Cohn 1999, Eq. 4.10; a compactly supported,
//!   positive-definite fifth-order piecewise rational function in R³, GC(0) = 1, GC = 0 for r ≥ 2c), made
//!   periodic by summing the images along each axis, and taken separable: ρ = ρ_x(Δx) ρ_y(Δy) ρ_z(Δz). A product
//!   of positive-definite kernels is positive definite, and so is a periodised one (its Fourier coefficients are
//!   samples of a non-negative transform), so Γ_ρ is positive semi-definite whenever Γ_ens is (Schur product
//!   theorem).
//! - Blocks: the lattice is tiled by blocks of b_a sites along axis a (b = ⌊c/(4h)⌋, at least 1); ρ is evaluated
//!   between block centres, so inside a block ρ = 1. The block taper ρ_B(x, y) = ρ(centre(x), centre(y)) is the
//!   restriction of a positive-definite function to a point set, pulled back to the sites: positive semi-definite.
//!   Sums over sites then become sums over blocks (Gram matrices per block) and a separable banded convolution.
//! - c = 0: no localisation, one block (ρ ≡ 1).
//! - Site pairs: when every block is one site (c < 8h), Γ_ρ v(i) = Σ_j ρ(i, j) Γ_ens(i, j) v(j) sums over the few
//!   sites j of the taper's support around i ([`SitePairs`]; K = Π_a |band_a| of them, 27 at c = h), with the 2 × 2
//!   blocks Γ_ens(i, j) formed from the members on the fly: O(K·M·n) work and no stored M × M matrix, the scheme
//!   the ensemble uses there when K ≤ 4M ([`Blocks::site_pairs`]). Same Γ_ρ as the block sums, in another order.
use super::lattice::Lattice;
use super::scratch::ScratchPool;

/// GC(r; c): Gaspari & Cohn (1999) Eq. (4.10), z = |r|/c.
pub fn gaspari_cohn(r: f64, c: f64) -> f64 {
    let z = r.abs() / c;
    if z <= 1.0 {
        ((((-0.25 * z + 0.5) * z + 0.625) * z - 5.0 / 3.0) * z) * z + 1.0
    } else if z < 2.0 {
        (((((z / 12.0 - 0.5) * z + 0.625) * z + 5.0 / 3.0) * z - 5.0) * z + 4.0) - 2.0 / (3.0 * z)
    } else {
        0.0
    }
}

/// The periodic one-dimensional taper Σ_m GC(d + mL; c) / Σ_m GC(mL; c) on an axis of length L (normalised to 1 at
/// d = 0; a positive multiple of a positive-definite function, and → 1 everywhere when c ≫ L).
pub fn periodic_taper(d: f64, length: f64, c: f64) -> f64 {
    let images = (2.0 * c / length).ceil() as i64 + 1;
    let sum = |x: f64| -> f64 { (-images..=images).map(|m| gaspari_cohn(x + m as f64 * length, c)).sum() };
    sum(d) / sum(0.0)
}

/// The block tiling of a lattice and the separable taper between block centres.
#[derive(Debug, Clone)]
pub struct Blocks {
    /// blocks along each axis
    pub counts: [usize; 3],
    /// block of each site (block index bx + nbx·(by + nby·bz))
    pub block_of: Vec<u32>,
    /// the sites of each block, block after block (CSR with `start`)
    pub sites: Vec<u32>,
    pub start: Vec<usize>,
    /// per axis, the banded taper between block positions: (offset, weight) pairs with ρ_a(offset) ≠ 0
    pub band: [Vec<(isize, f64)>; 3],
    /// block edge (sites) along each axis
    pub size: [usize; 3],
    /// the taper's work array, kept between calls
    scratch: ScratchPool,
}

/// The banded taper between the `count` block positions of one axis, `spacing` apart: (offset, ρ) with ρ ≠ 0,
/// evaluated at the nominal block positions o·b·h and periodised over count·b·h (the box length when b divides N;
/// otherwise the last block is shorter and the period is that of the block grid, which keeps the circulant taper
/// positive definite on it). Offsets −⌊nb/2⌋ … ⌈nb/2⌉−1 cover each periodic separation once.
fn axis_band(count: usize, spacing: f64, c: f64) -> Vec<(isize, f64)> {
    if c <= 0.0 || count == 1 {
        return vec![(0, 1.0)];
    }
    let nbk = count as isize;
    let len = count as f64 * spacing;
    (-(nbk / 2)..(nbk - nbk / 2))
        .filter_map(|o| {
            let w = periodic_taper(o as f64 * spacing, len, c);
            (w.abs() > 1e-15).then_some((o, w))
        })
        .collect()
}

/// The rule between the two schemes of the ensemble's localised products: site pairs when every block is one site,
/// the taper is not the identity (more than one block) and its support holds K ≤ 4M sites — their work 24·K·M per
/// site against ≈ 52·M² for the block Gram matrices, and no stored M × M matrices.
fn chooses_site_pairs(size: [usize; 3], counts: [usize; 3], k: usize, members: usize) -> bool {
    size == [1, 1, 1] && counts.iter().product::<usize>() > 1 && k <= 4 * members
}

/// The taper between single sites: ρ(i, i + o) = ρ_x(o_x) ρ_y(o_y) ρ_z(o_z) for every o with a non-zero weight,
/// visited z-offset outermost and x-offset innermost (the order the WGSL twin ensemble_pairs.wgsl sums in), with the
/// periodic wrap of each axis tabulated (no division in the sweep).
#[derive(Debug, Clone, PartialEq)]
pub struct SitePairs {
    pub shape: [usize; 3],
    /// per axis, the (offset, weight) band
    pub band: [Vec<(isize, f64)>; 3],
    /// per axis a, wrap[a][c·|band_a| + k] = (c + o_k) mod N_a times the axis stride
    wrap: [Vec<usize>; 3],
}

impl SitePairs {
    fn new(shape: [usize; 3], band: [Vec<(isize, f64)>; 3]) -> Self {
        let stride = [1, shape[0], shape[0] * shape[1]];
        let wrap = std::array::from_fn(|a| {
            (0..shape[a])
                .flat_map(|c| band[a].iter().map(move |&(o, _)| (c as isize + o).rem_euclid(shape[a] as isize) as usize))
                .map(|q| q * stride[a])
                .collect()
        });
        Self { shape, band, wrap }
    }
    /// K, the number of sites j with ρ(i, j) ≠ 0 around each site i.
    pub fn len(&self) -> usize {
        self.band.iter().map(Vec::len).product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The sites j = i + o (periodic) with their weights ρ_x ρ_y ρ_z, for site i.
    pub fn around(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let [n0, n1, _] = self.shape;
        let c = [i % n0, (i / n0) % n1, i / (n0 * n1)];
        let row = move |a: usize| {
            let k = self.band[a].len();
            self.wrap[a][c[a] * k..(c[a] + 1) * k].iter().zip(&self.band[a]).map(|(&q, &(_, w))| (q, w))
        };
        row(2).flat_map(move |(qz, wz)| {
            row(1).flat_map(move |(qy, wy)| row(0).map(move |(qx, wx)| (qx + qy + qz, wx * wy * wz)))
        })
    }
}

impl Blocks {
    /// Blocks for localisation half-width `c` (coordinate units; 0 = none: one block).
    pub fn new(lat: &Lattice, c: f64) -> Self {
        let h = lat.spacing;
        let (size, counts) = Self::tiling(lat, c);
        let n = lat.sites();
        let block_of: Vec<u32> = (0..n)
            .map(|i| {
                let x = lat.coords(i);
                let b: [usize; 3] = std::array::from_fn(|a| x[a] / size[a]);
                (b[0] + counts[0] * (b[1] + counts[1] * b[2])) as u32
            })
            .collect();
        let nb = counts.iter().product::<usize>();
        let mut start = vec![0usize; nb + 1];
        for &b in &block_of {
            start[b as usize + 1] += 1;
        }
        for b in 0..nb {
            start[b + 1] += start[b];
        }
        let mut fill = start.clone();
        let mut sites = vec![0u32; n];
        for (i, &b) in block_of.iter().enumerate() {
            sites[fill[b as usize]] = i as u32;
            fill[b as usize] += 1;
        }
        let band = std::array::from_fn(|a| axis_band(counts[a], size[a] as f64 * h, c));
        Self { counts, block_of, sites, start, band, size, scratch: ScratchPool::default() }
    }

    /// The taper as [`SitePairs`] when every block is one site and the taper is not the identity; `None` otherwise.
    pub fn pairs(&self) -> Option<SitePairs> {
        if self.global() || self.size != [1, 1, 1] {
            return None;
        }
        Some(SitePairs::new(self.counts, self.band.clone()))
    }

    /// The scheme of the ensemble's products with Γ_ρ for M members: the site pairs when the blocks are single
    /// sites and K ≤ 4M ([`chooses_site_pairs`]), else `None` (block Gram matrices).
    pub fn site_pairs(&self, members: usize) -> Option<SitePairs> {
        self.pairs().filter(|p| chooses_site_pairs(self.size, self.counts, p.len(), members))
    }

    /// Whether [`Blocks::site_pairs`] would choose the site pairs, without building the blocks (memory estimates).
    pub fn uses_site_pairs(lat: &Lattice, c: f64, members: usize) -> bool {
        let (size, counts) = Self::tiling(lat, c);
        let k = (0..3).map(|a| axis_band(counts[a], size[a] as f64 * lat.spacing, c).len()).product();
        chooses_site_pairs(size, counts, k, members)
    }

    /// Block edge (sites) and block counts along each axis for half-width `c`: edge max(1, ⌊c/4h⌋).
    fn tiling(lat: &Lattice, c: f64) -> ([usize; 3], [usize; 3]) {
        let edge = if c > 0.0 { ((c / (4.0 * lat.spacing)).floor() as usize).max(1) } else { usize::MAX };
        let size: [usize; 3] = std::array::from_fn(|a| edge.min(lat.shape[a]).max(1));
        (size, std::array::from_fn(|a| lat.shape[a].div_ceil(size[a])))
    }

    /// The number of blocks [`Blocks::new`] makes, without building them (memory estimates).
    pub fn count(lat: &Lattice, c: f64) -> usize {
        Self::tiling(lat, c).1.iter().product()
    }

    pub fn len(&self) -> usize {
        self.start.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The sites of block b.
    pub fn block(&self, b: usize) -> &[u32] {
        &self.sites[self.start[b]..self.start[b + 1]]
    }
    /// Whether the taper is the identity (one block).
    pub fn global(&self) -> bool {
        self.len() == 1
    }

    /// out_b = Σ_β ρ(b, β) in_β for per-block vectors of length `w` (in, out: nb·w): the separable banded sum,
    /// one axis after another.
    pub fn taper(&self, input: &[f64], w: usize, out: &mut [f64]) {
        use rayon::prelude::*;
        let nb = self.len();
        assert_eq!(input.len(), nb * w);
        out.copy_from_slice(input);
        if self.global() {
            return;
        }
        let [c0, c1, c2] = self.counts;
        let stride = [1, c0, c0 * c1];
        let mut tmp = self.scratch.zeroed(nb * w);
        for axis in 0..3 {
            if self.band[axis].len() == 1 && self.band[axis][0] == (0, 1.0) {
                continue;
            }
            let len = [c0, c1, c2][axis] as isize;
            tmp.par_chunks_mut(w).enumerate().for_each(|(b, t)| {
                t.iter_mut().for_each(|v| *v = 0.0);
                let pos = ((b / stride[axis]) % len as usize) as isize;
                for &(o, rho) in &self.band[axis] {
                    let q = (pos + o).rem_euclid(len) as usize;
                    let src = b - pos as usize * stride[axis] + q * stride[axis];
                    for (tv, ov) in t.iter_mut().zip(&out[src * w..(src + 1) * w]) {
                        *tv += rho * ov;
                    }
                }
            });
            out.copy_from_slice(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GC is continuous at z = 1 and 2 with GC(0) = 1, and the block taper is positive semi-definite (smallest
    /// eigenvalue of the dense nb × nb taper ≥ −1e-12) with ρ = 1 on the diagonal, on a lattice whose support wraps
    /// the box; a taper much longer than the box is flat (1 everywhere).
    #[test]
    fn gaspari_cohn_taper_is_positive_definite() {
        assert!((gaspari_cohn(0.0, 1.0) - 1.0).abs() < 1e-15);
        for z in [1.0, 2.0] {
            let (a, b) = (gaspari_cohn(z - 1e-9, 1.0), gaspari_cohn(z + 1e-9, 1.0));
            assert!((a - b).abs() < 1e-7, "GC jumps at z = {z}: {a} vs {b}");
        }
        for c in [0.3, 0.8, 2.0] {
            let lat = Lattice::new([12, 6, 1], 0.1);
            let blocks = Blocks::new(&lat, c);
            let nb = blocks.len();
            let mut dense = vec![0.0; nb * nb];
            for b in 0..nb {
                let mut e = vec![0.0; nb];
                e[b] = 1.0;
                let mut col = vec![0.0; nb];
                blocks.taper(&e, 1, &mut col);
                for (q, v) in col.iter().enumerate() {
                    dense[q * nb + b] = *v;
                }
            }
            let m = nalgebra::DMatrix::from_row_slice(nb, nb, &dense);
            assert!((&m - m.transpose()).abs().max() < 1e-14, "taper not symmetric (c = {c})");
            assert!((0..nb).all(|b| (dense[b * nb + b] - 1.0).abs() < 1e-14), "c = {c}: ρ(0) ≠ 1");
            let lo = nalgebra::SymmetricEigen::new(m).eigenvalues.min();
            assert!(lo > -1e-12, "c = {c}: smallest eigenvalue {lo}");
        }
        let flat = periodic_taper(0.45, 1.2, 100.0);
        assert!((flat - 1.0).abs() < 1e-3, "a long taper on a short axis is flat: {flat}");
    }

    #[test]
    fn blocks_partition_the_sites() {
        let lat = Lattice::new([10, 7, 3], 0.1);
        let b = Blocks::new(&lat, 0.8);
        assert_eq!(b.counts, [5, 4, 2]);
        let mut seen = vec![false; lat.sites()];
        for k in 0..b.len() {
            for &s in b.block(k) {
                assert!(!seen[s as usize]);
                seen[s as usize] = true;
                assert_eq!(b.block_of[s as usize] as usize, k);
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert!(Blocks::new(&lat, 0.0).global());
    }
}
