//! The CQ noise step on the CPU (SPEC §3), twin of `shaders/cq_noise.wgsl` (+ `shaders/noise_smooth.wgsl`):
//! the same passes in the same order with the same arithmetic.
//!
//! Per time step n → n+1 (backend/cpu/mod.rs calls these around the deterministic RK4 step):
//! 1. `white`: per site, 6 standard normals from Philox (seed, site, blocks 0–1, step n, stream CQ_NOISE) →
//!    the Frobenius-white lattice tensor ζ with E[ζ(x) ζ(y)] = identity·δ_xy/ΔV (physics/cq_noise.rs);
//! 2. ℓ > 0: `smooth_axis` along each active axis (x, then y, then z): ζ ← w ∗ ζ, the separable lattice
//!    square root of K_ℓ, so E[ζ(x) ζ(y)] = identity·K_ℓ(x−y) — smoothing comes *before* the local tensor map,
//!    which is what gives SPEC's 𝒟(x,y) = D2 s(x)^{1/2} K_ℓ(x−y) s(y)^{1/2};
//! 3. `sample`: dW(x) = sqrt(D2 dt) sqrt(N√g) s̃(x)^{1/2} ζ(x) with g, N of the state at the **start** of the
//!    step (t_n), into the increment buffer `dw`, plus the per-site noise statistics;
//! 4. (the RK4 step of the drift, unless the drift is frozen);
//! 5. `add`: π^ab ← π^ab + dW^ab.
use crate::backend::cpu::reduce::{tree_reduce, Op};
use crate::numerics::lattice::{Lattice, SiteNumbering};
use crate::numerics::philox::{self, stream};
use crate::numerics::real::Real;
use crate::physics::cq_noise::{site_increment, smoothing_weights, white_tensor, NoiseParams};
use crate::physics::tensor::{contract, sandwich};
use crate::numerics::par;
use crate::state::var;
use rayon::prelude::*;

/// Number of per-site noise statistic columns: τ = g_ab dW^ab, q = g_ac g_bd dW^ab dW^cd, τ², N√g.
pub const NSTAT: usize = 4;

/// The six standard normals of site `site` at step `step` (blocks 0 and 1 of the CQ-noise stream; the last
/// two normals of block 1 are not used).
#[inline]
pub fn site_normals<T: Real>(seed: u64, site: u32, step: u64) -> [T; 6] {
    normals6(seed, site, 0, step, stream::CQ_NOISE)
}

/// Six standard normals from blocks `block` and `block + 1` of stream `kind` (the last two normals of the second
/// block are not used).
#[inline]
fn normals6<T: Real>(seed: u64, site: u32, block: u32, step: u64, kind: u32) -> [T; 6] {
    let a = philox::normals4(philox::draw(seed, site, block, step, kind));
    let b = philox::normals4(philox::draw(seed, site, block + 1, step, kind));
    [a[0], a[1], a[2], a[3], b[0], b[1]]
}

/// The fresh draw ζ_j that refines node j of step `step`'s increments into its halves (numerics/brownian_bridge.rs):
/// the white-noise increment of SPEC §3 over the node's duration h at each site's metric and lapse at the start of
/// the step, `geometry(i)` = (g_ab, N), in f64 from Philox stream `CQ_BRIDGE` (blocks of the node). Component-major
/// (6n), like the step's increments. White noise only (ℓ > 0 has no quantum field).
pub fn bridge_draw(
    params: &NoiseParams,
    lattice: &Lattice,
    step: u64,
    node: u32,
    h: f64,
    geometry: impl Fn(usize) -> ([f64; 6], f64) + Sync,
) -> Vec<f64> {
    debug_assert_eq!(params.correlation_length, 0.0, "the bridge refines white noise");
    let n = lattice.sites();
    let dv = lattice.cell_volume();
    let scale = [1.0 / dv.sqrt(), 1.0 / (2.0 * dv).sqrt()];
    let amp = (params.diffusion * h).sqrt();
    let block = crate::numerics::brownian_bridge::node_block(node);
    let vals: Vec<[f64; 6]> = par::map(n, n, |i| {
        let (g, lapse) = geometry(i);
        let zeta = white_tensor(normals6(params.seed, i as u32, block, step, stream::CQ_BRIDGE), scale);
        site_increment(&g, lapse, amp, params.beta, params.trace_only(), &zeta)
    });
    let mut out = vec![0.0; 6 * n];
    for (i, v) in vals.iter().enumerate() {
        for k in 0..6 {
            out[k * n + i] = v[k];
        }
    }
    out
}

/// Pass 1: the white tensor field ζ (SoA, component k of site i at k·n + i).
pub fn white<T: Real>(seed: u64, step: u64, scale: [T; 2], z: &mut [T]) {
    white_from(seed, step, scale, SiteNumbering::whole(z.len() / 6), z)
}

/// Pass 1 for the sites of a lattice numbered `sites` in the global lattice (a slab of a domain-decomposed run,
/// issue 18: the Philox counter is the global site index, so the noise does not depend on the decomposition).
pub fn white_from<T: Real>(seed: u64, step: u64, scale: [T; 2], sites: SiteNumbering, z: &mut [T]) {
    let n = z.len() / 6;
    let vals: Vec<[T; 6]> = par::map(n, n, |i| white_tensor(site_normals::<T>(seed, sites.index(i) as u32, step), scale));
    for (i, v) in vals.iter().enumerate() {
        for k in 0..6 {
            z[k * n + i] = v[k];
        }
    }
}

/// Pass 2 (ℓ > 0), one axis: dst(x) = Σ_{j=−R..R} w_j src(x + j ê_axis), periodic, all 6 components.
pub fn smooth_axis<T: Real>(lat: &Lattice, axis: usize, weights: &[T], src: &[T], dst: &mut [T]) {
    let n = lat.sites();
    let r = (weights.len() / 2) as isize;
    dst.par_chunks_mut(n).enumerate().for_each(|(k, dk)| {
        let sk = &src[k * n..(k + 1) * n];
        for (i, out) in dk.iter_mut().enumerate() {
            let c = lat.coords(i);
            let mut s = T::zero();
            for j in -r..=r {
                s = s + weights[(j + r) as usize] * sk[lat.shifted(c, axis, j)];
            }
            *out = s;
        }
    });
}

/// Pass 3: the increments dW (SoA) from ζ and the state y at the start of the step, and the per-site
/// statistics `stat` (column c of site i at c·n + i: τ, q, τ², N√g).
#[allow(clippy::too_many_arguments)]
pub fn sample<T: Real>(background: &[T; 6], amp: T, beta: T, trace_only: bool, y: &[T], z: &[T], dw: &mut [T], stat: &mut [T]) {
    let n = z.len() / 6;
    let vals: Vec<([T; 6], [T; NSTAT])> = par::map(n, n, |i| {
            let g: [T; 6] = std::array::from_fn(|k| background[k] + y[(var::G + k) * n + i]);
            let lapse = y[var::LAPSE * n + i];
            let zeta: [T; 6] = std::array::from_fn(|k| z[k * n + i]);
            let d = site_increment(&g, lapse, amp, beta, trace_only, &zeta);
            let tau = contract(&d, &g);
            let q = contract(&d, &sandwich(&g, &d));
            let w = lapse * crate::physics::tensor::det(&g).sqrt();
            (d, [tau, q, tau * tau, w])
        });
    for (i, (d, s)) in vals.iter().enumerate() {
        for k in 0..6 {
            dw[k * n + i] = d[k];
        }
        for c in 0..NSTAT {
            stat[c * n + i] = s[c];
        }
    }
}

/// Pass 5: π^ab ← π^ab + dW^ab.
pub fn add<T: Real>(dw: &[T], y: &mut [T]) {
    let n = dw.len() / 6;
    let pi = &mut y[var::PI * n..(var::PI + 6) * n];
    if par::parallel(n) {
        pi.par_iter_mut().zip(dw.par_iter()).for_each(|(p, d)| *p = *p + *d);
    } else {
        pi.iter_mut().zip(dw).for_each(|(p, d)| *p = *p + *d);
    }
}

/// The noise buffers and parameters of a CPU stepper.
pub struct CpuNoise<T: Real> {
    pub params: NoiseParams,
    lattice: Lattice,
    background: [T; 6],
    amp: T,
    beta: T,
    scale: [T; 2],
    /// smoothing weights (ℓ > 0) and the axes they are applied along (those with more than one site)
    weights: Option<Vec<T>>,
    axes: Vec<usize>,
    z: Vec<T>,
    z2: Vec<T>,
    dw: Vec<T>,
    stat: Vec<T>,
    /// the lattice ζ is drawn and smoothed on: `lattice`, or for a slab with ℓ > 0 (issue 18) `lattice` with
    /// `halo` more planes on each side in z, numbered `sites` in the global lattice
    drawn: Lattice,
    halo: usize,
    sites: SiteNumbering,
    /// ζ at the sites of `lattice` (only when halo > 0)
    cropped: Vec<T>,
}

impl<T: Real> CpuNoise<T> {
    pub fn new(params: NoiseParams, lattice: Lattice, background: [f64; 6], dt: f64) -> Self {
        let n = lattice.sites();
        let dv = lattice.cell_volume();
        let ell = params.correlation_length;
        let weights = (ell > 0.0).then(|| smoothing_weights(ell, lattice.spacing).into_iter().map(T::c).collect());
        Self {
            params,
            lattice,
            background: background.map(T::c),
            amp: T::c((params.diffusion * dt).sqrt()),
            beta: T::c(params.beta),
            scale: [T::c(1.0 / dv.sqrt()), T::c(1.0 / (2.0 * dv).sqrt())],
            weights,
            axes: (0..3).filter(|&a| lattice.shape[a] > 1).collect(),
            z: vec![T::zero(); 6 * n],
            z2: vec![T::zero(); 6 * n],
            dw: vec![T::zero(); 6 * n],
            stat: vec![T::zero(); NSTAT * n],
            drawn: lattice,
            halo: 0,
            sites: SiteNumbering::whole(n),
            cropped: Vec::new(),
        }
    }

    /// The noise of a z-slab of a domain-decomposed run (issue 18): `lattice` holds the owned planes, the first
    /// of them global site `first` of a global lattice of `global` sites. White noise is drawn at the owned sites
    /// with their global indices; smoothed noise (ℓ > 0) draws ζ on the owned planes and R = ⌈4ℓ/h⌉ more on each
    /// side (their global planes, wrapped), smooths it there and keeps the owned planes, so every owned site
    /// sums exactly the terms, in the order, it sums on one process — without any communication.
    pub fn in_slab(mut self, first: usize, global: usize) -> Self {
        let plane = self.lattice.shape[0] * self.lattice.shape[1];
        self.halo = match self.weights {
            Some(ref w) => w.len() / 2,
            None => 0,
        };
        let mut drawn = self.lattice;
        drawn.shape[2] += 2 * self.halo;
        let m = 6 * drawn.sites();
        self.sites = SiteNumbering { first, global }.before(self.halo * plane);
        if self.halo > 0 {
            (self.z, self.z2, self.cropped) = (vec![T::zero(); m], vec![T::zero(); m], vec![T::zero(); 6 * self.lattice.sites()]);
        }
        self.drawn = drawn;
        self
    }

    /// Passes 1–3 for the step `step` → `step + 1`, from the state `y` at its start.
    pub fn draw(&mut self, step: u64, y: &[T]) {
        white_from(self.params.seed, step, self.scale, self.sites, &mut self.z);
        if let Some(w) = &self.weights {
            for &axis in &self.axes {
                smooth_axis(&self.drawn, axis, w, &self.z, &mut self.z2);
                std::mem::swap(&mut self.z, &mut self.z2);
            }
        }
        let zeta = if self.halo == 0 {
            &self.z
        } else {
            let (n, nd, skip) = (self.lattice.sites(), self.drawn.sites(), self.halo * self.lattice.shape[0] * self.lattice.shape[1]);
            for k in 0..6 {
                self.cropped[k * n..(k + 1) * n].copy_from_slice(&self.z[k * nd + skip..k * nd + skip + n]);
            }
            &self.cropped
        };
        sample(&self.background, self.amp, self.beta, self.params.trace_only(), y, zeta, &mut self.dw, &mut self.stat);
    }

    /// Pass 5: add the drawn increments to π^ab of `y`.
    pub fn add_to(&self, y: &mut [T]) {
        add(&self.dw, y);
    }

    /// The increments of the last drawn step (SoA, 6 components).
    pub fn increments(&self) -> &[T] {
        &self.dw
    }

    /// The NSTAT per-site statistic columns of the last drawn step (column c of site i at c·n + i).
    pub fn site_stats(&self) -> &[T] {
        &self.stat
    }

    /// Box sums of the NSTAT per-site statistic columns (64-wide tree, as on the GPU).
    pub fn stat_sums(&self) -> [f64; NSTAT] {
        let n = self.lattice.sites();
        std::array::from_fn(|c| tree_reduce(&self.stat[c * n..(c + 1) * n], Op::Sum).as_f64())
    }
}
