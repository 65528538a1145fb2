//! `cqgrav run [CONFIG] [--set key=value …]`: load and validate the config, build the initial state and the
//! stepper (GPU, CPU or auto), step to the end with a progress bar, and every output interval check the
//! state's health and print a one-line summary of the SPEC §6 diagnostics.
use crate::backend::{make_stepper, StepperSetup};
use crate::config::load_and_validate;
use crate::diagnostics::{diagnostics, health_check, Diagnostics};
use crate::physics::initial_data::initial_state;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::Instant;

fn summary(d: &Diagnostics) -> String {
    format!(
        "step {:>7}  t = {:<10.5} a = {:<12.8} H = {:<12.5e} ham_rel = {:.2e}  mom_rel = {:.2e}  ham_l2 = {:.2e}  φ̄ = {:.6}",
        d.step, d.t, d.a, d.hubble, d.constraints.ham_rel, d.constraints.mom_rel, d.constraints.ham_l2, d.phi_mean
    )
}

pub fn run(config: Option<&Path>, set: &[String], quiet: bool) -> anyhow::Result<()> {
    let loaded = load_and_validate(config, set).map_err(|e| anyhow::anyhow!("invalid configuration:\n  {}", e.lines().join("\n  ")))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let cfg = &loaded.config;
    match config {
        Some(p) => println!("cqgrav {}: running {}", env!("CARGO_PKG_VERSION"), p.display()),
        None => println!("cqgrav {}: running the built-in default example (data/default.toml)", env!("CARGO_PKG_VERSION")),
    }
    let state = initial_state(cfg);
    let setup = StepperSetup::from_config(cfg).with_background_of(&state);
    let (mut stepper, note) = make_stepper(cfg, &state).context("could not set up the time stepper")?;
    let steps = cfg.n_steps();
    let every = cfg.output.timeseries_every.max(1);
    println!(
        "{note}\nlattice {:?}, h = {}, dt = {}, {steps} steps to t = {:.6}, fd_order {}, lapse {:?}, precision {:?}",
        cfg.lattice.shape,
        cfg.lattice.spacing,
        setup.dt,
        setup.time_at(steps),
        cfg.gravity.fd_order,
        cfg.gauge.lapse,
        cfg.run.precision
    );
    println!(
        "note: this version prints the diagnostics only; HDF5 output ({}) is not written yet",
        cfg.output.file.display()
    );

    let pb = if quiet { ProgressBar::hidden() } else { ProgressBar::new(steps) };
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}")
            .expect("valid progress template"),
    );
    // indicatif swallows println on a hidden bar (--quiet, or output not a terminal): print directly then
    let say = |pb: &ProgressBar, line: String| if pb.is_hidden() { println!("{line}") } else { pb.println(line) };
    say(&pb, summary(&diagnostics(&state, &setup)));
    let started = Instant::now();
    let mut done = 0u64;
    while done < steps {
        let k = every.min(steps - done);
        stepper.advance(k)?;
        done += k;
        pb.set_position(done);
        let s = stepper.download()?;
        pb.set_message(format!("t = {:.4}", s.t));
        if let Some(problem) = health_check(&s) {
            pb.abandon();
            anyhow::bail!("{problem}");
        }
        let d = stepper.diagnostics()?;
        say(&pb, summary(&d));
    }
    pb.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    println!(
        "done: {steps} steps in {wall:.2} s ({:.3e} s/step, {:.3e} site-steps/s) on {}",
        wall / steps.max(1) as f64,
        (steps as f64 * setup.lattice.sites() as f64) / wall.max(1e-12),
        stepper.description()
    );
    Ok(())
}
