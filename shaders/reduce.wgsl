// One further pass of the box reductions: each block of 64 partial values of each column reduced to one
// (columns 0–9 summed, 10 and above maximised, as in diagnostics.wgsl). Twin: src/backend/cpu/reduce.rs (reduce_pass).
// rp: [0] = m (values per column in `src`), [1] = number of columns.

@group(0) @binding(0) var<storage, read> rp: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<real>;
@group(0) @binding(2) var<storage, read_write> dst: array<real>;

var<workgroup> sh: array<real, 64>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let m = rp[0];
    let blocks = (m + 63u) / 64u;
    // one workgroup per (column, block): w = column·blocks + block
    let w = wid.x + wid.y * nwg.x;
    let column = w / blocks;
    let block = w % blocks;
    let j = block * 64u + lid;
    var v = real(0.0);
    if column < rp[1] && j < m {
        v = src[column * m + j];
    }
    sh[lid] = v;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            if column >= 10u {
                sh[lid] = max(sh[lid], sh[lid + stride]);
            } else {
                sh[lid] = sh[lid] + sh[lid + stride];
            }
        }
        workgroupBarrier();
    }
    if lid == 0u && column < rp[1] {
        dst[column * blocks + block] = sh[0];
    }
}
