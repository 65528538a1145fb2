//! Centred finite-difference stencils (SPEC §2) and Kreiss–Oliger dissipation, for order 2 and 4.
//!
//! All operators are written with *undivided* integer-weight coefficients and one overall divisor, so the
//! CPU twin and the WGSL kernels (`shaders/stencil.wgsl`) apply exactly the same arithmetic.
//! - first derivative  D1 u = Σ_k c1[k] u(x+k) / (d1 · h)
//! - second derivative D2 u = Σ_k c2[k] u(x+k) / (d2 · h²)        (compact, same axis)
//! - mixed derivative  D1_a D1_b u (product of first-derivative stencils, a ≠ b)
//! - Kreiss–Oliger     Q u = (−1)^(r+1) σ / (2^(2r) h) Σ_axes δ^(2r) u, r = order/2 + 1,
//!   δ^(2r) the undivided 2r-th difference. It damps the Nyquist mode at rate σ/h per axis and adds an
//!   error O(h^(2r−1)), above the scheme's order.

/// One finite-difference scheme: the order and the stencil weights, indexed by offset + radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stencil {
    pub order: u32,
    /// Half-width of the derivative stencils (1 for order 2, 2 for order 4).
    pub radius: usize,
    /// First derivative weights for offsets −radius..=radius, before dividing by `d1·h`.
    pub c1: [f64; 5],
    pub d1: f64,
    /// Second derivative weights for offsets −radius..=radius, before dividing by `d2·h²`.
    pub c2: [f64; 5],
    pub d2: f64,
    /// Kreiss–Oliger undivided difference weights for offsets −ko_radius..=ko_radius.
    pub ko: [f64; 7],
    pub ko_radius: usize,
    /// Signed prefactor (−1)^(r+1) / 2^(2r) of the KO operator (multiply by σ/h).
    pub ko_factor: f64,
}

impl Stencil {
    pub fn new(order: u32) -> Self {
        match order {
            2 => Self {
                order,
                radius: 1,
                c1: [-1.0, 0.0, 1.0, 0.0, 0.0],
                d1: 2.0,
                c2: [1.0, -2.0, 1.0, 0.0, 0.0],
                d2: 1.0,
                ko: [1.0, -4.0, 6.0, -4.0, 1.0, 0.0, 0.0],
                ko_radius: 2,
                ko_factor: -1.0 / 16.0,
            },
            4 => Self {
                order,
                radius: 2,
                c1: [1.0, -8.0, 0.0, 8.0, -1.0],
                d1: 12.0,
                c2: [-1.0, 16.0, -30.0, 16.0, -1.0],
                d2: 12.0,
                ko: [1.0, -6.0, 15.0, -20.0, 15.0, -6.0, 1.0],
                ko_radius: 3,
                ko_factor: 1.0 / 64.0,
            },
            _ => panic!("finite-difference order must be 2 or 4, got {order}"),
        }
    }

    /// Widest reach of any operator of this scheme (derivatives, mixed derivatives, dissipation).
    pub fn reach(&self) -> usize {
        self.ko_radius
    }

    /// Smallest number of sites an active (non-homogeneous) lattice direction must have, so that no stencil
    /// wraps onto itself: 2·reach + 1.
    pub fn min_points(&self) -> usize {
        2 * self.reach() + 1
    }

    /// Fourier symbol of the first derivative, times h: i·s1(θ), returns s1(θ).
    pub fn symbol_d1(&self, theta: f64) -> f64 {
        let r = self.radius as isize;
        (-r..=r).map(|k| self.c1[(k + r) as usize] * (k as f64 * theta).sin()).sum::<f64>() / self.d1
    }

    /// Fourier symbol of the second derivative, times h² (≤ 0).
    pub fn symbol_d2(&self, theta: f64) -> f64 {
        let r = self.radius as isize;
        (-r..=r).map(|k| self.c2[(k + r) as usize] * (k as f64 * theta).cos()).sum::<f64>() / self.d2
    }

    /// Fourier symbol of the KO operator per axis, times h/σ (≤ 0).
    pub fn symbol_ko(&self, theta: f64) -> f64 {
        let r = self.ko_radius as isize;
        self.ko_factor * (-r..=r).map(|k| self.ko[(k + r) as usize] * (k as f64 * theta).cos()).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stencils reproduce derivatives of polynomials exactly up to their order (an independent check of
    /// the coefficients: Taylor moments).
    #[test]
    fn taylor_moments() {
        for order in [2u32, 4] {
            let s = Stencil::new(order);
            let r = s.radius as i32;
            for p in 0..=(order + 1) as i32 {
                let m1: f64 = (-r..=r).map(|k| s.c1[(k + r) as usize] * (k as f64).powi(p)).sum::<f64>() / s.d1;
                let m2: f64 = (-r..=r).map(|k| s.c2[(k + r) as usize] * (k as f64).powi(p)).sum::<f64>() / s.d2;
                // D1 x^p at 0 = δ_{p1}; D2 x^p at 0 = 2 δ_{p2}; exact for p ≤ order (D2: p ≤ order+1 by symmetry).
                if p <= order as i32 {
                    assert!((m1 - if p == 1 { 1.0 } else { 0.0 }).abs() < 1e-14, "order {order} D1 moment {p}");
                }
                if p <= order as i32 + 1 {
                    assert!((m2 - if p == 2 { 2.0 } else { 0.0 }).abs() < 1e-14, "order {order} D2 moment {p}");
                }
            }
            // KO: annihilates polynomials below degree 2r, damps the Nyquist mode at exactly rate 1 (×σ/h).
            let kr = s.ko_radius as i32;
            for p in 0..(2 * kr) {
                let m: f64 = (-kr..=kr).map(|k| s.ko[(k + kr) as usize] * (k as f64).powi(p)).sum();
                assert!(m.abs() < 1e-9, "KO moment {p}");
            }
            assert!((s.symbol_ko(std::f64::consts::PI) + 1.0).abs() < 1e-14);
            assert!(s.symbol_ko(0.3) < 0.0);
        }
    }
}
