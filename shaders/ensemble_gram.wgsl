// Per-block Gram matrices of the members (twin: src/numerics/member_ops.rs `gram`, with
// src/physics/ensemble_dynamics.rs `cross_halves`): for block b and members r, s in DIFFERENT halves
// ([0, M/2) and [M/2, M); same-half entries are 0)
//   ku[0] = 0:  G[b][r][s] = Σ_{i ∈ b} (a_φ(i)[r] e_φ(i)[s] + a_π(i)[r] e_π(i)[s])      (δ_r · X δ_s)
//   ku[0] = 1:  G[b][r][s] = ΔV Σ_{i ∈ b} (−a_φ(i)[r] a_π(i)[s] + a_π(i)[r] a_φ(i)[s])  (δ_r · Ω⁻¹ δ_s; e unused)
// The sites of block b are sites[start[b] .. start[b+1]] (numerics/localization.rs `Blocks`).
//#include "lattice.wgsl"
//#include "jets.wgsl"
//#include "ensemble_layout.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> pr: array<real>;
@group(0) @binding(2) var<storage, read> eu: array<u32>;
@group(0) @binding(3) var<storage, read> ku: array<u32>;
@group(0) @binding(4) var<storage, read> start: array<u32>;
@group(0) @binding(5) var<storage, read> sites: array<u32>;
@group(0) @binding(6) var<storage, read> a: array<real>;
@group(0) @binding(7) var<storage, read> e: array<real>;
@group(0) @binding(8) var<storage, read_write> g: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = flat_index(gid, nwg);
    let m = members();
    let nb = eu[EU_NB];
    if id >= nb * m * m {
        return;
    }
    let b = id / (m * m);
    let r = (id / m) % m;
    let s = id % m;
    let half = m / 2u;
    if (r < half) == (s < half) {
        g[id] = real(0.0);
        return;
    }
    let n = n_sites();
    var acc = real(0.0);
    for (var k = start[b]; k < start[b + 1u]; k++) {
        let i = sites[k];
        let pf = i * m;
        let pp = (n + i) * m;
        if ku[0] == 0u {
            acc = acc + a[pf + r] * e[pf + s] + a[pp + r] * e[pp + s];
        } else {
            acc = acc - a[pf + r] * a[pp + s] + a[pp + r] * a[pf + s];
        }
    }
    if ku[0] == 1u {
        acc = acc * pr[P_DV];
    }
    g[id] = acc;
}
