//! The `/spectra` group (SPEC §11; issue 13; docs/output.md "/spectra", docs/cosmology.md §4): one row per
//! spectra output (every `output.spectra_every` steps), stored like the timeseries — append-only segment files
//! `<file>.d/spectra_<run id>_<b>.h5` of [`BLOCK_ROWS`] rows behind virtual datasets ([`super::rows`]) — so a
//! flush costs O(new rows) and a killed run loses at most the rows since its last flush. Per row: `t`, `step`, `a`,
//! `hubble` (1-D) and one (rows × shells) dataset per spectrum; beside them, written with every main file, the
//! shell grid (`k`, `count`, `k_lower`, `k_upper`) and the conventions as attributes.
use super::h5util::{read_str_attr, write_scalar_attr, write_str_attr};
use super::rows::{RowStore, Table};
use crate::spectra::{Kind, SPECTRA};
use anyhow::{Context, Result};

/// Rows per spectra segment file: a 128³ run has about 112 shells and 8 spectra, 7 KiB per row, so a block (the
/// most a flush rewrites) is under 2 MiB.
pub const BLOCK_ROWS: usize = 256;

/// The spectra rows' table.
pub const TABLE: Table = Table { prefix: "spectra", block_rows: BLOCK_ROWS, describe };

/// Value of the group attribute `fourier_convention`.
pub const FOURIER_CONVENTION: &str = "f_k = sum_x f(x) exp(-i k.x), k = 2 pi (j1/(N1 h), j2/(N2 h), j3/(N3 h)), centred integers j";
/// Value of the group attribute `binning`.
pub const BINNING: &str = "shell j holds the modes with |k| in [(j - 1/2) dk, (j + 1/2) dk), dk = 2 pi/(max_a N_a h); k = mean |k| of the shell's modes, count = its modes (k and -k separately)";

/// The `description` attribute of a spectra column.
pub fn describe(name: &str) -> &'static str {
    match name {
        "t" => "coordinate time t = step * dt of the row",
        "step" => "time step number of the row",
        "a" => "scale factor a = <sqrt(g)>^(1/3) at the row (physical wavenumber k/a)",
        "hubble" => "Hubble rate H = <K>/3 at the row",
        _ => SPECTRA.iter().find(|s| s.name == name).map_or("see docs/cosmology.md", |s| s.description),
    }
}

/// The normalisation attribute of a spectrum.
pub fn normalisation(kind: Kind) -> &'static str {
    match kind {
        Kind::ShellSum => "shell sum: S_j = (1/n^2) sum_{k in shell j} <|f_k|^2>; sum_j S_j = box mean of <df^2>",
        Kind::ShellMean => "shell mean: (1/count_j) sum_{k in shell j} of the per-mode value",
    }
}

/// The shell grid of a run (fixed): what the main file writes beside the spectra.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectraGrid {
    pub dk: f64,
    pub k_mean: Vec<f64>,
    pub count: Vec<u64>,
}

impl SpectraGrid {
    pub fn of(shells: &crate::spectra::shells::Shells) -> Self {
        Self { dk: shells.dk, k_mean: shells.k_mean.clone(), count: shells.count.clone() }
    }
}

/// Writes the `/spectra` group of a main file: the rows' virtual datasets (each spectrum with its `normalisation`),
/// the shell grid and the conventions.
pub fn write_group(file: &hdf5::File, store: &RowStore, grid: &SpectraGrid) -> Result<()> {
    let g = file.create_group("spectra").context("creating group /spectra")?;
    store.write_datasets(&g)?;
    for s in SPECTRA {
        if let Ok(ds) = g.dataset(s.name) {
            write_str_attr(&ds, "normalisation", normalisation(s.kind))?;
        }
    }
    let j: Vec<f64> = (0..grid.k_mean.len()).map(|j| j as f64).collect();
    let lower: Vec<f64> = j.iter().map(|j| ((j - 0.5) * grid.dk).max(0.0)).collect();
    let upper: Vec<f64> = j.iter().map(|j| (j + 0.5) * grid.dk).collect();
    for (name, data, what) in [
        ("k", &grid.k_mean, "mean |k| of the shell's modes (coordinate wavenumber; physical k/a)"),
        ("k_lower", &lower, "lower shell edge (j - 1/2) dk (0 for shell 0)"),
        ("k_upper", &upper, "upper shell edge (j + 1/2) dk"),
    ] {
        let ds = g.new_dataset_builder().with_data(data.as_slice()).create(name).with_context(|| format!("writing /spectra/{name}"))?;
        write_str_attr(&ds, "description", what)?;
    }
    let ds = g.new_dataset_builder().with_data(grid.count.as_slice()).create("count").context("writing /spectra/count")?;
    write_str_attr(&ds, "description", "number of lattice modes in the shell")?;
    write_scalar_attr(&g, "dk", grid.dk)?;
    write_str_attr(&g, "fourier_convention", FOURIER_CONVENTION)?;
    write_str_attr(&g, "binning", BINNING)?;
    write_str_attr(&g, "derived", "Delta^2(k_j) ~ S_j k_j/dk (dimensionless power per ln k), P(k_j) = 2 pi^2 Delta^2/k_j^3 (continuum power, <f^2> = int d^3k/(2pi)^3 P); dOmega_GW/dln k ~ omega_gw_j k_j/dk (docs/cosmology.md)")?;
    Ok(())
}

/// The spectra of an output file as read back (tests, `cqgrav plot`, the realisations' summary).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpectraSeries {
    pub t: Vec<f64>,
    pub step: Vec<f64>,
    pub a: Vec<f64>,
    pub hubble: Vec<f64>,
    pub k: Vec<f64>,
    pub count: Vec<u64>,
    pub dk: f64,
    /// (name, rows[row][shell]) in the order of [`SPECTRA`]
    pub spectra: Vec<(String, Vec<Vec<f64>>)>,
}

impl SpectraSeries {
    /// The rows of the spectrum `name`.
    pub fn get(&self, name: &str) -> Option<&[Vec<f64>]> {
        self.spectra.iter().find(|s| s.0 == name).map(|s| s.1.as_slice())
    }

    /// The `/spectra` group of an open output file, or None when it has none.
    pub fn read(file: &hdf5::File) -> Result<Option<Self>> {
        if !file.link_exists("spectra") {
            return Ok(None);
        }
        let g = file.group("spectra").context("/spectra must be a group")?;
        let col = |name: &str| -> Result<Vec<f64>> { g.dataset(name).and_then(|d| d.read_raw::<f64>()).with_context(|| format!("reading /spectra/{name}")) };
        let mut s = Self {
            t: col("t")?,
            step: col("step")?,
            a: col("a")?,
            hubble: col("hubble")?,
            k: col("k")?,
            count: g.dataset("count").and_then(|d| d.read_raw::<u64>()).context("reading /spectra/count")?,
            dk: super::h5util::read_scalar_attr(&g, "dk")?,
            spectra: Vec::new(),
        };
        let shells = s.k.len();
        for info in SPECTRA {
            let Ok(ds) = g.dataset(info.name) else { continue };
            let shape = ds.shape();
            anyhow::ensure!(shape.len() == 2 && shape[1] == shells && shape[0] == s.t.len(), "/spectra/{} has shape {shape:?}, expected ({}, {shells})", info.name, s.t.len());
            let v = ds.read_raw::<f64>().with_context(|| format!("reading /spectra/{}", info.name))?;
            s.spectra.push((info.name.to_string(), v.chunks(shells).map(|c| c.to_vec()).collect()));
        }
        let _ = read_str_attr(&g, "binning")?;
        Ok(Some(s))
    }
}

