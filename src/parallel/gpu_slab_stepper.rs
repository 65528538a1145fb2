//! The domain-decomposed GPU stepper (issue 18): each rank steps its z-slab ([`Slab`]) with the GPU backend's
//! own kernels on its own device (backend/gpu: the same recorded RK4 stages and CQ noise, on the local lattice
//! N1 × N2 × (nz + 2G), itself periodic), and the halos travel through host staging buffers (wgpu has no
//! GPU-aware MPI): before RK4 stages 1–3 the ghost planes of the stage input, and after every step the ghost
//! planes of the state y (all 15 fields: they are stage 0's input, the noise's, the diagnostics' and the health
//! check's), are read back, exchanged with the neighbours ([`Slab::swap_halos`]) and written back.
//!
//! Every owned site therefore computes on the device exactly what it computes on one GPU: the same kernels on the
//! same numbers (its noise drawn with its global index, [`SiteNumbering`]). The reductions take the device's first
//! pass of the owned 64-site blocks (the diagnostics' workgroup sums; `N1·N2` must be a multiple of 64, so the
//! blocks are the global lattice's) or the owned per-site values (the noise statistics), and finish the
//! single-process tree on the host (parallel/slab.rs), identical on every rank and equal to one GPU's device
//! reduction bit for bit. The health check of every step: each rank's device sums its local state (owned and
//! fresh ghost planes); the step is non-finite when any rank's sum is.
//!
//! Smoothed noise (ℓ > 0): ζ is drawn on the local lattice by global index and smoothed there by the device's
//! own passes, so the halo is max(G, R) planes, R = ⌈4ℓ/h⌉ the smoothing radius.
//!
//! The quantum field: the representations whose GPU field splits over slabs (`Representation::gpu_slab`: `fourier`,
//! the localised `ensemble`)
//! are built on the local lattice with the slab as their site domain, and record each stage through
//! `GpuStepper::record_stage_in`: the field submits and gathers from every rank inside it (backend/gpu/fourier_field.rs:
//! Γ_k whole on every rank, the box sums' partials and the fields its transforms read gathered;
//! backend/gpu/ensemble_field.rs: the members on the local lattice, their ghost planes exchanged through the host
//! between passes). Its site arrays (`Representation::site_arrays`: the members, the shadows) are scattered to the local lattice
//! and gathered from the owned planes as the CPU slabs do. Its diagnostics, snapshot fields and constraint terms are
//! the host evaluation one GPU makes, on the local state (the site arrays' ghost planes exchanged; no gather).
//!
//! Scope: the classical field with CQ noise, `fourier` and the localised ensemble (with its control variate; its dW
//! exchanged, so also with smoothed noise, which the configuration still refuses with a quantum field) on lattices
//! with N1·N2 a multiple of 64 ([`gpu_unsupported`]).
use super::slab::{OwnedPlanes, Slab};
use super::slab_domain::SlabDomain;
use super::slab_stepper::{describe, halo_of, noise_diagnostics_of, owned_planes_in, owned_planes_of, quantum_diagnostics_in, site_arrays, stencil_fields, unsupported};
use super::timed_comm::TimedComm;
use super::Comm;
use crate::backend::cpu::diagnostics::{NCOL, OPS};
use crate::backend::cpu::reduce::finish_tree;
use crate::backend::gpu::noise::{SiteNumbering, NSTAT};
use crate::backend::gpu::GpuStepper;
use crate::backend::quantum::representation;
use crate::backend::{Stepper, StepperSetup};
use crate::config::Precision;
use crate::diagnostics::{finish, ConstraintFields, Diagnostics, NoiseDiagnostics};
use crate::gpu::GpuContext;
use crate::numerics::real::Real;
use crate::physics::cq_noise::smoothing_radius;
use crate::state::{QuantumData, State, NVARS};
use anyhow::{bail, Result};
use std::marker::PhantomData;
use std::rc::Rc;

/// Why the GPU slabs cannot take `setup` over `ranks` ranks (None: they can).
pub fn gpu_unsupported(setup: &StepperSetup) -> Option<String> {
    if let Some(why) = unsupported(setup) {
        return Some(why);
    }
    let rep = representation(setup);
    if !rep.gpu_slab() {
        return Some(format!(
            "matter.representation = \"{}\": the GPU slabs take the classical field, \"fourier\" and the localised \"ensemble\"",
            setup.representation.name()
        ));
    }
    let plane = setup.lattice.shape[0] * setup.lattice.shape[1];
    (plane % 64 != 0).then(|| {
        format!(
            "lattice.shape = {:?}: GPU slabs need N1·N2 to be a multiple of 64 (here {plane}), so that the device's \
             64-site reduction blocks are whole blocks of every slab; use run.backend = \"cpu\" for this lattice",
            setup.lattice.shape
        )
    })
}

/// The decomposed GPU stepper for `state` over the ranks of `comm`, on the device `ctx` of this rank.
pub fn gpu_slab_stepper(ctx: GpuContext, setup: StepperSetup, state: &State, comm: Rc<dyn Comm>) -> Result<Box<dyn Stepper>> {
    if let Some(why) = gpu_unsupported(&setup) {
        bail!("the domain-decomposed run over {} ranks cannot take this configuration: {why}", comm.size());
    }
    Ok(match setup.precision {
        Precision::F32 => Box::new(GpuSlabStepper::<f32>::new(ctx, setup, state, comm)?),
        Precision::F64 => Box::new(GpuSlabStepper::<f64>::new(ctx, setup, state, comm)?),
    })
}

pub struct GpuSlabStepper<T: Real> {
    setup: StepperSetup,
    slab: Slab,
    comm: Rc<TimedComm>,
    /// the GPU stepper of the local lattice (its own diagnostics and health are replaced by the slab's)
    gpu: GpuStepper,
    step: u64,
    first_nonfinite: Option<u64>,
    /// the fields whose ghost planes a stage reads (as the CPU slabs: all with dissipation, else g_ab, N, φ)
    stencil_fields: Vec<usize>,
    /// wall time copying the state's halo planes between the device and the host (the exchange's read-back and
    /// writes; its MPI part is the communicator's)
    staging_time: std::time::Duration,
    /// the halo exchange's read-back buffer, kept between exchanges
    staging: Option<wgpu::Buffer>,
    _real: PhantomData<T>,
}

impl<T: Real> GpuSlabStepper<T> {
    pub fn new(ctx: GpuContext, setup: StepperSetup, state: &State, comm: Rc<dyn Comm>) -> Result<Self> {
        let comm = Rc::new(TimedComm::new(comm));
        // the stencil's reach, and for smoothed noise its radius R: the device smooths ζ on the local lattice, so an
        // owned site's smoothing must not reach past the ghost planes (ζ of a ghost site is drawn by its global index)
        let stencil = halo_of(&setup)?;
        let noise_radius = if setup.noise.is_active() && setup.noise.correlation_length > 0.0 {
            smoothing_radius(setup.noise.correlation_length, setup.lattice.spacing)
        } else {
            0
        };
        let slab = Slab::new(setup.lattice, stencil.max(noise_radius), comm.rank(), comm.size()).map_err(|e| {
            if noise_radius > stencil {
                e.context(format!("the GPU slabs' halo is the smoothed noise's radius ⌈4ℓ/h⌉ = {noise_radius} planes (cq.correlation_length)"))
            } else {
                e
            }
        })?;
        // the quantum field's fluctuations, held whole on every rank: the state's, or (a fresh start) those one GPU
        // starts from, computed from the whole lattice's state
        let quantum = if setup.quantum.is_some() && state.quantum.is_empty() {
            anyhow::ensure!(state.lattice == setup.lattice, "a fresh quantum field starts from the whole lattice's state");
            representation(&setup).initial_arrays(&setup, state)?
        } else {
            state.quantum.clone()
        };
        let (local, ghosts_missing) = local_state(&slab, &setup, state, quantum);
        let mut local_setup = setup;
        local_setup.lattice = slab.local;
        // local site 0 is global site (z0 − G)·N1·N2, wrapped
        let sites = SiteNumbering { first: slab.first_site(), global: setup.lattice.sites() }.before(slab.ghost * slab.plane());
        let gpu = GpuStepper::with_sites(ctx, local_setup, &local, sites, &SlabDomain { slab: &slab, comm: comm.as_ref() })?;
        let mut s = Self {
            stencil_fields: stencil_fields(&setup),
            setup,
            slab,
            comm,
            gpu,
            step: state.step,
            first_nonfinite: None,
            staging_time: Default::default(),
            staging: None,
            _real: PhantomData,
        };
        if ghosts_missing {
            s.exchange(Buffer::State, &(0..NVARS).collect::<Vec<_>>())?;
        }
        Ok(s)
    }

    /// Fills the ghost planes of `fields` of the device buffer `buf` (structure of arrays over the local lattice)
    /// from the neighbours' owned planes.
    fn exchange(&mut self, which: Buffer, fields: &[usize]) -> Result<()> {
        let (t, mpi) = (std::time::Instant::now(), self.comm.spent());
        let mut staging = self.staging.take();
        let (ctx, buf) = (self.gpu.context(), self.buffer(which));
        let sent: Vec<_> = (0..2).flat_map(|side| fields.iter().map(move |&v| (side, v))).map(|(side, v)| self.slab.sent_planes(v)[side].clone()).collect();
        let packed: Vec<T> = ctx.read_regions_via(buf, &sent, &mut staging)?;
        let (to_next, to_prev) = packed.split_at(packed.len() / 2);
        let (from_prev, from_next) = self.slab.swap_halos(self.comm.as_ref(), to_next, to_prev);
        let g = self.slab.ghost * self.slab.plane();
        let bytes = std::mem::size_of::<T>() as u64;
        for (j, &v) in fields.iter().enumerate() {
            let [lower, upper] = self.slab.ghost_planes(v);
            ctx.write_buffer(buf, lower.start as u64 * bytes, &from_prev[j * g..(j + 1) * g])?;
            ctx.write_buffer(buf, upper.start as u64 * bytes, &from_next[j * g..(j + 1) * g])?;
        }
        self.staging = staging;
        self.staging_time += t.elapsed() - (self.comm.spent() - mpi);
        Ok(())
    }

    fn buffer(&self, which: Buffer) -> &wgpu::Buffer {
        match which {
            Buffer::State => self.gpu.state_buffer(),
            Buffer::StageInput(s) => self.gpu.stage_input(s),
        }
    }

    /// The owned sites of `nvars` fields of a device buffer, field after field ([`Slab::owned_of`]'s layout).
    fn owned_of(&self, buf: &wgpu::Buffer, nvars: usize) -> Result<Vec<T>> {
        let ranges: Vec<_> = (0..nvars).map(|v| self.slab.owned_planes(v)).collect();
        Ok(self.gpu.context().read_regions(buf, &ranges)?)
    }

    /// The global fields of `nvars` fields of a device buffer, on every rank.
    fn gathered(&self, buf: &wgpu::Buffer, nvars: usize) -> Result<Vec<f64>> {
        let owned = self.owned_of(buf, nvars)?;
        Ok(self.slab.all_gather(self.comm.as_ref(), &owned, nvars).iter().map(|x| x.as_f64()).collect())
    }

    /// This rank's slab as the quantum field's site domain.
    fn domain(&self) -> SlabDomain<'_> {
        SlabDomain { slab: &self.slab, comm: self.comm.as_ref() }
    }

    /// The local state now in f64 (y's ghost planes are fresh after every step) with the quantum field's
    /// fluctuations (whole), as one GPU's `download` converts them.
    fn local_state_now(&mut self) -> Result<State> {
        let mut local = self.gpu.download()?;
        (local.t, local.step) = (self.setup.time_at(self.step), self.step);
        let names = representation(&self.setup).site_arrays();
        for a in local.quantum.arrays.iter_mut().filter(|a| names.contains(&a.name.as_str())) {
            self.slab.exchange_wide(self.comm.as_ref(), &mut a.data, &(0..a.shape[0]).collect::<Vec<_>>(), a.shape[4]);
        }
        Ok(local)
    }

    /// One step: the noise increments, stage 0 (its input is y, whose ghosts are fresh), stages 1–3 each after
    /// the exchange of its input's halo, the noise added (and the quantum field conditioned on it), then y's halo;
    /// the health check. A quantum field's stage submits and gathers from every rank inside (`record_stage_in`).
    fn one_step(&mut self) -> Result<bool> {
        let ctx = self.gpu.context();
        let mut encoder = ctx.encoder("slab step: noise, stage 0");
        self.gpu.record_step_start(&mut encoder);
        let stages = self.gpu.has_stages();
        if stages {
            self.gpu.record_stage_in(&mut encoder, 0, &self.domain())?;
        }
        ctx.submit(encoder);
        if stages {
            for s in 1..4 {
                let fields = self.stencil_fields.clone();
                self.exchange(Buffer::StageInput(s), &fields)?;
                let ctx = self.gpu.context();
                let mut encoder = ctx.encoder("slab step: stage");
                self.gpu.record_stage_in(&mut encoder, s, &self.domain())?;
                ctx.submit(encoder);
            }
        }
        let ctx = self.gpu.context();
        let mut encoder = ctx.encoder("slab step: noise added");
        self.gpu.record_step_end(&mut encoder);
        let conditions = self.gpu.conditions();
        if conditions {
            self.gpu.record_conditioning_in(&mut encoder, &self.domain())?;
        }
        ctx.submit(encoder);
        if conditions {
            self.gpu.condition_in(self.step, &SlabDomain { slab: &self.slab, comm: self.comm.as_ref() })?;
        }
        self.exchange(Buffer::State, &(0..NVARS).collect::<Vec<_>>())?;
        self.step += 1;
        // health: this rank's local state (owned + fresh ghosts) on its device, then agreed by all ranks
        let ctx = self.gpu.context();
        let mut encoder = ctx.encoder("slab health");
        self.gpu.health().record(&mut encoder, 0);
        ctx.submit(encoder);
        let bad = self.gpu.health().first_nonfinite(ctx, 1)?.is_some();
        let any_bad = self.comm.all_gather_bytes(&[bad as u8]).iter().any(|b| b[0] != 0);
        Ok(!any_bad)
    }
}

#[derive(Clone, Copy)]
enum Buffer {
    State,
    StageInput(usize),
}

/// The local state of `slab` on the local lattice from the global state (owned and ghost planes), or from this
/// rank's own planes only (a restart reads each rank's hyperslab of the checkpoint): then the ghost planes are
/// zero and the second value is true — the caller fills them from the neighbours (a collective). `quantum`: the
/// whole lattice's fluctuations (the GPU slabs' fields hold them whole).
fn local_state(slab: &Slab, setup: &StepperSetup, state: &State, quantum: QuantumData) -> (State, bool) {
    assert_eq!(state.background, setup.background, "state and stepper disagree on the background metric");
    let whole = state.lattice.shape[2] == setup.lattice.shape[2];
    let data = if whole {
        slab.scatter(&state.data, NVARS)
    } else {
        assert_eq!(state.lattice.shape[2], slab.nz, "a state of some planes must be this rank's planes");
        slab.place_owned(&state.data, NVARS)
    };
    let quantum = site_arrays(setup, &quantum, |a, f, w| slab.scatter_wide(a, f, w), slab.local);
    let local = State { lattice: slab.local, data, background: state.background, t: state.t, step: state.step, quantum };
    (local, !whole)
}

impl<T: Real> Stepper for GpuSlabStepper<T> {
    fn advance(&mut self, steps: u64) -> Result<()> {
        for _ in 0..steps {
            if !self.one_step()? {
                self.first_nonfinite = Some(self.step);
                break;
            }
        }
        self.gpu.context().wait()?;
        Ok(())
    }
    fn take_first_nonfinite(&mut self) -> Result<Option<u64>> {
        Ok(self.first_nonfinite.take())
    }
    fn download(&mut self) -> Result<State> {
        Ok(State {
            lattice: self.setup.lattice,
            data: self.gathered(self.gpu.state_buffer(), NVARS)?,
            background: self.setup.background,
            t: self.setup.time_at(self.step),
            step: self.step,
            quantum: {
                let (slab, comm) = (&self.slab, self.comm.as_ref());
                let gather = |a: &[f64], f: usize, w: usize| slab.all_gather_wide(comm, &slab.owned_of_wide(a, f, w), f, w);
                site_arrays(&self.setup, &self.gpu.quantum_data()?, gather, self.setup.lattice)
            },
        })
    }
    fn upload(&mut self, state: &State) {
        let (local, ghosts_missing) = local_state(&self.slab, &self.setup, state, state.quantum.clone());
        self.gpu.upload(&local);
        if ghosts_missing {
            self.exchange(Buffer::State, &(0..NVARS).collect::<Vec<_>>()).expect("halo exchange of the uploaded planes");
        }
        self.step = state.step;
    }
    /// The owned planes for the rank's part files (issue 18): the state and the device's constraint fields at the
    /// owned sites (y's ghost planes are fresh after every step), as one GPU's `download` and `constraint_fields`.
    fn owned_planes(&mut self) -> Result<Option<OwnedPlanes>> {
        if self.setup.quantum.is_some() {
            let local = self.local_state_now()?;
            return Ok(Some(owned_planes_in(&self.slab, self.comm.as_ref(), &self.setup, &local)));
        }
        let diag = self.gpu.diagnostics_kernels();
        diag.site_pass(self.gpu.context());
        let f64s = |v: Vec<T>| -> Vec<f64> { v.into_iter().map(|x| x.as_f64()).collect() };
        let data = f64s(self.owned_of(self.gpu.state_buffer(), NVARS)?);
        let cf = f64s(self.owned_of(diag.constraint_buffer(), 4)?);
        let m = self.slab.owned();
        let [ham, mx, my, mz] = std::array::from_fn(|k| cf[k * m..(k + 1) * m].to_vec());
        Ok(Some(owned_planes_of(&self.slab, &self.setup, self.step, data, ConstraintFields { ham, mom: [mx, my, mz] })))
    }
    fn setup(&self) -> &StepperSetup {
        &self.setup
    }
    fn diagnostics(&mut self) -> Result<Diagnostics> {
        if self.setup.quantum.is_some() {
            // as one GPU: evaluated on the host from the state in f64 and Γ_k (here the local state: no gather)
            let local = self.local_state_now()?;
            let mut d = quantum_diagnostics_in(&self.slab, self.comm.as_ref(), &self.setup, &local);
            d.noise = self.noise_diagnostics()?;
            d.quantum_substeps = self.gpu.quantum_report().substeps as f64;
            return Ok(d);
        }
        let diag = self.gpu.diagnostics_kernels();
        diag.site_pass(self.gpu.context());
        // the owned blocks of each column's first pass (column c's block b at c·⌈n/64⌉ + b)
        let (blocks, r) = (self.slab.local.sites().div_ceil(64), self.slab.interior());
        let ranges: Vec<_> = (0..NCOL).map(|c| c * blocks + r.start / 64..c * blocks + r.end / 64).collect();
        let local: Vec<T> = self.gpu.context().read_regions(diag.first_pass_buffer(), &ranges)?;
        let pass1 = self.slab.gather_pass1(self.comm.as_ref(), &local, NCOL);
        let sums: Vec<f64> = pass1.into_iter().zip(OPS).map(|(p, op)| finish_tree(p, op).as_f64()).collect();
        let mut d = finish(&std::array::from_fn(|c| sums[c]), &self.setup.lattice, self.setup.time_at(self.step), self.step);
        d.noise = self.noise_diagnostics()?;
        Ok(d)
    }
    fn constraint_fields(&mut self) -> Result<ConstraintFields> {
        if self.setup.quantum.is_some() {
            return crate::backend::host_constraint_fields(self); // as one GPU: the quantum terms need Γ_k
        }
        let diag = self.gpu.diagnostics_kernels();
        diag.site_pass(self.gpu.context());
        let v = self.gathered(diag.constraint_buffer(), 4)?;
        let n = self.setup.lattice.sites();
        let [ham, mx, my, mz] = std::array::from_fn(|k| v[k * n..(k + 1) * n].to_vec());
        Ok(ConstraintFields { ham, mom: [mx, my, mz] })
    }
    fn noise_increments(&mut self) -> Result<Option<Vec<f64>>> {
        let Some(nz) = self.gpu.noise() else { return Ok(None) };
        Ok(Some(self.gathered(nz.increments_buffer(), 6)?))
    }
    fn noise_diagnostics(&mut self) -> Result<NoiseDiagnostics> {
        let Some(nz) = self.gpu.noise() else { return Ok(Default::default()) };
        let stat = self.owned_of(nz.stat_buffer(), NSTAT)?;
        Ok(noise_diagnostics_of(&self.slab, self.comm.as_ref(), &stat, &self.setup))
    }
    fn quantum_report(&mut self) -> crate::backend::quantum::QuantumStepReport {
        self.gpu.quantum_report()
    }
    fn description(&self) -> String {
        let detail = format!("{}, halos staged through the host", self.gpu.context().describe());
        describe::<T>("gpu", &detail, &self.slab, self.stencil_fields.len(), self.comm.spent(), Some(self.staging_time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Renormalization, Representation};
    use crate::parallel::slab_stepper::tests::{ensemble_setup, outcome, perturbed, quantum_config};
    use crate::parallel::threads::ThreadComm;

    /// `outcome` of `setup` from `state` after `steps` steps on GPU slabs over each of `ranks` ranks (threads, a device
    /// each) asserted equal to one GPU's, bit for bit (the state with its quantum arrays, the diagnostics, the noise
    /// increments). False when there is no device with the precision (skipped).
    fn assert_gpu_slabs_equal_one_gpu(setup: StepperSetup, state: &State, steps: u64, ranks: &[usize], what: &str) -> bool {
        let Ok(ctx) = GpuContext::new(setup.precision) else {
            eprintln!("no GPU device with {:?}: skipped", setup.precision);
            return false;
        };
        let serial = outcome(&mut GpuStepper::with_context(ctx, setup, state).unwrap(), steps);
        for &ranks in ranks {
            let results = ThreadComm::on_ranks(ranks, |c| {
                let ctx = GpuContext::new(setup.precision).unwrap();
                outcome(gpu_slab_stepper(ctx, setup, state, Rc::new(c)).unwrap().as_mut(), steps)
            });
            for (r, got) in results.iter().enumerate() {
                let first = got.0.iter().zip(&serial.0).position(|(a, b)| a != b);
                assert!(got.0.len() == serial.0.len() && first.is_none(), "{what}: rank {r} of {ranks}: state or quantum arrays differ (first at {first:?})");
                assert!(got.1 == serial.1, "{what}: rank {r} of {ranks}: diagnostics differ");
                assert!(got.2 == serial.2, "{what}: rank {r} of {ranks}: noise increments differ");
            }
            println!("{what}: {ranks} GPU slabs = one GPU, bit for bit");
        }
        true
    }

    /// Issue 18: the `fourier` field on GPU slabs over 2 and 3 ranks (threads, a device each) = one GPU, bit for bit:
    /// the state, Γ_k, every diagnostic (⟨δφ²⟩, the renormalised energy, the physicality monitor, the noise flow's
    /// sub-steps) and the noise increments after 3 steps of drift, back-reaction, the mean field's circulant
    /// coupling and the conditioning on the box-summed record (D2 = 1). f64 with 4th-order stencils, dissipation and
    /// the vacuum subtraction (the metric gathered for Γvac; a halo of 4 planes, as thick as the slabs on 3 ranks);
    /// f32 with 2nd order, no dissipation, renormalisation `none`; and without CQ coupling (D2 = 0: no noise, no
    /// conditioning, no transforms; only the box sums travel). The box sums reordered, a stale x̄ or w read at the
    /// wrong sites changes bits.
    #[test]
    fn fourier_gpu_slabs_are_one_gpu_bit_for_bit() {
        let cases = [
            ([8, 8, 12], Precision::F64, 4, 0.1, true, 1.0),
            ([4, 16, 6], Precision::F32, 2, 0.0, false, 1.0),
            ([8, 8, 6], Precision::F64, 2, 0.0, true, 0.0),
        ];
        for (shape, precision, order, dissipation, renormalize, diffusion) in cases {
            let mut cfg = quantum_config(shape, Representation::Fourier, order, dissipation);
            cfg.cq.beta = 0.1;
            cfg.cq.diffusion = diffusion;
            cfg.run.precision = precision;
            if !renormalize {
                cfg.matter.renormalization = Renormalization::None;
            }
            let (setup, state) = perturbed(&cfg);
            if !assert_gpu_slabs_equal_one_gpu(setup, &state, 3, &[2, 3], &format!("fourier {shape:?} {precision:?} D2 = {diffusion}")) {
                return;
            }
        }
    }

    /// Issue 18: the localised `ensemble` (site pairs, c = h, M = 8) on GPU slabs (threads, a device each) = one GPU,
    /// bit for bit: the state, the members, every diagnostic (⟨δφ²⟩, the renormalised energy, the physicality
    /// monitor, the back-reaction error, the noise flow's sub-steps) and the noise increments after 3 steps of drift,
    /// back-reaction, the coupling's G_σ δ and the conditioning's implicit-midpoint noise flow (D2 = 1). f64 with the
    /// vacuum subtraction (the metric gathered for Γvac) on 8×8×8 over 2 ranks; f32 with dissipation and
    /// renormalisation `none` on 4×16×12 over 3 ranks (2nd order: a halo of S + 2r = 3 planes, slabs of 4). Leaving out
    /// the exchange of the stage input's members fails it. Then 2 steps in f32 on 4×16×6 over 2 ranks (slabs of 3 =
    /// the halo; D2 = 10, whose weaker conditioning takes fewer noise-flow passes on lavapipe): the control variate
    /// with the vacuum subtraction (the shadows with their ghost planes, the reference Γ_k whole on every rank, its
    /// box means from the gathered metric and lapse; the shadows, the reference and the estimate's diagnostics
    /// compared too; leaving out the shadows' exchange fails it), and smoothed noise, ℓ = h/2 (R = 2: the device's
    /// local smoothing is one GPU's only in the first ghost plane, the noise flow reads S + r = 2; leaving out the
    /// exchange of dW fails it).
    #[test]
    fn ensemble_gpu_slabs_are_one_gpu_bit_for_bit() {
        // (shape, precision, dissipation, renormalisation, ranks, control variate, ℓ, D2, steps)
        let cases = [
            ([8, 8, 8], Precision::F64, 0.0, true, 2, false, 0.0, 1.0, 3),
            ([4, 16, 12], Precision::F32, 0.1, false, 3, false, 0.0, 1.0, 3),
            ([4, 16, 6], Precision::F32, 0.0, true, 2, true, 0.0, 10.0, 2),
            ([4, 16, 6], Precision::F32, 0.0, false, 2, false, 1.0, 10.0, 2),
        ];
        for (shape, precision, dissipation, renormalize, ranks, cv, ell, diffusion, steps) in cases {
            let (mut setup, mut state) = ensemble_setup(shape, precision, 2, dissipation, 1.0, cv);
            if !renormalize {
                setup.quantum.as_mut().unwrap().renormalize = false;
            }
            setup.noise.correlation_length = ell;
            setup.noise.diffusion = diffusion;
            setup.quantum.as_mut().unwrap().diffusion = diffusion;
            // the members sampled once (the exact lattice vacuum of the perturbed metric), not by every rank
            state.quantum = representation(&setup).initial_arrays(&setup, &state).unwrap();
            let what = format!("ensemble {shape:?} {precision:?}, control variate {cv}, ℓ = {ell}");
            if !assert_gpu_slabs_equal_one_gpu(setup, &state, steps, &[ranks], &what) {
                return;
            }
        }
    }
}
