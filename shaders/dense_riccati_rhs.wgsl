// The covariance's vector fields (SPEC §4.1; twin: src/physics/gaussian_dynamics.rs `drift` and `noise_field`),
// entry (P, Q) of the row-major 2n × 2n result:
//   drift:  dΓ = E + Eᵀ + s Ω(Σ_x R_xᵀσ_xR_x)Ωᵀ − ½(T + Tᵀ),  E = (Γ Rᵀk R) Ωᵀ = zk Ωᵀ, T = (Γ Rᵀσ R) Γ
//   noise:  dΓ = ¼ Ω(Σ_x R_xᵀb_xR_x)Ωᵀ − ½(T + Tᵀ),         T = (Γ Rᵀb R) Γ
// zk from jet_forms_apply + jet_transpose, T from matmul.wgsl. The sparse term is a gather: with P' the Ω-partner
// of P (φ ↔ π) and σ_P = +1 for φ-entries, −1 for π-entries, (ΩSΩᵀ)[P, Q] = σ_Pσ_Q S[P', Q']/ΔV², and
// S[p, q] = Σ_x (R_x[·, p])ᵀ z_x R_x[·, q] over the sites x whose jets see p (each visited once).
// ku: 0 = 1 with E + Eᵀ | 1 = 1 with T | 2 z stride | 3 z offset | 4 index into pr of the scale s.
//#include "lattice.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> zk: array<real>;
@group(0) @binding(4) var<storage, read> z: array<real>;
@group(0) @binding(5) var<storage, read> tm: array<real>;
@group(0) @binding(6) var<storage, read_write> out: array<real>;

// R_x[·, p] for any entry p of R^{2n} at the site with coordinates c.
fn column(c: vec3<u32>, p: u32) -> array<real, 5> {
    let n = n_sites();
    if p < n {
        return jet_column(c, p);
    }
    var col = array<real, 5>(real(0.0), real(0.0), real(0.0), real(0.0), real(0.0));
    if p - n == site_index(c) {
        col[J_PI] = real(1.0);
    }
    return col;
}

// (R_x[·, p])ᵀ z_x R_x[·, q] at the site with coordinates c.
fn form_entry(c: vec3<u32>, p: u32, q: u32) -> real {
    let rp = column(c, p);
    let rq = column(c, q);
    let zb = site_index(c) * ku[2] + ku[3];
    var s = real(0.0);
    for (var a = 0u; a < 5u; a++) {
        if rp[a] == real(0.0) {
            continue;
        }
        var t = real(0.0);
        for (var b = 0u; b < 5u; b++) {
            t = t + z[zb + a * 5u + b] * rq[b];
        }
        s = s + rp[a] * t;
    }
    return s;
}

// S[p, q] = Σ_x R_x[·,p]ᵀ z_x R_x[·,q].
fn sparse_form(p: u32, q: u32) -> real {
    let n = n_sites();
    let sp = site_coords(p % n);
    let sq = site_coords(q % n);
    let r = u32(stencil_radius());
    // the jets of one site see sites on its cross within r: p and q share a site only within L1 distance 2r
    var dist = 0u;
    for (var a = 0u; a < 3u; a++) {
        dist = dist + periodic_distance(a, sp[a], sq[a]);
    }
    if dist > 2u * r {
        return real(0.0);
    }
    if p >= n {
        // a π-entry is seen only by its own site
        return form_entry(sp, p, q);
    }
    var s = form_entry(sp, p, q);
    for (var a = 0u; a < 3u; a++) {
        for (var k = -i32(r); k <= i32(r); k++) {
            if k == 0 || !distinct_offset(a, k) {
                continue;
            }
            s = s + form_entry(site_coords(shifted(sp, a, k)), p, q);
        }
    }
    return s;
}

fn omega_rows(i: u32, j: u32) -> real {
    // (zk Ωᵀ)[i, j]: (Ωᵀ) maps column j < n to zk[i, n + j]/ΔV, column n + j to −zk[i, j]/ΔV
    let n = n_sites();
    let d = 2u * n;
    if j < n {
        return zk[i * d + j + n] / pr[P_DV];
    }
    return -zk[i * d + j - n] / pr[P_DV];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let n = n_sites();
    let d = 2u * n;
    if id >= d * d {
        return;
    }
    let pp = id / d;
    let qq = id % d;
    var v = real(0.0);
    if ku[0] != 0u {
        v = omega_rows(pp, qq) + omega_rows(qq, pp);
    }
    let scale = pr[ku[4]];
    if scale != real(0.0) {
        var sp = real(1.0);
        var p2 = pp + n;
        if pp >= n {
            sp = real(-1.0);
            p2 = pp - n;
        }
        var sq = real(1.0);
        var q2 = qq + n;
        if qq >= n {
            sq = real(-1.0);
            q2 = qq - n;
        }
        let dv = pr[P_DV];
        v = v + scale / (dv * dv) * sp * sq * sparse_form(p2, q2);
    }
    if ku[1] != 0u {
        v = v - real(0.5) * (tm[pp * d + qq] + tm[qq * d + pp]);
    }
    out[id] = v;
}
