// One axis of the separable localisation taper over the block grid (twin: src/numerics/localization.rs
// `Blocks::taper`): out[b][e] = Σ_j ρ_j in[b shifted by o_j along the axis][e] for per-block vectors of width
// ku[1], with the band (o_j, ρ_j) of the axis at band[ku[2] ..] (ku[3] entries: offset as i32 bits, then ρ in
// bandr[ku[2] + j]). ku[0] = axis.
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> eu: array<u32>;
@group(0) @binding(1) var<storage, read> ku: array<u32>;
@group(0) @binding(2) var<storage, read> band: array<u32>;
@group(0) @binding(3) var<storage, read> bandr: array<real>;
@group(0) @binding(4) var<storage, read> inp: array<real>;
@group(0) @binding(5) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * (nwg.x * 64u);
    let w = ku[1];
    let nb = eu[EU_NB];
    if id >= nb * w {
        return;
    }
    let b = id / w;
    let e = id % w;
    let axis = ku[0];
    let c0 = eu[EU_BLOCKS];
    let c1 = eu[EU_BLOCKS + 1u];
    let counts = vec3<u32>(c0, c1, eu[EU_BLOCKS + 2u]);
    let stride = vec3<u32>(1u, c0, c0 * c1);
    let len = i32(counts[axis]);
    let pos = i32((b / stride[axis]) % counts[axis]);
    let rest = b - u32(pos) * stride[axis];
    var acc = real(0.0);
    for (var j = 0u; j < ku[3]; j++) {
        let o = bitcast<i32>(band[ku[2] + j]);
        let q = u32(((pos + o) % len + len) % len);
        acc = acc + bandr[ku[2] + j] * inp[(rest + q * stride[axis]) * w + e];
    }
    out[id] = acc;
}
