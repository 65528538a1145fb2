//! Spectra of a state (SPEC §11; issue 13; docs/cosmology.md §4 states every formula and convention). One
//! [`SpectraCalculator`] per run (shells, FFT plans, stencil symbols); [`SpectraCalculator::compute`] evaluates all
//! spectra of a host state, for either backend (a GPU run downloads its state: the documented CPU fallback).
//!
//! Every spectrum is a per-shell number S_j (shells.rs). "shell sum" spectra are S_j = (1/n²) Σ_{k∈j} P_k with
//! P_k = ⟨|δf̃_k|²⟩, so Σ_j S_j = ⟨δf²⟩ (box mean); "shell mean" spectra average a per-mode quantity over the shell.
//!
//! | name | f, per mode | kind |
//! | --- | --- | --- |
//! | `phi` | δφ = φ̂ − ⟨φ̄⟩_box: the mean field's inhomogeneity |δφ̄̃_k|² plus the quantum part ⟨|δφ̃_k|²⟩ | sum |
//! | `pi_phi` | the same for π_φ | sum |
//! | `occupation` | n_k = (ΔV/2ω_k)(P^π_k/(n√ḡ) + √ḡ ω_k² P^φ_k/n) − ½, ω_k² = ḡ^ab σ_aσ_b + V″(⟨φ̄⟩) | mean |
//! | `sqrtg` | δ√g/⟨√g⟩ | sum |
//! | `trace_pi` | δ(g_ab π^ab) | sum |
//! | `h_tt` | Σ_ab |(Λh̃)_ab|², h_ab = g_ab/a², a = ⟨√g⟩^{1/3} | sum |
//! | `gw_energy` | ρ_GW per shell: ½ Σ_ab |(Λḣ̃)_ab|², ḣ_ab = (∂t g_ab − 2H g_ab)/a² (units 16πG = 1: ρ_GW = ⟨ḣ_ab ḣ_ab⟩/(32πG)) | sum |
//! | `omega_gw` | `gw_energy`/ρ_c, ρ_c = 6H² (NaN unless ρ_c > ρ_GW: no expanding background) | sum |
pub mod modes;
pub mod quantum;
pub mod shells;

use crate::backend::StepperSetup;
use crate::numerics::fft::LatticeFft;
use crate::physics::potential::effective_mass2;
use crate::physics::tensor::{contract, inverse, sandwich, Sym, SYM};
use crate::state::{var, State};
use rayon::prelude::*;
use shells::Shells;

/// How a spectrum is normalised per shell (the `normalisation` attribute of its dataset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// S_j = (1/n²) Σ_{k∈j} ⟨|δf̃_k|²⟩; Σ_j S_j = ⟨δf²⟩ (box mean)
    ShellSum,
    /// the mean over the shell's modes
    ShellMean,
}

/// One spectrum: its dataset name under `/spectra`, what it is, and its normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpectrumInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
}

/// The spectra a run writes, in this order.
pub const SPECTRA: [SpectrumInfo; 8] = [
    SpectrumInfo { name: "phi", description: "S_j = (1/n^2) sum_{k in shell j} <|dphi_k|^2>, dphi = phi - <phi>_box (mean-field inhomogeneity + quantum fluctuations); sum_j S_j = <dphi^2> box mean", kind: Kind::ShellSum },
    SpectrumInfo { name: "pi_phi", description: "S_j = (1/n^2) sum_{k in shell j} <|dpi_phi_k|^2> (density of weight one), as phi", kind: Kind::ShellSum },
    SpectrumInfo { name: "occupation", description: "shell mean of the adiabatic occupation n_k = (dV/(2 w_k)) (P^pi_k/(n sqrt(gbar)) + sqrt(gbar) w_k^2 P^phi_k/n) - 1/2, w_k^2 = gbar^ab s_a s_b + V''(<phi>) with the stencil symbols s_a (NaN where w_k^2 <= 0)", kind: Kind::ShellMean },
    SpectrumInfo { name: "sqrtg", description: "S_j of d(sqrt g)/<sqrt g>: the scalar volume perturbation", kind: Kind::ShellSum },
    SpectrumInfo { name: "trace_pi", description: "S_j of d(g_ab pi^ab) (K = -g_ab pi^ab/(2 sqrt g))", kind: Kind::ShellSum },
    SpectrumInfo { name: "h_tt", description: "S_j of the transverse-traceless part of h_ab = g_ab/a^2, summed over all nine ab", kind: Kind::ShellSum },
    SpectrumInfo { name: "gw_energy", description: "gravitational-wave energy density per shell: (1/2) S_j of the TT part of dh_ab/dt = (dg_ab/dt - 2 H g_ab)/a^2 (rho_GW = <hdot_ab hdot_ab>/(32 pi G), 16 pi G = 1); sum_j = rho_GW", kind: Kind::ShellSum },
    SpectrumInfo { name: "omega_gw", description: "gw_energy / rho_c, rho_c = 6 H^2 (H^2 = rho/6); sum_j = Omega_GW; NaN unless rho_c > rho_GW (no expanding background, e.g. Minkowski)", kind: Kind::ShellSum },
];

/// The spectra of one state: per-row scalars and one array per [`SPECTRA`] entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectra {
    pub t: f64,
    pub step: u64,
    /// a = ⟨√g⟩^{1/3}
    pub a: f64,
    /// H = ⟨K⟩/3 (the timeseries' `hubble`)
    pub hubble: f64,
    /// values[i][j]: spectrum SPECTRA[i], shell j
    pub values: Vec<Vec<f64>>,
}

impl Spectra {
    /// The spectrum called `name`.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        SPECTRA.iter().position(|s| s.name == name).map(|i| self.values[i].as_slice())
    }
    /// The row written to `/spectra`: the scalars then every spectrum (one value per shell: a 2-D column).
    pub fn row(&self) -> Vec<(&'static str, Vec<f64>, bool)> {
        let mut r = vec![("t", vec![self.t], false), ("step", vec![self.step as f64], false), ("a", vec![self.a], false), ("hubble", vec![self.hubble], false)];
        r.extend(SPECTRA.iter().zip(&self.values).map(|(s, v)| (s.name, v.clone(), true)));
        r
    }
}

/// Everything fixed for a run's spectra.
pub struct SpectraCalculator {
    pub setup: StepperSetup,
    pub shells: Shells,
    fft: LatticeFft,
    symbols: [Vec<f64>; 3],
}

impl SpectraCalculator {
    pub fn new(setup: &StepperSetup) -> Self {
        let lat = setup.lattice;
        Self {
            setup: *setup,
            shells: Shells::new(&lat),
            fft: LatticeFft::new(&lat),
            symbols: crate::physics::lattice_vacuum::symbols(&lat, &setup.stencil),
        }
    }

    /// All spectra of a host state (its quantum arrays through the representation's `mode_power`).
    pub fn compute(&self, state: &State) -> anyhow::Result<Spectra> {
        let lat = state.lattice;
        let n = lat.sites();
        let nf = n as f64;
        let metric: Vec<Sym<f64>> = (0..n).map(|i| state.metric(i)).collect();
        let geo: Vec<(Sym<f64>, f64)> = metric.par_iter().map(|g| inverse(g)).map(|(gi, det)| (gi, det.sqrt())).collect();
        let pi = |i: usize| -> Sym<f64> { std::array::from_fn(|k| state.data[(var::PI + k) * n + i]) };
        let sqrtg: Vec<f64> = geo.iter().map(|g| g.1).collect();
        let sqrtg_mean = sqrtg.iter().sum::<f64>() / nf;
        let a = sqrtg_mean.cbrt();
        let a2 = a * a;
        let trpi: Vec<f64> = (0..n).map(|i| contract(&pi(i), &metric[i])).collect();
        let hubble = (0..n).map(|i| -0.5 * trpi[i] / sqrtg[i]).sum::<f64>() / nf / 3.0;

        // the scalar field: mean-field inhomogeneity + the quantum part
        let mut p_phi = modes::fluctuation_power(&self.fft, state.field(var::PHI));
        let mut p_pi = modes::fluctuation_power(&self.fft, state.field(var::PI_PHI));
        if let Some(q) = crate::backend::quantum::representation(&self.setup).mode_power(&self.setup, state)? {
            p_phi.iter_mut().zip(&q.phi).for_each(|(p, v)| *p += v);
            p_pi.iter_mut().zip(&q.pi).for_each(|(p, v)| *p += v);
        }
        let gbar = state.box_mean_metric();
        let (gbar_inv, det_bar) = inverse(&gbar);
        let sqrt_gbar = det_bar.sqrt();
        let phi_mean = state.field(var::PHI).iter().sum::<f64>() / nf;
        let m2 = effective_mass2(self.setup.params.mass, &self.setup.params.potential, phi_mean);
        let dv = lat.cell_volume();
        let occ: Vec<f64> = (0..n)
            .map(|k| {
                let j = lat.coords(k);
                let s = [self.symbols[0][j[0]], self.symbols[1][j[1]], self.symbols[2][j[2]]];
                let mut w2 = m2;
                for x in 0..3 {
                    for y in 0..3 {
                        w2 += gbar_inv[SYM[x][y]] * s[x] * s[y];
                    }
                }
                if w2 <= 0.0 {
                    return f64::NAN;
                }
                let w = w2.sqrt();
                dv / (2.0 * w) * (p_pi[k] / (nf * sqrt_gbar) + sqrt_gbar * w2 * p_phi[k] / nf) - 0.5
            })
            .collect();

        // the metric's scalars
        let rel: Vec<f64> = sqrtg.iter().map(|s| s / sqrtg_mean).collect();
        let p_sqrtg = modes::fluctuation_power(&self.fft, &rel);
        let p_trpi = modes::fluctuation_power(&self.fft, &trpi);

        // tensors: h_ab = g_ab/a², ḣ_ab = (∂t g_ab − 2H g_ab)/a², ∂t g_ab = (2N/√g)(π_ab − ½ g_ab π) (SPEC §2)
        let h: [Vec<f64>; 6] = std::array::from_fn(|c| metric.iter().map(|g| g[c] / a2).collect());
        let hdot_sites: Vec<Sym<f64>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let g = &metric[i];
                let p = pi(i);
                let low = sandwich(g, &p);
                let lapse = state.data[var::LAPSE * n + i];
                std::array::from_fn(|c| (2.0 * lapse / sqrtg[i] * (low[c] - 0.5 * g[c] * trpi[i]) - 2.0 * hubble * g[c]) / a2)
            })
            .collect();
        let hdot: [Vec<f64>; 6] = std::array::from_fn(|c| hdot_sites.iter().map(|v| v[c]).collect());
        let p_htt = modes::tt_power(&self.fft, &lat, &self.symbols, &h);
        let p_hdot = modes::tt_power(&self.fft, &lat, &self.symbols, &hdot);

        let sh = &self.shells;
        let gw: Vec<f64> = sh.shell_sums(&p_hdot).into_iter().map(|v| 0.5 * v).collect();
        let rho_c = 6.0 * hubble * hubble;
        // Ω_GW needs an expanding background whose critical density holds the GWs' own energy (Σ_j Ω_GW ≤ 1 by the
        // Hamiltonian constraint): NaN otherwise (Minkowski, where H is round-off)
        let defined = rho_c > gw.iter().sum::<f64>();
        let omega: Vec<f64> = gw.iter().map(|v| if defined { v / rho_c } else { f64::NAN }).collect();
        let values = vec![
            sh.shell_sums(&p_phi),
            sh.shell_sums(&p_pi),
            sh.shell_means(&occ),
            sh.shell_sums(&p_sqrtg),
            sh.shell_sums(&p_trpi),
            sh.shell_sums(&p_htt),
            gw,
            omega,
        ];
        Ok(Spectra { t: state.t, step: state.step, a, hubble, values })
    }
}
