//! Reading a main output file back (`cqgrav inspect`, `cqgrav plot`, tests).
use super::checkpoint::{Checkpoint, FORMAT as CHECKPOINT_FORMAT};
use super::h5util::{read_array_attr, read_scalar_attr, read_str_attr};
use super::snapshot::SnapshotData;
use super::timeseries::Timeseries;
use super::writer::FORMAT;
use super::OutputPaths;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The attributes of `loc` as text, in file order (name, value): strings as they are, integers (seed, shape)
/// exactly, floats with Rust's shortest round-trip formatting, arrays as `[a, b, c]`.
pub fn attrs_as_text(loc: &hdf5::Location) -> Result<Vec<(String, String)>> {
    let mut attrs = Vec::new();
    for name in loc.attr_names()? {
        let a = loc.attr(&name)?;
        let integer = matches!(
            a.dtype().and_then(|d| d.to_descriptor()),
            Ok(hdf5::types::TypeDescriptor::Unsigned(_) | hdf5::types::TypeDescriptor::Integer(_))
        );
        let text = if let Ok(s) = read_str_attr(loc, &name) {
            s
        } else if let (true, Ok(v)) = (integer, a.read_raw::<u64>()) {
            // integers (seed, shape) exactly, not through f64
            if v.len() == 1 { format!("{}", v[0]) } else { format!("{v:?}") }
        } else if let Ok(v) = a.read_raw::<f64>() {
            if v.len() == 1 { format!("{}", v[0]) } else { format!("{v:?}") }
        } else {
            "?".into()
        };
        attrs.push((name, text));
    }
    Ok(attrs)
}

/// A snapshot file read on its own (`cqgrav inspect run.h5.d/snapshot_000100.h5`): its provenance attributes
/// (the main file's, with `format` = "cqgrav-snapshot") and its fields.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    pub path: std::path::PathBuf,
    /// Root attributes as text, in file order (name, value); files written before the snapshots carried the
    /// provenance have only t, step, spacing, lattice_shape and run_id.
    pub attrs: Vec<(String, String)>,
    pub data: SnapshotData,
}

impl SnapshotFile {
    /// Is `path` a cqgrav snapshot file (root attribute `format`, or the fields and attributes of one written
    /// before snapshots had it)?
    pub fn is_snapshot(path: &Path) -> bool {
        let Ok(f) = hdf5::File::open(path) else { return false };
        match read_str_attr(&f, "format") {
            Ok(s) => s == super::snapshot::FORMAT,
            Err(_) => f.attr("step").is_ok() && f.attr("t").is_ok() && f.link_exists("g") && f.link_exists("lapse"),
        }
    }

    pub fn open(path: &Path) -> Result<Self> {
        super::require_regular_file(path, "snapshot file")?;
        let f = hdf5::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let attrs = attrs_as_text(&f).with_context(|| format!("reading the attributes of {}", path.display()))?;
        let data = SnapshotData::read_group(&f).with_context(|| format!("reading snapshot {}", path.display()))?;
        Ok(Self { path: path.to_path_buf(), attrs, data })
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.0 == name).map(|a| a.1.as_str())
    }
}

/// One entry of `/snapshots`.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotEntry {
    /// The group name (6-digit step).
    pub name: String,
    /// (step, t) read through the external link; the error when its file cannot be read.
    pub info: std::result::Result<(u64, f64), String>,
}

/// The checkpoint as seen from the main file.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointEntry {
    pub step: u64,
    pub t: f64,
}

/// The content of a main output file, less the snapshot fields (read those with [`OutputFile::snapshot`]).
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub paths: OutputPaths,
    /// root attribute `run_id` (empty in files written before format version 2)
    pub run_id: String,
    /// root attribute `format_version`
    pub format_version: u32,
    /// Root attributes as text, in file order (name, value).
    pub attrs: Vec<(String, String)>,
    pub config_text: String,
    pub lattice_shape: [usize; 3],
    pub spacing: f64,
    pub dt: f64,
    pub timeseries: Timeseries,
    pub snapshots: Vec<SnapshotEntry>,
    /// `None`: the file has no `/checkpoint` link; `Some(Err)`: the link does not resolve.
    pub checkpoint: Option<std::result::Result<CheckpointEntry, String>>,
}

impl OutputFile {
    pub fn open(path: &Path) -> Result<Self> {
        super::require_regular_file(path, "output file")?;
        let f = hdf5::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Self::read(&f, path).with_context(|| format!("reading {}", path.display()))
    }

    fn read(f: &hdf5::File, path: &Path) -> Result<Self> {
        match read_str_attr(f, "format") {
            Ok(s) if s == FORMAT => {}
            Ok(s) if s == CHECKPOINT_FORMAT => {
                bail!("this is a checkpoint file; give the main output file (the one beside the .d directory)")
            }
            Ok(s) if s == super::parts::FORMAT => {
                let whole = read_str_attr(f, "whole").unwrap_or_default();
                bail!("this is one rank's part of {whole} (a run over MPI ranks, docs/output.md); give {whole} or the main output file")
            }
            Ok(s) if s == super::snapshot::FORMAT => {
                bail!("this is a snapshot file; give the main output file (the one beside the .d directory)")
            }
            _ => bail!("not a cqgrav output file (no root attribute format = {FORMAT:?})"),
        }
        let attrs = attrs_as_text(f)?;
        let shape = read_array_attr::<u64>(f, "lattice_shape")?;
        if shape.len() != 3 || shape.contains(&0) {
            bail!("root attribute lattice_shape = {shape:?} must be 3 positive integers");
        }
        let ts = Timeseries::read(&f.group("timeseries").context("opening group /timeseries")?)?;
        let mut snapshots = Vec::new();
        let sg = f.group("snapshots").context("opening group /snapshots")?;
        let mut names = sg.member_names()?;
        names.sort();
        for name in names {
            let info = (|| -> Result<(u64, f64)> {
                let g = sg.group(&name)?;
                super::parts::check(&g)?; // issue 18: every part of a domain-decomposed run's snapshot
                Ok((read_scalar_attr(&g, "step")?, read_scalar_attr(&g, "t")?))
            })()
            .map_err(|e| format!("cannot read /snapshots/{name}: {e:#}"));
            snapshots.push(SnapshotEntry { name, info });
        }
        let checkpoint = f.link_exists("checkpoint").then(|| {
            (|| -> Result<CheckpointEntry> {
                let g = f.group("checkpoint")?;
                super::parts::check(&g)?;
                Ok(CheckpointEntry { step: read_scalar_attr(&g, "step")?, t: read_scalar_attr(&g, "t")? })
            })()
            .map_err(|e| format!("cannot read /checkpoint: {e:#}"))
        });
        Ok(Self {
            paths: OutputPaths::new(path),
            run_id: read_str_attr(f, "run_id").unwrap_or_default(),
            format_version: read_scalar_attr::<u32>(f, "format_version").unwrap_or(0),
            attrs,
            config_text: read_str_attr(f, "config")?,
            lattice_shape: [shape[0] as usize, shape[1] as usize, shape[2] as usize],
            spacing: read_scalar_attr(f, "spacing")?,
            dt: read_scalar_attr(f, "dt")?,
            timeseries: ts,
            snapshots,
            checkpoint,
        })
    }

    /// The messages of the snapshots and checkpoint whose per-rank part files (issue 18) are missing or foreign:
    /// their fields would read as NaN in other tools, so `cqgrav inspect` fails on them.
    pub fn damaged_parts(&self) -> Vec<&str> {
        let snaps = self.snapshots.iter().filter_map(|e| e.info.as_ref().err());
        snaps.chain(self.checkpoint.iter().filter_map(|c| c.as_ref().err())).filter(|m| m.contains(super::parts::UNUSABLE)).map(String::as_str).collect()
    }

    /// One line for messages: rows, last step and time, snapshots, checkpoint, run id.
    pub fn describe(&self) -> String {
        let rows = self.timeseries.len();
        let last = match (self.timeseries.steps().last(), self.timeseries.column("t").and_then(|t| t.last())) {
            (Some(s), Some(t)) => format!(" up to step {s} (t = {t})"),
            _ => String::new(),
        };
        let ck = match &self.checkpoint {
            Some(Ok(c)) => format!(", checkpoint at step {}", c.step),
            Some(Err(_)) => ", an unreadable checkpoint".into(),
            None => String::new(),
        };
        let id = if self.run_id.is_empty() { String::new() } else { format!(", run id {}", self.run_id) };
        format!("{rows} timeseries row{}{last}, {} snapshot{}{ck}{id}", if rows == 1 { "" } else { "s" }, self.snapshots.len(), if self.snapshots.len() == 1 { "" } else { "s" })
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.0 == name).map(|a| a.1.as_str())
    }

    /// One snapshot's fields, read from its file.
    pub fn snapshot(&self, step: u64) -> Result<SnapshotData> {
        SnapshotData::read(&self.paths.snapshot(step))
    }

    /// The checkpoint, read from its file.
    pub fn read_checkpoint(&self) -> Result<Checkpoint> {
        Checkpoint::read(&self.paths.checkpoint())
    }
}
