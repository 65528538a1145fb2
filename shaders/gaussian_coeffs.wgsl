// Per-site coefficients of SPEC §4.1 (site_coeffs.wgsl) at the stage input's metric and lapse, stored in
// sc[x·SC ..] for the kernels that read them (gaussian_site_forms.wgsl, noise_forms.wgsl).
//#include "lattice.wgsl"
//#include "site_metric.wgsl"
//#include "site_coeffs_layout.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "quantum_site_forms.wgsl"
//#include "site_coeffs.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read_write> sc: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    if x >= n_sites() {
        return;
    }
    var c: array<real, SC>;
    site_coefficients(x, &c);
    for (var e = 0u; e < SC; e++) {
        sc[x * SC + e] = c[e];
    }
}
