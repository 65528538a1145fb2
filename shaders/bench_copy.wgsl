// Bandwidth reference of `cqgrav bench` (src/bench/roofline.rs): dst[i] = src[i] for i < cp[0], one real read
// and one real written per thread: the access pattern of the lattice kernels' pointwise fields, in the run's
// precision. Achieved bandwidth = 2 · bytes / time.
@group(0) @binding(0) var<storage, read> cp: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<real>;
@group(0) @binding(2) var<storage, read_write> dst: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Flat index over a 2-D dispatch (convention of src/gpu/kernel.rs).
    let i = gid.x + gid.y * (nwg.x * 64u);
    if i >= cp[0] {
        return;
    }
    dst[i] = src[i];
}
