//! The domain-decomposed CPU stepper (issue 18): each rank steps its z-slab ([`Slab`]) with the CPU backend's
//! own kernels (backend/cpu: scalar flux, fused RK4 stage, CQ noise), exchanging the stage input's halo before
//! every RK stage (and the state's before the diagnostics). The noise of a site is drawn from Philox with its
//! global index and the reductions follow the single-process tree (parallel/slab.rs), so the state and every
//! diagnostic are those of one process, bit for bit, on any number of ranks.
//!
//! Scope: the classical system (`matter.representation = "none"`) with CQ noise, white or smoothed (ℓ > 0: each
//! rank draws and smooths ζ on its owned planes and the smoothing radius's planes around them, by global index,
//! cpu/cq_noise.rs `CpuNoise::in_slab`), and the quantum field in the representations that can be split
//! (`Representation::slab_halo`: the localised `ensemble`), whose field runs on the local lattice and asks the
//! slab (parallel/slab_domain.rs) for fresh ghost planes, box sums and maxima. Snapshots and checkpoints take each
//! rank's own planes (`owned_planes`: the state, the constraint fields, ⟨δφ²⟩ and the quantum site arrays, written
//! to per-rank part files joined by virtual datasets: io/parts.rs), and the diagnostics reduce across the ranks in
//! the single-process order; `download` gathers the whole state on every rank (spectra, the location of a
//! non-finite value).
use super::slab::{OwnedPlanes, Slab};
use super::timed_comm::TimedComm;
use super::Comm;
use crate::backend::cpu::cq_noise::{CpuNoise, NSTAT};
use crate::backend::cpu::diagnostics::{all_site_values, all_site_values_quantum, NCOL, OPS};
use crate::backend::cpu::rk4_buffers::Rk4Buffers;
use crate::backend::cpu::reduce::Op;
use crate::backend::cpu::{condition_quantum, quantum_stage};
use crate::backend::quantum::{representation, QuantumField};
use crate::backend::{Stepper, StepperSetup};
use super::slab_domain::SlabDomain;
use crate::numerics::lattice::Lattice;
use crate::state::{QuantumArray, QuantumData};
use crate::config::Precision;
use crate::diagnostics::{finish, ConstraintFields, Diagnostics, NoiseDiagnostics};
use crate::backend::cpu::fd::Fd;
use crate::numerics::real::Real;
use crate::numerics::rk4::STAGES;
use crate::state::{var, State, NVARS};
use anyhow::{bail, Result};
use std::rc::Rc;

/// Why `setup` cannot be decomposed (None: it can).
pub fn unsupported(setup: &StepperSetup) -> Option<String> {
    representation(setup)
        .slab_halo(setup)
        .err()
        .map(|why| format!("{why} (or run it on one rank, or spread realisations over the ranks with --realizations)"))
}

/// The planes of halo a slab of `setup` needs: the stencils' reach, or the quantum field's when it is larger.
pub(super) fn halo_of(setup: &StepperSetup) -> Result<usize> {
    let quantum = representation(setup).slab_halo(setup).map_err(anyhow::Error::msg)?;
    Ok(stencil_reach(setup).max(quantum))
}

/// The decomposed stepper for `state` over the ranks of `comm`, in the run's precision.
pub fn slab_stepper(setup: StepperSetup, state: &State, comm: Rc<dyn Comm>) -> Result<Box<dyn Stepper>> {
    if let Some(why) = unsupported(&setup) {
        bail!("the domain-decomposed run over {} ranks cannot take this configuration: {why}", comm.size());
    }
    Ok(match setup.precision {
        Precision::F32 => Box::new(SlabStepper::<f32>::new(setup, state, comm)?),
        Precision::F64 => Box::new(SlabStepper::<f64>::new(setup, state, comm)?),
    })
}

pub struct SlabStepper<T: Real> {
    setup: StepperSetup,
    slab: Slab,
    comm: Rc<TimedComm>,
    /// the state and RK4 scratch on the local lattice (owned + ghost planes), as backend/cpu
    b: Rk4Buffers<T>,
    /// the owned part of y (the noise's input)
    owned: Vec<T>,
    step: u64,
    noise: Option<CpuNoise<T>>,
    /// the quantum field on the local lattice (backend/quantum.rs; `ClassicalField` for "none")
    quantum: Box<dyn QuantumField>,
    first_nonfinite: Option<u64>,
    /// the fields whose ghost planes a stage reads: all with Kreiss–Oliger dissipation, else g_ab, N and φ (the
    /// other fields are read at the site itself only)
    stencil_fields: Vec<usize>,
}

impl<T: Real> SlabStepper<T> {
    pub fn new(setup: StepperSetup, state: &State, comm: Rc<dyn Comm>) -> Result<Self> {
        let comm = Rc::new(TimedComm::new(comm));
        let ghost = halo_of(&setup)?;
        let slab = Slab::new(setup.lattice, ghost, comm.rank(), comm.size())?;
        assert_eq!(state.background, setup.background, "state and stepper disagree on the background metric");
        let (quantum, local) = slab_quantum(&setup, &slab, comm.as_ref(), state)?;
        let mut owned_lattice = slab.local;
        owned_lattice.shape[2] = slab.nz;
        let mut s = Self {
            b: Rk4Buffers::new(&setup, slab.local.sites()),
            owned: Vec::new(),
            step: 0,
            noise: setup
                .noise
                .is_active()
                .then(|| CpuNoise::new(setup.noise, owned_lattice, setup.background, setup.dt).in_slab(slab.first_site(), setup.lattice.sites())),
            first_nonfinite: None,
            quantum,
            stencil_fields: stencil_fields(&setup),
            setup,
            slab,
            comm,
        };
        s.place(&local);
        Ok(s)
    }

    /// The fields and the step of a local state ([`Self::local_state`]).
    fn place(&mut self, local: &State) {
        self.b.y = local.data.iter().map(|&x| T::c(x)).collect();
        self.step = local.step;
    }

    /// The decomposition (for the run's description and the halo bytes of the bench).
    pub fn slab(&self) -> &Slab {
        &self.slab
    }

    fn rk4_step(&mut self) -> Result<()> {
        for st in STAGES {
            self.slab.exchange_fields(self.comm.as_ref(), self.b.input_mut(st.index), &self.stencil_fields);
            // the right-hand side of the owned sites only (the ghosts' k is never read: their values are refilled
            // by the next exchange before anything reads them)
            self.b.rhs(&self.slab.local, st.index, Some(self.slab.interior()));
            let domain = SlabDomain { slab: &self.slab, comm: self.comm.as_ref() };
            quantum_stage(&mut self.b, self.quantum.as_mut(), st.index, &self.setup, &domain)?;
            self.b.combine(&st, self.setup.dt);
            self.quantum.combine(&st, self.setup.dt);
        }
        Ok(())
    }

    /// Conditions the quantum field on the step's increments: the owned sites' increments with their ghost planes
    /// filled from the neighbours (the noise flow reads the increments around every owned site).
    fn condition(&mut self) -> Result<()> {
        let (Some(nz), Some(_)) = (&self.noise, self.setup.quantum) else { return Ok(()) };
        let owned: Vec<f64> = nz.increments().iter().map(|x| x.as_f64()).collect();
        let mut dw = self.slab.place_owned(&owned, 6);
        self.slab.exchange(self.comm.as_ref(), &mut dw, 6);
        let domain = SlabDomain { slab: &self.slab, comm: self.comm.as_ref() };
        condition_quantum(&mut self.b.y, self.quantum.as_mut(), &dw, self.step, &domain)
    }

    /// The row of a run with a quantum field: the state's and the quantum site arrays' ghost planes refilled, then the
    /// single-process evaluation on the local lattice with the slab as its domain (`diagnostics_in`: the same per-site
    /// values, the box quantities in the single-process order), so nothing is gathered but block and plane sums.
    fn quantum_diagnostics(&mut self) -> Result<Diagnostics> {
        let state = self.fresh_local_state();
        let mut d = quantum_diagnostics_in(&self.slab, self.comm.as_ref(), &self.setup, &state);
        d.noise = self.noise_diagnostics()?;
        d.quantum_substeps = self.quantum.report().substeps as f64;
        Ok(d)
    }

    /// The local state now (f64, as `download` converts it), its ghost planes and those of the quantum site arrays
    /// refilled from the neighbours (a collective).
    fn fresh_local_state(&mut self) -> State {
        let (slab, comm) = (&self.slab, self.comm.as_ref());
        slab.exchange(comm, &mut self.b.y, NVARS);
        let mut quantum = self.quantum.save();
        let names = representation(&self.setup).site_arrays();
        for a in quantum.arrays.iter_mut().filter(|a| names.contains(&a.name.as_str())) {
            slab.exchange_wide(comm, &mut a.data, &(0..a.shape[0]).collect::<Vec<_>>(), a.shape[4]);
        }
        State {
            lattice: slab.local,
            data: self.b.y.iter().map(|x| x.as_f64()).collect(),
            background: self.setup.background,
            t: self.setup.time_at(self.step),
            step: self.step,
            quantum,
        }
    }

    /// The local state of `state` (the whole lattice's, or this rank's own planes: a restart's hyperslab, whose
    /// ghost planes come from the neighbours — a collective), with this rank's planes of the site arrays of the whole
    /// lattice's `quantum`.
    fn local_state(slab: &Slab, comm: &dyn Comm, setup: &StepperSetup, state: &State, quantum: &QuantumData) -> State {
        let data = if state.lattice.shape[2] == setup.lattice.shape[2] {
            slab.scatter(&state.data, NVARS)
        } else {
            assert_eq!(state.lattice.shape[2], slab.nz, "a state of some planes must be this rank's planes");
            let mut local = slab.place_owned(&state.data, NVARS);
            slab.exchange(comm, &mut local, NVARS);
            local
        };
        let quantum = site_arrays(setup, quantum, |a, f, w| slab.scatter_wide(a, f, w), slab.local);
        State { lattice: slab.local, data, background: state.background, t: state.t, step: state.step, quantum }
    }

    /// Adds the owned sites' noise increments to π^ab (global layout of CpuNoise::add_to, local offsets).
    fn add_noise(&mut self) {
        let Some(nz) = &self.noise else { return };
        let (n, m, r) = (self.slab.local.sites(), self.slab.owned(), self.slab.interior());
        let dw = nz.increments();
        for c in 0..6 {
            let pi = &mut self.b.y[(var::PI + c) * n..][r.clone()];
            pi.iter_mut().zip(&dw[c * m..(c + 1) * m]).for_each(|(p, d)| *p = *p + *d);
        }
    }
}

impl<T: Real> Stepper for SlabStepper<T> {
    fn advance(&mut self, steps: u64) -> Result<()> {
        for _ in 0..steps {
            if let Some(nz) = &mut self.noise {
                self.owned = self.slab.owned_of(&self.b.y, NVARS);
                nz.draw(self.step, &self.owned);
            }
            if self.setup.drift || self.setup.quantum.is_some() {
                self.rk4_step()?;
            }
            self.add_noise();
            self.condition()?;
            self.step += 1;
            // the health check of every step, on the whole state (identical on every rank)
            let sum = self.slab.state_sum(self.comm.as_ref(), &self.b.y, NVARS);
            if !sum.is_finite() {
                self.first_nonfinite = Some(self.step);
                return Ok(());
            }
        }
        Ok(())
    }
    fn take_first_nonfinite(&mut self) -> Result<Option<u64>> {
        Ok(self.first_nonfinite.take())
    }
    fn download(&mut self) -> Result<State> {
        let owned = self.slab.owned_of(&self.b.y, NVARS);
        let (slab, comm) = (&self.slab, self.comm.as_ref());
        let gather = |a: &[f64], f: usize, w: usize| slab.all_gather_wide(comm, &slab.owned_of_wide(a, f, w), f, w);
        Ok(State {
            lattice: self.setup.lattice,
            data: self.slab.all_gather(self.comm.as_ref(), &owned, NVARS).iter().map(|x| x.as_f64()).collect(),
            background: self.setup.background,
            t: self.setup.time_at(self.step),
            step: self.step,
            quantum: site_arrays(&self.setup, &self.quantum.save(), gather, self.setup.lattice),
        })
    }
    /// The owned planes for the rank's part files (issue 18): the state converted to f64 as `download` converts
    /// it, and 𝓗, 𝓗_a evaluated as `constraint_field_values` evaluates them on the downloaded state (the CPU twin in
    /// f64), on the local lattice after a halo exchange: each owned site reads the values one process reads.
    fn owned_planes(&mut self) -> Result<Option<OwnedPlanes>> {
        let local = self.fresh_local_state();
        Ok(Some(owned_planes_in(&self.slab, self.comm.as_ref(), &self.setup, &local)))
    }
    fn upload(&mut self, state: &State) {
        assert_eq!(state.background, self.setup.background, "state and stepper disagree on the background metric");
        // the whole state, or the owned planes only (a restart reads each rank's hyperslab of the checkpoint, issue
        // 18; the ghost planes from the neighbours: every rank uploads at construction, a collective)
        let local = Self::local_state(&self.slab, self.comm.as_ref(), &self.setup, state, &state.quantum);
        self.place(&local);
        if !local.quantum.is_empty() {
            self.quantum.restore(&local.quantum).expect("the state's quantum field matches the lattice and representation");
        }
    }
    fn setup(&self) -> &StepperSetup {
        &self.setup
    }
    fn diagnostics(&mut self) -> Result<Diagnostics> {
        if self.setup.quantum.is_some() {
            return self.quantum_diagnostics();
        }
        self.slab.exchange(self.comm.as_ref(), &mut self.b.y, NVARS);
        let p = &self.b.params;
        let (cols, _) = all_site_values(&self.b.fd, &self.slab.local, &p.background, &self.b.y, p.lambda, p.mass, &p.potential);
        let owned: Vec<&[T]> = cols.iter().map(|c| &c[self.slab.interior()]).collect();
        let sums = self.slab.reduce(self.comm.as_ref(), &owned, &OPS);
        let sums: [f64; NCOL] = std::array::from_fn(|c| sums[c].as_f64());
        let mut d = finish(&sums, &self.setup.lattice, self.setup.time_at(self.step), self.step);
        d.noise = self.noise_diagnostics()?;
        Ok(d)
    }
    fn noise_increments(&mut self) -> Result<Option<Vec<f64>>> {
        let Some(nz) = &self.noise else { return Ok(None) };
        let m = self.slab.owned();
        let global = self.slab.all_gather(self.comm.as_ref(), nz.increments(), 6);
        debug_assert_eq!(nz.increments().len(), 6 * m);
        Ok(Some(global.iter().map(|x| x.as_f64()).collect()))
    }
    fn noise_diagnostics(&mut self) -> Result<NoiseDiagnostics> {
        let Some(nz) = &self.noise else { return Ok(Default::default()) };
        Ok(noise_diagnostics_of(&self.slab, self.comm.as_ref(), nz.site_stats(), &self.setup))
    }
    fn quantum_report(&mut self) -> crate::backend::quantum::QuantumStepReport {
        self.quantum.report()
    }
    fn description(&self) -> String {
        let threads = format!("{} threads each", rayon::current_num_threads());
        describe::<T>("cpu", &threads, &self.slab, self.stencil_fields.len(), self.comm.spent(), None)
    }
}

/// The quantum field of a slab and the local state it starts from: its representation's CPU field on the local
/// lattice, from this rank's planes of the whole lattice's arrays — the state's, or (a fresh start) those the
/// single-process field starts from, so the initial samples are those of one process (sampled on the whole lattice
/// by every rank).
fn slab_quantum(setup: &StepperSetup, slab: &Slab, comm: &dyn Comm, state: &State) -> Result<(Box<dyn QuantumField>, State)> {
    let rep = representation(setup);
    let fresh;
    let whole = if setup.quantum.is_some() && state.quantum.is_empty() {
        anyhow::ensure!(state.lattice == setup.lattice, "a fresh quantum field starts from the whole lattice's state");
        fresh = rep.initial_arrays(setup, state)?;
        &fresh
    } else {
        &state.quantum
    };
    let local = SlabStepper::<f64>::local_state(slab, comm, setup, state, whole);
    Ok((rep.cpu_slab(&StepperSetup { lattice: slab.local, ..*setup }, &local, setup.lattice)?, local))
}

/// `q` with each of its representation's site arrays (shape (fields, N3, N2, N1, width)) mapped by
/// `f(array, fields, width)` to the lattice `to` (a slab's planes, or the whole lattice's); the others as they are.
pub(super) fn site_arrays(setup: &StepperSetup, q: &QuantumData, f: impl Fn(&[f64], usize, usize) -> Vec<f64>, to: Lattice) -> QuantumData {
    let names = representation(setup).site_arrays();
    let arrays = q
        .arrays
        .iter()
        .map(|a| match names.contains(&a.name.as_str()) {
            true => {
                let (fields, width) = (a.shape[0], a.shape[4]);
                let mut shape = a.shape.clone();
                shape[1] = to.shape[2];
                QuantumArray { name: a.name.clone(), shape, data: f(&a.data, fields, width) }
            }
            false => a.clone(),
        })
        .collect();
    QuantumData { representation: q.representation.clone(), arrays }
}

/// The planes of the stencil's reach: the scalar flux's gradient then its divergence (2r), Kreiss–Oliger (r_KO).
pub(super) fn stencil_reach(setup: &StepperSetup) -> usize {
    (2 * setup.stencil.radius).max(setup.stencil.ko_radius)
}

/// A rank's planes for its part files (issue 18): its owned `data` (f64, field after field) on the lattice
/// N1 × N2 × nz at `step`, and its constraint fields.
pub(super) fn owned_planes_of(slab: &Slab, setup: &StepperSetup, step: u64, data: Vec<f64>, constraints: ConstraintFields) -> OwnedPlanes {
    let [n1, n2, _] = setup.lattice.shape;
    let state = State {
        lattice: crate::numerics::lattice::Lattice::new([n1, n2, slab.nz], setup.lattice.spacing),
        data,
        background: setup.background,
        t: setup.time_at(step),
        step,
        quantum: Default::default(),
    };
    OwnedPlanes { z0: slab.z0, rank: slab.rank, ranks: slab.ranks, global: setup.lattice, state, constraints, site_arrays: &[], phi2: None }
}

/// A timeseries row of a run with a quantum field (without its noise columns and sub-steps) from the rank's `local`
/// state (f64, fresh ghost planes, its planes of the quantum site arrays): the single-process evaluation on the local
/// lattice with the slab as its domain (`diagnostics_in`: the same per-site values, the box quantities in the
/// single-process order), so nothing is gathered but block and plane sums.
pub(super) fn quantum_diagnostics_in(slab: &Slab, comm: &dyn Comm, setup: &StepperSetup, local: &State) -> Diagnostics {
    crate::diagnostics::diagnostics_in(local, &StepperSetup { lattice: slab.local, ..*setup }, &SlabDomain { slab, comm })
}

/// The owned planes for the rank's part files (issue 18) from its `local` state (f64, fresh ghost planes, its planes
/// of the quantum site arrays, the others whole) at `local.step`: the state, 𝓗, 𝓗_a with the fluctuations' terms and
/// ⟨δφ²⟩, evaluated on the local lattice as `constraint_field_values` evaluates them on the downloaded state (the CPU
/// twin in f64): each owned site reads the values one process reads.
pub(super) fn owned_planes_in(slab: &Slab, comm: &dyn Comm, setup: &StepperSetup, local: &State) -> OwnedPlanes {
    let rep = representation(setup);
    let q = rep.site_terms_in(&StepperSetup { lattice: slab.local, ..*setup }, local, &SlabDomain { slab, comm }).ok().flatten();
    let terms: Vec<[f64; 4]> = q.as_ref().map(|q| q.iter().map(|s| s.constraint_terms()).collect()).unwrap_or_default();
    let fd = Fd::<f64>::new(&setup.stencil, setup.lattice.spacing, 0.0);
    let p = &setup.params;
    let (_, fields) = all_site_values_quantum(&fd, &slab.local, &setup.background, &local.data, p.lambda, p.mass, &p.potential, &terms);
    let r = slab.interior();
    let [ham, mx, my, mz] = fields.map(|f| f[r.clone()].to_vec());
    let mut own = owned_planes_of(slab, setup, local.step, slab.owned_of(&local.data, NVARS), ConstraintFields { ham, mom: [mx, my, mz] });
    own.phi2 = q.map(|q| q[r].iter().map(|s| s.phi2).collect());
    own.site_arrays = rep.site_arrays();
    own.state.quantum = site_arrays(setup, &local.quantum, |a, f, w| slab.owned_of_wide(a, f, w), own.state.lattice);
    own
}

/// The fields whose ghost planes a stage reads: all with Kreiss–Oliger dissipation or a quantum field (whose
/// operators read g_ab, N, φ and π_φ around a site), else g_ab, N and φ (the others are read at the site only).
pub(super) fn stencil_fields(setup: &StepperSetup) -> Vec<usize> {
    if setup.dissipation != 0.0 || setup.quantum.is_some() {
        (0..NVARS).collect()
    } else {
        (var::G..var::G + 6).chain([var::LAPSE, var::PHI]).collect()
    }
}

/// The noise diagnostics of a slab from the owned sites' NSTAT statistic columns (column after column), reduced
/// in the single-process tree on every rank.
pub(super) fn noise_diagnostics_of<T: Real>(slab: &Slab, comm: &dyn Comm, stat: &[T], setup: &StepperSetup) -> NoiseDiagnostics {
    let m = slab.owned();
    let cols: Vec<&[T]> = (0..NSTAT).map(|c| &stat[c * m..(c + 1) * m]).collect();
    let sums = slab.reduce(comm, &cols, &[Op::Sum; NSTAT]);
    NoiseDiagnostics::from_sums(&std::array::from_fn(|c| sums[c].as_f64()), setup)
}

/// The run's description of a slab stepper on `backend`.
/// The decomposed run's description: the slabs, the halo, and (once it has stepped) the wall time rank 0 spent in
/// the communicator's collectives (the step's halo swaps and health check, the quantum field's exchanges, box sums
/// and gathers, the output's gathers: [`TimedComm`]) and, on the GPU, in copying halo planes between the device and
/// the host (`staging`).
pub(super) fn describe<T: Real>(backend: &str, detail: &str, slab: &Slab, fields: usize, mpi: std::time::Duration, staging: Option<std::time::Duration>) -> String {
    let spent = match (mpi.as_secs_f64(), staging.map(|d| d.as_secs_f64())) {
        (0.0, None | Some(0.0)) => String::new(),
        (m, None) => format!("; rank 0 spent {m:.3} s in MPI collectives (halos, reductions, gathers)"),
        (m, Some(h)) => format!("; rank 0 spent {m:.3} s in MPI collectives (halos, reductions, gathers) and {h:.3} s staging the state's halos through the host"),
    };
    format!("{backend} ({} z-slabs over MPI ranks, {detail}, {}; halo {} planes of {fields} fields{spent})", slab.ranks, std::any::type_name::<T>(), slab.ghost)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::parallel::Single;

    fn classical_noise_setup(shape: [usize; 3], precision: Precision, order: u32) -> (StepperSetup, State) {
        classical_noise_setup_with(shape, precision, order, 0.1, 0.0)
    }

    fn classical_noise_setup_with(shape: [usize; 3], precision: Precision, order: u32, dissipation: f64, ell: f64) -> (StepperSetup, State) {
        let mut cfg = Config::default();
        cfg.lattice.shape = shape;
        cfg.matter.representation = Representation::None;
        cfg.cq.diffusion = 0.5;
        cfg.cq.correlation_length = ell;
        cfg.gravity.fd_order = order;
        cfg.gravity.dissipation = dissipation;
        cfg.run.precision = precision;
        perturbed(&cfg)
    }

    /// The initial state of `cfg` with smooth, fully 3-D perturbations of δg, N, φ, π_φ (every field and every
    /// stencil direction matters), and its setup.
    pub(crate) fn perturbed(cfg: &Config) -> (StepperSetup, State) {
        let mut state = crate::cosmology::initial::initial_state(cfg).unwrap();
        // smooth, fully 3-D perturbations of δg, N, φ, π_φ: every field and every stencil direction matters
        let lat = state.lattice;
        let n = lat.sites();
        for i in 0..n {
            let [x, y, z] = lat.position(i).map(|p| 2.0 * std::f64::consts::PI * p);
            let w = [(x / lat.box_lengths()[0] + 2.0 * z / lat.box_lengths()[2]).sin(), (y / lat.box_lengths()[1] - z / lat.box_lengths()[2]).cos()];
            for k in 0..6 {
                state.data[(var::G + k) * n + i] += 1e-3 * w[k % 2];
            }
            state.data[var::LAPSE * n + i] += 0.01 * w[1];
            state.data[var::PHI * n + i] += 0.3 + 0.1 * w[0];
            state.data[var::PI_PHI * n + i] += 0.05 * w[1];
        }
        (StepperSetup::from_config(cfg).with_background_of(&state), state)
    }

    /// State (with its quantum arrays), diagnostics (as bits: NaN columns compare equal) and noise increments (none
    /// without noise) after `steps` steps.
    pub(crate) fn outcome(st: &mut dyn Stepper, steps: u64) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
        st.advance(steps).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let d: Vec<f64> = st.diagnostics().unwrap().columns().iter().map(|c| c.1).collect();
        let s = st.download().unwrap();
        let quantum = s.quantum.arrays.iter().flat_map(|a| a.shape.iter().map(|&k| k as f64).chain(a.data.iter().copied()));
        let s: Vec<f64> = s.data.iter().copied().chain(quantum).collect();
        (bits(&s), bits(&d), bits(&st.noise_increments().unwrap().unwrap_or_default()))
    }

    /// `outcome` of the slab stepper on 1, 2, … `ranks` ranks (threads), asserting each equals `serial`.
    fn assert_slabs_equal(setup: StepperSetup, state: &State, steps: u64, ranks: &[usize], serial: &(Vec<u64>, Vec<u64>, Vec<u64>), what: &str) {
        for &ranks in ranks {
            let results: Vec<_> = std::thread::scope(|sc| {
                let handles: Vec<_> = crate::parallel::threads::ThreadComm::group(ranks)
                    .into_iter()
                    .map(|c| sc.spawn(move || outcome(slab_stepper(setup, state, Rc::new(c)).unwrap().as_mut(), steps)))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (r, got) in results.iter().enumerate() {
                assert!(got.0.len() == serial.0.len() && got.1 == serial.1, "{what}: rank {r} of {ranks}: diagnostics or lengths differ");
                let first = got.0.iter().zip(&serial.0).position(|(a, b)| a != b);
                assert!(*got == *serial, "{what}: rank {r} of {ranks} differs from one process (first state value at {first:?})");
            }
        }
    }

    /// The localised ensemble with CQ noise on a perturbed lattice: members sampled from the exact lattice vacuum
    /// of the inhomogeneous metric, M = 8.
    pub(crate) fn ensemble_setup(shape: [usize; 3], precision: Precision, order: u32, dissipation: f64, localization: f64, control_variate: bool) -> (StepperSetup, State) {
        let mut cfg = quantum_config(shape, Representation::Ensemble, order, dissipation);
        cfg.matter.members = 8;
        cfg.matter.localization = localization;
        cfg.matter.control_variate = control_variate;
        cfg.cq.decoherence_excess = 0.0;
        cfg.run.precision = precision;
        perturbed(&cfg)
    }

    /// A quantum field `representation` with CQ noise (D2 = 1, m = 1, φ̄ = 1) on a lattice of spacing 2.
    pub(crate) fn quantum_config(shape: [usize; 3], representation: Representation, order: u32, dissipation: f64) -> Config {
        let mut cfg = Config::default();
        cfg.lattice.shape = shape;
        cfg.lattice.spacing = 2.0;
        cfg.time.dt = Some(0.025);
        cfg.matter.representation = representation;
        cfg.matter.mass = 1.0;
        cfg.initial.phi = 1.0;
        cfg.cq.diffusion = 1.0;
        cfg.gravity.fd_order = order;
        cfg.gravity.dissipation = dissipation;
        cfg
    }

    /// Issue 18: the localised ensemble on 1, 2 and 3 ranks = the CPU backend on one process, bit for bit — the
    /// state, the members, shadows and reference, every diagnostic (the quantum terms included) and the noise
    /// increments after 3 steps of drift, back-reaction and conditioning: site pairs (c = h, with the control
    /// variate; f64 and f32) and single-site blocks (c = 1.5h: K = 125 > 4M; 4th order with dissipation, a halo of
    /// S + 2r = 6 planes, exactly the slabs' thickness on 3 ranks).
    #[test]
    fn ensemble_slabs_are_the_cpu_backend_bit_for_bit() {
        let cases = [
            ([5, 5, 12], Precision::F64, 2, 0.0, 1.0, true, vec![1, 2, 3]),
            ([5, 6, 12], Precision::F32, 2, 0.1, 1.0, true, vec![2]),
            ([7, 7, 18], Precision::F64, 4, 0.1, 1.5, false, vec![2, 3]),
        ];
        for (shape, precision, order, dissipation, c, cv, ranks) in cases {
            let (setup, state) = ensemble_setup(shape, precision, order, dissipation, c, cv);
            let serial = outcome(crate::backend::try_cpu_stepper(setup, &state).unwrap().as_mut(), 3);
            let what = format!("{shape:?} {precision:?} order {order}, c = {c}h, control variate {cv}");
            assert_slabs_equal(setup, &state, 3, &ranks, &serial, &what);
        }
    }

    /// Issue 18: the `fourier` field on 1, 2 and 3 ranks = the CPU backend on one process, bit for bit — the state,
    /// Γ_k, every diagnostic (⟨δφ²⟩, the renormalised energy, the physicality monitor) and the noise increments
    /// after 3 steps of drift, back-reaction, the mean field's circulant coupling and the conditioning on the
    /// box-summed record: 2nd order (halo 2 planes), and 4th order with dissipation (halo 4 planes, as thick as the
    /// slabs on 3 ranks); vacuum renormalisation and `none`.
    #[test]
    fn fourier_slabs_are_the_cpu_backend_bit_for_bit() {
        let cases = [([5, 4, 6], 2, 0.0, true, vec![1, 2, 3]), ([6, 5, 12], 4, 0.1, true, vec![2, 3]), ([4, 5, 8], 2, 0.0, false, vec![2])];
        for (shape, order, dissipation, renormalize, ranks) in cases {
            let mut cfg = quantum_config(shape, Representation::Fourier, order, dissipation);
            cfg.cq.beta = 0.1;
            if !renormalize {
                cfg.matter.renormalization = crate::config::Renormalization::None;
            }
            let (setup, state) = perturbed(&cfg);
            let serial = outcome(crate::backend::try_cpu_stepper(setup, &state).unwrap().as_mut(), 3);
            let what = format!("fourier {shape:?} order {order}, dissipation {dissipation}, renormalised {renormalize}");
            assert_slabs_equal(setup, &state, 3, &ranks, &serial, &what);
        }
    }

    /// The classical system with CQ noise on 1, 2 and 3 ranks (threads, parallel/threads.rs) = the CPU backend on
    /// one process, bit for bit: the state, every diagnostic (64-site planes: the first tree pass per rank; 63:
    /// the values gathered) and the noise increments, f64 and f32, with dissipation (every field's halo) and
    /// without (the halos of g_ab, N and φ only), with white and smoothed noise (ℓ = 1.2h: a smoothing radius of
    /// 5 planes, wider than the 4 owned planes of 3 ranks over N3 = 12).
    #[test]
    fn slabs_on_one_two_and_three_ranks_are_the_cpu_backend_bit_for_bit() {
        let cases = [
            ([4, 16, 12], Precision::F64, 4, 0.1, 0.0),
            ([7, 9, 13], Precision::F64, 4, 0.1, 0.0),
            ([8, 8, 9], Precision::F32, 2, 0.1, 0.0),
            ([4, 8, 12], Precision::F64, 4, 0.0, 0.0),
            ([4, 8, 12], Precision::F64, 4, 0.1, 0.12),
        ];
        for (shape, precision, order, dissipation, ell) in cases {
            let (setup, state) = classical_noise_setup_with(shape, precision, order, dissipation, ell);
            let serial = outcome(crate::backend::try_cpu_stepper(setup, &state).unwrap().as_mut(), 3);
            assert_eq!(outcome(slab_stepper(setup, &state, Rc::new(Single)).unwrap().as_mut(), 3), serial);
            for ranks in [2, 3] {
                let state = &state;
                let results: Vec<_> = std::thread::scope(|sc| {
                    let handles: Vec<_> = crate::parallel::threads::ThreadComm::group(ranks)
                        .into_iter()
                        .map(|c| sc.spawn(move || outcome(slab_stepper(setup, state, Rc::new(c)).unwrap().as_mut(), 3)))
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                for (r, got) in results.iter().enumerate() {
                    assert!(*got == serial, "{shape:?} {precision:?}: rank {r} of {ranks} differs from one process");
                }
            }
        }
    }

    /// A stepper built from each rank's own planes only (a restart's hyperslab of the checkpoint, issue 18) =
    /// one built from the whole state, bit for bit after 3 steps, on 2 and 3 ranks.
    #[test]
    fn slabs_built_from_their_own_planes_are_the_cpu_backend_bit_for_bit() {
        let (setup, state) = classical_noise_setup([4, 8, 13], Precision::F64, 4);
        let serial = outcome(crate::backend::try_cpu_stepper(setup, &state).unwrap().as_mut(), 3);
        for ranks in [2, 3] {
            let state = &state;
            let results: Vec<_> = std::thread::scope(|sc| {
                let handles: Vec<_> = crate::parallel::threads::ThreadComm::group(ranks)
                    .into_iter()
                    .enumerate()
                    .map(|(r, c)| {
                        sc.spawn(move || {
                            let n3 = state.lattice.shape[2];
                            let (z0, z1) = (super::super::slab::first_plane(r, ranks, n3), super::super::slab::first_plane(r + 1, ranks, n3));
                            let (n, p) = (state.lattice.sites(), 4 * 8);
                            let mut own = state.clone();
                            own.lattice = crate::numerics::lattice::Lattice::new([4, 8, z1 - z0], state.lattice.spacing);
                            own.data = (0..NVARS).flat_map(|v| state.data[v * n + z0 * p..v * n + z1 * p].to_vec()).collect();
                            outcome(slab_stepper(setup, &own, Rc::new(c)).unwrap().as_mut(), 3)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (r, got) in results.iter().enumerate() {
                assert!(*got == serial, "rank {r} of {ranks}, built from its own planes, differs from one process");
            }
        }
    }

    use crate::config::Representation;

    #[test]
    fn quantum_fields_that_cannot_be_split_are_refused() {
        let (mut setup, _) = classical_noise_setup([4, 4, 8], Precision::F64, 2);
        setup.representation = Representation::Fourier;
        assert_eq!(unsupported(&setup), None);
        setup.representation = Representation::Dense;
        assert!(unsupported(&setup).unwrap().contains("stays on one rank"));
        setup.representation = Representation::Ensemble;
        for (c, why) in [(0.0, "without localisation"), (8.0, "blocks of several sites"), (2.5, "wraps the box along z")] {
            setup.ensemble.localization = c * setup.lattice.spacing;
            assert!(unsupported(&setup).unwrap().contains(why), "localization {c}: {:?}", unsupported(&setup));
        }
        setup.ensemble.localization = 1.5 * setup.lattice.spacing;
        assert_eq!(unsupported(&setup), None);
    }
}
