//! The GPU backend: the RK4 step as a recording of kernel dispatches (per stage: scalar_flux.wgsl, then
//! evolve_stage.wgsl), the same discrete equations as the CPU twin (backend/cpu). Buffers: y (state),
//! acc (RK accumulator), u1, u2 (stage inputs), flux; stage 0 reads a copy of y in u2 so that no buffer
//! is bound both read-only and read-write in one dispatch.
pub mod dense_field; // the dense quantum field (issue 5)
pub mod ensemble_field; // the ensemble quantum field (issue 11)
pub mod diagnostics;
pub mod health; // the health check of every step (issue 15)
pub mod fourier_field;
pub mod noise; // CQ noise (issue 4)
pub mod params;
pub mod quantum;

use super::{Stepper, StepperSetup};
use crate::config::Precision;
use crate::diagnostics::{finish, ConstraintFields, Diagnostics};
use crate::gpu::{Binding, GpuContext, Kernel};
use crate::numerics::rk4::STAGES;
use crate::state::{State, NVARS};

pub struct GpuStepper {
    setup: StepperSetup,
    ctx: GpuContext,
    flux_kernel: Kernel,
    stage_kernel: Kernel,
    y: wgpu::Buffer,
    u1: wgpu::Buffer,
    u2: wgpu::Buffer,
    flux_groups: Vec<wgpu::BindGroup>,
    stage_groups: Vec<wgpu::BindGroup>,
    step: u64,
    /// steps recorded into one command buffer
    batch: u64,
    diag: diagnostics::GpuDiagnostics,
    /// CQ noise (issue 4): None when D2 = 0
    noise: Option<noise::GpuNoise>,
    /// the quantum field's fluctuations, in their representation (backend/quantum.rs)
    quantum: Box<dyn quantum::GpuQuantumField>,
    /// the health check of every step (issue 15) and the first step found non-finite
    health: health::GpuHealth,
    first_nonfinite: Option<u64>,
}

/// Convert f64 host data to the device precision's bytes.
fn to_device(data: &[f64], precision: Precision) -> Vec<u8> {
    match precision {
        Precision::F64 => bytemuck::cast_slice(data).to_vec(),
        Precision::F32 => {
            let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
            bytemuck::cast_slice(&v).to_vec()
        }
    }
}

impl GpuStepper {
    pub fn new(setup: StepperSetup, state: &State) -> anyhow::Result<Self> {
        let ctx = GpuContext::new(setup.precision)?;
        Self::with_context(ctx, setup, state)
    }

    pub fn with_context(ctx: GpuContext, setup: StepperSetup, state: &State) -> anyhow::Result<Self> {
        let n = setup.lattice.sites();
        Self::with_sites(ctx, setup, state, noise::SiteNumbering::whole(n), &crate::numerics::site_domain::WholeLattice(setup.lattice))
    }

    /// A stepper whose lattice is numbered `sites` in the noise's Philox counters and sits in the run's lattice as
    /// `domain` says (a z-slab of a domain-decomposed run, parallel/gpu_slab_stepper.rs: `state` its local state with
    /// the whole lattice's fluctuations; [`Self::with_context`] for a whole lattice).
    pub fn with_sites(
        ctx: GpuContext,
        setup: StepperSetup,
        state: &State,
        sites: noise::SiteNumbering,
        domain: &dyn crate::numerics::site_domain::SiteDomain,
    ) -> anyhow::Result<Self> {
        let p = setup.precision;
        let n = setup.lattice.sites();
        let real_bytes = if p == Precision::F64 { 8 } else { 4 } as u64;
        let state_bytes = (NVARS * n) as u64 * real_bytes;
        use Binding::{StorageRead as R, StorageReadWrite as W};
        let flux_kernel = Kernel::new(&ctx, "scalar_flux", p, "main", &[R, R, R, W])?;
        let stage_kernel = Kernel::new(&ctx, "evolve_stage", p, "main", &[R, R, R, R, W, W, W, R])?;
        let y = ctx.storage_buffer("state y", &to_device(&state.data, p))?;
        let acc = ctx.storage_buffer_zeroed("rk4 accumulator", state_bytes)?;
        let u1 = ctx.storage_buffer_zeroed("stage input u1", state_bytes)?;
        let u2 = ctx.storage_buffer_zeroed("stage input u2", state_bytes)?;
        let flux = ctx.storage_buffer_zeroed("scalar flux", 3 * n as u64 * real_bytes)?;
        let noise = if setup.noise.is_active() { Some(noise::GpuNoise::new(&ctx, &setup, &y, state.step, sites)?) } else { None };
        // the quantum field's representation, whose right-hand side evolve_stage reads (binding 7)
        let rep = super::quantum::representation(&setup);
        anyhow::ensure!(domain.owned() == (0..n) || rep.gpu_slab(), "the GPU \"{}\" field is not domain-decomposed", rep.name());
        let quantum = rep.gpu(
            &ctx,
            &setup,
            state,
            quantum::FieldBuffers { inputs: [&u2, &u1, &u2, &u1], dw: noise.as_ref().map(|nz| nz.increments_buffer()), domain },
        )?;
        let no_qrhs = ctx.storage_buffer_zeroed("no quantum rhs", 8)?;
        let qrhs = quantum.qrhs().unwrap_or(&no_qrhs);
        let mut diag = None;
        let mut flux_groups = Vec::new();
        let mut stage_groups = Vec::new();
        for st in STAGES {
            let pu = ctx.storage_buffer("params u32", &params::params_u(&setup, &st))?;
            let pr_f64 = params::params_r(&setup, &st);
            let pr = ctx.storage_buffer::<u8>("params real", &to_device(&pr_f64, p))?;
            // inputs: u2 (copy of y), u1, u2, u1; outputs (next): u1, u2, u1, (unused) u2
            let (input, next) = match st.index {
                0 => (&u2, &u1),
                1 => (&u1, &u2),
                2 => (&u2, &u1),
                _ => (&u1, &u2),
            };
            if st.index == 0 {
                diag = Some(diagnostics::GpuDiagnostics::new(&ctx, p, n, &pu, &pr, &y)?);
            }
            flux_groups.push(flux_kernel.bind(&ctx, &[&pu, &pr, input, &flux]));
            stage_groups.push(stage_kernel.bind(&ctx, &[&pu, &pr, input, &flux, &y, &acc, next, qrhs]));
        }
        let batch = (2_000_000 / n.max(1)).clamp(1, 64) as u64;
        let diag = diag.expect("stage 0 exists");
        let health = health::GpuHealth::new(&ctx, p, n, &y)?;
        Ok(Self {
            setup,
            ctx,
            flux_kernel,
            stage_kernel,
            y,
            u1,
            u2,
            flux_groups,
            stage_groups,
            step: state.step,
            batch,
            diag,
            noise,
            quantum,
            health,
            first_nonfinite: None,
        })
    }

    fn record_step(&self, encoder: &mut wgpu::CommandEncoder) {
        self.record_step_start(encoder);
        if self.has_stages() {
            for s in 0..4 {
                self.record_stage(encoder, s);
            }
        }
        self.record_step_end(encoder);
    }

    /// Whether a step has RK4 stages (the drift, or a quantum field, is evolved).
    pub(crate) fn has_stages(&self) -> bool {
        self.setup.drift || self.setup.quantum.is_some()
    }

    /// The start of a step: the CQ noise increments (issue 4) from the state at the start of the step, and the
    /// copy of y into stage 0's input.
    pub(crate) fn record_step_start(&self, encoder: &mut wgpu::CommandEncoder) {
        if let Some(nz) = &self.noise {
            nz.record_pre(encoder);
        }
        if self.has_stages() {
            encoder.copy_buffer_to_buffer(&self.y, 0, &self.u2, 0, self.y.size());
        }
    }

    /// RK4 stage `s` (0..4) of a step: it reads [`Self::stage_input`]`(s)`.
    fn record_stage(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        self.quantum.record_stage_pre(encoder, s); // back-reaction and ∂t x̄ for this stage
        self.record_stage_fields(encoder, s);
        self.quantum.record_stage_post(encoder, s); // the fluctuations' stage and RK4 combination
    }

    /// [`Self::record_stage`] on the stepper's `domain` (a rank's z-slab, issue 18): the quantum field may submit
    /// `encoder` to gather every rank's values and go on in a fresh one.
    pub(crate) fn record_stage_in(&self, encoder: &mut wgpu::CommandEncoder, s: usize, domain: &dyn crate::numerics::site_domain::SiteDomain) -> anyhow::Result<()> {
        self.quantum.stage_pre_in(&self.ctx, encoder, s, domain)?;
        self.record_stage_fields(encoder, s);
        self.quantum.stage_post_in(&self.ctx, encoder, s, domain)
    }

    /// The field kernels of RK4 stage `s`.
    fn record_stage_fields(&self, encoder: &mut wgpu::CommandEncoder, s: usize) {
        let n = self.setup.lattice.sites() as u32;
        self.flux_kernel.dispatch(encoder, &self.flux_groups[s], n);
        self.stage_kernel.dispatch(encoder, &self.stage_groups[s], n);
    }

    /// The end of a step: the CQ noise added to π^ab.
    pub(crate) fn record_step_end(&self, encoder: &mut wgpu::CommandEncoder) {
        if let Some(nz) = &self.noise {
            nz.record_post(encoder);
        }
    }

    /// The buffer RK4 stage `s` reads (u2, u1, u2, u1), and the state buffer y.
    pub(crate) fn stage_input(&self, s: usize) -> &wgpu::Buffer {
        if s % 2 == 0 { &self.u2 } else { &self.u1 }
    }
    pub(crate) fn state_buffer(&self) -> &wgpu::Buffer {
        &self.y
    }
    pub(crate) fn noise(&self) -> Option<&noise::GpuNoise> {
        self.noise.as_ref()
    }
    pub(crate) fn diagnostics_kernels(&self) -> &diagnostics::GpuDiagnostics {
        &self.diag
    }
    pub(crate) fn health(&self) -> &health::GpuHealth {
        &self.health
    }

    /// A step whose quantum conditioning needs the host (SPEC §4.1): the step as [`Self::record_step`], then the
    /// conditioning of the quantum state on the same increments (its number of sub-steps needs the strength read
    /// back).
    fn conditioned_step(&mut self) -> anyhow::Result<()> {
        let mut encoder = self.ctx.encoder("rk4 step (conditioned)");
        self.record_step(&mut encoder);
        self.quantum.record_conditioning_prep(&mut encoder, &self.y);
        self.ctx.submit(encoder);
        self.condition(self.step)?;
        self.step += 1;
        Ok(())
    }

    /// Whether a step's quantum conditioning needs the host (see [`Self::conditioned_step`]).
    pub(crate) fn conditions(&self) -> bool {
        self.quantum.conditions() && self.noise.is_some()
    }

    /// Issue 18: the conditioning's preparation after the noise is added (recorded into `encoder` after
    /// [`Self::record_step_end`]) on the stepper's `domain`, with the quantum field's host round-trips.
    pub(crate) fn record_conditioning_in(&self, encoder: &mut wgpu::CommandEncoder, domain: &dyn crate::numerics::site_domain::SiteDomain) -> anyhow::Result<()> {
        self.quantum.conditioning_prep_in(&self.ctx, encoder, &self.y, domain)
    }

    /// The quantum conditioning of step `step` → `step` + 1, once its preparation has been submitted.
    pub(crate) fn condition(&mut self, step: u64) -> anyhow::Result<()> {
        self.quantum.condition(&self.ctx, &self.y, step).map_err(|e| e.context(format!("at step {step} → {}", step + 1)))
    }

    /// [`Self::condition`] on the stepper's `domain` (a rank's z-slab, issue 18).
    pub(crate) fn condition_in(&mut self, step: u64, domain: &dyn crate::numerics::site_domain::SiteDomain) -> anyhow::Result<()> {
        self.quantum.condition_in(&self.ctx, &self.y, step, domain).map_err(|e| e.context(format!("at step {step} → {}", step + 1)))
    }

    /// The quantum field's fluctuations in f64 (checkpoint arrays; on a slab the whole lattice's).
    pub(crate) fn quantum_data(&self) -> anyhow::Result<crate::state::QuantumData> {
        self.quantum.download(&self.ctx)
    }

    /// The CQ noise increments dW^ab on the device (6 components SoA, the run's precision; see
    /// [`Stepper::noise_increments`]); None when D2 = 0. For the kernels of the quantum conditioning (SPEC §4.1).
    pub fn noise_buffer(&self) -> Option<&wgpu::Buffer> {
        self.noise.as_ref().map(|nz| nz.increments_buffer())
    }

    /// The device's CQ-noise step counter (must equal the stepper's step; tests).
    pub fn noise_device_step(&self) -> anyhow::Result<Option<u64>> {
        Ok(match &self.noise {
            Some(nz) => Some(nz.device_step(&self.ctx)?),
            None => None,
        })
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Instrumentation (`cqgrav bench`, src/bench/; classical runs — a dense quantum field's dispatches are not
    /// listed): the operations [`Self::record_step`] records for one RK4 step, in the same order; recording them in order with [`StepOp::record`] is one step. A bench puts its
    /// timestamps between them; nothing else uses this.
    ///
    /// **Keep in sync with `record_step`**: a kernel added to the step (e.g. the CQ noise, `"cq_noise"`) must be
    /// listed here under its shader's name, or the bench cannot time it. tests/bench_smoke.rs checks that
    /// replaying these ops reproduces `advance(1)` bit for bit.
    pub fn step_ops(&self) -> Vec<StepOp<'_>> {
        let n = self.setup.lattice.sites() as u32;
        let mut ops = Vec::new();
        // CQ noise (issue 4): as in record_step
        if let Some(nz) = &self.noise {
            for (name, kernel, group) in nz.pre_ops() {
                ops.push(StepOp::Dispatch { name, stage: None, kernel, group, threads: n });
            }
        }
        let stages = if self.setup.drift { 0..4 } else { 0..0 };
        if self.setup.drift {
            ops.push(StepOp::Copy { name: "copy_y_u2", src: &self.y, dst: &self.u2 });
        }
        for s in stages {
            ops.push(StepOp::Dispatch {
                name: "scalar_flux",
                stage: Some(s),
                kernel: &self.flux_kernel,
                group: &self.flux_groups[s],
                threads: n,
            });
            ops.push(StepOp::Dispatch {
                name: "evolve_stage",
                stage: Some(s),
                kernel: &self.stage_kernel,
                group: &self.stage_groups[s],
                threads: n,
            });
        }
        if let Some(nz) = &self.noise {
            let (name, kernel, group) = nz.post_op();
            ops.push(StepOp::Dispatch { name, stage: None, kernel, group, threads: n });
        }
        ops
    }
}

/// One operation of the recorded RK4 step ([`GpuStepper::step_ops`]; instrumentation for `cqgrav bench`).
pub enum StepOp<'a> {
    /// `copy_buffer_to_buffer` of the whole `src` into `dst`.
    Copy { name: &'static str, src: &'a wgpu::Buffer, dst: &'a wgpu::Buffer },
    /// One dispatch of `kernel` over `threads` threads; `stage` is the RK4 stage (0..4) when it has one.
    Dispatch { name: &'static str, stage: Option<usize>, kernel: &'a Kernel, group: &'a wgpu::BindGroup, threads: u32 },
}

impl StepOp<'_> {
    /// The shader's file stem (`"scalar_flux"`, `"evolve_stage"`, …) or `"copy_y_u2"`.
    pub fn name(&self) -> &'static str {
        match self {
            StepOp::Copy { name, .. } | StepOp::Dispatch { name, .. } => name,
        }
    }
    /// The RK4 stage of a per-stage kernel.
    pub fn stage(&self) -> Option<usize> {
        match self {
            StepOp::Copy { .. } => None,
            StepOp::Dispatch { stage, .. } => *stage,
        }
    }
    /// Records the operation into `encoder`, exactly as `record_step` does.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        match self {
            StepOp::Copy { src, dst, .. } => encoder.copy_buffer_to_buffer(src, 0, dst, 0, src.size()),
            StepOp::Dispatch { kernel, group, threads, .. } => kernel.dispatch(encoder, group, *threads),
        }
    }
}

impl Stepper for GpuStepper {
    /// Steps in batches of command buffers; after each step the health sum of the state goes into a ring slot
    /// (issue 15), read back when the ring is full and at the end: advancing stops after the batch in which
    /// the state first became non-finite ([`Stepper::take_first_nonfinite`]).
    fn advance(&mut self, steps: u64) -> anyhow::Result<()> {
        let mut left = steps;
        let (mut slot, mut ring_start) = (0u64, self.step);
        while left > 0 {
            let k = if self.quantum.conditions() && self.noise.is_some() {
                self.conditioned_step()?;
                let mut encoder = self.ctx.encoder("health");
                self.health.record(&mut encoder, slot);
                self.ctx.submit(encoder);
                1
            } else {
                let k = left.min(self.batch).min(health::RING - slot);
                let mut encoder = self.ctx.encoder("rk4 steps");
                for j in 0..k {
                    self.record_step(&mut encoder);
                    self.health.record(&mut encoder, slot + j);
                }
                self.ctx.submit(encoder);
                self.step += k;
                k
            };
            left -= k;
            slot += k;
            if slot == health::RING || left == 0 {
                if let Some(j) = self.health.first_nonfinite(&self.ctx, slot)? {
                    self.first_nonfinite = Some(ring_start + j + 1);
                    break;
                }
                (slot, ring_start) = (0, self.step);
            }
        }
        self.ctx.wait()?;
        Ok(())
    }
    fn take_first_nonfinite(&mut self) -> anyhow::Result<Option<u64>> {
        Ok(self.first_nonfinite.take())
    }

    fn download(&mut self) -> anyhow::Result<State> {
        let data = self.ctx.read_reals(&self.y, NVARS * self.setup.lattice.sites(), self.setup.precision)?;
        Ok(State {
            lattice: self.setup.lattice,
            data,
            background: self.setup.background,
            t: self.setup.time_at(self.step),
            step: self.step,
            quantum: self.quantum_data()?,
        })
    }

    fn upload(&mut self, state: &State) {
        assert_eq!(state.background, self.setup.background, "state and stepper disagree on the background metric");
        self.ctx
            .write_buffer::<u8>(&self.y, 0, &to_device(&state.data, self.setup.precision))
            .expect("state upload within the buffer");
        self.step = state.step;
        if let Some(nz) = &self.noise {
            nz.set_step(&self.ctx, state.step).expect("noise step counter within its buffer"); // CQ noise (issue 4)
        }
        if !state.quantum.is_empty() {
            self.quantum.upload(&self.ctx, &state.quantum).expect("the state's quantum field matches the lattice and representation");
        }
    }

    fn setup(&self) -> &StepperSetup {
        &self.setup
    }
    fn quantum_report(&mut self) -> super::quantum::QuantumStepReport {
        self.quantum.report()
    }
    fn description(&self) -> String {
        format!("gpu: {} ({:?})", self.ctx.describe(), self.setup.precision)
    }

    /// Reduced on the device: only NCOL numbers come back. With a dense quantum field the state and Γ are read back
    /// and evaluated on the host (its densities and physicality monitor, as the CPU backend does).
    fn diagnostics(&mut self) -> anyhow::Result<Diagnostics> {
        if self.setup.quantum.is_some() {
            return super::host_diagnostics(self);
        }
        let sums = self.diag.reduce(&self.ctx)?;
        let mut d = finish(&sums, &self.setup.lattice, self.setup.time_at(self.step), self.step);
        d.noise = self.noise_diagnostics()?; // CQ noise (issue 4)
        Ok(d)
    }

    // ---- CQ noise (issue 4) ----
    fn noise_increments(&mut self) -> anyhow::Result<Option<Vec<f64>>> {
        Ok(match &self.noise {
            Some(nz) => Some(nz.increments(&self.ctx)?),
            None => None,
        })
    }
    fn noise_diagnostics(&mut self) -> anyhow::Result<crate::diagnostics::NoiseDiagnostics> {
        Ok(match &self.noise {
            Some(nz) => crate::diagnostics::NoiseDiagnostics::from_sums(&nz.stat_sums(&self.ctx)?, &self.setup),
            None => Default::default(),
        })
    }
    // ---- end CQ noise ----

    fn constraint_fields(&mut self) -> anyhow::Result<ConstraintFields> {
        if self.setup.quantum.is_some() {
            return super::host_constraint_fields(self); // the quantum terms need the fluctuations
        }
        let [ham, mx, my, mz] = self.diag.constraint_fields(&self.ctx)?;
        Ok(ConstraintFields { ham, mom: [mx, my, mz] })
    }
}
