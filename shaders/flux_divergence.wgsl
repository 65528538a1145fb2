// The divergence ∂_a F^a of the scalar flux (scalar_flux.wgsl) with the first-derivative stencil, as antisymmetric
// pairs (twin: src/backend/cpu/fd.rs `d1` of the flux components). The including kernel declares `flux: array<real>`
// (3 components SoA) after lattice.wgsl. Include-only file.

// ∂_axis F^a of the flux component a.
fn d1_flux(a: u32, c: vec3<u32>, axis: u32) -> real {
    let r = i32(pu[3]);
    let base = a * n_sites();
    var s = real(0.0);
    for (var k = 1; k <= r; k++) {
        s = s + pr[P_C1 + u32(k + r)] * (flux[base + shifted(c, axis, k)] - flux[base + shifted(c, axis, -k)]);
    }
    return s * pr[P_INV_D1];
}

fn flux_divergence(c: vec3<u32>) -> real {
    return d1_flux(0u, c, 0u) + d1_flux(1u, c, 1u) + d1_flux(2u, c, 2u);
}
