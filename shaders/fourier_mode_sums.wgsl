// The momentum sums of a stage's Γ_k (twin: src/physics/fourier_dynamics.rs `mode_sum_terms`): per momentum k the
// columns σ_aσ_b Γφφ (6) | Γφφ | Γφπ | Γππ, summed per workgroup (fourier_partials.wgsl); Γ_loc = (sums)/n.
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "fourier_layout.wgsl"
//#include "fourier_modes.wgsl"
//#include "fourier_tree.wgsl"
//#include "fourier_partials.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> sig: array<real>;
@group(0) @binding(2) var<storage, read> gam: array<real>;
@group(0) @binding(3) var<storage, read_write> partials: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = flat_index(gid, nwg);
    for (var c = 0u; c < MODE_SUMS; c++) {
        cols[c] = real(0.0);
    }
    if k < n_sites() {
        let s = sigma_of(k);
        let gpp = gam[3u * k];
        for (var p = 0u; p < 6u; p++) {
            cols[p] = s[pair_a(p)] * s[pair_b(p)] * gpp;
        }
        cols[6] = gpp;
        cols[7] = gam[3u * k + 1u];
        cols[8] = gam[3u * k + 2u];
    }
    store_partials(lid, wid.x + wid.y * nwg.x, MODE_SUMS, false);
}
