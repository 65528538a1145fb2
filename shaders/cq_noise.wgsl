// The CQ noise of π^ab (SPEC §3), three entry points of one step (order and derivation:
// src/backend/cpu/cq_noise.rs, src/physics/cq_noise.rs — the twins, same arithmetic in the same order):
//   white  : ζ ← the Frobenius-white lattice tensor from Philox normals (E[ζζ] = identity·δ_xy/ΔV)
//   (noise_smooth.wgsl along each active axis when ℓ > 0)
//   sample : dW = sqrt(D2 dt) sqrt(N√g) s̃^{1/2}(ζ) from the state y at the start of the step; per-site statistics
//   add    : π^ab ← π^ab + dW^ab (after the RK4 update of the drift); thread 0 advances the step counter
// Bindings (one layout for all three entry points):
//   pu  : 0..3 = N1, N2, N3 | 3, 4 = seed low, high word | 5 = 1 for `trace-only`, 0 for `tensor` |
//         6 = global index of site 0, 7 = sites of the global lattice (a z-slab of a decomposed run, issue 18:
//         the noise of a site is drawn with its global index, so it does not depend on the number of ranks)
//   npr : 0 = 1/√ΔV | 1 = 1/√(2ΔV) | 2 = sqrt(D2·dt) | 3 = β | 4..10 = ḡ_ab
//   nstep: 0, 1 = step low, high word (set by the host on construction/upload; `add` advances it by one)
//   y: state (δg storage) | z: ζ (6 components, SoA) | dw: increments (6, SoA) | stat: τ, q, τ², N√g (SoA)
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "philox.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> npr: array<real>;
@group(0) @binding(2) var<storage, read_write> nstep: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<real>;
@group(0) @binding(4) var<storage, read_write> z: array<real>;
@group(0) @binding(5) var<storage, read_write> dw: array<real>;
@group(0) @binding(6) var<storage, read_write> stat: array<real>;

const NSTREAM_CQ_NOISE: u32 = 0u;
const JACOBI_SWEEPS: u32 = 8u;

struct Eig3 {
    val: array<real, 3>,
    // eigenvectors in the columns: vec[row][col]
    vec: array<array<real, 3>, 3>,
}

// Cyclic Jacobi eigen-decomposition of a symmetric 3×3 matrix (twin: physics/cq_noise.rs `jacobi3`).
fn jacobi3(m: array<real, 6>) -> Eig3 {
    var a: array<array<real, 3>, 3>;
    var v: array<array<real, 3>, 3>;
    for (var i = 0u; i < 3u; i++) {
        for (var j = 0u; j < 3u; j++) {
            a[i][j] = m[sym(i, j)];
            v[i][j] = real(0.0);
        }
        v[i][i] = real(1.0);
    }
    var pp = array<u32, 3>(0u, 0u, 1u);
    var qq = array<u32, 3>(1u, 2u, 2u);
    for (var sweep = 0u; sweep < JACOBI_SWEEPS; sweep++) {
        for (var k = 0u; k < 3u; k++) {
            let p = pp[k];
            let q = qq[k];
            let apq = a[p][q];
            if apq == real(0.0) {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (real(2.0) * apq);
            var t: real;
            if abs(theta) > real(1e15) {
                t = real(0.5) / theta;
            } else {
                var sgn = real(1.0);
                if theta < real(0.0) {
                    sgn = real(-1.0);
                }
                t = sgn / (abs(theta) + sqrt(theta * theta + real(1.0)));
            }
            let c = real(1.0) / sqrt(t * t + real(1.0));
            let s = t * c;
            a[p][p] = a[p][p] - t * apq;
            a[q][q] = a[q][q] + t * apq;
            a[p][q] = real(0.0);
            a[q][p] = real(0.0);
            let r = 3u - p - q;
            let arp = a[r][p];
            let arq = a[r][q];
            a[r][p] = c * arp - s * arq;
            a[p][r] = a[r][p];
            a[r][q] = s * arp + c * arq;
            a[q][r] = a[r][q];
            for (var row = 0u; row < 3u; row++) {
                let vp = v[row][p];
                let vq = v[row][q];
                v[row][p] = c * vp - s * vq;
                v[row][q] = s * vp + c * vq;
            }
        }
    }
    var out: Eig3;
    out.val = array<real, 3>(a[0][0], a[1][1], a[2][2]);
    out.vec = v;
    return out;
}

// s̃^{1/2}(A), the symmetric square root of s/(N√g) applied to A (twin: `sqrt_diffusion_apply`).
fn sqrt_diffusion_apply(g: array<real, 6>, beta: real, trace_only: bool, a_in: array<real, 6>) -> array<real, 6> {
    var a = a_in;
    if trace_only {
        var gi = inverse3(g);
        let ua = gi[0] * a[0] + gi[3] * a[3] + gi[5] * a[5] + real(2.0) * (gi[1] * a[1] + gi[2] * a[2] + gi[4] * a[4]);
        let uu = gi[0] * gi[0] + gi[3] * gi[3] + gi[5] * gi[5] + real(2.0) * (gi[1] * gi[1] + gi[2] * gi[2] + gi[4] * gi[4]);
        let f = ua / sqrt(uu);
        var out: array<real, 6>;
        for (var k = 0u; k < 6u; k++) {
            out[k] = gi[k] * f;
        }
        return out;
    }
    let eg = jacobi3(g);
    var v = eg.vec;
    var d = array<real, 3>(real(1.0) / eg.val[0], real(1.0) / eg.val[1], real(1.0) / eg.val[2]);
    // Ã = Vᵀ A V
    var at: array<array<real, 3>, 3>;
    for (var i = 0u; i < 3u; i++) {
        for (var j = i; j < 3u; j++) {
            var s = real(0.0);
            for (var k = 0u; k < 3u; k++) {
                for (var l = 0u; l < 3u; l++) {
                    s = s + v[k][i] * a[sym(k, l)] * v[l][j];
                }
            }
            at[i][j] = s;
            at[j][i] = s;
        }
    }
    // diagonal block: M = diag(d)² − β d dᵀ
    let mm = array<real, 6>(
        d[0] * d[0] - beta * d[0] * d[0],
        -(beta * d[0] * d[1]),
        -(beta * d[0] * d[2]),
        d[1] * d[1] - beta * d[1] * d[1],
        -(beta * d[1] * d[2]),
        d[2] * d[2] - beta * d[2] * d[2]);
    let em = jacobi3(mm);
    var w = em.vec;
    var mu = em.val;
    var proj: array<real, 3>;
    for (var k = 0u; k < 3u; k++) {
        proj[k] = (w[0][k] * at[0][0] + w[1][k] * at[1][1] + w[2][k] * at[2][2]) * sqrt(max(mu[k], real(0.0)));
    }
    var yt: array<array<real, 3>, 3>;
    for (var i = 0u; i < 3u; i++) {
        yt[i][i] = w[i][0] * proj[0] + w[i][1] * proj[1] + w[i][2] * proj[2];
    }
    var pp = array<u32, 3>(0u, 0u, 1u);
    var qq = array<u32, 3>(1u, 2u, 2u);
    for (var k = 0u; k < 3u; k++) {
        let i = pp[k];
        let j = qq[k];
        let yv = at[i][j] * sqrt(d[i] * d[j]);
        yt[i][j] = yv;
        yt[j][i] = yv;
    }
    // Y = V Ỹ Vᵀ
    var out: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        let i = pair_a(k);
        let j = pair_b(k);
        var s = real(0.0);
        for (var p = 0u; p < 3u; p++) {
            for (var q = 0u; q < 3u; q++) {
                s = s + v[i][p] * yt[p][q] * v[j][q];
            }
        }
        out[k] = s;
    }
    return out;
}

@compute @workgroup_size(64)
fn white(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    if i >= n {
        return;
    }
    let key = vec2<u32>(pu[3], pu[4]);
    let site = (pu[6] + i) % pu[7];
    let a = philox_normals4(philox4x32_10(philox_counter(site, 0u, nstep[0], nstep[1], NSTREAM_CQ_NOISE), key));
    let b = philox_normals4(philox4x32_10(philox_counter(site, 1u, nstep[0], nstep[1], NSTREAM_CQ_NOISE), key));
    let sd = npr[0];
    let so = npr[1];
    z[i] = real(a.x) * sd;
    z[n + i] = real(a.w) * so;
    z[2u * n + i] = real(b.x) * so;
    z[3u * n + i] = real(a.y) * sd;
    z[4u * n + i] = real(b.y) * so;
    z[5u * n + i] = real(a.z) * sd;
}

@compute @workgroup_size(64)
fn sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    if i >= n {
        return;
    }
    var g: array<real, 6>;
    var zeta: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        g[k] = npr[4u + k] + y[(V_G + k) * n + i];
        zeta[k] = z[k * n + i];
    }
    let lapse = y[V_LAPSE * n + i];
    let c = npr[2] * sqrt(lapse * sqrt(det3(g)));
    let yv = sqrt_diffusion_apply(g, npr[3], pu[5] == 1u, zeta);
    var d: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        d[k] = yv[k] * c;
        dw[k * n + i] = d[k];
    }
    let tau = contract(d, g);
    let q = contract(d, sandwich(g, d));
    stat[i] = tau;
    stat[n + i] = q;
    stat[2u * n + i] = tau * tau;
    stat[3u * n + i] = lapse * sqrt(det3(g));
}

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    if i >= n {
        return;
    }
    for (var k = 0u; k < 6u; k++) {
        let idx = (V_PI + k) * n + i;
        y[idx] = y[idx] + dw[k * n + i];
    }
    if i == 0u {
        let lo = nstep[0] + 1u;
        nstep[0] = lo;
        if lo == 0u {
            nstep[1] = nstep[1] + 1u;
        }
    }
}
