//! Numerical methods, free of physics: lattice geometry, stencils, time integration, stability.
pub mod brownian;
pub mod brownian_bridge;
pub mod fft;
pub mod jets;
pub mod lanes;
pub mod lattice;
pub mod localization;
pub mod member_ops;
pub mod philox;
pub mod real;
pub mod rk4;
pub mod scratch;
pub mod stability;
pub mod stencil;
pub mod substep;
pub mod symplectic;
