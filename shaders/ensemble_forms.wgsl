// A jet form applied to every member (twin: src/numerics/member_ops.rs `apply_forms`, and the Ω scaling of
// src/physics/ensemble_dynamics.rs `hamiltonian_flow` / `symplectic_generator`): for each site q and member s
//   u = Σ_x R_xᵀ z_x R_x d_s,  as a gather: u_φ(q) = t_q[φ] − Σ_a Σ_k w_k (t_{q+k e_a}[a] − t_{q−k e_a}[a]),
//   u_π(q) = t_q[π],  t_x = z_x Y_x,  Y_x = R_x d_s (jets.wgsl),
// then out ← α·u (ku[2] = 0) or out ← α·Ω u, (Ωu)_φ = u_π/ΔV, (Ωu)_π = −u_φ/ΔV (ku[2] = 1); ku[3] = 1 adds to out.
// z: forms[ku[0] + x·ku[1] ..] (row-major 5×5; ku[1] = 0: one form for every site). kr[0] = α.
//#include "lattice.wgsl"
//#include "jets.wgsl"
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> eu: array<u32>;
@group(0) @binding(3) var<storage, read> ku: array<u32>;
@group(0) @binding(4) var<storage, read> kr: array<real>;
@group(0) @binding(5) var<storage, read> forms: array<real>;
@group(0) @binding(6) var<storage, read> d: array<real>;
@group(0) @binding(7) var<storage, read_write> out: array<real>;

// Y_x of member s at site x.
fn member_jets(x: u32, s: u32) -> array<real, 5> {
    let m = members();
    let n = n_sites();
    let c = site_coords(x);
    var y: array<real, 5>;
    for (var a = 0u; a < 3u; a++) {
        var acc = real(0.0);
        for (var k = 1; k <= stencil_radius(); k++) {
            acc = acc + tap_weight(k) * (d[shifted(c, a, k) * m + s] - d[shifted(c, a, -k) * m + s]);
        }
        y[a] = acc;
    }
    y[J_PHI] = d[x * m + s];
    y[J_PI] = d[(n + x) * m + s];
    return y;
}

// Row `row` of z_x Y_x.
fn form_row(x: u32, row: u32, y: array<real, 5>) -> real {
    let base = ku[0] + x * ku[1] + row * 5u;
    var t = real(0.0);
    for (var b = 0u; b < 5u; b++) {
        t = t + forms[base + b] * y[b];
    }
    return t;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let n = n_sites();
    let m = members();
    if id >= n * m {
        return;
    }
    let q = id / m;
    let s = id % m;
    let c = site_coords(q);
    let yq = member_jets(q, s);
    var uphi = form_row(q, J_PHI, yq);
    let upi = form_row(q, J_PI, yq);
    for (var a = 0u; a < 3u; a++) {
        for (var k = 1; k <= stencil_radius(); k++) {
            let xp = shifted(c, a, k);
            let xm = shifted(c, a, -k);
            uphi = uphi - tap_weight(k) * (form_row(xp, a, member_jets(xp, s)) - form_row(xm, a, member_jets(xm, s)));
        }
    }
    var vphi = uphi;
    var vpi = upi;
    if ku[2] == 1u {
        vphi = upi / pr[P_DV];
        vpi = -uphi / pr[P_DV];
    }
    let alpha = kr[0];
    let iphi = q * m + s;
    let ipi = (n + q) * m + s;
    if ku[3] == 1u {
        out[iphi] = out[iphi] + alpha * vphi;
        out[ipi] = out[ipi] + alpha * vpi;
    } else {
        out[iphi] = alpha * vphi;
        out[ipi] = alpha * vpi;
    }
}
