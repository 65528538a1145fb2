// The local (jet) covariance Γ_loc(x) = R_x Γ R_xᵀ (5×5 per site; twin: src/numerics/jets.rs `local_cov`),
// Γ row-major 2n × 2n; out[x·25 ..] row-major.
//#include "lattice.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> gam: array<real>;
@group(0) @binding(3) var<storage, read_write> loc: array<real>;

// The functional R_x[k, ·]: up to 2r (index, weight) pairs.
struct Functional {
    idx: array<u32, 8>,
    w: array<real, 8>,
    count: u32,
}

fn functional(c: vec3<u32>, k: u32) -> Functional {
    var f: Functional;
    let x = site_index(c);
    if k == J_PHI {
        f.idx[0] = x;
        f.w[0] = real(1.0);
        f.count = 1u;
    } else if k == J_PI {
        f.idx[0] = n_sites() + x;
        f.w[0] = real(1.0);
        f.count = 1u;
    } else {
        f.count = 0u;
        for (var j = 1; j <= stencil_radius(); j++) {
            f.idx[f.count] = shifted(c, k, j);
            f.w[f.count] = tap_weight(j);
            f.idx[f.count + 1u] = shifted(c, k, -j);
            f.w[f.count + 1u] = -tap_weight(j);
            f.count = f.count + 2u;
        }
    }
    return f;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    if x >= n {
        return;
    }
    let d = 2u * n;
    let c = site_coords(x);
    var f: array<Functional, 5>;
    for (var k = 0u; k < 5u; k++) {
        f[k] = functional(c, k);
    }
    for (var a = 0u; a < 5u; a++) {
        for (var b = a; b < 5u; b++) {
            var s = real(0.0);
            for (var i = 0u; i < f[a].count; i++) {
                let row = f[a].idx[i] * d;
                for (var j = 0u; j < f[b].count; j++) {
                    s = s + f[a].w[i] * f[b].w[j] * gam[row + f[b].idx[j]];
                }
            }
            loc[x * 25u + a * 5u + b] = s;
            loc[x * 25u + b * 5u + a] = s;
        }
    }
}
