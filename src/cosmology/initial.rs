//! Initial data with the quantum field's fluctuations (issue 13; docs/cosmology.md §2): the classical state of
//! physics/initial_data.rs, the representation's initial fluctuations — the instantaneous lattice Fock (adiabatic)
//! vacuum of the initial metric, optionally cut above |k| = k_cut (`initial.fluctuation_cutoff`, ensemble only) —
//! and, for FRW, the Hamiltonian constraint solved for the trace of π^ab with the fluctuations' energy included:
//!   𝓗 = G_abcd π^ab π^cd + 2Λ√g + ⟨Ĥ_m⟩ = 0  with g = a0²δ, π^ab = p δ^ab (R = 0)  ⇔  p = −2 a0 H0,
//!   H0² = (ρ̄ + ρ_fl + 2Λ)/6,  ρ̄ = ½φ̇² + V(φ̄),  ρ_fl = box mean of (⟨Ĥ_m⟩_ren − Ĥ_m(x̄))/√g.
//! ρ_fl is what the run's own diagnostics evaluate (the representation's `site_terms`): zero for the vacuum with
//! `vacuum` renormalisation (exactly for `dense`, `fourier` and the ensemble with its control variate; the sampling
//! error of the members otherwise), the zero-point energy of the kept modes with `none`. The constraint then holds
//! in the box mean exactly and at every site up to the representation's sampling error of ⟨Ĥ_m⟩; the momentum
//! constraint vanishes (homogeneous π^ab and mean field, parity-even fluctuations).
use crate::backend::quantum::representation;
use crate::backend::StepperSetup;
use crate::config::{Config, InitialKind, Representation};
use crate::numerics::fft::LatticeFft;
use crate::numerics::lattice::Lattice;
use crate::physics::initial_data::{hubble_from_density, mean_field_density};
use crate::physics::potential::effective_mass2;
use crate::state::{var, QuantumData, State};
use anyhow::Context;
use num_complex::Complex64;
use rayon::prelude::*;

/// The initial state of a run: classical fields, the quantum field's fluctuations (empty for `none`), and the FRW
/// momentum from the Hamiltonian constraint with the fluctuations' energy.
pub fn initial_state(cfg: &Config) -> anyhow::Result<State> {
    let mut state = crate::physics::initial_data::initial_state(cfg);
    if cfg.matter.representation == Representation::None {
        return Ok(state);
    }
    let setup = StepperSetup::from_config(cfg).with_background_of(&state);
    state.quantum = initial_fluctuations(cfg, &setup, &state).context("setting up the quantum field's initial fluctuations")?;
    if cfg.initial.kind == InitialKind::Frw {
        let rho_fl = fluctuation_density(&setup, &state)?;
        let rho = mean_field_density(cfg, cfg.initial.phi, cfg.initial.phi_dot) + rho_fl;
        let lambda = cfg.gravity.cosmological_constant;
        // a vacuum's renormalised ρ_fl is zero up to round-off (−3e-17 for the dense default example): H² that is
        // negative only at that level is a static start (H = 0), not an error
        let round_off = 1e-12 * (rho - rho_fl).abs().max(2.0 * lambda.abs()).max(1.0);
        let rho = if rho + 2.0 * lambda < 0.0 && rho + 2.0 * lambda > -round_off { -2.0 * lambda } else { rho };
        anyhow::ensure!(
            rho + 2.0 * lambda >= 0.0,
            "the FRW initial data has no real Hubble rate: H² = (ρ + 2Λ)/6 < 0 with the mean field's ρ = {} and the \
             fluctuations' renormalised ρ_fl = {rho_fl} (docs/cosmology.md §2)",
            rho - rho_fl
        );
        let h0 = hubble_from_density(rho, lambda);
        let a0 = cfg.initial.scale_factor;
        let n = state.lattice.sites();
        for k in [0, 3, 5] {
            state.data[(var::PI + k) * n..(var::PI + k + 1) * n].iter_mut().for_each(|p| *p = -2.0 * a0 * h0);
        }
    }
    Ok(state)
}

/// The box mean of the fluctuations' renormalised energy density per unit proper volume, (⟨Ĥ_m⟩_ren − Ĥ_m(x̄))/√g,
/// as the run's diagnostics evaluate it.
pub fn fluctuation_density(setup: &StepperSetup, state: &State) -> anyhow::Result<f64> {
    let Some(q) = representation(setup).site_terms(setup, state)? else { return Ok(0.0) };
    let n = q.len() as f64;
    Ok((0..q.len()).map(|i| q[i].rho / crate::physics::tensor::det(&state.metric(i)).sqrt()).sum::<f64>() / n)
}

/// The representation's initial arrays: the lattice vacuum of the initial metric (for the ensemble with a
/// non-quadratic potential, of the effective mass V″(φ̄0)), cut at `initial.fluctuation_cutoff` (ensemble only).
pub fn initial_fluctuations(cfg: &Config, setup: &StepperSetup, state: &State) -> anyhow::Result<QuantumData> {
    let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("a quantum representation without its parameters"))?;
    let lat = setup.lattice;
    match cfg.matter.representation {
        Representation::None => Ok(QuantumData::default()),
        Representation::Dense => {
            let g = crate::backend::cpu::dense_field::initial_gamma(setup, q.mass, state)?;
            Ok(crate::backend::cpu::dense_field::gamma_data(g, lat.sites()))
        }
        Representation::Fourier => {
            let m = crate::backend::cpu::fourier_field::initial_modes(setup, q.mass, state)?;
            Ok(crate::backend::cpu::fourier_field::modes_data(m, lat.shape))
        }
        Representation::Ensemble => {
            use crate::backend::cpu::ensemble_field::{ensemble_data, initial_control_variate, initial_members};
            // the sampled vacuum: of m² + U″(φ̄0) (the fluctuations' mass about the initial mean field)
            let phi0 = state.field(var::PHI).iter().sum::<f64>() / lat.sites() as f64;
            let m2 = effective_mass2(q.mass, &setup.params.potential, phi0);
            anyhow::ensure!(
                m2 > 0.0,
                "the fluctuations' effective mass² V″(φ̄0) = m² + U″(φ̄0) = {m2} is not positive: the lattice vacuum of the \
                 k = 0 mode does not exist (tachyonic or massless at the initial mean field)"
            );
            let mut sampling = *setup;
            if let Some(sq) = sampling.quantum.as_mut() {
                sq.mass = m2.sqrt();
            }
            let mut d = initial_members(&sampling, state)?;
            let cv = if setup.ensemble.control_variate {
                let (_, reference) = initial_control_variate(&sampling, state, &d)?;
                Some(reference.modes().to_vec())
            } else {
                None
            };
            let kc = cfg.initial.fluctuation_cutoff;
            let members = setup.ensemble.members;
            let mut cv = cv;
            if kc > 0.0 {
                cut_members(&lat, &mut d, members, kc);
                if let Some(r) = cv.as_mut() {
                    cut_modes(&lat, r, kc);
                }
            }
            // at the start the shadows are the members themselves
            Ok(ensemble_data(d.clone(), cv.map(|r| (d, r)), lat.shape, lat.shape, members))
        }
    }
}

/// Zeroes the members' Fourier modes with |k| > k_cut (φ and π rows; the member-minor layout of numerics/member_ops.rs).
pub fn cut_members(lat: &Lattice, d: &mut [f64], members: usize, kc: f64) {
    let n = lat.sites();
    let fft = LatticeFft::new(lat);
    let keep: Vec<bool> = (0..n).map(|k| crate::spectra::shells::momentum_magnitude(lat, k) <= kc).collect();
    let cols: Vec<(usize, usize, Vec<f64>)> = (0..2 * members)
        .into_par_iter()
        .map(|c| {
            let (f, s) = (c / members, c % members);
            let mut z: Vec<Complex64> = (0..n).map(|x| Complex64::new(d[(f * n + x) * members + s], 0.0)).collect();
            fft.forward(&mut z);
            for (v, k) in z.iter_mut().zip(&keep) {
                if !k {
                    *v = Complex64::default();
                }
            }
            fft.inverse(&mut z);
            (f, s, z.iter().map(|v| v.re / n as f64).collect())
        })
        .collect();
    for (f, s, col) in cols {
        for (x, v) in col.into_iter().enumerate() {
            d[(f * n + x) * members + s] = v;
        }
    }
}

/// Zeroes the per-momentum covariances (3 per momentum) with |k| > k_cut.
pub fn cut_modes(lat: &Lattice, modes: &mut [f64], kc: f64) {
    for k in 0..lat.sites() {
        if crate::spectra::shells::momentum_magnitude(lat, k) > kc {
            modes[3 * k..3 * k + 3].iter_mut().for_each(|v| *v = 0.0);
        }
    }
}
