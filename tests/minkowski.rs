//! SPEC §8.1 / issue 2 acceptance 1: Minkowski stays Minkowski to round-off over 100 steps.
mod common;
use common::*;
use cqgrav::config::{Lapse, Precision};
use cqgrav::physics::initial_data::minkowski;

#[test]
fn minkowski_is_stationary_cpu() {
    for (lapse, precision, order) in [
        (Lapse::Geodesic, Precision::F64, 4),
        (Lapse::Harmonic, Precision::F64, 2),
        (Lapse::OnePlusLog, Precision::F32, 4),
    ] {
        let s = Setup { lapse, precision, order, dissipation: 0.1, ..Default::default() };
        let init = minkowski(s.lattice());
        let out = run_cpu(&s, &init, 100);
        let dev = max_diff_all(&out, &init);
        println!("{lapse:?} {precision:?} order {order}: max deviation after 100 steps {dev:e}");
        assert!(dev <= 1e-14, "Minkowski drifted by {dev}");
        assert_eq!(out.step, 100);
    }
}
