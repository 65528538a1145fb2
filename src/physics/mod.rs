//! The equations of SPEC §2–§5 as pure functions of local data (no lattice loops, no GPU).
pub mod adm_rhs;
pub mod classical_statistical; // issue 13: the ensemble with a non-quadratic potential
pub mod constraints;
pub mod cq_noise;
pub mod cq_regime;
pub mod ensemble_dynamics;
pub mod fourier_dynamics;
pub mod gauge;
pub mod gaussian_dynamics;
pub mod gaussian_forms;
pub mod initial_data;
pub mod lattice_vacuum;
pub mod potential; // issue 13: V(φ) beyond the mass term
pub mod ricci;
pub mod scalar_field;
pub mod tensor;
