//! `cqgrav check`: load and validate a configuration without running it; print a summary or every problem.
use crate::config::{self, fmt_num, BackendChoice, Config, InitialKind, Lapse, Precision};
use crate::numerics::stability;
use std::path::Path;

pub fn check(config: Option<&Path>, set: &[String]) -> anyhow::Result<()> {
    let source = match config {
        Some(p) => p.display().to_string(),
        None => "built-in default example (data/default.toml)".to_string(),
    };
    let (loaded, mut problems) = match config::load_lenient(config, set) {
        Ok(x) => x,
        Err(e) => return Err(report_failure(&source, &e.lines())),
    };
    let review = config::review(&loaded.config);
    let mut warnings = loaded.warnings.clone();
    warnings.extend(review.warnings.iter().cloned());
    problems.extend(review.problems);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        print_warnings(&warnings);
        return Err(report_failure(&source, &lines));
    }
    print!("{}", summary(&source, &loaded.config));
    print_warnings(&warnings);
    println!("ok: the configuration is valid");
    Ok(())
}

pub(super) fn report_failure(source: &str, lines: &[String]) -> anyhow::Error {
    eprintln!("{source}: the configuration is invalid:");
    for l in lines {
        eprintln!("  {l}");
    }
    anyhow::anyhow!(
        "config check failed: {} problem{} in {source}",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    )
}

pub(super) fn print_warnings(w: &[String]) {
    for w in w {
        println!("warning: {w}");
    }
}

/// Human-readable size in bytes.
fn bytes(n: f64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n;
    let mut i = 0;
    while x >= 1024.0 && i + 1 < U.len() {
        x /= 1024.0;
        i += 1;
    }
    format!("{x:.1} {}", U[i])
}

fn summary(source: &str, c: &Config) -> String {
    let lat = c.lattice();
    let [n1, n2, n3] = c.lattice.shape;
    let h = c.lattice.spacing;
    let dt = c.dt();
    let steps = c.n_steps();
    let [l1, l2, l3] = lat.box_lengths();
    let mut s = String::new();
    s.push_str(&format!("config      {source}\n"));
    s.push_str(&format!(
        "lattice     {n1} x {n2} x {n3} = {} sites, h = {h}, box {l1} x {l2} x {l3}, {} active direction{}\n",
        lat.sites(),
        lat.active_dims(),
        if lat.active_dims() == 1 { "" } else { "s" }
    ));
    let how = match (c.time.dt, c.time.steps) {
        (Some(_), _) => "time.dt".to_string(),
        (None, _) => format!("courant {} x h", c.time.courant),
    };
    let t_final = steps as f64 * dt;
    let end = match c.time.steps {
        Some(_) => format!("time.steps = {steps}, ends at t = {t_final}"),
        None => format!("t_end = {}, {steps} steps, ends at t = {t_final}", c.time.t_end),
    };
    s.push_str(&format!("time        dt = {dt} ({how}); {end}\n"));
    if let Some(b) = stability::stability_bound(c) {
        let bound = if b.dt_max.is_finite() {
            format!("dt <= {:.4} (courant <= {:.4})", b.dt_max, b.courant_max)
        } else {
            "none (no active direction and no mass term)".to_string()
        };
        s.push_str(&format!(
            "stability   RK4 bound {bound}: fd_order {}, dissipation {}, speed {}, m·N {}, safety {}\n",
            b.fd_order,
            b.dissipation,
            fmt_num(b.wave_speed),
            fmt_num(b.mass_term),
            stability::SAFETY
        ));
    }
    let lapse = match c.gauge.lapse {
        Lapse::Geodesic => "geodesic",
        Lapse::Harmonic => "harmonic",
        Lapse::OnePlusLog => "one-plus-log",
    };
    let kind = match c.initial.kind {
        InitialKind::Minkowski => "minkowski".to_string(),
        InitialKind::LinearWave => format!("linear-wave (A = {})", c.initial.amplitude),
        InitialKind::GaugeWave => format!("gauge-wave (A = {})", c.initial.amplitude),
        InitialKind::Frw => format!(
            "frw (a0 = {}, phi = {}, phi_dot = {})",
            c.initial.scale_factor, c.initial.phi, c.initial.phi_dot
        ),
    };
    let repr = c.matter.representation.name();
    s.push_str(&format!(
        "physics     initial {kind}; lapse {lapse}; fd_order {}; Λ = {}; m = {}; matter {repr}; D2 = {}\n",
        c.gravity.fd_order, c.gravity.cosmological_constant, c.matter.mass, c.cq.diffusion
    ));
    if c.cq.diffusion > 0.0 {
        let noise = match c.cq.noise {
            crate::config::NoiseKind::Tensor => format!("tensor, β = {}", c.cq.beta),
            crate::config::NoiseKind::TraceOnly => "trace-only".to_string(),
        };
        let corr = if c.cq.correlation_length > 0.0 {
            format!("Gaussian-correlated, ℓ = {}", c.cq.correlation_length)
        } else {
            "white (ℓ = 0)".to_string()
        };
        s.push_str(&format!(
            "cq noise    {noise}, {corr}{}\n",
            if c.cq.frozen_drift { "; deterministic drift OFF (cq.frozen_drift, testing)" } else { "" }
        ));
    }
    let backend = match c.run.backend {
        BackendChoice::Auto => "auto",
        BackendChoice::Gpu => "gpu",
        BackendChoice::Cpu => "cpu",
    };
    let precision = match c.run.precision {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    };
    s.push_str(&format!(
        "run         backend {backend}, precision {precision}, seed {}\n",
        c.run.seed
    ));
    let host = |gpu: bool| format!("{} ({} bytes per site)", bytes(config::host_memory_bytes(c, gpu) as f64), config::host_bytes_per_site(c, gpu));
    s.push_str(&match c.run.backend {
        BackendChoice::Cpu => format!("memory      host ~ {}\n", host(false)),
        BackendChoice::Gpu => format!("memory      host ~ {}; the state lives on the GPU\n", host(true)),
        BackendChoice::Auto => format!("memory      host ~ {} with a GPU, {} on the CPU\n", host(true), host(false)),
    });
    if c.matter.representation == crate::config::Representation::Dense {
        // issue 5: the dense quantum field
        let d = 2 * lat.sites();
        let place = match c.run.backend {
            crate::config::BackendChoice::Cpu => format!(
                "float64 on the CPU, ~ {} for Γ and its work copies",
                bytes(crate::config::dense_memory_bytes(lat.sites()) as f64)
            ),
            crate::config::BackendChoice::Gpu => format!(
                "on the GPU ({:?}), ~ {} on the device",
                c.run.precision,
                bytes(crate::backend::gpu::dense_field::device_bytes(lat.sites(), c.run.precision) as f64)
            ),
            crate::config::BackendChoice::Auto => format!(
                "on a hardware GPU ({:?}) ~ {} on the device, otherwise float64 on the CPU ~ {}",
                c.run.precision,
                bytes(crate::backend::gpu::dense_field::device_bytes(lat.sites(), c.run.precision) as f64),
                bytes(crate::config::dense_memory_bytes(lat.sites()) as f64)
            ),
        };
        s.push_str(&format!(
            "quantum     dense Gaussian state: Γ {d} x {d}, {place}; renormalisation {:?}, decoherence excess {}\n",
            c.matter.renormalization,
            c.cq.decoherence_excess
        ));
    }
    if c.matter.representation == crate::config::Representation::Ensemble {
        let m = &c.matter;
        let loc = if m.localization > 0.0 { format!("localisation c = {}·h", m.localization) } else { "no localisation".into() };
        let gram_blocks = crate::config::ensemble_gram_blocks(c);
        let scheme = if gram_blocks == 0 { "products by site pairs".to_string() } else { format!("{gram_blocks} blocks") };
        s.push_str(&format!(
            "quantum     ensemble Gaussian state: M = {} members, {loc} ({scheme}), control variate {}; float64 on the \
             CPU, ~ {} (of which {} the M × M Gram matrices of the blocks); renormalisation {:?}\n",
            m.members,
            if m.control_variate { "on" } else { "off" },
            bytes(crate::config::ensemble_memory_bytes(lat.sites(), m.members as usize, m.control_variate, gram_blocks) as f64),
            bytes(crate::config::ensemble_gram_bytes(m.members as usize, gram_blocks) as f64),
            m.renormalization
        ));
    }
    if c.matter.representation == crate::config::Representation::Fourier {
        // issue 11: the fourier quantum field, O(n)
        let n = lat.sites();
        let coupled = c.cq.diffusion > 0.0;
        s.push_str(&format!(
            "quantum     fourier Gaussian state: Γ_k (3 reals) for each of {n} lattice momenta; ~ {} float64 on the CPU, ~ {} on \
             a GPU ({:?}); renormalisation {:?}, decoherence excess {}\n",
            bytes(crate::backend::cpu::fourier_field::host_bytes(n, coupled) as f64),
            bytes(crate::backend::gpu::fourier_field::device_bytes(n, coupled, c.run.precision) as f64),
            c.run.precision,
            c.matter.renormalization,
            c.cq.decoherence_excess
        ));
    }
    if let Some(regime) = crate::config::regime::Regime::of(c) {
        // issue 12: the physical timescales of the quantum field
        for l in regime.lines() {
            s.push_str(&format!("{l}\n"));
        }
    }
    s.push_str(&format!(
        "output      {} (timeseries every {} steps, snapshots {}, checkpoints {})\n",
        c.output.file.display(),
        c.output.timeseries_every,
        every(c.output.snapshot_every),
        if c.output.checkpoint_every == 0 {
            "final only".to_string()
        } else {
            every(c.output.checkpoint_every)
        }
    ));
    s
}

fn every(n: u64) -> String {
    if n == 0 {
        "none".into()
    } else {
        format!("every {n} steps")
    }
}
