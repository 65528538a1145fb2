// Symmetric 3-tensors as 6 components xx, xy, xz, yy, yz, zz (SPEC §1). Twin: src/physics/tensor.rs.

// Storage index of the pair (a, b).
fn sym(a: u32, b: u32) -> u32 {
    var t = array<u32, 9>(0u, 1u, 2u, 1u, 3u, 4u, 2u, 4u, 5u);
    return t[a * 3u + b];
}
fn pair_a(s: u32) -> u32 {
    var t = array<u32, 6>(0u, 0u, 0u, 1u, 1u, 2u);
    return t[s];
}
fn pair_b(s: u32) -> u32 {
    var t = array<u32, 6>(0u, 1u, 2u, 1u, 2u, 2u);
    return t[s];
}

fn det3(g: array<real, 6>) -> real {
    return g[0] * (g[3] * g[5] - g[4] * g[4]) - g[1] * (g[1] * g[5] - g[4] * g[2]) + g[2] * (g[1] * g[4] - g[3] * g[2]);
}

// Inverse of a symmetric matrix (its determinant from det3).
fn inverse3(g: array<real, 6>) -> array<real, 6> {
    let id = real(1.0) / det3(g);
    return array<real, 6>(
        (g[3] * g[5] - g[4] * g[4]) * id,
        (g[2] * g[4] - g[1] * g[5]) * id,
        (g[1] * g[4] - g[2] * g[3]) * id,
        (g[0] * g[5] - g[2] * g[2]) * id,
        (g[1] * g[2] - g[0] * g[4]) * id,
        (g[0] * g[3] - g[1] * g[1]) * id);
}

// (A B A)^ab for symmetric A, B.
fn sandwich(a_in: array<real, 6>, b_in: array<real, 6>) -> array<real, 6> {
    var a = a_in;
    var b = b_in;
    var out: array<real, 6>;
    for (var k = 0u; k < 6u; k++) {
        let i = pair_a(k);
        let j = pair_b(k);
        var s = real(0.0);
        for (var c = 0u; c < 3u; c++) {
            for (var d = 0u; d < 3u; d++) {
                s = s + a[sym(i, c)] * b[sym(c, d)] * a[sym(d, j)];
            }
        }
        out[k] = s;
    }
    return out;
}

// Σ_ab A^ab B_ab over all 9 pairs.
fn contract(a: array<real, 6>, b: array<real, 6>) -> real {
    return a[0] * b[0] + a[3] * b[3] + a[5] * b[5] + real(2.0) * (a[1] * b[1] + a[2] * b[2] + a[4] * b[4]);
}
