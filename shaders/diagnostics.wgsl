// Per-site diagnostic values (SPEC §5, §6) and their first reduction pass inside each workgroup.
// Twin: src/backend/cpu/diagnostics.rs (site_values) and src/backend/cpu/reduce.rs (the 64-wide tree).
// Columns (NCOL = 13): √g, K, N·Gππ, −N√gR, N·Ĥ_m, φ, 𝓗², (Σ|terms|)², |𝓗_a|², (Σ|terms_a|)² summed; |𝓗|, |𝓗_a|
// and the health indicator max(−g_xx, −(g_xx g_yy − g_xy²), −det g, −N) maximised (columns ≥ 10).
// Also writes the constraint fields cfields = (𝓗, 𝓗_x, 𝓗_y, 𝓗_z) for snapshots.
//#include "lattice.wgsl"
//#include "stencil.wgsl"
//#include "tensor.wgsl"
//#include "ricci.wgsl"
//#include "scalar_field.wgsl"
//#include "constraints.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read_write> cfields: array<real>;
@group(0) @binding(4) var<storage, read_write> partial: array<real>;

const NCOL: u32 = 13u;
var<workgroup> sh: array<array<real, 64>, 13>;

fn site_values(i: u32) -> array<real, 13> {
    let n = n_sites();
    let c = site_coords(i);
    var d: ConstraintData;
    for (var k = 0u; k < 6u; k++) {
        d.g[k] = pr[P_BG + k] + u_in[(V_G + k) * n + i];
        d.pi[k] = u_in[(V_PI + k) * n + i];
        let gg = gradient_in(V_G + k, c);
        let gp = gradient_in(V_PI + k, c);
        let hh = hessian_in(V_G + k, c);
        for (var a = 0u; a < 3u; a++) {
            d.dg.d[a][k] = gg[a];
            d.dpi[a][k] = gp[a];
        }
        for (var p = 0u; p < 6u; p++) {
            d.dg.dd[p][k] = hh[p];
        }
    }
    d.phi = u_in[V_PHI * n + i];
    d.pi_phi = u_in[V_PIPHI * n + i];
    d.dphi = gradient_in(V_PHI, c);
    let s = site_constraints(d, pr[P_LAMBDA], pr[P_MASS], potential_coeffs());
    let lapse = u_in[V_LAPSE * n + i];
    let half = real(0.5);
    let mom2 = s.mom[0] * s.mom[0] + s.mom[1] * s.mom[1] + s.mom[2] * s.mom[2];
    let mom_abs2 = s.mom_abs[0] * s.mom_abs[0] + s.mom_abs[1] * s.mom_abs[1] + s.mom_abs[2] * s.mom_abs[2];
    cfields[i] = s.ham;
    cfields[n + i] = s.mom[0];
    cfields[2u * n + i] = s.mom[1];
    cfields[3u * n + i] = s.mom[2];
    let minor2 = d.g[0] * d.g[3] - d.g[1] * d.g[1];
    let health = max(max(-d.g[0], -minor2), max(-(s.sqrtg * s.sqrtg), -lapse));
    return array<real, 13>(
        s.sqrtg, -half * contract(d.pi, d.g) / s.sqrtg, lapse * s.kinetic, lapse * s.potential, lapse * s.matter,
        d.phi, s.ham * s.ham, s.ham_abs * s.ham_abs, mom2, mom_abs2, abs(s.ham), sqrt(mom2), health);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let i = flat_index(gid, nwg);
    var vals: array<real, 13>;
    if i < n_sites() {
        vals = site_values(i);
    }
    for (var c = 0u; c < NCOL; c++) {
        sh[c][lid] = vals[c];
    }
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            for (var c = 0u; c < NCOL; c++) {
                if c >= 10u {
                    sh[c][lid] = max(sh[c][lid], sh[c][lid + stride]);
                } else {
                    sh[c][lid] = sh[c][lid] + sh[c][lid + stride];
                }
            }
        }
        workgroupBarrier();
    }
    let blocks = (n_sites() + 63u) / 64u;
    let w = wid.x + wid.y * nwg.x;
    if lid == 0u && w < blocks {
        for (var c = 0u; c < NCOL; c++) {
            partial[c * blocks + w] = sh[c][0];
        }
    }
}
