//! Symmetric 3-tensors stored as 6 components xx, xy, xz, yy, yz, zz (SPEC §1), and the few operations
//! the equations need. Sums over index pairs run over all 9 (a,b): off-diagonal components count twice.
use crate::numerics::lanes::Arith;

/// Storage index of the symmetric pair (a, b).
pub const SYM: [[usize; 3]; 3] = [[0, 1, 2], [1, 3, 4], [2, 4, 5]];
/// Index pair (a, b) of storage component k.
pub const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];

pub type Sym<T> = [T; 6];

#[inline(always)]
pub fn det<T: Arith>(g: &Sym<T>) -> T {
    g[0] * (g[3] * g[5] - g[4] * g[4]) - g[1] * (g[1] * g[5] - g[4] * g[2]) + g[2] * (g[1] * g[4] - g[3] * g[2])
}

/// Inverse of a symmetric matrix and its determinant: (g^ab, det g).
#[inline(always)]
pub fn inverse<T: Arith>(g: &Sym<T>) -> (Sym<T>, T) {
    let d = det(g);
    let id = T::one() / d;
    (
        [
            (g[3] * g[5] - g[4] * g[4]) * id,
            (g[2] * g[4] - g[1] * g[5]) * id,
            (g[1] * g[4] - g[2] * g[3]) * id,
            (g[0] * g[5] - g[2] * g[2]) * id,
            (g[1] * g[2] - g[0] * g[4]) * id,
            (g[0] * g[3] - g[1] * g[1]) * id,
        ],
        d,
    )
}

/// (A B A)^ab for symmetric A, B: e.g. π_ab = g_ac π^cd g_db, or R^ab = g^ac R_cd g^db.
#[inline(always)]
pub fn sandwich<T: Arith>(a: &Sym<T>, b: &Sym<T>) -> Sym<T> {
    let mut out = [T::zero(); 6];
    for (k, &(i, j)) in PAIRS.iter().enumerate() {
        let mut s = T::zero();
        for c in 0..3 {
            for d in 0..3 {
                s = s + a[SYM[i][c]] * b[SYM[c][d]] * a[SYM[d][j]];
            }
        }
        out[k] = s;
    }
    out
}

/// Full contraction Σ_ab A^ab B_ab over all 9 index pairs.
#[inline(always)]
pub fn contract<T: Arith>(a: &Sym<T>, b: &Sym<T>) -> T {
    a[0] * b[0] + a[3] * b[3] + a[5] * b[5] + T::c(2.0) * (a[1] * b[1] + a[2] * b[2] + a[4] * b[4])
}
