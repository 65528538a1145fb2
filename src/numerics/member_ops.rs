//! Linear algebra on an ensemble of M lattice phase-space vectors ("members") δ_s = (δφ_s(·), δπ_s(·)) ∈ R^{2n}
//! (numerics, no physics). Layout: member-minor, `d[(f·n + i)·M + s]` for field f (0: φ, 1: π), site i, member s —
//! every site's M values are contiguous, so the stencil loops vectorise over the members, and a block of sites is a
//! (rows × M) matrix for the Gram products (GEMM through `matrixmultiply`, runtime AVX/FMA dispatch).
//!
//! Operations (each the twin of a WGSL kernel where the GPU uses it):
//! - [`MemberOps::jets_at`]: Y_x = R_x δ_s (numerics/jets.rs) for all members at one site;
//! - [`MemberOps::local_covs`]: Σ_s w_s Y_x Y_xᵀ per site;
//! - [`MemberOps::apply_forms`]: Σ_x R_xᵀ z_x R_x δ_s for all members (Rᵀ as a gather over each site's incoming
//!   stencil taps, so it parallelises over sites);
//! - [`MemberOps::gram`] / [`MemberOps::gram_vec`]: per-block Gram matrices Σ_{rows ∈ block} a_r b_s;
//! - [`MemberOps::combine`] / [`MemberOps::combine_vec`]: out(rows of block b) += α · δ(rows) · C_b;
//! - [`MemberOps::pair_products`] / [`MemberOps::pair_vec`]: the same localised products by site pairs
//!   (numerics/localization.rs [`SitePairs`]), with the 2 × 2 cross-products of two sites' rows formed on the fly.
use super::jets::{JetMap, Mat5, J_PHI, J_PI};
use super::localization::{Blocks, SitePairs};
use super::par;
use super::scratch::ScratchPool;
use rayon::prelude::*;

/// The stencil reach of R for an ensemble of `m` members on `n` sites.
#[derive(Debug, Clone)]
pub struct MemberOps {
    pub jets: JetMap,
    pub n: usize,
    pub m: usize,
    /// for each site p, the (site x, axis a, weight w) with p a tap of D_a at x (CSR)
    in_start: Vec<usize>,
    incoming: Vec<(u32, u32, f64)>,
    /// work arrays of O(M·n) and O(M²·blocks) reused between calls (numerics/scratch.rs)
    pub scratch: ScratchPool,
}

/// Blocks with at least this many rows use a gathered GEMM for their Gram matrix; smaller ones rank-one updates.
const GEMM_ROWS: usize = 32;

/// Which field's rows of a member array a Gram product reads (φ rows, π rows, or both).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rows {
    Phi,
    Pi,
    Both,
}

impl MemberOps {
    pub fn new(jets: JetMap, m: usize) -> Self {
        let n = jets.n;
        let mut count = vec![0usize; n + 1];
        for x in 0..n {
            for a in 0..3 {
                for &(p, _) in jets.axis_taps(x, a) {
                    count[p as usize + 1] += 1;
                }
            }
        }
        for p in 0..n {
            count[p + 1] += count[p];
        }
        let mut fill = count.clone();
        let mut keyed = vec![((0usize, 0usize), (0u32, 0u32, 0.0)); count[n]];
        for x in 0..n {
            for a in 0..3 {
                for (j, &(p, w)) in jets.axis_taps(x, a).iter().enumerate() {
                    keyed[fill[p as usize]] = ((a, j), (x as u32, a as u32, w));
                    fill[p as usize] += 1;
                }
            }
        }
        // each site's incoming taps in the order (axis, tap) — fixed by the stencil, not by where the periodic wrap
        // puts the sending sites, so a slab's local lattice sums them as the whole lattice does (issue 18)
        for p in 0..n {
            keyed[count[p]..count[p + 1]].sort_by_key(|e| e.0);
        }
        let incoming = keyed.into_iter().map(|e| e.1).collect();
        Self { jets, n, m, in_start: count, incoming, scratch: ScratchPool::default() }
    }

    /// out = Σ_x R_xᵀ z_x R_x v for one vector v (2n; overwrites out), each site's sum in the order of
    /// [`Self::apply_forms`] (independent of the periodic wrap, unlike `JetMap::apply`).
    pub fn apply_forms_vec(&self, z: &[Mat5], v: &[f64], out: &mut [f64]) {
        let n = self.n;
        let t: Vec<[f64; 5]> = par::map(n, n, |x| {
            let y = self.jets.jets_at(v, x);
            std::array::from_fn(|i| (0..5).fold(0.0, |s, j| if z[x][i][j] != 0.0 { s + z[x][i][j] * y[j] } else { s }))
        });
        let (phi, pi) = out.split_at_mut(n);
        phi.par_iter_mut().zip(pi.par_iter_mut()).enumerate().for_each(|(p, (op, oq))| {
            *op = t[p][J_PHI];
            *oq = t[p][J_PI];
            for &(x, a, w) in &self.incoming[self.in_start[p]..self.in_start[p + 1]] {
                *op += w * t[x as usize][a as usize];
            }
        });
    }

    /// Length of a member array (2n·M).
    pub fn len(&self) -> usize {
        2 * self.n * self.m
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Y_x = R_x δ_s for every member: out[j·M + s], j = 0..5 (gradient, φ, π).
    #[inline]
    pub fn jets_at(&self, d: &[f64], x: usize, out: &mut [f64]) {
        let m = self.m;
        out[..3 * m].iter_mut().for_each(|v| *v = 0.0);
        for a in 0..3 {
            let o = &mut out[a * m..(a + 1) * m];
            for &(p, w) in self.jets.axis_taps(x, a) {
                let row = &d[p as usize * m..(p as usize + 1) * m];
                o.iter_mut().zip(row).for_each(|(v, r)| *v += w * r);
            }
        }
        out[J_PHI * m..(J_PHI + 1) * m].copy_from_slice(&d[x * m..(x + 1) * m]);
        out[J_PI * m..(J_PI + 1) * m].copy_from_slice(&d[(self.n + x) * m..(self.n + x + 1) * m]);
    }

    /// Per site, scale · Σ_s Y_x,s Y_x,sᵀ (5×5).
    pub fn local_covs(&self, d: &[f64], scale: f64) -> Vec<Mat5> {
        let m = self.m;
        (0..self.n)
            .into_par_iter()
            .map_init(
                || vec![0.0; 5 * m],
                |y, x| {
                    self.jets_at(d, x, y);
                    let mut c = [[0.0; 5]; 5];
                    for i in 0..5 {
                        for j in i..5 {
                            let s: f64 = y[i * m..(i + 1) * m].iter().zip(&y[j * m..(j + 1) * m]).map(|(a, b)| a * b).sum();
                            c[i][j] = scale * s;
                            c[j][i] = scale * s;
                        }
                    }
                    c
                },
            )
            .collect()
    }

    /// out = Σ_x R_xᵀ z_x R_x δ_s for every member (overwrites out).
    pub fn apply_forms(&self, z: &[Mat5], d: &[f64], out: &mut [f64]) {
        let (n, m) = (self.n, self.m);
        // t_x = z_x Y_x for all members, then (Rᵀt)(p)_φ = t_p[φ] + Σ_(x,a,w) w t_x[a], (Rᵀt)(p)_π = t_p[π]
        let mut t = self.scratch.zeroed(5 * n * m);
        t.par_chunks_mut(5 * m).enumerate().for_each_init(
            || vec![0.0; 5 * m],
            |y, (x, tx)| {
                self.jets_at(d, x, y);
                let zx = &z[x];
                for i in 0..5 {
                    let o = &mut tx[i * m..(i + 1) * m];
                    o.iter_mut().for_each(|v| *v = 0.0);
                    for j in 0..5 {
                        let c = zx[i][j];
                        if c != 0.0 {
                            o.iter_mut().zip(&y[j * m..(j + 1) * m]).for_each(|(v, yv)| *v += c * yv);
                        }
                    }
                }
            },
        );
        let (phi, pi) = out.split_at_mut(n * m);
        phi.par_chunks_mut(m).zip(pi.par_chunks_mut(m)).enumerate().for_each(|(p, (op, oq))| {
            op.copy_from_slice(&t[(5 * p + J_PHI) * m..(5 * p + J_PHI + 1) * m]);
            oq.copy_from_slice(&t[(5 * p + J_PI) * m..(5 * p + J_PI + 1) * m]);
            for &(x, a, w) in &self.incoming[self.in_start[p]..self.in_start[p + 1]] {
                let tx = &t[(5 * x as usize + a as usize) * m..(5 * x as usize + a as usize + 1) * m];
                op.iter_mut().zip(tx).for_each(|(v, tv)| *v += w * tv);
            }
        });
    }

    fn block_rows(&self, blocks: &Blocks, b: usize, rows: Rows) -> Vec<usize> {
        let sites = blocks.block(b);
        let f = |off: usize| sites.iter().map(move |&i| off + i as usize);
        match rows {
            Rows::Phi => f(0).collect(),
            Rows::Pi => f(self.n).collect(),
            Rows::Both => f(0).chain(f(self.n)).collect(),
        }
    }

    fn gather(&self, d: &[f64], rows: &[usize]) -> Vec<f64> {
        let m = self.m;
        let mut g = Vec::with_capacity(rows.len() * m);
        for &r in rows {
            g.extend_from_slice(&d[r * m..(r + 1) * m]);
        }
        g
    }

    /// out[b] += scale · Σ_{rows of block b} a_rowᵀ b_row (M × M per block, row-major), where the rows of `a` are
    /// `ra` and those of `bm` the matching `rb` (same sites). Small blocks by direct rank-one updates, large ones by
    /// a gathered GEMM.
    pub fn gram(&self, blocks: &Blocks, a: &[f64], ra: Rows, bm: &[f64], rb: Rows, scale: f64, out: &mut [f64]) {
        let m = self.m;
        out.par_chunks_mut(m * m).enumerate().for_each(|(b, g)| {
            let (rows_a, rows_b) = (self.block_rows(blocks, b, ra), self.block_rows(blocks, b, rb));
            let k = rows_a.len();
            if k < GEMM_ROWS {
                for (&p, &q) in rows_a.iter().zip(&rows_b) {
                    let (ar, br) = (&a[p * m..(p + 1) * m], &bm[q * m..(q + 1) * m]);
                    for (r, &x) in ar.iter().enumerate() {
                        let c = scale * x;
                        g[r * m..(r + 1) * m].iter_mut().zip(br).for_each(|(o, y)| *o += c * y);
                    }
                }
                return;
            }
            let (ga, gb) = (self.gather(a, &rows_a), self.gather(bm, &rows_b));
            // g (M × M) += scale · gaᵀ (M × k) · gb (k × M)
            unsafe {
                matrixmultiply::dgemm(
                    m, k, m, scale,
                    ga.as_ptr(), 1, m as isize,
                    gb.as_ptr(), m as isize, 1,
                    1.0, g.as_mut_ptr(), m as isize, 1,
                );
            }
        });
    }

    /// out[b] += scale · Σ_{rows of block b} a_row · v_row for a vector v (2n, or its φ/π half by `rows`): M per block.
    pub fn gram_vec(&self, blocks: &Blocks, a: &[f64], v: &[f64], rows: Rows, scale: f64, out: &mut [f64]) {
        let m = self.m;
        out.par_chunks_mut(m).enumerate().for_each(|(b, g)| {
            for r in self.block_rows(blocks, b, rows) {
                let c = scale * v[r];
                g.iter_mut().zip(&a[r * m..(r + 1) * m]).for_each(|(gv, av)| *gv += c * av);
            }
        });
    }

    /// out(rows of block b) += alpha · d(rows) · C_b for every block (C: nb × M × M row-major; all 2n rows): row by
    /// row (each a 1 × M by M × M product), in parallel over rows.
    pub fn combine(&self, blocks: &Blocks, d: &[f64], c: &[f64], alpha: f64, out: &mut [f64]) {
        let m = self.m;
        out.par_chunks_mut(m).enumerate().for_each(|(row, o)| {
            let b = blocks.block_of[row % self.n] as usize;
            let cb = &c[b * m * m..(b + 1) * m * m];
            for (r, &x) in d[row * m..(row + 1) * m].iter().enumerate() {
                let w = alpha * x;
                if w != 0.0 {
                    o.iter_mut().zip(&cb[r * m..(r + 1) * m]).for_each(|(v, y)| *v += w * y);
                }
            }
        });
    }

    /// out[row] += alpha · Σ_s d[row, s] c_b[s] for every row of block b (c: nb × M; out: 2n).
    pub fn combine_vec(&self, blocks: &Blocks, d: &[f64], c: &[f64], alpha: f64, out: &mut [f64]) {
        let m = self.m;
        out.par_iter_mut().enumerate().for_each(|(row, o)| {
            let b = blocks.block_of[row % self.n] as usize;
            let s: f64 = d[row * m..(row + 1) * m].iter().zip(&c[b * m..(b + 1) * m]).map(|(x, y)| x * y).sum();
            *o += alpha * s;
        });
    }
}

/// Per half h ∈ {A = [0, M/2), B = [M/2, M)} the 2 × 2 cross-products of the rows of sites i and j:
/// c[h][f][g] = Σ_{r ∈ h} d[(f·n + i)·M + r] · d[(g·n + j)·M + r] (f, g: 0 φ, 1 π).
type PairGram = [[[f64; 2]; 2]; 2];

/// The four cross-products Σ_r a_f[r] b_g[r] (f, g ∈ {φ, π}) of two sites' rows over one half, in one pass with four
/// interleaved partial sums each (so the compiler vectorises it).
#[inline]
fn cross4(a: [&[f64]; 2], b: [&[f64]; 2]) -> [[f64; 2]; 2] {
    let mut acc = [[[0.0; 4]; 2]; 2];
    let mut tail = [[0.0; 2]; 2];
    let chunks = a[0].len() / 4;
    for c in 0..chunks {
        let r = 4 * c..4 * c + 4;
        let (a0, a1, b0, b1) = (&a[0][r.clone()], &a[1][r.clone()], &b[0][r.clone()], &b[1][r]);
        for k in 0..4 {
            acc[0][0][k] += a0[k] * b0[k];
            acc[0][1][k] += a0[k] * b1[k];
            acc[1][0][k] += a1[k] * b0[k];
            acc[1][1][k] += a1[k] * b1[k];
        }
    }
    for r in 4 * chunks..a[0].len() {
        for f in 0..2 {
            for g in 0..2 {
                tail[f][g] += a[f][r] * b[g][r];
            }
        }
    }
    std::array::from_fn(|f| std::array::from_fn(|g| (acc[f][g][0] + acc[f][g][1]) + (acc[f][g][2] + acc[f][g][3]) + tail[f][g]))
}

impl MemberOps {
    fn pair_gram(&self, d: &[f64], i: usize, j: usize) -> PairGram {
        let (n, m) = (self.n, self.m);
        let hm = m / 2;
        let row = |f: usize, x: usize, h: usize| &d[(f * n + x) * m + h * hm..(f * n + x) * m + (h + 1) * hm];
        std::array::from_fn(|h| cross4([row(0, i, h), row(1, i, h)], [row(0, j, h), row(1, j, h)]))
    }

    /// The localised products of the symplectic generator by site pairs (twin: ensemble_pairs.wgsl, mode 0), every
    /// member s moved by the OTHER half h̄(s)'s covariance:
    ///   w(f, i, s)    = α_w Σ_j ρ_ij Σ_g C^{h̄(s)}_fg(i, j) (Ω⁻¹δ_s)(g, j),  (Ω⁻¹δ)_φ = −ΔV δ_π, (Ω⁻¹δ)_π = ΔV δ_φ
    ///   out(f, i, s) (= or, with `add`, +=) α_u Σ_j ρ_ij Σ_g C^{h̄(s)}_fg(i, j) u_s(g, j)
    /// (w overwritten) — the same as `gram` + `Blocks::taper` + `combine` of those products with one-site blocks.
    /// Only the sites i in `sites` (whole planes; all sites on one process, a slab's owned planes: issue 18) are
    /// computed; w and out keep their values elsewhere.
    #[allow(clippy::too_many_arguments)]
    pub fn pair_products(&self, pairs: &SitePairs, d: &[f64], u: &[f64], dv: f64, alpha_w: f64, w: &mut [f64], alpha_u: f64, out: &mut [f64], add: bool, sites: std::ops::Range<usize>) {
        let (n, m) = (self.n, self.m);
        let [nx, ny, _] = pairs.shape;
        let (wphi, wpi) = w.split_at_mut(n * m);
        let (ophi, opi) = out.split_at_mut(n * m);
        let (first, nz) = (sites.start, sites.len().div_ceil(nx * ny));
        let r = sites.start * m..sites.end * m;
        let (wphi, wpi, ophi, opi) = (&mut wphi[r.clone()], &mut wpi[r.clone()], &mut ophi[r.clone()], &mut opi[r]);
        // cache blocking: contiguous slabs of whole z-planes (rows when the lattice is one plane), each visited with y
        // outermost, so the rows the support reaches (3 × 3 rows of d and u around a row) are reused from cache
        let tasks = 4 * rayon::current_num_threads();
        let plane = nx * ny;
        let slab = if nz > 1 { plane * (nz / tasks).max(1) } else { nx * (ny / tasks).max(1) };
        wphi.par_chunks_mut(slab * m)
            .zip(wpi.par_chunks_mut(slab * m))
            .zip(ophi.par_chunks_mut(slab * m).zip(opi.par_chunks_mut(slab * m)))
            .enumerate()
            .for_each_init(
                || vec![0.0; 4 * m],
                |acc, (t, ((wf, wp), (of, op)))| {
                    let sites = wf.len() / m;
                    let planes = if sites % plane == 0 { sites / plane } else { 1 };
                    let local = (0..ny).flat_map(|y| (0..planes).map(move |z| z * plane + y * nx)).filter(|&r| r < sites);
                    for k in local.flat_map(|r| r..(r + nx).min(sites)) {
                        let i = first + t * slab + k;
                        acc.iter_mut().for_each(|v| *v = 0.0);
                        for (j, rho) in pairs.around(i) {
                            let c = self.pair_gram(d, i, j);
                            let row = |f: usize| (f * n + j) * m..(f * n + j + 1) * m;
                            let (dphi, dpi, uphi, upi) = (&d[row(0)], &d[row(1)], &u[row(0)], &u[row(1)]);
                            // member s moves with the other half's covariance
                            for (h, members) in [(1, 0..m / 2), (0, m / 2..m)] {
                                let g = c[h].map(|r| r.map(|v| rho * v));
                                for s in members {
                                    let (e0, e1) = (-dv * dpi[s], dv * dphi[s]);
                                    acc[s] += g[0][0] * e0 + g[0][1] * e1;
                                    acc[m + s] += g[1][0] * e0 + g[1][1] * e1;
                                    acc[2 * m + s] += g[0][0] * uphi[s] + g[0][1] * upi[s];
                                    acc[3 * m + s] += g[1][0] * uphi[s] + g[1][1] * upi[s];
                                }
                            }
                        }
                        let o = k * m..(k + 1) * m;
                        for ((s, wv), pv) in (0..m).zip(&mut wf[o.clone()]).zip(&mut wp[o.clone()]) {
                            *wv = alpha_w * acc[s];
                            *pv = alpha_w * acc[m + s];
                        }
                        for ((s, ov), pv) in (0..m).zip(&mut of[o.clone()]).zip(&mut op[o]) {
                            let (vf, vp) = (alpha_u * acc[2 * m + s], alpha_u * acc[3 * m + s]);
                            if add {
                                *ov += vf;
                                *pv += vp;
                            } else {
                                *ov = vf;
                                *pv = vp;
                            }
                        }
                    }
                },
            );
    }

    /// out(f, i) = α Σ_j ρ_ij Σ_g (C^A + C^B)_fg(i, j) v(g, j) for a vector v (2n; overwrites out; twin:
    /// ensemble_pairs.wgsl, mode 1) — the same as `gram_vec` + `Blocks::taper` + `combine_vec` with one-site blocks.
    /// Only the sites in `sites` are computed (as [`Self::pair_products`]).
    pub fn pair_vec(&self, pairs: &SitePairs, d: &[f64], v: &[f64], alpha: f64, out: &mut [f64], sites: std::ops::Range<usize>) {
        let n = self.n;
        let (ophi, opi) = out.split_at_mut(n);
        let first = sites.start;
        ophi[sites.clone()].par_iter_mut().zip(opi[sites].par_iter_mut()).enumerate().for_each(|(i, (of, op))| {
            let i = first + i;
            let (mut a0, mut a1) = (0.0, 0.0);
            for (j, rho) in pairs.around(i) {
                let c = self.pair_gram(d, i, j);
                let g = |f: usize, h: usize| c[0][f][h] + c[1][f][h];
                a0 += rho * (g(0, 0) * v[j] + g(0, 1) * v[n + j]);
                a1 += rho * (g(1, 0) * v[j] + g(1, 1) * v[n + j]);
            }
            *of = alpha * a0;
            *op = alpha * a1;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::lattice::Lattice;
    use crate::numerics::stencil::Stencil;

    fn rnd(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    /// Every operation against the single-vector JetMap operations and explicit sums, member by member, on a
    /// lattice with a wrapped short axis, with and without localisation blocks.
    #[test]
    fn member_operations_match_single_vector_ones() {
        let lat = Lattice::new([6, 5, 2], 0.3);
        let (n, m) = (lat.sites(), 7);
        let ops = MemberOps::new(JetMap::new(&lat, &Stencil::new(4)), m);
        let mut seed = 3;
        let d: Vec<f64> = (0..2 * n * m).map(|_| rnd(&mut seed)).collect();
        let e: Vec<f64> = (0..2 * n * m).map(|_| rnd(&mut seed)).collect();
        let member = |a: &[f64], s: usize| -> Vec<f64> { (0..2 * n).map(|r| a[r * m + s]).collect() };
        let z: Vec<Mat5> = (0..n).map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rnd(&mut seed)))).collect();
        let mut out = vec![0.0; 2 * n * m];
        ops.apply_forms(&z, &d, &mut out);
        for s in 0..m {
            let mut want = vec![0.0; 2 * n];
            ops.jets.apply(&z, &member(&d, s), &mut want);
            let got = member(&out, s);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "apply_forms member {s}");
            }
            // the one-vector form: the member's column of apply_forms, bit for bit (the same sums in the same order)
            let mut one = vec![0.0; 2 * n];
            ops.apply_forms_vec(&z, &member(&d, s), &mut one);
            assert!(one.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "apply_forms_vec member {s}");
        }
        // each site's incoming taps in (axis, tap) order, whatever the site numbers the periodic wrap gives them
        for p in 0..n {
            let taps = &ops.incoming[ops.in_start[p]..ops.in_start[p + 1]];
            assert_eq!(taps.len(), 12, "site {p}: 3 axes × 4 taps");
            assert!(taps.windows(2).all(|w| w[0].1 <= w[1].1), "site {p}: axes in order");
            let first = taps.iter().find(|t| t.1 == 0).unwrap();
            assert_eq!(first.0 as usize, lat.shifted(lat.coords(p), 0, -1), "site {p}: first tap from its −x neighbour (tap +1 of it)");
        }
        let covs = ops.local_covs(&d, 0.5);
        for x in [0, 17, n - 1] {
            for i in 0..5 {
                for j in 0..5 {
                    let want: f64 = (0..m).map(|s| 0.5 * ops.jets.jets_at(&member(&d, s), x)[i] * ops.jets.jets_at(&member(&d, s), x)[j]).sum();
                    assert!((covs[x][i][j] - want).abs() < 1e-13);
                }
            }
        }
        for c in [0.0, 0.6] {
            let blocks = Blocks::new(&lat, c);
            let nb = blocks.len();
            let mut g = vec![0.0; nb * m * m];
            ops.gram(&blocks, &d, Rows::Phi, &e, Rows::Pi, 2.0, &mut g);
            for b in 0..nb {
                for (r, s) in [(0, 0), (2, 5), (6, 1)] {
                    let want: f64 = blocks.block(b).iter().map(|&i| 2.0 * d[i as usize * m + r] * e[(n + i as usize) * m + s]).sum();
                    assert!((g[(b * m + r) * m + s] - want).abs() < 1e-12);
                }
            }
            let v: Vec<f64> = (0..2 * n).map(|_| rnd(&mut seed)).collect();
            let mut gv = vec![0.0; nb * m];
            ops.gram_vec(&blocks, &d, &v, Rows::Both, 1.0, &mut gv);
            let mut o = vec![0.0; 2 * n * m];
            ops.combine(&blocks, &d, &g, 0.5, &mut o);
            let mut ov = vec![0.0; 2 * n];
            ops.combine_vec(&blocks, &d, &gv, 1.0, &mut ov);
            for row in [0, 3, n + 2, 2 * n - 1] {
                let b = blocks.block_of[row % n] as usize;
                let wv: f64 = (0..m).map(|r| d[row * m + r] * gv[b * m + r]).sum();
                assert!((ov[row] - wv).abs() < 1e-12);
                for s in [0, 4] {
                    let w: f64 = (0..m).map(|r| 0.5 * d[row * m + r] * g[(b * m + r) * m + s]).sum();
                    assert!((o[row * m + s] - w).abs() < 1e-12);
                }
            }
        }
    }
}
