// Per-site forms of the Stratonovich drift (site_forms_body.wgsl) with the coefficient block computed in place
// (site_coeffs.wgsl) instead of stored: the ensemble representation's kernel (it holds no n × SC buffer; twin: the
// per-site part of src/physics/ensemble_dynamics.rs `drift`, via gaussian_dynamics.rs `site_forms`).
//#include "lattice.wgsl"
//#include "site_metric.wgsl"
//#include "site_coeffs_layout.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "quantum_site_forms.wgsl"
//#include "site_coeffs.wgsl"
//#include "site_forms_body.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read> loc: array<real>;
@group(0) @binding(4) var<storage, read_write> forms: array<real>;
@group(0) @binding(5) var<storage, read_write> qrhs: array<real>;
@group(0) @binding(6) var<storage, read> br_loc: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    if x >= n_sites() {
        return;
    }
    var c: array<real, SC>;
    site_coefficients(x, &c);
    write_site_forms(x, &c);
}
