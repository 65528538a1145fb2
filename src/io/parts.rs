//! Per-rank part files of a domain-decomposed run (issue 18; docs/output.md "Part files"): each rank of
//! `mpirun -np P cqgrav run` writes the z-planes it owns of a snapshot or of the checkpoint to its own file, and
//! the snapshot or checkpoint file itself holds the same datasets (names, shapes, element types, attributes as a
//! single process writes them) as HDF5 virtual datasets that map plane range z0(p) ≤ z < z0(p+1) of every field
//! to part p (relative file names: the output directory can be moved). No rank gathers the field arrays.
//!
//! - Names, beside the file they make up: `snapshot_NNNNNN.h5` → `snapshot_NNNNNN.part<p>of<P>.h5`; the
//!   checkpoint's carry its step (`checkpoint.h5` → `checkpoint_NNNNNN.part<p>of<P>.h5`), so the previous
//!   checkpoint keeps its parts until the new one is in place (crash safety, docs/output.md).
//! - A part file: root attributes `format` = [`FORMAT`], `run_id`, `step`, `t`, `part` (p), `parts` (P), `z0`,
//!   `nz`, `lattice_shape` and `whole` (the file it belongs to); the datasets of the whole file with N3 → nz.
//! - The whole file lists its parts in the root attribute `part_files` (one name per line, rank order), and
//!   the virtual datasets' fill value is NaN: a reader without cqgrav's check (h5py, xarray) sees NaN, never
//!   zeros, for the planes of a missing part. cqgrav's readers call [`check`] first: every part must exist and
//!   belong to the file (run id, step, index), else the read fails naming the part.
use super::h5util::{read_scalar_attr, read_str_attr, write_array_attr, write_scalar_attr, write_str_attr};
use anyhow::{bail, Context, Result};
use hdf5::{Dataset, Group, H5Type, Location};
use hdf5::{Hyperslab, SliceOrIndex};
use std::path::{Path, PathBuf};

/// Root attribute `format` of a part file.
pub const FORMAT: &str = "cqgrav-part";
/// Root attribute of a whole file made of parts: its part files, one name per line.
pub const PART_FILES: &str = "part_files";

/// What every message of [`check`] about an unusable part contains.
pub const UNUSABLE: &str = "per-rank part files";

/// Part p of a whole file: its file name (in the whole file's directory) and the planes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub file: String,
    pub z0: usize,
    pub nz: usize,
}

/// `snapshot_000100.h5` → `snapshot_000100.part1of2.h5`.
pub fn part_name(stem: &str, rank: usize, ranks: usize) -> String {
    format!("{stem}.part{rank}of{ranks}.h5")
}

/// The stem of the checkpoint's parts at `step` (`checkpoint_000100`).
pub fn checkpoint_stem(step: u64) -> String {
    format!("checkpoint_{step:06}")
}

/// The step of a snapshot file or of one of its parts (`snapshot_000100.h5`, `snapshot_000100.part0of2.h5`).
pub fn snapshot_step(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("snapshot_")?.strip_suffix(".h5")?;
    rest.split('.').next()?.parse().ok()
}

/// Is `name` a part file of a checkpoint?
pub fn is_checkpoint_part(name: &str) -> bool {
    name.starts_with("checkpoint_") && name.contains(".part") && name.ends_with(".h5")
}

/// The parts of a file of stem `stem` over `ranks` ranks on `n3` planes (the slabs of parallel/slab.rs).
pub fn layout(stem: &str, n3: usize, ranks: usize) -> Vec<Part> {
    use crate::parallel::slab::first_plane;
    (0..ranks)
        .map(|p| {
            let z0 = first_plane(p, ranks, n3);
            Part { file: part_name(stem, p, ranks), z0, nz: first_plane(p + 1, ranks, n3) - z0 }
        })
        .collect()
}

/// What identifies a part: the run, the step and its place.
#[derive(Debug, Clone)]
pub struct PartHeader<'a> {
    pub run_id: &'a str,
    pub step: u64,
    pub t: f64,
    pub rank: usize,
    pub ranks: usize,
    pub z0: usize,
    /// the whole lattice (N1, N2, N3)
    pub lattice_shape: [usize; 3],
    /// the name of the whole file
    pub whole: &'a str,
}

impl PartHeader<'_> {
    /// Creates the part file at `path` with its root attributes (the datasets are the caller's).
    pub fn create(&self, path: &Path, nz: usize) -> Result<hdf5::File> {
        let f = hdf5::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        write_str_attr(&f, "format", FORMAT)?;
        write_str_attr(&f, "run_id", self.run_id)?;
        write_scalar_attr(&f, "step", self.step)?;
        write_scalar_attr(&f, "t", self.t)?;
        write_scalar_attr(&f, "part", self.rank as u64)?;
        write_scalar_attr(&f, "parts", self.ranks as u64)?;
        write_scalar_attr(&f, "z0", self.z0 as u64)?;
        write_scalar_attr(&f, "nz", nz as u64)?;
        write_array_attr(&f, "lattice_shape", &self.lattice_shape.map(|n| n as u64))?;
        write_str_attr(&f, "whole", self.whole)?;
        Ok(f)
    }
}

/// A virtual dataset `name` of `shape` = (…, N3, N2, N1) and element type `T` in `group`: the planes of part p
/// from dataset `name` of its file, the rest (a missing part) reads as `fill` (NaN).
pub fn virtual_field<T: H5Type>(group: &Group, name: &str, shape: &[usize], parts: &[Part], fill: T) -> Result<Dataset>
where
    T: Into<hdf5::types::OwnedDynValue>,
{
    virtual_planes(group, name, name, shape, shape.len() - 3, parts, fill)
}

/// A virtual dataset `name` of `shape` in `group` whose axis `zaxis` runs over the lattice planes: the planes of part
/// p from the dataset at path `source` of its file (the quantum field's site arrays, axis 1 of (fields, N3, N2,
/// N1, width)), the rest `fill`.
pub fn virtual_planes<T: H5Type>(group: &Group, name: &str, source: &str, shape: &[usize], zaxis: usize, parts: &[Part], fill: T) -> Result<Dataset>
where
    T: Into<hdf5::types::OwnedDynValue>,
{
    let mut b = group.new_dataset::<T>().shape(shape).fill_value(fill);
    for p in parts {
        let mut src = shape.to_vec();
        src[zaxis] = p.nz;
        let all = |s: &[usize]| Hyperslab::from(s.iter().map(|&n| SliceOrIndex::from(0..n)).collect::<Vec<_>>());
        let mut planes: Vec<SliceOrIndex> = shape.iter().map(|&n| SliceOrIndex::from(0..n)).collect();
        planes[zaxis] = SliceOrIndex::from(p.z0..p.z0 + p.nz);
        b = b.virtual_map(&p.file, source, src.clone(), all(&src), shape.to_vec(), Hyperslab::from(planes));
    }
    b.create(name).with_context(|| format!("creating the virtual dataset {name} {shape:?} over {} part files", parts.len()))
}

/// Records `parts` on the whole file's root (attribute [`PART_FILES`]).
pub fn record(root: &Location, parts: &[Part]) -> Result<()> {
    let names: Vec<&str> = parts.iter().map(|p| p.file.as_str()).collect();
    write_str_attr(root, PART_FILES, &names.join("\n"))
}

/// The part files `root` (a snapshot's or checkpoint's root) is made of, as paths beside its file; empty for a
/// file written whole.
pub fn part_paths(root: &Location) -> Result<Vec<PathBuf>> {
    if root.attr(PART_FILES).is_err() {
        return Ok(Vec::new());
    }
    let dir = Path::new(&root.filename()).parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(read_str_attr(root, PART_FILES)?.lines().map(|n| dir.join(n)).collect())
}

/// Checks that every part of the file whose root is `root` exists and belongs to it (format, run id, step, its
/// index), before anything reads its virtual datasets; an error names the part and what is lost.
pub fn check(root: &Location) -> Result<()> {
    let parts = part_paths(root)?;
    if parts.is_empty() {
        return Ok(());
    }
    let whole = root.filename();
    let run_id = read_str_attr(root, "run_id")?;
    let step: u64 = read_scalar_attr(root, "step")?;
    let n = parts.len();
    for (p, path) in parts.iter().enumerate() {
        let problem = (|| -> Result<()> {
            let meta = std::fs::metadata(path).map_err(|_| anyhow::anyhow!("it is missing"))?;
            if !meta.is_file() {
                bail!("it is {}", super::file_kind(&meta));
            }
            let f = hdf5::File::open(path).context("it is not a readable HDF5 file")?;
            if read_str_attr(&f, "format").ok().as_deref() != Some(FORMAT) {
                bail!("it is not a cqgrav part file");
            }
            let (id, s, k) = (read_str_attr(&f, "run_id")?, read_scalar_attr::<u64>(&f, "step")?, read_scalar_attr::<u64>(&f, "part")?);
            if id != run_id || s != step || k != p as u64 {
                bail!("it is part {k} of run {id} at step {s}, not part {p} of run {run_id} at step {step}");
            }
            Ok(())
        })();
        if let Err(e) = problem {
            bail!(
                "{whole} is joined from {n} per-rank part files (a run over {n} MPI ranks), and its part {} is unusable: {e:#}; \
                 the z-planes of that part are lost (h5py and xarray read them as NaN)",
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_layout() {
        assert_eq!(part_name("snapshot_000100", 1, 2), "snapshot_000100.part1of2.h5");
        assert_eq!(snapshot_step("snapshot_000100.part1of2.h5"), Some(100));
        assert_eq!(snapshot_step("snapshot_000100.h5"), Some(100));
        assert!(is_checkpoint_part("checkpoint_000010.part0of3.h5") && !is_checkpoint_part("checkpoint.h5"));
        let l = layout("snapshot_000000", 7, 3);
        assert_eq!(l.iter().map(|p| (p.z0, p.nz)).collect::<Vec<_>>(), [(0, 2), (2, 2), (4, 3)]);
    }

    /// Two parts joined by the virtual datasets read back as the whole; a missing part reads as NaN through
    /// HDF5 and is refused by [`check`], naming it.
    #[test]
    fn virtual_datasets_join_the_parts_and_a_missing_part_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let shape = [2, 5, 3, 4]; // (C, N3, N2, N1)
        let whole: Vec<f64> = (0..2 * 5 * 3 * 4).map(|i| i as f64 + 0.5).collect();
        let parts = layout("w", 5, 2);
        for (p, part) in parts.iter().enumerate() {
            let h = PartHeader { run_id: "00000000000000ab", step: 7, t: 0.5, rank: p, ranks: 2, z0: part.z0, lattice_shape: [4, 3, 5], whole: "w.h5" };
            let f = h.create(&dir.path().join(&part.file), part.nz).unwrap();
            let v: Vec<f64> = (0..2).flat_map(|c| whole[c * 60 + part.z0 * 12..c * 60 + (part.z0 + part.nz) * 12].to_vec()).collect();
            crate::io::h5util::write_field::<f64>(&f, "g", &[2, part.nz, 3, 4], &v, |x| x).unwrap();
        }
        let wpath = dir.path().join("w.h5");
        {
            let f = hdf5::File::create(&wpath).unwrap();
            write_str_attr(&f, "run_id", "00000000000000ab").unwrap();
            write_scalar_attr(&f, "step", 7u64).unwrap();
            virtual_field::<f64>(&f, "g", &shape, &parts, f64::NAN).unwrap();
            record(&f, &parts).unwrap();
        }
        let read = |p: &Path| {
            let f = hdf5::File::open(p).unwrap();
            check(&f).map(|()| f.dataset("g").unwrap().read_raw::<f64>().unwrap())
        };
        assert_eq!(read(&wpath).unwrap(), whole);
        std::fs::remove_file(dir.path().join(&parts[1].file)).unwrap();
        let e = read(&wpath).unwrap_err().to_string();
        assert!(e.contains("w.part1of2.h5") && e.contains("missing"), "{e}");
        let raw = hdf5::File::open(&wpath).unwrap().dataset("g").unwrap().read_raw::<f64>().unwrap();
        assert!(raw[24..60].iter().all(|x| x.is_nan()) && raw[..24] == whole[..24], "a missing part must read as NaN");
    }
}
