"""A cqgrav snapshot as a yt dataset.

``yt.load`` does not know cqgrav files; :func:`load_yt` builds the dataset with ``yt.load_uniform_grid``. The
lattice sites are grid nodes at x = i·h (SPEC §1), so each becomes the centre of a yt cell: the domain is
[-h/2, (N - 1/2) h] along each axis, periodic, one cell per site, and a slice at z = k·h shows the sites of
plane k exactly. Field names: ``lapse``, ``phi``, ``pi_phi``, ``phi2``, ``ham`` and the components ``g_xx`` …
``g_zz``, ``pi_xx`` … ``pi_zz``, ``mom_x``, ``mom_y``, ``mom_z``, all in the ("stream", name) namespace. Values
and lengths are in cqgrav's code units ħ = c = 16πG = 1 (``unit_system="code"``: lengths print as
code_length; one code length is √(16π) Planck lengths); the fields are marked dimensionless.
"""
from __future__ import annotations

import os

import h5py
import numpy as np

from .output import _pick

TENSOR = ["xx", "xy", "xz", "yy", "yz", "zz"]
VECTOR = ["x", "y", "z"]

__all__ = ["load_yt", "snapshot_fields"]


def snapshot_fields(file: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """The fields of a snapshot file in yt's (x, y, z) index order (the files store (z, y, x)), as float64,
    and the file's attributes."""
    out = {}
    with h5py.File(os.fspath(file), "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        for name in ["lapse", "phi", "pi_phi", "phi2", "ham"]:
            out[name] = np.asarray(f[name][()], dtype=np.float64).transpose(2, 1, 0)
        for name, comps in [("g", TENSOR), ("pi", TENSOR), ("mom", VECTOR)]:
            data = np.asarray(f[name][()], dtype=np.float64)
            for k, c in enumerate(comps):
                out[f"{name}_{c}"] = data[k].transpose(2, 1, 0)
    return out, attrs


def load_yt(path: str | os.PathLike, step: int | None = None, index: int = -1):
    """The snapshot of the run ``path`` at ``step`` (else at position ``index``, the last by default) — or the
    snapshot file ``path`` itself — as a yt dataset (see the module documentation)."""
    import yt

    path = os.fspath(path)
    with h5py.File(path, "r") as f:
        is_snapshot = f.attrs.get("format") == "cqgrav-snapshot" or ("g" in f and "step" in f.attrs)
    file = path if is_snapshot else _pick(path, step, index).file
    fields, attrs = snapshot_fields(file)
    n1, n2, n3 = (int(n) for n in np.asarray(attrs["lattice_shape"]))
    h = float(attrs["spacing"])
    bbox = np.array([[-0.5 * h, (n - 0.5) * h] for n in (n1, n2, n3)])
    data = {name: (values, "dimensionless") for name, values in fields.items()}
    name = f"{os.path.basename(file)} (cqgrav step {int(attrs['step'])})"
    return yt.load_uniform_grid(
        data,
        (n1, n2, n3),
        length_unit=1.0,
        bbox=bbox,
        sim_time=float(attrs["t"]),
        periodicity=(True, True, True),
        unit_system="code",
        dataset_name=name,
    )
