"""k-anonymity of the released microdata: recoding, local suppression, the check, and the
weights released next to it.

Equivalence classes follow the usual convention for locally suppressed data (as in sdcMicro):
a missing quasi-identifier value matches any value, so the class of a record is the set of
records that agree with it on every quasi-identifier where both are known.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _codes(df: pd.DataFrame, qis: Sequence[str]) -> np.ndarray:
    """Integer codes of the quasi-identifiers, -1 = missing (matches anything)."""
    cols = []
    for q in qis:
        if q not in df.columns:
            raise KeyError(f"quasi-identifier {q!r} is not a column of the data")
        cols.append(pd.Series(pd.Categorical(df[q].astype("object").where(df[q].notna(), None))).cat.codes.to_numpy())
    if not cols:
        return np.zeros((len(df), 0), dtype=np.int64)
    return np.column_stack(cols).astype(np.int64)


def class_sizes(df: pd.DataFrame, quasi_identifiers: Sequence[str]) -> pd.Series:
    """Size of each record's equivalence class (missing values match any value)."""
    return pd.Series(_sizes_from_codes(_codes(df, quasi_identifiers)), index=df.index, dtype="int64")


def check_k_anonymity(df: pd.DataFrame, quasi_identifiers: Sequence[str], k: int) -> tuple[bool, int]:
    """(whether every equivalence class has at least `k` records, the smallest class size)."""
    sizes = class_sizes(df, quasi_identifiers)
    smallest = int(sizes.min()) if len(sizes) else 0
    return smallest >= k, smallest


@dataclass(frozen=True)
class QuasiIdentifier:
    """How one quasi-identifier may be recoded.

    `ordered`: categories have a meaningful order (age groups, years): a category is only ever
    merged with a neighbour. Otherwise rare categories are merged into `pool` (the "other"
    category; created when the variable has none). `categories` gives the order.
    """

    name: str
    categories: tuple[str, ...]
    ordered: bool
    pool: str = "other"


def merged_label(parts: Sequence[str]) -> str:
    """Name of a category made by merging categories ("age46_55+age56plus")."""
    return "+".join(parts)


@dataclass(frozen=True)
class Level:
    """One generalisation level of a quasi-identifier: original category -> released category."""

    mapping: dict[str, str]
    steps: tuple[str, ...]  # human-readable merges that lead here, in order


def hierarchy(values: pd.Series, qi: QuasiIdentifier) -> list[Level]:
    """Generalisation levels of one quasi-identifier, from none to two categories left.

    Each level adds one merge, chosen from the data: ordered → the smallest category with its
    smaller neighbour; unordered → the smallest category (not the pool) with the pool (the
    "other" category; the first merge creates it when the variable has none). Merged categories
    are named by their parts in category order ("kaunas_city+other"). Levels stop when two
    categories are left: a variable is never collapsed into one.
    """
    counts = values.value_counts(dropna=True)
    order = list(qi.categories) + sorted(c for c in counts.index if c not in qi.categories)
    present = [c for c in order if counts.get(c, 0) > 0]
    groups: list[list[str]] = [[c] for c in present]
    levels = [Level({c: c for c in present}, ())]
    steps: list[str] = []

    def size(g: list[str]) -> int:
        return int(sum(counts.get(c, 0) for c in g))

    def name(g: list[str]) -> str:
        return merged_label(sorted(g, key=order.index)) if len(g) > 1 else g[0]

    while len(groups) > 2:
        if qi.ordered:
            i = min(range(len(groups)), key=lambda j: (size(groups[j]), j))
            neigh = [j for j in (i - 1, i + 1) if 0 <= j < len(groups)]
            j = min(neigh, key=lambda j: (size(groups[j]), j))
            lo, hi = sorted((i, j))
            merged = groups[lo] + groups[hi]
            steps.append(f"merged {name(groups[lo])} and {name(groups[hi])} into {name(merged)}")
            groups[lo : hi + 1] = [merged]
        else:
            pool = next((g for g in groups if qi.pool in g), None)
            movable = [g for g in groups if g is not pool]
            g = min(movable, key=lambda g: (size(g), groups.index(g)))
            if pool is None:  # no "other" yet: the two smallest categories form it
                rest = [h for h in movable if h is not g]
                h = min(rest, key=lambda h: (size(h), groups.index(h)))
                merged = g + h
                steps.append(f"merged {name(g)} and {name(h)} into {name(merged)}")
                groups.remove(h)
                groups[groups.index(g)] = merged
            else:
                merged = pool + g
                steps.append(f"merged {name(g)} into {name(pool)}, giving {name(merged)}")
                groups.remove(g)
                groups[groups.index(pool)] = merged
        mapping = {c: name(g) for g in groups for c in g}
        levels.append(Level(mapping, tuple(steps)))
    return levels


def _level_codes(values: np.ndarray, level: Level) -> np.ndarray:
    """Integer codes of the released categories (-1 = missing)."""
    cats = sorted(set(level.mapping.values()))
    idx = {c: i for i, c in enumerate(cats)}
    return np.array([idx[level.mapping.get(v, v)] if v is not None else -1 for v in values], dtype=np.int64)


def _bits(values: np.ndarray, level: Level) -> np.ndarray:
    """Per-record entropy loss (bits) of releasing `values` at `level`: log2(n(released) / n(original))."""
    known = np.array([v is not None for v in values], dtype=bool)
    out = np.zeros(len(values))
    if not known.any():
        return out
    s = pd.Series(values[known], dtype=object)
    n_orig = s.map(s.value_counts()).to_numpy(dtype=float)
    r = s.map(lambda v: level.mapping.get(v, v))
    n_rel = r.map(r.value_counts()).to_numpy(dtype=float)
    out[known] = np.log2(n_rel / n_orig)
    return out


def _pattern_sizes(pats: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Class size of each pattern row given how many records carry it (-1 matches anything)."""
    if len(pats) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(_row_keys(pats), return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    u = pats[first]
    w = np.bincount(inverse, weights=counts, minlength=len(u)).astype(np.int64)
    compatible = np.ones((len(u), len(u)), dtype=bool)
    for j in range(u.shape[1]):  # column by column: no (n, n, q) temporary
        a, b = u[:, j][:, None], u[:, j][None, :]
        compatible &= (a == b) | (a < 0) | (b < 0)
    return (compatible.astype(np.int64) @ w)[inverse]


def _local_suppression(pats: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Blanked cells (bool, like `pats`) that make every class of the weighted patterns >= k.

    The pattern in the smallest class goes first; all its records get the same blank (they are
    indistinguishable): the one that brings the class to k, else the one that enlarges it most
    (ties: larger class, then earlier quasi-identifier).
    """
    cur = pats.copy()
    blanked = np.zeros(pats.shape, dtype=bool)
    while True:
        sizes = _pattern_sizes(cur, counts)
        bad = np.flatnonzero((sizes < k) & (counts > 0))
        if bad.size == 0:
            return blanked
        i = int(bad[np.argsort(sizes[bad], kind="stable")[0]])
        members = (cur == cur[i]).all(axis=1)
        best = None
        for j in np.flatnonzero(cur[i] >= 0):
            trial = cur[i].copy()
            trial[j] = -1
            size = int(counts[((cur == trial) | (cur < 0) | (trial < 0)).all(axis=1)].sum())
            key = (size >= k, size, -j)
            if best is None or key > best[0]:
                best = (key, j)
        if best is None:  # pragma: no cover - a fully blanked record matches all records
            raise RuntimeError("k_anonymize: cannot reach k")
        cur[members, best[1]] = -1
        blanked[members, best[1]] = True


def k_anonymize(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[QuasiIdentifier | str],
    k: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make `df` k-anonymous on the quasi-identifiers: recoding, then local suppression.

    Information loss: a record whose value v is released as category c loses log2(n(c) / n(v))
    bits (non-uniform entropy); a blanked value is lost entirely and costs log2(N) bits, the
    most any value can carry (by entropy alone, blanking a common value would look almost free).

    1. Recoding (full-domain generalisation): each quasi-identifier has a ladder of merge levels
       (:func:`hierarchy`). Every combination of levels is scored by its recoding loss plus one
       blank for each record still in a class smaller than `k`; the ten best are finished by
       local suppression and the one with the least total loss is kept (ties: less recoding).
    2. Local suppression: while some record is in a class smaller than `k` (smallest first),
       blank one of its quasi-identifiers: one that brings its class to `k`, else the one that
       enlarges it most.

    Quasi-identifiers given as plain names are unordered with pool "other". Returns the released
    frame (quasi-identifiers as object columns: original keys or merged ``"a+b"``; None =
    missing or suppressed) and a report, one row per action: ``step`` (check | recode |
    suppress), ``variable``, ``detail``, ``rows_affected``, ``violating_after``. The chosen
    mapping per variable is in ``report.attrs["recodes"]`` ({variable: {original: released}}).
    """
    if k < 1:
        raise ValueError(f"k_anonymize: k must be >= 1, got {k}")
    qis = [q if isinstance(q, QuasiIdentifier) else QuasiIdentifier(q, (), ordered=False) for q in quasi_identifiers]
    names = [q.name for q in qis]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise KeyError(f"k_anonymize: quasi-identifiers {missing} are not columns of the data")
    if len(df) < k:
        raise ValueError(f"k_anonymize: {len(df)} records cannot be {k}-anonymous")
    vals = {n: df[n].astype("object").where(df[n].notna(), None).to_numpy(dtype=object) for n in names}
    ladders = [hierarchy(pd.Series(vals[q.name], dtype=object), q) for q in qis]
    level_codes = [[_level_codes(vals[q.name], lv) for lv in ladder] for q, ladder in zip(qis, ladders)]
    level_bits = [[_bits(vals[q.name], lv).sum() for lv in ladder] for q, ladder in zip(qis, ladders)]
    blank_bits = float(np.log2(len(df)))
    # work on the distinct combinations of original values (records sharing one move together)
    base = np.column_stack([lc[0] for lc in level_codes]) if names else np.zeros((len(df), 0), dtype=np.int64)
    _, first, inverse, counts = np.unique(_row_keys(base), return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)

    def patterns(combo: tuple[int, ...]) -> np.ndarray:
        return np.column_stack([level_codes[i][j][first] for i, j in enumerate(combo)])

    scored = []
    for combo in itertools.product(*[range(len(ladder)) for ladder in ladders]):
        n_bad = int(counts[_pattern_sizes(patterns(combo), counts) < k].sum())
        estimate = sum(level_bits[i][j] for i, j in enumerate(combo)) + n_bad * blank_bits
        scored.append((round(estimate, 9), sum(combo), combo, n_bad))
    scored.sort()
    before = next(s[3] for s in scored if not any(s[2]))
    best = None
    for _, effort, combo, n_bad in scored[:10]:  # finish the most promising ones exactly
        blanked_patterns = _local_suppression(patterns(combo), counts, k)
        n_blanks = int((blanked_patterns.sum(axis=1) * counts).sum())
        loss = sum(level_bits[i][j] for i, j in enumerate(combo)) + n_blanks * blank_bits
        key = (round(loss, 9), effort, combo)
        if best is None or key < best[0]:
            best = (key, combo, blanked_patterns[inverse], n_bad)
    (loss, _, _), combo, blanked, n_bad = best
    levels = [ladders[i][j] for i, j in enumerate(combo)]

    out = df.copy()
    rows: list[dict] = [
        dict(
            step="check",
            variable="",
            detail=f"before: {before} records in classes smaller than k={k}",
            rows_affected=0,
            violating_after=before,
        )
    ]
    for j, (q, lv) in enumerate(zip(qis, levels)):
        released = [lv.mapping.get(v, v) if v is not None else None for v in vals[q.name]]
        released = [None if blanked[i, j] else v for i, v in enumerate(released)]
        out[q.name] = pd.Series(released, index=df.index, dtype=object)
        ladder = ladders[j]
        for step_no, s in enumerate(lv.steps, start=1):
            prev, cur = ladder[step_no - 1].mapping, ladder[step_no].mapping
            moved = int(sum(1 for v in vals[q.name] if v is not None and prev.get(v, v) != cur.get(v, v)))
            rows.append(dict(step="recode", variable=q.name, detail=s, rows_affected=moved, violating_after=n_bad))
    if blanked.any():
        for j, n in enumerate(names):
            if blanked[:, j].any():
                rows.append(
                    dict(
                        step="suppress",
                        variable=n,
                        detail=f"blanked {int(blanked[:, j].sum())} values of {n} (local suppression)",
                        rows_affected=int(blanked[:, j].sum()),
                        violating_after=0,
                    )
                )
        rows.append(
            dict(
                step="suppress",
                variable="",
                detail="records with at least one blanked quasi-identifier",
                rows_affected=int(blanked.any(axis=1).sum()),
                violating_after=0,
            )
        )
    ok, smallest = check_k_anonymity(out, names, k)
    if not ok:  # pragma: no cover - guarded by _local_suppression
        raise RuntimeError(f"k_anonymize: smallest class {smallest} < k={k} after suppression")
    rows.append(
        dict(
            step="check",
            variable="",
            detail=f"after: smallest equivalence class {smallest} (k={k}); information loss {loss:.1f} bits",
            rows_affected=0,
            violating_after=0,
        )
    )
    report = pd.DataFrame(rows, columns=["step", "variable", "detail", "rows_affected", "violating_after"])
    report = report.astype({"rows_affected": "int64", "violating_after": "int64"})
    report.attrs["recodes"] = {q.name: {c: r for c, r in lv.mapping.items() if c != r} for q, lv in zip(qis, levels)}
    return out, report


def _row_keys(codes: np.ndarray) -> np.ndarray:
    """One int64 per row of small non-negative-or-(-1) integer codes (mixed radix)."""
    key = np.zeros(len(codes), dtype=np.int64)
    if codes.size == 0:
        return key
    shifted = codes + 1
    radix = shifted.max(axis=0) + 1
    for j in range(codes.shape[1]):
        key = key * radix[j] + shifted[:, j]
    return key


def _sizes_from_codes(codes: np.ndarray) -> np.ndarray:
    """Class size of every record given integer codes (-1 = missing, matches anything)."""
    n = len(codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if codes.shape[1] == 0:
        return np.full(n, n, dtype=np.int64)
    _, first, inverse, counts = np.unique(_row_keys(codes), return_index=True, return_inverse=True, return_counts=True)
    return _pattern_sizes(codes[first], counts)[inverse.reshape(-1)]


def smooth_weights(df: pd.DataFrame, quasi_identifiers: Sequence[str], weight: str) -> pd.Series:
    """Weights that reveal nothing beyond the released quasi-identifiers.

    Survey weights are usually a function of the original categories (raking to municipality
    margins gives every municipality its own weight), so releasing them next to recoded or
    blanked quasi-identifiers would undo the recoding. Each record gets the mean weight of its
    equivalence class (the records compatible with it; missing matches anything), so records
    that look alike get the same weight and every weight is an average over at least k
    records; the result is rescaled to the original total.
    """
    w = pd.to_numeric(df[weight]).to_numpy(dtype=float)
    codes = _codes(df, quasi_identifiers)
    _, first, inverse = np.unique(_row_keys(codes), return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    u = codes[first]
    n = np.bincount(inverse, minlength=len(u)).astype(float)
    s = np.bincount(inverse, weights=w, minlength=len(u))
    compatible = np.ones((len(u), len(u)), dtype=bool)
    for j in range(u.shape[1]):
        a, b = u[:, j][:, None], u[:, j][None, :]
        compatible &= (a == b) | (a < 0) | (b < 0)
    mean = (compatible.astype(float) @ s) / (compatible.astype(float) @ n)
    out = mean[inverse]
    out *= w.sum() / out.sum()
    return pd.Series(out, index=df.index, name=weight)
