//! Issue 16 criterion 5: `cqgrav run` with no configuration — what a newcomer types first — shows the theory:
//! the quantum field (`dense`), CQ noise and decoherence, on the CPU when the machine has no hardware GPU (the
//! software Vulkan device is far slower), within 10 s on two cores, with summary lines that say what is seen.
//! The numbers it prints are checked against the output file, and the physics against what the theory says:
//! the realised noise variance matches its prediction, the state stays pure, ⟨δφ²⟩ grows (decoherence heats the
//! field and the noise-driven contraction squeezes it; without CQ coupling the vacuum of a static universe is
//! stationary, tests/dense_quantum.rs).
//!
//! One test alone in its test binary, so no other test of this suite runs beside it while it is timed.
mod common;
use std::time::Instant;

/// Whether wgpu sees a hardware adapter (then `auto` rightly takes the GPU).
fn hardware_gpu() -> bool {
    cqgrav::gpu::context::list_adapters().adapters.iter().any(|a| !a.is_software())
}

#[test]
fn default_example_shows_cq_physics_on_the_cpu_within_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = Instant::now();
    let (ok, text) = common::cqgrav(d, &["run"]);
    let wall = start.elapsed().as_secs_f64();
    println!("{text}\nwall time {wall:.2} s");
    assert!(ok, "{text}");
    if !hardware_gpu() {
        assert!(text.contains("CPU backend (auto: the only GPU adapter") || text.contains("CPU backend (auto: no usable GPU"), "{text}");
        assert!(wall <= 10.0, "the default example took {wall:.1} s (limit 10 s on two cores)");
    }
    // what a newcomer is told, before and after
    for want in ["What this shows", "CQ coupling", "ν_min", "⟨δφ²⟩", "noise/expected", "What you saw", "CQ noise", "decoherence", "purity", "Next: cqgrav plot"] {
        assert!(text.contains(want), "the output lacks {want:?}");
    }
    // the output: a dense quantum field with CQ noise; what the run said it saw is what the file holds
    let f = cqgrav::io::OutputFile::open(&d.join("cqgrav_default.h5")).unwrap();
    assert!(f.config_text.contains("representation = \"dense\""), "{}", f.config_text);
    let ts = &f.timeseries;
    let col = |n: &str| ts.column(n).unwrap().to_vec();
    let (phi2, nu, var, exp) = (col("phi2_mean"), col("state_min_symplectic"), col("noise_var"), col("noise_var_expected"));
    assert!(phi2[0] > 0.0 && phi2.last().unwrap() > &phi2[0], "⟨δφ²⟩ {phi2:?}");
    assert!(nu.iter().all(|v| (v - 1.0).abs() < 1e-4), "ν_min {nu:?}");
    // the realised variance over its expectation, mean over the rows: within 5σ of 1, σ from the rows' scatter
    let r: Vec<f64> = var.iter().zip(&exp).skip(1).map(|(v, e)| v / e).collect();
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt();
    let z = (mean - 1.0) / (sd / (r.len() as f64).sqrt());
    println!("noise/expected: mean {mean:.4} over {} rows, z = {z:.2}", r.len());
    assert!(z.abs() < 5.0, "realised/expected noise variance {mean} (z = {z})");
    // the summary reports the file's numbers (4 significant digits)
    let said: f64 = text.split("⟨δφ²⟩ went from ").nth(1).and_then(|r| r.split(' ').next()).and_then(|x| x.parse().ok()).unwrap();
    assert!((said / phi2[0] - 1.0).abs() < 1e-3, "printed {said}, file {}", phi2[0]);

    // `cqgrav inspect` of the run and of one snapshot file alone: one number format (C's %.7g: at most 7
    // significant digits, exponents as e±XX), the quantum diagnostics and the noise, the snapshot's provenance
    let (ok, run_text) = common::cqgrav(d, &["inspect", "cqgrav_default.h5"]);
    assert!(ok, "{run_text}");
    let (ok, snap_text) = common::cqgrav(d, &["inspect", "cqgrav_default.h5.d/snapshot_000010.h5"]);
    assert!(ok, "{snap_text}");
    println!("{run_text}\n{snap_text}");
    let config_starts = |t: &str| t.find("\nconfig").unwrap_or(t.len());
    for t in [&run_text[..config_starts(&run_text)], &snap_text[..config_starts(&snap_text)]] {
        for tok in t.split(|c: char| c.is_whitespace() || "(),;:=×…".contains(c)) {
            let tok = tok.trim_end_matches('.');
            if tok.parse::<f64>().is_err() || tok.len() > 40 {
                continue;
            }
            let mantissa = tok.split(['e', 'E']).next().unwrap();
            let digits = mantissa.trim_start_matches('-').trim_start_matches(['0', '.']).chars().filter(|c| c.is_ascii_digit()).count();
            assert!(digits <= 7 || !mantissa.contains('.'), "{tok:?}: more than 7 significant digits");
            if let Some((_, e)) = tok.split_once(['e', 'E']) {
                assert!((e.starts_with('-') || e.starts_with('+')) && e.len() >= 3, "{tok:?}: exponent not written as e±XX");
            }
        }
    }
    let first = format!("{}", phi2[0]);
    let g7 = |x: f64| format!("{:.6e}", x).parse::<f64>().unwrap();
    assert!(run_text.contains("quantum      ⟨δφ²⟩") && run_text.contains("smallest symplectic eigenvalue"), "{run_text}");
    assert!(run_text.contains("CQ noise     realised / expected variance"), "{run_text}");
    let said: f64 = run_text.split("⟨δφ²⟩ (box mean) ").nth(1).and_then(|r| r.split(' ').next()).and_then(|x| x.parse().ok()).unwrap();
    assert_eq!(said, g7(phi2[0]), "inspect printed ⟨δφ²⟩ {said}, the file holds {first}");
    assert!(snap_text.contains("a snapshot: step 10, t = 0.25") && snap_text.contains("run id") && snap_text.contains("git commit"), "{snap_text}");

    // stable for other seeds too (the dense conditioning refuses too strong a step); after the timed run, so
    // nothing runs beside it
    for seed in [2, 3, 4] {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = common::cqgrav(dir.path(), &["run", "--quiet", "--set", &format!("run.seed={seed}"), "--set", "run.backend=cpu"]);
        assert!(ok, "seed {seed}:\n{text}");
    }
}

