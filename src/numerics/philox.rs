//! Philox4x32-10, the counter-based random generator of Salmon et al., "Parallel random numbers: as easy as
//! 1, 2, 3" (SC'11; the Random123 library), and the normal variates cqgrav draws from it. Twin:
//! `shaders/philox.wgsl` (the same integer arithmetic, so the CPU and the GPU produce identical bits).
//!
//! A draw is a pure function of (key, counter): no generator state, so a run is reproducible, independent of
//! the dispatch order and restartable from any step (SPEC §3). cqgrav's layout of the 128-bit counter:
//!
//! | word | content |
//! | --- | --- |
//! | c0 | linear site index i (SPEC §1) |
//! | c1 | component block b (each call gives 4 words; the CQ noise uses blocks 0 and 1 per site) |
//! | c2 | step number, low 32 bits |
//! | c3 | bits 0–23: step number, bits 32–55; bits 24–31: the stream `kind` ([`stream`]) |
//!
//! and the key is the run's seed, (seed mod 2³², seed / 2³²).
//!
//! Normal variates: Box–Muller in the run's precision (`T` = f64 or f32) on both sides, from
//! u1 = k·2⁻²⁴ ∈ (0, 1], k = ⌊x/2⁸⌋ + 1, and u2 = j·2⁻²⁴ ∈ [0, 1), j = ⌊y/2⁸⌋: z0 = r cos θ, z1 = r sin θ with
//! r = sqrt(−2 ln u1), θ = 2π u2. WGSL on Vulkan has no f64 `log`/`sin`/`cos`, so both sides compute them from
//! arithmetic and `sqrt` alone, with the same operations and constants ([`ln_uniform_open0`],
//! [`cos_sin_turn`]): ln u1 = (e − 24) ln 2 + ln m with k = 2^e m (exponent and mantissa from the integer,
//! m ∈ [1/√2, √2)) and ln m = 2s Σ s^{2j}/(2j+1), s = (m−1)/(m+1), |s| ≤ 0.172 (12 terms); θ is reduced to an
//! octant exactly on the integer j and sin, cos of the remainder (≤ π/4) are Taylor series of 10 terms. Accurate
//! to a few ulps in either precision (tested against the standard library), so the CPU and GPU increments agree to
//! round-off also in f64 — which the dense quantum field's twin test needs (tests/dense_gpu.rs).
//! |z| ≤ sqrt(2·24 ln 2) ≈ 5.77: the tail beyond has probability 8e-9 and is cut.

use super::real::Real;

pub const M0: u32 = 0xD251_1F53;
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl key increments (golden ratio, √3 − 1).
pub const W0: u32 = 0x9E37_79B9;
pub const W1: u32 = 0xBB67_AE85;

/// The `kind` byte of counter word c3: independent streams for different uses of the same (seed, step, site).
pub mod stream {
    /// The CQ noise of π^ab (SPEC §3).
    pub const CQ_NOISE: u32 = 0;
    /// The toy systems of SPEC §12 (`src/toy`, site word = trajectory index): the initial classical state,
    /// the jump records of the discrete realisation, the Wiener increments of the continuous one.
    pub const TOY_INITIAL: u32 = 1;
    pub const TOY_JUMPS: u32 = 2;
    pub const TOY_WIENER: u32 = 3;
    /// The initial samples of the ensemble representation's members (block = member, step = 0).
    pub const ENSEMBLE_INIT: u32 = 4;
    /// The Brownian-bridge refinement of a step's CQ noise for sub-stepping the quantum update (block = the bridge
    /// node's pair of blocks, numerics/brownian_bridge.rs).
    pub const CQ_BRIDGE: u32 = 5;
}

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

#[inline(always)]
fn round(c: [u32; 4], k: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(M0, c[0]);
    let (hi1, lo1) = mulhilo(M1, c[2]);
    [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
}

/// The Philox4x32 block function with 10 rounds (Random123's `philox4x32_R(10, ctr, key)`).
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = round(ctr, key);
    let mut k = key;
    for _ in 1..10 {
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        c = round(c, k);
    }
    c
}

/// The key of a seed: (low word, high word).
#[inline]
pub fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The counter of (site, block, step, stream kind), laid out as in the module documentation.
/// Steps beyond 2⁵⁶ wrap (never reached).
#[inline]
pub fn counter(site: u32, block: u32, step: u64, kind: u32) -> [u32; 4] {
    [site, block, step as u32, ((step >> 32) as u32 & 0x00FF_FFFF) | (kind << 24)]
}

/// The four uniform words of (seed, site, block, step, kind).
#[inline]
pub fn draw(seed: u64, site: u32, block: u32, step: u64, kind: u32) -> [u32; 4] {
    philox4x32_10(counter(site, block, step, kind), key_of(seed))
}

/// 2⁻²⁴ (exact in f32).
/// 1/(2j+1), j = 0..12: the series ln m = 2s Σ_j s^{2j}/(2j+1) (shaders/philox.wgsl writes the same values).
const LN_SERIES: [f64; 12] =
    [1.0, 1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0, 1.0 / 11.0, 1.0 / 13.0, 1.0 / 15.0, 1.0 / 17.0, 1.0 / 19.0, 1.0 / 21.0, 1.0 / 23.0];
/// (−1)^j/(2j+1)! and (−1)^j/(2j)!, j = 0..10: Taylor series of sin x / x and cos x.
const SIN_SERIES: [f64; 10] = [
    1.0,
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5040.0,
    1.0 / 362880.0,
    -1.0 / 39916800.0,
    1.0 / 6227020800.0,
    -1.0 / 1307674368000.0,
    1.0 / 355687428096000.0,
    -1.0 / 121645100408832000.0,
];
const COS_SERIES: [f64; 10] = [
    1.0,
    -1.0 / 2.0,
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40320.0,
    -1.0 / 3628800.0,
    1.0 / 479001600.0,
    -1.0 / 87178291200.0,
    1.0 / 20922789888000.0,
    -1.0 / 6402373705728000.0,
];
/// 2⁻³¹, π/2²³ (the octant π/4 over 2²¹ steps of j), √2, ln 2.
const TWO_M31: f64 = 1.0 / 2_147_483_648.0;
const PI_OVER_2_23: f64 = std::f64::consts::PI / 8_388_608.0;

/// ln u1 for u1 = k·2⁻²⁴, k = ⌊x/2⁸⌋ + 1 ∈ [1, 2²⁴], in precision T (arithmetic only; see the module docs).
#[inline]
pub fn ln_uniform_open0<T: Real>(x: u32) -> T {
    let k = (x >> 8) + 1;
    let mut e = 31 - k.leading_zeros(); // ⌊log2 k⌋
    // m = k / 2^e ∈ [1, 2), exactly: k shifted to bit 31 (≤ 24 significant bits: exact in f32) times 2⁻³¹
    let mut m = T::c((k << (31 - e)) as f64) * T::c(TWO_M31);
    if m > T::c(std::f64::consts::SQRT_2) {
        m = m * T::c(0.5);
        e += 1;
    }
    let s = (m - T::one()) / (m + T::one());
    let s2 = s * s;
    let mut p = T::c(LN_SERIES[11]);
    for j in (0..11).rev() {
        p = p * s2 + T::c(LN_SERIES[j]);
    }
    T::c(e as f64 - 24.0) * T::c(std::f64::consts::LN_2) + T::c(2.0) * s * p
}

/// (cos θ, sin θ) for θ = 2π·j·2⁻²⁴, j = ⌊y/2⁸⌋, in precision T: the octant q = ⌊j/2²¹⌋ and the remainder are
/// split on the integer (exact), sin and cos of an angle ≤ π/4 are Taylor series.
#[inline]
pub fn cos_sin_turn<T: Real>(y: u32) -> (T, T) {
    let j = y >> 8;
    let q = j >> 21;
    let r = j & ((1 << 21) - 1);
    let odd = q & 1 == 1;
    let rr = if odd { (1 << 21) - r } else { r };
    let x = T::c(rr as f64) * T::c(PI_OVER_2_23);
    let x2 = x * x;
    let (mut sp, mut cp) = (T::c(SIN_SERIES[9]), T::c(COS_SERIES[9]));
    for k in (0..9).rev() {
        sp = sp * x2 + T::c(SIN_SERIES[k]);
        cp = cp * x2 + T::c(COS_SERIES[k]);
    }
    let (sx, cx) = (x * sp, cp);
    // angle within the quadrant: x (even octant) or π/2 − x (odd octant)
    let (ca, sa) = if odd { (sx, cx) } else { (cx, sx) };
    match q >> 1 {
        0 => (ca, sa),
        1 => (-sa, ca),
        2 => (-ca, -sa),
        _ => (sa, -ca),
    }
}

/// Box–Muller in precision T: two independent standard normals from two words.
#[inline]
pub fn box_muller<T: Real>(x: u32, y: u32) -> (T, T) {
    let r = (T::c(-2.0) * ln_uniform_open0::<T>(x)).sqrt();
    let (c, s) = cos_sin_turn::<T>(y);
    (r * c, r * s)
}

/// Four standard normals from one Philox block: Box–Muller on words (0, 1) and (2, 3).
#[inline]
pub fn normals4<T: Real>(w: [u32; 4]) -> [T; 4] {
    let (a, b) = box_muller::<T>(w[0], w[1]);
    let (c, d) = box_muller::<T>(w[2], w[3]);
    [a, b, c, d]
}

/// A uniform variate in (0, 1] with 53 random bits from two words: (⌊hi·2²¹ + lo/2¹¹⌋ + 1)·2⁻⁵³ (f64 only;
/// for waiting times and discrete choices, where 24 bits would be too coarse).
#[inline]
pub fn uniform_open0_53(hi: u32, lo: u32) -> f64 {
    ((((hi as u64) << 21) | (lo >> 11) as u64) + 1) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's known-answer vectors for philox4x32_10 (kat_vectors: zero, all-ones, digits of π).
    #[test]
    fn known_answer_vectors() {
        assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(philox4x32_10([u32::MAX; 4], [u32::MAX; 2]), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]);
        assert_eq!(
            philox4x32_10([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn counter_layout() {
        let c = counter(7, 1, 0x0123_4567_89ab_cdef, 3);
        assert_eq!(c, [7, 1, 0x89ab_cdef, 0x0323_4567]);
        assert_eq!(key_of(0x1111_2222_3333_4444), [0x3333_4444, 0x1111_2222]);
    }

    #[test]
    fn uniforms_in_range() {
        // u1 = k·2⁻²⁴ ∈ (0, 1]: ln u1 = −24 ln 2 at the smallest word, 0 at the largest
        assert_eq!(ln_uniform_open0::<f64>(0), -24.0 * std::f64::consts::LN_2);
        assert_eq!(ln_uniform_open0::<f64>(u32::MAX), 0.0);
        // u2 = j·2⁻²⁴ ∈ [0, 1): θ = 0 at the smallest word, just below 2π at the largest
        assert_eq!(cos_sin_turn::<f64>(0), (1.0, 0.0));
        let (c, s) = cos_sin_turn::<f64>(u32::MAX);
        assert!(c < 1.0 && s < 0.0);
        let (a, b) = box_muller::<f64>(u32::MAX, 0);
        assert_eq!((a, b), (0.0, 0.0));
        // 53-bit uniforms: 2⁻⁵³ at the smallest words, exactly 1 at the largest
        assert_eq!(uniform_open0_53(0, 0), f64::EPSILON / 2.0);
        assert_eq!(uniform_open0_53(u32::MAX, u32::MAX), 1.0);
    }

    /// The arithmetic-only ln, cos, sin against the standard library (an independent implementation) over the
    /// whole range of words: f64 to a few ulps, f32 to a few f32 ulps.
    #[test]
    fn transcendentals_match_the_standard_library() {
        let (mut eln, mut ecs) = (0.0f64, 0.0f64);
        let (mut eln32, mut ecs32) = (0.0f64, 0.0f64);
        let mut w = 0x1234_5678u32;
        let words = (0..200_000u32).map(|_| {
            w ^= w << 13;
            w ^= w >> 17;
            w ^= w << 5;
            w
        });
        let edge = [0u32, 255, 256, u32::MAX, 1 << 31, (1 << 31) - 1, 0x00FF_FFFF, 3 << 29, 5 << 29, 7 << 29, 1 << 29];
        for x in words.chain(edge) {
            let u1 = ((x >> 8) + 1) as f64 / 16_777_216.0;
            let ln = u1.ln();
            eln = eln.max((ln_uniform_open0::<f64>(x) - ln).abs() / ln.abs().max(1e-300).max(f64::EPSILON));
            eln32 = eln32.max((ln_uniform_open0::<f32>(x) as f64 - ln).abs() / ln.abs().max(1e-7));
            let th = 2.0 * std::f64::consts::PI * (x >> 8) as f64 / 16_777_216.0;
            let (c, s) = cos_sin_turn::<f64>(x);
            ecs = ecs.max((c - th.cos()).abs()).max((s - th.sin()).abs());
            let (c, s) = cos_sin_turn::<f32>(x);
            ecs32 = ecs32.max((c as f64 - th.cos()).abs()).max((s as f64 - th.sin()).abs());
        }
        println!("ln: f64 {eln:.1e}, f32 {eln32:.1e} relative; cos, sin: f64 {ecs:.1e}, f32 {ecs32:.1e} absolute");
        assert!(eln < 4.0 * f64::EPSILON && ecs < 4.0 * f64::EPSILON, "f64: ln {eln:.1e}, cos/sin {ecs:.1e}");
        assert!(eln32 < 8.0 * f32::EPSILON as f64 && ecs32 < 8.0 * f32::EPSILON as f64, "f32: ln {eln32:.1e}, cos/sin {ecs32:.1e}");
    }
}
