//! Cosmology runs (issue 13; docs/cosmology.md): initial data with the quantum field's fluctuations and the
//! Hamiltonian constraint solved with their energy ([`initial`]), and the CQ-vs-semiclassical comparison of
//! realisations ([`comparison`]).
pub mod initial;
