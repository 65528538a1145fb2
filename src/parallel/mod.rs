//! Runs over MPI ranks (issue 18): the communicator a run sees, and what is built on it.
//!
//! - [`Comm`]: the few collective operations cqgrav needs (gather of byte strings to every rank, the periodic
//!   neighbour exchange of the slab halos, a barrier). [`Single`] is the run of one process (rank 0 of 1, every
//!   build); with the cargo feature `mpi` [`mpi_comm::MpiComm`] is `MPI_COMM_WORLD` (rsmpi, initialised with
//!   threading Funneled before any wgpu device; only the main thread calls MPI, rayon threads never do).
//! - [`world`]: the communicator of this process, installed once by [`init`] (`cqgrav`'s `main`).
//! - [`threads::ThreadComm`]: ranks simulated by threads, for the test suite without MPI.
//! - [`timed_comm::TimedComm`]: a communicator counting the time of its collectives (the steppers' report).
//! - [`realizations`]: which rank runs which realisation (`cqgrav run --realizations R` under `mpirun`).
//! - [`slab`]: the lattice split in z-slabs over ranks, the halo exchange and the rank-count-independent
//!   reductions of the domain-decomposed CPU stepper ([`slab_stepper`]) and GPU stepper ([`gpu_slab_stepper`]).
#[cfg(feature = "mpi")]
pub mod mpi_comm;
pub mod realizations;
pub mod gpu_slab_stepper;
pub mod slab;
pub mod slab_domain;
pub mod slab_stepper;
pub mod threads;
pub mod timed_comm;

use std::cell::RefCell;
use std::rc::Rc;

/// The operations of a communicator of `size` ranks that cqgrav uses. Every rank must call the collective ones
/// in the same order.
pub trait Comm {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// The rank among the processes on this node (picks the node's GPU, `gpu/context.rs`).
    fn node_rank(&self) -> usize;
    fn barrier(&self);
    /// Every rank's `local`, in rank order, on every rank (MPI_Allgather of the lengths, MPI_Allgatherv of the bytes).
    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>>;
    /// The periodic ring exchange of the slab halos: `to_next` goes to rank + 1, `to_prev` to rank − 1 (mod size);
    /// `from_prev` and `from_next` receive what those neighbours sent the other way (MPI_Sendrecv, twice).
    fn ring_exchange(&self, to_next: &[u8], to_prev: &[u8], from_prev: &mut [u8], from_next: &mut [u8]);
}

/// One process: rank 0 of 1.
#[derive(Debug, Default, Clone, Copy)]
pub struct Single;

impl Comm for Single {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn node_rank(&self) -> usize {
        0
    }
    fn barrier(&self) {}
    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>> {
        vec![local.to_vec()]
    }
    fn ring_exchange(&self, to_next: &[u8], to_prev: &[u8], from_prev: &mut [u8], from_next: &mut [u8]) {
        from_prev.copy_from_slice(to_next);
        from_next.copy_from_slice(to_prev);
    }
}

/// Every rank's f64 values, concatenated in rank order (exact: the bytes travel).
pub fn all_gather_f64(comm: &dyn Comm, local: &[f64]) -> Vec<f64> {
    comm.all_gather_bytes(bytemuck::cast_slice(local))
        .iter()
        .flat_map(|b| b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))))
        .collect()
}

thread_local! {
    static WORLD: RefCell<Option<Rc<dyn Comm>>> = const { RefCell::new(None) };
    static ALONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The ranks a run's lattice is split over: [`world`], except inside [`alone`] (one realisation of several
/// spread over the ranks runs on its rank alone).
pub fn domain() -> Rc<dyn Comm> {
    if ALONE.with(|a| a.get()) {
        Rc::new(Single)
    } else {
        world()
    }
}

/// Runs `f` with [`domain`] = this process alone.
pub fn alone<R>(f: impl FnOnce() -> R) -> R {
    let was = ALONE.with(|a| a.replace(true));
    let r = f();
    ALONE.with(|a| a.set(was));
    r
}

/// Sends this process's standard output to /dev/null (the ranks other than 0 of a domain-decomposed run: rank 0
/// prints what they would; warnings and errors on standard error stay).
pub fn silence_stdout() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 of two open descriptors; stdout then refers to /dev/null
        unsafe { libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) };
    }
}

/// A collective: every rank's `local` result; an error on any rank is an error on every rank (the local one
/// where it failed, else the lowest failing rank's message), so no rank goes on into a collective that the
/// failed one will never join.
pub fn agree<T>(comm: &dyn Comm, local: anyhow::Result<T>) -> anyhow::Result<T> {
    if comm.size() == 1 {
        return local;
    }
    let mine = local.as_ref().err().map(|e| format!("{e:#}")).unwrap_or_default();
    let all = comm.all_gather_bytes(mine.as_bytes());
    match local {
        Err(e) => Err(e),
        Ok(v) => match all.iter().enumerate().find(|(_, m)| !m.is_empty()) {
            Some((r, m)) => Err(anyhow::anyhow!("rank {r} of {}: {}", comm.size(), String::from_utf8_lossy(m))),
            None => Ok(v),
        },
    }
}

/// The communicator of this process ([`Single`] unless [`init`] installed MPI's).
pub fn world() -> Rc<dyn Comm> {
    WORLD.with(|w| w.borrow().clone()).unwrap_or_else(|| Rc::new(Single))
}

/// Installs `comm` as this thread's [`world`] (tests: a run of several simulated ranks).
pub fn install(comm: Rc<dyn Comm>) {
    WORLD.with(|w| *w.borrow_mut() = Some(comm));
}

/// The number of processes an MPI launcher started, from its environment (Open MPI; MPICH and srun through PMI).
fn launcher_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// Whether an MPI launcher (mpirun, mpiexec, srun) started this process: its environment says so (Open MPI, PMI,
/// PMIx).
pub fn launched_by_mpi() -> bool {
    launcher_size().is_some() || std::env::var_os("PMIX_RANK").is_some()
}

/// What `cqgrav info` says about MPI.
pub fn describe_mpi() -> String {
    let built = cfg!(feature = "mpi");
    let comm = world();
    match (built, launched_by_mpi()) {
        (false, _) => "MPI: not built in (cargo feature `mpi`: scripts/test_mpi.sh); this process is rank 0 of 1".into(),
        (true, false) => "MPI: built in, not started (no MPI launcher in the environment): rank 0 of 1, the serial code path".into(),
        (true, true) => format!("MPI: started, rank {} of {} (node-local rank {})", comm.rank(), comm.size(), comm.node_rank()),
    }
}

/// What keeps MPI initialised: dropped at the end of `main` (MPI_Finalize).
pub struct Guard {
    #[cfg(feature = "mpi")]
    _universe: Option<mpi::environment::Universe>,
}

/// Initialises MPI (feature `mpi`, in a process an MPI launcher started; threading Funneled, before any GPU device)
/// and installs MPI_COMM_WORLD as [`world`]; otherwise the process is rank 0 of 1.
pub fn init() -> anyhow::Result<Guard> {
    // a process no launcher started is rank 0 of 1 without MPI_Init (Open MPI's singleton start spawns a process
    // manager, ~0.4 s for every `check`, `info` or `inspect`)
    #[cfg(feature = "mpi")]
    if launched_by_mpi() {
        let universe = mpi_comm::initialize()?;
        return Ok(Guard { _universe: Some(universe) });
    }
    // a build without MPI started by mpirun would run the same whole run P times over one output
    #[cfg(not(feature = "mpi"))]
    if let Some(size) = launcher_size().filter(|&n| n > 1) {
        anyhow::bail!(
            "this cqgrav was built without MPI but started as one of {size} MPI processes (mpirun/srun): rebuild it with \
             `cargo build --release --features mpi` (scripts/test_mpi.sh installs Open MPI), or run it without mpirun"
        );
    }
    Ok(Guard {
        #[cfg(feature = "mpi")]
        _universe: None,
    })
}
