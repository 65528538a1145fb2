// Second half of applying a jet form (twin: src/numerics/jets.rs `apply` / `apply_rows`): out = Σ_x R_xᵀ t_x for
// each row i, as a gather — for the φ-entry of site q
//   out_i(q) = t_q[φ] − Σ_a Σ_{k=1..r} w_k (t_{q+k e_a}[a] − t_{q−k e_a}[a]),
// for its π-entry out_i(n + q) = t_q[π]. t from jet_forms_apply.wgsl; out[ku[1] + i·2n + ·].
// ku: 0 rows | 1 out offset.
//#include "lattice.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> t: array<real>;
@group(0) @binding(4) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let n = n_sites();
    let d = 2u * n;
    if id >= ku[0] * d {
        return;
    }
    let i = id / d;
    let q = id % d;
    let tb = i * n * 5u;
    var v: real;
    if q < n {
        let c = site_coords(q);
        v = t[tb + q * 5u + J_PHI];
        for (var a = 0u; a < 3u; a++) {
            for (var k = 1; k <= stencil_radius(); k++) {
                v = v - tap_weight(k) * (t[tb + shifted(c, a, k) * 5u + a] - t[tb + shifted(c, a, -k) * 5u + a]);
            }
        }
    } else {
        v = t[tb + (q - n) * 5u + J_PI];
    }
    out[ku[1] + id] = v;
}
