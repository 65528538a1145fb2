//! The checkpoint `<file>.d/checkpoint.h5` (SPEC §7 `/checkpoint`): everything needed to continue a run bit for
//! bit. The state is stored exactly as the stepper holds it (`data` = the 15 fields with δg, not g: state.rs),
//! in float64 (an f32 run's values are exactly representable). The random numbers are a counter-based
//! generator keyed by (seed, step, site, component) (SPEC §3), so `seed` and `step` are its complete state.
//! A run with a quantum field also stores its fluctuations as its representation holds them (backend/quantum.rs):
//! group `quantum` with attribute `representation` and one float64 dataset per array (`dense`: `gamma`, 2n × 2n;
//! `ensemble`: `members`, …; x̄ is in `data`); the representation checks the arrays' sizes when it restores them.
//! The checkpoint names its run (`run_id`), the number of timeseries rows up to its step (they stay in the
//! run's segment files, [`super::rows`]) and the snapshot list, so a restart rebuilds the main file from it.
//!
//! Reading is in two parts, so that a damaged or foreign file is refused before anything large is read:
//! [`CheckpointHeader::open`] reads and checks the attributes and the datasets' shapes, then
//! [`CheckpointHeader::read`] reads the data (a restart first compares the header with the configuration).
use super::dims::LatticeDims;
use super::h5util::{read_scalar_attr, read_str_attr, write_array_attr, write_scalar_attr, write_str_attr};
use super::parts::{Part, PartHeader};
use super::snapshot::SnapshotInfo;
use crate::config::Precision;
use crate::numerics::lattice::Lattice;
use crate::state::{QuantumArray, QuantumData, State, NVARS, VAR_NAMES};
use anyhow::{bail, Context, Result};
use hdf5::types::TypeDescriptor;
use std::path::{Path, PathBuf};

/// Root attribute `format` of a checkpoint file.
pub const FORMAT: &str = "cqgrav-checkpoint";
/// 2: `run_id` and `timeseries_rows` instead of a copy of the rows (issue 15).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The state as the stepper holds it; `state.t` = step·dt.
    pub state: State,
    pub dt: f64,
    pub precision: Precision,
    /// Key of the counter-based generator; with `state.step` the complete RNG state.
    pub seed: u64,
    /// The effective configuration of the run (TOML, `LoadedConfig::text`).
    pub config_text: String,
    /// The timeseries rows with step ≤ `state.step` (the first rows of the run's segments).
    pub timeseries_rows: u64,
    /// The `/spectra` rows with step ≤ `state.step` (issue 13; attribute `spectra_rows`, 0 when absent).
    pub spectra_rows: u64,
    /// The snapshots with step ≤ `state.step` (their files exist: each is renamed into place before).
    pub snapshots: Vec<SnapshotInfo>,
    /// One line per run segment (start, restarts), each ending with the backend ("… on cpu (2 threads, f64)").
    pub history: Vec<String>,
    /// The run this checkpoint belongs to (also in its main file and segment names).
    pub run_id: String,
}

pub fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

pub fn parse_precision(s: &str) -> Result<Precision> {
    match s {
        "f32" => Ok(Precision::F32),
        "f64" => Ok(Precision::F64),
        other => bail!("unknown precision {other:?} (expected \"f32\" or \"f64\")"),
    }
}

impl Checkpoint {
    /// Writes the checkpoint file at `path` (not atomically: see [`super::atomic_write`]).
    pub fn write(&self, path: &Path) -> Result<()> {
        self.write_with(path, None)
    }

    /// Writes the checkpoint file of a domain-decomposed run (issue 18): `data` is a virtual dataset over the
    /// ranks' `parts` ([`write_part`]; fill value NaN, attribute `part_files`); `self.state.data` is not used, and
    /// each quantum array given with no data (a site array) is a virtual dataset over the parts' planes too.
    pub fn write_joined(&self, path: &Path, parts: &[Part]) -> Result<()> {
        self.write_with(path, Some(parts))
    }

    fn write_with(&self, path: &Path, parts: Option<&[Part]>) -> Result<()> {
        let file = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let s = &self.state;
        let [n1, n2, n3] = s.lattice.shape;
        write_str_attr(&file, "format", FORMAT)?;
        write_scalar_attr(&file, "format_version", FORMAT_VERSION)?;
        write_str_attr(&file, "run_id", &self.run_id)?;
        write_str_attr(&file, "code_version", env!("CARGO_PKG_VERSION"))?;
        write_str_attr(&file, "git_commit", super::git_commit())?;
        write_scalar_attr(&file, "step", s.step)?;
        write_scalar_attr(&file, "t", s.t)?;
        write_scalar_attr(&file, "dt", self.dt)?;
        write_str_attr(&file, "precision", precision_name(self.precision))?;
        write_scalar_attr(&file, "seed", self.seed)?;
        write_str_attr(&file, "config", &self.config_text)?;
        write_array_attr(&file, "lattice_shape", &s.lattice.shape.map(|n| n as u64))?;
        write_scalar_attr(&file, "spacing", s.lattice.spacing)?;
        write_str_attr(&file, "variables", &VAR_NAMES.join(","))?;
        write_str_attr(&file, "history", &self.history.join("\n"))?;
        write_scalar_attr(&file, "timeseries_rows", self.timeseries_rows)?;
        write_scalar_attr(&file, "spectra_rows", self.spectra_rows)?;
        // named dimensions for netCDF readers and xarray (io/dims.rs): data (var, z, y, x), background (ab),
        // snapshot_times (snapshot_steps); the quantum arrays' axes as dimensions of the root (netCDF dimensions
        // are seen by subgroups), so the group `quantum` holds only its arrays
        let dims = LatticeDims::write(&file, s.lattice.shape, s.lattice.spacing)?;
        let var = super::dims::labels(&file, "var", &VAR_NAMES, "evolved field, in storage order (state.rs)")?;
        let data = match parts {
            None => file
                .new_dataset::<f64>()
                .shape([NVARS, n3, n2, n1])
                .create("data")
                .and_then(|d| d.write_raw(&s.data).map(|()| d))
                .context("writing dataset data")?,
            Some(parts) => {
                super::parts::record(&file, parts)?;
                super::parts::virtual_field::<f64>(&file, "data", &[NVARS, n3, n2, n1], parts, f64::NAN)?
            }
        };
        dims.label(&data, Some(&var))?;
        let bg = file.new_dataset_builder().with_data(&s.background[..]).create("background").context("writing dataset background")?;
        super::dims::attach(&bg, 0, &dims.ab)?;
        if !s.quantum.is_empty() {
            // the quantum field's fluctuations, as its representation stores them
            let g = file.create_group("quantum").context("creating group quantum")?;
            write_str_attr(&g, "representation", &s.quantum.representation)?;
            for a in &s.quantum.arrays {
                let ds = match (parts, a.data.is_empty() && a.shape.iter().product::<usize>() > 0) {
                    // issue 18: a site array of a joined checkpoint, (fields, N3, N2, N1, width) over the parts
                    (Some(parts), true) => super::parts::virtual_planes::<f64>(&g, &a.name, &format!("quantum/{}", a.name), &a.shape, 1, parts, f64::NAN)?,
                    _ => g
                        .new_dataset::<f64>()
                        .shape(a.shape.as_slice())
                        .create(a.name.as_str())
                        .and_then(|ds| ds.write_raw(&a.data).map(|()| ds))
                        .with_context(|| format!("writing dataset quantum/{}", a.name))?,
                };
                for (k, &len) in a.shape.iter().enumerate() {
                    let axis = super::dims::bare_dimension(&file, &format!("quantum_{}_{k}", a.name), len)?;
                    super::dims::attach(&ds, k, &axis)?;
                }
            }
        }
        let steps: Vec<u64> = self.snapshots.iter().map(|x| x.step).collect();
        let times: Vec<f64> = self.snapshots.iter().map(|x| x.t).collect();
        let steps = file.new_dataset_builder().with_data(&steps).create("snapshot_steps").context("writing snapshot_steps")?;
        super::dims::make_scale(&steps, "snapshot_steps")?;
        let times = file.new_dataset_builder().with_data(&times).create("snapshot_times").context("writing snapshot_times")?;
        super::dims::attach(&times, 0, &steps)?;
        file.close().with_context(|| format!("closing {}", path.display()))
    }

    /// Reads and checks a whole checkpoint ([`CheckpointHeader::open`], then [`CheckpointHeader::read`]).
    pub fn read(path: &Path) -> Result<Self> {
        CheckpointHeader::open(path)?.read()
    }
}

/// Writes the part of a checkpoint that one rank of a domain-decomposed run owns (issue 18): `owned` holds the
/// state of its planes (lattice N1 × N2 × nz), stored as [`Checkpoint::write`] stores the whole `data`.
pub fn write_part(owned: &State, site_arrays: &[&str], path: &Path, header: &PartHeader) -> Result<()> {
    let [n1, n2, nz] = owned.lattice.shape;
    let file = header.create(path, nz)?;
    file.new_dataset::<f64>()
        .shape([NVARS, nz, n2, n1])
        .create("data")
        .and_then(|d| d.write_raw(&owned.data))
        .context("writing dataset data")?;
    // the rank's planes of the quantum field's site arrays (fields, nz, N2, N1, width); the whole file holds the others
    let site: Vec<_> = owned.quantum.arrays.iter().filter(|a| site_arrays.contains(&a.name.as_str())).collect();
    if !site.is_empty() {
        let g = file.create_group("quantum").context("creating group quantum")?;
        for a in site {
            g.new_dataset::<f64>()
                .shape(a.shape.as_slice())
                .create(a.name.as_str())
                .and_then(|d| d.write_raw(&a.data))
                .with_context(|| format!("writing dataset quantum/{}", a.name))?;
        }
    }
    file.close().with_context(|| format!("closing {}", path.display()))
}

/// A checkpoint's attributes and dataset shapes, checked for consistency; the data not read yet.
#[derive(Debug, Clone)]
pub struct CheckpointHeader {
    pub path: PathBuf,
    pub step: u64,
    pub t: f64,
    pub dt: f64,
    pub precision: Precision,
    pub seed: u64,
    pub config_text: String,
    pub lattice: Lattice,
    pub run_id: String,
    pub timeseries_rows: u64,
    pub spectra_rows: u64,
    pub snapshots: Vec<SnapshotInfo>,
    pub history: Vec<String>,
    /// the representation of the group `quantum` and (name, shape) of its arrays (empty: no quantum field)
    pub quantum: (String, Vec<(String, Vec<usize>)>),
}

/// Reads an attribute that must be a non-negative integer (an unsigned type, or a signed one ≥ 0), naming it.
fn read_count(file: &hdf5::File, name: &str) -> Result<u64> {
    let a = file.attr(name).with_context(|| format!("attribute {name} is missing"))?;
    if a.ndim() != 0 {
        bail!("attribute {name} must be a scalar, has shape {:?}", a.shape());
    }
    match a.dtype().and_then(|d| d.to_descriptor()) {
        Ok(TypeDescriptor::Unsigned(_)) => a.read_scalar::<u64>().with_context(|| format!("reading attribute {name}")),
        Ok(TypeDescriptor::Integer(_)) => {
            let v = a.read_scalar::<i64>().with_context(|| format!("reading attribute {name}"))?;
            u64::try_from(v).map_err(|_| anyhow::anyhow!("attribute {name} = {v} must be >= 0"))
        }
        Ok(other) => bail!("attribute {name} must be an integer, is {other:?}"),
        Err(e) => bail!("attribute {name}: unreadable type ({e})"),
    }
}

/// Reads an attribute that must be a finite float64 scalar, naming it.
fn read_real(file: &hdf5::File, name: &str) -> Result<f64> {
    let a = file.attr(name).with_context(|| format!("attribute {name} is missing"))?;
    if a.ndim() != 0 || !matches!(a.dtype().and_then(|d| d.to_descriptor()), Ok(TypeDescriptor::Float(_))) {
        bail!("attribute {name} must be a floating-point scalar");
    }
    let v: f64 = read_scalar_attr(file, name)?;
    if !v.is_finite() {
        bail!("attribute {name} = {v} must be finite");
    }
    Ok(v)
}

/// The shape of dataset `name`, which must be float64-convertible (a float type).
fn float_shape(file: &hdf5::File, name: &str) -> Result<Vec<usize>> {
    let ds = file.dataset(name).with_context(|| format!("dataset {name} is missing"))?;
    if !matches!(ds.dtype().and_then(|d| d.to_descriptor()), Ok(TypeDescriptor::Float(_))) {
        bail!("dataset {name} must hold floating-point numbers");
    }
    Ok(ds.shape())
}

impl CheckpointHeader {
    /// Opens `path` and checks its attributes and dataset shapes against each other: every problem is an
    /// error naming the attribute or dataset (and the file). Nothing large is read.
    pub fn open(path: &Path) -> Result<Self> {
        super::require_regular_file(path, "checkpoint")?;
        let file = hdf5::File::open(path).with_context(|| format!("opening checkpoint {}", path.display()))?;
        Self::check(&file, path).with_context(|| format!("checkpoint {}", path.display()))
    }

    fn check(file: &hdf5::File, path: &Path) -> Result<Self> {
        let format = read_str_attr(file, "format").context("attribute format (not a cqgrav checkpoint?)")?;
        if format != FORMAT {
            bail!("not a cqgrav checkpoint (attribute format = {format:?})");
        }
        super::parts::check(file)?; // issue 18: the parts of a domain-decomposed run's checkpoint
        let version = read_count(file, "format_version")?;
        if version != FORMAT_VERSION as u64 {
            bail!("attribute format_version = {version}: this cqgrav reads checkpoint format version {FORMAT_VERSION}");
        }
        let run_id = read_str_attr(file, "run_id")?;
        if !super::writer::valid_run_id(&run_id) {
            bail!("attribute run_id = {run_id:?} is not a cqgrav run id (16 hexadecimal digits)");
        }
        let sa = file.attr("lattice_shape").context("attribute lattice_shape is missing")?;
        if !matches!(sa.dtype().and_then(|d| d.to_descriptor()), Ok(TypeDescriptor::Unsigned(_) | TypeDescriptor::Integer(_))) || sa.shape() != [3] {
            bail!("attribute lattice_shape must be 3 integers (N1, N2, N3), has shape {:?}", sa.shape());
        }
        let raw = sa.read_raw::<i64>().context("reading attribute lattice_shape")?;
        if raw.iter().any(|&n| n < 1) {
            bail!("attribute lattice_shape = {raw:?}: every entry must be >= 1");
        }
        let shape = [raw[0] as usize, raw[1] as usize, raw[2] as usize];
        let sites = shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n)).filter(|&s| s <= u32::MAX as usize);
        let Some(sites) = sites else { bail!("attribute lattice_shape = {raw:?}: too many sites") };
        let spacing = read_real(file, "spacing")?;
        if spacing <= 0.0 {
            bail!("attribute spacing = {spacing} must be > 0");
        }
        let step = read_count(file, "step")?;
        if step > crate::config::MAX_STEPS {
            bail!("attribute step = {step} is beyond the largest step count 2^53");
        }
        let dt = read_real(file, "dt")?;
        if dt <= 0.0 {
            bail!("attribute dt = {dt} must be > 0");
        }
        let t = read_real(file, "t")?;
        if t != step as f64 * dt {
            bail!("attribute t = {t} is not step·dt = {step}·{dt} = {}", step as f64 * dt);
        }
        let precision = parse_precision(&read_str_attr(file, "precision")?).context("attribute precision")?;
        let seed = read_count(file, "seed")?;
        let variables = read_str_attr(file, "variables")?;
        if variables != VAR_NAMES.join(",") {
            bail!("attribute variables = {variables:?}: this cqgrav stores the fields as {:?}", VAR_NAMES.join(","));
        }
        let config_text = read_str_attr(file, "config")?;
        let history = read_str_attr(file, "history")?;
        let timeseries_rows = read_count(file, "timeseries_rows")?;
        if timeseries_rows == 0 || timeseries_rows > step + 1 {
            bail!("attribute timeseries_rows = {timeseries_rows}: a checkpoint at step {step} has between 1 and {} rows", step + 1);
        }
        // issue 13: the spectra rows (a checkpoint written before spectra existed has none)
        let spectra_rows = if file.attr("spectra_rows").is_ok() { read_count(file, "spectra_rows")? } else { 0 };
        if spectra_rows > step + 1 {
            bail!("attribute spectra_rows = {spectra_rows}: a checkpoint at step {step} has at most {} spectra rows", step + 1);
        }
        let [n1, n2, n3] = shape;
        let want = vec![NVARS, n3, n2, n1];
        let got = float_shape(file, "data")?;
        if got != want {
            bail!("dataset data has shape {got:?}; lattice_shape {shape:?} needs {want:?}");
        }
        if float_shape(file, "background")? != [6] {
            bail!("dataset background must have 6 values (ḡ_ab)");
        }
        for name in file.member_names().context("listing the checkpoint's datasets")? {
            // the state, and the named dimensions of its arrays (write: x, y, z, ab, a, var, quantum_<array>_<axis>)
            let dimension = ["x", "y", "z", "ab", "a", "var"].contains(&name.as_str()) || name.starts_with("quantum_");
            if !dimension && !["data", "background", "snapshot_steps", "snapshot_times", "quantum"].contains(&name.as_str()) {
                bail!("dataset {name} is not part of a cqgrav checkpoint (a quantum state belongs in the group quantum)");
            }
        }
        let quantum = if file.link_exists("quantum") {
            let g = file.group("quantum").context("quantum must be a group")?;
            let rep = read_str_attr(&g, "representation").context("group quantum")?;
            let mut arrays = Vec::new();
            for name in g.member_names().context("listing group quantum")? {
                let ds = g.dataset(&name).with_context(|| format!("quantum/{name} must be a dataset"))?;
                if !matches!(ds.dtype().and_then(|d| d.to_descriptor()), Ok(TypeDescriptor::Float(_))) {
                    bail!("dataset quantum/{name} must hold floating-point numbers");
                }
                arrays.push((name, ds.shape()));
            }
            (rep, arrays)
        } else {
            (String::new(), Vec::new())
        };
        let _ = sites;
        let steps_ds = file.dataset("snapshot_steps").context("dataset snapshot_steps is missing")?;
        let times_ds = file.dataset("snapshot_times").context("dataset snapshot_times is missing")?;
        if steps_ds.ndim() != 1 || times_ds.shape() != steps_ds.shape() || steps_ds.size() as u64 > step + 1 {
            bail!(
                "datasets snapshot_steps {:?} and snapshot_times {:?} must be 1-D of one length, at most step + 1",
                steps_ds.shape(),
                times_ds.shape()
            );
        }
        let steps = steps_ds.read_raw::<u64>().context("reading snapshot_steps")?;
        let times = times_ds.read_raw::<f64>().context("reading snapshot_times")?;
        if steps.windows(2).any(|w| w[0] >= w[1]) || steps.last().is_some_and(|&s| s > step) {
            bail!("dataset snapshot_steps {steps:?} must increase and end at or before step {step}");
        }
        if let Some((s, t)) = steps.iter().zip(&times).find(|(&s, &t)| t != s as f64 * dt) {
            bail!("dataset snapshot_times: the snapshot at step {s} has t = {t}, not step·dt");
        }
        Ok(Self {
            path: path.to_path_buf(),
            step,
            t,
            dt,
            precision,
            seed,
            config_text,
            lattice: Lattice::new(shape, spacing),
            run_id,
            timeseries_rows,
            spectra_rows,
            snapshots: steps.into_iter().zip(times).map(|(step, t)| SnapshotInfo { step, t }).collect(),
            history: history.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
            quantum,
        })
    }

    /// Bytes the state would take in memory (float64 data and the quantum arrays).
    pub fn state_bytes(&self) -> u128 {
        let n = self.lattice.sites() as u128;
        let q: u128 = self.quantum.1.iter().map(|(_, shape)| shape.iter().map(|&d| d as u128).product::<u128>()).sum();
        (NVARS as u128 * n + q) * 8
    }

    /// Reads the state, refusing one that does not fit this machine's memory, a background metric that is
    /// not finite and positive definite, and a state that is not finite and physical ([`crate::diagnostics::health_check`]).
    pub fn read(&self) -> Result<Checkpoint> {
        self.read_planes(None)
    }

    /// [`CheckpointHeader::read`] of the planes `planes` (z) only, a hyperslab of `data`: what one rank of a
    /// domain-decomposed run owns (issue 18). The state then lives on the lattice N1 × N2 × (its planes).
    pub fn read_planes(&self, planes: Option<std::ops::Range<usize>>) -> Result<Checkpoint> {
        let ctx = || format!("checkpoint {}", self.path.display());
        if let Some((total, _)) = crate::config::machine_memory() {
            if self.state_bytes() > total {
                bail!("{}: its state needs {} bytes, more than this machine's memory", ctx(), self.state_bytes());
            }
        }
        let file = hdf5::File::open(&self.path).with_context(|| format!("opening {}", ctx()))?;
        super::parts::check(&file).with_context(ctx)?;
        let [n1, n2, n3] = self.lattice.shape;
        let planes = planes.unwrap_or(0..n3);
        let data = file
            .dataset("data")
            .and_then(|d| {
                if planes.len() == n3 {
                    return d.read_raw::<f64>();
                }
                // plane by plane (one chunk or contiguous run each; a 2-D read, whatever ndarray hdf5 is built with)
                let mut v = Vec::with_capacity(NVARS * planes.len() * n2 * n1);
                for var in 0..NVARS {
                    for z in planes.clone() {
                        let sel = hdf5::Hyperslab::from(vec![var.into(), z.into(), (0..n2).into(), (0..n1).into()]);
                        v.extend(d.read_slice_2d::<f64, _>(sel)?);
                    }
                }
                Ok(v)
            })
            .with_context(|| format!("{}: reading dataset data (planes {planes:?})", ctx()))?;
        let lattice = if planes.len() == n3 { self.lattice } else { Lattice::new([n1, n2, planes.len()], self.lattice.spacing) };
        let bg = file.dataset("background").and_then(|d| d.read_raw::<f64>()).with_context(|| format!("{}: reading dataset background", ctx()))?;
        let background: [f64; 6] = bg.as_slice().try_into().with_context(|| format!("{}: dataset background must have 6 values", ctx()))?;
        let det = crate::physics::tensor::det(&background);
        if background.iter().any(|x| !x.is_finite()) || background[0] <= 0.0 || det <= 0.0 {
            bail!("{}: dataset background = {background:?} is not a positive-definite metric", ctx());
        }
        let mut quantum = QuantumData { representation: self.quantum.0.clone(), arrays: Vec::new() };
        for (name, shape) in &self.quantum.1 {
            let path = format!("quantum/{name}");
            let data = file.dataset(&path).and_then(|d| d.read_raw::<f64>()).with_context(|| format!("{}: reading dataset {path}", ctx()))?;
            if data.iter().any(|x| !x.is_finite()) {
                bail!("{}: dataset {path} has non-finite values", ctx());
            }
            quantum.arrays.push(QuantumArray { name: name.clone(), shape: shape.clone(), data });
        }
        let state = State { lattice, data, background, t: self.t, step: self.step, quantum };
        if let Some(problem) = crate::diagnostics::health_check(&state) {
            bail!("{}: dataset data is not a state a run can continue from: {problem}", ctx());
        }
        Ok(Checkpoint {
            state,
            dt: self.dt,
            precision: self.precision,
            seed: self.seed,
            config_text: self.config_text.clone(),
            timeseries_rows: self.timeseries_rows,
            spectra_rows: self.spectra_rows,
            snapshots: self.snapshots.clone(),
            history: self.history.clone(),
            run_id: self.run_id.clone(),
        })
    }
}
