// Philox4x32-10 (Salmon et al. 2011, Random123) and Box–Muller normals in f32.
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

// u1 ∈ (0, 1], u2 ∈ [0, 1): 24-bit, exact conversions.
fn philox_u01_open0(x: u32) -> f32 {
    return f32((x >> 8u) + 1u) * (1.0 / 16777216.0);
}
fn philox_u01_closed0(y: u32) -> f32 {
    return f32(y >> 8u) * (1.0 / 16777216.0);
}

// Box–Muller in f32: two standard normals from two words.
fn philox_box_muller(x: u32, y: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * log(philox_u01_open0(x)));
    let theta = f32(6.2831855) * philox_u01_closed0(y);
    return vec2<f32>(r * cos(theta), r * sin(theta));
}

// Four standard normals from one Philox block (words (0,1) and (2,3)).
fn philox_normals4(w: vec4<u32>) -> vec4<f32> {
    let a = philox_box_muller(w.x, w.y);
    let b = philox_box_muller(w.z, w.w);
    return vec4<f32>(a.x, a.y, b.x, b.y);
}
