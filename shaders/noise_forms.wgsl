// The noise forms of one step (SPEC §4.1; twin: src/physics/gaussian_dynamics.rs `noise_forms`): at each site
// ξ = 𝒟⁻¹ dW and b_x = Σ_I ξ_I ã_I, from the coefficients at the start of the step (gaussian_coeffs.wgsl) and
// the very increments dW^ab that cq_noise.wgsl adds to π^ab (6 components SoA). fb[x·25 ..] row-major.
//#include "lattice.wgsl"
//#include "site_coeffs_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> sc: array<real>;
@group(0) @binding(2) var<storage, read> dw: array<real>;
@group(0) @binding(3) var<storage, read_write> fb: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    if x >= n {
        return;
    }
    let base = x * SC;
    var b: array<real, 25>;
    for (var e = 0u; e < 25u; e++) {
        b[e] = real(0.0);
    }
    for (var i = 0u; i < 6u; i++) {
        var xi = real(0.0);
        for (var j = 0u; j < 6u; j++) {
            xi = xi + sc[base + SC_DINV + i * 6u + j] * dw[j * n + x];
        }
        for (var e = 0u; e < 25u; e++) {
            b[e] = b[e] + xi * sc[base + i * 25u + e];
        }
    }
    for (var e = 0u; e < 25u; e++) {
        fb[x * 25u + e] = b[e];
    }
}
