//! Refinement of an already drawn Wiener increment by the Brownian bridge (Lévy's midpoint construction), so a
//! step can be divided into sub-steps without changing its increment: the sub-increments are samples of the same
//! Brownian path, only finer.
//!
//! The pieces of a step form a binary tree in heap numbering: node 1 ([`ROOT`]) is the whole step, the children
//! of node j are 2j (its first half) and 2j + 1 (its second half), node j lies at level ⌊log₂ j⌋ and lasts
//! dt/2^level. Given the increment ΔW_j over node j (covariance Q·h_j) and an independent ζ_j with the same law
//! (a fresh draw of the same noise over the node's duration h_j),
//!
//!   ΔW_{2j} = ½ΔW_j + ½ζ_j,   ΔW_{2j+1} = ½ΔW_j − ½ζ_j
//!
//! are independent, each with covariance Q·h_j/2, and sum to ΔW_j: exactly the law of the increments over the two
//! halves given their sum (W(m) − W(a) given W(b) − W(a) is normal with mean ½(W(b) − W(a)) and covariance
//! Q(b − a)/4). When ζ_j comes from a counter-based generator keyed by the node ([`node_block`]), the path does not
//! depend on which nodes a controller chooses to refine.

/// The node of the whole step.
pub const ROOT: u32 = 1;

/// Deepest level a node may have (2³⁰ pieces); node numbers stay below 2³¹.
pub const MAX_LEVEL: u32 = 30;

/// The level of node j (0 for the root).
pub fn level(node: u32) -> u32 {
    debug_assert!(node >= ROOT);
    31 - node.leading_zeros()
}

/// The duration of node j in a step of length dt: dt/2^level.
pub fn duration(dt: f64, node: u32) -> f64 {
    dt / (1u64 << level(node)) as f64
}

/// The two children of node j.
pub fn children(node: u32) -> [u32; 2] {
    debug_assert!(level(node) < MAX_LEVEL);
    [2 * node, 2 * node + 1]
}

/// The first of the two generator blocks that draw ζ_j (the second is the next one): distinct for every node.
pub fn node_block(node: u32) -> u32 {
    2 * node
}

/// The increments over the two halves of a node from its increment `parent` and the fresh draw `fresh` of the
/// same law: (½ΔW + ½ζ, ½ΔW − ½ζ), element by element.
pub fn halves(parent: &[f64], fresh: &[f64]) -> [Vec<f64>; 2] {
    assert_eq!(parent.len(), fresh.len());
    [
        parent.iter().zip(fresh).map(|(w, z)| 0.5 * w + 0.5 * z).collect(),
        parent.iter().zip(fresh).map(|(w, z)| 0.5 * w - 0.5 * z).collect(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering() {
        assert_eq!(level(ROOT), 0);
        assert_eq!(children(ROOT), [2, 3]);
        assert_eq!(level(2), 1);
        assert_eq!(level(3), 1);
        assert_eq!(level(7), 2);
        assert_eq!(level(8), 3);
        assert_eq!(duration(1.0, 5), 0.25);
        // every node at every level has its own pair of blocks
        let mut seen = std::collections::HashSet::new();
        for j in 1..1024u32 {
            assert!(seen.insert(node_block(j)) && seen.insert(node_block(j) + 1));
        }
    }

    /// The halves as a linear map of (ΔW, ζ) with Var ΔW = Var ζ = h: each has variance h/2, they are uncorrelated,
    /// and they sum to ΔW; two levels deep the four quarters have variance h/4 and are uncorrelated (computed
    /// exactly from the map's coefficients).
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn halves_have_the_law_of_the_bridge() {
        let h = 0.37f64;
        // inputs: ΔW, ζ_root, ζ_2, ζ_3 as unit vectors scaled by their standard deviations
        let sd = [h.sqrt(), h.sqrt(), (h / 2.0).sqrt(), (h / 2.0).sqrt()];
        let quarters: Vec<[f64; 4]> = (0..4)
            .map(|k| {
                let e = |i: usize| if i == k { sd[i] } else { 0.0 };
                let [a, b] = halves(&[e(0)], &[e(1)]);
                let [q0, q1] = halves(&a, &[e(2)]);
                let [q2, q3] = halves(&b, &[e(3)]);
                [q0[0], q1[0], q2[0], q3[0]]
            })
            .collect();
        let cov = |i: usize, j: usize| quarters.iter().map(|c| c[i] * c[j]).sum::<f64>();
        for i in 0..4 {
            for j in 0..4 {
                let want = if i == j { h / 4.0 } else { 0.0 };
                assert!((cov(i, j) - want).abs() < 1e-15, "({i},{j}): {} vs {want}", cov(i, j));
            }
        }
        // the four quarters sum to the step's increment
        for k in 0..4 {
            let s: f64 = quarters[k].iter().sum();
            let want = if k == 0 { sd[0] } else { 0.0 };
            assert!((s - want).abs() < 1e-15);
        }
    }
}
