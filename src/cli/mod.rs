//! The `cqgrav` command line: one binary, one subcommand per file.
use clap::{Parser, Subcommand};
use std::path::PathBuf;

mod check;
mod info;
mod run;

#[derive(Parser, Debug)]
#[command(name = "cqgrav", version, about = "Lattice solver for classical-quantum (CQ) gravity (ADM metric + scalar field) on GPU and CPU")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a simulation from a TOML config (SPEC §10); without CONFIG, runs the built-in default example.
    Run {
        /// TOML configuration file (see docs/config.md).
        config: Option<PathBuf>,
        /// Override a config key, e.g. `--set lattice.shape=[8,8,8] --set run.backend=cpu`. Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Do not show the progress bar (summaries are still printed).
        #[arg(long)]
        quiet: bool,
    },
    /// Validate a config without running: unknown keys, wrong types, out-of-range values, stability.
    Check {
        /// TOML configuration file; without it, checks the built-in default example.
        config: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// List the GPU adapters wgpu sees, the one cqgrav would choose, its f64 support and limits, and CPU threads.
    Info,
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config, set, quiet } => run::run(config.as_deref(), &set, quiet),
        Command::Check { config, set } => check::check(config.as_deref(), &set),
        Command::Info => info::info(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
