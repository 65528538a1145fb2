// Test kernel of philox.wgsl (tests/noise_rng.rs): for each of m counters, the raw Philox4x32-10 words and
// their Box–Muller normals, to be compared with the Rust twin src/numerics/philox.rs.
//   inp: 0 = m | 1, 2 = key | 3 + 4j .. 3 + 4j + 4 = counter j        bits, normals: 4 per counter
//#include "philox.wgsl"

@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> bits: array<u32>;
@group(0) @binding(2) var<storage, read_write> normals: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * (nwg.x * 64u);
    if j >= inp[0] {
        return;
    }
    let b = 3u + 4u * j;
    let w = philox4x32_10(vec4<u32>(inp[b], inp[b + 1u], inp[b + 2u], inp[b + 3u]), vec2<u32>(inp[1], inp[2]));
    let z = philox_normals4(w);
    for (var k = 0u; k < 4u; k++) {
        bits[4u * j + k] = w[k];
        normals[4u * j + k] = z[k];
    }
}
