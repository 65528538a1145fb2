//! The arithmetic the pointwise kernels (physics/adm_rhs.rs and the tensor, Ricci, gauge and scalar-field
//! functions it calls) need — `Arith` — and `Lanes<T, W>`, W sites of one float type evaluated together.
//!
//! The physics functions are written once, generic over `Arith`: for a `Real` (f32, f64) they are the per-site
//! twins of the WGSL kernels; for `Lanes` the same source evaluates W sites in lock step, every lane doing the
//! identical IEEE operations in the identical order (so each lane's result is bit for bit the scalar one), and
//! the compiler turns each lane-wise operation into one vector instruction of the instruction set the calling
//! function is compiled for (backend/cpu/evolve_row.rs).
use super::real::Real;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// The operations of the pointwise kernels: + − × ÷, negation, square root and constants.
pub trait Arith:
    Copy + Default + std::fmt::Debug + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self>
{
    /// An f64 constant in this type (rounded to nearest for f32).
    fn c(x: f64) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    fn sqrt(self) -> Self;
}

impl<T: Real> Arith for T {
    #[inline(always)]
    fn c(x: f64) -> Self {
        <T as Real>::c(x)
    }
    #[inline(always)]
    fn zero() -> Self {
        <T as num_traits::Zero>::zero()
    }
    #[inline(always)]
    fn one() -> Self {
        <T as num_traits::One>::one()
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        num_traits::Float::sqrt(self)
    }
}

/// W values of T, one per site, operated on lane by lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lanes<T, const W: usize>(pub [T; W]);

impl<T: Real, const W: usize> Lanes<T, W> {
    /// The same value in every lane.
    #[inline(always)]
    pub fn splat(x: T) -> Self {
        Self([x; W])
    }
}

impl<T: Real, const W: usize> Default for Lanes<T, W> {
    #[inline(always)]
    fn default() -> Self {
        Self::splat(<T as num_traits::Zero>::zero())
    }
}

macro_rules! lanewise {
    ($tr:ident, $f:ident, $op:tt) => {
        impl<T: Real, const W: usize> $tr for Lanes<T, W> {
            type Output = Self;
            #[inline(always)]
            fn $f(self, o: Self) -> Self {
                // a plain loop, not a closure: it must inline into the huge kernels that use it
                let mut r = self;
                for l in 0..W {
                    r.0[l] = self.0[l] $op o.0[l];
                }
                r
            }
        }
    };
}
lanewise!(Add, add, +);
lanewise!(Sub, sub, -);
lanewise!(Mul, mul, *);
lanewise!(Div, div, /);

impl<T: Real, const W: usize> Neg for Lanes<T, W> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        let mut r = self;
        for l in 0..W {
            r.0[l] = -self.0[l];
        }
        r
    }
}

impl<T: Real, const W: usize> Arith for Lanes<T, W> {
    #[inline(always)]
    fn c(x: f64) -> Self {
        Self::splat(<T as Real>::c(x))
    }
    #[inline(always)]
    fn zero() -> Self {
        Self::default()
    }
    #[inline(always)]
    fn one() -> Self {
        Self::splat(<T as num_traits::One>::one())
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        let mut r = self;
        for l in 0..W {
            r.0[l] = num_traits::Float::sqrt(self.0[l]);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every lane of an expression equals the scalar expression on that lane's inputs, bit for bit.
    #[test]
    fn lanes_are_the_scalar_operations() {
        let a = [1.5f32, -0.0, 3.0e-38, 7.25];
        let b = [0.1f32, 2.0, -1.0e-3, 3.0];
        let (la, lb) = (Lanes(a), Lanes(b));
        let e = |x: Lanes<f32, 4>, y: Lanes<f32, 4>| ((x * y - y) / (x + <Lanes<f32, 4> as Arith>::c(0.3)) + x * x).sqrt() + -y;
        let s = |x: f32, y: f32| <f32 as Arith>::sqrt((x * y - y) / (x + 0.3f32) + x * x) + -y;
        let r = e(la, lb);
        for l in 0..4 {
            assert_eq!(r.0[l].to_bits(), s(a[l], b[l]).to_bits(), "lane {l}");
        }
    }
}
