#!/usr/bin/env python3
"""Checks a cqgrav output file against SPEC §7/§10 and docs/output.md (run by tests/output_layout.rs and
tests/crash_safety.rs; needs h5py and numpy, and xarray for --doc-example).

    check_output.py FILE [--compare CLEAN] [--crashed] [--doc-example docs/output.md]
                         [--expect-rows N] [--expect-snapshots N]

Checks every root attribute, every timeseries column (name, dtype, shape, chunking, no duplicated step or t,
t = step*dt), every snapshot reached through its external link (attributes, dataset names, shapes, dtypes,
compression), the checkpoint, and the XDMF sidecar <file>.xdmf (every HDF reference resolves to a dataset of the stated
shape and precision; hyperslabs select the right component). --compare: every row and snapshot present
equals the clean run's bit for bit (wall_per_step excepted). --crashed: the run may have been killed, so
rows, snapshots and the checkpoint may be missing (but what is there must be complete and correct).
--doc-example: runs the python example of docs/output.md in the file's directory (the file must be run.h5).
Exit status 1 with every problem listed, 0 with a one-line summary.
"""
import argparse
import os
import re
import sys
import tomllib
import xml.etree.ElementTree as ET

import h5py
import numpy as np

SPEC_NAMES = ["t", "step", "a", "hubble", "ham_l2", "ham_linf", "ham_rel", "mom_l2", "mom_linf", "mom_rel",
              "e_kin_grav", "e_pot_grav", "e_matter", "phi_mean", "phi2_mean", "state_min_symplectic",
              "wall_per_step"]
ROOT_STR = ["format", "run_id", "code_version", "git_commit", "config", "units", "precision", "backend", "device", "history"]
TENSOR = ["xx", "xy", "xz", "yy", "yz", "zz"]
VECTOR = ["x", "y", "z"]
NVARS = 15

problems = []


def fail(msg):
    problems.append(msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def is_str(v):
    return isinstance(v, str)


def snapshot_shapes(n3, n2, n1):
    s = (n3, n2, n1)
    return {"g": (6,) + s, "pi": (6,) + s, "lapse": s, "phi": s, "pi_phi": s, "phi2": s, "ham": s, "mom": (3,) + s}


def check_root(f):
    a = f.attrs
    n0 = len(problems)
    for k in ROOT_STR:
        if check(k in a, f"root attribute {k} missing"):
            check(is_str(a[k]), f"root attribute {k} is {type(a[k]).__name__}, expected str")
    for k in ["format_version", "seed"]:
        if check(k in a, f"root attribute {k} missing"):
            check(np.issubdtype(np.asarray(a[k]).dtype, np.integer) and np.ndim(a[k]) == 0, f"root attribute {k} is not an integer scalar")
    for k in ["spacing", "dt"]:
        if check(k in a, f"root attribute {k} missing"):
            check(np.asarray(a[k]).dtype == np.float64 and np.ndim(a[k]) == 0, f"root attribute {k} is not a float64 scalar")
    if check("lattice_shape" in a, "root attribute lattice_shape missing"):
        check(np.asarray(a["lattice_shape"]).dtype == np.uint64 and np.shape(a["lattice_shape"]) == (3,),
              "lattice_shape must be 3 uint64 (N1, N2, N3)")
    if check("background_metric" in a, "root attribute background_metric missing"):
        check(np.shape(a["background_metric"]) == (6,), "background_metric must have 6 values")
    if len(problems) > n0:
        return None
    check(a["format"] == "cqgrav-output", f"format = {a['format']!r}")
    check(int(a["format_version"]) == 2, f"format_version = {a['format_version']}, expected 2")
    check(re.fullmatch(r"[0-9a-f]{16}", a["run_id"]) is not None, f"run_id = {a['run_id']!r} is not 16 hex digits")
    check(a["units"] == "hbar = c = 16 pi G = 1", f"units = {a['units']!r}")
    check(a["precision"] in ("f32", "f64"), f"precision = {a['precision']!r}")
    check(len(a["git_commit"]) > 0 and len(a["code_version"]) > 0, "empty code_version or git_commit")
    cfg = tomllib.loads(a["config"])
    shape = [int(x) for x in a["lattice_shape"]]
    check(cfg["lattice"]["shape"] == shape, f"config lattice.shape {cfg['lattice']['shape']} != lattice_shape {shape}")
    check(cfg["lattice"]["spacing"] == a["spacing"], "config lattice.spacing != spacing attribute")
    check(cfg["run"]["seed"] == a["seed"], "config run.seed != seed attribute")
    check(cfg["run"]["precision"] == a["precision"], "config run.precision != precision attribute")
    return cfg


def check_timeseries(f, dt, crashed):
    g = f.get("timeseries")
    if not check(isinstance(g, h5py.Group), "/timeseries missing"):
        return {}
    cols = {}
    lengths = set()
    for name in SPEC_NAMES:
        check(name in g, f"/timeseries/{name} missing (SPEC §10)")
    for name, ds in g.items():
        check(ds.dtype == np.float64, f"/timeseries/{name} dtype {ds.dtype}, expected float64")
        check(ds.ndim == 1, f"/timeseries/{name} is not 1-D")
        check(ds.maxshape == (None,), f"/timeseries/{name} maxshape {ds.maxshape}, expected (None,) (extendible)")
        # virtual datasets over the run's segment files (docs/output.md): every complete block from one file
        if check(ds.is_virtual, f"/timeseries/{name} is not a virtual dataset"):
            srcs = ds.virtual_sources()
            pat = re.escape(os.path.basename(f.filename)) + r"\.d/timeseries_" + f.attrs["run_id"] + r"_(%b|\d+\.open)\.h5"
            check(all(re.fullmatch(pat, v.file_name) and v.dset_name == name for v in srcs),
                  f"/timeseries/{name} maps {[(v.file_name, v.dset_name) for v in srcs]}, not this run's segments")
        check(is_str(ds.attrs.get("description")), f"/timeseries/{name} has no description attribute")
        cols[name] = ds[()]
        lengths.add(ds.shape[0])
    check(len(lengths) <= 1, f"timeseries columns of different lengths {sorted(lengths)}")
    # t is the dimension (a dimension scale) every other column is attached to: netCDF readers index by it
    if "t" in g:
        check(g["t"].attrs.get("CLASS") == b"DIMENSION_SCALE", "/timeseries/t is not a dimension scale")
        for name, ds in g.items():
            if name != "t":
                check(len(ds.dims[0]) == 1 and ds.dims[0][0].name == "/timeseries/t", f"/timeseries/{name} is not attached to t")
    if "step" in cols and "t" in cols and len(cols["step"]):
        step, t = cols["step"], cols["t"]
        check(np.all(step == np.round(step)) and np.all(step >= 0), "step is not a non-negative integer")
        check(np.all(np.diff(step) > 0), f"step not strictly increasing (duplicates?): {step.tolist()}")
        check(np.all(np.diff(t) > 0), "t not strictly increasing (duplicated times?)")
        check(np.array_equal(t, step * dt), "t != step * dt")
        if not crashed:
            check(step[0] == 0, f"the first row is at step {step[0]}, expected 0")
    return cols


def check_snapshot_group(name, s, shape, precision, dt, base, run_id, h):
    n1, n2, n3 = shape
    want = snapshot_shapes(n3, n2, n1)
    dtype = np.float32 if precision == "f32" else np.float64
    check(s.attrs.get("run_id") == run_id, f"/snapshots/{name}: run_id {s.attrs.get('run_id')!r} is not the main file's {run_id!r}")
    for k in ["t", "step"]:
        check(k in s.attrs, f"/snapshots/{name}: attribute {k} missing")
    if "step" in s.attrs:
        check(np.issubdtype(np.asarray(s.attrs["step"]).dtype, np.integer), f"/snapshots/{name}: step is not an integer")
        check(name == f"{int(s.attrs['step']):06d}", f"/snapshots/{name}: name does not match step {s.attrs['step']}")
        if "t" in s.attrs:
            check(s.attrs["t"] == int(s.attrs["step"]) * dt, f"/snapshots/{name}: t != step * dt")
    coords = {"z": h * np.arange(n3), "y": h * np.arange(n2), "x": h * np.arange(n1), "ab": TENSOR, "a": VECTOR}
    check(sorted(s.keys()) == sorted(list(want) + list(coords)), f"/snapshots/{name}: datasets {sorted(s.keys())}, expected {sorted(want)} and the coordinates {sorted(coords)}")
    # the run's provenance on the snapshot file's root (docs/output.md), so the file alone says what wrote it
    for k in ROOT_STR:
        if k != "format":
            check(k in s.attrs, f"/snapshots/{name}: provenance attribute {k} missing")
    check(s.attrs.get("format") == "cqgrav-snapshot", f"/snapshots/{name}: format {s.attrs.get('format')!r}")
    # coordinates as netCDF dimension scales, attached to every field axis
    for c, values in coords.items():
        if c not in s:
            continue
        v = s[c][()]
        v = [x.decode() if isinstance(x, bytes) else x for x in v] if c in ("ab", "a") else v
        check(s[c].attrs.get("CLASS") == b"DIMENSION_SCALE", f"/snapshots/{name}/{c} is not a dimension scale")
        check(np.array_equal(v, values) if c not in ("ab", "a") else list(v) == values, f"/snapshots/{name}/{c} = {v}")
    for k, shp in want.items():
        if k not in s:
            continue
        ds = s[k]
        check(ds.shape == shp, f"/snapshots/{name}/{k}: shape {ds.shape}, expected {shp}")
        check(ds.dtype == dtype, f"/snapshots/{name}/{k}: dtype {ds.dtype}, expected {np.dtype(dtype)}")
        check(ds.chunks is not None, f"/snapshots/{name}/{k}: not chunked")
        check(ds.compression == "gzip", f"/snapshots/{name}/{k}: compression {ds.compression}, expected gzip (deflate)")
        dims = [d[0].name.split("/")[-1] if len(d) else None for d in ds.dims]
        want_dims = (["ab" if shp[0] == 6 else "a"] if len(shp) == 4 else []) + ["z", "y", "x"]
        check(dims == want_dims, f"/snapshots/{name}/{k}: dimensions {dims}, expected {want_dims}")
    if "g" in s and "lapse" in s:
        g = s["g"][()].astype(np.float64)
        det = (g[0] * (g[3] * g[5] - g[4] ** 2) - g[1] * (g[1] * g[5] - g[4] * g[2]) + g[2] * (g[1] * g[4] - g[3] * g[2]))
        check(np.all(det > 0) and np.all(g[0] > 0), f"/snapshots/{name}/g: not positive definite (the full metric is stored)")


def check_snapshots(f, path, shape, precision, dt, crashed):
    g = f.get("snapshots")
    if not check(isinstance(g, h5py.Group), "/snapshots missing"):
        return []
    base = os.path.basename(path)
    names = sorted(g.keys())
    for name in names:
        link = g.get(name, getlink=True)
        if not check(isinstance(link, h5py.ExternalLink), f"/snapshots/{name} is not an external link"):
            continue
        check(link.filename == f"{base}.d/snapshot_{name}.h5" and link.path == "/",
              f"/snapshots/{name} links to {link.filename}:{link.path}")
        try:
            s = g[name]
        except Exception as e:  # a dangling link: the snapshot file is missing or unreadable
            fail(f"/snapshots/{name}: cannot open through its external link: {e}")
            continue
        check_snapshot_group(name, s, shape, precision, dt, base, f.attrs["run_id"], float(f.attrs["spacing"]))
    return names


def check_checkpoint(f, path, shape, cols, crashed):
    if "checkpoint" not in f:
        check(crashed, "/checkpoint missing (a final checkpoint is always written)")
        return None
    link = f.get("checkpoint", getlink=True)
    check(isinstance(link, h5py.ExternalLink) and link.filename == f"{os.path.basename(path)}.d/checkpoint.h5",
          "/checkpoint is not an external link to <file>.d/checkpoint.h5")
    c = f["checkpoint"]
    a = c.attrs
    n0 = len(problems)
    for k in ["format", "format_version", "run_id", "step", "t", "dt", "precision", "seed", "config", "lattice_shape", "spacing",
              "variables", "history", "timeseries_rows"]:
        check(k in a, f"/checkpoint: attribute {k} missing")
    if len(problems) > n0:
        return None
    check(a["format"] == "cqgrav-checkpoint", f"/checkpoint format = {a['format']!r}")
    check(a["run_id"] == f.attrs["run_id"], f"/checkpoint run_id {a['run_id']!r} is not the main file's {f.attrs['run_id']!r}")
    n1, n2, n3 = shape
    check(c["data"].shape == (NVARS, n3, n2, n1) and c["data"].dtype == np.float64, f"/checkpoint/data: {c['data'].shape} {c['data'].dtype}")
    check(c["background"].shape == (6,), "/checkpoint/background must have 6 values")
    check(len(a["variables"].split(",")) == NVARS, "/checkpoint variables must name the 15 fields")
    check(a["t"] == int(a["step"]) * a["dt"], "/checkpoint: t != step * dt")
    check(a["config"] == f.attrs["config"] or crashed or "restart" in f.attrs["history"], "/checkpoint config differs from the root config")
    for k in ["seed", "precision", "dt"]:
        check(a[k] == f.attrs[k], f"/checkpoint {k} differs from the root attribute")
    check("timeseries" not in c, "/checkpoint has a copy of the timeseries (format 2 stores timeseries_rows)")
    if "step" in cols and len(cols["step"]):
        # the checkpoint's rows are the first timeseries_rows rows of the run, the last at or before its step; after a
        # kill the main file may map fewer (it is flushed every output.flush_interval, the checkpoint's rows at once)
        r, steps = int(a["timeseries_rows"]), cols["step"]
        if crashed and r > len(steps):
            check(steps[-1] <= int(a["step"]), f"/checkpoint at step {a['step']}: the main file has rows after it but fewer than its {r}")
        else:
            check(1 <= r <= len(steps) and steps[r - 1] <= int(a["step"]) and (r == len(steps) or steps[r] > int(a["step"])),
                  f"/checkpoint timeseries_rows = {r} at step {a['step']} does not fit the rows {steps.tolist()[:r + 1]}")
        if not crashed:
            check(int(a["step"]) == int(cols["step"][-1]), f"final checkpoint at step {a['step']}, last row at step {cols['step'][-1]}")
    return int(a["step"])


def parse_dims(s):
    return tuple(int(x) for x in s.split())


def resolve_item(item, xdir, shape, precision, where):
    """Returns the array an XDMF DataItem stands for (reads the HDF5 data), checking what it declares."""
    dims = parse_dims(item.get("Dimensions", ""))
    kind = item.get("ItemType", "Uniform")
    fmt = item.get("Format", "XML")
    if kind == "HyperSlab":
        sel, src = list(item)
        idx = np.array([int(x) for x in sel.text.split()]).reshape(3, -1)
        arr = resolve_item(src, xdir, shape, precision, where)
        if arr is None:
            return None
        start, stride, count = idx
        check(np.all(start + stride * (count - 1) < np.array(arr.shape)), f"{where}: hyperslab out of bounds of {arr.shape}")
        sl = tuple(slice(a, a + s * c, s) for a, s, c in zip(start, stride, count))
        out = arr[sl]
        check(out.size == int(np.prod(dims)), f"{where}: hyperslab selects {out.shape}, declared {dims}")
        return out.reshape(dims)
    if kind == "Function":
        m = re.fullmatch(r"JOIN\((.*)\)", item.get("Function", "").replace(" ", ""))
        if not check(m, f"{where}: unknown function {item.get('Function')}"):
            return None
        args = list(item)
        check(m.group(1).split(",") == [f"${i}" for i in range(len(args))], f"{where}: JOIN arguments")
        parts = [resolve_item(a, xdir, shape, precision, where) for a in args]
        if any(p is None for p in parts):
            return None
        out = np.stack(parts, axis=-1)
        check(out.shape == dims, f"{where}: JOIN gives {out.shape}, declared {dims}")
        return out
    if fmt == "XML":
        return np.array([float(x) for x in item.text.split()]).reshape(dims)
    if not check(fmt == "HDF", f"{where}: unknown Format {fmt}"):
        return None
    fname, _, dname = item.text.strip().partition(":")
    fpath = os.path.join(xdir, fname)
    if not check(os.path.exists(fpath), f"{where}: {fname} does not exist"):
        return None
    with h5py.File(fpath, "r") as h:
        if not check(dname in h, f"{where}: {fname} has no dataset {dname}"):
            return None
        ds = h[dname]
        # a single site's tensor is read whole, components last: the dataset (C, 1, 1, 1) as (1, 1, 1, C)
        single_site = ds.size == int(np.prod(dims)) and int(np.prod(dims[:-1])) == 1
        check(ds.shape == dims or single_site, f"{where}: {fname}:{dname} has shape {ds.shape}, XDMF says {dims}")
        want = "4" if precision == "f32" else "8"
        check(item.get("NumberType") == "Float" and item.get("Precision") == want and ds.dtype.itemsize == int(want),
              f"{where}: NumberType/Precision {item.get('NumberType')}/{item.get('Precision')} vs dataset {ds.dtype}")
        return ds[()].reshape(dims)


def check_xdmf(path, f, snaps, shape, spacing, precision, crashed):
    xpath = path + ".xdmf"
    if not check(os.path.exists(xpath), f"{xpath} missing"):
        return
    xdir = os.path.dirname(os.path.abspath(xpath))
    root = ET.parse(xpath).getroot()
    check(root.tag == "Xdmf", "XDMF root element is not Xdmf")
    coll = root.find("Domain/Grid")
    if not check(coll is not None and coll.get("GridType") == "Collection" and coll.get("CollectionType") == "Temporal",
                 "XDMF: no temporal collection"):
        return
    grids = coll.findall("Grid")
    names = [gr.get("Name") for gr in grids]
    if crashed:
        # the sidecar is renamed into place just before the main file: a kill in between leaves it ahead by the
        # snapshots of that flush (every snapshot it names is complete all the same)
        check(names[: len(snaps)] == snaps, f"XDMF grids {names} do not start with the snapshots {snaps}")
    else:
        check(names == snaps, f"XDMF grids {names} != snapshots {snaps}")
    n1, n2, n3 = shape
    dims = (n3, n2, n1)
    times = []
    for gr in grids:
        name = gr.get("Name")
        where = f"XDMF grid {name}"
        t = float(gr.find("Time").get("Value"))
        times.append(t)
        if name in f["snapshots"]:
            check(t == f["snapshots"][name].attrs["t"], f"{where}: Time {t} != snapshot t")
        else:
            with h5py.File(os.path.join(xdir, f"{os.path.basename(path)}.d/snapshot_{name}.h5"), "r") as h:
                check(t == h.attrs["t"], f"{where}: Time {t} != snapshot t")
        topo = gr.find("Topology")
        check(topo.get("TopologyType") == "3DCoRectMesh" and parse_dims(topo.get("Dimensions")) == dims,
              f"{where}: topology {topo.attrib}")
        geo = gr.find("Geometry")
        check(geo.get("GeometryType") == "ORIGIN_DXDYDZ", f"{where}: geometry {geo.attrib}")
        origin, delta = [resolve_item(i, xdir, shape, precision, where) for i in geo.findall("DataItem")]
        check(np.all(origin == 0) and np.all(delta == spacing), f"{where}: origin {origin}, spacing {delta}")
        attrs = {a.get("Name"): a for a in gr.findall("Attribute")}
        want = ["lapse", "phi", "pi_phi", "phi2", "ham", "g", "pi", "mom"]
        want += [f"g_{c}" for c in TENSOR] + [f"pi_{c}" for c in TENSOR] + [f"mom_{c}" for c in VECTOR]
        check(sorted(attrs) == sorted(want), f"{where}: attributes {sorted(attrs)}, expected {sorted(want)}")
        snapfile = os.path.join(xdir, f"{os.path.basename(path)}.d/snapshot_{name}.h5")
        if not os.path.exists(snapfile):
            fail(f"{where}: {snapfile} missing")
            continue
        with h5py.File(snapfile, "r") as h:
            for an, a in attrs.items():
                arr = resolve_item(a.find("DataItem"), xdir, shape, precision, f"{where} attribute {an}")
                if arr is None:
                    continue
                base, _, comp = an.partition("_") if an not in ("pi_phi",) else (an, "", "")
                kind = a.get("AttributeType")
                check(a.get("Center") == "Node", f"{where} {an}: Center {a.get('Center')}")
                if an in ("g", "pi"):
                    check(kind == "Tensor6", f"{where} {an}: AttributeType {kind}")
                    check(np.array_equal(arr, np.moveaxis(h[an][()], 0, -1)), f"{where} {an}: JOIN of the components != dataset")
                elif an == "mom":
                    check(kind == "Vector", f"{where} {an}: AttributeType {kind}")
                    check(np.array_equal(arr, np.moveaxis(h[an][()], 0, -1)), f"{where} {an}: JOIN of the components != dataset")
                elif comp:
                    k = (TENSOR if base in ("g", "pi") else VECTOR).index(comp)
                    check(kind == "Scalar" and np.array_equal(arr, h[base][k]), f"{where} {an}: hyperslab != {base}[{k}]")
                else:
                    check(kind == "Scalar" and np.array_equal(arr, h[an][()]), f"{where} {an}: data != dataset {an}")
    check(times == sorted(times), "XDMF times not increasing")


def compare(f, clean_path, cols, snaps):
    """Every row and snapshot present equals the clean run's."""
    with h5py.File(clean_path, "r") as c:
        ccols = {k: v[()] for k, v in c["timeseries"].items()}
        if "step" in cols:
            n = len(cols["step"])
            check(n <= len(ccols["step"]) and np.array_equal(cols["step"], ccols["step"][:n]),
                  f"rows at steps {cols['step'].tolist()} are not a prefix of the clean run's")
            for k, v in cols.items():
                if k == "wall_per_step" or k not in ccols:
                    continue
                check(np.array_equal(v, ccols[k][: len(v)], equal_nan=True), f"/timeseries/{k} differs from the clean run's")
        for name in snaps:
            if name not in c["snapshots"]:
                fail(f"/snapshots/{name} is not in the clean run")
                continue
            try:
                s = f["snapshots"][name]
            except Exception:
                continue  # reported already
            cs = c["snapshots"][name]
            for k in cs:
                a, b = s[k][()], cs[k][()]
                # the component labels (ab, a) are strings: NaN only exists in the float arrays
                nan = np.issubdtype(np.asarray(b).dtype, np.floating)
                check(np.array_equal(a, b, equal_nan=nan), f"/snapshots/{name}/{k} differs from the clean run's")
            for k in ["t", "step"]:
                check(s.attrs[k] == cs.attrs[k], f"/snapshots/{name} attribute {k} differs from the clean run's")


def doc_example(doc_path, path):
    text = open(doc_path, encoding="utf-8").read()
    m = re.search(r"<!-- example: run by tests/python/check_output.py -->\s*```python\n(.*?)```", text, re.S)
    if not check(m, f"{doc_path}: no python example after the marker"):
        return
    if not check(os.path.basename(path) == "run.h5", "--doc-example needs the file to be named run.h5"):
        return
    cwd = os.getcwd()
    os.chdir(os.path.dirname(os.path.abspath(path)))
    try:
        exec(compile(m.group(1), f"{doc_path} (example)", "exec"), {"__name__": "__doc_example__"})
    except Exception as e:
        import traceback
        fail(f"the example of {doc_path} failed: {e!r}\n{traceback.format_exc()}")
    finally:
        os.chdir(cwd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--compare")
    ap.add_argument("--crashed", action="store_true")
    ap.add_argument("--doc-example")
    ap.add_argument("--expect-rows", type=int)
    ap.add_argument("--expect-snapshots", type=int)
    args = ap.parse_args()
    path = args.file
    summary = ""
    try:
        with h5py.File(path, "r") as f:
            cfg = check_root(f)
            if cfg is not None:
                dt = float(f.attrs["dt"])
                shape = [int(x) for x in f.attrs["lattice_shape"]]
                precision = f.attrs["precision"]
                cols = check_timeseries(f, dt, args.crashed)
                snaps = check_snapshots(f, path, shape, precision, dt, args.crashed)
                ck = check_checkpoint(f, path, shape, cols, args.crashed)
                check_xdmf(path, f, snaps, shape, float(f.attrs["spacing"]), precision, args.crashed)
                nrows = len(cols.get("step", []))
                if args.expect_rows is not None:
                    check(nrows == args.expect_rows, f"{nrows} timeseries rows, expected {args.expect_rows}")
                if args.expect_snapshots is not None:
                    check(len(snaps) == args.expect_snapshots, f"{len(snaps)} snapshots, expected {args.expect_snapshots}")
                if args.compare:
                    compare(f, args.compare, cols, snaps)
                summary = f"{nrows} rows, {len(snaps)} snapshots, checkpoint at step {ck}, {len(cols)} columns, precision {precision}"
    except Exception as e:
        import traceback
        fail(f"cannot read {path}: {e!r}\n{traceback.format_exc()}")
    if args.doc_example and not problems:
        doc_example(args.doc_example, path)
    if problems:
        print(f"FAILED: {path}: {len(problems)} problem(s)")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"ok: {path}: {summary}")


if __name__ == "__main__":
    main()
