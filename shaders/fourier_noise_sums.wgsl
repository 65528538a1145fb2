// The box sum Σ_x dW^ab(x) of a step's CQ noise increments (6 components SoA, the very increments cq_noise.wgsl adds to
// π^ab), per workgroup (fourier_partials.wgsl). Twin: src/backend/cpu/fourier_field.rs `increment_sum`.
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "fourier_layout.wgsl"
//#include "fourier_tree.wgsl"
//#include "fourier_partials.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> dw: array<real>;
@group(0) @binding(2) var<storage, read_write> partials: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    for (var c = 0u; c < 6u; c++) {
        cols[c] = real(0.0);
        if x < n {
            cols[c] = dw[c * n + x];
        }
    }
    store_partials(lid, wid.x + wid.y * nwg.x, 6u, false);
}
