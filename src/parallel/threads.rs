//! Ranks simulated by threads of one process ([`ThreadComm`]): the same [`Comm`] operations through shared
//! memory and a barrier, so the decomposition is tested by the ordinary test suite without MPI (tests of
//! src/parallel/; the real thing runs under mpirun in tests/mpi.rs).
use super::Comm;
use std::sync::{Arc, Barrier, Mutex};

struct Shared {
    barrier: Barrier,
    /// per rank: what it gathers, what it sends up (to rank + 1) and down (to rank − 1)
    slots: Mutex<Vec<[Vec<u8>; 3]>>,
}

/// Rank `rank` of `size` threads.
pub struct ThreadComm {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl ThreadComm {
    /// The communicators of `size` ranks, one for each thread.
    pub fn group(size: usize) -> Vec<ThreadComm> {
        let shared = Arc::new(Shared { barrier: Barrier::new(size), slots: Mutex::new(vec![Default::default(); size]) });
        (0..size).map(|rank| ThreadComm { rank, size, shared: shared.clone() }).collect()
    }

    /// `f` run on `size` ranks, each on its own thread with its communicator; the results in rank order.
    pub fn on_ranks<R: Send>(size: usize, f: impl Fn(ThreadComm) -> R + Sync) -> Vec<R> {
        std::thread::scope(|sc| {
            let f = &f;
            let handles: Vec<_> = Self::group(size).into_iter().map(|c| sc.spawn(move || f(c))).collect();
            handles.into_iter().map(|h| h.join().expect("a rank panicked")).collect()
        })
    }

    /// Puts this rank's messages, waits for all, reads with `f`, waits again (the slots are then free).
    fn round<R>(&self, put: [Vec<u8>; 3], f: impl FnOnce(&[[Vec<u8>; 3]]) -> R) -> R {
        self.shared.slots.lock().expect("no rank panicked")[self.rank] = put;
        self.shared.barrier.wait();
        let r = f(&self.shared.slots.lock().expect("no rank panicked"));
        self.shared.barrier.wait();
        r
    }
}

impl Comm for ThreadComm {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn node_rank(&self) -> usize {
        self.rank
    }
    fn barrier(&self) {
        self.shared.barrier.wait();
    }
    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>> {
        self.round([local.to_vec(), Vec::new(), Vec::new()], |s| s.iter().map(|m| m[0].clone()).collect())
    }
    fn ring_exchange(&self, to_next: &[u8], to_prev: &[u8], from_prev: &mut [u8], from_next: &mut [u8]) {
        let (prev, next) = ((self.rank + self.size - 1) % self.size, (self.rank + 1) % self.size);
        self.round([Vec::new(), to_next.to_vec(), to_prev.to_vec()], |s| {
            from_prev.copy_from_slice(&s[prev][1]);
            from_next.copy_from_slice(&s[next][2]);
        })
    }
}
