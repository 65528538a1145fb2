// The members' jet covariances (twin: src/numerics/member_ops.rs `local_covs`):
//   loc[ku[0] + x·25 ..] = kr[0] · Σ_s Y_x,s Y_x,sᵀ,  Y_x,s = R_x d_s (jets.wgsl), row-major 5×5.
// With ku[1] = 1 (the control variate, twin: backend/cpu/ensemble_field.rs `control_variate`) it writes instead
//   loc[ku[0] + x·25 ..] = base[x·25 ..] − kr[0] Σ_s Y_x,s Y_x,sᵀ + Γref
// (d = the shadow members, base = the members' own covariances, Γref the exact homogeneous jet covariance from the
// momentum sums `reference` of fourier_mode_sums + fourier_sum_partials: σσΓφφ (6 stored components) | Γφφ | Γφπ | Γππ,
// divided by the box's sites ku[2] (the local lattice's n on one GPU; the whole lattice's on a rank's z-slab, issue 18).
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> eu: array<u32>;
@group(0) @binding(3) var<storage, read> ku: array<u32>;
@group(0) @binding(4) var<storage, read> kr: array<real>;
@group(0) @binding(5) var<storage, read> d: array<real>;
@group(0) @binding(6) var<storage, read> base: array<real>;
@group(0) @binding(7) var<storage, read> reference: array<real>;
@group(0) @binding(8) var<storage, read_write> loc: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    if x >= n {
        return;
    }
    let m = members();
    let c = site_coords(x);
    var acc: array<real, 15>;
    for (var e = 0u; e < 15u; e++) {
        acc[e] = real(0.0);
    }
    for (var s = 0u; s < m; s++) {
        var y: array<real, 5>;
        for (var a = 0u; a < 3u; a++) {
            var t = real(0.0);
            for (var k = 1; k <= stencil_radius(); k++) {
                t = t + tap_weight(k) * (d[shifted(c, a, k) * m + s] - d[shifted(c, a, -k) * m + s]);
            }
            y[a] = t;
        }
        y[J_PHI] = d[x * m + s];
        y[J_PI] = d[(n + x) * m + s];
        var e = 0u;
        for (var i = 0u; i < 5u; i++) {
            for (var j = i; j < 5u; j++) {
                acc[e] = acc[e] + y[i] * y[j];
                e++;
            }
        }
    }
    // Γref from the momentum sums
    var gref: array<real, 25>;
    if ku[1] == 1u {
        let inv = real(1.0) / real(ku[2]);
        for (var e = 0u; e < 25u; e++) {
            gref[e] = real(0.0);
        }
        for (var a = 0u; a < 3u; a++) {
            for (var b = 0u; b < 3u; b++) {
                gref[a * 5u + b] = reference[sym(a, b)] * inv;
            }
        }
        gref[J_PHI * 5u + J_PHI] = reference[6] * inv;
        gref[J_PHI * 5u + J_PI] = reference[7] * inv;
        gref[J_PI * 5u + J_PHI] = reference[7] * inv;
        gref[J_PI * 5u + J_PI] = reference[8] * inv;
    }
    let out = ku[0] + x * 25u;
    var e = 0u;
    for (var i = 0u; i < 5u; i++) {
        for (var j = i; j < 5u; j++) {
            var v = kr[0] * acc[e];
            if ku[1] == 1u {
                v = base[x * 25u + i * 5u + j] - v + gref[i * 5u + j];
            }
            loc[out + i * 5u + j] = v;
            loc[out + j * 5u + i] = v;
            e++;
        }
    }
}
