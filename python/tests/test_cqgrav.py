"""Tests of the cqgrav Python package (issue 16 criterion 3): every object it returns is compared with the
file's content read independently with h5py (exact equality), on real runs made by the cqgrav binary
($CQGRAV_BIN, set by tests/python_package.rs; else target/debug/cqgrav of the repository).

    CQGRAV_BIN=target/debug/cqgrav python -m pytest python/tests
"""
import os
import subprocess

import h5py
import numpy as np
import pytest
import xarray as xr

import cqgrav

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TENSOR = ["xx", "xy", "xz", "yy", "yz", "zz"]

# a non-cubic 3-D lattice (an axis-order mistake shows as a wrong shape), classical field with CQ noise so every
# tensor component differs between sites; and the dense quantum field on a 2-D lattice (phi2 > 0)
CLASSICAL = """
[lattice]
shape = [9, 8, 7]
spacing = 0.125
[time]
courant = 0.25
steps = 6
[initial]
kind = "frw"
phi = 1.0
[cq]
diffusion = 1e-4
[output]
file = "run.h5"
snapshot_every = 3
[run]
backend = "cpu"
seed = 5
"""
DENSE = """
[lattice]
shape = [7, 7, 1]
spacing = 2.0
[time]
dt = 0.05
steps = 8
[initial]
kind = "frw"
phi = 0.5
[matter]
representation = "dense"
[cq]
diffusion = 1.0
[output]
file = "run.h5"
timeseries_every = 2
snapshot_every = 4
[run]
backend = "cpu"
seed = 3
"""


def binary():
    b = os.environ.get("CQGRAV_BIN") or os.path.join(REPO, "target", "debug", "cqgrav")
    if not os.path.exists(b):
        pytest.skip(f"no cqgrav binary at {b}: build it (cargo build) or set CQGRAV_BIN")
    return b


def make_run(tmp_path_factory, name, config):
    d = tmp_path_factory.mktemp(name)
    (d / "c.toml").write_text(config)
    r = subprocess.run([binary(), "run", "c.toml", "--quiet"], cwd=d, capture_output=True, text=True,
                       env={**os.environ, "NODEVICE_SELECT": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    return str(d / "run.h5")


@pytest.fixture(scope="module", params=["classical", "dense"])
def run(request, tmp_path_factory):
    return make_run(tmp_path_factory, request.param, CLASSICAL if request.param == "classical" else DENSE)


@pytest.fixture(scope="module", params=["h5netcdf", "netcdf4"])
def eng(request):
    return request.param


def h5_snapshots(path):
    with h5py.File(path, "r") as f:
        return [(name, int(f["snapshots"][name].attrs["step"]), float(f["snapshots"][name].attrs["t"])) for name in sorted(f["snapshots"])]


def test_timeseries_is_indexed_by_t(run, eng):
    ts = cqgrav.open_timeseries(run, eng)
    with h5py.File(run, "r") as f:
        g = f["timeseries"]
        assert list(ts.indexes) == ["t"]
        np.testing.assert_array_equal(ts.t.values, g["t"][()])
        names = set(g) - {"t"}
        assert set(ts.data_vars) == names
        for n in names:
            assert ts[n].dims == ("t",)
            np.testing.assert_array_equal(ts[n].values, g[n][()])
    assert ts.t.attrs["units"].startswith("sqrt(16 pi)")
    # selection by time works without any user code
    last = float(ts.t[-1])
    assert float(ts.sel(t=last).step) == float(ts.step[-1])


def test_snapshots_are_listed(run):
    snaps = cqgrav.list_snapshots(run)
    assert [(s.name, s.step, s.t) for s in snaps] == h5_snapshots(run)
    assert all(os.path.exists(s.file) for s in snaps) and len(snaps) >= 2


def test_snapshot_fields_carry_coordinates(run, eng):
    (n1, n2, n3), h = cqgrav.lattice(run)
    for name, step, t in h5_snapshots(run):
        ds = cqgrav.open_snapshot(run, step=step, engine_name=eng)
        assert ds.g.dims == ("ab", "z", "y", "x") and ds.mom.dims == ("a", "z", "y", "x") and ds.lapse.dims == ("z", "y", "x")
        assert list(ds.ab.values) == TENSOR and list(ds.a.values) == ["x", "y", "z"]
        np.testing.assert_array_equal(ds.x.values, h * np.arange(n1))
        np.testing.assert_array_equal(ds.y.values, h * np.arange(n2))
        np.testing.assert_array_equal(ds.z.values, h * np.arange(n3))
        assert float(ds.t) == t and int(ds.step) == step
        with h5py.File(run, "r") as f:
            s = f["snapshots"][name]
            for k in ["g", "pi", "lapse", "phi", "pi_phi", "phi2", "ham", "mom"]:
                np.testing.assert_array_equal(ds[k].values, s[k][()])
        # a component by label
        with h5py.File(run, "r") as f:
            np.testing.assert_array_equal(ds.g.sel(ab="yz").values, f["snapshots"][name]["g"][4])
    # the last one by default, and a snapshot file given directly
    last = cqgrav.list_snapshots(run)[-1]
    assert int(cqgrav.open_snapshot(run, engine_name=eng).step) == last.step
    assert int(cqgrav.open_snapshot(last.file, engine_name=eng).step) == last.step


def test_open_run_is_a_datatree(run):
    tree = cqgrav.open_run(run)
    assert isinstance(tree, xr.DataTree)
    assert tree.attrs["format"] == "cqgrav-output"
    assert set(tree.children) == {"timeseries", "snapshots", "checkpoint"}
    snaps = h5_snapshots(run)
    assert sorted(tree["snapshots"].children) == [s[0] for s in snaps]
    with h5py.File(run, "r") as f:
        for name, _, _ in snaps:
            np.testing.assert_array_equal(tree[f"snapshots/{name}"].ds.phi2.values, f["snapshots"][name]["phi2"][()])
        np.testing.assert_array_equal(tree["timeseries"].ds.a.values, f["timeseries/a"][()])
        assert tree["checkpoint"].attrs["step"] == f["checkpoint"].attrs["step"]


def test_fields_along_t(run):
    fields = cqgrav.open_fields(run, ["phi", "phi2", "g"])
    snaps = h5_snapshots(run)
    np.testing.assert_array_equal(fields.t.values, [s[2] for s in snaps])
    assert fields.g.dims == ("t", "ab", "z", "y", "x")
    with h5py.File(run, "r") as f:
        for k, (name, _, _) in enumerate(snaps):
            np.testing.assert_array_equal(fields.phi2.isel(t=k).values, f["snapshots"][name]["phi2"][()])


def test_checkpoint(run, eng):
    ck = cqgrav.open_checkpoint(run, eng)
    with h5py.File(run, "r") as f:
        c = f["checkpoint"]
        assert ck.data.dims == ("var", "z", "y", "x")
        assert list(ck["var"].values) == c.attrs["variables"].split(",")
        np.testing.assert_array_equal(ck.data.values, c["data"][()])
        np.testing.assert_array_equal(ck.snapshot_times.values, c["snapshot_times"][()])
        assert ck.attrs["step"] == c.attrs["step"]


def test_yt_slice_of_a_snapshot(run):
    yt = pytest.importorskip("yt")
    yt.set_log_level(40)
    (n1, n2, n3), h = cqgrav.lattice(run)
    name, step, t = h5_snapshots(run)[-1]
    ds = cqgrav.load_yt(run, step=step)
    assert tuple(ds.domain_dimensions) == (n1, n2, n3)
    assert float(ds.current_time) == t
    with h5py.File(run, "r") as f:
        s = f["snapshots"][name]
        phi, gxy = s["phi"][()], s["g"][1]
    # a slice through each plane z = k·h holds exactly the sites of that plane
    for k in range(n3):
        slc = ds.slice("z", k * h)
        x = np.asarray(slc["index", "x"])
        y = np.asarray(slc["index", "y"])
        i, j = np.rint(x / h).astype(int), np.rint(y / h).astype(int)
        assert len(x) == n1 * n2 and np.allclose(x, i * h) and np.allclose(y, j * h)
        np.testing.assert_array_equal(np.asarray(slc["stream", "phi"]), phi[k][j, i])
        np.testing.assert_array_equal(np.asarray(slc["stream", "g_xy"]), gxy[k][j, i])
    # the same from the snapshot file itself
    ds2 = cqgrav.load_yt(cqgrav.list_snapshots(run)[-1].file)
    assert float(ds2.current_time) == t


def test_refuses_other_files(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.attrs["format"] = "something else"
    with pytest.raises(ValueError, match="not a cqgrav output"):
        cqgrav.list_snapshots(p)
