//! Validation of a deserialised configuration: value ranges (SPEC §2–§4, §10), the RK4 stability bound, and the
//! features this version does not implement yet. Every problem is collected, not just the first.
use super::{Config, ConfigError, InitialKind, Lapse, Problem, Representation};
use crate::numerics::stability::{self, RK4_REAL_AXIS_LIMIT, SAFETY};
use crate::numerics::stencil::Stencil;

/// Everything [`review`] found: problems (the config is rejected if there is one) and warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

/// Validate a configuration: `Ok(warnings)` or `Err(ConfigError::Invalid(all problems))`.
pub fn validate(cfg: &Config) -> Result<Vec<String>, ConfigError> {
    let r = review(cfg);
    if r.problems.is_empty() {
        Ok(r.warnings)
    } else {
        Err(ConfigError::Invalid(r.problems))
    }
}

/// All problems and warnings of a configuration: the value checks, then [`unimplemented_features`].
pub fn review(cfg: &Config) -> Review {
    let mut r = Review::default();
    check_values(cfg, &mut r);
    r.problems.extend(unimplemented_features(cfg));
    if r.problems.is_empty() {
        // the physical regime of a quantum field (issue 12), once the values are known to be valid
        if let Some(regime) = super::regime::Regime::of(cfg) {
            regime.review(&mut r);
        }
    }
    r
}

// ------------------------------------------------------------------------------------------------------------
// NOT YET IMPLEMENTED — remove each check here when its feature lands.
// ------------------------------------------------------------------------------------------------------------
/// Settings that are valid by SPEC but not implemented in this version of cqgrav: rejected honestly.
pub fn unimplemented_features(_cfg: &Config) -> Vec<Problem> {
    Vec::new()
}

/// Bytes the CPU `dense` representation holds for n sites: fifteen (2n × 2n) float64 matrices (Γ, its three RK4
/// copies and right-hand side, the products of the drift and the noise flow). The GPU representation's device
/// memory is `backend::gpu::dense_field::device_bytes`; its host side holds about three (2n × 2n) f64 matrices.
pub fn dense_memory_bytes(sites: usize) -> u128 {
    let d = 2 * sites as u128;
    15 * d * d * 8
}

/// Bytes the CPU `ensemble` representation holds for n sites, M members and `blocks` localisation blocks
/// (numerics/localization.rs, [`crate::numerics::localization::Blocks::count`]): the members with their RK4 copies
/// and right-hand side (5), the work arrays of the symplectic maps and the noise flow (about 9), and with the
/// control variate the shadow members with their RK4 copies (5), each 2n·M float64; and the per-block M × M Gram
/// matrices of the symplectic generator (C^X, C^Ω, a tapered copy and the taper's work array: 4 · blocks · M²
/// float64), for the `blocks` of [`ensemble_gram_blocks`] — none when the products go by site pairs (the default
/// localisation c = h), where they would outweigh the members from M ≈ 10 on.
pub fn ensemble_memory_bytes(sites: usize, members: usize, control_variate: bool, blocks: usize) -> u128 {
    let copies = 14 + if control_variate { 5 } else { 0 };
    let (n, m) = (sites as u128, members as u128);
    copies * 2 * n * m * 8 + ensemble_gram_bytes(members, blocks)
}

/// The Gram-matrix part of [`ensemble_memory_bytes`]: 4 · blocks · M² float64.
pub fn ensemble_gram_bytes(members: usize, blocks: usize) -> u128 {
    4 * blocks as u128 * (members as u128).pow(2) * 8
}

/// The localisation blocks of an ensemble configuration that store M × M Gram matrices: 0 when its localised
/// products go by site pairs (numerics/localization.rs [`crate::numerics::localization::Blocks::site_pairs`]).
pub fn ensemble_gram_blocks(cfg: &Config) -> usize {
    use crate::numerics::localization::Blocks;
    let (lat, c, m) = (cfg.lattice(), cfg.matter.localization * cfg.lattice.spacing, cfg.matter.members as usize);
    if Blocks::uses_site_pairs(&lat, c, m) {
        0
    } else {
        Blocks::count(&lat, c)
    }
}

/// Host bytes per lattice site of a classical run (issue 15; `cqgrav check` prints it, validation refuses a
/// lattice that does not fit the machine). CPU stepper, w = bytes of a real in `run.precision`: y, the RK4
/// accumulator and two stage inputs (4 × 15 w), the stage right-hand sides (15 w), the scalar flux (3 w); with
/// CQ noise the white, smoothed and increment tensors and the statistics (22 w) and the per-site temporaries of
/// drawing them (10 w); the diagnostics' per-site columns and constraint fields (17 w). On the host in f64 for
/// every backend: a downloaded state (15 × 8), a snapshot being built and one being written (2 × 20 × 8) with
/// its constraint fields (4 × 8), the checkpoint's copy of the state (15 × 8). A GPU run holds only the host
/// part (its device memory is checked when the buffers are created). `tests/memory_estimate.rs` measures the
/// peak resident memory of real runs against it.
pub fn host_bytes_per_site(cfg: &Config, gpu: bool) -> u128 {
    let w: u128 = if cfg.run.precision == super::Precision::F32 { 4 } else { 8 };
    let noise = if cfg.cq.diffusion > 0.0 { 32 } else { 0 };
    let stepper = if gpu { 0 } else { (4 * 15 + 15 + 3 + noise + 17) * w };
    stepper + (15 + 2 * 20 + 4 + 15) * 8
}

/// [`host_bytes_per_site`] times the number of sites (saturating: an absurd lattice gives an absurd number).
pub fn host_memory_bytes(cfg: &Config, gpu: bool) -> u128 {
    let sites = cfg.lattice.shape.iter().fold(1u128, |a, &n| a.saturating_mul(n as u128));
    sites.saturating_mul(host_bytes_per_site(cfg, gpu))
}

/// MemTotal / MemAvailable of this machine in bytes (Linux), if known.
pub fn machine_memory() -> Option<(u128, u128)> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let get = |key: &str| -> Option<u128> {
        let line = s.lines().find(|l| l.starts_with(key))?;
        Some(line.split_whitespace().nth(1)?.parse::<u128>().ok()? * 1024)
    };
    Some((get("MemTotal:")?, get("MemAvailable:")?))
}

/// A classical run whose host memory ([`host_memory_bytes`]) exceeds this machine's is refused with the size it
/// needs; `auto` is judged by its GPU host part (it may still fall back to the CPU, which needs more).
fn check_memory(cfg: &Config, r: &mut Review) {
    let Some((total, _)) = machine_memory() else { return };
    let gpu = cfg.run.backend != crate::config::BackendChoice::Cpu;
    let need = host_memory_bytes(cfg, gpu);
    if need > total {
        let n: u128 = cfg.lattice.shape.iter().map(|&n| n as u128).product();
        r.problems.push(Problem::new(
            "lattice.shape",
            format!(
                "lattice.shape = {:?} ({n} sites) needs about {} GiB of host memory ({} bytes per site with run.backend = \"{}\", \
                 run.precision = \"{}\"), more than this machine's {} GiB; use a smaller lattice{}",
                cfg.lattice.shape,
                fmt_num(need as f64 / (1u128 << 30) as f64),
                host_bytes_per_site(cfg, gpu),
                match cfg.run.backend {
                    crate::config::BackendChoice::Auto => "auto",
                    crate::config::BackendChoice::Gpu => "gpu",
                    crate::config::BackendChoice::Cpu => "cpu",
                },
                if cfg.run.precision == super::Precision::F32 { "f32" } else { "f64" },
                fmt_num(total as f64 / (1u128 << 30) as f64),
                if gpu { "" } else { " (or run.precision = \"f32\")" }
            ),
        ));
    }
}

/// The checks of a quantum field (SPEC §4, §4.1, §4.2; issues 5, 11): the physics every representation needs, then
/// each one's size (dense's and the ensemble's memory; the fourier field's O(n) memory is printed by `cqgrav check`).
fn check_dense(cfg: &Config, r: &mut Review) {
    let rep = cfg.matter.representation;
    if rep == Representation::None {
        return;
    }
    let name = rep.name();
    let m = cfg.matter.mass;
    // issue 13: an ensemble with a non-quadratic potential samples the vacuum of V″(φ̄0) = m² + U″(φ̄0) and needs no
    // vacuum of m itself when nothing subtracts it (renormalisation "none")
    let u = crate::physics::potential::Polynomial::from_config(&cfg.matter);
    let phi0 = if cfg.initial.kind == InitialKind::Frw { cfg.initial.phi } else { 0.0 };
    let m_eff2 = crate::physics::potential::effective_mass2(m, &u, phi0);
    let massless_ok = rep == Representation::Ensemble
        && cfg.matter.renormalization == crate::config::Renormalization::None
        && m_eff2.is_finite()
        && m_eff2 > 0.0;
    if rep == Representation::Ensemble && m_eff2.is_finite() && m_eff2 <= 0.0 && !u.is_zero() {
        r.problems.push(Problem::new(
            "matter.potential",
            format!(
                "the fluctuations' effective mass² V″(φ̄0) = m² + U″(φ̄0) = {} at the initial mean field is not positive:                  the ensemble's initial state is the lattice vacuum of that mass, which does not exist for a tachyonic                  or massless k = 0 mode",
                fmt_num(m_eff2)
            ),
        ));
    }
    if m.is_finite() && m <= 0.0 && !massless_ok {
        r.problems.push(Problem::new(
            "matter.mass",
            format!(
                "matter.mass = {m} with matter.representation = \"{name}\": the initial state is the lattice Fock vacuum, \
                 which needs ω_k² = κ_k² + m² > 0 for every lattice momentum; the k = 0 mode of a massless field has no \
                 vacuum. Use matter.mass > 0 (or, for matter.representation = \"ensemble\" with a potential whose \
                 V″(φ̄0) > 0, matter.renormalization = \"none\": docs/cosmology.md §1)"
            ),
        ));
    }
    let cq = &cfg.cq;
    if cq.diffusion > 0.0 {
        if cq.noise == crate::config::NoiseKind::TraceOnly {
            r.problems.push(Problem::new(
                "cq.noise",
                format!(
                    "cq.noise = \"trace-only\" with a quantum field (matter.representation = \"{name}\"): the back-reaction \
                     L̂^ab has a traceless part (D^aφ D^bφ) outside the range of the rank-one noise, so the decoherence–diffusion \
                     trade-off C ⪰ ¼𝒟⁻¹ cannot be met (a noiseless channel of dπ^ab would reveal ⟨L̂⟩ exactly); use \
                     cq.noise = \"tensor\" with cq.beta < 1/3"
                ),
            ));
        }
        if (cq.beta - 1.0 / 3.0).abs() <= 1e-12 {
            r.problems.push(Problem::new(
                "cq.beta",
                format!(
                    "cq.beta = 1/3 with a quantum field (matter.representation = \"{name}\"): the diffusion tensor then has \
                     no trace part, the back-reaction's trace g_ab L̂^ab lies outside the range of 𝒟 and the \
                     decoherence–diffusion trade-off cannot be met; use cq.beta < 1/3"
                ),
            ));
        }
        if cq.correlation_length > 0.0 {
            r.problems.push(Problem::new(
                "cq.correlation_length",
                format!(
                    "cq.correlation_length = {} with matter.representation = \"{name}\": the decoherence and conditioning \
                     need 𝒟⁻¹, and the inverse of the Gaussian kernel K_ℓ (exp(+k²ℓ²/2) in Fourier space) is not \
                     implemented; use white noise (cq.correlation_length = 0) with the quantum field",
                    cq.correlation_length
                ),
            ));
        }
    }
    let n: usize = cfg.lattice.shape.iter().product();
    if cfg.matter.representation == Representation::Ensemble {
        check_ensemble(cfg, n, r);
        return;
    }
    if cfg.matter.representation != Representation::Dense {
        return;
    }
    let gpu = cfg.run.backend == crate::config::BackendChoice::Gpu;
    // the CPU representation holds fifteen Γ-sized f64 matrices; with the GPU the host holds the initial vacuum and
    // the read-backs for diagnostics (about three), the device the rest (checked when the run allocates it)
    let need = if gpu { 3 * (2 * n as u128).pow(2) * 8 } else { dense_memory_bytes(n) };
    let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
    if let Some((total, _)) = machine_memory() {
        if need > total {
            r.problems.push(Problem::new(
                "lattice.shape",
                format!(
                    "lattice.shape = {:?} with matter.representation = \"dense\" needs {} GiB of host memory for Γ \
                     (2n × 2n float64 with n = {n} sites, {} copies), more than this machine's {} GiB; the dense \
                     representation is for lattices up to about 8³ on the CPU and 16³ on a GPU (use a smaller lattice)",
                    cfg.lattice.shape,
                    fmt_num(gib(need)),
                    if gpu { "three" } else { "fifteen" },
                    fmt_num(gib(total))
                ),
            ));
            return;
        }
    }
    let (limit, what) = if gpu { (4096, "the GPU representation is meant for lattices up to about 16³ = 4096 sites") } else { (512, "the CPU representation is meant for lattices up to about 8³ = 512 sites") };
    if n > limit {
        r.warnings.push(format!(
            "matter.representation = \"dense\" on {n} sites: each step costs O((2n)³) = {:.1e} flops and {} GiB of memory; {what}",
            10.0 * (2.0 * n as f64).powi(3),
            fmt_num(gib(need))
        ));
    }
}

/// The checks of the `ensemble` representation: saturated decoherence, localisation length, memory.
fn check_ensemble(cfg: &Config, n: usize, r: &mut Review) {
    let m = &cfg.matter;
    if cfg.cq.decoherence_excess != 0.0 && cfg.cq.decoherence_excess.is_finite() {
        r.problems.push(Problem::new(
            "cq.decoherence_excess",
            format!(
                "cq.decoherence_excess = {} with matter.representation = \"ensemble\": the ensemble moves its members by \
                 symplectic maps, which represent the conditioned state exactly only when it stays pure, i.e. at the \
                 saturated decoherence–diffusion trade-off (decoherence_excess = 0); with excess decoherence the \
                 conditioned state is mixed — use \"dense\" or set cq.decoherence_excess = 0",
                cfg.cq.decoherence_excess
            ),
        ));
    }
    if !(m.localization.is_finite() && m.localization >= 0.0) {
        r.problems.push(Problem::new(
            "matter.localization",
            format!("matter.localization = {} must be a finite number >= 0 (0 = no localisation)", m.localization),
        ));
    }
    let need = ensemble_memory_bytes(n, m.members as usize, m.control_variate, ensemble_gram_blocks(cfg));
    let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
    if let Some((total, _)) = machine_memory() {
        if need > total {
            r.problems.push(Problem::new(
                "matter.members",
                format!(
                    "lattice.shape = {:?} with matter.members = {} needs {} GiB of host memory for the ensemble (2n·M \
                     float64 per copy, and M × M Gram matrices per localisation block unless the products go by \
                     site pairs, n = {n}), more than this machine's {} GiB; use fewer members, a smaller lattice, \
                     matter.localization = 1 (site pairs), or matter.control_variate = false",
                    cfg.lattice.shape,
                    m.members,
                    fmt_num(gib(need)),
                    fmt_num(gib(total))
                ),
            ));
        }
    }
}

/// The potential beyond the mass term and the fluctuations' UV cutoff (issue 13; docs/cosmology.md §1–§2): finite
/// coefficients; the Gaussian representations (`dense`, `fourier`) need a quadratic L̂, so they refuse U ≠ const;
/// the ensemble evolves its members non-linearly (the classical-statistical approximation) without CQ coupling;
/// the cutoff belongs to that approximation.
fn check_potential(cfg: &Config, r: &mut Review) {
    let m = &cfg.matter;
    if !m.quartic_coupling.is_finite() {
        bad(r, "matter.quartic_coupling", format!("matter.quartic_coupling = {} must be a finite number (λ in V ⊃ λφ⁴/4)", m.quartic_coupling));
    }
    let n_max = crate::physics::potential::POLY_LEN;
    if m.potential.len() > n_max {
        bad(
            r,
            "matter.potential",
            format!(
                "matter.potential has {} coefficients; at most {n_max} are allowed ([c0, c1, …, c8]: V ⊃ Σ c_n φⁿ up to φ⁸)",
                m.potential.len()
            ),
        );
    }
    if let Some((n, v)) = m.potential.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        bad(r, "matter.potential", format!("matter.potential[{n}] = {v} must be a finite number"));
    }
    let u = crate::physics::potential::Polynomial::from_config(m);
    let nonconstant = u.c[1..].iter().any(|&c| c != 0.0);
    let rep = m.representation;
    if nonconstant && matches!(rep, Representation::Dense | Representation::Fourier) {
        bad(
            r,
            "matter.potential",
            format!(
                "a potential beyond ½m²φ² (matter.quartic_coupling = {}, matter.potential = {:?}) with matter.representation \
                 = \"{}\": the Gaussian representations need quadratic operators (the back-reaction L̂^ab and the Hamiltonian \
                 are quadratic forms only for V = ½m²φ²); use matter.representation = \"ensemble\" (members evolved \
                 non-linearly: the classical-statistical approximation, docs/cosmology.md §1) or \"none\" (classical field), \
                 or put a quadratic term into matter.mass",
                m.quartic_coupling,
                m.potential,
                rep.name()
            ),
        );
    }
    if nonconstant && rep == Representation::Ensemble && cfg.cq.diffusion > 0.0 {
        bad(
            r,
            "cq.diffusion",
            format!(
                "cq.diffusion = {} with a non-quadratic potential and matter.representation = \"ensemble\": the members \
                 then evolve non-linearly (classical-statistical approximation) and the Gaussian conditioning and \
                 decoherence maps of the CQ coupling do not apply to them; set cq.diffusion = 0 (the quantum field's \
                 fluctuations still back-react on the metric) or use V = ½m²φ²",
                cfg.cq.diffusion
            ),
        );
    }
    if nonconstant && rep == Representation::Ensemble && cfg.run.backend == crate::config::BackendChoice::Gpu {
        bad(
            r,
            "run.backend",
            "run.backend = \"gpu\" with a non-quadratic potential and matter.representation = \"ensemble\": the non-linear \
             (classical-statistical) member evolution runs on the CPU only in this version; use run.backend = \"cpu\" or \
             \"auto\" (which then takes the CPU)"
                .to_string(),
        );
    }
    if let Some(d) = u.degree() {
        if d % 2 == 1 || u.c[d] < 0.0 {
            r.warnings.push(format!(
                "the potential V = ½m²φ² + U(φ) is unbounded below (its highest power φ^{d} has coefficient {}): the field \
                 can run away once it leaves the region of the initial data",
                fmt_num(u.c[d])
            ));
        }
    }
    let kc = cfg.initial.fluctuation_cutoff;
    if !(kc.is_finite() && kc >= 0.0) {
        bad(r, "initial.fluctuation_cutoff", format!("initial.fluctuation_cutoff = {kc} must be a finite number >= 0 (0 = no cutoff)"));
    } else if kc > 0.0 {
        if rep != Representation::Ensemble {
            bad(
                r,
                "initial.fluctuation_cutoff",
                format!(
                    "initial.fluctuation_cutoff = {kc} with matter.representation = \"{}\": the cutoff removes the vacuum \
                     fluctuations above |k| = k_cut from the initial state, which leaves the modes above it without their \
                     zero-point motion — not a quantum state (Γ + iΩ/2 ⪰ 0 fails), only a classical-statistical ensemble; \
                     use matter.representation = \"ensemble\"",
                    rep.name()
                ),
            );
        } else if m.renormalization != crate::config::Renormalization::None {
            bad(
                r,
                "matter.renormalization",
                format!(
                    "matter.renormalization = \"vacuum\" with initial.fluctuation_cutoff = {kc}: the vacuum subtraction \
                     removes the zero-point energy and stress of every lattice mode, but the cut initial state only has \
                     them below k_cut, so the renormalised energy would be negative (the missing zero-point energy of the \
                     modes above k_cut); use matter.renormalization = \"none\": the kept fluctuations then carry their \
                     zero-point energy into the Friedmann equation, as in CosmoLattice and LATTICEEASY"
                ),
            );
        }
    }
}

/// The keys a scalar-field energy density comes from, for messages: the mass, and the potential when there is one.
fn field_energy_keys(cfg: &Config) -> &'static str {
    if crate::physics::potential::Polynomial::from_config(&cfg.matter).is_zero() {
        "initial.phi, initial.phi_dot, matter.mass"
    } else {
        "initial.phi, initial.phi_dot, matter.mass and the potential (matter.quartic_coupling, matter.potential)"
    }
}

/// The largest box length max_a N_a h (a homogeneous direction counts as one spacing).
fn max_box_length(cfg: &Config) -> f64 {
    cfg.lattice.shape.iter().map(|&n| n as f64 * cfg.lattice.spacing).fold(0.0, f64::max)
}

/// Most steps a run may have: 2^53, below which the step count, the float64 `step` column and t = step·dt are
/// exact integers times dt (issue 15: a tiny time.dt must not saturate the count silently).
pub const MAX_STEPS: u64 = 1 << 53;

/// The step count: at most [`MAX_STEPS`], reaching `time.t_end`, ending at a finite time.
fn check_step_count(cfg: &Config, r: &mut Review) {
    let dt = cfg.dt();
    let dt_key = if cfg.time.dt.is_some() { "time.dt" } else { "time.courant" };
    match cfg.time.steps {
        Some(s) if s > MAX_STEPS => {
            bad(r, "time.steps", format!("time.steps = {s} is more than 2^53 = {MAX_STEPS} steps, the most cqgrav counts exactly"));
            return;
        }
        Some(_) => {}
        None => {
            let t = cfg.time.t_end;
            let x = t / dt;
            if x.is_nan() || x > MAX_STEPS as f64 {
                bad(
                    r,
                    dt_key,
                    format!(
                        "dt = {} ({dt_key}) with time.t_end = {} needs {} steps, more than 2^53 = {MAX_STEPS} (the most \
                         cqgrav counts exactly: the step count would saturate and t would stop advancing); increase the \
                         time step or reduce time.t_end",
                        fmt_num(dt),
                        fmt_num(t),
                        fmt_num(x)
                    ),
                );
                return;
            }
            if (cfg.n_steps() as f64) * dt < t * (1.0 - 1e-9) {
                bad(r, "time.t_end", format!("time.t_end = {t} is not reached by {} steps of dt = {}", cfg.n_steps(), fmt_num(dt)));
            }
        }
    }
    let end = cfg.n_steps() as f64 * dt;
    if !end.is_finite() {
        bad(r, dt_key, format!("{} steps of dt = {} end at a time that is not a finite number", cfg.n_steps(), fmt_num(dt)));
    }
}

/// A number with about 3 significant digits, trailing zeros trimmed (for messages).
pub(crate) fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor() as i32;
    if (-4..6).contains(&mag) {
        let decimals = (2 - mag).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.2e}")
    }
}

fn bad(r: &mut Review, key: &str, msg: String) {
    r.problems.push(Problem::new(key, msg));
}

fn check_values(cfg: &Config, r: &mut Review) {
    let l = &cfg.lattice;
    let order = cfg.gravity.fd_order;
    let order_ok = order == 2 || order == 4;

    // ---- gravity (SPEC §2)
    if !order_ok {
        bad(
            r,
            "gravity.fd_order",
            format!("gravity.fd_order = {order} is not supported; allowed: 2 or 4 (SPEC §2)"),
        );
    }
    let sigma = cfg.gravity.dissipation;
    if !(sigma.is_finite() && sigma >= 0.0) {
        bad(
            r,
            "gravity.dissipation",
            format!("gravity.dissipation = {sigma} must be a finite number >= 0"),
        );
    }
    let lambda = cfg.gravity.cosmological_constant;
    if !lambda.is_finite() {
        bad(
            r,
            "gravity.cosmological_constant",
            format!("gravity.cosmological_constant = {lambda} must be finite"),
        );
    }

    // ---- lattice (SPEC §1)
    let wave = matches!(cfg.initial.kind, InitialKind::LinearWave | InitialKind::GaugeWave);
    let min_points = if order_ok { Stencil::new(order).min_points() } else { 0 };
    let mut shape_ok = true;
    for (d, &n) in l.shape.iter().enumerate() {
        if n == 0 {
            shape_ok = false;
            bad(
                r,
                "lattice.shape",
                format!("lattice.shape[{d}] = 0: every direction needs at least 1 site"),
            );
        } else if n > 1 && n < min_points && !(d == 0 && wave) {
            shape_ok = false;
            bad(r,
                "lattice.shape",
                format!(
                    "lattice.shape[{d}] = {n}: lattice too small for the stencil; an active direction needs at least \
                     {min_points} sites for gravity.fd_order = {order} (2·reach+1, so no stencil wraps onto itself), or \
                     exactly 1 site to make it homogeneous"
                ),
            );
        }
    }
    if l.shape
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n))
        .is_none_or(|s| s > u32::MAX as usize)
    {
        shape_ok = false;
        bad(
            r,
            "lattice.shape",
            format!("lattice.shape = {:?} has too many sites (at most 2^32 - 1)", l.shape),
        );
    }
    if shape_ok && cfg.matter.representation != Representation::Dense {
        check_memory(cfg, r);
    }
    let h = l.spacing;
    let h_ok = h.is_finite() && h > 0.0;
    if !h_ok {
        bad(
            r,
            "lattice.spacing",
            format!("lattice.spacing = {h} must be a finite number > 0"),
        );
    }

    // ---- initial data (SPEC §8 testbeds, §10)
    let kind_name = match cfg.initial.kind {
        InitialKind::Minkowski => "minkowski",
        InitialKind::LinearWave => "linear-wave",
        InitialKind::GaugeWave => "gauge-wave",
        InitialKind::Frw => "frw",
    };
    let ini = &cfg.initial;
    let a0 = ini.scale_factor;
    if !(a0.is_finite() && a0 > 0.0) {
        bad(
            r,
            "initial.scale_factor",
            format!("initial.scale_factor = {a0} must be a finite number > 0 (g = a0² δ)"),
        );
    }
    for (k, v) in [("initial.phi", ini.phi), ("initial.phi_dot", ini.phi_dot)] {
        if !v.is_finite() {
            bad(r, k, format!("{k} = {v} must be finite"));
        }
    }
    let amp = ini.amplitude;
    let mut amp_ok = amp.is_finite();
    if !amp_ok {
        bad(
            r,
            "initial.amplitude",
            format!("initial.amplitude = {amp} must be finite"),
        );
    } else if wave && amp.abs() >= 1.0 {
        amp_ok = false;
        let why = if cfg.initial.kind == InitialKind::LinearWave {
            "g_yy = 1 + A sin and g_zz = 1 − A sin must stay positive, so the metric stays positive definite"
        } else {
            "H = 1 − A sin (g_xx = H, lapse √H) must stay positive"
        };
        bad(
            r,
            "initial.amplitude",
            format!("initial.amplitude = {amp} for initial.kind = \"{kind_name}\": need |A| < 1 ({why})"),
        );
    }
    if wave && order_ok && l.shape[0] < min_points {
        shape_ok = false;
        bad(r,
            "lattice.shape",
            format!(
                "lattice.shape[0] = {}: wavelength not fitting the box: initial.kind = \"{kind_name}\" puts one \
                 wavelength along x (wavelength = box length N1·h), which needs at least {min_points} sites along x for \
                 gravity.fd_order = {order}",
                l.shape[0]
            ),
        );
    } else if wave && l.shape[0] < 16 {
        r.warnings.push(format!(
            "lattice.shape[0] = {}: only {} points per wavelength for initial.kind = \"{kind_name}\"; expect a large \
             truncation error",
            l.shape[0], l.shape[0]
        ));
    }
    let m = cfg.matter.mass;
    if !(m.is_finite() && m >= 0.0) {
        bad(
            r,
            "matter.mass",
            format!("matter.mass = {m} must be a finite number >= 0"),
        );
    }
    if cfg.initial.kind == InitialKind::Frw
        && m.is_finite()
        && lambda.is_finite()
        && ini.phi.is_finite()
        && ini.phi_dot.is_finite()
    {
        // Friedmann: H² = ρ/6 + Λ/3 with ρ = φ̇²/2 + V(φ) (units 16πG = 1); needs a real H.
        let rho = crate::physics::initial_data::mean_field_density(cfg, ini.phi, ini.phi_dot);
        let h2 = rho / 6.0 + lambda / 3.0;
        if h2 < 0.0 {
            bad(
                r,
                "gravity.cosmological_constant",
                format!(
                    "gravity.cosmological_constant = {lambda}: the FRW initial data has no real Hubble rate: \
                     H² = ρ/6 + Λ/3 = {} < 0 (ρ = {} from {}); \
                     use Λ >= {} or more field energy",
                    fmt_num(h2),
                    fmt_num(rho),
                    field_energy_keys(cfg),
                    fmt_num(-rho / 2.0)
                ),
            );
        } else {
            // the expansion: K = 3H is a growth rate of the ADM system; RK4 is stable only for 3H·dt below its
            // real-axis limit (with the same safety factor as the stencil bound)
            let dt = cfg.dt();
            let hub = h2.sqrt();
            if dt.is_finite() && 3.0 * hub * dt > RK4_REAL_AXIS_LIMIT * SAFETY {
                let key = if lambda / 3.0 > rho / 6.0 { "gravity.cosmological_constant" } else { "initial.phi" };
                bad(
                    r,
                    key,
                    format!(
                        "the FRW initial data expands at H = {} (from gravity.cosmological_constant = {lambda}, {}): RK4 \
                         needs 3H·dt <= {}, but dt = {}; reduce the time step (time.dt <= {}) or the energy density",
                        fmt_num(hub),
                        field_energy_keys(cfg),
                        fmt_num(RK4_REAL_AXIS_LIMIT * SAFETY),
                        fmt_num(dt),
                        fmt_num(RK4_REAL_AXIS_LIMIT * SAFETY / (3.0 * hub))
                    ),
                );
            }
        }
    }

    // ---- matter (SPEC §4)
    if cfg.matter.members < 4 || cfg.matter.members % 2 != 0 {
        bad(
            r,
            "matter.members",
            format!(
                "matter.members = {} must be an even integer >= 4 (the ensemble is two centred halves, each of which \
                 moves the other's members; its covariance divides by M/2 − 1)",
                cfg.matter.members
            ),
        );
    }

    check_dense(cfg, r);
    check_potential(cfg, r);

    // ---- CQ (SPEC §3, §4.1)
    let cq = &cfg.cq;
    if !(cq.diffusion.is_finite() && cq.diffusion >= 0.0) {
        bad(
            r,
            "cq.diffusion",
            format!(
                "cq.diffusion = {} must be a finite number >= 0 (D2, the diffusion strength)",
                cq.diffusion
            ),
        );
    }
    if !cq.beta.is_finite() || cq.beta > 1.0 / 3.0 + 1e-12 {
        bad(
            r,
            "cq.beta",
            format!(
                "cq.beta = {} must be a finite number <= 1/3: for β > 1/3 the diffusion tensor \
                 s^abcd = N√g [½(g^ac g^bd + g^ad g^bc) − β g^ab g^cd] is not positive semi-definite (its trace \
                 mode has eigenvalue N√g (1 − 3β) < 0), so it is not a covariance (SPEC §3)",
                cq.beta
            ),
        );
    }
    let ell = cq.correlation_length;
    if !(ell.is_finite() && ell >= 0.0) {
        bad(
            r,
            "cq.correlation_length",
            format!("cq.correlation_length = {ell} must be a finite number >= 0 (0 = white noise)"),
        );
    } else if ell > 0.0 && h_ok && shape_ok && ell > max_box_length(cfg) {
        // the smoothing stencil has 2⌈4ℓ/h⌉ + 1 points per axis: beyond the box it only wraps around again
        let lmax = max_box_length(cfg);
        bad(
            r,
            "cq.correlation_length",
            format!(
                "cq.correlation_length = {ell} exceeds the largest box length {} (lattice.shape × lattice.spacing): on \
                 the periodic box the Gaussian kernel K_ℓ is then uniform to within exp(−π²ℓ²/L²) < 1e-4, i.e. the \
                 noise is spatially homogeneous, and the smoothing stencil (2⌈4ℓ/h⌉ + 1 = {} points per axis) would \
                 only wrap around the box; use cq.correlation_length <= {} (homogeneous noise at ℓ = L)",
                fmt_num(lmax),
                fmt_num(2.0 * (4.0 * ell / h).ceil() + 1.0),
                fmt_num(lmax)
            ),
        );
    } else if ell > 0.0 && h_ok && shape_ok {
        let active: Vec<f64> = l.shape.iter().filter(|&&n| n > 1).map(|&n| n as f64 * h).collect();
        if let Some(lmin) = active.iter().copied().reduce(f64::min) {
            if ell > 0.25 * lmin {
                r.warnings.push(format!(
                    "cq.correlation_length = {ell} exceeds a quarter of the smallest active box length ({}): the \
                     Gaussian kernel K_ℓ wraps around the periodic box and the noise is nearly uniform{}",
                    fmt_num(lmin),
                    if cq.diffusion == 0.0 {
                        " (it has no effect while cq.diffusion = 0)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    if ell.is_finite() && ell > 0.0 && h_ok && ell < h && cq.diffusion > 0.0 {
        r.warnings.push(format!(
            "cq.correlation_length = {ell} is below the lattice spacing h = {h}: the Gaussian kernel K_ℓ is not resolved \
             by the lattice; the noise keeps the local variance K_ℓ(0) = (2πℓ²)^(-3/2) but is nearly white (use \
             cq.correlation_length = 0 for white noise, or ℓ >= h)"
        ));
    }
    if cq.frozen_drift {
        r.warnings.push(
            if matches!(cfg.matter.representation, Representation::Dense | Representation::Fourier) {
                "cq.frozen_drift = true: the metric's deterministic drift is switched off (testing only): g, π^ab and N \
                 stay frozen except for the CQ noise added to π^ab; the quantum field evolves in the frozen metric"
                    .into()
            } else {
                "cq.frozen_drift = true: the deterministic drift is switched off (testing only): the metric, lapse and \
                 field stay frozen and each step only adds the CQ noise to π^ab"
                    .into()
            },
        );
    }
    let dex = cq.decoherence_excess;
    if !(dex.is_finite() && dex >= 0.0) {
        bad(
            r,
            "cq.decoherence_excess",
            format!(
                "cq.decoherence_excess = {dex} must be a finite number >= 0: a decoherence rate below saturation \
                 (C < ¼𝒟⁻¹, the decoherence–diffusion trade-off) is below the complete-positivity bound: the Lindblad \
                 dynamics would not be completely positive (SPEC §4.1)"
            ),
        );
    }

    let tau = cq.substep_tolerance;
    if !(tau.is_finite() && tau > 0.0 && tau <= 0.25) {
        bad(
            r,
            "cq.substep_tolerance",
            format!(
                "cq.substep_tolerance = {tau} must be a number in (0, 0.25]: it is the largest strength (drift stiffness × \
                 sub-step, squared conditioning strength) a sub-step of the quantum update may have; above 1/4 a \
                 conditioning could reach the escape limit 1/2 of the Gaussian update (docs/quantum.md §4)"
            ),
        );
    }

    // ---- time (SPEC §2) and stability
    let dt_given = cfg.time.dt.is_some();
    if let Some(dt) = cfg.time.dt {
        if !(dt.is_finite() && dt > 0.0) {
            bad(r, "time.dt", format!("time.dt = {dt} must be a finite number > 0"));
        }
    } else {
        let c = cfg.time.courant;
        if !(c.is_finite() && c > 0.0) {
            bad(
                r,
                "time.courant",
                format!("time.courant = {c} must be a finite number > 0 (dt = courant·h)"),
            );
        }
    }
    match cfg.time.steps {
        Some(0) => bad(r, "time.steps", "time.steps = 0 must be >= 1".to_string()),
        Some(_) => {}
        None => {
            let t = cfg.time.t_end;
            if !(t.is_finite() && t > 0.0) {
                bad(
                    r,
                    "time.t_end",
                    format!("time.t_end = {t} must be a finite number > 0 (or give time.steps)"),
                );
            }
        }
    }
    let dt = cfg.dt();
    let dt_ok = dt.is_finite() && dt > 0.0;
    let t_end_ok = cfg.time.steps.is_some() || (cfg.time.t_end.is_finite() && cfg.time.t_end > 0.0);
    if dt_ok && t_end_ok && cfg.time.steps != Some(0) {
        check_step_count(cfg, r);
    }
    let sigma_ok = sigma.is_finite() && sigma >= 0.0;
    if dt_ok
        && h_ok
        && order_ok
        && sigma_ok
        && shape_ok
        && amp_ok
        && a0 > 0.0
        && a0.is_finite()
        && m.is_finite()
        && m >= 0.0
    {
        let active = l.shape.iter().filter(|&&n| n > 1).count();
        // Pure dissipation: σ·(dt/h)·d ≤ 2.785 (the KO symbol is −1 per axis at θ = π).
        if sigma > 0.0 && active > 0 && sigma * dt / h * active as f64 > RK4_REAL_AXIS_LIMIT {
            bad(
                r,
                "gravity.dissipation",
                format!(
                    "gravity.dissipation = {sigma} is past the RK4 stability limit σ·(dt/h)·d <= {} of Kreiss-Oliger \
                     dissipation (here dt/h = {}, d = {active} active directions, so σ <= {}); reduce \
                     gravity.dissipation or the time step",
                    fmt_num(RK4_REAL_AXIS_LIMIT),
                    fmt_num(dt / h),
                    fmt_num(RK4_REAL_AXIS_LIMIT * h / (dt * active as f64))
                ),
            );
        }
        if let Some(b) = stability::stability_bound(cfg) {
            if dt > b.dt_max * (1.0 + 1e-12) {
                let context = format!(
                    "for fd_order = {order}, dissipation = {sigma}, {active} active direction{} (characteristic speed {}, \
                     mass term m·N = {} from matter.mass = {}{}, safety factor {SAFETY}; lattice.spacing = {})",
                    if active == 1 { "" } else { "s" },
                    fmt_num(b.wave_speed),
                    fmt_num(b.mass_term),
                    fmt_num(m),
                    if crate::physics::potential::Polynomial::from_config(&cfg.matter).is_zero() {
                        ""
                    } else {
                        " and V″(initial.phi) of the potential (matter.quartic_coupling, matter.potential)"
                    },
                    fmt_num(h)
                );
                let also = if sigma > 0.0 { " or gravity.dissipation" } else { "" };
                if dt_given {
                    bad(r,
                        "time.dt",
                        format!(
                            "time.dt = {dt} exceeds the RK4 stability bound {} (dt/h = {} > {}) {context}; reduce time.dt{also}",
                            fmt_num(b.dt_max),
                            fmt_num(dt / h),
                            fmt_num(b.courant_max)
                        ),
                    );
                } else {
                    bad(r,
                        "time.courant",
                        format!(
                            "time.courant = {} exceeds the RK4 stability bound {} {context}; reduce time.courant or time.dt{also}",
                            cfg.time.courant,
                            fmt_num(b.courant_max)
                        ),
                    );
                }
            }
        }
    }

    // ---- output (SPEC §7)
    if cfg.output.timeseries_every == 0 {
        bad(
            r,
            "output.timeseries_every",
            "output.timeseries_every = 0 must be >= 1 (steps between timeseries rows)".into(),
        );
    }
    let fi = cfg.output.flush_interval;
    if !(fi.is_finite() && fi >= 0.0) {
        bad(
            r,
            "output.flush_interval",
            format!("output.flush_interval = {fi} must be a finite number of seconds >= 0 (0 = flush at every timeseries row)"),
        );
    }
    if cfg.output.file.as_os_str().is_empty() {
        bad(
            r,
            "output.file",
            "output.file is empty: give the HDF5 output path, e.g. \"cqgrav.h5\"".into(),
        );
    }

    // ---- keys that have no effect for this configuration
    let d = Config::default();
    if cfg.initial.kind != InitialKind::Frw {
        for (k, v, dv) in [
            ("initial.scale_factor", ini.scale_factor, d.initial.scale_factor),
            ("initial.phi", ini.phi, d.initial.phi),
            ("initial.phi_dot", ini.phi_dot, d.initial.phi_dot),
        ] {
            if v != dv {
                r.warnings.push(format!(
                    "{k} = {v} is used only by initial.kind = \"frw\"; ignored for \"{kind_name}\""
                ));
            }
        }
    }
    if !wave && ini.amplitude != d.initial.amplitude {
        r.warnings.push(format!(
            "initial.amplitude = {} is used only by the wave kinds; ignored for \"{kind_name}\"",
            ini.amplitude
        ));
    }
    if cfg.initial.kind == InitialKind::GaugeWave && cfg.gauge.lapse != Lapse::Harmonic {
        r.warnings.push(
            "initial.kind = \"gauge-wave\" is an exact solution only with harmonic slicing (gauge.lapse = \"harmonic\", \
             SPEC §8.3); with another lapse condition it is just initial data"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        let mut c = Config::default();
        c.lattice.shape = [16, 16, 16];
        c.lattice.spacing = 0.1;
        c
    }

    fn keys(c: &Config) -> Vec<String> {
        review(c).problems.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn default_is_valid() {
        assert!(validate(&Config::default()).unwrap().is_empty());
    }

    /// The ℓ > box/4 warning, with and without noise.
    #[test]
    fn correlation_length_warning() {
        let mut c = base();
        c.cq.correlation_length = 0.5; // box 1.6, quarter 0.4
        let w = validate(&c).unwrap();
        assert!(
            w.iter()
                .any(|w| w.contains("cq.correlation_length") && w.contains("quarter")),
            "{w:?}"
        );
        c.cq.correlation_length = 0.3;
        assert!(validate(&c).unwrap().is_empty());
        // the warning also comes with diffusion > 0, which is accepted (issue 4)
        c.cq.correlation_length = 0.5;
        c.cq.diffusion = 0.1;
        let r = review(&c);
        assert!(r.warnings.iter().any(|w| w.contains("cq.correlation_length")));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        // ℓ below the spacing: a warning when the noise is on
        c.cq.correlation_length = 0.05;
        let w = validate(&c).unwrap();
        assert!(w.iter().any(|w| w.contains("not resolved")), "{w:?}");
        c.cq.frozen_drift = true;
        assert!(validate(&c).unwrap().iter().any(|w| w.contains("cq.frozen_drift")));
    }

    #[test]
    fn collects_all_problems() {
        let mut c = base();
        c.lattice.spacing = -0.1;
        c.cq.beta = 0.5;
        c.cq.decoherence_excess = -1.0;
        c.gravity.fd_order = 3;
        c.output.timeseries_every = 0;
        let k = keys(&c);
        for want in [
            "lattice.spacing",
            "cq.beta",
            "cq.decoherence_excess",
            "gravity.fd_order",
            "output.timeseries_every",
        ] {
            assert!(k.iter().any(|x| x == want), "{want} not in {k:?}");
        }
    }

    #[test]
    fn beta_one_third_allowed() {
        let mut c = base();
        c.cq.beta = 1.0 / 3.0;
        assert!(validate(&c).is_ok());
        c.cq.beta = -5.0;
        assert!(validate(&c).is_ok());
    }

    #[test]
    fn stencil_size() {
        let mut c = base();
        c.lattice.shape = [16, 6, 1];
        assert_eq!(keys(&c), vec!["lattice.shape"]);
        c.gravity.fd_order = 2;
        assert!(validate(&c).is_ok());
        c.lattice.shape = [16, 0, 1];
        assert_eq!(keys(&c), vec!["lattice.shape"]);
    }

    #[test]
    fn courant_bound() {
        let mut c = base();
        c.time.courant = 0.9;
        let e = validate(&c).unwrap_err().to_string();
        assert!(
            e.contains("time.courant = 0.9 exceeds the RK4 stability bound 0.693"),
            "{e}"
        );
        assert!(e.contains("fd_order = 4, dissipation = 0, 3 active directions"), "{e}");
        c.time.courant = 0.69;
        assert!(validate(&c).is_ok());
        c.time.dt = Some(0.5);
        assert!(keys(&c) == vec!["time.dt"]);
    }

    #[test]
    fn dissipation_bound() {
        let mut c = base();
        c.gravity.dissipation = 5.0; // σ·c·d = 5·0.25·3 = 3.75 > 2.785
        let k = keys(&c);
        assert!(k.contains(&"gravity.dissipation".to_string()), "{k:?}");
        c.gravity.dissipation = 0.5;
        assert!(validate(&c).is_ok());
    }

    #[test]
    fn waves() {
        let mut c = base();
        c.initial.kind = InitialKind::LinearWave;
        c.lattice.shape = [1, 1, 1];
        let e = validate(&c).unwrap_err().to_string();
        assert!(e.contains("wavelength not fitting the box"), "{e}");
        c.lattice.shape = [32, 1, 1];
        c.initial.amplitude = 1.0;
        assert_eq!(keys(&c), vec!["initial.amplitude"]);
        c.initial.kind = InitialKind::GaugeWave;
        c.gauge.lapse = Lapse::Harmonic;
        c.initial.amplitude = 0.01;
        assert!(validate(&c).unwrap().is_empty());
    }

    #[test]
    fn frw_needs_real_hubble_rate() {
        let mut c = base();
        c.initial.phi = 0.0;
        c.gravity.cosmological_constant = -0.1;
        assert_eq!(keys(&c), vec!["gravity.cosmological_constant"]);
    }

    #[test]
    fn fmt() {
        assert_eq!(fmt_num(0.69296), "0.693");
        assert_eq!(fmt_num(1.0), "1");
        assert_eq!(fmt_num(2.785293), "2.79");
        assert_eq!(fmt_num(0.0001234), "0.000123");
        assert_eq!(fmt_num(1.5e-7), "1.50e-7");
    }
}
