// Philox4x32-10 (Salmon et al. 2011, Random123) and Box–Muller normals in the run's precision (`real`).
// Twin: src/numerics/philox.rs — the counter layout, key and uniform/normal mappings are documented there:
//   counter = (site, block, step low 32 bits, step bits 32–55 | kind << 24), key = (seed low, seed high).
// WGSL has no 64-bit integers: the 32×32 → 64-bit products are formed from 16-bit limbs (exact).
// Include-only file (no bindings).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// (high word, low word) of the 64-bit product a·b.
fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xFFFFu;
    let a1 = a >> 16u;
    let b0 = b & 0xFFFFu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let r0 = philox_mulhilo(PHILOX_M0, c.x);
    let r1 = philox_mulhilo(PHILOX_M1, c.z);
    return vec4<u32>(r1.x ^ c.y ^ k.x, r1.y, r0.x ^ c.w ^ k.y, r0.y);
}

fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = philox_round(ctr, key);
    var k = key;
    for (var r = 1u; r < 10u; r++) {
        k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
        c = philox_round(c, k);
    }
    return c;
}

// Counter of (site, block, step = (lo, hi), kind).
fn philox_counter(site: u32, block: u32, step_lo: u32, step_hi: u32, kind: u32) -> vec4<u32> {
    return vec4<u32>(site, block, step_lo, (step_hi & 0x00FFFFFFu) | (kind << 24u));
}

// Box–Muller in the run's precision from arithmetic and sqrt only (no f64 log/sin/cos on Vulkan); the same
// operations and constants as src/numerics/philox.rs `ln_uniform_open0`, `cos_sin_turn`, `box_muller`.
// ln u1 for u1 = k·2⁻²⁴, k = ⌊x/2⁸⌋ + 1: k = 2^e m (m ∈ [1/√2, √2), exact), ln m = 2s Σ s^{2j}/(2j+1).
fn philox_ln_u01_open0(x: u32) -> real {
    let k = (x >> 8u) + 1u;
    var e = firstLeadingBit(k);
    var m = real(k << (31u - e)) * real(1.0 / 2147483648.0);
    if m > real(1.4142135623730951) {
        m = m * real(0.5);
        e = e + 1u;
    }
    let s = (m - real(1.0)) / (m + real(1.0));
    let s2 = s * s;
    var c = array<real, 12>(real(1.0), real(1.0 / 3.0), real(1.0 / 5.0), real(1.0 / 7.0), real(1.0 / 9.0), real(1.0 / 11.0),
        real(1.0 / 13.0), real(1.0 / 15.0), real(1.0 / 17.0), real(1.0 / 19.0), real(1.0 / 21.0), real(1.0 / 23.0));
    var p = c[11];
    for (var j = 10; j >= 0; j--) {
        p = p * s2 + c[j];
    }
    return real(i32(e) - 24) * real(0.6931471805599453) + real(2.0) * s * p;
}

// (cos θ, sin θ), θ = 2π·j·2⁻²⁴, j = ⌊y/2⁸⌋: octant split on the integer, Taylor series on ≤ π/4.
fn philox_cos_sin_turn(y: u32) -> vec2<real> {
    let j = y >> 8u;
    let q = j >> 21u;
    let r = j & 0x1FFFFFu;
    let odd = (q & 1u) == 1u;
    var rr = r;
    if odd {
        rr = 0x200000u - r;
    }
    let x = real(rr) * real(3.141592653589793 / 8388608.0);
    let x2 = x * x;
    var cs = array<real, 10>(real(1.0), real(-1.0 / 6.0), real(1.0 / 120.0), real(-1.0 / 5040.0), real(1.0 / 362880.0),
        real(-1.0 / 39916800.0), real(1.0 / 6227020800.0), real(-1.0 / 1307674368000.0), real(1.0 / 355687428096000.0),
        real(-1.0 / 121645100408832000.0));
    var cc = array<real, 10>(real(1.0), real(-1.0 / 2.0), real(1.0 / 24.0), real(-1.0 / 720.0), real(1.0 / 40320.0),
        real(-1.0 / 3628800.0), real(1.0 / 479001600.0), real(-1.0 / 87178291200.0), real(1.0 / 20922789888000.0),
        real(-1.0 / 6402373705728000.0));
    var sp = cs[9];
    var cp = cc[9];
    for (var k = 8; k >= 0; k--) {
        sp = sp * x2 + cs[k];
        cp = cp * x2 + cc[k];
    }
    let sx = x * sp;
    let cx = cp;
    var ca = cx;
    var sa = sx;
    if odd {
        ca = sx;
        sa = cx;
    }
    switch q >> 1u {
        case 0u: { return vec2<real>(ca, sa); }
        case 1u: { return vec2<real>(-sa, ca); }
        case 2u: { return vec2<real>(-ca, -sa); }
        default: { return vec2<real>(sa, -ca); }
    }
}

// Box–Muller: two standard normals from two words.
fn philox_box_muller(x: u32, y: u32) -> vec2<real> {
    let r = sqrt(real(-2.0) * philox_ln_u01_open0(x));
    return r * philox_cos_sin_turn(y);
}

// Four standard normals from one Philox block (words (0,1) and (2,3)).
fn philox_normals4(w: vec4<u32>) -> vec4<real> {
    let a = philox_box_muller(w.x, w.y);
    let b = philox_box_muller(w.z, w.w);
    return vec4<real>(a.x, a.y, b.x, b.y);
}
