// Per-site operators of the quantum field as 5×5 jet forms, row-major (twin: src/physics/gaussian_forms.rs
// `backreaction_forms`, `inverse_diffusion`), shared by the dense and fourier kernels. Include after lattice.wgsl,
// tensor.wgsl and jets.wgsl. Include-only file.

// w_s = 1 for a diagonal stored component, 2 for an off-diagonal one.
fn pair_weight(s: u32) -> real {
    if pair_a(s) == pair_b(s) {
        return real(1.0);
    }
    return real(2.0);
}

// ã_s (L̂^ab(x) = ½YᵀãY for the stored component s = (a, b)): −N√g[½(g^ac g^bd + g^bc g^ad) − ½g^ab g^cd] on the
// gradients, ½N√g g^ab m² at (φ, φ), −½N g^ab/√g at (π, π).
fn backreaction_form(s: u32, gi_in: array<real, 6>, lapse: real, sqrtg: real, mass: real) -> array<real, 25> {
    var gi = gi_in;
    var a: array<real, 25>;
    let f = lapse * sqrtg;
    let pa = pair_a(s);
    let pb = pair_b(s);
    let gab = gi[sym(pa, pb)];
    for (var e = 0u; e < 25u; e++) {
        a[e] = real(0.0);
    }
    for (var c = 0u; c < 3u; c++) {
        for (var d = 0u; d < 3u; d++) {
            let sy = real(0.5) * (gi[sym(pa, c)] * gi[sym(pb, d)] + gi[sym(pb, c)] * gi[sym(pa, d)]);
            a[c * 5u + d] = -f * (sy - real(0.5) * gab * gi[sym(c, d)]);
        }
    }
    a[J_PHI * 5u + J_PHI] = real(0.5) * f * gab * mass * mass;
    a[J_PI * 5u + J_PI] = real(-0.5) * lapse * gab / sqrtg;
    return a;
}

// (𝒟⁻¹)_ij = w_i w_j pre [½(g_ac g_bd + g_ad g_bc) + tr g_ab g_cd] for white tensor noise, pre = ΔV/(D2 N√g),
// tr = β/(1 − 3β).
fn inverse_diffusion_entry(i: u32, j: u32, g_in: array<real, 6>, pre: real, tr: real) -> real {
    var g = g_in;
    let ia = pair_a(i);
    let ib = pair_b(i);
    let jc = pair_a(j);
    let jd = pair_b(j);
    return pair_weight(i) * pair_weight(j) * pre
        * (real(0.5) * (g[sym(ia, jc)] * g[sym(ib, jd)] + g[sym(ia, jd)] * g[sym(ib, jc)]) + tr * g[sym(ia, ib)] * g[sym(jc, jd)]);
}
