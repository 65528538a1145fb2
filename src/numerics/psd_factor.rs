//! The Cholesky factor of a positive semi-definite 5×5 matrix (numerics, no physics): L lower triangular with
//! L Lᵀ = m, a pivot at or below round-off of the largest diagonal taken as zero (its column of L zero) — the jet
//! covariance Γ_loc of a toy lattice is singular (on an axis of 1 or 2 sites the gradient jets vanish,
//! numerics/jets.rs). nalgebra's Cholesky refuses such matrices, so it is written out here.
use super::jets::{Mat5, ZERO5};

/// Pivots below this fraction of the largest diagonal entry are round-off of a zero.
const ZERO_PIVOT: f64 = 1e-13;

/// L with L Lᵀ = m for symmetric positive semi-definite m (rows and columns of a zero pivot zero in L).
pub fn psd_factor(m: &Mat5) -> Mat5 {
    let floor = ZERO_PIVOT * (0..5).fold(0.0f64, |a, i| a.max(m[i][i]));
    let mut l = ZERO5;
    for j in 0..5 {
        let d = m[j][j] - (0..j).map(|k| l[j][k] * l[j][k]).sum::<f64>();
        if d <= floor {
            continue;
        }
        let ljj = d.sqrt();
        l[j][j] = ljj;
        for i in j + 1..5 {
            l[i][j] = (m[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>()) / ljj;
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(l: &Mat5) -> Mat5 {
        std::array::from_fn(|i| std::array::from_fn(|j| (0..5).map(|k| l[i][k] * l[j][k]).sum()))
    }

    /// L Lᵀ reproduces a positive-definite matrix and a rank-2 one whose gradient rows are zero (the jet covariance
    /// of a 2³ lattice), and a rank-3 one of three random vectors; L is lower triangular.
    #[test]
    fn factor_reproduces_positive_semi_definite_matrices() {
        let mut seed = 3u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let vs: Vec<[f64; 5]> = (0..8).map(|_| std::array::from_fn(|_| rnd())).collect();
        let gram = |vs: &[[f64; 5]]| -> Mat5 { std::array::from_fn(|i| std::array::from_fn(|j| vs.iter().map(|v| v[i] * v[j]).sum())) };
        let pd = gram(&vs);
        let rank3 = gram(&vs[..3]);
        let mut rank2 = ZERO5;
        rank2[3][3] = 1.7;
        rank2[4][4] = 0.4;
        rank2[3][4] = 0.3;
        rank2[4][3] = 0.3;
        for m in [pd, rank3, rank2] {
            let l = psd_factor(&m);
            let back = product(&l);
            for i in 0..5 {
                for j in 0..5 {
                    assert!((back[i][j] - m[i][j]).abs() <= 1e-12, "({i}, {j}): {} vs {}", back[i][j], m[i][j]);
                    if j > i {
                        assert_eq!(l[i][j], 0.0);
                    }
                }
            }
        }
    }
}
