// Per-site forms of the Stratonovich drift (SPEC §4.1; twin: the per-site part of
// src/physics/gaussian_dynamics.rs `GaussianModel::drift`), from a site's coefficient block c (site_coeffs.wgsl), the
// local covariance Γ_loc (jet_covariance.wgsl; the vacuum block Γvac at loc[pu[8] ..]) and the mean field x̄
// (φ, π_φ of the stage input):
//   qrhs[s·n + x] = ⟨L̂_s⟩ − ½x̄ᵀA_sx̄ − vacuum = ½tr(ã_s Γ_loc) − ½tr(ã_s Γvac)   (subtracted from ∂t π^ab)
// where the back-reaction reads Γ_loc from `br_loc` (the same buffer as `loc` for dense; the ensemble's
// control-variate estimate, src/physics/gaussian_dynamics.rs `site_forms`)
//   forms[x·75 ..]: k | p = Σ(𝒟⁻¹)_IJ ã_I Γ_loc ã_J | σ = Σ(𝒟⁻¹)_IJ ã_I (Γ_loc + yyᵀ) ã_J = p + Σ(𝒟⁻¹)_IJ (ã_I y)(ã_J y)ᵀ,
//   y = R_x x̄
// (p = σ = 0 without CQ coupling).
// Include-only file: include after lattice.wgsl, site_coeffs_layout.wgsl and jets.wgsl; the including kernel declares
// `pu`, `pr`, `u_in`, `loc`, `forms`, `qrhs` and `br_loc` (gaussian_site_forms.wgsl: c read from the stored block;
// ensemble_site_forms.wgsl: c computed in place).

// Σ_IJ (𝒟⁻¹)_IJ ã_I s ã_J (physics/gaussian_forms.rs `dinv_sandwich`), s row-major.
fn dinv_sandwich(c: ptr<function, array<real, SC>>, s: array<real, 25>) -> array<real, 25> {
    var out: array<real, 25>;
    for (var e = 0u; e < 25u; e++) {
        out[e] = real(0.0);
    }
    for (var i = 0u; i < 6u; i++) {
        // acc = s Σ_j 𝒟⁻¹_ij ã_j
        var aj: array<real, 25>;
        var any = false;
        for (var e = 0u; e < 25u; e++) {
            aj[e] = real(0.0);
        }
        for (var j = 0u; j < 6u; j++) {
            let cij = (*c)[SC_DINV + i * 6u + j];
            if cij != real(0.0) {
                any = true;
                for (var e = 0u; e < 25u; e++) {
                    aj[e] = aj[e] + cij * (*c)[j * 25u + e];
                }
            }
        }
        if !any {
            continue;
        }
        var acc: array<real, 25>;
        for (var r = 0u; r < 5u; r++) {
            for (var q = 0u; q < 5u; q++) {
                var t = real(0.0);
                for (var m = 0u; m < 5u; m++) {
                    t = t + s[r * 5u + m] * aj[m * 5u + q];
                }
                acc[r * 5u + q] = t;
            }
        }
        for (var r = 0u; r < 5u; r++) {
            for (var q = 0u; q < 5u; q++) {
                var t = real(0.0);
                for (var m = 0u; m < 5u; m++) {
                    t = t + (*c)[i * 25u + r * 5u + m] * acc[m * 5u + q];
                }
                out[r * 5u + q] = out[r * 5u + q] + t;
            }
        }
    }
    return out;
}

// Σ_IJ (𝒟⁻¹)_IJ (ã_I y)(ã_J y)ᵀ: dinv_sandwich of the rank-one y yᵀ (physics/gaussian_forms.rs `dinv_outer`).
fn dinv_outer(c: ptr<function, array<real, SC>>, y: array<real, 5>) -> array<real, 25> {
    var u: array<real, 30>;
    for (var i = 0u; i < 6u; i++) {
        for (var r = 0u; r < 5u; r++) {
            var t = real(0.0);
            for (var q = 0u; q < 5u; q++) {
                t = t + (*c)[i * 25u + r * 5u + q] * y[q];
            }
            u[i * 5u + r] = t;
        }
    }
    var v: array<real, 30>;
    for (var i = 0u; i < 6u; i++) {
        for (var r = 0u; r < 5u; r++) {
            var t = real(0.0);
            for (var j = 0u; j < 6u; j++) {
                t = t + (*c)[SC_DINV + i * 6u + j] * u[j * 5u + r];
            }
            v[i * 5u + r] = t;
        }
    }
    var out: array<real, 25>;
    for (var r = 0u; r < 5u; r++) {
        for (var q = 0u; q < 5u; q++) {
            var t = real(0.0);
            for (var i = 0u; i < 6u; i++) {
                t = t + u[i * 5u + r] * v[i * 5u + q];
            }
            out[r * 5u + q] = t;
        }
    }
    return out;
}

fn write_site_forms(x: u32, c: ptr<function, array<real, SC>>) {
    let n = n_sites();
    let vac = pu[8];
    var gl: array<real, 25>;
    for (var e = 0u; e < 25u; e++) {
        gl[e] = loc[x * 25u + e];
    }
    for (var s = 0u; s < 6u; s++) {
        var b = real(0.0);
        var bv = real(0.0);
        for (var i = 0u; i < 5u; i++) {
            for (var j = 0u; j < 5u; j++) {
                let a = (*c)[s * 25u + i * 5u + j];
                b = b + a * br_loc[x * 25u + j * 5u + i];
                bv = bv + a * loc[vac + j * 5u + i];
            }
        }
        qrhs[s * n + x] = real(0.5) * b - real(0.5) * bv;
    }
    let out = x * 75u;
    for (var e = 0u; e < 25u; e++) {
        forms[out + e] = (*c)[SC_K + e];
    }
    if pr[P_COUPLED] == real(0.0) {
        for (var e = 25u; e < 75u; e++) {
            forms[out + e] = real(0.0);
        }
        return;
    }
    // y = R_x x̄ (x̄ = φ, π_φ of the stage input)
    let cx = site_coords(x);
    var y: array<real, 5>;
    for (var a = 0u; a < 3u; a++) {
        var acc = real(0.0);
        for (var k = 1; k <= stencil_radius(); k++) {
            acc = acc + tap_weight(k) * (u_in[V_PHI * n + shifted(cx, a, k)] - u_in[V_PHI * n + shifted(cx, a, -k)]);
        }
        y[a] = acc;
    }
    y[J_PHI] = u_in[V_PHI * n + x];
    y[J_PI] = u_in[V_PIPHI * n + x];
    // σ = p + Σ(𝒟⁻¹)_IJ (ã_I y)(ã_J y)ᵀ
    let p = dinv_sandwich(c, gl);
    let sy = dinv_outer(c, y);
    for (var e = 0u; e < 25u; e++) {
        forms[out + 25u + e] = p[e];
        forms[out + 50u + e] = sy[e] + p[e];
    }
}
