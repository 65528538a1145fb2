#!/usr/bin/env python3
"""Opens a cqgrav output with xarray alone — no cqgrav code, no user code — through both netCDF engines,
h5netcdf and netCDF4, and compares every variable with the file read by h5py (exact). Run by
tests/xarray_engines.rs (issue 16 criterion 2).

    check_xarray.py RUN.h5

Checks, for each engine: the timeseries group of the main file is a Dataset indexed by t (a coordinate equal to
the column t, every other column on dimension t); every snapshot file and the checkpoint file open as
Datasets whose fields carry (ab | a, z, y, x) with the coordinates x = i·h … and the component labels; for
netCDF4 also the main file's groups through its external links (snapshots/NNNNNN, checkpoint) and
xr.open_datatree of the whole main file. Exit status 1 with every problem listed.
"""
import os
import sys
import warnings

import h5py
import numpy as np
import xarray as xr

TENSOR = ["xx", "xy", "xz", "yy", "yz", "zz"]
SNAP_DIMS = {"g": ("ab", "z", "y", "x"), "pi": ("ab", "z", "y", "x"), "mom": ("a", "z", "y", "x"),
             "lapse": ("z", "y", "x"), "phi": ("z", "y", "x"), "pi_phi": ("z", "y", "x"), "phi2": ("z", "y", "x"),
             "ham": ("z", "y", "x")}
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def check_timeseries(ds, f, where):
    g = f["timeseries"]
    if not check(list(ds.indexes) == ["t"], f"{where}: indexes {list(ds.indexes)}, expected ['t']"):
        return
    check(np.array_equal(ds.t.values, g["t"][()]), f"{where}: coordinate t != /timeseries/t")
    check(set(ds.data_vars) == set(g) - {"t"}, f"{where}: variables {sorted(ds.data_vars)}")
    for n in ds.data_vars:
        check(ds[n].dims == ("t",), f"{where}: {n} has dims {ds[n].dims}")
        check(np.array_equal(ds[n].values, g[n][()], equal_nan=True), f"{where}: {n} != h5py")


def check_fields(ds, h5, shape, h, where, names=SNAP_DIMS):
    n1, n2, n3 = shape
    for c, n in [("x", n1), ("y", n2), ("z", n3)]:
        if check(c in ds.coords, f"{where}: no coordinate {c}"):
            check(np.array_equal(ds[c].values, h * np.arange(n)), f"{where}: coordinate {c} = {ds[c].values}")
    for name, dims in names.items():
        if not check(name in ds, f"{where}: no variable {name}"):
            continue
        check(ds[name].dims == dims, f"{where}: {name} dims {ds[name].dims}, expected {dims}")
        check(np.array_equal(ds[name].values, h5[name][()]), f"{where}: {name} != h5py")
    if "ab" in ds.coords:
        check(list(ds.ab.values) == TENSOR, f"{where}: ab labels {list(ds.ab.values)}")


def check_checkpoint(ds, c, shape, h, where):
    check(ds.data.dims == ("var", "z", "y", "x"), f"{where}: data dims {ds.data.dims}")
    check(list(ds["var"].values) == c.attrs["variables"].split(","), f"{where}: var labels")
    check(np.array_equal(ds.data.values, c["data"][()]), f"{where}: data != h5py")
    check(ds.background.dims == ("ab",), f"{where}: background dims {ds.background.dims}")
    check(np.array_equal(ds.snapshot_times.values, c["snapshot_times"][()]), f"{where}: snapshot_times != h5py")
    check(int(ds.attrs["step"]) == int(c.attrs["step"]), f"{where}: attribute step")
    n1, n2, n3 = shape
    check(np.array_equal(ds.x.values, h * np.arange(n1)), f"{where}: coordinate x")


def main():
    run = sys.argv[1]
    base = os.path.dirname(os.path.abspath(run))
    warnings.simplefilter("ignore")
    with h5py.File(run, "r") as f:
        shape = tuple(int(n) for n in f.attrs["lattice_shape"])
        h = float(f.attrs["spacing"])
        names = sorted(f["snapshots"])
        for engine in ["h5netcdf", "netcdf4"]:
            where = f"{engine} {run} group=timeseries"
            with xr.open_dataset(run, group="timeseries", engine=engine) as ds:
                check_timeseries(ds, f, where)
            for name in names:
                file = os.path.join(base, f["snapshots"].get(name, getlink=True).filename)
                with xr.open_dataset(file, engine=engine) as ds:
                    check_fields(ds, f["snapshots"][name], shape, h, f"{engine} {file}")
                    check(ds.attrs.get("format") == "cqgrav-snapshot" and ds.attrs.get("run_id") == f.attrs["run_id"],
                          f"{engine} {file}: provenance attributes missing")
            ck = os.path.join(base, os.path.basename(run) + ".d/checkpoint.h5")
            with xr.open_dataset(ck, engine=engine) as ds:
                check_checkpoint(ds, f["checkpoint"], shape, h, f"{engine} {ck}")
        # netCDF-C follows the main file's external links: its groups open as they are
        for name in names:
            with xr.open_dataset(run, group=f"snapshots/{name}", engine="netcdf4") as ds:
                check_fields(ds, f["snapshots"][name], shape, h, f"netcdf4 {run} group=snapshots/{name}")
        with xr.open_dataset(run, group="checkpoint", engine="netcdf4") as ds:
            check_checkpoint(ds, f["checkpoint"], shape, h, f"netcdf4 {run} group=checkpoint")
        tree = xr.open_datatree(run, engine="netcdf4")
        check(set(tree.children) == {"timeseries", "snapshots", "checkpoint"}, f"open_datatree: children {set(tree.children)}")
        check_timeseries(tree["timeseries"].to_dataset(), f, "netcdf4 open_datatree /timeseries")
        for name in names:
            check_fields(tree[f"snapshots/{name}"].to_dataset(), f["snapshots"][name], shape, h, f"netcdf4 open_datatree /snapshots/{name}")
        tree.close()
    if problems:
        print(f"FAILED: {run}: {len(problems)} problem(s)")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"ok: {run}: timeseries indexed by t, {len(names)} snapshots and the checkpoint with (z, y, x) and coordinates, "
          "through h5netcdf and netCDF4 (and the main file's groups and DataTree through netCDF4)")


if __name__ == "__main__":
    main()
