// The jet map R_x of the quantum scalar field (SPEC §4; twin: src/numerics/jets.rs):
//   Y_x = R_x X = (D_1φ(x), D_2φ(x), D_3φ(x), φ(x), π_φ(x)),  X = (φ(·), π_φ(·)) ∈ R^{2n},
// D_aφ(x) = Σ_{k=1..r} w_k (φ(x + k e_a) − φ(x − k e_a)), w_k = c1[r+k]/(d1 h) — the classical field's stencil.
// Jet forms Σ_x R_xᵀ z_x R_x store one 5×5 block z_x per site, row-major (25 reals).
// Also the dense kernels' real parameter block: `pr` = the lattice block of lattice.wgsl (0..32) followed by
// the quantum parameters below (src/backend/gpu/dense_field.rs `dense_params_r`).
// The including kernel includes lattice.wgsl and declares `pu`, `pr`.

const J_PHI: u32 = 3u;
const J_PI: u32 = 4u;
// pr[32..]: ΔV | m | D2 | β | ε | 1 = `vacuum` renormalisation | 1 = CQ coupling on (D2 ≠ 0)
//           | scale of Ω(Σ R_xᵀσ_xR_x)Ωᵀ in the drift, (1+ε)/4 (0 without coupling) | its scale in the noise field, ¼
const P_DV: u32 = 32u;
const P_QMASS: u32 = 33u;
const P_D2: u32 = 34u;
const P_QBETA: u32 = 35u;
const P_EPS: u32 = 36u;
const P_RENORM: u32 = 37u;
const P_COUPLED: u32 = 38u;
const P_DRIFT_SCALE: u32 = 39u;
const P_NOISE_SCALE: u32 = 40u;

fn stencil_radius() -> i32 {
    return i32(pu[3]);
}

// w_k of the first-derivative stencil (k = 1..r), as numerics/jets.rs: c1[r+k]·(1/(d1 h)).
fn tap_weight(k: i32) -> real {
    return pr[P_C1 + u32(k + stencil_radius())] * pr[P_INV_D1];
}

// The column R_x[·, p] of the jet map for the φ-entry p (a site index) at the site with coordinates c:
// Σ_k w_k ([x + k e_a = p] − [x − k e_a = p]) for a = 1..3, [x = p] for φ, 0 for π (wrapped taps add).
fn jet_column(c: vec3<u32>, p: u32) -> array<real, 5> {
    var col = array<real, 5>(real(0.0), real(0.0), real(0.0), real(0.0), real(0.0));
    let r = stencil_radius();
    for (var a = 0u; a < 3u; a++) {
        for (var k = 1; k <= r; k++) {
            if shifted(c, a, k) == p {
                col[a] = col[a] + tap_weight(k);
            }
            if shifted(c, a, -k) == p {
                col[a] = col[a] - tap_weight(k);
            }
        }
    }
    if site_index(c) == p {
        col[J_PHI] = real(1.0);
    }
    return col;
}

// Whether the offset d ≠ 0 along `axis` names a site not already named by a smaller offset in [−r, d) and not
// the site itself (periodic lattices shorter than 2r + 1 alias offsets): used to visit each site of the cross
// {x ± k e_a} once.
fn distinct_offset(axis: u32, d: i32) -> bool {
    let n = i32(pu[axis]);
    let m = ((d % n) + n) % n;
    return m != 0 && d - n < -stencil_radius();
}

// Smallest periodic distance along `axis` between coordinates a and b.
fn periodic_distance(axis: u32, a: u32, b: u32) -> u32 {
    let n = pu[axis];
    let d = max(a, b) - min(a, b);
    return min(d, n - d);
}
