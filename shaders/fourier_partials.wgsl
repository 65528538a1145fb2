// Per-workgroup partial sums (or maxima) of per-thread columns, for the box reductions of the `fourier` kernels
// (twin: the fixed-chunk sums of src/physics/fourier_dynamics.rs `chunked_sums`; the order of summation differs, so the
// two agree to round-off). Each thread fills `cols[0 .. ncols]` (zeros when it has no site or momentum) and every thread
// of the workgroup calls store_partials in uniform control flow; partials[group·ncols + c] receives the group's sum.
// The including kernel declares `partials: array<real>` (read_write). Include-only file.
var<workgroup> red: array<real, 64>;
var<private> cols: array<real, 40>;

fn store_partials(lid: u32, group: u32, ncols: u32, use_max: bool) {
    for (var c = 0u; c < ncols; c++) {
        red[lid] = cols[c];
        workgroupBarrier();
        for (var stride = 32u; stride > 0u; stride = stride / 2u) {
            if lid < stride {
                if use_max {
                    red[lid] = max(red[lid], red[lid + stride]);
                } else {
                    red[lid] = red[lid] + red[lid + stride];
                }
            }
            workgroupBarrier();
        }
        if lid == 0u && group < partial_groups() {
            partials[group * ncols + c] = red[0];
        }
        workgroupBarrier();
    }
}
