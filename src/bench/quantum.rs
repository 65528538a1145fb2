//! `cqgrav bench --representation R` (issues 11, 17): the cost of a step with a quantum field on an FRW lattice with
//! the CQ noise on, per lattice size N³, ensemble size M (`ensemble` only), backend and precision: the median
//! seconds per step of `Stepper::advance` (ending with a device wait), site-steps/s and member-site-steps/s, and the
//! memory per site and per member from the representations' own accounting (`config::ensemble_memory_bytes`,
//! `backend::gpu::ensemble_field::device_bytes`, the fourier field's `host_bytes` / `device_bytes`). The noise flow's
//! sub-step and iteration counts depend on the state, so the numbers are for this configuration (printed).
use super::{BenchArgs, BenchBackend, BenchPrecision};
use crate::backend::{make_stepper, StepperSetup};
use crate::config::{BackendChoice, Config, Precision, Representation};
use std::time::Instant;

/// One measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuantumRow {
    pub representation: String,
    pub backend: String,
    pub precision: String,
    pub n: usize,
    pub members: usize,
    /// median over repeats of seconds per step
    pub seconds_per_step: f64,
    pub site_steps_per_second: f64,
    pub member_site_steps_per_second: f64,
    /// bytes of the quantum state and its work arrays per lattice site (host on the CPU, device on the GPU)
    pub bytes_per_site: f64,
    /// the same per site and member (ensemble)
    pub bytes_per_member_site: f64,
}

/// The configuration of one measurement: the base config (default: the FRW lattice example) at N³ with the
/// representation, M members, backend and precision, the noise on.
fn config_for(args: &BenchArgs, rep: Representation, n: usize, m: usize, backend: BackendChoice, p: Precision) -> anyhow::Result<Config> {
    let mut sets = args.set.clone();
    sets.push(format!("lattice.shape=[{n},{n},{n}]"));
    sets.push(format!("matter.representation=\"{}\"", rep.name()));
    sets.push(format!("matter.members={m}"));
    sets.push(format!("run.backend=\"{}\"", if backend == BackendChoice::Gpu { "gpu" } else { "cpu" }));
    sets.push(format!("run.precision=\"{}\"", if p == Precision::F32 { "f32" } else { "f64" }));
    let loaded = super::base_config(args.config.as_deref(), &sets, false).map_err(|e| anyhow::anyhow!("bench configuration:\n  {}", e.lines().join("\n  ")))?;
    let mut cfg = loaded.config;
    if cfg.cq.diffusion == 0.0 {
        cfg.cq.diffusion = 1.0;
    }
    cfg.cq.decoherence_excess = 0.0;
    Ok(cfg)
}

/// Bytes per site of the quantum state for this configuration.
fn quantum_bytes(cfg: &Config, backend: BackendChoice) -> f64 {
    let n = cfg.lattice.shape.iter().product::<usize>();
    let m = cfg.matter.members as usize;
    let bytes = match (cfg.matter.representation, backend) {
        (Representation::Ensemble, BackendChoice::Gpu) => {
            crate::backend::gpu::ensemble_field::device_bytes(n, m, crate::config::ensemble_gram_blocks(cfg), cfg.matter.control_variate, cfg.run.precision) as f64
        }
        (Representation::Ensemble, _) => {
            crate::config::ensemble_memory_bytes(n, m, cfg.matter.control_variate, crate::config::ensemble_gram_blocks(cfg)) as f64
        }
        (Representation::Fourier, BackendChoice::Gpu) => {
            crate::backend::gpu::fourier_field::device_bytes(n, cfg.cq.diffusion > 0.0, cfg.run.precision) as f64
        }
        (Representation::Fourier, _) => crate::backend::cpu::fourier_field::host_bytes(n, cfg.cq.diffusion > 0.0) as f64,
        (Representation::Dense, _) => crate::config::dense_memory_bytes(n) as f64,
        (Representation::None, _) => 0.0,
    };
    bytes / n as f64
}

/// Measures every combination; `repeats` timed runs of `steps` steps after one warm-up step.
pub fn run(args: &BenchArgs, rep: Representation, members: &[usize]) -> anyhow::Result<Vec<QuantumRow>> {
    let backends: Vec<BackendChoice> = match args.backend {
        BenchBackend::Cpu => vec![BackendChoice::Cpu],
        BenchBackend::Gpu => vec![BackendChoice::Gpu],
        BenchBackend::Both => vec![BackendChoice::Cpu, BackendChoice::Gpu],
    };
    let precisions: Vec<Precision> = match args.precision {
        BenchPrecision::F32 => vec![Precision::F32],
        BenchPrecision::F64 => vec![Precision::F64],
        BenchPrecision::Both => vec![Precision::F32, Precision::F64],
    };
    let ms: Vec<usize> = if rep == Representation::Ensemble { members.to_vec() } else { vec![0] };
    let mut rows = Vec::new();
    for &backend in &backends {
        for &p in &precisions {
            if backend == BackendChoice::Cpu && p == Precision::F32 && rep != Representation::None {
                continue; // the CPU quantum fields compute in f64 whatever run.precision says
            }
            for &n in &args.sizes {
                if backend == BackendChoice::Cpu && n > args.cpu_max_size {
                    continue;
                }
                for &m in &ms {
                    let cfg = config_for(args, rep, n, m.max(4), backend, p)?;
                    let state = crate::physics::initial_data::initial_state(&cfg);
                    let (mut st, _) = make_stepper(&cfg, &state)?;
                    st.advance(1)?;
                    let steps = args.steps.unwrap_or(2).max(1);
                    let mut times: Vec<f64> = (0..3)
                        .map(|_| -> anyhow::Result<f64> {
                            let t = Instant::now();
                            st.advance(steps as u64)?;
                            Ok(t.elapsed().as_secs_f64() / steps as f64)
                        })
                        .collect::<anyhow::Result<_>>()?;
                    times.sort_by(f64::total_cmp);
                    let sps = times[1];
                    let sites = (n * n * n) as f64;
                    let bps = quantum_bytes(&cfg, backend);
                    let setup: &StepperSetup = st.setup();
                    let row = QuantumRow {
                        representation: rep.name().into(),
                        backend: st.description(),
                        precision: if setup.precision == Precision::F32 { "f32".into() } else { "f64".into() },
                        n,
                        members: if rep == Representation::Ensemble { m } else { 0 },
                        seconds_per_step: sps,
                        site_steps_per_second: sites / sps,
                        member_site_steps_per_second: sites * m.max(1) as f64 / sps,
                        bytes_per_site: bps,
                        bytes_per_member_site: bps / m.max(1) as f64,
                    };
                    eprintln!("bench: {} N = {n} M = {m} on {}: {:.3e} s/step", row.representation, row.backend, sps);
                    rows.push(row);
                }
            }
        }
    }
    Ok(rows)
}

/// The table of [`run`].
pub fn render(rows: &[QuantumRow]) -> String {
    let mut s = String::from(
        "representation  backend                                   prec   N      M     s/step      site-steps/s  member-site-steps/s  bytes/site   bytes/(site·member)\n",
    );
    for r in rows {
        s += &format!(
            "{:<15} {:<41} {:<6} {:<6} {:<5} {:<11.3e} {:<13.3e} {:<20.3e} {:<12.0} {:.0}\n",
            r.representation,
            r.backend.chars().take(41).collect::<String>(),
            r.precision,
            r.n,
            r.members,
            r.seconds_per_step,
            r.site_steps_per_second,
            r.member_site_steps_per_second,
            r.bytes_per_site,
            r.bytes_per_member_site
        );
    }
    s
}
