// Hamiltonian and momentum constraints at one site, with the absolute sums of their terms (SPEC §5).
// Twin: src/physics/constraints.rs.
//   𝓗 = (π_ab π^ab − ½ π²)/√g − √g R + 2Λ√g + Ĥ_m (with √g U(φ));   𝓗_a = −2 g_ac (∂_b π^bc + Γ^c_bd π^bd) + π_φ ∂_aφ

struct ConstraintData {
    g: array<real, 6>,
    pi: array<real, 6>,
    phi: real,
    pi_phi: real,
    dg: SymDerivs,
    dpi: array<array<real, 6>, 3>,
    dphi: array<real, 3>,
}

struct SiteConstraints {
    ham: real,
    ham_abs: real,
    mom: array<real, 3>,
    mom_abs: array<real, 3>,
    kinetic: real,
    potential: real,
    matter: real,
    sqrtg: real,
}

fn energy_density(ginv: array<real, 6>, sqrtg: real, phi: real, pi_phi: real, dphi: array<real, 3>, mass: real, u: array<real, 9>) -> real {
    return real(0.5) * (pi_phi * pi_phi / sqrtg + sqrtg * grad_sq(ginv, dphi) + sqrtg * mass * mass * phi * phi) + sqrtg * poly_value(u, phi);
}

fn site_constraints(c_in: ConstraintData, lambda: real, mass: real, u: array<real, 9>) -> SiteConstraints {
    var c = c_in;
    let half = real(0.5);
    let two = real(2.0);
    let ginv = inverse3(c.g);
    let sqrtg = sqrt(det3(c.g));
    let pi_low = sandwich(c.g, c.pi);
    let trpi = contract(c.pi, c.g);
    let kinetic = (contract(c.pi, pi_low) - half * trpi * trpi) / sqrtg;
    let rr = ricci(ginv, c.dg);
    let potential = -sqrtg * contract(ginv, rr.ric);
    let cosmo = two * lambda * sqrtg;
    let matter = energy_density(ginv, sqrtg, c.phi, c.pi_phi, c.dphi, mass, u);
    var out: SiteConstraints;
    out.ham = kinetic + potential + cosmo + matter;
    out.ham_abs = abs(kinetic) + abs(potential) + abs(cosmo) + abs(matter);
    var gam = rr.gam;
    var div: array<real, 3>;
    var gpi: array<real, 3>;
    for (var cc = 0u; cc < 3u; cc++) {
        div[cc] = c.dpi[0][sym(0u, cc)] + c.dpi[1][sym(1u, cc)] + c.dpi[2][sym(2u, cc)];
        gpi[cc] = contract(c.pi, gam[cc]);
    }
    for (var a = 0u; a < 3u; a++) {
        var t_div = real(0.0);
        var t_gam = real(0.0);
        for (var cc = 0u; cc < 3u; cc++) {
            t_div = t_div - two * c.g[sym(a, cc)] * div[cc];
            t_gam = t_gam - two * c.g[sym(a, cc)] * gpi[cc];
        }
        let t_mat = c.pi_phi * c.dphi[a];
        out.mom[a] = t_div + t_gam + t_mat;
        out.mom_abs[a] = abs(t_div) + abs(t_gam) + abs(t_mat);
    }
    out.kinetic = kinetic;
    out.potential = potential;
    out.matter = matter;
    out.sqrtg = sqrtg;
    return out;
}
