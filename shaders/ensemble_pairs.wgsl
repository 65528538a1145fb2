// The ensemble's localised covariance products by site pairs (twin: src/numerics/member_ops.rs `pair_products`,
// `pair_vec`; numerics/localization.rs `SitePairs`): with one-site localisation blocks, for site i and the sites
// j = i + o of the taper's support (weights ρ_o = ρ_x ρ_y ρ_z, x fastest),
//   C^h_fg(i, j) = Σ_{r ∈ half h} d[(f·n + i)·M + r] d[(g·n + j)·M + r]   (f, g: 0 φ, 1 π; halves [0, M/2), [M/2, M))
// is summed by one thread per neighbour j for a tile of 64 neighbours (one workgroup per site and 64-member
// chunk; two barriers per tile, not per neighbour: llvmpipe's barriers cost a coroutine switch per thread), then
// thread = member s applies the tile:
//   ku[0] = 0 (members):  w(f, i, s) = α_w Σ_j ρ Σ_g C^{h̄(s)}_fg (Ω⁻¹d_s)(g, j),  (Ω⁻¹d)_φ = −ΔV d_π, (Ω⁻¹d)_π = ΔV d_φ,
//                         out(f, i, s) (= or, ku[1] = 1, +=) α_u Σ_j ρ Σ_g C^{h̄(s)}_fg e_s(g, j)   (e: members)
//   ku[0] = 1 (vector):   out(f, i) = α_w Σ_j ρ Σ_g (C^A + C^B)_fg e(g, j)                       (e: a 2n vector)
// with h̄(s) the half s is not in, kr = (α_w, α_u). The band: pband[2a], pband[2a + 1] = start and count of axis
// a's entries, pband[6 + k] an offset (i32 bits) with weight pbandr[k]. Dispatch n·⌈M/64⌉·64 threads (mode 0),
// n·64 (mode 1).
//#include "lattice.wgsl"
//#include "jets.wgsl"
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> eu: array<u32>;
@group(0) @binding(3) var<storage, read> ku: array<u32>;
@group(0) @binding(4) var<storage, read> kr: array<real>;
@group(0) @binding(5) var<storage, read> pband: array<u32>;
@group(0) @binding(6) var<storage, read> pbandr: array<real>;
@group(0) @binding(7) var<storage, read> d: array<real>;
@group(0) @binding(8) var<storage, read> e: array<real>;
@group(0) @binding(9) var<storage, read_write> w: array<real>;
@group(0) @binding(10) var<storage, read_write> out: array<real>;

// the Gram sums and site of a tile's neighbour q (thread q of the tile): C^h_fg(i, j) for h, f, g, then ρ and j
var<workgroup> gram: array<array<real, 8>, 64>;
var<workgroup> tile_rho: array<real, 64>;
var<workgroup> tile_j: array<u32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    let n = n_sites();
    let m = members();
    let vector = ku[0] == 1u;
    var chunks = (m + 63u) / 64u;
    if vector {
        chunks = 1u;
    }
    let group = wid.x + wid.y * nwg.x;
    let i = group / chunks;
    if i >= n {
        return;
    }
    let s = (group % chunks) * 64u + lid;
    let live = s < m;
    let half = m / 2u;
    let dv = pr[P_DV];
    let c = site_coords(i);
    let cx = pband[1];
    let cy = pband[3];
    let support = cx * cy * pband[5];
    // accumulators: w_φ, w_π, out_φ, out_π of member s (mode 0), or out_φ, out_π (mode 1, thread 0)
    var acc = array<real, 4>(real(0.0), real(0.0), real(0.0), real(0.0));
    // the support (x fastest) in tiles of 64 neighbours: thread q sums neighbour q's Gram block over the members
    // (r = q', q' + 64, ... summed per q', the q' sums in order: the order of a tree-free 64-thread reduction), then
    // every thread applies the tile's 64 blocks in the support's order
    for (var t0 = 0u; t0 < support; t0 += 64u) {
        let q = t0 + lid;
        if q < support {
            let bx = pband[0] + q % cx;
            let by = pband[2] + (q / cx) % cy;
            let bz = pband[4] + q / (cx * cy);
            let o = vec3<i32>(bitcast<i32>(pband[6u + bx]), bitcast<i32>(pband[6u + by]), bitcast<i32>(pband[6u + bz]));
            var cj = c;
            for (var a = 0u; a < 3u; a++) {
                let na = i32(pu[a]);
                cj[a] = u32(((i32(c[a]) + o[a]) % na + na) % na);
            }
            let j = site_index(cj);
            tile_rho[lid] = pbandr[bx] * pbandr[by] * pbandr[bz];
            tile_j[lid] = j;
            var t = array<real, 8>(real(0.0), real(0.0), real(0.0), real(0.0), real(0.0), real(0.0), real(0.0), real(0.0));
            for (var q2 = 0u; q2 < min(m, 64u); q2++) {
                var p = array<real, 8>(real(0.0), real(0.0), real(0.0), real(0.0), real(0.0), real(0.0), real(0.0), real(0.0));
                for (var r = q2; r < m; r += 64u) {
                    var h = 0u;
                    if r >= half {
                        h = 4u;
                    }
                    let ai = array<real, 2>(d[i * m + r], d[(n + i) * m + r]);
                    let aj = array<real, 2>(d[j * m + r], d[(n + j) * m + r]);
                    for (var f = 0u; f < 2u; f++) {
                        for (var g = 0u; g < 2u; g++) {
                            p[h + 2u * f + g] = p[h + 2u * f + g] + ai[f] * aj[g];
                        }
                    }
                }
                for (var k = 0u; k < 8u; k++) {
                    t[k] = t[k] + p[k];
                }
            }
            gram[lid] = t;
        }
        workgroupBarrier();
        for (var k = 0u; k < min(64u, support - t0); k++) {
            let rho = tile_rho[k];
            let j = tile_j[k];
            if vector {
                if lid == 0u {
                    let e0 = e[j];
                    let e1 = e[n + j];
                    acc[0] = acc[0] + rho * ((gram[k][0] + gram[k][4]) * e0 + (gram[k][1] + gram[k][5]) * e1);
                    acc[1] = acc[1] + rho * ((gram[k][2] + gram[k][6]) * e0 + (gram[k][3] + gram[k][7]) * e1);
                }
            } else if live {
                // member s moves with the other half's covariance
                var h = 4u;
                if s >= half {
                    h = 0u;
                }
                let g = array<real, 4>(rho * gram[k][h], rho * gram[k][h + 1u], rho * gram[k][h + 2u], rho * gram[k][h + 3u]);
                let e0 = -dv * d[(n + j) * m + s];
                let e1 = dv * d[j * m + s];
                let u0 = e[j * m + s];
                let u1 = e[(n + j) * m + s];
                acc[0] = acc[0] + (g[0] * e0 + g[1] * e1);
                acc[1] = acc[1] + (g[2] * e0 + g[3] * e1);
                acc[2] = acc[2] + (g[0] * u0 + g[1] * u1);
                acc[3] = acc[3] + (g[2] * u0 + g[3] * u1);
            }
        }
        workgroupBarrier();
    }
    if vector {
        if lid == 0u {
            out[i] = kr[0] * acc[0];
            out[n + i] = kr[0] * acc[1];
        }
        return;
    }
    if !live {
        return;
    }
    let iphi = i * m + s;
    let ipi = (n + i) * m + s;
    w[iphi] = kr[0] * acc[0];
    w[ipi] = kr[0] * acc[1];
    if ku[1] == 1u {
        out[iphi] = out[iphi] + kr[1] * acc[2];
        out[ipi] = out[ipi] + kr[1] * acc[3];
    } else {
        out[iphi] = kr[1] * acc[2];
        out[ipi] = kr[1] * acc[3];
    }
}
