//! The lattice Fourier transform (SPEC §11 convention): f̃_k = Σ_x f(x) e^{−ik·x}, k = 2π(j1/N1, j2/N2, j3/N3)/h,
//! over a field in the lattice layout of SPEC §1 (i = x + N1·(y + N2·z)), by one-dimensional FFTs along each axis
//! (rustfft). `inverse` applies Σ_k f̃_k e^{+ik·x} without the 1/n (so inverse(forward(f)) = n·f).
use super::lattice::Lattice;
use num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Planned transforms for one lattice shape.
pub struct LatticeFft {
    shape: [usize; 3],
    forward: [Arc<dyn Fft<f64>>; 3],
    inverse: [Arc<dyn Fft<f64>>; 3],
}

impl LatticeFft {
    pub fn new(lattice: &Lattice) -> Self {
        let mut planner = FftPlanner::new();
        let shape = lattice.shape;
        Self {
            shape,
            forward: std::array::from_fn(|a| planner.plan_fft_forward(shape[a])),
            inverse: std::array::from_fn(|a| planner.plan_fft_inverse(shape[a])),
        }
    }

    fn along_axes(&self, data: &mut [Complex64], plans: &[Arc<dyn Fft<f64>>; 3]) {
        let [n1, n2, n3] = self.shape;
        assert_eq!(data.len(), n1 * n2 * n3, "field length does not match the lattice");
        let stride = [1, n1, n1 * n2];
        let mut line = Vec::new();
        for axis in 0..3 {
            let len = self.shape[axis];
            if len == 1 {
                continue;
            }
            line.resize(len, Complex64::default());
            // every line along `axis`: its start is a site with coordinate 0 on that axis
            for start in 0..data.len() {
                let c = (start / stride[axis]) % len;
                if c != 0 {
                    continue;
                }
                for (j, v) in line.iter_mut().enumerate() {
                    *v = data[start + j * stride[axis]];
                }
                plans[axis].process(&mut line);
                for (j, v) in line.iter().enumerate() {
                    data[start + j * stride[axis]] = *v;
                }
            }
        }
    }

    /// In place: f → f̃ (index of k = j1 + N1·(j2 + N2·j3), j_a ∈ [0, N_a)).
    pub fn forward(&self, data: &mut [Complex64]) {
        self.along_axes(data, &self.forward);
    }

    /// In place: f̃ → Σ_k f̃_k e^{+ik·x} (no 1/n).
    pub fn inverse(&self, data: &mut [Complex64]) {
        self.along_axes(data, &self.inverse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the direct sum on a lattice with a short axis and an axis of one site.
    #[test]
    fn matches_the_direct_sum() {
        let lat = Lattice::new([5, 3, 1], 0.2);
        let n = lat.sites();
        let f: Vec<Complex64> = (0..n).map(|i| Complex64::new((i as f64 * 0.37).sin(), (i as f64 * 1.3).cos())).collect();
        let mut g = f.clone();
        let fft = LatticeFft::new(&lat);
        fft.forward(&mut g);
        for k in 0..n {
            let kc = lat.coords(k);
            let mut s = Complex64::default();
            for (x, fx) in f.iter().enumerate() {
                let c = lat.coords(x);
                let ph: f64 = (0..3).map(|a| 2.0 * std::f64::consts::PI * (kc[a] * c[a]) as f64 / lat.shape[a] as f64).sum();
                s += fx * Complex64::from_polar(1.0, -ph);
            }
            assert!((s - g[k]).norm() < 1e-12, "k = {k}");
        }
        fft.inverse(&mut g);
        for (a, b) in f.iter().zip(&g) {
            assert!((a * n as f64 - b).norm() < 1e-12);
        }
    }
}
