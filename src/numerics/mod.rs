//! Numerical methods, free of physics: lattice geometry, stencils, time integration, stability.
pub mod lattice;
pub mod stability;
pub mod stencil;
