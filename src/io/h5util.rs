//! Small typed helpers over the hdf5 crate: attributes (scalars, strings, 1-D arrays) and chunked, deflated
//! field datasets, with errors that name the object.
use anyhow::{anyhow, Context, Result};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, Group, H5Type, Location};
use std::str::FromStr;

/// A UTF-8 variable-length string attribute (h5py reads it as `str`).
pub fn write_str_attr(loc: &Location, name: &str, value: &str) -> Result<()> {
    let v = VarLenUnicode::from_str(value).map_err(|e| anyhow!("attribute {name}: {e}"))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .with_context(|| format!("writing string attribute {name}"))
}

pub fn write_scalar_attr<T: H5Type>(loc: &Location, name: &str, value: T) -> Result<()> {
    loc.new_attr::<T>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .with_context(|| format!("writing attribute {name}"))
}

pub fn write_array_attr<T: H5Type>(loc: &Location, name: &str, values: &[T]) -> Result<()> {
    loc.new_attr_builder()
        .with_data(values)
        .create(name)
        .map(|_| ())
        .with_context(|| format!("writing attribute {name}"))
}

pub fn read_str_attr(loc: &Location, name: &str) -> Result<String> {
    let v: VarLenUnicode = loc
        .attr(name)
        .and_then(|a| a.read_scalar())
        .with_context(|| format!("reading string attribute {name} of {}", loc.name()))?;
    Ok(v.as_str().to_owned())
}

pub fn read_scalar_attr<T: H5Type>(loc: &Location, name: &str) -> Result<T> {
    loc.attr(name).and_then(|a| a.read_scalar()).with_context(|| format!("reading attribute {name} of {}", loc.name()))
}

pub fn read_array_attr<T: H5Type>(loc: &Location, name: &str) -> Result<Vec<T>> {
    loc.attr(name).and_then(|a| a.read_raw()).with_context(|| format!("reading attribute {name} of {}", loc.name()))
}

/// Chunk shape of a field dataset `shape` = (C, N3, N2, N1) or (N3, N2, N1): one component, whole (y, x)
/// planes, about 2^16 elements per chunk.
fn field_chunk(shape: &[usize]) -> Vec<usize> {
    let mut chunk = shape.to_vec();
    let nd = shape.len();
    let plane = shape[nd - 1] * shape[nd - 2];
    chunk[nd - 3] = (65536 / plane.max(1)).clamp(1, shape[nd - 3]);
    if nd == 4 {
        chunk[0] = 1;
    }
    chunk
}

/// A chunked, shuffled, deflate-compressed field dataset of element type `T` (f32 or f64), converted from
/// the f64 `data` (C order of `shape`).
pub fn write_field<T: H5Type + Copy>(group: &Group, name: &str, shape: &[usize], data: &[f64], conv: impl Fn(f64) -> T) -> Result<Dataset> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let values: Vec<T> = data.iter().map(|&x| conv(x)).collect();
    let ds = group
        .new_dataset::<T>()
        .shape(shape)
        .chunk(field_chunk(shape))
        .shuffle()
        .deflate(DEFLATE_LEVEL)
        .create(name)
        .with_context(|| format!("creating dataset {name} {shape:?}"))?;
    ds.write_raw(&values).with_context(|| format!("writing dataset {name} {shape:?}"))?;
    Ok(ds)
}

/// zlib level of the snapshot datasets: 1 (fast; higher levels gain little on float noise, docs/output.md).
pub const DEFLATE_LEVEL: u8 = 1;

/// Reads a dataset as f64 (converting f32), with its shape.
pub fn read_f64(group: &Group, name: &str) -> Result<(Vec<usize>, Vec<f64>)> {
    read_array::<f64>(group, name)
}

/// A plain (contiguous) N-D dataset of `data` in C order of `shape` (small arrays: histograms, trajectories).
pub fn write_array<T: H5Type>(group: &Group, name: &str, shape: &[usize], data: &[T]) -> Result<Dataset> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let ds = group.new_dataset::<T>().shape(shape).create(name).with_context(|| format!("creating dataset {name} {shape:?}"))?;
    ds.write_raw(data).with_context(|| format!("writing dataset {name} {shape:?}"))?;
    Ok(ds)
}

/// Reads a dataset of element type `T`, with its shape.
pub fn read_array<T: H5Type>(group: &Group, name: &str) -> Result<(Vec<usize>, Vec<T>)> {
    let ds = group.dataset(name).with_context(|| format!("opening dataset {name} in {}", group.name()))?;
    let v = ds.read_raw::<T>().with_context(|| format!("reading dataset {}", ds.name()))?;
    Ok((ds.shape(), v))
}

#[cfg(test)]
mod tests {
    use super::field_chunk;

    #[test]
    fn chunks() {
        assert_eq!(field_chunk(&[6, 64, 64, 64]), vec![1, 16, 64, 64]);
        assert_eq!(field_chunk(&[8, 8, 8]), vec![8, 8, 8]);
        assert_eq!(field_chunk(&[3, 1, 1, 64]), vec![1, 1, 1, 64]);
        assert_eq!(field_chunk(&[1024, 512, 512]), vec![1, 512, 512]);
    }
}
