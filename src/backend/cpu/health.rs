//! The health check of every step (issue 15), twin of `backend/gpu/health.rs`: the sum of all values of the
//! state by the 64-wide reduction tree of `reduce.rs` (`shaders/reduce.wgsl` on the GPU, same order). A NaN or an
//! infinity anywhere in the state makes the sum non-finite; so does a state grown to near the largest number
//! of the precision, which is a blow-up as well. The sum is cheap next to the step (one read of the state).
use super::reduce::{tree_reduce, Op};
use crate::numerics::real::Real;

/// Σ of all values of `y` (every field of every site), in the run's precision.
pub fn state_sum<T: Real>(y: &[T]) -> T {
    tree_reduce(y, Op::Sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_nan_or_infinity_makes_the_sum_non_finite() {
        let mut y = vec![1.0f64; 15 * 27];
        assert_eq!(state_sum(&y), 405.0);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut z = y.clone();
            z[200] = bad;
            assert!(!state_sum(&z).is_finite());
        }
        y[3] = f64::INFINITY;
        y[300] = f64::NEG_INFINITY; // +inf + −inf = NaN
        assert!(!state_sum(&y).is_finite());
        assert!(!state_sum(&[f32::NAN, 1.0f32]).is_finite());
    }
}
