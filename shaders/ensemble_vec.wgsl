// The ensemble covariance applied to one vector, Γ v = Σ_r δ_r (δ_r·v)/(M − 2) localised (twin:
// src/numerics/member_ops.rs `gram_vec` and `combine_vec`), in two entry-point modes:
//   ku[0] = 0 (per block b and member r):  g[b][r] = Σ_{rows of b} d[row][r] v[row]          (threads nb·M)
//   ku[0] = 1 (per row):                   out[row] = α Σ_r d[row][r] c[b(row)][r],  α = kr[0]   (threads 2n)
//#include "lattice.wgsl"
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> eu: array<u32>;
@group(0) @binding(2) var<storage, read> ku: array<u32>;
@group(0) @binding(3) var<storage, read> kr: array<real>;
@group(0) @binding(4) var<storage, read> start: array<u32>;
@group(0) @binding(5) var<storage, read> sites: array<u32>;
@group(0) @binding(6) var<storage, read> block_of: array<u32>;
@group(0) @binding(7) var<storage, read> d: array<real>;
@group(0) @binding(8) var<storage, read> v: array<real>;
@group(0) @binding(9) var<storage, read_write> g: array<real>;
@group(0) @binding(10) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let n = n_sites();
    let m = members();
    if ku[0] == 0u {
        if id >= eu[EU_NB] * m {
            return;
        }
        let b = id / m;
        let r = id % m;
        var acc = real(0.0);
        for (var k = start[b]; k < start[b + 1u]; k++) {
            let i = sites[k];
            acc = acc + d[i * m + r] * v[i] + d[(n + i) * m + r] * v[n + i];
        }
        g[id] = acc;
        return;
    }
    if id >= 2u * n {
        return;
    }
    let base = block_of[id % n] * m;
    var acc = real(0.0);
    for (var r = 0u; r < m; r++) {
        acc = acc + d[id * m + r] * g[base + r];
    }
    out[id] = kr[0] * acc;
}
