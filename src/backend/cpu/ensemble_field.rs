//! The `ensemble` quantum scalar field on the CPU (float64; SPEC §4.2, issue 11): M member fields δ_s integrated
//! with the classical fields in the same RK4 stages (their Stratonovich drift, physics/ensemble_dynamics.rs), then
//! conditioned on the step's increments dW by the symplectic noise flow. Per step, as dense (docs/quantum.md §4):
//!   1. dW drawn from (g, N) at t_n (backend/cpu/cq_noise.rs);
//!   2. RK4 over dt of (g, π, N, x̄, δ_s) with the drift (π^ab gets −⟨L̂⟩_ren from the members);
//!   3. π^ab += dW; (x̄, δ_s) ← the noise flow of the increments, with 𝒟, A_I at t_n.
use crate::backend::quantum::{QuantumDiagnostics, QuantumField, QuantumStepReport, Representation, StageQuantum};
use crate::backend::StepperSetup;
use crate::numerics::rk4::{combine_f64, Rk4Stage};
use crate::numerics::jets::Mat5;
use crate::physics::ensemble_dynamics::{local_symplectic_ratio, sample_dense, sample_vacuum_homogeneous, EnsembleModel};
use crate::physics::fourier_dynamics::ModeCovariance;
use crate::numerics::site_domain::{SiteDomain, WholeLattice};
use crate::physics::gaussian_dynamics::{box_mean_geometry, site_quantum_from_local, Coeffs, SiteQuantum};
use crate::physics::gaussian_forms::{SiteCoeffs, SiteGeometry};
use crate::state::{var, QuantumArray, QuantumData, State};

/// The `ensemble` representation (backend/quantum.rs).
pub struct Ensemble;

/// Lattices up to this many sites with an inhomogeneous initial metric sample the exact lattice vacuum (O(n³));
/// larger ones sample the vacuum of the box-mean metric.
pub const EXACT_VACUUM_SITES: usize = 1024;

fn model_of(setup: &StepperSetup) -> anyhow::Result<EnsembleModel> {
    let q = setup.quantum.ok_or_else(|| anyhow::anyhow!("the ensemble representation needs the quantum field's parameters"))?;
    let m = setup.ensemble.members;
    anyhow::ensure!(m >= 4 && m % 2 == 0, "matter.members = {m}: the ensemble needs an even number of at least 4 members");
    Ok(EnsembleModel::new(setup.lattice, setup.stencil, q, setup.ensemble))
}

/// The checkpoint arrays: `members` (and with the control variate `shadows`), shape (2, N3, N2, N1, M) (field φ/π,
/// site, member) on the lattice of `shape`; `reference` (N3, N2, N1, 3) on the run's lattice of `global` (a slab's
/// field holds it whole, issue 18), the control variate's per-momentum covariance (φφ, φπ, ππ).
pub fn ensemble_data(d: Vec<f64>, cv: Option<(Vec<f64>, Vec<f64>)>, shape: [usize; 3], global: [usize; 3], members: usize) -> QuantumData {
    let [n1, n2, n3] = shape;
    let member_shape = vec![2, n3, n2, n1, members];
    let mut arrays = vec![QuantumArray { name: "members".into(), shape: member_shape.clone(), data: d }];
    if let Some((h, r)) = cv {
        let [g1, g2, g3] = global;
        arrays.push(QuantumArray { name: "shadows".into(), shape: member_shape, data: h });
        arrays.push(QuantumArray { name: "reference".into(), shape: vec![g3, g2, g1, 3], data: r });
    }
    QuantumData { representation: "ensemble".into(), arrays }
}

/// The initial members: the state's, or samples of the lattice vacuum of its metric (exact for a homogeneous
/// metric and for small lattices; the box-mean metric's vacuum otherwise, with a note on stderr).
pub fn initial_members(setup: &StepperSetup, state: &State) -> anyhow::Result<Vec<f64>> {
    let (n, m) = (setup.lattice.sites(), setup.ensemble.members);
    if !state.quantum.is_empty() {
        return Ok(state.quantum.require("members", 2 * n * m)?.to_vec());
    }
    let mass = setup.quantum.map_or(0.0, |q| q.mass);
    let seed = setup.ensemble.seed;
    let metric: Vec<[f64; 6]> = (0..n).map(|i| state.metric(i)).collect();
    let lapse = state.field(var::LAPSE);
    let homogeneous = metric.iter().all(|g| g == &metric[0]) && lapse.iter().all(|&l| l == lapse[0]);
    if homogeneous {
        return sample_vacuum_homogeneous(&setup.lattice, &setup.stencil, &metric[0], mass, m, seed);
    }
    if n <= EXACT_VACUUM_SITES {
        let gamma = crate::physics::lattice_vacuum::vacuum_covariance_general(&setup.lattice, &setup.stencil, &metric, lapse, mass)?;
        return sample_dense(&gamma, n, m, seed);
    }
    let gbar = state.box_mean_metric();
    eprintln!(
        "note: the initial metric is inhomogeneous and the lattice has {n} > {EXACT_VACUUM_SITES} sites: the ensemble's \
         members sample the lattice vacuum of the box-mean metric (docs/quantum.md E2)"
    );
    sample_vacuum_homogeneous(&setup.lattice, &setup.stencil, &gbar, mass, m, seed)
}

impl Representation for Ensemble {
    fn name(&self) -> &'static str {
        "ensemble"
    }
    /// Issue 18: a slab needs the reach of the stage and conditioning operators, S + 2r planes: the localisation
    /// taper's support S along z (the site pairs or single-site blocks, numerics/localization.rs) on top of the jets
    /// of the forms applied before and after it (Rᵀ z R, 2r). Localised on single sites only: without localisation
    /// (c = 0) Γ_ens couples every pair of sites, and blocks of several sites (c ≥ 8h) would have to align with the
    /// slabs; a taper that wraps the box along z (4c > L3) has weights that depend on the box length.
    fn slab_halo(&self, setup: &StepperSetup) -> Result<usize, String> {
        let (c, h) = (setup.ensemble.localization, setup.lattice.spacing);
        let n3 = setup.lattice.shape[2];
        if c <= 0.0 {
            return Err("matter.localization = 0: without localisation the members' covariance couples every pair of sites, so \
                        the ensemble is not split over ranks; set matter.localization between 0 and 8 (lattice spacings)"
                .into());
        }
        if c >= 8.0 * h {
            return Err(format!(
                "matter.localization = {}: from 8 lattice spacings on the taper is taken between blocks of several sites, \
                 which are not split over ranks; use a localisation below 8 lattice spacings",
                c / h
            ));
        }
        if 4.0 * c > n3 as f64 * h {
            return Err(format!(
                "matter.localization = {}: the taper's support (4 × {} lattice spacings) wraps the box along z (lattice.shape[2] = \
                 {n3}), so its weights depend on the box length; use a localisation of at most N3/4 = {}",
                c / h,
                c / h,
                n3 as f64 / 4.0
            ));
        }
        let band = crate::numerics::localization::Blocks::new(&setup.lattice, c).band[2].iter().map(|&(o, _)| o.unsigned_abs()).max().unwrap_or(0);
        Ok(band + 2 * setup.stencil.radius)
    }
    fn site_arrays(&self) -> &'static [&'static str] {
        &["members", "shadows"]
    }
    /// The initial members (and the control variate's shadows and reference) without the field's RK4 arrays.
    fn initial_arrays(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<QuantumData> {
        let d = initial_members(setup, state)?;
        let cv = match setup.ensemble.control_variate {
            true => Some(initial_control_variate(setup, state, &d).map(|(h, r)| (h, r.modes().to_vec()))?),
            false => None,
        };
        Ok(ensemble_data(d, cv, setup.lattice.shape, setup.lattice.shape, setup.ensemble.members))
    }
    /// Issue 18: the GPU field splits over slabs too (backend/gpu/ensemble_field.rs), with the control variate and
    /// smoothed noise.
    fn gpu_slab(&self) -> bool {
        true
    }
    fn cpu_slab(&self, setup: &StepperSetup, state: &State, global: crate::numerics::lattice::Lattice) -> anyhow::Result<Box<dyn QuantumField>> {
        Ok(Box::new(EnsembleField::new_in(setup, state, global)?))
    }
    fn cpu(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Box<dyn QuantumField>> {
        Ok(Box::new(EnsembleField::new(setup, state)?))
    }
    fn gpu(
        &self,
        ctx: &crate::gpu::GpuContext,
        setup: &StepperSetup,
        state: &State,
        f: crate::backend::gpu::quantum::FieldBuffers<'_>,
    ) -> anyhow::Result<Box<dyn crate::backend::gpu::quantum::GpuQuantumField>> {
        Ok(Box::new(crate::backend::gpu::ensemble_field::GpuEnsembleField::new(ctx, setup, state, f)?))
    }
    fn site_terms(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        self.site_terms_in(setup, state, &WholeLattice(setup.lattice))
    }
    fn site_terms_in(&self, setup: &StepperSetup, state: &State, domain: &dyn SiteDomain) -> anyhow::Result<Option<Vec<SiteQuantum>>> {
        Ok(evaluate(setup, state, domain)?.map(|e| e.sites))
    }
    /// On the `domain`'s local lattice (issue 18: a slab whose members have fresh ghost planes): the box quantities
    /// in the domain's order, so a slab's row is the single process's bit for bit.
    fn quantum_diagnostics(&self, setup: &StepperSetup, state: &State, domain: &dyn SiteDomain) -> Option<QuantumDiagnostics> {
        let e = evaluate(setup, state, domain).ok().flatten()?;
        let d = state.quantum.require("members", e.model.len()).ok()?;
        let min = min_symplectic_ratio(&e.own[domain.owned()], setup.lattice.cell_volume());
        let phi2: Vec<f64> = e.sites.iter().map(|s| s.phi2).collect();
        Some(QuantumDiagnostics {
            phi2_mean: crate::numerics::site_domain::box_means(domain, &[&phi2])[0],
            min_symplectic: domain.min(min),
            backreaction_error: e.model.backreaction_error_in(&e.c, d, state.quantum.get("shadows"), domain),
            sites: e.sites,
        })
    }
    /// The members' own local proxy (a sample covariance, positive semi-definite by construction; the
    /// control-variate estimate is unbiased but not positive definite).
    fn physicality(&self, setup: &StepperSetup, state: &State) -> f64 {
        let Ok(model) = model_of(setup) else { return f64::NAN };
        let Ok(d) = state.quantum.require("members", model.len()) else { return f64::NAN };
        min_symplectic_ratio(&model.local_covs(d), setup.lattice.cell_volume())
    }
    fn physicality_limit(&self, setup: &StepperSetup) -> f64 {
        if setup.ensemble.fluctuation_cutoff > 0.0 {
            // issue 13: a UV-cut initial state is a classical-statistical ensemble, not a quantum state: its local
            // symplectic ratio starts below 1 by construction (docs/cosmology.md §2), so it does not stop the run
            return 0.0;
        }
        collapse_limit(setup.lattice.sites(), setup.ensemble.members)
    }
    fn mode_power(&self, setup: &StepperSetup, state: &State) -> anyhow::Result<Option<crate::spectra::quantum::QuantumPower>> {
        if state.quantum.is_empty() {
            return Ok(None);
        }
        Ok(Some(crate::spectra::quantum::ensemble(&setup.lattice, &state.quantum, setup.ensemble.members)?))
    }
    fn backreaction_error(&self, setup: &StepperSetup, state: &State) -> f64 {
        let (Ok(model), false) = (model_of(setup), state.quantum.is_empty()) else { return 0.0 };
        let whole = WholeLattice(setup.lattice);
        let (Ok(d), Ok(c)) = (state.quantum.require("members", model.len()), model.gauss.coeffs_in(&state.data, &state.background, &whole)) else {
            return f64::NAN;
        };
        model.backreaction_error_in(&c, d, state.quantum.get("shadows"), &whole)
    }
}

/// The level of the local proxy `state_min_symplectic` below which the ensemble has collapsed. The proxy is a
/// sample estimate: at one site log ν has a sampling standard deviation of about 1/√(M−1) (a 2×2 sample
/// covariance with M − 1 degrees of freedom: var log det ≈ 4/(M−1)), so the minimum over n sites of a healthy
/// ensemble stays above exp(−(√(2 ln n) + 4)/√(M−1)) except with probability ≪ 1e-4; below it the members no
/// longer span the state (docs/quantum.md E6).
pub fn collapse_limit(sites: usize, members: usize) -> f64 {
    let z = (2.0 * (sites.max(2) as f64).ln()).sqrt() + 4.0;
    (-z / ((members as f64 - 1.0).max(1.0)).sqrt()).exp()
}

/// A stored ensemble evaluated on the `domain`'s local lattice (members with fresh ghost planes): its model, its
/// coefficients (the vacuum subtraction at the box-mean metric of the whole lattice), the members' own jet
/// covariances, and the per-site fluctuation terms from the control-variate estimate of them (the members' own,
/// minus the shadows', plus the exact reference on the whole lattice) with the non-quadratic potential's terms.
struct Evaluated {
    model: EnsembleModel,
    c: Coeffs,
    own: Vec<Mat5>,
    sites: Vec<SiteQuantum>,
}

fn evaluate(setup: &StepperSetup, state: &State, domain: &dyn SiteDomain) -> anyhow::Result<Option<Evaluated>> {
    let q = &state.quantum;
    if q.is_empty() {
        return Ok(None);
    }
    let model = model_of(setup)?;
    let c = model.gauss.coeffs_in(&state.data, &state.background, domain)?;
    let d = q.require("members", model.len())?;
    let own = model.local_covs(d);
    let mut estimate = own.clone();
    if let Some(h) = q.get("shadows") {
        anyhow::ensure!(h.len() == model.len(), "the ensemble's shadows have {} values, expected {}", h.len(), model.len());
        let global = domain.global();
        let reference = ModeCovariance::from_modes(&global, &model.gauss.stencil, model.gauss.params.mass, q.require("reference", 3 * global.sites())?.to_vec())?;
        control_variate(&mut estimate, &model.local_covs(h), &reference.local_covariance(0));
    }
    let mut sites = site_quantum_from_local(&c, &estimate);
    let u = &setup.params.potential;
    if !u.is_zero() {
        // issue 13: the fluctuations' energy and stress of the non-quadratic potential (classical-statistical)
        let excess = crate::physics::classical_statistical::potential_excess(u, state.field(var::PHI), d, model.members());
        for ((s, e), c) in sites.iter_mut().zip(&excess).zip(&c.sites) {
            s.rho += c.geo.sqrtg * e;
            for k in 0..6 {
                s.backreaction[k] += 0.5 * c.geo.lapse * c.geo.sqrtg * c.geo.ginv[k] * e;
            }
        }
    }
    Ok(Some(Evaluated { model, c, own, sites }))
}

/// The smallest local symplectic ratio of the jet covariances `loc` (the physicality proxy).
fn min_symplectic_ratio(loc: &[Mat5], cell_volume: f64) -> f64 {
    loc.iter().map(|l| local_symplectic_ratio(l, cell_volume)).fold(f64::INFINITY, f64::min)
}

/// loc ← loc − shadows + reference, site by site.
fn control_variate(loc: &mut [Mat5], shadows: &[Mat5], reference: &Mat5) {
    for (l, h) in loc.iter_mut().zip(shadows) {
        for i in 0..5 {
            for j in 0..5 {
                l[i][j] += reference[i][j] - h[i][j];
            }
        }
    }
}

/// The control variate at the start: the state's shadows and reference, or the members `d` themselves and the
/// vacuum of the box-mean metric.
pub fn initial_control_variate(setup: &StepperSetup, state: &State, d: &[f64]) -> anyhow::Result<(Vec<f64>, ModeCovariance)> {
    let n = setup.lattice.sites();
    let mass = setup.quantum.map_or(0.0, |q| q.mass);
    if state.quantum.is_empty() {
        return Ok((d.to_vec(), ModeCovariance::vacuum(&setup.lattice, &setup.stencil, &state.box_mean_metric(), mass)?));
    }
    // the stored reference (no vacuum of `mass` needed: issue 13's ensembles may start in the vacuum of another mass)
    let reference = ModeCovariance::from_modes(&setup.lattice, &setup.stencil, mass, state.quantum.require("reference", 3 * n)?.to_vec())?;
    Ok((state.quantum.require("shadows", d.len())?.to_vec(), reference))
}

/// The control variate (docs/quantum.md E5): shadow members evolved by the homogeneous operator ΩRᵀk̄R of the
/// box-mean metric, with the same RK4 stages as the members, and their exact covariance.
struct Shadows {
    hy: Vec<f64>,
    hacc: Vec<f64>,
    hu1: Vec<f64>,
    hu2: Vec<f64>,
    hd: Vec<f64>,
    reference: ModeCovariance,
}

pub struct EnsembleField {
    pub model: EnsembleModel,
    /// the members at the start of the step (y), the RK4 accumulator, the two stage inputs and the stage rhs
    pub dy: Vec<f64>,
    dacc: Vec<f64>,
    du1: Vec<f64>,
    du2: Vec<f64>,
    dd: Vec<f64>,
    /// the control variate (None: matter.control_variate = false)
    shadows: Option<Shadows>,
    /// coefficients at the start of the current step (stage 0), used by the noise flow
    start: Option<Coeffs>,
    report: QuantumStepReport,
    setup: StepperSetup,
    /// the run's lattice (`setup.lattice` is a slab of it in a decomposed run, issue 18)
    global: crate::numerics::lattice::Lattice,
}

impl EnsembleField {
    pub fn new(setup: &StepperSetup, state: &State) -> anyhow::Result<Self> {
        Self::new_in(setup, state, setup.lattice)
    }

    /// The field on `setup.lattice`, a part of the run's lattice `global` (issue 18: a rank's slab with its ghost
    /// planes; `state` then holds the slab's members and shadows, and the control variate's reference on the
    /// whole lattice — the field does not sample its own).
    pub fn new_in(setup: &StepperSetup, state: &State, global: crate::numerics::lattice::Lattice) -> anyhow::Result<Self> {
        anyhow::ensure!(
            global == setup.lattice || !state.quantum.is_empty(),
            "the ensemble on a part of the lattice starts from members sampled on the whole lattice"
        );
        let model = model_of(setup)?;
        let dy = initial_members(setup, state)?;
        let z = || vec![0.0; dy.len()];
        let shadows = match setup.ensemble.control_variate {
            true => {
                let (hy, reference) = initial_control_variate(&StepperSetup { lattice: global, ..*setup }, state, &dy)?;
                Some(Shadows { hy, hacc: z(), hu1: z(), hu2: z(), hd: z(), reference })
            }
            false => None,
        };
        Ok(Self { dacc: z(), du1: z(), du2: z(), dd: z(), dy, shadows, model, start: None, report: Default::default(), setup: *setup, global })
    }
}

/// The input of RK4 stage `index` among the arrays (y, u1, u2): y, u1, u2, u1 (numerics/rk4.rs).
fn stage_input<'a>(index: usize, y: &'a mut Vec<f64>, u1: &'a mut Vec<f64>, u2: &'a mut Vec<f64>) -> &'a mut Vec<f64> {
    match index {
        0 => y,
        1 | 3 => u1,
        _ => u2,
    }
}

impl QuantumField for EnsembleField {
    /// On a slab (issue 18) the stage input's members and shadows get fresh ghost planes first; every operator of
    /// the stage then reaches at most S + 2r planes (`Ensemble::slab_halo`).
    fn stage(&mut self, index: usize, u: &[f64], background: &[f64; 6], domain: &dyn SiteDomain) -> anyhow::Result<Option<StageQuantum>> {
        let (n, m) = (self.model.sites(), self.model.members());
        let c = self.model.gauss.coeffs_in(u, background, domain)?;
        let xbar = &u[var::PHI * n..(var::PI_PHI + 1) * n];
        let d = stage_input(index, &mut self.dy, &mut self.du1, &mut self.du2);
        domain.exchange(d, 2, m);
        let d: &[f64] = d;
        let loc = self.model.local_covs(d);
        let mut br_loc = loc.clone();
        if let Some(sh) = &mut self.shadows {
            // the control variate: shadows' stage rhs ΩRᵀk̄R δ^h and the propagator's, at the box-mean metric
            let (gbar, nbar) = box_mean_geometry(&c.sites, domain);
            let geo = SiteGeometry::new(&gbar, nbar);
            let kbar = SiteCoeffs::new(geo, &self.model.gauss.params, self.model.gauss.lattice.cell_volume()).k;
            let h = stage_input(index, &mut sh.hy, &mut sh.hu1, &mut sh.hu2);
            domain.exchange(h, 2, m);
            let h: &[f64] = h;
            self.model.hamiltonian_flow(&vec![kbar; n], h, &mut sh.hd);
            let reference = sh.reference.local_covariance(index);
            sh.reference.unitary_stage(index, &gbar, nbar);
            control_variate(&mut br_loc, &self.model.local_covs(h), &reference);
        }
        let mut q = StageQuantum { dx: vec![0.0; 2 * n], br: vec![[0.0; 6]; n] };
        self.model.drift(&c, xbar, d, &loc, &br_loc, &mut q.dx, &mut self.dd, &mut q.br, domain);
        let u = &self.setup.params.potential;
        if !u.is_zero() {
            // issue 13: the non-quadratic potential moves the members non-linearly (classical-statistical approximation)
            crate::physics::classical_statistical::add_stage_terms(u, &c.sites, xbar, d, self.model.members(), &mut q.dx, &mut self.dd, &mut q.br);
        }
        if index == 0 {
            self.start = Some(c);
        }
        Ok(Some(q))
    }

    fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        let next = if st.index == 1 { &mut self.du2 } else { &mut self.du1 };
        combine_f64(st, dt, &self.dd, &mut self.dy, &mut self.dacc, next);
        if let Some(sh) = &mut self.shadows {
            let next = if st.index == 1 { &mut sh.hu2 } else { &mut sh.hu1 };
            combine_f64(st, dt, &sh.hd, &mut sh.hy, &mut sh.hacc, next);
            sh.reference.combine(st, dt);
        }
    }

    fn condition(&mut self, noise: &crate::backend::quantum::StepNoise<'_>, xbar: &mut [f64], domain: &dyn SiteDomain) -> anyhow::Result<()> {
        let c = self.start.as_ref().expect("condition() after a step's stage 0");
        self.report.substeps = self.model.noise_flow_in(c, noise.increments, xbar, &mut self.dy, domain)?;
        Ok(())
    }

    fn save(&self) -> QuantumData {
        let cv = self.shadows.as_ref().map(|sh| (sh.hy.clone(), sh.reference.modes().to_vec()));
        ensemble_data(self.dy.clone(), cv, self.setup.lattice.shape, self.global.shape, self.setup.ensemble.members)
    }

    fn restore(&mut self, q: &QuantumData) -> anyhow::Result<()> {
        let d = q.require("members", self.dy.len())?;
        self.dy.copy_from_slice(d);
        if let Some(sh) = &mut self.shadows {
            sh.hy.copy_from_slice(q.require("shadows", self.dy.len())?);
            // per momentum of the whole lattice (also on a slab)
            let len = sh.reference.modes().len();
            sh.reference.modes_mut().copy_from_slice(q.require("reference", len)?);
        }
        Ok(())
    }

    fn report(&self) -> QuantumStepReport {
        self.report
    }
}
