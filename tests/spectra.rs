//! Spectra (SPEC §11; issue 13 acceptance 1; docs/cosmology.md §4): each against an independent calculation —
//! a Gaussian random field synthesised from plane waves (no FFT) with a known spectrum, the lattice Fock vacuum's
//! P_δφ(k) = n/(2ω_k a³ΔV) with ω_k from the stencil's coefficients written out here, the linear gravitational wave's
//! ρ_GW = ½A²k² and Ω_GW = ρ_GW/(6H²), and Parseval (Σ_j S_j = box mean of δf²).
mod common;
use cqgrav::backend::StepperSetup;
use cqgrav::config::load_text;
use cqgrav::numerics::lattice::Lattice;
use cqgrav::spectra::SpectraCalculator;
use cqgrav::state::{var, State};
use std::f64::consts::PI;

fn config(text: &str) -> cqgrav::config::Config {
    load_text("test", text, &[]).unwrap().config
}

/// The centred integer momentum j (j_a ∈ (−N_a/2, N_a/2]) of mode index k, written out independently of the code.
fn centred(lat: &Lattice, k: usize) -> [i64; 3] {
    let [n1, n2, _] = lat.shape;
    let j = [k % n1, (k / n1) % n2, k / (n1 * n2)];
    std::array::from_fn(|a| {
        let n = lat.shape[a] as i64;
        let c = j[a] as i64;
        if 2 * c > n {
            c - n
        } else {
            c
        }
    })
}

fn kvec(lat: &Lattice, k: usize) -> [f64; 3] {
    let j = centred(lat, k);
    std::array::from_fn(|a| 2.0 * PI * j[a] as f64 / (lat.shape[a] as f64 * lat.spacing))
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Shell j = round(|k|/Δk), Δk = 2π/(max_a N_a h) (SPEC §11).
fn shell_of(lat: &Lattice, k: usize) -> usize {
    let dk = 2.0 * PI / (lat.shape.iter().copied().max().unwrap() as f64 * lat.spacing);
    (norm(kvec(lat, k)) / dk).round() as usize
}

const FLAT_NONE: &str = r#"
[lattice]
shape = [12, 10, 8]
spacing = 0.5
[time]
dt = 0.01
steps = 1
[initial]
kind = "minkowski"
[matter]
mass = 1.0
representation = "none"
[output]
file = "run.h5"
"#;

/// A Gaussian random field φ(x) = Σ_pairs (a_k cos k·x + b_k sin k·x), a_k, b_k ~ N(0, σ²(|k|)) (one real amplitude
/// for a self-conjugate k ≡ −k), built site by site from plane waves: its shell sums S_j have the expectation
/// Σ_{pairs in j} σ² and the variance Σ_pairs σ⁴ (2σ⁴ for a self-conjugate mode). Over 24 realisations every shell is
/// within 4.5σ of it (the total over all shells within 4σ), and Parseval holds to round-off in every realisation.
#[test]
fn gaussian_field_with_a_known_spectrum() {
    let cfg = config(FLAT_NONE);
    let state0 = cqgrav::physics::initial_data::initial_state(&cfg);
    let lat = state0.lattice;
    let n = lat.sites();
    let setup = StepperSetup::from_config(&cfg).with_background_of(&state0);
    let calc = SpectraCalculator::new(&setup);
    let sigma2 = |kk: f64| 0.7 * (-kk * kk / 8.0).exp() / (1.0 + kk);
    // one representative of every pair {k, −k}; self-conjugate modes alone; k = 0 left out (the mean is removed)
    let mut reps = Vec::new();
    for k in 1..n {
        let kv = centred(&lat, k);
        let neg: Vec<usize> = (0..n).filter(|&q| (0..3).all(|a| (centred(&lat, q)[a] + kv[a]).rem_euclid(lat.shape[a] as i64) == 0)).collect();
        let partner = neg[0];
        if partner >= k {
            reps.push((k, partner == k));
        }
    }
    let shells = calc.shells.len();
    let (mut expect, mut var) = (vec![0.0; shells], vec![0.0; shells]);
    for &(k, selfconj) in &reps {
        let s2 = sigma2(norm(kvec(&lat, k)));
        let j = shell_of(&lat, k);
        expect[j] += s2;
        var[j] += if selfconj { 2.0 * s2 * s2 } else { s2 * s2 };
    }
    let mut rng = common::Rng(0x5eed_1234_abcd);
    let mut gauss = || {
        let (u1, u2) = (rng.uniform().max(1e-300), rng.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    };
    let real = 24;
    let mut mean = vec![0.0; shells];
    for _ in 0..real {
        let mut phi = vec![0.0; n];
        for &(k, selfconj) in &reps {
            let s = sigma2(norm(kvec(&lat, k))).sqrt();
            let (a, b) = (s * gauss(), if selfconj { 0.0 } else { s * gauss() });
            let kv = kvec(&lat, k);
            for (x, p) in phi.iter_mut().enumerate() {
                let r = lat.position(x);
                let th = kv[0] * r[0] + kv[1] * r[1] + kv[2] * r[2];
                *p += a * th.cos() + b * th.sin();
            }
        }
        let mut s = state0.clone();
        s.data[var::PHI * n..(var::PHI + 1) * n].copy_from_slice(&phi);
        let sp = calc.compute(&s).unwrap();
        let pj = sp.get("phi").unwrap();
        // Parseval: Σ_j S_j = box mean of (φ − ⟨φ⟩)²
        let m = phi.iter().sum::<f64>() / n as f64;
        let var_box = phi.iter().map(|p| (p - m).powi(2)).sum::<f64>() / n as f64;
        let total: f64 = pj.iter().sum();
        assert!((total - var_box).abs() <= 1e-12 * var_box, "Parseval: Σ S_j = {total}, ⟨δφ²⟩ = {var_box}");
        mean.iter_mut().zip(pj).for_each(|(a, b)| *a += b / real as f64);
    }
    let mut zmax: f64 = 0.0;
    for j in 1..shells {
        if var[j] == 0.0 {
            assert_eq!(mean[j], 0.0);
            continue;
        }
        let z = (mean[j] - expect[j]) / (var[j] / real as f64).sqrt();
        zmax = zmax.max(z.abs());
        assert!(z.abs() < 4.5, "shell {j}: S = {:.5e}, expected {:.5e} (z = {z:.2})", mean[j], expect[j]);
    }
    let ztot = (mean.iter().sum::<f64>() - expect.iter().sum::<f64>()) / (var.iter().sum::<f64>() / real as f64).sqrt();
    println!("known spectrum: {} shells, max |z| = {zmax:.2}, total z = {ztot:.2}", shells);
    assert!(ztot.abs() < 4.0);
    // the shell grid: every mode counted once, k = mean |k| of its modes
    assert_eq!(calc.shells.count.iter().sum::<u64>(), n as u64);
    for j in 0..shells {
        let ks: Vec<f64> = (0..n).filter(|&k| shell_of(&lat, k) == j).map(|k| norm(kvec(&lat, k))).collect();
        assert_eq!(ks.len() as u64, calc.shells.count[j]);
        if !ks.is_empty() {
            assert!((calc.shells.k_mean[j] - ks.iter().sum::<f64>() / ks.len() as f64).abs() < 1e-12);
        }
    }
}

/// ω_k² = σ_a σ_a/a² + m², σ_a = (8 sin θ_a − sin 2θ_a)/(6h), θ_a = k_a h (the fourth-order centred first derivative).
fn omega_fd4(lat: &Lattice, k: usize, a: f64, m: f64) -> f64 {
    let kv = kvec(lat, k);
    let h = lat.spacing;
    let s2: f64 = kv.iter().map(|&q| ((8.0 * (q * h).sin() - (2.0 * q * h).sin()) / (6.0 * h)).powi(2)).sum();
    (s2 / (a * a) + m * m).sqrt()
}

fn vacuum_config(rep: &str) -> String {
    format!(
        r#"
[lattice]
shape = [8, 8, 6]
spacing = 0.7
[time]
dt = 0.01
steps = 1
[gravity]
fd_order = 4
[initial]
kind = "frw"
scale_factor = 1.3
phi = 0.4
[matter]
mass = 0.8
representation = "{rep}"
control_variate = false
[output]
file = "run.h5"
[run]
seed = 11
"#
    )
}

/// The expected vacuum shell sums S_j = (1/n) Σ_{k∈j} 1/(2 ω_k a³ ΔV) (and √g ω_k/(2ΔV) for π_φ).
fn vacuum_expectation(lat: &Lattice, shells: usize, a: f64, m: f64) -> (Vec<f64>, Vec<f64>) {
    let (n, dv) = (lat.sites(), lat.cell_volume());
    let (mut sp, mut spi) = (vec![0.0; shells], vec![0.0; shells]);
    // k = 0 included: the zero mode's quantum fluctuation is part of ⟨δφ²⟩ (only the mean field's k = 0 is removed)
    for k in 0..n {
        let w = omega_fd4(lat, k, a, m);
        sp[shell_of(lat, k)] += 1.0 / (2.0 * w * a.powi(3) * dv) / n as f64;
        spi[shell_of(lat, k)] += a.powi(3) * w / (2.0 * dv) / n as f64;
    }
    (sp, spi)
}

/// The `fourier` representation's initial state is the lattice vacuum of the FRW metric a0²δ: its P_δφ and P_δπ shell
/// sums are those of the lattice dispersion (relative 1e-12), its adiabatic occupation vanishes (|n_k| < 1e-10).
#[test]
fn vacuum_power_spectrum_is_the_lattice_dispersion() {
    let cfg = config(&vacuum_config("fourier"));
    let state = cqgrav::cosmology::initial::initial_state(&cfg).unwrap();
    let setup = StepperSetup::from_config(&cfg).with_background_of(&state);
    let calc = SpectraCalculator::new(&setup);
    let sp = calc.compute(&state).unwrap();
    let (a, m) = (1.3, 0.8);
    assert!((sp.a - a).abs() < 1e-13);
    let (ephi, epi) = vacuum_expectation(&state.lattice, calc.shells.len(), a, m);
    for (name, want) in [("phi", &ephi), ("pi_phi", &epi)] {
        let got = sp.get(name).unwrap();
        for j in 0..want.len() {
            assert!((got[j] - want[j]).abs() <= 1e-12 * want[j].abs().max(1e-300), "{name} shell {j}: {} vs {}", got[j], want[j]);
        }
    }
    let occ = sp.get("occupation").unwrap();
    assert!(occ.iter().all(|v| v.abs() < 1e-10), "vacuum occupation {occ:?}");
}

/// The ensemble's sampled vacuum (no control variate, M = 16): every shell of P_δφ within 4.5σ of the lattice
/// dispersion, σ² = Σ_pairs (2P_k/n²)²/(M − 2) (a mode's estimate Σ_s|δ̃_s,k|²/(M − 2) is P_k·Gamma(M − 2)/(M − 2)).
#[test]
fn ensemble_vacuum_spectrum_within_sampling_error() {
    let cfg = config(&vacuum_config("ensemble").replace("control_variate", "members = 16\ncontrol_variate"));
    let state = cqgrav::cosmology::initial::initial_state(&cfg).unwrap();
    let setup = StepperSetup::from_config(&cfg).with_background_of(&state);
    let calc = SpectraCalculator::new(&setup);
    let sp = calc.compute(&state).unwrap();
    let lat = state.lattice;
    let (n, dv, a, m) = (lat.sites(), lat.cell_volume(), 1.3f64, 0.8);
    let (ephi, _) = vacuum_expectation(&lat, calc.shells.len(), a, m);
    let mut var = vec![0.0; ephi.len()];
    for k in 0..n {
        let p = n as f64 / (2.0 * omega_fd4(&lat, k, a, m) * a.powi(3) * dv);
        // a pair {k, −k} carries one complex estimate (relative variance 1/(M − 2)) twice: 2·(per)²/(M − 2) per mode;
        // a self-conjugate mode is real (χ²_{M−2}: relative variance 2/(M − 2)) and counted once: the same per mode
        let per = p / (n * n) as f64;
        var[shell_of(&lat, k)] += 2.0 * per * per / (16.0 - 2.0);
    }
    let got = sp.get("phi").unwrap();
    let mut zmax: f64 = 0.0;
    for j in 0..got.len() {
        let z = (got[j] - ephi[j]) / var[j].sqrt();
        zmax = zmax.max(z.abs());
        assert!(z.abs() < 4.5, "shell {j}: {} vs {} (z = {z:.2})", got[j], ephi[j]);
    }
    println!("ensemble vacuum spectrum: max |z| = {zmax:.2} over {} shells", got.len());
}

/// A linear gravitational wave h_yy = −h_zz = A sin(k(x − t)) (the linear-wave initial data) has ρ_GW = ½⟨ḣ_abḣ_ab⟩ =
/// ½A²k² all in the shell of k = 2π/L (relative O(A)), Σ_ab h^TT² = A² there, nothing elsewhere, and Ω_GW = NaN in
/// Minkowski (ρ_c = 6H² ≈ 0 does not exceed ρ_GW). In an expanding background g_ab = a²(δ_ab + h_ab), ∂t g_ab = 2Hg_ab + a²ḣ_ab the same wave has
/// Ω_GW = ½A²k²/(6H²) at its k.
#[test]
fn linear_gravitational_wave_energy_and_omega() {
    let lat = Lattice::new([16, 4, 4], 1.0 / 16.0);
    let amp = 1e-5;
    let kw = 2.0 * PI; // box length 1 along x
    let cfg = config(
        r#"
[lattice]
shape = [16, 4, 4]
spacing = 0.0625
[time]
dt = 0.01
steps = 1
[initial]
kind = "linear-wave"
amplitude = 1e-5
[matter]
representation = "none"
[output]
file = "run.h5"
"#,
    );
    let state = cqgrav::physics::initial_data::initial_state(&cfg);
    let setup = StepperSetup::from_config(&cfg).with_background_of(&state);
    let calc = SpectraCalculator::new(&setup);
    let sp = calc.compute(&state).unwrap();
    let want = 0.5 * amp * amp * kw * kw;
    let gw = sp.get("gw_energy").unwrap();
    let htt = sp.get("h_tt").unwrap();
    println!("linear wave: gw_energy {gw:?}, expected {want:e} in shell 1");
    assert!((gw[1] - want).abs() < 1e-4 * want, "ρ_GW = {} vs ½A²k² = {want}", gw[1]);
    assert!((htt[1] - amp * amp).abs() < 1e-4 * amp * amp);
    assert!(gw.iter().enumerate().all(|(j, v)| j == 1 || v.abs() < 1e-6 * want));
    assert!(sp.get("omega_gw").unwrap().iter().all(|v| v.is_nan()), "Ω_GW without expansion is undefined");

    // the same wave on an expanding background
    let (a, hub) = (1.2f64, 0.3);
    let mut s = State::zeros(lat);
    let n = lat.sites();
    for i in 0..n {
        let ph = kw * lat.position(i)[0];
        let (h, hdot) = (amp * ph.sin(), -amp * kw * ph.cos());
        let hab = [0.0, 0.0, 0.0, h, 0.0, -h];
        let hd = [0.0, 0.0, 0.0, hdot, 0.0, -hdot];
        let g: [f64; 6] = std::array::from_fn(|c| a * a * ([1.0, 0.0, 0.0, 1.0, 0.0, 1.0][c] + hab[c]));
        let gdot: [f64; 6] = std::array::from_fn(|c| 2.0 * hub * g[c] + a * a * hd[c]);
        let pi = cqgrav::physics::initial_data::momentum_from_metric_rate(&g, &gdot, 1.0);
        for c in 0..6 {
            s.data[(var::G + c) * n + i] = g[c] - [1.0, 0.0, 0.0, 1.0, 0.0, 1.0][c];
            s.data[(var::PI + c) * n + i] = pi[c];
        }
        s.data[var::LAPSE * n + i] = 1.0;
    }
    let sp = calc.compute(&s).unwrap();
    assert!((sp.a - a).abs() < 1e-8 && (sp.hubble - hub).abs() < 1e-8, "a = {}, H = {}", sp.a, sp.hubble);
    let om = sp.get("omega_gw").unwrap();
    let want = 0.5 * amp * amp * kw * kw / (6.0 * hub * hub);
    println!("expanding: omega_gw {om:?}, expected {want:e} in shell 1");
    assert!((om[1] - want).abs() < 1e-4 * want, "Ω_GW = {} vs {want}", om[1]);
    assert!(om.iter().enumerate().all(|(j, v)| j == 1 || v.abs() < 1e-6 * want));
}

/// `cqgrav run` with `output.spectra_every = 2` (ensemble, 8 steps): `/spectra` holds one row per multiple of 2
/// (steps 0, 2, …, 8) of every spectrum as a (rows × shells) dataset beside its k grid and conventions, the rows are
/// the spectra of the checkpointed state at the last step (recomputed here), and a run stopped at step 4 and
/// restarted writes the same rows bit for bit.
#[test]
fn run_writes_spectra_rows_and_restarts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let text = common::DENSE_RUN.replace("representation = \"dense\"", "representation = \"ensemble\"\nmembers = 8").replace("[output]", "[output]\nspectra_every = 2");
    let (whole, restarted) = common::whole_and_restarted_runs(dir.path(), &text, &[]);
    let read = |f: &cqgrav::io::OutputFile| {
        let h = hdf5::File::open(&f.paths.main).unwrap();
        cqgrav::io::spectra::SpectraSeries::read(&h).unwrap().expect("a /spectra group")
    };
    let (a, b) = (read(&whole), read(&restarted));
    assert_eq!(a.step, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    assert_eq!(a.spectra.len(), cqgrav::spectra::SPECTRA.len());
    assert_eq!(a.count.iter().sum::<u64>(), 49);
    for (x, y) in a.spectra.iter().zip(&b.spectra) {
        assert_eq!(x.0, y.0);
        for (rx, ry) in x.1.iter().zip(&y.1) {
            assert!(rx.iter().zip(ry).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())), "{}: {rx:?} vs {ry:?}", x.0);
        }
    }
    assert_eq!(a.step, b.step);
    let ck = whole.read_checkpoint().unwrap();
    let cfg = config(&text);
    let setup = StepperSetup::from_config(&cfg).with_background_of(&ck.state);
    let last = SpectraCalculator::new(&setup).compute(&ck.state).unwrap();
    for (name, rows) in &a.spectra {
        let want = last.get(name).unwrap();
        let got = rows.last().unwrap();
        assert!(got.iter().zip(want).all(|(p, q)| p == q || (p.is_nan() && q.is_nan())), "{name}: {got:?} vs {want:?}");
    }
    let h = hdf5::File::open(&whole.paths.main).unwrap();
    let ds = h.dataset("spectra/phi").unwrap();
    assert_eq!(ds.shape(), vec![5, a.k.len()]);
    for attr in ["description", "normalisation"] {
        assert!(ds.attr(attr).is_ok(), "/spectra/phi lacks {attr}");
    }
    for attr in ["dk", "fourier_convention", "binning", "derived"] {
        assert!(h.group("spectra").unwrap().attr(attr).is_ok(), "/spectra lacks {attr}");
    }
}
