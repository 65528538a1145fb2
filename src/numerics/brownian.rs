//! A Wiener path over one step, sampled exactly together with its first two time integrals: with W(0) = 0,
//!   ΔW = W(h),  I₁ = ∫₀ʰ W(s) ds,  I₂ = ∫₀ʰ ∫₀ˢ W(u) du ds = ∫₀ʰ (h − u) W(u) du,
//! a Gaussian vector with covariance (from E[W(s)W(u)] = min(s, u))
//!   Var ΔW = h, Cov(ΔW, I₁) = h²/2, Cov(ΔW, I₂) = h³/6, Var I₁ = h³/3, Cov(I₁, I₂) = h⁴/8, Var I₂ = h⁵/20.
//! A particle whose momentum is driven by W (dp = f dt + σ dW) then has its position q and the integral ∫q dt
//! exactly at the step's end, at any step size: the toy systems' continuous realisation uses this (src/toy).

/// (ΔW, I₁, I₂) over a step `h` from three independent standard normals `z`, by the Cholesky factor of the
/// covariance above: ΔW = √h z₀, I₁ = h^{3/2}(z₀/2 + z₁/(2√3)), I₂ = h^{5/2}(z₀/6 + z₁/(4√3) + z₂/(12√5)).
pub fn wiener_with_integrals(h: f64, z: [f64; 3]) -> [f64; 3] {
    let s = h.sqrt();
    let sqrt3 = 3f64.sqrt();
    let dw = s * z[0];
    let i1 = h * s * (0.5 * z[0] + z[1] / (2.0 * sqrt3));
    let i2 = h * h * s * (z[0] / 6.0 + z[1] / (4.0 * sqrt3) + z[2] / (12.0 * 5f64.sqrt()));
    [dw, i1, i2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The covariance of the map, computed from its coefficients, against the integrals of min(s, u).
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn covariance_is_that_of_the_integrals() {
        let h = 0.7f64;
        // columns: the images of the unit vectors z = e_k
        let cols: Vec<[f64; 3]> = (0..3).map(|k| wiener_with_integrals(h, std::array::from_fn(|j| f64::from(u8::from(j == k))))).collect();
        let cov = |a: usize, b: usize| cols.iter().map(|c| c[a] * c[b]).sum::<f64>();
        let want = [[h, h * h / 2.0, h.powi(3) / 6.0], [h * h / 2.0, h.powi(3) / 3.0, h.powi(4) / 8.0], [h.powi(3) / 6.0, h.powi(4) / 8.0, h.powi(5) / 20.0]];
        for a in 0..3 {
            for b in 0..3 {
                assert!((cov(a, b) - want[a][b]).abs() < 1e-14, "({a},{b}): {} vs {}", cov(a, b), want[a][b]);
            }
        }
    }

    /// Two half steps composed have the law of one full step. With W(k + σ) = W₁ + W_b(σ), k = h/2:
    /// I₁ = I₁ₐ + k W₁ + I₁ᵦ and I₂ = I₂ₐ + k I₁ₐ + (k²/2) W₁ + I₂ᵦ; compared through the exact covariance.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn half_steps_compose() {
        let h = 1.3f64;
        let k = h / 2.0;
        // composed vector as a linear map of six normals (z_a, z_b)
        let img = |za: [f64; 3], zb: [f64; 3]| {
            let a = wiener_with_integrals(k, za);
            let b = wiener_with_integrals(k, zb);
            let w = a[0] + b[0];
            let i1 = a[1] + k * a[0] + b[1];
            let i2 = a[2] + k * a[1] + (k * k / 2.0) * a[0] + b[2];
            [w, i1, i2]
        };
        let mut cols = Vec::new();
        for j in 0..6 {
            let e = |i: usize| f64::from(u8::from(i == j));
            cols.push(img([e(0), e(1), e(2)], [e(3), e(4), e(5)]));
        }
        let cov = |a: usize, b: usize| cols.iter().map(|c| c[a] * c[b]).sum::<f64>();
        let one: Vec<[f64; 3]> = (0..3).map(|k| wiener_with_integrals(h, std::array::from_fn(|j| f64::from(u8::from(j == k))))).collect();
        let cov1 = |a: usize, b: usize| one.iter().map(|c| c[a] * c[b]).sum::<f64>();
        for a in 0..3 {
            for b in 0..3 {
                assert!((cov(a, b) - cov1(a, b)).abs() < 1e-13, "({a},{b}): {} vs {}", cov(a, b), cov1(a, b));
            }
        }
    }
}
