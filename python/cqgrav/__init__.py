"""Open cqgrav runs in xarray and yt in one line (docs/output.md of the cqgrav repository).

>>> import cqgrav
>>> run = cqgrav.open_run("run.h5")          # xarray.DataTree of the whole run
>>> ts = cqgrav.open_timeseries("run.h5")    # diagnostics indexed by t
>>> snap = cqgrav.open_snapshot("run.h5")    # the last snapshot, fields on (z, y, x) with coordinates
>>> ds = cqgrav.load_yt("run.h5")            # the last snapshot as a yt dataset

Units: ħ = c = 16πG = 1 (lengths and times in √(16π) Planck lengths).
"""
from .output import (
    Snapshot,
    engine,
    lattice,
    list_snapshots,
    open_checkpoint,
    open_fields,
    open_run,
    open_snapshot,
    open_timeseries,
)
from .ytdata import load_yt, snapshot_fields

__version__ = "0.1.0"

__all__ = [
    "Snapshot",
    "engine",
    "lattice",
    "list_snapshots",
    "load_yt",
    "open_checkpoint",
    "open_fields",
    "open_run",
    "open_snapshot",
    "open_timeseries",
    "snapshot_fields",
]
