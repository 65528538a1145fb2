//! Box reductions by a 64-wide tree, in exactly the order of shaders/reduce.wgsl and the workgroup reduction of
//! shaders/diagnostics.wgsl (its twin): values are cut into blocks of 64 (padded with 0), each block is reduced
//! by halving strides 32, 16, …, 1, and the block results are reduced again until one value is left.
use crate::numerics::real::Real;

pub const BLOCK: usize = 64;

/// How a column is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Sum,
    /// maximum of non-negative values (padding 0 is neutral)
    Max,
}

fn combine<T: Real>(op: Op, a: T, b: T) -> T {
    match op {
        Op::Sum => a + b,
        Op::Max => a.max(b),
    }
}

/// One pass: each block of 64 reduced to one value.
pub fn reduce_pass<T: Real>(values: &[T], op: Op) -> Vec<T> {
    values
        .chunks(BLOCK)
        .map(|chunk| {
            let mut sh = [T::zero(); BLOCK];
            sh[..chunk.len()].copy_from_slice(chunk);
            let mut stride = BLOCK / 2;
            while stride > 0 {
                for l in 0..stride {
                    sh[l] = combine(op, sh[l], sh[l + stride]);
                }
                stride /= 2;
            }
            sh[0]
        })
        .collect()
}

/// Passes until one value is left.
pub fn tree_reduce<T: Real>(values: &[T], op: Op) -> T {
    finish_tree(reduce_pass(values, op), op)
}

/// The passes after the first (`first_pass` = its block results) until one value is left (also the end of the
/// tree across MPI ranks, parallel/slab.rs).
pub fn finish_tree<T: Real>(first_pass: Vec<T>, op: Op) -> T {
    let mut v = first_pass;
    while v.len() > 1 {
        v = reduce_pass(&v, op);
    }
    v.first().copied().unwrap_or(T::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tree_sum_and_max() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(tree_reduce(&v, Op::Sum), 999.0 * 1000.0 / 2.0);
        assert_eq!(tree_reduce(&v, Op::Max), 999.0);
        assert_eq!(tree_reduce(&v[..1], Op::Sum), 0.0);
        assert_eq!(tree_reduce(&v[1..2], Op::Max), 1.0);
    }
}
