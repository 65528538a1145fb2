// Christoffel symbols and the Ricci tensor from metric derivatives (SPEC §2). Twin: src/physics/ricci.rs.
//   Γ_lij = ½(∂_i g_lj + ∂_j g_li − ∂_l g_ij),  Γ^k_ij = g^kl Γ_lij
//   R_ij = ∂_k Γ^k_ij − ∂_j Γ^k_ik + Γ^k_kl Γ^l_ij − Γ^k_jl Γ^l_ik,
//   ∂_m Γ^k_ij = ∂_m g^kl Γ_lij + g^kl ½(∂_m∂_i g_lj + ∂_m∂_j g_li − ∂_m∂_l g_ij)

struct SymDerivs {
    d: array<array<real, 6>, 3>,   // d[k][ab] = ∂_k g_ab
    dd: array<array<real, 6>, 6>,  // dd[sym(k,l)][ab] = ∂_k ∂_l g_ab
}

struct RicciOut {
    ric: array<real, 6>,
    gam: array<array<real, 6>, 3>,
}

// ∂_m Γ^k_ij
fn dgam(m: u32, k: u32, i: u32, j: u32, ginv: ptr<function, array<real, 6>>,
        dginv: ptr<function, array<array<real, 6>, 3>>, first: ptr<function, array<array<real, 6>, 3>>,
        der: ptr<function, SymDerivs>) -> real {
    let s = sym(i, j);
    var acc = real(0.0);
    for (var l = 0u; l < 3u; l++) {
        let dfirst = real(0.5) * ((*der).dd[sym(m, i)][sym(l, j)] + (*der).dd[sym(m, j)][sym(l, i)] - (*der).dd[sym(m, l)][s]);
        acc = acc + (*dginv)[m][sym(k, l)] * (*first)[l][s] + (*ginv)[sym(k, l)] * dfirst;
    }
    return acc;
}

fn ricci(ginv_in: array<real, 6>, der_in: SymDerivs) -> RicciOut {
    var ginv = ginv_in;
    var der = der_in;
    var first: array<array<real, 6>, 3>;
    for (var l = 0u; l < 3u; l++) {
        for (var s = 0u; s < 6u; s++) {
            let i = pair_a(s);
            let j = pair_b(s);
            first[l][s] = real(0.5) * (der.d[i][sym(l, j)] + der.d[j][sym(l, i)] - der.d[l][s]);
        }
    }
    var gam: array<array<real, 6>, 3>;
    for (var k = 0u; k < 3u; k++) {
        for (var s = 0u; s < 6u; s++) {
            gam[k][s] = ginv[sym(k, 0u)] * first[0][s] + ginv[sym(k, 1u)] * first[1][s] + ginv[sym(k, 2u)] * first[2][s];
        }
    }
    var dginv: array<array<real, 6>, 3>;
    for (var m = 0u; m < 3u; m++) {
        for (var s = 0u; s < 6u; s++) {
            let k = pair_a(s);
            let l = pair_b(s);
            var acc = real(0.0);
            for (var a = 0u; a < 3u; a++) {
                for (var b = 0u; b < 3u; b++) {
                    acc = acc + ginv[sym(k, a)] * ginv[sym(l, b)] * der.d[m][sym(a, b)];
                }
            }
            dginv[m][s] = -acc;
        }
    }
    var gk: array<real, 3>;
    for (var l = 0u; l < 3u; l++) {
        gk[l] = gam[0][sym(0u, l)] + gam[1][sym(1u, l)] + gam[2][sym(2u, l)];
    }
    var out: RicciOut;
    for (var s = 0u; s < 6u; s++) {
        let i = pair_a(s);
        let j = pair_b(s);
        var r = real(0.0);
        for (var k = 0u; k < 3u; k++) {
            r = r + dgam(k, k, i, j, &ginv, &dginv, &first, &der) - dgam(j, k, i, k, &ginv, &dginv, &first, &der);
        }
        for (var l = 0u; l < 3u; l++) {
            r = r + gk[l] * gam[l][s];
            for (var k = 0u; k < 3u; k++) {
                r = r - gam[k][sym(j, l)] * gam[l][sym(i, k)];
            }
        }
        out.ric[s] = r;
    }
    out.gam = gam;
    return out;
}
