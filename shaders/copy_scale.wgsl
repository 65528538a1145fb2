// y[i] = a * x[i] for i < n. Test kernel for the GPU plumbing (tests/gpu_smoke.rs).
// `real` is f32 or f64, prepended by the build (see src/gpu/shader_source.rs).

struct Params {
    a: real,
    n: u32,
}

@group(0) @binding(0) var<storage, read> x: array<real>;
@group(0) @binding(1) var<storage, read_write> y: array<real>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Flat index over a 2-D dispatch (convention of src/gpu/kernel.rs).
    let i = gid.x + gid.y * (nwg.x * 64u);
    if i >= params.n {
        return;
    }
    y[i] = params.a * x[i];
}
