// The mean field's vector fields (SPEC §4.1; twin: src/physics/gaussian_dynamics.rs `drift` and `noise_field`):
//   drift:  dx̄ = Ω v1 − Γ v2,  v1 = Rᵀk R x̄, v2 = Rᵀp R x̄   ((Ωu)_φ = u_π/ΔV, (Ωu)_π = −u_φ/ΔV)
//   noise:  dx̄ = −Γ v2,         v2 = Rᵀb R x̄
// (v1, v2 from jet_forms_apply + jet_transpose). ku: 0 = 1 with the Ω v1 term | 1 = 1 with the Γ v2 term (Γ the
// dense matrix `gam`), 2 with −v2 itself (the ensemble passes v2 = Γ_ρ Rᵀp R x̄ computed from its members,
// ensemble_vec.wgsl) | 2 out offset (the drift writes the 2n entries of qrhs[6n ..], read by evolve_stage.wgsl).
//#include "lattice.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> v1: array<real>;
@group(0) @binding(4) var<storage, read> v2: array<real>;
@group(0) @binding(5) var<storage, read> gam: array<real>;
@group(0) @binding(6) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    let d = 2u * n;
    if i >= d {
        return;
    }
    var v = real(0.0);
    if ku[0] != 0u {
        if i < n {
            v = v1[n + i] / pr[P_DV];
        } else {
            v = -v1[i - n] / pr[P_DV];
        }
    }
    if ku[1] == 2u {
        v = v - v2[i];
    } else if ku[1] != 0u {
        var s = real(0.0);
        for (var j = 0u; j < d; j++) {
            s = s + gam[i * d + j] * v2[j];
        }
        v = v - s;
    }
    out[ku[2] + i] = v;
}
