//! `cqgrav run [CONFIG] [--set key=value …] [--restart FILE]`: load and validate the config (or continue a
//! checkpointed run), build the state and the stepper (GPU, CPU or auto), step to the end with a progress bar,
//! and at each output event check the state's health, print a one-line summary of the SPEC §6 diagnostics and
//! write the SPEC §7 output (timeseries rows, snapshots, checkpoints; `crate::io`).
//!
//! Events happen at absolute steps (multiples of `output.timeseries_every`, `snapshot_every`,
//! `checkpoint_every`, and the last step), so a restarted run writes exactly what the uninterrupted run writes.
use crate::backend::{make_stepper, Stepper, StepperSetup};
use crate::config::{load_and_validate, load_and_validate_text, load_text, read_config_file, Config, LoadedConfig};
use crate::diagnostics::{health_check, Diagnostics};
use crate::io::checkpoint::{precision_name, CheckpointHeader};
use crate::io::lock::OutputLock;
use crate::io::writer::{check_new_output, history_line, lock_new_output, new_run_id};
use crate::io::{Checkpoint, OutputPaths, OutputWriter, RunMeta, SnapshotData};
use crate::parallel::agree;
use crate::state::State;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The summary line of a timeseries row, numbers in one format (`number.rs`); the quantum state and the CQ noise
/// when the run has them.
fn summary(d: &Diagnostics) -> String {
    use super::number::g;
    let c = &d.constraints;
    let mut s = format!(
        "step {:>7}  t = {:<9} a = {:<10} H = {:<11} ham_rel = {:<9} mom_rel = {:<9} φ̄ = {}",
        d.step,
        g(d.t, 6),
        g(d.a, 8),
        g(d.hubble, 5),
        g(c.ham_rel, 3),
        g(c.mom_rel, 3),
        g(d.phi_mean, 6)
    );
    if d.state_min_symplectic.is_finite() {
        s += &format!("  ⟨δφ²⟩ = {:<10} ν_min = {}", g(d.phi2_mean, 6), g(d.state_min_symplectic, 10));
    }
    if d.noise.var_expected > 0.0 {
        s += &format!("  noise/expected = {}", g(d.noise.var / d.noise.var_expected, 3));
    }
    s
}

fn invalid(e: crate::config::ConfigError) -> anyhow::Error {
    anyhow::anyhow!("invalid configuration:\n  {}", e.lines().join("\n  "))
}

/// `overwrite`: replace an earlier output at `output.file` (`--overwrite`); without it an existing output is
/// refused. Everything is checked before the first byte is written.
pub fn run(config: Option<&Path>, set: &[String], quiet: bool, restart: Option<&Path>, overwrite: bool) -> anyhow::Result<()> {
    // issue 18: under `mpirun -np P` the lattice is split over the P ranks (parallel/slab_stepper.rs); rank 0
    // writes the output, and a failure on any rank stops every rank (parallel::agree)
    let domain = crate::parallel::domain();
    let root = domain.rank() == 0;
    if !root {
        crate::parallel::silence_stdout();
    }
    let start = agree(domain.as_ref(), match restart {
        None => fresh(config, set, overwrite),
        Some(file) => resumed(config, set, file, domain.as_ref()),
    })?;
    let Start { loaded, state, note, history_what, checkpoint, files } = start;
    let cfg = &loaded.config;
    // One writer per output: the lock, then the checks again under it (another run may have written since).
    let paths = OutputPaths::new(&cfg.output.file);
    let lock = agree(domain.as_ref(), root.then(|| match &checkpoint {
        None => lock_new_output(&paths, overwrite),
        Some(_) => OutputLock::acquire(&paths).and_then(|lock| files.unchanged().map(|_| lock)),
    }).transpose())?;
    let setup = StepperSetup::from_config(cfg).with_background_of(&state);
    let made = if domain.size() > 1 { decomposed_stepper(cfg, &state, domain.clone()) } else { make_stepper(cfg, &state) };
    let (mut stepper, choice) = agree(domain.as_ref(), made).context("could not set up the time stepper")?;
    let spectra = (cfg.output.spectra_every > 0).then(|| crate::spectra::SpectraCalculator::new(&setup));
    let steps = cfg.n_steps();
    let first = state.step;
    println!(
        "{choice}\nlattice {:?}, h = {}, dt = {}, {steps} steps to t = {:.6}, fd_order {}, lapse {:?}, precision {:?}",
        cfg.lattice.shape,
        cfg.lattice.spacing,
        setup.dt,
        setup.time_at(steps),
        cfg.gravity.fd_order,
        cfg.gauge.lapse,
        cfg.run.precision
    );
    if let Some(n) = note {
        println!("{n}");
    }
    if let Some(regime) = crate::config::regime::Regime::of(cfg) {
        println!("{}", regime.lines().join("\n")); // issue 12: the quantum field's timescales
    }
    // the backend of the segment that wrote the checkpoint ends its history line (history_line)
    let wrote = checkpoint.as_ref().and_then(|c| c.history.last()).and_then(|l| l.rsplit_once(" on ")).map(|(_, b)| b.to_string());
    let kind = |d: &str| d.split_whitespace().next().unwrap_or("").to_string();
    if let Some(b) = wrote.filter(|b| kind(b) != kind(&stepper.description())) {
        eprintln!(
            "warning: the checkpoint was written on {b} and the run continues on {}: the backends agree to round-off, \
             not bit for bit",
            stepper.description()
        );
    }
    let out = &cfg.output;
    let every = |n: u64| if n == 0 { "none".to_string() } else { format!("every {n} steps") };
    println!(
        "output {} (+ {} and {}): timeseries every {} steps, snapshots {}, checkpoints {} and at the end",
        out.file.display(),
        OutputPaths::new(&out.file).dir.display(),
        OutputPaths::new(&out.file).xdmf.display(),
        out.timeseries_every.max(1),
        every(out.snapshot_every),
        every(out.checkpoint_every)
    );
    let meta = RunMeta {
        config_text: loaded.text.clone(),
        lattice_shape: cfg.lattice.shape,
        spacing: cfg.lattice.spacing,
        dt: setup.dt,
        seed: cfg.run.seed,
        precision: cfg.run.precision,
        backend: stepper.description(),
        device: choice.clone(),
        background: state.background,
        history: checkpoint.as_ref().map(|c| c.history.clone()).unwrap_or_default().into_iter()
            .chain([history_line(history_what, first, &stepper.description())])
            .collect(),
        // every rank of a domain-decomposed run names its part files with rank 0's run id (issue 18)
        run_id: String::from_utf8_lossy(&domain.all_gather_bytes(checkpoint.as_ref().map_or_else(new_run_id, |c| c.run_id.clone()).as_bytes())[0]).into_owned(),
        // issue 13: the spectra's shell grid (SPEC §11)
        spectra: spectra.as_ref().map(|c| crate::io::spectra::SpectraGrid::of(&c.shells)),
    };
    let run_id = meta.run_id.clone();
    let interval = Duration::from_secs_f64(out.flush_interval);
    let writer = lock.map(|lock| -> anyhow::Result<OutputWriter> {
        Ok(match &checkpoint {
            None => OutputWriter::create(lock, &paths, meta, interval, overwrite),
            Some(c) => {
                let (w, rows, snaps) = OutputWriter::resume(lock, &paths, meta, c, interval)?;
                if rows > 0 || snaps > 0 {
                    println!(
                        "note: dropped {rows} timeseries row{} and {snaps} snapshot{} written after the checkpoint (the run went on before it stopped)",
                        if rows == 1 { "" } else { "s" },
                        if snaps == 1 { "" } else { "s" }
                    );
                }
                w
            }
        })
    });
    let mut writer = RootOutput {
        writer: agree(domain.as_ref(), writer.transpose())?,
        domain: domain.clone(),
        paths: paths.clone(),
        run_id: run_id.clone(),
        precision: cfg.run.precision,
    };

    let pb = if quiet || !root { ProgressBar::hidden() } else { ProgressBar::new(steps - first) };
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}")
            .expect("valid progress template"),
    );
    let started = Instant::now();
    let mut output_time = Duration::ZERO;
    let mut spectra_time = Duration::ZERO;
    let result = drive(stepper.as_mut(), &mut writer, cfg, steps, checkpoint.is_none(), &pb, &mut output_time, spectra.as_ref(), &mut spectra_time);
    if let Err(e) = result {
        pb.abandon();
        // keep the rows computed so far (the checkpoint stays the last healthy one)
        if let Err(fe) = writer.with(|w| w.finish()) {
            eprintln!("warning: {fe:#}");
        }
        return Err(e);
    }
    pb.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let ran = steps - first;
    println!(
        "done: {ran} steps in {wall:.2} s ({:.3e} s/step, {:.3e} site-steps/s) on {}; output {:.2} s of it{}",
        wall / ran.max(1) as f64,
        (ran as f64 * setup.lattice.sites() as f64) / wall.max(1e-12),
        stepper.description(),
        output_time.as_secs_f64(),
        if spectra.is_some() { format!(", spectra {:.2} s", spectra_time.as_secs_f64()) } else { String::new() }
    );
    if let Some(writer) = &writer.writer {
        println!(
            "wrote {}: {} timeseries rows, {} snapshots, {}checkpoint at step {steps}",
            out.file.display(),
            writer.rows(),
            writer.snapshots().len(),
            if spectra.is_some() { format!("{} spectra rows, ", writer.spectra_rows()) } else { String::new() }
        );
    }
    if config.is_none() && restart.is_none() && root {
        // the default example tells a newcomer what the run showed (cli/default_example.rs)
        println!("{}", super::default_example::what_you_saw(&crate::io::OutputFile::open(&out.file)?));
    }
    Ok(())
}

/// What a run starts from.
struct Start {
    loaded: LoadedConfig,
    state: State,
    note: Option<String>,
    history_what: &'static str,
    checkpoint: Option<Checkpoint>,
    /// a restart's checkpoint and main file as they were checked
    files: FileStamps,
}

/// Size and modification time of files that were checked before the output's lock was taken: if one changed
/// by the time the lock is held, another process wrote it in between.
#[derive(Debug, Default)]
struct FileStamps(Vec<(PathBuf, Option<(u64, std::time::SystemTime)>)>);

impl FileStamps {
    fn of(paths: &[&Path]) -> Self {
        let stamp = |p: &Path| std::fs::metadata(p).ok().and_then(|m| Some((m.len(), m.modified().ok()?)));
        Self(paths.iter().map(|p| (p.to_path_buf(), stamp(p))).collect())
    }
    fn unchanged(&self) -> anyhow::Result<()> {
        let now = Self::of(&self.0.iter().map(|(p, _)| p.as_path()).collect::<Vec<_>>());
        if let Some(((p, _), _)) = self.0.iter().zip(&now.0).find(|(a, b)| a.1 != b.1) {
            bail!("{} changed while this run was starting: another process is writing this output; try again when it has finished", p.display());
        }
        Ok(())
    }
}

fn fresh(config: Option<&Path>, set: &[String], overwrite: bool) -> anyhow::Result<Start> {
    let loaded = load_and_validate(config, set).map_err(invalid)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    // refuse an existing output before anything is built (checked again under the lock)
    check_new_output(&OutputPaths::new(&loaded.config.output.file), overwrite)?;
    match config {
        Some(p) => println!("cqgrav {}: running {}", env!("CARGO_PKG_VERSION"), p.display()),
        None => println!(
            "cqgrav {}: running the built-in default example (data/default.toml)\n{}",
            env!("CARGO_PKG_VERSION"),
            super::default_example::intro(&loaded.config)
        ),
    }
    // issue 13: with the quantum field's initial fluctuations and, for FRW, their energy in the Hamiltonian constraint
    let state = crate::cosmology::initial::initial_state(&loaded.config)?;
    Ok(Start { loaded, state, note: None, history_what: "started", checkpoint: None, files: FileStamps::default() })
}

/// Keys the continuation depends on: a difference from the checkpoint's config is refused unless the key is
/// given with `--set` (then a warning). `lattice.shape` cannot change at all (the state has that shape).
fn guarded(table: &str, key: &str) -> bool {
    matches!(table, "lattice" | "gravity" | "gauge" | "matter" | "cq" | "initial")
        || matches!((table, key), ("time", "dt") | ("time", "courant") | ("run", "precision") | ("run", "seed"))
}

/// The dotted keys of `--set` arguments.
fn set_keys(set: &[String]) -> Vec<String> {
    set.iter()
        .map(|a| a.split_once('=').map_or(a.as_str(), |(k, _)| k).split('.').map(str::trim).collect::<Vec<_>>().join("."))
        .collect()
}

/// (key, checkpoint value, new value) for every key whose value differs.
fn differences(old: &Config, new: &Config) -> anyhow::Result<Vec<(String, String, String)>> {
    let old = toml::Table::try_from(old)?;
    let new = toml::Table::try_from(new)?;
    let show = |v: Option<&toml::Value>| v.map_or("(not set)".to_string(), |v| v.to_string());
    let mut diffs = Vec::new();
    for k in crate::config::KEYS {
        let get = |t: &toml::Table| t.get(k.table).and_then(|t| t.get(k.key)).cloned();
        let (a, b) = (get(&old), get(&new));
        if a != b {
            diffs.push((k.dotted(), show(a.as_ref()), show(b.as_ref())));
        }
    }
    Ok(diffs)
}

/// `domain`: the ranks the lattice will be split over; each reads only its own planes of the checkpoint (issue 18).
fn resumed(config: Option<&Path>, set: &[String], file: &Path, domain: &dyn crate::parallel::Comm) -> anyhow::Result<Start> {
    let paths = OutputPaths::from_user_path(file);
    let ckpt_path = paths.checkpoint();
    if !ckpt_path.exists() || !paths.main.exists() {
        let why = match (paths.main.exists(), ckpt_path.exists()) {
            (true, false) => format!("{} exists but has no checkpoint ({} not found)", paths.main.display(), ckpt_path.display()),
            (false, true) => format!("its main file {} is missing beside the checkpoint {}", paths.main.display(), ckpt_path.display()),
            _ => format!("neither {} nor its checkpoint {} exists", paths.main.display(), ckpt_path.display()),
        };
        bail!("cannot restart from {}: {why}; a run writes its checkpoint every output.checkpoint_every steps and at its end", file.display());
    }
    let files = FileStamps::of(&[&ckpt_path, &paths.main]);
    let header = CheckpointHeader::open(&ckpt_path).with_context(|| format!("cannot restart from {}", file.display()))?;
    let user_keys = set_keys(set);
    if user_keys.iter().any(|k| k == "output.file") {
        bail!(
            "--restart continues writing to {} itself; output.file cannot be changed (copy {} and {} to continue elsewhere)",
            paths.main.display(),
            paths.main.display(),
            paths.dir.display()
        );
    }

    // the checkpoint's configuration (attribute `config`), and the continuation's: CONFIG or that one, + --set
    let origin = format!("the configuration stored in {}", ckpt_path.display());
    let old = load_text(&origin, &header.config_text, &[])
        .map_err(|e| anyhow::anyhow!("cannot restart from {}: the checkpoint's configuration does not load:\n  {}", ckpt_path.display(), e.lines().join("\n  ")))?;
    let mut sets: Vec<String> = set.to_vec();
    sets.push(format!("output.file={}", toml::Value::String(paths.main.display().to_string())));
    let new = match config {
        Some(p) => {
            let text = read_config_file(p).map_err(|e| anyhow::anyhow!("{e}"))?;
            load_and_validate_text(&p.display().to_string(), &text, &sets)
        }
        None => load_and_validate_text(&origin, &header.config_text, &sets),
    };
    let mut loaded = new.map_err(invalid)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }

    let step = header.step;
    let mut refused = Vec::new();
    let mut note = Vec::new();
    for (key, was, now) in differences(&old.config, &loaded.config)? {
        let (table, k) = key.split_once('.').unwrap_or((&key, ""));
        if !guarded(table, k) {
            continue;
        }
        if key == "lattice.shape" {
            refused.push(format!("{key}: checkpoint {was}, now {now} (cannot change: the stored state has the checkpoint's shape)"));
        } else if user_keys.contains(&key) {
            eprintln!("warning: {key} changed from {was} (checkpoint) to {now} by --set: the continuation is not the original run");
        } else {
            refused.push(format!("{key}: checkpoint {was}, now {now} (pass --set {key}=… to change it deliberately)"));
        }
    }
    if !refused.is_empty() {
        bail!(
            "cannot restart from {}: the configuration differs from the checkpoint's in keys the run depends on:\n  {}",
            ckpt_path.display(),
            refused.join("\n  ")
        );
    }
    let cfg = &loaded.config;
    crate::io::restart::check_restart(&paths, &header, &old.config, cfg)?;
    let steps = cfg.n_steps();
    if steps <= step {
        bail!(
            "the checkpoint in {} is at step {step} (t = {}), and the configuration ends at step {steps}: nothing to run; \
             extend the run with --set time.t_end=… or --set time.steps=…",
            ckpt_path.display(),
            header.t
        );
    }
    // issue 18: each rank of a domain-decomposed run reads the planes it owns (a hyperslab of `data`; with more
    // ranks than planes the decomposition is refused later, with its own message)
    let n3 = header.lattice.shape[2];
    let (rank, ranks) = (domain.rank(), domain.size());
    let planes = (ranks > 1 && n3 >= ranks).then(|| {
        use crate::parallel::slab::first_plane;
        first_plane(rank, ranks, n3)..first_plane(rank + 1, ranks, n3)
    });
    if let Some(p) = &planes {
        note.push(format!("note: each of the {ranks} ranks read only its own planes of the checkpoint (rank 0: z = {}..{})", p.start, p.end));
    }
    let ckpt = header.read_planes(planes.clone()).with_context(|| format!("cannot restart from {}", file.display()))?;
    if ckpt.precision != cfg.run.precision {
        note.push(format!("note: the checkpoint was written by a {} run", precision_name(ckpt.precision)));
    }
    // provenance: the text says where the configuration came from
    let source = match config {
        Some(p) => format!("# source: {} (restart from {} at step {step})", p.display(), ckpt_path.display()),
        None => format!("# source: the checkpoint {} (step {step}) and the --set lines below", ckpt_path.display()),
    };
    loaded.text = loaded.text.lines().map(|l| if l.starts_with("# source: ") { source.as_str() } else { l }).collect::<Vec<_>>().join("\n") + "\n";

    let mut state = ckpt.state.clone();
    if planes.is_none() {
        state.lattice = cfg.lattice();
    }
    state.t = StepperSetup::from_config(cfg).time_at(step);
    println!(
        "cqgrav {}: restarting {} from its checkpoint at step {step}, t = {}",
        env!("CARGO_PKG_VERSION"),
        paths.main.display(),
        state.t
    );
    Ok(Start {
        loaded,
        state,
        note: (!note.is_empty()).then(|| note.join("\n")),
        history_what: "restarted from the checkpoint",
        checkpoint: Some(ckpt),
        files,
    })
}

/// Times `f` into `total` (the output's share of a run's wall time, printed at its end).
fn timed<T>(total: &mut Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    *total += t.elapsed();
    r
}

/// Hands the stepper's current state to the writer as a snapshot (fields, constraint fields, ⟨δφ²⟩).
fn write_snapshot(stepper: &mut dyn Stepper, writer: &mut RootOutput, s: &State) -> anyhow::Result<()> {
    let cf = stepper.constraint_fields()?;
    let phi2 = crate::diagnostics::phi2_field(s, stepper.setup());
    writer.with(|w| w.write_snapshot(SnapshotData::from_state(s, &cf, phi2.as_deref())))
}

/// Writes the current state as a snapshot and/or the checkpoint: the ranks of a domain-decomposed run each
/// write their own planes to a part file and rank 0 the file of virtual datasets over them (issue 18,
/// [`RootOutput::write_parts`]); any other stepper's state is downloaded and written whole.
fn write_state(stepper: &mut dyn Stepper, writer: &mut RootOutput, snapshot: bool, checkpoint: bool) -> anyhow::Result<()> {
    if let Some(own) = stepper.owned_planes()? {
        return writer.write_parts(&own, snapshot, checkpoint);
    }
    let s = stepper.download()?;
    if snapshot {
        write_snapshot(stepper, writer, &s)?;
    }
    if checkpoint {
        writer.with(|w| w.write_checkpoint(&s))?;
    }
    Ok(())
}

/// The output of a run: the writer on rank 0 (the only one of a single process), none on the other ranks of a
/// domain-decomposed run (issue 18). Every call is a collective of the ranks: all learn whether the write succeeded.
struct RootOutput {
    writer: Option<OutputWriter>,
    domain: std::rc::Rc<dyn crate::parallel::Comm>,
    /// what every rank needs to write its part files (issue 18)
    paths: OutputPaths,
    run_id: String,
    precision: crate::config::Precision,
}

impl RootOutput {
    fn with<R: Default>(&mut self, f: impl FnOnce(&mut OutputWriter) -> anyhow::Result<R>) -> anyhow::Result<R> {
        let r = self.writer.as_mut().map_or(Ok(R::default()), f);
        agree(self.domain.as_ref(), r)
    }

    /// Issue 18: each rank writes its planes `own` to its part of the snapshot and/or the checkpoint (renamed into
    /// place, fsynced; io/parts.rs); once every rank has, rank 0 writes the snapshot or checkpoint file whose
    /// datasets are virtual over the parts. Nothing is gathered.
    fn write_parts(&mut self, own: &crate::parallel::slab::OwnedPlanes, snapshot: bool, checkpoint: bool) -> anyhow::Result<()> {
        use crate::io::parts::{checkpoint_stem, layout, part_name, PartHeader};
        let s = &own.state;
        let n3 = own.global.shape[2];
        let snapshot_name = OutputPaths::snapshot_file_name(s.step);
        let mut kinds = Vec::new();
        if snapshot {
            kinds.push((snapshot_name.trim_end_matches(".h5").to_string(), snapshot_name.as_str()));
        }
        if checkpoint {
            kinds.push((checkpoint_stem(s.step), crate::io::CHECKPOINT_FILE));
        }
        for (stem, whole) in kinds {
            let header = PartHeader { run_id: &self.run_id, step: s.step, t: s.t, rank: own.rank, ranks: own.ranks, z0: own.z0, lattice_shape: own.global.shape, whole };
            let name = part_name(&stem, own.rank, own.ranks);
            let what = format!("part {} of the {} at step {}", own.rank, if whole == crate::io::CHECKPOINT_FILE { "checkpoint" } else { "snapshot" }, s.step);
            let precision = self.precision;
            let written = crate::io::atomic_write(&self.paths.dir.join(&name), &self.paths.dir, &what, |tmp| {
                if whole == crate::io::CHECKPOINT_FILE {
                    crate::io::checkpoint::write_part(s, own.site_arrays, tmp, &header)
                } else {
                    SnapshotData::from_state(s, &own.constraints, own.phi2.as_deref()).write_part(tmp, &header, precision)
                }
            });
            agree(self.domain.as_ref(), written)?;
            let parts = layout(&stem, n3, own.ranks);
            if whole == crate::io::CHECKPOINT_FILE {
                // the quantum site arrays with no data: virtual over the parts (the others, whole, from rank 0)
                let mut quantum = s.quantum.clone();
                for a in quantum.arrays.iter_mut().filter(|a| own.site_arrays.contains(&a.name.as_str())) {
                    a.shape[1] = n3;
                    a.data = Vec::new();
                }
                let head = State { lattice: own.global, data: Vec::new(), background: s.background, t: s.t, step: s.step, quantum };
                self.with(|w| w.write_joined_checkpoint(&head, &parts))?;
            } else {
                let info = crate::io::SnapshotInfo { step: s.step, t: s.t };
                self.with(|w| w.write_joined_snapshot(info, &parts))?;
            }
        }
        Ok(())
    }
}

/// The stepper of a run split over the ranks of `domain` (issue 18): z-slabs on each rank's GPU
/// (parallel/gpu_slab_stepper.rs) or CPU (parallel/slab_stepper.rs), chosen by `run.backend` as a single
/// process chooses (`auto`: a hardware GPU, else the CPU backend).
fn decomposed_stepper(cfg: &Config, state: &State, domain: std::rc::Rc<dyn crate::parallel::Comm>) -> anyhow::Result<(Box<dyn Stepper>, String)> {
    use crate::config::BackendChoice;
    use crate::parallel::{gpu_slab_stepper::gpu_slab_stepper, slab_stepper::slab_stepper};
    let setup = StepperSetup::from_config(cfg).with_background_of(state);
    let ranks = domain.size();
    let cpu = |why: &str| -> anyhow::Result<(Box<dyn Stepper>, String)> {
        let st = slab_stepper(setup, state, domain.clone())?;
        Ok((st, format!("CPU backend ({why}), the lattice split in z-slabs over {ranks} MPI ranks, {} threads each", rayon::current_num_threads())))
    };
    let gpu = |ctx: crate::gpu::GpuContext, why: &str| -> anyhow::Result<(Box<dyn Stepper>, String)> {
        let note = format!("GPU backend ({why}): {} on rank 0, the lattice split in z-slabs over {ranks} MPI ranks", ctx.describe());
        Ok((gpu_slab_stepper(ctx, setup, state, domain.clone())?, note))
    };
    match cfg.run.backend {
        BackendChoice::Cpu => cpu("run.backend = \"cpu\""),
        BackendChoice::Gpu => gpu(crate::gpu::GpuContext::new(setup.precision)?, "run.backend = \"gpu\""),
        BackendChoice::Auto => match crate::gpu::GpuContext::new(setup.precision) {
            Ok(ctx) if !ctx.is_software() => match crate::parallel::gpu_slab_stepper::gpu_unsupported(&setup) {
                Some(why) => cpu(&format!("auto: a GPU is here, but {why}")),
                None => gpu(ctx, "auto"),
            },
            Ok(_) => cpu("auto: the only GPU adapter is a software device"),
            Err(_) => cpu("auto: no usable GPU"),
        },
    }
}

/// Steps to `steps`, writing a row / snapshot / checkpoint / spectra row at each event. `initial`: also write the
/// step-0 row, snapshot and spectra (a restart has them from the checkpoint). The wall time of the output (writer
/// calls and the downloads for snapshots and checkpoints) is added to `io`, that of the spectra (issue 13: the
/// download and the transforms) to `spectra_time`.
#[allow(clippy::too_many_arguments)]
fn drive(
    stepper: &mut dyn Stepper,
    writer: &mut RootOutput,
    cfg: &Config,
    steps: u64,
    initial: bool,
    pb: &ProgressBar,
    io: &mut Duration,
    spectra: Option<&crate::spectra::SpectraCalculator>,
    spectra_time: &mut Duration,
) -> anyhow::Result<()> {
    // indicatif swallows println on a hidden bar (--quiet, or output not a terminal): print directly then
    let root = writer.writer.is_some();
    let say = |line: String| if !root {} else if pb.is_hidden() { println!("{line}") } else { pb.println(line) };
    let out = &cfg.output;
    let every = out.timeseries_every.max(1);
    // the next multiple of m after s (never, for m = 0)
    let next = |s: u64, m: u64| s.checked_div(m).map_or(u64::MAX, |q| (q + 1) * m);
    let d = stepper.diagnostics()?;
    let first = d.step;
    let mut done = first;
    let mut last_row = (Instant::now(), done);

    say(summary(&d));
    // the starting state must be healthy too: a non-finite diagnostic at the first step stops the run before it
    // writes anything
    if !d.healthy() {
        let s = stepper.download()?;
        bail!("{}", unhealthy(&s, &d, stepper.setup().noise.diffusion));
    }
    if initial {
        timed(io, || -> anyhow::Result<()> {
            writer.with(|w| w.push_row(&d.columns()))?;
            // the first main file: from here on the output is this run's (an --overwrite'n one is removed now)
            writer.with(|w| w.flush())?;
            if out.snapshot_every > 0 {
                write_state(stepper, writer, true, false)?;
            }
            Ok(())
        })?;
        if let Some(calc) = spectra {
            let row = timed(spectra_time, || -> anyhow::Result<_> { Ok(calc.compute(&stepper.download()?)?.row()) })?;
            timed(io, || writer.with(|w| w.push_spectra(&row)))?;
        }
    }
    while done < steps {
        let spectra_every = if spectra.is_some() { out.spectra_every } else { 0 };
        let target = next(done, every)
            .min(next(done, out.snapshot_every))
            .min(next(done, out.checkpoint_every))
            .min(next(done, spectra_every))
            .min(steps);
        stepper.advance(target - done)?;
        // the health check of every step (issue 15): the stepper sums the whole state after each step (on the
        // GPU a device reduction of a few bytes per step) and reports the first step whose sum is not finite
        if let Some(bad) = stepper.take_first_nonfinite()? {
            let s = stepper.download()?;
            let at = health_check(&s).unwrap_or_else(|| {
                format!("the state's values overflow their sum at step {} (|values| near the largest {:?} number)", s.step, stepper.setup().precision)
            });
            let advice = crate::diagnostics::unhealthy_advice(bad, stepper.setup().noise.diffusion);
            if s.step == bad {
                bail!("{at}: {advice}");
            }
            bail!(
                "the state first became non-finite at step {bad}, t = {:.6} (checked every step); then {at}: {advice}",
                stepper.setup().time_at(bad)
            );
        }
        done = target;
        pb.set_position(done - first);
        // The full health check at each event from the diagnostics' reductions (a NaN/Inf anywhere reaches the
        // sums; det g, g_xx, the 2×2 minor and N are checked by a max reduction): the state is downloaded only to
        // locate a problem, for a snapshot or for a checkpoint, never just to look at it.
        let mut d = stepper.diagnostics()?;
        pb.set_message(format!("t = {:.4}", d.t));
        if !d.healthy() {
            let s = stepper.download()?;
            bail!("{}", unhealthy(&s, &d, stepper.setup().noise.diffusion));
        }
        let limit = crate::backend::quantum::representation(stepper.setup()).physicality_limit(stepper.setup());
        if d.state_min_symplectic < limit {
            bail!(
                "the quantum state stopped being physical at step {}, t = {:.6}: state_min_symplectic = {:.9} is below {:.6} \
                 (the smallest symplectic eigenvalue relative to ½ must stay ≥ 1; docs/quantum.md says what each \
                 representation reports). The quantum update's sub-steps keep their strength below cq.substep_tolerance \
                 (docs/quantum.md §4): lower cq.substep_tolerance (or time.dt)",
                d.step,
                d.t,
                d.state_min_symplectic,
                limit
            );
        }
        if done % every == 0 || done == steps {
            d.wall_per_step = last_row.0.elapsed().as_secs_f64() / (done - last_row.1) as f64;
            last_row = (Instant::now(), done);
            timed(io, || writer.with(|w| w.push_row(&d.columns())))?;
            say(summary(&d));
        }
        let snapshot = out.snapshot_every > 0 && done % out.snapshot_every == 0;
        let checkpoint = (out.checkpoint_every > 0 && done % out.checkpoint_every == 0) || done == steps;
        // issue 13: the spectra (SPEC §11) of every multiple of output.spectra_every, before a checkpoint counts them
        if let (Some(calc), true) = (spectra, spectra_every > 0 && done % spectra_every == 0) {
            let row = timed(spectra_time, || -> anyhow::Result<_> { Ok(calc.compute(&stepper.download()?)?.row()) })?;
            timed(io, || writer.with(|w| w.push_spectra(&row)))?;
        }
        timed(io, || -> anyhow::Result<()> {
            if snapshot || checkpoint {
                write_state(stepper, writer, snapshot, checkpoint)?;
            }
            writer.with(|w| w.flush_if_due())
        })?;
    }
    timed(io, || writer.with(|w| w.finish()))
}

/// Why the state of `d` is not healthy: the field and site from the state, or else the diagnostics that are
/// not finite (the state is finite, but a diagnostic of it overflowed).
fn unhealthy(s: &State, d: &Diagnostics, diffusion: f64) -> String {
    let what = health_check(s).unwrap_or_else(|| {
        let bad: Vec<String> = d.nonfinite_sums().iter().map(|(n, v)| format!("{n} = {v}")).collect();
        format!(
            "non-finite diagnostics at step {}, t = {:.6}: {} (the state itself is finite, but its energies or \
             constraints overflow)",
            s.step,
            s.t,
            if bad.is_empty() { "the metric or lapse is not positive".to_string() } else { bad.join(", ") }
        )
    });
    format!("{what}: {}", crate::diagnostics::unhealthy_advice(s.step, diffusion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keys_are_dotted_and_trimmed() {
        assert_eq!(set_keys(&[" gravity . dissipation = 0.1".into(), "run.seed=3".into()]), ["gravity.dissipation", "run.seed"]);
    }

    #[test]
    fn differences_name_the_keys() {
        let a = Config::default();
        let mut b = a.clone();
        b.gravity.dissipation = 0.5;
        b.time.steps = Some(7);
        let d = differences(&a, &b).unwrap();
        let keys: Vec<&str> = d.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(keys, ["time.steps", "gravity.dissipation"]);
        assert!(guarded("gravity", "dissipation") && !guarded("time", "steps") && !guarded("output", "file"));
    }
}
