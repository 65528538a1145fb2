//! Named dimensions and coordinates: HDF5 dimension scales (the H5DS convention of libhdf5_hl), which is how
//! netCDF-4 readers — netCDF-C (netCDF4-python), h5netcdf, and through them xarray — see dimensions. A dataset
//! marked as a scale is a netCDF dimension named after the dataset; a 1-D scale with values is also its
//! coordinate variable; a dataset with a scale attached to every axis has named dimensions. Dimensions are
//! visible in the group that holds the scale and in its subgroups.
//!
//! Used by every file cqgrav writes (docs/output.md "Dimensions and coordinates"): the timeseries are indexed by
//! `t`, snapshot fields carry (ab | a, z, y, x) with coordinates, the checkpoint's arrays (var, z, y, x).
use super::h5util::write_str_attr;
use anyhow::{anyhow, bail, Context, Result};
use hdf5::types::{VarLenArray, VarLenUnicode};
use hdf5::{Dataset, Group, ObjectReference1};
use hdf5_sys::h5::herr_t;
use hdf5_sys::h5i::hid_t;
use std::ffi::{c_char, c_uint, CString};

extern "C" {
    // libhdf5_hl (H5DSpublic.h)
    fn H5DSset_scale(dsid: hid_t, dimname: *const c_char) -> herr_t;
    fn H5DSattach_scale(did: hid_t, dsid: hid_t, idx: c_uint) -> herr_t;
}

/// The unit of length and time in ħ = c = 16πG = 1: √(16π) Planck lengths (G = 1/(16π) makes
/// ℓ_P = √(ħG/c³) = 1/√(16π)).
pub const UNIT_LENGTH: &str = "sqrt(16 pi) l_Planck (hbar = c = 16 pi G = 1)";
pub const UNIT_TIME: &str = "sqrt(16 pi) t_Planck (hbar = c = 16 pi G = 1)";

/// Components of a symmetric 3-tensor (SPEC §1 storage order) and of a vector: the labels of the `ab` and `a`
/// dimensions.
pub const TENSOR_COMPONENTS: [&str; 6] = ["xx", "xy", "xz", "yy", "yz", "zz"];
pub const VECTOR_COMPONENTS: [&str; 3] = ["x", "y", "z"];

/// What netCDF-C writes as the `NAME` of a dimension that has no coordinate variable (readers recognise it).
const NOT_A_VARIABLE: &str = "This is a netCDF dimension but not a netCDF variable.";

/// Marks `ds` as the dimension scale `name` (its dataset name: readers name the dimension after the dataset).
pub fn make_scale(ds: &Dataset, name: &str) -> Result<()> {
    let c = CString::new(name)?;
    // SAFETY: a valid dataset id and a NUL-terminated string; under the hdf5 crate's global lock
    let r = hdf5::sync::sync(|| unsafe { H5DSset_scale(ds.id(), c.as_ptr()) });
    if r < 0 {
        bail!("H5DSset_scale({}, {name}) failed", ds.name());
    }
    Ok(())
}

/// Attaches the scale `scale` to axis `axis` of `ds`.
pub fn attach(ds: &Dataset, axis: usize, scale: &Dataset) -> Result<()> {
    // SAFETY: two valid dataset ids; under the hdf5 crate's global lock
    let r = hdf5::sync::sync(|| unsafe { H5DSattach_scale(ds.id(), scale.id(), axis as c_uint) });
    if r < 0 {
        bail!("attaching the dimension scale {} to axis {axis} of {} failed", scale.name(), ds.name());
    }
    Ok(())
}

/// Attaches `scales[k]` to axis k of `ds` (one per axis).
pub fn label_axes(ds: &Dataset, scales: &[&Dataset]) -> Result<()> {
    if scales.len() != ds.ndim() {
        bail!("{}: {} dimension scales for {} axes", ds.name(), scales.len(), ds.ndim());
    }
    scales.iter().enumerate().try_for_each(|(k, s)| attach(ds, k, s))
}

/// A 1-D float64 coordinate variable `name` (a dimension scale) with its values and `long_name`, `units`.
pub fn coordinate(group: &Group, name: &str, values: &[f64], long_name: &str, units: &str) -> Result<Dataset> {
    let ds = group.new_dataset_builder().with_data(values).create(name).with_context(|| format!("writing coordinate {name}"))?;
    make_scale(&ds, name)?;
    write_str_attr(&ds, "long_name", long_name)?;
    if !units.is_empty() {
        write_str_attr(&ds, "units", units)?;
    }
    Ok(ds)
}

/// A 1-D coordinate variable of text labels (variable-length UTF-8 strings), e.g. the tensor components.
pub fn labels(group: &Group, name: &str, values: &[&str], long_name: &str) -> Result<Dataset> {
    let v: Vec<VarLenUnicode> = values.iter().map(|s| s.parse().map_err(|e| anyhow!("label {s:?}: {e}"))).collect::<Result<_>>()?;
    let ds = group.new_dataset_builder().with_data(&v).create(name).with_context(|| format!("writing coordinate {name}"))?;
    make_scale(&ds, name)?;
    write_str_attr(&ds, "long_name", long_name)?;
    Ok(ds)
}

/// A dimension `name` of length `len` without coordinate values (netCDF's "dimension but not a variable": an
/// unwritten dataset, so it takes no space).
pub fn bare_dimension(group: &Group, name: &str, len: usize) -> Result<Dataset> {
    let ds = group.new_dataset::<f32>().shape([len]).create(name).with_context(|| format!("creating dimension {name}"))?;
    make_scale(&ds, &format!("{NOT_A_VARIABLE}{len:10}"))?;
    Ok(ds)
}

/// The coordinates of a lattice field file: `z`, `y`, `x` (grid nodes at i·h, SPEC §1, in code units) and the
/// component labels `ab` (symmetric tensors) and `a` (vectors).
pub struct LatticeDims {
    pub z: Dataset,
    pub y: Dataset,
    pub x: Dataset,
    pub ab: Dataset,
    pub a: Dataset,
}

impl LatticeDims {
    /// Writes the coordinates of an N1×N2×N3 lattice of spacing `h` into `group`.
    pub fn write(group: &Group, shape: [usize; 3], h: f64) -> Result<Self> {
        let axis = |n: usize| (0..n).map(|i| i as f64 * h).collect::<Vec<f64>>();
        let [n1, n2, n3] = shape;
        Ok(Self {
            z: coordinate(group, "z", &axis(n3), "z (grid node positions, periodic)", UNIT_LENGTH)?,
            y: coordinate(group, "y", &axis(n2), "y (grid node positions, periodic)", UNIT_LENGTH)?,
            x: coordinate(group, "x", &axis(n1), "x (grid node positions, periodic)", UNIT_LENGTH)?,
            ab: labels(group, "ab", &TENSOR_COMPONENTS, "symmetric tensor component")?,
            a: labels(group, "a", &VECTOR_COMPONENTS, "vector component")?,
        })
    }

    /// Names the axes of a lattice field: (z, y, x), with a leading component axis for 6 (`ab`) or 3 (`a`)
    /// components, or `lead` for another leading axis.
    pub fn label(&self, ds: &Dataset, lead: Option<&Dataset>) -> Result<()> {
        let spatial = [&self.z, &self.y, &self.x];
        match ds.ndim() {
            3 => label_axes(ds, &spatial),
            4 => {
                let first = match (lead, ds.shape()[0]) {
                    (Some(l), _) => l,
                    (None, 6) => &self.ab,
                    (None, 3) => &self.a,
                    (None, c) => bail!("{}: no component labels for {c} components", ds.name()),
                };
                label_axes(ds, &[first, spatial[0], spatial[1], spatial[2]])
            }
            d => bail!("{}: a lattice field has 3 or 4 axes, not {d}", ds.name()),
        }
    }
}

/// An entry of a dimension scale's `REFERENCE_LIST` (the H5DS convention): a dataset it is attached to and the axis.
#[derive(hdf5::H5Type, Clone, Copy)]
#[repr(C)]
struct ScaleUser {
    dataset: ObjectReference1,
    dimension: i32,
}

/// Makes the column `index` (e.g. `t`, in `units`) of the group `group` of 1-D columns — `columns`, (name,
/// dataset) as created — its dimension and attaches it to every other column, so that netCDF readers index the
/// group by it. Columns without that one are left as they are.
///
/// The attachment writes the H5DS attributes itself (`DIMENSION_LIST` on each column, `REFERENCE_LIST` on the
/// scale, as `H5DSattach_scale` does) because `H5DSattach_scale` queries each dataset's extent: on the virtual
/// datasets of the timeseries (an unlimited mapping) that opens every source segment with the main file's write
/// access and touches the sealed segments, which src/io/rows.rs writes once and never again.
pub fn index_columns(group: &Group, columns: &[(&str, Dataset)], index: &str, units: &str) -> Result<()> {
    let Some((_, scale)) = columns.iter().find(|(n, _)| *n == index) else { return Ok(()) };
    make_scale(scale, index)?;
    write_str_attr(scale, "units", units)?;
    let scale_ref: ObjectReference1 = group.reference(index).with_context(|| format!("a reference to {}/{index}", group.name()))?;
    let mut users = Vec::with_capacity(columns.len());
    for (n, ds) in columns.iter().filter(|(n, _)| *n != index) {
        let list = [VarLenArray::from_slice(&[scale_ref])];
        ds.new_attr::<VarLenArray<ObjectReference1>>()
            .shape(1)
            .create("DIMENSION_LIST")
            .and_then(|a| a.write(&list))
            .with_context(|| format!("attaching the dimension {index} to {}/{n}", group.name()))?;
        users.push(ScaleUser { dataset: group.reference(n)?, dimension: 0 });
    }
    if !users.is_empty() {
        scale.new_attr::<ScaleUser>().shape(users.len()).create("REFERENCE_LIST").and_then(|a| a.write(&users))?;
    }
    Ok(())
}
