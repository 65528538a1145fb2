// One fused RK4 stage (src/numerics/rk4.rs): derivatives of the stage input, ADM + scalar right-hand side
// (adm_rhs.wgsl) plus Kreiss–Oliger dissipation, then the stage combination
//   acc ← (stage 0 ? y : acc) + w·dt·k,  next ← y + c·dt·k;   last stage: y ← acc + w·dt·k.
// Twin: src/backend/cpu/evolve_stage.rs. Metric slots hold δg_ab; g = ḡ + δg.
//#include "lattice.wgsl"
//#include "stencil.wgsl"
//#include "tensor.wgsl"
//#include "ricci.wgsl"
//#include "scalar_field.wgsl"
//#include "gauge.wgsl"
//#include "adm_rhs.wgsl"
//#include "flux_divergence.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> u_in: array<real>;
@group(0) @binding(3) var<storage, read> flux: array<real>;
@group(0) @binding(4) var<storage, read_write> y: array<real>;
@group(0) @binding(5) var<storage, read_write> acc: array<real>;
@group(0) @binding(6) var<storage, read_write> next: array<real>;
// The quantum field's part of the right-hand side (issue 5, SPEC §4.1; twin: backend/cpu/dense_field.rs
// `apply_stage`), used when pu[7] ≠ 0 (1: dense field, 2: dense field in a frozen metric): qrhs[s·n + i] (s < 6)
// the fluctuation back-reaction subtracted from ∂t π^ab, qrhs[6n + i], qrhs[7n + i] the mean field's ∂t φ̄, ∂t π̄_φ
// (gaussian_site_forms.wgsl, dense_mean_rhs.wgsl); they replace the classical φ, π_φ right-hand side.
@group(0) @binding(7) var<storage, read> qrhs: array<real>;

fn quantum_rhs(v: u32, i: u32, n: u32, k: real) -> real {
    let mode = pu[7];
    if v == V_PHI {
        return qrhs[6u * n + i];
    }
    if v == V_PIPHI {
        return qrhs[7u * n + i];
    }
    if mode == 2u {
        return real(0.0);
    }
    if v >= V_PI && v < V_PI + 6u {
        return k - qrhs[(v - V_PI) * n + i];
    }
    return k;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let n = n_sites();
    if i >= n {
        return;
    }
    let c = site_coords(i);
    var s: SiteData;
    for (var k = 0u; k < 6u; k++) {
        s.g[k] = pr[P_BG + k] + u_in[(V_G + k) * n + i];
        s.pi[k] = u_in[(V_PI + k) * n + i];
        let grad = gradient_in(V_G + k, c);
        for (var axis = 0u; axis < 3u; axis++) {
            s.dg.d[axis][k] = grad[axis];
        }
        let hess = hessian_in(V_G + k, c);
        for (var p = 0u; p < 6u; p++) {
            s.dg.dd[p][k] = hess[p];
        }
    }
    s.lapse = u_in[V_LAPSE * n + i];
    s.phi = u_in[V_PHI * n + i];
    s.pi_phi = u_in[V_PIPHI * n + i];
    s.dlapse = gradient_in(V_LAPSE, c);
    s.ddlapse = hessian_in(V_LAPSE, c);
    s.dphi = gradient_in(V_PHI, c);
    s.div_flux = flux_divergence(c);
    var rhs = adm_rhs(s, pr[P_LAMBDA], pr[P_MASS], potential_coeffs(), pu[5]);

    let stage = pu[6];
    let wdt = pr[P_WDT];
    let cdt = pr[P_CDT];
    for (var v = 0u; v < NVARS; v++) {
        var k = rhs[v] + ko_in(v, c);
        if pu[7] != 0u {
            k = quantum_rhs(v, i, n, k);
        }
        let idx = v * n + i;
        if stage == 3u {
            y[idx] = acc[idx] + wdt * k;
        } else {
            var base = acc[idx];
            if stage == 0u {
                base = y[idx];
            }
            acc[idx] = base + wdt * k;
            next[idx] = y[idx] + cdt * k;
        }
    }
}
