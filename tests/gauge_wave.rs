//! SPEC §8.3 / issue 2 acceptance 3: the gauge wave of the Alcubierre et al. (2004) testbed, A = 0.01,
//! harmonic slicing (∂t N = N²K with K > 0 expansion, see src/physics/gauge.rs), d = 1, middle resolution
//! N = 100 (testbed resolutions 50/100/200), courant 0.25, fourth order, Kreiss–Oliger σ = 0.1, run for 100
//! crossing times. ADM is known to lose this test eventually (weakly hyperbolic, plus the continuum's
//! exponentially growing gauge modes); docs/validation.md documents the error envelope measured with these
//! settings, and this test fails on NaN or on growth beyond it.
mod common;
use common::*;
use cqgrav::config::Lapse;
use cqgrav::physics::initial_data::gauge_wave;
use cqgrav::state::var;

/// Documented envelope (docs/validation.md): max |g_xx − exact| / A must stay below these values at
/// crossing 10, 20, …, 100 (ten times the errors measured when the envelope was set).
const ENVELOPE: [f64; 10] = [1e-4, 3e-4, 6e-4, 1e-3, 1.5e-3, 2e-3, 5e-3, 4e-2, 5e-1, 1.2e1];

#[test]
fn gauge_wave_100_crossings() {
    let a = 0.01;
    let n = 100;
    let h = 1.0 / n as f64;
    let s = Setup { shape: [n, 1, 1], h, order: 4, lapse: Lapse::Harmonic, dissipation: 0.1, dt: 0.25 * h, ..Default::default() };
    let init = gauge_wave(s.lattice(), a, 0.0);
    let mut st = cqgrav::backend::cpu_stepper(s.build().with_background_of(&init), &init);
    let mut previous = 0.0;
    for c in 1..=100u64 {
        st.advance(4 * n as u64).unwrap();
        let out = st.download().unwrap();
        assert!(out.data.iter().all(|x| x.is_finite()), "NaN/Inf at crossing {c}");
        if c % 10 == 0 {
            let exact = gauge_wave(s.lattice(), a, out.t);
            let e = max_diff(&out, &exact, var::G) / a;
            let en = max_diff(&out, &exact, var::LAPSE) / a;
            println!(
                "crossing {c:3} (t = {:5.1}): |g_xx − exact|/A = {e:.3e}, |N − exact|/A = {en:.3e}, growth ×{:.2} per 10 crossings",
                out.t,
                if previous > 0.0 { e / previous } else { f64::NAN }
            );
            previous = e;
            let bound = ENVELOPE[(c / 10 - 1) as usize];
            assert!(e <= bound, "error {e:.3e} at crossing {c} exceeds the documented envelope {bound:.1e}");
        }
    }
}
