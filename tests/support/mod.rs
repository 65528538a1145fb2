//! Independent reference calculations shared by the integration tests (`mod support;` in tests/*.rs).
#![allow(dead_code, clippy::needless_range_loop)]

pub mod frw_ode;
pub mod lindblad_moments;
pub mod mode_functions;
pub mod ricci_reference;
pub mod single_site_exact;
pub mod toy_exact;
