"""A cqgrav run's files as xarray objects (docs/output.md of the cqgrav repository).

A run with ``output.file = "run.h5"`` is the main file ``run.h5`` (provenance attributes, ``/timeseries`` as
virtual datasets, ``/snapshots/NNNNNN`` and ``/checkpoint`` as external links) and the directory ``run.h5.d/``
with one file per snapshot and the checkpoint. Every file carries netCDF dimension scales, so xarray opens each
natively; the functions here open the snapshot and checkpoint *files* rather than the main file's links, which
works with either netCDF engine (h5netcdf resolves dimension scales in the file it opened, so it cannot follow
them through an external link; netCDF4 can).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import h5py
import numpy as np
import xarray as xr

__all__ = [
    "Snapshot",
    "engine",
    "list_snapshots",
    "open_checkpoint",
    "open_fields",
    "open_run",
    "open_snapshot",
    "open_timeseries",
]


class Snapshot(NamedTuple):
    """One snapshot of a run: its group name under /snapshots, step, time and file."""

    name: str
    step: int
    t: float
    file: str


def engine(preferred: str | None = None) -> str:
    """The xarray engine to use: ``preferred``, else h5netcdf when installed, else netcdf4."""
    if preferred is not None:
        return preferred
    for name, module in (("h5netcdf", "h5netcdf"), ("netcdf4", "netCDF4")):
        try:
            __import__(module)
            return name
        except ImportError:
            pass
    raise ImportError("xarray needs a netCDF engine to read cqgrav files: pip install h5netcdf (or netCDF4)")


def _main_file(path: str | os.PathLike) -> str:
    """The main output file of ``path`` (the main file itself, or a file in its ``.d`` directory)."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.basename(parent).endswith(".d") and not os.path.isdir(path):
        candidate = parent[: -len(".d")]
        if os.path.isfile(candidate):
            return candidate
    return path


def list_snapshots(path: str | os.PathLike) -> list[Snapshot]:
    """The snapshots of the run ``path`` in step order, as the main file lists them."""
    main = _main_file(path)
    out = []
    with h5py.File(main, "r") as f:
        if f.attrs.get("format") != "cqgrav-output":
            raise ValueError(f"{main} is not a cqgrav output file (root attribute format = {f.attrs.get('format')!r})")
        group = f.get("snapshots", {})
        for name in sorted(group):
            link = group.get(name, getlink=True)
            target = os.path.join(os.path.dirname(os.path.abspath(main)), link.filename)
            s = group[name]
            out.append(Snapshot(name, int(s.attrs["step"]), float(s.attrs["t"]), target))
    return out


def _pick(path, step: int | None, index: int) -> Snapshot:
    snaps = list_snapshots(path)
    if not snaps:
        raise ValueError(f"{path} has no snapshots (output.snapshot_every = 0?)")
    if step is None:
        return snaps[index]
    for s in snaps:
        if s.step == step:
            return s
    raise KeyError(f"{path} has no snapshot at step {step} (snapshots at steps {[s.step for s in snaps]})")


def open_timeseries(path: str | os.PathLike, engine_name: str | None = None) -> xr.Dataset:
    """The diagnostics (``/timeseries``) as a Dataset indexed by t."""
    return xr.open_dataset(_main_file(path), group="timeseries", engine=engine(engine_name))


def open_snapshot(path: str | os.PathLike, step: int | None = None, index: int = -1, engine_name: str | None = None) -> xr.Dataset:
    """One snapshot (by ``step``, else by position ``index``: the last by default) as a Dataset: g, pi
    (ab, z, y, x), lapse, phi, pi_phi, phi2, ham (z, y, x), mom (a, z, y, x), coordinates x, y, z in code units
    and the component labels; its time as the scalar coordinate ``t``, its step as ``step``. ``path`` may also
    be a snapshot file itself."""
    path = os.fspath(path)
    with h5py.File(path, "r") as f:
        is_snapshot = f.attrs.get("format") == "cqgrav-snapshot" or ("g" in f and "step" in f.attrs)
    file = path if is_snapshot else _pick(path, step, index).file
    ds = xr.open_dataset(file, engine=engine(engine_name))
    return ds.assign_coords(t=float(ds.attrs["t"]), step=int(ds.attrs["step"]))


def open_fields(path: str | os.PathLike, names: list[str] | None = None, engine_name: str | None = None) -> xr.Dataset:
    """Every snapshot of the run along a new dimension t (the fields ``names``, default all), loaded into
    memory: ``open_fields("run.h5").phi2.mean(("z", "y", "x"))`` is ⟨δφ²⟩(t) at the snapshot times."""
    snaps = list_snapshots(path)
    if not snaps:
        raise ValueError(f"{path} has no snapshots")
    parts = []
    for s in snaps:
        with open_snapshot(s.file, engine_name=engine_name) as ds:
            if names is not None:
                ds = ds[names]
            parts.append(ds.load())
    return xr.concat(parts, dim="t", combine_attrs="drop_conflicts")


def open_checkpoint(path: str | os.PathLike, engine_name: str | None = None) -> xr.Dataset:
    """The checkpoint: data (var, z, y, x) — the state as the stepper holds it (δg, π, N, φ̄, π̄_φ) —,
    background (ab), the snapshot list; its attributes (step, t, config, …)."""
    main = _main_file(path)
    file = os.path.join(main + ".d", "checkpoint.h5")
    if not os.path.exists(file):
        raise FileNotFoundError(f"{main} has no checkpoint ({file})")
    return xr.open_dataset(file, engine=engine(engine_name))


def open_run(path: str | os.PathLike, engine_name: str | None = None) -> xr.DataTree:
    """The whole run as a DataTree: the root holds the provenance attributes, ``/timeseries`` the diagnostics
    indexed by t, ``/snapshots/NNNNNN`` each snapshot (lazily loaded), ``/checkpoint`` the restart state."""
    main = _main_file(path)
    eng = engine(engine_name)
    with h5py.File(main, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    tree = {"/": xr.Dataset(attrs=attrs), "/timeseries": open_timeseries(main, eng)}
    for s in list_snapshots(main):
        tree[f"/snapshots/{s.name}"] = open_snapshot(s.file, engine_name=eng)
    if os.path.exists(os.path.join(main + ".d", "checkpoint.h5")):
        tree["/checkpoint"] = open_checkpoint(main, eng)
    return xr.DataTree.from_dict(tree)


def lattice(path: str | os.PathLike) -> tuple[tuple[int, int, int], float]:
    """(N1, N2, N3) and the spacing h of the run (or snapshot file) ``path``."""
    with h5py.File(os.fspath(path), "r") as f:
        return tuple(int(n) for n in np.asarray(f.attrs["lattice_shape"])), float(f.attrs["spacing"])
