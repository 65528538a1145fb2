// Scalar mean field (SPEC §4, representation `none`). Twin: src/physics/scalar_field.rs, src/physics/potential.rs.
//   V(φ) = ½m²φ² + U(φ), U(φ) = Σ_{n≤8} c_n φⁿ (Horner, as the twin)
//   F^a = N √g g^ab ∂_bφ;  ∂t φ = N π_φ/√g;  ∂t π_φ = ∂_a F^a − N √g m² φ − N √g U′(φ)
//   S^ab = D^aφ D^bφ + ½ g^ab (Π² − (Dφ)² − m²φ²) − g^ab U(φ),  Π = π_φ/√g

// The coefficients c_0 … c_8 of U(φ) from the including kernel's pr (lattice.wgsl layout, P_POLY).
fn potential_coeffs() -> array<real, 9> {
    var c: array<real, 9>;
    for (var k = 0u; k < 9u; k++) {
        c[k] = pr[P_POLY + k];
    }
    return c;
}

fn poly_value(c_in: array<real, 9>, x: real) -> real {
    var c = c_in;
    var s = c[8];
    for (var k = 8u; k > 0u; k--) {
        s = s * x + c[k - 1u];
    }
    return s;
}

fn poly_d1(c_in: array<real, 9>, x: real) -> real {
    var c = c_in;
    var s = real(8.0) * c[8];
    for (var k = 7u; k > 0u; k--) {
        s = s * x + real(k) * c[k];
    }
    return s;
}

fn scalar_flux_at(lapse: real, sqrtg: real, ginv: array<real, 6>, dphi: array<real, 3>) -> array<real, 3> {
    let f = lapse * sqrtg;
    return array<real, 3>(
        f * (ginv[0] * dphi[0] + ginv[1] * dphi[1] + ginv[2] * dphi[2]),
        f * (ginv[1] * dphi[0] + ginv[3] * dphi[1] + ginv[4] * dphi[2]),
        f * (ginv[2] * dphi[0] + ginv[4] * dphi[1] + ginv[5] * dphi[2]));
}

fn grad_sq(ginv_in: array<real, 6>, dphi_in: array<real, 3>) -> real {
    var ginv = ginv_in;
    var dphi = dphi_in;
    var s = real(0.0);
    for (var a = 0u; a < 3u; a++) {
        for (var b = 0u; b < 3u; b++) {
            s = s + ginv[sym(a, b)] * dphi[a] * dphi[b];
        }
    }
    return s;
}

fn scalar_stress(ginv_in: array<real, 6>, sqrtg: real, phi: real, pi_phi: real, dphi_in: array<real, 3>, mass: real, u: array<real, 9>) -> array<real, 6> {
    var ginv = ginv_in;
    var dphi = dphi_in;
    var up: array<real, 3>;
    for (var a = 0u; a < 3u; a++) {
        up[a] = ginv[sym(a, 0u)] * dphi[0] + ginv[sym(a, 1u)] * dphi[1] + ginv[sym(a, 2u)] * dphi[2];
    }
    let big_pi = pi_phi / sqrtg;
    let l = real(0.5) * (big_pi * big_pi - grad_sq(ginv, dphi) - mass * mass * phi * phi) - poly_value(u, phi);
    var out: array<real, 6>;
    for (var s = 0u; s < 6u; s++) {
        out[s] = up[pair_a(s)] * up[pair_b(s)] + ginv[s] * l;
    }
    return out;
}
