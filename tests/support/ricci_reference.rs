//! Loader for data/reference/ricci_reference.json, written by data/reference/make_ricci_reference.py
//! (sympy, exact to double round-off). Metric and lapse are analytic:
//!   g_ab(x) = δ_ab + Σ_k A^(k)_ab sin(2π n_k·x / L + φ_k),
//!   N(x)    = N0 + Σ_j A_j sin(2π n_j·x / L + φ_j).
//! Symmetric tensors: 6 components in the order xx, xy, xz, yy, yz, zz.
//! Sample points are lattice sites for N = 16, 32, 64, 128 (coordinates are multiples of L/16).

use serde::Deserialize;

#[derive(Deserialize, Debug, Clone)]
struct MetricMode {
    wave_vector: [i64; 3],
    phase: f64,
    amplitude: [f64; 6],
}

#[derive(Deserialize, Debug, Clone)]
struct MetricDef {
    background: [f64; 6],
    modes: Vec<MetricMode>,
}

#[derive(Deserialize, Debug, Clone)]
struct LapseMode {
    wave_vector: [i64; 3],
    phase: f64,
    amplitude: f64,
}

#[derive(Deserialize, Debug, Clone)]
struct LapseDef {
    constant: f64,
    modes: Vec<LapseMode>,
}

/// Exact values at one sample point.
#[derive(Deserialize, Debug, Clone)]
pub struct RicciSample {
    /// coordinates (x, y, z), multiples of L/16
    pub point: [f64; 3],
    /// g_ab
    pub metric: [f64; 6],
    /// g^ab
    pub inverse_metric: [f64; 6],
    /// √det g
    pub sqrt_g: f64,
    /// christoffel[k] = Γ^k_ab = ½ g^kl (∂_a g_lb + ∂_b g_la − ∂_l g_ab)
    pub christoffel: [[f64; 6]; 3],
    /// R_ab = ∂_k Γ^k_ab − ∂_b Γ^k_ak + Γ^k_kl Γ^l_ab − Γ^k_bl Γ^l_ak
    pub ricci: [f64; 6],
    /// R = g^ab R_ab
    pub ricci_scalar: f64,
    /// N
    pub lapse: f64,
    /// ∂_a N
    pub lapse_gradient: [f64; 3],
    /// D_a D_b N = ∂_a ∂_b N − Γ^k_ab ∂_k N
    pub hessian_lapse: [f64; 6],
    /// g^ab D_a D_b N
    pub laplacian_lapse: f64,
}

impl RicciSample {
    /// Lattice site (ix, iy, iz) of this point on an n×n×n lattice of spacing L/n (n a multiple of 16).
    pub fn lattice_site(&self, n: usize, box_length: f64) -> [usize; 3] {
        let mut s = [0usize; 3];
        for d in 0..3 {
            let f = self.point[d] / box_length * n as f64;
            let r = f.round();
            assert!(
                (f - r).abs() < 1e-9,
                "sample point is not a site of the {n}-lattice"
            );
            s[d] = (r as usize) % n;
        }
        s
    }
}

#[derive(Deserialize, Debug, Clone)]
pub struct RicciReference {
    box_length: f64,
    metric: MetricDef,
    lapse: LapseDef,
    sample_denominator: usize,
    samples: Vec<RicciSample>,
}

/// 2π n·x / L + φ.
fn phase_arg(n: [i64; 3], x: [f64; 3], l: f64, phase: f64) -> f64 {
    let nx = n[0] as f64 * x[0] + n[1] as f64 * x[1] + n[2] as f64 * x[2];
    2.0 * std::f64::consts::PI * nx / l + phase
}

impl RicciReference {
    /// Loads `data/reference/ricci_reference.json` from the crate root.
    pub fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/reference/ricci_reference.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
    }

    /// Box length L (periodic box [0, L)³).
    pub fn box_length(&self) -> f64 {
        self.box_length
    }

    /// Sample coordinates are multiples of L / sample_denominator().
    pub fn sample_denominator(&self) -> usize {
        self.sample_denominator
    }

    /// g_ab(x) = δ_ab + Σ_k A^(k)_ab sin(2π n_k·x / L + φ_k); order xx, xy, xz, yy, yz, zz.
    pub fn metric(&self, x: [f64; 3]) -> [f64; 6] {
        let mut g = self.metric.background;
        for m in &self.metric.modes {
            let s = phase_arg(m.wave_vector, x, self.box_length, m.phase).sin();
            for c in 0..6 {
                g[c] += m.amplitude[c] * s;
            }
        }
        g
    }

    /// N(x) = N0 + Σ_j A_j sin(2π n_j·x / L + φ_j).
    pub fn lapse(&self, x: [f64; 3]) -> f64 {
        self.lapse.constant
            + self
                .lapse
                .modes
                .iter()
                .map(|m| m.amplitude * phase_arg(m.wave_vector, x, self.box_length, m.phase).sin())
                .sum::<f64>()
    }

    /// The exact values at the sample points.
    pub fn samples(&self) -> &[RicciSample] {
        &self.samples
    }
}
