"""The weighting methods: post-stratification, raking (IPF) and bounded calibration (R's grake)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from belmig.weight.margins import CALIBRATION_ATTR, MISSING, Calibration, Margin, RakeError, calibration

METHODS = ("poststratify", "rake", "calibrate_bounded")
CALFUNS = ("logit", "raking")
STEP_HALVINGS = 50  # R's grake halves a step while the g-weights are not finite


@dataclass(frozen=True)
class Method:
    """How the weights are computed (``weighting`` in config/config.yaml, minus the margins)."""

    name: str  # one of METHODS
    max_iter: int
    tolerance: float
    calfun: str | None = None  # calibrate_bounded only
    bounds: tuple[float, float] | None = None  # calibrate_bounded only: weight / mean weight

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise RakeError(f"weighting method must be one of {METHODS}, got {self.name!r}")
        if self.max_iter < 1 or not self.tolerance > 0:
            raise RakeError(f"max_iter must be >= 1 and tolerance > 0 (got {self.max_iter}, {self.tolerance})")
        bounded = self.name == "calibrate_bounded"
        if bounded != (self.bounds is not None) or bounded != (self.calfun is not None):
            raise RakeError("calfun and bounds are given for method calibrate_bounded, and only for it")
        if bounded:
            lo, hi = self.bounds
            if not 0 <= lo < 1 < hi:
                raise RakeError(f"bounds must satisfy 0 <= lo < 1 < hi (weight / mean weight), got {list(self.bounds)}")
            if self.calfun not in CALFUNS:
                raise RakeError(f"calfun must be one of {CALFUNS}, got {self.calfun!r}")

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Method:
        """From the ``weighting`` section of the config (its schema has checked the keys)."""
        b = cfg.get("bounds")
        return cls(
            name=cfg["method"],
            max_iter=int(cfg["max_iter"]),
            tolerance=float(cfg["tolerance"]),
            calfun=cfg.get("calfun"),
            bounds=None if b is None else (float(b[0]), float(b[1])),
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_iter": self.max_iter,
            "tolerance": self.tolerance,
            "calfun": self.calfun,
            "bounds": None if self.bounds is None else list(self.bounds),
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Method:
        b = rec.get("bounds")
        return cls(rec["name"], int(rec["max_iter"]), float(rec["tolerance"]), rec.get("calfun"),
                   None if b is None else (float(b[0]), float(b[1])))  # fmt: skip

    def describe(self) -> str:
        if self.name == "poststratify":
            return "post-stratification"
        if self.name == "rake":
            return "raking (iterative proportional fitting)"
        lo, hi = self.bounds
        return f"bounded calibration ({self.calfun} g-function, weight / mean weight within [{lo:g}, {hi:g}])"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class WeightResult:
    resp_id: Any  # respondents' resp_id (array-like), in the order of the weighted frame
    weights: pd.Series  # the weights, index aligned with the weighted frame
    method: Method
    iterations: int  # IPF sweeps (one sweep adjusts every margin once) or Newton steps
    converged: bool
    max_gap: float  # largest relative gap |weighted - target| / target at the end
    at_bounds: int  # respondents whose weight / mean weight is at a bound (1e-6 relative)
    message: str
    margins: tuple[Margin, ...]
    unclassified: dict[str, int]  # per margin file: respondents with a missing calibration variable
    total: float

    def require_converged(self) -> None:
        if not self.converged:
            raise RakeError(self.message)

    def to_frame(self) -> pd.DataFrame:
        """The weights.parquet table (resp_id, weight) with the calibration record in .attrs."""
        ids = pd.array(np.asarray(self.resp_id, dtype=object), dtype="str")
        out = pd.DataFrame({"resp_id": ids, "weight": self.weights.to_numpy()})
        out.attrs[CALIBRATION_ATTR] = {
            "method": self.method.to_record(),
            "margins": [m.to_record() for m in self.margins],
            "total": self.total,
            "at_bounds": self.at_bounds,
        }
        return out


def _gaps(cal: Calibration, w_cell: np.ndarray, n_cell: np.ndarray) -> tuple[float, int, int]:
    """Largest relative margin gap, and where (margin index, category index)."""
    best = (0.0, -1, -1)
    for j, (codes, t) in enumerate(zip(cal.cell_codes, cal.targets)):
        tot = np.bincount(codes, weights=w_cell * n_cell, minlength=len(t))
        rel = np.abs(tot - t) / t
        i = int(np.argmax(rel))
        if rel[i] > best[0] or best[1] < 0:
            best = (float(rel[i]), j, i)
    return best


def _result(df, cal, margins, method, w, it, gap, where, n_cell) -> WeightResult:
    converged = gap < method.tolerance
    mean_w = cal.total / len(df)
    at_bounds = 0
    if method.bounds is not None:
        g = w / mean_w
        lo, hi = method.bounds
        at = np.isclose(g, lo, rtol=1e-6, atol=0) | np.isclose(g, hi, rtol=1e-6, atol=0)
        at_bounds = int(n_cell[at].sum())
    what = {"poststratify": "post-stratified", "rake": "raked", "calibrate_bounded": "calibrated"}[method.name]
    if converged:
        steps = {
            "poststratify": "in one step",
            "rake": f"after {it} sweeps",
            "calibrate_bounded": f"after {it} Newton steps",
        }
        msg = f"{what} {steps[method.name]} (largest relative margin gap {gap:.2g})"
    else:
        m = margins[where[0]]
        cat = MISSING if where[1] >= len(m.categories) else m.label(where[1])
        tgt = cal.targets[where[0]][where[1]]
        got = np.bincount(cal.cell_codes[where[0]], weights=w * n_cell, minlength=len(cal.targets[where[0]]))[where[1]]
        msg = (
            f"{method.describe()} did not converge in {method.max_iter} iterations: largest relative gap {gap:.3g} "
            f"(tolerance {method.tolerance:g}) in {m.source}, category {cat}: target {tgt:,.6g}, weighted {got:,.6g}"
        )
        if method.bounds is not None:
            msg += f"; {at_bounds} respondents at a bound — the bounds may be infeasible with these margins"
    return WeightResult(
        resp_id=df["resp_id"].array,
        weights=pd.Series(w[cal.cell], index=df.index, name="weight"),
        method=method,
        iterations=it,
        converged=converged,
        max_gap=gap,
        at_bounds=at_bounds,
        message=msg,
        margins=tuple(margins),
        unclassified={m.source: u for m, u in zip(margins, cal.unclassified)},
        total=cal.total,
    )


# ---------------------------------------------------------------- post-stratification and raking


def _prepare(df: pd.DataFrame, margins: Sequence[Margin]) -> tuple[Calibration, np.ndarray]:
    if "resp_id" not in df.columns:
        raise RakeError("responses have no resp_id column")
    if not margins:
        raise RakeError("no margins to weight to")
    cal = calibration(df, margins)
    return cal, np.bincount(cal.cell, minlength=cal.n_cells).astype(float)


def poststratify(df: pd.DataFrame, margin: Margin, *, tolerance: float = 1e-10) -> WeightResult:
    """Post-stratification to one margin (single or joint): weight = target / respondents of the cell."""
    method = Method("poststratify", 1, tolerance)
    cal, n_cell = _prepare(df, [margin])
    codes, t = cal.cell_codes[0], cal.targets[0]
    w = t[codes] / np.bincount(codes, weights=n_cell, minlength=len(t))[codes]
    gap, j, i = _gaps(cal, w, n_cell)
    return _result(df, cal, [margin], method, w, 1, gap, (j, i), n_cell)


def rake(df: pd.DataFrame, margins: Sequence[Margin], *, max_iter: int, tolerance: float) -> WeightResult:
    """Rake equal starting weights to the margins (IPF), without any cap.

    IPF runs on the calibration cells (the cross-classification of the margins' categories), so
    one sweep costs O(cells), not O(respondents). Never raises for non-convergence: the result
    says ``converged=False`` with a message naming the worst margin category
    (:meth:`WeightResult.require_converged` raises it; :func:`write` and :func:`to_values` do).
    """
    method = Method("rake", max_iter, tolerance)
    cal, n_cell = _prepare(df, margins)
    w = np.full(cal.n_cells, cal.total / len(df))
    gap, where, it = math.inf, (-1, -1), 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the sweep count is reported after the loop)
        for codes, t in zip(cal.cell_codes, cal.targets):
            tot = np.bincount(codes, weights=w * n_cell, minlength=len(t))
            w = w * (t / tot)[codes]
        gap, j, i = _gaps(cal, w, n_cell)
        where = (j, i)
        if gap < tolerance:
            break
    return _result(df, cal, margins, method, w, it, gap, where, n_cell)


# ---------------------------------------------------------------- bounded calibration (R's grake)


def _calfun(name: str, lo: float, hi: float):
    """R survey's ``cal.logit`` / ``cal.raking``: (Fm1, dF) of the g-function g = 1 + Fm1(u)."""
    if name == "logit":
        A = (hi - lo) / ((hi - 1) * (1 - lo))

        def fm1(u):
            e = np.exp(A * u)
            return (lo * (hi - 1) + hi * (1 - lo) * e) / (hi - 1 + (1 - lo) * e) - 1

        def df(u):
            e = np.exp(A * u)
            den = hi - 1 + (1 - lo) * e
            return hi * (1 - lo) * e * A / den - (lo * (hi - 1) + hi * (1 - lo) * e) * ((1 - lo) * e * A) / den**2

        return fm1, df

    def fm1r(u):
        return np.clip(np.exp(u), lo, hi) - 1

    def dfr(u):
        # R's cal.raking compares u with bounds - 1 (not log(bounds)); reproduced as R has it
        return np.where((u < hi - 1) & (u > lo - 1), np.exp(u), 0.0)

    return fm1r, dfr


def calibrate_bounded(
    df: pd.DataFrame,
    margins: Sequence[Margin],
    *,
    calfun: str,
    bounds: tuple[float, float],
    max_iter: int,
    tolerance: float,
) -> WeightResult:
    """Generalised raking with bounds on weight / mean weight (R: ``calibrate(..., bounds, calfun)``).

    Starting weights d = N/n; final weights w = d·g(xη) with g = 1 + Fm1(xη) in [lo, hi]; η solves
    the calibration equations Σ w x = totals by Newton's method with a generalised inverse of the
    Jacobian and step halving while g is not finite, as R's ``grake``. x holds the indicators of
    every margin category (R's model matrix spans the same space: the g-weights are the same).
    """
    method = Method("calibrate_bounded", max_iter, tolerance, calfun, tuple(bounds))
    cal, n_cell = _prepare(df, margins)
    lo, hi = method.bounds
    fm1, dF = _calfun(calfun, lo, hi)
    X = cal.design_matrix()  # (G, K)
    pop = np.concatenate(cal.targets)
    d = cal.total / len(df)
    dn = d * n_cell  # Σ d over each cell
    sample_total = X.T @ dn
    eta = np.zeros(X.shape[1])
    xeta = X @ eta
    gap, where, it = math.inf, (-1, -1), 0
    for it in range(1, max_iter + 1):  # noqa: B007
        T = X.T @ ((dn * dF(xeta))[:, None] * X)
        misfit = pop - sample_total - X.T @ (dn * fm1(xeta))
        deta = np.linalg.pinv(T, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + deta
        xeta = X @ eta
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(STEP_HALVINGS):
                g, der = 1 + fm1(xeta), dF(xeta)
                if np.isfinite(g).all() and np.isfinite(der).all():
                    break
                deta = deta / 2
                eta = eta - deta
                xeta = X @ eta
        w = d * (1 + fm1(xeta))
        gap, j, i = _gaps(cal, w, n_cell)
        where = (j, i)
        if gap < tolerance:
            break
    w = d * (1 + fm1(xeta))
    return _result(df, cal, margins, method, w, it, gap, where, n_cell)


def weigh(df: pd.DataFrame, margins: Sequence[Margin], method: Method) -> WeightResult:
    """The weights by `method`; post-stratification takes exactly one margin file, raking and
    bounded calibration at least two (with one margin they would be post-stratification)."""
    if method.name == "poststratify":
        if len(margins) != 1:
            raise RakeError(
                f"post-stratification uses exactly one margin file, got {len(margins)}: "
                "use method rake or calibrate_bounded for several margins"
            )
        return poststratify(df, margins[0], tolerance=method.tolerance)
    if len(margins) < 2:
        raise RakeError(
            f"method {method.name} needs at least two margin files (got {len(margins)}); with one margin it is "
            "post-stratification: use method poststratify"
        )
    if method.name == "rake":
        return rake(df, margins, max_iter=method.max_iter, tolerance=method.tolerance)
    return calibrate_bounded(
        df, margins, calfun=method.calfun, bounds=method.bounds, max_iter=method.max_iter, tolerance=method.tolerance
    )


# ---------------------------------------------------------------- diagnostics
