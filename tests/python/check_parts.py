#!/usr/bin/env python3
"""Issue 18: the snapshots and checkpoint of a domain-decomposed run, read as a user reads them (h5py, xarray),
without cqgrav. Run by tests/mpi.rs.

    check_parts.py joined SERIAL.h5 RANKS.h5 P
        every snapshot file and the checkpoint of RANKS: each field dataset (snapshots: g … mom; checkpoint: data)
        is an HDF5 virtual dataset over the P part files listed in the root attribute part_files (relative names,
        files present beside it), mapping part p to planes z0(p) = p·N3//P …, with fill value NaN; xarray
        (h5netcdf) opens each snapshot and checkpoint file as a Dataset equal to SERIAL's, bit for bit.

    check_parts.py missing DAMAGED.h5 SERIAL.h5 FILE P p
        FILE (in DAMAGED.h5.d/) lost part p of P: through h5py its fields read NaN on that part's planes (not
        zeros) and SERIAL's values everywhere else.

Exit status 1 naming the first problem; prints what was checked.
"""
import pathlib
import sys

import h5py
import numpy as np
import xarray as xr

SNAPSHOT_FIELDS = ["g", "pi", "lapse", "phi", "pi_phi", "phi2", "ham", "mom"]


def fields(name):
    return ["data"] if name.startswith("checkpoint") else SNAPSHOT_FIELDS


def whole_files(d):
    return sorted(p.name for p in d.glob("*.h5") if p.name.startswith(("snapshot_", "checkpoint")) and ".part" not in p.name)


def planes(n3, ranks, p):
    return p * n3 // ranks, (p + 1) * n3 // ranks


def same_bits(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def joined(serial, ranks_file, ranks):
    d, ds = pathlib.Path(str(ranks_file) + ".d"), pathlib.Path(str(serial) + ".d")
    names = whole_files(d)
    if names != whole_files(ds) or not names:
        sys.exit(f"snapshot/checkpoint files differ: {names} vs {whole_files(ds)}")
    for name in names:
        with h5py.File(d / name, "r") as f:
            listed = f.attrs["part_files"].splitlines()
            if len(listed) != ranks or any("/" in n or not (d / n).is_file() for n in listed):
                sys.exit(f"{name}: part_files {listed} are not {ranks} files beside it")
            for field in fields(name):
                v = f[field]
                if not v.is_virtual or not np.isnan(v.fillvalue):
                    sys.exit(f"{name}:/{field} is not a virtual dataset with fill value NaN (virtual {v.is_virtual}, fill {v.fillvalue})")
                n3 = v.shape[-3]
                sources = sorted((m.file_name, m.dset_name, m.vspace.get_select_bounds()[0][-3], m.vspace.get_select_bounds()[1][-3]) for m in v.virtual_sources())
                want = sorted((listed[p], field, planes(n3, ranks, p)[0], planes(n3, ranks, p)[1] - 1) for p in range(ranks))
                if sources != want:
                    sys.exit(f"{name}:/{field} maps {sources}, expected {want}")
        # as a user opens it: xarray, the netCDF engine that reads HDF5 through h5py
        with xr.open_dataset(d / name, engine="h5netcdf") as a, xr.open_dataset(ds / name, engine="h5netcdf") as b:
            for field in fields(name):
                if not same_bits(a[field].values, b[field].values) or a[field].dims != b[field].dims:
                    sys.exit(f"{name}:/{field} through xarray differs from the single-process run's")
    print(f"ok: {len(names)} files of {ranks_file} are virtual datasets over {ranks} parts each, equal through xarray to {serial}")


def missing(damaged, serial, name, ranks, p):
    d, ds = pathlib.Path(str(damaged) + ".d"), pathlib.Path(str(serial) + ".d")
    with h5py.File(d / name, "r") as f, h5py.File(ds / name, "r") as s:
        for field in fields(name):
            x, y = f[field][()], s[field][()]
            z0, z1 = planes(x.shape[-3], ranks, p)
            lost, kept = x[..., z0:z1, :, :], np.delete(x, np.s_[z0:z1], axis=-3)
            if not np.isnan(lost).all():
                sys.exit(f"{name}:/{field}: the planes {z0}..{z1} of the missing part do not read as NaN (e.g. {lost.flat[0]})")
            if not same_bits(kept, np.delete(y, np.s_[z0:z1], axis=-3)):
                sys.exit(f"{name}:/{field}: the planes of the parts present differ from the single-process run's")
    print(f"ok: {name} without part {p} reads NaN on its planes and the serial values elsewhere")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "joined":
        joined(pathlib.Path(args[0]), pathlib.Path(args[1]), int(args[2]))
    elif mode == "missing":
        missing(pathlib.Path(args[0]), pathlib.Path(args[1]), args[2], int(args[3]), int(args[4]))
    else:
        sys.exit(f"unknown mode {mode}")
