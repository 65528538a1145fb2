// The noise forms of one step (noise_forms_body.wgsl) with the coefficient block of the step-start state u_in
// computed in place (site_coeffs.wgsl): the ensemble representation's kernel, dispatched at RK4 stage 0 (dW is
// drawn before it), so no n × SC buffer is kept.
//#include "lattice.wgsl"
//#include "site_metric.wgsl"
//#include "site_coeffs_layout.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "quantum_site_forms.wgsl"
//#include "site_coeffs.wgsl"
//#include "noise_forms_body.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read> dw: array<real>;
@group(0) @binding(4) var<storage, read_write> fb: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    if x >= n_sites() {
        return;
    }
    var c: array<real, SC>;
    site_coefficients(x, &c);
    write_noise_forms(x, &c);
}
