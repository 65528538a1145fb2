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

struct Field {
    g: array<real, 3>,
    x: array<real, 4>,
}

fn field(bp: real, bq: real, dv: real, g: array<real, 3>, x: array<real, 4>) -> Field {
    let idv2 = real(0.25) / (dv * dv);
    var f: Field;
    f.g = array<real, 3>(
        idv2 * bq - (g[0] * bp * g[0] + g[1] * bq * g[1]),
        -(g[0] * bp * g[1] + g[1] * bq * g[2]),
        idv2 * bp - (g[1] * bp * g[1] + g[2] * bq * g[2]));
    for (var part = 0u; part < 2u; part++) {
        let ph = bp * x[part];
        let pi = bq * x[2u + part];
        f.x[part] = -(g[0] * ph + g[1] * pi);
        f.x[2u + part] = -(g[1] * ph + g[2] * pi);
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
    let x0 = array<real, 4>((are + bre) * real(0.5), (aim + bim) * real(0.5), (aim - bim) * real(0.5), -((are - bre) * real(0.5)));
    var gy = array<real, 3>(gam[3u * k], gam[3u * k + 1u], gam[3u * k + 2u]);
    var xy = x0;
    let steps = u32(noise[6]);
    let h = real(1.0) / noise[6];
    let w = array<real, 4>(real(1.0) / real(6.0), real(1.0) / real(3.0), real(1.0) / real(3.0), real(1.0) / real(6.0));
    let cc = array<real, 4>(real(0.5), real(0.5), real(1.0), real(0.0));
    for (var step = 0u; step < steps; step++) {
        var ga = array<real, 3>(real(0.0), real(0.0), real(0.0));
        var xa = array<real, 4>(real(0.0), real(0.0), real(0.0), real(0.0));
        var gu = gy;
        var xu = xy;
        for (var st = 0u; st < 4u; st++) {
            let f = field(b[0], b[1], dv, gu, xu);
            let wh = w[st] * h;
            let ch = cc[st] * h;
            for (var i = 0u; i < 3u; i++) {
                if st == 3u {
                    gy[i] = ga[i] + wh * f.g[i];
                } else {
                    var base = ga[i];
                    if st == 0u {
                        base = gy[i];
                    }
                    ga[i] = base + wh * f.g[i];
                    gu[i] = gy[i] + ch * f.g[i];
                }
            }
            for (var i = 0u; i < 4u; i++) {
                if st == 3u {
                    xy[i] = xa[i] + wh * f.x[i];
                } else {
                    var base = xa[i];
                    if st == 0u {
                        base = xy[i];
                    }
                    xa[i] = base + wh * f.x[i];
                    xu[i] = xy[i] + ch * f.x[i];
                }
            }
        }
    }
    for (var i = 0u; i < 3u; i++) {
        gam[3u * k + i] = gy[i];
    }
    let d = array<real, 4>(xy[0] - x0[0], xy[1] - x0[1], xy[2] - x0[2], xy[3] - x0[3]);
    dz[2u * k] = d[0] - d[3];
    dz[2u * k + 1u] = d[1] + d[2];
}
