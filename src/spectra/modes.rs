//! Per-mode powers of lattice fields (SPEC §11): P_k = |f̃_k|², f̃_k = Σ_x f(x) e^{−ik·x} (numerics/fft.rs, rustfft),
//! and the transverse-traceless projection of symmetric tensors (docs/cosmology.md §4).
use crate::numerics::fft::LatticeFft;
use crate::numerics::lattice::Lattice;
use num_complex::Complex64;
use rayon::prelude::*;

/// f̃ of a real field.
pub fn transform(fft: &LatticeFft, f: &[f64]) -> Vec<Complex64> {
    let mut c: Vec<Complex64> = f.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    fft.forward(&mut c);
    c
}

/// |δf̃_k|² of δf = f − box mean (the k = 0 mode is zero).
pub fn fluctuation_power(fft: &LatticeFft, f: &[f64]) -> Vec<f64> {
    let mut p: Vec<f64> = transform(fft, f).iter().map(|c| c.norm_sqr()).collect();
    p[0] = 0.0;
    p
}

/// Σ over columns of |f̃_k|² for many real fields (columns of `d` in the member-minor layout d[x·M + s], s < M), in
/// parallel over columns: the ensemble's Σ_s |δ̃_s,k|².
pub fn column_power_sum(fft: &LatticeFft, d: &[f64], n: usize, m: usize) -> Vec<f64> {
    ordered_sum(m, n, |s, acc| {
        let col: Vec<f64> = (0..n).map(|x| d[x * m + s]).collect();
        for (a, c) in acc.iter_mut().zip(transform(fft, &col)) {
            *a += c.norm_sqr();
        }
    })
}

/// Σ over items i < `count` of the length-`len` vectors that `add(i, acc)` adds into `acc`, in parallel over fixed
/// groups of items, each group in item order and the groups' sums added in group order: the same bits on every run
/// and thread count (a rayon `reduce` adds in the order of its splits, which follow the work stealing).
pub fn ordered_sum(count: usize, len: usize, add: impl Fn(usize, &mut Vec<f64>) + Sync) -> Vec<f64> {
    const GROUP: usize = 8;
    let groups: Vec<Vec<f64>> = (0..count.div_ceil(GROUP))
        .into_par_iter()
        .map(|g| {
            let mut acc = vec![0.0; len];
            (g * GROUP..((g + 1) * GROUP).min(count)).for_each(|i| add(i, &mut acc));
            acc
        })
        .collect();
    let mut total = vec![0.0; len];
    for g in groups {
        total.iter_mut().zip(g).for_each(|(t, v)| *t += v);
    }
    total
}

/// The unit vector of the transverse-traceless projection at mode k: the stencil's symbol σ(k) (the lattice
/// derivative, so the projected field is transverse for the solver's own ∂_a) normalised, or the continuum k̂ where
/// σ(k) = 0 (the Nyquist planes of a centred stencil); None at k = 0.
pub fn tt_direction(sigma: [f64; 3], k: [f64; 3]) -> Option<[f64; 3]> {
    for v in [sigma, k] {
        let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if norm > 1e-12 * (k[0].abs() + k[1].abs() + k[2].abs()).max(f64::MIN_POSITIVE) {
            return Some(v.map(|c| c / norm));
        }
    }
    None
}

/// Σ_ab |h^TT_ab|² (all nine pairs) of a complex symmetric tensor (6 stored components) at unit direction n̂:
/// h^TT = Λh, Λ_ab,cd = P_ac P_bd − ½ P_ab P_cd, P = δ − n̂n̂ᵀ.
pub fn tt_norm2(h: &[Complex64; 6], n: [f64; 3]) -> f64 {
    let full = |a: usize, b: usize| h[crate::physics::tensor::SYM[a][b]];
    let p = |a: usize, b: usize| (if a == b { 1.0 } else { 0.0 }) - n[a] * n[b];
    // PhP and its trace
    let mut php = [[Complex64::default(); 3]; 3];
    for a in 0..3 {
        for b in 0..3 {
            let mut s = Complex64::default();
            for c in 0..3 {
                for d in 0..3 {
                    s += p(a, c) * full(c, d) * p(d, b);
                }
            }
            php[a][b] = s;
        }
    }
    let tr = php[0][0] + php[1][1] + php[2][2];
    let mut total = 0.0;
    for a in 0..3 {
        for b in 0..3 {
            total += (php[a][b] - 0.5 * p(a, b) * tr).norm_sqr();
        }
    }
    total
}

/// Σ_ab |(Λ f̃)_ab|² per mode for a symmetric tensor field (6 stored components, component-major, n each): the power
/// of its transverse-traceless part (0 at k = 0). `symbols` are the stencil's σ_a per axis (physics/lattice_vacuum.rs).
pub fn tt_power(fft: &LatticeFft, lat: &Lattice, symbols: &[Vec<f64>; 3], f: &[Vec<f64>; 6]) -> Vec<f64> {
    let ft: Vec<Vec<Complex64>> = f.par_iter().map(|c| transform(fft, c)).collect();
    (0..lat.sites())
        .into_par_iter()
        .map(|k| {
            let j = lat.coords(k);
            let sigma = [symbols[0][j[0]], symbols[1][j[1]], symbols[2][j[2]]];
            match tt_direction(sigma, super::shells::momentum(lat, k)) {
                Some(n) => tt_norm2(&std::array::from_fn(|c| ft[c][k]), n),
                None => 0.0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::tensor::PAIRS;

    /// The ordered sum gives the same bits on 1 and 3 threads (and the sum to round-off), where the members' power
    /// sums of the ensemble spectra used a rayon reduce.
    #[test]
    fn ordered_sum_is_the_same_on_every_thread_count() {
        let add = |i: usize, acc: &mut Vec<f64>| acc.iter_mut().enumerate().for_each(|(k, a)| *a += ((i * 31 + k) as f64).sin() * 10f64.powi((i % 7) as i32));
        let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| ordered_sum(37, 5, add));
        let (one, three) = (on(1), on(3));
        assert!(one.iter().zip(&three).all(|(a, b)| a.to_bits() == b.to_bits()));
        for (k, v) in one.iter().enumerate() {
            let exact: f64 = (0..37).map(|i| ((i * 31 + k) as f64).sin() * 10f64.powi((i % 7) as i32)).sum();
            assert!((v - exact).abs() <= 1e-12 * 1e6 * 37.0, "mode {k}: {v} vs {exact}");
        }
    }

    /// Λ is a projector onto symmetric, transverse, traceless tensors: a TT tensor keeps its norm, a pure trace or a
    /// longitudinal tensor n̂_a v_b + v_a n̂_b has none.
    #[test]
    fn tt_projector() {
        let n = [0.6, 0.0, 0.8];
        let c = |v: f64| Complex64::new(v, 0.3 * v);
        // e1 = (0,1,0), e2 = n × e1 = (−0.8, 0, 0.6): e1e2 + e2e1 is TT
        let e1 = [0.0, 1.0, 0.0];
        let e2 = [-0.8, 0.0, 0.6];
        let tt: [Complex64; 6] = std::array::from_fn(|p| {
            let (a, b) = PAIRS[p];
            c(e1[a] * e2[b] + e2[a] * e1[b])
        });
        let norm: f64 = (0..3).map(|a| (0..3).map(|b| (e1[a] * e2[b] + e2[a] * e1[b]).powi(2)).sum::<f64>()).sum::<f64>() * (1.0 + 0.09);
        assert!((tt_norm2(&tt, n) - norm).abs() < 1e-12);
        let trace: [Complex64; 6] = std::array::from_fn(|p| c(if PAIRS[p].0 == PAIRS[p].1 { 1.0 } else { 0.0 }));
        // δ_ab projects to P_ab − ½P_ab·2 = 0
        assert!(tt_norm2(&trace, n) < 1e-24);
        let v = [0.3, -1.0, 0.2];
        let long: [Complex64; 6] = std::array::from_fn(|p| {
            let (a, b) = PAIRS[p];
            c(n[a] * v[b] + v[a] * n[b])
        });
        assert!(tt_norm2(&long, n) < 1e-24);
    }
}
