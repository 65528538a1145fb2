// The per-site pass of a `fourier` stage (twin: src/physics/fourier_dynamics.rs `site_terms`, called per site by
// src/backend/cpu/fourier_field.rs `site_pass`): at the stage input's local metric and lapse,
//   qrhs[s·n + x] = ½ tr(ã_s(x) (Γ_loc − Γvac))      (the fluctuation back-reaction, subtracted from ∂t π^ab)
// and the site's columns of the box sums (fourier_layout.wgsl): g_ab | N | with CQ coupling 𝒟_x = D2 s_x/ΔV |
// z_x = Σ_ij C_ij ã_i (Γ_loc + y yᵀ) ã_j (gradient block, φφ, φπ, ππ; C = (1+ε)¼𝒟⁻¹_x, y = R_x x̄) |
// c_x = ((1+ε)/(8ΔV)) Σ_ij (𝒟⁻¹_x)_ij α_i β_j, summed per workgroup. Γ_loc = (momentum sums)/n, Γvac from
// vacuum_jets.wgsl (zero block for renormalisation `none`). n: the sites of the kernel's (local) lattice.
//#include "lattice.wgsl"
//#include "site_metric.wgsl"
//#include "stencil.wgsl"
//#include "tensor.wgsl"
//#include "jets.wgsl"
//#include "quantum_site_forms.wgsl"
//#include "fourier_layout.wgsl"
//#include "fourier_tree.wgsl"
//#include "fourier_partials.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read> msum: array<real>;
@group(0) @binding(4) var<storage, read> vac: array<real>;
@group(0) @binding(5) var<storage, read_write> qrhs: array<real>;
@group(0) @binding(6) var<storage, read_write> partials: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    for (var c = 0u; c < SITE_SUMS; c++) {
        cols[c] = real(0.0);
    }
    if x < n {
        site(x, n);
    }
    store_partials(lid, wid.x + wid.y * nwg.x, SITE_SUMS, false);
}

fn site(x: u32, n: u32) {
    let geo = site_geometry(x);
    var g = geo.g;
    let gi = geo.gi;
    let sqrtg = geo.sqrtg;
    let lapse = geo.lapse;
    let dv = pr[P_DV];
    let mass = pr[P_QMASS];
    // Γ_loc − Γvac (5×5, row-major)
    let nf = real(box_sites());
    var lv: array<real, 25>;
    for (var e = 0u; e < 25u; e++) {
        lv[e] = real(0.0);
    }
    for (var a = 0u; a < 3u; a++) {
        for (var b = 0u; b < 3u; b++) {
            lv[a * 5u + b] = msum[sym(a, b)] / nf;
        }
    }
    lv[J_PHI * 5u + J_PHI] = msum[6] / nf;
    lv[J_PHI * 5u + J_PI] = msum[7] / nf;
    lv[J_PI * 5u + J_PHI] = msum[7] / nf;
    lv[J_PI * 5u + J_PI] = msum[8] / nf;
    var loc = lv;
    for (var e = 0u; e < 25u; e++) {
        lv[e] = lv[e] - vac[pu[8] + e];
    }
    // ã_s (backreaction_forms) and the back-reaction
    var a: array<array<real, 25>, 6>;
    let f = lapse * sqrtg;
    for (var s = 0u; s < 6u; s++) {
        a[s] = backreaction_form(s, gi, lapse, sqrtg, mass);
        var t = real(0.0);
        for (var i = 0u; i < 5u; i++) {
            for (var j = 0u; j < 5u; j++) {
                t = t + a[s][i * 5u + j] * lv[j * 5u + i];
            }
        }
        qrhs[s * n + x] = real(0.5) * t;
    }
    for (var k = 0u; k < 6u; k++) {
        cols[S_G + k] = g[k];
    }
    cols[S_N] = lapse;
    let d2 = pr[P_D2];
    if d2 == real(0.0) {
        return;
    }
    // 𝒟_x = D2 s/ΔV, s = N√g [½(g^ac g^bd + g^ad g^bc) − β g^ab g^cd] (physics/cq_noise.rs `diffusion_tensor`)
    let beta = pr[P_QBETA];
    for (var i = 0u; i < 6u; i++) {
        for (var j = i; j < 6u; j++) {
            let ia = pair_a(i);
            let ib = pair_b(i);
            let jc = pair_a(j);
            let je = pair_b(j);
            let s = f * (real(0.5) * (gi[sym(ia, jc)] * gi[sym(ib, je)] + gi[sym(ia, je)] * gi[sym(ib, jc)]) - beta * gi[sym(ia, ib)] * gi[sym(jc, je)]);
            cols[S_D + upper6(i, j)] = d2 * s / dv;
        }
    }
    // 𝒟⁻¹_x (physics/gaussian_forms.rs `inverse_diffusion`)
    var dinv: array<array<real, 6>, 6>;
    let tr = beta / (real(1.0) - real(3.0) * beta);
    let pre = dv / (d2 * lapse * sqrtg);
    for (var i = 0u; i < 6u; i++) {
        for (var j = 0u; j < 6u; j++) {
            dinv[i][j] = inverse_diffusion_entry(i, j, g, pre, tr);
        }
    }
    // y = R_x x̄ and S = Γ_loc + y yᵀ (parity-even blocks)
    let dphi = gradient_in(V_PHI, site_coords(x));
    let y = array<real, 5>(dphi[0], dphi[1], dphi[2], u_in[V_PHI * n + x], u_in[V_PIPHI * n + x]);
    var ssg: array<array<real, 3>, 3>;
    for (var i = 0u; i < 3u; i++) {
        for (var j = 0u; j < 3u; j++) {
            ssg[i][j] = loc[i * 5u + j] + y[i] * y[j];
        }
    }
    let sphi = loc[J_PHI * 5u + J_PHI] + y[J_PHI] * y[J_PHI];
    let sphipi = loc[J_PHI * 5u + J_PI] + y[J_PHI] * y[J_PI];
    let spi = loc[J_PI * 5u + J_PI] + y[J_PI] * y[J_PI];
    let cf = real(0.25) * (real(1.0) + pr[P_EPS]);
    var aa = real(0.0);
    var ab = real(0.0);
    var bb = real(0.0);
    var zg: array<array<real, 3>, 3>;
    for (var r = 0u; r < 3u; r++) {
        for (var q = 0u; q < 3u; q++) {
            zg[r][q] = real(0.0);
        }
    }
    for (var i = 0u; i < 6u; i++) {
        var h: array<array<real, 3>, 3>;
        for (var r = 0u; r < 3u; r++) {
            for (var q = 0u; q < 3u; q++) {
                h[r][q] = real(0.0);
            }
        }
        for (var j = 0u; j < 6u; j++) {
            let c = cf * dinv[i][j];
            if c == real(0.0) {
                continue;
            }
            for (var r = 0u; r < 3u; r++) {
                for (var q = 0u; q < 3u; q++) {
                    h[r][q] = h[r][q] + c * a[j][r * 5u + q];
                }
            }
            aa = aa + c * a[i][J_PHI * 5u + J_PHI] * a[j][J_PHI * 5u + J_PHI];
            ab = ab + c * a[i][J_PHI * 5u + J_PHI] * a[j][J_PI * 5u + J_PI];
            bb = bb + c * a[i][J_PI * 5u + J_PI] * a[j][J_PI * 5u + J_PI];
        }
        var gs: array<array<real, 3>, 3>;
        for (var r = 0u; r < 3u; r++) {
            for (var q = 0u; q < 3u; q++) {
                var t = real(0.0);
                for (var m = 0u; m < 3u; m++) {
                    t = t + a[i][r * 5u + m] * ssg[m][q];
                }
                gs[r][q] = t;
            }
        }
        for (var r = 0u; r < 3u; r++) {
            for (var q = 0u; q < 3u; q++) {
                var t = real(0.0);
                for (var m = 0u; m < 3u; m++) {
                    t = t + gs[r][m] * h[m][q];
                }
                zg[r][q] = zg[r][q] + t;
            }
        }
    }
    for (var p = 0u; p < 6u; p++) {
        cols[S_Z + p] = zg[pair_a(p)][pair_b(p)];
    }
    cols[S_Z + 6u] = aa * sphi;
    cols[S_Z + 7u] = ab * sphipi;
    cols[S_Z + 8u] = bb * spi;
    var cs = real(0.0);
    for (var i = 0u; i < 6u; i++) {
        for (var j = 0u; j < 6u; j++) {
            cs = cs + dinv[i][j] * a[i][J_PHI * 5u + J_PHI] * a[j][J_PI * 5u + J_PI];
        }
    }
    cols[S_C] = (real(1.0) + pr[P_EPS]) / (real(8.0) * dv) * cs;
}
