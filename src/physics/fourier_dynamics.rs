//! The `fourier` representation of the Gaussian quantum field (SPEC §4.2; docs/quantum.md F1–F8): the covariance in the
//! box-averaged metric ḡ_ab, lapse N̄, translation- and reflection-invariant, hence diagonal in lattice momentum,
//!   Γ(x, y) = (1/n) Σ_k e^{ik·(x−y)} Γ_k,   Γ_k = [[Γφφ, Γφπ], [Γφπ, Γππ]] = Γ_{−k} real,
//! stored as [Γφφ, Γφπ, Γππ] per momentum k (index j1 + N1(j2 + N2 j3), k_a = 2πj_a/(N_a h)). Products of such
//! matrices are per-k products; a jet form Σ_x R_xᵀ z R_x with a homogeneous block-diagonal z (gradient block ⊕ φφ ⊕
//! ππ, as every form of the model) has the diagonal symbol [[Σ_ab σ_aσ_b z_ab + z_φφ, 0], [0, z_ππ]] with σ_a(k) the
//! first-derivative stencil's symbol; Ω has the symbol ω̂ = (1/ΔV)[[0, 1], [−1, 0]].
//!
//! The equations per momentum (Stratonovich form; derivation in docs/quantum.md F1–F8). With the box coefficients of a
//! stage ([`ModeCoeffs`]: m̄ = the Hamiltonian form of (ḡ, N̄), ā_c the back-reaction forms of (ḡ, N̄), P̄ = 𝒟_tot⁻¹
//! with 𝒟_tot = Σ_x 𝒟_x the covariance of the box-summed record, z̄ and c̄ the box means of the per-site Lindblad forms
//! z_x = Σ_ij C_ij ã_i (Γ_loc + y_x y_xᵀ) ã_j and c_x = ((1+ε)/(8ΔV)) Σ_ij (𝒟⁻¹_x)_ij α_i β_j, C = (1+ε)¼𝒟⁻¹_x):
//!   μ = Σσσ m̄_ab + m̄_φφ, ν = m̄_ππ;  α_c = Σσσ ā_c,ab + ā_c,φφ, β_c = ā_c,ππ;
//!   A = αᵀP̄α, B = βᵀP̄β, X = αᵀP̄β;  λ = X/(8ΔV²);  γ = λ − c̄/ΔV
//!   dΓ/dt = GΓ + ΓGᵀ + ω̂ Z ω̂ᵀ − Γ (Π + V) Γ,   G = ω̂ diag(μ, ν) + γ I,   Z = [[Σσσ z̄_ab + z̄_φφ, z̄_φπ], [z̄_φπ, z̄_ππ]],
//!   Π = [[A Γφφ, X Γφπ], [X Γφπ, B Γππ]],  V = (1/n) Re [[A |φ̂|², X φ̂π̂*], [X φ̂*π̂, B |π̂|²]]  (x̂ = Σ_x e^{−ik·x} x̄(x)),
//! and the mean field x̄ (a full lattice field) moves by its local classical drift, the local Lindblad term
//! −(c_x/ΔV) x̄(x) and the circulant (λ − ΓΠ) x̂ (backend/cpu/fourier_field.rs). The noise of a step enters through
//! the frozen increment of the box-summed record, ξ̄ = P̄ Σ_x dW(x), b̄ = Σ_c ξ̄_c ā_c, b = diag(Σσσ b̄_ab + b̄_φφ, b̄_ππ):
//!   dΓ/ds = −Γ b Γ + ¼ ω̂ b ω̂ᵀ,   dx̂/ds = −Γ b x̂,   s ∈ [0, 1].
//! Without CQ coupling (D2 = 0) only the unitary part G = ω̂ diag(μ, ν) remains: [`ModeCovariance`] is that evolution,
//! the control variate of the `ensemble` representation.
use super::gaussian_forms::{backreaction_forms, hamiltonian_form, inverse_diffusion, QuantumParams, SiteGeometry};
use super::lattice_vacuum::symbols;
use super::tensor::{Sym, PAIRS, SYM};
use crate::numerics::jets::{Mat5, J_PHI, J_PI, ZERO5};
use crate::numerics::lattice::Lattice;
use crate::numerics::rk4::{combine_f64, Rk4Stage};
use crate::numerics::stencil::Stencil;
use rayon::prelude::*;

/// Reals per momentum: Γφφ, Γφπ, Γππ.
pub const MODE: usize = 3;

/// Length of the fixed chunks of the box sums (deterministic summation order, whatever the thread count).
const CHUNK: usize = 4096;

/// Σ over a range in fixed chunks (each summed in order, then the chunk sums in order): the same bits on any number of
/// threads, so restarts and reruns reproduce the run.
pub fn chunked_sums<const C: usize>(len: usize, f: impl Fn(usize) -> [f64; C] + Sync) -> [f64; C] {
    let parts: Vec<[f64; C]> = (0..len.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut s = [0.0; C];
            for i in c * CHUNK..((c + 1) * CHUNK).min(len) {
                let v = f(i);
                for (a, b) in s.iter_mut().zip(v) {
                    *a += b;
                }
            }
            s
        })
        .collect();
    let mut s = [0.0; C];
    for p in parts {
        for (a, b) in s.iter_mut().zip(p) {
            *a += b;
        }
    }
    s
}

/// The lattice momenta and the stencil's symbols σ_a(k) = s(k_a h)/h per axis.
#[derive(Debug, Clone)]
pub struct MomentumGrid {
    pub lattice: Lattice,
    pub symbols: [Vec<f64>; 3],
}

impl MomentumGrid {
    pub fn new(lattice: &Lattice, stencil: &Stencil) -> Self {
        Self { lattice: *lattice, symbols: symbols(lattice, stencil) }
    }
    pub fn modes(&self) -> usize {
        self.lattice.sites()
    }
    /// σ(k) of momentum index k.
    #[inline]
    pub fn sigma(&self, k: usize) -> [f64; 3] {
        let j = self.lattice.coords(k);
        [self.symbols[0][j[0]], self.symbols[1][j[1]], self.symbols[2][j[2]]]
    }
    /// The index of −k.
    #[inline]
    pub fn negative(&self, k: usize) -> usize {
        let j = self.lattice.coords(k);
        let s = self.lattice.shape;
        self.lattice.index((s[0] - j[0]) % s[0], (s[1] - j[1]) % s[1], (s[2] - j[2]) % s[2])
    }
}

/// Σ_ab σ_aσ_b t_ab over all nine pairs for a symmetric t stored as six components.
#[inline]
fn sigma_contract(t: &Sym<f64>, s: &[f64; 3]) -> f64 {
    let mut v = 0.0;
    for (p, &(a, b)) in PAIRS.iter().enumerate() {
        let w = if a == b { 1.0 } else { 2.0 };
        v += w * t[p] * s[a] * s[b];
    }
    v
}

/// The symbol-relevant part of a block-diagonal site form (gradient block ⊕ φφ ⊕ ππ) and its φπ entry: its per-momentum
/// symbol [[Σσσ grad + φφ, φπ], [φπ, ππ]] (parity-even: the gradient–(φ, π) entries, odd in k, are dropped).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModeForm {
    pub grad: Sym<f64>,
    pub phi: f64,
    pub phipi: f64,
    pub pi: f64,
}

impl ModeForm {
    /// The parity-even part of a symmetric 5×5 form.
    pub fn of(z: &Mat5) -> Self {
        Self { grad: std::array::from_fn(|p| z[PAIRS[p].0][PAIRS[p].1]), phi: z[J_PHI][J_PHI], phipi: z[J_PHI][J_PI], pi: z[J_PI][J_PI] }
    }
    /// Σ_ab σ_aσ_b z_ab + z_φφ: the φφ entry of the symbol at σ.
    #[inline]
    pub fn phi_symbol(&self, s: &[f64; 3]) -> f64 {
        sigma_contract(&self.grad, s) + self.phi
    }
    /// The form as nine reals (grad 6 | φφ | φπ | ππ): the layout of the box sums and of the GPU blocks.
    pub fn to_array(&self) -> [f64; 9] {
        [self.grad[0], self.grad[1], self.grad[2], self.grad[3], self.grad[4], self.grad[5], self.phi, self.phipi, self.pi]
    }
    pub fn from_array(v: &[f64]) -> Self {
        Self { grad: std::array::from_fn(|p| v[p]), phi: v[6], phipi: v[7], pi: v[8] }
    }
}

/// The box coefficients of one RK stage: everything the per-momentum equations need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModeCoeffs {
    /// m̄ = ΔV N̄ [√ḡ ḡ^ab | √ḡ m² | 1/√ḡ] (H_m in the box-mean metric and lapse)
    pub m: ModeForm,
    /// ā_c, c = stored components (L̂^ab summed over the box, in the box-mean metric and lapse)
    pub a: [ModeForm; 6],
    /// P̄ = 𝒟_tot⁻¹ (zero when the conditioning is off or D2 = 0)
    pub pbar: [[f64; 6]; 6],
    /// z̄: box mean of Σ_ij C_ij ã_i (Γ_loc + y yᵀ) ã_j (zero without coupling)
    pub z: ModeForm,
    /// c̄: box mean of c_x (zero without coupling)
    pub c: f64,
    pub cell_volume: f64,
    pub sites: usize,
}

impl ModeCoeffs {
    /// The unitary coefficients of the metric ḡ and lapse N̄ (no CQ terms).
    pub fn unitary(lattice: &Lattice, gbar: &Sym<f64>, lapse: f64, mass: f64) -> Self {
        let dv = lattice.cell_volume();
        let geo = SiteGeometry::new(gbar, lapse);
        let a = backreaction_forms(&geo, mass);
        Self {
            m: ModeForm::of(&hamiltonian_form(&geo, mass, dv)),
            a: std::array::from_fn(|c| ModeForm::of(&a[c])),
            pbar: [[0.0; 6]; 6],
            z: ModeForm::default(),
            c: 0.0,
            cell_volume: dv,
            sites: lattice.sites(),
        }
    }
    /// Whether the box-mean conditioning terms (P̄) are present.
    pub fn conditioned(&self) -> bool {
        self.pbar.iter().flatten().any(|v| *v != 0.0)
    }
}

/// The box sums of one stage over sites (the columns of shaders/fourier_site_forms.wgsl): g_ab (6) | N | 𝒟_x (21, upper
/// triangle row by row) | z_x (grad 6 | φφ | φπ | ππ) | c_x.
pub const SITE_SUMS: usize = 38;
pub const S_G: usize = 0;
pub const S_LAPSE: usize = 6;
pub const S_D: usize = 7;
pub const S_Z: usize = 28;
pub const S_C: usize = 37;
/// The box sums of a stage over momenta (shaders/fourier_mode_sums.wgsl): σσΓφφ (6) | Γφφ | Γφπ | Γππ.
pub const MODE_SUMS: usize = 9;

/// Index of the upper-triangle entry (i ≤ j) of a symmetric 6×6 matrix in [`S_D`]'s layout.
pub fn upper6(i: usize, j: usize) -> usize {
    let (i, j) = if i <= j { (i, j) } else { (j, i) };
    i * 6 - i * (i + 1) / 2 + j
}

/// The per-momentum sums of [`MODE_SUMS`] for momentum k.
#[inline]
pub fn mode_sum_terms(grid: &MomentumGrid, modes: &[f64], k: usize) -> [f64; MODE_SUMS] {
    let s = grid.sigma(k);
    let g = &modes[MODE * k..MODE * k + MODE];
    let mut v = [0.0; MODE_SUMS];
    for (p, &(a, b)) in PAIRS.iter().enumerate() {
        v[p] = s[a] * s[b] * g[0];
    }
    v[6] = g[0];
    v[7] = g[1];
    v[8] = g[2];
    v
}

/// Γ_loc = (1/n) Σ_k r(k) Γ_k r(k)† from the momentum sums: the homogeneous 5×5 jet covariance (the gradient–(φ, π)
/// entries vanish by parity).
pub fn local_from_sums(sums: &[f64; MODE_SUMS], n: usize) -> Mat5 {
    let n = n as f64;
    let mut c = ZERO5;
    for a in 0..3 {
        for b in 0..3 {
            c[a][b] = sums[SYM[a][b]] / n;
        }
    }
    c[J_PHI][J_PHI] = sums[6] / n;
    c[J_PHI][J_PI] = sums[7] / n;
    c[J_PI][J_PHI] = sums[7] / n;
    c[J_PI][J_PI] = sums[8] / n;
    c
}

/// Γ_loc of per-momentum covariances (row k = [Γφφ, Γφπ, Γππ]).
pub fn local_covariance(grid: &MomentumGrid, modes: &[f64]) -> Mat5 {
    local_from_sums(&chunked_sums(grid.modes(), |k| mode_sum_terms(grid, modes, k)), grid.modes())
}

/// The per-site part of a stage at one site: the fluctuation back-reaction ½tr(ã_s(Γ_loc − Γvac)) (6) and the site's
/// contribution to the box sums ([`SITE_SUMS`]; the 𝒟, z, c columns only with CQ coupling). `y` = R_x x̄ (the mean
/// field's jet at the site).
pub fn site_terms(geo: &SiteGeometry, p: &QuantumParams, cell_volume: f64, local: &Mat5, vacuum: &Mat5, y: &[f64; 5]) -> ([f64; 6], [f64; SITE_SUMS]) {
    let a = backreaction_forms(geo, p.mass);
    let mut sums = [0.0; SITE_SUMS];
    let mut br = [0.0; 6];
    for s in 0..6 {
        let mut t = 0.0;
        for i in 0..5 {
            for j in 0..5 {
                t += a[s][i][j] * (local[j][i] - vacuum[j][i]);
            }
        }
        br[s] = 0.5 * t;
    }
    sums[S_G..S_G + 6].copy_from_slice(&geo.g);
    sums[S_LAPSE] = geo.lapse;
    if p.diffusion == 0.0 {
        return (br, sums);
    }
    // 𝒟_x = D2 s/ΔV (SPEC §3, white noise, stored components)
    let s = super::cq_noise::diffusion_tensor(&geo.g, geo.lapse, p.beta, crate::config::NoiseKind::Tensor);
    for i in 0..6 {
        for j in i..6 {
            sums[S_D + upper6(i, j)] = p.diffusion * s[i][j] / cell_volume;
        }
    }
    // z_x = Σ_ij C_ij ã_i S ã_j with ã_i = G_i ⊕ α_i ⊕ β_i, S = Γ_loc + y yᵀ (parity-even entries)
    let dinv = inverse_diffusion(geo, p, cell_volume);
    let cf = 0.25 * (1.0 + p.decoherence_excess);
    let ssg: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| local[i][j] + y[i] * y[j]));
    let sphi = local[J_PHI][J_PHI] + y[J_PHI] * y[J_PHI];
    let sphipi = local[J_PHI][J_PI] + y[J_PHI] * y[J_PI];
    let spi = local[J_PI][J_PI] + y[J_PI] * y[J_PI];
    let (mut aa, mut ab, mut bb) = (0.0, 0.0, 0.0);
    let mut zg = [[0.0; 3]; 3];
    for i in 0..6 {
        // H_i = Σ_j C_ij G_j
        let mut h = [[0.0; 3]; 3];
        for j in 0..6 {
            let c = cf * dinv[i][j];
            if c == 0.0 {
                continue;
            }
            for r in 0..3 {
                for q in 0..3 {
                    h[r][q] += c * a[j][r][q];
                }
            }
            aa += c * a[i][J_PHI][J_PHI] * a[j][J_PHI][J_PHI];
            ab += c * a[i][J_PHI][J_PHI] * a[j][J_PI][J_PI];
            bb += c * a[i][J_PI][J_PI] * a[j][J_PI][J_PI];
        }
        // z_grad += G_i S H_i
        let gs: [[f64; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|q| (0..3).map(|m| a[i][r][m] * ssg[m][q]).sum()));
        for r in 0..3 {
            for q in 0..3 {
                zg[r][q] += (0..3).map(|m| gs[r][m] * h[m][q]).sum::<f64>();
            }
        }
    }
    for (pp, &(r, q)) in PAIRS.iter().enumerate() {
        sums[S_Z + pp] = zg[r][q];
    }
    sums[S_Z + 6] = aa * sphi;
    sums[S_Z + 7] = ab * sphipi;
    sums[S_Z + 8] = bb * spi;
    sums[S_C] = local_lindblad_rate(&a, &dinv, p, cell_volume);
    (br, sums)
}

/// c_x = ((1+ε)/(8ΔV)) Σ_ij (𝒟⁻¹_x)_ij α_i β_j (α = ã_φφ, β = ã_ππ at the site): the φπ entry of the Lindblad mean
/// generator's form ½Σ C_ij ã_j ω ã_i; the mean field moves by −(c_x/ΔV) x̄(x) under it.
pub fn local_lindblad_rate(a: &[Mat5; 6], dinv: &[[f64; 6]; 6], p: &QuantumParams, cell_volume: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..6 {
        for j in 0..6 {
            s += dinv[i][j] * a[i][J_PHI][J_PHI] * a[j][J_PI][J_PI];
        }
    }
    (1.0 + p.decoherence_excess) / (8.0 * cell_volume) * s
}

/// The stage's box coefficients from the summed site columns ([`SITE_SUMS`]). `conditioning` false drops P̄ (the test
/// hook of the unconditional dynamics).
pub fn coeffs_from_sums(lattice: &Lattice, p: &QuantumParams, sums: &[f64; SITE_SUMS], conditioning: bool) -> anyhow::Result<ModeCoeffs> {
    let n = lattice.sites();
    let nf = n as f64;
    let gbar: Sym<f64> = std::array::from_fn(|k| sums[S_G + k] / nf);
    let mut c = ModeCoeffs::unitary(lattice, &gbar, sums[S_LAPSE] / nf, p.mass);
    if p.diffusion == 0.0 {
        return Ok(c);
    }
    c.z = ModeForm::from_array(&std::array::from_fn::<f64, 9, _>(|i| sums[S_Z + i] / nf));
    c.c = sums[S_C] / nf;
    if conditioning {
        let d = nalgebra::Matrix6::from_fn(|i, j| sums[S_D + upper6(i, j)]);
        let inv = d.try_inverse().ok_or_else(|| anyhow::anyhow!("the box-summed noise covariance 𝒟_tot is singular"))?;
        c.pbar = std::array::from_fn(|i| std::array::from_fn(|j| 0.5 * (inv[(i, j)] + inv[(j, i)])));
    }
    Ok(c)
}

/// (αᵀP̄α, βᵀP̄β, αᵀP̄β) at σ.
#[inline]
fn measurement_weights(c: &ModeCoeffs, s: &[f64; 3]) -> (f64, f64, f64) {
    let al: [f64; 6] = std::array::from_fn(|i| c.a[i].phi_symbol(s));
    let be: [f64; 6] = std::array::from_fn(|i| c.a[i].pi);
    let (mut aa, mut bb, mut ab) = (0.0, 0.0, 0.0);
    for i in 0..6 {
        for j in 0..6 {
            let p = c.pbar[i][j];
            aa += p * al[i] * al[j];
            bb += p * be[i] * be[j];
            ab += p * al[i] * be[j];
        }
    }
    (aa, bb, ab)
}

/// Γ Q Γ for symmetric 2×2 matrices stored as [φφ, φπ, ππ].
#[inline]
fn sandwich2(g: &[f64], q: &[f64; 3]) -> [f64; 3] {
    // Q Γ
    let qg = [q[0] * g[0] + q[1] * g[1], q[0] * g[1] + q[1] * g[2], q[1] * g[0] + q[2] * g[1], q[1] * g[1] + q[2] * g[2]];
    [g[0] * qg[0] + g[1] * qg[2], g[0] * qg[1] + g[1] * qg[3], g[1] * qg[1] + g[2] * qg[3]]
}

/// The drift of momentum k: dΓ_k/dt (3) and, with the mean field's transform x̂_k = (φ̂, π̂) (complex, re/im pairs:
/// [φ̂re, φ̂im, π̂re, π̂im]; None without conditioning), the circulant part (λ − Γ_kΠ_k) x̂_k of dx̄/dt in the same layout.
pub fn mode_drift(c: &ModeCoeffs, s: &[f64; 3], g: &[f64], xhat: Option<&[f64; 4]>) -> ([f64; 3], [f64; 4]) {
    let dv = c.cell_volume;
    let mu = c.m.phi_symbol(s);
    let nu = c.m.pi;
    let (aa, bb, x) = measurement_weights(c, s);
    let lambda = x / (8.0 * dv * dv);
    let gamma = lambda - c.c / dv;
    // G Γ + Γ Gᵀ with G = ω̂ diag(μ, ν) + γ I
    let mut d = [
        2.0 * nu * g[1] / dv + 2.0 * gamma * g[0],
        (nu * g[2] - mu * g[0]) / dv + 2.0 * gamma * g[1],
        -2.0 * mu * g[1] / dv + 2.0 * gamma * g[2],
    ];
    // ω̂ Z ω̂ᵀ
    let zphi = c.z.phi_symbol(s);
    let idv2 = 1.0 / (dv * dv);
    d[0] += c.z.pi * idv2;
    d[1] -= c.z.phipi * idv2;
    d[2] += zphi * idv2;
    // −Γ (Π + V) Γ
    let mut q = [aa * g[0], x * g[1], bb * g[2]];
    let mut w = [0.0; 4];
    if let Some(xh) = xhat {
        let inv_n = 1.0 / c.sites as f64;
        q[0] += inv_n * aa * (xh[0] * xh[0] + xh[1] * xh[1]);
        q[1] += inv_n * x * (xh[0] * xh[2] + xh[1] * xh[3]);
        q[2] += inv_n * bb * (xh[2] * xh[2] + xh[3] * xh[3]);
        // (λ − ΓΠ) x̂, ΓΠ = [[Γφφ AΓφφ + Γφπ XΓφπ, Γφφ XΓφπ + Γφπ BΓππ], [Γφπ AΓφφ + Γππ XΓφπ, Γφπ XΓφπ + Γππ BΓππ]]
        let gp = [
            g[0] * aa * g[0] + g[1] * x * g[1],
            g[0] * x * g[1] + g[1] * bb * g[2],
            g[1] * aa * g[0] + g[2] * x * g[1],
            g[1] * x * g[1] + g[2] * bb * g[2],
        ];
        for part in 0..2 {
            let (ph, pi) = (xh[part], xh[2 + part]);
            w[part] = lambda * ph - (gp[0] * ph + gp[1] * pi);
            w[2 + part] = lambda * pi - (gp[2] * ph + gp[3] * pi);
        }
    }
    let t = sandwich2(g, &q);
    (std::array::from_fn(|i| d[i] - t[i]), w)
}

/// The noise form of a step: b̄ = Σ_c ξ̄_c ā_c with ξ̄ = P̄ Σ_x dW(x) (`dw_sum`: the box-summed increments, stored
/// components).
pub fn noise_form(c: &ModeCoeffs, dw_sum: &[f64; 6]) -> ModeForm {
    let xi: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| c.pbar[i][j] * dw_sum[j]).sum());
    let mut b = ModeForm::default();
    for (ci, x) in xi.iter().enumerate() {
        let a = &c.a[ci];
        for p in 0..6 {
            b.grad[p] += x * a.grad[p];
        }
        b.phi += x * a.phi;
        b.pi += x * a.pi;
    }
    b
}

/// (largest |λ|, largest −λ) of the eigenvalues λ of Γ_k^½ b_k Γ_k^½ at momentum k (the local escape rate of the
/// frozen-increment flow, as physics/gaussian_dynamics.rs `conditioning_strength` per site).
#[inline]
pub fn mode_strength(b: &ModeForm, s: &[f64; 3], g: &[f64]) -> (f64, f64) {
    let (bp, bq) = (b.phi_symbol(s), b.pi);
    let t = bp * g[0] + bq * g[2];
    let det = bp * bq * (g[0] * g[2] - g[1] * g[1]);
    let r = (0.25 * t * t - det).max(0.0).sqrt();
    let (lo, hi) = (0.5 * t - r, 0.5 * t + r);
    (lo.abs().max(hi.abs()), (-lo).max(0.0))
}

/// The noise vector field at momentum k: (−Γbx̂, −ΓbΓ + ¼ω̂bω̂ᵀ) for b = diag(bp, bq).
#[inline]
fn noise_field(bp: f64, bq: f64, dv: f64, g: &[f64; 3], x: &[f64; 4]) -> ([f64; 3], [f64; 4]) {
    let idv2 = 0.25 / (dv * dv);
    let dg = [
        idv2 * bq - (g[0] * bp * g[0] + g[1] * bq * g[1]),
        -(g[0] * bp * g[1] + g[1] * bq * g[2]),
        idv2 * bp - (g[1] * bp * g[1] + g[2] * bq * g[2]),
    ];
    let mut dx = [0.0; 4];
    for part in 0..2 {
        let (ph, pi) = (bp * x[part], bq * x[2 + part]);
        dx[part] = -(g[0] * ph + g[1] * pi);
        dx[2 + part] = -(g[1] * ph + g[2] * pi);
    }
    (dg, dx)
}

/// The frozen-increment noise flow of momentum k over s ∈ [0, 1] in `substeps` classical RK4 sub-steps (the fused
/// stages and arithmetic of numerics/rk4.rs), on Γ_k and x̂_k in place.
pub fn mode_noise_flow(b: &ModeForm, s: &[f64; 3], dv: f64, substeps: usize, g: &mut [f64], x: &mut [f64; 4]) {
    use crate::numerics::rk4::STAGES;
    let (bp, bq) = (b.phi_symbol(s), b.pi);
    let h = 1.0 / substeps as f64;
    let mut gy = [g[0], g[1], g[2]];
    let mut xy = *x;
    for _ in 0..substeps {
        let (mut ga, mut xa) = ([0.0; 3], [0.0; 4]);
        let (mut gu, mut xu) = (gy, xy);
        for st in STAGES {
            let (kg, kx) = noise_field(bp, bq, dv, &gu, &xu);
            let (wh, ch) = (st.w * h, st.c * h);
            combine_scalars(&st, wh, ch, &kg, &mut gy, &mut ga, &mut gu);
            combine_scalars(&st, wh, ch, &kx, &mut xy, &mut xa, &mut xu);
        }
    }
    g.copy_from_slice(&gy);
    *x = xy;
}

/// One stage's combination for a few scalars, as `combine_f64` (acc ← base + w·h·k, next ← y + c·h·k; last:
/// y ← acc + w·h·k).
#[inline]
fn combine_scalars<const L: usize>(st: &Rk4Stage, wh: f64, ch: f64, k: &[f64; L], y: &mut [f64; L], acc: &mut [f64; L], next: &mut [f64; L]) {
    for i in 0..L {
        if st.is_last() {
            y[i] = acc[i] + wh * k[i];
        } else {
            let base = if st.is_first() { y[i] } else { acc[i] };
            acc[i] = base + wh * k[i];
            next[i] = y[i] + ch * k[i];
        }
    }
}

/// Γ_k of the lattice Fock vacuum of a homogeneous metric g (any lapse): [1/(2ΔV√g ω_k), 0, √g ω_k/(2ΔV)]
/// (physics/lattice_vacuum.rs; m > 0 required).
pub fn vacuum_modes(lattice: &Lattice, stencil: &Stencil, g: &Sym<f64>, mass: f64) -> anyhow::Result<Vec<f64>> {
    let (w, _) = super::lattice_vacuum::frequencies(lattice, stencil, g, mass)?;
    let sqrtg = super::tensor::det(g).sqrt();
    let dv = lattice.cell_volume();
    Ok(w.iter().flat_map(|&wk| [1.0 / (2.0 * dv * sqrtg * wk), 0.0, sqrtg * wk / (2.0 * dv)]).collect())
}

/// The physicality of per-momentum covariances: min over k of the symplectic eigenvalue 2ΔV√(det Γ_k) relative to ½
/// (exact for this representation: the modes decouple); 0 when some Γ_k is not positive definite.
pub fn min_symplectic_ratio(modes: &[f64], cell_volume: f64) -> f64 {
    modes
        .par_chunks(MODE)
        .map(|g| {
            let det = g[0] * g[2] - g[1] * g[1];
            if g[0] > 0.0 && det > 0.0 {
                2.0 * cell_volume * det.sqrt()
            } else {
                0.0
            }
        })
        .reduce(|| f64::INFINITY, f64::min)
}

/// Per-momentum covariances Γ_k integrated by classical RK4 in lockstep with the stepper's stages (numerics/rk4.rs):
/// the state of the `fourier` representation, and — evolved with [`Self::unitary_stage`] only — the exact unitary
/// evolution of a translation-invariant Gaussian state in a homogeneous metric, the control variate of the `ensemble`
/// representation.
///
/// Use per RK4 stage `st` (stage input = the classical fields' u_s):
/// ```text
///   let gloc = cv.local_covariance(st.index);      // Γ_loc of the stage input (5×5 jet covariance)
///   cv.unitary_stage(st.index, &gbar, lapse_bar);   // the stage's right-hand side in the stage's box-mean metric
///   cv.combine(&st, dt);                            // the RK4 combination, as the fields'
/// ```
/// After the last stage [`Self::modes`] and [`Self::local_covariance`]`(0)` describe the state at the end of the step.
#[derive(Debug, Clone)]
pub struct ModeCovariance {
    pub grid: MomentumGrid,
    pub mass: f64,
    /// Γ_k at the start of the step (RK4 y), 3 reals per momentum
    y: Vec<f64>,
    acc: Vec<f64>,
    u1: Vec<f64>,
    u2: Vec<f64>,
    /// the last stage's right-hand side
    rate: Vec<f64>,
}

impl ModeCovariance {
    /// The lattice Fock vacuum of the homogeneous metric g (the stencil's own dispersion; m > 0).
    pub fn vacuum(lattice: &Lattice, stencil: &Stencil, g: &Sym<f64>, mass: f64) -> anyhow::Result<Self> {
        Self::from_modes(lattice, stencil, mass, vacuum_modes(lattice, stencil, g, mass)?)
    }

    /// Given covariances (3 reals per momentum: Γφφ, Γφπ, Γππ).
    pub fn from_modes(lattice: &Lattice, stencil: &Stencil, mass: f64, modes: Vec<f64>) -> anyhow::Result<Self> {
        let len = MODE * lattice.sites();
        anyhow::ensure!(modes.len() == len, "per-momentum covariances: {} values, expected {len} (3 per lattice momentum)", modes.len());
        Ok(Self { grid: MomentumGrid::new(lattice, stencil), mass, y: modes, acc: vec![0.0; len], u1: vec![0.0; len], u2: vec![0.0; len], rate: vec![0.0; len] })
    }

    /// Γ_k at the start of the current step (after a completed step: its end).
    pub fn modes(&self) -> &[f64] {
        &self.y
    }
    pub fn modes_mut(&mut self) -> &mut [f64] {
        &mut self.y
    }

    /// Γ_k of the input of RK4 stage `index` (0..4: y, u1, u2, u1).
    pub fn stage_modes(&self, index: usize) -> &[f64] {
        match index {
            0 => &self.y,
            1 | 3 => &self.u1,
            _ => &self.u2,
        }
    }

    /// Γ_loc of the input of RK4 stage `index`: the 5×5 jet covariance (1/n) Σ_k r(k) Γ_k r(k)†, the same at every site.
    pub fn local_covariance(&self, index: usize) -> Mat5 {
        local_covariance(&self.grid, self.stage_modes(index))
    }

    /// The unitary right-hand side of stage `index` in the homogeneous metric `gbar` and lapse `lapse` (the stage's box
    /// means): dΓ_k/dt = K_k Γ_k + Γ_k K_kᵀ, K_k = ω̂ diag(ΔV N̄ √ḡ (ḡ^ab σ_aσ_b + m²), ΔV N̄/√ḡ).
    pub fn unitary_stage(&mut self, index: usize, gbar: &Sym<f64>, lapse: f64) {
        let c = ModeCoeffs::unitary(&self.grid.lattice, gbar, lapse, self.mass);
        self.stage(index, &c, None, None);
    }

    /// The right-hand side of stage `index` with the box coefficients `c`; with the mean field's transform `xhat`
    /// (packed, [`unpack_mean`] per momentum) the circulant part of dx̄/dt goes to `w` (packed the same way).
    pub fn stage(&mut self, index: usize, c: &ModeCoeffs, xhat: Option<&[num_complex::Complex64]>, w: Option<&mut [num_complex::Complex64]>) {
        let grid = &self.grid;
        let input: &[f64] = match index {
            0 => &self.y,
            1 | 3 => &self.u1,
            _ => &self.u2,
        };
        match (xhat, w) {
            (Some(xh), Some(w)) => {
                self.rate.par_chunks_mut(MODE).zip(w.par_iter_mut()).enumerate().for_each(|(k, (r, wk))| {
                    let x = unpack_mean(xh, k, grid.negative(k));
                    let (d, v) = mode_drift(c, &grid.sigma(k), &input[MODE * k..MODE * k + MODE], Some(&x));
                    r.copy_from_slice(&d);
                    *wk = pack_mean(&v);
                });
            }
            _ => {
                self.rate.par_chunks_mut(MODE).enumerate().for_each(|(k, r)| {
                    let (d, _) = mode_drift(c, &grid.sigma(k), &input[MODE * k..MODE * k + MODE], None);
                    r.copy_from_slice(&d);
                });
            }
        }
    }

    /// The RK4 combination of stage `st` (numerics/rk4.rs `combine_f64`, as the fields').
    pub fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        let next = if st.index == 1 { &mut self.u2 } else { &mut self.u1 };
        combine_f64(st, dt, &self.rate, &mut self.y, &mut self.acc, next);
    }
}

/// (φ̂_k, π̂_k) as [φ̂re, φ̂im, π̂re, π̂im] from the transform ẑ of z = φ + iπ: φ̂_k = (ẑ_k + ẑ_{−k}*)/2,
/// π̂_k = (ẑ_k − ẑ_{−k}*)/(2i).
#[inline]
pub fn unpack_mean(z: &[num_complex::Complex64], k: usize, minus_k: usize) -> [f64; 4] {
    let (a, b) = (z[k], z[minus_k].conj());
    let phi = (a + b) * 0.5;
    let pi = (a - b) * 0.5;
    // π̂ = (a − b)/(2i) = −i (a − b)/2
    [phi.re, phi.im, pi.im, -pi.re]
}

/// ŵz_k = ŵφ_k + i ŵπ_k from [ŵφre, ŵφim, ŵπre, ŵπim].
#[inline]
pub fn pack_mean(v: &[f64; 4]) -> num_complex::Complex64 {
    num_complex::Complex64::new(v[0] - v[3], v[1] + v[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex64;

    /// The symbols against the jet forms applied to plane waves: for a block-diagonal z, Σ_x R_xᵀ z R_x e^{ik·x}u equals
    /// e^{ik·x} sym(z) u (numerics/jets.rs on a 5×3×2 lattice, order 4, a wrapped axis).
    #[test]
    fn symbols_diagonalise_homogeneous_jet_forms() {
        let lat = Lattice::new([5, 3, 2], 0.7);
        let st = Stencil::new(4);
        let grid = MomentumGrid::new(&lat, &st);
        let jm = crate::numerics::jets::JetMap::new(&lat, &st);
        let n = lat.sites();
        let mut z = ZERO5;
        let vals = [0.7, -0.2, 0.3, 1.1, 0.05, 0.9];
        for (p, &(a, b)) in PAIRS.iter().enumerate() {
            z[a][b] = vals[p];
            z[b][a] = vals[p];
        }
        z[J_PHI][J_PHI] = 0.4;
        z[J_PI][J_PI] = 1.7;
        let form = ModeForm::of(&z);
        for k in [1usize, 7, 17, 29] {
            let kc = lat.coords(k);
            let ph = |x: usize| -> f64 {
                let c = lat.coords(x);
                (0..3).map(|a| 2.0 * std::f64::consts::PI * (kc[a] * c[a]) as f64 / lat.shape[a] as f64).sum()
            };
            for (re, im) in [(1.0, 0.0), (0.0, 1.0)] {
                // real and imaginary parts of e^{ik·x}(uφ, uπ) with u = (1, 0.5)
                let part = |x: usize, u: f64| u * (re * ph(x).cos() + im * ph(x).sin());
                let v: Vec<f64> = (0..n).map(|x| part(x, 1.0)).chain((0..n).map(|x| part(x, 0.5))).collect();
                let mut out = vec![0.0; 2 * n];
                jm.apply(&vec![z; n], &v, &mut out);
                let s = grid.sigma(k);
                let (sp, sq) = (form.phi_symbol(&s), form.pi);
                for x in 0..n {
                    assert!((out[x] - sp * part(x, 1.0)).abs() < 1e-12, "φ at k {k}");
                    assert!((out[n + x] - sq * part(x, 0.5)).abs() < 1e-12, "π at k {k}");
                }
            }
        }
    }

    /// Packing the mean field's two real transforms into one complex one and back.
    #[test]
    fn pack_and_unpack_the_mean_field() {
        let lat = Lattice::new([4, 3, 1], 1.0);
        let grid = MomentumGrid::new(&lat, &Stencil::new(2));
        let n = lat.sites();
        let phi: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
        let pi: Vec<f64> = (0..n).map(|i| (i as f64 * 1.9).cos()).collect();
        let fft = crate::numerics::fft::LatticeFft::new(&lat);
        let mut z: Vec<Complex64> = (0..n).map(|i| Complex64::new(phi[i], pi[i])).collect();
        fft.forward(&mut z);
        let mut fp: Vec<Complex64> = phi.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        let mut fq: Vec<Complex64> = pi.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        fft.forward(&mut fp);
        fft.forward(&mut fq);
        for k in 0..n {
            let u = unpack_mean(&z, k, grid.negative(k));
            assert!((u[0] - fp[k].re).abs() < 1e-12 && (u[1] - fp[k].im).abs() < 1e-12);
            assert!((u[2] - fq[k].re).abs() < 1e-12 && (u[3] - fq[k].im).abs() < 1e-12);
            assert!((pack_mean(&u) - z[k]).norm() < 1e-12);
        }
    }
}
