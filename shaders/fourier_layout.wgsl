// Layouts shared by the `fourier` kernels (host side: src/backend/gpu/fourier_field.rs; CPU twin:
// src/physics/fourier_dynamics.rs). Include-only file (no bindings).
//   Γ_k: gam[3k ..] = Γφφ, Γφπ, Γππ of momentum k = j1 + N1(j2 + N2 j3).
//   A "mode form" (ModeForm): 9 reals = gradient block (6, stored components) | φφ | φπ | ππ; its φφ symbol at σ(k) is
//   Σ_ab σ_aσ_b grad_ab + φφ.
//   Site sums (columns of fourier_site_forms.wgsl): g_ab (6) | N | 𝒟_x (21, upper triangle row by row) | z_x (9) | c_x.
//   Mode sums (fourier_mode_sums.wgsl): σσΓφφ (6) | Γφφ | Γφπ | Γππ.
//   Box block of a stage (fourier_coeffs.wgsl): m̄ (9) | ā_c (6 × 9) | P̄ = 𝒟_tot⁻¹ (36, row-major) | z̄ (9) | c̄.
//   pu: the lattice block (lattice.wgsl, 8) | 8 = offset of Γvac in `vac` (0) | 9 = 1 when the box-mean conditioning is
//   on (D2 ≠ 0) | 10 = number of 64-thread groups of an n-thread dispatch (partial sums) | 11 = sites of the whole box
//   (the lattice block's on one GPU; on a rank's z-slab the per-site kernels run on the local lattice, issue 18).
//   pr: the dense kernels' real block (jets.wgsl: lattice block, ΔV, m, D2, β, ε, renormalise, coupled, …).
const S_G: u32 = 0u;
const S_N: u32 = 6u;
const S_D: u32 = 7u;
const S_Z: u32 = 28u;
const S_C: u32 = 37u;
const SITE_SUMS: u32 = 38u;
const MODE_SUMS: u32 = 9u;
const B_M: u32 = 0u;
const B_A: u32 = 9u;
const B_P: u32 = 63u;
const B_Z: u32 = 99u;
const B_C: u32 = 108u;
const BOX: u32 = 109u;

fn conditioned() -> bool {
    return pu[9] != 0u;
}

fn partial_groups() -> u32 {
    return pu[10];
}

// The sites of the whole box, n of the box means (= n_sites() on one GPU).
fn box_sites() -> u32 {
    return pu[11];
}

// Σ_ab σ_aσ_b grad_ab over the nine pairs (grad stored as six components) + the φφ entry: a mode form's φφ symbol.
fn phi_symbol(f_grad: array<real, 6>, f_phi: real, s: array<real, 3>) -> real {
    var v = real(0.0);
    for (var p = 0u; p < 6u; p++) {
        let a = pair_a(p);
        let b = pair_b(p);
        var w = real(2.0);
        if a == b {
            w = real(1.0);
        }
        v = v + w * f_grad[p] * s[a] * s[b];
    }
    return v + f_phi;
}

// Index of the upper-triangle entry (i ≤ j) of a symmetric 6×6 matrix in the site sums' 𝒟 block.
fn upper6(i_in: u32, j_in: u32) -> u32 {
    let i = min(i_in, j_in);
    let j = max(i_in, j_in);
    return i * 6u - i * (i + 1u) / 2u + j;
}
