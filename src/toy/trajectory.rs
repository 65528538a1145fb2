//! What the two realisations share: the initial condition of a trajectory, a recorded point, and the interface
//! [`Unravelling`] the ensemble driver (src/toy/ensemble.rs) runs without asking which realisation it holds.
use super::model::{pure, Density};
use crate::numerics::philox::{draw, normals4, stream};
use nalgebra::DVector;
use num_complex::Complex64;

/// The initial cq-state: a pure quantum state ψ and a Gaussian (or, with zero widths, sharp) classical
/// distribution of (q, p), independent of each other.
#[derive(Debug, Clone, PartialEq)]
pub struct Initial {
    pub q: f64,
    pub p: f64,
    pub sigma_q: f64,
    pub sigma_p: f64,
    /// ψ in the level basis, normalised.
    pub psi: DVector<Complex64>,
}

impl Initial {
    /// (q₀, p₀) of trajectory `index`: q + σ_q z₀, p + σ_p z₁ with normals from the `TOY_INITIAL` stream,
    /// block 0 (block 1 is the continuous realisation's branch draw).
    pub fn classical(&self, seed: u64, index: u32) -> (f64, f64) {
        let z = normals4::<f64>(draw(seed, index, 0, 0, stream::TOY_INITIAL));
        (self.q + self.sigma_q * z[0], self.p + self.sigma_p * z[1])
    }

    pub fn density(&self) -> Density {
        pure(&self.psi)
    }
}

/// One recorded point of a trajectory: the particle, the conditional quantum state, the jumps so far.
#[derive(Debug, Clone, Copy)]
pub struct Point<'a> {
    pub t: f64,
    pub q: f64,
    pub p: f64,
    /// Momentum jumps so far (0 in the continuous realisation).
    pub jumps: u64,
    pub rho: &'a Density,
}

/// An unravelling of the CQ master equation: trajectories of the classical particle with the quantum state
/// conditioned on them.
pub trait Unravelling: Sync {
    /// Runs trajectory `index` (random numbers keyed by (seed, index), so any trajectory can be recomputed on
    /// its own) and calls `record(i, point)` at each of `times`, which start at 0 and increase.
    fn trajectory(&self, seed: u64, index: u32, initial: &Initial, times: &[f64], record: &mut dyn FnMut(usize, &Point)) -> anyhow::Result<()>;
}
