//! The scalar field's potential beyond the mass term (issue 13; config `matter.mass`, `matter.quartic_coupling`,
//! `matter.potential`; docs/cosmology.md §1):
//!   V(φ) = ½ m² φ² + U(φ),   U(φ) = ¼ λ φ⁴ + Σ_{n=0}^{8} c_n φⁿ
//! The mass term stays where it was (the quadratic forms of the quantum field use it); U is the rest, a polynomial
//! of degree ≤ 8 stored by its coefficients and evaluated by Horner's rule. It enters the classical kernels as
//!   ∂t π_φ ⊃ −N √g U′(φ),   S^ab ⊃ −2 g^ab U(φ) (i.e. ∂t π^ab ⊃ −½ N √g g^ab U),   Ĥ_m ⊃ √g U(φ).
//! Twin: the `poly_*` functions of shaders/scalar_field.wgsl (the coefficients are `pr[P_POLY..P_POLY + 9]`).
use crate::numerics::lanes::Arith;
use crate::numerics::real::Real;

/// Coefficients of U (degree ≤ 8): the number of reals the GPU parameter block reserves for them.
pub const POLY_LEN: usize = 9;

/// U(φ) = Σ_n c[n] φⁿ, n = 0 … 8.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polynomial<T> {
    pub c: [T; POLY_LEN],
}

impl<T: Arith> Default for Polynomial<T> {
    fn default() -> Self {
        Self { c: [T::zero(); POLY_LEN] }
    }
}

impl<T: Arith> Polynomial<T> {
    /// U(φ) by Horner's rule (the same summation order as the WGSL twin).
    #[inline(always)]
    pub fn value(&self, x: T) -> T {
        let mut s = self.c[POLY_LEN - 1];
        for n in (0..POLY_LEN - 1).rev() {
            s = s * x + self.c[n];
        }
        s
    }
    /// U′(φ).
    #[inline(always)]
    pub fn d1(&self, x: T) -> T {
        let mut s = T::c((POLY_LEN - 1) as f64) * self.c[POLY_LEN - 1];
        for n in (1..POLY_LEN - 1).rev() {
            s = s * x + T::c(n as f64) * self.c[n];
        }
        s
    }
    /// U″(φ).
    #[inline(always)]
    pub fn d2(&self, x: T) -> T {
        let mut s = T::c(((POLY_LEN - 1) * (POLY_LEN - 2)) as f64) * self.c[POLY_LEN - 1];
        for n in (2..POLY_LEN - 1).rev() {
            s = s * x + T::c((n * (n - 1)) as f64) * self.c[n];
        }
        s
    }
}

impl<T: Real> Polynomial<T> {
    /// True when U is identically zero (V is the quadratic ½m²φ²).
    pub fn is_zero(&self) -> bool {
        self.c.iter().all(|c| *c == <T as num_traits::Zero>::zero())
    }
    /// The same coefficients in another precision (each rounded once).
    pub fn cast<S: Real>(&self) -> Polynomial<S> {
        Polynomial { c: self.c.map(|v| <S as Real>::c(v.as_f64())) }
    }
}

impl Polynomial<f64> {
    /// U of a configuration: `matter.potential` (c_0 … c_8) plus ¼λ at n = 4 (`matter.quartic_coupling`).
    pub fn from_config(m: &crate::config::MatterConfig) -> Self {
        let mut c = [0.0; POLY_LEN];
        for (n, v) in m.potential.iter().enumerate().take(POLY_LEN) {
            c[n] = *v;
        }
        c[4] += 0.25 * m.quartic_coupling;
        Self { c }
    }
    /// The highest power with a non-zero coefficient (None for U ≡ 0).
    pub fn degree(&self) -> Option<usize> {
        (0..POLY_LEN).rev().find(|&n| self.c[n] != 0.0)
    }
}

/// V(φ) = ½m²φ² + U(φ).
#[inline(always)]
pub fn potential<T: Arith>(mass: T, u: &Polynomial<T>, phi: T) -> T {
    T::c(0.5) * mass * mass * phi * phi + u.value(phi)
}

/// V′(φ) = m²φ + U′(φ).
#[inline(always)]
pub fn force<T: Arith>(mass: T, u: &Polynomial<T>, phi: T) -> T {
    mass * mass * phi + u.d1(phi)
}

/// V″(φ) = m² + U″(φ): the effective mass squared of the fluctuations about φ.
#[inline(always)]
pub fn effective_mass2<T: Arith>(mass: T, u: &Polynomial<T>, phi: T) -> T {
    mass * mass + u.d2(phi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horner_matches_the_power_sum() {
        let c = [0.3, -1.2, 0.7, 2.0, -0.25, 0.125, 1.5e-2, -3e-3, 4e-4];
        let u = Polynomial { c };
        for x in [-2.3, -0.4, 0.0, 0.9, 3.1] {
            let v: f64 = (0..9).map(|n| c[n] * f64::powi(x, n as i32)).sum();
            let d: f64 = (1..9).map(|n| n as f64 * c[n] * f64::powi(x, n as i32 - 1)).sum();
            let dd: f64 = (2..9).map(|n| (n * (n - 1)) as f64 * c[n] * f64::powi(x, n as i32 - 2)).sum();
            assert!((u.value(x) - v).abs() <= 1e-13 * v.abs().max(1.0));
            assert!((u.d1(x) - d).abs() <= 1e-13 * d.abs().max(1.0));
            assert!((u.d2(x) - dd).abs() <= 1e-13 * dd.abs().max(1.0));
        }
    }

    #[test]
    fn quartic_coupling_is_a_quarter_lambda() {
        let m = crate::config::MatterConfig { quartic_coupling: 2.0, potential: vec![0.0, 0.0, 0.0, 0.5], ..Default::default() };
        let u = Polynomial::from_config(&m);
        assert_eq!(u.c[4], 0.5);
        assert_eq!(u.c[3], 0.5);
        assert_eq!(u.degree(), Some(4));
        // V = ½m²φ² + ¼λφ⁴ + ½φ³ at φ = 2, m = 1: 2 + 8 + 4
        assert!((potential(1.0, &u, 2.0) - 14.0).abs() < 1e-14);
        assert!((force(1.0, &u, 2.0) - (2.0 + 16.0 + 6.0)).abs() < 1e-14);
        assert!((effective_mass2(1.0, &u, 2.0) - (1.0 + 24.0 + 6.0)).abs() < 1e-14);
    }
}
