//! Whether a pass goes to the rayon pool: below [`PARALLEL_MIN_SITES`] lattice sites it runs on the calling
//! thread, because the pool's hand-offs cost more than the work (a small lattice's step takes microseconds,
//! issue 17). The CPU stepper of such a lattice runs in a one-thread pool anyway (backend/cpu/mod.rs); these
//! helpers also spare it rayon's splitting of every pass.
use rayon::prelude::*;

/// The smallest lattice whose passes go to the thread pool.
pub const PARALLEL_MIN_SITES: usize = 512;

/// Whether the passes of a lattice of `sites` sites run in parallel.
pub fn parallel(sites: usize) -> bool {
    sites >= PARALLEL_MIN_SITES
}

/// The fewest elements of work (array entries, or entries × taps) a flat pass hands to the thread pool: below it
/// rayon's splitting costs more than the pass (a toy lattice's Γ has a few hundred entries).
pub const PARALLEL_MIN_WORK: usize = 1 << 14;

/// Whether a flat pass of `work` elements runs in parallel.
pub fn parallel_work(work: usize) -> bool {
    work >= PARALLEL_MIN_WORK
}

/// `(0..len).map(f).collect()`, in parallel when the lattice of `sites` sites is large enough.
pub fn map<T: Send>(sites: usize, len: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if parallel(sites) {
        (0..len).into_par_iter().map(f).collect()
    } else {
        (0..len).map(f).collect()
    }
}

/// `f(i, chunk)` for the consecutive chunks of `len` elements of `out`, in parallel when the lattice of `sites`
/// sites is large enough.
pub fn chunks<T: Send>(sites: usize, out: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if parallel(sites) {
        out.par_chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
    }
}
