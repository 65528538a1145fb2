//! Christoffel symbols and the Ricci tensor of the 3-metric from its first and second derivatives (SPEC §2).
//!   Γ_kij = ½(∂_i g_kj + ∂_j g_ki − ∂_k g_ij),   Γ^k_ij = g^kl Γ_lij
//!   R_ij = ∂_k Γ^k_ij − ∂_j Γ^k_ik + Γ^k_kl Γ^l_ij − Γ^k_jl Γ^l_ik
//! with ∂_m Γ^k_ij = g^kl ∂_m Γ_lij − g^ka g^lb ∂_m g_ab Γ_lij. Twin: shaders/ricci.wgsl.
use super::tensor::{Sym, PAIRS, SYM};
use crate::numerics::lanes::Arith;
use crate::numerics::unroll::unroll;

/// First and second coordinate derivatives of a symmetric tensor field at one site:
/// `d[k][ab] = ∂_k g_ab`, `dd[SYM[k][l]][ab] = ∂_k ∂_l g_ab`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SymDerivs<T> {
    pub d: [Sym<T>; 3],
    pub dd: [Sym<T>; 6],
}

/// Christoffel symbols of the first kind Γ_lij = ½(∂_i g_lj + ∂_j g_li − ∂_l g_ij), stored `first[l][SYM[i][j]]`.
#[inline(always)]
pub fn christoffel_first<T: Arith>(dg: &[Sym<T>; 3]) -> [Sym<T>; 3] {
    let half = T::c(0.5);
    let mut first = [[T::zero(); 6]; 3];
    for l in 0..3 {
        for (s, &(i, j)) in PAIRS.iter().enumerate() {
            first[l][s] = half * (dg[i][SYM[l][j]] + dg[j][SYM[l][i]] - dg[l][s]);
        }
    }
    first
}

/// Christoffel symbols of the second kind Γ^k_ij = g^kl Γ_lij, stored `gam[k][SYM[i][j]]`.
#[inline(always)]
pub fn raise_first<T: Arith>(ginv: &Sym<T>, first: &[Sym<T>; 3]) -> [Sym<T>; 3] {
    let mut gam = [[T::zero(); 6]; 3];
    // written out (numerics/unroll.rs): as a loop on lanes, LLVM vectorised it across k with gathers
    unroll!(k in 0..3 => {
        unroll!(s in 0..6 => {
            gam[k][s] = ginv[SYM[k][0]] * first[0][s] + ginv[SYM[k][1]] * first[1][s] + ginv[SYM[k][2]] * first[2][s];
        })
    });
    gam
}

/// ∂_m Γ^k_ij = ∂_m g^kl Γ_lij + g^kl ∂_m Γ_lij, with ∂_m Γ_lij = ½(∂_m∂_i g_lj + ∂_m∂_j g_li − ∂_m∂_l g_ij).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dgam<T: Arith>(ginv: &Sym<T>, ddg: &[Sym<T>; 6], dginv: &[Sym<T>; 3], first: &[Sym<T>; 3], m: usize, k: usize, i: usize, j: usize) -> T {
    let half = T::c(0.5);
    let s = SYM[i][j];
    let mut acc = T::zero();
    for l in 0..3 {
        let dfirst = half * (ddg[SYM[m][i]][SYM[l][j]] + ddg[SYM[m][j]][SYM[l][i]] - ddg[SYM[m][l]][s]);
        acc = acc + dginv[m][SYM[k][l]] * first[l][s] + ginv[SYM[k][l]] * dfirst;
    }
    acc
}

/// Ricci tensor R_ij (lower indices) and the Christoffel symbols Γ^k_ij used on the way.
#[inline(always)]
pub fn ricci<T: Arith>(ginv: &Sym<T>, der: &SymDerivs<T>) -> (Sym<T>, [Sym<T>; 3]) {
    let dg = &der.d;
    let ddg = &der.dd;
    let first = christoffel_first(dg);
    let gam = raise_first(ginv, &first);
    // ∂_m g^kl = −g^ka g^lb ∂_m g_ab, stored dginv[m][SYM[k][l]]
    let mut dginv = [[T::zero(); 6]; 3];
    for m in 0..3 {
        for (s, &(k, l)) in PAIRS.iter().enumerate() {
            let mut acc = T::zero();
            for a in 0..3 {
                for b in 0..3 {
                    acc = acc + ginv[SYM[k][a]] * ginv[SYM[l][b]] * dg[m][SYM[a][b]];
                }
            }
            dginv[m][s] = -acc;
        }
    }
    // contracted Γ^k_kl
    let mut gk = [T::zero(); 3];
    for l in 0..3 {
        gk[l] = gam[0][SYM[0][l]] + gam[1][SYM[1][l]] + gam[2][SYM[2][l]];
    }
    let mut ric = [T::zero(); 6];
    for (s, &(i, j)) in PAIRS.iter().enumerate() {
        let mut r = T::zero();
        for k in 0..3 {
            r = r + dgam(ginv, ddg, &dginv, &first, k, k, i, j) - dgam(ginv, ddg, &dginv, &first, j, k, i, k);
        }
        for l in 0..3 {
            r = r + gk[l] * gam[l][s];
            for k in 0..3 {
                r = r - gam[k][SYM[j][l]] * gam[l][SYM[i][k]];
            }
        }
        ric[s] = r;
    }
    (ric, gam)
}
