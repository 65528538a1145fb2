// Lattice indexing and the parameter blocks shared by the lattice kernels (SPEC §1).
// Twin: src/numerics/lattice.rs; parameter layout written by src/backend/gpu/params.rs.
// The including kernel declares the bindings `pu: array<u32>` and `pr: array<real>`.
//   pu: 0..3 = N1, N2, N3 | 3 = FD radius | 4 = KO radius | 5 = lapse condition (0 geodesic, 1 harmonic,
//       2 one-plus-log) | 6 = RK4 stage index (0..3) | 7 = quantum field (0 classical, 1 dense, 2 dense in a
//       frozen metric; evolve_stage.wgsl) | dense kernels: 8 = offset of the vacuum block Γvac in `loc` (25n)
//   pr: 0..5 = c1 | 5..10 = c2 | 10..17 = KO weights | 17 = 1/(d1 h) | 18 = 1/(d2 h²) | 19 = 1/(d1 h)²
//       | 20 = KO scale (−1)^(r+1) σ/(2^(2r) h) | 21 = Λ | 22 = m | 23 = w·dt | 24 = c·dt | 25..31 = ḡ_ab
//       | evolve_stage, diagnostics: 32..41 = c_0 … c_8 of U(φ) (scalar_field.wgsl `poly_*`; the dense kernels'
//       block starts at 32 instead, jets.wgsl)

const NVARS: u32 = 15u;
const V_G: u32 = 0u;
const V_PI: u32 = 6u;
const V_LAPSE: u32 = 12u;
const V_PHI: u32 = 13u;
const V_PIPHI: u32 = 14u;

const P_C1: u32 = 0u;
const P_C2: u32 = 5u;
const P_KO: u32 = 10u;
const P_INV_D1: u32 = 17u;
const P_INV_D2: u32 = 18u;
const P_INV_D11: u32 = 19u;
const P_KO_SCALE: u32 = 20u;
const P_LAMBDA: u32 = 21u;
const P_MASS: u32 = 22u;
const P_WDT: u32 = 23u;
const P_CDT: u32 = 24u;
const P_BG: u32 = 25u;
const P_POLY: u32 = 32u;

fn n_sites() -> u32 {
    return pu[0] * pu[1] * pu[2];
}

fn site_coords(i: u32) -> vec3<u32> {
    return vec3<u32>(i % pu[0], (i / pu[0]) % pu[1], i / (pu[0] * pu[1]));
}

fn site_index(c: vec3<u32>) -> u32 {
    return c.x + pu[0] * (c.y + pu[1] * c.z);
}

// Linear index of the site displaced by d along `axis` (periodic).
fn shifted(c: vec3<u32>, axis: u32, d: i32) -> u32 {
    var cc = c;
    let n = i32(pu[axis]);
    cc[axis] = u32(((i32(c[axis]) + d) % n + n) % n);
    return site_index(cc);
}

// Linear index displaced by (da along axis a, db along axis b), a ≠ b.
fn shifted2(c: vec3<u32>, a: u32, da: i32, b: u32, db: i32) -> u32 {
    var cc = c;
    let na = i32(pu[a]);
    let nb = i32(pu[b]);
    cc[a] = u32(((i32(c[a]) + da) % na + na) % na);
    cc[b] = u32(((i32(c[b]) + db) % nb + nb) % nb);
    return site_index(cc);
}

// Flat thread index over a 2-D dispatch (convention of src/gpu/kernel.rs).
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * (nwg.x * 64u);
}
