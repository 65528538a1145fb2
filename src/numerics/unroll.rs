//! `unroll!`: a loop over 0..3 or 0..6 written out, one copy of the body per index, the index a constant in
//! each copy. The pointwise physics kernels (physics/ricci.rs, tensor.rs, adm_rhs.rs, scalar_field.rs) loop
//! over tensor components; run on `Lanes<T, 8>` (numerics/lanes.rs) a loop's body is eight times as large as
//! per site, LLVM stops unrolling it fully, and its loop vectoriser then vectorises the index loop itself with
//! gathers and scatters across the lanes (the row kernel spent ~30 % of its time there, in f32 and f64 alike).
//! Written out, the indices into `SYM`/`PAIRS` are constants and every lane-wise operation is one vector
//! instruction. The operations and their order are the loop's, so every result is bit for bit the same.

/// `unroll!(k in 0..3 => { … })`: the body for k = 0, 1, 2 in turn (`0..6`: k = 0 … 5).
macro_rules! unroll {
    ($i:ident in 0..3 => $body:block) => {
        $crate::numerics::unroll::unroll!(@each $i [0 1 2] $body)
    };
    ($i:ident in 0..6 => $body:block) => {
        $crate::numerics::unroll::unroll!(@each $i [0 1 2 3 4 5] $body)
    };
    (@each $i:ident [$($n:literal)*] $body:block) => {
        { $( { #[allow(unused_variables)] let $i: usize = $n; $body } )* }
    };
}
pub(crate) use unroll;

#[cfg(test)]
mod tests {
    /// The bodies run once per index, in order.
    #[test]
    fn unroll_runs_every_index_in_order() {
        let mut seen = Vec::new();
        unroll!(i in 0..3 => {
            unroll!(j in 0..6 => {
                seen.push((i, j));
            })
        });
        let want: Vec<_> = (0..3).flat_map(|i| (0..6).map(move |j| (i, j))).collect();
        assert_eq!(seen, want);
    }
}
