// Lattice momenta of the `fourier` kernels that declare `sig` (the per-axis symbols σ_a of the first-derivative
// stencil: N1 | N2 | N3 values; src/physics/lattice_vacuum.rs `symbols`). Include-only file.
// σ(k) of momentum k from the per-axis symbol tables `sig` (N1 | N2 | N3 values).
fn sigma_of(k: u32) -> array<real, 3> {
    return array<real, 3>(sig[k % pu[0]], sig[pu[0] + (k / pu[0]) % pu[1]], sig[pu[0] + pu[1] + k / (pu[0] * pu[1])]);
}

// The index of −k.
fn negative_mode(k: u32) -> u32 {
    let c = site_coords(k);
    return site_index(vec3<u32>((pu[0] - c.x) % pu[0], (pu[1] - c.y) % pu[1], (pu[2] - c.z) % pu[2]));
}

