"""Bit-for-bit comparison of two cqgrav outputs (issue 18, tests/mpi.rs): every dataset of the main files
(timeseries through their virtual datasets, spectra) and of the snapshot and checkpoint files in <file>.d/, or of
two ensemble summaries. Values are compared as raw bytes (NaN = NaN when the bits agree); the wall-clock column
`wall_per_step` and the attributes (run id, backend description, thread counts) are not compared.

Values, not storage layouts: a domain-decomposed run (issue 18) writes its snapshots and checkpoint as virtual
datasets over per-rank part files (`*.part<p>of<P>.h5`), a single process as chunked or contiguous datasets;
both are read through h5py as a user reads them, and the part files themselves are not compared (each run has
its own). The part files must exist wherever the file lists them (attribute `part_files`).

usage: same_output.py A.h5 B.h5   — exits 1 naming the first difference, prints what was compared."""
import pathlib
import sys

import h5py
import numpy as np

SKIP = {"wall_per_step"}


def datasets(path):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.split("/")[-1] not in SKIP:
            out[name] = obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def is_part(name):
    return ".part" in name


def parts_present(path):
    with h5py.File(path, "r") as f:
        names = f.attrs.get("part_files", "")
    missing = [n for n in names.splitlines() if not (path.parent / n).is_file()]
    if missing:
        sys.exit(f"{path}: part files missing: {missing}")


def same(a, b, what):
    da, db = datasets(a), datasets(b)
    if sorted(da) != sorted(db):
        sys.exit(f"{what}: different datasets: {sorted(set(da) ^ set(db))}")
    for name in da:
        x, y = np.asarray(da[name]), np.asarray(db[name])
        if x.dtype == object or y.dtype == object:  # strings (labels of axes and components)
            if x.tolist() != y.tolist():
                sys.exit(f"{what}: /{name} differs: {x.tolist()} vs {y.tolist()}")
            continue
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            bad = np.argwhere(x != y) if x.shape == y.shape else "shape"
            sys.exit(f"{what}: /{name} differs ({x.dtype}{x.shape} vs {y.dtype}{y.shape}; first at {bad[:1] if len(bad) else bad})")
    return len(da)


a, b = map(pathlib.Path, sys.argv[1:3])
n = same(a, b, a.name)
files = 1
da, db = pathlib.Path(str(a) + ".d"), pathlib.Path(str(b) + ".d")
if da.is_dir():
    parts = sorted(p.name for p in da.glob("*.h5") if p.name.startswith(("snapshot_", "checkpoint")) and not is_part(p.name))
    theirs = sorted(p.name for p in db.glob("*.h5") if p.name.startswith(("snapshot_", "checkpoint")) and not is_part(p.name))
    if parts != theirs:
        sys.exit(f"{a.name}: different snapshot/checkpoint files: {parts} vs {theirs}")
    for p in parts:
        parts_present(da / p)
        parts_present(db / p)
        n += same(da / p, db / p, f"{a.name}: {p}")
        files += 1
print(f"identical: {n} datasets in {files} files of {a.name} and {b.name}")
