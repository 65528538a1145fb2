// One axis of the lattice Fourier transform (SPEC §11 convention; twin: src/numerics/fft.rs, which computes the same
// sums by FFTs): for every site x (thread) with coordinate c along axis a = ku[0],
//   dst(x) = Σ_{j < N_a} e^{∓2πi c j/N_a} src(x with coordinate j along a)     (− forward, + inverse: ku[1] = 1)
// as a direct sum with the twiddles tw (cos, sin of 2πm/N_a, m < N_a, per axis from offset 2·Σ_{b<a} N_b). Input
// (ku[2]): 0 = complex (re, im interleaved), 1 = a real pair (re at src[ku[3] + x], im at src[ku[4] + x]). Output (ku[5]):
// 0 = complex, 1 = added to a real pair scaled by 1/n (dst[ku[6] + x] += re/n, dst[ku[7] + x] += im/n).
//#include "lattice.wgsl"

@group(0) @binding(0) var<storage, read> pu: array<u32>;
@group(0) @binding(1) var<storage, read> ku: array<u32>;
@group(0) @binding(2) var<storage, read> tw: array<real>;
@group(0) @binding(3) var<storage, read> src: array<real>;
@group(0) @binding(4) var<storage, read_write> dst: array<real>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let x = flat_index(gid, nwg);
    let n = n_sites();
    if x >= n {
        return;
    }
    let axis = ku[0];
    let len = pu[axis];
    var toff = 0u;
    for (var b = 0u; b < axis; b++) {
        toff = toff + 2u * pu[b];
    }
    var sg = real(-1.0);
    if ku[1] == 1u {
        sg = real(1.0);
    }
    let c = site_coords(x);
    let ca = c[axis];
    var re = real(0.0);
    var im = real(0.0);
    for (var j = 0u; j < len; j++) {
        var cj = c;
        cj[axis] = j;
        let y = site_index(cj);
        var sre: real;
        var sim: real;
        if ku[2] == 0u {
            sre = src[2u * y];
            sim = src[2u * y + 1u];
        } else {
            sre = src[ku[3] + y];
            sim = src[ku[4] + y];
        }
        let m = (ca * j) % len;
        let co = tw[toff + 2u * m];
        let si = sg * tw[toff + 2u * m + 1u];
        re = re + co * sre - si * sim;
        im = im + co * sim + si * sre;
    }
    if ku[5] == 0u {
        dst[2u * x] = re;
        dst[2u * x + 1u] = im;
    } else {
        let inv_n = real(1.0) / real(n);
        dst[ku[6] + x] = dst[ku[6] + x] + re * inv_n;
        dst[ku[7] + x] = dst[ku[7] + x] + im * inv_n;
    }
}
