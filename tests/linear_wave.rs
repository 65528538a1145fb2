//! SPEC §8.2 / issue 2 acceptance 2: the linear gravitational wave of the Alcubierre et al. (2004) testbed,
//! h_yy = −h_zz = A sin(2π(x − t)/d), A = 1e-8, converges to the exact solution at the scheme's order.
mod common;
use common::*;
use cqgrav::physics::initial_data::linear_wave;
use cqgrav::state::var;

const A: f64 = 1e-8;

/// max error of g_yy and π^yy against the exact wave after one crossing time, on an N×1×1 lattice, d = 1.
fn wave_error(n: usize, order: u32) -> (f64, f64) {
    let h = 1.0 / n as f64;
    let s = Setup { shape: [n, 1, 1], h, order, dt: 0.25 * h, ..Default::default() };
    let steps = 4 * n as u64; // t = 1 = one crossing
    let init = linear_wave(s.lattice(), A, 0.0);
    let out = run_cpu(&s, &init, steps);
    let exact = linear_wave(s.lattice(), A, out.t);
    assert!((out.t - 1.0).abs() < 1e-12);
    (max_diff(&out, &exact, var::G + 3) / A, max_diff(&out, &exact, var::PI + 3) / A)
}

fn check_order(order: u32, ns: [usize; 3], tol: f64) {
    let e: Vec<(f64, f64)> = ns.iter().map(|&n| wave_error(n, order)).collect();
    for w in 0..2 {
        let r1 = (e[w].0 / e[w + 1].0).log2();
        let r2 = (e[w].1 / e[w + 1].1).log2();
        println!(
            "order {order}: N = {} → {}: error(g_yy)/A {:.3e} → {:.3e} (rate {r1:.3}); error(π^yy)/A {:.3e} → {:.3e} (rate {r2:.3})",
            ns[w], ns[w + 1], e[w].0, e[w + 1].0, e[w].1, e[w + 1].1
        );
        assert!((r1 - order as f64).abs() <= tol, "g_yy convergence rate {r1} not {order} ± {tol}");
        assert!((r2 - order as f64).abs() <= tol, "π^yy convergence rate {r2} not {order} ± {tol}");
    }
}

#[test]
fn linear_wave_converges_at_fourth_order() {
    check_order(4, [16, 32, 64], 0.3);
}

#[test]
fn linear_wave_converges_at_second_order() {
    check_order(2, [32, 64, 128], 0.3);
}

/// The wave moves at unit phase speed: on a fine lattice the best-fit phase after one crossing is the exact one.
#[test]
fn linear_wave_phase_speed_is_one() {
    let n = 64;
    let h = 1.0 / n as f64;
    let s = Setup { shape: [n, 1, 1], h, dt: 0.25 * h, ..Default::default() };
    let init = linear_wave(s.lattice(), A, 0.0);
    let out = run_cpu(&s, &init, 2 * n as u64); // t = 0.5
    // project δg_yy on sin and cos of 2πx to get the phase φ = 2π(x − c t)
    let (mut ps, mut pc) = (0.0, 0.0);
    for i in 0..n {
        let x = i as f64 * h;
        let v = out.field(var::G + 3)[i];
        ps += v * (2.0 * std::f64::consts::PI * x).sin();
        pc += v * (2.0 * std::f64::consts::PI * x).cos();
    }
    // A sin(2π(x − ct)) = A[sin 2πx cos 2πct − cos 2πx sin 2πct] → ps ∝ cos 2πct, pc ∝ −sin 2πct
    let ct = (-pc).atan2(ps) / (2.0 * std::f64::consts::PI);
    let speed = ct / out.t;
    println!("measured phase speed {speed:.12}");
    assert!((speed - 1.0).abs() < 1e-6, "phase speed {speed}");
}
