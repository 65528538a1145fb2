//! `cqgrav bench` (issue 6): for each lattice size, precision and backend, times the whole RK4 step and each of
//! its kernels, the diagnostics kernels, and a plain copy kernel over the same working set in the same run;
//! reports site-steps/s, ideal bytes per site ([`bytes`]), achieved bandwidth and its fraction of the copy's,
//! the cost of constraint monitoring every 10 steps, the noise share when the step has a noise kernel, the
//! memory per site of each configuration, the GPU/CPU ratio, and the targets evaluated on these numbers.
//! Prints a table; `--json FILE` writes every number with the device, commit and date ([`report::BenchReport`]).
//!
//! - GPU per-kernel timing: timestamp queries when the adapter has them, else host timing after a device wait
//!   ([`gpu_timing`]); the ops come from `GpuStepper::step_ops` (src/backend/gpu/mod.rs), so a kernel added to
//!   the step is timed by name.
//! - The whole step is always the host wall time of `Stepper::advance(steps)` (ending with a device wait): what a
//!   run gets. Numbers from a software adapter (lavapipe) say nothing about a GPU.
//! - CPU: the same table from the functions of src/backend/cpu/ ([`cpu`]).
pub mod bytes;
pub mod cpu;
pub mod flops;
pub mod gpu;
pub mod gpu_timing;
pub mod quantum;
pub mod report;
pub mod roofline;

use crate::config::{self, BackendChoice, Config, ConfigError, Precision};
use crate::gpu::{GpuContext, GpuError};
use bytes::{precision_name, MemoryModel};
use report::{BenchReport, DeviceInfo, HostInfo, MemoryFit, Ratio, RunResult, Target};
use std::path::PathBuf;
use std::time::Instant;

/// Which backends `cqgrav bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBackend {
    Gpu,
    Cpu,
    /// GPU and CPU (the CPU only at sizes <= --cpu-max-size)
    Both,
}

/// Which precisions `cqgrav bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchPrecision {
    F32,
    F64,
    Both,
}

/// Arguments of `cqgrav bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Lattice sizes N (each run is N³), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 128, 256])]
    pub sizes: Vec<usize>,
    /// Backends to measure.
    #[arg(long, value_enum, default_value_t = BenchBackend::Both)]
    pub backend: BenchBackend,
    /// Precisions to measure.
    #[arg(long, value_enum, default_value_t = BenchPrecision::Both)]
    pub precision: BenchPrecision,
    /// Write every number (with device, commit and date) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The CPU backend runs only the sizes up to this N (it is much slower than a GPU).
    #[arg(long, default_value_t = 64)]
    pub cpu_max_size: usize,
    /// Steps (and repetitions) of every measurement; default: as many as fit in --budget seconds (at least 3).
    #[arg(long)]
    pub steps: Option<u32>,
    /// Seconds aimed at per measurement when --steps is not given.
    #[arg(long, default_value_t = 0.5)]
    pub budget: f64,
    /// Time the GPU kernels on the host after a device wait even when the adapter has timestamp queries.
    #[arg(long)]
    pub host_timing: bool,
    /// Do not measure the GPU runs' variant with the CQ noise on (by default each GPU run whose configuration has
    /// cq.diffusion = 0 is repeated with the noise on, to report what the noise adds).
    #[arg(long)]
    pub no_noise: bool,
    /// Base configuration (default: data/examples/frw-lattice.toml, built in: classical FRW); the bench sets
    /// lattice.shape, run.backend and run.precision itself.
    #[arg(long, value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Override a config key of the base configuration (e.g. `--set gravity.dissipation=0.1`). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Measure the step with this quantum-field representation (dense, fourier, ensemble) instead of the classical
    /// kernels table: seconds per step, site-steps/s, member-site-steps/s and memory per site (src/bench/quantum.rs).
    #[arg(long, value_name = "REPRESENTATION")]
    pub representation: Option<String>,
    /// Ensemble sizes M for `--representation ensemble`, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 64])]
    pub members: Vec<usize>,
    /// The CPU's f64 peak in GFlop/s for the fraction-of-peak column (default: threads × /proc/cpuinfo clock ×
    /// 16 flop/cycle with AVX2 + FMA; src/bench/flops.rs).
    #[arg(long, value_name = "GFLOPS")]
    pub peak_gflops: Option<f64>,
}

impl Default for BenchArgs {
    /// The command-line defaults.
    fn default() -> Self {
        Self {
            sizes: vec![64, 128, 256],
            backend: BenchBackend::Both,
            precision: BenchPrecision::Both,
            json: None,
            cpu_max_size: 64,
            steps: None,
            budget: 0.5,
            host_timing: false,
            no_noise: false,
            config: None,
            set: Vec::new(),
            representation: None,
            members: vec![16, 64],
            peak_gflops: None,
        }
    }
}

impl BenchArgs {
    /// The command line these arguments correspond to (for the report).
    pub fn command_line(&self) -> String {
        let mut c = format!(
            "cqgrav bench --sizes {} --backend {} --precision {}",
            self.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
            match self.backend {
                BenchBackend::Gpu => "gpu",
                BenchBackend::Cpu => "cpu",
                BenchBackend::Both => "both",
            },
            match self.precision {
                BenchPrecision::F32 => "f32",
                BenchPrecision::F64 => "f64",
                BenchPrecision::Both => "both",
            }
        );
        if self.cpu_max_size != 64 {
            c += &format!(" --cpu-max-size {}", self.cpu_max_size);
        }
        if let Some(s) = self.steps {
            c += &format!(" --steps {s}");
        }
        if self.budget != 0.5 {
            c += &format!(" --budget {}", self.budget);
        }
        if self.host_timing {
            c += " --host-timing";
        }
        if self.no_noise {
            c += " --no-noise";
        }
        if let Some(p) = &self.config {
            c += &format!(" --config {}", p.display());
        }
        for s in &self.set {
            c += &format!(" --set {s}");
        }
        if let Some(g) = self.peak_gflops {
            c += &format!(" --peak-gflops {g}");
        }
        if let Some(p) = &self.json {
            c += &format!(" --json {}", p.display());
        }
        c
    }
}

/// Measurement options shared by the GPU and CPU runs.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    pub steps: Option<u32>,
    pub budget_s: f64,
    pub host_timing: bool,
    /// measure the GPU runs' variant with the noise on
    pub noise_variant: bool,
    /// `--peak-gflops`
    pub peak_gflops: Option<f64>,
}

fn config_for(base: &Config, size: usize, p: Precision, backend: BackendChoice) -> anyhow::Result<Config> {
    let mut cfg = base.clone();
    cfg.lattice.shape = [size; 3];
    cfg.run.precision = p;
    cfg.run.backend = backend;
    let review = config::review(&cfg);
    if !review.problems.is_empty() {
        return Err(anyhow::Error::new(ConfigError::Invalid(review.problems))
            .context(format!("bench configuration for N = {size} ({})", precision_name(p))));
    }
    Ok(cfg)
}

fn device_info(ctx: &GpuContext) -> DeviceInfo {
    DeviceInfo {
        name: ctx.info.name.clone(),
        backend: ctx.info.backend.to_string(),
        device_type: format!("{:?}", ctx.info.device_type),
        driver: ctx.info.driver.clone(),
        driver_info: ctx.info.driver_info.clone(),
        vendor: ctx.info.vendor,
        device: ctx.info.device,
        timestamp_query: gpu_timing::has_timestamps(ctx),
        timestamp_period_ns: ctx.queue.get_timestamp_period(),
        max_storage_binding_bytes: ctx.max_storage_bytes(),
    }
}

fn find<'a>(runs: &'a [RunResult], backend: &str, p: &str, size: usize) -> Option<&'a RunResult> {
    runs.iter().find(|r| r.backend == backend && r.precision == p && r.size == size)
}

fn target(name: &str, target: &str, measured: Option<f64>, ok: impl Fn(f64) -> bool, note: &str) -> Target {
    Target { name: name.into(), target: target.into(), measured, met: measured.map(ok), note: note.into() }
}

fn targets(runs: &[RunResult], fit: &MemoryFit, ratios: &[Ratio], wall_s: f64, default_sizes: bool) -> Vec<Target> {
    let g32 = find(runs, "gpu", "f32", 256);
    let g64 = find(runs, "gpu", "f64", 256);
    let need = |r: Option<&RunResult>, what: &str| if r.is_some() { String::new() } else { format!("not measured: needs gpu {what} 256³") };
    let mut t = vec![
        target(
            "f32 256³ RK4 step: fraction of copy bandwidth",
            ">= 0.5",
            g32.map(|r| r.fraction_of_copy),
            |x| x >= 0.5,
            &need(g32, "f32"),
        ),
        target("f32 256³ RK4 step: site-steps/s", ">= 1e9", g32.map(|r| r.site_steps_per_s), |x| x >= 1e9, &need(g32, "f32")),
        target("f64 256³ RK4 step: site-steps/s", ">= 4e8", g64.map(|r| r.site_steps_per_s), |x| x >= 4e8, &need(g64, "f64")),
        target(
            "noise overhead (f32 256³)",
            "<= 0.20",
            g32.and_then(|r| r.noise_overhead),
            |x| x <= 0.2,
            &match g32 {
                Some(r) if r.noise_overhead.is_none() => r.noise_note.clone(),
                Some(_) => String::new(),
                None => need(g32, "f32"),
            },
        ),
        target(
            "constraint monitoring every 10 steps (f32 256³)",
            "<= 0.10",
            g32.map(|r| r.diagnostics.monitor_every_10_overhead),
            |x| x <= 0.1,
            &need(g32, "f32"),
        ),
        target(
            "constraint monitoring every 10 steps (f64 256³)",
            "<= 0.10",
            g64.map(|r| r.diagnostics.monitor_every_10_overhead),
            |x| x <= 0.1,
            &need(g64, "f64"),
        ),
    ];
    for p in ["f32", "f64"] {
        let q = ratios.iter().find(|q| q.size == 64 && q.precision == p);
        t.push(Target {
            name: format!("GPU/CPU site-steps/s ratio at 64³ ({p})"),
            target: "report".into(),
            measured: q.map(|q| q.ratio),
            met: None,
            note: if q.is_some() { String::new() } else { format!("not measured: needs gpu and cpu {p} 64³") },
        });
    }
    t.push(Target {
        name: "256³ f32 fits in 4 GiB: step buffers (model)".into(),
        target: "<= 4 GiB".into(),
        measured: Some(fit.step_bytes / 1024f64.powi(3)),
        met: Some(fit.fits_step),
        note: "GiB, computed".into(),
    });
    t.push(Target {
        name: "256³ f32 fits in 4 GiB: with diagnostics (model)".into(),
        target: "<= 4 GiB".into(),
        measured: Some(fit.total_bytes / 1024f64.powi(3)),
        met: Some(fit.fits_total),
        note: "GiB, computed; + constraint fields and partials".into(),
    });
    t.push(Target {
        name: "cqgrav bench wall time at default sizes".into(),
        target: "<= 120 s".into(),
        measured: Some(wall_s),
        met: default_sizes.then_some(wall_s <= 120.0),
        note: if default_sizes { String::new() } else { "not the default sizes".into() },
    });
    t
}

/// Runs every measurement `args` asks for and returns the numbers (prints progress to stderr only).
/// The bench's base configuration without `--config`: the classical FRW lattice example (the built-in default
/// example is a small dense quantum run with CQ noise, not a kernel benchmark).
const BASE_TOML: &str = include_str!("../../data/examples/frw-lattice.toml");

/// `path`, or the built-in base [`BASE_TOML`], with `sets` applied; validated when `validate`.
fn base_config(path: Option<&std::path::Path>, sets: &[String], validate: bool) -> Result<config::LoadedConfig, ConfigError> {
    const ORIGIN: &str = "bench base data/examples/frw-lattice.toml (built in)";
    match (path, validate) {
        (Some(_), true) => config::load_and_validate(path, sets),
        (Some(_), false) => config::load(path, sets),
        (None, true) => config::load_and_validate_text(ORIGIN, BASE_TOML, sets),
        (None, false) => config::load_text(ORIGIN, BASE_TOML, sets),
    }
}

pub fn run_bench(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    let t0 = Instant::now();
    anyhow::ensure!(!args.sizes.is_empty(), "--sizes: give at least one lattice size");
    anyhow::ensure!(args.budget > 0.0 && args.budget.is_finite(), "--budget must be a positive number of seconds");
    anyhow::ensure!(args.steps != Some(0), "--steps must be at least 1");
    let base = base_config(args.config.as_deref(), &args.set, true)?.config;
    let precisions: Vec<Precision> = match args.precision {
        BenchPrecision::F32 => vec![Precision::F32],
        BenchPrecision::F64 => vec![Precision::F64],
        BenchPrecision::Both => vec![Precision::F32, Precision::F64],
    };
    let want_gpu = args.backend != BenchBackend::Cpu;
    let want_cpu = args.backend != BenchBackend::Gpu;
    let opts = Opts { steps: args.steps, budget_s: args.budget, host_timing: args.host_timing, noise_variant: !args.no_noise, peak_gflops: args.peak_gflops };
    let mut runs = Vec::new();
    let mut device: Option<DeviceInfo> = None;
    let mut gpu_notes = Vec::new();
    let mut gpu_off = false;
    let mut no_gpu_precision: Vec<Precision> = Vec::new();
    let cpu_sizes: Vec<usize> =
        if want_cpu { args.sizes.iter().copied().filter(|&s| s <= args.cpu_max_size).collect() } else { Vec::new() };
    for &size in &args.sizes {
        for &p in &precisions {
            let pn = precision_name(p);
            if want_gpu && !gpu_off && !no_gpu_precision.contains(&p) {
                let cfg = config_for(&base, size, p, BackendChoice::Gpu)?;
                eprintln!("bench: gpu {pn} {size}³ …");
                let extra = if args.host_timing { wgpu::Features::empty() } else { gpu_timing::TIMESTAMP_FEATURES };
                let result = match GpuContext::new_with_features(p, extra) {
                    Ok(ctx) => {
                        if device.is_none() {
                            device = Some(device_info(&ctx));
                        }
                        gpu::run(ctx, &cfg, &opts)
                    }
                    Err(e) => {
                        match e {
                            GpuError::NoF64 { .. } => no_gpu_precision.push(p),
                            _ => gpu_off = true,
                        }
                        Err(e.into())
                    }
                };
                match result {
                    Ok(r) => runs.push(r),
                    Err(e) if args.backend == BenchBackend::Both => {
                        let note = format!("gpu {pn} {size}³ skipped: {e:#}");
                        eprintln!("bench: {note}");
                        gpu_notes.push(note);
                    }
                    Err(e) => return Err(e.context(format!("gpu {pn} {size}³"))),
                }
            }
            if cpu_sizes.contains(&size) {
                let cfg = config_for(&base, size, p, BackendChoice::Cpu)?;
                eprintln!("bench: cpu {pn} {size}³ ({} threads) …", rayon::current_num_threads());
                runs.push(cpu::run(&cfg, &opts).map_err(|e| e.context(format!("cpu {pn} {size}³")))?);
            }
        }
    }
    if want_cpu && cpu_sizes.is_empty() {
        eprintln!("bench: no CPU run: every size is over --cpu-max-size {}", args.cpu_max_size);
    }

    let mut gpu_cpu_ratio = Vec::new();
    for g in runs.iter().filter(|r| r.backend == "gpu") {
        if let Some(c) = find(&runs, "cpu", g.precision, g.size) {
            gpu_cpu_ratio.push(Ratio {
                size: g.size,
                precision: g.precision,
                gpu_site_steps_per_s: g.site_steps_per_s,
                cpu_site_steps_per_s: c.site_steps_per_s,
                ratio: g.site_steps_per_s / c.site_steps_per_s,
            });
        }
    }
    let mut memory_models = Vec::new();
    for &p in &precisions {
        memory_models.push(MemoryModel::gpu(p));
        memory_models.push(MemoryModel::cpu(p));
    }
    let m = MemoryModel::gpu(Precision::F32);
    let sites = 256usize.pow(3);
    let (step_bytes, total_bytes) = m.bytes_for(sites);
    let limit = 4.0 * 1024f64.powi(3);
    let largest = m.largest_buffer_bytes_per_site * sites as f64;
    let binding = device.as_ref().map(|d| d.max_storage_binding_bytes);
    let memory_fit = MemoryFit {
        size: 256,
        precision: "f32",
        limit_bytes: limit,
        step_bytes,
        total_bytes,
        fits_step: step_bytes <= limit,
        fits_total: total_bytes <= limit,
        largest_buffer_bytes: largest,
        max_storage_binding_bytes: binding,
        largest_buffer_fits_binding: binding.map(|b| largest <= b as f64),
    };
    let (commit, worktree_dirty) = report::commit();
    let wall_s = t0.elapsed().as_secs_f64();
    let default_sizes = args.sizes == BenchArgs::default().sizes && args.steps.is_none();
    Ok(BenchReport {
        cqgrav_version: env!("CARGO_PKG_VERSION"),
        commit,
        worktree_dirty,
        date: report::utc_now(),
        command: args.command_line(),
        host: HostInfo { cpu_threads: rayon::current_num_threads(), os: std::env::consts::OS, arch: std::env::consts::ARCH },
        device,
        gpu_notes,
        sizes: args.sizes.clone(),
        cpu_sizes,
        precisions: precisions.iter().map(|&p| precision_name(p)).collect(),
        backends: match args.backend {
            BenchBackend::Gpu => vec!["gpu"],
            BenchBackend::Cpu => vec!["cpu"],
            BenchBackend::Both => vec!["gpu", "cpu"],
        },
        bytes_definition: report::BYTES_DEFINITION,
        targets: targets(&runs, &memory_fit, &gpu_cpu_ratio, wall_s, default_sizes),
        runs,
        gpu_cpu_ratio,
        memory_models,
        memory_fit,
        wall_s,
    })
}

/// `cqgrav bench`: runs the measurements, prints the table to stdout, writes `--json FILE` when asked.
pub fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(rep) = &args.representation {
        let rep: crate::config::Representation = toml::Value::String(rep.clone())
            .try_into()
            .map_err(|_| anyhow::anyhow!("--representation {rep:?}: one of none, dense, fourier, ensemble"))?;
        let rows = quantum::run(args, rep, &args.members)?;
        print!("{}", quantum::render(&rows));
        if let Some(path) = &args.json {
            std::fs::write(path, serde_json::to_string_pretty(&rows)? + "\n").map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            eprintln!("bench: wrote {}", path.display());
        }
        return Ok(());
    }
    let report = run_bench(args)?;
    print!("{}", report::render(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: BenchArgs,
    }

    /// `BenchArgs::default()` is what the command line gives without options.
    #[test]
    fn defaults_match_clap() {
        let a = Wrap::parse_from(["x"]).args;
        let d = BenchArgs::default();
        assert_eq!(a.sizes, d.sizes);
        assert_eq!((a.backend, a.precision, a.cpu_max_size, a.steps, a.budget, a.host_timing), (d.backend, d.precision, d.cpu_max_size, d.steps, d.budget, d.host_timing));
        let b = Wrap::parse_from(["x", "--sizes", "8,16", "--backend", "cpu", "--precision", "f64", "--steps", "2"]).args;
        assert_eq!(b.sizes, vec![8, 16]);
        assert_eq!(b.command_line(), "cqgrav bench --sizes 8,16 --backend cpu --precision f64 --steps 2");
    }
}
