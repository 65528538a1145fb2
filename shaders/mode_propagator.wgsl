// The control variate's homogeneous propagator (SPEC §4.2; twin: src/physics/ensemble_dynamics.rs
// `ModePropagator` and backend/cpu/ensemble_field.rs `box_mean`), three entry modes (ku[0]):
//   0 (one workgroup): the box means ḡ_ab, N̄ of the stage input u_in → box[0..6], box[6]; and the homogeneous form
//     k̄ = ΔV N̄ [√ḡ ḡ^ab ⊕ √ḡ m² ⊕ 1/√ḡ] → box[8 .. 33] (physics/gaussian_forms.rs `hamiltonian_form`)
//   1 (per momentum k): dU_k = K_k U_k,  K_k = [[0, N̄/√ḡ], [−N̄√ḡ ω_k², 0]],  ω_k² = ḡ^ab σ_aσ_b + m²  (U row-major 2×2)
//   2 (one workgroup): the jet covariance of U Γ(0) Uᵀ → reference[0..25]: ⟨Y_aY_b⟩ = (1/n)Σ σ_aσ_b Γφφ, ⟨φφ⟩,
//     ⟨φπ⟩, ⟨ππ⟩ = (1/n)Σ Γ entries (Γ(0) per k: gamma0[3k ..] = φφ, φπ, ππ)
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> u_in: array<real>;
@group(0) @binding(4) var<storage, read> sig: array<real>;
@group(0) @binding(5) var<storage, read> gamma0: array<real>;
@group(0) @binding(6) var<storage, read> uk: array<real>;
@group(0) @binding(7) var<storage, read_write> box: array<real>;
@group(0) @binding(8) var<storage, read_write> duk: array<real>;
@group(0) @binding(9) var<storage, read_write> reference: array<real>;

var<workgroup> part: array<array<real, 9>, 64>;

fn reduce_parts(lid: u32) {
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if lid < stride {
            for (var c = 0u; c < 9u; c++) {
                part[lid][c] = part[lid][c] + part[lid + stride][c];
            }
        }
    }
    workgroupBarrier();
}

fn sigma(k: u32) -> array<real, 3> {
    return array<real, 3>(sig[k % pu[0]], sig[pu[0] + (k / pu[0]) % pu[1]], sig[pu[0] + pu[1] + k / (pu[0] * pu[1])]);
}

fn box_metric() -> array<real, 6> {
    return array<real, 6>(box[0], box[1], box[2], box[3], box[4], box[5]);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let n = n_sites();
    let mode = ku[0];
    if mode == 1u {
        let k = flat_index(gid, nwg);
        if k >= n {
            return;
        }
        let g = box_metric();
        let gi = inverse3(g);
        let sqrtg = sqrt(det3(g));
        let s = sigma(k);
        var w2 = pr[P_QMASS] * pr[P_QMASS];
        for (var a = 0u; a < 3u; a++) {
            for (var b = 0u; b < 3u; b++) {
                w2 = w2 + gi[sym(a, b)] * s[a] * s[b];
            }
        }
        let nbar = box[6];
        let ca = nbar / sqrtg;
        let cb = -nbar * sqrtg * w2;
        duk[4u * k] = ca * uk[4u * k + 2u];
        duk[4u * k + 1u] = ca * uk[4u * k + 3u];
        duk[4u * k + 2u] = cb * uk[4u * k];
        duk[4u * k + 3u] = cb * uk[4u * k + 1u];
        return;
    }
    for (var c = 0u; c < 9u; c++) {
        part[lid][c] = real(0.0);
    }
    if mode == 0u {
        for (var x = lid; x < n; x += 64u) {
            for (var k = 0u; k < 6u; k++) {
                part[lid][k] = part[lid][k] + (pr[P_BG + k] + u_in[(V_G + k) * n + x]);
            }
            part[lid][6] = part[lid][6] + u_in[V_LAPSE * n + x];
        }
        reduce_parts(lid);
        if lid == 0u {
            for (var k = 0u; k < 7u; k++) {
                box[k] = part[0][k] / real(n);
            }
            let g = array<real, 6>(box[0], box[1], box[2], box[3], box[4], box[5]);
            let gi = inverse3(g);
            let sqrtg = sqrt(det3(g));
            let f = pr[P_DV] * box[6];
            for (var e = 0u; e < 25u; e++) {
                box[8u + e] = real(0.0);
            }
            for (var a = 0u; a < 3u; a++) {
                for (var b = 0u; b < 3u; b++) {
                    box[8u + a * 5u + b] = f * sqrtg * gi[sym(a, b)];
                }
            }
            box[8u + J_PHI * 5u + J_PHI] = f * sqrtg * pr[P_QMASS] * pr[P_QMASS];
            box[8u + J_PI * 5u + J_PI] = f / sqrtg;
        }
        return;
    }
    // mode 2: jets of U Γ(0) Uᵀ (part = σσ for xx, xy, xz, yy, yz, zz | φφ | φπ | ππ)
    for (var k = lid; k < n; k += 64u) {
        let u0 = uk[4u * k];
        let u1 = uk[4u * k + 1u];
        let u2 = uk[4u * k + 2u];
        let u3 = uk[4u * k + 3u];
        let g0 = gamma0[3u * k];
        let g1 = gamma0[3u * k + 1u];
        let g2 = gamma0[3u * k + 2u];
        let t0 = u0 * g0 + u1 * g1;
        let t1 = u0 * g1 + u1 * g2;
        let t2 = u2 * g0 + u3 * g1;
        let t3 = u2 * g1 + u3 * g2;
        let pp = t0 * u0 + t1 * u1;
        let pq = t0 * u2 + t1 * u3;
        let qq = t2 * u2 + t3 * u3;
        let s = sigma(k);
        for (var p = 0u; p < 6u; p++) {
            part[lid][p] = part[lid][p] + s[pair_a(p)] * s[pair_b(p)] * pp;
        }
        part[lid][6] = part[lid][6] + pp;
        part[lid][7] = part[lid][7] + pq;
        part[lid][8] = part[lid][8] + qq;
    }
    reduce_parts(lid);
    if lid == 0u {
        for (var e = 0u; e < 25u; e++) {
            reference[e] = real(0.0);
        }
        for (var a = 0u; a < 3u; a++) {
            for (var b = 0u; b < 3u; b++) {
                reference[a * 5u + b] = part[0][sym(a, b)] / real(n);
            }
        }
        reference[J_PHI * 5u + J_PHI] = part[0][6] / real(n);
        reference[J_PHI * 5u + J_PI] = part[0][7] / real(n);
        reference[J_PI * 5u + J_PHI] = part[0][7] / real(n);
        reference[J_PI * 5u + J_PI] = part[0][8] / real(n);
    }
}
