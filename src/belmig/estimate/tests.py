"""Design-based tests that subgroup levels differ (R: ``svychisq``, ``regTermTest``).

* **Whole table** (the test of a comparison): for a single-choice question, the Rao–Scott
  second-order corrected Pearson test of the full (option × level) table, ``svychisq(~y + g,
  design, statistic = "F")``; options nobody in the tested levels chose are left out (they add
  nothing to X² and make the design-effect matrix singular; R: ``factor(y)`` of the domain).
  For one option of a multiple-choice question, the same test of its (chosen × level) table;
  for a scale, the Wald F test that all level means are equal (``regTermTest(svyglm(y ~ g),
  ~g)``, ddf = base n − levels; for two levels it equals ``svyttest``).
* **Follow-ups**: the (option chosen × level) table of each option of a single-choice
  question, and of each point (and "8 or higher") of a scale.

The tested levels are those that can bear it in the question's base (:func:`belmig.privacy.
levels.protect`); the domain of the test is their respondents. F with d0 and d0·ν df; ν = R's
PSU count − 1 of the design object: all respondents − 1 when calibrated (a subset of a
calibrated design keeps every row, with weight 0), the domain's n − 1 when unweighted.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from scipy import special

from belmig.estimate.design import Design, lincov


@cache
def cmat(nr: int, nc: int) -> np.ndarray:
    """R svychisq's contrast matrix: interaction columns residualised on the main effects
    (cells in R's interaction order, rows fastest)."""
    rows = np.tile(np.arange(nr), nc)
    cols = np.repeat(np.arange(nc), nr)
    R = (rows[:, None] == np.arange(nr)).astype(float)
    C = (cols[:, None] == np.arange(nc)).astype(float)
    X1 = np.column_stack([np.ones(nr * nc), R[:, 1:], C[:, 1:]])
    inter = np.column_stack([R[:, i] * C[:, j] for j in range(1, nc) for i in range(1, nr)])
    beta, *_ = np.linalg.lstsq(X1, inter, rcond=None)
    return inter - X1 @ beta


def rao_scott(p: np.ndarray, V: np.ndarray, nr: int, nc: int, nu: float) -> np.ndarray:
    """p-values of svychisq(statistic="F") for a batch of nr × nc tables.

    ``p``: (B, nr·nc) cell proportions (rows fastest), ``V``: (B, nr·nc, nr·nc) their
    covariance. Pearson's X² divided by the mean generalised design effect (trace of Δ),
    referred to F(d0, d0·ν) with d0 = tr(Δ)²/tr(Δ²) (Rao & Scott's second-order correction).
    """
    B = p.shape[0]
    out = np.full(B, np.nan)
    if nr < 2 or nc < 2 or B == 0:
        return out
    P = p.reshape(B, nc, nr).transpose(0, 2, 1)  # (B, rows, cols)
    r, c = P.sum(2), P.sum(1)
    ok = (r > 0).all(1) & (c > 0).all(1)
    if not ok.any():
        return out
    p, V, P, r, c = p[ok], V[ok], P[ok], r[ok], c[ok]
    E = r[:, :, None] * c[:, None, :]
    x2 = ((P - E) ** 2 / E).sum((1, 2))  # Pearson X² / N (N cancels in the F statistic)
    Cm = cmat(nr, nc)
    inv = np.where(p == 0, 0.0, 1 / np.where(p == 0, 1.0, p))
    denom = Cm.T @ (inv[:, :, None] * Cm)
    numr = Cm.T @ (inv[:, :, None] * V * inv[:, None, :]) @ Cm
    res = np.full(len(p), np.nan)
    for i in range(len(p)):  # small systems; a singular one gives NaN, as R would fail
        try:
            delta = np.linalg.solve(denom[i], numr[i])
        except np.linalg.LinAlgError:
            continue
        tr = np.trace(delta)
        tr2 = np.trace(delta @ delta)
        if tr > 0 and tr2 > 0:
            d0 = tr * tr / tr2
            res[i] = special.fdtrc(d0, d0 * nu, x2[i] / tr)
    out[ok] = res
    return out


def wald_means(mu: np.ndarray, V: np.ndarray, ddf: float) -> float:
    """p of the Wald F test that all means are equal (R: regTermTest on svyglm(y ~ g))."""
    L = len(mu)
    if L < 2 or ddf <= 0:
        return math.nan
    C = np.column_stack([-np.ones(L - 1), np.eye(L - 1)])
    d = C @ mu
    try:
        W = float(d @ np.linalg.solve(C @ V @ C.T, d))
    except np.linalg.LinAlgError:
        return math.nan
    if not np.isfinite(W):
        return math.nan
    return float(special.fdtrc(L - 1, ddf, W / (L - 1)))


def _domain(fs: np.ndarray, lv: np.ndarray, L: int, Vb: int) -> tuple[np.ndarray, np.ndarray]:
    """The cell memberships of a batch of (row × level) tables over the levels `lv`: ``u`` (B,
    R·m, L·Vb) on the atoms, and the mask of the atoms in the domain (L·Vb,). They rest on the
    answers and levels alone, not on the weights."""
    B, R, _ = fs.shape
    m = len(lv)
    onehot = (lv[:, None] == np.arange(L)).astype(float)  # (m, L)
    u = onehot[None, :, None, :, None] * fs[:, None, :, None, :]  # (B, m, R, L, Vb)
    u = u.reshape(B, R * m, L * Vb)
    return u, np.repeat(onehot.sum(0) > 0, Vb)


def _tables(fs: np.ndarray, lv: np.ndarray, N, S1, S2, S1tot, S2tot, Q, des: Design, calibrated: bool, dom=None):
    """p of the Rao–Scott test of a batch of (row × level) tables over the levels `lv`.

    ``fs``: (B, R, Vb) membership of each answer value in each table row. Cells are in R's
    interaction order (rows fastest). ``dom``: :func:`_domain` of `fs` (computed when not given)."""
    G, L, Vb = N.shape
    B, R, _ = fs.shape
    m = len(lv)
    u, in_domain = _domain(fs, lv, L, Vb) if dom is None else dom
    WD = float(S1.sum(0)[lv].sum())
    Na, S1a, S2a = (x.reshape(G, L * Vb) for x in (N, S1, S2))
    pc = (u @ S1a.sum(0)) / WD  # (B, R·m)
    e = (u - pc[:, :, None]) / WD
    e *= in_domain[None, None, :]  # only atoms of the domain
    V = lincov(e, Na, S1a, S2a, S1tot, S2tot, Q, float(des.n), diag=False)
    nu = des.n - 1 if calibrated else float(N.sum((0, 2))[lv].sum()) - 1
    return rao_scott(pc, V, R, m, nu)


def level_tests(item, N, S1, S2, S1tot, S2tot, Q, des: Design, calibrated: bool, theta, tested: np.ndarray, cache=None):
    """Tests that the tested levels differ: (per-estimand p, whole-table p).

    Per estimand: the follow-up (chosen × level) table of a share, the Wald test of a mean.
    Whole table: single choice → the (option × level) table; multi option → its own table;
    scale → the Wald test of the mean. ``N``, ``S1``, ``S2``: (G, L, Vb) count, Σw, Σw² of the
    domain atoms; ``tested``: (L,) levels that enter the test. ``cache``: a dict shared by the
    unweighted and the weighted tests of the same `item`, `N` and `tested` (what rests on them
    alone is computed once).
    """
    G, L, Vb = N.shape
    F = item.F
    J = F.shape[1]
    out = np.full(J, np.nan)
    if cache is None:
        cache = {}
    if "lv" not in cache:
        lv = np.flatnonzero(tested)
        cache["lv"] = lv
        if len(lv) >= 2:
            cache["nD"] = float(N.sum((0, 2))[lv].sum())
            cache["onehot"] = (lv[:, None] == np.arange(L)).astype(float)
            is_mean = np.array([s == "mean" for s in item.stats])
            cache["mean_j"] = np.flatnonzero(is_mean)
            jp = np.flatnonzero(~is_mean)
            cache["jp"] = jp
            if len(jp):
                f = F[:, jp].T  # (Jp, Vb)
                fs = np.stack([1 - f, f], 1)
                cache["follow"] = (fs, _domain(fs, lv, L, Vb))
            if item.kind == "single":
                present = N[:, lv, :].sum((0, 1)) > 0  # options chosen in the tested levels
                if present.sum() >= 2:
                    fs = np.eye(Vb)[present][None]  # (1, R, Vb)
                    cache["table"] = (fs, _domain(fs, lv, L, Vb))
    lv = cache["lv"]
    m = len(lv)
    if m < 2:
        return out, math.nan
    nD = cache["nD"]
    W_l = S1.sum(0).sum(1)
    Na, S1a, S2a = (x.reshape(G, L * Vb) for x in (N, S1, S2))
    onehot = cache["onehot"]
    p_mean = math.nan
    for j in cache["mean_j"]:
        e = onehot[:, :, None] * ((F[:, j][None, :] - theta[lv, j][:, None]) / W_l[lv][:, None])[:, None, :]
        V = lincov(e.reshape(m, L * Vb), Na, S1a, S2a, S1tot, S2tot, Q, float(des.n), diag=False)
        out[j] = p_mean = wald_means(theta[lv, j], V, nD - m)
    jp = cache["jp"]
    if len(jp):
        fs, dom = cache["follow"]
        out[jp] = _tables(fs, lv, N, S1, S2, S1tot, S2tot, Q, des, calibrated, dom)
    if item.kind == "single":
        if "table" not in cache:  # fewer than two options chosen in the tested levels
            return out, math.nan
        fs, dom = cache["table"]
        return out, float(_tables(fs, lv, N, S1, S2, S1tot, S2tot, Q, des, calibrated, dom)[0])
    if item.kind == "multi":
        return out, float(out[0])
    return out, p_mean
