//! The output of one run (SPEC §7): appends the timeseries rows to their segment files ([`super::rows`]),
//! writes snapshots on a background thread and checkpoints, and rewrites the small main file and the XDMF
//! sidecar atomically at each flush point: before each checkpoint (and after the first, which adds the
//! `/checkpoint` link), at the end, and otherwise when rows or snapshots are pending and the last flush is
//! `output.flush_interval` old. A flush costs O(rows since the last flush) plus the main file, whose size
//! grows only with the number of snapshots (their links).
//!
//! A new output writes nothing before its first flush (the driver's step-0 row), so a run that cannot start
//! leaves an earlier output as it was; with `--overwrite` the earlier output's files are removed only once
//! that first main file is in place.
use super::checkpoint::{precision_name, Checkpoint};
use super::h5util::{write_array_attr, write_scalar_attr, write_str_attr};
use super::lock::OutputLock;
use super::rows::RowStore;
use super::snapshot::{SnapshotData, SnapshotInfo};
use super::snapshot_writer::SnapshotWriter;
use super::parts::Part;
use super::{atomic_replace, atomic_replace_unsynced, remove_stale_tmp_files, sync_dir, sync_filesystem, OutputPaths, UNITS};
use crate::config::Precision;
use crate::state::State;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// Root attribute `format` of a main output file.
pub const FORMAT: &str = "cqgrav-output";
/// 2: the timeseries are virtual datasets over segment files, `run_id` (issue 15).
pub const FORMAT_VERSION: u32 = 2;

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
    /// The identity of the run ([`new_run_id`]), shared by its main file, checkpoint and segment files and kept
    /// across restarts: a restart refuses a checkpoint of another run.
    pub run_id: String,
    /// The shell grid of the run's spectra (`output.spectra_every > 0`; issue 13), written beside `/spectra`.
    pub spectra: Option<super::spectra::SpectraGrid>,
}

impl RunMeta {
    /// The provenance attributes (docs/output.md "Root attributes") on `loc`, with `format` naming the file kind:
    /// the main file's root, and every snapshot file's root, so a snapshot file alone says what wrote it.
    pub fn write_provenance(&self, loc: &hdf5::Location, format: &str) -> Result<()> {
        write_str_attr(loc, "format", format)?;
        write_scalar_attr(loc, "format_version", FORMAT_VERSION)?;
        write_str_attr(loc, "run_id", &self.run_id)?;
        write_str_attr(loc, "code_version", env!("CARGO_PKG_VERSION"))?;
        write_str_attr(loc, "git_commit", super::git_commit())?;
        write_str_attr(loc, "config", &self.config_text)?;
        write_str_attr(loc, "units", UNITS)?;
        write_array_attr(loc, "lattice_shape", &self.lattice_shape.map(|n| n as u64))?;
        write_scalar_attr(loc, "spacing", self.spacing)?;
        write_scalar_attr(loc, "dt", self.dt)?;
        write_scalar_attr(loc, "seed", self.seed)?;
        write_str_attr(loc, "precision", precision_name(self.precision))?;
        write_str_attr(loc, "backend", &self.backend)?;
        write_str_attr(loc, "device", &self.device)?;
        write_array_attr(loc, "background_metric", &self.background)?;
        write_str_attr(loc, "history", &self.history.join("\n"))
    }
}

/// The line of [`RunMeta::history`] for a segment starting at `step`.
pub fn history_line(what: &str, step: u64, backend: &str) -> String {
    format!("{what} at step {step} by cqgrav {} (commit {}) on {backend}", env!("CARGO_PKG_VERSION"), super::git_commit())
}

/// A new run id: 16 hexadecimal digits from the operating system's random hash keys, the time and the process.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// Is `run_id` the kind of id [`new_run_id`] makes (it becomes part of file names)?
pub fn valid_run_id(run_id: &str) -> bool {
    run_id.len() == 16 && run_id.bytes().all(|b| b.is_ascii_hexdigit())
}

pub struct OutputWriter {
    paths: OutputPaths,
    meta: RunMeta,
    rows: RowStore,
    /// the `/spectra` rows (issue 13; empty when the run writes none)
    spectra: RowStore,
    snaps: Vec<SnapshotInfo>,
    /// snapshots listed in the XDMF sidecar on disk (it is rewritten only when this changes)
    snaps_in_xdmf: Option<usize>,
    checkpoint_step: Option<u64>,
    /// the main file on disk links `/checkpoint`
    checkpoint_linked: bool,
    last_flush: Instant,
    flush_interval: Duration,
    dirty: bool,
    /// Snapshots being written on the background thread, recorded in the main file only once their file is
    /// complete and renamed into place.
    snapshot_writer: SnapshotWriter,
    /// snapshot files renamed into place but not yet on stable storage ([`OutputWriter::make_durable`])
    unsynced_snapshots: bool,
    /// `--overwrite`: remove the earlier output's files once the first main file of this run is in place
    replace_earlier: bool,
    flushed_once: bool,
    lock: OutputLock,
}

impl OutputWriter {
    /// A new output at the locked `paths` (see [`check_new_output`]); nothing is written before the first
    /// flush. With `replace_earlier`, the files of an earlier output there are removed after that flush.
    pub fn create(lock: OutputLock, paths: &OutputPaths, meta: RunMeta, flush_interval: Duration, replace_earlier: bool) -> Self {
        let rows = RowStore::new(paths, &meta.run_id);
        let spectra = RowStore::of(super::spectra::TABLE, paths, &meta.run_id);
        let mut w = Self::empty(lock, paths, meta, rows, spectra, flush_interval);
        w.replace_earlier = replace_earlier;
        w
    }

    /// Continues the output at `paths` from `ckpt` (validated by [`super::restart`]): its rows and snapshots
    /// up to the checkpoint are kept, what the run wrote after the checkpoint is dropped. The main file is
    /// rewritten before later segment and snapshot files are removed. Also returns how many rows and snapshots
    /// were dropped.
    pub fn resume(lock: OutputLock, paths: &OutputPaths, meta: RunMeta, ckpt: &Checkpoint, flush_interval: Duration) -> Result<(Self, u64, usize)> {
        let step = ckpt.state.step;
        let (rows, rows_after) = RowStore::resume(paths, &meta.run_id, ckpt.timeseries_rows)?;
        let (spectra, _) = RowStore::resume_table(super::spectra::TABLE, paths, &meta.run_id, ckpt.spectra_rows)?;
        let mut w = Self::empty(lock, paths, meta, rows, spectra, flush_interval);
        w.snaps = ckpt.snapshots.iter().filter(|s| s.step <= step && w.paths.snapshot(s.step).exists()).copied().collect();
        w.checkpoint_step = Some(step);
        w.flush()?;
        let mut snaps_after = 0;
        for e in std::fs::read_dir(&w.paths.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // a snapshot file or one of its per-rank parts (issue 18)
            let later = super::parts::snapshot_step(&name).is_some_and(|s| s > step);
            if later {
                std::fs::remove_file(e.path())
                    .with_context(|| format!("removing {} (written after the checkpoint)", e.path().display()))?;
                snaps_after += 1;
            }
        }
        Ok((w, rows_after, snaps_after))
    }

    fn empty(lock: OutputLock, paths: &OutputPaths, meta: RunMeta, rows: RowStore, spectra: RowStore, flush_interval: Duration) -> Self {
        remove_stale_tmp_files(&paths.dir);
        Self {
            paths: paths.clone(),
            meta,
            rows,
            spectra,
            snaps: Vec::new(),
            snaps_in_xdmf: None,
            checkpoint_step: None,
            checkpoint_linked: false,
            last_flush: Instant::now(),
            flush_interval,
            dirty: true,
            snapshot_writer: SnapshotWriter::default(),
            unsynced_snapshots: false,
            replace_earlier: false,
            flushed_once: false,
            lock,
        }
    }

    pub fn paths(&self) -> &OutputPaths {
        &self.paths
    }
    /// Timeseries rows so far (written or pending).
    pub fn rows(&self) -> u64 {
        self.rows.len()
    }
    pub fn snapshots(&self) -> &[SnapshotInfo] {
        &self.snaps
    }
    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// Appends a timeseries row (`Diagnostics::columns`); written at the next flush.
    pub fn push_row(&mut self, row: &[(&str, f64)]) -> Result<()> {
        self.rows.push(row)?;
        self.dirty = true;
        Ok(())
    }

    /// Appends a `/spectra` row (`Spectra::row`; issue 13); written at the next flush. The run's `RunMeta::spectra`
    /// grid must be set.
    pub fn push_spectra(&mut self, row: &[(&str, Vec<f64>, bool)]) -> Result<()> {
        if self.meta.spectra.is_none() {
            bail!("internal: a spectra row without the run's shell grid");
        }
        self.spectra.push_wide(row)?;
        self.dirty = true;
        Ok(())
    }

    /// `/spectra` rows so far.
    pub fn spectra_rows(&self) -> u64 {
        self.spectra.len()
    }

    /// Writes the snapshot file on the background thread ([`SnapshotWriter`]); the main file links it once the
    /// file is complete ([`OutputWriter::settle`]). A new output's first main file must be in place before (it
    /// replaces an earlier output whose snapshot files have the same names).
    pub fn write_snapshot(&mut self, snap: SnapshotData) -> Result<()> {
        if !self.flushed_once {
            bail!("internal: a snapshot before the output's first flush");
        }
        let (path, dir) = (self.paths.snapshot(snap.step), self.paths.dir.clone());
        self.snapshot_writer.submit(snap, path, dir, &self.meta)?;
        self.settle(false)
    }

    /// Records the snapshot of a domain-decomposed run (issue 18) whose ranks have written their `parts` (each
    /// renamed into place and fsynced): writes its file of virtual datasets over them, then the next flush links
    /// it.
    pub fn write_joined_snapshot(&mut self, info: SnapshotInfo, parts: &[Part]) -> Result<()> {
        if !self.flushed_once {
            bail!("internal: a snapshot before the output's first flush");
        }
        let what = format!("snapshot at step {}", info.step);
        let meta = &self.meta;
        atomic_replace_unsynced(&self.paths.snapshot(info.step), &self.paths.dir, &what, |tmp| SnapshotData::write_joined(tmp, meta, info, parts))?;
        self.record_snapshots(vec![info]);
        Ok(())
    }

    /// Records the snapshots whose files are in place (after waiting for all when `wait`); the next flush links
    /// them. The main file never names a snapshot file that is not complete, which is what keeps a killed run's
    /// output readable.
    fn settle(&mut self, wait: bool) -> Result<()> {
        let done = self.snapshot_writer.completed(wait)?;
        if !done.is_empty() {
            self.record_snapshots(done);
        }
        Ok(())
    }

    /// Lists snapshots whose files are in place (not yet on stable storage) for the next flush.
    fn record_snapshots(&mut self, done: Vec<SnapshotInfo>) {
        for info in done {
            self.snaps.retain(|s| s.step != info.step);
            self.snaps.push(info);
        }
        self.snaps.sort_by_key(|s| s.step);
        self.dirty = true;
        self.unsynced_snapshots = true;
    }

    /// The snapshot files written since the last call, on stable storage: one syncfs instead of a device
    /// flush per file. Runs before a main file links them and before a checkpoint lists them.
    fn make_durable(&mut self) -> Result<()> {
        if std::mem::take(&mut self.unsynced_snapshots) {
            sync_filesystem(&self.paths.dir)?;
        }
        Ok(())
    }

    /// Waits for the snapshot in flight and flushes: the end of a run (or of its error path). A new output that
    /// never flushed (the run stopped before its first row) writes nothing: an earlier output stays as it was.
    pub fn finish(&mut self) -> Result<()> {
        self.settle(true)?;
        if !self.flushed_once {
            return Ok(());
        }
        self.flush()
    }

    /// Rewrites the checkpoint with `state` (as the stepper holds it), the number of rows and the snapshots so
    /// far. Its rows and snapshot files are on stable storage before (so whenever a checkpoint exists, the run's
    /// segment files hold its rows), and the main file maps them before: a run killed after writing its final
    /// checkpoint (a restart then has nothing to run, and does not rewrite the main file) leaves a complete main
    /// file. The main file is flushed again after the first checkpoint, which adds the `/checkpoint` link.
    pub fn write_checkpoint(&mut self, state: &State) -> Result<()> {
        self.checkpoint_with(state, None)
    }

    /// [`OutputWriter::write_checkpoint`] of a domain-decomposed run (issue 18): its ranks have written the
    /// state's `parts` (renamed into place, fsynced); `head` is the state without its data (step, t, lattice,
    /// background), and the checkpoint's `data` a virtual dataset over the parts.
    pub fn write_joined_checkpoint(&mut self, head: &State, parts: &[Part]) -> Result<()> {
        self.checkpoint_with(head, Some(parts))
    }

    fn checkpoint_with(&mut self, state: &State, parts: Option<&[Part]>) -> Result<()> {
        self.settle(true)?;
        // the rows and snapshots so far: on stable storage and in the main file
        self.flush()?;
        let step = state.step;
        let ckpt = Checkpoint {
            state: state.clone(),
            dt: self.meta.dt,
            precision: self.meta.precision,
            seed: self.meta.seed,
            config_text: self.meta.config_text.clone(),
            timeseries_rows: self.rows.len(),
            spectra_rows: self.spectra.len(),
            snapshots: self.snaps.iter().filter(|s| s.step <= step).copied().collect(),
            history: self.meta.history.clone(),
            run_id: self.meta.run_id.clone(),
        };
        // fsynced, renamed, the directory synced at the next flush: a power loss before then leaves the previous
        // checkpoint, whose rows and snapshots are on stable storage as well
        let what = format!("checkpoint at step {step}");
        atomic_replace(&self.paths.checkpoint(), &self.paths.dir, &what, |tmp| match parts {
            None => ckpt.write(tmp),
            Some(parts) => ckpt.write_joined(tmp, parts),
        })?;
        self.checkpoint_step = Some(step);
        // the parts of the checkpoint just replaced (issue 18; the new one's are kept)
        for e in std::fs::read_dir(&self.paths.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if super::parts::is_checkpoint_part(&name) && !parts.is_some_and(|p| p.iter().any(|p| p.file == name)) {
                std::fs::remove_file(e.path()).with_context(|| format!("removing {} (a part of the previous checkpoint)", e.path().display()))?;
            }
        }
        if !self.checkpoint_linked {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes when rows or snapshots are pending and the last flush is `output.flush_interval` old.
    pub fn flush_if_due(&mut self) -> Result<()> {
        self.settle(false)?;
        if self.dirty && self.last_flush.elapsed() >= self.flush_interval {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the new rows' segments, then the XDMF sidecar (when the snapshots changed) and the main file, each
    /// atomically, in that order. Every file is fsynced before its rename; the renames into `<file>.d/` (segments,
    /// snapshots) are made durable by one directory sync before the main file that maps them is renamed, and the
    /// main file's rename by a sync of its directory after.
    pub fn flush(&mut self) -> Result<()> {
        self.rows.flush()?;
        self.spectra.flush()?;
        self.make_durable()?;
        let p = &self.paths;
        let m = &self.meta;
        sync_dir(Some(&p.dir));
        if self.snaps_in_xdmf != Some(self.snaps.len()) {
            let text = super::xdmf::xdmf(p, m.lattice_shape, m.spacing, m.precision, &self.snaps);
            atomic_replace(&p.xdmf, &p.dir, "the XDMF sidecar", |tmp| {
                std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
            })?;
            self.snaps_in_xdmf = Some(self.snaps.len());
        }
        atomic_replace(&p.main, &p.dir, "the main output file", |tmp| self.write_main(tmp))?;
        sync_dir(p.main.parent());
        self.checkpoint_linked = self.checkpoint_step.is_some();
        self.rows.after_main_written()?;
        self.spectra.after_main_written()?;
        self.last_flush = Instant::now();
        self.dirty = false;
        if !self.flushed_once {
            self.flushed_once = true;
            self.lock.mark_used();
            if std::mem::take(&mut self.replace_earlier) {
                self.remove_earlier_output()?;
            }
        }
        Ok(())
    }

    /// `--overwrite`: the snapshots, checkpoint and row segments of the output this run replaced (its main file
    /// and sidecar were replaced by the first flush).
    fn remove_earlier_output(&self) -> Result<()> {
        for e in std::fs::read_dir(&self.paths.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let earlier = name == super::CHECKPOINT_FILE
                || super::parts::is_checkpoint_part(&name)
                || (name.starts_with("snapshot_") && name.ends_with(".h5"))
                || (RowStore::is_segment_file(&name) && !RowStore::is_segment_of(&name, &self.meta.run_id));
            if earlier {
                std::fs::remove_file(e.path()).with_context(|| format!("removing {} of the replaced output", e.path().display()))?;
            }
        }
        Ok(())
    }

    fn write_main(&self, path: &Path) -> Result<()> {
        let f = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        self.meta.write_provenance(&f, FORMAT)?;
        let ts = f.create_group("timeseries").context("creating group /timeseries")?;
        self.rows.write_datasets(&ts)?;
        drop(ts);
        if let (Some(grid), false) = (&self.meta.spectra, self.spectra.names().is_empty()) {
            super::spectra::write_group(&f, &self.spectra, grid)?;
        }
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

/// Takes the lock of a new output at `paths`, then checks under the lock that it may be written
/// ([`check_new_output`]).
pub fn lock_new_output(paths: &OutputPaths, overwrite: bool) -> Result<OutputLock> {
    let lock = OutputLock::acquire(paths)?;
    check_new_output(paths, overwrite)?;
    Ok(lock)
}

/// Is there an output at `paths` a new run would replace? Refuses what cqgrav must never replace: a main file
/// that is not a cqgrav output (or not a regular file), and, without `overwrite`, any earlier cqgrav output
/// (its main file, or files of one in `<file>.d/`). Reads only.
pub fn check_new_output(paths: &OutputPaths, overwrite: bool) -> Result<()> {
    let main = &paths.main;
    let mut found = Vec::new();
    if let Ok(meta) = std::fs::symlink_metadata(main) {
        if !meta.is_file() {
            bail!(
                "output.file {} exists and is {}: cqgrav writes its output only where it can replace its own files; \
                 choose another output.file",
                main.display(),
                super::file_kind(&meta)
            );
        }
        let what = match super::OutputFile::open(main) {
            Ok(f) => f.describe(),
            Err(e) => bail!(
                "output.file {} exists but is not a readable cqgrav output ({e:#}); cqgrav does not replace files it did \
                 not write: move it away or choose another output.file",
                main.display()
            ),
        };
        found.push(format!("{} ({what})", main.display()));
    }
    let mut files = 0usize;
    for e in std::fs::read_dir(&paths.dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == super::CHECKPOINT_FILE || super::parts::is_checkpoint_part(&name) || (name.starts_with("snapshot_") && name.ends_with(".h5")) || RowStore::is_segment_file(&name) {
            files += 1;
        }
    }
    if files > 0 {
        found.push(format!("{} file{} of a run in {}", files, if files == 1 { "" } else { "s" }, paths.dir.display()));
    }
    if found.is_empty() || overwrite {
        return Ok(());
    }
    bail!(
        "the output {} already exists: {}. cqgrav never replaces a finished run by itself: continue it with \
         `cqgrav run --restart {}`, choose another output.file, or pass --overwrite to replace it (its files are \
         removed only after the new run has written its first rows)",
        main.display(),
        found.join("; "),
        main.display()
    )
}
