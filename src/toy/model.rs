//! The toy CQ systems of the paper's §IV B (SPEC §12): a classical particle (q, p) with h00 = p²/2m coupled
//! through the linear potential B(q) = Bq to a quantum system with Ĥ_m,
//!   Ĥ(q, p) = p²/2m + Bq·Ĥ_m,   qubit: Ĥ_m = diag(ω, −ω);   oscillator: Ĥ_m = ω(â†â + ½),
//! and the decompositions Ĥ(q) = Σ_α h^αα(q) L̂α†L̂α (Eq. (18)) into the Lindblad operators of §IV B.
//!
//! Level basis (both systems): |k⟩, k = 0 … d−1, ordered by energy. Qubit: |0⟩ = |↓⟩ (E = −ω), |1⟩ = |↑⟩
//! (E = +ω), so the paper's α = ⟨↑|ρ̂|↓⟩ is ρ₁₀. Oscillator: |k⟩ = |n = k⟩, E = ω(k + ½), truncated at d levels.
//! The lowering operator is Σ_k s_k |k−1⟩⟨k| with s₁ = 1 (qubit: |↓⟩⟨↑|) or s_k = √k (oscillator: â).
//! Everything here is diagonal in this basis except the ladder operators, which is what makes the conditional
//! dynamics of src/toy/discrete.rs and src/toy/continuous.rs exactly solvable between events.
use nalgebra::{DMatrix, DVector};
use num_complex::Complex64;

/// A conditional (normalised) density matrix in the level basis.
pub type Density = DMatrix<Complex64>;

/// The quantum system the particle couples to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    /// Ĥ_m = diag(ω, −ω).
    QubitParticle,
    /// Ĥ_m = ω(â†â + ½), truncated at `levels` Fock states.
    OscillatorParticle,
}

/// The decomposition of Ĥ_m into Lindblad operators (paper §IV B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LindbladChoice {
    /// Projectors L̂_k = √ω|k⟩⟨k| with h^kk = Bq E_k/ω (qubit: √ω|↑⟩⟨↑|, √ω|↓⟩⟨↓|, h↑↑ = −h↓↓ = Bq, Eq. (78)).
    Diagonal,
    /// Qubit: L̂↑ = √ω|↓⟩⟨↑|, L̂↓ = √ω|↑⟩⟨↓| (h = Bq, −Bq); oscillator: √ω â, √ω â† (h = Bq/2 each).
    RaisingLowering,
}

impl SystemKind {
    /// The configuration name (`model.kind`).
    pub fn name(self) -> &'static str {
        match self {
            SystemKind::QubitParticle => "qubit-particle",
            SystemKind::OscillatorParticle => "oscillator-particle",
        }
    }
}

impl LindbladChoice {
    /// The configuration name (`model.lindblad`).
    pub fn name(self) -> &'static str {
        match self {
            LindbladChoice::Diagonal => "diagonal",
            LindbladChoice::RaisingLowering => "raising-lowering",
        }
    }
}

/// An operator of the level basis (the Lindblad operators are √ω times one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// |k⟩⟨k|
    Projector(usize),
    /// Σ_k s_k |k−1⟩⟨k|
    Lower,
    /// Σ_k s_k |k⟩⟨k−1|
    Raise,
}

/// One Lindblad operator L̂α = √ω·op of the decomposition, with dh^αα/dq. In the discrete realisation
/// (Eq. (68) with ∂h/∂p = 0) applying it kicks the momentum by Δp = −τ·dh^αα/dq.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Channel {
    pub op: Op,
    pub dh_dq: f64,
}

/// The particle and the quantum system (SPEC §12).
#[derive(Debug, Clone, PartialEq)]
pub struct ToyModel {
    pub system: SystemKind,
    /// d: 2 for the qubit, the Fock truncation for the oscillator.
    pub levels: usize,
    pub omega: f64,
    /// B in B(q) = Bq.
    pub coupling: f64,
    pub mass: f64,
    pub lindblad: LindbladChoice,
}

impl ToyModel {
    pub fn dim(&self) -> usize {
        match self.system {
            SystemKind::QubitParticle => 2,
            SystemKind::OscillatorParticle => self.levels,
        }
    }

    /// E_k, the eigenvalues of Ĥ_m.
    pub fn energy(&self, k: usize) -> f64 {
        match self.system {
            SystemKind::QubitParticle => [-self.omega, self.omega][k],
            SystemKind::OscillatorParticle => self.omega * (k as f64 + 0.5),
        }
    }

    /// l_k = B E_k, the eigenvalues of L̂ = ∂Ĥ/∂q: the particle in level k feels the force −l_k, and
    /// Ĥ(q) = p²/2m + q L̂.
    pub fn force_operator(&self, k: usize) -> f64 {
        self.coupling * self.energy(k)
    }

    /// s_k of the lowering operator (0 for k = 0 and outside the basis).
    pub fn ladder(&self, k: usize) -> f64 {
        self.ladder_sq(k).sqrt()
    }

    /// s_k², exact: 1 for the qubit's k = 1, k for the oscillator below the truncation, else 0.
    pub fn ladder_sq(&self, k: usize) -> f64 {
        match self.system {
            SystemKind::QubitParticle => f64::from(u8::from(k == 1)),
            SystemKind::OscillatorParticle if k < self.levels => k as f64,
            SystemKind::OscillatorParticle => 0.0,
        }
    }

    /// The Lindblad operators of the chosen decomposition Ĥ(q) = Σ_α h^αα(q) L̂α†L̂α (Eq. (18)), L̂α = √ω·op.
    /// Raising/lowering: ω(h₋ raise·lower + h₊ lower·raise) = Bq Ĥ_m fixes h₋ = Bq, h₊ = −Bq for the qubit
    /// (raise·lower = |↑⟩⟨↑|, lower·raise = |↓⟩⟨↓|) and h₋ = h₊ = Bq/2 for the oscillator (â†â + ââ† = 2n̂ + 1).
    pub fn channels(&self) -> Vec<Channel> {
        let b = self.coupling;
        match (self.lindblad, self.system) {
            (LindbladChoice::Diagonal, _) => {
                (0..self.dim()).map(|k| Channel { op: Op::Projector(k), dh_dq: b * self.energy(k) / self.omega }).collect()
            }
            (LindbladChoice::RaisingLowering, SystemKind::QubitParticle) => {
                vec![Channel { op: Op::Lower, dh_dq: b }, Channel { op: Op::Raise, dh_dq: -b }]
            }
            (LindbladChoice::RaisingLowering, SystemKind::OscillatorParticle) => {
                vec![Channel { op: Op::Lower, dh_dq: 0.5 * b }, Channel { op: Op::Raise, dh_dq: 0.5 * b }]
            }
        }
    }

    /// ⟨k|op†op|k⟩ (all op†op are diagonal in the level basis).
    pub fn op_dag_op(&self, op: Op, k: usize) -> f64 {
        match op {
            Op::Projector(j) => f64::from(u8::from(j == k)),
            Op::Lower => self.ladder_sq(k),
            Op::Raise => self.ladder_sq(k + 1),
        }
    }

    /// tr(op ρ op†) = Σ_k ⟨k|op†op|k⟩ ρ_kk.
    pub fn op_weight(&self, op: Op, rho: &Density) -> f64 {
        (0..self.dim()).map(|k| self.op_dag_op(op, k) * rho[(k, k)].re).sum()
    }

    /// op ρ op† (unnormalised).
    pub fn apply(&self, op: Op, rho: &Density) -> Density {
        let d = self.dim();
        let mut out = Density::zeros(d, d);
        match op {
            Op::Projector(k) => out[(k, k)] = rho[(k, k)],
            // (lower ρ lower†)_jk = s_{j+1} s_{k+1} ρ_{j+1,k+1}
            Op::Lower => {
                for j in 0..d - 1 {
                    for k in 0..d - 1 {
                        out[(j, k)] = rho[(j + 1, k + 1)] * (self.ladder(j + 1) * self.ladder(k + 1));
                    }
                }
            }
            // (raise ρ raise†)_jk = s_j s_k ρ_{j−1,k−1}
            Op::Raise => {
                for j in 1..d {
                    for k in 1..d {
                        out[(j, k)] = rho[(j - 1, k - 1)] * (self.ladder(j) * self.ladder(k));
                    }
                }
            }
        }
        out
    }

    /// ⟨Ĥ_m⟩ = Σ_k E_k ρ_kk.
    pub fn mean_energy(&self, rho: &Density) -> f64 {
        (0..self.dim()).map(|k| self.energy(k) * rho[(k, k)].re).sum()
    }
}

/// tr ρ² (1 for a pure state).
pub fn purity(rho: &Density) -> f64 {
    rho.iter().map(|z| z.norm_sqr()).sum()
}

/// Σ_{j<k} |ρ_jk|, the l1 coherence over 2: |α| = |ρ₁₀| for the qubit.
pub fn coherence(rho: &Density) -> f64 {
    let d = rho.nrows();
    (0..d).flat_map(|j| (j + 1..d).map(move |k| (j, k))).map(|(j, k)| rho[(j, k)].norm()).sum()
}

/// |ψ⟩⟨ψ|.
pub fn pure(psi: &DVector<Complex64>) -> Density {
    psi * psi.adjoint()
}

/// Divides by the trace (the conditional state is normalised after every update).
pub fn normalise(rho: &mut Density) {
    let tr: f64 = (0..rho.nrows()).map(|k| rho[(k, k)].re).sum();
    *rho /= Complex64::new(tr, 0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(system: SystemKind, lindblad: LindbladChoice) -> ToyModel {
        ToyModel { system, levels: 12, omega: 1.3, coupling: 0.7, mass: 1.0, lindblad }
    }

    /// Σ_α h^αα L̂α†L̂α = Bq Ĥ_m (per unit q: Σ_α ω dh^αα/dq ⟨k|op†op|k⟩ = B E_k) for every decomposition,
    /// on the oscillator levels below the truncation (the top level's raise is cut).
    #[test]
    fn decompositions_reproduce_the_hamiltonian() {
        for system in [SystemKind::QubitParticle, SystemKind::OscillatorParticle] {
            for lindblad in [LindbladChoice::Diagonal, LindbladChoice::RaisingLowering] {
                let m = model(system, lindblad);
                let top = if system == SystemKind::OscillatorParticle { m.dim() - 1 } else { m.dim() };
                for k in 0..top {
                    let h: f64 = m.channels().iter().map(|c| m.omega * c.dh_dq * m.op_dag_op(c.op, k)).sum();
                    assert!((h - m.coupling * m.energy(k)).abs() < 1e-14, "{system:?} {lindblad:?} level {k}: {h}");
                }
            }
        }
    }

    /// apply() against explicit matrices op ρ op†.
    #[test]
    fn apply_matches_matrix_products() {
        let m = model(SystemKind::OscillatorParticle, LindbladChoice::RaisingLowering);
        let d = m.dim();
        let rho = Density::from_fn(d, d, |j, k| Complex64::new((j * 3 + k) as f64 * 0.1, j as f64 - k as f64));
        let lower = Density::from_fn(d, d, |j, k| Complex64::new(if k == j + 1 { m.ladder(k) } else { 0.0 }, 0.0));
        for (op, mat) in [(Op::Lower, lower.clone()), (Op::Raise, lower.adjoint()), (Op::Projector(3), Density::from_fn(d, d, |j, k| Complex64::new(f64::from(u8::from(j == 3 && k == 3)), 0.0)))] {
            let want = &mat * &rho * mat.adjoint();
            assert!((m.apply(op, &rho) - want).norm() < 1e-12, "{op:?}");
            let w: f64 = (mat.adjoint() * &mat * &rho).trace().re;
            assert!((m.op_weight(op, &rho) - w).abs() < 1e-12, "{op:?}");
        }
    }
}
