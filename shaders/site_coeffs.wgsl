// Per-site coefficients of SPEC §4.1 at the stage input's metric and lapse (twin: src/physics/gaussian_forms.rs
// `SiteCoeffs::new`) into a site's coefficient block c (site_coeffs_layout.wgsl):
//   ã_s (6 × 25): L̂^ab(x) = ½Yᵀã_sY, ã = −N√g[½(g^ac g^bd + g^bc g^ad) − ½g^ab g^cd] on the gradients,
//                 ½N√g g^ab m² at (φ, φ), −½N g^ab/√g at (π, π)
//   𝒟⁻¹ (36):     w_i w_j ΔV/(D2 N√g) [½(g_ac g_bd + g_ad g_bc) + β/(1−3β) g_ab g_cd]  (0 when D2 = 0)
//   k (25):       ΔV N [√g g^ab | √g m² | 1/√g] + (ε/8) Σ_IJ (𝒟⁻¹)_IJ ã_I ω ã_J,  ω = (e_φe_πᵀ − e_πe_φᵀ)/ΔV
// Include-only file: include after lattice.wgsl, site_metric.wgsl, site_coeffs_layout.wgsl, tensor.wgsl, jets.wgsl and
// quantum_site_forms.wgsl; the including kernel declares `pu`, `pr` and `u_in`.

fn site_coefficients(x: u32, c: ptr<function, array<real, SC>>) {
    let n = n_sites();
    var g = site_metric(x);
    let lapse = u_in[V_LAPSE * n + x];
    let gi = inverse3(g);
    let sqrtg = sqrt(det3(g));
    let dv = pr[P_DV];
    let mass = pr[P_QMASS];
    // ã_s
    var a: array<array<real, 25>, 6>;
    for (var s = 0u; s < 6u; s++) {
        a[s] = backreaction_form(s, gi, lapse, sqrtg, mass);
        for (var e = 0u; e < 25u; e++) {
            (*c)[s * 25u + e] = a[s][e];
        }
    }
    // 𝒟⁻¹
    var dinv: array<array<real, 6>, 6>;
    let d2 = pr[P_D2];
    let tr = pr[P_QBETA] / (real(1.0) - real(3.0) * pr[P_QBETA]);
    for (var i = 0u; i < 6u; i++) {
        for (var j = 0u; j < 6u; j++) {
            var v = real(0.0);
            if d2 != real(0.0) {
                v = inverse_diffusion_entry(i, j, g, dv / (d2 * lapse * sqrtg), tr);
            }
            dinv[i][j] = v;
            (*c)[SC_DINV + i * 6u + j] = v;
        }
    }
    // k = m_x (+ the unobserved-decoherence term)
    var kf: array<real, 25>;
    for (var e = 0u; e < 25u; e++) {
        kf[e] = real(0.0);
    }
    let fm = dv * lapse;
    for (var c = 0u; c < 3u; c++) {
        for (var d = 0u; d < 3u; d++) {
            kf[c * 5u + d] = sqrtg * gi[sym(c, d)] * fm;
        }
    }
    kf[J_PHI * 5u + J_PHI] = sqrtg * mass * mass * fm;
    kf[J_PI * 5u + J_PI] = real(1.0) / sqrtg * fm;
    let eps = pr[P_EPS];
    if eps != real(0.0) {
        for (var i = 0u; i < 6u; i++) {
            // aw = ã_i ω: column φ gets −ã_i[·][π]/ΔV, column π gets ã_i[·][φ]/ΔV
            var aw: array<real, 25>;
            for (var r = 0u; r < 5u; r++) {
                for (var c = 0u; c < 5u; c++) {
                    aw[r * 5u + c] = real(0.0);
                }
                aw[r * 5u + J_PHI] = -a[i][r * 5u + J_PI] / dv;
                aw[r * 5u + J_PI] = a[i][r * 5u + J_PHI] / dv;
            }
            for (var j = 0u; j < 6u; j++) {
                let cf = real(0.125) * eps * dinv[i][j];
                if cf == real(0.0) {
                    continue;
                }
                for (var r = 0u; r < 5u; r++) {
                    for (var c = 0u; c < 5u; c++) {
                        var s = real(0.0);
                        for (var m = 0u; m < 5u; m++) {
                            s = s + aw[r * 5u + m] * a[j][m * 5u + c];
                        }
                        kf[r * 5u + c] = kf[r * 5u + c] + cf * s;
                    }
                }
            }
        }
    }
    for (var e = 0u; e < 25u; e++) {
        (*c)[SC_K + e] = kf[e];
    }
}
