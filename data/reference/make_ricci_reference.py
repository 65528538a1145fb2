#!/usr/bin/env python3
"""Exact reference values for the 3-D Ricci tensor, sqrt(g), inverse metric and lapse Hessian.

Requires python3 with sympy and numpy (install with `pip install sympy numpy`; written with sympy 1.14,
numpy 2.4, mpmath as shipped with sympy).  Run from anywhere:

    python3 data/reference/make_ricci_reference.py

and it (re)writes data/reference/ricci_reference.json beside this script.

Metric on the periodic box [0, L)^3, L = 1:
    g_ab(x) = delta_ab + sum_k amp_ab^(k) sin(2 pi (n_k . x)/L + phase_k)
Lapse:
    N(x) = 1 + sum_j amp_j sin(2 pi (n_j . x)/L + phase_j)
Symmetric tensors are stored as 6 components in the order xx, xy, xz, yy, yz, zz.

Conventions (3-D Levi-Civita connection of g):
    Gamma^k_ab = 1/2 g^kl (d_a g_lb + d_b g_la - d_l g_ab)
    R_ab       = d_k Gamma^k_ab - d_b Gamma^k_ak + Gamma^k_kl Gamma^l_ab - Gamma^k_bl Gamma^l_ak
    R          = g^ab R_ab
    D_a D_b N  = d_a d_b N - Gamma^k_ab d_k N,   Laplacian = g^ab D_a D_b N

The values are computed symbolically with sympy and evaluated with mpmath at 40 digits, then rounded to double.
Checks asserted before writing (the script aborts if any fails):
  1. an independent mpmath evaluation from g, dg, ddg (closed-form derivatives of the modes) agrees;
  2. conformally flat g = psi^4 delta: R = -8 psi^-5 lap(psi) (flat Laplacian), and the full tensor
     R_ab = -(d_a d_b w - d_a w d_b w) - (lap w + |dw|^2) delta_ab with w = 2 ln psi;
  3. a flat metric in curvilinear coordinates, g = J^T J with J = dY/dx for a periodic map Y(x) = x + u(x),
     has R_ab = 0, and for N(x) = f(Y(x)) the covariant Hessian equals J^T (hess f)(Y) J;
  4. the metric is positive definite on a 48^3 grid (smallest eigenvalue printed).
"""
import json
import os
import random
import sys

import mpmath
import numpy as np
import sympy as sp

DPS = 40
mpmath.mp.dps = DPS
X = sp.symbols("x y z", real=True)
PAIRS = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
L = 1

# Metric modes: integer wave vector, phase (exact multiple of pi), amplitudes in order xx xy xz yy yz zz.
METRIC_MODES = [
    ((1, 1, 0), sp.pi / 7, [sp.Rational(8, 100), sp.Rational(3, 100), sp.Rational(-2, 100),
                            sp.Rational(5, 100), sp.Rational(4, 100), sp.Rational(-6, 100)]),
    ((0, 1, -1), 2 * sp.pi / 5, [sp.Rational(-5, 100), sp.Rational(4, 100), sp.Rational(3, 100),
                                 sp.Rational(7, 100), sp.Rational(-2, 100), sp.Rational(5, 100)]),
    ((1, 0, 1), sp.pi / 3, [sp.Rational(6, 100), sp.Rational(-3, 100), sp.Rational(4, 100),
                            sp.Rational(-4, 100), sp.Rational(3, 100), sp.Rational(9, 100)]),
    ((1, -1, 1), 5 * sp.pi / 6, [sp.Rational(3, 100), sp.Rational(2, 100), sp.Rational(3, 100),
                                 sp.Rational(-3, 100), sp.Rational(-2, 100), sp.Rational(4, 100)]),
]
# Lapse N = 1 + 0.1 sin(2 pi (x + 2y)) + 0.05 cos(2 pi (z - x)); cos written as sin(. + pi/2).
LAPSE_CONST = sp.Integer(1)
LAPSE_MODES = [
    ((1, 2, 0), sp.Integer(0), sp.Rational(1, 10)),
    ((-1, 0, 1), sp.pi / 2, sp.Rational(5, 100)),
]
N_SAMPLES = 20
SAMPLE_DENOM = 16  # sample coordinates are multiples of 1/16: lattice sites for N = 16, 32, 64, 128


def arg(n, phase):
    """2 pi (n . x)/L + phase."""
    return 2 * sp.pi * sum(ni * xi for ni, xi in zip(n, X)) / L + phase


def metric_expr(modes):
    """g_ab = delta_ab + sum_k amp_ab sin(2 pi n.x/L + phase)."""
    g = sp.eye(3)
    for n, phase, amp in modes:
        s = sp.sin(arg(n, phase))
        for c, (a, b) in enumerate(PAIRS):
            g[a, b] += amp[c] * s
            if a != b:
                g[b, a] += amp[c] * s
    return g


def lapse_expr():
    """N = const + sum_j amp_j sin(2 pi n.x/L + phase)."""
    return LAPSE_CONST + sum(amp * sp.sin(arg(n, ph)) for n, ph, amp in LAPSE_MODES)


class Geometry:
    """Symbolic Christoffels, Ricci, R, sqrt(g), g^-1 and the lapse Hessian of a 3-metric g (sympy Matrix)."""

    def __init__(self, g, lapse=None):
        self.g = g
        det = g.det(method="berkowitz")
        self.det = det
        self.ginv = g.adjugate() / det
        dg = [[[sp.diff(g[a, b], X[c]) for c in range(3)] for b in range(3)] for a in range(3)]
        # first kind: Gamma_lab = 1/2 (d_a g_lb + d_b g_la - d_l g_ab)
        gam1 = [[[(dg[l][b][a] + dg[l][a][b] - dg[a][b][l]) / 2 for b in range(3)] for a in range(3)]
                for l in range(3)]
        # Gamma^k_ab = g^kl Gamma_lab
        self.gam = [[[sum(self.ginv[k, l] * gam1[l][a][b] for l in range(3)) for b in range(3)]
                     for a in range(3)] for k in range(3)]
        gam = self.gam
        ric = sp.zeros(3, 3)
        for a in range(3):
            for b in range(a, 3):
                r = 0
                for k in range(3):
                    r += sp.diff(gam[k][a][b], X[k]) - sp.diff(gam[k][a][k], X[b])
                    for l in range(3):
                        r += gam[k][k][l] * gam[l][a][b] - gam[k][b][l] * gam[l][a][k]
                ric[a, b] = r
                ric[b, a] = r
        self.ric = ric
        self.rscal = sum(self.ginv[a, b] * ric[a, b] for a in range(3) for b in range(3))
        self.sqrtg = sp.sqrt(det)
        if lapse is not None:
            dn = [sp.diff(lapse, xi) for xi in X]
            hess = sp.zeros(3, 3)
            for a in range(3):
                for b in range(a, 3):
                    h = sp.diff(lapse, X[a], X[b]) - sum(gam[k][a][b] * dn[k] for k in range(3))
                    hess[a, b] = h
                    hess[b, a] = h
            self.lapse = lapse
            self.hess = hess
            self.lap = sum(self.ginv[a, b] * hess[a, b] for a in range(3) for b in range(3))


def mp_point(p):
    return [mpmath.mpf(sp.Rational(c).p) / mpmath.mpf(sp.Rational(c).q) for c in p]


def evaluator(exprs):
    """Compile a list of expressions of (x, y, z) to an mpmath function (CSE, DPS digits)."""
    f = sp.lambdify(X, exprs, modules="mpmath", cse=True)
    return lambda p: [mpmath.mpf(v) for v in f(*mp_point(p))]


def sym6(m):
    return [m[a, b] for a, b in PAIRS]


# ---------------------------------------------------------------- independent mpmath evaluation


def mp_metric_derivs(modes, p):
    """g, dg[c], ddg[c][d] (3x3 mpmath matrices) from the closed-form derivatives of the sine modes."""
    x = mp_point(p)
    twopi = 2 * mpmath.pi
    g = mpmath.eye(3)
    dg = [mpmath.zeros(3, 3) for _ in range(3)]
    ddg = [[mpmath.zeros(3, 3) for _ in range(3)] for _ in range(3)]
    for n, phase, amp in modes:
        th = twopi * sum(ni * xi for ni, xi in zip(n, x)) / L + mpmath.mpf(sp.N(phase, DPS + 10))
        s, c = mpmath.sin(th), mpmath.cos(th)
        kv = [twopi * ni / L for ni in n]
        for comp, (a, b) in enumerate(PAIRS):
            A = mpmath.mpf(sp.Rational(amp[comp]).p) / sp.Rational(amp[comp]).q
            for (i, j) in {(a, b), (b, a)}:
                g[i, j] += A * s
                for q in range(3):
                    dg[q][i, j] += A * c * kv[q]
                    for r in range(3):
                        ddg[q][r][i, j] += -A * s * kv[q] * kv[r]
    return g, dg, ddg


def mp_ricci(modes, p):
    """R_ab from g, dg, ddg: d_c g^-1 = -g^-1 (d_c g) g^-1, d_c Gamma^k_ab by the product rule."""
    g, dg, ddg = mp_metric_derivs(modes, p)
    gi = g ** -1
    dgi = [-gi * dg[c] * gi for c in range(3)]
    g1 = [[[(dg[a][l, b] + dg[b][l, a] - dg[l][a, b]) / 2 for b in range(3)] for a in range(3)] for l in range(3)]
    dg1 = [[[[(ddg[c][a][l, b] + ddg[c][b][l, a] - ddg[c][l][a, b]) / 2 for b in range(3)] for a in range(3)]
            for l in range(3)] for c in range(3)]
    gam = [[[sum(gi[k, l] * g1[l][a][b] for l in range(3)) for b in range(3)] for a in range(3)] for k in range(3)]
    dgam = [[[[sum(dgi[c][k, l] * g1[l][a][b] + gi[k, l] * dg1[c][l][a][b] for l in range(3))
               for b in range(3)] for a in range(3)] for k in range(3)] for c in range(3)]
    ric = mpmath.zeros(3, 3)
    for a in range(3):
        for b in range(3):
            r = 0
            for k in range(3):
                r += dgam[k][k][a][b] - dgam[b][k][a][k]
                for l in range(3):
                    r += gam[k][k][l] * gam[l][a][b] - gam[k][b][l] * gam[l][a][k]
            ric[a, b] = r
    return g, gi, gam, ric


# ---------------------------------------------------------------- checks


def check_conformally_flat(points):
    """g = psi^4 delta: R = -8 psi^-5 lap psi; R_ab = -(d_a d_b w - d_a w d_b w) - (lap w + |dw|^2) delta_ab."""
    psi = 1 + sp.Rational(1, 10) * sp.sin(2 * sp.pi * (X[0] + X[1]) + sp.Rational(1, 3)) \
        + sp.Rational(7, 100) * sp.cos(2 * sp.pi * (X[1] - 2 * X[2]))
    geo = Geometry(psi ** 4 * sp.eye(3))
    lap = sum(sp.diff(psi, xi, 2) for xi in X)
    w = 2 * sp.log(psi)
    dw = [sp.diff(w, xi) for xi in X]
    lapw = sum(sp.diff(w, xi, 2) for xi in X)
    grad2 = sum(d * d for d in dw)
    want_ric = [-(sp.diff(w, X[a], X[b]) - dw[a] * dw[b]) - (lapw + grad2) * (1 if a == b else 0)
                for a, b in PAIRS]
    f = evaluator([geo.rscal, -8 * psi ** -5 * lap] + sym6(geo.ric) + want_ric)
    worst = 0
    for p in points:
        v = f(p)
        worst = max(worst, abs(v[0] - v[1]) / abs(v[1]))
        for c in range(6):
            worst = max(worst, abs(v[2 + c] - v[8 + c]))
    print(f"check conformally flat (R = -8 psi^-5 lap psi, R_ab): max deviation {float(worst):.2e}")
    assert worst < mpmath.mpf(10) ** (-(DPS - 10)), worst


def check_flat_curvilinear(points):
    """g = J^T J with Y = x + u(x) periodic: R_ab = 0; D_a D_b (f o Y) = J^T hess(f)(Y) J."""
    u = [sp.Rational(5, 100) * sp.sin(2 * sp.pi * (X[1] + X[2]) + 1),
         sp.Rational(4, 100) * sp.sin(2 * sp.pi * (X[0] - X[2]) + 2),
         sp.Rational(6, 100) * sp.sin(2 * sp.pi * (X[0] + X[1]) + 3)]
    Y = [X[i] + u[i] for i in range(3)]
    J = sp.Matrix(3, 3, lambda i, a: sp.diff(Y[i], X[a]))
    Ysym = sp.symbols("Y0 Y1 Y2", real=True)
    fY = sp.sin(2 * sp.pi * Ysym[0]) * sp.cos(2 * sp.pi * Ysym[1]) + sp.sin(2 * sp.pi * (Ysym[2] - Ysym[0]) + 1)
    hessf = sp.Matrix(3, 3, lambda i, j: sp.diff(fY, Ysym[i], Ysym[j]))
    sub = dict(zip(Ysym, Y))
    lapse = fY.subs(sub)
    geo = Geometry(J.T * J, lapse=lapse)
    want_hess = J.T * hessf.subs(sub) * J
    want_lap = sum(sp.diff(fY, yi, 2) for yi in Ysym).subs(sub)
    f = evaluator(sym6(geo.ric) + sym6(geo.hess) + sym6(want_hess) + [geo.lap, want_lap])
    worst = 0
    for p in points:
        v = f(p)
        worst = max([worst] + [abs(v[c]) for c in range(6)] + [abs(v[6 + c] - v[12 + c]) for c in range(6)]
                    + [abs(v[18] - v[19])])
    print(f"check flat metric in curvilinear coordinates (Ricci = 0, Hessian covariance): max deviation "
          f"{float(worst):.2e}")
    assert worst < mpmath.mpf(10) ** (-(DPS - 10)), worst


def check_positive_definite():
    """Smallest eigenvalue of g on a 48^3 grid (numpy, double)."""
    n = 48
    c = np.arange(n) / n
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    g = np.zeros((n, n, n, 3, 3))
    for i in range(3):
        g[..., i, i] = 1.0
    for nv, phase, amp in METRIC_MODES:
        s = np.sin(2 * np.pi * (nv[0] * x + nv[1] * y + nv[2] * z) / L + float(phase))
        for comp, (a, b) in enumerate(PAIRS):
            g[..., a, b] += float(amp[comp]) * s
            if a != b:
                g[..., b, a] += float(amp[comp]) * s
    lmin = np.linalg.eigvalsh(g).min()
    print(f"check positive definite: min eigenvalue of g on {n}^3 grid = {lmin:.4f}")
    assert lmin > 0.3


def sample_points():
    """Origin plus N_SAMPLES - 1 seeded random lattice sites, coordinates k/16."""
    rng = random.Random(20240611)
    pts = [(0, 0, 0)]
    while len(pts) < N_SAMPLES:
        p = tuple(rng.randrange(SAMPLE_DENOM) for _ in range(3))
        if p not in pts:
            pts.append(p)
    return [tuple(sp.Rational(k, SAMPLE_DENOM) for k in p) for p in pts]


def main():
    points = sample_points()
    check_positive_definite()
    check_conformally_flat(points[:6])
    check_flat_curvilinear(points[:6])

    g = metric_expr(METRIC_MODES)
    lapse = lapse_expr()
    geo = Geometry(g, lapse=lapse)
    dn = [sp.diff(lapse, xi) for xi in X]
    gam18 = [geo.gam[k][a][b] for k in range(3) for a, b in PAIRS]
    exprs = (sym6(g) + sym6(geo.ginv) + [geo.sqrtg] + gam18 + sym6(geo.ric) + [geo.rscal]
             + [lapse] + dn + sym6(geo.hess) + [geo.lap])
    f = evaluator(exprs)

    samples = []
    worst_ind = 0
    for p in points:
        v = f(p)
        it = iter(v)
        take = lambda n: [next(it) for _ in range(n)]
        s = {}
        s["point"] = [float(c) for c in p]
        s["metric"] = take(6)
        s["inverse_metric"] = take(6)
        s["sqrt_g"] = take(1)[0]
        s["christoffel"] = [take(6) for _ in range(3)]
        s["ricci"] = take(6)
        s["ricci_scalar"] = take(1)[0]
        s["lapse"] = take(1)[0]
        s["lapse_gradient"] = take(3)
        s["hessian_lapse"] = take(6)
        s["laplacian_lapse"] = take(1)[0]
        # independent check of g, g^-1, Gamma, R_ab, R
        mg, mgi, mgam, mric = mp_ricci(METRIC_MODES, p)
        dev = [abs(s["metric"][c] - mg[a, b]) for c, (a, b) in enumerate(PAIRS)]
        dev += [abs(s["inverse_metric"][c] - mgi[a, b]) for c, (a, b) in enumerate(PAIRS)]
        dev += [abs(s["christoffel"][k][c] - mgam[k][a][b]) for k in range(3) for c, (a, b) in enumerate(PAIRS)]
        dev += [abs(s["ricci"][c] - mric[a, b]) for c, (a, b) in enumerate(PAIRS)]
        dev.append(abs(s["ricci_scalar"] - sum(mgi[a, b] * mric[a, b] for a in range(3) for b in range(3))))
        dev.append(abs(s["sqrt_g"] - mpmath.sqrt(mpmath.det(mg))))
        worst_ind = max([worst_ind] + dev)
        samples.append(s)
    print(f"check symbolic vs independent mpmath evaluation: max deviation {float(worst_ind):.2e}")
    assert worst_ind < mpmath.mpf(10) ** (-(DPS - 10)), worst_ind

    def to_float(v):
        if isinstance(v, list):
            return [to_float(u) for u in v]
        return float(v)

    out = {
        "description": "Exact (sympy, 40-digit) 3-D Ricci reference; see make_ricci_reference.py. "
                       "g_ab = delta_ab + sum_k amp_ab sin(2 pi n.x/L + phase); "
                       "N = constant + sum_j amp sin(2 pi n.x/L + phase). "
                       "Symmetric tensors: xx, xy, xz, yy, yz, zz. christoffel[k] = Gamma^k_ab (6 comps). "
                       "R_ab = d_k G^k_ab - d_b G^k_ak + G^k_kl G^l_ab - G^k_bl G^l_ak. "
                       "hessian_lapse = D_a D_b N, laplacian_lapse = g^ab D_a D_b N.",
        "box_length": float(L),
        "component_order": ["xx", "xy", "xz", "yy", "yz", "zz"],
        "metric": {
            "background": [1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
            "modes": [{"wave_vector": list(n), "phase": float(ph), "amplitude": [float(a) for a in amp]}
                      for n, ph, amp in METRIC_MODES],
        },
        "lapse": {
            "constant": float(LAPSE_CONST),
            "modes": [{"wave_vector": list(n), "phase": float(ph), "amplitude": float(amp)}
                      for n, ph, amp in LAPSE_MODES],
        },
        "sample_denominator": SAMPLE_DENOM,
        "samples": [{k: to_float(v) for k, v in s.items()} for s in samples],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ricci_reference.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {path} ({len(samples)} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
