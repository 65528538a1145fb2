//! The background thread that writes snapshot files (compression and disk writes overlap the next steps, not
//! the stepping thread). One long-lived thread per output, started at the first snapshot; the hand-over is a
//! rendezvous, so at most one snapshot is being written while the next waits to be handed over: the memory
//! held is bounded by two snapshots. A finished snapshot is reported back only once its file is complete and
//! renamed into place ([`super::atomic_replace_unsynced`]); the writer puts it on stable storage
//! ([`super::sync_filesystem`]) and only then links it in the main file or lists it in a checkpoint.
use super::snapshot::{SnapshotData, SnapshotInfo};
use super::writer::RunMeta;
use super::atomic_replace_unsynced;
use anyhow::{anyhow, Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};

struct Job {
    snap: SnapshotData,
    path: PathBuf,
    dir: PathBuf,
    /// the run's provenance, shared while it does not change (a restart appends to its history)
    meta: Arc<RunMeta>,
}

#[derive(Default)]
pub struct SnapshotWriter {
    jobs: Option<SyncSender<Job>>,
    done: Option<Receiver<(SnapshotInfo, Result<()>)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    in_flight: usize,
    meta: Option<Arc<RunMeta>>,
}

impl SnapshotWriter {
    /// Hands `snap` to the thread (written to `path` through a temporary file in `dir`, with the provenance of
    /// `meta`); blocks while the thread is still writing the previous snapshot.
    pub fn submit(&mut self, snap: SnapshotData, path: PathBuf, dir: PathBuf, meta: &RunMeta) -> Result<()> {
        if self.jobs.is_none() {
            let (jobs, rx) = sync_channel::<Job>(0);
            let (tx, done) = channel();
            let thread = std::thread::Builder::new()
                .name("snapshot writer".into())
                .spawn(move || {
                    for j in rx {
                        let info = SnapshotInfo { step: j.snap.step, t: j.snap.t };
                        let what = format!("snapshot at step {}", j.snap.step);
                        let r = atomic_replace_unsynced(&j.path, &j.dir, &what, |tmp| j.snap.write(tmp, &j.meta));
                        if tx.send((info, r)).is_err() {
                            return;
                        }
                    }
                })
                .context("starting the snapshot writer thread")?;
            (self.jobs, self.done, self.thread) = (Some(jobs), Some(done), Some(thread));
        }
        let meta = match &self.meta {
            Some(m) if **m == *meta => m.clone(),
            _ => self.meta.insert(Arc::new(meta.clone())).clone(),
        };
        let job = Job { snap, path, dir, meta };
        self.jobs.as_ref().expect("started").send(job).map_err(|_| anyhow!("the snapshot writer thread stopped"))?;
        self.in_flight += 1;
        Ok(())
    }

    /// The snapshots whose files are complete since the last call; with `wait`, after waiting for all.
    pub fn completed(&mut self, wait: bool) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let Some(done) = &self.done else { return Ok(out) };
        while self.in_flight > 0 {
            let (info, r) = if wait {
                done.recv().map_err(|_| anyhow!("the snapshot writer thread stopped"))?
            } else {
                match done.try_recv() {
                    Ok(x) => x,
                    Err(_) => break,
                }
            };
            self.in_flight -= 1;
            r?;
            out.push(info);
        }
        Ok(out)
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        self.jobs = None; // ends the thread's loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
