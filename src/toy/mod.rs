//! The seed paper's own CQ systems (SPEC §12; paper §IV B, Eqs. (77)–(82), Figure 1): a classical particle
//! coupled through B(q) = Bq to a qubit or a harmonic oscillator, in the discrete (jump) realisation of Eq. (78)
//! and the continuous (Wiener) realisation with the decoherence–diffusion trade-off, each unravelled into
//! trajectories of the particle with the quantum state conditioned on them; the semiclassical comparison; the
//! ensemble statistics and the cq-state on a (q, p) grid. `cqgrav toy CONFIG` runs it (src/cli/toy.rs), the
//! output is written by src/io/toy.rs, `cqgrav plot` draws the paper's Figure 1 from it. docs/toy.md has the
//! physics, the configuration and the output layout.
//!
//! A few-dimensional system: CPU only (no GPU kernel; a trajectory is a 2×2 or d×d matrix and a few numbers),
//! trajectories in parallel with rayon.
//!
//! - [`model`]: the systems, their energies and Lindblad decompositions (physics);
//! - [`trajectory`]: the initial cq-state and the [`trajectory::Unravelling`] interface;
//! - [`discrete`]: the jump unravelling of Eq. (78), event by event and exact;
//! - [`continuous`]: the Wiener unravelling, the trade-off D0·D2 ≥ 1/4, exact for these commuting couplings;
//! - [`semiclassical`]: the expectation-value coupling (Figure 1, right);
//! - [`ensemble`]: many trajectories, statistics, histograms, the unconditional cq-state;
//! - [`config`]: the TOML schema of `cqgrav toy`.
pub mod config;
pub mod continuous;
pub mod discrete;
pub mod ensemble;
pub mod model;
pub mod semiclassical;
pub mod trajectory;

pub use config::ToyConfig;
pub use ensemble::{ToyResult, ToySetup};
