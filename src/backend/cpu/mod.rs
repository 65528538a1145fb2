//! The CPU backend: the float64 (or float32) twin of every GPU kernel, parallel over sites with rayon.
pub mod cq_noise; // CQ noise (issue 4)
pub mod dense_field;
pub mod ensemble_field;
pub mod diagnostics;
pub mod reduce;
pub mod evolve_row;
pub mod rk4_buffers; // the RK4 state and scratch (also a slab's, issue 18)
pub mod evolve_stage;
pub mod fd;
pub mod fd_gather; // the taps of a whole small lattice (issue 17)
pub mod fd_row;
pub mod flux_row;
pub mod health; // the health check of every step (issue 15)
pub mod fourier_field;
pub mod scalar_flux;

use super::quantum::{representation, QuantumField};
use super::{Stepper, StepperSetup};
use crate::numerics::real::Real;
use crate::numerics::rk4::STAGES;
use crate::numerics::site_domain::WholeLattice;
use crate::diagnostics::{finish, Diagnostics};
use crate::state::State;
use rk4_buffers::Rk4Buffers;

pub struct CpuStepper<T: Real> {
    setup: StepperSetup,
    /// the state y and the RK4 scratch
    b: Rk4Buffers<T>,
    step: u64,
    /// CQ noise (issue 4): None when D2 = 0
    noise: Option<cq_noise::CpuNoise<T>>,
    /// the quantum field's fluctuations, in their representation (backend/quantum.rs)
    quantum: Box<dyn QuantumField>,
    /// the first step after which the state was not finite (issue 15)
    first_nonfinite: Option<u64>,
}

impl<T: Real> CpuStepper<T> {
    pub fn new(setup: StepperSetup, state: &State) -> Self {
        Self::try_new(setup, state).expect("setting up the CPU stepper")
    }

    pub fn try_new(setup: StepperSetup, state: &State) -> anyhow::Result<Self> {
        let mut s = Self {
            setup,
            b: Rk4Buffers::new(&setup, setup.lattice.sites()),
            step: 0,
            noise: setup
                .noise
                .is_active()
                .then(|| cq_noise::CpuNoise::new(setup.noise, setup.lattice, setup.background, setup.dt)),
            quantum: representation(&setup).cpu(&setup, state)?,
            first_nonfinite: None,
        };
        s.upload(state);
        Ok(s)
    }

    fn rk4_step(&mut self) -> anyhow::Result<()> {
        let lat = self.setup.lattice;
        let dt = self.setup.dt;
        for st in STAGES {
            // stage inputs: y, u1, u2, u1; stage outputs: u1, u2, u1, y
            self.b.rhs(&lat, st.index, None);
            quantum_stage(&mut self.b, self.quantum.as_mut(), st.index, &self.setup, &WholeLattice(lat))?;
            self.b.combine(&st, dt);
            self.quantum.combine(&st, dt);
        }
        Ok(())
    }
}

/// The quantum field's part of RK4 stage `index` (in f64): its mean-field drift and back-reaction replace and
/// correct the classical stage right-hand side `b.k` (nothing for the classical field). Shared with the slabs
/// (parallel/slab_stepper.rs), whose `domain` is the rank's slab.
pub(crate) fn quantum_stage<T: Real>(
    b: &mut Rk4Buffers<T>,
    quantum: &mut dyn QuantumField,
    index: usize,
    setup: &StepperSetup,
    domain: &dyn crate::numerics::site_domain::SiteDomain,
) -> anyhow::Result<()> {
    if setup.quantum.is_none() {
        return Ok(());
    }
    let uf: Vec<f64> = b.input_mut(index).iter().map(|x| x.as_f64()).collect();
    if let Some(sq) = quantum.stage(index, &uf, &setup.background, domain)? {
        evolve_stage::apply_quantum(&sq, &mut b.k, !setup.drift);
    }
    Ok(())
}

/// Conditions the quantum state on the step's increments `dw` (SPEC §4.1; f64, component-major over the local
/// lattice: the very increments added to π^ab), updating the mean x̄ (φ, π_φ of the state `y`).
pub(crate) fn condition_quantum<T: Real>(
    y: &mut [T],
    quantum: &mut dyn QuantumField,
    dw: &[f64],
    step: u64,
    domain: &dyn crate::numerics::site_domain::SiteDomain,
) -> anyhow::Result<()> {
    let n = y.len() / crate::state::NVARS;
    let r = crate::state::var::PHI * n..(crate::state::var::PI_PHI + 1) * n;
    let mut xbar: Vec<f64> = y[r.clone()].iter().map(|x| x.as_f64()).collect();
    let noise = super::quantum::StepNoise { increments: dw, step };
    quantum.condition(&noise, &mut xbar, domain).map_err(|e| e.context(format!("at step {step} → {}", step + 1)))?;
    y[r].iter_mut().zip(&xbar).for_each(|(y, x)| *y = T::c(*x));
    Ok(())
}

/// The one-thread pool small lattices step in (see `advance`).
fn small_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().num_threads(1).thread_name(|_| "cqgrav-small".into()).build().expect("a one-thread pool"))
}

impl<T: Real> CpuStepper<T> {
    fn advance_here(&mut self, steps: u64) -> anyhow::Result<()> {
        for _ in 0..steps {
            // CQ noise (issue 4): increments from the state at the start of the step, added after the drift
            if let Some(nz) = &mut self.noise {
                nz.draw(self.step, &self.b.y);
            }
            if self.setup.drift || self.setup.quantum.is_some() {
                self.rk4_step()?;
            }
            if let Some(nz) = &self.noise {
                nz.add_to(&mut self.b.y);
                // condition the quantum state on the same increments (SPEC §4.1)
                if self.setup.quantum.is_some() {
                    let dw: Vec<f64> = nz.increments().iter().map(|x| x.as_f64()).collect();
                    condition_quantum(&mut self.b.y, self.quantum.as_mut(), &dw, self.step, &WholeLattice(self.setup.lattice))?;
                }
            }
            self.step += 1;
            // issue 15: the health check of every step; stop at the first non-finite state
            if !health::state_sum(&self.b.y).is_finite() {
                self.first_nonfinite = Some(self.step);
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<T: Real> Stepper for CpuStepper<T> {
    /// A lattice below `evolve_stage::parallel`'s size steps inside a one-thread pool: every parallel loop of the
    /// step (fields, quantum state, noise) then runs inline on that thread instead of waking the shared pool,
    /// whose hand-offs cost more than such a step's work (a dense 8-site step is ~10 µs of arithmetic). A stepper
    /// driven from a thread of a rayon pool (steppers run in parallel) stays there, so they are not serialised.
    fn advance(&mut self, steps: u64) -> anyhow::Result<()> {
        if evolve_stage::parallel(self.setup.lattice.sites()) || rayon::current_thread_index().is_some() {
            self.advance_here(steps)
        } else {
            small_pool().install(|| self.advance_here(steps))
        }
    }
    fn take_first_nonfinite(&mut self) -> anyhow::Result<Option<u64>> {
        Ok(self.first_nonfinite.take())
    }
    fn download(&mut self) -> anyhow::Result<State> {
        Ok(State {
            lattice: self.setup.lattice,
            data: self.b.y.iter().map(|x| x.as_f64()).collect(),
            background: self.setup.background,
            t: self.setup.time_at(self.step),
            step: self.step,
            quantum: self.quantum.save(),
        })
    }
    fn upload(&mut self, state: &State) {
        assert_eq!(state.background, self.setup.background, "state and stepper disagree on the background metric");
        self.b.y = state.data.iter().map(|&x| T::c(x)).collect();
        self.step = state.step;
        if !state.quantum.is_empty() {
            self.quantum.restore(&state.quantum).expect("the state's quantum field matches the lattice and representation");
        }
    }
    fn setup(&self) -> &StepperSetup {
        &self.setup
    }
    /// Evaluated on the stepper's own state in its precision (twin of the GPU reduction).
    fn diagnostics(&mut self) -> anyhow::Result<Diagnostics> {
        if self.setup.quantum.is_some() {
            // the host evaluation adds the quantum state's densities and its physicality
            return super::host_diagnostics(self);
        }
        let bg = self.b.params.background;
        let (cols, _) = diagnostics::all_site_values(&self.b.fd, &self.setup.lattice, &bg, &self.b.y, self.b.params.lambda, self.b.params.mass, &self.b.params.potential);
        let sums = diagnostics::reduce_columns(&cols).map(|x| x.as_f64());
        let mut d = finish(&sums, &self.setup.lattice, self.setup.time_at(self.step), self.step);
        d.noise = self.noise_diagnostics()?; // CQ noise (issue 4)
        Ok(d)
    }
    // ---- CQ noise (issue 4) ----
    fn noise_increments(&mut self) -> anyhow::Result<Option<Vec<f64>>> {
        Ok(self.noise.as_ref().map(|nz| nz.increments().iter().map(|x| x.as_f64()).collect()))
    }
    fn noise_diagnostics(&mut self) -> anyhow::Result<crate::diagnostics::NoiseDiagnostics> {
        Ok(match &self.noise {
            Some(nz) => crate::diagnostics::NoiseDiagnostics::from_sums(&nz.stat_sums(), &self.setup),
            None => Default::default(),
        })
    }
    // ---- end CQ noise ----
    fn quantum_report(&mut self) -> super::quantum::QuantumStepReport {
        self.quantum.report()
    }
    fn description(&self) -> String {
        format!("cpu ({} threads, {})", rayon::current_num_threads(), std::any::type_name::<T>())
    }
}
