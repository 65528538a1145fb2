// out[i] = α x[i] + β y[i] for i < ku[0] (α = kr[0], β = kr[1]): the ensemble noise flow's midpoint and update
// (twin: src/physics/ensemble_dynamics.rs `noise_flow`).
@group(0) @binding(0) var<storage, read> ku: array<u32>;
@group(0) @binding(1) var<storage, read> kr: array<real>;
@group(0) @binding(2) var<storage, read> x: array<real>;
@group(0) @binding(3) var<storage, read> y: array<real>;
@group(0) @binding(4) var<storage, read_write> out: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * (nwg.x * 64u);
    if i >= ku[0] {
        return;
    }
    out[i] = kr[0] * x[i] + kr[1] * y[i];
}
