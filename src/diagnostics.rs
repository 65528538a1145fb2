//! The diagnostics of SPEC §6: one timeseries row per output interval, built from the box reductions of the
//! per-site values (backend/cpu/diagnostics.rs on the CPU, shaders/diagnostics.wgsl on the GPU), plus the
//! health check of the state.
use crate::backend::cpu::diagnostics::{all_site_values_quantum, col, NCOL, OPS};
use crate::backend::cpu::fd::Fd;
use crate::backend::StepperSetup;
use crate::numerics::lattice::Lattice;
use crate::state::{var, State};

/// Constraint norms (SPEC §5): L2 = root mean square over sites, L∞, and relative = L2 of the constraint over
/// L2 of the sum of the absolute values of its terms (0 when the constraint vanishes identically). For 𝓗_a the
/// per-site value is the Euclidean norm of the 3-vector.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConstraintNorms {
    pub ham_l2: f64,
    pub ham_linf: f64,
    pub ham_rel: f64,
    pub mom_l2: f64,
    pub mom_linf: f64,
    pub mom_rel: f64,
}

/// One timeseries row (SPEC §10 names).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Diagnostics {
    pub t: f64,
    pub step: u64,
    /// a = ⟨√g⟩^{1/3}
    pub a: f64,
    /// H = ⟨K⟩/3, K = g^ab K_ab = −π/(2√g)
    pub hubble: f64,
    pub constraints: ConstraintNorms,
    /// Σ ΔV N G_abcd π^ab π^cd
    pub e_kin_grav: f64,
    /// −Σ ΔV N √g R
    pub e_pot_grav: f64,
    /// Σ ΔV N Ĥ_m
    pub e_matter: f64,
    pub phi_mean: f64,
    /// ⟨δφ²⟩ box mean (0 for the classical representation `none`)
    pub phi2_mean: f64,
    /// smallest symplectic eigenvalue of Γ relative to ½ (NaN: no quantum state, representation `none`)
    pub state_min_symplectic: f64,
    /// wall-clock seconds per step over the last output interval (set by the driver)
    pub wall_per_step: f64,
    /// sub-steps of the last step's quantum update as its representation reports them (backend/quantum.rs
    /// `QuantumStepReport`: dense, the controller's pieces, 1 = none; 0: no conditioning)
    pub quantum_substeps: f64,
    /// statistical error of the box-mean back-reaction trace (ensemble; 0 for the exact representations)
    pub backreaction_error: f64,
    /// health indicator (not a timeseries column): > 0 when the metric stopped being positive definite or the
    /// lapse is not positive somewhere; see [`Diagnostics::healthy`]
    pub health: f64,
    /// realised statistics of the last step's CQ noise increments (SPEC §3, §6); zeros when D2 = 0
    pub noise: NoiseDiagnostics,
}

// ---- CQ noise diagnostics (issue 4) -------------------------------------------------------------------------
/// Realised statistics of the CQ noise increments dW^ab of the last step against their expected values
/// (docs/physics.md, "Noise diagnostics"). Box means over the n sites, with g and N at the start of that step
/// (the ones the increments were drawn with); K(0) = [`crate::physics::cq_noise::kernel_at_zero`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NoiseDiagnostics {
    /// `noise_mean` = ⟨g_ab dW^ab⟩ (expected 0)
    pub mean: f64,
    /// `noise_var` = ⟨g_ac g_bd dW^ab dW^cd⟩, the squared g-norm of the increments
    pub var: f64,
    /// `noise_var_expected` = D2 dt K(0) (6 − 3β) ⟨N√g⟩ (`tensor`), D2 dt K(0) · 3 ⟨N√g⟩ (`trace-only`)
    pub var_expected: f64,
    /// `noise_trace_var` = ⟨(g_ab dW^ab)²⟩
    pub trace_var: f64,
    /// `noise_trace_var_expected` = D2 dt K(0) · 3(1 − 3β) ⟨N√g⟩ (`tensor`), D2 dt K(0) · 9 ⟨N√g⟩ (`trace-only`)
    pub trace_var_expected: f64,
}

impl NoiseDiagnostics {
    /// From the box sums of the per-site columns (τ = g_ab dW^ab, q = g_ac g_bd dW^ab dW^cd, τ², N√g) of
    /// backend/cpu/cq_noise.rs (twin shaders/cq_noise.wgsl).
    pub fn from_sums(sums: &[f64; 4], setup: &StepperSetup) -> Self {
        use crate::physics::cq_noise::{gnorm_rate, kernel_at_zero, trace_rate};
        let p = &setup.noise;
        if !p.is_active() {
            return Self::default();
        }
        let n = setup.lattice.sites() as f64;
        let unit = p.diffusion * setup.dt * kernel_at_zero(p.correlation_length, &setup.lattice) * sums[3] / n;
        Self {
            mean: sums[0] / n,
            var: sums[1] / n,
            var_expected: unit * gnorm_rate(p.beta, p.kind),
            trace_var: sums[2] / n,
            trace_var_expected: unit * trace_rate(p.beta, p.kind),
        }
    }
}
// ---- end CQ noise diagnostics -------------------------------------------------------------------------------

/// What to do about an unhealthy state at `step`: at step 0 the initial data is at fault, later the run
/// became unstable — with CQ noise (D2 = `diffusion` > 0) possibly kicked there by the noise, whose increments
/// to π^ab have size ≈ √(D2 dt/ΔV) per step (SPEC §3).
pub fn unhealthy_advice(step: u64, diffusion: f64) -> String {
    if step == 0 {
        "the initial data is out of range: check the [initial] values (and matter.mass)".to_string()
    } else if diffusion > 0.0 {
        "the run became unstable (reduce time.courant, add gravity.dissipation, or raise the resolution); with CQ \
         noise the kicks to π^ab are about √(D2 dt/ΔV) per step — reduce cq.diffusion or time.dt, or raise \
         lattice.spacing or cq.correlation_length"
            .to_string()
    } else {
        "the run became unstable (reduce time.courant, add gravity.dissipation, or raise the resolution)".to_string()
    }
}

impl Diagnostics {
    /// False when the reductions show a non-finite value (a NaN or Inf anywhere propagates into the sums), a
    /// metric that is not positive definite, or a non-positive lapse: then the state must be downloaded and
    /// [`health_check`] names field, site, step and time.
    pub fn healthy(&self) -> bool {
        self.health <= 0.0 && self.nonfinite_sums().is_empty()
    }

    /// The box sums of this row that are not finite (name, value); `state_min_symplectic` is NaN by design
    /// without a quantum state and is not among them.
    pub fn nonfinite_sums(&self) -> Vec<(&'static str, f64)> {
        let c = &self.constraints;
        [
            ("a", self.a),
            ("hubble", self.hubble),
            ("ham_l2", c.ham_l2),
            ("ham_rel", c.ham_rel),
            ("mom_l2", c.mom_l2),
            ("mom_rel", c.mom_rel),
            ("e_kin_grav", self.e_kin_grav),
            ("e_pot_grav", self.e_pot_grav),
            ("e_matter", self.e_matter),
            ("phi_mean", self.phi_mean),
        ]
        .into_iter()
        .filter(|x| !x.1.is_finite())
        .collect()
    }

    /// The timeseries columns (SPEC §10 names, in that order) of this row. Output writers iterate over this,
    /// so a diagnostic added here reaches every writer.
    pub fn columns(&self) -> Vec<(&'static str, f64)> {
        let c = &self.constraints;
        vec![
            ("t", self.t),
            ("step", self.step as f64),
            ("a", self.a),
            ("hubble", self.hubble),
            ("ham_l2", c.ham_l2),
            ("ham_linf", c.ham_linf),
            ("ham_rel", c.ham_rel),
            ("mom_l2", c.mom_l2),
            ("mom_linf", c.mom_linf),
            ("mom_rel", c.mom_rel),
            ("e_kin_grav", self.e_kin_grav),
            ("e_pot_grav", self.e_pot_grav),
            ("e_matter", self.e_matter),
            ("phi_mean", self.phi_mean),
            ("phi2_mean", self.phi2_mean),
            ("state_min_symplectic", self.state_min_symplectic),
            ("wall_per_step", self.wall_per_step),
            ("quantum_substeps", self.quantum_substeps),
            ("backreaction_error", self.backreaction_error),
            ("noise_mean", self.noise.mean),
            ("noise_var", self.noise.var),
            ("noise_var_expected", self.noise.var_expected),
            ("noise_trace_var", self.noise.trace_var),
            ("noise_trace_var_expected", self.noise.trace_var_expected),
        ]
    }
}

/// The constraint fields of a snapshot (SPEC §7 `ham`, `mom`), site order of SPEC §1.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConstraintFields {
    pub ham: Vec<f64>,
    pub mom: [Vec<f64>; 3],
}

/// A timeseries row from the box reductions of the per-site values (any backend, any precision).
pub fn finish(sums: &[f64; NCOL], lattice: &Lattice, t: f64, step: u64) -> Diagnostics {
    let n = lattice.sites() as f64;
    let dv = lattice.cell_volume();
    let rel = |a: f64, b: f64| if a == 0.0 { 0.0 } else { (a / b).sqrt() };
    Diagnostics {
        t,
        step,
        a: (sums[col::SQRTG] / n).cbrt(),
        hubble: sums[col::TRACE_K] / n / 3.0,
        constraints: ConstraintNorms {
            ham_l2: (sums[col::HAM2] / n).sqrt(),
            ham_linf: sums[col::HAM_MAX],
            ham_rel: rel(sums[col::HAM2], sums[col::HAM_ABS2]),
            mom_l2: (sums[col::MOM2] / n).sqrt(),
            mom_linf: sums[col::MOM_MAX],
            mom_rel: rel(sums[col::MOM2], sums[col::MOM_ABS2]),
        },
        e_kin_grav: sums[col::KIN] * dv,
        e_pot_grav: sums[col::POT] * dv,
        e_matter: sums[col::MATTER] * dv,
        phi_mean: sums[col::PHI] / n,
        phi2_mean: 0.0,
        state_min_symplectic: f64::NAN,
        wall_per_step: 0.0,
        quantum_substeps: 0.0,
        backreaction_error: 0.0,
        health: sums[col::HEALTH],
        noise: NoiseDiagnostics::default(),
    }
}

/// Diagnostics of a host state with the CPU twin in f64.
pub fn diagnostics(state: &State, setup: &StepperSetup) -> Diagnostics {
    diagnostics_in(state, setup, &crate::numerics::site_domain::WholeLattice(state.lattice))
}

/// [`diagnostics`] of a state on the `domain`'s local lattice (`setup.lattice`; issue 18: a rank's slab with fresh
/// ghost planes, its quantum site arrays included): the same per-site values, reduced over the whole lattice in the
/// single-process order, so every rank holds the single process's row bit for bit.
pub fn diagnostics_in(state: &State, setup: &StepperSetup, domain: &dyn crate::numerics::site_domain::SiteDomain) -> Diagnostics {
    let fd = Fd::<f64>::new(&setup.stencil, state.lattice.spacing, 0.0);
    let q = crate::backend::quantum::representation(setup).quantum_diagnostics(setup, state, domain);
    let (cols, _) = all_site_values_quantum(
        &fd,
        &state.lattice,
        &state.background,
        &state.data,
        setup.params.lambda,
        setup.params.mass,
        &setup.params.potential,
        &q.as_ref().map(|q| q.sites.iter().map(|s| s.constraint_terms()).collect::<Vec<_>>()).unwrap_or_default(),
    );
    let refs: Vec<&[f64]> = cols.iter().map(|c| &c[..]).collect();
    let sums: [f64; NCOL] = domain.reduce(&refs, &OPS).try_into().expect("NCOL sums");
    let mut d = finish(&sums, &domain.global(), state.t, state.step);
    if let Some(q) = q {
        // ⟨δφ²⟩ box mean and the physicality of the quantum state (SPEC §6)
        d.phi2_mean = q.phi2_mean;
        d.state_min_symplectic = q.min_symplectic;
        d.backreaction_error = q.backreaction_error;
    }
    d
}

/// The quantum field's per-site terms, evaluated by its representation (None without fluctuations, or when the
/// state's metric is not valid for them).
pub fn quantum_site_terms(state: &State, setup: &StepperSetup) -> Option<Vec<crate::physics::gaussian_dynamics::SiteQuantum>> {
    crate::backend::quantum::representation(setup).site_terms(setup, state).ok().flatten()
}

/// ⟨δφ²⟩ per site (snapshot dataset `phi2`); None without a quantum state.
pub fn phi2_field(state: &State, setup: &StepperSetup) -> Option<Vec<f64>> {
    quantum_site_terms(state, setup).map(|q| q.iter().map(|s| s.phi2).collect())
}

/// Below this value of `state_min_symplectic` (smallest symplectic eigenvalue of Γ over ½) the state has lost
/// Γ + iΩ/2 ⪰ 0 beyond round-off and time-step error: the run stops.
pub const PHYSICALITY_TOLERANCE: f64 = 1e-4;

/// 𝓗 and 𝓗_a of a host state with the CPU twin in f64.
pub fn constraint_field_values(state: &State, setup: &StepperSetup) -> ConstraintFields {
    let fd = Fd::<f64>::new(&setup.stencil, state.lattice.spacing, 0.0);
    let q: Vec<[f64; 4]> = quantum_site_terms(state, setup)
        .map(|q| q.iter().map(|s| s.constraint_terms()).collect())
        .unwrap_or_default();
    let (_, [ham, mx, my, mz]) =
        all_site_values_quantum(&fd, &state.lattice, &state.background, &state.data, setup.params.lambda, setup.params.mass, &setup.params.potential, &q);
    ConstraintFields { ham, mom: [mx, my, mz] }
}

/// The first non-finite value or non-physical state (det g ≤ 0, N ≤ 0), as a message naming step, time,
/// field and site; `None` when the state is healthy. The caller adds what to do ([`unhealthy_advice`]).
pub fn health_check(state: &State) -> Option<String> {
    let lat = &state.lattice;
    let n = lat.sites();
    let where_ = |i: usize| {
        let c = lat.coords(i);
        format!("site (x, y, z) = ({}, {}, {})", c[0], c[1], c[2])
    };
    for (v, name) in crate::state::VAR_NAMES.iter().enumerate() {
        if let Some(i) = state.field(v).iter().position(|x| !x.is_finite()) {
            return Some(format!(
                "non-finite {name} = {} at step {}, t = {:.6}, {}",
                state.field(v)[i],
                state.step,
                state.t,
                where_(i)
            ));
        }
    }
    for i in 0..n {
        let g = state.metric(i);
        let d = crate::physics::tensor::det(&g);
        // Sylvester: all leading principal minors positive
        let minor2 = g[0] * g[3] - g[1] * g[1];
        if g[0] <= 0.0 || minor2 <= 0.0 || d <= 0.0 {
            return Some(format!(
                "the metric stopped being positive definite (leading minors g_xx = {:.3e}, {minor2:.3e}, det g = {d:.3e}) at step {}, t = {:.6}, {}",
                g[0],
                state.step,
                state.t,
                where_(i)
            ));
        }
        let lapse = state.data[var::LAPSE * n + i];
        if lapse <= 0.0 {
            return Some(format!(
                "the lapse collapsed (N = {lapse:.3e}) at step {}, t = {:.6}, {}",
                state.step,
                state.t,
                where_(i)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::lattice::Lattice;
    use crate::physics::initial_data::minkowski;

    #[test]
    fn health_check_names_field_site_step_and_time() {
        let mut s = minkowski(Lattice::new([4, 3, 2], 0.1));
        assert!(health_check(&s).is_none());
        s.step = 17;
        s.t = 0.425;
        let i = s.lattice.index(2, 1, 1);
        s.field_mut(var::PI + 4)[i] = f64::NAN;
        let msg = health_check(&s).unwrap();
        assert!(msg.contains("pi^yz") && msg.contains("(2, 1, 1)") && msg.contains("step 17") && msg.contains("0.425"), "{msg}");
        s.field_mut(var::PI + 4)[i] = 0.0;
        s.field_mut(var::LAPSE)[i] = -0.1;
        assert!(health_check(&s).unwrap().contains("lapse"));
        s.field_mut(var::LAPSE)[i] = 1.0;
        s.field_mut(var::G)[i] = -2.0; // g_xx = −1
        assert!(health_check(&s).unwrap().contains("positive definite"));
    }
}
