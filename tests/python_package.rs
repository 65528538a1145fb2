//! Issue 16 criterion 3: the Python package `python/cqgrav` (open a run as an xarray DataTree, list snapshots,
//! a yt dataset of a snapshot) passes its own tests, `python/tests/test_cqgrav.py`, on runs made by this build
//! of cqgrav: every object is compared with h5py's reading of the files, the yt slices site by site.
//!
//! Python: $CQGRAV_PYTHON, else .venv, else python3, with pytest, xarray, h5netcdf, netCDF4, yt
//! (scripts/bootstrap.sh installs them and the package). The package is imported from the repository
//! (PYTHONPATH=python), so the tests see this checkout's code even where another copy is installed.
mod common;
use std::path::Path;

#[test]
fn python_package_tests_pass() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = common::python_with("pytest, xarray, h5netcdf, netCDF4, yt, h5py");
    let out = std::process::Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "python/tests"])
        .current_dir(repo)
        .env("CQGRAV_BIN", env!("CARGO_BIN_EXE_cqgrav"))
        .env("PYTHONPATH", repo.join("python"))
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed") && !text.contains("skipped"), "{text}");
}
