// c = a · b for row-major d × d matrices (twin: src/physics/gaussian_dynamics.rs `matmul`, ndarray's dot).
// Tiled: a workgroup computes one 16 × 16 tile of c (each thread 4 entries of one column), staging 16 × 16 tiles
// of a and b in workgroup memory. Dispatch tiles² · 64 threads; ku[0] = d.
@group(0) @binding(0) var<storage, read> ku: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<real>;
@group(0) @binding(2) var<storage, read> b: array<real>;
@group(0) @binding(3) var<storage, read_write> c: array<real>;

const TILE: u32 = 16u;
var<workgroup> ta: array<array<real, 16>, 16>;
var<workgroup> tb: array<array<real, 16>, 16>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let d = ku[0];
    let tiles = (d + TILE - 1u) / TILE;
    let wg = wid.x + wid.y * nwg.x;
    if wg >= tiles * tiles {
        return;
    }
    let row0 = (wg / tiles) * TILE;
    let col0 = (wg % tiles) * TILE;
    let tc = lid % TILE;
    let tr = (lid / TILE) * 4u;
    var acc = array<real, 4>(real(0.0), real(0.0), real(0.0), real(0.0));
    for (var k0 = 0u; k0 < d; k0 += TILE) {
        for (var r = 0u; r < 4u; r++) {
            let ar = row0 + tr + r;
            let ak = k0 + tc;
            var va = real(0.0);
            if ar < d && ak < d {
                va = a[ar * d + ak];
            }
            ta[tr + r][tc] = va;
            let bk = k0 + tr + r;
            let bc = col0 + tc;
            var vb = real(0.0);
            if bk < d && bc < d {
                vb = b[bk * d + bc];
            }
            tb[tr + r][tc] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE; kk++) {
            let bv = tb[kk][tc];
            for (var r = 0u; r < 4u; r++) {
                acc[r] = acc[r] + ta[tr + r][kk] * bv;
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let cr = row0 + tr + r;
        let cc = col0 + tc;
        if cr < d && cc < d {
            c[cr * d + cc] = acc[r];
        }
    }
}
