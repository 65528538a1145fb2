// The per-momentum drift of a `fourier` stage (twin: src/physics/fourier_dynamics.rs `mode_drift`): with the box block
// (fourier_coeffs.wgsl) and σ = σ(k),
//   μ = Σσσ m̄_ab + m̄_φφ, ν = m̄_ππ; α_c = Σσσ ā_c,ab + ā_c,φφ, β_c = ā_c,ππ; A = αᵀP̄α, B = βᵀP̄β, X = αᵀP̄β;
//   λ = X/(8ΔV²), γ = λ − c̄/ΔV;  dΓ_k = GΓ + ΓGᵀ + ω̂Zω̂ᵀ − Γ(Π + V)Γ,  G = ω̂ diag(μ, ν) + γ I,
//   Π = [[AΓφφ, XΓφπ], [XΓφπ, BΓππ]], V = (1/n) Re[[A|φ̂|², Xφ̂π̂*], [·, B|π̂|²]]   → dg[3k ..]
// and, with the conditioning on, the circulant part of ∂t x̄ in k-space, (λ − ΓΠ) x̂_k, packed as ŵφ + iŵπ → what[2k ..]
// (x̂ unpacked from the transform ẑ of φ̄ + iπ̄: φ̂ = (ẑ_k + ẑ*_{−k})/2, π̂ = (ẑ_k − ẑ*_{−k})/(2i)).
//#include "lattice.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "fourier_layout.wgsl"
//#include "fourier_modes.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> sig: array<real>;
@group(0) @binding(3) var<storage, read> box: array<real>;
@group(0) @binding(4) var<storage, read> gam: array<real>;
@group(0) @binding(5) var<storage, read> zhat: array<real>;
@group(0) @binding(6) var<storage, read_write> dg: array<real>;
@group(0) @binding(7) var<storage, read_write> what: array<real>;

fn form_symbol(o: u32, s: array<real, 3>) -> real {
    var grad: array<real, 6>;
    for (var p = 0u; p < 6u; p++) {
        grad[p] = box[o + p];
    }
    return phi_symbol(grad, box[o + 6u], s);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = flat_index(gid, nwg);
    let n = n_sites();
    if k >= n {
        return;
    }
    let s = sigma_of(k);
    let dv = pr[P_DV];
    let g = array<real, 3>(gam[3u * k], gam[3u * k + 1u], gam[3u * k + 2u]);
    let mu = form_symbol(B_M, s);
    let nu = box[B_M + 8u];
    var al: array<real, 6>;
    var be: array<real, 6>;
    for (var c = 0u; c < 6u; c++) {
        al[c] = form_symbol(B_A + 9u * c, s);
        be[c] = box[B_A + 9u * c + 8u];
    }
    var aa = real(0.0);
    var bb = real(0.0);
    var x = real(0.0);
    for (var i = 0u; i < 6u; i++) {
        for (var j = 0u; j < 6u; j++) {
            let p = box[B_P + 6u * i + j];
            aa = aa + p * al[i] * al[j];
            bb = bb + p * be[i] * be[j];
            x = x + p * al[i] * be[j];
        }
    }
    let lambda = x / (real(8.0) * dv * dv);
    let gamma = lambda - box[B_C] / dv;
    var d = array<real, 3>(
        real(2.0) * nu * g[1] / dv + real(2.0) * gamma * g[0],
        (nu * g[2] - mu * g[0]) / dv + real(2.0) * gamma * g[1],
        real(-2.0) * mu * g[1] / dv + real(2.0) * gamma * g[2]);
    let zphi = form_symbol(B_Z, s);
    let idv2 = real(1.0) / (dv * dv);
    d[0] = d[0] + box[B_Z + 8u] * idv2;
    d[1] = d[1] - box[B_Z + 7u] * idv2;
    d[2] = d[2] + zphi * idv2;
    var q = array<real, 3>(aa * g[0], x * g[1], bb * g[2]);
    if conditioned() {
        let m = negative_mode(k);
        // a = ẑ_k, b = ẑ*_{−k}
        let are = zhat[2u * k];
        let aim = zhat[2u * k + 1u];
        let bre = zhat[2u * m];
        let bim = -zhat[2u * m + 1u];
        let pre = (are + bre) * real(0.5);
        let pim = (aim + bim) * real(0.5);
        let dre = (are - bre) * real(0.5);
        let dim = (aim - bim) * real(0.5);
        let xh = array<real, 4>(pre, pim, dim, -dre);
        let inv_n = real(1.0) / real(n);
        q[0] = q[0] + inv_n * aa * (xh[0] * xh[0] + xh[1] * xh[1]);
        q[1] = q[1] + inv_n * x * (xh[0] * xh[2] + xh[1] * xh[3]);
        q[2] = q[2] + inv_n * bb * (xh[2] * xh[2] + xh[3] * xh[3]);
        let gp = array<real, 4>(
            g[0] * aa * g[0] + g[1] * x * g[1],
            g[0] * x * g[1] + g[1] * bb * g[2],
            g[1] * aa * g[0] + g[2] * x * g[1],
            g[1] * x * g[1] + g[2] * bb * g[2]);
        var w: array<real, 4>;
        for (var part = 0u; part < 2u; part++) {
            let ph = xh[part];
            let pi = xh[2u + part];
            w[part] = lambda * ph - (gp[0] * ph + gp[1] * pi);
            w[2u + part] = lambda * pi - (gp[2] * ph + gp[3] * pi);
        }
        what[2u * k] = w[0] - w[3];
        what[2u * k + 1u] = w[1] + w[2];
    }
    // Γ Q Γ
    let qg = array<real, 4>(q[0] * g[0] + q[1] * g[1], q[0] * g[1] + q[1] * g[2], q[1] * g[0] + q[2] * g[1], q[1] * g[1] + q[2] * g[2]);
    let t = array<real, 3>(g[0] * qg[0] + g[1] * qg[2], g[0] * qg[1] + g[1] * qg[3], g[1] * qg[1] + g[2] * qg[3]);
    for (var i = 0u; i < 3u; i++) {
        dg[3u * k + i] = d[i] - t[i];
    }
}
