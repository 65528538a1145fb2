//! `cqgrav check` end to end (SPEC §10): every bad input is rejected with a message naming the key; the shipped
//! example configs pass. Runs the real binary on configs written to a temporary directory.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_cqgrav");

/// A fresh, unique temporary directory, removed when dropped.
struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "cqgrav-config-check-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Out {
    ok: bool,
    text: String,
}

fn check_path(path: Option<&Path>, sets: &[&str]) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.arg("check");
    if let Some(p) = path {
        cmd.arg(p);
    }
    for s in sets {
        cmd.arg("--set").arg(s);
    }
    let o = cmd.output().expect("run cqgrav");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Out {
        ok: o.status.success(),
        text,
    }
}

/// `cqgrav check` on a config file with the given text.
fn check_text(toml: &str, sets: &[&str]) -> Out {
    let dir = TempDir::new();
    let p = dir.0.join("case.toml");
    std::fs::write(&p, toml).unwrap();
    check_path(Some(&p), sets)
}

/// A small valid base config (16³, order 4) that tests modify.
const BASE: &str = r#"
[lattice]
shape = [16, 16, 16]
spacing = 0.1
[time]
courant = 0.25
t_end = 0.5
[initial]
kind = "minkowski"
"#;

#[track_caller]
fn rejected(out: &Out, needles: &[&str]) {
    assert!(!out.ok, "expected rejection, got success:\n{}", out.text);
    for n in needles {
        assert!(out.text.contains(n), "expected {n:?} in the output:\n{}", out.text);
    }
}

#[test]
fn base_config_passes() {
    let out = check_text(BASE, &[]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("16 x 16 x 16"), "{}", out.text);
    assert!(out.text.contains("RK4 bound"), "{}", out.text);
}

#[test]
fn default_example_passes() {
    let out = check_path(None, &[]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("built-in default example"), "{}", out.text);
    assert!(out.text.contains("frw"), "{}", out.text);
    assert!(out.text.contains("matter dense; D2 = 2"), "{}", out.text);
}

#[test]
fn example_configs_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples");
    let mut n = 0;
    for name in ["minkowski", "linear-wave", "gauge-wave", "frw", "inflaton_end", "lambda_phi4_preheating", "minkowski_heating", "frw-lattice"] {
        let p = dir.join(format!("{name}.toml"));
        let out = check_path(Some(&p), &[]);
        assert!(out.ok, "{name}: {}", out.text);
        assert!(!out.text.contains("warning"), "{name} has warnings: {}", out.text);
        n += 1;
    }
    assert_eq!(n, 8);
}

#[test]
fn unknown_key() {
    let out = check_text(&BASE.replace("spacing = 0.1", "spacing = 0.1\nshapee = [8, 8, 8]"), &[]);
    rejected(&out, &["lattice.shapee", "shape, spacing", "case.toml:5:1"]);
}

#[test]
fn unknown_table() {
    let out = check_text(&format!("{BASE}\n[latice]\nshape = [8, 8, 8]\n"), &[]);
    rejected(&out, &["latice", "valid tables", "lattice, time"]);
}

#[test]
fn wrong_type() {
    let out = check_text(&BASE.replace("spacing = 0.1", "spacing = \"small\""), &[]);
    rejected(&out, &["lattice.spacing", "invalid type", "a number", "case.toml:4:11"]);
    let out = check_text(&BASE.replace("[16, 16, 16]", "[16, 16]"), &[]);
    rejected(&out, &["lattice.shape", "array of 3 integers"]);
}

#[test]
fn bad_enum_value() {
    let out = check_text(&format!("{BASE}\n[gauge]\nlapse = \"maximal\"\n"), &[]);
    rejected(
        &out,
        &["gauge.lapse", "maximal", "\"geodesic\", \"harmonic\", \"one-plus-log\""],
    );
    let out = check_text(BASE, &["run.backend=cuda"]);
    rejected(
        &out,
        &[
            "run.backend",
            "cuda",
            "\"auto\", \"gpu\", \"cpu\"",
            "--set run.backend=cuda",
        ],
    );
}

#[test]
fn beta_above_one_third() {
    let out = check_text(&format!("{BASE}\n[cq]\nbeta = 0.34\n"), &[]);
    rejected(&out, &["cq.beta", "0.34", "1/3", "positive semi-definite"]);
}

#[test]
fn negative_spacing() {
    let out = check_text(&BASE.replace("spacing = 0.1", "spacing = -0.1"), &[]);
    rejected(&out, &["lattice.spacing", "-0.1", "> 0"]);
}

#[test]
fn courant_past_the_bound() {
    let out = check_text(&BASE.replace("courant = 0.25", "courant = 0.9"), &[]);
    rejected(
        &out,
        &[
            "time.courant = 0.9 exceeds the RK4 stability bound 0.693",
            "fd_order = 4, dissipation = 0, 3 active directions",
        ],
    );
    let out = check_text(BASE, &["time.dt=0.2"]);
    rejected(&out, &["time.dt", "RK4 stability bound"]);
    // order 2 in 1-D allows courant up to 0.98·√2 ≈ 1.386
    let one_d = BASE.replace("[16, 16, 16]", "[16, 1, 1]");
    assert!(check_text(&one_d, &["gravity.fd_order=2", "time.courant=1.3", "matter.mass=0"]).ok);
    rejected(
        &check_text(&one_d, &["gravity.fd_order=2", "time.courant=1.4", "matter.mass=0"]),
        &["time.courant"],
    );
}

#[test]
fn lattice_too_small_for_the_stencil() {
    let out = check_text(&BASE.replace("[16, 16, 16]", "[16, 6, 16]"), &[]);
    rejected(&out, &["lattice.shape", "too small for the stencil", "7"]);
    // 1 is a homogeneous direction, fine; order 2 needs only 5
    assert!(check_text(&BASE.replace("[16, 16, 16]", "[16, 1, 16]"), &[]).ok);
    assert!(check_text(&BASE.replace("[16, 16, 16]", "[16, 6, 16]"), &["gravity.fd_order=2"]).ok);
    rejected(
        &check_text(&BASE.replace("[16, 16, 16]", "[16, 0, 16]"), &[]),
        &["lattice.shape"],
    );
}

#[test]
fn wavelength_not_fitting_the_box() {
    let out = check_text(
        &BASE
            .replace("\"minkowski\"", "\"linear-wave\"")
            .replace("[16, 16, 16]", "[1, 16, 16]"),
        &[],
    );
    rejected(&out, &["lattice.shape", "wavelength not fitting the box"]);
    let out = check_text(
        &BASE.replace("\"minkowski\"", "\"gauge-wave\""),
        &["lattice.shape=[4,1,1]", "gauge.lapse=harmonic"],
    );
    rejected(&out, &["lattice.shape", "wavelength not fitting the box"]);
}

#[test]
fn wave_amplitude() {
    let out = check_text(
        &BASE.replace("\"minkowski\"", "\"gauge-wave\"\namplitude = 1.5"),
        &["gauge.lapse=harmonic"],
    );
    rejected(&out, &["initial.amplitude", "1.5", "|A| < 1"]);
}

#[test]
fn negative_diffusion() {
    let out = check_text(&format!("{BASE}\n[cq]\ndiffusion = -1.0\n"), &[]);
    rejected(&out, &["cq.diffusion", "-1", ">= 0"]);
}

#[test]
fn negative_correlation_length() {
    let out = check_text(&format!("{BASE}\n[cq]\ncorrelation_length = -0.5\n"), &[]);
    rejected(&out, &["cq.correlation_length", "-0.5", ">= 0"]);
}

#[test]
fn correlation_length_warning() {
    // ℓ > box/4 is a warning, not an error (and ℓ has no effect at D2 = 0).
    let out = check_text(&format!("{BASE}\n[cq]\ncorrelation_length = 0.5\n"), &[]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("warning: cq.correlation_length"), "{}", out.text);
}

#[test]
fn negative_decoherence_excess() {
    let out = check_text(&format!("{BASE}\n[cq]\ndecoherence_excess = -0.1\n"), &[]);
    rejected(&out, &["cq.decoherence_excess", "-0.1", "completely positive"]);
}

#[test]
fn fd_order_3() {
    let out = check_text(&format!("{BASE}\n[gravity]\nfd_order = 3\n"), &[]);
    rejected(&out, &["gravity.fd_order", "3", "2 or 4"]);
}

#[test]
fn set_with_unknown_key() {
    let out = check_text(BASE, &["lattice.spacingg=0.2"]);
    rejected(
        &out,
        &["lattice.spacingg", "shape, spacing", "--set lattice.spacingg=0.2"],
    );
    let out = check_text(BASE, &["lattic.spacing=0.2"]);
    rejected(&out, &["lattic", "valid tables"]);
    let out = check_text(BASE, &["noequals"]);
    rejected(&out, &["KEY=VALUE"]);
}

#[test]
fn set_overrides_are_applied() {
    // the override fixes the bad value in the file
    let bad = BASE.replace("courant = 0.25", "courant = 0.9");
    assert!(!check_text(&bad, &[]).ok);
    let out = check_text(&bad, &["time.courant=0.3", "lattice.shape=[8,8,8]", "run.backend=cpu"]);
    assert!(out.ok, "{}", out.text);
    assert!(
        out.text.contains("8 x 8 x 8") && out.text.contains("backend cpu"),
        "{}",
        out.text
    );
}

#[test]
fn every_representation_is_accepted() {
    // issue 11: fourier and ensemble are implemented; check prints their state's size
    let out = check_text(&format!("{BASE}\n[matter]\nrepresentation = \"ensemble\"\nmembers = 8\n"), &[]);
    assert!(out.ok && out.text.contains("ensemble Gaussian state: M = 8"), "{}", out.text);
    let out = check_text(&format!("{BASE}\n[matter]\nrepresentation = \"ensemble\"\nmembers = 7\n"), &[]);
    rejected(&out, &["matter.members", "even"]);
    let out = check_text(&format!("{BASE}\n[matter]\nrepresentation = \"fourier\"\n"), &[]);
    assert!(out.ok && out.text.contains("fourier Gaussian state"), "{}", out.text);
    // the dense quantum field runs on both backends, in both precisions (issue 5)
    let out = check_text(&format!("{BASE}\n[matter]\nrepresentation = \"dense\"\n"), &["run.backend = \"gpu\"", "run.precision = \"f32\""]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("on the device"), "{}", out.text);
}

/// Issue 4 acceptance 6: with the CQ noise implemented, D2 > 0 is accepted; β > 1/3, D2 < 0 and ℓ < 0 are
/// rejected (also together with D2 > 0), and ℓ above a quarter of the box is a warning.
#[test]
fn cq_noise_settings() {
    let noisy = format!("{BASE}\n[cq]\ndiffusion = 0.1\nbeta = -1.0\nnoise = \"tensor\"\n");
    let out = check_text(&noisy, &[]);
    assert!(out.ok, "{}", out.text);
    assert!(!out.text.contains("warning"), "{}", out.text);
    assert!(check_text(&noisy, &["cq.noise=\"trace-only\"", "cq.correlation_length=0.2"]).ok);
    rejected(&check_text(&noisy, &["cq.beta=0.34"]), &["cq.beta", "0.34", "1/3", "positive semi-definite"]);
    rejected(&check_text(&noisy, &["cq.diffusion=-0.1"]), &["cq.diffusion", "-0.1", ">= 0"]);
    rejected(&check_text(&noisy, &["cq.correlation_length=-0.2"]), &["cq.correlation_length", "-0.2", ">= 0"]);
    // box 1.6: a quarter is 0.4
    let out = check_text(&noisy, &["cq.correlation_length=0.5"]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("warning: cq.correlation_length") && out.text.contains("quarter"), "{}", out.text);
    // ℓ below the spacing with noise on: not resolved
    let out = check_text(&noisy, &["cq.correlation_length=0.05"]);
    assert!(out.ok && out.text.contains("not resolved"), "{}", out.text);
    // the testing switch is accepted with a warning
    let out = check_text(&noisy, &["cq.frozen_drift=true"]);
    assert!(out.ok && out.text.contains("warning: cq.frozen_drift"), "{}", out.text);
    rejected(&check_text(&noisy, &["cq.frozen_drift=1"]), &["cq.frozen_drift"]);
}

#[test]
fn all_problems_reported_at_once() {
    let text =
        BASE.replace("spacing = 0.1", "spacing = 0.1\ncolour = 1") + "\n[cq]\nbeta = 0.5\ndecoherence_excess = -1\n";
    let out = check_text(&text, &["gravity.fd_order=3"]);
    rejected(
        &out,
        &[
            "lattice.colour",
            "cq.beta",
            "cq.decoherence_excess",
            "gravity.fd_order",
            "4 problems",
        ],
    );
}

#[test]
fn syntax_error_has_position() {
    let out = check_text("[lattice]\nshape = [8, 8\n", &[]);
    rejected(&out, &["case.toml:", "invalid TOML"]);
}

#[test]
fn missing_file() {
    let out = check_path(Some(Path::new("/nonexistent/cqgrav.toml")), &[]);
    rejected(&out, &["/nonexistent/cqgrav.toml"]);
}

// ---- issue 15: inputs that used to panic, hang or read without bound ------------------------------------------

/// `/dev/zero` (endless), a FIFO (blocks forever when opened) and a file over 1 MiB are refused at once, naming
/// the file; none is read.
#[test]
fn devices_fifos_and_huge_files_are_refused_without_reading_them() {
    let out = check_path(Some(Path::new("/dev/zero")), &[]);
    rejected(&out, &["/dev/zero", "not a regular file", "character device"]);
    let dir = TempDir::new();
    let fifo = dir.0.join("fifo.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let t = std::time::Instant::now();
    let mut child = Command::new(BIN).arg("check").arg(&fifo).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("cqgrav check on a FIFO hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    let out = Out { ok: o.status.success(), text: format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)) };
    rejected(&out, &["fifo.toml", "a FIFO"]);
    // a valid configuration padded with comments past 1 MiB
    let big = format!("{BASE}\n{}", "# padding\n".repeat(110_000));
    let out = check_text(&big, &[]);
    rejected(&out, &["case.toml", "1048576 bytes"]);
    // the same through `run`, which must not create any output
    let p = dir.0.join("big.toml");
    std::fs::write(&p, &big).unwrap();
    let o = Command::new(BIN).args(["run"]).arg(&p).current_dir(&dir.0).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("1048576 bytes"));
    assert!(!dir.0.join("cqgrav.h5").exists());
}

/// The classical FRW lattice example (the default example is a dense quantum run, whose Γ dominates the memory).
fn frw_lattice() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/examples/frw-lattice.toml")
}

/// time.dt = 1e-300 asks for 2e300 steps: refused, naming time.dt (the count used to saturate at 2^64 − 1 with
/// "ok"); time.steps beyond 2^53 likewise.
#[test]
fn step_counts_beyond_two_to_the_53_are_refused() {
    let out = check_path(Some(&frw_lattice()), &["time.dt=1e-300"]);
    rejected(&out, &["time.dt", "2.00e300 steps", "2^53"]);
    let out = check_path(Some(&frw_lattice()), &["time.steps=1152921504606846976"]);
    rejected(&out, &["time.steps", "2^53"]);
    let out = check_path(Some(&frw_lattice()), &["time.courant=1e-290"]);
    rejected(&out, &["time.courant", "2^53"]);
    // 2^53 itself is allowed (check prints the count; nothing runs)
    let out = check_path(Some(&frw_lattice()), &["time.steps=9007199254740992"]);
    assert!(out.ok, "{}", out.text);
}

/// A lattice that cannot fit this machine's memory: `check` refuses it with the size it needs (it used to print
/// ~480 GiB and say ok; `run` then aborted on the allocation).
#[test]
fn a_lattice_larger_than_the_machine_is_refused_with_the_size_needed() {
    for backend in ["cpu", "gpu", "auto"] {
        let out = check_path(Some(&frw_lattice()), &["lattice.shape=[1024,1024,1024]", &format!("run.backend={backend}")]);
        rejected(&out, &["lattice.shape", "1073741824 sites", "GiB of host memory", "bytes per site"]);
    }
    // the estimate is what `check` prints for a lattice that fits
    let out = check_path(Some(&frw_lattice()), &["lattice.shape=[16,16,16]", "run.backend=cpu"]);
    assert!(out.ok && out.text.contains("memory      host ~"), "{}", out.text);
}

/// cq.correlation_length beyond the box with noise on used to panic (1e17: index out of bounds), abort (1e8: a
/// 32 GB smoothing stencil) or crawl (1e5: > 60 s for 2 steps): refused, naming the key and the bound.
#[test]
fn correlation_lengths_beyond_the_box_are_refused() {
    for ell in ["1e17", "1e8", "1e5", "2.0"] {
        let out = check_text(&format!("{BASE}\n[cq]\ndiffusion = 1e-6\ncorrelation_length = {ell}\n"), &[]);
        rejected(&out, &["cq.correlation_length", "exceeds the largest box length 1.6"]);
    }
    // at the box length it is allowed (homogeneous noise), with the wrap-around warning
    let out = check_text(&format!("{BASE}\n[cq]\ndiffusion = 1e-6\ncorrelation_length = 1.6\n"), &[]);
    assert!(out.ok && out.text.contains("warning: cq.correlation_length"), "{}", out.text);
}

/// Issue 13: the potential, the fluctuations' cutoff and the spectra interval are validated, each refusal naming its
/// key and the way out (docs/cosmology.md §1–§2).
#[test]
fn potential_cutoff_and_spectra_keys() {
    let frw = BASE.replace("kind = \"minkowski\"", "kind = \"frw\"\nphi = 0.5");
    let with = |matter: &str, extra: &str| format!("{frw}[matter]\nmass = 1.0\n{matter}\n{extra}");
    let ok = check_text(&with("quartic_coupling = 0.1\nrepresentation = \"ensemble\"\nmembers = 8", "[run]\nbackend = \"cpu\""), &[]);
    assert!(ok.ok, "{}", ok.text);
    rejected(&check_text(&with("quartic_coupling = 0.1\nrepresentation = \"dense\"", ""), &[]), &["matter.potential", "ensemble"]);
    rejected(&check_text(&with("potential = [0.0, 0.0, 0.0, 0.1]\nrepresentation = \"fourier\"", ""), &[]), &["matter.potential", "quadratic"]);
    rejected(
        &check_text(&with("quartic_coupling = 0.1\nrepresentation = \"ensemble\"\nmembers = 8", "[cq]\ndiffusion = 1.0\n[run]\nbackend = \"cpu\""), &[]),
        &["cq.diffusion", "classical-statistical"],
    );
    rejected(&check_text(&with("quartic_coupling = 0.1\nrepresentation = \"ensemble\"\nmembers = 8", "[run]\nbackend = \"gpu\""), &[]), &["run.backend", "CPU"]);
    rejected(&check_text(&with("potential = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0]", ""), &[]), &["matter.potential", "at most 9"]);
    rejected(&check_text(&with("quartic_coupling = nan", ""), &[]), &["matter.quartic_coupling"]);
    let warned = check_text(&with("potential = [0.0, 0.0, 0.0, 0.1]", ""), &[]);
    assert!(warned.ok && warned.text.contains("unbounded below"), "{}", warned.text);
    rejected(
        &check_text(&(frw.replace("phi = 0.5", "phi = 0.5\nfluctuation_cutoff = 5.0") + "[matter]\nrepresentation = \"fourier\"\n"), &[]),
        &["initial.fluctuation_cutoff", "ensemble"],
    );
    rejected(
        &check_text(&(frw.replace("phi = 0.5", "phi = 0.5\nfluctuation_cutoff = 5.0") + "[matter]\nrepresentation = \"ensemble\"\nmembers = 8\n"), &[]),
        &["matter.renormalization", "none"],
    );
    rejected(&check_text(&format!("{BASE}[output]\nspectra_every = -1\n"), &[]), &["output.spectra_every"]);
}
