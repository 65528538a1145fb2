// The mean field's right-hand side in a `fourier` stage (twin: the mean-field part of
// src/backend/cpu/fourier_field.rs `FourierModel::stage`): the classical field equations (the scalar flux F^a of
// scalar_flux.wgsl and its divergence, as evolve_stage.wgsl), the local Lindblad term −(c_x/ΔV) x̄(x) with CQ coupling,
// and with the conditioning the circulant part (the inverse transform of fourier_mode_drift.wgsl's ŵ, /n):
//   qrhs[6n + x] = N π̄/√g − (c_x/ΔV) φ̄ + Re w(x)/n_box,   qrhs[7n + x] = ∂_aF^a − N√g m² φ̄ − (c_x/ΔV) π̄ + Im w(x)/n_box
// (n the sites of the kernel's lattice, n_box the box's: on a rank's slab w holds the local sites' values, issue 18).
//#include "lattice.wgsl"
//#include "site_metric.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "quantum_site_forms.wgsl"
//#include "fourier_layout.wgsl"
//#include "flux_divergence.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read> flux: array<real>;
@group(0) @binding(4) var<storage, read> wx: array<real>;
@group(0) @binding(5) var<storage, read_write> qrhs: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    if x >= n {
        return;
    }
    let geo = site_geometry(x);
    let lapse = geo.lapse;
    let sqrtg = geo.sqrtg;
    let phi = u_in[V_PHI * n + x];
    let pi = u_in[V_PIPHI * n + x];
    let c = site_coords(x);
    let div = flux_divergence(c);
    let mass = pr[P_QMASS];
    var fa = lapse * pi / sqrtg;
    var fb = div - lapse * sqrtg * mass * mass * phi;
    let d2 = pr[P_D2];
    if d2 != real(0.0) {
        // c_x = ((1+ε)/(8ΔV)) Σ_ij (𝒟⁻¹)_ij α_i β_j, α_i = ½N√g g^{ab}_i m², β_j = −½N g^{cd}_j/√g
        let gi = geo.gi;
        let dv = pr[P_DV];
        let beta = pr[P_QBETA];
        let tr = beta / (real(1.0) - real(3.0) * beta);
        let pre = dv / (d2 * lapse * sqrtg);
        var cs = real(0.0);
        for (var i = 0u; i < 6u; i++) {
            for (var j = 0u; j < 6u; j++) {
                let dij = inverse_diffusion_entry(i, j, geo.g, pre, tr);
                let al = real(0.5) * (lapse * sqrtg) * gi[sym(pair_a(i), pair_b(i))] * mass * mass;
                let be = real(-0.5) * lapse * gi[sym(pair_a(j), pair_b(j))] / sqrtg;
                cs = cs + dij * al * be;
            }
        }
        let cx = (real(1.0) + pr[P_EPS]) / (real(8.0) * dv) * cs;
        fa = fa - cx / dv * phi;
        fb = fb - cx / dv * pi;
    }
    if conditioned() {
        let inv_n = real(1.0) / real(box_sites());
        fa = fa + wx[2u * x] * inv_n;
        fb = fb + wx[2u * x + 1u] * inv_n;
    }
    qrhs[6u * n + x] = fa;
    qrhs[7u * n + x] = fb;
}
