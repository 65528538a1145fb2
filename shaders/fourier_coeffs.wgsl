// The box coefficients of a `fourier` stage from the summed site columns (one thread; twin:
// src/physics/fourier_dynamics.rs `coeffs_from_sums`): ḡ = Σg/n, N̄ = ΣN/n,
//   m̄ = ΔV N̄ [√ḡ ḡ^ab | √ḡ m² | 1/√ḡ],  ā_c = −N̄√ḡ[½(ḡ^ac ḡ^bd + ḡ^bc ḡ^ad) − ½ḡ^ab ḡ^cd] ⊕ ½N̄√ḡ ḡ^ab m² ⊕ (−½N̄ ḡ^ab/√ḡ),
//   P̄ = (Σ_x 𝒟_x)⁻¹ (Gauss–Jordan with partial pivoting, symmetrised; only with the conditioning on),
//   z̄ = Σz/n, c̄ = Σc/n  (zero without CQ coupling),
// written as the box block (fourier_layout.wgsl).
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "quantum_site_forms.wgsl"
//#include "fourier_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ssum: array<real>;
@group(0) @binding(3) var<storage, read_write> box: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x != 0u {
        return;
    }
    let nf = real(n_sites());
    var g: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        g[k] = ssum[S_G + k] / nf;
    }
    let lapse = ssum[S_N] / nf;
    let gi = inverse3(g);
    let sqrtg = sqrt(det3(g));
    let dv = pr[P_DV];
    let mass = pr[P_QMASS];
    for (var e = 0u; e < BOX; e++) {
        box[e] = real(0.0);
    }
    // m̄ (physics/gaussian_forms.rs `hamiltonian_form`)
    let fm = dv * lapse;
    for (var p = 0u; p < 6u; p++) {
        box[B_M + p] = sqrtg * gi[p] * fm;
    }
    box[B_M + 6u] = sqrtg * mass * mass * fm;
    box[B_M + 8u] = real(1.0) / sqrtg * fm;
    // ā_c (`backreaction_forms`)
    for (var s = 0u; s < 6u; s++) {
        var a = backreaction_form(s, gi, lapse, sqrtg, mass);
        let o = B_A + 9u * s;
        for (var p = 0u; p < 6u; p++) {
            box[o + p] = a[pair_a(p) * 5u + pair_b(p)];
        }
        box[o + 6u] = a[J_PHI * 5u + J_PHI];
        box[o + 8u] = a[J_PI * 5u + J_PI];
    }
    if pr[P_D2] == real(0.0) {
        return;
    }
    for (var e = 0u; e < 9u; e++) {
        box[B_Z + e] = ssum[S_Z + e] / nf;
    }
    box[B_C] = ssum[S_C] / nf;
    if !conditioned() {
        return;
    }
    // P̄ = 𝒟_tot⁻¹: Gauss–Jordan on [𝒟_tot | I]
    var m: array<array<real, 12>, 6>;
    for (var i = 0u; i < 6u; i++) {
        for (var j = 0u; j < 6u; j++) {
            m[i][j] = ssum[S_D + upper6(i, j)];
            m[i][6u + j] = real(0.0);
        }
        m[i][6u + i] = real(1.0);
    }
    for (var c = 0u; c < 6u; c++) {
        var piv = c;
        for (var r = c + 1u; r < 6u; r++) {
            if abs(m[r][c]) > abs(m[piv][c]) {
                piv = r;
            }
        }
        if piv != c {
            let t = m[c];
            m[c] = m[piv];
            m[piv] = t;
        }
        let inv = real(1.0) / m[c][c];
        for (var j = 0u; j < 12u; j++) {
            m[c][j] = m[c][j] * inv;
        }
        for (var r = 0u; r < 6u; r++) {
            if r == c {
                continue;
            }
            let fr = m[r][c];
            for (var j = 0u; j < 12u; j++) {
                m[r][j] = m[r][j] - fr * m[c][j];
            }
        }
    }
    for (var i = 0u; i < 6u; i++) {
        for (var j = 0u; j < 6u; j++) {
            box[B_P + 6u * i + j] = real(0.5) * (m[i][6u + j] + m[j][6u + i]);
        }
    }
}
