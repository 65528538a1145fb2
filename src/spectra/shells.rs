//! Shell binning of lattice momenta (SPEC §11; docs/cosmology.md §4). Lattice momentum k = 2π(j1/N1h, j2/N2h,
//! j3/N3h) with the centred integers j_a ∈ (−N_a/2, N_a/2]; shell j holds the modes with |k| ∈ [(j − ½)Δk,
//! (j + ½)Δk), Δk = 2π/(max_a N_a h), i.e. j = round(|k|/Δk) (pystella's and CosmoLattice's binning). Mode index
//! k = j1 + N1(j2 + N2 j3) with j_a ∈ [0, N_a) — the order of numerics/fft.rs.
use crate::numerics::lattice::Lattice;
use std::f64::consts::PI;

/// The continuum lattice momentum of mode index `k` (centred integers).
pub fn momentum(lat: &Lattice, k: usize) -> [f64; 3] {
    let j = lat.coords(k);
    std::array::from_fn(|a| {
        let n = lat.shape[a] as i64;
        let mut c = j[a] as i64;
        if 2 * c > n {
            c -= n;
        }
        2.0 * PI * c as f64 / (n as f64 * lat.spacing)
    })
}

/// |k| of mode index `k`.
pub fn momentum_magnitude(lat: &Lattice, k: usize) -> f64 {
    let p = momentum(lat, k);
    (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt()
}

/// The shells of one lattice: the shell of every mode, the mode count and mean |k| of every shell.
#[derive(Debug, Clone, PartialEq)]
pub struct Shells {
    /// Δk = 2π/(max_a N_a h)
    pub dk: f64,
    /// shell of mode k
    pub bin: Vec<u32>,
    /// modes per shell (k and −k counted separately)
    pub count: Vec<u64>,
    /// mean |k| of the modes of each shell (0 for an empty shell)
    pub k_mean: Vec<f64>,
    /// number of sites n
    pub sites: usize,
}

impl Shells {
    pub fn new(lat: &Lattice) -> Self {
        let lmax = lat.shape.iter().map(|&n| n as f64 * lat.spacing).fold(0.0, f64::max);
        let dk = 2.0 * PI / lmax;
        let n = lat.sites();
        let mag: Vec<f64> = (0..n).map(|k| momentum_magnitude(lat, k)).collect();
        let bin: Vec<u32> = mag.iter().map(|m| (m / dk + 0.5).floor() as u32).collect();
        let shells = bin.iter().max().map_or(0, |&b| b as usize + 1);
        let mut count = vec![0u64; shells];
        let mut ksum = vec![0.0; shells];
        for (b, m) in bin.iter().zip(&mag) {
            count[*b as usize] += 1;
            ksum[*b as usize] += m;
        }
        let k_mean = ksum.iter().zip(&count).map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 }).collect();
        Self { dk, bin, count, k_mean, sites: n }
    }
    /// Number of shells.
    pub fn len(&self) -> usize {
        self.count.len()
    }
    pub fn is_empty(&self) -> bool {
        self.count.is_empty()
    }
    /// S_j = (1/n²) Σ_{k ∈ shell j} P_k for per-mode powers P_k = ⟨|f̃_k|²⟩ (SPEC §11): Σ_j S_j = ⟨f²⟩ box mean.
    pub fn shell_sums(&self, per_mode: &[f64]) -> Vec<f64> {
        let mut s = vec![0.0; self.len()];
        for (b, p) in self.bin.iter().zip(per_mode) {
            s[*b as usize] += p;
        }
        let n2 = (self.sites as f64).powi(2);
        s.iter_mut().for_each(|v| *v /= n2);
        s
    }
    /// The mean over the modes of each shell (NaN for an empty shell).
    pub fn shell_means(&self, per_mode: &[f64]) -> Vec<f64> {
        let mut s = vec![0.0; self.len()];
        for (b, p) in self.bin.iter().zip(per_mode) {
            s[*b as usize] += p;
        }
        s.iter().zip(&self.count).map(|(v, &c)| if c > 0 { v / c as f64 } else { f64::NAN }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mode is in exactly one shell; the shells' edges are at (j ± ½)Δk; a 4×4×4 lattice of spacing 0.5 has
    /// |k|² ∈ {0, 1, 2, 3, 4, …}·π² and the expected counts.
    #[test]
    fn binning_and_counts() {
        let lat = Lattice::new([4, 4, 4], 0.5);
        let s = Shells::new(&lat);
        assert!((s.dk - PI).abs() < 1e-15);
        assert_eq!(s.count.iter().sum::<u64>(), 64);
        // j² = 0 (1 mode) → shell 0; j² = 1 (6) → 1; j² = 2 (12) → round(1.414) = 1; j² = 3 (8) → round(1.73) = 2;
        // j² = 4 (6: ±2 on an axis, with +2 ≡ −2 only once) → 2; 5 (24) → round(2.24) = 2; 6 (24 → 12 here) …
        assert_eq!(s.count[0], 1);
        assert_eq!(s.count[1], 6 + 12);
        for (k, b) in s.bin.iter().enumerate() {
            let m = momentum_magnitude(&lat, k) / s.dk;
            assert!(m >= *b as f64 - 0.5 && m < *b as f64 + 0.5);
        }
        // Parseval of the sums: a constant per-mode power n² gives Σ_j S_j = n (one per mode)
        let p = vec![64.0 * 64.0; 64];
        assert!((s.shell_sums(&p).iter().sum::<f64>() - 64.0).abs() < 1e-12);
    }

    /// The centred momentum of the Nyquist index is +π/h; the box's largest axis sets Δk.
    #[test]
    fn momenta_are_centred() {
        let lat = Lattice::new([6, 3, 1], 0.25);
        assert!((momentum(&lat, 3)[0] - PI / 0.25).abs() < 1e-12);
        assert!((momentum(&lat, 4)[0] + 2.0 * PI * 2.0 / 1.5).abs() < 1e-12);
        assert!((momentum(&lat, 6 * 2)[1] + 2.0 * PI / 0.75).abs() < 1e-12);
        assert!((Shells::new(&lat).dk - 2.0 * PI / 1.5).abs() < 1e-15);
    }
}
