//! What `cqgrav run` tells a newcomer about the built-in default example (`data/default.toml`): before the run,
//! what is simulated and what each column of the summary lines means; after it, what the run showed — the CQ
//! noise against its predicted variance, the decoherence's heating of the quantum field, the purity of the
//! conditioned state, the constraints — and where to look next. The numbers come from the output file itself.
use super::number::g;
use crate::config::Config;
use crate::io::OutputFile;
use std::fmt::Write as _;

/// The paragraph printed before the default example runs.
pub fn intro(c: &Config) -> String {
    let [n1, n2, n3] = c.lattice.shape;
    format!(
        "What this shows: classical-quantum (CQ) gravity (Oppenheim 2023) on a {n1}×{n2}×{n3} periodic lattice. The 3-metric g_ab
and its momentum π^ab are classical; the scalar field (mass m = {m}) is quantum, a Gaussian state that starts in
the vacuum of a static, flat universe (φ̄ = {phi}, H = 0). In GR with quantum fields (D2 = 0) nothing would
happen. With the CQ coupling D2 = {d2}, π^ab diffuses (CQ noise), and in exchange the field decoheres — the
decoherence–diffusion trade-off — while the state, conditioned on the noise it caused, stays pure.
Each line: time t, scale factor a and Hubble rate H (static without CQ), the relative constraint violations
ham_rel, mom_rel (0 in GR; at t = 0 of this exactly static start a ratio of round-offs), the mean field φ̄, the fluctuations ⟨δφ²⟩ (box mean; constant in the vacuum without
CQ), ν_min (smallest symplectic eigenvalue of the state's covariance over ½: 1 = pure) and noise/expected (the
realised variance of the step's noise increments over the theory's prediction).",
        m = g(c.matter.mass, 4),
        phi = g(c.initial.phi, 4),
        d2 = g(c.cq.diffusion, 4),
    )
}

/// The paragraph printed after the default example: what the run's own output shows.
pub fn what_you_saw(f: &OutputFile) -> String {
    let ts = &f.timeseries;
    let col = |n: &str| ts.column(n).unwrap_or(&[]);
    let mut s = String::from("What you saw:\n");
    let (var, exp) = (col("noise_var"), col("noise_var_expected"));
    let ratios: Vec<f64> = var.iter().zip(exp).filter(|(_, e)| **e > 0.0).map(|(v, e)| v / e).filter(|r| r.is_finite()).collect();
    if !ratios.is_empty() {
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        let _ = writeln!(
            s,
            "  CQ noise     the increments dW^ab that kicked π^ab had the variance the theory predicts (realised/expected\n               = {}, mean of {} rows; SPEC §3): the metric is stochastic — H went from 0 to {} (range {} … {}),\n               a = {} at the end; the noise injects shear into K_ab, which focuses the observers (Raychaudhuri)",
            g(mean, 3),
            ratios.len(),
            g(col("hubble").last().copied().unwrap_or(f64::NAN), 3),
            g(col("hubble").iter().copied().fold(f64::INFINITY, f64::min), 3),
            g(col("hubble").iter().copied().fold(f64::NEG_INFINITY, f64::max), 3),
            g(col("a").last().copied().unwrap_or(f64::NAN), 4)
        );
    }
    let phi2 = col("phi2_mean");
    if let (Some(&first), Some(&last)) = (phi2.first(), phi2.last()) {
        if first > 0.0 {
            let _ = writeln!(
                s,
                "  quantum      ⟨δφ²⟩ went from {} (the vacuum) to {} ({:+.0} %): the field is heated by the decoherence that\n               comes with the noise (SPEC §4.1) and squeezed by the contraction it drives; without CQ coupling the\n               vacuum of the static universe would stay exactly as it was",
                g(first, 4),
                g(last, 4),
                100.0 * (last / first - 1.0)
            );
        }
    }
    let nu = col("state_min_symplectic");
    if nu.iter().any(|v| v.is_finite()) {
        let dev = nu.iter().map(|v| (v - 1.0).abs()).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
        let _ = writeln!(
            s,
            "  purity       ν_min stayed 1 to {}: conditioned on the noise record, the decohered state is still pure — what\n               decoheres is the average over noise realisations (try cqgrav run --realizations 8)",
            g(dev, 2)
        );
    }
    let ham = col("ham_l2");
    if let (Some(&first), Some(&last)) = (ham.first(), ham.last()) {
        let _ = writeln!(
            s,
            "  constraints  the Hamiltonian constraint's L2 norm rose from {} (round-off) to {}: CQ dynamics leaves the GR\n               constraint surface (SPEC §5)",
            g(first, 2),
            g(last, 2)
        );
    }
    let main = f.paths.main.display();
    let _ = write!(
        s,
        "Next: cqgrav plot {main} (SVG and PNG pages in {main}.plots/), cqgrav inspect {main};\n      ParaView or pyvista on {}; Python: import cqgrav; cqgrav.open_run(\"{main}\") (docs/output.md)",
        f.paths.xdmf.display()
    );
    s
}
