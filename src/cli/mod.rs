//! The `cqgrav` command line: one binary, one subcommand per file.
use clap::{Parser, Subcommand};
use std::path::PathBuf;

mod check;
mod default_example;
mod figure;
mod info;
mod inspect;
mod number;
pub mod plot;
mod plot_toy;
mod run;
mod toy;

#[derive(Parser, Debug)]
#[command(name = "cqgrav", version, about = "Lattice solver for classical-quantum (CQ) gravity (ADM metric + scalar field) on GPU and CPU")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a simulation from a TOML config (SPEC §10); without CONFIG, runs the built-in default example.
    ///
    /// Built with the cargo feature `mpi` and started by `mpirun -np P`, it spreads `--realizations` over the ranks,
    /// or, without it, splits the lattice in z-slabs over them (each rank on its GPU or CPU as run.backend chooses; the classical field, and on the CPU the localised ensemble and fourier; docs/mpi.md).
    Run {
        /// TOML configuration file (see docs/config.md).
        config: Option<PathBuf>,
        /// Override a config key, e.g. `--set lattice.shape=[8,8,8] --set run.backend=cpu`. Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Do not show the progress bar (summaries are still printed).
        #[arg(long)]
        quiet: bool,
        /// Continue the run of this output file (or its `<file>.d/checkpoint.h5`) from its checkpoint, bit for
        /// bit, writing to the same file. The configuration is the checkpoint's (or CONFIG's) plus `--set`;
        /// extend it with e.g. `--set time.t_end=4`. Physics, lattice and precision keys must match the
        /// checkpoint's unless changed explicitly with `--set`.
        #[arg(long, value_name = "FILE")]
        restart: Option<PathBuf>,
        /// Replace an earlier output at `output.file` (by default a run refuses to start over one). The earlier
        /// files are removed only once the new run has written its first rows; a file that is not a cqgrav output
        /// is never replaced.
        #[arg(long, conflicts_with = "restart")]
        overwrite: bool,
        /// Run R independent realisations of the CQ noise (seeds derived from run.seed, docs/physics.md §3),
        /// each writing `<stem>_rNNNN.h5`, plus `<stem>_ensemble.h5` with the mean and variance of every
        /// timeseries column across realisations; with CQ noise on, also the semiclassical run of the same
        /// universe (cq.diffusion = 0) as `<stem>_semiclassical.h5`, compared with the realisations at the end.
        #[arg(long, value_name = "R", conflicts_with = "restart")]
        realizations: Option<u32>,
    },
    /// Validate a config without running: unknown keys, wrong types, out-of-range values, stability.
    Check {
        /// TOML configuration file; without it, checks the built-in default example.
        config: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Summarise an output file: provenance, config, steps, last t, constraint extremes, snapshots, checkpoint.
    Inspect {
        /// The HDF5 output file (`output.file` of the run).
        file: PathBuf,
    },
    /// Write PNG plots of an output file's timeseries (a, H, constraint norms, energies); of a `cqgrav toy` file,
    /// the paper's Figure 1 (CQ trajectories beside the semiclassical one), the cq-state and the momentum histogram.
    Plot {
        /// The HDF5 output file.
        file: PathBuf,
        /// Directory for the PNG files (created if needed); default `<file>.plots` beside the file.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The paper's toy CQ systems (SPEC §12, docs/toy.md): a qubit or an oscillator coupled to a classical
    /// particle, discrete (jump) or continuous realisation, many trajectories; writes output.file (HDF5).
    Toy {
        /// TOML configuration of the toy model (docs/toy.md); without it, the built-in qubit example.
        config: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Validate the configuration and print the summary without running.
        #[arg(long)]
        check: bool,
        /// Do not show the progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// List the GPU adapters wgpu sees, the one cqgrav would choose, its f64 support and limits, and CPU threads.
    Info,
    /// Benchmark the step and each kernel: site-steps/s, bytes per site, bandwidth against a copy kernel measured
    /// in the same run (benches/RESULTS.md).
    Bench(crate::bench::BenchArgs),
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // issue 18: MPI (feature `mpi`) before any GPU device; without it the process is rank 0 of 1
    let _mpi = match crate::parallel::init() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run { config, set, quiet, restart, overwrite, realizations: Some(r) } => {
            let _ = restart;
            crate::ensemble::run_realizations(config.as_deref(), &set, r, |extra| {
                run::run(config.as_deref(), &[set.as_slice(), extra].concat(), quiet, None, overwrite)
            })
            .and_then(|e| {
                // a realisation that stopped leaves the summary of the others and a non-zero exit status
                anyhow::ensure!(e.stopped.is_empty(), "{}", e.account());
                if crate::parallel::world().rank() == 0 {
                    println!("ensemble of {r}: {}", e.summary_file.display());
                }
                Ok(())
            })
        }
        Command::Run { config, set, quiet, restart, overwrite, realizations: None } => {
            run::run(config.as_deref(), &set, quiet, restart.as_deref(), overwrite)
        }
        Command::Inspect { file } => inspect::inspect(&file),
        Command::Plot { file, out } => plot::plot(&file, out.as_deref()),
        Command::Check { config, set } => check::check(config.as_deref(), &set),
        Command::Toy { config, set, check, quiet } => toy::toy(config.as_deref(), &set, check, quiet),
        Command::Info => info::info(),
        Command::Bench(args) => crate::bench::bench(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
