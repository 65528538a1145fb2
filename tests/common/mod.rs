//! Test harness: build stepper setups without a config file and run either backend.
#![allow(dead_code)]
use cqgrav::backend::{cpu_stepper, StepperSetup};
use cqgrav::config::{Lapse, Precision};
use cqgrav::numerics::lattice::Lattice;
use cqgrav::numerics::stencil::Stencil;
use cqgrav::physics::adm_rhs::RhsParams;
use cqgrav::state::State;

pub struct Setup {
    pub shape: [usize; 3],
    pub h: f64,
    pub order: u32,
    pub dissipation: f64,
    pub mass: f64,
    pub lambda: f64,
    pub lapse: Lapse,
    pub dt: f64,
    pub precision: Precision,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            shape: [8, 8, 8],
            h: 0.1,
            order: 4,
            dissipation: 0.0,
            mass: 1.0,
            lambda: 0.0,
            lapse: Lapse::Geodesic,
            dt: 0.025,
            precision: Precision::F64,
        }
    }
}

impl Setup {
    pub fn lattice(&self) -> Lattice {
        Lattice::new(self.shape, self.h)
    }
    pub fn build(&self) -> StepperSetup {
        StepperSetup {
            lattice: self.lattice(),
            stencil: Stencil::new(self.order),
            dissipation: self.dissipation,
            params: RhsParams { lambda: self.lambda, mass: self.mass, lapse: self.lapse, background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0] },
            dt: self.dt,
            precision: self.precision,
            background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            noise: Default::default(),
            drift: true,
            quantum: None,
            representation: cqgrav::config::Representation::None,
            ensemble: Default::default(),
            substep_tolerance: cqgrav::config::DEFAULT_SUBSTEP_TOLERANCE,
        }
    }
}

pub fn run_cpu(setup: &Setup, init: &State, steps: u64) -> State {
    let mut st = cpu_stepper(setup.build().with_background_of(init), init);
    st.advance(steps).unwrap();
    st.download().unwrap()
}

/// max |a − b| over one field.
pub fn max_diff(a: &State, b: &State, v: usize) -> f64 {
    a.field(v).iter().zip(b.field(v)).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// max |a − b| over all fields.
pub fn max_diff_all(a: &State, b: &State) -> f64 {
    a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// A GPU stepper; `None` (with a message) when no usable adapter exists and CQGRAV_ALLOW_NO_GPU=1, a panic
/// otherwise (the GPU path must run in CI, on lavapipe).
pub fn gpu_stepper(setup: StepperSetup, init: &State) -> Option<cqgrav::backend::gpu::GpuStepper> {
    match cqgrav::backend::gpu::GpuStepper::new(setup, init) {
        Ok(s) => Some(s),
        Err(e) if std::env::var("CQGRAV_ALLOW_NO_GPU").as_deref() == Ok("1") => {
            eprintln!("skipping GPU test (CQGRAV_ALLOW_NO_GPU=1): {e:#}");
            None
        }
        Err(e) => panic!("no usable GPU adapter for the GPU-path tests: {e:#}\n(install mesa-vulkan-drivers for the software Vulkan device)"),
    }
}

/// A Python interpreter that imports `modules` (comma-separated): $CQGRAV_PYTHON, then .venv (made by
/// scripts/test.sh), then python3; panics with the fix when none does.
pub fn python_with(modules: &str) -> std::path::PathBuf {
    use std::path::{Path, PathBuf};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = std::env::var_os("CQGRAV_PYTHON").map(PathBuf::from).into_iter().collect();
    candidates.push(repo.join(".venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    for p in &candidates {
        let ok = std::process::Command::new(p)
            .args(["-c", &format!("import {modules}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return p.clone();
        }
    }
    panic!(
        "no Python with {modules} (tried {candidates:?}): run scripts/test.sh, which creates .venv with them, or set \
         CQGRAV_PYTHON to a python that has them"
    );
}

/// A smooth, fully 3-D, non-symmetric state (not a solution of the constraints): every variable and every
/// stencil direction matters, so it exercises every term of the kernels. δg_ab = `metric_amp`·w_k,
/// π^ab = 0.02·w_{k+2}, N = 1 + `lapse_amp`·w_3, φ = 0.3 + 0.1·w_4, π_φ = 0.05·w_5, with six periodic modes w.
pub fn smooth_3d_state(lat: cqgrav::numerics::lattice::Lattice, metric_amp: f64, lapse_amp: f64) -> State {
    use cqgrav::state::var;
    use std::f64::consts::PI;
    let mut st = State::zeros(lat);
    let l = lat.box_lengths();
    let n = lat.sites();
    for i in 0..n {
        let p = lat.position(i);
        let (x, y, z) = (2.0 * PI * p[0] / l[0], 2.0 * PI * p[1] / l[1], 2.0 * PI * p[2] / l[2]);
        let w = [(x + y).sin(), (y - z).cos(), (x + 2.0 * z).sin(), (x - y + z).cos(), (2.0 * y).sin(), (z - x).sin()];
        for k in 0..6 {
            st.data[(var::G + k) * n + i] = metric_amp * w[k];
            st.data[(var::PI + k) * n + i] = 0.02 * w[(k + 2) % 6];
        }
        st.data[var::LAPSE * n + i] = 1.0 + lapse_amp * w[3];
        st.data[var::PHI * n + i] = 0.3 + 0.1 * w[4];
        st.data[var::PI_PHI * n + i] = 0.05 * w[5];
    }
    st
}

/// Runs the `cqgrav` binary in `dir` with `args`: (success, stdout + stderr).
pub fn cqgrav(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cqgrav")).args(args).current_dir(dir).env("NODEVICE_SELECT", "1").output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// max |a − b| / max |b| for each field group δg, π (one scale per tensor, so that components that vanish in exact
/// arithmetic are measured against the tensor's size), N, φ, π_φ; absolute where the group of b is zero.
pub fn field_group_rel_diffs(a: &State, b: &State) -> [f64; 5] {
    let groups: [&[usize]; 5] = [&[0, 1, 2, 3, 4, 5], &[6, 7, 8, 9, 10, 11], &[12], &[13], &[14]];
    groups.map(|grp| {
        let scale = grp.iter().flat_map(|&v| b.field(v).iter()).fold(0.0f64, |m, x| m.max(x.abs()));
        let d = grp.iter().map(|&v| max_diff(a, b, v)).fold(0.0f64, f64::max);
        if scale > 0.0 {
            d / scale
        } else {
            d
        }
    })
}

/// A small noisy dense run (issue 5) for the command-line tests: 7×7×1, 8 steps, output every 2/4 steps.
pub const DENSE_RUN: &str = r#"
[lattice]
shape = [7, 7, 1]
spacing = 2.0
[time]
dt = 0.05
steps = 8
[initial]
kind = "frw"
phi = 0.5
[matter]
mass = 1.0
representation = "dense"
[cq]
diffusion = 1.0
[output]
file = "run.h5"
timeseries_every = 2
snapshot_every = 4
checkpoint_every = 4
[run]
backend = "cpu"
seed = 3
"#;

/// A toy-model setup (src/toy, SPEC §12) from TOML text, through the `cqgrav toy` loader and its validation.
pub fn toy_setup(text: &str) -> cqgrav::toy::ToySetup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toy.toml");
    std::fs::write(&path, text).unwrap();
    cqgrav::toy::config::load(Some(&path), &[]).unwrap_or_else(|e| panic!("{e}")).config.setup()
}

/// The factor on the toy-model tests' trajectory counts: 10 with `CQGRAV_TOY_HEAVY=1` (heavier statistics, opt-in),
/// else 1.
pub fn toy_heavy() -> u32 {
    if std::env::var("CQGRAV_TOY_HEAVY").as_deref() == Ok("1") {
        10
    } else {
        1
    }
}
