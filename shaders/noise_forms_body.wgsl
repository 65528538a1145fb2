// The noise forms of one step (SPEC §4.1; twin: src/physics/gaussian_dynamics.rs `noise_forms`): at each site
// ξ = 𝒟⁻¹ dW and b_x = Σ_I ξ_I ã_I, from a site's coefficient block c at the start of the step and the very
// increments dW^ab that cq_noise.wgsl adds to π^ab (6 components SoA). fb[x·25 ..] row-major. Include-only file:
// include after lattice.wgsl and site_coeffs_layout.wgsl; the including kernel declares `pu`, `dw` and `fb`
// (noise_forms.wgsl: c read from the stored block; ensemble_noise_forms.wgsl: computed in place).

fn write_noise_forms(x: u32, c: ptr<function, array<real, SC>>) {
    let n = n_sites();
    var b: array<real, 25>;
    for (var e = 0u; e < 25u; e++) {
        b[e] = real(0.0);
    }
    for (var i = 0u; i < 6u; i++) {
        var xi = real(0.0);
        for (var j = 0u; j < 6u; j++) {
            xi = xi + (*c)[SC_DINV + i * 6u + j] * dw[j * n + x];
        }
        for (var e = 0u; e < 25u; e++) {
            b[e] = b[e] + xi * (*c)[i * 25u + e];
        }
    }
    for (var e = 0u; e < 25u; e++) {
        fb[x * 25u + e] = b[e];
    }
}
