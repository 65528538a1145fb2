// The strength of a step's conditioning per momentum (twin: src/physics/fourier_dynamics.rs `mode_strength`): the
// eigenvalues λ of Γ_k^½ b Γ_k^½ (those of bΓ_k: t = tr, d = det; λ = t/2 ± √(t²/4 − d)) as the columns max|λ|,
// max(−λ_min, 0), maximised per workgroup (fourier_partials.wgsl); the host reads the maxima back and refuses a too
// strong step as the CPU does.
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "fourier_layout.wgsl"
//#include "fourier_modes.wgsl"
//#include "fourier_tree.wgsl"
//#include "fourier_partials.wgsl"
//#include "fourier_noise.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> sig: array<real>;
@group(0) @binding(3) var<storage, read> box: array<real>;
@group(0) @binding(4) var<storage, read> noise: array<real>;
@group(0) @binding(5) var<storage, read> gam: array<real>;
@group(0) @binding(6) var<storage, read_write> partials: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = flat_index(gid, nwg);
    cols[0] = real(0.0);
    cols[1] = real(0.0);
    if k < n_sites() {
        let b = noise_symbol(sigma_of(k));
        let g0 = gam[3u * k];
        let g1 = gam[3u * k + 1u];
        let g2 = gam[3u * k + 2u];
        let t = b[0] * g0 + b[1] * g2;
        let det = b[0] * b[1] * (g0 * g2 - g1 * g1);
        let r = sqrt(max(real(0.25) * t * t - det, real(0.0)));
        let lo = real(0.5) * t - r;
        let hi = real(0.5) * t + r;
        cols[0] = max(abs(lo), abs(hi));
        cols[1] = max(-lo, real(0.0));
    }
    store_partials(lid, wid.x + wid.y * nwg.x, 2u, true);
}
