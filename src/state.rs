//! The evolved fields and their memory layout (shared by the CPU and GPU backends).
//!
//! Structure of arrays: variable `v` at linear site `i` lives at `data[v * n + i]`
//! (SPEC §1: i = x + N1·(y + N2·z), symmetric tensors in the order xx, xy, xz, yy, yz, zz).
use crate::numerics::lattice::Lattice;

/// Number of evolved real fields per site: g_ab (6), π^ab (6), lapse N, φ̄, π̄_φ.
pub const NVARS: usize = 15;

/// Offsets of the variables in the structure-of-arrays layout.
pub mod var {
    /// g_ab: 6 components starting here.
    pub const G: usize = 0;
    /// π^ab: 6 components starting here.
    pub const PI: usize = 6;
    pub const LAPSE: usize = 12;
    pub const PHI: usize = 13;
    pub const PI_PHI: usize = 14;
}

/// Human-readable names of the 15 fields, in layout order (used in error messages and output).
pub const VAR_NAMES: [&str; NVARS] = [
    "g_xx", "g_xy", "g_xz", "g_yy", "g_yz", "g_zz", "pi^xx", "pi^xy", "pi^xz", "pi^yy", "pi^yz", "pi^zz", "lapse",
    "phi", "pi_phi",
];

/// The full classical state on the lattice, held on the host in f64 (the GPU backend converts on
/// upload/download when it runs in f32).
///
/// The metric is stored as a constant background plus a perturbation: the `G` slots of `data` hold
/// δg_ab = g_ab − ḡ_ab with ḡ_ab = `background`. Stencils act on δg only, so a small perturbation keeps its
/// full relative precision (a 1e-8 wave on g ≈ δ would otherwise lose 8 of its 16 digits, and all of them
/// in f32). Use [`State::metric`] for the full g_ab.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub lattice: Lattice,
    pub data: Vec<f64>,
    /// ḡ_ab (constant in space and time).
    pub background: [f64; 6],
    pub t: f64,
    pub step: u64,
    /// The quantum field's fluctuations as its representation stores them (SPEC §4.2; backend/quantum.rs): Γ for
    /// `dense`, the members for `ensemble`, the per-momentum covariances for `fourier`; empty for the classical
    /// representation `none` and for a state that has not been given one yet (the stepper then starts the field in
    /// the lattice Fock vacuum). The mean x̄ is the `phi`, `pi_phi` fields above.
    pub quantum: QuantumData,
}

/// One named array of a quantum representation's state (a checkpoint dataset under `/quantum`), in f64, with
/// the shape it has in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantumArray {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// The fluctuations of the quantum field as a representation stores them: its name (`matter.representation`)
/// and its arrays. Empty (no arrays) for `none` or before the stepper has set the field up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantumData {
    pub representation: String,
    pub arrays: Vec<QuantumArray>,
}

impl QuantumData {
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty()
    }
    /// The array called `name`, if present.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.arrays.iter().find(|a| a.name == name).map(|a| a.data.as_slice())
    }
    /// The array called `name`, or an error naming the representation and the array.
    pub fn require(&self, name: &str, len: usize) -> anyhow::Result<&[f64]> {
        let a = self.get(name).ok_or_else(|| {
            anyhow::anyhow!("the {} quantum state has no array {name:?}", if self.representation.is_empty() { "stored" } else { &self.representation })
        })?;
        anyhow::ensure!(a.len() == len, "the quantum state's array {name:?} has {} values, expected {len}", a.len());
        Ok(a)
    }
}

/// The flat metric δ_ab in storage order.
pub const FLAT: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];

impl State {
    /// All fields zero, background metric δ_ab (so g = δ).
    pub fn zeros(lattice: Lattice) -> Self {
        let n = lattice.sites();
        Self { lattice, data: vec![0.0; NVARS * n], background: FLAT, t: 0.0, step: 0, quantum: QuantumData::default() }
    }
    /// Full metric g_ab = ḡ_ab + δg_ab at site i.
    pub fn metric(&self, i: usize) -> [f64; 6] {
        let n = self.lattice.sites();
        std::array::from_fn(|k| self.background[k] + self.data[(var::G + k) * n + i])
    }
    pub fn field(&self, v: usize) -> &[f64] {
        let n = self.lattice.sites();
        &self.data[v * n..(v + 1) * n]
    }
    pub fn field_mut(&mut self, v: usize) -> &mut [f64] {
        let n = self.lattice.sites();
        &mut self.data[v * n..(v + 1) * n]
    }
    /// All 15 variables at one site.
    pub fn site(&self, i: usize) -> [f64; NVARS] {
        let n = self.lattice.sites();
        std::array::from_fn(|v| self.data[v * n + i])
    }
    /// The box mean of the metric, (1/n) Σ_x g_ab(x) (summed, then divided: exact for a homogeneous metric).
    pub fn box_mean_metric(&self) -> [f64; 6] {
        let n = self.lattice.sites();
        let mut g = [0.0; 6];
        for i in 0..n {
            let gi = self.metric(i);
            for k in 0..6 {
                g[k] += gi[k];
            }
        }
        g.map(|v| v / n as f64)
    }
    /// Γ of a `dense` quantum state (row-major 2n × 2n); empty for any other representation.
    pub fn gamma(&self) -> &[f64] {
        self.quantum.get("gamma").unwrap_or(&[])
    }
    pub fn set_site(&mut self, i: usize, vals: &[f64; NVARS]) {
        let n = self.lattice.sites();
        for (v, x) in vals.iter().enumerate() {
            self.data[v * n + i] = *x;
        }
    }
}
