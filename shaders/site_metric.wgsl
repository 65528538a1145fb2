// The full metric g_ab = ḡ_ab + δg_ab at site x of the stage input `u_in` (state.rs layout; the including kernel
// declares `pr` and `u_in` after lattice.wgsl; site_geometry needs tensor.wgsl). Include-only file.
fn site_metric(x: u32) -> array<real, 6> {
    let n = n_sites();
    var g: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        g[k] = pr[P_BG + k] + u_in[(V_G + k) * n + x];
    }
    return g;
}

// The metric, its inverse, √g and the lapse at site x (needs tensor.wgsl).
struct SiteGeometry {
    g: array<real, 6>,
    gi: array<real, 6>,
    sqrtg: real,
    lapse: real,
}

fn site_geometry(x: u32) -> SiteGeometry {
    var s: SiteGeometry;
    s.g = site_metric(x);
    s.gi = inverse3(s.g);
    s.sqrtg = sqrt(det3(s.g));
    s.lapse = u_in[V_LAPSE * n_sites() + x];
    return s;
}
