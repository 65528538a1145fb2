//! The output of one run (SPEC §7): keeps the timeseries rows and the snapshot list in memory and rewrites
//! the small main file and the XDMF sidecar atomically at each flush point (after each snapshot and
//! checkpoint, at the end, and otherwise at most every [`FLUSH_INTERVAL`] of wall time).
use super::checkpoint::{precision_name, Checkpoint};
use super::h5util::{write_array_attr, write_scalar_attr, write_str_attr};
use super::snapshot::{SnapshotData, SnapshotInfo};
use super::timeseries::Timeseries;
use super::{atomic_write, remove_stale_tmp_files, OutputPaths, UNITS};
use crate::config::Precision;
use crate::state::State;
use anyhow::{Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// Root attribute `format` of a main output file.
pub const FORMAT: &str = "cqgrav-output";
pub const FORMAT_VERSION: u32 = 1;

/// Longest wall time between two rewrites of the main file: the timeseries rows computed since the last
/// flush are what a killed run loses.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Provenance of a run: the root attributes of the main file (SPEC §7).
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    /// The effective configuration, TOML (`LoadedConfig::text`).
    pub config_text: String,
    /// (N1, N2, N3)
    pub lattice_shape: [usize; 3],
    pub spacing: f64,
    pub dt: f64,
    pub seed: u64,
    pub precision: Precision,
    /// The stepper, e.g. `cpu (2 threads, f64)`.
    pub backend: String,
    /// How the backend and device were chosen, e.g. `GPU backend (auto): llvmpipe (…) (vulkan, Cpu)`.
    pub device: String,
    /// ḡ_ab of the δg storage (state.rs); snapshots hold the full g.
    pub background: [f64; 6],
    /// One line per run segment: the start and each restart.
    pub history: Vec<String>,
}

/// The line of [`RunMeta::history`] for a segment starting at `step`.
pub fn history_line(what: &str, step: u64, backend: &str) -> String {
    format!("{what} at step {step} by cqgrav {} (commit {}) on {backend}", env!("CARGO_PKG_VERSION"), super::git_commit())
}

pub struct OutputWriter {
    paths: OutputPaths,
    meta: RunMeta,
    ts: Timeseries,
    snaps: Vec<SnapshotInfo>,
    checkpoint_step: Option<u64>,
    last_flush: Instant,
    dirty: bool,
    /// The snapshot being written on a background thread (at most one), recorded in the main file only once
    /// its file is complete and renamed into place.
    pending: Option<(std::thread::JoinHandle<Result<()>>, SnapshotInfo)>,
}

impl OutputWriter {
    /// A new output at `path`, replacing any earlier one of that name (its snapshots and checkpoint are
    /// removed after the new, empty main file is in place).
    pub fn create(path: &Path, meta: RunMeta) -> Result<Self> {
        let mut w = Self::empty(path, meta);
        w.flush()?;
        for e in std::fs::read_dir(&w.paths.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == super::CHECKPOINT_FILE || (name.starts_with("snapshot_") && name.ends_with(".h5")) {
                std::fs::remove_file(e.path())
                    .with_context(|| format!("removing {} of an earlier run", e.path().display()))?;
            }
        }
        Ok(w)
    }

    /// Continues the output at `path` from `ckpt`: its timeseries rows and snapshots (all with step ≤ the
    /// checkpoint's) are kept, later snapshot files of a run that went on after the checkpoint are removed.
    /// Also returns how many rows and snapshots the main file had after the checkpoint (now dropped).
    pub fn resume(path: &Path, meta: RunMeta, ckpt: &Checkpoint) -> Result<(Self, usize, usize)> {
        let step = ckpt.state.step;
        let (rows_after, snaps_after) = super::OutputFile::open(path).map_or((0, 0), |f| {
            let later = |s: u64| s > step;
            let snaps = f.snapshots.iter().filter(|e| e.info.as_ref().is_ok_and(|i| later(i.0))).count();
            (f.timeseries.steps().into_iter().filter(|&s| later(s)).count(), snaps)
        });
        let mut w = Self::empty(path, meta);
        w.ts = ckpt.timeseries.clone();
        w.ts.truncate_after_step(step);
        w.snaps = ckpt.snapshots.iter().filter(|s| s.step <= step && w.paths.snapshot(s.step).exists()).copied().collect();
        w.checkpoint_step = Some(step);
        w.flush()?;
        for e in std::fs::read_dir(&w.paths.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let later = name
                .strip_prefix("snapshot_")
                .and_then(|r| r.strip_suffix(".h5"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|s| s > step);
            if later {
                std::fs::remove_file(e.path())
                    .with_context(|| format!("removing {} (written after the checkpoint)", e.path().display()))?;
            }
        }
        Ok((w, rows_after, snaps_after))
    }

    fn empty(path: &Path, meta: RunMeta) -> Self {
        let paths = OutputPaths::new(path);
        remove_stale_tmp_files(&paths.dir);
        Self {
            paths,
            meta,
            ts: Timeseries::default(),
            snaps: Vec::new(),
            checkpoint_step: None,
            last_flush: Instant::now(),
            dirty: true,
            pending: None,
        }
    }

    pub fn paths(&self) -> &OutputPaths {
        &self.paths
    }
    pub fn timeseries(&self) -> &Timeseries {
        &self.ts
    }
    pub fn snapshots(&self) -> &[SnapshotInfo] {
        &self.snaps
    }
    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// Appends a timeseries row (`Diagnostics::columns`); written at the next flush.
    pub fn push_row(&mut self, row: &[(&str, f64)]) {
        self.ts.push(row);
        self.dirty = true;
    }

    /// Writes the snapshot file on a background thread (waiting for the previous one first); the main file links
    /// it once the file is complete ([`OutputWriter::settle`]).
    pub fn write_snapshot(&mut self, snap: SnapshotData) -> Result<()> {
        // One snapshot in flight: compression and disk writes overlap the next steps, not the stepping thread.
        self.settle(true)?;
        let (spacing, precision) = (self.meta.spacing, self.meta.precision);
        let (path, dir) = (self.paths.snapshot(snap.step), self.paths.dir.clone());
        let info = SnapshotInfo { step: snap.step, t: snap.t };
        let handle = std::thread::Builder::new()
            .name(format!("snapshot {}", snap.step))
            .spawn(move || {
                atomic_write(&path, &dir, &format!("snapshot at step {}", snap.step), |tmp| snap.write(tmp, spacing, precision))
            })
            .context("starting the snapshot writer thread")?;
        self.pending = Some((handle, info));
        Ok(())
    }

    /// Records the background snapshot once its file is in place (waiting for it when `wait`), then flushes
    /// the main file so it links the new snapshot. The main file never names a snapshot file that is not
    /// complete, which is what keeps a killed run's output readable.
    fn settle(&mut self, wait: bool) -> Result<()> {
        let done = self.pending.as_ref().is_some_and(|(h, _)| wait || h.is_finished());
        if !done {
            return Ok(());
        }
        let (handle, info) = self.pending.take().expect("pending snapshot");
        handle.join().map_err(|_| anyhow::anyhow!("the snapshot writer thread panicked (step {})", info.step))??;
        self.snaps.retain(|s| s.step != info.step);
        self.snaps.push(info);
        self.snaps.sort_by_key(|s| s.step);
        self.flush()
    }

    /// Waits for the snapshot in flight and flushes: the end of a run (or of its error path).
    pub fn finish(&mut self) -> Result<()> {
        self.settle(true)?;
        self.flush()
    }

    /// Rewrites the checkpoint with `state` (as the stepper holds it) and the rows and snapshots so far. The
    /// main file is flushed before (so whenever a checkpoint exists, the main file has its rows) and after.
    pub fn write_checkpoint(&mut self, state: &State) -> Result<()> {
        self.settle(true)?;
        if self.dirty {
            self.flush()?;
        }
        let step = state.step;
        let mut ts = self.ts.clone();
        ts.truncate_after_step(step);
        let ckpt = Checkpoint {
            state: state.clone(),
            dt: self.meta.dt,
            precision: self.meta.precision,
            seed: self.meta.seed,
            config_text: self.meta.config_text.clone(),
            timeseries: ts,
            snapshots: self.snaps.iter().filter(|s| s.step <= step).copied().collect(),
            history: self.meta.history.clone(),
        };
        atomic_write(&self.paths.checkpoint(), &self.paths.dir, &format!("checkpoint at step {step}"), |tmp| ckpt.write(tmp))?;
        self.checkpoint_step = Some(step);
        self.flush()
    }

    /// Flushes when rows are pending and the last flush is [`FLUSH_INTERVAL`] old.
    pub fn flush_if_due(&mut self) -> Result<()> {
        self.settle(false)?;
        if self.dirty && self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Rewrites the XDMF sidecar and the main file (each atomically).
    pub fn flush(&mut self) -> Result<()> {
        let p = &self.paths;
        let m = &self.meta;
        let text = super::xdmf::xdmf(p, m.lattice_shape, m.spacing, m.precision, &self.snaps);
        atomic_write(&p.xdmf, &p.dir, "the XDMF sidecar", |tmp| {
            std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
        })?;
        atomic_write(&p.main, &p.dir, "the main output file", |tmp| self.write_main(tmp))?;
        self.last_flush = Instant::now();
        self.dirty = false;
        Ok(())
    }

    fn write_main(&self, path: &Path) -> Result<()> {
        let m = &self.meta;
        let f = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        write_str_attr(&f, "format", FORMAT)?;
        write_scalar_attr(&f, "format_version", FORMAT_VERSION)?;
        write_str_attr(&f, "code_version", env!("CARGO_PKG_VERSION"))?;
        write_str_attr(&f, "git_commit", super::git_commit())?;
        write_str_attr(&f, "config", &m.config_text)?;
        write_str_attr(&f, "units", UNITS)?;
        write_array_attr(&f, "lattice_shape", &m.lattice_shape.map(|n| n as u64))?;
        write_scalar_attr(&f, "spacing", m.spacing)?;
        write_scalar_attr(&f, "dt", m.dt)?;
        write_scalar_attr(&f, "seed", m.seed)?;
        write_str_attr(&f, "precision", precision_name(m.precision))?;
        write_str_attr(&f, "backend", &m.backend)?;
        write_str_attr(&f, "device", &m.device)?;
        write_array_attr(&f, "background_metric", &m.background)?;
        write_str_attr(&f, "history", &m.history.join("\n"))?;
        self.ts.write(&f, "timeseries")?;
        let snaps = f.create_group("snapshots").context("creating group /snapshots")?;
        for s in &self.snaps {
            let name = OutputPaths::snapshot_group_name(s.step);
            snaps
                .link_external(&self.paths.snapshot_rel(s.step), "/", &name)
                .with_context(|| format!("linking /snapshots/{name}"))?;
        }
        drop(snaps);
        if self.checkpoint_step.is_some() {
            f.link_external(&self.paths.checkpoint_rel(), "/", "checkpoint").context("linking /checkpoint")?;
        }
        f.close().with_context(|| format!("closing {}", path.display()))
    }
}
