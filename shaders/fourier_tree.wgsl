// The workgroup tree reduction of the `fourier` box sums: red[0] ← Σ (or max) of red[0 .. 64). Every thread of the
// workgroup calls it in uniform control flow after writing red[lid]. Include-only file.
var<workgroup> red: array<real, 64>;

fn tree_reduce(lid: u32, use_max: bool) {
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
}
