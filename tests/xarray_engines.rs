//! Issue 16 criterion 2: xarray opens cqgrav's files natively — no cqgrav code, no user code — through both
//! netCDF engines (h5netcdf and netCDF4): `/timeseries` of the main file is indexed by t, every snapshot file
//! and the checkpoint carry named dimensions (ab | a | var, z, y, x) with the coordinates x = i·h …; through
//! netCDF4 also the main file's groups behind its external links and `xr.open_datatree` of the whole run. Every
//! variable is compared with the file read by h5py (tests/python/check_xarray.py).
//!
//! Python: $CQGRAV_PYTHON, else .venv, else python3, with xarray, h5netcdf, netCDF4, h5py (scripts/bootstrap.sh).
mod common;
use std::path::Path;

fn check(dir: &Path) -> (bool, String) {
    let python = common::python_with("xarray, h5netcdf, netCDF4, h5py");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_xarray.py");
    let out = std::process::Command::new(python).arg(script).arg("run.h5").current_dir(dir).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn xarray_opens_every_file_with_both_engines() {
    // a non-cubic classical run (axis order shows in the shapes) and a dense quantum run (its checkpoint has
    // the quantum group); both with CQ noise
    let classical = "[lattice]\nshape = [9, 8, 7]\nspacing = 0.125\n[time]\ncourant = 0.25\nsteps = 6\n[initial]\nkind = \"frw\"\nphi = 1.0\n\
                     [cq]\ndiffusion = 1e-4\n[output]\nfile = \"run.h5\"\nsnapshot_every = 3\n[run]\nbackend = \"cpu\"\nprecision = \"f32\"\n";
    for config in [classical, common::DENSE_RUN] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.toml"), config).unwrap();
        let (ok, text) = common::cqgrav(dir.path(), &["run", "c.toml", "--quiet"]);
        assert!(ok, "{text}");
        let (ok, text) = check(dir.path());
        println!("{text}");
        assert!(ok, "{text}");
    }
}

/// The check fails when it should: a snapshot field whose dimension scales were detached is reported.
#[test]
fn the_check_notices_missing_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), common::DENSE_RUN).unwrap();
    let (ok, text) = common::cqgrav(dir.path(), &["run", "c.toml", "--quiet"]);
    assert!(ok, "{text}");
    let snap = dir.path().join("run.h5.d/snapshot_000004.h5");
    {
        let f = hdf5::File::open_rw(&snap).unwrap();
        f.dataset("lapse").unwrap().delete_attr("DIMENSION_LIST").unwrap();
    }
    let (ok, text) = check(dir.path());
    assert!(!ok && text.contains("lapse"), "{text}");
}
