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
//! Normal variates: Box–Muller in **f32** on both sides (WGSL on Vulkan has no f64 `log`/`sin`/`cos`), from
//! u1 = (⌊x/2⁸⌋ + 1)·2⁻²⁴ ∈ (0, 1] and u2 = ⌊y/2⁸⌋·2⁻²⁴ ∈ [0, 1): z0 = r cos θ, z1 = r sin θ with
//! r = sqrt(−2 ln u1), θ = 2π u2. The integer-to-float conversions are exact, so the uniforms are identical on
//! CPU and GPU; `ln`, `cos`, `sin` are the platform's f32 functions, so the normals agree to a few f32 ulps
//! (|z| ≤ sqrt(2·24 ln 2) ≈ 5.77: the tail beyond has probability 8e-9 and is cut).

pub const M0: u32 = 0xD251_1F53;
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl key increments (golden ratio, √3 − 1).
pub const W0: u32 = 0x9E37_79B9;
pub const W1: u32 = 0xBB67_AE85;

/// The `kind` byte of counter word c3: independent streams for different uses of the same (seed, step, site).
pub mod stream {
    /// The CQ noise of π^ab (SPEC §3).
    pub const CQ_NOISE: u32 = 0;
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
const TWO_M24: f32 = 1.0 / 16_777_216.0;
/// 2π rounded to f32 (the WGSL twin writes the same literal).
const TWO_PI_F32: f32 = 6.283_185_5;

/// u1 ∈ (0, 1] from a 32-bit word: (⌊x/2⁸⌋ + 1)·2⁻²⁴ (exact).
#[inline]
pub fn uniform_open0(x: u32) -> f32 {
    ((x >> 8) + 1) as f32 * TWO_M24
}

/// u2 ∈ [0, 1) from a 32-bit word: ⌊y/2⁸⌋·2⁻²⁴ (exact).
#[inline]
pub fn uniform_closed0(y: u32) -> f32 {
    (y >> 8) as f32 * TWO_M24
}

/// Box–Muller in f32: two independent standard normals from two words.
#[inline]
pub fn box_muller(x: u32, y: u32) -> (f32, f32) {
    let r = (-2.0f32 * uniform_open0(x).ln()).sqrt();
    let theta = TWO_PI_F32 * uniform_closed0(y);
    (r * theta.cos(), r * theta.sin())
}

/// Four standard normals from one Philox block: Box–Muller on words (0, 1) and (2, 3).
#[inline]
pub fn normals4(w: [u32; 4]) -> [f32; 4] {
    let (a, b) = box_muller(w[0], w[1]);
    let (c, d) = box_muller(w[2], w[3]);
    [a, b, c, d]
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
        assert_eq!(uniform_open0(0), TWO_M24);
        assert_eq!(uniform_open0(u32::MAX), 1.0);
        assert_eq!(uniform_closed0(0), 0.0);
        assert!(uniform_closed0(u32::MAX) < 1.0);
        let (a, b) = box_muller(u32::MAX, 0);
        assert_eq!((a, b), (0.0, 0.0));
    }
}
