//! The discrete (jump) realisation, Eq. (78) (Eq. (68) for small τ): each Lindblad operator L̂α = √ω·op of the
//! decomposition acts at rate tr(L̂α ρ̂ L̂α†)/τ and kicks the momentum by Δp = −τ dh^αα/dq; between jumps the
//! particle moves freely (q̇ = p/m) and the quantum state follows
//!   dρ̃/dt = −i[q L̂, ρ̃] − (1/2τ){Σ_α L̂α†L̂α, ρ̃}          (L̂ = BĤ_m, the no-jump evolution).
//! The classical record is the momentum: jumps with the same kick cannot be told apart, so the state conditioned
//! on the record after a jump is Σ_{α in the kick's group} L̂α ρ̂ L̂α† / tr (a mixture when the group has more
//! than one operator: the oscillator's â and â†, which both kick by −τB/2). With the diagonal decomposition each
//! kick names one projector: the state collapses at the first jump (Born rule) and stays pure (paper §IV B).
//!
//! Exact simulation (no time step): in the level basis L̂ and G = Σ_α L̂α†L̂α are diagonal, so the no-jump
//! evolution over a time s after the last event, with Q = ∫q dt = q s + p s²/2m, is
//!   ρ̃_jk(s) = ρ_jk · exp(−i(l_j − l_k)Q − (G_j + G_k)s/2τ),
//! the survival probability is S(s) = tr ρ̃(s) = Σ_k ρ_kk e^{−G_k s/τ}, and the next jump comes at the s where
//! S(s) = u (u uniform; Newton's method on the convex ln S, exact in one step when G ∝ 1 as for the qubit).
//! The random numbers of event n of trajectory i are Philox(seed; i, block 0, n, `TOY_JUMPS`): words 0–1 the
//! waiting time, words 2–3 the choice of kick.
use super::model::{normalise, Channel, Density, Op, ToyModel};
use super::trajectory::{Initial, Point, Unravelling};
use crate::numerics::philox::{draw, stream, uniform_open0_53};
use anyhow::{bail, Result};
use num_complex::Complex64;

/// Largest population allowed in the oscillator's top level before the truncation is declared too small.
pub const TRUNCATION_TOLERANCE: f64 = 1e-8;

/// Lindblad operators with one momentum kick: indistinguishable in the classical record.
#[derive(Debug, Clone, PartialEq)]
pub struct KickGroup {
    /// Δp = −τ dh^αα/dq.
    pub kick: f64,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone)]
pub struct Discrete {
    pub model: ToyModel,
    pub tau: f64,
    pub groups: Vec<KickGroup>,
    /// G_k = Σ_α ⟨k|L̂α†L̂α|k⟩ = ω Σ_α ⟨k|op†op|k⟩.
    pub g: Vec<f64>,
}

impl Discrete {
    pub fn new(model: ToyModel, tau: f64) -> Self {
        let channels = model.channels();
        let mut groups: Vec<KickGroup> = Vec::new();
        for Channel { op, dh_dq } in &channels {
            let kick = -tau * dh_dq;
            match groups.iter_mut().find(|g| g.kick == kick) {
                Some(g) => g.ops.push(*op),
                None => groups.push(KickGroup { kick, ops: vec![*op] }),
            }
        }
        let g = (0..model.dim()).map(|k| model.omega * channels.iter().map(|c| model.op_dag_op(c.op, k)).sum::<f64>()).collect();
        Self { model, tau, groups, g }
    }

    /// The normalised state a time `s` after an event whose state was `rho`, with Q = ∫q dt over that time.
    pub fn no_jump(&self, rho: &Density, s: f64, q_integral: f64) -> Density {
        let d = self.model.dim();
        let gmin = self.g.iter().copied().fold(f64::INFINITY, f64::min);
        // the factor is a_j a_k* with a_k = exp(−i l_k Q − (G_k − G_min) s/2τ)
        let a: Vec<Complex64> = (0..d)
            .map(|k| Complex64::from_polar((-(self.g[k] - gmin) * s / (2.0 * self.tau)).exp(), -self.model.force_operator(k) * q_integral))
            .collect();
        let mut out = Density::from_fn(d, d, |j, k| rho[(j, k)] * a[j] * a[k].conj());
        normalise(&mut out);
        out
    }

    /// The waiting time s with S(s) = Σ_k ρ_kk e^{−G_k s/τ} = u.
    pub fn waiting_time(&self, rho: &Density, u: f64) -> f64 {
        let d = self.model.dim();
        let rates: Vec<(f64, f64)> = (0..d).map(|k| (rho[(k, k)].re.max(0.0), self.g[k] / self.tau)).filter(|(w, _)| *w > 0.0).collect();
        let target = u.ln();
        // f(s) = ln S(s) − ln u is convex and decreasing with f(0) = −ln u ≥ 0: Newton from s = 0 approaches the
        // root from below without overshooting.
        let gmin = rates.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        let mut s = 0.0f64;
        for _ in 0..200 {
            // S and S' scaled by e^{gmin s} (no underflow at long times)
            let (mut sv, mut ds) = (0.0, 0.0);
            for &(w, r) in &rates {
                let e = w * (-(r - gmin) * s).exp();
                sv += e;
                ds -= r * e;
            }
            let f = sv.ln() - gmin * s - target;
            let step = -f / (ds / sv);
            s += step;
            if step.abs() <= 1e-15 * s.abs().max(f64::MIN_POSITIVE) {
                break;
            }
        }
        s
    }

    fn check_truncation(&self, rho: &Density, t: f64) -> Result<()> {
        let d = self.model.dim();
        if self.groups.iter().any(|g| g.ops.contains(&Op::Raise)) && d > 2 {
            let top = rho[(d - 1, d - 1)].re;
            if top > TRUNCATION_TOLERANCE {
                bail!(
                    "the oscillator's Fock truncation is too small: the top level n = {} holds population {top:.2e} > {TRUNCATION_TOLERANCE:e} at t = {t:.6} (the â† jumps heat the oscillator, ⟨n⟩ grows by ω/τ per unit time): raise model.levels",
                    d - 1
                );
            }
        }
        Ok(())
    }
}

impl Unravelling for Discrete {
    fn trajectory(&self, seed: u64, index: u32, initial: &Initial, times: &[f64], record: &mut dyn FnMut(usize, &Point)) -> Result<()> {
        let m = self.model.mass;
        let (mut q_ref, mut p) = initial.classical(seed, index);
        let mut rho_ref = initial.density();
        let mut t_ref = 0.0;
        let mut jumps = 0u64;
        let mut next = 0usize;
        let t_last = times.last().copied().unwrap_or(0.0);
        while next < times.len() {
            let w = draw(seed, index, 0, jumps, stream::TOY_JUMPS);
            let s = self.waiting_time(&rho_ref, uniform_open0_53(w[0], w[1]));
            let t_jump = t_ref + s;
            // the recording times before the jump: free motion and no-jump evolution from the last event
            while next < times.len() && (times[next] < t_jump || t_jump > t_last) {
                let dt = times[next] - t_ref;
                let rho = self.no_jump(&rho_ref, dt, q_ref * dt + p * dt * dt / (2.0 * m));
                self.check_truncation(&rho, times[next])?;
                record(next, &Point { t: times[next], q: q_ref + p * dt / m, p, jumps, rho: &rho });
                next += 1;
            }
            if next == times.len() {
                break;
            }
            // the jump: which kick (its group's weight ∝ Σ tr(op ρ op†)), then the conditioned state
            let pre = self.no_jump(&rho_ref, s, q_ref * s + p * s * s / (2.0 * m));
            let weights: Vec<f64> = self.groups.iter().map(|g| g.ops.iter().map(|&op| self.model.op_weight(op, &pre)).sum()).collect();
            let total: f64 = weights.iter().sum();
            let mut pick = uniform_open0_53(w[2], w[3]) * total;
            let mut chosen = self.groups.len() - 1;
            for (i, &wi) in weights.iter().enumerate() {
                if pick <= wi && wi > 0.0 {
                    chosen = i;
                    break;
                }
                pick -= wi;
            }
            let group = &self.groups[chosen];
            let mut rho = Density::zeros(pre.nrows(), pre.ncols());
            for &op in &group.ops {
                rho += self.model.apply(op, &pre);
            }
            normalise(&mut rho);
            q_ref += p * s / m;
            p += group.kick;
            t_ref = t_jump;
            rho_ref = rho;
            jumps += 1;
            self.check_truncation(&rho_ref, t_ref)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::model::{LindbladChoice, SystemKind};

    #[test]
    fn groups_of_the_decompositions() {
        let qubit = ToyModel { system: SystemKind::QubitParticle, levels: 2, omega: 2.0, coupling: 0.5, mass: 1.0, lindblad: LindbladChoice::Diagonal };
        let d = Discrete::new(qubit.clone(), 0.1);
        // Eq. (78): |↓⟩ kicks by +τB, |↑⟩ by −τB; G = ω·1
        assert_eq!(d.groups, vec![KickGroup { kick: 0.05, ops: vec![Op::Projector(0)] }, KickGroup { kick: -0.05, ops: vec![Op::Projector(1)] }]);
        assert_eq!(d.g, vec![2.0, 2.0]);
        let osc = ToyModel { system: SystemKind::OscillatorParticle, levels: 5, lindblad: LindbladChoice::RaisingLowering, ..qubit };
        let d = Discrete::new(osc, 0.1);
        // â and â† kick alike (−τB/2): one group, G_k = ω(2k + 1) below the truncation
        assert_eq!(d.groups, vec![KickGroup { kick: -0.025, ops: vec![Op::Lower, Op::Raise] }]);
        assert_eq!(&d.g[..4], &[2.0, 6.0, 10.0, 14.0]);
    }

    /// The waiting time solves S(s) = u, also with unequal G_k.
    #[test]
    fn waiting_time_solves_the_survival_equation() {
        let osc = ToyModel { system: SystemKind::OscillatorParticle, levels: 6, omega: 1.0, coupling: 1.0, mass: 1.0, lindblad: LindbladChoice::RaisingLowering };
        let d = Discrete::new(osc, 0.5);
        let mut rho = Density::zeros(6, 6);
        for (k, w) in [0.5, 0.3, 0.2].iter().enumerate() {
            rho[(k, k)] = Complex64::new(*w, 0.0);
        }
        for u in [0.9, 0.5, 1e-3, 1e-12] {
            let s = d.waiting_time(&rho, u);
            let surv: f64 = (0..6).map(|k| rho[(k, k)].re * (-d.g[k] * s / d.tau).exp()).sum();
            assert!((surv / u - 1.0).abs() < 1e-12, "u = {u}: S = {surv}");
        }
    }
}
