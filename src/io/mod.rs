//! Output files (SPEC §7): the HDF5 main file with its timeseries, snapshots, checkpoint and XDMF sidecar.
//! The layout and every name are documented in `docs/output.md`.
//!
//! Crash safety: HDF5 has no journal, so a visible file is never modified in place. Every file is written
//! under a temporary name, fsynced and renamed over its final name ([`atomic_write`]):
//! - `<file>`: the small main file (root attributes, `/timeseries`, and `/snapshots/NNNNNN` + `/checkpoint` as
//!   external links), rewritten completely at each flush ([`writer`]);
//! - `<file>.d/snapshot_NNNNNN.h5`: one per snapshot, written once ([`snapshot`]);
//! - `<file>.d/checkpoint.h5`: the restart state, rewritten at each checkpoint ([`checkpoint`]);
//! - `<file>.xdmf`: the XDMF sidecar for ParaView, VisIt and pyvista ([`xdmf`]).
//!
//! A process killed at any moment therefore leaves only complete files behind; what it loses is the
//! timeseries rows computed since the last flush.
//!
//! The timeseries rows live in segment files `<file>.d/timeseries_<run id>_<block>.h5` of [`rows::BLOCK_ROWS`]
//! rows each (written once), plus the current block's `…_<block>.open.h5` (rewritten at each flush, at most one
//! block); the main file presents them as one `/timeseries/<name>` dataset each through HDF5 virtual datasets
//! ([`rows`]), so a flush costs O(rows since the last flush), not O(all rows). An advisory lock
//! (`<file>.d/lock`, [`lock`]) keeps a second process from writing the same output.
pub mod checkpoint;
pub mod dims;
pub mod h5util;
pub mod lock;
pub mod parts; // issue 18: per-rank part files joined by virtual datasets
pub mod reader;
pub mod restart;
pub mod rows;
pub mod snapshot;
pub mod snapshot_writer;
pub mod spectra; // issue 13: the /spectra group (SPEC §11)
pub mod timeseries;
pub mod toy;
pub mod writer;
pub mod xdmf;

pub use checkpoint::Checkpoint;
pub use reader::{OutputFile, SnapshotFile};
pub use timeseries::Timeseries;
pub use snapshot::{SnapshotData, SnapshotInfo};
pub use writer::{OutputWriter, RunMeta};

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Value of the root attribute `units` (SPEC §1).
pub const UNITS: &str = "hbar = c = 16 pi G = 1";

/// The files of one output (SPEC §7), all derived from the main file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPaths {
    /// `<file>`, e.g. `run.h5`.
    pub main: PathBuf,
    /// `<file>.d/`: snapshots, checkpoint and temporary files.
    pub dir: PathBuf,
    /// `<file>.xdmf`.
    pub xdmf: PathBuf,
}

impl OutputPaths {
    pub fn new(main: &Path) -> Self {
        let name = main.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "cqgrav.h5".into());
        let parent = main.parent().map(Path::to_path_buf).unwrap_or_default();
        Self { main: main.to_path_buf(), dir: parent.join(format!("{name}.d")), xdmf: parent.join(format!("{name}.xdmf")) }
    }
    /// The sidecar directory's name relative to the main file's directory (`run.h5.d`).
    pub fn dir_name(&self) -> String {
        self.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
    /// `snapshot_000100.h5`: the snapshot index is the step, zero-padded to at least 6 digits.
    pub fn snapshot_file_name(step: u64) -> String {
        format!("snapshot_{step:06}.h5")
    }
    /// The group name under `/snapshots` (SPEC §7: 6-digit index).
    pub fn snapshot_group_name(step: u64) -> String {
        format!("{step:06}")
    }
    pub fn snapshot(&self, step: u64) -> PathBuf {
        self.dir.join(Self::snapshot_file_name(step))
    }
    /// The snapshot file relative to the main file's directory (external links and XDMF use this).
    pub fn snapshot_rel(&self, step: u64) -> String {
        format!("{}/{}", self.dir_name(), Self::snapshot_file_name(step))
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_FILE)
    }
    pub fn checkpoint_rel(&self) -> String {
        format!("{}/{CHECKPOINT_FILE}", self.dir_name())
    }
    /// `<file>.d/lock`: the advisory lock of the process writing this output ([`lock::OutputLock`]).
    pub fn lock(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }
    /// The main file of a path given by a user: the main file itself, or its sidecar checkpoint
    /// (`run.h5.d/checkpoint.h5` → `run.h5`).
    pub fn from_user_path(path: &Path) -> Self {
        let is_ckpt = path.file_name().is_some_and(|n| n == CHECKPOINT_FILE);
        if let (true, Some(dir)) = (is_ckpt, path.parent()) {
            if let Some(main) = dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".d")) {
                return Self::new(&dir.parent().map(Path::to_path_buf).unwrap_or_default().join(main));
            }
        }
        Self::new(path)
    }
}

pub const CHECKPOINT_FILE: &str = "checkpoint.h5";
pub const LOCK_FILE: &str = "lock";

/// What kind of file system object `meta` describes, for messages ("a FIFO", "a directory", …).
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Fails unless `path` is an existing regular file (opening a FIFO or a device could block or never end);
/// `what` names the file in the message ("checkpoint", "output file").
pub fn require_regular_file(path: &Path, what: &str) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("{what} {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{what} {} is {}, not an HDF5 file", path.display(), file_kind(&meta));
    }
    Ok(())
}

/// Writes `target` atomically and durably: [`atomic_replace`], then the directory is fsynced so that the
/// rename itself survives a power loss. For files written rarely (the checkpoint, an ensemble summary).
pub fn atomic_write(
    target: &Path,
    tmp_dir: &Path,
    what: &str,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    atomic_replace(target, tmp_dir, what, write)?;
    sync_dir(target.parent());
    Ok(())
}

/// Writes `target` atomically: `write` fills a temporary file in `tmp_dir` (same file system), which is then
/// fsynced and renamed over `target`. The directory is not synced: the caller does that ([`sync_dir`]) before
/// anything durable refers to `target` (the writer syncs `<file>.d/` once per flush, before the main file that
/// links the new files is renamed). `what` names the content in errors.
pub fn atomic_replace(
    target: &Path,
    tmp_dir: &Path,
    what: &str,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    replace_file(target, tmp_dir, what, true, write)
}

/// [`atomic_replace`] without the fsync: the file is complete for any reader (a killed process cannot leave it
/// half written) but not yet on stable storage; [`sync_filesystem`] must run before anything durable refers to
/// it. For snapshot files, whose individual fsyncs would cost a device flush each (milliseconds) when a run
/// writes hundreds per second.
pub fn atomic_replace_unsynced(
    target: &Path,
    tmp_dir: &Path,
    what: &str,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    replace_file(target, tmp_dir, what, false, write)
}

fn replace_file(
    target: &Path,
    tmp_dir: &Path,
    what: &str,
    fsync: bool,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(tmp_dir)
        .with_context(|| format!("cannot create the output directory {} (for {what})", tmp_dir.display()))?;
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = tmp_dir.join(format!(".{base}{TMP_MARK}{}", std::process::id()));
    let result = write(&tmp).and_then(|()| {
        if fsync {
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("cannot fsync {} ({what})", tmp.display()))?;
        }
        std::fs::rename(&tmp, target)
            .with_context(|| format!("cannot rename {} to {} ({what})", tmp.display(), target.display()))?;
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {what} to {}", target.display()))
}

/// Marks temporary files: `.<name>.tmp.<pid>`.
const TMP_MARK: &str = ".tmp.";

/// Best effort: makes the renames into `dir` durable (not needed against a killed process, only against power
/// loss).
pub fn sync_dir(dir: Option<&Path>) {
    let dir = match dir {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Puts everything written to the file system holding `dir` on stable storage (syncfs(2)): one device flush for
/// all snapshot files written since the last call, instead of one each.
pub fn sync_filesystem(dir: &Path) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    let d = std::fs::File::open(dir).with_context(|| format!("opening {} to sync it", dir.display()))?;
    // SAFETY: syncfs takes a valid open file descriptor, owned by `d` for the duration of the call
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("syncfs on {}", dir.display()));
    }
    Ok(())
}

/// Removes temporary files in `dir` left behind by processes that no longer exist (killed writers).
pub fn remove_stale_tmp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.rsplit_once(TMP_MARK).and_then(|(_, p)| p.parse::<u32>().ok()) else { continue };
        if name.starts_with('.') && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The git commit cqgrav was built from (build.rs), or "unknown".
pub fn git_commit() -> &'static str {
    option_env!("CQGRAV_GIT_COMMIT").unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = OutputPaths::new(Path::new("out/run.h5"));
        assert_eq!(p.dir, Path::new("out/run.h5.d"));
        assert_eq!(p.xdmf, Path::new("out/run.h5.xdmf"));
        assert_eq!(p.snapshot_rel(100), "run.h5.d/snapshot_000100.h5");
        assert_eq!(p.checkpoint(), Path::new("out/run.h5.d/checkpoint.h5"));
        assert_eq!(OutputPaths::from_user_path(Path::new("out/run.h5.d/checkpoint.h5")), p);
        assert_eq!(OutputPaths::from_user_path(Path::new("run.h5")).dir, Path::new("run.h5.d"));
        assert_eq!(OutputPaths::snapshot_group_name(1234567), "1234567");
    }
}
