//! Lapse conditions (SPEC §2, shift zero). With cqgrav's sign convention ∂t g_ab = 2N K_ab (K > 0 is
//! expansion, K = g^ab K_ab = −π/(2√g)), the standard slicings read
//!   geodesic:      ∂t N = 0
//!   harmonic:      ∂t N = +N² K      (□t = 0; ∂t α = −α² K in the K > 0-is-contraction convention)
//!   one-plus-log:  ∂t N = +2 N K
//! SPEC §2 prints these with a minus sign, which belongs to the opposite sign convention of K; the exact
//! gauge-wave solution (tests/gauge_wave.rs) holds only with the signs used here.   Twin: shaders/gauge.wgsl.
use crate::config::Lapse;
use crate::numerics::lanes::Arith;

#[inline(always)]
pub fn lapse_rhs<T: Arith>(kind: Lapse, lapse: T, trace_k: T) -> T {
    match kind {
        Lapse::Geodesic => T::zero(),
        Lapse::Harmonic => lapse * lapse * trace_k,
        Lapse::OnePlusLog => T::c(2.0) * lapse * trace_k,
    }
}
