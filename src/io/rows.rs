//! The timeseries rows on disk (SPEC §7 `/timeseries`; issue 15): append-only segment files behind HDF5 virtual
//! datasets, so that a flush costs O(rows since the last flush) instead of rewriting every row. The spectra of
//! issue 13 (`/spectra`, SPEC §11) are stored the same way: a [`Table`] says which (file prefix, block size,
//! descriptions), and a spectra column holds a fixed number of values per row (one per shell), so its virtual
//! dataset is 2-D (rows × shells).
//!
//! - Rows are cut into blocks of [`Table::block_rows`]. A complete block b is written once, as
//!   `<file>.d/<prefix>_<run id>_<b>.h5` (one float64 dataset per column), and never changed.
//! - The rows of the current, incomplete block b are rewritten at each flush as `…_<b>.open.h5` (at most one
//!   block of rows, so the cost per flush is bounded).
//! - The main file's `/<group>/<name>` is a virtual dataset with two mappings: every complete block through
//!   one printf-style mapping `<prefix>_<run id>_%b.h5` (HDF5 follows it up to the first missing file, so the
//!   main file does not list the blocks and stays small), and the open block's rows through an ordinary mapping.
//!
//! Crash safety (docs/output.md): every segment is written under a temporary name and renamed; a complete block
//! is renamed into place before the main file drops its open file, and the open file only grows between two
//! main files, so each main file ever renamed into place maps complete rows of this run only. The run id in
//! the names keeps the segments of another run (an `--overwrite`n earlier one) out of the mapping.
use super::h5util::write_str_attr;
use super::timeseries::describe;
use super::{atomic_replace, OutputPaths};
use anyhow::{anyhow, bail, Context, Result};
use hdf5::Group;
use std::path::PathBuf;

/// Rows per timeseries segment file: 4096 rows × 22 columns × 8 bytes ≈ 0.7 MiB, the most a flush rewrites.
pub const BLOCK_ROWS: usize = 4096;

/// What a row store holds.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// segment file prefix (`timeseries`, `spectra`)
    pub prefix: &'static str,
    /// rows per segment file
    pub block_rows: usize,
    /// the `description` attribute of a column
    pub describe: fn(&str) -> &'static str,
}

/// The `/timeseries` rows (one value per column per row).
pub const TIMESERIES: Table = Table { prefix: "timeseries", block_rows: BLOCK_ROWS, describe };

/// Every segment prefix (an `--overwrite` and a new output's checks look for all of them).
const PREFIXES: [&str; 2] = ["timeseries_", "spectra_"];

/// The rows of one run: the complete blocks on disk and the rows after them in memory.
#[derive(Debug)]
pub struct RowStore {
    table: Table,
    paths: OutputPaths,
    run_id: String,
    /// the columns, fixed by the first row (or by the segments of a resumed run)
    names: Vec<String>,
    /// values per row of each column: None for a scalar column (1-D dataset), Some(w) for w values (2-D)
    widths: Vec<Option<usize>>,
    /// complete blocks written (`…_0.h5` … `…_{sealed−1}.h5`)
    sealed: u64,
    /// the rows after the complete blocks, one vector per column, row-major (more than a block until the next flush)
    open: Vec<Vec<f64>>,
    /// rows in `open`
    open_rows: usize,
    /// rows of block `sealed` in its `.open.h5` file, i.e. what the main file may map
    open_on_disk: usize,
    /// after a resume: remove segment files beyond the kept rows once the next main file is in place
    cleanup: bool,
    /// the block whose open file the last main file written maps
    mapped_open: u64,
}

fn width(w: &Option<usize>) -> usize {
    w.unwrap_or(1)
}

impl RowStore {
    /// The timeseries store of a run.
    pub fn new(paths: &OutputPaths, run_id: &str) -> Self {
        Self::of(TIMESERIES, paths, run_id)
    }

    /// A store of `table` rows.
    pub fn of(table: Table, paths: &OutputPaths, run_id: &str) -> Self {
        Self {
            table,
            paths: paths.clone(),
            run_id: run_id.to_string(),
            names: Vec::new(),
            widths: Vec::new(),
            sealed: 0,
            open: Vec::new(),
            open_rows: 0,
            open_on_disk: 0,
            cleanup: false,
            mapped_open: 0,
        }
    }

    fn segment_name(&self, block: u64, open: bool) -> String {
        format!("{}_{}_{block}{}.h5", self.table.prefix, self.run_id, if open { ".open" } else { "" })
    }
    fn segment(&self, block: u64, open: bool) -> PathBuf {
        self.paths.dir.join(self.segment_name(block, open))
    }

    /// Is `name` a segment file of some run (an `--overwrite` removes those of other runs)?
    pub fn is_segment_file(name: &str) -> bool {
        PREFIXES.iter().any(|p| name.starts_with(p)) && name.ends_with(".h5")
    }
    /// Is `name` a segment file of the run `run_id`?
    pub fn is_segment_of(name: &str, run_id: &str) -> bool {
        PREFIXES.iter().any(|p| name.starts_with(&format!("{p}{run_id}_"))) && name.ends_with(".h5")
    }

    /// The rows so far (on disk or in memory).
    pub fn len(&self) -> u64 {
        self.sealed * self.table.block_rows as u64 + self.open_rows as u64
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// The `step` value of the last row (`None` before the first row).
    pub fn last_step(&self) -> Option<f64> {
        let i = self.names.iter().position(|n| n == "step")?;
        self.open[i].last().copied()
    }

    /// Appends one row of scalars (`Diagnostics::columns`). The first row fixes the columns; a later row must have
    /// the same.
    pub fn push(&mut self, row: &[(&str, f64)]) -> Result<()> {
        if self.names.is_empty() {
            self.names = row.iter().map(|(n, _)| (*n).to_string()).collect();
            self.widths = vec![None; self.names.len()];
            self.open = vec![Vec::new(); self.names.len()];
        }
        if row.len() != self.names.len() {
            bail!("a {} row has {} columns, the output has {}", self.table.prefix, row.len(), self.names.len());
        }
        for (col, name) in self.open.iter_mut().zip(&self.names) {
            let v = row.iter().find(|(n, _)| n == name).ok_or_else(|| anyhow!("{} row without column {name}", self.table.prefix))?.1;
            col.push(v);
        }
        self.open_rows += 1;
        Ok(())
    }

    /// Appends one row whose columns may hold several values: (name, values, wide) with `wide` for a 2-D column
    /// (rows × values), else a scalar. The first row fixes the columns and their widths; a later row must have the
    /// same.
    pub fn push_wide(&mut self, row: &[(&str, Vec<f64>, bool)]) -> Result<()> {
        if self.names.is_empty() {
            self.names = row.iter().map(|(n, _, _)| (*n).to_string()).collect();
            self.widths = row.iter().map(|(_, v, wide)| wide.then_some(v.len())).collect();
            self.open = vec![Vec::new(); self.names.len()];
        }
        if row.len() != self.names.len() {
            bail!("a {} row has {} columns, the output has {}", self.table.prefix, row.len(), self.names.len());
        }
        for ((col, name), w) in self.open.iter_mut().zip(&self.names).zip(&self.widths) {
            let v = &row.iter().find(|(n, _, _)| n == name).ok_or_else(|| anyhow!("{} row without column {name}", self.table.prefix))?.1;
            if v.len() != width(w) {
                bail!("{} column {name} has {} values in this row, {} before", self.table.prefix, v.len(), width(w));
            }
            col.extend_from_slice(v);
        }
        self.open_rows += 1;
        Ok(())
    }

    /// Writes what is new since the last flush: every complete block (once) and the open block's file when it
    /// gained rows. Afterwards [`RowStore::write_datasets`] maps exactly what is on disk.
    pub fn flush(&mut self) -> Result<()> {
        let b_rows = self.table.block_rows;
        while self.open_rows >= b_rows {
            let block: Vec<Vec<f64>> = self.open.iter().zip(&self.widths).map(|(c, w)| c[..b_rows * width(w)].to_vec()).collect();
            let b = self.sealed;
            self.write_segment(b, false, &block, b_rows)?;
            for (c, w) in self.open.iter_mut().zip(&self.widths) {
                c.drain(..b_rows * width(w));
            }
            self.open_rows -= b_rows;
            self.sealed += 1;
            self.open_on_disk = 0;
        }
        let k = self.open_rows;
        if k > self.open_on_disk {
            let open = std::mem::take(&mut self.open);
            let r = self.write_segment(self.sealed, true, &open, k);
            self.open = open;
            r?;
            self.open_on_disk = k;
        }
        Ok(())
    }

    fn write_segment(&self, block: u64, open: bool, cols: &[Vec<f64>], rows: usize) -> Result<()> {
        let path = self.segment(block, open);
        let first = block * self.table.block_rows as u64;
        let what = format!("{} rows {first}… ({})", self.table.prefix, if open { "open block" } else { "complete block" });
        atomic_replace(&path, &self.paths.dir, &what, |tmp| {
            let f = hdf5::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
            super::h5util::write_str_attr(&f, "run_id", &self.run_id)?;
            super::h5util::write_scalar_attr(&f, "first_row", first)?;
            for ((name, col), w) in self.names.iter().zip(cols).zip(&self.widths) {
                match w {
                    None => f.new_dataset_builder().with_data(&col[..]).create(name.as_str()),
                    Some(w) => f.new_dataset::<f64>().shape([rows, *w]).create(name.as_str()).and_then(|d| d.write_raw(&col[..]).map(|_| d)),
                }
                .with_context(|| format!("writing {name}"))?;
            }
            f.close().with_context(|| format!("closing {}", tmp.display()))
        })
    }

    /// Called once the main file that maps the current rows is in place: removes files no main file maps any
    /// more (the open file of a block just completed; after a resume, blocks beyond the kept rows, removed from
    /// the last down so that the printf mapping always sees a contiguous run of blocks).
    pub fn after_main_written(&mut self) -> Result<()> {
        for b in self.mapped_open..self.sealed {
            let _ = std::fs::remove_file(self.segment(b, true));
        }
        self.mapped_open = self.sealed;
        if !std::mem::take(&mut self.cleanup) {
            return Ok(());
        }
        let mut stale: Vec<(u64, bool, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(&self.paths.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(&format!("{}_{}_", self.table.prefix, self.run_id)) else { continue };
            let (num, open) = match rest.strip_suffix(".open.h5") {
                Some(n) => (n, true),
                None => (rest.strip_suffix(".h5").unwrap_or(""), false),
            };
            let Ok(b) = num.parse::<u64>() else { continue };
            let keep = if open { b == self.sealed && self.open_on_disk > 0 } else { b < self.sealed };
            if !keep {
                stale.push((b, open, e.path()));
            }
        }
        stale.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (_, _, p) in stale {
            std::fs::remove_file(&p).with_context(|| format!("removing {} (rows after the checkpoint)", p.display()))?;
        }
        Ok(())
    }

    /// The timeseries rows of the run `run_id` at `paths` up to `rows` ([`RowStore::resume_table`]).
    pub fn resume(paths: &OutputPaths, run_id: &str, rows: u64) -> Result<(Self, u64)> {
        Self::resume_table(TIMESERIES, paths, run_id, rows)
    }

    /// The `table` rows of the run `run_id` at `paths` up to `rows` (a resume from a checkpoint that holds that
    /// many): the complete blocks stay on disk, the rows of the block containing row `rows` are read back. Also
    /// returns how many rows the segments held beyond `rows` (dropped).
    pub fn resume_table(table: Table, paths: &OutputPaths, run_id: &str, rows: u64) -> Result<(Self, u64)> {
        let mut s = Self::of(table, paths, run_id);
        let b_rows = table.block_rows as u64;
        let b = rows / b_rows;
        let k = (rows % b_rows) as usize;
        let on_disk = s.rows_on_disk()?;
        if on_disk < rows {
            bail!("the {} segments of run {run_id} hold {on_disk} rows, the checkpoint needs {rows}", table.prefix);
        }
        // the block with the kept rows: complete on disk, or its open file
        let (sealed_path, open_path) = (s.segment(b, false), s.segment(b, true));
        let src = if sealed_path.exists() { sealed_path } else { open_path };
        if k > 0 || src.exists() {
            let seg = read_segment(&src, k)?;
            (s.names, s.widths, s.open) = (seg.names, seg.widths, seg.columns);
        } else if b > 0 {
            let seg = read_segment(&s.segment(b - 1, false), 0)?;
            (s.names, s.widths) = (seg.names, seg.widths);
        }
        if s.names.is_empty() && b > 0 {
            bail!("cannot read the {} columns of run {run_id} from {}", table.prefix, paths.dir.display());
        }
        if s.open.is_empty() {
            s.open = vec![Vec::new(); s.names.len()];
        }
        s.open_rows = k;
        s.sealed = b;
        // the open file of block b holds these k rows already unless block b was complete (then it is written anew)
        let open_rows = read_len(&s.segment(b, true)).unwrap_or(0);
        s.open_on_disk = if !s.segment(b, false).exists() && open_rows >= k { k } else { 0 };
        s.cleanup = true;
        s.mapped_open = b;
        Ok((s, on_disk - rows))
    }

    /// The `step` column of the rows in the segment files of run `run_id` at `paths` (complete blocks up to the
    /// first missing one, then the open file), read directly: a restart checks its checkpoint against them.
    pub fn steps_on_disk(paths: &OutputPaths, run_id: &str) -> Result<Vec<u64>> {
        let s = Self::new(paths, run_id);
        let mut steps = Vec::new();
        let mut b = 0u64;
        loop {
            let (sealed, open) = (s.segment(b, false), s.segment(b, true));
            let path = if sealed.exists() { sealed } else if open.exists() { open } else { break };
            let f = hdf5::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
            let ds = f.dataset("step").with_context(|| format!("{}: no column step", path.display()))?;
            if ds.ndim() != 1 || ds.size() > BLOCK_ROWS {
                bail!("{}: column step has shape {:?}, not a timeseries segment", path.display(), ds.shape());
            }
            steps.extend(ds.read_raw::<f64>().with_context(|| format!("reading {}", path.display()))?.into_iter().map(|x| x as u64));
            if !path.ends_with(s.segment_name(b, false)) {
                break;
            }
            b += 1;
        }
        Ok(steps)
    }

    /// The rows in this run's segment files: complete blocks up to the first missing one, then an open file.
    pub fn rows_on_disk(&self) -> Result<u64> {
        let mut b = 0u64;
        while self.segment(b, false).exists() {
            b += 1;
        }
        Ok(b * self.table.block_rows as u64 + read_len(&self.segment(b, true)).unwrap_or(0) as u64)
    }

    /// Creates the group's virtual datasets (one per column) mapping the rows on disk (after [`RowStore::flush`]),
    /// each with its `description`.
    pub fn write_datasets(&self, group: &Group) -> Result<()> {
        // HDF5 reads `%` in every source file name as a printf conversion: doubled, it stands for itself
        let dir = self.paths.dir_name().replace('%', "%%");
        let pattern = format!("{dir}/{}_{}_%b.h5", self.table.prefix, self.run_id);
        let open = format!("{dir}/{}", self.segment_name(self.sealed, true));
        let complete = self.sealed * self.table.block_rows as u64;
        let mut columns = Vec::with_capacity(self.names.len());
        for (name, w) in self.names.iter().zip(&self.widths) {
            let ds = virtual_rows(group, name, *w, &pattern, self.table.block_rows as u64, complete, &open, self.open_on_disk as u64)
                .with_context(|| format!("creating the virtual dataset {}/{name}", group.name()))?;
            write_str_attr(&ds, "description", (self.table.describe)(name))?;
            // the 1-D columns get t as their dimension scale (a DIMENSION_LIST names every axis of its dataset, so
            // the (rows × shells) spectra are left without one)
            if w.is_none() {
                columns.push((name.as_str(), ds));
            }
        }
        // netCDF readers (xarray) index the columns by t
        super::dims::index_columns(group, &columns, "t", super::dims::UNIT_TIME)
    }
}

/// The number of rows in a segment file (its `step` column), if it can be read.
fn read_len(path: &std::path::Path) -> Option<usize> {
    let f = hdf5::File::open(path).ok()?;
    let ds = f.dataset("step").ok()?;
    Some(ds.size())
}

/// The columns of a segment file: names, widths, and the first `rows` rows of each (row-major).
struct Segment {
    names: Vec<String>,
    widths: Vec<Option<usize>>,
    columns: Vec<Vec<f64>>,
}

/// The first `rows` rows of a segment file (all when `rows` is 0 and only the names are wanted: none).
fn read_segment(path: &std::path::Path, rows: usize) -> Result<Segment> {
    super::require_regular_file(path, "row segment")?;
    let f = hdf5::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut seg = Segment { names: Vec::new(), widths: Vec::new(), columns: Vec::new() };
    for name in crate::io::timeseries::ordered_names(f.member_names()?) {
        let ds = f.dataset(&name).with_context(|| format!("opening {}/{name}", path.display()))?;
        let shape = ds.shape();
        let w = match shape.len() {
            1 => None,
            2 => Some(shape[1]),
            _ => bail!("{}: dataset {name} has shape {shape:?}, not a row segment", path.display()),
        };
        if shape[0] < rows {
            bail!("{}: dataset {name} has shape {shape:?}, expected at least {rows} rows", path.display());
        }
        let col = if rows == 0 { Vec::new() } else { ds.read_raw::<f64>().with_context(|| format!("reading {name}"))?[..rows * width(&w)].to_vec() };
        seg.names.push(name);
        seg.widths.push(w);
        seg.columns.push(col);
    }
    Ok(seg)
}

/// One virtual dataset of `complete + open_rows` float64 rows (extendible; with `width` = Some(w) each row holds w
/// values: shape (rows, w)): block b of the complete rows from dataset `name` of the file `pattern` with `%b` = b,
/// the rest from the file `open`. Fill value NaN.
#[allow(clippy::too_many_arguments)]
fn virtual_rows(group: &Group, name: &str, width: Option<usize>, pattern: &str, block: u64, complete: u64, open: &str, open_rows: u64) -> Result<hdf5::Dataset> {
    use hdf5_sys::{h5d, h5i::hid_t, h5p, h5s, h5t};
    use std::ffi::CString;
    /// closes an HDF5 identifier when dropped
    struct Id(hid_t, unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t);
    impl Drop for Id {
        fn drop(&mut self) {
            if self.0 >= 0 {
                unsafe { (self.1)(self.0) };
            }
        }
    }
    fn ok(r: i32, what: &str) -> Result<()> {
        if r < 0 {
            bail!("{what} failed");
        }
        Ok(())
    }
    fn id(i: hid_t, close: unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t, what: &str) -> Result<Id> {
        if i < 0 {
            bail!("{what} failed");
        }
        Ok(Id(i, close))
    }
    let (c_pattern, c_open, c_name) = (CString::new(pattern)?, CString::new(open)?, CString::new(name)?);
    let total = complete + open_rows;
    // the row dimension, then (for a wide column) the fixed second dimension
    let (rank, w) = match width {
        None => (1, 0u64),
        Some(w) => (2, w as u64),
    };
    let dims = |rows: u64| -> Vec<u64> { if rank == 1 { vec![rows] } else { vec![rows, w] } };
    let row = |x: u64, rest: u64| -> Vec<u64> { if rank == 1 { vec![x] } else { vec![x, rest] } };
    hdf5::sync::sync(|| -> Result<hdf5::Dataset> {
        unsafe {
            let unl = h5s::H5S_UNLIMITED;
            let set = h5s::H5S_seloper_t::H5S_SELECT_SET;
            let space = |cur: &[u64], max: &[u64]| id(h5s::H5Screate_simple(rank, cur.as_ptr(), max.as_ptr()), h5s::H5Sclose, "H5Screate_simple");
            let dcpl = id(h5p::H5Pcreate(*h5p::H5P_CLS_DATASET_CREATE), h5p::H5Pclose, "H5Pcreate")?;
            let nan = f64::NAN;
            ok(h5p::H5Pset_fill_value(dcpl.0, *h5t::H5T_NATIVE_DOUBLE, (&nan as *const f64).cast()), "H5Pset_fill_value")?;
            // complete blocks: an unlimited run of blocks, block b from file `pattern` with %b = b
            let vspace = space(&dims(total), &row(unl, w))?;
            ok(
                h5s::H5Sselect_hyperslab(vspace.0, set, row(0, 0).as_ptr(), row(block, 1).as_ptr(), row(unl, 1).as_ptr(), row(block, w).as_ptr()),
                "select blocks",
            )?;
            let src = space(&dims(block), &dims(block))?;
            ok(h5p::H5Pset_virtual(dcpl.0, vspace.0, c_pattern.as_ptr(), c_name.as_ptr(), src.0), "H5Pset_virtual (blocks)")?;
            if open_rows > 0 {
                let v2 = space(&dims(total), &row(unl, w))?;
                ok(
                    h5s::H5Sselect_hyperslab(v2.0, set, row(complete, 0).as_ptr(), std::ptr::null(), row(1, 1).as_ptr(), dims(open_rows).as_ptr()),
                    "select open rows",
                )?;
                let s2 = space(&dims(open_rows), &row(unl, w))?;
                ok(
                    h5s::H5Sselect_hyperslab(s2.0, set, row(0, 0).as_ptr(), std::ptr::null(), row(1, 1).as_ptr(), dims(open_rows).as_ptr()),
                    "select source rows",
                )?;
                ok(h5p::H5Pset_virtual(dcpl.0, v2.0, c_open.as_ptr(), c_name.as_ptr(), s2.0), "H5Pset_virtual (open block)")?;
            }
            let sp = space(&dims(total), &row(unl, w))?;
            let ds = h5d::H5Dcreate2(group.id(), c_name.as_ptr(), *h5t::H5T_IEEE_F64LE, sp.0, h5p::H5P_DEFAULT, dcpl.0, h5p::H5P_DEFAULT);
            if ds < 0 {
                bail!("H5Dcreate2 failed");
            }
            hdf5::from_id::<hdf5::Dataset>(ds).map_err(|e| anyhow!("{e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Timeseries;
    use std::path::Path;

    const ID: &str = "00000000000000ab";

    fn row(i: u64) -> Vec<(&'static str, f64)> {
        vec![("t", i as f64 * 0.5), ("step", i as f64), ("a", (i as f64).sqrt())]
    }

    /// Writes a main file mapping the store's rows and reads them back through HDF5's virtual datasets.
    fn through_main(store: &mut RowStore, paths: &OutputPaths) -> Timeseries {
        let f = hdf5::File::create(&paths.main).unwrap();
        store.write_datasets(&f.create_group("timeseries").unwrap()).unwrap();
        drop(f);
        store.after_main_written().unwrap();
        let f = hdf5::File::open(&paths.main).unwrap();
        Timeseries::read(&f.group("timeseries").unwrap()).unwrap()
    }

    fn segment_files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    /// Rows pushed across many flushes (more than a block between two of them, too) read back exactly through
    /// the main file; complete blocks are written once and never again; one open file at a time.
    #[test]
    fn rows_read_back_through_the_virtual_datasets() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths::new(&dir.path().join("run.h5"));
        std::fs::create_dir_all(&paths.dir).unwrap();
        let mut s = RowStore::new(&paths, ID);
        let mut n = 0u64;
        let mut block0_written = None;
        for chunk in [1u64, 700, 5000, 3, 4096, 900] {
            for _ in 0..chunk {
                s.push(&row(n)).unwrap();
                n += 1;
            }
            s.flush().unwrap();
            let ts = through_main(&mut s, &paths);
            assert_eq!(ts.len() as u64, n);
            assert_eq!(ts.names, ["t", "step", "a"]);
            let want: Vec<f64> = (0..n).map(|i| (i as f64).sqrt()).collect();
            assert_eq!(ts.column("a").unwrap(), &want[..]);
            let files = segment_files(&paths.dir);
            let open: Vec<&String> = files.iter().filter(|f| f.ends_with(".open.h5")).collect();
            assert!(open.len() <= 1, "{files:?}");
            assert_eq!(files.iter().filter(|f| !f.ends_with(".open.h5")).count() as u64, n / BLOCK_ROWS as u64, "{files:?}");
            if let Ok(m) = std::fs::metadata(paths.dir.join(format!("timeseries_{ID}_0.h5"))) {
                let stamp = (m.modified().unwrap(), std::os::unix::fs::MetadataExt::ino(&m));
                assert_eq!(*block0_written.get_or_insert(stamp), stamp, "a complete block was written again");
            }
        }
        assert_eq!(s.len(), n);
        assert_eq!(s.rows_on_disk().unwrap(), n);
    }

    /// Wide rows (a spectra table: scalars and 2-D columns) read back through the 2-D virtual datasets across blocks,
    /// and a resume keeps exactly the checkpoint's rows.
    #[test]
    fn wide_rows_read_back_and_resume() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths::new(&dir.path().join("run.h5"));
        std::fs::create_dir_all(&paths.dir).unwrap();
        let table = Table { prefix: "spectra", block_rows: 8, describe };
        let wide = |i: u64| vec![("t", vec![i as f64], false), ("step", vec![i as f64], false), ("p", (0..5).map(|j| (i * 10 + j) as f64).collect(), true)];
        let read = |store: &mut RowStore| -> (Vec<f64>, Vec<Vec<f64>>) {
            let f = hdf5::File::create(&paths.main).unwrap();
            store.write_datasets(&f.create_group("spectra").unwrap()).unwrap();
            drop(f);
            store.after_main_written().unwrap();
            let f = hdf5::File::open(&paths.main).unwrap();
            let p = f.dataset("spectra/p").unwrap();
            let shape = p.shape();
            let v = p.read_raw::<f64>().unwrap();
            (f.dataset("spectra/step").unwrap().read_raw::<f64>().unwrap(), v.chunks(shape[1]).map(|c| c.to_vec()).collect())
        };
        let mut s = RowStore::of(table, &paths, ID);
        for i in 0..21 {
            s.push_wide(&wide(i)).unwrap();
            if i % 5 == 0 {
                s.flush().unwrap();
            }
        }
        s.flush().unwrap();
        let (steps, p) = read(&mut s);
        assert_eq!(steps, (0..21).map(|i| i as f64).collect::<Vec<_>>());
        for (i, r) in p.iter().enumerate() {
            assert_eq!(r, &(0..5).map(|j| (i as u64 * 10 + j) as f64).collect::<Vec<_>>());
        }
        assert!(s.push_wide(&[("t", vec![0.0], false), ("step", vec![0.0], false), ("p", vec![1.0; 4], true)]).is_err(), "a row of another width");
        for keep in [19u64, 16, 3] {
            let (mut r, _) = RowStore::resume_table(table, &paths, ID, keep).unwrap();
            assert_eq!(r.len(), keep);
            r.push_wide(&wide(keep)).unwrap();
            r.flush().unwrap();
            let (steps, p) = read(&mut r);
            assert_eq!(steps.len() as u64, keep + 1);
            assert_eq!(p[keep as usize][4], (keep * 10 + 4) as f64);
        }
    }

    /// A resume keeps exactly the first `rows` rows and removes the segments beyond them once the main file
    /// no longer maps them; the run then goes on in the same files.
    #[test]
    fn resume_keeps_the_checkpoint_rows() {
        let dir = tempfile::tempdir().unwrap();
        let paths = OutputPaths::new(&dir.path().join("run.h5"));
        std::fs::create_dir_all(&paths.dir).unwrap();
        let mut s = RowStore::new(&paths, ID);
        for i in 0..(2 * BLOCK_ROWS as u64 + 300) {
            s.push(&row(i)).unwrap();
        }
        s.flush().unwrap();
        through_main(&mut s, &paths);
        for keep in [2 * BLOCK_ROWS as u64 + 100, BLOCK_ROWS as u64 + 7, BLOCK_ROWS as u64, 5] {
            let (mut r, dropped) = RowStore::resume(&paths, ID, keep).unwrap();
            assert_eq!(r.len(), keep);
            r.flush().unwrap();
            let ts = through_main(&mut r, &paths);
            assert_eq!(ts.steps(), (0..keep).collect::<Vec<_>>(), "keep {keep} (dropped {dropped})");
            // the complete blocks beyond the kept rows are gone; the open file of the kept block may still hold
            // rows after them (not mapped; the next flush rewrites it)
            let files = segment_files(&paths.dir);
            let sealed: Vec<&String> = files.iter().filter(|f| f.starts_with("timeseries_") && !f.ends_with(".open.h5")).collect();
            assert_eq!(sealed.len() as u64, keep / BLOCK_ROWS as u64, "{files:?}");
            let open: Vec<&String> = files.iter().filter(|f| f.ends_with(".open.h5")).collect();
            let want_open = (keep % BLOCK_ROWS as u64 > 0).then(|| format!("timeseries_{ID}_{}.open.h5", keep / BLOCK_ROWS as u64));
            assert_eq!(open.first().map(|s| s.to_string()), want_open, "{files:?}");
            // continue: the same rows as an uninterrupted run
            for i in keep..keep + 10 {
                r.push(&row(i)).unwrap();
            }
            r.flush().unwrap();
            assert_eq!(through_main(&mut r, &paths).steps(), (0..keep + 10).collect::<Vec<_>>());
        }
    }
}
