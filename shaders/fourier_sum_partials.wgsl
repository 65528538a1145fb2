// The second level of the `fourier` box reductions (one workgroup): out[ku[2] + c] = Σ_g partials[g·ku[1] + c] over the
// ku[0] groups (maximum instead of sum when ku[3] = 1), for the ku[1] columns. Twin: the chunk sums of
// src/physics/fourier_dynamics.rs `chunked_sums` (same sums, another order).

//#include "fourier_tree.wgsl"

@group(0) @binding(0) var<storage, read> ku: array<u32>;
@group(0) @binding(1) var<storage, read> partials: array<real>;
@group(0) @binding(2) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
    let groups = ku[0];
    let ncols = ku[1];
    let use_max = ku[3] == 1u;
    for (var c = 0u; c < ncols; c++) {
        var acc = real(0.0);
        for (var g = lid; g < groups; g += 64u) {
            let v = partials[g * ncols + c];
            if use_max {
                acc = max(acc, v);
            } else {
                acc = acc + v;
            }
        }
        red[lid] = acc;
        tree_reduce(lid, use_max);
        if lid == 0u {
            out[ku[2] + c] = red[0];
        }
        workgroupBarrier();
    }
}
