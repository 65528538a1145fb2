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
            params: RhsParams { lambda: self.lambda, mass: self.mass, potential: Default::default(), lapse: self.lapse, background: [1.0, 0.0, 0.0, 1.0, 0.0, 1.0] },
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

/// xorshift64*: reproducible random choices in tests (kill moments, fuzz mutations).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}
/// The small noisy run of [`DENSE_RUN`] with the `fourier` representation (issue 11).
pub fn fourier_run() -> String {
    DENSE_RUN.replace("representation = \"dense\"", "representation = \"fourier\"")
}

/// `cqgrav run` of `config` (written to c.toml in the new folder `dir/name`) with extra arguments `args`; its output
/// file (run.h5, as the test configs name it) and the folder.
pub fn cli_run(dir: &std::path::Path, name: &str, config: &str, args: &[&str]) -> (cqgrav::io::OutputFile, std::path::PathBuf) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("c.toml"), config).unwrap();
    let mut a = vec!["run", "c.toml", "--quiet"];
    a.extend_from_slice(args);
    let (ok, text) = cqgrav(&d, &a);
    assert!(ok, "{name}: {text}");
    (cqgrav::io::OutputFile::open(&d.join("run.h5")).unwrap(), d)
}

/// `config` (8 steps) run in one go and as 4 steps + checkpoint + `--restart` + 4 steps, each with the extra arguments
/// `args`: their output files (whole, restarted).
pub fn whole_and_restarted_runs(dir: &std::path::Path, config: &str, args: &[&str]) -> (cqgrav::io::OutputFile, cqgrav::io::OutputFile) {
    let (whole, _) = cli_run(dir, "whole", config, args);
    let mut first: Vec<&str> = args.to_vec();
    first.extend_from_slice(&["--set", "time.steps = 4"]);
    let (_, half) = cli_run(dir, "half", config, &first);
    let mut again: Vec<&str> = vec!["run", "c.toml", "--quiet"];
    again.extend_from_slice(args);
    again.extend_from_slice(&["--restart", "run.h5"]);
    let (ok, text) = cqgrav(&half, &again);
    assert!(ok, "restart: {text}");
    (whole, cqgrav::io::OutputFile::open(&half.join("run.h5")).unwrap())
}

/// Each timeseries column of `cols` agrees between two output files to `tol` relative.
pub fn assert_columns_agree(a: &cqgrav::io::OutputFile, b: &cqgrav::io::OutputFile, cols: &[&str], tol: f64) {
    for col in cols {
        let (x, y) = (a.timeseries.column(col).unwrap(), b.timeseries.column(col).unwrap());
        assert_eq!(x.len(), y.len(), "{col}");
        for (u, v) in x.iter().zip(y.iter()) {
            assert!((u - v).abs() <= tol * v.abs().max(1e-12), "{col}: {u} vs {v}");
        }
    }
}

/// An inhomogeneous start for the quantum-field twin tests: a metric wave, a lapse perturbation and a mean field with
/// structure on every axis.
pub fn inhomogeneous_quantum_start(lat: cqgrav::numerics::lattice::Lattice) -> State {
    use cqgrav::state::var;
    let mut st = cqgrav::physics::initial_data::linear_wave(lat, 1e-3, 0.0);
    let n = lat.sites();
    let l = lat.shape.map(|s| s as f64 * lat.spacing);
    for i in 0..n {
        let c = lat.coords(i);
        let x: [f64; 3] = std::array::from_fn(|a| c[a] as f64 * lat.spacing);
        let tau = std::f64::consts::TAU;
        st.data[var::PHI * n + i] = 0.2 + 0.1 * (tau * x[0] / l[0]).sin() + 0.05 * (tau * (x[1] / l[1] + x[2] / l[2])).cos();
        st.data[var::PI_PHI * n + i] = 0.05 * (tau * x[2] / l[2]).sin();
        st.data[var::LAPSE * n + i] += 0.01 * (tau * x[1] / l[1]).cos();
    }
    st
}

/// max |a − b| / max |b| over one group of values (absolute where b is zero).
pub fn rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let d = a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if scale > 0.0 {
        d / scale
    } else {
        d
    }
}

/// The same setup advanced `steps` steps on the GPU (None when there is no adapter and CQGRAV_ALLOW_NO_GPU=1) and on the
/// CPU in f64: (GPU state, CPU state).
pub fn gpu_and_cpu_runs(s: StepperSetup, init: &State, steps: u64) -> Option<(State, State)> {
    use cqgrav::backend::Stepper;
    let mut g = gpu_stepper(s, init)?;
    println!("{}", g.description());
    let mut c = cpu_stepper(StepperSetup { precision: Precision::F64, ..s }, init);
    g.advance(steps).unwrap();
    c.advance(steps).unwrap();
    Some((g.download().unwrap(), c.download().unwrap()))
}

/// Restart through download/upload on the GPU: `steps` + `steps` steps through a downloaded state equal 2·`steps` steps
/// bit for bit, fields and quantum arrays (nothing when there is no adapter and CQGRAV_ALLOW_NO_GPU=1).
pub fn assert_gpu_restart_is_exact(s: StepperSetup, init: &State, steps: u64) {
    use cqgrav::backend::Stepper;
    let Some(mut a) = gpu_stepper(s, init) else { return };
    a.advance(2 * steps).unwrap();
    let straight = a.download().unwrap();
    let mut b = gpu_stepper(s, init).unwrap();
    b.advance(steps).unwrap();
    let mid = b.download().unwrap();
    let mut c = gpu_stepper(s, &mid).unwrap();
    c.upload(&mid);
    c.advance(steps).unwrap();
    let resumed = c.download().unwrap();
    assert_eq!(resumed.data, straight.data, "GPU restart: fields");
    assert_eq!(resumed.quantum, straight.quantum, "GPU restart: the quantum field");
}

/// `cqgrav check` refuses `config` with `--set set`, its message naming every word of `want`.
pub fn assert_refused(dir: &std::path::Path, config: &str, set: &str, want: &[&str]) {
    std::fs::write(dir.join("c.toml"), config).unwrap();
    let (ok, text) = cqgrav(dir, &["check", "c.toml", "--set", set]);
    assert!(!ok, "{set}: must be refused:\n{text}");
    for w in want {
        assert!(text.contains(w), "{set}: message must mention {w:?}:\n{text}");
    }
}

/// The verdict of a trajectory average against the unconditional Lindblad reference: the largest |z| of the entries, a
/// χ²-type statistic per degree of freedom (`stat`, `what` names it) below `limit`, and the unitary prediction rejected.
pub fn assert_follows_lindblad(zmax: f64, stat: f64, what: &str, limit: f64, zunit: f64) {
    assert!(zmax < 5.0, "the trajectory average deviates from the Lindblad solution: max |z| = {zmax:.2}");
    assert!(stat < limit, "{what} = {stat:.2}");
    assert!(zunit > 8.0, "the decoherence must be visible against the unitary evolution (max |z| {zunit:.1})");
}

/// GPU vs CPU state of a quantum-field twin test: the worst relative difference and the six group differences (δg, π,
/// N, φ̄, π̄_φ: [`field_group_rel_diffs`]; the representation's quantum arrays, concatenated, against their own scale).
pub fn quantum_twin_differences(gpu: &State, cpu: &State) -> (f64, [f64; 6]) {
    let f = field_group_rel_diffs(gpu, cpu);
    let flat = |s: &State| -> Vec<f64> { s.quantum.arrays.iter().flat_map(|a| a.data.iter().copied()).collect() };
    let r = [f[0], f[1], f[2], f[3], f[4], rel(&flat(gpu), &flat(cpu))];
    (r.iter().cloned().fold(0.0, f64::max), r)
}

/// Relative differences, printed as a list.
pub fn fmt_differences(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:.1e}")).collect::<Vec<_>>().join(", ")
}

/// The scale factor a = √g_xx (site 0) and `f` of the state at the start and after each of `steps` single steps of a
/// homogeneous (FRW) run: (a samples, f samples), `steps` + 1 of each.
pub fn frw_history<R>(s: &mut dyn cqgrav::backend::Stepper, steps: usize, f: impl Fn(&State) -> R) -> (Vec<f64>, Vec<R>) {
    let start = s.download().unwrap();
    let (mut a, mut v) = (vec![start.metric(0)[0].sqrt()], vec![f(&start)]);
    for _ in 0..steps {
        s.advance(1).unwrap();
        let x = s.download().unwrap();
        a.push(x.metric(0)[0].sqrt());
        v.push(f(&x));
    }
    (a, v)
}

/// A quantum-field twin case: the setup advanced `steps` steps on the GPU and the CPU (f64); every group of
/// [`quantum_twin_differences`] must be within `tol`, printed under `label`; the two states (None without an adapter
/// and CQGRAV_ALLOW_NO_GPU=1).
pub fn twin_within(s: StepperSetup, init: &State, steps: u64, tol: f64, label: &str) -> Option<(State, State)> {
    let (gpu, cpu) = gpu_and_cpu_runs(s, init, steps)?;
    let (worst, r) = quantum_twin_differences(&gpu, &cpu);
    println!("{label}, {steps} steps: GPU ({:?}) vs CPU f64 worst {worst:.2e} (δg, π, N, φ̄, π̄_φ, quantum: {})", s.precision, fmt_differences(&r));
    assert!(worst <= tol, "{label}: GPU and CPU differ by {worst:.2e} > {tol:.0e}: {r:?}");
    Some((gpu, cpu))
}

/// A `dense` stepper setup without a config file: flat metric and background, geodesic lapse, no dissipation,
/// white tensor noise with the quantum parameters `q`, metric frozen or not, the default sub-stepping tolerance.
pub fn dense_setup(lat: Lattice, order: u32, dt: f64, q: cqgrav::physics::gaussian_forms::QuantumParams, seed: u64, frozen: bool) -> StepperSetup {
    use cqgrav::state::FLAT;
    StepperSetup {
        lattice: lat,
        stencil: Stencil::new(order),
        dissipation: 0.0,
        params: RhsParams { lambda: 0.0, mass: q.mass, potential: Default::default(), lapse: Lapse::Geodesic, background: FLAT },
        dt,
        precision: Precision::F64,
        background: FLAT,
        noise: cqgrav::physics::cq_noise::NoiseParams {
            diffusion: q.diffusion,
            beta: q.beta,
            kind: cqgrav::config::NoiseKind::Tensor,
            correlation_length: 0.0,
            seed,
        },
        drift: !frozen,
        quantum: Some(q),
        representation: cqgrav::config::Representation::Dense,
        ensemble: Default::default(),
        substep_tolerance: cqgrav::config::DEFAULT_SUBSTEP_TOLERANCE,
    }
}
