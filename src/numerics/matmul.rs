//! Products of square row-major matrices (numerics, no physics): matrixmultiply (through ndarray) in general; up to
//! [`SMALL`] rows plain i-k-j loops with the row length known to the compiler, the output row held in registers.
//! The dense quantum field of a toy lattice (Γ is 2n wide: 16 × 16 on the 2³ benchmark) takes some fourteen such
//! products per step, where matrixmultiply's packing cost more than the multiply-adds themselves
//! (benches/RESULTS.md, issue 17). Both orders are a sum over k of a_ik b_kj; they differ at round-off only.
use super::isa::Isa;
use ndarray::ArrayView2;

/// Widest matrix of the small-product path (32 rows: four 512-bit registers per output row).
pub const SMALL: usize = 32;

/// out = a·b for row-major d × d matrices.
pub fn matmul_into(a: &[f64], b: &[f64], d: usize, out: &mut [f64]) {
    assert!(a.len() == d * d && b.len() == d * d && out.len() == d * d, "square d × d matrices");
    macro_rules! small {
        ($($n:literal)*) => {
            match d {
                $($n => return small_isa::<$n>(Isa::detect(), a, b, out),)*
                _ => {}
            }
        };
    }
    small!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);
    let a = ArrayView2::from_shape((d, d), a).expect("square");
    let b = ArrayView2::from_shape((d, d), b).expect("square");
    let mut c = ndarray::ArrayViewMut2::from_shape((d, d), out).expect("square");
    ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c);
}

fn small_isa<const D: usize>(isa: Isa, a: &[f64], b: &[f64], out: &mut [f64]) {
    match isa {
        // SAFETY: the CPU has the detected instruction set
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { small_avx512::<D>(a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { small_avx2::<D>(a, b, out) },
        _ => small::<D>(a, b, out),
    }
}

/// out_i = Σ_k a_ik b_k (rows), k in order, the row of out accumulated in a local array.
#[inline(always)]
fn small<const D: usize>(a: &[f64], b: &[f64], out: &mut [f64]) {
    for (ai, oi) in a.chunks_exact(D).zip(out.chunks_exact_mut(D)) {
        let mut acc = [0.0; D];
        for (&aik, bk) in ai.iter().zip(b.chunks_exact(D)) {
            for (o, v) in acc.iter_mut().zip(bk) {
                *o += aik * v;
            }
        }
        oi.copy_from_slice(&acc);
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_avx2<const D: usize>(a: &[f64], b: &[f64], out: &mut [f64]) {
    small::<D>(a, b, out)
}

/// # Safety
/// The CPU must have AVX-512 F, VL and DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512dq")]
unsafe fn small_avx512<const D: usize>(a: &[f64], b: &[f64], out: &mut [f64]) {
    small::<D>(a, b, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both paths against the explicit triple sum (exact-integer entries: every order gives the same bits), for the
    /// small sizes, the boundary and one general size, with every instruction set this CPU has.
    #[test]
    fn products_match_the_triple_sum() {
        for d in [1, 2, 7, 16, 31, 32, 33, 40] {
            let a: Vec<f64> = (0..d * d).map(|k| ((k * 7 + 3) % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..d * d).map(|k| ((k * 5 + 1) % 13) as f64 - 6.0).collect();
            let want: Vec<f64> = (0..d * d).map(|ij| (0..d).map(|k| a[(ij / d) * d + k] * b[k * d + ij % d]).sum()).collect();
            let mut out = vec![f64::NAN; d * d];
            matmul_into(&a, &b, d, &mut out);
            assert_eq!(out, want, "d = {d}");
            if d <= SMALL {
                for isa in Isa::available() {
                    let mut o = vec![f64::NAN; d * d];
                    macro_rules! at {
                        ($($n:literal)*) => { match d { $($n => small_isa::<$n>(isa, &a, &b, &mut o),)* _ => unreachable!() } };
                    }
                    at!(1 2 7 16 31 32);
                    assert_eq!(o, want, "d = {d}, {isa:?}");
                }
            }
        }
    }
}
