//! Numerical methods, free of physics: lattice geometry, stencils, time integration, stability.
pub mod fft;
pub mod jets;
pub mod lattice;
pub mod philox;
pub mod real;
pub mod rk4;
pub mod stability;
pub mod stencil;
pub mod symplectic;
