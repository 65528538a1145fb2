//! The classical state of a CPU stepper and the scratch of its fused RK4 stages (numerics/rk4.rs) on one periodic
//! lattice: the whole lattice (`CpuStepper`), or one z-slab with its ghost planes (parallel/slab_stepper.rs).
use super::evolve_stage::{combine, rhs_all, rhs_sites, StageBuffers};
use super::fd::Fd;
use super::scalar_flux::scalar_flux;
use crate::backend::StepperSetup;
use crate::numerics::lattice::Lattice;
use crate::numerics::real::Real;
use crate::numerics::rk4::Rk4Stage;
use crate::physics::adm_rhs::RhsParams;
use crate::state::NVARS;
use std::ops::Range;

pub struct Rk4Buffers<T: Real> {
    pub fd: Fd<T>,
    pub params: RhsParams<T>,
    /// the state (structure of arrays, NVARS fields)
    pub y: Vec<T>,
    pub acc: Vec<T>,
    pub u1: Vec<T>,
    pub u2: Vec<T>,
    pub flux: Vec<T>,
    /// the stage's right-hand side, site-major
    pub k: Vec<[T; NVARS]>,
}

impl<T: Real> Rk4Buffers<T> {
    /// The stencils and parameters of `setup` in the run's float type, and zeroed buffers for `sites` sites.
    pub fn new(setup: &StepperSetup, sites: usize) -> Self {
        Self {
            fd: Fd::new(&setup.stencil, setup.lattice.spacing, setup.dissipation),
            params: RhsParams { background: setup.background.map(T::c), ..setup.params.cast::<T>() },
            y: vec![T::zero(); NVARS * sites],
            acc: vec![T::zero(); NVARS * sites],
            u1: vec![T::zero(); NVARS * sites],
            u2: vec![T::zero(); NVARS * sites],
            flux: vec![T::zero(); 3 * sites],
            k: Vec::with_capacity(sites),
        }
    }

    /// The input of stage `index`: y, u1, u2, u1.
    pub fn input_mut(&mut self, index: usize) -> &mut Vec<T> {
        match index {
            0 => &mut self.y,
            1 | 3 => &mut self.u1,
            _ => &mut self.u2,
        }
    }

    /// Stage `index`'s scalar flux and right-hand side k on `lat`: at every site, or only at the sites `owned`
    /// (k elsewhere is left as it was).
    pub fn rhs(&mut self, lat: &Lattice, index: usize, owned: Option<Range<usize>>) {
        let input: &[T] = match index {
            0 => &self.y,
            1 | 3 => &self.u1,
            _ => &self.u2,
        };
        let (fd, p) = (&self.fd, &self.params);
        scalar_flux(fd, lat, &p.background, input, &mut self.flux);
        let flux = &self.flux;
        match owned {
            None => rhs_all(fd, lat, p, &StageBuffers { input, flux }, &mut self.k),
            Some(r) => rhs_sites(fd, lat, p, &StageBuffers { input, flux }, &mut self.k, r),
        }
    }

    /// The stage's RK4 combination: acc and the next stage's input (u1, u2, u1), the last stage y.
    pub fn combine(&mut self, st: &Rk4Stage, dt: f64) {
        let next = if st.index == 1 { &mut self.u2 } else { &mut self.u1 };
        combine(st, dt, &self.k, &mut self.y, &mut self.acc, next);
    }
}
