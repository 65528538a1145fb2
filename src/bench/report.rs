//! The numbers of `cqgrav bench` (serialised as the `--json` file), the table printed to stdout, and the
//! provenance (commit, UTC date).
use super::bytes::MemoryModel;
use super::roofline::CopyResult;
use crate::config::Config;
use serde::Serialize;
use std::fmt::Write as _;

/// Time and bytes of one op (one dispatch / one call) of a step or of the diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct OpRow {
    pub name: String,
    /// RK4 stage (0..4) of a per-stage op
    pub stage: Option<usize>,
    /// seconds per call
    pub time_s: f64,
    /// ideal bytes per site of one call (src/bench/bytes.rs); null when not in the table
    pub bytes_per_site: Option<f64>,
}

/// The ops of one name summed over one step (or one diagnostics evaluation).
#[derive(Debug, Clone, Serialize)]
pub struct KernelRow {
    pub name: String,
    pub calls: usize,
    /// seconds summed over the calls
    pub time_s: f64,
    /// of the summed time of all rows of the group
    pub share: f64,
    /// ideal bytes per site summed over the calls (null: some call has no byte count)
    pub bytes_per_site: Option<f64>,
    /// bytes_per_site · sites / time_s / 1e9
    pub bandwidth_gbs: Option<f64>,
    /// bandwidth_gbs / the copy kernel's bandwidth of the same run
    pub fraction_of_copy: Option<f64>,
}

/// Groups `ops` by name (first-appearance order). `copy_gbs`: the reference bandwidth for `fraction_of_copy`.
pub fn kernel_rows(ops: &[OpRow], sites: usize, copy_gbs: Option<f64>) -> Vec<KernelRow> {
    let total: f64 = ops.iter().map(|o| o.time_s).sum();
    let mut rows: Vec<KernelRow> = Vec::new();
    for o in ops {
        let row = match rows.iter_mut().find(|r| r.name == o.name) {
            Some(r) => r,
            None => {
                rows.push(KernelRow {
                    name: o.name.clone(),
                    calls: 0,
                    time_s: 0.0,
                    share: 0.0,
                    bytes_per_site: Some(0.0),
                    bandwidth_gbs: None,
                    fraction_of_copy: None,
                });
                rows.last_mut().unwrap()
            }
        };
        row.calls += 1;
        row.time_s += o.time_s;
        row.bytes_per_site = row.bytes_per_site.zip(o.bytes_per_site).map(|(a, b)| a + b);
    }
    for r in &mut rows {
        r.share = r.time_s / total;
        r.bandwidth_gbs = r.bytes_per_site.map(|b| b * sites as f64 / r.time_s / 1e9);
        r.fraction_of_copy = r.bandwidth_gbs.zip(copy_gbs).map(|(a, c)| a / c);
    }
    rows
}

/// The diagnostics (SPEC §6 reductions, constraint monitoring) of one run.
#[derive(Debug, Clone, Serialize)]
pub struct DiagResult {
    pub kernels: Vec<KernelRow>,
    pub ops: Vec<OpRow>,
    /// summed time of the kernels (one evaluation)
    pub kernel_time_s: f64,
    /// one `Stepper::diagnostics()` call as a run makes it (GPU: kernels + read-back of 12 numbers)
    pub call_time_s: f64,
    /// call_time_s / (10 · step_time_s): the cost of constraint monitoring every 10 steps
    pub monitor_every_10_overhead: f64,
    /// the diagnostics of the benchmarked state were finite
    pub finite: bool,
}

impl DiagResult {
    pub fn new(ops: &[OpRow], sites: usize, copy_gbs: f64, call_time_s: f64, step_time_s: f64, finite: bool) -> Self {
        Self {
            kernels: kernel_rows(ops, sites, Some(copy_gbs)),
            ops: ops.to_vec(),
            kernel_time_s: ops.iter().map(|o| o.time_s).sum(),
            call_time_s,
            monitor_every_10_overhead: call_time_s / (10.0 * step_time_s),
            finite,
        }
    }
}

/// The CQ noise measured in a variant of a run's configuration with the noise on (GPU).
#[derive(Debug, Clone, Serialize)]
pub struct NoiseResult {
    /// cq.diffusion of the variant
    pub diffusion: f64,
    /// cq.correlation_length of the variant (ℓ > 0 adds smoothing passes)
    pub correlation_length: f64,
    pub steps_timed: u64,
    /// wall seconds per step of `Stepper::advance` with the noise
    pub step_time_s: f64,
    /// step_time_s / (the run's step_time_s without noise) − 1
    pub overhead_wall: f64,
    /// time of the noise ops / time of the other ops, within the noisy step
    pub overhead_ops: f64,
    pub kernels: Vec<KernelRow>,
    pub ops: Vec<OpRow>,
    /// device memory held by the noisy stepper (allocator report; null where wgpu has none)
    pub memory_measured_bytes: Option<u64>,
}

/// One measurement: backend × precision × lattice size.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub backend: &'static str,
    pub precision: &'static str,
    pub size: usize,
    pub shape: [usize; 3],
    pub sites: usize,
    /// `gpu-timestamps` or `host` (the per-op times; the whole step is always host wall time)
    pub timing: &'static str,
    /// steps of the `Stepper::advance` measurement
    pub steps_timed: u64,
    /// wall seconds per step of `Stepper::advance(steps_timed)`, after a device wait: what a run gets
    pub step_time_s: f64,
    /// seconds per step of the per-op measurement (timestamps: first to last timestamp / reps)
    pub op_sequence_time_s: Option<f64>,
    pub op_reps: u32,
    /// sum of the per-op times of one step
    pub kernel_sum_s: f64,
    pub site_steps_per_s: f64,
    /// ideal bytes per site of one step (sum over the step's ops; src/bench/bytes.rs)
    pub bytes_per_site_step: f64,
    /// false when an op of the step has no byte count (its bytes are then missing from bytes_per_site_step)
    pub bytes_complete: bool,
    /// bytes_per_site_step · sites / step_time_s / 1e9
    pub achieved_bandwidth_gbs: f64,
    pub copy: CopyResult,
    /// achieved_bandwidth_gbs / copy.bandwidth_gbs
    pub fraction_of_copy: f64,
    pub kernels: Vec<KernelRow>,
    pub ops: Vec<OpRow>,
    pub diagnostics: DiagResult,
    /// the cost of the CQ noise: time of the noise ops / time of the other ops of the step, timed together (in
    /// the run itself when its configuration has noise, else in the variant with the noise on); null: not measured
    pub noise_overhead: Option<f64>,
    pub noise_note: String,
    /// the GPU run's variant with the noise on (when the configuration has none)
    pub noise: Option<NoiseResult>,
    pub memory: MemoryModel,
    /// device memory held by the stepper right after construction (GPU allocator report; null on the CPU and
    /// where wgpu has no report)
    pub memory_measured_bytes: Option<u64>,
    /// bytes of the step buffers / of all stepper buffers at this size (memory model)
    pub memory_step_bytes: f64,
    pub memory_total_bytes: f64,
    /// CPU runs: flops per site-step, the fraction of the CPU's peak, the row kernel against its reference
    pub cpu_compute: Option<super::cpu::CpuCompute>,
}

fn precision_str(cfg: &Config) -> &'static str {
    super::bytes::precision_name(cfg.run.precision)
}

impl RunResult {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        backend: &'static str,
        cfg: &Config,
        timing: &'static str,
        steps_timed: u64,
        step_time_s: f64,
        op_sequence_time_s: Option<f64>,
        op_reps: u32,
        copy: CopyResult,
        ops: Vec<OpRow>,
        diagnostics: DiagResult,
        memory: MemoryModel,
        noise: Option<NoiseResult>,
        noise_note: Option<String>,
    ) -> Self {
        let shape = cfg.lattice.shape;
        let sites = shape.iter().product::<usize>();
        let bytes_complete = ops.iter().all(|o| o.bytes_per_site.is_some());
        let bytes_per_site_step: f64 = ops.iter().filter_map(|o| o.bytes_per_site).sum();
        let achieved = bytes_per_site_step * sites as f64 / step_time_s / 1e9;
        let kernel_sum_s: f64 = ops.iter().map(|o| o.time_s).sum();
        let noise_s: f64 = ops.iter().filter(|o| o.name.contains("noise")).map(|o| o.time_s).sum();
        let has_noise = ops.iter().any(|o| o.name.contains("noise"));
        let (noise_overhead, noise_note) = if has_noise {
            (Some(noise_s / (kernel_sum_s - noise_s)), "the configuration has noise: noise ops / other ops of the step".to_owned())
        } else if let Some(v) = &noise {
            (
                Some(v.overhead_ops),
                format!(
                    "variant with cq.diffusion = {}: noise ops / other ops of the same timed steps; wall time per step \
                     with noise / without - 1 = {:+.3} (two separate measurements: noisier)",
                    v.diffusion, v.overhead_wall
                ),
            )
        } else {
            (None, noise_note.unwrap_or_else(|| "not measured".to_owned()))
        };
        let (memory_step_bytes, memory_total_bytes) = memory.bytes_for(sites);
        Self {
            backend,
            precision: precision_str(cfg),
            size: shape[0],
            shape,
            sites,
            timing,
            steps_timed,
            step_time_s,
            op_sequence_time_s,
            op_reps,
            kernel_sum_s,
            site_steps_per_s: sites as f64 / step_time_s,
            bytes_per_site_step,
            bytes_complete,
            achieved_bandwidth_gbs: achieved,
            fraction_of_copy: achieved / copy.bandwidth_gbs,
            kernels: kernel_rows(&ops, sites, Some(copy.bandwidth_gbs)),
            copy,
            ops,
            diagnostics,
            noise_overhead,
            noise_note,
            noise,
            memory,
            memory_measured_bytes: None,
            memory_step_bytes,
            memory_total_bytes,
            cpu_compute: None,
        }
    }
}

/// The adapter the GPU runs used.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
    /// TIMESTAMP_QUERY and TIMESTAMP_QUERY_INSIDE_ENCODERS enabled on the device
    pub timestamp_query: bool,
    pub timestamp_period_ns: f32,
    pub max_storage_binding_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    pub cpu_threads: usize,
    pub os: &'static str,
    pub arch: &'static str,
}

/// GPU site-steps/s over CPU site-steps/s at one size and precision.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub size: usize,
    pub precision: &'static str,
    pub gpu_site_steps_per_s: f64,
    pub cpu_site_steps_per_s: f64,
    pub ratio: f64,
}

/// The memory check of a lattice (computed from the memory model, not measured).
#[derive(Debug, Clone, Serialize)]
pub struct MemoryFit {
    pub size: usize,
    pub precision: &'static str,
    pub limit_bytes: f64,
    pub step_bytes: f64,
    pub total_bytes: f64,
    pub fits_step: bool,
    pub fits_total: bool,
    /// the largest single buffer (a state copy)
    pub largest_buffer_bytes: f64,
    /// the device's largest storage binding, when a GPU was opened
    pub max_storage_binding_bytes: Option<u64>,
    pub largest_buffer_fits_binding: Option<bool>,
}

/// One target of issue 6, evaluated from this run's numbers where it has them.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    /// e.g. ">= 0.5"
    pub target: String,
    pub measured: Option<f64>,
    /// null: not measured in this run (or no threshold)
    pub met: Option<bool>,
    pub note: String,
}

/// Everything `cqgrav bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub cqgrav_version: &'static str,
    pub commit: String,
    /// tracked files differ from the commit (null: git not available)
    pub worktree_dirty: Option<bool>,
    /// UTC, ISO 8601
    pub date: String,
    pub command: String,
    pub host: HostInfo,
    pub device: Option<DeviceInfo>,
    /// why the GPU runs did not happen (no adapter, no f64, …)
    pub gpu_notes: Vec<String>,
    pub sizes: Vec<usize>,
    pub cpu_sizes: Vec<usize>,
    pub precisions: Vec<&'static str>,
    pub backends: Vec<&'static str>,
    pub bytes_definition: &'static str,
    pub runs: Vec<RunResult>,
    pub gpu_cpu_ratio: Vec<Ratio>,
    pub memory_models: Vec<MemoryModel>,
    pub memory_fit: MemoryFit,
    pub targets: Vec<Target>,
    pub wall_s: f64,
}

pub const BYTES_DEFINITION: &str = "ideal (compulsory) bytes: each distinct field value a kernel reads or writes is counted \
once per site (stencil neighbours not re-counted), from the shaders' bindings (src/bench/bytes.rs); a lower bound of \
DRAM traffic, not cache-level traffic. Bandwidth = bytes / time; the copy reference moves 2 x its buffer.";

fn si(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    format!("{x:.3e}")
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map(f).unwrap_or_else(|| "—".into())
}

fn mib(b: f64) -> String {
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

fn kernel_table(out: &mut String, rows: &[KernelRow]) {
    let _ = writeln!(out, "    {:<24} {:>5} {:>11} {:>7} {:>9} {:>9} {:>8}", "kernel", "calls", "time [s]", "share", "B/site", "GB/s", "of copy");
    for r in rows {
        let _ = writeln!(
            out,
            "    {:<24} {:>5} {:>11} {:>6.1}% {:>9} {:>9} {:>8}",
            r.name,
            r.calls,
            si(r.time_s),
            100.0 * r.share,
            opt(r.bytes_per_site, |b| format!("{b:.1}")),
            opt(r.bandwidth_gbs, |b| format!("{b:.2}")),
            opt(r.fraction_of_copy, |f| format!("{f:.2}")),
        );
    }
}

/// The table printed to stdout.
pub fn render(r: &BenchReport) -> String {
    let mut o = String::new();
    let dirty = match r.worktree_dirty {
        Some(true) => " (working tree modified)",
        _ => "",
    };
    let _ = writeln!(o, "cqgrav bench — cqgrav {} commit {}{dirty}, {}", r.cqgrav_version, r.commit, r.date);
    let _ = writeln!(o, "command: {}", r.command);
    match &r.device {
        Some(d) => {
            let _ = writeln!(
                o,
                "device:  {} ({}, {}), driver {} {}; per-op timing: {}",
                d.name,
                d.backend,
                d.device_type,
                d.driver,
                d.driver_info,
                if d.timestamp_query { "GPU timestamp queries" } else { "host, after a device wait (no timestamp queries)" }
            );
        }
        None => {
            let _ = writeln!(o, "device:  no GPU run");
        }
    }
    for n in &r.gpu_notes {
        let _ = writeln!(o, "note:    {n}");
    }
    let _ = writeln!(o, "host:    {} CPU threads (rayon), {} {}", r.host.cpu_threads, r.host.os, r.host.arch);
    let _ = writeln!(o, "bytes:   {}", r.bytes_definition);
    for run in &r.runs {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{} {} {}³ ({} sites): {} steps, {} s/step, {} site-steps/s; {:.0} B/site/step{} -> {:.2} GB/s = {:.2} of copy ({:.2} GB/s over {})",
            run.backend,
            run.precision,
            run.size,
            run.sites,
            run.steps_timed,
            si(run.step_time_s),
            si(run.site_steps_per_s),
            run.bytes_per_site_step,
            if run.bytes_complete { "" } else { " (incomplete)" },
            run.achieved_bandwidth_gbs,
            run.fraction_of_copy,
            run.copy.bandwidth_gbs,
            mib(run.copy.buffer_bytes as f64),
        );
        if let Some(c) = &run.cpu_compute {
            let _ = writeln!(
                o,
                "  compute: {} flop/site-step (counted; src/bench/flops.rs) -> {:.1} GFlop/s = {} of peak ({} GFlop/s: {}); {:.3} of copy bandwidth",
                c.flops.per_site_step,
                c.gflops,
                c.fraction_of_peak.map(|f| format!("{f:.3}")).unwrap_or_else(|| "?".into()),
                c.peak_gflops.map(|g| format!("{g:.0}")).unwrap_or_else(|| "?".into()),
                c.peak.source,
                run.fraction_of_copy,
            );
            let _ = writeln!(
                o,
                "  right-hand side ({}): {} s/stage, per-site reference {} s/stage -> {:.2}x (medians of {} interleaved pairs)",
                c.isa,
                si(c.rhs_time_s),
                si(c.rhs_reference_time_s),
                c.rhs_speedup,
                c.rhs_pairs
            );
        }
        let _ = writeln!(
            o,
            "  step ops ({} timing, {} reps; sum {} s, sequence {} s):",
            run.timing,
            run.op_reps,
            si(run.kernel_sum_s),
            opt(run.op_sequence_time_s, si)
        );
        kernel_table(&mut o, &run.kernels);
        let _ = writeln!(o, "  diagnostics (one evaluation):");
        kernel_table(&mut o, &run.diagnostics.kernels);
        let _ = writeln!(
            o,
            "  constraint monitoring every 10 steps: +{:.1}% (diagnostics() call {} s){}",
            100.0 * run.diagnostics.monitor_every_10_overhead,
            si(run.diagnostics.call_time_s),
            if run.diagnostics.finite { "" } else { "  WARNING: non-finite diagnostics" }
        );
        let _ = writeln!(
            o,
            "  noise: {}",
            match run.noise_overhead {
                Some(x) => format!("{:+.1}% ({})", 100.0 * x, run.noise_note),
                None => run.noise_note.clone(),
            }
        );
        if let Some(v) = &run.noise {
            let _ = writeln!(o, "  step ops with the noise on ({} s/step, {} steps):", si(v.step_time_s), v.steps_timed);
            kernel_table(&mut o, &v.kernels);
        }
        let _ = writeln!(
            o,
            "  memory (model): {:.1} B/site step buffers, {:.1} B/site with diagnostics -> {} / {}",
            run.memory.step_bytes_per_site,
            run.memory.total_bytes_per_site,
            mib(run.memory_step_bytes),
            mib(run.memory_total_bytes)
        );
        if let Some(b) = run.memory_measured_bytes {
            let _ = writeln!(
                o,
                "  memory (device allocator, after construction): {} = {:.1} B/site{}",
                mib(b as f64),
                b as f64 / run.sites as f64,
                match run.noise.as_ref().and_then(|v| v.memory_measured_bytes) {
                    Some(nb) => format!("; with the noise on {} = {:.1} B/site", mib(nb as f64), nb as f64 / run.sites as f64),
                    None => String::new(),
                }
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "summary");
    let _ = writeln!(
        o,
        "  {:<4} {:<4} {:>5} {:>12} {:>11} {:>8} {:>9} {:>10} {:>7} {:>7}",
        "back", "prec", "N", "site-steps/s", "s/step", "B/site", "GB/s", "copy GB/s", "of copy", "mon/10"
    );
    for run in &r.runs {
        let _ = writeln!(
            o,
            "  {:<4} {:<4} {:>5} {:>12} {:>11} {:>8.0} {:>9.2} {:>10.2} {:>7.2} {:>6.1}%",
            run.backend,
            run.precision,
            run.size,
            si(run.site_steps_per_s),
            si(run.step_time_s),
            run.bytes_per_site_step,
            run.achieved_bandwidth_gbs,
            run.copy.bandwidth_gbs,
            run.fraction_of_copy,
            100.0 * run.diagnostics.monitor_every_10_overhead
        );
    }
    for q in &r.gpu_cpu_ratio {
        let _ = writeln!(
            o,
            "  GPU/CPU at {}³ {}: {:.1}x ({} / {} site-steps/s)",
            q.size,
            q.precision,
            q.ratio,
            si(q.gpu_site_steps_per_s),
            si(q.cpu_site_steps_per_s)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "memory per site (model: stepper buffers; bench buffers excluded)");
    for m in &r.memory_models {
        let _ = writeln!(
            o,
            "  {} {}: step {:.1} B/site ({} reals), with diagnostics {:.2} B/site",
            m.backend, m.precision, m.step_bytes_per_site, m.step_reals_per_site, m.total_bytes_per_site
        );
    }
    let f = &r.memory_fit;
    let _ = writeln!(
        o,
        "  {}³ {} on the GPU: step buffers {} ({}), with diagnostics {} ({}) of {}; largest buffer {}{}",
        f.size,
        f.precision,
        mib(f.step_bytes),
        if f.fits_step { "fits" } else { "does NOT fit" },
        mib(f.total_bytes),
        if f.fits_total { "fits" } else { "does NOT fit" },
        mib(f.limit_bytes),
        mib(f.largest_buffer_bytes),
        match (f.max_storage_binding_bytes, f.largest_buffer_fits_binding) {
            (Some(l), Some(ok)) => format!(" ({} this device's binding limit {})", if ok { "within" } else { "OVER" }, mib(l as f64)),
            _ => String::new(),
        }
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "targets (issue 6; meaningful on the lent GPU at the default sizes)");
    for t in &r.targets {
        let _ = writeln!(
            o,
            "  {:<52} {:>10} {:>11} {:>9}  {}",
            t.name,
            t.target,
            opt(t.measured, |x| format!("{x:.4}")),
            match t.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "—",
            },
            t.note
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "total wall time {:.1} s", r.wall_s);
    o
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `secs` seconds since the Unix epoch (proleptic Gregorian, UTC).
pub fn utc_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // civil_from_days (H. Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Now, UTC.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    utc_date(secs)
}

fn git(args: &[&str]) -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The commit: `CQGRAV_GIT_COMMIT` set by build.rs, else `git rev-parse HEAD` now, else "unknown"; and whether
/// tracked files differ from it (null when git cannot tell).
pub fn commit() -> (String, Option<bool>) {
    let built = option_env!("CQGRAV_GIT_COMMIT").filter(|c| !c.is_empty() && *c != "unknown").map(str::to_owned);
    let c = built.or_else(|| git(&["rev-parse", "HEAD"])).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    (c, dirty)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_date(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn grouping() {
        let op = |name: &str, t: f64, b: Option<f64>| OpRow { name: name.into(), stage: None, time_s: t, bytes_per_site: b };
        let rows = kernel_rows(&[op("a", 1.0, Some(10.0)), op("b", 2.0, None), op("a", 1.0, Some(10.0))], 100, Some(1e-6));
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].calls, rows[0].time_s, rows[0].bytes_per_site), (2, 2.0, Some(20.0)));
        assert_eq!(rows[0].share, 0.5);
        assert_eq!(rows[1].bytes_per_site, None);
        assert!((rows[0].bandwidth_gbs.unwrap() - 1e-6).abs() < 1e-18);
    }
}
