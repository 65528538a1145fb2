//! Issue 14, the discrete (jump) realisation of the paper's toy systems (§IV B, Eq. (78); SPEC §12) against the
//! exact solutions of tests/support/toy_exact.rs: criteria 1 (coherence, Eq. (81)), 2 (Poisson jumps, mean
//! acceleration, the unconditional u↑, u↓ of Eq. (79) by χ²), 3 (Born rule), 4 (purity), and the other Lindblad
//! decompositions (raising/lowering qubit; oscillator with projectors and with â, â†). Every statistic prints
//! its z-score or χ²; the trajectory counts are ×10 with CQGRAV_TOY_HEAVY=1.
mod common;
mod support;
use common::{toy_heavy, toy_setup};
use support::toy_exact::*;

/// A qubit run of the discrete realisation, diagonal Lindblad operators unless `extra` says otherwise.
#[allow(clippy::too_many_arguments)]
fn qubit(omega: f64, b: f64, m: f64, tau: f64, q0: f64, p0: f64, up: f64, phase: f64, t_end: f64, samples: u64, n: u32, extra: &str) -> String {
    format!(
        "[model]\nkind = \"qubit-particle\"\nomega = {omega}\ncoupling = {b}\nmass = {m}\n{extra}\n[realisation]\nkind = \"discrete\"\ntau = {tau}\n\
         [initial]\nq = {q0}\np = {p0}\nup_probability = {up}\nphase = {phase}\n[time]\nt_end = {t_end}\nsamples = {samples}\n\
         [ensemble]\ntrajectories = {n}\nsaved = 200\nseed = 7\n"
    )
}

/// Criterion 1: E|α(t)| = |c↑c↓| e^{−ωt/τ} (Eq. (81)) at every recording time (binomial z-scores: |α_cond| is
/// |c↑c↓| until the first jump and 0 after), and along every trajectory before its first jump the phase winds as
/// e^{−2iBωt(q − pt/2m)} at the trajectory's (q, p), with |α| = |c↑c↓| (pathwise, to round-off). Also criterion 4
/// for the discrete realisation: the conditioned state stays pure.
#[test]
fn coherence_decays_and_winds_as_eq_81() {
    let (omega, b, m, tau, q0, p0, up, phase) = (1.0, 0.8, 1.3, 0.25, 0.3, 0.7, 0.3, 0.4);
    let n = 20_000 * toy_heavy();
    let setup = toy_setup(&qubit(omega, b, m, tau, q0, p0, up, phase, 1.0, 8, n, "lindblad = \"diagonal\""));
    let r = setup.run(&|_| {}).unwrap();
    let coh = r.column("coherence_mean");
    let mut zmax = 0.0f64;
    for (k, &t) in r.times.iter().enumerate() {
        let want = eq81_coherence(up, omega, tau, t);
        let e = (-omega * t / tau).exp();
        let sd = (up * (1.0 - up)).sqrt() * (e * (1.0 - e) / n as f64).sqrt();
        if sd == 0.0 {
            assert!((coh[k] - want).abs() < 1e-12, "t = 0: {} vs {want}", coh[k]);
            continue;
        }
        let z = (coh[k] - want) / sd;
        println!("t = {t:.3}: E|alpha| = {:.5} vs exp {want:.5}, z = {z:+.2}", coh[k]);
        zmax = zmax.max(z.abs());
    }
    assert!(zmax < 4.5, "max |z| = {zmax:.2}");

    // the phase of every no-jump point of the saved trajectories, pathwise
    let (mut checked, mut worst) = (0, 0.0f64);
    for st in &r.saved {
        for (k, &t) in r.times.iter().enumerate() {
            let alpha = num_complex::Complex64::new(st.rho_re[k * 4 + 2], st.rho_im[k * 4 + 2]);
            if st.jumps[k] == 0 {
                let want = num_complex::Complex64::from_polar((up * (1.0 - up)).sqrt(), eq81_phase(phase, b, omega, t, st.q[k], st.p[k], m));
                worst = worst.max((alpha - want).norm());
                checked += 1;
            } else {
                assert_eq!(alpha.norm(), 0.0, "the state collapses at the first jump");
            }
        }
    }
    println!("Eq. (81) phase on {checked} no-jump points: max |alpha - exact| = {worst:.1e}");
    assert!(checked > 100 && worst < 1e-12, "{checked} points, error {worst:.1e}");
    let pmin = r.column("purity_min").iter().copied().fold(1.0, f64::min);
    println!("discrete, diagonal: min purity over all trajectories and times = 1 - {:.1e}", 1.0 - pmin);
    assert!(pmin > 1.0 - 1e-12);
}

/// Criterion 2: the number of momentum jumps by t is Poisson(ωt/τ) (χ²), and the mean acceleration conditioned
/// on the final spin is ∓ωB: in the cq-state E[ρ↑↑ (p − p₀)] = −|c↑|² ωB t exactly, and for the trajectories
/// collapsed to ↑ E[p − p₀ | ↑] = −τB E[N | N ≥ 1] = −ωBt/(1 − e^{−λ}), E[q − q_free | ↑] = half of that × t/m.
#[test]
fn jumps_are_poisson_and_the_force_follows_the_spin() {
    let (omega, b, m, tau, q0, p0, up, t) = (1.5, 0.6, 0.8, 0.1, -0.2, 0.4, 0.4, 1.0);
    let n = 20_000 * toy_heavy();
    let r = toy_setup(&qubit(omega, b, m, tau, q0, p0, up, 0.0, t, 4, n, "")).run(&|_| {}).unwrap();
    let lambda = omega * t / tau;
    let kmax = 60usize;
    let mut observed = vec![0.0; kmax + 1];
    for f in &r.finals {
        observed[(f.jumps as usize).min(kmax)] += 1.0;
    }
    let mut expected: Vec<f64> = (0..kmax).map(|k| n as f64 * poisson_pmf(k as u64, lambda)).collect();
    expected.push(n as f64 - expected.iter().sum::<f64>());
    let (chi2, dof, pval) = pearson(&observed, &expected);
    println!("jumps by t = {t}: chi2 = {chi2:.1} for {dof} dof (p = {pval:.3}), Poisson mean {lambda}");
    assert!(pval > 1e-3, "jump counts are not Poisson({lambda}): chi2 = {chi2:.1}, dof {dof}");

    // cq-state weighted: E[ρ↑↑ (p − p₀)] and E[ρ↓↓ (p − p₀)]
    for (level, sign, weight) in [(1usize, -1.0, up), (0, 1.0, 1.0 - up)] {
        let x: Vec<f64> = r.finals.iter().map(|f| f.populations[level] * (f.p - p0)).collect();
        let (mean, sd) = mean_sd(&x);
        let want = sign * weight * omega * b * t;
        let z = (mean - want) / (sd / (n as f64).sqrt());
        println!("E[rho_{level}{level} (p - p0)] = {mean:.5} vs {want:.5} (z = {z:+.2}): acceleration {:+.4} = {:+.4}", mean / (weight * t), sign * omega * b);
        assert!(z.abs() < 4.5, "z = {z:.2}");
    }
    // conditioned on the collapsed spin
    let q_free = q0 + p0 * t / m;
    let cond = omega * b * t / (1.0 - (-lambda).exp());
    for (outcome, sign) in [(1, -1.0), (0, 1.0)] {
        let dp: Vec<f64> = r.finals.iter().filter(|f| f.outcome == outcome).map(|f| f.p - p0).collect();
        let dq: Vec<f64> = r.finals.iter().filter(|f| f.outcome == outcome).map(|f| f.q - q_free).collect();
        let (mp, sp) = mean_sd(&dp);
        let (mq, sq) = mean_sd(&dq);
        let zp = (mp - sign * cond) / (sp / (dp.len() as f64).sqrt());
        let zq = (mq - sign * cond * t / (2.0 * m)) / (sq / (dq.len() as f64).sqrt());
        println!("outcome {outcome}: E[p - p0] = {mp:.5} vs {:.5} (z = {zp:+.2}); E[q - q_free] = {mq:.5} vs {:.5} (z = {zq:+.2})", sign * cond, sign * cond * t / (2.0 * m));
        assert!(zp.abs() < 4.5 && zq.abs() < 4.5);
    }
}

/// Criterion 2: the unconditional u↑(q, p), u↓(q, p) written on the grid match the exact solution of Eq. (79) from
/// a sharp initial condition (Poisson number of jumps, Irwin–Hall positions): Pearson χ² over the cells of both
/// planes and the mass outside the grid. The p bins are centred on the momentum lattice p₀ + kτB.
#[test]
fn unconditional_cq_state_matches_eq_79() {
    let (omega, b, m, tau, q0, p0, up, t) = (1.0, 1.0, 1.0, 1.0 / 16.0, 0.2, -0.1, 0.35, 1.0);
    let n = 20_000 * toy_heavy();
    let q_free = q0 + p0 * t / m;
    let (nq, np) = (16usize, 81usize);
    let (qr, pr) = ([q_free - 1.6, q_free + 1.6], [p0 - 40.5 * tau * b, p0 + 40.5 * tau * b]);
    let extra = format!("[histogram]\nq_bins = {nq}\np_bins = {np}\nq_range = [{}, {}]\np_range = [{}, {}]\n", qr[0], qr[1], pr[0], pr[1]);
    let text = qubit(omega, b, m, tau, q0, p0, up, 0.0, t, 2, n, "") + &extra;
    let r = toy_setup(&text).run(&|_| {}).unwrap();
    let h = &r.histograms;
    let area = (qr[1] - qr[0]) / nq as f64 * (pr[1] - pr[0]) / np as f64;
    let (mut observed, mut expected) = (Vec::new(), Vec::new());
    for (level, sign, w) in [(1usize, -1.0, up), (0, 1.0, 1.0 - up)] {
        for ip in 0..np {
            for iq in 0..nq {
                observed.push(h.u[(level * np + ip) * nq + iq] * n as f64 * area);
                let cell = eq79_cell_probability(w, sign, omega, b, tau, m, q0, p0, t, [h.q_edges[iq], h.q_edges[iq + 1]], [h.p_edges[ip], h.p_edges[ip + 1]]);
                expected.push(cell * n as f64);
            }
        }
    }
    let inside: f64 = expected.iter().sum();
    observed.push(h.outside as f64);
    expected.push(n as f64 - inside);
    let (chi2, dof, pval) = pearson(&observed, &expected);
    println!("u_up, u_down on {np}x{nq} cells vs Eq. (79): chi2 = {chi2:.1} for {dof} dof (p = {pval:.3}; z = {:+.2}); outside {} vs {:.1}", (chi2 - dof) / (2.0 * dof).sqrt(), h.outside, n as f64 - inside);
    assert!(dof > 50.0, "too few cells: {dof}");
    assert!(pval > 1e-3, "chi2 = {chi2:.1} for {dof} dof");
}

/// Criterion 3: the fraction of trajectories ending ↑ is |c↑|² for several initial states (binomial z-scores); the
/// Born rule is not put in: the spin is decided by the first jump, whose kind is drawn with the conditional rates.
#[test]
fn born_rule_for_several_initial_states() {
    let n = 16_000 * toy_heavy();
    for up in [0.1, 0.5, 0.85] {
        let r = toy_setup(&qubit(1.0, 1.0, 1.0, 1.0 / 12.0, 0.0, 0.0, up, 1.0, 1.0, 2, n, "")).run(&|_| {}).unwrap();
        let ups = r.finals.iter().filter(|f| f.outcome == 1).count() as f64;
        let undecided = r.finals.iter().filter(|f| f.outcome < 0).count();
        let frac = ups / n as f64;
        let z = (frac - up) / (up * (1.0 - up) / n as f64).sqrt();
        println!("|c_up|^2 = {up}: fraction up {frac:.4} (z = {z:+.2}), undecided {undecided}");
        assert!(z.abs() < 4.5, "z = {z:.2}");
    }
}

/// The raising/lowering qubit (L↑ = √ω|↓⟩⟨↑|, L↓ = √ω|↑⟩⟨↓|): each kick names the operator, so the state stays pure
/// (criterion 4); jumps are Poisson(ωt/τ) (the total rate is ω/τ); the spin flips at each jump and the
/// unconditional ⟨σz⟩ relaxes as e^{−2ωt/τ}, so E[p](t) = p₀ − (Bτ/2)⟨σz⟩₀ (1 − e^{−2ωt/τ}) (z-scores).
#[test]
fn raising_lowering_qubit() {
    let (omega, b, m, tau, up, t) = (1.0, 0.7, 1.0, 0.4, 0.8, 1.2);
    let n = 20_000 * toy_heavy();
    let r = toy_setup(&qubit(omega, b, m, tau, 0.0, 0.1, up, 0.0, t, 6, n, "lindblad = \"raising-lowering\"")).run(&|_| {}).unwrap();
    let pmin = r.column("purity_min").iter().copied().fold(1.0, f64::min);
    assert!(pmin > 1.0 - 1e-12, "purity {pmin}");
    let sz0 = 2.0 * up - 1.0;
    let (pm, pv) = (r.column("p_mean"), r.column("p_var"));
    let (jm, jv) = (r.column("jumps_mean"), r.column("jumps_var"));
    for (k, &tk) in r.times.iter().enumerate().skip(1) {
        let want = 0.1 - 0.5 * b * tau * sz0 * (1.0 - (-2.0 * omega * tk / tau).exp());
        let z = (pm[k] - want) / (pv[k] / n as f64).sqrt();
        let lam = omega * tk / tau;
        let zj = (jm[k] - lam) / (lam / n as f64).sqrt();
        println!("t = {tk:.2}: E[p] = {:.5} vs {want:.5} (z = {z:+.2}); E[N] = {:.4} vs {lam:.4} (z = {zj:+.2}), Var N = {:.3}", pm[k], jm[k], jv[k]);
        assert!(z.abs() < 4.5 && zj.abs() < 4.5);
        assert!((jv[k] / lam - 1.0).abs() < 0.1, "Var N / E N = {}", jv[k] / lam);
    }
}

/// The oscillator with the projectors √ω|n⟩⟨n| (h^nn = Bq(n + ½)): the outcome is the number state n with the
/// Born weights |⟨n|β⟩|² = Poisson(|β|²) (χ²), and E[p] = p₀ − Bω(|β|² + ½)t (the mean force).
#[test]
fn oscillator_projectors_born_rule_and_force() {
    let (omega, b, tau, beta, t): (f64, f64, f64, f64, f64) = (1.0, 0.5, 0.1, 1.3, 1.0);
    let n = 10_000 * toy_heavy();
    let text = format!(
        "[model]\nkind = \"oscillator-particle\"\nomega = {omega}\ncoupling = {b}\nlevels = 16\n[realisation]\ntau = {tau}\n\
         [initial]\ncoherent = [{beta}, 0.0]\n[time]\nt_end = {t}\nsamples = 2\n[ensemble]\ntrajectories = {n}\nsaved = 0\n"
    );
    let r = toy_setup(&text).run(&|_| {}).unwrap();
    let mut observed = vec![0.0; 17];
    for f in &r.finals {
        observed[if f.outcome < 0 { 16 } else { f.outcome as usize }] += 1.0;
    }
    let nbar = beta * beta;
    let mut expected: Vec<f64> = (0..16).map(|k| n as f64 * poisson_pmf(k, nbar) * (1.0 - (-omega * t / tau).exp())).collect();
    expected.push(n as f64 * (-omega * t / tau).exp());
    let (chi2, dof, pval) = pearson(&observed, &expected);
    println!("number-state outcomes vs Poisson({nbar:.2}): chi2 = {chi2:.1} for {dof} dof (p = {pval:.3})");
    assert!(pval > 1e-3);
    let want = -b * omega * (nbar + 0.5) * t;
    let k = r.times.len() - 1;
    let z = (r.column("p_mean")[k] - want) / (r.column("p_var")[k] / n as f64).sqrt();
    println!("E[p] = {:.5} vs {want:.5} (z = {z:+.2})", r.column("p_mean")[k]);
    assert!(z.abs() < 4.5);
    assert!(r.column("purity_min").iter().all(|&p| p > 1.0 - 1e-12));
}

/// The oscillator with â, â† (h = Bq/2 each): both kick by −τB/2, so the record cannot tell them apart and the
/// conditioned state becomes mixed (criterion 4's contrast: the force is not unique); the Lindbladian heats,
/// ⟨n⟩ = n₀ + ωt/τ, the jump rate is (ω/τ)⟨2n + 1⟩, so E[N(t)] = (ω/τ)((2n₀ + 1)t + ωt²/τ), E[p] = p₀ − (τB/2)E[N]
/// and E⟨Ĥ_m⟩ = ω(n₀ + ωt/τ + ½) (z-scores).
#[test]
fn oscillator_ladder_heats_and_mixes() {
    let (omega, b, tau, beta, t) = (1.0, 0.6, 0.5, 0.5, 1.0);
    let n = 4_000 * toy_heavy();
    let text = format!(
        "[model]\nkind = \"oscillator-particle\"\nomega = {omega}\ncoupling = {b}\nlevels = 64\nlindblad = \"raising-lowering\"\n\
         [realisation]\ntau = {tau}\n[initial]\ncoherent = [{beta}, 0.0]\n[time]\nt_end = {t}\nsamples = 4\n[ensemble]\ntrajectories = {n}\nsaved = 0\n"
    );
    let r = toy_setup(&text).run(&|_| {}).unwrap();
    let n0 = beta * beta;
    let jumps: Vec<f64> = r.finals.iter().map(|f| f.jumps as f64).collect();
    let energy: Vec<f64> = r.finals.iter().map(|f| f.populations.iter().enumerate().map(|(k, p)| omega * (k as f64 + 0.5) * p).sum()).collect();
    let p: Vec<f64> = r.finals.iter().map(|f| f.p).collect();
    let e_n = omega / tau * ((2.0 * n0 + 1.0) * t + omega * t * t / tau);
    for (name, x, want) in [("E[N]", &jumps, e_n), ("E<H_m>", &energy, omega * (n0 + omega * t / tau + 0.5)), ("E[p]", &p, -0.5 * tau * b * e_n)] {
        let (mean, sd) = mean_sd(x);
        let z = (mean - want) / (sd / (n as f64).sqrt());
        println!("{name} = {mean:.4} vs {want:.4} (z = {z:+.2})");
        assert!(z.abs() < 4.5, "{name}: z = {z:.2}");
    }
    let purity = *r.column("purity_mean").last().unwrap();
    println!("mean purity at t = {t}: {purity:.3}");
    assert!(purity < 0.9, "indistinguishable jumps must mix the conditioned state: purity {purity}");
}
