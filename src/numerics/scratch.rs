//! A pool of reusable f64 work arrays (numerics, no physics). The ensemble's products with Γ need per-call arrays
//! of O(M·n) and O(M²·n_blocks) reals many times per step (every RK stage and every implicit-midpoint iteration of
//! the noise flow); allocating them afresh returns them to the kernel and faults them back in page by page, which
//! cost more than the arithmetic (measured: 2.1× the step time at 16³, M = 16, benches/RESULTS.md). The pool keeps
//! the arrays mapped: [`ScratchPool::zeroed`] hands out a zero-filled array and takes it back when the guard drops.
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Free arrays, reused by [`ScratchPool::zeroed`]. Cloning gives an empty pool (the arrays are work space, not state).
#[derive(Debug, Default)]
pub struct ScratchPool {
    free: Mutex<Vec<Vec<f64>>>,
}

impl Clone for ScratchPool {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// A zero-filled work array borrowed from a [`ScratchPool`]; returned to it on drop.
#[derive(Debug)]
pub struct Scratch<'a> {
    v: Vec<f64>,
    pool: &'a ScratchPool,
}

impl ScratchPool {
    /// A zero-filled array of `len` reals: the smallest free array that holds it, else the largest free one grown
    /// (or a new one).
    pub fn zeroed(&self, len: usize) -> Scratch<'_> {
        let mut v = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let fit = (0..free.len()).filter(|&i| free[i].capacity() >= len).min_by_key(|&i| free[i].capacity());
            let pick = fit.or_else(|| (0..free.len()).max_by_key(|&i| free[i].capacity()));
            pick.map(|i| free.swap_remove(i)).unwrap_or_default()
        };
        v.clear();
        v.resize(len, 0.0);
        Scratch { v, pool: self }
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.v);
        self.pool.free.lock().unwrap_or_else(|e| e.into_inner()).push(v);
    }
}

impl Deref for Scratch<'_> {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.v
    }
}

impl DerefMut for Scratch<'_> {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arrays come back zeroed whatever they held, and a returned array is reused (no new allocation).
    #[test]
    fn arrays_are_zeroed_and_reused() {
        let pool = ScratchPool::default();
        let ptr = {
            let mut a = pool.zeroed(1000);
            a.iter_mut().for_each(|v| *v = 7.0);
            a.as_ptr()
        };
        let b = pool.zeroed(500);
        assert_eq!(b.as_ptr(), ptr, "the freed array is reused");
        assert!(b.iter().all(|&v| v == 0.0) && b.len() == 500);
        let c = pool.zeroed(2000);
        assert!(c.iter().all(|&v| v == 0.0) && c.len() == 2000);
        assert_ne!(c.as_ptr(), ptr);
    }
}
