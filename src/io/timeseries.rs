//! The `/timeseries` group (SPEC §6, §7, §10): one 1-D float64 column per diagnostic, all the same length, as
//! read back into memory (`inspect`, `plot`, ensembles). A run writes its rows through [`super::rows`].
use super::h5util::{read_str_attr, write_str_attr};
use anyhow::{Context, Result};
use hdf5::Group;

/// Chunk length (rows) of a timeseries written whole by [`Timeseries::write_described`] (another model's output).
const CHUNK_ROWS: usize = 4096;

/// Columns in the order of [`crate::diagnostics::Diagnostics::columns`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeseries {
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl Timeseries {
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names.iter().position(|n| n == name).map(|i| self.columns[i].as_slice())
    }
    /// The `step` column as integers (empty when absent).
    pub fn steps(&self) -> Vec<u64> {
        self.column("step").map(|c| c.iter().map(|&s| s as u64).collect()).unwrap_or_default()
    }
    /// Appends one row. A name not seen before becomes a new column (NaN in the earlier rows); a column
    /// missing from `row` gets NaN, so all columns keep the same length.
    pub fn push(&mut self, row: &[(&str, f64)]) {
        let len = self.len();
        for (name, _) in row {
            if !self.names.iter().any(|n| n == name) {
                self.names.push((*name).to_owned());
                self.columns.push(vec![f64::NAN; len]);
            }
        }
        for (name, col) in self.names.iter().zip(self.columns.iter_mut()) {
            col.push(row.iter().find(|(n, _)| n == name).map_or(f64::NAN, |(_, v)| *v));
        }
    }
    /// Writes the group `name` of `parent`: one extendible (maxshape unlimited), chunked float64 dataset per
    /// column, each with a `description` attribute.
    pub fn write(&self, parent: &Group, name: &str) -> Result<()> {
        self.write_described(parent, name, describe)
    }

    /// [`Timeseries::write`] with the `description` attributes of `describe` (another model's columns).
    pub fn write_described(&self, parent: &Group, name: &str, describe: impl Fn(&str) -> &'static str) -> Result<()> {
        let g = parent.create_group(name).with_context(|| format!("creating group /{name}"))?;
        let len = self.len();
        let mut columns = Vec::with_capacity(self.names.len());
        for (n, col) in self.names.iter().zip(&self.columns) {
            let ds = g
                .new_dataset::<f64>()
                .shape((len..,))
                .chunk(len.clamp(16, CHUNK_ROWS))
                .create(n.as_str())
                .with_context(|| format!("creating dataset /{name}/{n}"))?;
            ds.write_raw(col).with_context(|| format!("writing dataset /{name}/{n} ({len} rows)"))?;
            write_str_attr(&ds, "description", describe(n))?;
            columns.push((n.as_str(), ds));
        }
        super::dims::index_columns(&g, &columns, "t", super::dims::UNIT_TIME)
    }

    /// Reads a `/timeseries` group (virtual datasets of a run, or ordinary ones): the columns of
    /// `Diagnostics::columns` in their order, then any others sorted by name.
    pub fn read(group: &Group) -> Result<Self> {
        let names = ordered_names(group.member_names().with_context(|| format!("listing {}", group.name()))?);
        let mut ts = Timeseries::default();
        for n in names {
            let ds = group.dataset(&n).with_context(|| format!("opening {}/{n}", group.name()))?;
            if ds.ndim() != 1 || ds.size() > MAX_ROWS {
                anyhow::bail!("{}: shape {:?} is not a timeseries column (1-D, at most {MAX_ROWS} rows)", ds.name(), ds.shape());
            }
            let col = ds.read_raw::<f64>().with_context(|| format!("reading {}", ds.name()))?;
            ts.names.push(n);
            ts.columns.push(col);
        }
        let len = ts.len();
        if let Some(i) = ts.columns.iter().position(|c| c.len() != len) {
            anyhow::bail!("{}: column {} has {} rows, {} has {len}", group.name(), ts.names[i], ts.columns[i].len(), ts.names[0]);
        }
        Ok(ts)
    }

    /// The description attribute of a column, as stored.
    pub fn read_description(group: &Group, name: &str) -> Result<String> {
        let ds = group.dataset(name)?;
        read_str_attr(&ds, "description")
    }
}

/// Most rows a timeseries column read back may have (a damaged or foreign file is refused rather than read
/// without bound): 2^32, four thousand times a 10⁶-step run with a row per step.
pub const MAX_ROWS: usize = 1 << 32;

/// `names` in the order of `Diagnostics::columns`, then any others sorted by name.
pub fn ordered_names(mut names: Vec<String>) -> Vec<String> {
    let known: Vec<&str> = crate::diagnostics::Diagnostics::default().columns().iter().map(|c| c.0).collect();
    names.sort_by_key(|n| (known.iter().position(|k| k == n).unwrap_or(usize::MAX), n.clone()));
    names
}

/// The timeseries names SPEC §10 promises (the file may hold more: every column of `Diagnostics::columns`).
pub const SPEC_NAMES: [&str; 17] = [
    "t", "step", "a", "hubble", "ham_l2", "ham_linf", "ham_rel", "mom_l2", "mom_linf", "mom_rel", "e_kin_grav",
    "e_pot_grav", "e_matter", "phi_mean", "phi2_mean", "state_min_symplectic", "wall_per_step",
];

/// What each column holds (docs/output.md has the same table). Units ħ = c = 16πG = 1.
pub fn describe(name: &str) -> &'static str {
    match name {
        "t" => "coordinate time t = step * dt",
        "step" => "time step number (integer stored as float64, exact below 2^53)",
        "a" => "scale factor a = <sqrt(g)>^(1/3) (box mean)",
        "hubble" => "Hubble rate H = <K>/3 (box mean; K > 0 is expansion)",
        "ham_l2" => "Hamiltonian constraint, root mean square over the lattice",
        "ham_linf" => "Hamiltonian constraint, max |H| over the lattice",
        "ham_rel" => "Hamiltonian constraint L2 norm / L2 norm of the sum of |terms|",
        "mom_l2" => "momentum constraint, root mean square over sites of |H_a| (Euclidean norm of the 3-vector)",
        "mom_linf" => "momentum constraint, max over sites of |H_a|",
        "mom_rel" => "momentum constraint L2 norm / L2 norm of the sum of |terms|",
        "e_kin_grav" => "gravitational kinetic energy sum dV N G_abcd pi^ab pi^cd",
        "e_pot_grav" => "gravitational potential energy -sum dV N sqrt(g) R",
        "e_matter" => "matter energy sum dV N <H_m>",
        "phi_mean" => "box mean of the scalar mean field phi",
        "phi2_mean" => "box mean of <delta phi^2> (0 without a quantum state)",
        "state_min_symplectic" => "smallest symplectic eigenvalue of Gamma relative to 1/2 (NaN: no quantum state; ensemble: the smallest local proxy 2 dV sqrt(det) of the sites' (phi, pi) covariances, docs/quantum.md E6)",
        "backreaction_error" => "statistical error (one sd) of the box-mean back-reaction trace g_ab <L^ab>_ren (ensemble's sampling; 0 for the exact representations)",
        "wall_per_step" => "wall-clock seconds per step over the last output interval (0 for the first row of a run or restart)",
        "quantum_substeps" => "sub-steps of the last step's quantum update (dense: pieces of the sub-stepping controller, 1 = none; fourier, ensemble: noise-flow sub-steps; 0: no conditioning)",
        "noise_mean" => "box mean of g_ab dW^ab over the last step's CQ noise increments (expected 0)",
        "noise_var" => "box mean of g_ac g_bd dW^ab dW^cd of the last step's increments",
        "noise_var_expected" => "expected value of noise_var: D2 dt K(0) (6 - 3 beta) <N sqrt(g)> (tensor), 3 D2 dt K(0) <N sqrt(g)> (trace-only)",
        "noise_trace_var" => "box mean of (g_ab dW^ab)^2 of the last step's increments",
        "noise_trace_var_expected" => "expected value of noise_trace_var: 3 (1 - 3 beta) D2 dt K(0) <N sqrt(g)> (tensor), 9 D2 dt K(0) <N sqrt(g)> (trace-only)",
        _ => "see docs/output.md",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_fills_missing_columns_with_nan() {
        let mut ts = Timeseries::default();
        ts.push(&[("t", 0.0), ("step", 0.0)]);
        ts.push(&[("t", 0.5), ("step", 1.0), ("a", 2.0)]);
        assert_eq!(ts.len(), 2);
        assert!(ts.column("a").unwrap()[0].is_nan());
        assert_eq!(ts.steps(), vec![0, 1]);
    }

    #[test]
    fn spec_columns_are_described() {
        for n in SPEC_NAMES {
            assert_ne!(describe(n), "see docs/output.md", "no description for timeseries column {n}");
        }
    }
}
