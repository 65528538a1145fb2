// Members combined with per-block M × M matrices (twin: src/numerics/member_ops.rs `combine`): for every row
// (field f, site i) and member s
//   out[row][s] (=, or += when ku[0] = 1) α Σ_r d[row][r] C[b(i)][r][s],   α = kr[0],
// with b(i) = block_of[i] (numerics/localization.rs).
//#include "lattice.wgsl"
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> eu: array<u32>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> kr: array<real>;
@group(0) @binding(4) var<storage, read> block_of: array<u32>;
@group(0) @binding(5) var<storage, read> cm: array<real>;
@group(0) @binding(6) var<storage, read> d: array<real>;
@group(0) @binding(7) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let n = n_sites();
    let m = members();
    if id >= 2u * n * m {
        return;
    }
    let row = id / m;
    let s = id % m;
    let base = block_of[row % n] * m * m;
    var acc = real(0.0);
    for (var r = 0u; r < m; r++) {
        acc = acc + d[row * m + r] * cm[base + r * m + s];
    }
    let v = kr[0] * acc;
    if ku[0] == 1u {
        out[id] = out[id] + v;
    } else {
        out[id] = v;
    }
}
