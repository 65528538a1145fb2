//! cqgrav — lattice solver for classical-quantum (CQ) gravity.
//!
//! Layout (one concept per file):
//! - [`physics`]: the equations (ADM right-hand sides, Ricci tensor, scalar field, gauge, initial data,
//!   constraints, diagnostics) as pure functions of local data. No grid loops, no GPU.
//! - [`numerics`]: lattice geometry, finite-difference stencils, Kreiss–Oliger dissipation, RK4, stability bounds.
//! - [`backend`]: the two implementations of one time step — `cpu` (Rust, rayon, f32/f64) and `gpu` (wgpu/WGSL).
//! - [`gpu`]: wgpu plumbing (adapter, buffers, shader variants, dispatch). No physics.
//! - [`config`]: the TOML schema of SPEC §10, validation and `--set` overrides.
//! - [`io`]: output files (SPEC §7): HDF5 main file, snapshots, checkpoint, XDMF sidecar.
//! - [`cli`]: the `cqgrav` subcommands.
pub mod backend;
pub mod bench;
pub mod cli;
pub mod config;
pub mod cosmology; // issue 13: initial fluctuations, CQ vs semiclassical
pub mod diagnostics;
pub mod ensemble; // issue 4: realisations (`cqgrav run --realizations R`)
pub mod gpu;
pub mod io;
pub mod numerics;
pub mod parallel; // issue 18: MPI ranks (realisations over ranks, slab decomposition)
pub mod physics;
pub mod spectra; // issue 13: power spectra (SPEC §11)
pub mod state;
pub mod toy; // issue 14: the paper's qubit and oscillator coupled to a classical particle (SPEC §12)
