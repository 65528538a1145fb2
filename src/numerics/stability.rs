//! Time-step stability bounds (filled in by the config validation work).
