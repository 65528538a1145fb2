//! The lattice "jet" map of the quantum scalar field (SPEC §4): at each site x the five linear functionals
//!   Y_x = R_x X = (D_1φ(x), D_2φ(x), D_3φ(x), φ(x), π_φ(x))
//! of the phase-space vector X = (φ(·), π_φ(·)) ∈ R^{2n}, with D_a the SPEC §2 first-derivative stencil (the same
//! one the classical field uses, numerics/stencil.rs). Every quadratic operator of the model — the Hamiltonian
//! H_m = ½XᵀMX, each back-reaction observable L̂_I = ½XᵀA_IX, and every sum Σ_IJ c_IJ A_I(·)A_J of §4.1 — is a
//! *jet form*  Σ_x R_xᵀ z_x R_x  with one 5×5 matrix z_x per site. This file applies such forms to vectors and
//! dense matrices; it knows no physics.
//!
//! Because the centred stencil has no weight at its centre, R_x Ω R_xᵀ only links φ(x) and π(x):
//! ω = R_x Ω R_xᵀ = (1/ΔV)(e_φ e_πᵀ − e_π e_φᵀ).
use super::isa::Isa;
use super::lattice::Lattice;
use super::scratch::ScratchPool;
use super::stencil::Stencil;
use rayon::prelude::*;

/// A 5×5 block of a jet form.
pub type Mat5 = [[f64; 5]; 5];
pub const ZERO5: Mat5 = [[0.0; 5]; 5];
/// Jet index of φ(x) and π_φ(x) (0..3 are the gradient components).
pub const J_PHI: usize = 3;
pub const J_PI: usize = 4;

/// The taps of R on a periodic lattice (wrapped points repeat, so their weights add, as in the stencils).
#[derive(Debug, Clone)]
pub struct JetMap {
    pub n: usize,
    /// Per site: the taps (site, weight) of each axis, D_aφ(x) = Σ w φ(site), then (x, 1) and (n + x, 1) (the
    /// functionals φ(x) and π_φ(x)).
    taps: Vec<(u32, f64)>,
    /// functional k of site x: taps[start[5x + k] .. start[5x + k + 1]]
    start: Vec<u32>,
    pub cell_volume: f64,
    /// the work arrays of `apply_rows` (numerics/scratch.rs)
    scratch: ScratchPool,
}

/// Rows of a row-major matrix taken together by [`JetMap::apply_rows`]: one block of each column is a few vectors.
const ROW_BLOCK: usize = 64;
/// Most taps of one functional: 2·radius, radius ≤ 2 (numerics/stencil.rs).
const MAX_TAPS: usize = 4;

/// The start of Rust's f64 `sum()` (its fold starts from −0.0), so that the blocked loops below add exactly what
/// the per-row `sum()`s do.
#[inline(always)]
pub fn sum_start() -> f64 {
    std::iter::empty::<f64>().sum()
}

impl JetMap {
    /// The taps of the stencil as they are: 2·radius per axis, a site the periodic wrap reaches twice listed
    /// twice (the order of the classical stencils, which the ensemble's member products keep on every slab).
    pub fn new(lat: &Lattice, stencil: &Stencil) -> Self {
        Self::build(lat, stencil, false)
    }

    /// The same functionals with the taps that the periodic wrap puts on one site added into one (in the
    /// stencil's order) and taps of zero total weight dropped: on an axis of N ≤ 2·radius sites fewer taps, and
    /// none on an axis of 1 or 2 sites, where the centred difference vanishes identically (D_a = 0: the weights
    /// ±w of the wrapped pairs cancel exactly). Equal to [`Self::new`] up to the order of the additions.
    pub fn merged(lat: &Lattice, stencil: &Stencil) -> Self {
        Self::build(lat, stencil, true)
    }

    fn build(lat: &Lattice, stencil: &Stencil, merge: bool) -> Self {
        let n = lat.sites();
        let r = stencil.radius;
        let inv = 1.0 / (stencil.d1 * lat.spacing);
        let mut taps: Vec<(u32, f64)> = Vec::with_capacity(n * (6 * r + 2));
        let mut start = Vec::with_capacity(5 * n + 1);
        for x in 0..n {
            let c = lat.coords(x);
            for axis in 0..3 {
                start.push(taps.len() as u32);
                let first = taps.len();
                for k in 1..=r {
                    let w = stencil.c1[r + k] * inv;
                    for (p, w) in [(lat.shifted(c, axis, k as isize) as u32, w), (lat.shifted(c, axis, -(k as isize)) as u32, -w)] {
                        match taps[first..].iter_mut().find(|t| merge && t.0 == p) {
                            Some(t) => t.1 += w,
                            None => taps.push((p, w)),
                        }
                    }
                }
                if merge {
                    let kept: Vec<(u32, f64)> = taps.drain(first..).filter(|t| t.1 != 0.0).collect();
                    taps.extend(kept);
                }
            }
            start.push(taps.len() as u32);
            taps.push((x as u32, 1.0));
            start.push(taps.len() as u32);
            taps.push(((n + x) as u32, 1.0));
        }
        start.push(taps.len() as u32);
        Self { n, taps, start, cell_volume: lat.cell_volume(), scratch: ScratchPool::default() }
    }

    /// Which jets of site x have taps: the gradient jets of an axis whose taps all merged away are identically
    /// zero ([`Self::merged`]); φ and π always have theirs.
    #[inline(always)]
    fn live(&self, x: usize) -> [bool; 5] {
        let s = &self.start[5 * x..5 * x + 4];
        [s[1] > s[0], s[2] > s[1], s[3] > s[2], true, true]
    }

    #[inline(always)]
    pub fn axis_taps(&self, x: usize, axis: usize) -> &[(u32, f64)] {
        self.functional_taps(x, axis)
    }

    /// The nonzero entries (index into R^{2n}, weight) of the jet functional k at site x, without allocating.
    #[inline(always)]
    pub fn functional_taps(&self, x: usize, k: usize) -> &[(u32, f64)] {
        let i = 5 * x + k;
        &self.taps[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// Y_x of the vector v = (φ, π) (length 2n).
    #[inline(always)]
    pub fn jets_at(&self, v: &[f64], x: usize) -> [f64; 5] {
        let mut y = [0.0; 5];
        for (a, ya) in y.iter_mut().take(3).enumerate() {
            *ya = self.axis_taps(x, a).iter().map(|&(p, w)| w * v[p as usize]).sum();
        }
        y[J_PHI] = v[x];
        y[J_PI] = v[self.n + x];
        y
    }

    /// The nonzero entries (index into R^{2n}, weight) of the jet functional k at site x.
    pub fn functional(&self, x: usize, k: usize) -> Vec<(usize, f64)> {
        self.functional_taps(x, k).iter().map(|&(p, w)| (p as usize, w)).collect()
    }

    /// out = Σ_x R_xᵀ z_x R_x v (overwrites out, length 2n).
    pub fn apply(&self, z: &[Mat5], v: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for x in 0..self.n {
            let y = self.jets_at(v, x);
            let zx = &z[x];
            // a gradient jet with no taps (merged map, 1- or 2-site axis) is zero: its terms are skipped
            let live = self.live(x);
            let t: [f64; 5] = std::array::from_fn(|a| if live[a] { (0..5).filter(|&b| live[b]).map(|b| zx[a][b] * y[b]).sum() } else { 0.0 });
            for (a, ta) in t.iter().take(3).enumerate() {
                for &(p, w) in self.axis_taps(x, a) {
                    out[p as usize] += w * ta;
                }
            }
            out[x] += t[J_PHI];
            out[self.n + x] += t[J_PI];
        }
    }

    /// Row-wise: out[i, :] = (Σ_x R_xᵀ z_x R_x) m[i, :] for every row i of the row-major (2n × 2n) matrix m,
    /// i.e. out = m·(Σ R_xᵀ z_xᵀ R_x). For symmetric z_x this is m·Z.
    ///
    /// Computed a block of rows at a time on the transposes (column p of m is the contiguous row p of mᵀ), so each
    /// tap is one pass over a short contiguous vector instead of a gather per row; every element gets the
    /// operations of [`Self::apply`] on its row, in the same order, so the result is bit for bit `apply` per row.
    pub fn apply_rows(&self, z: &[Mat5], m: &[f64], out: &mut [f64]) {
        self.apply_rows_isa(Isa::detect(), z, m, out)
    }

    /// [`Self::apply_rows`] with the block kernel built for `isa` (one of `Isa::available()`).
    pub fn apply_rows_isa(&self, isa: Isa, z: &[Mat5], m: &[f64], out: &mut [f64]) {
        assert!(isa == Isa::detect() || Isa::available().contains(&isa), "instruction set {isa:?} is not available on this CPU");
        let d = 2 * self.n;
        let mut mt = self.scratch.zeroed(d * d);
        transpose_into(m, d, &mut mt);
        // block b (rows i0..i1) of outᵀ at [i0·d .. i1·d], zero-filled
        let mut blocks = self.scratch.zeroed(d * d);
        let block = |(b, ot): (usize, &mut [f64])| {
            let (i0, i1) = (b * ROW_BLOCK, ((b + 1) * ROW_BLOCK).min(d));
            // SAFETY: the CPU has `isa` (asserted above)
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { row_block_avx512(self, z, &mt, i0, i1, ot) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { row_block_avx2(self, z, &mt, i0, i1, ot) },
                _ => self.apply_row_block(z, &mt, i0, i1, ot),
            }
        };
        if !super::par::parallel_work(d * self.n) {
            blocks.chunks_mut(ROW_BLOCK * d).enumerate().for_each(block);
        } else {
            blocks.par_chunks_mut(ROW_BLOCK * d).enumerate().for_each(block);
        }
        for (b, ot) in blocks.chunks(ROW_BLOCK * d).enumerate() {
            let i0 = b * ROW_BLOCK;
            let len = ot.len() / d;
            for (q, column) in ot.chunks_exact(len).enumerate() {
                for (k, &v) in column.iter().enumerate() {
                    out[(i0 + k) * d + q] = v;
                }
            }
        }
    }

    /// [`Self::apply_rows`] for the rows i0..i1 of m (mt = mᵀ): the block of outᵀ, column q of the output at
    /// q·len..(q + 1)·len, len = i1 − i0, added into `ot` (zero-filled by the caller).
    #[inline(always)]
    fn apply_row_block(&self, z: &[Mat5], mt: &[f64], i0: usize, i1: usize, ot: &mut [f64]) {
        // blocks of a few fixed lengths with the length known to the compiler (unrolled, whole vectors)
        match i1 - i0 {
            ROW_BLOCK => self.row_block::<ROW_BLOCK, true>(z, mt, i0, i1, ot),
            32 => self.row_block::<32, true>(z, mt, i0, i1, ot),
            16 => self.row_block::<16, true>(z, mt, i0, i1, ot),
            _ => self.row_block::<ROW_BLOCK, false>(z, mt, i0, i1, ot),
        }
    }

    /// [`Self::apply_row_block`] for len = i1 − i0 ≤ B rows (exactly B when `EXACT`).
    #[inline(always)]
    fn row_block<const B: usize, const EXACT: bool>(&self, z: &[Mat5], mt: &[f64], i0: usize, i1: usize, ot: &mut [f64]) {
        let d = 2 * self.n;
        let len = if EXACT { B } else { i1 - i0 };
        assert!(len <= B && i1 - i0 == len && ot.len() == d * len);
        let col = |p: usize| i0 + p * d..i0 + p * d + len;
        let out = |p: usize| p * len..(p + 1) * len;
        let mut y = [[0.0; B]; 3];
        let mut t = [[0.0; B]; 5];
        for x in 0..self.n {
            // Y_x of every row (jets_at)
            for (a, ya) in y.iter_mut().enumerate() {
                let ya = &mut ya[..len];
                ya.fill(sum_start());
                for &(p, w) in self.axis_taps(x, a) {
                    ya.iter_mut().zip(&mt[col(p as usize)]).for_each(|(o, v)| *o += w * v);
                }
            }
            let (yphi, ypi) = (&mt[col(x)], &mt[col(self.n + x)]);
            // t = z_x Y_x (the terms of gradient jets with no taps skipped, as in `apply`)
            let zx = &z[x];
            let live = self.live(x);
            for (a, ta) in t.iter_mut().enumerate().filter(|(a, _)| live[*a]) {
                let ta = &mut ta[..len];
                ta.fill(sum_start());
                for (b, yb) in [&y[0][..len], &y[1][..len], &y[2][..len], yphi, ypi].into_iter().enumerate().filter(|(b, _)| live[*b]) {
                    let zab = zx[a][b];
                    ta.iter_mut().zip(yb).for_each(|(o, v)| *o += zab * v);
                }
            }
            // out += R_xᵀ t
            for (a, ta) in t.iter().take(3).enumerate() {
                for &(p, w) in self.axis_taps(x, a) {
                    ot[out(p as usize)].iter_mut().zip(&ta[..len]).for_each(|(o, v)| *o += w * v);
                }
            }
            ot[out(x)].iter_mut().zip(&t[J_PHI][..len]).for_each(|(o, v)| *o += v);
            ot[out(self.n + x)].iter_mut().zip(&t[J_PI][..len]).for_each(|(o, v)| *o += v);
        }
    }

    /// R_x Γ R_xᵀ for the row-major (2n × 2n) matrix Γ.
    pub fn local_cov(&self, gamma: &[f64], x: usize) -> Mat5 {
        let d = 2 * self.n;
        let f: [&[(u32, f64)]; 5] = std::array::from_fn(|k| self.functional_taps(x, k));
        let mut out = ZERO5;
        for a in 0..5 {
            for b in a..5 {
                let mut s = 0.0;
                for &(p, wp) in f[a] {
                    let row = &gamma[p as usize * d..(p as usize + 1) * d];
                    for &(q, wq) in f[b] {
                        s += wp * wq * row[q as usize];
                    }
                }
                out[a][b] = s;
                out[b][a] = s;
            }
        }
        out
    }

    /// out += scale · Σ_x R_xᵀ z_x R_x as a dense row-major (2n × 2n) matrix.
    pub fn scatter(&self, z: &[Mat5], scale: f64, out: &mut [f64]) {
        self.scatter_mapped(z, scale, out, |p| (p, 1.0));
    }

    /// out += scale · Ω (Σ_x R_xᵀ z_x R_x) Ωᵀ, Ω = (1/ΔV)[[0, I], [−I, 0]] (out row-major 2n × 2n).
    /// (Ωu)_φ = u_π/ΔV, (Ωu)_π = −u_φ/ΔV: the φ-entry p of a functional moves to the π-entry with sign −1,
    /// the π-entry to the φ-entry with sign +1.
    pub fn scatter_omega(&self, z: &[Mat5], scale: f64, out: &mut [f64]) {
        let n = self.n;
        let s = scale / (self.cell_volume * self.cell_volume);
        self.scatter_mapped(z, s, out, move |p| if p < n { (p + n, -1.0) } else { (p - n, 1.0) });
    }

    fn scatter_mapped(&self, z: &[Mat5], scale: f64, out: &mut [f64], map: impl Fn(usize) -> (usize, f64)) {
        let d = 2 * self.n;
        for x in 0..self.n {
            // the taps of the 5 functionals, mapped (at most 2·radius each)
            let mut f = [[(0usize, 0.0f64); MAX_TAPS]; 5];
            let mut len = [0usize; 5];
            for (k, (fk, lk)) in f.iter_mut().zip(&mut len).enumerate() {
                let taps = self.functional_taps(x, k);
                for (o, &(p, w)) in fk.iter_mut().zip(taps) {
                    let (q, sg) = map(p as usize);
                    *o = (q, sg * w);
                }
                *lk = taps.len();
            }
            for a in 0..5 {
                for b in 0..5 {
                    let zab = z[x][a][b] * scale;
                    if zab == 0.0 {
                        continue;
                    }
                    for &(p, wp) in &f[a][..len[a]] {
                        for &(q, wq) in &f[b][..len[b]] {
                            out[p * d + q] += zab * wp * wq;
                        }
                    }
                }
            }
        }
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_block_avx2(j: &JetMap, z: &[Mat5], mt: &[f64], i0: usize, i1: usize, ot: &mut [f64]) {
    j.apply_row_block(z, mt, i0, i1, ot)
}

/// # Safety
/// The CPU must have AVX-512 F, VL and DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512dq")]
unsafe fn row_block_avx512(j: &JetMap, z: &[Mat5], mt: &[f64], i0: usize, i1: usize, ot: &mut [f64]) {
    j.apply_row_block(z, mt, i0, i1, ot)
}

/// t = mᵀ of the row-major d × d matrix m.
fn transpose_into(m: &[f64], d: usize, t: &mut [f64]) {
    for (i, row) in m.chunks_exact(d).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j * d + i] = v;
        }
    }
}

/// 5×5 helpers.
pub fn mat5_mul(a: &Mat5, b: &Mat5) -> Mat5 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..5).map(|k| a[i][k] * b[k][j]).sum()))
}
#[inline(always)]
pub fn mat5_axpy(alpha: f64, a: &Mat5, out: &mut Mat5) {
    // element-wise, as one flat run of 25 (whole vectors)
    for (o, v) in out.as_flattened_mut().iter_mut().zip(a.as_flattened()) {
        *o += alpha * v;
    }
}
pub fn mat5_transpose(a: &Mat5) -> Mat5 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[j][i]))
}
/// tr(a b)
#[inline(always)]
pub fn mat5_trace_prod(a: &Mat5, b: &Mat5) -> f64 {
    (0..5).map(|i| (0..5).map(|j| a[i][j] * b[j][i]).sum::<f64>()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked apply_rows is bit for bit `apply` on each row (same operations per element, in the same
    /// order), with every instruction set this CPU has, on a lattice with more rows than one block (d = 2·105 > 64:
    /// blocks of 64 and 18 rows), on blocks of exactly 16 and 32 rows and one of 12, and wrapped 2-site axes.
    #[test]
    fn apply_rows_is_apply_per_row_bit_for_bit() {
        for ((shape, order), merged) in [([7, 5, 3], 4), ([2, 2, 2], 4), ([4, 4, 1], 2), ([6, 1, 1], 2), ([3, 4, 2], 4)].into_iter().flat_map(|c| [(c, false), (c, true)]) {
            let lat = Lattice::new(shape, 0.9);
            let jm = if merged { JetMap::merged(&lat, &Stencil::new(order)) } else { JetMap::new(&lat, &Stencil::new(order)) };
            let d = 2 * lat.sites();
            let mut seed = 7u64;
            let mut rnd = || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            };
            let z: Vec<Mat5> = (0..lat.sites()).map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rnd()))).collect();
            let m: Vec<f64> = (0..d * d).map(|_| rnd()).collect();
            for isa in Isa::available() {
                let mut rows = vec![0.0; d * d];
                jm.apply_rows_isa(isa, &z, &m, &mut rows);
                let mut one = vec![0.0; d];
                for i in 0..d {
                    jm.apply(&z, &m[i * d..(i + 1) * d], &mut one);
                    for j in 0..d {
                        assert_eq!(rows[i * d + j].to_bits(), one[j].to_bits(), "{shape:?} merged {merged} {isa:?}: ({i}, {j})");
                    }
                }
            }
        }
    }

    /// apply, apply_rows, local_cov and scatter_omega against the explicit dense matrix of R (built from
    /// `functional`), on a lattice with a wrapped 2-site axis, with the stencil's taps and with the merged ones.
    #[test]
    fn jet_forms_match_dense_matrices() {
        for merged in [false, true] {
            jet_forms_match_dense_matrices_of(merged);
        }
    }

    /// The merged map's taps: fewer on the wrapped axes (none on the 2-site one, where D_2 vanishes), the same
    /// functionals (its dense R is the stencil's to round-off).
    #[test]
    fn merged_taps_are_the_same_functionals() {
        let lat = Lattice::new([5, 2, 3], 0.7);
        let (plain, merged) = (JetMap::new(&lat, &Stencil::new(4)), JetMap::merged(&lat, &Stencil::new(4)));
        let n = lat.sites();
        for x in 0..n {
            assert_eq!((plain.axis_taps(x, 0).len(), plain.axis_taps(x, 1).len(), plain.axis_taps(x, 2).len()), (4, 4, 4));
            assert_eq!((merged.axis_taps(x, 0).len(), merged.axis_taps(x, 1).len(), merged.axis_taps(x, 2).len()), (4, 0, 2));
            for k in 0..5 {
                let mut row = vec![0.0; 2 * n];
                plain.functional(x, k).into_iter().for_each(|(p, w)| row[p] += w);
                merged.functional(x, k).into_iter().for_each(|(p, w)| row[p] -= w);
                assert!(row.iter().all(|v| v.abs() < 1e-14), "site {x}, jet {k}: {row:?}");
            }
        }
    }

    fn jet_forms_match_dense_matrices_of(merged: bool) {
        let lat = Lattice::new([5, 2, 3], 0.7);
        let jm = if merged { JetMap::merged(&lat, &Stencil::new(4)) } else { JetMap::new(&lat, &Stencil::new(4)) };
        let n = lat.sites();
        let d = 2 * n;
        let mut r = vec![vec![0.0; d]; 5 * n]; // rows (x, k)
        for x in 0..n {
            for k in 0..5 {
                for (p, w) in jm.functional(x, k) {
                    r[5 * x + k][p] += w;
                }
            }
        }
        let mut seed = 1u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let z: Vec<Mat5> = (0..n).map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rnd()))).collect();
        // dense Σ R_xᵀ z_x R_x
        let mut big = vec![0.0; d * d];
        for x in 0..n {
            for a in 0..5 {
                for b in 0..5 {
                    for p in 0..d {
                        for q in 0..d {
                            big[p * d + q] += r[5 * x + a][p] * z[x][a][b] * r[5 * x + b][q];
                        }
                    }
                }
            }
        }
        let v: Vec<f64> = (0..d).map(|_| rnd()).collect();
        let mut out = vec![0.0; d];
        jm.apply(&z, &v, &mut out);
        for p in 0..d {
            let e: f64 = (0..d).map(|q| big[p * d + q] * v[q]).sum();
            assert!((out[p] - e).abs() < 1e-12, "apply {p}");
        }
        let m: Vec<f64> = (0..d * d).map(|_| rnd()).collect();
        let mut rows = vec![0.0; d * d];
        jm.apply_rows(&z, &m, &mut rows);
        for i in 0..d {
            for j in 0..d {
                let e: f64 = (0..d).map(|l| m[i * d + l] * big[j * d + l]).sum(); // m·Zᵀ
                assert!((rows[i * d + j] - e).abs() < 1e-11);
            }
        }
        let sym: Vec<f64> = (0..d * d).map(|k| m[k] + m[(k % d) * d + k / d]).collect();
        let cov = jm.local_cov(&sym, 3);
        for a in 0..5 {
            for b in 0..5 {
                let e: f64 = (0..d).map(|p| (0..d).map(|q| r[15 + a][p] * sym[p * d + q] * r[15 + b][q]).sum::<f64>()).sum();
                assert!((cov[a][b] - e).abs() < 1e-12);
            }
        }
        let dv = lat.cell_volume();
        let omega = |p: usize, q: usize| -> f64 {
            if p < n && q == p + n {
                1.0 / dv
            } else if p >= n && q + n == p {
                -1.0 / dv
            } else {
                0.0
            }
        };
        let mut so = vec![0.0; d * d];
        jm.scatter_omega(&z, 0.5, &mut so);
        for p in 0..d {
            for q in 0..d {
                let mut e = 0.0;
                for i in 0..d {
                    if omega(p, i) == 0.0 {
                        continue;
                    }
                    for j in 0..d {
                        if omega(q, j) != 0.0 {
                            e += omega(p, i) * big[i * d + j] * omega(q, j);
                        }
                    }
                }
                assert!((so[p * d + q] - 0.5 * e).abs() < 1e-9 * (1.0 + e.abs()), "{p} {q}");
            }
        }
    }
}
