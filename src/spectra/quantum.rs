//! The quantum fluctuations' per-mode powers P_k = ⟨|δφ̃_k|²⟩ = Σ_{x,y} Γ(x, y) e^{−ik·(x−y)} (and the same for π_φ)
//! of each representation's stored state (SPEC §11, §4.2; docs/cosmology.md §4):
//! - `dense`: from Γ (2n × 2n) by one transform per row and a phase sum per mode, O(n² log n);
//! - `fourier`: P_k = n Γ_k directly (Γ(x, y) = (1/n) Σ_k e^{ik·(x−y)} Γ_k);
//! - `ensemble`: P_k ≈ Σ_s |δ̃_s,k|²/(M − 2) (the unbiased estimate of two centred halves), with the control
//!   variate when the state has it: + n Γ_k^ref − Σ_s |h̃_s,k|²/(M − 2) (h the shadow members).
use crate::numerics::fft::LatticeFft;
use crate::numerics::lattice::Lattice;
use crate::state::QuantumData;
use num_complex::Complex64;

/// ⟨|δφ̃_k|²⟩ and ⟨|δπ̃_k|²⟩ per mode (index j1 + N1(j2 + N2 j3)).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantumPower {
    pub phi: Vec<f64>,
    pub pi: Vec<f64>,
}

/// From a dense Γ (row-major 2n × 2n over X = (φ…, π…)).
pub fn dense(lat: &Lattice, gamma: &[f64]) -> anyhow::Result<QuantumPower> {
    let n = lat.sites();
    anyhow::ensure!(gamma.len() == 4 * n * n, "the dense covariance has {} values, expected (2n)² = {}", gamma.len(), 4 * n * n);
    let fft = LatticeFft::new(lat);
    // e^{+ik·x} per axis: k_a x_a = 2π j_a c_a / N_a
    let phase: [Vec<Complex64>; 3] = std::array::from_fn(|a| {
        let na = lat.shape[a];
        (0..na).map(|t| Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * t as f64 / na as f64)).collect()
    });
    let block = |f: usize| -> Vec<f64> {
        super::modes::ordered_sum(n, n, |x, acc| {
            let row = &gamma[(f * n + x) * 2 * n + f * n..(f * n + x) * 2 * n + f * n + n];
            let ft = super::modes::transform(&fft, row);
            let cx = lat.coords(x);
            for (k, a) in acc.iter_mut().enumerate() {
                let j = lat.coords(k);
                let e = phase[0][(j[0] * cx[0]) % lat.shape[0]] * phase[1][(j[1] * cx[1]) % lat.shape[1]] * phase[2][(j[2] * cx[2]) % lat.shape[2]];
                *a += (e * ft[k]).re;
            }
        })
    };
    Ok(QuantumPower { phi: block(0), pi: block(1) })
}

/// From the per-momentum covariances Γ_k (3 reals per momentum: φφ, φπ, ππ).
pub fn fourier(lat: &Lattice, gamma_k: &[f64]) -> anyhow::Result<QuantumPower> {
    let n = lat.sites();
    anyhow::ensure!(gamma_k.len() == 3 * n, "the per-momentum covariances have {} values, expected 3n = {}", gamma_k.len(), 3 * n);
    let nf = n as f64;
    Ok(QuantumPower { phi: (0..n).map(|k| nf * gamma_k[3 * k]).collect(), pi: (0..n).map(|k| nf * gamma_k[3 * k + 2]).collect() })
}

/// From the ensemble's stored arrays (`members`, and `shadows` + `reference` with the control variate).
pub fn ensemble(lat: &Lattice, q: &QuantumData, members: usize) -> anyhow::Result<QuantumPower> {
    let n = lat.sites();
    let m = members;
    let fft = LatticeFft::new(lat);
    let norm = 1.0 / (m as f64 - 2.0);
    let d = q.require("members", 2 * n * m)?;
    let power = |d: &[f64], f: usize| -> Vec<f64> {
        super::modes::column_power_sum(&fft, &d[f * n * m..(f + 1) * n * m], n, m).into_iter().map(|p| p * norm).collect()
    };
    let (mut phi, mut pi) = (power(d, 0), power(d, 1));
    if let Some(h) = q.get("shadows") {
        anyhow::ensure!(h.len() == 2 * n * m, "the ensemble's shadows have {} values, expected {}", h.len(), 2 * n * m);
        let reference = fourier(lat, q.require("reference", 3 * n)?)?;
        for (p, (r, s)) in phi.iter_mut().zip(reference.phi.iter().zip(power(h, 0))) {
            *p += r - s;
        }
        for (p, (r, s)) in pi.iter_mut().zip(reference.pi.iter().zip(power(h, 1))) {
            *p += r - s;
        }
    }
    Ok(QuantumPower { phi, pi })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A circulant Γ(x, y) = c(x − y) in dense form gives the same powers as its symbol in fourier form.
    #[test]
    fn dense_and_fourier_agree_on_a_circulant() {
        let lat = Lattice::new([4, 3, 2], 0.3);
        let n = lat.sites();
        // symbol Γ_k > 0, even in k
        let sym = |k: usize, f: usize| {
            let p = crate::spectra::shells::momentum(&lat, k);
            1.0 + 0.3 * f as f64 + 0.2 * (p[0] * p[0] + 2.0 * p[1] * p[1] + 0.5 * p[2] * p[2]).sqrt()
        };
        let gk: Vec<f64> = (0..n).flat_map(|k| [sym(k, 0), 0.0, sym(k, 1)]).collect();
        let mut gamma = vec![0.0; 4 * n * n];
        for f in 0..2 {
            for x in 0..n {
                for y in 0..n {
                    let (cx, cy) = (lat.coords(x), lat.coords(y));
                    let mut v = 0.0;
                    for k in 0..n {
                        let kk = crate::spectra::shells::momentum(&lat, k);
                        let dx: f64 = (0..3).map(|a| kk[a] * (cx[a] as f64 - cy[a] as f64) * lat.spacing).sum();
                        v += dx.cos() * sym(k, f);
                    }
                    gamma[(f * n + x) * 2 * n + f * n + y] = v / n as f64;
                }
            }
        }
        let a = dense(&lat, &gamma).unwrap();
        let b = fourier(&lat, &gk).unwrap();
        for k in 0..n {
            assert!((a.phi[k] - b.phi[k]).abs() < 1e-11 * b.phi[k], "{k}: {} vs {}", a.phi[k], b.phi[k]);
            assert!((a.pi[k] - b.pi[k]).abs() < 1e-11 * b.pi[k]);
        }
    }
}
