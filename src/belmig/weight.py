"""Survey weights calibrated to population margins, and their diagnostics.

Margins are data files under ``data/external/`` (format: ``data/external/README.md``): a CSV
whose columns are one or more single-choice codebook questions plus ``target`` (one row per
category; several question columns make a joint margin, e.g. ``sex,age_group,target``), and a
``.meta.yaml`` sidecar with its provenance. :func:`read_margins` validates them, :func:`weigh`
computes the weights by the configured method, :func:`diagnostics` and :func:`summary` describe
them, :func:`to_values` records them in the ledger and :func:`write` writes ``weights.parquet``
(with the calibration record that :mod:`belmig.estimate` needs for calibration-aware standard
errors, and that the sensitivity analysis re-weights with).

Methods (``weighting.method``; config.schema.yaml ties each to the margins it can use):

* ``poststratify`` — **one** margin file (a single variable, or a joint one such as sex × age):
  every respondent of a category gets target / respondents of the category. Nothing is
  iterated and nothing can be trimmed: with one margin every weight is fixed by it, so a cap
  could only be met by missing the margin.
* ``rake`` — **several** margin files: iterative proportional fitting (IPF) on the joint
  calibration cells until every margin is met within ``tolerance`` (R: ``rake``). No bounds.
* ``calibrate_bounded`` — several margin files, and the weights kept within ``bounds`` =
  [lo, hi] × the mean weight (the starting weight N/n): generalised raking with bounds as R's
  ``calibrate(design, formula, population, bounds = c(lo, hi), calfun = "logit" | "raking")``
  (Deville & Särndal 1992), Newton's method on the calibration equations (R's ``grake``,
  including its step halving and generalised inverse). ``calfun: logit`` (a smooth g-function
  that stays strictly inside the bounds; it converges whenever the bounds are feasible) or
  ``raking`` (exp, truncated at the bounds, as R's ``cal.raking``). The margins hold exactly; the
  bounds replace trimming, which (as ``trimWeights`` does) would miss the margins or, re-raked,
  need not converge. Bounds that cannot be met together with the margins stop the build with a
  message naming the margin category with the largest gap.

Decisions (documented here and in data/external/README.md):

* Starting weights are equal (the survey is an open online sample with no design weights):
  N/n each; calibrated weights sum to the population total N of the margins.
* A respondent whose answer to a calibration variable is missing is kept. On that margin they
  form a separate "(missing)" cell whose target is their unweighted share of the total; the
  file's targets are scaled to the rest. The margin's *shares* are thus imposed on those who
  answered, and those who did not keep, on that margin, the average adjustment. The counts are
  reported (``WeightResult.unclassified``) and shown in the diagnostics.
* A respondent whose answer is an option the margin file does not list is an error (a margin
  must cover every category that occurs; a silently unclassified category would be a typo).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from belmig.core import atomic
from belmig.core.codebook import Codebook

TARGET_COLUMN = "target"
MISSING = "(missing)"
SIDECAR_KEYS = ("source", "reference_date", "rounding", "licence")
TOTAL_RTOL = 1e-9  # margins must agree on the population total to this relative precision
CALIBRATION_ATTR = "calibration"  # key of weights.attrs holding the calibration record


class MarginError(ValueError):
    """A margin file is malformed or inconsistent with the codebook or the other margins."""


class RakeError(RuntimeError):
    """Raking cannot be done (data and margins disagree) or did not converge."""


@dataclass(frozen=True)
class Margin:
    """One population margin: targets for the categories of one or more questions."""

    source: str  # the file, as given
    variables: tuple[str, ...]  # codebook question ids (single choice)
    levels: tuple[tuple[str, ...], ...]  # each variable's codebook option keys, in codebook order
    categories: tuple[tuple[str, ...], ...]  # one per row: an option key per variable
    targets: tuple[float, ...]
    rows: tuple[int, ...]  # line of each category in the file (header = line 1)
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def total(self) -> float:
        return float(sum(self.targets))

    @property
    def name(self) -> str:
        return Path(self.source).name

    def label(self, i: int) -> str:
        return " × ".join(self.categories[i])

    def to_record(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "variables": list(self.variables),
            "levels": [list(lv) for lv in self.levels],
            "categories": [list(c) for c in self.categories],
            "targets": list(self.targets),
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Margin:
        n = len(rec["categories"])
        return cls(
            source=rec["source"],
            variables=tuple(rec["variables"]),
            levels=tuple(tuple(lv) for lv in rec["levels"]),
            categories=tuple(tuple(c) for c in rec["categories"]),
            targets=tuple(float(t) for t in rec["targets"]),
            rows=tuple(range(2, n + 2)),
        )


# ---------------------------------------------------------------- reading margins


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".meta.yaml")


def _parse_target(text: str, where: str) -> float:
    s = text.strip()
    if not s:
        raise MarginError(f"{where}: empty target")
    if "," in s or " " in s:
        raise MarginError(f"{where}: target {text!r} must be a plain number (no thousands separators)")
    try:
        value = float(s)
    except ValueError:
        raise MarginError(f"{where}: target {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise MarginError(f"{where}: target {text!r} must be a positive number")
    return value


def read_margin(path: Path | str, codebook: Codebook) -> Margin:
    """Read and validate one margin file and its ``.meta.yaml`` sidecar."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise MarginError(f"{src}: margin file not found")
    with open(path, encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    if not lines:
        raise MarginError(f"{src}: empty file")
    header = [h.strip() for h in lines[0]]
    if TARGET_COLUMN not in header:
        raise MarginError(f"{src}, line 1: no {TARGET_COLUMN!r} column (header: {header})")
    if len(set(header)) != len(header):
        raise MarginError(f"{src}, line 1: repeated column names in {header}")
    variables = [h for h in header if h != TARGET_COLUMN]
    if not variables:
        raise MarginError(f"{src}, line 1: no variable column besides {TARGET_COLUMN!r}")
    levels = []
    for v in variables:
        if v not in codebook.by_id:
            raise MarginError(f"{src}, line 1: column {v!r} is not a question of the codebook")
        q = codebook[v]
        if q.type != "single":
            raise MarginError(
                f"{src}, line 1: column {v!r} is a {q.type} question; margins need single-choice questions"
            )
        levels.append(tuple(q.keys))
    t_col = header.index(TARGET_COLUMN)
    v_cols = [header.index(v) for v in variables]
    cats, targets, rows, seen = [], [], [], {}
    for lineno, fields in enumerate(lines[1:], start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        where = f"{src}, line {lineno}"
        if len(fields) != len(header):
            raise MarginError(f"{where}: {len(fields)} fields, header has {len(header)}")
        cat = []
        for v, col, lv in zip(variables, v_cols, levels):
            key = fields[col].strip()
            if key not in lv:
                raise MarginError(f"{where}: {key!r} is not an option of {v!r} (options: {', '.join(lv)})")
            cat.append(key)
        cat = tuple(cat)
        if cat in seen:
            raise MarginError(f"{where}: category {' × '.join(cat)} already given on line {seen[cat]}")
        seen[cat] = lineno
        targets.append(_parse_target(fields[t_col], f"{where}, {TARGET_COLUMN}"))
        cats.append(cat)
        rows.append(lineno)
    if not cats:
        raise MarginError(f"{src}: no categories")
    side = _sidecar(path)
    if not side.is_file():
        raise MarginError(f"{src}: provenance sidecar {side.name} not found (keys: {', '.join(SIDECAR_KEYS)})")
    with open(side, encoding="utf-8") as fh:
        meta = yaml.safe_load(fh) or {}
    missing = [k for k in SIDECAR_KEYS if not meta.get(k)]
    if missing:
        raise MarginError(f"{side}: missing provenance keys {missing}")
    margin = Margin(src, tuple(variables), tuple(levels), tuple(cats), tuple(targets), tuple(rows), meta)
    if "variables" in meta and list(meta["variables"]) != variables:
        raise MarginError(f"{side}: variables {meta['variables']} disagree with the file's columns {variables}")
    if "total" in meta and not math.isclose(float(meta["total"]), margin.total, rel_tol=TOTAL_RTOL):
        raise MarginError(f"{src}: targets sum to {margin.total:,.6g} but {side.name} states total {meta['total']}")
    return margin


def read_margins(paths: Sequence[Path | str], codebook: Codebook) -> list[Margin]:
    """Read and validate the margin files; they must agree on the population total."""
    if not paths:
        raise MarginError("no margin files given (config weighting.margins is empty)")
    margins = [read_margin(p, codebook) for p in paths]
    first = margins[0]
    for m in margins[1:]:
        if not math.isclose(m.total, first.total, rel_tol=TOTAL_RTOL):
            raise MarginError(
                f"margins disagree on the population total: {first.source} sums to {first.total:,.10g}, "
                f"{m.source} to {m.total:,.10g}"
            )
    return margins


# ---------------------------------------------------------------- codes


def option_codes(values: pd.Series, keys: Sequence[str], name: str) -> np.ndarray:
    """Codes 0..len(keys)-1 of a single-choice column (-1 = missing); unknown values are errors."""
    keys = list(keys)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in values.cat.categories]
        raw = values.cat.codes.to_numpy()
        if cats == keys:
            return raw.astype(np.int64)
        used = np.unique(raw[raw >= 0])
        bad = [cats[i] for i in used if cats[i] not in keys]
        if bad:
            raise RakeError(f"column {name!r} holds {bad}, which are not options of {name!r} ({', '.join(keys)})")
        remap = np.array([keys.index(c) if c in keys else -1 for c in cats] + [-1], dtype=np.int64)
        return remap[raw]  # raw == -1 picks the trailing -1
    cat = pd.Categorical(values.astype(object).where(values.notna(), None), categories=keys)
    codes = np.asarray(cat.codes, dtype=np.int64)
    unknown = (codes < 0) & values.notna().to_numpy()
    if unknown.any():
        bad = sorted({str(x) for x in values[unknown].unique()})
        raise RakeError(f"column {name!r} holds {bad}, which are not options of {name!r} ({', '.join(keys)})")
    return codes


def margin_codes(df: pd.DataFrame, margin: Margin) -> np.ndarray:
    """Each respondent's category index in the margin; len(categories) = the "(missing)" cell."""
    ncat = len(margin.categories)
    radix = [len(lv) for lv in margin.levels]
    combined = np.zeros(len(df), dtype=np.int64)
    missing = np.zeros(len(df), dtype=bool)
    for v, lv, r in zip(margin.variables, margin.levels, radix):
        if v not in df.columns:
            raise RakeError(f"{margin.source}: raking variable {v!r} is not a column of the responses")
        c = option_codes(df[v], lv, v)
        missing |= c < 0
        combined = combined * r + np.where(c < 0, 0, c)
    lookup = np.full(int(np.prod(radix)), -1, dtype=np.int64)
    for i, cat in enumerate(margin.categories):
        flat = 0
        for key, lv, r in zip(cat, margin.levels, radix):
            flat = flat * r + lv.index(key)
        lookup[flat] = i
    codes = np.where(missing, ncat, lookup[combined])
    unlisted = codes < 0
    if unlisted.any():
        rows = df.loc[unlisted, list(margin.variables)].astype(str).agg(" × ".join, axis=1)
        counts = rows.value_counts()
        what = ", ".join(f"{k} ({v} respondents)" for k, v in counts.items())
        raise RakeError(f"{margin.source}: respondents in categories the margin does not list: {what}")
    return codes


def compress(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an integer key in [0, size) and each row's index among them
    (np.unique(key, return_inverse=True), in O(n) by counting when size is moderate)."""
    if size > max(4 * len(key), 1 << 20):
        uniq, inv = np.unique(key, return_inverse=True)
        return uniq, inv.astype(np.int64)
    present = np.bincount(key, minlength=size) > 0
    uniq = np.flatnonzero(present)
    remap = np.cumsum(present) - 1
    return uniq, remap[key]


@dataclass(frozen=True)
class Calibration:
    """Respondents' calibration cells: the cross-classification of all margins' categories."""

    cell: np.ndarray  # (n,) cell index of every respondent
    cell_codes: tuple[np.ndarray, ...]  # per margin: (G,) category index of each cell
    targets: tuple[np.ndarray, ...]  # per margin: effective targets (incl. the missing cell)
    n_cat: tuple[int, ...]  # per margin: number of categories incl. the missing cell
    unclassified: tuple[int, ...]  # per margin: respondents in the missing cell
    total: float

    @property
    def n_cells(self) -> int:
        return len(self.cell_codes[0]) if self.cell_codes else 1

    def design_matrix(self) -> np.ndarray:
        """(G, K) indicator of each cell's category in every margin (K = all categories)."""
        if not self.cell_codes:
            return np.zeros((1, 0))
        blocks = []
        for codes, k in zip(self.cell_codes, self.n_cat):
            b = np.zeros((len(codes), k))
            b[np.arange(len(codes)), codes] = 1.0
            blocks.append(b)
        return np.hstack(blocks)


def calibration(df: pd.DataFrame, margins: Sequence[Margin]) -> Calibration:
    """Map respondents to calibration cells and compute each margin's effective targets."""
    n = len(df)
    if n == 0:
        raise RakeError("no respondents to rake")
    if not margins:
        return Calibration(np.zeros(n, dtype=np.int64), (), (), (), (), float("nan"))
    total = margins[0].total
    codes, ncat, targets, unclassified = [], [], [], []
    for m in margins:
        c = margin_codes(df, m)
        k = len(m.categories)
        n_miss = int((c == k).sum())
        t = np.asarray(m.targets, dtype=float)
        if n_miss:
            t = np.append(t * (1 - n_miss / n), total * n_miss / n)
        present = np.bincount(c, minlength=k + 1)
        for i in range(k):
            if present[i] == 0:
                raise RakeError(
                    f"{m.source}, line {m.rows[i]}: no respondent in category {m.label(i)} "
                    f"(target {m.targets[i]:,.10g}); merge it with a neighbouring category"
                )
        codes.append(c)
        ncat.append(k + 1 if n_miss else k)
        targets.append(t)
        unclassified.append(n_miss)
    combined = np.zeros(n, dtype=np.int64)
    for c, k in zip(codes, ncat):
        combined = combined * k + c
    uniq, cell = compress(combined, int(np.prod(ncat)))
    cell_codes = []
    rest = uniq.copy()
    for k in reversed(ncat):
        cell_codes.append(rest % k)
        rest //= k
    cell_codes.reverse()
    return Calibration(
        cell.astype(np.int64), tuple(cell_codes), tuple(targets), tuple(ncat), tuple(unclassified), total
    )


# ---------------------------------------------------------------- methods

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


RakeResult = WeightResult  # the name before bounded calibration


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


def diagnostics(df: pd.DataFrame, weights: pd.Series | np.ndarray, margins: Sequence[Margin]) -> pd.DataFrame:
    """Per margin category: sample and weighted counts and shares against the targets.

    ``target_count`` is the effective target (scaled when some respondents miss the variable;
    ``file_target`` is the file's figure); shares are of the population total; ``gap`` is the
    relative gap (weighted − target) / target, the margin reached.
    """
    w = np.asarray(weights, dtype=float)
    if len(w) != len(df):
        raise ValueError(f"{len(w)} weights for {len(df)} respondents")
    cal = calibration(df, margins)
    n = len(df)
    rows = []
    for m, codes, t in zip(margins, cal.cell_codes, cal.targets):
        cat = codes[cal.cell]
        cnt = np.bincount(cat, minlength=len(t))
        wsum = np.bincount(cat, weights=w, minlength=len(t))
        for i in range(len(t)):
            listed = i < len(m.categories)
            rows.append(
                {
                    "margin": m.name,
                    "variables": " × ".join(m.variables),
                    "category": m.label(i) if listed else MISSING,
                    "n": int(cnt[i]),
                    "sample_share": cnt[i] / n,
                    "target_share": t[i] / cal.total,
                    "weighted_share": wsum[i] / w.sum(),
                    "file_target": m.targets[i] if listed else np.nan,
                    "target_count": t[i],
                    "weighted_count": wsum[i],
                    "gap": (wsum[i] - t[i]) / t[i],
                }
            )
    return pd.DataFrame(rows)


def kish(weights: np.ndarray) -> dict[str, float]:
    """Kish's design effect of unequal weights, effective sample size and efficiency."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    n_eff = w.sum() ** 2 / np.square(w).sum()
    return {"deff": n / n_eff, "n_eff": n_eff, "efficiency": n_eff / n}


def summary(result: WeightResult) -> dict[str, Any]:
    """The method, the weight distribution, Kish design effect, effective n, efficiency and the
    margins reached (largest relative gap)."""
    w = result.weights.to_numpy()
    k = kish(w)
    mean = w.mean()
    q = np.quantile(w, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "method": result.method.describe(),
        "n": int(len(w)),
        "population_total": float(result.total),
        "weight_sum": float(w.sum()),
        "deff": float(k["deff"]),
        "n_eff": float(k["n_eff"]),
        "efficiency": float(k["efficiency"]),
        "min": float(w.min()),
        "p05": float(q[0]),
        "p25": float(q[1]),
        "median": float(q[2]),
        "p75": float(q[3]),
        "p95": float(q[4]),
        "max": float(w.max()),
        "min_ratio": float(w.min() / mean),
        "max_ratio": float(w.max() / mean),
        "bounds": None if result.method.bounds is None else list(result.method.bounds),
        "at_bounds": int(result.at_bounds),
        "iterations": int(result.iterations),
        "converged": bool(result.converged),
        "max_gap": float(result.max_gap),
        "unclassified": {k_: int(v) for k_, v in result.unclassified.items()},
        "message": result.message,
    }


def to_values(result: WeightResult, vals) -> None:
    """Record weight.deff|n_eff|efficiency|min|max|iterations (cell "weight-values")."""
    result.require_converged()
    s = summary(result)
    cell = "weight-values"
    vals.add("weight.deff", s["deff"], "float", cell=cell, description="Kish design effect of the weights (1 + CV²)")
    vals.add("weight.n_eff", s["n_eff"], "float", cell=cell, decimals=1,
             description="Kish effective sample size (Σw)²/Σw²", n=s["n"])  # fmt: skip
    vals.add("weight.efficiency", 100 * s["efficiency"], "pct", cell=cell,
             description="weighting efficiency n_eff / n, percent", n=s["n"])  # fmt: skip
    vals.add(
        "weight.min", s["min"], "float", cell=cell, decimals=1, description="smallest weight (persons represented)"
    )
    vals.add("weight.max", s["max"], "float", cell=cell, decimals=1, description="largest weight (persons represented)")
    vals.add("weight.iterations", s["iterations"], "int", cell=cell,
             description=f"iterations of {s['method']} until convergence")  # fmt: skip


def weights_frame(df: pd.DataFrame, result: WeightResult) -> pd.DataFrame:
    """The weights.parquet table of these responses (resp_id, weight; calibration record in
    ``.attrs``), after checking that the result belongs to them and converged."""
    result.require_converged()
    ids = df["resp_id"].astype("str").array
    mine = pd.array(np.asarray(result.resp_id, dtype=object), dtype="str")
    if len(ids) != len(mine) or not bool((mine == ids).all()):
        raise RakeError("the weighting result does not belong to these responses (resp_id differ)")
    return result.to_frame()


def write(
    result: WeightResult,
    df: pd.DataFrame,
    margins: Sequence[Margin],
    out_weights: Path,
    out_diagnostics: Path,
    out_summary: Path,
) -> None:
    """Write weights.parquet (+ calibration record), the diagnostics CSV and the summary JSON,
    each atomically (belmig.core.atomic)."""
    frame = weights_frame(df, result)
    diag = diagnostics(df, result.weights, margins)
    atomic.write_via(out_weights, lambda p: frame.to_parquet(p, index=False))
    atomic.write_via(out_diagnostics, lambda p: diag.to_csv(p, index=False, lineterminator="\n"))
    atomic.write_text(out_summary, json.dumps(summary(result), ensure_ascii=False, indent=1) + "\n")
