//! Issue 16 criterion 1: the XDMF sidecar opens in the readers users have — VTK's `vtkXdmfReader` (ParaView's
//! and VisIt's XDMF reader) and pyvista — for every lattice shape: one site, 1-D, 2-D and 3-D. Each run's
//! sidecar is read at every time by both (tests/python/check_xdmf.py, each reader in a child process so that a
//! crash — VTK segfaulted on the single-site sidecar before — is a failure, not a lost test), and every array is
//! compared with the snapshot files read by h5py: exactly, the tensors component by component.
//!
//! Python: $CQGRAV_PYTHON, else .venv, else python3, with vtk, pyvista, h5py, numpy (scripts/bootstrap.sh).
mod common;
use std::path::Path;

/// FRW with CQ noise (every metric component varies from site to site on a lattice with more than one site),
/// snapshots every 2 steps.
fn run(dir: &Path, shape: &str, precision: &str) {
    let config = format!(
        "[lattice]\nshape = {shape}\nspacing = 0.25\n[time]\ndt = 0.01\nsteps = 4\n[initial]\nkind = \"frw\"\nphi = 1.0\n\
         [cq]\ndiffusion = 1e-3\n[output]\nfile = \"run.h5\"\nsnapshot_every = 2\n[run]\nbackend = \"cpu\"\nprecision = \"{precision}\"\nseed = 9\n"
    );
    std::fs::write(dir.join("c.toml"), config).unwrap();
    let (ok, text) = common::cqgrav(dir, &["run", "c.toml", "--quiet"]);
    assert!(ok, "{shape}: {text}");
    assert!(dir.join("run.h5.xdmf").exists(), "{shape}: no run.h5.xdmf");
}

#[test]
fn vtk_and_pyvista_read_every_lattice_shape() {
    let python = common::python_with("vtk, pyvista, h5py, numpy");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_xdmf.py");
    for (shape, precision) in [("[1, 1, 1]", "f64"), ("[16, 1, 1]", "f64"), ("[16, 12, 1]", "f64"), ("[16, 12, 8]", "f64"), ("[16, 12, 8]", "f32")] {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), shape, precision);
        let out = std::process::Command::new(&python).arg(&script).arg("run.h5").current_dir(dir.path()).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{shape} {precision}: {text}");
        assert!(out.status.success(), "{shape} {precision}:\n{text}");
        assert!(text.contains("ok: "), "{text}");
    }
}

/// The check fails when it should: a sidecar whose `phi` attribute points at another dataset of the snapshot
/// (`pi_phi`) gives readers arrays that differ from the snapshot's `phi`, and the check names the array.
#[test]
fn the_check_notices_a_broken_sidecar() {
    let python = common::python_with("vtk, pyvista, h5py, numpy");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_xdmf.py");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, "[16, 12, 1]", "f64");
    let xdmf = d.join("run.h5.xdmf");
    let text = std::fs::read_to_string(&xdmf).unwrap();
    let broken = text.replace("snapshot_000002.h5:/phi<", "snapshot_000002.h5:/pi_phi<");
    assert_ne!(broken, text, "the sidecar has no phi item for snapshot 000002");
    std::fs::write(&xdmf, broken).unwrap();
    let out = std::process::Command::new(&python).arg(&script).arg("run.h5").current_dir(d).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success() && text.contains("array phi differs"), "{text}");
}
