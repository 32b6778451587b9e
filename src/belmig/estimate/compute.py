"""Shares and means of every choice and scale question, unweighted and weighted, with honest
uncertainty: calibration-aware linearised standard errors, confidence intervals as R's
``survey`` computes them, subgroup estimates with design-based tests of difference.

Method (checked against R's survey 4.1 to 1e-6 by tests/test_estimate.py; see tests/r/):

* **Design.** An open online sample: one stage, no strata, no clusters, equal starting
  weights (R: ``svydesign(ids=~1, data=d)``), raked to the margins recorded with the weights
  (R: ``rake(des, margins, targets)``). Unweighted rows use the same design without the raking
  (weights 1).
* **Base.** A question's universe with item non-response excluded (R: ``subset(des,
  !is.na(y))``); a subgroup level further restricts it (R: ``subset(des, !is.na(y) & g ==
  level)``). Estimates are ratios Σ w·y / Σ w over the base (domain estimation: the
  respondents outside the base stay in the design for the variance).
* **Standard errors.** Taylor linearisation of the ratio: z_i = w_i·d_i·(y_i - θ)/Σ_base w.
  For raked weights z_i/w_i is replaced by its residual from the (unweighted) least-squares
  projection on the margin indicators — the raking/GREG linearisation, which R's
  ``svyrecvar`` reaches by back-fitting — times the final weight. Variance
  ``n/(n-1) Σ (z_i - z̄)²`` over all n respondents (R keeps the full sample's PSU count for a
  domain even where it drops the rows). Unweighted rows: the same with w = 1 and no raking,
  i.e. ``n/(n-1) · Σ_base (y - p)² / n_base²`` (SRS for a domain of an equal-probability
  sample, as R computes it).
* **Proportions' intervals** (``ci_method``): "logit" = ``svyciprop(method="logit")``:
  ``expit(logit p ± t_{df} · se / (p(1-p)))``, df = base n - 1; "beta" = ``svyciprop(method=
  "beta")`` (Korn–Graubard): Clopper–Pearson on ``n* = p(1-p)/var · (t_{N-1}/t_{df})²`` with
  N = R's ``nrow(design)`` (a subset of a raked design keeps every respondent with weight 0,
  so N = all respondents; a subset of the unweighted design keeps the base, N = base n).
  When p is 0 or 1 R's intervals are undefined (NaN, or a non-converged glm); we give the exact
  Clopper–Pearson interval on the Kish effective base size (``ci_method`` "clopper-pearson").
  A share that the raking fixes exactly (a margin category) has se 0 and the interval [p, p].
* **Means' intervals**: normal, as ``confint(svymean(...))``.
* **Effective n** (``n_eff``): Kish's ``(Σw)²/Σw²`` over the base (= n unweighted).
* **Suppression** (``suppressed``): subgroup rows whose base n, or (shares) count k, is below
  ``min_cell``; rows for all respondents are one-way tables and never suppressed.
* **Tests of difference between subgroup levels** (``p_diff``), on the base with the subgroup
  known, over the levels that have respondents: for a share, the Rao–Scott second-order
  corrected Pearson test of the (option chosen × level) table, ``svychisq(~y + g, statistic=
  "F")`` (F with d0 and d0·ν df; ν = R's PSU count - 1: all respondents - 1 when raked,
  base n - 1 when unweighted); for a mean, the Wald F test that all level means are equal,
  ``regTermTest(svyglm(y ~ g), ~g)`` (ddf = base n - levels), which for two levels equals
  ``svyttest``. Unweighted rows carry the same tests on the unweighted design.
* **Subgroups**: ``estimation.subgroups`` of the config plus every question a codebook chart
  is drawn for a subgroup of (chart 8: income sources by ``income_regular``).
* **Weights** come as ``weights.parquet`` (resp_id, weight) whose ``attrs["calibration"]``
  (written by :func:`belmig.weight.write`) lists the margins they were raked to; the raking
  variables are read from the responses and the weights must reproduce the targets.

Speed: respondents are grouped once into "background cells" (calibration cell × subgroup
levels); every question then costs three ``np.bincount`` passes over the rows and the rest is
algebra on cell tables, so 1,000,000 respondents take seconds (benchmarks/bench_weighting.py).

Size: kept whole (a little above 600 lines) by the package reorganisation of issue 12; the
estimation work restructures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from belmig import weight as wt
from belmig.core import keys
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import multi_column
from belmig.core.ledger import format_value

TOP_BOX = 8  # "8 or higher": the top-box share the 2022 report prints for 1–10 scales
CI_METHODS = ("logit", "beta")
COLUMNS = [
    "question", "option", "stat", "by", "level", "weighted", "estimate", "se", "ci_low", "ci_high",
    "ci_method", "n", "k", "n_eff", "suppressed", "p_diff",
]  # fmt: skip
_CALIBRATED_VAR_RTOL = 1e-10  # var below this × p(1-p)/n: a share fixed by the raking (se = 0)


class EstimateError(ValueError):
    """Responses, weights or settings do not allow the estimates."""


# ---------------------------------------------------------------- design


@dataclass(frozen=True)
class _Design:
    n: int
    w: np.ndarray  # (n,) weights of the weighted design
    calibrated: bool
    G: int  # calibration cells
    Q: np.ndarray | None  # (G, G) projection of cell sums on the margin indicators
    cell: np.ndarray  # (n,) calibration cell
    tot: dict[bool, tuple[np.ndarray, np.ndarray]]  # weighted? -> per-cell (Σw, Σw²)


def _calibration_margins(weights: pd.DataFrame) -> list[wt.Margin]:
    rec = weights.attrs.get(wt.CALIBRATION_ATTR)
    if rec is None:
        raise EstimateError(
            "the weights carry no calibration record (weights.attrs['calibration']): write them with "
            "belmig.weight.write / RakeResult.to_frame(), or set attrs['calibration'] = {'margins': []} "
            "for weights that were not calibrated"
        )
    return [wt.Margin.from_record(m) for m in rec["margins"]]


def _align_weights(responses: pd.DataFrame, weights: pd.DataFrame) -> np.ndarray:
    for col in ("resp_id", "weight"):
        if col not in weights.columns:
            raise EstimateError(f"weights have no {col!r} column")
    ids = responses["resp_id"].astype("str")
    wi = weights["resp_id"].astype("str")
    if len(ids) == len(wi) and bool((ids.array == wi.array).all()):  # same respondents, same order
        w = weights["weight"].to_numpy(dtype=float)
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise EstimateError("weights must be positive and finite")
        return w
    if ids.duplicated().any():
        raise EstimateError(f"responses repeat resp_id {ids[ids.duplicated()].iloc[0]!r}")
    if wi.duplicated().any():
        raise EstimateError(f"weights repeat resp_id {wi[wi.duplicated()].iloc[0]!r}")
    w = pd.Series(weights["weight"].to_numpy(dtype=float), index=wi.to_numpy()).reindex(ids.to_numpy())
    if w.isna().any():
        raise EstimateError(
            f"{int(w.isna().sum())} respondents have no weight (e.g. {ids[w.isna().to_numpy()].iloc[0]!r})"
        )
    if len(wi) != len(ids):
        raise EstimateError(f"{len(wi) - len(ids)} weights belong to no respondent")
    w = w.to_numpy()
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise EstimateError("weights must be positive and finite")
    return w


def _design(responses: pd.DataFrame, weights: pd.DataFrame) -> _Design:
    w = _align_weights(responses, weights)
    margins = _calibration_margins(weights)
    n = len(responses)
    if margins:
        cal = wt.calibration(responses, margins)
        for m, codes, t in zip(margins, cal.cell_codes, cal.targets):
            got = np.bincount(codes[cal.cell], weights=w, minlength=len(t))
            if not np.allclose(got, t, rtol=1e-6, atol=0):
                raise EstimateError(f"the weights do not reproduce the targets of {m.source} they were raked to")
        D = cal.design_matrix()
        n_g = np.bincount(cal.cell, minlength=cal.n_cells).astype(float)
        gram = D.T @ (n_g[:, None] * D)
        Q = D @ np.linalg.pinv(gram, rcond=1e-10, hermitian=True) @ D.T
        cell, G = cal.cell, cal.n_cells
    else:
        Q, cell, G = None, np.zeros(n, dtype=np.int64), 1
    ones = np.ones(n)
    tot = {
        True: (np.bincount(cell, weights=w, minlength=G), np.bincount(cell, weights=w * w, minlength=G)),
        False: (np.bincount(cell, weights=ones, minlength=G), np.bincount(cell, weights=ones, minlength=G)),
    }
    return _Design(n=n, w=w, calibrated=Q is not None, G=G, Q=Q, cell=cell, tot=tot)


# ---------------------------------------------------------------- linearised covariance


def _lincov(
    e: np.ndarray,
    N: np.ndarray,
    S1: np.ndarray,
    S2: np.ndarray,
    S1tot: np.ndarray,
    S2tot: np.ndarray,
    Q: np.ndarray | None,
    n: float,
    diag: bool,
) -> np.ndarray:
    """Covariance of ratio estimates from their linearised values on "atoms".

    An atom is a set of respondents of one calibration cell g who share every value the
    estimates depend on (subgroup level, answer), so each estimate's linearised value
    e_j = d·(y - θ_j)/Σ_domain w is constant on it. ``e``: (..., J, A) values per atom type;
    ``N``, ``S1``, ``S2``: (G, A) count, Σw, Σw² of each atom; ``S1tot``, ``S2tot``: (G,) Σw,
    Σw² of every respondent of cell g (respondents in no atom have e = 0). With a projection
    ``Q`` (raking) the values are replaced by their residuals r = e - h_g, h = Q·(Σ_cell e),
    the least-squares projection on the margin indicators; the variance is
    n/(n-1) [Σ (w r)² - (Σ w r)²/n] over the n respondents of the design, as R's svyrecvar.
    Returns (..., J) variances if ``diag`` else (..., J, J) covariances.
    """
    S2a = S2.sum(0)
    cross = (e * e) @ S2a if diag else (e * S2a) @ np.swapaxes(e, -1, -2)
    sw = e @ S1.sum(0)
    if Q is not None:
        h = (e @ N.T) @ Q.T  # (..., J, G)
        P = e @ S2.T  # (..., J, G): Σ_a S2[g, a] e[j, a]
        if diag:
            cross = cross - 2 * (h * P).sum(-1) + (h * h) @ S2tot
        else:
            hT, PT = np.swapaxes(h, -1, -2), np.swapaxes(P, -1, -2)
            cross = cross - h @ PT - P @ hT + (h * S2tot) @ hT
        sw = sw - h @ S1tot
    if diag:
        return n / (n - 1) * (cross - sw * sw / n)
    return n / (n - 1) * (cross - sw[..., :, None] * sw[..., None, :] / n)


# ---------------------------------------------------------------- questions


@dataclass(frozen=True)
class _Item:
    """One analysed variable: a single/scale question or one option of a multi question."""

    question: str
    v: np.ndarray  # (n,) 0 = outside the base, 1..V-1 = the answer's position
    V: int
    F: np.ndarray  # (V-1, J) scores of the estimands on the answer values
    options: tuple[str, ...]
    stats: tuple[str, ...]


def _values(q: Question, responses: pd.DataFrame) -> list[_Item]:
    if q.type == "single":
        if q.id not in responses.columns:
            raise EstimateError(f"responses have no column {q.id!r} (question {q.id})")
        try:
            v = wt.option_codes(responses[q.id], q.keys, q.id) + 1
        except wt.RakeError as exc:
            raise EstimateError(str(exc)) from None
        K = len(q.keys)
        return [_Item(q.id, v, K + 1, np.eye(K), tuple(q.keys), ("pct",) * K)]
    if q.type == "scale":
        if q.id not in responses.columns:
            raise EstimateError(f"responses have no column {q.id!r} (question {q.id})")
        lo, hi = int(q.scale["min"]), int(q.scale["max"])
        x = responses[q.id].to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(x)
        bad = ok & ((x != np.round(x)) | (x < lo) | (x > hi))
        if bad.any():
            raise EstimateError(f"{q.id}: values outside the scale {lo}–{hi}: {sorted(set(x[bad].tolist()))[:5]}")
        v = np.where(ok, np.nan_to_num(x) - lo + 1, 0).astype(np.int64)
        vals = np.arange(lo, hi + 1, dtype=float)
        cols = [(vals == s).astype(float) for s in vals]
        options = [f"v{int(s)}" for s in vals]
        st = ["pct"] * len(vals)
        if lo <= TOP_BOX <= hi:
            cols.append((vals >= TOP_BOX).astype(float))
            options.append(f"ge{TOP_BOX}")
            st.append("pct")
        cols.append(vals)
        options.append("")
        st.append("mean")
        return [_Item(q.id, v, len(vals) + 1, np.column_stack(cols), tuple(options), tuple(st))]
    # multi: one binary item per option; the NA pattern must be the same for all options
    items, na0 = [], None
    for key in q.keys:
        col = multi_column(q.id, key)
        if col not in responses.columns:
            raise EstimateError(f"responses have no column {col!r} (question {q.id})")
        s = responses[col]
        na = s.isna().to_numpy()
        if na0 is None:
            na0 = na
        elif (na != na0).any():
            raise EstimateError(f"{q.id}: option columns are missing for different respondents ({col!r})")
        v = s.to_numpy(dtype=np.int8, na_value=-1).astype(np.int64) + 1  # 0 NA, 1 no, 2 yes
        items.append(_Item(q.id, v, 3, np.array([[0.0], [1.0]]), (key,), ("pct",)))
    return items


def _check_universe(q: Question, item: _Item, responses: pd.DataFrame, codebook: Codebook) -> None:
    if q.universe is None:
        return
    parent = codebook[q.universe.question]
    codes = wt.option_codes(responses[parent.id], parent.keys, parent.id)
    allowed = np.array([parent.keys.index(k) for k in q.universe.values])
    outside = (item.v > 0) & ~np.isin(codes, allowed)
    if outside.any():
        raise EstimateError(
            f"{q.id}: {int(outside.sum())} respondents answered although outside the universe "
            f"({parent.id} in {list(q.universe.values)}); responses must be NA there"
        )


def subgroup_questions(codebook: Codebook, estimation_cfg: dict[str, Any]) -> list[str]:
    """The config's subgroups plus the subgroups the charts are drawn for (codebook charts)."""
    out = list(estimation_cfg["subgroups"])
    for ch in codebook.charts:
        if ch.subgroup is not None and ch.subgroup.question not in out:
            out.append(ch.subgroup.question)
    for b in out:
        if b not in codebook.by_id or codebook[b].type != "single":
            raise EstimateError(f"subgroup {b!r} is not a single-choice question of the codebook")
    return out


# ---------------------------------------------------------------- intervals


def _prop_ci(p, var, n, n_eff_kish, nrow, level, method):
    """se and interval of proportions (arrays of one shape); returns se, lo, hi, method label."""
    alpha = 1 - level
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    label = np.full(p.shape, method, dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.clip(var, 0, None))
        fixed = (p > 0) & (p < 1) & (var <= _CALIBRATED_VAR_RTOL * p * (1 - p) / n)
        inner = (p > 0) & (p < 1) & ~fixed & (n > 1) & np.isfinite(var)
        df = np.where(inner, n - 1, 1.0)
        pi = np.where(inner, p, 0.5)
        if method == "logit":
            half = stats.t.ppf(1 - alpha / 2, df) * se / (pi * (1 - pi))
            lo = np.where(inner, special.expit(special.logit(pi) - half), lo)
            hi = np.where(inner, special.expit(special.logit(pi) + half), hi)
        elif method == "beta":
            nr = np.where(inner, nrow, 2.0)
            adj = (stats.t.ppf(alpha / 2, nr - 1) / stats.t.ppf(alpha / 2, df)) ** 2
            ne = np.where(inner, pi * (1 - pi) / np.where(inner, var, 1.0) * adj, 1.0)
            lo = np.where(inner, special.betaincinv(ne * pi, ne * (1 - pi) + 1, alpha / 2), lo)
            hi = np.where(inner, special.betaincinv(ne * pi + 1, ne * (1 - pi), 1 - alpha / 2), hi)
        else:
            raise EstimateError(f"ci_method must be one of {CI_METHODS}, got {method!r}")
        lo = np.where(fixed, p, lo)
        hi = np.where(fixed, p, hi)
        # p = 0 or 1: exact Clopper–Pearson on the Kish effective base size
        zero = (p == 0) & (n > 0)
        one = (p == 1) & (n > 0)
        lo = np.where(zero, 0.0, np.where(one, (alpha / 2) ** (1 / n_eff_kish), lo))
        hi = np.where(zero, 1 - (alpha / 2) ** (1 / n_eff_kish), np.where(one, 1.0, hi))
    label[zero | one] = "clopper-pearson"
    se = np.where(fixed, 0.0, se)
    return se, lo, hi, label


# ---------------------------------------------------------------- tests of difference


@cache
def _cmat(nr: int, nc: int) -> np.ndarray:
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


def _rao_scott(p: np.ndarray, V: np.ndarray, nr: int, nc: int, nu: float) -> np.ndarray:
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
    Cm = _cmat(nr, nc)
    inv = np.where(p == 0, 0.0, 1 / np.where(p == 0, 1.0, p))
    denom = Cm.T @ (inv[:, :, None] * Cm)
    numr = Cm.T @ (inv[:, :, None] * V * inv[:, None, :]) @ Cm
    res = np.full(len(p), np.nan)
    for i in range(len(p)):  # small (nc-1)² systems; a singular one gives NaN, as R would fail
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


def _wald_means(mu: np.ndarray, V: np.ndarray, ddf: float) -> float:
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


# ---------------------------------------------------------------- one block


def _block(item: _Item, T: np.ndarray, des: _Design, weighted: bool, test: bool) -> dict[str, np.ndarray]:
    """Point estimates, variances and tests of one item in the L levels of one breakdown.

    ``T``: (3, G, L+1, V) count, Σw, Σw² by calibration cell, level (0 = level missing) and
    answer (0 = outside the base). Returns (L, J) arrays.
    """
    N, S1, S2 = T[0][:, 1:, 1:], T[1][:, 1:, 1:], T[2][:, 1:, 1:]  # (G, L, Vb): the domains
    if not weighted:
        S1 = S2 = N
    G, L, Vb = N.shape
    F = item.F
    J = F.shape[1]
    S1tot, S2tot = des.tot[weighted]
    calibrated = weighted and des.calibrated
    Q = des.Q if calibrated else None

    S1lv = S1.sum(0)  # (L, Vb)
    n_l = N.sum((0, 2))
    W_l = S1lv.sum(1)
    W2_l = S2.sum((0, 2))
    ok = n_l > 0
    Wd = np.where(ok, W_l, 1.0)
    theta = (S1lv @ F) / Wd[:, None]  # (L, J)
    k = N.sum(0) @ F
    # linearised values on atoms (l', v): block-diagonal in the level
    e = np.zeros((L, J, L, Vb))
    li = np.flatnonzero(ok)
    e[li, :, li, :] = (F.T[None, :, :] - theta[li][:, :, None]) / Wd[li][:, None, None]
    Na, S1a, S2a = (x.reshape(G, L * Vb) for x in (N, S1, S2))
    var = _lincov(e.reshape(L * J, L * Vb), Na, S1a, S2a, S1tot, S2tot, Q, float(des.n), diag=True).reshape(L, J)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(ok, W_l**2 / W2_l, np.nan) if weighted else n_l.astype(float)
    out = {
        "estimate": np.where(ok[:, None], theta, np.nan),
        "var": np.where(ok[:, None], var, np.nan),
        "n": np.repeat(n_l[:, None], J, 1),
        "k": k,
        "n_eff": np.repeat(n_eff[:, None], J, 1),
        # R's nrow(design) for the Korn–Graubard df adjustment
        "nrow": np.full((L, J), des.n) if calibrated else np.repeat(n_l[:, None], J, 1),
        "p_diff": np.full((L, J), np.nan),
    }
    if test:
        out["p_diff"][:] = _tests(item, N, S1, S2, S1tot, S2tot, Q, des, calibrated, theta)[None, :]
    return out


def _tests(item: _Item, N, S1, S2, S1tot, S2tot, Q, des: _Design, calibrated: bool, theta) -> np.ndarray:
    """p of the test that the levels differ, per estimand (on the base with the level known)."""
    G, L, Vb = N.shape
    F = item.F
    J = F.shape[1]
    out = np.full(J, np.nan)
    n_l = N.sum((0, 2))
    lv = np.flatnonzero(n_l > 0)  # levels with respondents
    m = len(lv)
    if m < 2:
        return out
    nD = float(n_l[lv].sum())
    S1lv = S1.sum(0)
    W_l = S1lv.sum(1)
    WD = float(W_l[lv].sum())
    Na, S1a, S2a = (x.reshape(G, L * Vb) for x in (N, S1, S2))
    onehot = (lv[:, None] == np.arange(L)).astype(float)  # (m, L)
    is_mean = np.array([s == "mean" for s in item.stats])
    for j in np.flatnonzero(is_mean):
        e = onehot[:, :, None] * ((F[:, j][None, :] - theta[lv, j][:, None]) / W_l[lv][:, None])[:, None, :]
        V = _lincov(e.reshape(m, L * Vb), Na, S1a, S2a, S1tot, S2tot, Q, float(des.n), diag=False)
        out[j] = _wald_means(theta[lv, j], V, nD - m)
    jp = np.flatnonzero(~is_mean)
    if len(jp) == 0:
        return out
    # 2 × m tables (option not chosen / chosen × level), cells in R's order (rows fastest)
    f = F[:, jp].T  # (Jp, Vb)
    fs = np.stack([1 - f, f], 1)  # (Jp, 2, Vb)
    u = onehot[None, :, None, :, None] * fs[:, None, :, None, :]  # (Jp, m, 2, L, Vb)
    u = u.reshape(len(jp), 2 * m, L * Vb)
    pc = (u @ S1a.sum(0)) / WD  # (Jp, 2m)
    e = (u - pc[:, :, None]) / WD
    e *= np.repeat(onehot.sum(0) > 0, Vb)[None, None, :]  # only atoms of the domain
    V = _lincov(e, Na, S1a, S2a, S1tot, S2tot, Q, float(des.n), diag=False)
    # R's svychisq: nu = PSUs - strata of the design object; a subset of a raked design keeps
    # every respondent (weight 0), a subset of the unweighted one only the domain
    nu = des.n - 1 if calibrated else nD - 1
    out[jp] = _rao_scott(pc, V, 2, m, nu)
    return out


# ---------------------------------------------------------------- all estimates


def estimate_all(
    responses: pd.DataFrame,
    weights: pd.DataFrame,
    codebook: Codebook,
    estimation_cfg: dict[str, Any],
    min_cell: int,
) -> pd.DataFrame:
    """Every choice and scale question of the codebook, overall and by subgroup, unweighted
    and weighted, in the ``estimates.parquet`` contract (docs/architecture.md)."""
    for key in ("confidence", "ci_method", "subgroups"):
        if key not in estimation_cfg:
            raise EstimateError(f"estimation settings lack {key!r}")
    method = estimation_cfg["ci_method"]
    if method not in CI_METHODS:
        raise EstimateError(f"ci_method must be one of {CI_METHODS}, got {method!r}")
    level = float(estimation_cfg["confidence"])
    if "resp_id" not in responses.columns:
        raise EstimateError("responses have no resp_id column")
    des = _design(responses, weights)
    bys = subgroup_questions(codebook, estimation_cfg)
    by_codes = {}
    for b in bys:
        if b not in responses.columns:
            raise EstimateError(f"responses have no column {b!r} (subgroup)")
        by_codes[b] = wt.option_codes(responses[b], codebook[b].keys, b) + 1  # 0 = missing
    # background cells: calibration cell × every subgroup's level (0 = missing)
    key = des.cell.astype(np.int64)
    for b in bys:
        key = key * (len(codebook[b].keys) + 1) + by_codes[b]
    size = des.G
    for b in bys:
        size *= len(codebook[b].keys) + 1
    uniq, bg = wt.compress(key, size)
    B = len(uniq)
    rest = uniq.copy()
    bg_level = {}
    for b in reversed(bys):
        r = len(codebook[b].keys) + 1
        bg_level[b] = rest % r
        rest //= r
    bg_g = rest
    w = des.w
    w2 = w * w

    cols: dict[str, list] = {c: [] for c in ("question", "option", "stat", "by", "level", "weighted")}
    nums: dict[str, list] = {c: [] for c in ("estimate", "var", "n", "k", "n_eff", "nrow", "p_diff")}
    for q in codebook.of_type("single", "multi", "scale"):
        items = _values(q, responses)
        _check_universe(q, items[0], responses, codebook)
        for item in items:
            V = item.V
            idx = bg * V + item.v
            T = np.stack([
                np.bincount(idx, minlength=B * V), np.bincount(idx, weights=w, minlength=B * V),
                np.bincount(idx, weights=w2, minlength=B * V),
            ]).reshape(3, B, V)  # fmt: skip
            J = len(item.options)
            for by in [""] + [b for b in bys if b != q.id]:
                if by == "":
                    L, lvl, levels = 1, np.ones(B, dtype=np.int64), [""]
                else:
                    levels = codebook[by].keys
                    L, lvl = len(levels), bg_level[by]
                flat = ((bg_g * (L + 1) + lvl)[:, None] * V + np.arange(V)).ravel()
                Tb = np.stack(
                    [np.bincount(flat, weights=T[i].ravel(), minlength=des.G * (L + 1) * V) for i in range(3)]
                )
                Tb = Tb.reshape(3, des.G, L + 1, V)
                for weighted in (False, True):
                    res = _block(item, Tb, des, weighted, test=by != "")
                    cols["question"].append(np.full(L * J, q.id, dtype=object))
                    cols["option"].append(np.tile(np.array(item.options, dtype=object), L))
                    cols["stat"].append(np.tile(np.array(item.stats, dtype=object), L))
                    cols["by"].append(np.full(L * J, by, dtype=object))
                    cols["level"].append(np.repeat(np.array(levels, dtype=object), J))
                    cols["weighted"].append(np.full(L * J, weighted))
                    for c in nums:
                        nums[c].append(np.asarray(res[c], dtype=float).ravel())
    a = {c: np.concatenate(v) for c, v in {**cols, **nums}.items()}
    is_mean = a["stat"] == "mean"
    est, var, n = a["estimate"], a["var"], a["n"]
    se, lo, hi, label = _prop_ci(np.where(is_mean, 0.5, est), var, n, a["n_eff"], a["nrow"], level, method)
    z = special.ndtri(1 - (1 - level) / 2)
    se_m = np.sqrt(np.clip(var, 0, None))
    se = np.where(is_mean, se_m, se)
    lo = np.where(is_mean, est - z * se_m, lo)
    hi = np.where(is_mean, est + z * se_m, hi)
    label = np.where(is_mean, "normal", label)
    scale = np.where(is_mean, 1.0, 100.0)  # percent for shares
    k = np.where(is_mean, np.nan, a["k"])
    kk = np.where(is_mean, np.inf, a["k"])
    out = pd.DataFrame({
        **{c: pd.array(a[c], dtype="str") for c in ("question", "option", "stat", "by", "level")},
        "weighted": a["weighted"].astype(bool),
        "estimate": est * scale, "se": se * scale, "ci_low": lo * scale, "ci_high": hi * scale,
        "ci_method": pd.array(label.astype(str), dtype="str"),
        "n": n.astype(np.int64),
        "k": pd.array(np.where(np.isnan(k), 0, k).astype(np.int64), dtype="Int64"),
        "n_eff": a["n_eff"],
        "suppressed": (a["by"] != "") & ((n < min_cell) | (kk < min_cell)),
        "p_diff": a["p_diff"],
    })  # fmt: skip
    out.loc[is_mean, "k"] = pd.NA
    return out[COLUMNS]


def write(estimates: pd.DataFrame, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    estimates.to_parquet(path, index=False)


# ---------------------------------------------------------------- ledger


def _ci_text(lo: float, hi: float, kind: str) -> str:
    return f"{format_value(lo, kind)}–{format_value(hi, kind)}"


def to_values(estimates: pd.DataFrame, vals) -> None:
    """Ledger keys per docs/architecture.md (cell "estimate-values").

    pct/count/n/wpct/wci/mean/wmean/wci_mean for all respondents; pctby/nby (unweighted, like
    pct) and pby (p of the design-based test on the weighted data) for subgroups. Suppressed
    subgroup cells are not recorded (the report cannot print them).
    """
    cell = "estimate-values"

    def add(key: str, value: Any, kind: str, description: str, r=None, **extra: Any) -> None:
        stats_ = {}
        if r is not None:
            stats_ = {"n": int(r.n), "n_eff": float(r.n_eff), "se": float(r.se), "ci_low": float(r.ci_low),
                      "ci_high": float(r.ci_high), "weighted": bool(r.weighted)}  # fmt: skip
        vals.add(key, value, kind, cell=cell, description=description, **stats_, **extra)

    for r in estimates[estimates["by"] == ""].itertuples(index=False):
        q, o = r.question, r.option
        ci = f"{r.ci_method} {format_value(r.ci_low, r.stat)}–{format_value(r.ci_high, r.stat)}"
        if r.stat == "pct" and not r.weighted:
            add(keys.pct(q, o), r.estimate, "pct", f"{q} = {o}: unweighted percent of the base", r)
            add(keys.count(q, o), int(r.k), "count", f"{q} = {o}: respondents", n=int(r.n))
            if keys.n(q) not in vals.entries:
                add(keys.n(q), int(r.n), "count", f"{q}: base (asked and answered)")
        elif r.stat == "pct":
            add(keys.wpct(q, o), r.estimate, "pct", f"{q} = {o}: weighted percent ({ci})", r)
            add(keys.wci(q, o), _ci_text(r.ci_low, r.ci_high, "pct"), "text", f"{q} = {o}: {r.ci_method} CI of wpct", r)
        elif not r.weighted:
            add(keys.mean(q), r.estimate, "mean", f"{q}: unweighted mean", r)
        else:
            add(keys.wmean(q), r.estimate, "mean", f"{q}: weighted mean ({ci})", r)
            add(keys.wci_mean(q), _ci_text(r.ci_low, r.ci_high, "mean"), "text", f"{q}: normal CI of wmean", r)
    sub = estimates[(estimates["by"] != "") & (estimates["stat"] == "pct")]
    for r in sub[~sub["weighted"]].itertuples(index=False):
        nkey = keys.nby(r.by, r.level, r.question)
        if nkey not in vals.entries:
            add(nkey, int(r.n), "count", f"{r.question}: base among {r.by} = {r.level}")
        if not r.suppressed:
            add(keys.pctby(r.by, r.level, r.question, r.option), r.estimate, "pct",
                f"{r.question} = {r.option} among {r.by} = {r.level}: unweighted percent", r)  # fmt: skip
    for r in sub[sub["weighted"]].drop_duplicates(["by", "question", "option"]).itertuples(index=False):
        add(keys.pby(r.by, r.question, r.option), r.p_diff, "pvalue",
            f"{r.question} = {r.option} by {r.by}: p of the Rao–Scott test (weighted)", weighted=True)  # fmt: skip
