// The `vacuum` renormalisation's subtraction (SPEC §4; twin: src/physics/lattice_vacuum.rs
// `vacuum_jet_covariance` at the box-mean metric, as physics/gaussian_dynamics.rs `GaussianModel::coeffs`):
//   ḡ = (1/n) Σ_x g(x);  ω_k² = ḡ^ab σ_a(k) σ_b(k) + m²  (σ_a the stencil's symbol, precomputed per axis in `sig`)
//   ⟨Y_aY_b⟩ = (1/n) Σ_k σ_aσ_b/(2ΔV√ḡ ω_k), ⟨φ²⟩ = (1/n) Σ_k 1/(2ΔV√ḡ ω_k), ⟨π²⟩ = (1/n) Σ_k √ḡ ω_k/(2ΔV)
// One workgroup (64 threads: strided sums, then a tree reduction); writes the 5×5 block at vac[off ..].
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read> sig: array<real>;
@group(0) @binding(4) var<storage, read_write> vac: array<real>;

var<workgroup> part: array<array<real, 8>, 64>;

fn reduce_parts(lid: u32) {
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if lid < stride {
            for (var c = 0u; c < 8u; c++) {
                part[lid][c] = part[lid][c] + part[lid + stride][c];
            }
        }
    }
    workgroupBarrier();
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
    let n = n_sites();
    // box-mean metric
    for (var c = 0u; c < 8u; c++) {
        part[lid][c] = real(0.0);
    }
    for (var x = lid; x < n; x += 64u) {
        for (var k = 0u; k < 6u; k++) {
            part[lid][k] = part[lid][k] + (pr[P_BG + k] + u_in[(V_G + k) * n + x]);
        }
    }
    reduce_parts(lid);
    var g: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        g[k] = part[0][k] / real(n);
    }
    workgroupBarrier();
    let gi = inverse3(g);
    let sqrtg = sqrt(det3(g));
    let dv = pr[P_DV];
    let m = pr[P_QMASS];
    for (var c = 0u; c < 8u; c++) {
        part[lid][c] = real(0.0);
    }
    // mode sums: part = (σσ for xx, xy, xz, yy, yz, zz | φφ | ππ)
    for (var k = lid; k < n; k += 64u) {
        let s = array<real, 3>(sig[k % pu[0]], sig[pu[0] + (k / pu[0]) % pu[1]], sig[pu[0] + pu[1] + k / (pu[0] * pu[1])]);
        var w2 = m * m;
        for (var a = 0u; a < 3u; a++) {
            for (var b = 0u; b < 3u; b++) {
                w2 = w2 + gi[sym(a, b)] * s[a] * s[b];
            }
        }
        let w = sqrt(w2);
        let pphi = real(1.0) / (real(2.0) * dv * sqrtg * w);
        for (var p = 0u; p < 6u; p++) {
            part[lid][p] = part[lid][p] + s[pair_a(p)] * s[pair_b(p)] * pphi;
        }
        part[lid][6] = part[lid][6] + pphi;
        part[lid][7] = part[lid][7] + sqrtg * w / (real(2.0) * dv);
    }
    reduce_parts(lid);
    if lid == 0u {
        let off = pu[8];
        for (var e = 0u; e < 25u; e++) {
            vac[off + e] = real(0.0);
        }
        for (var a = 0u; a < 3u; a++) {
            for (var b = 0u; b < 3u; b++) {
                vac[off + a * 5u + b] = part[0][sym(a, b)] / real(n);
            }
        }
        vac[off + J_PHI * 5u + J_PHI] = part[0][6] / real(n);
        vac[off + J_PI * 5u + J_PI] = part[0][7] / real(n);
    }
}
