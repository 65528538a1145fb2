#!/usr/bin/env python3
"""Opens a cqgrav XDMF sidecar with VTK's vtkXdmfReader (the XDMF reader ParaView and VisIt's plugin share)
and with pyvista, and compares every array at every time with the snapshot files read by h5py (exact).
Run by tests/xdmf_readers.rs (issue 16 criterion 1); needs vtk, pyvista, h5py, numpy.

    check_xdmf.py RUN.h5

Each reader runs in a child process, so a crash of the reader (VTK segfaulted on single-site sidecars
before) is reported as a failure naming the file instead of killing the check. Exit status 1 with every
problem listed, 0 with a summary.
"""
import os
import subprocess
import sys

import h5py
import numpy as np

TENSOR = ["xx", "xy", "xz", "yy", "yz", "zz"]
VECTOR = ["x", "y", "z"]
# VTK expands a Tensor6 (xx xy xz yy yz zz) to the 9 components of the symmetric tensor, row by row
SYM9 = [0, 1, 2, 1, 3, 4, 2, 4, 5]


def expected(snapfile):
    """name -> (array in VTK point order (x fastest), component count) from the snapshot file."""
    out = {}
    with h5py.File(snapfile, "r") as f:
        for n in ["lapse", "phi", "pi_phi", "phi2", "ham"]:
            out[n] = f[n][()].reshape(-1)
        for n, comps in [("g", TENSOR), ("pi", TENSOR), ("mom", VECTOR)]:
            d = f[n][()]
            for k, c in enumerate(comps):
                out[f"{n}_{c}"] = d[k].reshape(-1)
            flat = d.reshape(len(comps), -1).T  # (points, components)
            out[n] = flat[:, SYM9] if len(comps) == 6 else flat
    return out


def vtk_child(xdmf):
    """Child process: reads every time step with vtkXdmfReader and prints the arrays (npz path on stdout)."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    r = vtk.vtkXdmfReader()
    r.SetFileName(xdmf)
    r.UpdateInformation()
    times = r.GetOutputInformation(0).Get(vtk.vtkStreamingDemandDrivenPipeline.TIME_STEPS()) or ()
    result = {"__times__": np.array(times, dtype=float)}
    for k, t in enumerate(times):
        r.UpdateTimeStep(t)
        img = r.GetOutputDataObject(0)
        result[f"{k}/__dims__"] = np.array(img.GetDimensions())
        result[f"{k}/__spacing__"] = np.array(img.GetSpacing())
        result[f"{k}/__origin__"] = np.array(img.GetOrigin())
        pd = img.GetPointData()
        for i in range(pd.GetNumberOfArrays()):
            result[f"{k}/{pd.GetArrayName(i)}"] = vtk_to_numpy(pd.GetArray(i))
    out = xdmf + ".vtk.npz"
    np.savez(out, **result)
    print(out)


def pyvista_child(xdmf):
    import pyvista as pv

    reader = pv.get_reader(xdmf)
    result = {"__times__": np.array(reader.time_values, dtype=float)}
    for k, t in enumerate(reader.time_values):
        reader.set_active_time_value(t)
        mesh = reader.read()
        result[f"{k}/__dims__"] = np.array(mesh.dimensions)
        for name in mesh.point_data.keys():
            result[f"{k}/{name}"] = np.asarray(mesh.point_data[name])
    # pv.read maps the extension to the XDMF reader too (it refused .xmf)
    result["__pvread__"] = np.array([pv.read(xdmf).n_points])
    out = xdmf + ".pyvista.npz"
    np.savez(out, **result)
    print(out)


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("--vtk-child", "--pyvista-child"):
        (vtk_child if sys.argv[1] == "--vtk-child" else pyvista_child)(sys.argv[2])
        return
    run = sys.argv[1]
    xdmf = run + ".xdmf"
    problems = []
    with h5py.File(run, "r") as f:
        n1, n2, n3 = (int(n) for n in f.attrs["lattice_shape"])
        h = float(f.attrs["spacing"])
        snaps = [(name, float(f["snapshots"][name].attrs["t"])) for name in sorted(f["snapshots"])]
    base = os.path.dirname(os.path.abspath(run))
    checked = 0
    for reader in ["--vtk-child", "--pyvista-child"]:
        p = subprocess.run([sys.executable, __file__, reader, xdmf], capture_output=True, text=True)
        if p.returncode != 0:
            problems.append(f"{reader[2:-6]} reader failed on {xdmf} (exit status {p.returncode}): {p.stderr.strip()[-500:]}")
            continue
        got = np.load(p.stdout.strip().splitlines()[-1])
        times = got["__times__"]
        if list(times) != [t for _, t in snaps]:
            problems.append(f"{reader[2:-6]}: times {list(times)} != snapshot times {[t for _, t in snaps]}")
            continue
        for k, (name, t) in enumerate(snaps):
            if tuple(got[f"{k}/__dims__"]) != (n1, n2, n3):
                problems.append(f"{reader[2:-6]} t = {t}: grid {tuple(got[f'{k}/__dims__'])}, lattice {(n1, n2, n3)}")
            if reader == "--vtk-child":
                if not np.allclose(got[f"{k}/__spacing__"], h) or np.any(got[f"{k}/__origin__"] != 0):
                    problems.append(f"vtk t = {t}: spacing {got[f'{k}/__spacing__']}, origin {got[f'{k}/__origin__']}")
            want = expected(os.path.join(base, os.path.basename(run) + f".d/snapshot_{name}.h5"))
            names = {key.split("/", 1)[1] for key in got.files if key.startswith(f"{k}/") and not key.split("/", 1)[1].startswith("__")}
            if names != set(want):
                problems.append(f"{reader[2:-6]} t = {t}: arrays {sorted(names)}, expected {sorted(want)}")
            for n, w in want.items():
                if n not in names:
                    continue
                a = got[f"{k}/{n}"]
                a = a.reshape(w.shape) if a.size == w.size else a
                if a.shape != w.shape or not np.array_equal(a, w):
                    problems.append(f"{reader[2:-6]} t = {t}: array {n} differs from the snapshot file (shape {a.shape} vs {w.shape})")
                checked += 1
    if problems:
        print(f"FAILED: {xdmf}: {len(problems)} problem(s)")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"ok: {xdmf}: lattice {n1}x{n2}x{n3}, {len(snaps)} times, {checked} arrays equal to h5py in VTK and pyvista")


if __name__ == "__main__":
    main()
