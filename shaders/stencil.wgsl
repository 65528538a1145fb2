// Centred finite differences and Kreiss–Oliger dissipation on the stage input `u_in` (SPEC §2).
// Twin: src/backend/cpu/fd.rs (same summation: first derivatives as antisymmetric pairs c_k (u(+k) − u(−k)),
// even operators as deviations c_k ((u(+k) − u0) + (u(−k) − u0)), k = 1..r — exact zero on constants; one division).
// The including kernel declares `u_in: array<real>` (structure of arrays, variable v at v·n + i).

// ∂_axis of variable v at site c: Σ_{k=1..r} c1[r+k] (u(+k) − u(−k)) / (d1 h).
fn d1_in(v: u32, c: vec3<u32>, axis: u32) -> real {
    let r = i32(pu[3]);
    let base = v * n_sites();
    var acc = real(0.0);
    for (var k = 1; k <= r; k++) {
        acc = acc + pr[P_C1 + u32(k + r)] * (u_in[base + shifted(c, axis, k)] - u_in[base + shifted(c, axis, -k)]);
    }
    return acc * pr[P_INV_D1];
}

// ∂_axis ∂_axis of variable v (compact stencil), deviation form.
fn d2_in(v: u32, c: vec3<u32>, axis: u32) -> real {
    let r = i32(pu[3]);
    let base = v * n_sites();
    let u0 = u_in[base + site_index(c)];
    var acc = real(0.0);
    for (var k = 1; k <= r; k++) {
        acc = acc + pr[P_C2 + u32(k + r)] * ((u_in[base + shifted(c, axis, k)] - u0) + (u_in[base + shifted(c, axis, -k)] - u0));
    }
    return acc * pr[P_INV_D2];
}

// ∂_a ∂_b of variable v, a ≠ b: nested antisymmetric-pair first-derivative stencils.
fn d11_in(v: u32, c: vec3<u32>, a: u32, b: u32) -> real {
    let r = i32(pu[3]);
    let base = v * n_sites();
    var acc = real(0.0);
    for (var j = 1; j <= r; j++) {
        var plus = real(0.0);
        var minus = real(0.0);
        for (var k = 1; k <= r; k++) {
            let ck = pr[P_C1 + u32(k + r)];
            plus = plus + ck * (u_in[base + shifted2(c, a, j, b, k)] - u_in[base + shifted2(c, a, j, b, -k)]);
            minus = minus + ck * (u_in[base + shifted2(c, a, -j, b, k)] - u_in[base + shifted2(c, a, -j, b, -k)]);
        }
        acc = acc + pr[P_C1 + u32(j + r)] * (plus - minus);
    }
    return acc * pr[P_INV_D11];
}

fn gradient_in(v: u32, c: vec3<u32>) -> array<real, 3> {
    return array<real, 3>(d1_in(v, c, 0u), d1_in(v, c, 1u), d1_in(v, c, 2u));
}

// Second derivatives in storage order xx, xy, xz, yy, yz, zz.
fn hessian_in(v: u32, c: vec3<u32>) -> array<real, 6> {
    return array<real, 6>(
        d2_in(v, c, 0u), d11_in(v, c, 0u, 1u), d11_in(v, c, 0u, 2u),
        d2_in(v, c, 1u), d11_in(v, c, 1u, 2u), d2_in(v, c, 2u));
}

// Kreiss–Oliger term Q u of variable v, deviation form per axis.
fn ko_in(v: u32, c: vec3<u32>) -> real {
    // σ = 0: no stencil work (the CPU twin, backend/cpu/fd.rs ko, returns the same 0)
    if pr[P_KO_SCALE] == real(0.0) {
        return real(0.0);
    }
    let r = i32(pu[4]);
    let base = v * n_sites();
    let u0 = u_in[base + site_index(c)];
    var acc = real(0.0);
    for (var axis = 0u; axis < 3u; axis++) {
        for (var k = 1; k <= r; k++) {
            acc = acc + pr[P_KO + u32(k + r)] * ((u_in[base + shifted(c, axis, k)] - u0) + (u_in[base + shifted(c, axis, -k)] - u0));
        }
    }
    return acc * pr[P_KO_SCALE];
}
