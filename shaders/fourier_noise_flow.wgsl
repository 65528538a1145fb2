// The frozen-increment noise flow of a step at momentum k (twin: src/physics/fourier_dynamics.rs `mode_noise_flow`):
// over s ∈ [0, 1] in m = noise[6] classical RK4 sub-steps (the fused stages of numerics/rk4.rs),
//   dΓ_k/ds = −Γ_k b Γ_k + ¼ ω̂ b ω̂ᵀ,   dx̂_k/ds = −Γ_k b x̂_k,   b = diag(bφ, bπ) (fourier_noise.wgsl),
// on Γ_k in place and on x̂_k unpacked from ẑ (the transform of φ̄ + iπ̄ after the step); the change of x̂_k is written
// packed (Δφ̂ + iΔπ̂) to dz, whose inverse transform, /n, fourier_dft.wgsl adds to φ̄, π̄.
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "fourier_layout.wgsl"
//#include "fourier_modes.wgsl"
//#include "fourier_noise.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> sig: array<real>;
@group(0) @binding(3) var<storage, read> box: array<real>;
@group(0) @binding(4) var<storage, read> noise: array<real>;
@group(0) @binding(5) var<storage, read> zhat: array<real>;
@group(0) @binding(6) var<storage, read_write> gam: array<real>;
@group(0) @binding(7) var<storage, read_write> dz: array<real>;

// The noise field at state v = (Γφφ, Γφπ, Γππ | φ̂re, φ̂im, π̂re, π̂im).
fn field(bp: real, bq: real, dv: real, v: array<real, 7>) -> array<real, 7> {
    let idv2 = real(0.25) / (dv * dv);
    var f: array<real, 7>;
    f[0] = idv2 * bq - (v[0] * bp * v[0] + v[1] * bq * v[1]);
    f[1] = -(v[0] * bp * v[1] + v[1] * bq * v[2]);
    f[2] = idv2 * bp - (v[1] * bp * v[1] + v[2] * bq * v[2]);
    for (var part = 0u; part < 2u; part++) {
        let ph = bp * v[3u + part];
        let pi = bq * v[5u + part];
        f[3u + part] = -(v[0] * ph + v[1] * pi);
        f[5u + part] = -(v[1] * ph + v[2] * pi);
    }
    return f;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = flat_index(gid, nwg);
    if k >= n_sites() {
        return;
    }
    let b = noise_symbol(sigma_of(k));
    let dv = pr[P_DV];
    let m = negative_mode(k);
    let are = zhat[2u * k];
    let aim = zhat[2u * k + 1u];
    let bre = zhat[2u * m];
    let bim = -zhat[2u * m + 1u];
    let v0 = array<real, 7>(gam[3u * k], gam[3u * k + 1u], gam[3u * k + 2u],
        (are + bre) * real(0.5), (aim + bim) * real(0.5), (aim - bim) * real(0.5), -((are - bre) * real(0.5)));
    var y = v0;
    let steps = u32(noise[6]);
    let h = real(1.0) / noise[6];
    let w = array<real, 4>(real(1.0) / real(6.0), real(1.0) / real(3.0), real(1.0) / real(3.0), real(1.0) / real(6.0));
    let cc = array<real, 4>(real(0.5), real(0.5), real(1.0), real(0.0));
    for (var step = 0u; step < steps; step++) {
        var acc: array<real, 7>;
        var u = y;
        for (var st = 0u; st < 4u; st++) {
            let f = field(b[0], b[1], dv, u);
            let wh = w[st] * h;
            let ch = cc[st] * h;
            for (var i = 0u; i < 7u; i++) {
                if st == 3u {
                    y[i] = acc[i] + wh * f[i];
                } else {
                    var base = acc[i];
                    if st == 0u {
                        base = y[i];
                    }
                    acc[i] = base + wh * f[i];
                    u[i] = y[i] + ch * f[i];
                }
            }
        }
    }
    for (var i = 0u; i < 3u; i++) {
        gam[3u * k + i] = y[i];
    }
    // Δφ̂ + iΔπ̂
    dz[2u * k] = (y[3] - v0[3]) - (y[6] - v0[6]);
    dz[2u * k + 1u] = (y[4] - v0[4]) + (y[5] - v0[5]);
}
