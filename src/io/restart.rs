//! What `cqgrav run --restart` checks before it touches anything (issue 15): that the checkpoint belongs to the
//! main file it sits beside (same run id, lattice, precision, seed and time step) and to its own stored
//! configuration, that its step lies within the rows the main file holds, and that the configuration of the
//! continuation keeps the lattice and the quantum representation. Every mismatch is listed, naming the
//! attribute, key or file; a refused restart changes nothing on disk.
use super::checkpoint::{precision_name, CheckpointHeader};
use super::writer::FORMAT_VERSION;
use super::{OutputFile, OutputPaths};
use crate::config::Config;
use anyhow::{bail, Result};

/// Checks `ckpt` against the main file at `paths`, its stored configuration `stored` and the configuration of
/// the continuation `next`.
pub fn check_restart(paths: &OutputPaths, ckpt: &CheckpointHeader, stored: &Config, next: &Config) -> Result<()> {
    let mut problems = Vec::new();
    let shape = ckpt.lattice.shape;
    let ck = |what: String| format!("checkpoint {what}");

    // the checkpoint and its own configuration (attribute `config`)
    if stored.lattice.shape != shape {
        problems.push(ck(format!("lattice_shape {shape:?}, but its stored configuration has lattice.shape = {:?}", stored.lattice.shape)));
    }
    if stored.lattice.spacing != ckpt.lattice.spacing {
        problems.push(ck(format!("spacing {}, but its stored configuration has lattice.spacing = {}", ckpt.lattice.spacing, stored.lattice.spacing)));
    }
    if stored.dt() != ckpt.dt {
        problems.push(ck(format!("dt {}, but its stored configuration gives dt = {} (time.dt / time.courant)", ckpt.dt, stored.dt())));
    }
    if stored.run.precision != ckpt.precision {
        problems.push(ck(format!("precision {}, but its stored configuration has run.precision = {}", precision_name(ckpt.precision), precision_name(stored.run.precision))));
    }
    if stored.run.seed != ckpt.seed {
        problems.push(ck(format!("seed {}, but its stored configuration has run.seed = {}", ckpt.seed, stored.run.seed)));
    }
    // the state's layout must be the continuation's
    if next.lattice.shape != shape || next.lattice.spacing != ckpt.lattice.spacing {
        problems.push(format!(
            "lattice.shape = {:?}, lattice.spacing = {} of the configuration, but the checkpoint's state is on lattice_shape {shape:?}, spacing {}",
            next.lattice.shape, next.lattice.spacing, ckpt.lattice.spacing
        ));
    }
    let rep = next.matter.representation;
    let stored_rep = if ckpt.quantum.1.is_empty() { "none" } else { ckpt.quantum.0.as_str() };
    if rep.name() != stored_rep {
        problems.push(if stored_rep == "none" {
            ck(format!("has no quantum state, but matter.representation = \"{}\" needs one", rep.name()))
        } else {
            ck(format!(
                "holds a quantum state of representation \"{stored_rep}\", but matter.representation = \"{}\"",
                rep.name()
            ))
        });
    }

    // the checkpoint and its main file
    match OutputFile::open(&paths.main) {
        Err(e) => problems.push(format!("the main file {} cannot be read: {e:#}", paths.main.display())),
        Ok(main) => {
            let m = |what: String| format!("main file {}: {what}", paths.main.display());
            if main.format_version != FORMAT_VERSION {
                problems.push(m(format!("format_version {} (this cqgrav continues version {FORMAT_VERSION})", main.format_version)));
            }
            if main.run_id != ckpt.run_id {
                problems.push(m(format!(
                    "run_id {:?}, but the checkpoint belongs to run {:?}: a checkpoint of another run",
                    main.run_id, ckpt.run_id
                )));
            }
            if main.lattice_shape != shape {
                problems.push(m(format!("lattice_shape {:?}, the checkpoint's is {shape:?}", main.lattice_shape)));
            }
            if main.dt != ckpt.dt {
                problems.push(m(format!("dt {}, the checkpoint's is {}", main.dt, ckpt.dt)));
            }
            if main.attr("precision") != Some(precision_name(ckpt.precision)) {
                problems.push(m(format!("precision {:?}, the checkpoint's is {}", main.attr("precision"), precision_name(ckpt.precision))));
            }
            if main.attr("seed") != Some(ckpt.seed.to_string().as_str()) {
                problems.push(m(format!("seed {:?}, the checkpoint's is {}", main.attr("seed"), ckpt.seed)));
            }
        }
    }
    // the checkpoint's rows: the first `timeseries_rows` rows of the run's segment files (the rows the main file
    // maps, and up to a flush interval more), the last at or before the checkpoint's step
    if super::writer::valid_run_id(&ckpt.run_id) {
        match super::rows::RowStore::steps_on_disk(paths, &ckpt.run_id) {
            Err(e) => problems.push(format!("the timeseries rows of run {} cannot be read: {e:#}", ckpt.run_id)),
            Ok(steps) => {
                let r = ckpt.timeseries_rows as usize;
                let within = r >= 1 && r <= steps.len() && steps[r - 1] <= ckpt.step && steps.get(r).is_none_or(|&s| s > ckpt.step);
                if !within {
                    problems.push(format!(
                        "checkpoint step {} with timeseries_rows {r} is not within the run's rows ({} rows in {}{})",
                        ckpt.step,
                        steps.len(),
                        paths.dir.display(),
                        steps.last().map_or(String::new(), |s| format!(", up to step {s}"))
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "cannot restart from {}: the checkpoint does not fit its output or configuration (nothing was changed):\n  {}",
        ckpt.path.display(),
        problems.join("\n  ")
    )
}
