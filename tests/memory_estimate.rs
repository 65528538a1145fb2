//! Issue 15: `check` refuses a lattice that does not fit the machine with the size it needs, from the estimate
//! `config::host_bytes_per_site`. This test holds the estimate to what runs really use: the peak resident memory
//! (`ru_maxrss` of the finished process) of CPU runs with CQ noise, snapshots and checkpoints at every step on
//! two lattices; the growth per site between them (the fixed part — libraries, code — cancels) must be covered by
//! the estimate, and the estimate must not exceed it by more than a factor 2 (a refusal must not be absurd).
use std::process::Command;

/// A classical FRW set-up (the default example is a quantum run, whose memory is dominated by Γ).
const FRW_LATTICE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/frw-lattice.toml");

/// Peak resident bytes of `cqgrav run` on an n³ lattice, f64 on the CPU, everything written every step.
fn peak_rss(dir: &std::path::Path, n: usize) -> u64 {
    // reaped by wait4 below, which also gives its peak memory
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_cqgrav"))
        .args(["run", FRW_LATTICE, "--quiet", "--set", &format!("lattice.shape=[{n},{n},{n}]"), "--set", "run.backend=cpu", "--set", "time.steps=2"])
        .args(["--set", "cq.diffusion=1e-8", "--set", "output.snapshot_every=1", "--set", "output.checkpoint_every=1"])
        .args(["--set", &format!("output.file=\"m{n}.h5\"")])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data filled by wait4 for our own child
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the {n}³ run failed");
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn the_memory_estimate_covers_what_a_run_uses() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (12usize, 40usize);
    let (a, b) = (peak_rss(dir.path(), small), peak_rss(dir.path(), large));
    let measured = (b as f64 - a as f64) / (large.pow(3) - small.pow(3)) as f64;
    let mut cfg = cqgrav::config::load(Some(std::path::Path::new(FRW_LATTICE)), &[]).unwrap().config;
    cfg.cq.diffusion = 1e-8;
    cfg.run.precision = cqgrav::config::Precision::F64;
    let estimate = cqgrav::config::host_bytes_per_site(&cfg, false) as f64;
    println!("peak RSS {small}³: {a} B, {large}³: {b} B: {measured:.0} bytes per site measured, {estimate} estimated");
    assert!(estimate >= measured, "the estimate ({estimate} B/site) is below what a run uses ({measured:.0} B/site)");
    assert!(estimate <= 2.0 * measured, "the estimate ({estimate} B/site) is more than twice what a run uses ({measured:.0} B/site)");
}
