//! Symplectic eigenvalues of a covariance matrix (the physicality monitor of a Gaussian state, SPEC §6).
//! For Γ (2n × 2n, positive definite) and the commutator matrix Ω = (1/ΔV)[[0, I], [−I, 0]], the symplectic
//! eigenvalues ν_k are the moduli of the eigenvalues of Ω⁻¹Γ; Γ + iΩ/2 ⪰ 0 ⇔ every ν_k ≥ ½ (pure: all = ½).
//! With Γ = LLᵀ (Cholesky), A = Lᵀ Ω⁻¹ L is antisymmetric with eigenvalues ±iν_k, so the ν_k² are the
//! eigenvalues of the symmetric AᵀA.
use nalgebra::DMatrix;

/// The smallest symplectic eigenvalue of Γ relative to ½ (1 for a pure state, < 1 unphysical). Returns 0 when
/// Γ is not positive definite (then Γ + iΩ/2 ⪰ 0 fails too).
pub fn min_symplectic_ratio(gamma: &[f64], n: usize, cell_volume: f64) -> f64 {
    let d = 2 * n;
    let g = DMatrix::from_row_slice(d, d, gamma);
    let g = (&g + g.transpose()) * 0.5;
    let Some(ch) = nalgebra::Cholesky::new(g) else {
        return 0.0;
    };
    let l = ch.l();
    // Ω⁻¹ = ΔV [[0, −I], [I, 0]]: (Ω⁻¹ L)[φ_i, :] = −ΔV L[π_i, :], (Ω⁻¹ L)[π_i, :] = ΔV L[φ_i, :]
    let ol = DMatrix::from_fn(d, d, |i, j| if i < n { -cell_volume * l[(i + n, j)] } else { cell_volume * l[(i - n, j)] });
    let a = l.transpose() * ol;
    let ata = a.transpose() * &a;
    let ev = nalgebra::SymmetricEigen::new(ata).eigenvalues;
    let min = ev.iter().cloned().fold(f64::INFINITY, f64::min).max(0.0);
    2.0 * min.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One mode (n = 1): Γ = diag(a, b)/ΔV has ν = √(ab); a squeezed pure state gives 1, a thermal one its
    /// occupation factor, a sub-uncertainty one < 1; two decoupled modes give the smaller.
    #[test]
    fn single_and_two_mode_values() {
        let dv = 0.125;
        let r = min_symplectic_ratio(&[0.5 * 3.0 / dv, 0.0, 0.0, 0.5 / 3.0 / dv], 1, dv);
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        let r = min_symplectic_ratio(&[1.5 / dv, 0.0, 0.0, 1.5 / dv], 1, dv);
        assert!((r - 3.0).abs() < 1e-12, "{r}");
        let r = min_symplectic_ratio(&[0.3 / dv, 0.0, 0.0, 0.3 / dv], 1, dv);
        assert!((r - 0.6).abs() < 1e-12, "{r}");
        // two modes: (φ1, φ2, π1, π2); mode 1 thermal ν = 0.8, mode 2 ν = 0.5·1.1
        let mut g = vec![0.0; 16];
        g[0] = 0.8 / dv;
        g[2 * 4 + 2] = 0.8 / dv;
        g[4 + 1] = 0.55 * 2.0 / dv;
        g[3 * 4 + 3] = 0.55 * 0.5 / dv;
        let r = min_symplectic_ratio(&g, 2, dv);
        assert!((r - 1.1).abs() < 1e-12, "{r}");
        assert_eq!(min_symplectic_ratio(&[-1.0, 0.0, 0.0, 1.0], 1, dv), 0.0);
    }
}
