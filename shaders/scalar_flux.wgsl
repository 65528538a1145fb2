// Pre-pass of every RK stage: F^a = N √g g^ab ∂_bφ at every site (SPEC §4).
// Twin: src/backend/cpu/scalar_flux.rs. Metric slots of u_in hold δg_ab; g = ḡ + δg.
//#include "lattice.wgsl"
//#include "site_metric.wgsl"
//#include "stencil.wgsl"
//#include "tensor.wgsl"
//#include "scalar_field.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read_write> flux: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    if i >= n {
        return;
    }
    let g = site_metric(i);
    let ginv = inverse3(g);
    let f = scalar_flux_at(u_in[V_LAPSE * n + i], sqrt(det3(g)), ginv, gradient_in(V_PHI, site_coords(i)));
    flux[i] = f[0];
    flux[n + i] = f[1];
    flux[2u * n + i] = f[2];
}
