//! Configuration: schema (SPEC §10), loading with `--set` overrides, validation.
mod schema;
pub use schema::*;
