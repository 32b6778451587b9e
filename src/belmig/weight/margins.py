"""Margin files (data/external/) and the calibration cells they define: reading, validating,
coding respondents into the margins' categories."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from belmig.core import schema
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
    meta = schema.load_yaml(side) or {}  # libyaml's parser, PyYAML's safe constructor: the same values
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
