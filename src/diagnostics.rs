//! The diagnostics of SPEC §6, evaluated on the host from a downloaded state in float64 (with the CPU twin's
//! stencils), one row of the timeseries per output interval. Stencils act on δg (state.rs).
use crate::backend::cpu::constraints::{constraint_fields, norms, ConstraintNorms};
use crate::backend::cpu::fd::{gradient, hessian, Fd};
use crate::backend::StepperSetup;
use crate::physics::ricci::{ricci, SymDerivs};
use crate::physics::scalar_field;
use crate::physics::tensor::{contract, inverse, sandwich};
use crate::state::{var, State};
use rayon::prelude::*;

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
}

impl Diagnostics {
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
        ]
    }
}

/// The constraint fields of a snapshot (SPEC §7 `ham`, `mom`), site order of SPEC §1.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConstraintFields {
    pub ham: Vec<f64>,
    pub mom: [Vec<f64>; 3],
}

/// 𝓗 and 𝓗_a of a state on the host (CPU twin, f64).
pub fn constraint_field_values(state: &State, setup: &StepperSetup) -> ConstraintFields {
    let fd = Fd::<f64>::new(&setup.stencil, state.lattice.spacing, 0.0);
    let cf = constraint_fields(&fd, &state.lattice, &state.background, &state.data, setup.params.lambda, setup.params.mass);
    ConstraintFields {
        ham: cf.iter().map(|c| c.ham).collect(),
        mom: std::array::from_fn(|a| cf.iter().map(|c| c.mom[a]).collect()),
    }
}

#[derive(Default, Clone, Copy)]
struct Sums {
    sqrtg: f64,
    trace_k: f64,
    kin: f64,
    pot: f64,
    matter: f64,
    phi: f64,
}

pub fn diagnostics(state: &State, setup: &StepperSetup) -> Diagnostics {
    let lat = &state.lattice;
    let n = lat.sites();
    let fd = Fd::<f64>::new(&setup.stencil, lat.spacing, 0.0);
    let u = &state.data;
    let f = |v: usize| &u[v * n..(v + 1) * n];
    let dv = lat.cell_volume();
    let mass = setup.params.mass;
    let s = (0..n)
        .into_par_iter()
        .map(|i| {
            let c = lat.coords(i);
            let g = state.metric(i);
            let pi: [f64; 6] = std::array::from_fn(|k| u[(var::PI + k) * n + i]);
            let lapse = u[var::LAPSE * n + i];
            let (ginv, det) = inverse(&g);
            let sqrtg = det.sqrt();
            let trpi = contract(&pi, &g);
            let kin = (contract(&pi, &sandwich(&g, &pi)) - 0.5 * trpi * trpi) / sqrtg;
            let mut der = SymDerivs::<f64>::default();
            for k in 0..6 {
                let gg = gradient(&fd, lat, f(var::G + k), c);
                let hh = hessian(&fd, lat, f(var::G + k), c);
                for a in 0..3 {
                    der.d[a][k] = gg[a];
                }
                for p in 0..6 {
                    der.dd[p][k] = hh[p];
                }
            }
            let (ric, _) = ricci(&ginv, &der);
            let dphi = gradient(&fd, lat, f(var::PHI), c);
            let phi = u[var::PHI * n + i];
            let rho = scalar_field::energy_density(&ginv, sqrtg, phi, u[var::PI_PHI * n + i], &dphi, mass);
            Sums {
                sqrtg,
                trace_k: -0.5 * trpi / sqrtg,
                kin: lapse * kin,
                pot: -lapse * sqrtg * contract(&ginv, &ric),
                matter: lapse * rho,
                phi,
            }
        })
        .reduce(Sums::default, |a, b| Sums {
            sqrtg: a.sqrtg + b.sqrtg,
            trace_k: a.trace_k + b.trace_k,
            kin: a.kin + b.kin,
            pot: a.pot + b.pot,
            matter: a.matter + b.matter,
            phi: a.phi + b.phi,
        });
    let cf = constraint_fields(&fd, lat, &state.background, u, setup.params.lambda, mass);
    let nn = n as f64;
    Diagnostics {
        t: state.t,
        step: state.step,
        a: (s.sqrtg / nn).cbrt(),
        hubble: s.trace_k / nn / 3.0,
        constraints: norms(&cf),
        e_kin_grav: s.kin * dv,
        e_pot_grav: s.pot * dv,
        e_matter: s.matter * dv,
        phi_mean: s.phi / nn,
        phi2_mean: 0.0,
        state_min_symplectic: f64::NAN,
        wall_per_step: 0.0,
    }
}

/// The first non-finite value or non-physical state (det g ≤ 0, N ≤ 0), as a message naming step, time,
/// field and site; `None` when the state is healthy.
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
                "non-finite {name} = {} at step {}, t = {:.6}, {}: the run became unstable (reduce time.courant, add \
                 gravity.dissipation, or raise the resolution)",
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
