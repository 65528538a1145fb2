//! One snapshot file `<file>.d/snapshot_NNNNNN.h5` (SPEC §7 `/snapshots/<index>`, reached from the main file
//! through an external link): root attributes t, step and the run's provenance; datasets g, pi (6,N3,N2,N1),
//! lapse, phi, pi_phi, phi2, ham (N3,N2,N1), mom (3,N3,N2,N1) — chunked, deflate-compressed, in the run's
//! precision, with named dimensions (ab | a, z, y, x) and their coordinates, so netCDF readers and xarray
//! open the file as a Dataset.
use super::dims::LatticeDims;
use super::h5util::{read_f64, read_scalar_attr, write_field, write_scalar_attr, write_str_attr};
use super::parts::{record, virtual_field, Part, PartHeader};
use super::writer::RunMeta;
use crate::config::Precision;
use crate::diagnostics::ConstraintFields;
use crate::state::{var, State};
use anyhow::{Context, Result};
use std::path::Path;

/// Root attribute `format` of a snapshot file.
pub const FORMAT: &str = "cqgrav-snapshot";

/// What each field holds (the `long_name` attribute; xarray labels plots with it).
pub fn long_name(name: &str) -> &'static str {
    match name {
        "g" => "3-metric g_ab",
        "pi" => "momentum pi^ab (density of weight one)",
        "lapse" => "lapse N",
        "phi" => "mean field <phi>",
        "pi_phi" => "mean momentum <pi_phi> (density)",
        "phi2" => "<delta phi^2> (quantum fluctuations)",
        "ham" => "Hamiltonian constraint",
        "mom" => "momentum constraint H_a",
        _ => "see docs/output.md",
    }
}

/// Dataset names in file order, with their number of components (1 = scalar field).
pub const DATASETS: [(&str, usize); 8] =
    [("g", 6), ("pi", 6), ("lapse", 1), ("phi", 1), ("pi_phi", 1), ("phi2", 1), ("ham", 1), ("mom", 3)];

/// A snapshot listed in the main file (and in each checkpoint).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotInfo {
    pub step: u64,
    pub t: f64,
}

/// The content of a snapshot, every field as f64 in C order of its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotData {
    pub t: f64,
    pub step: u64,
    /// (N1, N2, N3)
    pub shape: [usize; 3],
    /// (name, dataset shape, values), in [`DATASETS`] order.
    pub fields: Vec<(String, Vec<usize>, Vec<f64>)>,
}

impl SnapshotData {
    /// The snapshot of `state`: the full metric g = ḡ + δg, the other fields as stored; `phi2` = ⟨δφ²⟩ (zero
    /// when `None`: no quantum state); 𝓗 and 𝓗_a from `cf`.
    pub fn from_state(state: &State, cf: &ConstraintFields, phi2: Option<&[f64]>) -> Self {
        let n = state.lattice.sites();
        let [n1, n2, n3] = state.lattice.shape;
        let g: Vec<f64> =
            (0..6).flat_map(|k| state.field(var::G + k).iter().map(move |&d| state.background[k] + d)).collect();
        let pi: Vec<f64> = state.data[var::PI * n..(var::PI + 6) * n].to_vec();
        let mom: Vec<f64> = cf.mom.iter().flat_map(|c| c.iter().copied()).collect();
        let f3 = |c: usize| if c == 1 { vec![n3, n2, n1] } else { vec![c, n3, n2, n1] };
        let fields = vec![
            ("g", g),
            ("pi", pi),
            ("lapse", state.field(var::LAPSE).to_vec()),
            ("phi", state.field(var::PHI).to_vec()),
            ("pi_phi", state.field(var::PI_PHI).to_vec()),
            ("phi2", phi2.map_or_else(|| vec![0.0; n], <[f64]>::to_vec)),
            ("ham", cf.ham.clone()),
            ("mom", mom),
        ];
        let fields = fields
            .into_iter()
            .zip(DATASETS)
            .map(|((name, v), (_, c))| (name.to_owned(), f3(c), v))
            .collect();
        Self { t: state.t, step: state.step, shape: state.lattice.shape, fields }
    }

    pub fn field(&self, name: &str) -> Option<&[f64]> {
        self.fields.iter().find(|f| f.0 == name).map(|f| f.2.as_slice())
    }

    /// Writes the snapshot file at `path` (not atomically: see [`super::atomic_write`]) of the run `meta`: its
    /// provenance attributes (as the main file's root, with `format` = [`FORMAT`]), `t`, `step`, the fields in
    /// the run's precision with named dimensions, and the coordinates x, y, z, ab, a ([`super::dims`]).
    pub fn write(&self, path: &Path, meta: &RunMeta) -> Result<()> {
        let info = SnapshotInfo { step: self.step, t: self.t };
        write_file(path, meta, info, self.shape, |file, name, shape| {
            let v = self.field(name).with_context(|| format!("internal: the snapshot has no field {name}"))?;
            match meta.precision {
                Precision::F32 => write_field::<f32>(file, name, shape, v, |x| x as f32),
                Precision::F64 => write_field::<f64>(file, name, shape, v, |x| x),
            }
        })
    }

    /// Writes the part of a snapshot that one rank of a domain-decomposed run owns (issue 18): `self` holds its
    /// planes (shape (N1, N2, nz)), written in the run's precision to the part file `path` ([`super::parts`]).
    pub fn write_part(&self, path: &Path, header: &PartHeader, precision: Precision) -> Result<()> {
        let file = header.create(path, self.shape[2])?;
        for (name, shape, v) in &self.fields {
            let ds = match precision {
                Precision::F32 => write_field::<f32>(&file, name, shape, v, |x| x as f32)?,
                Precision::F64 => write_field::<f64>(&file, name, shape, v, |x| x)?,
            };
            write_str_attr(&ds, "long_name", long_name(name))?;
        }
        file.close().with_context(|| format!("closing {}", path.display()))
    }

    /// Writes the snapshot file at `path` of a domain-decomposed run (issue 18) as [`SnapshotData::write`] does,
    /// its fields virtual datasets over the ranks' `parts` (fill value NaN; attribute `part_files`).
    pub fn write_joined(path: &Path, meta: &RunMeta, info: SnapshotInfo, parts: &[Part]) -> Result<()> {
        write_file(path, meta, info, meta.lattice_shape, |file, name, shape| match meta.precision {
            Precision::F32 => virtual_field::<f32>(file, name, shape, parts, f32::NAN),
            Precision::F64 => virtual_field::<f64>(file, name, shape, parts, f64::NAN),
        })
        .and_then(|()| {
            let file = hdf5::File::open_rw(path).with_context(|| format!("opening {}", path.display()))?;
            record(&file, parts)
        })
    }

    /// Reads a snapshot file (f32 data converted to f64).
    pub fn read(path: &Path) -> Result<Self> {
        let file = hdf5::File::open(path).with_context(|| format!("opening snapshot {}", path.display()))?;
        Self::read_group(&file).with_context(|| format!("reading snapshot {}", path.display()))
    }

    /// Reads a snapshot from an open group (a snapshot file's root, or `/snapshots/NNNNNN` of a main file).
    pub fn read_group(g: &hdf5::Group) -> Result<Self> {
        super::parts::check(g)?; // issue 18: every part of a domain-decomposed run's snapshot
        let t = read_scalar_attr::<f64>(g, "t")?;
        let step = read_scalar_attr::<u64>(g, "step")?;
        let mut fields = Vec::new();
        for (name, _) in DATASETS {
            let (shape, v) = read_f64(g, name)?;
            fields.push((name.to_owned(), shape, v));
        }
        let s = &fields[2].1; // lapse: (N3, N2, N1)
        Ok(Self { t, step, shape: [s[2], s[1], s[0]], fields })
    }
}

/// A snapshot file (provenance, `t`, `step`, dimensions) whose field datasets `make(file, name, shape)` creates.
fn write_file(path: &Path, meta: &RunMeta, info: SnapshotInfo, lattice: [usize; 3], make: impl Fn(&hdf5::File, &str, &[usize]) -> Result<hdf5::Dataset>) -> Result<()> {
    let file = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    meta.write_provenance(&file, FORMAT)?;
    write_scalar_attr(&file, "t", info.t)?;
    write_scalar_attr(&file, "step", info.step)?;
    let dims = LatticeDims::write(&file, lattice, meta.spacing)?;
    let [n1, n2, n3] = lattice;
    for (name, c) in DATASETS {
        let shape = if c == 1 { vec![n3, n2, n1] } else { vec![c, n3, n2, n1] };
        let ds = make(&file, name, &shape)?;
        dims.label(&ds, None)?;
        write_str_attr(&ds, "long_name", long_name(name))?;
    }
    file.close().with_context(|| format!("closing {}", path.display()))
}
