//! The checkpoint `<file>.d/checkpoint.h5` (SPEC §7 `/checkpoint`): everything needed to continue a run bit for
//! bit. The state is stored exactly as the stepper holds it (`data` = the 15 fields with δg, not g: state.rs),
//! in float64 (an f32 run's values are exactly representable). The random numbers are a counter-based
//! generator keyed by (seed, step, site, component) (SPEC §3), so `seed` and `step` are its complete state.
//! A run with a quantum field also stores its fluctuations as its representation holds them (backend/quantum.rs):
//! group `quantum` with attribute `representation` and one dataset per array (`dense`: `gamma`, 2n × 2n;
//! `ensemble`: `members`, …; x̄ is in `data`).
//! The checkpoint also carries the timeseries rows and the snapshot list up to its step, so a restart
//! rebuilds the main file from it alone.
use super::h5util::{read_array_attr, read_scalar_attr, read_str_attr, write_array_attr, write_scalar_attr, write_str_attr};
use super::snapshot::SnapshotInfo;
use super::timeseries::Timeseries;
use crate::config::Precision;
use crate::numerics::lattice::Lattice;
use crate::state::{QuantumArray, QuantumData, State, NVARS, VAR_NAMES};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Root attribute `format` of a checkpoint file.
pub const FORMAT: &str = "cqgrav-checkpoint";
/// Bumped whenever the layout changes (2: the quantum fluctuations moved into the group `quantum`).
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
    /// The timeseries rows with step ≤ `state.step`.
    pub timeseries: Timeseries,
    /// The snapshots with step ≤ `state.step` (their files exist: each is renamed into place before).
    pub snapshots: Vec<SnapshotInfo>,
    /// One line per run segment (start, restarts), each ending with the backend ("… on cpu (2 threads, f64)").
    pub history: Vec<String>,
}

pub fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

fn parse_precision(s: &str) -> Result<Precision> {
    match s {
        "f32" => Ok(Precision::F32),
        "f64" => Ok(Precision::F64),
        other => bail!("unknown precision {other:?}"),
    }
}

impl Checkpoint {
    /// Writes the checkpoint file at `path` (not atomically: see [`super::atomic_write`]).
    pub fn write(&self, path: &Path) -> Result<()> {
        let file = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let s = &self.state;
        let [n1, n2, n3] = s.lattice.shape;
        write_str_attr(&file, "format", FORMAT)?;
        write_scalar_attr(&file, "format_version", FORMAT_VERSION)?;
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
        file.new_dataset::<f64>()
            .shape([NVARS, n3, n2, n1])
            .create("data")
            .and_then(|d| d.write_raw(&s.data))
            .context("writing dataset data")?;
        file.new_dataset_builder().with_data(&s.background[..]).create("background").context("writing dataset background")?;
        if !s.quantum.is_empty() {
            // the quantum field's fluctuations, as its representation stores them
            let g = file.create_group("quantum").context("creating group quantum")?;
            write_str_attr(&g, "representation", &s.quantum.representation)?;
            for a in &s.quantum.arrays {
                g.new_dataset::<f64>()
                    .shape(a.shape.as_slice())
                    .create(a.name.as_str())
                    .and_then(|ds| ds.write_raw(&a.data))
                    .with_context(|| format!("writing dataset quantum/{}", a.name))?;
            }
        }
        let steps: Vec<u64> = self.snapshots.iter().map(|x| x.step).collect();
        let times: Vec<f64> = self.snapshots.iter().map(|x| x.t).collect();
        file.new_dataset_builder().with_data(&steps).create("snapshot_steps").context("writing snapshot_steps")?;
        file.new_dataset_builder().with_data(&times).create("snapshot_times").context("writing snapshot_times")?;
        self.timeseries.write(&file, "timeseries")?;
        file.close().with_context(|| format!("closing {}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let file = hdf5::File::open(path).with_context(|| format!("opening checkpoint {}", path.display()))?;
        Self::read_file(&file).with_context(|| format!("reading checkpoint {}", path.display()))
    }

    fn read_file(file: &hdf5::File) -> Result<Self> {
        let format = read_str_attr(file, "format")?;
        if format != FORMAT {
            bail!("not a cqgrav checkpoint (format = {format:?})");
        }
        let version: u32 = read_scalar_attr(file, "format_version")?;
        if version != FORMAT_VERSION {
            bail!("checkpoint format version {version}; this cqgrav reads version {FORMAT_VERSION}");
        }
        let shape = read_array_attr::<u64>(file, "lattice_shape")?;
        let shape: [usize; 3] = [shape[0] as usize, shape[1] as usize, shape[2] as usize];
        let lattice = Lattice::new(shape, read_scalar_attr(file, "spacing")?);
        let ds = file.dataset("data").context("opening dataset data")?;
        let want = vec![NVARS, shape[2], shape[1], shape[0]];
        if ds.shape() != want {
            bail!("dataset data has shape {:?}, expected {want:?}", ds.shape());
        }
        let data = ds.read_raw::<f64>().context("reading dataset data")?;
        let bg = file.dataset("background").and_then(|d| d.read_raw::<f64>()).context("reading dataset background")?;
        let background: [f64; 6] = bg.as_slice().try_into().context("dataset background must have 6 values")?;
        let steps = file.dataset("snapshot_steps").and_then(|d| d.read_raw::<u64>()).context("reading snapshot_steps")?;
        let times = file.dataset("snapshot_times").and_then(|d| d.read_raw::<f64>()).context("reading snapshot_times")?;
        let history = read_str_attr(file, "history")?;
        let quantum = match file.group("quantum") {
            Ok(g) => {
                let mut q = QuantumData { representation: read_str_attr(&g, "representation")?, arrays: Vec::new() };
                for name in g.member_names().context("listing group quantum")? {
                    let ds = g.dataset(&name).with_context(|| format!("opening dataset quantum/{name}"))?;
                    let data = ds.read_raw::<f64>().with_context(|| format!("reading dataset quantum/{name}"))?;
                    q.arrays.push(QuantumArray { name, shape: ds.shape(), data });
                }
                q
            }
            Err(_) => QuantumData::default(),
        };
        Ok(Self {
            state: State { lattice, data, background, t: read_scalar_attr(file, "t")?, step: read_scalar_attr(file, "step")?, quantum },
            dt: read_scalar_attr(file, "dt")?,
            precision: parse_precision(&read_str_attr(file, "precision")?)?,
            seed: read_scalar_attr(file, "seed")?,
            config_text: read_str_attr(file, "config")?,
            timeseries: Timeseries::read(&file.group("timeseries").context("opening group timeseries")?)?,
            snapshots: steps.into_iter().zip(times).map(|(step, t)| SnapshotInfo { step, t }).collect(),
            history: history.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
        })
    }
}
