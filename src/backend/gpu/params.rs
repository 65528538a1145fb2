//! The parameter blocks `pu` (u32) and `pr` (real) of the lattice kernels; layout documented in
//! shaders/lattice.wgsl. One block per RK4 stage (they differ in the stage index and w·dt, c·dt).
use crate::backend::StepperSetup;
use crate::config::Lapse;
use crate::numerics::rk4::Rk4Stage;

pub fn lapse_code(l: Lapse) -> u32 {
    match l {
        Lapse::Geodesic => 0,
        Lapse::Harmonic => 1,
        Lapse::OnePlusLog => 2,
    }
}

/// pu[7]: 0 classical scalar field, 1 dense quantum field (evolve_stage.wgsl reads its right-hand side from
/// qrhs), 2 dense quantum field in a frozen metric (`cq.frozen_drift`: g, π, N do not evolve).
pub fn quantum_mode(setup: &StepperSetup) -> u32 {
    match (setup.quantum.is_some(), setup.drift) {
        (false, _) => 0,
        (true, true) => 1,
        (true, false) => 2,
    }
}

pub fn params_u(setup: &StepperSetup, stage: &Rk4Stage) -> [u32; 8] {
    let [n1, n2, n3] = setup.lattice.shape;
    [
        n1 as u32,
        n2 as u32,
        n3 as u32,
        setup.stencil.radius as u32,
        setup.stencil.ko_radius as u32,
        lapse_code(setup.params.lapse),
        stage.index as u32,
        quantum_mode(setup),
    ]
}

/// Reals of the lattice block of `pr` before the potential's coefficients (the dense kernels append their block
/// after these, shaders/jets.wgsl).
pub const LATTICE_BLOCK: usize = 32;

/// The real parameters in f64; converted to the run's precision by rounding each once (as the CPU twin's
/// `Fd::new` and `combine` do). After the lattice block: the coefficients c_0 … c_8 of U(φ) (issue 13;
/// physics/potential.rs), read by evolve_stage and diagnostics.
pub fn params_r(setup: &StepperSetup, stage: &Rk4Stage) -> [f64; LATTICE_BLOCK + crate::physics::potential::POLY_LEN] {
    let s = &setup.stencil;
    let h = setup.lattice.spacing;
    let mut p = [0.0; LATTICE_BLOCK + crate::physics::potential::POLY_LEN];
    p[0..5].copy_from_slice(&s.c1);
    p[5..10].copy_from_slice(&s.c2);
    p[10..17].copy_from_slice(&s.ko);
    p[17] = 1.0 / (s.d1 * h);
    p[18] = 1.0 / (s.d2 * h * h);
    p[19] = 1.0 / (s.d1 * h * s.d1 * h);
    p[20] = s.ko_factor * setup.dissipation / h;
    p[21] = setup.params.lambda;
    p[22] = setup.params.mass;
    p[23] = stage.w * setup.dt;
    p[24] = stage.c * setup.dt;
    p[25..31].copy_from_slice(&setup.background);
    p[LATTICE_BLOCK..].copy_from_slice(&setup.params.potential.c);
    p
}
