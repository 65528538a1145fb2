//! Exact solutions of the paper's toy systems (§IV B, Eqs. (77)–(82); SPEC §12), written from the equations for
//! the tests of src/toy — not from its code. Conventions: the paper's ρ̂ = [[u↑, α], [α*, u↓]] (Eq. (77)),
//! Ĥ = p²/2m + Bq·diag(ω, −ω); the spin-↑ particle feels the force −ωB (Eq. (79): u↑(q, p + τB) feeds u↑(q, p),
//! i.e. jumps p → p − τB at rate ω/τ), the spin-↓ one +ωB.
use statrs::distribution::{ChiSquared, ContinuousCDF, Discrete, Poisson};

/// Poisson probability P(N = n) for mean λ.
pub fn poisson_pmf(n: u64, lambda: f64) -> f64 {
    Poisson::new(lambda).unwrap().pmf(n)
}

/// The upper tail of the χ² law with `dof` degrees of freedom at x.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    ChiSquared::new(dof).unwrap().sf(x)
}

/// Pearson's χ² of observed against expected counts, cells with expected < 5 pooled into one; returns
/// (χ², degrees of freedom = cells − 1, p-value).
pub fn pearson(observed: &[f64], expected: &[f64]) -> (f64, f64, f64) {
    let (mut chi2, mut cells) = (0.0, 0usize);
    let (mut po, mut pe) = (0.0, 0.0);
    for (&o, &e) in observed.iter().zip(expected) {
        if e >= 5.0 {
            chi2 += (o - e) * (o - e) / e;
            cells += 1;
        } else {
            po += o;
            pe += e;
        }
    }
    if pe > 0.0 {
        chi2 += (po - pe) * (po - pe) / pe.max(1e-300);
        cells += 1;
    }
    let dof = (cells - 1) as f64;
    (chi2, dof, chi2_sf(chi2, dof))
}

/// CDF of the Irwin–Hall law (the sum S of n independent uniforms on [0, 1]) at x, by the stable recursion
/// F_n(x) = [x F_{n−1}(x) + (n − x) F_{n−1}(x − 1)] / n (all terms ≥ 0), F_0 = step at 0.
pub fn irwin_hall_cdf(n: usize, x: f64) -> f64 {
    if x <= 0.0 {
        return if n == 0 && x == 0.0 { 1.0 } else { 0.0 };
    }
    if x >= n as f64 {
        return 1.0;
    }
    // f[j] = F_k(x − j) for j = 0 ..= n − k
    let mut f: Vec<f64> = (0..=n).map(|j| if x - j as f64 >= 0.0 { 1.0 } else { 0.0 }).collect();
    for k in 1..=n {
        for j in 0..=(n - k) {
            let y = x - j as f64;
            let v = if y <= 0.0 {
                0.0
            } else if y >= k as f64 {
                1.0
            } else {
                (y * f[j] + (k as f64 - y) * f[j + 1]) / k as f64
            };
            f[j] = v;
        }
    }
    f[0]
}

/// The exact Eq. (79) for a sharp initial (q₀, p₀) and spin weight w = |c|² of one branch (sign s = −1 for ↑,
/// +1 for ↓): the probability that at time t the particle of that branch lies in [q_lo, q_hi) × [p_lo, p_hi).
/// Given N ~ Poisson(ωt/τ) jumps at independent uniform times t_i, p = p₀ + s N τB and
/// q = q₀ + p₀t/m + s(τB/m) Σ(t − t_i) = q₀ + p₀t/m + s(τBt/m) S, S Irwin–Hall(N).
#[allow(clippy::too_many_arguments)]
pub fn eq79_cell_probability(w: f64, s: f64, omega: f64, b: f64, tau: f64, m: f64, q0: f64, p0: f64, t: f64, q: [f64; 2], p: [f64; 2]) -> f64 {
    let lambda = omega * t / tau;
    let nmax = (lambda + 12.0 * lambda.sqrt() + 30.0) as u64;
    let q_free = q0 + p0 * t / m;
    let scale = tau * b * t / m;
    let mut total = 0.0;
    for n in 0..=nmax {
        let pn = p0 + s * n as f64 * tau * b;
        if !(pn >= p[0] && pn < p[1]) {
            continue;
        }
        // q in [q_lo, q_hi) ⟺ S in an interval (s flips it)
        let (a, c) = ((q[0] - q_free) / (s * scale), (q[1] - q_free) / (s * scale));
        let (lo, hi) = if a < c { (a, c) } else { (c, a) };
        let prob_q = if n == 0 {
            f64::from(u8::from(q_free >= q[0] && q_free < q[1]))
        } else {
            irwin_hall_cdf(n as usize, hi) - irwin_hall_cdf(n as usize, lo)
        };
        total += poisson_pmf(n, lambda) * prob_q;
    }
    w * total
}

/// Eq. (81): |α(t)| over trajectories, E|α| = |c↑c↓| e^{−ωt/τ}.
pub fn eq81_coherence(c_up_sq: f64, omega: f64, tau: f64, t: f64) -> f64 {
    (c_up_sq * (1.0 - c_up_sq)).sqrt() * (-omega * t / tau).exp()
}

/// Eq. (81)'s phase for a trajectory that has not jumped, at its current (q, p): α/|α| = e^{iφ₀} e^{−2iBωt(q − pt/2m)}.
pub fn eq81_phase(phi0: f64, b: f64, omega: f64, t: f64, q: f64, p: f64, m: f64) -> f64 {
    phi0 - 2.0 * b * omega * t * (q - p * t / (2.0 * m))
}

/// The semiclassical particle (coupled to ⟨Ĥ_m⟩ = ω(|c↑|² − |c↓|²)): force F = −Bω(|c↑|² − |c↓|²), so
/// (q, p)(t) = (q₀ + p₀t/m + F t²/2m, p₀ + F t); also E[(q, p)] of the CQ trajectories (linear model).
pub fn semiclassical_qubit(c_up_sq: f64, omega: f64, b: f64, m: f64, q0: f64, p0: f64, t: f64) -> (f64, f64) {
    let f = -b * omega * (2.0 * c_up_sq - 1.0);
    (q0 + p0 * t / m + f * t * t / (2.0 * m), p0 + f * t)
}

/// The continuous realisation (Eq. (82) without the higher orders, momentum diffusion D2): on the branch with force
/// f the particle from a sharp (q₀, p₀) is Gaussian with
/// mean (q₀ + p₀t/m + f t²/2m, p₀ + f t), Var p = D2 t, Var q = D2 t³/(3m²), Cov = D2 t²/(2m).
pub fn continuous_branch_moments(f: f64, d2: f64, m: f64, q0: f64, p0: f64, t: f64) -> ([f64; 2], [f64; 3]) {
    ([q0 + p0 * t / m + f * t * t / (2.0 * m), p0 + f * t], [d2 * t.powi(3) / (3.0 * m * m), d2 * t * t / (2.0 * m), d2 * t])
}

/// E|α_cond(t)| of the continuous realisation with decoherence D0 = (1 + x)/(4 D2) and L = diag(l, −l): at
/// saturation the conditional state is the Bayesian posterior, |α| = √(u↑u↓), and
/// E√(u↑u↓) = |c↑c↓| ∫√(P(y|↑)P(y|↓)) dy = |c↑c↓| e^{−l²t/(2D2)} (the Bhattacharyya coefficient of N(∓lt, D2t));
/// the excess adds the unconditioned dephasing e^{−x l² t/(2D2)}.
pub fn continuous_coherence(c_up_sq: f64, l: f64, d2: f64, x: f64, t: f64) -> f64 {
    (c_up_sq * (1.0 - c_up_sq)).sqrt() * (-(1.0 + x) * l * l * t / (2.0 * d2)).exp()
}

/// 1 − tr ρ² of the continuous realisation's conditional qubit with excess x, given its populations:
/// |α|² = u↑u↓ e^{−x l² t/D2}, so 1 − purity = 2 u↑u↓ (1 − e^{−x l² t/D2}).
pub fn continuous_impurity(u_up: f64, l: f64, d2: f64, x: f64, t: f64) -> f64 {
    2.0 * u_up * (1.0 - u_up) * (1.0 - (-x * l * l * t / d2).exp())
}

/// The continuous CQ master equation for the qubit (paper Eq. (7) with L̂ = ∂Ĥ/∂q = diag(l, −l), decoherence
/// D0·D[L̂], diffusion (D2/2)∂²_p, infinite mass so that q stays put) from a sharp p₀ = 0 solved exactly:
/// u↑,↓(p) = |c↑,↓|² N(p; ∓lt, D2t), α(p) = c↑c↓* N(p; 0, D2t) e^{−2 D0 l² t}. Returns the smallest eigenvalue
/// of ρ̂(p) over a grid of p, relative to the largest u: negative means the state is not positive.
pub fn continuous_master_min_eigenvalue(c_up_sq: f64, l: f64, d2: f64, d0: f64, t: f64) -> f64 {
    let gauss = |p: f64, mu: f64| (-(p - mu) * (p - mu) / (2.0 * d2 * t)).exp() / (2.0 * std::f64::consts::PI * d2 * t).sqrt();
    let sd = (d2 * t).sqrt();
    let mut worst = f64::INFINITY;
    let mut umax = 0.0f64;
    for k in -400..=400 {
        let p = (l * t + 6.0 * sd) * k as f64 / 400.0;
        let up = c_up_sq * gauss(p, -l * t);
        let dn = (1.0 - c_up_sq) * gauss(p, l * t);
        let a = (c_up_sq * (1.0 - c_up_sq)).sqrt() * gauss(p, 0.0) * (-2.0 * d0 * l * l * t).exp();
        // eigenvalues of [[up, a], [a, dn]]
        let mean = 0.5 * (up + dn);
        let disc = (0.25 * (up - dn) * (up - dn) + a * a).sqrt();
        worst = worst.min(mean - disc);
        umax = umax.max(up.max(dn));
    }
    worst / umax
}

/// The skewness of the discrete realisation's (q, p) on one branch (Eq. (79): N ~ Poisson(λ = ωt/τ) kicks of τB at
/// uniform times), of p − p₀ = ∓τBN and of q − q_free = ∓(τBt/m)S, S compound Poisson of uniforms (cumulants
/// κ_k = λ E[U^k]): |skew p| = 1/√λ, |skew q| = (λ/4)/(λ/3)^{3/2} = (3√3/4)/√λ; the continuous realisation's are 0.
/// Returned as (q, p) for the branch whose kicks are positive (↓); the ↑ branch has the opposite signs.
pub fn discrete_skewness(lambda: f64) -> (f64, f64) {
    (0.75 * 3f64.sqrt() / lambda.sqrt(), 1.0 / lambda.sqrt())
}

/// Sample mean and (unbiased) standard deviation.
pub fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt())
}
