// The noise forms of one step (noise_forms_body.wgsl) from the stored coefficients at the start of the step
// (gaussian_coeffs.wgsl); the dense representation's kernel.
//#include "lattice.wgsl"
//#include "site_coeffs_layout.wgsl"
//#include "noise_forms_body.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> sc: array<real>;
@group(0) @binding(2) var<storage, read> dw: array<real>;
@group(0) @binding(3) var<storage, read_write> fb: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    if x >= n_sites() {
        return;
    }
    var c: array<real, SC>;
    for (var e = 0u; e < SC; e++) {
        c[e] = sc[x * SC + e];
    }
    write_noise_forms(x, &c);
}
