//! The physical timescales of a CQ run with a quantum field (issue 12; derived in docs/quantum.md R1), computed
//! from the initial state before the run: the decoherence heating rate of the field, the metric noise it
//! accumulates, and the strength of one step's quantum update. Pure functions of the lattice, the box-mean
//! metric and the quantum parameters; config/regime.rs turns them into the lines, warnings and refusals of
//! `cqgrav check` and `cqgrav run`.
//!
//! **Heating.** Averaged over the noise, the state follows the Lindblad equation with C = (1+ε)¼𝒟⁻¹ (SPEC §8.8);
//! in a static metric the Hamiltonian part conserves E = ½tr(MS) (S = Γ + x̄x̄ᵀ) and the decoherence injects
//!   dE/dt = ½Σ_IJ C_IJ tr[(M K_J K_I + K_JᵀM K_I) S],   K_I = ΩA_I.
//! With white noise the sum is local; for a homogeneous metric and a translation-invariant S (per-momentum
//! covariances P_k, jet symbols T_k = [(iσ(k), 1, 0), (0, 0, 1)] so Γ_loc = (1/n)Σ_k T_kP_kT_k†):
//!   dE/dt = ½Σ_k tr(Q_k P_k),  Q_k = sym Re[M_kΩ_k T_k†A₁T_k + T_k†A₂T_k],
//!   A₁ = Σ_IJ C_IJ ã_I ω ã_J,  A₂ = Σ_IJ C_IJ ã_I W ã_J,  W = (1/n)Σ_k T_k Ω_kᵀM_kΩ_k T_k†,
//! with M_k = T_k†mT_k = diag(ΔV N√g ω_k², ΔV N/√g) and Ω_k = (1/ΔV)[[0, 1], [−1, 0]]. Since E = ½Σ_k tr(M_kP_k),
//! the rate of mode k, r_k = λ_max(M_k^{−½}Q_kM_k^{−½}), bounds the e-folding rate of E: dE/dt ≤ max_k r_k · E
//! (and dE/dt ≥ min_k λ_min(M_k^{−½}Q_kM_k^{−½}) · E from below).
//! For one site (k = 0 only) it is exact: r = (1+ε)·3Nm²/(8 D2 (1−3β) ΔV √g) (F3 of quantum_references.md); on a
//! lattice the gradient terms make the highest modes heat fastest.
use super::gaussian_forms::{hamiltonian_form, omega_jet, QuantumParams, SiteCoeffs, SiteGeometry};
use super::gaussian_dynamics::conditioning_strength_local;
use super::lattice_vacuum::symbols;
use super::tensor::{inverse, Sym, SYM};
use crate::numerics::jets::{Mat5, J_PHI, J_PI, ZERO5};
use crate::numerics::lattice::Lattice;
use crate::numerics::stencil::Stencil;

/// The decoherence heating of the lattice's fastest-heating mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heating {
    /// r = max_k r_k (per unit time): the bound on the e-folding rate of the field's mean energy
    pub rate: f64,
    /// ω of that mode
    pub omega: f64,
    /// ω of the lattice's highest mode (the largest frequency)
    pub omega_max: f64,
    /// min_k λ_min(M_k^{−½}Q_kM_k^{−½}): the bound from below, dE/dt ≥ rate_min · E
    pub rate_min: f64,
}

/// Re(T_k† A T_k) for the jet symbol of a mode with stencil symbols σ: [[A_φφ + σᵀA_DDσ, A_φπ], [A_πφ, A_ππ]].
fn mode_block(a: &Mat5, s: &[f64; 3]) -> [[f64; 2]; 2] {
    let mut dd = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            dd += s[i] * a[i][j] * s[j];
        }
    }
    [[a[J_PHI][J_PHI] + dd, a[J_PHI][J_PI]], [a[J_PI][J_PHI], a[J_PI][J_PI]]]
}

/// The per-mode pieces of the heating (module documentation) for one homogeneous metric.
#[derive(Debug, Clone)]
pub struct HeatingModel {
    m5: Mat5,
    a1: Mat5,
    a2: Mat5,
    dv: f64,
    ginv: Sym<f64>,
    mass: f64,
    /// the stencil symbols σ(k) of every lattice momentum
    pub modes: Vec<[f64; 3]>,
}

impl HeatingModel {
    /// The model on `lattice` (stencil `stencil`) in the homogeneous metric g with lapse N.
    pub fn new(lattice: &Lattice, stencil: &Stencil, g: &Sym<f64>, lapse: f64, params: &QuantumParams) -> Self {
        let dv = lattice.cell_volume();
        let geo = SiteGeometry::new(g, lapse);
        let sc = SiteCoeffs::new(geo, params, dv);
        let m5 = hamiltonian_form(&geo, params.mass, dv);
        let sig = symbols(lattice, stencil);
        let [n1, n2, _] = lattice.shape;
        let n = lattice.sites();
        let modes: Vec<[f64; 3]> = (0..n)
            .map(|k| {
                let j = [k % n1, (k / n1) % n2, k / (n1 * n2)];
                [sig[0][j[0]], sig[1][j[1]], sig[2][j[2]]]
            })
            .collect();
        // W = (1/n)Σ_k T_k Ω_kᵀM_kΩ_k T_k† with Ω_kᵀ diag(a, b) Ω_k = diag(b, a)/ΔV²: the π entry M_ππ on
        // Re(r_φ r_φ†) (σσᵀ ⊕ 1 on the (D, φ) block) and M_φφ(k) on the π entry
        let m_pi = m5[J_PI][J_PI];
        let mut w = ZERO5;
        for s in &modes {
            for a in 0..3 {
                for b in 0..3 {
                    w[a][b] += m_pi * s[a] * s[b];
                }
            }
            w[J_PHI][J_PHI] += m_pi;
            w[J_PI][J_PI] += mode_block(&m5, s)[0][0];
        }
        let norm = 1.0 / (n as f64 * dv * dv);
        w.iter_mut().for_each(|r| r.iter_mut().for_each(|v| *v *= norm));
        let c = 0.25 * (1.0 + params.decoherence_excess);
        let scale = |a: Mat5| a.map(|r| r.map(|v| c * v));
        let a1 = scale(sc.dinv_sandwich(&omega_jet(dv)));
        let a2 = scale(sc.dinv_sandwich(&w));
        Self { m5, a1, a2, dv, ginv: inverse(g).0, mass: params.mass, modes }
    }

    /// (M_k diagonal, Q_k) of the mode with stencil symbols σ: its energy is ½tr(M_kP_k), the decoherence injects
    /// ½tr(Q_kP_k) per unit time.
    pub fn mode(&self, s: &[f64; 3]) -> ([f64; 2], [[f64; 2]; 2]) {
        let mk = [mode_block(&self.m5, s)[0][0], self.m5[J_PI][J_PI]];
        let g1 = mode_block(&self.a1, s);
        let g2 = mode_block(&self.a2, s);
        // M_kΩ_k G1 with Ω_k = (1/ΔV)[[0, 1], [−1, 0]]: row φ = M_φφ·(G1 row π)/ΔV, row π = −M_ππ·(G1 row φ)/ΔV
        let dv = self.dv;
        let mo = [[mk[0] * g1[1][0] / dv, mk[0] * g1[1][1] / dv], [-mk[1] * g1[0][0] / dv, -mk[1] * g1[0][1] / dv]];
        let q = std::array::from_fn(|i| std::array::from_fn(|j| 0.5 * (mo[i][j] + mo[j][i] + g2[i][j] + g2[j][i])));
        (mk, q)
    }

    /// r_k = λ_max(M_k^{−½} Q_k M_k^{−½}) and ω_k of the mode with stencil symbols σ.
    pub fn mode_rate(&self, s: &[f64; 3]) -> (f64, f64) {
        let (mk, q) = self.mode(s);
        let (a, b, d) = (q[0][0] / mk[0], q[0][1] / (mk[0] * mk[1]).sqrt(), q[1][1] / mk[1]);
        let r = 0.5 * (a + d) + (0.25 * (a - d) * (a - d) + b * b).sqrt();
        let mut w2 = self.mass * self.mass;
        for i in 0..3 {
            for j in 0..3 {
                w2 += self.ginv[SYM[i][j]] * s[i] * s[j];
            }
        }
        (r, w2.sqrt())
    }

    /// The fastest-heating mode over the lattice momenta, and the slowest bound.
    pub fn heating(&self) -> Heating {
        let mut best = Heating { rate: 0.0, omega: 0.0, omega_max: 0.0, rate_min: f64::INFINITY };
        for s in &self.modes {
            let (r, omega) = self.mode_rate(s);
            best.rate_min = best.rate_min.min(self.mode_rate_min(s));
            best.omega_max = best.omega_max.max(omega);
            if r > best.rate {
                best.rate = r;
                best.omega = omega;
            }
        }
        best
    }

    /// λ_min(M_k^{−½} Q_k M_k^{−½}): the least rate at which the mode's fluctuations inject energy, whatever their
    /// shape; the minimum over modes bounds the e-folding rate of E from below.
    pub fn mode_rate_min(&self, s: &[f64; 3]) -> f64 {
        let (mk, q) = self.mode(s);
        let (a, b, d) = (q[0][0] / mk[0], q[0][1] / (mk[0] * mk[1]).sqrt(), q[1][1] / mk[1]);
        0.5 * (a + d) - (0.25 * (a - d) * (a - d) + b * b).sqrt()
    }
}

/// The decoherence heating rate of the field on `lattice` (stencil `stencil`) in the homogeneous metric g with
/// lapse N (module documentation): the largest per-mode rate r_k over the lattice momenta.
pub fn heating(lattice: &Lattice, stencil: &Stencil, g: &Sym<f64>, lapse: f64, params: &QuantumParams) -> Heating {
    HeatingModel::new(lattice, stencil, g, lapse, params).heating()
}

/// One site's strength of one unrefined step of length dt at its coefficients `s`, the jet covariance `loc` and
/// the mean-field jets `y`: (ρ_x·dt, c̄_x²) with ρ_x = λ_max(Γ_loc^½ σ_x Γ_loc^½) the drift stiffness
/// (`GaussianModel::drift_stiffness` at this site) and c̄_x² = dt·tr(p_x Γ_loc), p_x = Σ(𝒟⁻¹)_IJ ã_I Γ_loc ã_J, the
/// mean of ‖Γ_loc^½ b_x Γ_loc^½‖²_F over the step's noise (E[ξξᵀ] = 𝒟⁻¹dt), which bounds the typical conditioning
/// strength c² from above (numerics/substep.rs compares the maxima over sites of both with τ).
pub fn site_step_strength(s: &SiteCoeffs, loc: &Mat5, y: &[f64; 5], dt: f64) -> (f64, f64) {
    let mut full = *loc;
    for i in 0..5 {
        for j in 0..5 {
            full[i][j] += y[i] * y[j];
        }
    }
    let rho = conditioning_strength_local(&[s.dinv_sandwich(&full)], &[*loc]).0;
    (rho * dt, dt * crate::numerics::jets::mat5_trace_prod(&s.dinv_sandwich(loc), loc))
}

/// The metric noise accumulated over a time t relative to the background momentum: sqrt(E|δπ|²_g)/|π|_g with
/// E[g_ac g_bd δπ^ab δπ^cd] = D2 N√g (6 − 3β) t/ΔV per site (white tensor noise, physics/cq_noise.rs
/// `gnorm_rate`) and |π|_g = sqrt(g_ac g_bd π^ab π^cd). Infinite when π = 0.
pub fn noise_to_momentum(d2: f64, gnorm_rate: f64, lapse: f64, g: &Sym<f64>, pi: &Sym<f64>, dv: f64, t: f64) -> f64 {
    let sqrtg = super::tensor::det(g).sqrt();
    let dpi = (d2 * lapse * sqrtg * gnorm_rate * t / dv).sqrt();
    let norm = super::tensor::contract(pi, &super::tensor::sandwich(g, pi)).max(0.0).sqrt();
    if norm > 0.0 {
        dpi / norm
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One site: the mode bound is the exact single-oscillator rate (1+ε)·3Nm²/(8 D2 (1−3β) ΔV √g).
    #[test]
    fn single_site_rate_is_the_closed_form() {
        let lat = Lattice::new([1, 1, 1], 0.9);
        let g = [1.3, 0.1, 0.0, 1.1, -0.05, 0.8];
        for (beta, eps, lapse) in [(0.0, 0.0, 1.0), (0.2, 0.0, 0.7), (-0.5, 0.4, 1.3)] {
            let p = QuantumParams { mass: 0.7, diffusion: 1.7, beta, decoherence_excess: eps, renormalize: true };
            let h = heating(&lat, &Stencil::new(4), &g, lapse, &p);
            let sqrtg = super::super::tensor::det(&g).sqrt();
            let want = (1.0 + eps) * 3.0 * lapse * 0.49 / (8.0 * 1.7 * (1.0 - 3.0 * beta) * lat.cell_volume() * sqrtg);
            assert!((h.rate - want).abs() < 1e-12 * want, "β {beta}: {} vs {want}", h.rate);
            assert!((h.omega - 0.7).abs() < 1e-15);
        }
    }
}
