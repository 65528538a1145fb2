// First half of applying a jet form Σ_x R_xᵀ z_x R_x to the rows of a matrix (twin: src/numerics/jets.rs
// `apply` / `apply_rows`): for row i of m (rows of length 2n starting at m[ku[1] + i·2n]) and site x,
//   t[(i·n + x)·5 + a] = Σ_b z_x[a][b] (R_x m_i)_b,   z_x at z[x·ku[2] + ku[3] ..].
// The second half, out = Σ_x R_xᵀ t_x, is jet_transpose.wgsl. ku: 0 rows | 1 m offset | 2 z stride | 3 z offset.
//#include "lattice.wgsl"
//#include "jets.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> m: array<real>;
@group(0) @binding(4) var<storage, read> z: array<real>;
@group(0) @binding(5) var<storage, read_write> t: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let n = n_sites();
    if id >= ku[0] * n {
        return;
    }
    let i = id / n;
    let x = id % n;
    let row = ku[1] + i * 2u * n;
    let c = site_coords(x);
    var y: array<real, 5>;
    for (var a = 0u; a < 3u; a++) {
        var acc = real(0.0);
        for (var k = 1; k <= stencil_radius(); k++) {
            acc = acc + tap_weight(k) * (m[row + shifted(c, a, k)] - m[row + shifted(c, a, -k)]);
        }
        y[a] = acc;
    }
    y[J_PHI] = m[row + x];
    y[J_PI] = m[row + n + x];
    let zb = x * ku[2] + ku[3];
    for (var a = 0u; a < 5u; a++) {
        var s = real(0.0);
        for (var b = 0u; b < 5u; b++) {
            s = s + z[zb + a * 5u + b] * y[b];
        }
        t[id * 5u + a] = s;
    }
}
