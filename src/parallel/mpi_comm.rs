//! [`Comm`] over MPI_COMM_WORLD (rsmpi; feature `mpi`).
use super::Comm;
use mpi::datatype::PartitionMut;
use mpi::point_to_point::send_receive_into_with_tags;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;
use std::rc::Rc;

/// MPI_COMM_WORLD and the node-local communicator (MPI_Comm_split_type SHARED).
pub struct MpiComm {
    world: SimpleCommunicator,
    node_rank: usize,
}

/// MPI_Init_thread(FUNNELED), then installs the world communicator as [`super::world`]. The returned universe
/// finalises MPI when dropped.
pub fn initialize() -> anyhow::Result<mpi::environment::Universe> {
    let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Funneled)
        .ok_or_else(|| anyhow::anyhow!("MPI was already initialised"))?;
    if threading < mpi::Threading::Funneled {
        anyhow::bail!("the MPI library gives threading level {threading:?}; cqgrav needs Funneled (rayon threads next to the MPI thread)");
    }
    let world = universe.world();
    let node_rank = world.split_shared(world.rank()).rank() as usize;
    super::install(Rc::new(MpiComm { world, node_rank }));
    Ok(universe)
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn node_rank(&self) -> usize {
        self.node_rank
    }
    fn barrier(&self) {
        self.world.barrier();
    }
    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>> {
        // one trailing byte on every message: Open MPI refuses an MPI_Allgatherv whose buffers are all empty
        let local: Vec<u8> = local.iter().copied().chain([0]).collect();
        let local = &local[..];
        let size = self.size();
        let mut counts = vec![0 as Count; size];
        self.world.all_gather_into(&(local.len() as Count), &mut counts[..]);
        let displs: Vec<Count> = counts.iter().scan(0, |acc, &c| Some(std::mem::replace(acc, *acc + c))).collect();
        let mut buf = vec![0u8; counts.iter().map(|&c| c as usize).sum()];
        {
            let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(local, &mut part);
        }
        counts.iter().zip(&displs).map(|(&c, &d)| buf[d as usize..(d + c - 1) as usize].to_vec()).collect()
    }
    fn ring_exchange(&self, to_next: &[u8], to_prev: &[u8], from_prev: &mut [u8], from_next: &mut [u8]) {
        let (r, p) = (self.world.rank(), self.world.size());
        let next = self.world.process_at_rank((r + 1) % p);
        let prev = self.world.process_at_rank((r + p - 1) % p);
        // tag 0: travelling up (to rank + 1), tag 1: travelling down
        send_receive_into_with_tags(to_next, &next, 0, from_prev, &prev, 0);
        send_receive_into_with_tags(to_prev, &prev, 1, from_next, &next, 1);
    }
}
