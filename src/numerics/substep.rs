//! The adaptive sub-stepping controller of the quantum update (issue 12; docs/quantum.md §4): when a step's
//! quantum update is too strong for the integrator, the step is divided into pieces by bisection, each piece
//! taking the drift over its duration and then the conditioning on its own share of the step's noise increment
//! (the Brownian-bridge refinement of numerics/brownian_bridge.rs, so the step's increment — the metric's noise
//! record — stays what it was). The controller only reads numbers; what they mean is the representation's.
//!
//! A piece of duration h passes when
//!   ρ·h ≤ τ                 (the drift's stiffness ρ, per unit time, at the piece's start),
//!   c² ≤ τ and e ≤ e_max    (the conditioning strength of the piece's increment at the state it conditions:
//!                            c = largest |λ|, e = largest escape rate −λ, e_max the escape limit),
//! with τ = `cq.substep_tolerance`. Both ρh and c² measure the information a piece extracts (c ∝ √h), so one τ
//! bounds both; the local error of a piece falls with them, and the path converges to the fine-step path as τ → 0
//! (tests/substepping.rs). The first test is made on the whole step after the representation's own drift over dt
//! (the unrefined step, [`SubstepController::finish_step`]); a step that fails it goes back to its start and is
//! refined by halves, each half tested the same way ([`SubstepController::piece`]), down to [`MAX_SUBSTEP_LEVEL`].
//! The decisions depend only on the state, so a run with sub-steps is reproducible and restarts bit for bit.
use super::brownian_bridge::{children, duration, level, ROOT};

/// The deepest refinement: 2¹² = 4096 pieces per step.
pub const MAX_SUBSTEP_LEVEL: u32 = 12;

/// The operations of a representation's quantum update that the controller drives (backend/cpu/dense_field.rs,
/// backend/gpu/dense_field.rs).
pub trait SubstepTarget {
    /// Back to the state at the start of the step (before the representation's drift over the whole step).
    fn restore_step_start(&mut self) -> anyhow::Result<()>;
    /// Keep the current state as the start of the piece about to be taken.
    fn save_piece_start(&mut self) -> anyhow::Result<()>;
    /// Back to the start of the current piece.
    fn restore_piece_start(&mut self) -> anyhow::Result<()>;
    /// The drift stiffness ρ (per unit time) of the current state.
    fn drift_stiffness(&mut self) -> anyhow::Result<f64>;
    /// The drift over a piece of duration h.
    fn drift(&mut self, h: f64) -> anyhow::Result<()>;
    /// (largest |λ|, largest escape rate) of the conditioning on the increment `dw` at the current state.
    fn conditioning_strength(&mut self, dw: &[f64]) -> anyhow::Result<(f64, f64)>;
    /// The conditioning on `dw` (after [`Self::conditioning_strength`] on the same increment and state).
    fn condition(&mut self, dw: &[f64]) -> anyhow::Result<()>;
    /// The increments over the two halves of node `node` whose increment is `dw`.
    fn halves(&mut self, node: u32, dw: &[f64]) -> anyhow::Result<[Vec<f64>; 2]>;
}

/// The controller's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubstepController {
    /// τ: the largest ρ·h and c² a piece may have.
    pub tolerance: f64,
    /// e_max: the largest escape rate a conditioning may have at all (the Riccati flow's limit).
    pub escape_limit: f64,
    /// The deepest level a piece may be refined to.
    pub max_level: u32,
}

/// A step whose conditioning cannot be brought under the escape limit even at the deepest refinement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unresolved {
    /// the escape rate of the deepest piece
    pub escape: f64,
    /// its level (duration dt/2^level)
    pub level: u32,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a piece of dt/{} of this step's noise still has a conditioning escape rate {:.3} above the limit",
            1u64 << self.level,
            self.escape
        )
    }
}

impl std::error::Error for Unresolved {}

impl SubstepController {
    pub fn new(tolerance: f64, escape_limit: f64) -> Self {
        Self { tolerance, escape_limit, max_level: MAX_SUBSTEP_LEVEL }
    }

    /// Whether a drift of stiffness ρ over h is within the tolerance.
    pub fn drift_passes(&self, rho: f64, h: f64) -> bool {
        rho * h <= self.tolerance
    }

    /// Whether a conditioning of strength (size, escape) is within the tolerance and the escape limit.
    pub fn conditioning_passes(&self, (size, escape): (f64, f64)) -> bool {
        size * size <= self.tolerance && escape <= self.escape_limit
    }

    /// The end of a step whose drift over the whole step `dt` the representation has taken (stiffness `rho0` at
    /// the step's start): condition on the step's increment `dw` if the unrefined step passes, else go back to the
    /// step's start and take it in refined pieces. Returns the number of pieces (1: not refined).
    pub fn finish_step(&self, t: &mut dyn SubstepTarget, dw: &[f64], dt: f64, rho0: f64) -> anyhow::Result<u32> {
        let strength = t.conditioning_strength(dw)?;
        if self.unrefined_passes(rho0, dt, strength) {
            t.condition(dw)?;
            return Ok(1);
        }
        self.refine(t, dw, dt)
    }

    /// The test of the unrefined step: drift stiffness `rho0` at the step's start over dt, conditioning strength
    /// after the drift.
    pub fn unrefined_passes(&self, rho0: f64, dt: f64, strength: (f64, f64)) -> bool {
        self.drift_passes(rho0, dt) && self.conditioning_passes(strength)
    }

    /// A step that failed [`Self::unrefined_passes`]: back to its start, then its two halves (and so on).
    pub fn refine(&self, t: &mut dyn SubstepTarget, dw: &[f64], dt: f64) -> anyhow::Result<u32> {
        t.restore_step_start()?;
        self.split(t, ROOT, dw, dt)
    }

    /// The piece `node` of a step of length `dt` with increment `dw`, refined as far as the tests require.
    pub fn piece(&self, t: &mut dyn SubstepTarget, node: u32, dw: &[f64], dt: f64) -> anyhow::Result<u32> {
        let h = duration(dt, node);
        let deepest = level(node) >= self.max_level;
        if !deepest && !self.drift_passes(t.drift_stiffness()?, h) {
            return self.split(t, node, dw, dt);
        }
        if !deepest {
            t.save_piece_start()?;
        }
        t.drift(h)?;
        let strength = t.conditioning_strength(dw)?;
        if !self.conditioning_passes(strength) {
            if !deepest {
                t.restore_piece_start()?;
                return self.split(t, node, dw, dt);
            }
            if strength.1 > self.escape_limit {
                return Err(Unresolved { escape: strength.1, level: level(node) }.into());
            }
        }
        t.condition(dw)?;
        Ok(1)
    }

    fn split(&self, t: &mut dyn SubstepTarget, node: u32, dw: &[f64], dt: f64) -> anyhow::Result<u32> {
        let halves = t.halves(node, dw)?;
        let [a, b] = children(node);
        Ok(self.piece(t, a, &halves[0], dt)? + self.piece(t, b, &halves[1], dt)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scalar model: the state is a number x; the drift stiffness is |x|, the conditioning strength of an
    /// increment w is |x·w|; drift and conditioning add h and w. Records what the controller asked for.
    struct Toy {
        x: f64,
        start: f64,
        piece: f64,
        log: Vec<String>,
    }

    impl SubstepTarget for Toy {
        fn restore_step_start(&mut self) -> anyhow::Result<()> {
            self.x = self.start;
            Ok(())
        }
        fn save_piece_start(&mut self) -> anyhow::Result<()> {
            self.piece = self.x;
            Ok(())
        }
        fn restore_piece_start(&mut self) -> anyhow::Result<()> {
            self.x = self.piece;
            Ok(())
        }
        fn drift_stiffness(&mut self) -> anyhow::Result<f64> {
            Ok(self.x.abs())
        }
        fn drift(&mut self, h: f64) -> anyhow::Result<()> {
            self.x += h;
            self.log.push(format!("drift {h}"));
            Ok(())
        }
        fn conditioning_strength(&mut self, dw: &[f64]) -> anyhow::Result<(f64, f64)> {
            Ok(((self.x * dw[0]).abs(), (self.x * dw[0]).max(0.0)))
        }
        fn condition(&mut self, dw: &[f64]) -> anyhow::Result<()> {
            self.x += dw[0];
            self.log.push(format!("condition {}", dw[0]));
            Ok(())
        }
        fn halves(&mut self, _: u32, dw: &[f64]) -> anyhow::Result<[Vec<f64>; 2]> {
            Ok([vec![0.75 * dw[0]], vec![0.25 * dw[0]]])
        }
    }

    #[test]
    fn passes_or_refines() {
        let c = SubstepController::new(0.25, 0.5);
        // passes unrefined: the state after the whole-step drift is conditioned once
        let mut t = Toy { x: 1.0, start: 0.0, piece: 0.0, log: vec![] };
        assert_eq!(c.finish_step(&mut t, &[0.4], 0.1, 1.0).unwrap(), 1);
        assert_eq!(t.log, ["condition 0.4"]);
        // stiff drift (ρ·dt = 0.4): back to the start, two halves of dt = 0.4, each ρh ≤ τ only once x is small
        let mut t = Toy { x: 9.0, start: 1.0, piece: 0.0, log: vec![] };
        let n = c.finish_step(&mut t, &[0.2], 0.4, 1.0).unwrap();
        assert!((t.x - 1.6).abs() < 1e-14, "the pieces add up to the whole step: {}", t.x);
        assert!(n >= 2 && t.log.iter().filter(|l| l.starts_with("drift")).count() as u32 == n);
        // a conditioning beyond the escape limit at the deepest level is an error naming the level
        let mut deep = c;
        deep.max_level = 2;
        let mut t = Toy { x: 9.0, start: 100.0, piece: 0.0, log: vec![] };
        let e = deep.finish_step(&mut t, &[1.0], 1e-9, 0.0).unwrap_err();
        let u = e.downcast_ref::<Unresolved>().expect("an Unresolved error");
        assert_eq!(u.level, 2);
    }
}
