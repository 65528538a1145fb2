// One axis of the separable lattice square root of the CQ noise kernel K_ℓ (SPEC §3, ℓ > 0):
//   dst(x) = Σ_{j=−R..R} w_j src(x + j ê_axis), periodic, all 6 tensor components (SoA).
// Run along each active axis in turn (x, y, z) between cq_noise.wgsl's `white` and `sample`.
// Twin: src/backend/cpu/cq_noise.rs `smooth_axis`; weights from src/physics/cq_noise.rs `smoothing_weights`.
//   pu: 0..3 = N1, N2, N3 | 3 = axis | 4 = R     sw: the 2R+1 weights w_{−R} … w_R
//#include "lattice.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> sw: array<real>;
@group(0) @binding(2) var<storage, read> src: array<real>;
@group(0) @binding(3) var<storage, read_write> dst: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    if i >= n {
        return;
    }
    let c = site_coords(i);
    let axis = pu[3];
    let r = i32(pu[4]);
    for (var k = 0u; k < 6u; k++) {
        let base = k * n;
        var s = real(0.0);
        for (var j = -r; j <= r; j++) {
            s = s + sw[u32(j + r)] * src[base + shifted(c, axis, j)];
        }
        dst[base + i] = s;
    }
}
