"""k-anonymity of the released microdata, counted the way an attacker counts it.

The attacker (docs/disclosure.md) knows a target's *true* background: the quasi-identifiers
(age group, sex, municipality, arrival year, legal status) and perhaps one more answer
(regular income, diaspora involvement, support programmes). A released record is a candidate
for the target when each of its released values is compatible with the target's true value:
the same category, a merged category that contains it, or a blank (a blank may hide anything).
The target's own record is always a candidate. A target is safe when it has at least ``k``
candidates, for the quasi-identifiers alone and for the quasi-identifiers plus each extra
identifier in turn ("key sets").

Two differences from the textbook check (sdcMicro's ``freqCalc`` with a missing value matching
any category, which :func:`class_sizes` still implements for the release's own view):

* the count starts from the target's true values, not from its released ones. Blanking a
  target's own value does not hide it from someone who knows that value; only *other* records
  that become compatible (decoys) do. Local suppression here therefore blanks values of the
  records that differ from a target in one variable;
* a target whose true value is "no answer" is counted for every value it might really have:
  the attacker knows it, we do not.

:func:`k_anonymize` protects a frame in two steps:

1. **Global recoding** (full-domain generalisation): every variable has a ladder of levels
   (:func:`hierarchy`: merges of rare categories, down to two categories, then "left out of
   the release"). A level is admissible only if each released category holds at least ``k``
   records (no rare category survives, whatever blanks would do). Every combination of levels
   is scored by its information loss plus an estimate of the blanks still needed; the best ones
   are finished exactly and the cheapest is kept.
2. **Local suppression** with decoys: while a target (under some key set) has fewer than ``k``
   candidates, blank the value that adds a candidate to the most such targets, never in a
   variable that may not be blanked (the raking variable: released weights are raked on the
   released categories, so a blank there would have no population target).

Information loss is entropy: a record whose value v is released as category c loses
log2(n(c)/n(v)) bits; a variable left out loses its whole entropy; a blank costs log2(N) bits.
:func:`individual_risk` is sdcMicro's per-record re-identification risk (``measure_risk``,
Benedetti-Franconi approximation) for the report on the release.

Size: a little above 600 lines, kept whole: the ladders, the attacker's count, the search and
the decoy suppression share their data structures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DROPPED = "*"  # the single category of a variable that is left out of the release


# --------------------------------------------------------------------------- release's own view


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


def class_sizes(df: pd.DataFrame, quasi_identifiers: Sequence[str]) -> pd.Series:
    """Size of each record's equivalence class in the released data (missing matches any value).

    This is the release's own view (sdcMicro ``freqCalc``, alpha = 1). It is at least the
    attacker's count (:func:`attacker_counts`), never less, so it cannot prove safety alone.
    """
    codes = _codes(df, quasi_identifiers)
    n = len(codes)
    if n == 0:
        return pd.Series([], index=df.index, dtype="int64")
    if codes.shape[1] == 0:
        return pd.Series(np.full(n, n), index=df.index, dtype="int64")
    _, first, inverse, counts = np.unique(_row_keys(codes), return_index=True, return_inverse=True, return_counts=True)
    return pd.Series(_pattern_sizes(codes[first], counts)[inverse.reshape(-1)], index=df.index, dtype="int64")


def check_k_anonymity(df: pd.DataFrame, quasi_identifiers: Sequence[str], k: int) -> tuple[bool, int]:
    """(whether every release-view class has at least `k` records, the smallest class size)."""
    sizes = class_sizes(df, quasi_identifiers)
    smallest = int(sizes.min()) if len(sizes) else 0
    return smallest >= k, smallest


# --------------------------------------------------------------------------- recoding ladders


@dataclass(frozen=True)
class QuasiIdentifier:
    """A variable the attacker may know, and how it may be recoded.

    `ordered`: categories have a meaningful order (age groups, years): a category is only ever
    merged with a neighbour. Otherwise rare categories are merged into `pool` (the "other"
    category; created when the variable has none). `categories` gives the order (the codebook's
    options). `blankable`: local suppression may blank it. `droppable`: the recoding may leave
    it out of the release altogether.
    """

    name: str
    categories: tuple[str, ...]
    ordered: bool
    pool: str = "other"
    blankable: bool = True
    droppable: bool = True
    start: tuple[tuple[str, ...], ...] = ()  # categories already merged (the estimation's level plan)


def merged_label(parts: Sequence[str]) -> str:
    """Name of a category made by merging categories ("age46_55+age56plus")."""
    return "+".join(parts)


@dataclass(frozen=True)
class Level:
    """One generalisation level of a variable: original category -> released category."""

    mapping: dict[str, str]
    steps: tuple[str, ...]  # human-readable merges that lead here, in order
    dropped: bool = False  # the variable is left out of the release


def hierarchy(values: pd.Series, qi: QuasiIdentifier, drop: bool = False) -> list[Level]:
    """Generalisation levels of one variable, from none to two categories left (then, with
    `drop`, one more level: the variable left out).

    Each level adds one merge, chosen from the data: ordered → the smallest category with its
    smaller neighbour; unordered → the smallest category (not the pool) with the pool (the
    "other" category; the first merge creates it when the variable has none). Merged categories
    are named by their parts in category order ("kaunas_city+other").
    """
    counts = values.value_counts(dropna=True)
    order = list(qi.categories) + sorted(c for c in counts.index if c not in qi.categories)
    present = [c for c in order if counts.get(c, 0) > 0]
    groups: list[list[str]] = []
    for c in present:  # the merges given at the start (qi.start), then every other category alone
        g = next((list(s) for s in qi.start if c in s), [c])
        g = [x for x in order if x in g and x in present]
        if g not in groups:
            groups.append(g)
    steps: list[str] = []

    def size(g: list[str]) -> int:
        return int(sum(counts.get(c, 0) for c in g))

    def name(g: list[str]) -> str:
        return merged_label(sorted(g, key=order.index)) if len(g) > 1 else g[0]

    levels = [Level({c: name(g) for g in groups for c in g}, ())]
    for g in groups:
        if len(g) > 1:
            steps.append(f"merged {_join_names(g)} into {name(g)} (as the estimates do)")
    if steps:
        levels = [Level(levels[0].mapping, tuple(steps))]

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
    if drop and present:
        levels.append(Level({c: DROPPED for c in present}, (*steps, f"left {qi.name} out of the release"), True))
    return levels


# --------------------------------------------------------------------------- the attacker's count


def _join_names(g: Sequence[str]) -> str:
    return ", ".join(g[:-1]) + " and " + g[-1] if len(g) > 1 else g[0]


def compatible(released: Sequence[object], true: Sequence[object]) -> np.ndarray:
    """[true record, released record]: whether the released value (an option key, a merged
    category "a+b", None = blank: anything) may stand for the true one (None: a value no released
    record holds but a blank)."""
    parts = sorted({p for x in released if x is not None for p in str(x).split("+")}, key=str)
    pidx = {p: i for i, p in enumerate(parts)}
    member = np.zeros((len(parts) + 1, len(released)), dtype=bool)  # last row: a value nobody has
    for r, x in enumerate(released):
        if x is None:
            member[:, r] = True
        else:
            for p in str(x).split("+"):
                member[pidx[p], r] = True
    t = np.array([pidx.get(x, len(parts)) if x is not None else len(parts) for x in true], dtype=np.int64)
    return member[t]


def _values(df: pd.DataFrame, name: str) -> np.ndarray:
    """The column as a new object array, missing = None (the values as ``astype("object")``
    gives them: str, int, bool, Timestamp ...)."""
    s = df[name]
    if isinstance(s.dtype, pd.CategoricalDtype):  # code -1 (missing) takes the appended None
        cats = np.append(np.asarray(s.cat.categories.astype(object), dtype=object), None)
        return cats[s.cat.codes.to_numpy()]
    out = s.to_numpy(dtype=object, copy=True)
    out[s.isna().to_numpy()] = None
    return out


def _released(level: Level, v: object) -> object:
    return None if v is None else level.mapping.get(v, v)


def _targets(true: dict[str, np.ndarray], qis: Sequence[QuasiIdentifier]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Target rows: every record, once per value its unanswered variables might really have.

    Returns (record index of each row, assumed true value of each variable per row).
    """
    rows: list[int] = []
    vals: dict[str, list] = {q.name: [] for q in qis}
    n = len(next(iter(true.values()))) if true else 0
    for i in range(n):
        options = []
        for q in qis:
            v = true[q.name][i]
            options.append([v] if v is not None else list(q.categories))
        for combo in itertools.product(*options):
            rows.append(i)
            for q, v in zip(qis, combo):
                vals[q.name].append(v)
    return np.array(rows, dtype=np.int64), {k: np.array(v, dtype=object) for k, v in vals.items()}


def _compat(target_vals: np.ndarray, record_vals: np.ndarray, level: Level, blank: np.ndarray) -> np.ndarray:
    """targets × records: the record's released value is compatible with the target's true one."""
    if level.dropped:
        return np.ones((len(target_vals), len(record_vals)), dtype=bool)
    cats = sorted({c for c in level.mapping.values()})
    idx = {c: i for i, c in enumerate(cats)}
    unknown = len(cats)  # a value no record is released as (e.g. an option nobody chose)

    def code(v: object) -> int:
        if v is None:
            return -1
        return idx.get(level.mapping.get(v, ""), unknown)

    t = np.array([code(v) for v in target_vals], dtype=np.int64)
    r = np.array([code(v) for v in record_vals], dtype=np.int64)
    r = np.where(blank, -1, r)
    return (t[:, None] == r[None, :]) | (r[None, :] < 0)


def attacker_counts(
    true: pd.DataFrame,
    released: pd.DataFrame,
    variables: Sequence[str],
    candidates: dict[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """Per true record: the fewest released records compatible with its true values on
    `variables`, over every value its unanswered variables might have.

    `released` holds the released values (original keys, merged "a+b" categories, None =
    blank), row i for true record i; a variable missing from it was left out and matches
    everything. `candidates` lists each variable's possible values (default: those seen in
    `true`).
    """
    n = len(true)
    if len(released) != n:
        raise ValueError(f"attacker_counts: {len(released)} released records for {n} true ones")
    qis = []
    for v in variables:
        seen = sorted({x for x in _values(true, v) if x is not None}, key=str)
        cats = tuple((candidates or {}).get(v, seen))
        qis.append(QuasiIdentifier(v, cats + tuple(c for c in seen if c not in cats), ordered=False))
    rows, assumed = _targets({q.name: _values(true, q.name) for q in qis}, qis)
    m = np.ones((len(rows), len(released)), dtype=bool)
    for v in variables:
        if v in released.columns:
            m &= compatible(_values(released, v), assumed[v])
    counts = m.sum(axis=1)
    worst = np.full(n, len(released), dtype=np.int64)
    np.minimum.at(worst, rows, counts)
    return worst


@dataclass
class Protection:
    """What :func:`k_anonymize` decided."""

    levels: dict[str, Level]
    blanked: dict[str, np.ndarray]  # variable -> bool per record
    key_sets: list[tuple[str, ...]]
    counts: dict[tuple[str, ...], np.ndarray]  # key set -> attacker's count per record (worst case)
    loss_bits: float
    before: dict[tuple[str, ...], int] = field(default_factory=dict)  # key set -> records below k before


def _admissible(level: Level, counts: pd.Series, k: int) -> bool:
    """Every released category (left in) holds at least k records."""
    if level.dropped:
        return True
    sizes: dict[str, int] = {}
    for c, n in counts.items():
        r = level.mapping.get(c, c)
        sizes[r] = sizes.get(r, 0) + int(n)
    return all(s >= k for s in sizes.values())


def _level_bits(values: np.ndarray, level: Level) -> float:
    """Entropy lost by releasing `values` at `level` (bits, summed over records)."""
    known = [v for v in values if v is not None]
    if not known:
        return 0.0
    s = pd.Series(known, dtype=object)
    n_orig = s.map(s.value_counts()).to_numpy(dtype=float)
    r = s.map(lambda v: level.mapping.get(v, v))
    n_rel = r.map(r.value_counts()).to_numpy(dtype=float)
    return float(np.log2(n_rel / n_orig).sum())


def _pack_rows(m: np.ndarray) -> np.ndarray:
    """The rows of a bool matrix as 64-bit words, zero-padded (:func:`_unpack_rows` undoes it).

    Only ANDs and popcounts are taken of the words, so the order of the bits in them is free.
    """
    b = np.packbits(m, axis=1)
    b = np.pad(b, ((0, 0), (0, -b.shape[1] % 8)))
    return np.ascontiguousarray(b).view(np.uint64)


def _unpack_rows(packed: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(packed.view(np.uint8), axis=1, count=n).astype(bool)


def _popcount_rows(packed: np.ndarray) -> np.ndarray:
    return np.bitwise_count(packed).sum(axis=1, dtype=np.int64)


class _Problem:
    """Precomputed compatibility matrices of every variable at every level (bit-packed)."""

    def __init__(self, df: pd.DataFrame, qis: Sequence[QuasiIdentifier], extras: Sequence[QuasiIdentifier], k: int):
        self.df = df
        self.vars = list(qis) + list(extras)
        self.names = [q.name for q in self.vars]
        self.k = k
        self.n = len(df)
        self.true = {q.name: _values(df, q.name) for q in self.vars}
        self.key_sets = [tuple(q.name for q in qis)] + [(*[q.name for q in qis], e.name) for e in extras]
        self.rows, self.assumed = _targets(self.true, self.vars)
        self.ladders: dict[str, list[Level]] = {}
        self.bits: dict[str, list[float]] = {}
        self.packed: dict[str, list[np.ndarray]] = {}
        for q in self.vars:
            vals = pd.Series(self.true[q.name], dtype=object)
            counts = vals.value_counts(dropna=True)
            ladder = [lv for lv in hierarchy(vals, q, drop=q.droppable) if _admissible(lv, counts, k)]
            if not ladder:
                raise ValueError(f"k_anonymize: {q.name} cannot be released with every category at k={k}")
            self.ladders[q.name] = ladder
            self.bits[q.name] = [
                (self._entropy(q.name) if lv.dropped else _level_bits(self.true[q.name], lv)) for lv in ladder
            ]
            none = np.zeros(self.n, dtype=bool)
            self.packed[q.name] = [
                _pack_rows(_compat(self.assumed[q.name], self.true[q.name], lv, none)) for lv in ladder
            ]
        self._base: tuple | None = None  # (quasi-identifiers' levels, their AND, its popcount): last counts()

    def _entropy(self, name: str) -> float:
        known = [v for v in self.true[name] if v is not None]
        if not known:
            return 0.0
        p = pd.Series(known, dtype=object).value_counts(normalize=True).to_numpy()
        return float(-(p * np.log2(p)).sum() * len(known))

    def counts(self, combo: dict[str, int]) -> dict[tuple[str, ...], np.ndarray]:
        """Per key set: candidates of every target row at these levels (no blanks).

        The search asks for the combinations in order, the extra identifiers' levels changing
        fastest, so the quasi-identifiers' AND is kept from the last call while their levels stay.
        The arrays returned are shared between calls: read them, do not change them.
        """
        base_ks = self.key_sets[0]
        qi_levels = tuple(combo[v] for v in base_ks)
        if self._base is None or self._base[0] != qi_levels:
            base = self.packed[base_ks[0]][combo[base_ks[0]]].copy()
            for v in base_ks[1:]:
                base &= self.packed[v][combo[v]]
            self._base = (qi_levels, base, _popcount_rows(base))
        _, base, base_counts = self._base
        out = {base_ks: base_counts}
        for ks in self.key_sets[1:]:
            out[ks] = _popcount_rows(base & self.packed[ks[-1]][combo[ks[-1]]])
        return out


@dataclass
class _KeySetState:
    """One key set's part of the decoy search (:func:`_suppress`), kept up to date blank by blank."""

    blankable: np.ndarray  # indices (in prob.names) of its variables that may be blanked
    miss: np.ndarray  # [target row, record]: how many of its variables fail (int8)
    cands: np.ndarray  # per target row: candidates (records with miss 0)
    short: np.ndarray  # per target row: fewer than k candidates
    gains: np.ndarray  # [blankable variable, record]: short rows one blank of it gives a candidate


def _suppress(prob: _Problem, combo: dict[str, int]) -> dict[str, np.ndarray]:
    """Decoy blanks (variable -> bool per record) that give every target row k candidates.

    Greedy: while some target row (under some key set) is short of k candidates, blank the
    value that adds a candidate to the most short rows, summed over the key sets (ties: the
    earlier variable, then the earlier record). A blank of variable j in record r adds r as a
    candidate of row t exactly when j is the only variable of the key set on which r fails t.

    Incremental: a blank changes one column (its record), and rows only ever leave the short
    rows (candidates are never lost), so per key set the failing variables per (row, record),
    the candidates per row and the gains per record are updated on that column and on the rows
    that reach k, instead of recounted every step (the same gains, hence the same blanks).
    """
    k, n, names = prob.k, prob.n, prob.names
    # fail[i, t, r]: record r's released value of variable i cannot stand for target row t's value
    fail = np.stack([~_unpack_rows(prob.packed[v][combo[v]], n) for v in names])
    may_blank = np.array([q.blankable and not prob.ladders[q.name][combo[q.name]].dropped for q in prob.vars])
    gain = np.zeros((len(names), n), dtype=np.int64)  # summed over the key sets
    states = []
    for ks in prob.key_sets:
        idx = np.array([names.index(v) for v in ks])
        jdx = idx[may_blank[idx]]
        miss = fail[idx].sum(axis=0, dtype=np.int8)  # a key set has a few variables only
        cands = (miss == 0).sum(axis=1)
        short = cands < k
        gains = ((miss[short] == 1)[None] & fail[jdx][:, short]).sum(axis=1)
        gain[jdx] += gains
        states.append(_KeySetState(jdx, miss, cands, short, gains))
    blanked = np.zeros((len(names), n), dtype=bool)
    while True:
        if not any(st.short.any() for st in states):
            return {v: blanked[i].copy() for i, v in enumerate(names)}  # own arrays, not views
        most = gain.max(axis=1)
        i = int(np.argmax(most))  # the earliest variable with the largest gain
        if most[i] == 0:
            ks, st = next((ks, st) for ks, st in zip(prob.key_sets, states) if st.short.any())
            raise RuntimeError(
                f"k_anonymize: no blank helps the {int(st.short.sum())} target(s) short of k={k} on {', '.join(ks)}"
            )
        r = int(np.argmax(gain[i]))  # the first record with the largest gain
        blanked[i, r] = True
        was = fail[i, :, r].copy()
        fail[i, :, r] = False
        for ks, st in zip(prob.key_sets, states):
            if names[i] not in ks:
                continue  # nothing of this key set changes
            st.miss[:, r] -= was
            st.cands += was & (st.miss[:, r] == 0)  # variable i was the only one failing these rows
            done = np.flatnonzero(st.short & (st.cands >= k))
            if done.size:  # rows that reached k count no more (column r is recounted below)
                st.short[done] = False
                lost = ((st.miss[done] == 1)[None] & fail[np.ix_(st.blankable, done)]).sum(axis=1)
                st.gains -= lost
                gain[st.blankable] -= lost
            rows = np.flatnonzero(st.short)
            col = ((st.miss[rows, r] == 1)[None] & fail[st.blankable[:, None], rows[None, :], r]).sum(axis=1)
            gain[st.blankable, r] += col - st.gains[:, r]
            st.gains[:, r] = col


def k_anonymize(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[QuasiIdentifier | str],
    k: int,
    extras: Sequence[QuasiIdentifier | str] = (),
    candidates: int = 12,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Protect `df` so that every record has at least `k` candidates the attacker's way, on the
    quasi-identifiers and on the quasi-identifiers plus each extra identifier.

    Variables given as plain names are unordered with pool "other". Returns the released frame
    (protected variables as object columns: original keys or merged ``"a+b"``; None = missing
    or blanked; a variable left out is dropped from the frame) and a report, one row per action:
    ``step`` (check | recode | drop | suppress), ``variable``, ``detail``, ``rows_affected``,
    ``violating_after``. ``report.attrs``: ``recodes`` ({variable: {original: released}}),
    ``dropped`` (variables left out), ``protection`` (:class:`Protection`).
    """
    if k < 1:
        raise ValueError(f"k_anonymize: k must be >= 1, got {k}")

    def as_qi(q: QuasiIdentifier | str) -> QuasiIdentifier:
        return q if isinstance(q, QuasiIdentifier) else QuasiIdentifier(q, (), ordered=False)

    qis = [as_qi(q) for q in quasi_identifiers]
    exs = [as_qi(q) for q in extras]
    names = [q.name for q in qis + exs]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise KeyError(f"k_anonymize: variables {missing} are not columns of the data")
    if len(set(names)) != len(names):
        raise ValueError(f"k_anonymize: a variable is listed twice in {names}")
    if len(df) < k:
        raise ValueError(f"k_anonymize: {len(df)} records cannot be {k}-anonymous")
    # codebook order first, then anything else seen (and every option for "no answer")
    fixed = []
    for q in qis + exs:
        seen = sorted({x for x in _values(df, q.name) if x is not None}, key=str)
        cats = tuple(q.categories) + tuple(c for c in seen if c not in q.categories)
        fixed.append(QuasiIdentifier(q.name, cats, q.ordered, q.pool, q.blankable, q.droppable, q.start))
    qis, exs = fixed[: len(qis)], fixed[len(qis) :]
    prob = _Problem(df, qis, exs, k)
    blank_bits = float(np.log2(len(df)))

    # 1. global recoding: score every combination of admissible levels
    ladders = [prob.ladders[v] for v in prob.names]
    scored = []
    cats = {q.name: list(q.categories) for q in qis + exs}
    before = {ks: int((attacker_counts(df, df, list(ks), cats) < k).sum()) for ks in prob.key_sets}
    for idx in itertools.product(*[range(len(lad)) for lad in ladders]):
        combo = dict(zip(prob.names, idx))
        cnt = prob.counts(combo)
        # blanks still needed, roughly: decoys are shared by neighbouring targets, so count the
        # records short of k (each needs at least one blank somewhere), not their shortfalls
        deficit = 0
        for c in cnt.values():
            short = np.zeros(prob.n, dtype=bool)
            short[prob.rows[c < k]] = True
            deficit = max(deficit, int(short.sum()))
        loss = sum(prob.bits[v][i] for v, i in combo.items())
        scored.append((round(loss + deficit * blank_bits, 9), sum(idx), idx))
    scored.sort()
    best = None
    for _, effort, idx in scored[:candidates]:  # finish the most promising ones exactly
        combo = dict(zip(prob.names, idx))
        try:
            blanked = _suppress(prob, combo)
        except RuntimeError:
            continue
        n_blanks = int(sum(b.sum() for b in blanked.values()))
        loss = sum(prob.bits[v][i] for v, i in combo.items()) + n_blanks * blank_bits
        key = (round(loss, 9), effort, idx)
        if best is None or key < best[0]:
            best = (key, combo, blanked, loss)
    if best is None:
        raise RuntimeError(f"k_anonymize: no combination of recodings and blanks reaches k={k}")
    _, combo, blanked, loss = best
    levels = {v: prob.ladders[v][i] for v, i in combo.items()}

    # 2. the released frame
    out = df.copy()
    for v in prob.names:
        lv = levels[v]
        if lv.dropped:
            out = out.drop(columns=v)
            continue
        rel = [None if (b or x is None) else _released(lv, x) for x, b in zip(prob.true[v], blanked[v])]
        out[v] = pd.Series(rel, index=df.index, dtype=object)
    # the attacker's count on the result (worst case over unanswered values)
    final_counts = {}
    for ks in prob.key_sets:
        final_counts[ks] = attacker_counts(df, out, list(ks), cats)
        if (final_counts[ks] < k).any():  # pragma: no cover - guarded by _suppress
            raise RuntimeError(f"k_anonymize: {int((final_counts[ks] < k).sum())} records short of k on {ks}")

    rows: list[dict] = []
    for ks in prob.key_sets:
        rows.append(
            dict(
                step="check",
                variable="+".join(ks[len(prob.key_sets[0]) :]) if len(ks) > len(prob.key_sets[0]) else "",
                detail=f"before: {before.get(ks, 0)} records with fewer than k={k} candidates on {', '.join(ks)}",
                rows_affected=0,
                violating_after=before.get(ks, 0),
            )
        )
    for q in qis + exs:
        lv = levels[q.name]
        vals = prob.true[q.name]
        full = hierarchy(pd.Series(vals, dtype=object), q, drop=True)
        n_start = len(full[0].steps)  # merges given at the start all sit on the first level
        start_groups = [r for r in dict.fromkeys(full[0].mapping.values()) if "+" in r]
        for step_no, s in enumerate(lv.steps, start=1):
            if step_no <= n_start:
                group = start_groups[step_no - 1]
                moved = int(sum(1 for x in vals if x is not None and full[0].mapping.get(x) == group))
                kind = "recode"
            else:
                prev, cur = full[step_no - n_start - 1], full[step_no - n_start]
                moved = int(sum(1 for x in vals if x is not None and prev.mapping.get(x, x) != cur.mapping.get(x, x)))
                if cur.dropped:
                    moved = int(sum(1 for x in vals if x is not None))
                kind = "drop" if cur.dropped else "recode"
            rows.append(dict(step=kind, variable=q.name, detail=s, rows_affected=moved, violating_after=0))
    for v in prob.names:
        if blanked[v].any():
            rows.append(
                dict(
                    step="suppress",
                    variable=v,
                    detail=f"blanked {int(blanked[v].sum())} values of {v} (local suppression)",
                    rows_affected=int(blanked[v].sum()),
                    violating_after=0,
                )
            )
    any_blank = np.zeros(prob.n, dtype=bool)
    for b in blanked.values():
        any_blank |= b
    if any_blank.any():
        rows.append(
            dict(
                step="suppress",
                variable="",
                detail="records with at least one blanked value",
                rows_affected=int(any_blank.sum()),
                violating_after=0,
            )
        )
    for ks in prob.key_sets:
        c = final_counts[ks]
        extra = "+".join(ks[len(prob.key_sets[0]) :]) if len(ks) > len(prob.key_sets[0]) else ""
        rows.append(
            dict(
                step="check",
                variable=extra,
                detail=f"after: fewest candidates {int(c.min())} on {', '.join(ks)} (k={k})",
                rows_affected=0,
                violating_after=0,
            )
        )
    rows.append(
        dict(
            step="check",
            variable="",
            detail=f"information loss {loss:.1f} bits",
            rows_affected=0,
            violating_after=0,
        )
    )
    report = pd.DataFrame(rows, columns=["step", "variable", "detail", "rows_affected", "violating_after"])
    report = report.astype({"rows_affected": "int64", "violating_after": "int64"})
    report.attrs["recodes"] = {
        v: {c: r for c, r in lv.mapping.items() if c != r} for v, lv in levels.items() if not lv.dropped
    }
    report.attrs["dropped"] = [v for v, lv in levels.items() if lv.dropped]
    report.attrs["protection"] = Protection(
        levels=levels, blanked=blanked, key_sets=prob.key_sets, counts=final_counts, loss_bits=loss, before=before
    )
    return out, report


# --------------------------------------------------------------------------- individual risk


def individual_risk(released: pd.DataFrame, quasi_identifiers: Sequence[str], weights: np.ndarray | None) -> np.ndarray:
    """sdcMicro's individual re-identification risk per record (``measure_risk``, approximation).

    fk = released records in the record's class (a blank matches any value, alpha = 1); Fk =
    the sum of their weights (fk without weights); pk = fk/Fk. The risk is 1/fk when fk = Fk,
    else the Benedetti-Franconi approximation of E[1/F | f] as in sdcMicro's ``indivRisk``.
    """
    qis = [q for q in quasi_identifiers if q in released.columns]
    codes = _codes(released, qis)
    n = len(codes)
    m = np.ones((n, n), dtype=bool)
    for j in range(codes.shape[1]):
        a = codes[:, j]
        m &= (a[:, None] == a[None, :]) | (a[:, None] < 0) | (a[None, :] < 0)
    fk = m.sum(axis=1).astype(float)
    Fk = m.astype(float) @ np.asarray(weights, dtype=float) if weights is not None else fk.copy()
    pk = np.clip(fk / Fk, 1e-12, 1 - 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        rk = np.where(fk > 2, pk / (fk - (1 - pk)), 0.0)
        rk = np.where(fk == 2, pk / (1 - pk) - (pk / (1 - pk)) ** 2 * np.log(1 / pk), rk)
        rk = np.where(fk == 1, pk / (1 - pk) * np.log(1 / pk), rk)
    return np.where(np.isclose(fk, Fk), 1 / fk, rk)


def risk_summary(risk: np.ndarray) -> dict[str, float]:
    """Distribution of the individual risk: max, mean, quantiles, records above 1/k-style bounds."""
    if len(risk) == 0:
        return {}
    return {
        "max": float(risk.max()),
        "mean": float(risk.mean()),
        "p50": float(np.quantile(risk, 0.5)),
        "p90": float(np.quantile(risk, 0.9)),
        "p99": float(np.quantile(risk, 0.99)),
        "above_0.05": int((risk > 0.05).sum()),
        "above_0.1": int((risk > 0.1).sum()),
        "expected_reidentifications": float(risk.sum()),
    }


def bits(x: float) -> str:  # pragma: no cover - formatting helper
    return f"{x:.1f}" if math.isfinite(x) else "inf"
