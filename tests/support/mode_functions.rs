//! Mode-function reference for the lattice scalar field on a homogeneous FRW background (issue 5, criterion 2):
//! g_ab = a(t)² δ_ab, lapse N(t) (N = 1 for FRW in cosmic time), N1×N2×N3 periodic lattice, spacing h, ΔV = h³,
//! no noise and no decoherence.
//!
//! Lattice Hamiltonian (SPEC §4 with √g = a³, √g g^ij = a δ^ij):
//!   H = Σ_x ΔV N ½ (π_φ²/a³ + a Σ_i (D_iφ)² + a³ m² φ²),   [φ(x), π(y)] = i δ_xy/ΔV,
//! with D_i the centred stencil of SPEC §2 (order 2: (f(x+1) − f(x−1))/2h; order 4:
//! (−f(x+2) + 8f(x+1) − 8f(x−1) + f(x−2))/12h). On e^{ikx}, D_i = i s(k_i h)/h with
//! s(θ) = sin θ (order 2) or (8 sin θ − sin 2θ)/6 (order 4), so the gradient energy has κ(k)² = Σ_i s(k_i h)²/h².
//!
//! Fourier modes φ_k = n^{−1/2} Σ_x e^{−ikx} φ(x) (k_i = 2π j_i/(N_i h)) obey [φ_k, π_k′†] = i δ_kk′/ΔV and
//! H = Σ_k ΔV N ½(|π_k|²/a³ + a³ ω_k² |φ_k|²), ω_k² = κ(k)²/a² + m²: independent oscillators of mass a³.
//! For a translation-invariant Gaussian state ⟨φ_k φ_k′†⟩ = δ_kk′ P_k^φφ etc., and
//!   ⟨δφ(x)²⟩ = (1/n) Σ_k P_k^φφ,  ⟨δπ(x)²⟩ = (1/n) Σ_k P_k^ππ   (the same at every x = the box average).
//! Each mode's covariance obeys the linear ODE
//!   Ṗ^φφ = 2N P^φπ/a³,  Ṗ^φπ = N(P^ππ/a³ − a³ω² P^φφ),  Ṗ^ππ = −2N a³ω² P^φπ,
//! from the instantaneous (adiabatic, lattice) vacuum at t0:
//!   P^φφ = 1/(2ΔV a³ω),  P^ππ = a³ω/(2ΔV),  P^φπ = 0.
//! The invariant P^φφ P^ππ − (P^φπ)² = 1/(4ΔV²) (pure state; exact under any quadratic Hamiltonian) is monitored.
//! Integrated in vacuum-scaled variables with Dop853 (one run per output interval, so outputs are step ends).
//! Time is carried as an extra state variable τ (τ̇ = 1) and the background is evaluated at τ: ode_solvers 0.6's
//! Dop853 tableau has wrong nodes c₁₂ = c₁₃ = 0 (should be 1; upstream srenevey/ode-solvers PR #42), which
//! silently degrades it to low order on non-autonomous systems (measured: y′ = cos(3t)y at rtol 1e-12 is off by
//! 6e-8 after 2·10⁶ steps). An autonomous system is unaffected, since the stage-12 row sums are right.

use ode_solvers::{Dop853, OutputType, SVector, System};

/// s(θ): the stencil's symbol, D e^{ikx} = (i s(kh)/h) e^{ikx}.
pub fn stencil_symbol(theta: f64, fd_order: u32) -> f64 {
    match fd_order {
        2 => theta.sin(),
        4 => (8.0 * theta.sin() - (2.0 * theta).sin()) / 6.0,
        o => panic!("fd_order must be 2 or 4, got {o}"),
    }
}

/// Distinct κ² = Σ_i s(2π j_i/N_i)²/h² over the lattice momenta, with multiplicities (summing to n);
/// values equal to 1e-13 relative are merged.
pub fn lattice_kappa2_spectrum(shape: [usize; 3], h: f64, fd_order: u32) -> Vec<(f64, usize)> {
    let axis = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|j| {
                let s = stencil_symbol(2.0 * std::f64::consts::PI * j as f64 / n as f64, fd_order);
                s * s / (h * h)
            })
            .collect()
    };
    let (ax, ay, az) = (axis(shape[0]), axis(shape[1]), axis(shape[2]));
    let mut all: Vec<f64> = Vec::with_capacity(shape.iter().product());
    for &z in &az {
        for &y in &ay {
            for &x in &ax {
                all.push(x + y + z);
            }
        }
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let scale = all.last().copied().unwrap_or(0.0).max(1e-300);
    let mut out: Vec<(f64, usize)> = Vec::new();
    for v in all {
        match out.last_mut() {
            Some((w, c)) if (v - *w).abs() <= 1e-13 * scale => *c += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

/// Instantaneous lattice vacuum of one mode: (P^φφ, P^φπ, P^ππ) = (1/(2ΔV a³ω), 0, a³ω/(2ΔV)).
pub fn adiabatic_vacuum_mode(kappa2: f64, a: f64, mass: f64, dv: f64) -> [f64; 3] {
    let w = (kappa2 / (a * a) + mass * mass).sqrt();
    assert!(w > 0.0, "a massless zero mode has no vacuum: use m > 0");
    let a3 = a * a * a;
    [1.0 / (2.0 * dv * a3 * w), 0.0, a3 * w / (2.0 * dv)]
}

type S4 = SVector<f64, 4>;

struct ModeSys<'a> {
    bg: &'a dyn Fn(f64) -> (f64, f64),
    kappa2: f64,
    m2: f64,
    /// √(β/α) = a0³ ω0 (scaling of the variables)
    r: f64,
}

impl System<f64, S4> for ModeSys<'_> {
    /// u = P^φφ/α, v = P^φπ/√(αβ), w = P^ππ/β with (α, β) the t0 vacuum values; y[3] = τ = t.
    fn system(&self, _t: f64, y: &S4, dy: &mut S4) {
        let (a, n) = (self.bg)(y[3]);
        let a3 = a * a * a;
        let w2 = self.kappa2 / (a * a) + self.m2;
        dy[0] = 2.0 * n * self.r * y[1] / a3;
        dy[1] = n * (self.r * y[2] / a3 - a3 * w2 * y[0] / self.r);
        dy[2] = -2.0 * n * a3 * w2 * y[1] / self.r;
        dy[3] = 1.0;
    }
}

/// Covariance (P^φφ, P^φπ, P^ππ) of one mode with κ² at `times` (≥ t0, non-decreasing), starting from the
/// instantaneous vacuum at t0; `bg(t)` returns (a(t), N(t)).
pub fn single_mode_covariance(
    kappa2: f64,
    mass: f64,
    dv: f64,
    bg: &dyn Fn(f64) -> (f64, f64),
    t0: f64,
    times: &[f64],
    rtol: f64,
) -> Vec<[f64; 3]> {
    let (a0, _) = bg(t0);
    let p0 = adiabatic_vacuum_mode(kappa2, a0, mass, dv);
    let (alpha, beta) = (p0[0], p0[2]);
    let r = (beta / alpha).sqrt();
    let sab = (alpha * beta).sqrt();
    let mut y = S4::new(1.0, 0.0, 1.0, t0);
    let mut t = t0;
    let mut out = Vec::with_capacity(times.len());
    for &tn in times {
        assert!(tn >= t, "times must be ≥ t0 and non-decreasing");
        if tn > t {
            let mut solver = Dop853::from_param(
                ModeSys {
                    bg,
                    kappa2,
                    m2: mass * mass,
                    r,
                },
                t,
                tn,
                0.0,
                y,
                rtol,
                rtol,
                0.9,
                0.0,
                0.333,
                6.0,
                tn - t,
                0.0,
                100_000_000,
                1_000_000_000,
                OutputType::Sparse,
            );
            solver
                .integrate()
                .expect("Dop853 failed on a mode equation");
            y = *solver.y_out().last().unwrap();
            y[3] = tn;
            t = tn;
        }
        out.push([alpha * y[0], sab * y[1], beta * y[2]]);
    }
    out
}

/// Box-averaged fluctuations at one time.
#[derive(Clone, Copy, Debug)]
pub struct ModeFluctuations {
    pub t: f64,
    /// (1/n) Σ_x ⟨δφ(x)²⟩
    pub phi2: f64,
    /// (1/n) Σ_x ⟨δπ_φ(x)²⟩
    pub pi2: f64,
    /// (1/n) Σ_x ½⟨{δφ(x), δπ_φ(x)}⟩
    pub phipi: f64,
    /// max over modes of |4ΔV²(P^φφP^ππ − (P^φπ)²) − 1| (should stay at the integration tolerance)
    pub max_invariant_error: f64,
}

/// ⟨δφ²⟩, ⟨δπ²⟩ box averages on the lattice `shape`, spacing h, stencil order `fd_order`, background
/// bg(t) = (a, N), from the instantaneous lattice vacuum at t0, at `times`.
#[allow(clippy::too_many_arguments)]
pub fn mode_function_fluctuations(
    shape: [usize; 3],
    h: f64,
    mass: f64,
    fd_order: u32,
    bg: &dyn Fn(f64) -> (f64, f64),
    t0: f64,
    times: &[f64],
    rtol: f64,
) -> Vec<ModeFluctuations> {
    let dv = h * h * h;
    let n: usize = shape.iter().product();
    let spec = lattice_kappa2_spectrum(shape, h, fd_order);
    let mut out: Vec<ModeFluctuations> = times
        .iter()
        .map(|&t| ModeFluctuations {
            t,
            phi2: 0.0,
            pi2: 0.0,
            phipi: 0.0,
            max_invariant_error: 0.0,
        })
        .collect();
    for &(k2, mult) in &spec {
        let cov = single_mode_covariance(k2, mass, dv, bg, t0, times, rtol);
        for (o, p) in out.iter_mut().zip(&cov) {
            let w = mult as f64 / n as f64;
            o.phi2 += w * p[0];
            o.phipi += w * p[1];
            o.pi2 += w * p[2];
            let inv = 4.0 * dv * dv * (p[0] * p[2] - p[1] * p[1]) - 1.0;
            o.max_invariant_error = o.max_invariant_error.max(inv.abs());
        }
    }
    out
}

/// [`mode_function_fluctuations`] with N = 1 and a given a(t).
#[allow(clippy::too_many_arguments)]
pub fn mode_function_fluctuations_frw(
    shape: [usize; 3],
    h: f64,
    mass: f64,
    fd_order: u32,
    a_of_t: &dyn Fn(f64) -> f64,
    t0: f64,
    times: &[f64],
    rtol: f64,
) -> Vec<ModeFluctuations> {
    let bg = |t: f64| (a_of_t(t), 1.0);
    mode_function_fluctuations(shape, h, mass, fd_order, &bg, t0, times, rtol)
}

/// Uniform samples f(t0 + i·dt) with a local Lagrange interpolant of degree `degree` (odd, e.g. 7), for feeding a
/// solver's sampled a(t) to the mode integration. Error O(dt^{degree+1}) for smooth f.
#[derive(Clone, Debug)]
pub struct UniformSamples {
    pub t0: f64,
    pub dt: f64,
    pub values: Vec<f64>,
    pub degree: usize,
}

impl UniformSamples {
    pub fn eval(&self, t: f64) -> f64 {
        let p = self.degree;
        let len = self.values.len();
        assert!(len > p, "need more samples than the interpolation degree");
        let x = (t - self.t0) / self.dt;
        let i0 = (x.floor() as i64 - (p as i64 - 1) / 2).clamp(0, (len - p - 1) as i64) as usize;
        let mut s = 0.0;
        for i in i0..=i0 + p {
            let mut l = 1.0;
            for j in i0..=i0 + p {
                if j != i {
                    l *= (x - j as f64) / (i as f64 - j as f64);
                }
            }
            s += l * self.values[i];
        }
        s
    }
}
