//! The `ensemble` representation with a non-quadratic potential V = ½m²φ² + U(φ) (issue 13; docs/cosmology.md §1):
//! the classical-statistical (truncated-Wigner) approximation of lattice cosmology. The M members sample the
//! Wigner function of the initial Gaussian state; each sample field X_s = φ̄ + c δ_s is then moved by the classical
//! equations of motion, and expectation values are member averages. With the members in two centred halves
//! (physics/ensemble_dynamics.rs) the marginal variance of δ_s is (1 − 2/M) Γ, so the sample fields use
//! c = sqrt(M/(M − 2)), which makes X_s ~ N(φ̄, Γ) exactly at the start.
//!
//! The quadratic part of V (mass, gradients, metric) keeps moving the members linearly through the ensemble's
//! drift; this module adds the non-quadratic part U, per site x (N, √g, g^ab there):
//!   ∂t π̄_φ   ⊃ −N√g ⟨U′(X)⟩,                     ⟨f(X)⟩ = (1/M) Σ_s f(φ̄ + c δ_s)
//!   ∂t δ_s,π ⊃ −N√g (U′(φ̄ + c δ_s) − ⟨U′(X)⟩_h)/c,  ⟨·⟩_h the mean over the half h ∋ s (keeps each half centred)
//!   ⟨L̂^ab⟩   ⊃ ½ N√g g^ab (⟨U(X)⟩ − U(φ̄)),         ⟨Ĥ_m⟩ ⊃ √g (⟨U(X)⟩ − U(φ̄))
//! (the U(φ̄) parts are the classical kernel's mean-field terms). In the linear regime, U′(φ̄ + cδ) ≈ U′(φ̄) +
//! U″(φ̄) c δ, the members obey the linearised (Lamé/Mathieu) mode equations exactly and the mean feels
//! ½U‴(φ̄)⟨δφ²⟩ (the Hartree term). The vacuum renormalisation concerns the quadratic part only: ⟨U(X)⟩ keeps the
//! zero-point fluctuations' contribution (e.g. 3λφ̄²⟨δφ²⟩_vac, a mass shift) — the UV sensitivity of the
//! classical-statistical approximation, which the initial cutoff `initial.fluctuation_cutoff` controls, as in
//! CosmoLattice and LATTICEEASY.
use super::gaussian_forms::SiteCoeffs;
use super::potential::Polynomial;

/// c = sqrt(M/(M − 2)): the scale of the members in the sample fields X_s = φ̄ + c δ_s.
pub fn sample_scale(members: usize) -> f64 {
    (members as f64 / (members as f64 - 2.0)).sqrt()
}

/// Adds U's terms of one RK4 stage: `dx` (2n: ∂t φ̄ then ∂t π̄_φ), `dd` (the members' right-hand side, member-minor
/// layout d[(f·n + x)·M + s]), `br` (⟨L̂^ab⟩_ren − ½x̄ᵀA_{ab}x̄ per site), for the stage's members `d` and mean `xbar`.
#[allow(clippy::too_many_arguments)]
pub fn add_stage_terms(
    u: &Polynomial<f64>,
    sites: &[SiteCoeffs],
    xbar: &[f64],
    d: &[f64],
    members: usize,
    dx: &mut [f64],
    dd: &mut [f64],
    br: &mut [[f64; 6]],
) {
    use rayon::prelude::*;
    let n = sites.len();
    let m = members;
    let c = sample_scale(m);
    let h = m / 2;
    let (_, dd_pi) = dd.split_at_mut(n * m);
    let rows: Vec<(f64, f64)> = dd_pi
        .par_chunks_mut(m)
        .enumerate()
        .map(|(x, row)| {
            let geo = &sites[x].geo;
            let nsg = geo.lapse * geo.sqrtg;
            let phi = xbar[x];
            let dphi = &d[x * m..(x + 1) * m];
            let f: Vec<f64> = dphi.iter().map(|&v| u.d1(phi + c * v)).collect();
            let mean_a = f[..h].iter().sum::<f64>() / h as f64;
            let mean_b = f[h..].iter().sum::<f64>() / (m - h) as f64;
            for (s, r) in row.iter_mut().enumerate() {
                let mh = if s < h { mean_a } else { mean_b };
                *r -= nsg * (f[s] - mh) / c;
            }
            let v = dphi.iter().map(|&v| u.value(phi + c * v)).sum::<f64>() / m as f64 - u.value(phi);
            (0.5 * (mean_a + mean_b), v)
        })
        .collect();
    for (x, (fmean, dv)) in rows.into_iter().enumerate() {
        let geo = &sites[x].geo;
        let nsg = geo.lapse * geo.sqrtg;
        dx[n + x] -= nsg * fmean;
        for k in 0..6 {
            br[x][k] += 0.5 * nsg * geo.ginv[k] * dv;
        }
    }
}

/// ⟨U(X)⟩ − U(φ̄) per site (the fluctuations' potential energy beyond the quadratic part, per unit √g).
pub fn potential_excess(u: &Polynomial<f64>, xbar_phi: &[f64], d: &[f64], members: usize) -> Vec<f64> {
    let c = sample_scale(members);
    xbar_phi
        .iter()
        .enumerate()
        .map(|(x, &phi)| d[x * members..(x + 1) * members].iter().map(|&v| u.value(phi + c * v)).sum::<f64>() / members as f64 - u.value(phi))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two centred halves of Gaussian samples: c δ has the variance of the distribution the halves were drawn from.
    #[test]
    fn scaled_members_have_the_sampled_variance() {
        let m = 8;
        let (mut sum, mut count) = (0.0, 0usize);
        let mut state = 12345u64;
        let mut normal = || {
            let mut u = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (a, b) = (u(), u());
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        };
        for _ in 0..40000 {
            let mut z: Vec<f64> = (0..m).map(|_| normal()).collect();
            for half in z.chunks_mut(m / 2) {
                let mean = half.iter().sum::<f64>() / half.len() as f64;
                half.iter_mut().for_each(|v| *v -= mean);
            }
            let c = sample_scale(m);
            sum += z.iter().map(|v| (c * v).powi(2)).sum::<f64>();
            count += m;
        }
        let var = sum / count as f64;
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }
}
