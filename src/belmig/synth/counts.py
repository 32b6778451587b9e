"""Targets: exact integer counts per question/option and per published subgroup cell.

Size: one derivation (published and assumed counts, subgroup fills, scale means, text codes)
over the shared builder state, a little above 600 lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd

from belmig.core.codebook import Codebook, Question
from belmig.core.keys import code_column
from belmig.integrity import published as pub
from belmig.synth import texts
from belmig.synth.common import SCALE_KEYS, SCALE_VALUES, SynthError, apportion


@dataclass(frozen=True)
class Cell:
    """Exact counts for one question (or its free-text codes) in one group of respondents.

    ``question`` is a codebook id, or ``<id>__code`` for the codes of its free text;
    ``by``/``level`` name the subgroup ("" = all respondents); ``counts`` maps option keys
    (``v1``..``v10`` for scales, code keys for texts) to counts, in codebook order.
    """

    question: str
    kind: str  # single | multi | scale | code
    by: str
    level: str
    base: int
    counts: Mapping[str, int]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.question, self.by, self.level)

    def total(self) -> int:
        """Sum of the answers of a scale cell (its mean is total / base)."""
        return int(sum(v * self.counts[k] for k, v in zip(SCALE_KEYS, SCALE_VALUES)))


@dataclass(frozen=True)
class Adjustment:
    """A count that differs from what its source implies by itself."""

    question: str
    by: str
    level: str
    option: str
    start: float  # the count the source implies (share x base), before adjusting
    final: int
    reason: str


@dataclass(frozen=True)
class Unmet:
    """A published figure the targets cannot reproduce (an audited conflict)."""

    figure: str
    printed: str
    comparator: str
    achieved: float
    reason: str


@dataclass(frozen=True)
class Targets:
    n: int  # analysed respondents
    cells: tuple[Cell, ...]
    adjustments: tuple[Adjustment, ...] = ()
    sources: tuple[tuple[str, str, str, str, str], ...] = ()  # question, by, level, option, source
    unmet: tuple[Unmet, ...] = ()

    def cell(self, question: str, by: str = "", level: str = "") -> Cell:
        for c in self.cells:
            if c.key == (question, by, level):
                return c
        raise KeyError(f"no target cell for {question!r} by {by!r}={level!r}")

    def has(self, question: str, by: str = "", level: str = "") -> bool:
        return any(c.key == (question, by, level) for c in self.cells)

    def subgroups(self, question: str) -> list[Cell]:
        return [c for c in self.cells if c.question == question and c.by != ""]

    def frame(self) -> pd.DataFrame:
        """Long table: question, by, level, option, base, k, source."""
        src = {(q, b, lv, o): s for q, b, lv, o, s in self.sources}
        rows = [
            (c.question, c.by, c.level, o, c.base, k, src.get((c.question, c.by, c.level, o), "derived"))
            for c in self.cells
            for o, k in c.counts.items()
        ]
        return pd.DataFrame(rows, columns=["question", "by", "level", "option", "base", "k", "source"])

    def adjustments_frame(self) -> pd.DataFrame:
        cols = ["question", "by", "level", "option", "start", "final", "reason"]
        return pd.DataFrame([[getattr(a, c) for c in cols] for a in self.adjustments], columns=cols)

    def scaled(self, n: int) -> Targets:
        """The same proportions for n respondents (bases and counts rounded; means approximate)."""
        f = n / self.n
        cells = []
        for c in self.cells:
            base = int(round(c.base * f))
            if c.kind in ("single", "scale", "code"):
                counts = dict(zip(c.counts, apportion(base, list(c.counts.values()))))
            else:
                counts = {k: min(base, int(round(v * f))) for k, v in c.counts.items()}
            cells.append(replace(c, base=base, counts=counts))
        return Targets(n=n, cells=tuple(cells), adjustments=(), sources=self.sources, unmet=self.unmet)


def share(k: int, n: int) -> Fraction:
    """100 k / n as an exact fraction (0 for an empty base)."""
    return Fraction(100 * int(k), int(n)) if n else Fraction(0)


def satisfies(value: Fraction | float, printed: str, comparator: str) -> bool:
    """Does a true value reproduce a printed figure? (the report's reading, belmig.integrity.published)"""
    return pub.comparator_holds(value, printed, comparator)


class _Rec(dict):
    """A table row: r["col"] or r.col."""

    __getattr__ = dict.__getitem__


def _norm(df: pd.DataFrame, required: Sequence[str], name: str) -> list[_Rec]:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SynthError(f"{name} lacks columns {missing}")
    out = []
    for rec in df[list(required)].astype("object").to_dict("records"):
        out.append(
            _Rec(
                {
                    k: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
                    for k, v in rec.items()
                }
            )
        )
    return out


def _sel(rows: Sequence[_Rec], **where: str) -> list[_Rec]:
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


class _Builder:
    def __init__(self) -> None:
        self.sources: list[tuple[str, str, str, str, str]] = []
        self.adjustments: list[Adjustment] = []
        self.unmet: list[Unmet] = []

    def src(self, q: str, by: str, level: str, option: str, source: str) -> None:
        self.sources.append((q, by, level, option, source))

    def adj(self, q: str, by: str, level: str, option: str, start: float, final: int, reason: str) -> None:
        """Record a count that is not simply its source's value rounded to the nearest integer."""
        if abs(float(start) - final) >= 0.5:
            self.adjustments.append(Adjustment(q, by, level, option, round(float(start), 4), int(final), reason))


def _is_exact(comparator: str) -> bool:
    return comparator in pub.EXACT_COMPARATORS


def _exact_k(
    q: str, by: str, level: str, base: int, figs: Sequence[_Rec], prefer: float, conflict: bool, b: _Builder
) -> int:
    """The count of `base` that reproduces every exact figure of one option (closest to `prefer`).

    When no count reproduces them all and the audit marked the row as a conflict, the count that
    reproduces the most of them is taken and the others are recorded as unmet.
    """
    rows = list(figs)
    near = {int(float(pub.exact(r.printed)) * base / 100) for r in rows} | {int(prefer)}
    ks = sorted({k for c in near for k in range(c - 3, c + 5) if 0 <= k <= base})
    score = {k: sum(satisfies(share(k, base), r.printed, r.comparator) for r in rows) for k in ks}
    best = max(score.values())
    if best < len(rows) and not conflict:
        shown = "; ".join(f"{r.printed} ({r.id})" for r in rows)
        raise SynthError(f"{q} by {by!r}={level!r}: no count out of {base} reproduces {shown}")
    k = min((k for k, s in score.items() if s == best), key=lambda k: (abs(k - prefer), k))
    for r in rows:
        if not satisfies(share(k, base), r.printed, r.comparator):
            b.unmet.append(
                Unmet(
                    r.id,
                    r.printed,
                    r.comparator,
                    float(share(k, base)),
                    f"no count of the audited base {base} reproduces it together with the other figures (audit: conflict)",
                )
            )
    return k


def _partial_choice(
    q: Question,
    by: str,
    level: str,
    base: int,
    figs: Sequence[_Rec],
    ass: Sequence[_Rec],
    conflict: bool,
    b: _Builder,
) -> tuple[dict[str, int | None], dict[str, float]]:
    """Counts of one cell from exact published figures and assumed shares; None where neither.

    Returns (counts, wants): `wants` holds the unrounded assumed counts (share x base)."""
    counts: dict[str, int | None] = {}
    wants: dict[str, float] = {}
    for o in q.keys:
        fo = [r for r in _sel(figs, option=o) if _is_exact(r.comparator)]
        ao = _sel(ass, option=o, stat="pct")
        a_share = float(ao[0].value) if ao else None
        if fo:
            prefer = a_share * base / 100 if a_share is not None else float(pub.exact(fo[0].printed)) * base / 100
            counts[o] = _exact_k(q.id, by, level, base, fo, prefer, conflict, b)
            b.src(q.id, by, level, o, ";".join(f"published:{r.id}" for r in fo))
        elif a_share is not None:
            wants[o] = a_share * base / 100
            counts[o] = min(base, int(math.floor(wants[o] + 0.5)))
            b.src(q.id, by, level, o, "assumed")
        else:
            counts[o] = None
    if q.type == "single" and None not in counts.values():
        total = sum(counts.values())
        if total != base:
            free = list(wants)
            rest = base - sum(v for o, v in counts.items() if o not in wants)
            if not free or rest < 0:
                raise SynthError(f"{q.id} by {by!r}={level!r}: counts {counts} cannot sum to the base {base}")
            for o, k in zip(free, apportion(rest, [wants[o] for o in free])):
                b.adj(q.id, by, level, o, wants[o], k, "assumed shares rounded so the options sum to the base")
                counts[o] = k
    return counts, wants


def _check_multi(q: Question, base: int, counts: Mapping[str, int], what: str) -> None:
    excl = [o.key for o in q.options if o.exclusive]
    k_ex = sum(counts[o] for o in excl)
    nonex = sum(v for o, v in counts.items() if o not in excl)
    if (
        any(v < 0 for v in counts.values())
        or k_ex > base
        or any(v > base - k_ex for o, v in counts.items() if o not in excl)
    ):
        raise SynthError(f"{what}: counts {dict(counts)} do not fit base {base} with exclusive options")
    if base - k_ex > 0 and nonex < base - k_ex:
        raise SynthError(f"{what}: {base - k_ex} respondents need >= 1 option but only {nonex} ticks")
    if base == 0 and nonex + k_ex:
        raise SynthError(f"{what}: ticks without respondents")


def _joint_fill(
    q: Question, marg: Mapping[str, int], cells: list[tuple[str, str, int, dict]], b: _Builder
) -> list[dict[str, int]]:
    """Fill the unknown counts of the subgroup cells and of the rest of the sample so that the
    cells add up to the whole-sample counts: proportional to the cells' remaining room, integer
    by largest remainder, then single-choice columns evened out by moving single answers."""
    keys = q.keys
    rows = [dict(c[3]) for c in cells]
    bases = [c[2] for c in cells]
    col_rem = {o: marg[o] - sum(r[o] for r in rows if r[o] is not None) for o in keys}
    if any(v < 0 for v in col_rem.values()):
        raise SynthError(f"{q.id}: subgroup counts exceed the whole-sample counts ({col_rem})")
    if q.type == "single":
        row_rem = [bs - sum(v for v in r.values() if v is not None) for r, bs in zip(rows, bases)]
        if any(v < 0 for v in row_rem) or sum(row_rem) != sum(col_rem.values()):
            raise SynthError(
                f"{q.id}: subgroup cells cannot add up to the whole sample (rows {row_rem}, columns {col_rem})"
            )
        for r, rem in zip(rows, row_rem):
            free = [o for o in keys if r[o] is None]
            if not free:
                continue
            w = [col_rem[o] for o in free]
            for o, k in zip(free, apportion(rem, w if sum(w) > 0 else [1] * len(free))):
                r[o] = k
        while True:  # each move brings two columns one closer to their totals
            diff = {o: sum(r[o] for r in rows) - marg[o] for o in keys}
            over = [o for o in keys if diff[o] > 0]
            under = [o for o in keys if diff[o] < 0]
            if not over:
                break
            move = next(
                (
                    (i, o, u)
                    for o in over
                    for u in under
                    for i, c in enumerate(cells)
                    if c[3][o] is None and c[3][u] is None and rows[i][o] > 0
                ),
                None,
            )
            if move is None:
                raise SynthError(f"{q.id}: cannot even out the subgroup cells ({diff})")
            i, o, u = move
            rows[i][o] -= 1
            rows[i][u] += 1
    else:
        for o in keys:
            free = [i for i, r in enumerate(rows) if r[o] is None]
            if not free:
                continue
            caps = [bases[i] for i in free]
            ks = apportion(col_rem[o], caps if sum(caps) > 0 else [1] * len(free))
            spill = 0
            for j in range(len(free)):
                over = max(0, ks[j] - caps[j])
                ks[j] -= over
                spill += over
            for j in range(len(free)):
                take = min(spill, caps[j] - ks[j])
                ks[j] += take
                spill -= take
            if spill:
                raise SynthError(f"{q.id}.{o}: {col_rem[o]} ticks do not fit into the subgroup cells")
            for j, i in enumerate(free):
                rows[i][o] = ks[j]
    for by, level, _base, given in cells:
        for o in keys:
            if given[o] is None:
                b.src(q.id, by, level, o, "filled from the whole-sample counts")
    return rows


def _derive_scale(q: Question, base: int, figs: Sequence[_Rec], ass: Sequence[_Rec], b: _Builder) -> dict[str, int]:
    """Counts per point 1..10 from the assumed distribution, moved minimally to hit the printed mean."""
    shares = []
    for key in SCALE_KEYS:
        ao = _sel(ass, option=key, stat="pct")
        if not ao:
            raise SynthError(f"{q.id}: assumed.csv has no share for scale point {key}")
        shares.append(float(ao[0].value))
        b.src(q.id, "", "", key, "assumed")
    expected = np.array(shares) / sum(shares) * base
    counts = np.array(apportion(base, shares))
    exact_means = [r for r in figs if r.stat == "mean" and _is_exact(r.comparator)]
    checks = [r for r in figs if r not in exact_means]

    def ok(c: np.ndarray) -> bool:
        return all(satisfies(_scale_value(c, base, r.option, r.stat), r.printed, r.comparator) for r in checks)

    if exact_means:
        vals = np.array(SCALE_VALUES)
        centre = int(float(pub.exact(exact_means[0].printed)) * base)
        feasible = [
            s
            for s in range(max(base, centre - 3), min(10 * base, centre + 4) + 1)
            if all(satisfies(Fraction(s, base), r.printed, "=") for r in exact_means)
        ]
        if not feasible:
            raise SynthError(
                f"{q.id}: no sum of {base} answers has the printed mean(s) {[r.printed for r in exact_means]}"
            )
        total = int(vals @ counts)
        goal = min(feasible, key=lambda s: (abs(s - total), s))
        while total != goal:
            d = 1 if goal > total else -1
            best = None
            for i in range(10):
                j = i + d
                if not 0 <= j < 10 or counts[i] == 0:
                    continue
                trial = counts.copy()
                trial[i] -= 1
                trial[j] += 1
                cost = float(((trial - expected) ** 2).sum() - ((counts - expected) ** 2).sum())
                cand = (0 if ok(trial) or not ok(counts) else 1, cost, i)
                best = cand if best is None or cand < best else best
            i = best[2]
            counts[i] -= 1
            counts[i + d] += 1
            total += d
        for r in exact_means:
            b.src(q.id, "", "", "mean", f"published:{r.id}")
        reason = f"moved to reproduce the printed mean {exact_means[0].printed}"
    else:
        reason = "rounded so the points sum to the base"
    for key, e, k in zip(SCALE_KEYS, expected, counts):
        b.adj(q.id, "", "", key, e, int(k), reason)
    if not ok(counts):
        raise SynthError(f"{q.id}: scale counts {counts.tolist()} miss a published figure; fix assumed.csv")
    return {k: int(v) for k, v in zip(SCALE_KEYS, counts)}


def _scale_value(counts: Sequence[int], base: int, option: str, stat: str) -> Fraction:
    c = np.asarray(counts)
    if stat == "mean":
        return Fraction(int(np.array(SCALE_VALUES) @ c), base)
    if option.startswith("ge"):
        k = int(c[int(option[2:]) - 1 :].sum())
    elif option in SCALE_KEYS:
        k = int(c[SCALE_KEYS.index(option)])
    else:
        raise SynthError(f"unknown scale option {option!r}")
    return share(k, base)


def figure_value(t: Targets, codebook: Codebook, fig: Mapping[str, str]) -> Fraction:
    """The value a published figure takes in the target counts (percent or mean)."""
    q = codebook[fig["question"]]
    if q.type == "scale":
        c = t.cell(q.id)
        return _scale_value([c.counts[k] for k in SCALE_KEYS], c.base, fig["option"], fig["stat"])
    opts = fig["option"].split(pub.OPTION_SEP)
    if fig["by"] == q.id:  # a share within some levels of the same question
        c = t.cell(q.id)
        return share(sum(c.counts[o] for o in opts), sum(c.counts[lv] for lv in fig["level"].split(pub.OPTION_SEP)))
    c = t.cell(q.id, fig["by"], fig["level"])
    return share(sum(c.counts[o] for o in opts), c.base)


def targets(codebook: Codebook, figures: pd.DataFrame, assumed: pd.DataFrame, bases: pd.DataFrame) -> Targets:
    """Exact integer counts per question/option and subgroup cell, from the audited bases.

    - a published percentage: the count k that reproduces it at the chosen base (closest to the
      assumed share when there is one); where the audit found no base reproducing every figure
      of a row (status ``conflict``), the count reproducing the most of them, the rest recorded in
      ``unmet``;
    - an assumed percentage: the rounded assumed share (single-choice options made to sum to
      the base by largest remainder);
    - subgroup cells: the audited subgroups, plus subgroups that only assumed.csv names (their
      base: the one closest to proportional that reproduces the assumed shares); options the
      cell has no value for are filled from the whole-sample counts;
    - scale questions: counts per point whose mean prints as published (the assumed
      distribution moved minimally, one respondent by one point at a time);
    - free texts: ``plan`` and ``comment_rate`` of ``texts.yaml`` (synthetic choices, documented there).
    Every count that differs from what its source implies by itself is listed in ``adjustments``.
    """
    fig = _norm(figures, ["id", "printed", "stat", "question", "option", "by", "level", "comparator"], "figures")
    fig = [r for r in fig if r.stat in ("pct", "mean") and r.question]
    ass = _norm(assumed, ["question", "option", "by", "level", "stat", "value"], "assumed")
    bas = _norm(bases, ["question", "by", "level", "chosen_base", "status"], "audit_bases")
    unknown = sorted({r.question for r in fig} - set(codebook.by_id))
    if unknown:
        raise SynthError(f"figures refer to unknown questions {unknown}")
    b = _Builder()

    def audit_row(qid: str, by: str = "", level: str = ""):
        r = _sel(bas, question=qid, by=by, level=level)
        if len(r) > 1:
            raise SynthError(f"audit_bases has {len(r)} rows for {qid} by {by!r}={level!r}")
        return r[0] if r else None

    def base_of(qid: str, by: str = "", level: str = "") -> tuple[int, bool]:
        r = audit_row(qid, by, level)
        if r is None:
            raise SynthError(f"audit_bases has no row for {qid} by {by!r}={level!r}")
        return int(float(r.chosen_base)), r.status == "conflict"

    in_cell = lambda rows, by, lv: _sel(rows, by=by, level=lv)  # noqa: E731
    n = base_of(codebook.questions[0].id)[0]  # screening question: every analysed respondent answers it
    cells: list[Cell] = []
    done: dict[str, Cell] = {}
    for q in codebook.questions:
        if q.type not in ("single", "multi", "scale"):
            continue
        qf_all = _sel(fig, question=q.id)
        qf = [r for r in qf_all if r.by != q.id]  # shares within levels of q itself are checked, not derived
        qa = _sel(ass, question=q.id)
        marg_base, marg_conflict = base_of(q.id)
        if q.type == "scale":
            if any(r.by for r in qf) or any(r.by for r in qa):
                raise SynthError(f"{q.id}: subgroup targets for scale questions are not supported")
            cell = Cell(q.id, "scale", "", "", marg_base, _derive_scale(q, marg_base, qf, qa, b))
            cells.append(cell)
            done[q.id] = cell
            _verify(codebook, Targets(n, tuple(cells)), qf_all, b)
            continue
        groups = list(
            dict.fromkeys(
                [(r.by, r.level) for r in _sel(bas, question=q.id) if r.by] + [(r.by, r.level) for r in qa if r.by]
            )
        )
        if len({g[0] for g in groups}) > 1:
            raise SynthError(
                f"{q.id}: subgroups by several questions {sorted({g[0] for g in groups})} are not supported"
            )
        sub_base: dict[tuple[str, str], tuple[int, bool]] = {}
        for g in groups:
            if audit_row(q.id, *g) is not None:
                sub_base[g] = base_of(q.id, *g)
            else:
                sub_base[g] = (_derived_base(q, g, marg_base, in_cell(qa, *g), done, codebook, n, b), False)
        marg, _ = _partial_choice(q, "", "", marg_base, in_cell(qf, "", ""), in_cell(qa, "", ""), marg_conflict, b)
        subs = {
            g: _partial_choice(q, *g, sub_base[g][0], in_cell(qf, *g), in_cell(qa, *g), sub_base[g][1], b)[0]
            for g in groups
        }
        missing = [o for o, v in marg.items() if v is None]
        if missing:
            by_vars = {g[0] for g in groups}
            exhaustive = (
                len(by_vars) == 1
                and sum(sub_base[g][0] for g in groups) == marg_base
                and all(None not in s.values() for s in subs.values())
            )
            if exhaustive:  # the subgroups partition the answerers: whole-sample counts are their sums
                for o in missing:
                    marg[o] = sum(s[o] for s in subs.values())
                    b.src(q.id, "", "", o, "sum of subgroups")
            elif q.type == "single" and len(missing) == 1:
                marg[missing[0]] = marg_base - sum(v for v in marg.values() if v is not None)
                b.src(q.id, "", "", missing[0], "residual")
            else:
                raise SynthError(f"{q.id}: no published or assumed value for {missing}")
        if q.type == "single" and sum(marg.values()) != marg_base:
            raise SynthError(f"{q.id}: counts {marg} do not sum to the base {marg_base}")
        if q.type == "multi":
            _check_multi(q, marg_base, marg, q.id)
        rest_base = marg_base - sum(sub_base[g][0] for g in groups)
        if rest_base < 0:
            raise SynthError(f"{q.id}: subgroup bases exceed the whole-sample base {marg_base}")
        filled = (
            _joint_fill(
                q,
                marg,
                [(g[0], g[1], sub_base[g][0], subs[g]) for g in groups]
                + [("*rest*", "", rest_base, {o: None for o in q.keys})],
                b,
            )
            if groups
            else []
        )
        cell = Cell(q.id, q.type, "", "", marg_base, dict(marg))
        cells.append(cell)
        done[q.id] = cell
        for g, counts in zip(groups, filled):
            if q.type == "multi":
                _check_multi(q, sub_base[g][0], counts, f"{q.id} by {g[0]}={g[1]}")
            cells.append(Cell(q.id, q.type, g[0], g[1], sub_base[g][0], counts))
        if groups and q.type == "multi":
            _check_multi(q, rest_base, filled[-1], f"{q.id} (rest of the sample)")
        _verify(codebook, Targets(n, tuple(cells)), qf_all, b)
    t = Targets(n=n, cells=tuple(cells))
    cells.extend(_text_cells(codebook, t, b))
    return Targets(
        n=n, cells=tuple(cells), adjustments=tuple(b.adjustments), sources=tuple(b.sources), unmet=tuple(b.unmet)
    )


def _verify(codebook: Codebook, t: Targets, figs: Sequence[_Rec], b: _Builder) -> None:
    """Every figure of the question holds in the counts (or is a recorded, audited conflict)."""
    unmet = {u.figure for u in b.unmet}
    for r in figs:
        v = figure_value(t, codebook, r)
        if not satisfies(v, r["printed"], r["comparator"]) and r["id"] not in unmet:
            raise SynthError(
                f"figure {r['id']} ({r['comparator']} {r['printed']}) is not reproduced: {float(v):.4f}; "
                "fix assumed.csv or the audit"
            )


def _derived_base(
    q: Question,
    g: tuple[str, str],
    marg_base: int,
    ass: Sequence[_Rec],
    done: Mapping[str, Cell],
    codebook: Codebook,
    n: int,
    b: _Builder,
) -> int:
    """Base of a subgroup cell only assumed.csv names: closest to the proportional share of the
    question's base that reproduces every assumed share of the cell at two decimals."""
    by, level = g
    if by not in done:
        raise SynthError(f"{q.id}: subgroup by {by!r}, which comes later in the questionnaire")
    if q.universe is None:
        pool, universe = done[by].counts[level], n
    elif q.universe.question == by:
        pool = done[by].counts[level] if level in q.universe.values else 0
        universe = sum(done[by].counts[v] for v in q.universe.values)
    else:
        raise SynthError(f"{q.id}: cannot size the subgroup {by}={level} inside the universe of {q.id}")
    expected = marg_base * pool / universe if universe else 0
    values = [float(r.value) for r in ass]

    def fits(base: int) -> bool:
        return all(
            any(
                abs(float(share(k, base)) - v) <= 0.005 + 1e-9
                for k in (math.floor(v * base / 100), math.ceil(v * base / 100))
            )
            for v in values
        )

    ok = [m for m in range(1, pool + 1) if fits(m)]
    if not ok:
        raise SynthError(f"{q.id} by {by}={level}: no base up to {pool} reproduces the assumed shares {values}")
    base = min(ok, key=lambda m: (abs(m - expected), -m))
    b.src(q.id, by, level, "(base)", f"derived: closest to {expected:.1f} reproducing assumed shares")
    return base


def _text_cells(codebook: Codebook, t: Targets, b: _Builder) -> list[Cell]:
    """Code counts of the free texts: open questions and the 'Other' answers of choice questions."""
    out: list[Cell] = []
    tx = texts.load()
    for q in codebook.questions:
        if q.type != "text" and not q.other_column:
            continue
        plan = tx.plan.get(q.id)
        if plan is None:
            raise SynthError(f"{texts.TEXTS_FILE.name}: no plan for the free texts of {q.id}")
        bad = {c for lv in plan.values() for c in lv} - set(tx.bank[q.id])
        if bad:
            raise SynthError(f"{texts.TEXTS_FILE.name}: plan {q.id}: codes {sorted(bad)} have no texts in the bank")
        if q.type == "text":
            cells = []
            for level, shares in plan.items():
                if level == "":
                    if q.universe is not None:
                        raise SynthError(
                            f"{texts.TEXTS_FILE.name}: plan {q.id}: give a plan per level of {q.universe.question}"
                        )
                    by, pool = "", t.n
                else:
                    by = q.universe.question
                    pool = t.cell(by).counts[level]
                base = int(round(tx.comment_rate[q.id] * pool))
                counts = dict(zip(shares, apportion(base, list(shares.values()))))
                for code in counts:
                    b.src(code_column(q.id), by, level, code, "synth texts.yaml plan")
                cells.append(Cell(code_column(q.id), "code", by, level, base, counts))
            if len(cells) > 1 or cells[0].by:
                tot: dict[str, int] = {}
                for c in cells:
                    for k, v in c.counts.items():
                        tot[k] = tot.get(k, 0) + v
                cells.insert(0, Cell(code_column(q.id), "code", "", "", sum(c.base for c in cells), tot))
            out.extend(cells)
        else:
            other = [o.key for o in q.options if o.other]
            if len(other) != 1:
                raise SynthError(f"{q.id} has an other_column but {len(other)} options marked other")
            base = t.cell(q.id).counts[other[0]]
            counts = dict(zip(plan[""], apportion(base, list(plan[""].values()))))
            for code in counts:
                b.src(code_column(q.id), "", "", code, "synth texts.yaml plan")
            out.append(Cell(code_column(q.id), "code", "", "", base, counts))
    return out
