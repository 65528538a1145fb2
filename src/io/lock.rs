//! The advisory lock of an output (`<file>.d/lock`): one process at a time writes a main file and its sidecar
//! directory. Two runs on the same `output.file` would otherwise interleave their snapshots, rows and
//! checkpoints. The lock is an exclusive `flock` on the lock file (the main file itself is replaced by rename at
//! every flush, so it cannot carry the lock); the kernel releases it when the process ends in any way, SIGKILL
//! included. The file's text names the holder (pid, host, command), so a second writer is refused at once with
//! a message naming the process it waits for. Advisory: `inspect`, `plot` and h5py read without it.
use super::OutputPaths;
use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Held while a run writes its output; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
    /// the sidecar directory did not exist before this lock created it
    created_dir: Option<PathBuf>,
    /// the run wrote its output: keep the directory and the lock file when dropped
    used: bool,
}

impl OutputLock {
    /// Takes the lock of the output at `paths` (creating `<file>.d/` and the lock file if needed), or fails
    /// naming the process that holds it.
    pub fn acquire(paths: &OutputPaths) -> Result<Self> {
        if let Ok(meta) = std::fs::metadata(&paths.dir) {
            if !meta.is_dir() {
                bail!(
                    "{} must be the output's directory but is {}; move it away or choose another output.file",
                    paths.dir.display(),
                    super::file_kind(&meta)
                );
            }
        }
        let created_dir = (!paths.dir.exists()).then(|| paths.dir.clone());
        std::fs::create_dir_all(&paths.dir)
            .with_context(|| format!("cannot create the output directory {}", paths.dir.display()))?;
        let path = paths.lock();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = (&file).read_to_string(&mut holder);
                let age = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .map_or(String::new(), |d| format!(", running for {} s", d.as_secs()));
                let holder = holder.trim();
                let holder = if holder.is_empty() { "a process that is still starting".to_string() } else { holder.to_string() };
                bail!(
                    "{} is being written by another cqgrav process ({holder}{age}): two runs on one output would mix \
                     their data; wait for that run to end, or choose another output.file (lock: {})",
                    paths.main.display(),
                    path.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {} (advisory lock of the output)", path.display()))
            }
        }
        let mut lock = Self { file, path, created_dir, used: false };
        lock.write_holder()?;
        Ok(lock)
    }

    /// Records this process in the lock file: what a second writer's message shows.
    fn write_holder(&mut self) -> Result<()> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let cmd: Vec<String> = std::env::args().collect();
        let text = format!("pid {} on {}: {}\n", std::process::id(), if host.is_empty() { "this host" } else { &host }, cmd.join(" "));
        self.file.set_len(0).and_then(|()| self.file.seek(SeekFrom::Start(0))).and_then(|_| self.file.write_all(text.as_bytes()))
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// The run has written its output: the directory and the lock file stay when the lock is released.
    pub fn mark_used(&mut self) {
        self.used = true;
    }
}

impl Drop for OutputLock {
    /// A run that stopped before its first flush leaves no trace: the lock file and a directory it created are
    /// removed (the flock itself is released when the file closes).
    fn drop(&mut self) {
        if let (false, Some(dir)) = (self.used, &self.created_dir) {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_dir(dir); // only if empty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths::new(&dir.path().join("run.h5"));
        let mut a = OutputLock::acquire(&paths).unwrap();
        a.mark_used();
        let e = OutputLock::acquire(&paths).unwrap_err().to_string();
        assert!(e.contains("another cqgrav process") && e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(a);
        let b = OutputLock::acquire(&paths).unwrap();
        drop(b); // unused, but the directory existed: kept
        assert!(paths.dir.exists());
    }

    #[test]
    fn unused_lock_removes_the_directory_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths::new(&dir.path().join("run.h5"));
        drop(OutputLock::acquire(&paths).unwrap());
        assert!(!paths.dir.exists());
    }
}
