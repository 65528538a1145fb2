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
    /// Γ of the quantum field (representation `dense`, SPEC §4.2): row-major 2n × 2n over X = (φ(·), π_φ(·));
    /// empty for the classical representation `none`. The mean x̄ is the `phi`, `pi_phi` fields above.
    pub gamma: Vec<f64>,
}

/// The flat metric δ_ab in storage order.
pub const FLAT: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];

impl State {
    /// All fields zero, background metric δ_ab (so g = δ).
    pub fn zeros(lattice: Lattice) -> Self {
        let n = lattice.sites();
        Self { lattice, data: vec![0.0; NVARS * n], background: FLAT, t: 0.0, step: 0, gamma: Vec::new() }
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
    pub fn set_site(&mut self, i: usize, vals: &[f64; NVARS]) {
        let n = self.lattice.sites();
        for (v, x) in vals.iter().enumerate() {
            self.data[v * n + i] = *x;
        }
    }
}
