//! Self-tests of the independent Gaussian-field references in tests/support (not of the solver):
//! single_site_exact (SPEC §8.7), lindblad_moments (SPEC §8.8), mode_functions (issue 5 criterion 2).
//! Derivations and conventions: docs/quantum_references.md. Run with `-- --nocapture` to see the numbers.
#![allow(clippy::needless_range_loop)]

mod support;

use num_complex::Complex64 as C64;
use ode_solvers::{DVector, Dop853, OutputType, System};
use support::lindblad_moments::{
    heisenberg_dual, lindblad_drift_single_site, lindblad_exact_single_site,
    lindblad_second_moments_closure, ClosureOperators, LatticeModel, Mat,
};
use support::mode_functions::{
    adiabatic_vacuum_mode, lattice_kappa2_spectrum, mode_function_fluctuations,
    mode_function_fluctuations_frw, single_mode_covariance, UniformSamples,
};
use support::single_site_exact::{
    coherent_state, displace, evolve_exact_pure, evolve_exact_record, evolve_gaussian_n1,
    exact_moment_coefficients, exact_step, gaussian_pure_state, hermitian_min_eigenvalue,
    jacobi_eigen, moments_of, noise_record, spec41_coefficients, DensityMatrix, FockOps, GInverse,
    MomentCoeffs, Moments, NoiseKind, RecordKind, SingleSite, SplitMix64,
};

const ANISO: [f64; 6] = [1.3, 0.2, -0.1, 0.9, 0.15, 1.1];

fn aniso_site(d2: f64, beta: f64, noise: NoiseKind, eps: f64) -> SingleSite {
    SingleSite {
        dv: 0.5,
        g: ANISO,
        lapse: 0.8,
        mass: 1.2,
        d2,
        beta,
        noise,
        c_extra_factor: eps,
        ginverse: GInverse::MoorePenrose,
    }
}

fn coeff_error(a: &MomentCoeffs, b: &MomentCoeffs) -> (f64, f64) {
    // (max abs difference, max abs of b)
    let mut va = Vec::new();
    let mut vb = Vec::new();
    let push = |x: &MomentCoeffs, v: &mut Vec<f64>| {
        v.extend(x.drift_mean);
        v.extend(x.noise_mean.iter().flatten());
        v.extend(x.drift_cov.iter().flatten());
        v.extend(x.noise_cov.iter().flatten().flatten());
    };
    push(a, &mut va);
    push(b, &mut vb);
    let d = va
        .iter()
        .zip(&vb)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()));
    let s = vb.iter().fold(0.0_f64, |m, y| m.max(y.abs()));
    (d, s)
}

// ------------------------------------------------------------------------------------------------------------------
// noise tensor, generalised inverse, noise record
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn generalised_inverses_and_information_rate() {
    for &beta in &[0.0, 0.2, -0.7, 1.0 / 3.0 - 1e-3] {
        let mut s = aniso_site(0.7, beta, NoiseKind::Tensor, 0.0);
        let mp = s.noise_ginv6();
        s.ginverse = GInverse::Covariant;
        let cv = s.noise_ginv6();
        let scale = mp.iter().flatten().fold(0.0_f64, |m, x| m.max(x.abs()));
        let diff = mp
            .iter()
            .flatten()
            .zip(cv.iter().flatten())
            .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff <= 1e-9 * scale,
            "β = {beta}: covariant inverse ≠ matrix inverse ({diff:e})"
        );
        let analytic = 3.0 * s.lapse * s.sqrt_g() * s.dv / (4.0 * s.d2 * (1.0 - 3.0 * beta));
        let rel = (s.info_rate() / analytic - 1.0).abs();
        assert!(rel < 1e-9, "γ analytic mismatch {rel:e}");
        assert!((s.effective_noise_variance_rate() / s.info_rate() - 1.0).abs() < 1e-9);
        assert!((s.decoherence_rate() - 0.25 * s.info_rate()).abs() < 1e-12 * s.info_rate());
    }
    // trace-only: both inverses agree on the back-reaction (which lies in the range): γ = N√gΔV/(4 D2)
    for gi in [GInverse::MoorePenrose, GInverse::Covariant] {
        let mut s = aniso_site(0.7, 0.0, NoiseKind::TraceOnly, 0.0);
        s.ginverse = gi;
        let analytic = s.lapse * s.sqrt_g() * s.dv / (4.0 * s.d2);
        assert!(
            (s.info_rate() / analytic - 1.0).abs() < 1e-9,
            "{gi:?}: {} vs {analytic}",
            s.info_rate()
        );
    }
    // β = 1/3: g^ab lies outside the range of 𝒟 (range = g-traceless tensors). Covariant: γ = 0. Moore–Penrose
    // on the components: 0 for g ∝ δ, NOT zero for a general metric (frame dependent).
    let mut s = aniso_site(0.7, 1.0 / 3.0, NoiseKind::Tensor, 0.0);
    s.ginverse = GInverse::Covariant;
    assert!(s.info_rate().abs() < 1e-12);
    s.ginverse = GInverse::MoorePenrose;
    let gamma_mp = s.info_rate();
    let mut flat = SingleSite::flat(0.5, 1.2, 0.7);
    flat.beta = 1.0 / 3.0;
    println!(
        "β = 1/3: γ(Moore–Penrose, anisotropic g) = {gamma_mp:.6e}; flat g: {:.3e}; covariant: 0",
        flat.info_rate()
    );
    assert!(flat.info_rate().abs() < 1e-12);
    assert!(
        gamma_mp > 1e-3,
        "expected the Moore–Penrose inverse to be frame dependent here"
    );
}

#[test]
fn noise_record_has_the_spec_covariance() {
    let site = aniso_site(0.9, 0.2, NoiseKind::Tensor, 0.0);
    let dt = 0.01;
    let n = 200_000;
    let rec = noise_record(&site, dt, n, 7);
    let d = site.noise_cov6();
    let mut worst = 0.0_f64;
    for i in 0..6 {
        for j in 0..6 {
            let emp: f64 = rec.iter().map(|w| w[i] * w[j]).sum::<f64>() / (n as f64 * dt);
            // standard error of the empirical covariance ≈ sqrt((D_ii D_jj + D_ij²)/n)
            let se = ((d[i][i] * d[j][j] + d[i][j] * d[i][j]) / n as f64).sqrt();
            worst = worst.max((emp - d[i][j]).abs() / se);
        }
    }
    println!("noise record: worst covariance deviation {worst:.2} standard errors");
    assert!(worst < 5.0);
    // reproducible
    assert_eq!(noise_record(&site, dt, 10, 7), rec[..10].to_vec());
}

// ------------------------------------------------------------------------------------------------------------------
// states
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn gaussian_states_have_the_requested_moments() {
    let site = aniso_site(1.0, 0.0, NoiseKind::Tensor, 0.0);
    let dim = 60;
    let ops = FockOps::new(&site, dim);
    let vac = site.vacuum_cov();
    // vacuum: ⟨φ²⟩ = 1/(2ΔV√g m)
    assert!((vac[0][0] * 2.0 * site.dv * site.sqrt_g() * site.mass - 1.0).abs() < 1e-14);
    let cases = [
        ([0.0, 0.0], vac),
        ([0.4, -0.3], vac),
        ([0.3, 0.5], site.squeezed_cov(0.4, 0.7)),
    ];
    for (mean, cov) in cases {
        let psi = gaussian_pure_state(&site, dim, mean, cov);
        let m = moments_of(&ops, &DensityMatrix::from_pure(&psi), 0.0);
        for i in 0..2 {
            assert!((m.mean[i] - mean[i]).abs() < 1e-12, "{m:?}");
            for j in 0..2 {
                assert!(
                    (m.cov[i][j] - cov[i][j]).abs() < 1e-12 * vac[i][i].max(vac[j][j]),
                    "{m:?}"
                );
            }
        }
        assert!((m.symplectic(site.dv) - 0.5).abs() < 1e-12);
        assert!(m.tail < 1e-20);
    }
    // displacing the vacuum by the Laguerre-free expm route gives the coherent state
    let vac_rho = DensityMatrix::from_pure(&coherent_state(&site, dim, [0.0, 0.0]));
    let d = displace(&site, &vac_rho, [0.4, -0.3]);
    let c = DensityMatrix::from_pure(&coherent_state(&site, dim, [0.4, -0.3]));
    let err = d
        .data
        .iter()
        .zip(&c.data)
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).norm()));
    assert!(err < 1e-12, "displaced vacuum vs coherent state: {err:e}");
}

// ------------------------------------------------------------------------------------------------------------------
// master equation ↔ SPEC §4.1
// ------------------------------------------------------------------------------------------------------------------

/// SPEC §8.7 groundwork: at a Gaussian state the exact master equation's Itô moment increments equal SPEC §4.1's
/// drift and noise coefficients, for anisotropic metric, lapse ≠ 1, several β, trace-only noise, C above
/// saturation, pure and mixed states.
#[test]
fn master_equation_moments_equal_spec41_at_gaussian_states() {
    let dim = 70;
    let sites = [
        aniso_site(0.8, 0.0, NoiseKind::Tensor, 0.0),
        aniso_site(0.8, 0.25, NoiseKind::Tensor, 0.0),
        aniso_site(1.7, -0.5, NoiseKind::Tensor, 0.6),
        aniso_site(0.8, 0.0, NoiseKind::TraceOnly, 0.0),
        {
            let mut s = aniso_site(0.8, 1.0 / 3.0, NoiseKind::Tensor, 0.0);
            s.ginverse = GInverse::MoorePenrose; // singular 𝒟; the identity holds for any reflexive g-inverse
            s
        },
    ];
    let mut worst = 0.0_f64;
    for site in &sites {
        let ops = FockOps::new(site, dim);
        let mut states: Vec<DensityMatrix> = vec![
            DensityMatrix::from_pure(&coherent_state(site, dim, [0.5, -0.4])),
            DensityMatrix::from_pure(&gaussian_pure_state(
                site,
                dim,
                [-0.3, 0.6],
                site.squeezed_cov(0.35, -0.4),
            )),
            DensityMatrix::thermal(dim, 0.3),
        ];
        states.push(displace(
            site,
            &DensityMatrix::thermal(dim, 0.25),
            [0.3, 0.4],
        ));
        for rho in &states {
            let m = moments_of(&ops, rho, 0.0);
            let exact = exact_moment_coefficients(site, &ops, rho);
            let spec = spec41_coefficients(site, m.mean, m.cov);
            let (d, s) = coeff_error(&exact, &spec);
            worst = worst.max(d / s);
            assert!(
                d <= 1e-9 * s,
                "{site:?}: |exact − SPEC §4.1| = {d:e} (scale {s:e})\n{exact:?}\n{spec:?}"
            );
        }
    }
    println!(
        "master equation vs SPEC §4.1 at Gaussian states: worst relative difference {worst:.2e}"
    );
    // a non-Gaussian state (superposition of Fock states) shows the closure error: nonzero difference
    let site = &sites[0];
    let ops = FockOps::new(site, dim);
    let mut psi = vec![C64::new(0.0, 0.0); dim];
    psi[0] = C64::new(0.6, 0.0);
    psi[1] = C64::new(0.0, 0.48);
    psi[3] = C64::new(0.64, 0.0);
    let rho = DensityMatrix::from_pure(&psi);
    let m = moments_of(&ops, &rho, 0.0);
    let (d, s) = coeff_error(
        &exact_moment_coefficients(site, &ops, &rho),
        &spec41_coefficients(site, m.mean, m.cov),
    );
    println!(
        "non-Gaussian state: |exact − SPEC §4.1| / scale = {:.3e} (closure error, expected O(1))",
        d / s
    );
    assert!(d > 1e-3 * s);
}

/// With saturated C the SPEC §4.1 equations keep det Γ = 1/(4ΔV²) (Itô drift of det Γ vanishes); above
/// saturation it grows.
#[test]
fn spec41_n1_preserves_purity_in_ito_form() {
    for (eps, expect_zero) in [(0.0, true), (0.5, false)] {
        let site = aniso_site(0.6, 0.1, NoiseKind::Tensor, eps);
        let d = site.noise_cov6();
        for (mean, cov) in [
            ([0.5, -0.2], site.vacuum_cov()),
            ([-0.7, 0.3], site.squeezed_cov(0.5, 1.1)),
        ] {
            let k = spec41_coefficients(&site, mean, cov);
            let g = cov;
            // d det = Γ11 dΓ00 + Γ00 dΓ11 − 2Γ01 dΓ01 + (dΓ00 dΓ11 − dΓ01²)
            let mut drift = g[1][1] * k.drift_cov[0][0] + g[0][0] * k.drift_cov[1][1]
                - 2.0 * g[0][1] * k.drift_cov[0][1];
            for j in 0..6 {
                for l in 0..6 {
                    let (a, b) = (k.noise_cov[j], k.noise_cov[l]);
                    drift += d[j][l] * (a[0][0] * b[1][1] - a[0][1] * b[0][1]);
                }
            }
            let det = g[0][0] * g[1][1] - g[0][1] * g[0][1];
            let scale = det * site.frequency();
            println!(
                "ε = {eps}: d(det Γ)/dt / (det Γ·Nm) = {:.3e}",
                drift / scale
            );
            if expect_zero {
                assert!(drift.abs() < 1e-12 * scale);
            } else {
                assert!(drift > 1e-3 * scale);
            }
        }
    }
}

/// SPEC §4.1's Stratonovich correction, −½Σ_J(R_J B_J x̄ + ΓB_JΓA_J x̄) for x̄ and −½Σ_J(R_J B_J Γ + ΓB_J R_J) for Γ,
/// equals the Itô–Stratonovich conversion −½ Σ_JK 𝒟_JK (∂b_J · b_K) of SPEC's own noise coefficients b_J
/// (directional derivatives by central differences).
#[test]
fn spec41_stratonovich_correction_is_the_ito_conversion() {
    type M2 = [[f64; 2]; 2];
    let mm = |a: &M2, b: &M2| -> M2 {
        std::array::from_fn(|i| std::array::from_fn(|j| a[i][0] * b[0][j] + a[i][1] * b[1][j]))
    };
    let tr = |a: &M2| -> M2 { [[a[0][0], a[1][0]], [a[0][1], a[1][1]]] };
    let mv = |a: &M2, v: &[f64; 2]| {
        [
            a[0][0] * v[0] + a[0][1] * v[1],
            a[1][0] * v[0] + a[1][1] * v[1],
        ]
    };
    for site in [
        aniso_site(0.7, 0.15, NoiseKind::Tensor, 0.0),
        aniso_site(0.7, 0.0, NoiseKind::TraceOnly, 0.5),
    ] {
        let ctx = support::single_site_exact::Spec41N1::new(&site);
        let d = site.noise_cov6();
        let (mean, cov) = ([0.4, -0.7], site.squeezed_cov(0.3, 0.9));
        // SPEC's closed form
        let b: [M2; 6] = std::array::from_fn(|j| {
            let mut m = [[0.0; 2]; 2];
            for i in 0..6 {
                for p in 0..2 {
                    for q in 0..2 {
                        m[p][q] += ctx.p[i][j] * ctx.a[i][p][q];
                    }
                }
            }
            m
        });
        let mut corr_x = [0.0; 2];
        let mut corr_g = [[0.0; 2]; 2];
        for j in 0..6 {
            let oao = mm(&ctx.omega, &mm(&ctx.a[j], &tr(&ctx.omega)));
            let gag = mm(&cov, &mm(&ctx.a[j], &cov));
            let r: M2 =
                std::array::from_fn(|p| std::array::from_fn(|q| gag[p][q] - 0.25 * oao[p][q]));
            let t1 = mv(&mm(&r, &b[j]), &mean);
            let t2 = mv(&mm(&cov, &mm(&b[j], &mm(&cov, &ctx.a[j]))), &mean);
            let g1 = mm(&r, &mm(&b[j], &cov));
            let g2 = mm(&cov, &mm(&b[j], &r));
            for p in 0..2 {
                corr_x[p] -= 0.5 * (t1[p] + t2[p]);
                for q in 0..2 {
                    corr_g[p][q] -= 0.5 * (g1[p][q] + g2[p][q]);
                }
            }
        }
        // numerical conversion
        let noise =
            |m: [f64; 2], c: M2| support::single_site_exact::spec41_coefficients(&site, m, c);
        let k0 = noise(mean, cov);
        let mut num_x = [0.0; 2];
        let mut num_g = [[0.0; 2]; 2];
        let h = 1e-5;
        for kk in 0..6 {
            let (dm, dc) = (k0.noise_mean[kk], k0.noise_cov[kk]);
            let shift = |s: f64| {
                let m = [mean[0] + s * dm[0], mean[1] + s * dm[1]];
                let c: M2 =
                    std::array::from_fn(|p| std::array::from_fn(|q| cov[p][q] + s * dc[p][q]));
                noise(m, c)
            };
            let (kp, km) = (shift(h), shift(-h));
            for j in 0..6 {
                for p in 0..2 {
                    num_x[p] -=
                        0.5 * d[j][kk] * (kp.noise_mean[j][p] - km.noise_mean[j][p]) / (2.0 * h);
                    for q in 0..2 {
                        num_g[p][q] -=
                            0.5 * d[j][kk] * (kp.noise_cov[j][p][q] - km.noise_cov[j][p][q])
                                / (2.0 * h);
                    }
                }
            }
        }
        let scale = corr_x
            .iter()
            .chain(corr_g.iter().flatten())
            .fold(0.0_f64, |m, x| m.max(x.abs()));
        let mut err = 0.0_f64;
        for p in 0..2 {
            err = err.max((corr_x[p] - num_x[p]).abs());
            for q in 0..2 {
                err = err.max((corr_g[p][q] - num_g[p][q]).abs());
            }
        }
        println!(
            "{:?}: Stratonovich correction SPEC vs Itô conversion: {:.2e} relative",
            site.noise,
            err / scale
        );
        assert!(err < 1e-7 * scale);
    }
}

fn gauss_hermite(n: usize) -> Vec<(f64, f64)> {
    // probabilists' Hermite (weight e^{−x²/2}/√(2π)): Golub–Welsch
    let mut j = vec![0.0; n * n];
    for k in 1..n {
        let b = (k as f64).sqrt();
        j[k * n + k - 1] = b;
        j[(k - 1) * n + k] = b;
    }
    let (lam, v) = jacobi_eigen(&j, n);
    (0..n).map(|k| (lam[k], v[k] * v[k])).collect()
}

/// The Kraus step reproduces the master equation's drift and noise to O(dt): E over the (scalar) innovation
/// by Gauss–Hermite quadrature.
#[test]
fn kraus_step_is_consistent_with_the_master_equation() {
    let dim = 60;
    let gh = gauss_hermite(24);
    for site in [
        aniso_site(0.5, 0.1, NoiseKind::Tensor, 0.0),
        aniso_site(0.5, 0.0, NoiseKind::Tensor, 0.7),
    ] {
        let ops = FockOps::new(&site, dim);
        let rho = DensityMatrix::from_pure(&gaussian_pure_state(
            &site,
            dim,
            [0.4, 0.3],
            site.squeezed_cov(0.3, 0.5),
        ));
        let m0 = moments_of(&ops, &rho, 0.0);
        let ex = exact_moment_coefficients(&site, &ops, &rho);
        let d = site.noise_cov6();
        let p = site.noise_ginv6();
        let c = site.coupling6();
        let pc: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| p[i][j] * c[j]).sum());
        let v: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| d[i][j] * pc[j]).sum());
        let ge: f64 = (0..6).map(|i| pc[i] * v[i]).sum();
        // exact: E[Δ] = drift dt, E[Δ dw] = Σ_J b_J v_J dt
        let proj = |b: &[[f64; 2]; 6]| -> [f64; 2] {
            std::array::from_fn(|q| (0..6).map(|j| b[j][q] * v[j]).sum())
        };
        let projc = |b: &[[[f64; 2]; 2]; 6]| -> [f64; 3] {
            [
                (0..6).map(|j| b[j][0][0] * v[j]).sum(),
                (0..6).map(|j| b[j][0][1] * v[j]).sum(),
                (0..6).map(|j| b[j][1][1] * v[j]).sum(),
            ]
        };
        let ex_drift = [
            ex.drift_mean[0],
            ex.drift_mean[1],
            ex.drift_cov[0][0],
            ex.drift_cov[0][1],
            ex.drift_cov[1][1],
        ];
        let (nm, nc) = (proj(&ex.noise_mean), projc(&ex.noise_cov));
        let ex_noise = [nm[0], nm[1], nc[0], nc[1], nc[2]];
        let mut errs = Vec::new();
        for &dt in &[4e-3, 1e-3] {
            let mut e_d = [0.0; 5];
            let mut e_n = [0.0; 5];
            for &(z, w) in &gh {
                let dw: [f64; 6] = std::array::from_fn(|i| v[i] * z * (dt / ge).sqrt());
                let r1 = exact_step(&site, &ops, &rho, dt, &dw);
                let m1 = moments_of(&ops, &r1, dt);
                let delta = [
                    m1.mean[0] - m0.mean[0],
                    m1.mean[1] - m0.mean[1],
                    m1.cov[0][0] - m0.cov[0][0],
                    m1.cov[0][1] - m0.cov[0][1],
                    m1.cov[1][1] - m0.cov[1][1],
                ];
                let dweff = z * (ge * dt).sqrt();
                for q in 0..5 {
                    e_d[q] += w * delta[q] / dt;
                    e_n[q] += w * delta[q] * dweff / dt;
                }
            }
            let err_d = (0..5).fold(0.0_f64, |m, q| m.max((e_d[q] - ex_drift[q]).abs()));
            let err_n = (0..5).fold(0.0_f64, |m, q| m.max((e_n[q] - ex_noise[q]).abs()));
            let sd = ex_drift.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
            let sn = ex_noise.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
            println!(
                "ε = {}: dt = {dt:e}: drift rel. error {:.3e}, noise rel. error {:.3e}",
                site.c_extra_factor,
                err_d / sd,
                err_n / sn
            );
            errs.push((err_d / sd, err_n / sn));
        }
        // O(dt): a 4× smaller step gives ≥ 3× smaller errors, and both are small
        assert!(
            errs[1].0 < errs[0].0 / 3.0 && errs[1].1 < errs[0].1 / 3.0,
            "{errs:?}"
        );
        assert!(errs[1].0 < 2e-2 && errs[1].1 < 2e-2, "{errs:?}");
    }
}

// ------------------------------------------------------------------------------------------------------------------
// exact conditional evolution
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn exact_evolution_keeps_trace_positivity_and_purity() {
    let dim = 48;
    let dt = 2e-3;
    let steps = 1500;
    for eps in [0.0, 0.5] {
        let site = aniso_site(5.0, 0.1, NoiseKind::Tensor, eps);
        let rec = noise_record(&site, dt, steps, 11);
        let psi0 = coherent_state(&site, dim, [0.6, -0.2]);
        let (ms, rho) = evolve_exact_record(
            &site,
            dim,
            DensityMatrix::from_pure(&psi0),
            dt,
            &rec,
            RecordKind::Noise,
        );
        let tr_err = (rho.trace() - 1.0).norm();
        let herm = rho.hermiticity_error();
        let min_eig = rho.min_eigenvalue();
        let pur_dev = ms
            .iter()
            .fold(0.0_f64, |m, x| m.max((1.0 - x.purity).abs()));
        let tail = ms.iter().fold(0.0_f64, |m, x| m.max(x.tail));
        println!(
            "ε = {eps}: |Tr ρ − 1| = {tr_err:.1e}, |ρ − ρ†| = {herm:.1e}, λ_min = {min_eig:.2e}, \
             max |1 − Tr ρ²| = {pur_dev:.2e}, final purity {:.6}, max tail {tail:.1e}",
            ms.last().unwrap().purity
        );
        assert!(tr_err < 1e-12 && herm < 1e-12 && min_eig > -1e-12 && tail < 1e-4);
        if eps == 0.0 {
            assert!(pur_dev < 1e-10, "saturated: purity must stay 1");
            // the pure-state path gives the same trajectory
            let (mp, _) = evolve_exact_pure(&site, dim, psi0.clone(), dt, &rec, RecordKind::Noise);
            let diff = ms.iter().zip(&mp).fold(0.0_f64, |m, (a, b)| {
                m.max((a.mean[0] - b.mean[0]).abs())
                    .max((a.cov[0][0] - b.cov[0][0]).abs())
            });
            assert!(diff < 1e-10, "pure vs density-matrix path: {diff:e}");
            // feeding the observation dπ = −⟨L⟩dt + dW instead of dW gives the same trajectory
            let c = site.coupling6();
            let obs: Vec<[f64; 6]> = rec
                .iter()
                .zip(&ms)
                .map(|(w, m)| std::array::from_fn(|i| -c[i] * m.o_mean * dt + w[i]))
                .collect();
            let (mo, _) =
                evolve_exact_pure(&site, dim, psi0.clone(), dt, &obs, RecordKind::Observation);
            let diff_o = ms
                .iter()
                .zip(&mo)
                .fold(0.0_f64, |m, (a, b)| m.max((a.mean[0] - b.mean[0]).abs()));
            println!("observation-record path vs noise-record path: {diff_o:.2e} (O(dt): ⟨Ô⟩ taken at different split points)");
            assert!(diff_o < 5e-3);
        } else {
            assert!(
                ms.last().unwrap().purity < 0.999,
                "above saturation purity must drop"
            );
        }
    }
}

#[test]
fn exact_evolution_converges_in_the_fock_dimension() {
    let site = aniso_site(5.0, 0.0, NoiseKind::Tensor, 0.0);
    let dt = 2e-3;
    let steps = 3000;
    let rec = noise_record(&site, dt, steps, 5);
    let run = |dim: usize| {
        let psi = coherent_state(&site, dim, [0.8, 0.3]);
        evolve_exact_pure(&site, dim, psi, dt, &rec, RecordKind::Noise).0
    };
    let refm = run(96);
    let vac = site.vacuum_cov();
    let mut prev = f64::INFINITY;
    for dim in [24, 32, 40, 56] {
        let m = run(dim);
        let err = m.iter().zip(&refm).fold(0.0_f64, |e, (a, b)| {
            e.max((a.mean[0] - b.mean[0]).abs() / vac[0][0].sqrt())
                .max((a.mean[1] - b.mean[1]).abs() / vac[1][1].sqrt())
                .max((a.cov[0][0] - b.cov[0][0]).abs() / vac[0][0])
                .max((a.cov[1][1] - b.cov[1][1]).abs() / vac[1][1])
        });
        let tail = m.iter().fold(0.0_f64, |e, x| e.max(x.tail));
        println!("Fock dimension {dim}: max moment difference to dim 96 = {err:.2e} (vacuum units), max tail {tail:.1e}");
        assert!(err < 0.3 * prev, "no convergence in the Fock dimension");
        prev = err;
    }
    assert!(prev < 1e-5);
}

/// Strong order 1 of the Kraus/Strang scheme: solutions with coarse sums of one fine Brownian path converge to
/// the fine solution ∝ dt.
#[test]
fn exact_scheme_has_strong_order_one() {
    let site = aniso_site(2.0, 0.0, NoiseKind::Tensor, 0.0);
    let dim = 40;
    let t_end = 1.0;
    let nf = 1 << 13;
    let dtf = t_end / nf as f64;
    let psi0 = coherent_state(&site, dim, [0.8, -0.4]);
    let vac = site.vacuum_cov();
    let factors = [8usize, 16, 32, 64];
    let mut errs = vec![0.0; factors.len()];
    let seeds = 6;
    for seed in 0..seeds {
        let fine = noise_record(&site, dtf, nf, 100 + seed);
        let reff = evolve_exact_pure(&site, dim, psi0.clone(), dtf, &fine, RecordKind::Noise).0;
        for (fi, &f) in factors.iter().enumerate() {
            let coarse = support::single_site_exact::coarsen_record(&fine, f);
            let mc = evolve_exact_pure(
                &site,
                dim,
                psi0.clone(),
                dtf * f as f64,
                &coarse,
                RecordKind::Noise,
            )
            .0;
            let mut e = 0.0_f64;
            for (k, m) in mc.iter().enumerate() {
                let r = &reff[k * f];
                e = e
                    .max((m.mean[0] - r.mean[0]).abs() / vac[0][0].sqrt())
                    .max((m.mean[1] - r.mean[1]).abs() / vac[1][1].sqrt())
                    .max((m.cov[0][0] - r.cov[0][0]).abs() / vac[0][0])
                    .max((m.cov[1][1] - r.cov[1][1]).abs() / vac[1][1]);
            }
            errs[fi] += e * e / seeds as f64;
        }
    }
    let errs: Vec<f64> = errs.iter().map(|e| e.sqrt()).collect();
    let rates: Vec<f64> = errs.windows(2).map(|w| (w[1] / w[0]).log2()).collect();
    println!(
        "strong errors (rms over paths of max over t) at dt = {:?}: {:?}, orders {:?}",
        factors.iter().map(|f| dtf * *f as f64).collect::<Vec<_>>(),
        errs.iter().map(|e| format!("{e:.3e}")).collect::<Vec<_>>(),
        rates.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>()
    );
    let mean_rate = rates.iter().sum::<f64>() / rates.len() as f64;
    assert!(
        mean_rate > 0.8 && mean_rate < 1.4,
        "strong order {mean_rate}"
    );
}

/// Calibration for the future solver test of SPEC §8.7: the SPEC §4.1 Gaussian closure (n = 1, order-1 scheme)
/// against the exact reference driven by the same record. The closure error must shrink faster than the
/// conditioning effect (distance of the conditional state from the unconditional one) as the coupling shrinks.
#[test]
fn gaussian_closure_error_shrinks_faster_than_conditioning_effect() {
    let dim = 64;
    let dt = 2e-3;
    let t_end = 5.0;
    let steps = (t_end / dt) as usize;
    let mut rows = Vec::new();
    for &d2 in &[4.0, 16.0, 64.0] {
        let site = aniso_site(d2, 0.0, NoiseKind::Tensor, 0.0);
        let mean0 = [0.8, -0.3];
        let cov0 = site.vacuum_cov();
        let psi0 = gaussian_pure_state(&site, dim, mean0, cov0);
        let vac = site.vacuum_cov();
        // unconditional (no record) mean: the Lindblad moment equations (exactly closed, module lindblad_moments)
        let every = 50;
        let times: Vec<f64> = (0..=steps / every)
            .map(|k| (k * every) as f64 * dt)
            .collect();
        let s0 = Mat {
            n: 2,
            d: vec![
                cov0[0][0] + mean0[0] * mean0[0],
                mean0[0] * mean0[1],
                mean0[0] * mean0[1],
                cov0[1][1] + mean0[1] * mean0[1],
            ],
        };
        let un = lindblad_second_moments_closure(
            &single_site_lattice(&site),
            &mean0,
            &s0,
            &times,
            1e-12,
        );
        let (mut closure, mut cond, mut sym_dev) = (0.0_f64, 0.0_f64, 0.0_f64);
        let seeds = 3;
        for seed in 0..seeds {
            let rec = noise_record(&site, dt, steps, 900 + seed);
            let ex = evolve_exact_pure(&site, dim, psi0.clone(), dt, &rec, RecordKind::Noise).0;
            let ga = evolve_gaussian_n1(&site, mean0, cov0, dt, &rec);
            for (k, u) in un.iter().enumerate() {
                let (e, g) = (&ex[k * every], &ga[k * every]);
                let dmean = |a: [f64; 2], b: [f64; 2]| {
                    ((a[0] - b[0]) / vac[0][0].sqrt())
                        .abs()
                        .max(((a[1] - b[1]) / vac[1][1].sqrt()).abs())
                };
                let dcov = |a: &Moments, b: &Moments| {
                    ((a.cov[0][0] - b.cov[0][0]) / vac[0][0])
                        .abs()
                        .max(((a.cov[1][1] - b.cov[1][1]) / vac[1][1]).abs())
                };
                closure = closure.max(dmean(e.mean, g.mean)).max(dcov(e, g));
                cond = cond.max(dmean(e.mean, [u.mean[0], u.mean[1]]));
                sym_dev = sym_dev.max((g.symplectic(site.dv) - 0.5).abs());
            }
            let tail = ex.iter().fold(0.0_f64, |m, x| m.max(x.tail));
            assert!(tail < 1e-7, "Fock truncation too small: tail {tail:e}");
        }
        println!(
            "D2 = {d2}: γ = {:.3e}, decoherence rate/ω = {:.3e}; max closure error {closure:.3e}, \
             max conditioning effect {cond:.3e} (vacuum units), max |ν − ½| (Gaussian) {sym_dev:.2e}",
            site.info_rate(),
            site.decoherence_rate() * (site.mass / (2.0 * site.dv * site.sqrt_g())).powi(2) / site.frequency()
        );
        rows.push((d2, closure, cond));
    }
    for w in rows.windows(2) {
        // coupling ∝ 1/D2: going to weaker coupling the ratio closure/conditioning must drop
        assert!(w[1].1 / w[1].2 < w[0].1 / w[0].2, "{rows:?}");
    }
    assert!(
        rows.last().unwrap().1 < 0.1 * rows.last().unwrap().2,
        "{rows:?}"
    );
}

// ------------------------------------------------------------------------------------------------------------------
// unconditional Lindblad moments
// ------------------------------------------------------------------------------------------------------------------

fn single_site_lattice(site: &SingleSite) -> LatticeModel {
    LatticeModel {
        shape: [1, 1, 1],
        h: site.dv.cbrt(),
        g: site.g,
        lapse: site.lapse,
        mass: site.mass,
        fd_order: 4,
        d2: site.d2,
        beta: site.beta,
        noise: site.noise,
        c_extra_factor: site.c_extra_factor,
        ginverse: site.ginverse,
    }
}

/// SPEC §8.8 groundwork: the first and second moments close exactly under the Lindblad equation, for any state.
/// (a) The instantaneous drift of (x̄, S) of Gaussian AND non-Gaussian states, from the Fock-space superoperator,
/// equals the closure generator (SPEC §4.1's formula). (b) Evolved in time, the exact truncated-Fock Lindblad
/// moments converge to the closure ODE as the Fock dimension grows (slowly: the quadratic Lindblad operator makes a
/// random squeeze whose log-normal-like Fock tail decays slower than any geometric one).
#[test]
fn lindblad_second_moments_close_exactly_for_one_site() {
    let site = aniso_site(10.0, 0.1, NoiseKind::Tensor, 0.4);
    let model = single_site_lattice(&site);
    assert!((model.dv() - site.dv).abs() < 1e-14);
    let cops = ClosureOperators::new(&model);
    let gen_mean = cops.mean_generator();
    let states = |dim: usize| {
        let mut psi_cat = vec![C64::new(0.0, 0.0); dim];
        psi_cat[0] = C64::new(0.6, 0.0);
        psi_cat[1] = C64::new(0.0, 0.48);
        psi_cat[3] = C64::new(0.64, 0.0);
        vec![
            DensityMatrix::from_pure(&coherent_state(&site, dim, [0.7, -0.2])),
            DensityMatrix::from_pure(&gaussian_pure_state(
                &site,
                dim,
                [0.1, 0.5],
                site.squeezed_cov(0.3, 0.2),
            )),
            DensityMatrix::from_pure(&psi_cat),
            DensityMatrix::thermal(dim, 0.5),
        ]
    };
    // (a) instantaneous
    let dim = 64;
    let ops = FockOps::new(&site, dim);
    for (si, rho) in states(dim).iter().enumerate() {
        let m0 = moments_of(&ops, rho, 0.0);
        let s0 = Mat {
            n: 2,
            d: m0.second_moments().iter().flatten().copied().collect(),
        };
        let (dmean, ds) = lindblad_drift_single_site(&site, &ops, rho);
        let ds_clo = cops.rhs_literal(&s0);
        let dm_clo = gen_mean.mv(&m0.mean);
        let mut err = 0.0_f64;
        for i in 0..2 {
            err = err.max((dmean[i] - dm_clo[i]).abs() / s0.at(i, i).sqrt());
            for j in 0..2 {
                err = err
                    .max((ds[i][j] - ds_clo.at(i, j)).abs() / (s0.at(i, i) * s0.at(j, j)).sqrt());
            }
        }
        println!("state {si}: instantaneous Lindblad drift of (x̄, S), Fock vs closure: {err:.2e}");
        assert!(err < 1e-12, "state {si}: {err:e}");
    }
    // (b) in time
    let times: Vec<f64> = (0..=6).map(|k| k as f64 * 0.5).collect();
    for si in 0..4 {
        let mut prev = f64::INFINITY;
        for dim in [32, 48, 72] {
            let ops = FockOps::new(&site, dim);
            let rho = &states(dim)[si];
            let m0 = moments_of(&ops, rho, 0.0);
            let s0 = Mat {
                n: 2,
                d: m0.second_moments().iter().flatten().copied().collect(),
            };
            let clo = lindblad_second_moments_closure(&model, &m0.mean, &s0, &times, 1e-12);
            let ex = lindblad_exact_single_site(&site, dim, rho, &times, 1e-11);
            let mut err = 0.0_f64;
            let mut tail = 0.0_f64;
            for (c, e) in clo.iter().zip(&ex) {
                let se = e.second_moments();
                for i in 0..2 {
                    err = err.max((c.mean[i] - e.mean[i]).abs() / se[i][i].sqrt());
                    for j in 0..2 {
                        err =
                            err.max((c.s.at(i, j) - se[i][j]).abs() / (se[i][i] * se[j][j]).sqrt());
                    }
                }
                tail = tail.max(e.tail);
            }
            let last = ex.last().unwrap();
            println!(
                "state {si}, Fock dim {dim}: closure ODE vs exact Fock Lindblad to t = {}: max rel. difference \
                 {err:.2e} (max tail {tail:.1e}); S_φφ grew ×{:.3}",
                times.last().unwrap(),
                last.second_moments()[0][0] / m0.second_moments()[0][0]
            );
            assert!(
                err < prev,
                "state {si}: no convergence in the Fock dimension"
            );
            prev = err;
        }
        assert!(prev < 5e-4, "state {si}: {prev:e}");
    }
}

/// SPEC §8.8 in miniature (n = 1): averaged over records, S = Γ + x̄x̄ᵀ of the conditional dynamics follows the
/// Lindblad closure ODE, both for the exact conditional state and for the SPEC §4.1 Gaussian closure (the
/// conditioning terms cancel in E[S] exactly). Statistical test (5 standard errors) that must also reject the
/// noiseless (unitary) prediction.
#[test]
fn trajectory_average_of_second_moments_follows_lindblad() {
    let site = aniso_site(3.0, 0.1, NoiseKind::Tensor, 0.0);
    let dim = 64;
    let dt = 2e-3;
    let t_end = 1.0;
    let steps = (t_end / dt) as usize;
    let mean0 = [0.2, 0.1];
    let cov0 = site.vacuum_cov();
    let s0 = Mat {
        n: 2,
        d: vec![
            cov0[0][0] + mean0[0] * mean0[0],
            mean0[0] * mean0[1],
            mean0[0] * mean0[1],
            cov0[1][1] + mean0[1] * mean0[1],
        ],
    };
    let model = single_site_lattice(&site);
    let clo = lindblad_second_moments_closure(&model, &mean0, &s0, &[t_end], 1e-12)[0].clone();
    let unitary = lindblad_second_moments_closure(
        &LatticeModel {
            d2: 0.0,
            ..model.clone()
        },
        &mean0,
        &s0,
        &[t_end],
        1e-12,
    )[0]
    .clone();
    let psi0 = gaussian_pure_state(&site, dim, mean0, cov0);
    let ntraj = 800;
    let mut tail = 0.0_f64;
    let mut acc_ex = vec![[0.0; 3]; 0];
    let mut acc_ga = vec![[0.0; 3]; 0];
    for k in 0..ntraj {
        let rec = noise_record(&site, dt, steps, 5000 + k as u64);
        let (ex, _) = evolve_exact_pure(&site, dim, psi0.clone(), dt, &rec, RecordKind::Noise);
        tail = tail.max(ex.iter().fold(0.0_f64, |m, x| m.max(x.tail)));
        let ga = evolve_gaussian_n1(&site, mean0, cov0, dt, &rec);
        let s = |m: &Moments| {
            let sm = m.second_moments();
            [sm[0][0], sm[0][1], sm[1][1]]
        };
        acc_ex.push(s(ex.last().unwrap()));
        acc_ga.push(s(ga.last().unwrap()));
    }
    println!("max Fock tail over trajectories {tail:.1e}");
    assert!(tail < 1e-4, "Fock tail {tail:e}");
    let target = [clo.s.at(0, 0), clo.s.at(0, 1), clo.s.at(1, 1)];
    let unit = [unitary.s.at(0, 0), unitary.s.at(0, 1), unitary.s.at(1, 1)];
    for (name, acc) in [("exact", &acc_ex), ("Gaussian §4.1", &acc_ga)] {
        let mut zmax = 0.0_f64;
        let mut zuni = 0.0_f64;
        for q in 0..3 {
            let m = acc.iter().map(|a| a[q]).sum::<f64>() / ntraj as f64;
            let var = acc.iter().map(|a| (a[q] - m).powi(2)).sum::<f64>() / (ntraj - 1) as f64;
            let se = (var / ntraj as f64).sqrt();
            zmax = zmax.max((m - target[q]).abs() / se);
            zuni = zuni.max((m - unit[q]).abs() / se);
        }
        println!("{name}: E[S](t = {t_end}) vs Lindblad closure: max {zmax:.2} standard errors; vs unitary: {zuni:.1}");
        assert!(zmax < 5.0 && zuni > 8.0, "{name}: {zmax} {zuni}");
    }
}

/// Unconditional heating of one site: ⟨Ĥ⟩ grows as e^{Γ_heat t} with
/// Γ_heat = 8 Σ C_IJ c_I c_J (m/(2ΔV√g))² = (1 + ε) 3 N m² / (8 D2 (1 − 3β) ΔV √g) (tensor noise).
#[test]
fn single_site_heating_rate() {
    for (d2, beta, eps) in [(10.0, 0.1, 0.4), (3.0, -0.5, 0.0)] {
        let site = aniso_site(d2, beta, NoiseKind::Tensor, eps);
        let model = single_site_lattice(&site);
        let v = site.vacuum_cov();
        let s0 = Mat {
            n: 2,
            d: vec![v[0][0], 0.0, 0.0, v[1][1]],
        };
        let out =
            lindblad_second_moments_closure(&model, &[0.0, 0.0], &s0, &[0.0, 20.0, 40.0], 1e-12);
        let m = model.hamiltonian_matrix();
        let e: Vec<f64> = out.iter().map(|o| 0.5 * m.mul(&o.s).trace()).collect();
        let rate = (e[2] / e[1]).ln() / 20.0;
        let pred = (1.0 + eps) * 3.0 * site.lapse * site.mass.powi(2)
            / (8.0 * d2 * (1.0 - 3.0 * beta) * site.dv * site.sqrt_g());
        println!("D2 = {d2}, β = {beta}, ε = {eps}: heating rate {rate:.6e}, formula {pred:.6e}");
        assert!((rate / pred - 1.0).abs() < 1e-6);
    }
}

fn random_sym(n: usize, rng: &mut SplitMix64) -> Mat {
    let mut m = Mat::zeros(n);
    for i in 0..n {
        for j in 0..=i {
            let v = rng.normal();
            m.set(i, j, v);
            m.set(j, i, v);
        }
    }
    m
}

/// The lattice closure generator (with gradient terms, both stencil orders, anisotropic metric, tensor and
/// trace-only noise) equals (a) SPEC §4.1's literal double sum and (b) the Heisenberg-picture generator derived
/// from the commutator algebra of quadratic forms.
#[test]
fn lattice_closure_generator_matches_literal_and_heisenberg_forms() {
    let mut rng = SplitMix64::new(3);
    for (shape, order, beta, noise) in [
        ([4, 2, 1], 4, 0.2, NoiseKind::Tensor),
        ([2, 3, 1], 2, -0.3, NoiseKind::Tensor),
        ([3, 1, 2], 4, 0.0, NoiseKind::TraceOnly),
    ] {
        let model = LatticeModel {
            shape,
            h: 0.7,
            g: ANISO,
            lapse: 1.1,
            mass: 0.9,
            fd_order: order,
            d2: 0.6,
            beta,
            noise,
            c_extra_factor: 0.3,
            ginverse: GInverse::MoorePenrose,
        };
        let ops = ClosureOperators::new(&model);
        let nn = 2 * model.n_sites();
        let gen = ops.s_generator();
        let mut worst_lit = 0.0_f64;
        let mut worst_heis = 0.0_f64;
        for _ in 0..3 {
            let s = random_sym(nn, &mut rng);
            let lit = ops.rhs_literal(&s);
            let via_gen = Mat {
                n: nn,
                d: gen.mv(&s.d),
            };
            worst_lit = worst_lit.max(via_gen.rel_diff(&lit));
            for _ in 0..3 {
                let w = random_sym(nn, &mut rng);
                let lhs = w.mul(&lit).trace();
                let rhs = heisenberg_dual(&ops, &w).mul(&s).trace();
                let scale = w.max_abs() * lit.max_abs() * nn as f64;
                worst_heis = worst_heis.max((lhs - rhs).abs() / scale);
            }
        }
        println!("{shape:?} order {order} {noise:?}: generator vs literal {worst_lit:.1e}, vs Heisenberg {worst_heis:.1e}");
        assert!(worst_lit < 1e-12 && worst_heis < 1e-12);
        // A_I are symmetric, and with one site per axis direction absent the gradient parts vanish consistently
        for a in &ops.a {
            assert!(a.rel_diff(&a.t()) < 1e-15);
        }
    }
}

/// Lattice Lindblad moments: D2 = 0 keeps the lattice vacuum stationary; with decoherence the evolved covariance
/// stays physical (Γ + (i/2)Ω ⪰ 0) and the energy grows.
#[test]
fn lattice_lindblad_moments_are_physical() {
    let base = LatticeModel {
        shape: [2, 2, 2],
        h: 0.8,
        g: [1.2, 0.1, 0.0, 1.0, -0.05, 0.9],
        lapse: 1.0,
        mass: 1.0,
        fd_order: 2,
        d2: 0.0,
        beta: 0.0,
        noise: NoiseKind::Tensor,
        c_extra_factor: 0.0,
        ginverse: GInverse::MoorePenrose,
    };
    // on a 2-site-periodic axis the centred stencils cancel: gradients vanish (documented caveat)
    assert!(base
        .derivative_matrices()
        .iter()
        .all(|d| d.max_abs() < 1e-15));
    let model0 = LatticeModel {
        shape: [4, 2, 1],
        ..base.clone()
    };
    let vac = model0.vacuum_cov();
    let nn = vac.n;
    let zero = vec![0.0; nn];
    let out = lindblad_second_moments_closure(&model0, &zero, &vac, &[0.0, 1.0, 3.0], 1e-12);
    for o in &out {
        assert!(
            o.s.rel_diff(&vac) < 1e-10,
            "vacuum not stationary: {}",
            o.s.rel_diff(&vac)
        );
    }
    let model = LatticeModel {
        d2: 5.0,
        beta: 0.1,
        c_extra_factor: 0.2,
        ..model0.clone()
    };
    let mean0: Vec<f64> = (0..nn).map(|i| 0.2 * (i as f64).sin()).collect();
    let s0 = vac.axpy(1.0, &Mat::outer(&mean0, &mean0));
    let out = lindblad_second_moments_closure(&model, &mean0, &s0, &[0.0, 1.0, 2.0, 4.0], 1e-12);
    let omega = model.omega();
    let m = model.hamiltonian_matrix();
    let mut prev_e = f64::NEG_INFINITY;
    for o in &out {
        let g = o.cov();
        // Γ + (i/2)Ω as a Hermitian matrix
        let h: Vec<C64> = (0..nn * nn)
            .map(|k| C64::new(g.d[k], 0.5 * omega.d[k]))
            .collect();
        let lam = hermitian_min_eigenvalue(&h, nn);
        let energy = 0.5 * m.mul(&o.s).trace();
        println!(
            "t = {}: λ_min(Γ + iΩ/2)·ΔV = {lam:.3e}, ⟨H⟩ = {energy:.6}",
            o.t,
            lam = lam * model.dv()
        );
        assert!(lam * model.dv() > -1e-10);
        assert!(energy > prev_e);
        prev_e = energy;
    }
}

// ------------------------------------------------------------------------------------------------------------------
// mode functions
// ------------------------------------------------------------------------------------------------------------------

/// κ² of the stencil symbol = eigenvalues of the position-space operator Σ_i D_iᵀD_i.
#[test]
fn kappa2_spectrum_matches_position_space_operator() {
    for (shape, order) in [([4, 3, 2], 4), ([5, 2, 3], 2), ([6, 1, 1], 4)] {
        let h = 0.3;
        let spec = lattice_kappa2_spectrum(shape, h, order);
        let n: usize = shape.iter().product();
        assert_eq!(spec.iter().map(|s| s.1).sum::<usize>(), n);
        let mut from_spec: Vec<f64> = spec
            .iter()
            .flat_map(|&(k, c)| std::iter::repeat_n(k, c))
            .collect();
        from_spec.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let model = LatticeModel {
            shape,
            h,
            g: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            lapse: 1.0,
            mass: 1.0,
            fd_order: order,
            d2: 0.0,
            beta: 0.0,
            noise: NoiseKind::Tensor,
            c_extra_factor: 0.0,
            ginverse: GInverse::MoorePenrose,
        };
        let d = model.derivative_matrices();
        let mut lap = Mat::zeros(n);
        for a in 0..3 {
            lap = lap.axpy(1.0, &d[a].t().mul(&d[a]));
        }
        let (mut ev, _) = jacobi_eigen(&lap.d, n);
        ev.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let scale = ev.last().unwrap().max(1.0);
        let err = ev
            .iter()
            .zip(&from_spec)
            .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-11 * scale, "{shape:?}: {err:e}");
    }
}

#[test]
fn mode_functions_constant_a_is_stationary() {
    let a = 1.7;
    let bg = |_t: f64| (a, 1.0);
    let shape = [6, 5, 4];
    let h = 0.2;
    let out = mode_function_fluctuations(shape, h, 0.8, 4, &bg, 0.0, &[0.0, 0.7, 3.0], 1e-13);
    let r0 = out[0];
    for o in &out {
        let e = ((o.phi2 - r0.phi2) / r0.phi2)
            .abs()
            .max(((o.pi2 - r0.pi2) / r0.pi2).abs());
        assert!(
            e < 1e-11 && o.phipi.abs() < 1e-11 * (r0.phi2 * r0.pi2).sqrt(),
            "{o:?}"
        );
        assert!(o.max_invariant_error < 1e-11);
    }
    // vacuum normalisation: ⟨δφ²⟩ = (1/n)Σ_k 1/(2ΔV a³ω_k)
    let spec = lattice_kappa2_spectrum(shape, h, 4);
    let dv = h * h * h;
    let direct: f64 = spec
        .iter()
        .map(|&(k2, c)| c as f64 * adiabatic_vacuum_mode(k2, a, 0.8, dv)[0])
        .sum::<f64>()
        / 120.0;
    assert!((direct / r0.phi2 - 1.0).abs() < 1e-14);
}

/// Massless modes with a″/a = 2/η² (de Sitter, and matter era a ∝ t^{2/3}) have the closed form
/// v = a φ = e^{−iκη}(1 − i/(κη)); compare the propagated vacuum covariance with it.
#[test]
fn mode_functions_match_analytic_massless_solutions() {
    let dv = 0.125;
    let hub = 0.8;
    let ds = |t: f64| -> (f64, f64, f64) {
        // (a, η, a' = da/dη)
        let eta = -(-hub * t).exp() / hub;
        let a = -1.0 / (hub * eta);
        (a, eta, 1.0 / (hub * eta * eta))
    };
    let t0m: f64 = 1.0;
    let matter = |t: f64| -> (f64, f64, f64) {
        let eta = 3.0 * t0m.powf(2.0 / 3.0) * t.cbrt();
        (
            eta * eta / (9.0 * t0m * t0m),
            eta,
            2.0 * eta / (9.0 * t0m * t0m),
        )
    };
    type Bg<'a> = dyn Fn(f64) -> (f64, f64, f64) + 'a;
    let cases: [(&str, &Bg, f64, f64); 2] = [
        ("de Sitter", &ds, 0.0, 4.0),
        ("matter era", &matter, t0m, 8.0),
    ];
    for (name, bgf, t0, t1) in cases {
        for k2 in [0.3_f64, 4.0, 40.0] {
            let k = k2.sqrt();
            let fmat = |t: f64| {
                let (a, eta, ap) = bgf(t);
                let e = C64::new(0.0, -k * eta).exp();
                let v = e * C64::new(1.0, -1.0 / (k * eta));
                let vp = e * C64::new(0.0, -k) * C64::new(1.0, -1.0 / (k * eta))
                    + e * C64::new(0.0, 1.0 / (k * eta * eta));
                let phi = v / a;
                let pi = vp * a - v * ap;
                [[phi.re, phi.im], [pi.re, pi.im]]
            };
            let f0 = fmat(t0);
            let det0 = f0[0][0] * f0[1][1] - f0[0][1] * f0[1][0];
            let f0i = [
                [f0[1][1] / det0, -f0[0][1] / det0],
                [-f0[1][0] / det0, f0[0][0] / det0],
            ];
            let (a0, _, _) = bgf(t0);
            let p0 = adiabatic_vacuum_mode(k2, a0, 0.0, dv);
            let times: Vec<f64> = (0..=8).map(|i| t0 + (t1 - t0) * i as f64 / 8.0).collect();
            let bg = |t: f64| (bgf(t).0, 1.0);
            let num = single_mode_covariance(k2, 0.0, dv, &bg, t0, &times, 1e-13);
            let mut err = 0.0_f64;
            for (t, p) in times.iter().zip(&num) {
                let f = fmat(*t);
                let phi_m: [[f64; 2]; 2] = std::array::from_fn(|i| {
                    std::array::from_fn(|j| f[i][0] * f0i[0][j] + f[i][1] * f0i[1][j])
                });
                let g0 = [[p0[0], 0.0], [0.0, p0[2]]];
                let g: [[f64; 2]; 2] = std::array::from_fn(|i| {
                    std::array::from_fn(|j| {
                        let mut s = 0.0;
                        for a in 0..2 {
                            for b in 0..2 {
                                s += phi_m[i][a] * g0[a][b] * phi_m[j][b];
                            }
                        }
                        s
                    })
                });
                let sc = (g[0][0] * g[1][1]).sqrt();
                err = err
                    .max(((p[0] - g[0][0]) / g[0][0]).abs())
                    .max(((p[2] - g[1][1]) / g[1][1]).abs())
                    .max(((p[1] - g[0][1]) / sc).abs());
            }
            println!(
                "{name}, κ² = {k2}: max rel. difference to the analytic mode solution {err:.2e}"
            );
            assert!(err < 1e-9, "{name} κ² = {k2}: {err:e}");
        }
    }
}

struct DenseGamma {
    omega: Mat,
    m_grad: Mat, // ΔV Σ_i D_iᵀD_i (φφ block, a = 1, m = 0)
    mass: f64,
    dv: f64,
    hub: f64,
}

impl System<f64, DVector<f64>> for DenseGamma {
    /// y = (vec Γ, τ): time carried as a state (ode_solvers' Dop853 mis-handles explicit t, see mode_functions.rs)
    fn system(&self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        let n = self.m_grad.n;
        let a = (self.hub * y[4 * n * n]).exp();
        let nn = 2 * n;
        let mut m = Mat::zeros(nn);
        for i in 0..n {
            for j in 0..n {
                m.set(i, j, a * self.m_grad.at(i, j));
            }
            m.add_at(i, i, a * a * a * self.mass * self.mass * self.dv);
            m.set(n + i, n + i, self.dv / (a * a * a));
        }
        let k = self.omega.mul(&m);
        let g = Mat {
            n: nn,
            d: y.iter().take(nn * nn).copied().collect(),
        };
        let r = k.mul(&g).axpy(1.0, &g.mul(&k.t()));
        for (o, v) in dy.iter_mut().zip(&r.d) {
            *o = *v;
        }
        dy[nn * nn] = 1.0;
    }
}

/// The per-momentum mode sum equals a direct position-space evolution of the dense 2n×2n covariance under the
/// lattice Hamiltonian with g = a(t)²δ (checks the Fourier normalisation, the vacuum and the stencil at once).
#[test]
fn mode_sum_matches_dense_position_space_evolution() {
    let shape = [4, 3, 2];
    let h = 0.5;
    let mass = 1.0;
    let hub = 0.6;
    let n: usize = shape.iter().product();
    let flat = LatticeModel {
        shape,
        h,
        g: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
        lapse: 1.0,
        mass,
        fd_order: 4,
        d2: 0.0,
        beta: 0.0,
        noise: NoiseKind::Tensor,
        c_extra_factor: 0.0,
        ginverse: GInverse::MoorePenrose,
    };
    let dv = flat.dv();
    let m0 = LatticeModel {
        mass: 0.0,
        ..flat.clone()
    }
    .hamiltonian_matrix();
    let mut m_grad = Mat::zeros(n);
    for i in 0..n {
        for j in 0..n {
            m_grad.set(i, j, m0.at(i, j));
        }
    }
    let g0 = flat.vacuum_cov();
    let times = [0.0, 0.5, 1.5, 2.5];
    let sys = DenseGamma {
        omega: flat.omega(),
        m_grad,
        mass,
        dv,
        hub,
    };
    let mut y = DVector::from_iterator(g0.d.len() + 1, g0.d.iter().copied().chain([0.0]));
    let mut dense = vec![];
    let mut t = 0.0;
    for &tn in &times {
        if tn > t {
            let mut s = Dop853::from_param(
                DenseGamma {
                    omega: sys.omega.clone(),
                    m_grad: sys.m_grad.clone(),
                    ..sys
                },
                t,
                tn,
                0.0,
                y.clone(),
                1e-12,
                1e-12 * g0.max_abs(),
                0.9,
                0.0,
                0.333,
                6.0,
                tn - t,
                0.0,
                10_000_000,
                1_000_000_000,
                OutputType::Sparse,
            );
            s.integrate().unwrap();
            y = s.y_out().last().unwrap().clone();
            t = tn;
        }
        let g = Mat {
            n: 2 * n,
            d: y.iter().take(4 * n * n).copied().collect(),
        };
        let p = (0..n).map(|i| g.at(i, i)).sum::<f64>() / n as f64;
        let q = (n..2 * n).map(|i| g.at(i, i)).sum::<f64>() / n as f64;
        dense.push((p, q));
    }
    let a = |t: f64| (hub * t).exp();
    let modes = mode_function_fluctuations_frw(shape, h, mass, 4, &a, 0.0, &times, 1e-13);
    for ((p, q), m) in dense.iter().zip(&modes) {
        let e = ((m.phi2 - p) / p).abs().max(((m.pi2 - q) / q).abs());
        println!("t = {}: ⟨δφ²⟩ modes {:.12e} dense {:.12e}; ⟨δπ²⟩ modes {:.12e} dense {:.12e}; rel {e:.1e}", m.t, m.phi2, p, m.pi2, q);
        assert!(e < 1e-9);
    }
}

/// Sampled a(t) with the degree-7 Lagrange interpolant reproduces the callable result.
#[test]
fn sampled_scale_factor_interpolant_is_accurate() {
    let a = |t: f64| (1.0 + 0.9 * t).powf(2.0 / 3.0);
    let dt = 0.01;
    let samples = UniformSamples {
        t0: 0.0,
        dt,
        values: (0..=400).map(|i| a(i as f64 * dt)).collect(),
        degree: 7,
    };
    let mut e = 0.0_f64;
    for i in 0..1000 {
        let t = 3.99 * i as f64 / 1000.0;
        e = e.max((samples.eval(t) - a(t)).abs());
    }
    assert!(e < 1e-13, "interpolation error {e:e}");
    let times = [0.0, 1.0, 3.0];
    let ai = |t: f64| samples.eval(t);
    let r1 = mode_function_fluctuations_frw([4, 4, 4], 0.25, 1.0, 4, &a, 0.0, &times, 1e-12);
    let r2 = mode_function_fluctuations_frw([4, 4, 4], 0.25, 1.0, 4, &ai, 0.0, &times, 1e-12);
    for (x, y) in r1.iter().zip(&r2) {
        assert!(
            ((x.phi2 - y.phi2) / x.phi2).abs() < 1e-10 && ((x.pi2 - y.pi2) / x.pi2).abs() < 1e-10
        );
        assert!(x.max_invariant_error < 1e-10);
    }
    println!(
        "expanding a ∝ (1 + 0.9t)^(2/3): ⟨δφ²⟩(t) = {:?}",
        r1.iter().map(|r| r.phi2).collect::<Vec<_>>()
    );
}
