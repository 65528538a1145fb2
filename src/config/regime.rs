//! The regime a run with a quantum field is in, told before it runs (issue 12; docs/quantum.md R1–R3): the physical
//! timescales of physics/cq_regime.rs at the initial state — printed by `cqgrav check` and at the start of
//! `cqgrav run` — with warnings where the run leaves the regime in which the Gaussian state and the time step are
//! valid, and a refusal where the Gaussian state certainly cannot follow the run to its end.
use super::{fmt_num, Config, Problem, Representation, Review};
use crate::numerics::jets::JetMap;
use crate::numerics::stencil::Stencil;
use crate::physics::cq_noise::gnorm_rate;
use crate::physics::cq_regime::{noise_to_momentum, site_step_strength, Heating, HeatingModel};
use crate::physics::gaussian_forms::{QuantumParams, SiteCoeffs, SiteGeometry};

/// Heating e-folds N = r·t_end up to which the Gaussian closure agrees with the exact single-site reference to
/// within 10 % of the coupling's effect (the validity map of docs/quantum.md R4).
pub const EFOLDS_AGREE: f64 = 0.1;
/// N above which the closure error in the validity map is a large fraction of the coupling's effect (ratio 0.36 –
/// 0.69 at N = 1.5, 1.00 at N = 6): the conditioned state is no longer Gaussian.
pub const EFOLDS_QUALITATIVE: f64 = 1.0;
/// The least N (from the lower bound of the heating rate) at which a run is refused: by then the field's mean
/// energy has grown by at least e³ ≈ 20 and the Gaussian state does not represent the conditioned state.
pub const EFOLDS_MAX: f64 = 3.0;
/// Sub-steps per step at the start above which `cqgrav check` warns about the cost.
const PIECES_WARN: f64 = 64.0;

/// The timescales of a run (docs/quantum.md R1, R2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regime {
    pub heating: Heating,
    pub t_end: f64,
    pub dt: f64,
    /// rms metric noise |δπ|_g per site accumulated by t_end over the background |π|_g (∞ for π = 0)
    pub noise_ratio: f64,
    /// ρ·dt at the initial state (the drift's stiffness over one step)
    pub drift_strength: f64,
    /// c̄² = dt·tr(pΓ_loc): the expected squared conditioning strength of one step at the initial state
    pub conditioning_strength: f64,
    /// the vacuum's energy density Σ_k ½Nω_k/(nΔV) and the background's 6H²
    pub rho_vacuum: f64,
    pub rho_background: f64,
    /// τ (`cq.substep_tolerance`)
    pub tolerance: f64,
    /// whether the representation sub-steps with the controller (`dense`)
    pub substeps: bool,
    /// whether the metric is frozen (`cq.frozen_drift`: no back-reaction on it)
    pub frozen: bool,
}

/// The largest (ρ·dt, c̄²) over the sites of `state` ([`site_step_strength`]). A homogeneous start (metric,
/// lapse and mean field the same at every site, so the jets are (0, 0, 0, φ̄, π̄)) is evaluated at one site;
/// otherwise every site, in O(1) memory per thread, a site whose metric, lapse and jets equal its predecessor's
/// reusing its value.
fn max_step_strength(state: &crate::state::State, stencil: &Stencil, loc: &crate::numerics::jets::Mat5, params: &QuantumParams, dt: f64) -> (f64, f64) {
    use crate::numerics::jets::{J_PHI, J_PI};
    use crate::state::var;
    use rayon::prelude::*;
    let n = state.lattice.sites();
    let dv = state.lattice.cell_volume();
    let lapse = state.field(var::LAPSE);
    let xbar = &state.data[var::PHI * n..(var::PI_PHI + 1) * n];
    let same = |v: usize| state.field(v).iter().all(|&a| a == state.field(v)[0]);
    if (var::G..var::G + 6).chain([var::LAPSE, var::PHI, var::PI_PHI]).all(same) {
        let mut y = [0.0; 5];
        (y[J_PHI], y[J_PI]) = (xbar[0], xbar[n]);
        return site_step_strength(&SiteCoeffs::new(SiteGeometry::new(&state.metric(0), lapse[0]), params, dv), loc, &y, dt);
    }
    let jets = JetMap::new(&state.lattice, stencil);
    (0..n)
        .into_par_iter()
        .with_min_len(1 << 14)
        .fold(
            || (None::<([f64; 12], (f64, f64))>, (0.0f64, 0.0f64)),
            |(last, acc), x| {
                let (g, y) = (state.metric(x), jets.jets_at(xbar, x));
                let key: [f64; 12] = std::array::from_fn(|i| if i < 6 { g[i] } else if i == 6 { lapse[x] } else { y[i - 7] });
                let v = match last {
                    Some((k, v)) if k == key => v,
                    _ => site_step_strength(&SiteCoeffs::new(SiteGeometry::new(&g, lapse[x]), params, dv), loc, &y, dt),
                };
                (Some((key, v)), (acc.0.max(v.0), acc.1.max(v.1)))
            },
        )
        .map(|(_, acc)| acc)
        .reduce(|| (0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}

impl Regime {
    /// The timescales of `cfg` at its initial state; None without a quantum field or CQ coupling (or when the
    /// configuration's values do not allow them: the value checks report that).
    pub fn of(cfg: &Config) -> Option<Regime> {
        if cfg.matter.representation == Representation::None || cfg.cq.diffusion <= 0.0 {
            return None;
        }
        let lat = cfg.lattice();
        let stencil = Stencil::new(cfg.gravity.fd_order);
        let state = crate::physics::initial_data::initial_state(cfg);
        let n = lat.sites();
        let mean = |v: usize| state.field(v).iter().sum::<f64>() / n as f64;
        let gbar: [f64; 6] = std::array::from_fn(|k| state.background[k] + mean(crate::state::var::G + k));
        let pibar: [f64; 6] = std::array::from_fn(|k| mean(crate::state::var::PI + k));
        let lapse = mean(crate::state::var::LAPSE);
        let params = QuantumParams {
            mass: cfg.matter.mass,
            diffusion: cfg.cq.diffusion,
            beta: cfg.cq.beta,
            decoherence_excess: cfg.cq.decoherence_excess,
            renormalize: true,
        };
        let hm = HeatingModel::new(&lat, &stencil, &gbar, lapse, &params);
        let heating = hm.heating();
        let dv = lat.cell_volume();
        let loc = crate::physics::lattice_vacuum::vacuum_jet_covariance(&lat, &stencil, &gbar, params.mass).ok()?;
        let (omegas, _) = crate::physics::lattice_vacuum::frequencies(&lat, &stencil, &gbar, params.mass).ok()?;
        let dt = cfg.dt();
        let (drift_strength, conditioning_strength) = max_step_strength(&state, &stencil, &loc, &params, dt);
        let t_end = cfg.n_steps() as f64 * dt;
        // H = ⟨K⟩/3 with K = −π/(2√g), π = g_ab π^ab: the background's energy density 6H² (H² = ρ/6)
        let sqrtg = crate::physics::tensor::det(&gbar).sqrt();
        let hubble = -crate::physics::tensor::contract(&pibar, &gbar) / (2.0 * sqrtg) / 3.0;
        Some(Regime {
            heating,
            t_end,
            dt,
            noise_ratio: noise_to_momentum(params.diffusion, gnorm_rate(params.beta, cfg.cq.noise), lapse, &gbar, &pibar, dv, t_end),
            drift_strength,
            conditioning_strength,
            rho_vacuum: omegas.iter().map(|w| 0.5 * lapse * w).sum::<f64>() / (n as f64 * dv),
            rho_background: 6.0 * hubble * hubble,
            tolerance: cfg.cq.substep_tolerance,
            substeps: cfg.matter.representation == Representation::Dense,
            frozen: cfg.cq.frozen_drift,
        })
    }

    /// N = r·t_end with the fastest mode's rate (the bound from above).
    pub fn efolds(&self) -> f64 {
        self.heating.rate * self.t_end
    }
    /// N with the bound from below.
    pub fn efolds_min(&self) -> f64 {
        self.heating.rate_min * self.t_end
    }
    /// The strength of one step, max(ρ·dt, c̄²), which the controller compares with τ.
    pub fn step_strength(&self) -> f64 {
        self.drift_strength.max(self.conditioning_strength)
    }
    /// Pieces per step the controller takes at the start: the smallest 2^L with strength/2^L ≤ τ.
    pub fn pieces_at_start(&self) -> f64 {
        let ratio = self.step_strength() / self.tolerance;
        if ratio <= 1.0 {
            1.0
        } else {
            ratio.log2().ceil().exp2()
        }
    }
    /// The largest time step the controller takes unrefined at the start (both strengths scale as dt).
    pub fn dt_unrefined(&self) -> f64 {
        self.dt * self.tolerance / self.step_strength()
    }
    /// The heat the decoherence deposits by t_end, ρ_vac(e^N − 1), over the background's energy density.
    pub fn heat_to_background(&self) -> f64 {
        self.rho_vacuum * self.efolds().exp_m1() / self.rho_background
    }

    /// The lines `cqgrav check` and `cqgrav run` print.
    pub fn lines(&self) -> Vec<String> {
        let h = &self.heating;
        let noise = if self.noise_ratio.is_finite() {
            format!("{} of the background momentum |π|_g", fmt_num(self.noise_ratio))
        } else {
            "the background has no momentum (|π|_g = 0)".to_string()
        };
        let heat = if self.rho_background > 0.0 {
            format!("{} × the background energy density 6H²", fmt_num(self.heat_to_background()))
        } else {
            format!("{} per unit volume", fmt_num(self.rho_vacuum * self.efolds().exp_m1()))
        };
        vec![
            format!(
                "regime      decoherence heating r = {} per unit time (fastest mode ω = {}; highest ω = {}; slowest bound {}): \
                 N = r·t_end = {} e-folds by t = {}, heat ≈ {heat}",
                fmt_num(h.rate),
                fmt_num(h.omega),
                fmt_num(h.omega_max),
                fmt_num(h.rate_min),
                fmt_num(self.efolds()),
                fmt_num(self.t_end)
            ),
            format!("            metric noise by t_end: rms |δπ|_g per site = {noise}"),
            if self.substeps {
                format!(
                    "            one step: drift stiffness ρ·dt = {}, conditioning c̄² = {} against τ = {}: {} quantum sub-step{} \
                     per step at the start (none below dt = {})",
                    fmt_num(self.drift_strength),
                    fmt_num(self.conditioning_strength),
                    self.tolerance,
                    fmt_num(self.pieces_at_start()),
                    if self.pieces_at_start() == 1.0 { "" } else { "s" },
                    fmt_num(self.dt_unrefined())
                )
            } else {
                format!(
                    "            one step: drift stiffness ρ·dt = {}, conditioning c̄² = {} (the Gaussian update of one step \
                     is valid well below 1)",
                    fmt_num(self.drift_strength),
                    fmt_num(self.conditioning_strength)
                )
            },
        ]
    }

    /// The warnings and the refusal of this regime.
    pub fn review(&self, r: &mut Review) {
        let lower = "lower N: raise cq.diffusion (r ∝ 1/D2) or lattice.spacing (r ∝ 1/ΔV at fixed m·h), or lower \
                     matter.mass, cq.beta (r ∝ 1/(1 − 3β)) or time.t_end; time.dt does not change N";
        let (n, nmin) = (self.efolds(), self.efolds_min());
        if nmin > EFOLDS_MAX {
            r.problems.push(Problem::new(
                "cq.diffusion",
                format!(
                    "the quantum field cannot be followed to t_end = {}: the decoherence heats it by at least N = {} e-folds \
                     (its mean energy grows by a factor ≥ e^N; heating rate {} to {} per unit time), and the Gaussian \
                     state stops representing the conditioned state long before (the validity map of docs/quantum.md R4 \
                     finds the closure error at 36–69 % of the coupling's effect at N = 1.5 and equal to it at N = 6; the \
                     limit is N = {}); \
                     {lower}",
                    fmt_num(self.t_end),
                    fmt_num(nmin),
                    fmt_num(self.heating.rate_min),
                    fmt_num(self.heating.rate),
                    EFOLDS_MAX
                ),
            ));
            return;
        }
        if n > EFOLDS_AGREE {
            let how = if n > EFOLDS_QUALITATIVE {
                "the closure error becomes comparable to the coupling's effect: the conditioned quantum state is not Gaussian and the results are qualitative"
            } else {
                "the closure error exceeds 10 % of the coupling's effect (10–33 % at N ≈ 0.4)"
            };
            r.warnings.push(format!(
                "the decoherence heats the quantum field by up to N = r·t_end = {} e-folds by t_end (rate ≤ {} per unit \
                 time): beyond N ≈ {EFOLDS_AGREE} {how} (validity map, docs/quantum.md R4); {lower}",
                fmt_num(n),
                fmt_num(self.heating.rate)
            ));
        }
        if !self.frozen && self.heat_to_background() > 1.0 && self.rho_background > 0.0 {
            r.warnings.push(format!(
                "the heat the decoherence deposits in the quantum field by t_end, ≈ ρ_vac(e^N − 1) = {} per unit volume, \
                 exceeds the background energy density 6H² = {}: its back-reaction will dominate the metric's evolution",
                fmt_num(self.rho_vacuum * n.exp_m1()),
                fmt_num(self.rho_background)
            ));
        }
        if !self.substeps && self.step_strength() > 0.25 {
            r.warnings.push(format!(
                "one step's quantum update has strength {} (drift stiffness ρ·dt, conditioning c̄²) at the start, and \
                 this representation does not sub-step: its Gaussian update is accurate only well below 1; reduce time.dt \
                 (below about {})",
                fmt_num(self.step_strength()),
                fmt_num(self.dt * 0.05 / self.step_strength())
            ));
        }
        if self.substeps && self.pieces_at_start() > PIECES_WARN {
            r.warnings.push(format!(
                "the quantum update needs about {} sub-steps per step from the start (one step's strength {} is {} × \
                 cq.substep_tolerance): the run will be slow; time.dt ≤ {} needs none",
                fmt_num(self.pieces_at_start()),
                fmt_num(self.step_strength()),
                fmt_num(self.step_strength() / self.tolerance),
                fmt_num(self.dt_unrefined())
            ));
        }
    }
}
