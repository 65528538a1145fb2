// ADM right-hand side at one site with the scalar back-reaction and the lapse condition (SPEC §2, §4).
// Twin: src/physics/adm_rhs.rs.
//   ∂t g_ab = (2N/√g)(π_ab − ½ g_ab π)
//   ∂t π^ab = −N√g (R^ab − ½ g^ab R) − N√g Λ g^ab + (N/(2√g)) g^ab (π_cd π^cd − ½ π²)
//             − (2N/√g)(π^ac π_c^b − ½ π π^ab) + √g (D^aD^bN − g^ab D^cD_cN) + (N√g/2) S^ab

struct SiteData {
    g: array<real, 6>,
    pi: array<real, 6>,
    lapse: real,
    phi: real,
    pi_phi: real,
    dg: SymDerivs,
    dlapse: array<real, 3>,
    ddlapse: array<real, 6>,
    dphi: array<real, 3>,
    div_flux: real,
}

fn lapse_hessian(gam: array<array<real, 6>, 3>, dn: array<real, 3>, ddn: array<real, 6>) -> array<real, 6> {
    var out: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        out[k] = ddn[k] - gam[0][k] * dn[0] - gam[1][k] * dn[1] - gam[2][k] * dn[2];
    }
    return out;
}

fn adm_rhs(s: SiteData, lambda: real, mass: real, u: array<real, 9>, lapse_kind: u32) -> array<real, 15> {
    let half = real(0.5);
    let two = real(2.0);
    let n = s.lapse;
    let ginv = inverse3(s.g);
    let sqrtg = sqrt(det3(s.g));
    let isg = real(1.0) / sqrtg;
    let pi_low = sandwich(s.g, s.pi);
    let trpi = contract(s.pi, s.g);
    let pipi = contract(s.pi, pi_low);
    let pgp = sandwich(s.pi, s.g);

    let rr = ricci(ginv, s.dg);
    let ric_up = sandwich(ginv, rr.ric);
    let r_scalar = contract(ginv, rr.ric);

    let hess = lapse_hessian(rr.gam, s.dlapse, s.ddlapse);
    let hess_up = sandwich(ginv, hess);
    let lap_n = contract(ginv, hess);

    let stress = scalar_stress(ginv, sqrtg, s.phi, s.pi_phi, s.dphi, mass, u);

    var out: array<real, 15>;
    let kin = half * n * isg * (pipi - half * trpi * trpi);
    for (var k = 0u; k < 6u; k++) {
        out[V_G + k] = two * n * isg * (pi_low[k] - half * s.g[k] * trpi);
        out[V_PI + k] = -n * sqrtg * (ric_up[k] - half * ginv[k] * r_scalar) - n * sqrtg * lambda * ginv[k]
            + kin * ginv[k]
            - two * n * isg * (pgp[k] - half * trpi * s.pi[k])
            + sqrtg * (hess_up[k] - ginv[k] * lap_n)
            + half * n * sqrtg * stress[k];
    }
    let trace_k = -half * trpi * isg;
    out[V_LAPSE] = lapse_rhs(lapse_kind, n, trace_k);
    out[V_PHI] = n * s.pi_phi / sqrtg;
    out[V_PIPHI] = s.div_flux - n * sqrtg * mass * mass * s.phi - n * sqrtg * poly_d1(u, s.phi);
    return out;
}
