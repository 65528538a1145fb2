//! The continuous realisation (SPEC §12; the τ → 0 limit of Eq. (82), in the form of the paper's Eq. (7)):
//!   ∂ρ̂/∂t = {p²/2m, ρ̂} − i[q L̂, ρ̂] + ½({q L̂, ρ̂} − {ρ̂, q L̂}) + D0 (L̂ ρ̂ L̂ − ½{L̂², ρ̂}) + (D2/2) ∂²ρ̂/∂p²,
//! with L̂ = ∂Ĥ/∂q = BĤ_m (eigenvalues l_k = B E_k), momentum diffusion D2 (E[dp²] = D2 dt) and decoherence D0.
//!
//! The decoherence–diffusion trade-off, in these conventions: the equation is completely positive iff
//!   D0 · D2 ≥ 1/4                                                      ([`TRADEOFF`]).
//! Derivation: the record dp = −⟨L̂⟩dt + √D2 dW is a continuous measurement of L̂ with signal-to-noise
//! 1/√D2; the homodyne form dy = 2√k⟨L̂⟩dt + dW has measurement strength k = 1/(4 D2), and the least
//! decoherence compatible with it is k D[L̂]. Directly: for the qubit from a sharp (q, p) the exact solution has
//! u↑,↓ = |c↑,↓|² N(p ∓ l t; D2 t) and |α| = |c↑c↓| N(p; D2 t) e^{−2 D0 l² t} (l = Bω), and |α|² ≤ u↑u↓ at every p
//! iff 4 D0 ≥ 1/D2 (tests/toy_continuous.rs checks both sides of the bound). The inequality printed after Eq. (7)
//! in our copy of the paper ("2D2 ⪰ D0") has lost its inverses and is not dimensionally consistent; in Eq. (7)'s
//! own normalisation (½D2 ∂²_p, ½D0[L̂,[ρ̂,L̂]] = D0 D[L̂]) the bound is the one above. The code uses
//! D0 = (1 + x)/(4 D2) with x = `realisation.decoherence_excess` ≥ 0; x < 0 is refused.
//!
//! Unravelling (L̂ commutes with Ĥ_m, so it is exactly solvable): the conditional state given the momentum
//! record obeys the linear (Zakai) equation dρ̃ = −i[qL̂, ρ̃]dt + D0 D[L̂]ρ̃ dt − (1/2D2){L̂, ρ̃} dp, whose solution
//! over a step h with record increment Δp and Q = ∫q dt is, element by element,
//!   ρ̃_jk ← ρ̃_jk · exp(−i(l_j − l_k)Q − (D0/2)(l_j − l_k)² h − (l_j + l_k)Δp/(2D2) − (l_j + l_k)² h/(8 D2)),
//! then normalised. At saturation the off-diagonal factor is the geometric mean of the diagonal ones, so a pure
//! state stays pure; the excess damps |ρ_jk| by e^{−x(l_j − l_k)² h/(8 D2)}. The record itself is drawn from
//! its law: by the innovations theorem dp = −⟨L̂⟩_ρ dt + √D2 dW has the law of a Brownian motion with drift −l_b,
//! b drawn once with the Born weights ρ_bb(0) (Philox `TOY_INITIAL` block 1; b is never shown to the filter).
//! Each step draws ΔW and the integrals needed for q and Q exactly (src/numerics/brownian.rs; Philox
//! (seed; i, block 0, step, `TOY_WIENER`)), so the trajectory has no time-step error at any output interval.
use super::model::{Density, ToyModel};
use super::trajectory::{Initial, Point, Unravelling};
use crate::numerics::brownian::wiener_with_integrals;
use crate::numerics::philox::{draw, normals4, stream, uniform_open0_53};
use anyhow::Result;
use num_complex::Complex64;

/// The trade-off constant: D0 · D2 ≥ 1/4 (with L̂ = ∂Ĥ/∂q, E[dp²] = D2 dt, and D0 multiplying L̂ρ̂L̂ − ½{L̂², ρ̂}).
pub const TRADEOFF: f64 = 0.25;

/// The least decoherence D0 = 1/(4 D2) a completely positive continuous realisation with diffusion D2 can have.
pub fn saturated_decoherence(diffusion: f64) -> f64 {
    TRADEOFF / diffusion
}

/// The momentum diffusion of the discrete realisation, Eq. (82): (ωB²τ/2)∂²u/∂p², i.e. D2 = ωB²τ — the
/// default D2 of the continuous realisation, its τ → 0 counterpart.
pub fn discrete_diffusion(model: &ToyModel, tau: f64) -> f64 {
    model.omega * model.coupling * model.coupling * tau
}

#[derive(Debug, Clone)]
pub struct Continuous {
    pub model: ToyModel,
    /// D2
    pub diffusion: f64,
    /// D0 ≥ 1/(4 D2)
    pub decoherence: f64,
}

impl Continuous {
    /// D0 = (1 + excess)/(4 D2); `excess` < 0 would break complete positivity (the config refuses it).
    pub fn new(model: ToyModel, diffusion: f64, excess: f64) -> Self {
        Self { model, diffusion, decoherence: (1.0 + excess) * saturated_decoherence(diffusion) }
    }

    /// The filter step: the conditional state after a step `h` with record increment `dp` and Q = ∫q dt.
    pub fn update(&self, rho: &Density, h: f64, dp: f64, q_integral: f64) -> Density {
        let d = self.model.dim();
        let (d2, d0) = (self.diffusion, self.decoherence);
        let l: Vec<f64> = (0..d).map(|k| self.model.force_operator(k)).collect();
        let exponent = |j: usize, k: usize| {
            let (dl, sl) = (l[j] - l[k], l[j] + l[k]);
            -0.5 * d0 * dl * dl * h - sl * dp / (2.0 * d2) - sl * sl * h / (8.0 * d2)
        };
        // shift by the largest diagonal exponent (no overflow; off-diagonal exponents are at most the mean of two
        // diagonal ones when D0 ≥ 1/(4 D2))
        let shift = (0..d).filter(|&k| rho[(k, k)].re > 0.0).map(|k| exponent(k, k)).fold(f64::NEG_INFINITY, f64::max);
        let mut out = Density::from_fn(d, d, |j, k| {
            rho[(j, k)] * Complex64::from_polar((exponent(j, k) - shift).exp(), -(l[j] - l[k]) * q_integral)
        });
        super::model::normalise(&mut out);
        out
    }

    /// The hidden branch b of trajectory `index`: level k with probability ρ_kk(0).
    fn branch(&self, seed: u64, index: u32, rho: &Density) -> usize {
        let w = draw(seed, index, 1, 0, stream::TOY_INITIAL);
        let mut u = uniform_open0_53(w[0], w[1]);
        let d = rho.nrows();
        for k in 0..d {
            let pk = rho[(k, k)].re;
            if u <= pk && pk > 0.0 {
                return k;
            }
            u -= pk;
        }
        (0..d).rev().find(|&k| rho[(k, k)].re > 0.0).unwrap_or(0)
    }
}

impl Unravelling for Continuous {
    fn trajectory(&self, seed: u64, index: u32, initial: &Initial, times: &[f64], record: &mut dyn FnMut(usize, &Point)) -> Result<()> {
        let m = self.model.mass;
        let sigma = self.diffusion.sqrt();
        let (mut q, mut p) = initial.classical(seed, index);
        let mut rho = initial.density();
        let force = -self.model.force_operator(self.branch(seed, index, &rho));
        for (i, &t) in times.iter().enumerate() {
            if i > 0 {
                let h = t - times[i - 1];
                let z = normals4::<f64>(draw(seed, index, 0, i as u64 - 1, stream::TOY_WIENER));
                let [dw, i1, i2] = wiener_with_integrals(h, [z[0], z[1], z[2]]);
                let dp = force * h + sigma * dw;
                let q_integral = q * h + p * h * h / (2.0 * m) + force * h * h * h / (6.0 * m) + sigma * i2 / m;
                q += p * h / m + force * h * h / (2.0 * m) + sigma * i1 / m;
                p += dp;
                rho = self.update(&rho, h, dp, q_integral);
            }
            record(i, &Point { t, q, p, jumps: 0, rho: &rho });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::model::{purity, LindbladChoice, SystemKind};

    /// At saturation the filter step keeps a pure state pure for any record increment; with excess it does not.
    #[test]
    fn saturated_step_keeps_purity() {
        let model = ToyModel { system: SystemKind::OscillatorParticle, levels: 6, omega: 1.0, coupling: 0.8, mass: 1.0, lindblad: LindbladChoice::Diagonal };
        let psi = nalgebra::DVector::from_fn(6, |k, _| Complex64::from_polar(1.0 / 6f64.sqrt(), k as f64));
        let rho = crate::toy::model::pure(&psi);
        let c = Continuous::new(model.clone(), 0.3, 0.0);
        let out = c.update(&rho, 0.1, 0.37, 0.2);
        assert!((purity(&out) - 1.0).abs() < 1e-13, "{}", purity(&out));
        let c = Continuous::new(model, 0.3, 1.0);
        assert!(purity(&c.update(&rho, 0.1, 0.37, 0.2)) < 1.0 - 1e-3);
    }
}
