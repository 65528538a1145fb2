// One RK4 stage combination of a flat array (twin: src/numerics/rk4.rs `combine_f64`; the fused field kernel
// evolve_stage.wgsl does the same for the lattice fields):
//   acc ← (stage 0 ? y : acc) + w·dt·k,  next ← y + c·dt·k;  last stage: y ← acc + w·dt·k.
// ku: 0 count | 1 stage index (0..3); kr: 0 = w·dt | 1 = c·dt.
@group(0) @binding(0) var<storage, read> ku: array<u32>;
@group(0) @binding(1) var<storage, read> kr: array<real>;
@group(0) @binding(2) var<storage, read> k: array<real>;
@group(0) @binding(3) var<storage, read_write> y: array<real>;
@group(0) @binding(4) var<storage, read_write> acc: array<real>;
@group(0) @binding(5) var<storage, read_write> next: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * (nwg.x * 64u);
    if i >= ku[0] {
        return;
    }
    let wdt = kr[0];
    let cdt = kr[1];
    if ku[1] == 3u {
        y[i] = acc[i] + wdt * k[i];
        return;
    }
    var base = acc[i];
    if ku[1] == 0u {
        base = y[i];
    }
    acc[i] = base + wdt * k[i];
    next[i] = y[i] + cdt * k[i];
}
