//! A communicator that counts the wall time of its collective operations (issue 18: the run's description and
//! benches/mpi_scaling.sh report where a decomposed run waits): every halo swap, reduction and gather of a stepper,
//! those its quantum field makes through its `SlabDomain` included.
use super::Comm;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub struct TimedComm {
    inner: Rc<dyn Comm>,
    spent: Cell<Duration>,
}

impl TimedComm {
    pub fn new(inner: Rc<dyn Comm>) -> Self {
        Self { inner, spent: Cell::new(Duration::ZERO) }
    }

    /// The wall time spent so far in [`Comm::barrier`], [`Comm::all_gather_bytes`] and [`Comm::ring_exchange`].
    pub fn spent(&self) -> Duration {
        self.spent.get()
    }

    fn timed<R>(&self, f: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        let r = f();
        self.spent.set(self.spent.get() + t.elapsed());
        r
    }
}

impl Comm for TimedComm {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn node_rank(&self) -> usize {
        self.inner.node_rank()
    }
    fn barrier(&self) {
        self.timed(|| self.inner.barrier())
    }
    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>> {
        self.timed(|| self.inner.all_gather_bytes(local))
    }
    fn ring_exchange(&self, to_next: &[u8], to_prev: &[u8], from_prev: &mut [u8], from_next: &mut [u8]) {
        self.timed(|| self.inner.ring_exchange(to_next, to_prev, from_prev, from_next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::threads::ThreadComm;

    /// The operations pass through unchanged, and the time rank 0 waits for a rank that arrives 50 ms late is counted.
    #[test]
    fn collectives_pass_through_and_their_waits_are_counted() {
        let got = ThreadComm::on_ranks(2, |c| {
            let c = TimedComm::new(Rc::new(c));
            if c.rank() == 1 {
                std::thread::sleep(Duration::from_millis(50));
            }
            let all = c.all_gather_bytes(&[c.rank() as u8]);
            let (mut from_prev, mut from_next) = ([0u8; 1], [0u8; 1]);
            c.ring_exchange(&[10 + c.rank() as u8], &[20 + c.rank() as u8], &mut from_prev, &mut from_next);
            (all, from_prev[0], from_next[0], c.spent())
        });
        for (r, (all, prev, next, _)) in got.iter().enumerate() {
            assert_eq!(*all, vec![vec![0u8], vec![1u8]]);
            let other = 1 - r as u8;
            assert_eq!((*prev, *next), (10 + other, 20 + other), "rank {r}");
        }
        assert!(got[0].3 >= Duration::from_millis(45), "rank 0 waited {:?} for rank 1", got[0].3);
    }
}
