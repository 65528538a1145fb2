// Per-workgroup partial sums (or maxima) of per-thread columns, for the box reductions of the `fourier` kernels
// (twin: the fixed-chunk sums of src/physics/fourier_dynamics.rs `chunked_sums`; the order of summation differs, so the
// two agree to round-off). Each thread fills `cols[0 .. ncols]` (zeros when it has no site or momentum) and every thread
// of the workgroup calls store_partials in uniform control flow; partials[group·ncols + c] receives the group's sum.
// The including kernel declares `partials: array<real>` (read_write) and includes fourier_tree.wgsl. Include-only file.
var<private> cols: array<real, 40>;

fn store_partials(lid: u32, group: u32, ncols: u32, use_max: bool) {
    for (var c = 0u; c < ncols; c++) {
        red[lid] = cols[c];
        tree_reduce(lid, use_max);
        if lid == 0u && group < partial_groups() {
            partials[group * ncols + c] = red[0];
        }
        workgroupBarrier();
    }
}
