// The control variate's homogeneous reference (SPEC §4.2; twin: src/physics/fourier_dynamics.rs `ModeCovariance`
// `unitary_stage`, and backend/cpu/ensemble_field.rs `box_mean` with physics/gaussian_forms.rs `hamiltonian_form`),
// two entry modes (ku[0]):
//   0 (one workgroup): the box means ḡ_ab, N̄ of the stage input u_in (N at the field slot ku[1]: V_LAPSE, or 6 in a
//     rank's gathered whole-lattice metric, issue 18) → box[0..6], box[6]; and the homogeneous form
//     k̄ = ΔV N̄ [√ḡ ḡ^ab ⊕ √ḡ m² ⊕ 1/√ḡ] → box[8 .. 33] (the shadows' operator ΩRᵀk̄R, ensemble_forms.wgsl)
//   1 (per momentum k): dΓ_k = KΓ_k + Γ_kKᵀ,  K = [[0, a], [b, 0]], a = N̄/√ḡ, b = −N̄√ḡ ω_k², ω_k² = ḡ^ab σ_aσ_b + m²:
//     (dΓφφ, dΓφπ, dΓππ) = (2aΓφπ, aΓππ + bΓφφ, 2bΓφπ)  (gam, dg: 3 reals per momentum)
// Γ_k's jet covariance is summed by fourier_mode_sums + fourier_sum_partials.
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> u_in: array<real>;
@group(0) @binding(4) var<storage, read> sig: array<real>;
@group(0) @binding(5) var<storage, read> gam: array<real>;
@group(0) @binding(6) var<storage, read_write> box: array<real>;
@group(0) @binding(7) var<storage, read_write> dg: array<real>;

var<workgroup> part: array<array<real, 7>, 64>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let n = n_sites();
    if ku[0] == 1u {
        let k = flat_index(gid, nwg);
        if k >= n {
            return;
        }
        let g = array<real, 6>(box[0], box[1], box[2], box[3], box[4], box[5]);
        let gi = inverse3(g);
        let sqrtg = sqrt(det3(g));
        let s = array<real, 3>(sig[k % pu[0]], sig[pu[0] + (k / pu[0]) % pu[1]], sig[pu[0] + pu[1] + k / (pu[0] * pu[1])]);
        var w2 = pr[P_QMASS] * pr[P_QMASS];
        for (var a = 0u; a < 3u; a++) {
            for (var b = 0u; b < 3u; b++) {
                w2 = w2 + gi[sym(a, b)] * s[a] * s[b];
            }
        }
        let ca = box[6] / sqrtg;
        let cb = -box[6] * sqrtg * w2;
        dg[3u * k] = real(2.0) * ca * gam[3u * k + 1u];
        dg[3u * k + 1u] = ca * gam[3u * k + 2u] + cb * gam[3u * k];
        dg[3u * k + 2u] = real(2.0) * cb * gam[3u * k + 1u];
        return;
    }
    for (var c = 0u; c < 7u; c++) {
        part[lid][c] = real(0.0);
    }
    for (var x = lid; x < n; x += 64u) {
        for (var k = 0u; k < 6u; k++) {
            part[lid][k] = part[lid][k] + (pr[P_BG + k] + u_in[(V_G + k) * n + x]);
        }
        part[lid][6] = part[lid][6] + u_in[ku[1] * n + x];
    }
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if lid < stride {
            for (var c = 0u; c < 7u; c++) {
                part[lid][c] = part[lid][c] + part[lid + stride][c];
            }
        }
    }
    workgroupBarrier();
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
}
