"""GRIM-style audit of the published figures: which numbers of respondents could have produced them.

Rounding convention
-------------------
A figure printed with ``d`` decimals stands for every true value within half a unit of its last
digit, both ends included: "18.70" covers [18.695, 18.705]. Including both ends accepts
round-half-up and round-half-even printing alike. All arithmetic is on integers/fractions.

- Percentage ``p`` (``d`` decimals) is consistent with base ``n`` when some integer ``k`` in
  ``0..n`` has ``|100 k / n - p| <= 0.5 * 10**-d``.
- Mean ``m`` of a scale ``lo..hi`` is consistent with ``n`` when some integer total ``S`` in
  ``[lo n, hi n]`` has ``|S / n - m| <= 0.5 * 10**-d``.

Only figures printed with comparator "=" or "only" enter the test; worded figures ("about 86%",
"slightly more than 8%", "a quarter") are checked afterwards at the chosen base.

Rows
----
One row per codebook question of type single/multi/scale (``by`` = "") and one per published
subgroup (``by``/``level`` set, e.g. income_regular among women). The *universe size* of a row
is ``n_analysed`` for questions asked of everyone, the number of respondents in the filtering
levels (at the parent's chosen base) for follow-up questions, and the size of the level for
subgroups (subgroup sizes of a question without published figures, such as ``sex``, come from
``assumed.csv``).

Base-choice rule
----------------
For each question, in questionnaire order, every candidate base ``N`` in ``1..universe`` is scored
together with the rows that depend on it (follow-up questions asked of some of its levels,
subgroups defined by its levels, and its own subgroups by an earlier question):

1. require feasibility: subgroup bases over the levels of a grouping question must add up to at
   most ``N``, the remainder must fit into the unpublished levels (plus those who skipped the
   grouping question), and subgroup counts must fit into the question's own counts;
2. maximise the number of exact figures met (the question's own and, for each dependent row, the
   best it can do within the universe that ``N`` implies);
3. minimise the item nonresponse the choice implies (universe - N, plus each dependent row's
   universe minus its base);
4. prefer the larger base.

A dependent row takes the largest base that meets the most of its figures within its universe.
So with no conflict the rule reduces to "the largest consistent base not above the universe size,
with subgroup bases consistent with their parents". Where no base meets every figure of a row the
status is ``conflict`` and the note names the figures missed at the chosen base. A row without
any exact figure gets status ``assumed`` and the universe size: OUR assumption of no item
nonresponse, since nothing printed tells otherwise.

Size: one algorithm (GRIM primitives, the base-choice solver, the tables that explain its
choices) over the solver's shared state, hence one module above 600 lines; the GRIM primitives
are the seam to split along if it grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import pandas as pd

from belmig.core import atomic, messages
from belmig.core.codebook import Codebook
from belmig.core.ledger import Values
from belmig.integrity import published as pub

CELL = "audit-values"
# note, values, meaning: English; notes, values_notes, meaning_notes: the same as notes (id and
# parameters, belmig.core.messages), which the translated editions word themselves
BASES_COLUMNS = ["question", "by", "level", "figures", "consistent_bases", "chosen_base", "status", "note", "notes"]
GROUPS_COLUMNS = [
    "check", "question", "by", "level", "values", "result", "meaning", "values_notes", "meaning_notes"
]  # fmt: skip
AUDITED_TYPES = ("single", "multi", "scale")

# What the audit's tables say about a row, in English; each edition of the report words the same
# notes itself (report/tables.<lang>.yaml, notes: audit.<id>).
NOTE = messages.catalog(
    "audit",
    {
        # bases: how the chosen base was found
        "from_subgroups": "no figure for the whole question; base = sum of its published subgroup bases",
        "assumed_all": "no exact figure fixes the base; assumed all {U} in the universe answered (no item nonresponse)",
        "assumed_split": "answer split taken from assumed.csv",
        "conflict": "no base <= {U} meets all {exact} exact figures; chose {n}, which meets {met}; missed: {missed}",
        "missed_pct": "{printed} (nearest {k}/{n} = {pct}; fits n = {fits})",
        "missed_pct_none": "{printed} (nearest {k}/{n} = {pct}; fits n = none)",
        "missed_other": "{printed}",
        "mean_only": "a printed mean hardly constrains the base; universe size taken",
        "below_universe": "base {n} < universe {U}: {missing} in the universe did not answer",
        "must_skip": "the figures cannot hold at {U} (everyone in the universe), so some must have skipped",
        "rejected": "consistent base {m} rejected: {why}",
        "plan_bases": "subgroup bases by {by} add up to {total}, leaving {rest} (room: 0..{cap})",
        "plan_counts": "{opt}: subgroup counts {ks} do not fit {kq} (rest {rest})",
        "plan_unfit": "subgroups do not fit",
        "fewer_figures": "dependent rows would meet {k} fewer figures",
        "more_skipped": "implies {k} more skipped answers overall",
        "worded_met": "worded {word} {printed}: can be met at {n}",
        "worded_unmet": "worded {word} {printed}: CANNOT be met at {n}",
        # cross-checks: the values compared
        "v_within_universe": "{n} <= {u} ({p} in {levs})",
        "v_bases_add_up": "{parts} = {total} <= {n}; remainder {rest}",
        "v_counts_add_up": "{q}={opt}: {parts} = {k} of {kq}; remainder {r} among {rest}",
        "v_vs_parent": "{parts} = {n} of {u}",
        "v_residual": "{opt} {word} {printed}: needs {lo} .. {hi} of {rest} left",
        "v_residual_none": "{opt} {word} {printed}: needs no .. - of {rest} left",
        "v_nested": "{qa}={oa}: {ka} <= {qb}={ob}: {kb}",
        # cross-checks: what they mean
        "asked_all": "{q} was asked of the {u} respondents with {p} = {levs}; all of them answered",
        "asked_skipped": "{q} was asked of the {u} respondents with {p} = {levs}; {k} of them skipped it",
        "asked_exceeded": "more respondents answered {q} ({n}) than were asked it ({u})",
        "group_fits": "the {level} group of {by} answering {q} ({n}) fits the {u} respondents of that group",
        "group_fits_skipped": (
            "the {level} group of {by} answering {q} ({n}) fits the {u} respondents of that group; "
            "{k} of them skipped {q}"
        ),
        "bases_add_up": (
            "{q} answered by {n}: {total} of them are {levels} by {by}; the other {rest} "
            "must be in the unpublished levels of {by} or have skipped {by}"
        ),
        "counts_add_up": (
            "of the {kq} answering {opt}, {k} are in the published {by} groups; the other "
            "{r} must come from the {rest} respondents outside them"
        ),
        "counts_add_up_none": (
            "of the {kq} answering {opt}, {k} are in the published {by} groups; the other "
            "{r} must come from the {rest} respondents outside them (so none of those has this answer)"
        ),
        "vs_parent": "{q} is published separately for {levels}; together {n} of the {u} respondents asked answered it",
        "vs_parent_skipped": (
            "{q} is published separately for {levels}; together {n} of the {u} respondents asked answered it "
            "({k} skipped it)"
        ),
        "single_complete": "the published options of {q} account for {tot} of {n} answers",
        "single_partial": (
            "the published options of {q} account for {tot} of {n} answers; {k} fall in unpublished options ({opts})"
        ),
        "residual_ok": (
            "after the exact options, {rest} answers remain; {opt} needs at least {lo}, leaving at most {most} for {left}"
        ),
        "residual_ok_alone": (
            "after the exact options, {rest} answers remain; {opt} needs at least {lo}, leaving at most {most} "
            "for nothing else"
        ),
        "residual_fail": "the {rest} answers left after the exact options cannot hold {opt} at {word} {printed}",
        "exclusive": (
            "{opt} excludes every other answer, so its {k} respondents and the {other} of the most "
            "frequent other answer must be different people"
        ),
        "overlap": (
            "the published answers of {q} exceed its {n} respondents by {d}; one person adds at most "
            "{m} extra, so at least {k} respondents chose two or more of them (allowed: several answers possible)"
        ),
        "diaspora_nested": "people taking part in diaspora organisations should be among those who know them",
    },
)


class AuditError(ValueError):
    pass


# ------------------------------------------------------------------------- GRIM primitives
@lru_cache(maxsize=4096)  # a pure function of the string; the solver asks it for each candidate base
def _scaled(printed: str) -> tuple[int, int]:
    """ "18.70" -> (1870, 2): the printed value times 10**d, and d."""
    d = pub.decimals(printed)
    return int(printed.strip().replace(",", "").replace(".", "")), d


def pct_counts(printed: str, n: int) -> list[int]:
    """Every count k in 0..n whose share 100k/n prints as ``printed`` (see rounding convention)."""
    if n < 1:
        return []
    p, d = _scaled(printed)
    scale = 100 * 10**d
    k0 = (p * n) // scale
    return [k for k in (k0 - 1, k0, k0 + 1) if 0 <= k <= n and 2 * abs(k * scale - p * n) <= n * 1]


def pct_consistent(printed: str, n: int) -> bool:
    return bool(pct_counts(printed, n))


def mean_totals(printed: str, n: int, lo: int = 1, hi: int = 10) -> list[int]:
    """Every total S in [lo n, hi n] with S/n printing as ``printed``."""
    if n < 1:
        return []
    m, d = _scaled(printed)
    scale = 10**d
    s0 = (m * n) // scale
    return [s for s in (s0 - 1, s0, s0 + 1) if lo * n <= s <= hi * n and 2 * abs(s * scale - m * n) <= n]


def mean_consistent(printed: str, n: int, lo: int = 1, hi: int = 10) -> bool:
    return bool(mean_totals(printed, n, lo, hi))


def nearest_count(printed: str, n: int) -> int:
    """The count k in 0..n whose share 100k/n is closest to the printed percentage (ties: the smaller)."""
    if n < 1:
        return 0
    p, d = _scaled(printed)
    scale = 100 * 10**d
    k0 = (p * n) // scale  # floor of the exact count
    cands = [k for k in (k0, k0 + 1) if 0 <= k <= n] or [min(max(k0, 0), n)]
    return min(cands, key=lambda k: (abs(k * scale - p * n), k))


def consistent_bases(
    printed: list[str], n_max: int, *, stat: str = "pct", scale: tuple[int, int] = (1, 10)
) -> list[int]:
    """Bases 1..n_max consistent with every printed value (options of one question).

    >>> consistent_bases(["34.48", "20.69", "44.83"], 100)
    [29, 58, 87]
    """
    test = pct_consistent if stat == "pct" else (lambda p, n: mean_consistent(p, n, *scale))
    return [n for n in range(1, n_max + 1) if all(test(p, n) for p in printed)]


def compact(bases: list[int], limit: int = 12) -> str:
    """Runs of consecutive bases as ranges: [1,2,3,7,29,58] -> "1–3,7,29,58"; long lists are cut."""
    if not bases:
        return "none"
    parts, start, prev = [], bases[0], bases[0]
    for b in bases[1:] + [None]:
        if b is not None and b == prev + 1:
            prev = b
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if b is not None:
            start = prev = b
    if len(parts) > limit:
        parts = parts[: limit - 2] + ["…"] + parts[-2:]
    return ",".join(parts)


def _apportion(shares: dict[str, Fraction], n: int) -> dict[str, int]:
    """Counts for percentage shares of one single-choice question at base n (largest remainder).

    The total is the shares' sum times n, rounded half up (n when the shares add up to 100), so
    assumed splits never produce more answers than respondents.
    """
    total = int(sum(shares.values()) * n / 100 + Fraction(1, 2))
    exact = {o: v * n / 100 for o, v in shares.items()}
    counts = {o: int(x) for o, x in exact.items()}
    order = sorted(exact, key=lambda o: (-(exact[o] - counts[o]), list(shares).index(o)))
    for o in order[: max(0, total - sum(counts.values()))]:
        counts[o] += 1
    return counts


# ------------------------------------------------------------------------- rows
@dataclass
class _Fig:
    id: str
    printed: str
    comparator: str
    stat: str
    options: list[str]  # [] for means


@dataclass
class _Row:
    question: str
    by: str
    level: str
    exact: list[_Fig] = field(default_factory=list)
    worded: list[_Fig] = field(default_factory=list)
    scale: tuple[int, int] = (1, 10)
    sat: list[int] = field(default_factory=list)  # sat[n] = exact figures met at base n
    best: list[tuple[int, int]] = field(default_factory=list)  # best[h] = (max sat, largest n) over 1..h

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.question, self.by, self.level)

    def meets(self, f: _Fig, n: int) -> bool:
        if f.stat == "mean":
            return mean_consistent(f.printed, n, *self.scale)
        return pct_consistent(f.printed, n)

    def prepare(self, n_max: int) -> None:
        sat = [0] * (n_max + 1)
        for f in self.exact:  # figure by figure over all bases: the same test as meets(f, n)
            for n in _bases_met(f, n_max, self.scale):
                sat[n] += 1
        self.sat = sat
        # best[n] = best[n - 1] unless sat[n] >= its max: the larger of the two (sat, n) pairs,
        # since n grows (best[0] = (sat[0], 0) = (0, 0))
        self.best = list(accumulate(zip(sat, range(n_max + 1)), max))

    def best_upto(self, h: int) -> tuple[int, int]:
        h = max(0, min(h, len(self.best) - 1))
        return self.best[h]


def _bases_met(f: _Fig, n_max: int, scale: tuple[int, int]) -> list[int]:
    """The bases n in 1..n_max at which figure f is consistent (pct_consistent / mean_consistent
    of each n, with the printed value parsed once)."""
    v, d = _scaled(f.printed)
    if f.stat == "mean":
        lo, hi = scale
        unit = 10**d
        out = []
        for n in range(1, n_max + 1):
            vn = v * n
            s0 = vn // unit
            for t in (s0 - 1, s0, s0 + 1):
                if lo * n <= t <= hi * n and 2 * abs(t * unit - vn) <= n:
                    out.append(n)
                    break
        return out
    unit = 100 * 10**d
    out = []
    for n in range(1, n_max + 1):
        vn = v * n
        k0 = vn // unit
        for k in (k0 - 1, k0, k0 + 1):
            if 0 <= k <= n and 2 * abs(k * unit - vn) <= n:
                out.append(n)
                break
    return out


@dataclass
class AuditResult:
    bases: pd.DataFrame
    groups: pd.DataFrame
    counts: pd.DataFrame  # implied count k of every exact percentage figure at its chosen base


def _rows(figures: pd.DataFrame, codebook: Codebook) -> dict[tuple[str, str, str], _Row]:
    rows: dict[tuple[str, str, str], _Row] = {}
    for q in codebook.of_type(*AUDITED_TYPES):
        sc = (int(q.scale.get("min", 1)), int(q.scale.get("max", 10))) if q.type == "scale" else (1, 10)
        rows[(q.id, "", "")] = _Row(q.id, "", "", scale=sc)
    for r in pub.survey_figures(figures).to_dict("records"):
        if r["by"] == r["question"]:
            continue  # a share within levels of the same question (worded); not a base
        key = (r["question"], r["by"], r["level"])
        if key not in rows:
            if key[0] not in codebook.by_id or codebook[key[0]].type not in AUDITED_TYPES:
                raise AuditError(f"figure {r['id']!r}: question {key[0]!r} is not a single/multi/scale question")
            rows[key] = _Row(*key, scale=rows[(key[0], "", "")].scale)
        opts = [] if r["stat"] == "mean" else r["option"].split(pub.OPTION_SEP)
        f = _Fig(r["id"], r["printed"], r["comparator"], r["stat"], opts)
        same = rows[key].exact + rows[key].worded
        if any(
            (g.printed, g.comparator, g.options, g.stat) == (f.printed, f.comparator, f.options, f.stat) for g in same
        ):
            continue  # the same figure printed again (summary, cover): one test is enough
        (rows[key].exact if r["comparator"] in pub.EXACT_COMPARATORS else rows[key].worded).append(f)
    for r in rows.values():  # most precise print first: counts are taken from it
        r.exact.sort(key=lambda f: -pub.decimals(f.printed))
    return rows


# ------------------------------------------------------------------------- solver
class _Solver:
    def __init__(self, figures: pd.DataFrame, codebook: Codebook, n_analysed: int, assumed: pd.DataFrame | None):
        self.cb = codebook
        self.N = n_analysed
        self.rows = _rows(figures, codebook)
        for r in self.rows.values():
            r.prepare(n_analysed)
        self.assumed_pct: dict[tuple[str, str], Fraction] = {}
        self.have_assumed = assumed is not None
        if assumed is not None:
            for a in assumed.to_dict("records"):
                if a["stat"] == "pct" and a["by"] == "":
                    self.assumed_pct[(a["question"], a["option"])] = Fraction(Decimal(a["value"]))
        self.base: dict[tuple[str, str, str], int] = {}
        self.universe: dict[tuple[str, str, str], int] = {}
        self.order = {q.id: i for i, q in enumerate(codebook.questions)}
        self.rejected: dict[tuple[str, str, str], list[tuple[int, tuple[messages.Note, ...]]]] = {}
        # count, _dependents and _own_subgroups depend only on their arguments and on the rows,
        # the codebook and the assumed shares (fixed above): each is worked out once
        self._counts: dict[tuple[str, str, int], int | None] = {}
        self._deps: dict[str, list] = {}
        self._owns: dict[str, dict[str, list[_Row]]] = {}
        self._split: dict[tuple[str, int], dict[str, int]] = {}

    def count(self, qid: str, opt: str, n: int) -> int | None:
        """Count of one option of an all-respondent question at base n (None when unknown)."""
        key = (qid, opt, n)
        if key not in self._counts:
            self._counts[key] = self._count(qid, opt, n)
        return self._counts[key]

    def _count(self, qid: str, opt: str, n: int) -> int | None:
        row = self.rows.get((qid, "", ""))
        q = self.cb[qid]
        for f in row.exact if row else []:
            if f.stat == "pct" and f.options == [opt]:
                return nearest_count(f.printed, n)
        if q.type == "single" and row is not None:
            known = {}
            for o in q.keys:
                for f in row.exact:
                    if f.stat == "pct" and f.options == [o]:
                        known[o] = nearest_count(f.printed, n)
            missing = [o for o in q.keys if o not in known]
            if missing == [opt]:
                return n - sum(known.values())
        v = self.assumed_pct.get((qid, opt))
        if v is None:
            return None
        shares = {o: self.assumed_pct[(qid, o)] for o in q.keys if (qid, o) in self.assumed_pct}
        if q.type == "single" and len(shares) == len(q.keys):
            if (qid, n) not in self._split:  # one split of the question at base n for all its options
                self._split[(qid, n)] = _apportion(shares, n)
            return self._split[(qid, n)][opt]
        return int(v * n / 100 + Fraction(1, 2))  # round half up

    def need_count(self, qid: str, opt: str, n: int, why: str) -> int:
        c = self.count(qid, opt, n)
        if c is None and not self.have_assumed:
            raise AuditError(
                f"{why}: the number answering {qid!r} = {opt!r} is unknown; no published figure gives it and "
                "no assumed values were passed: call run(..., assumed=published.read_assumed(path, codebook))"
            )
        if c is None:
            raise AuditError(
                f"{why}: the number answering {qid!r} = {opt!r} is unknown; no published figure gives it, "
                f"so data/published/assumed.csv needs a row question={qid}, option={opt}, by='', stat=pct"
            )
        return c

    def universe_size(self, qid: str) -> int:
        q = self.cb[qid]
        if q.universe is None:
            return self.N
        p = q.universe.question
        if (p, "", "") not in self.base:
            raise AuditError(f"universe of {qid!r} refers to {p!r}, which has no chosen base yet")
        u = sum(self.need_count(p, v, self.base[(p, "", "")], f"universe of {qid!r}") for v in q.universe.values)
        if u > self.N:
            raise AuditError(f"universe of {qid!r} has {u} respondents, more than the {self.N} analysed")
        return u

    def _dependents(self, qid: str):
        """(row, levels-of-qid it is conditioned on) for follow-ups and subgroups defined by qid."""
        if qid not in self._deps:
            self._deps[qid] = self._find_dependents(qid)
        return self._deps[qid]

    def _find_dependents(self, qid: str):
        out = []
        for q in self.cb.questions:
            if q.universe is not None and q.universe.question == qid and (q.id, "", "") in self.rows:
                r = self.rows[(q.id, "", "")]
                if r.exact:
                    out.append((r, list(q.universe.values)))
        for key, r in self.rows.items():
            if key[1] == qid and key[0] != qid:
                out.append((r, key[2].split(pub.OPTION_SEP)))
        return out

    def _own_subgroups(self, qid: str):
        """Subgroup rows of qid by an earlier question, grouped by that question."""
        if qid not in self._owns:
            self._owns[qid] = self._find_own_subgroups(qid)
        return self._owns[qid]

    def _find_own_subgroups(self, qid: str):
        groups: dict[str, list[_Row]] = {}
        for key, r in self.rows.items():
            if key[0] == qid and key[1]:
                if key[1] not in self.cb.by_id:
                    raise AuditError(f"subgroup row {key}: unknown grouping question {key[1]!r}")
                if self.order[key[1]] > self.order[qid]:
                    continue  # handled as a dependent of the later grouping question
                groups.setdefault(key[1], []).append(r)
        return groups

    def _subgroup_plan(self, qid: str, n: int):
        """Bases of qid's subgroups by earlier questions at candidate base n, and feasibility."""
        plan, feasible, problems = {}, True, []
        for b, rows in self._own_subgroups(qid).items():
            nb = self.base[(b, "", "")]
            sizes = {o: self.need_count(b, o, nb, f"subgroups of {qid!r} by {b!r}") for o in self.cb[b].keys}
            levels_pub = set()
            total = 0
            for r in rows:
                levs = r.level.split(pub.OPTION_SEP)
                levels_pub.update(levs)
                hi = min(sum(sizes[lv] for lv in levs), n)
                sat, nb_r = r.best_upto(hi)
                plan[r.key] = (nb_r, hi)
                total += nb_r
            rest = n - total
            cap = sum(s for o, s in sizes.items() if o not in levels_pub) + (self.N - nb)
            if not 0 <= rest <= cap:
                feasible = False
                problems.append(NOTE("plan_bases", by=b, total=total, rest=rest, cap=cap))
            # counts: subgroup counts of an option must fit into the question's count
            for opt in self.cb[qid].keys:
                ks = []
                for r in rows:
                    fs = [f for f in r.exact if f.options == [opt] and f.stat == "pct"]
                    if fs:
                        ks.append(nearest_count(fs[0].printed, plan[r.key][0]))
                kq = self.count(qid, opt, n) if ks else None
                if kq is None:
                    continue  # no published subgroup count, or the question's own count is unknown
                if not (sum(ks) <= kq and kq - sum(ks) <= max(rest, 0)):
                    feasible = False
                    problems.append(
                        NOTE("plan_counts", opt=messages.Opts(qid, (opt,)), ks="+".join(map(str, ks)), kq=kq, rest=rest)
                    )
        return plan, feasible, problems

    def _score(self, qid: str, n: int, U: int):
        row = self.rows[(qid, "", "")]
        sat = row.sat[n]
        missing = U - n
        for dep, levels in self._dependents(qid):
            try:
                u = sum(self.need_count(qid, lv, n, f"dependent row {dep.key}") for lv in levels)
            except AuditError:
                if row.exact:
                    raise
                u = None
            if u is None:
                continue
            s, nb = dep.best_upto(u)
            sat += s
            missing += u - nb
        plan, feasible, _ = self._subgroup_plan(qid, n)
        for k, (nb, _hi) in plan.items():
            sat += self.rows[k].sat[nb] if nb > 0 else 0
        return (feasible, sat, -missing, n)

    def solve(self) -> None:
        for q in self.cb.of_type(*AUDITED_TYPES):
            U = self.universe_size(q.id)
            row = self.rows[(q.id, "", "")]
            key = (q.id, "", "")
            self.universe[key] = U
            subs = [
                r
                for k, r in self.rows.items()
                if k[0] == q.id and k[1] and k[1] == (q.universe.question if q.universe else None)
            ]
            if (
                not row.exact
                and subs
                and q.universe is not None
                and {lv for r in subs for lv in r.level.split(pub.OPTION_SEP)} == set(q.universe.values)
            ):
                self.base[key] = sum(self.base[r.key] for r in subs)  # e.g. income_source: sum of its subgroups
                continue
            cands = range(1, U + 1) if (row.exact or self._dependents(q.id) or self._own_subgroups(q.id)) else [U]
            scores = {n: self._score(q.id, n, U) for n in cands}
            best = max(cands, key=scores.__getitem__)
            self.base[key] = best
            if row.exact:
                for m in cands:
                    if m > best and row.sat[m] == len(row.exact):
                        sc, sb = scores[m], scores[best]
                        if not sc[0]:
                            why = tuple(self._subgroup_plan(q.id, m)[2]) or (NOTE("plan_unfit"),)
                        elif sc[1] < sb[1]:
                            why = (NOTE("fewer_figures", k=sb[1] - sc[1]),)
                        else:
                            why = (NOTE("more_skipped", k=sb[2] - sc[2]),)
                        self.rejected.setdefault(key, []).append((m, why))
            plan, _, _ = self._subgroup_plan(q.id, best)
            for k, (nb, hi) in plan.items():
                self.base[k], self.universe[k] = nb, hi
            for dep, levels in self._dependents(q.id):
                if dep.by == q.id:
                    u = sum(self.need_count(q.id, lv, best, f"subgroup {dep.key}") for lv in levels)
                    self.base[dep.key], self.universe[dep.key] = dep.best_upto(u)[1], u
        for k in self.rows:
            if k not in self.base:
                raise AuditError(f"subgroup {k} got no base (is its grouping question audited?)")


# ------------------------------------------------------------------------- notes and checks
def _worded_note(f: _Fig, n: int) -> messages.Note | None:
    if f.stat == "mean":
        return None
    ok = any(pub.comparator_holds(Fraction(100 * k, n), f.printed, f.comparator) for k in range(n + 1))
    word = messages.Term("comparator", f.comparator)
    return NOTE("worded_met" if ok else "worded_unmet", word=word, printed=f.printed, n=n)


def _bases_table(s: _Solver) -> pd.DataFrame:
    out = []
    for key, row in s.rows.items():
        n = s.base[key]
        U = s.universe.get(key, n)
        q, by, lev = key
        figs = list(
            dict.fromkeys(
                [f.printed for f in row.exact] + [f"{f.comparator.replace('_', ' ')} {f.printed}" for f in row.worded]
            )
        )
        cons = [m for m in range(1, max(U, 1) + 1) if row.sat[m] == len(row.exact)] if row.exact else []
        notes = []
        if not row.exact:
            subs = [r for k, r in s.rows.items() if k[0] == q and k[1]]
            if (
                subs
                and by == ""
                and s.cb[q].universe is not None
                and n == sum(s.base[r.key] for r in subs if r.by == s.cb[q].universe.question)
            ):
                status = "ok"
                notes.append(NOTE("from_subgroups"))
            else:
                status = "assumed"
                notes.append(NOTE("assumed_all", U=U))
                if by == "" and any(k[0] == q for k in s.assumed_pct):
                    notes.append(NOTE("assumed_split"))
        else:
            missed = [f for f in row.exact if not row.meets(f, n)]
            if missed:
                status = "conflict"
                alt = []
                for f in missed:
                    if f.stat == "pct":
                        k = nearest_count(f.printed, n)
                        pct = f"{Fraction(100 * k, n).__float__():.2f}"
                        fits = consistent_bases([f.printed], U)
                        if fits:
                            fits_said = compact(fits, 6).replace(",", ", ")
                            alt.append(NOTE("missed_pct", printed=f.printed, k=k, n=n, pct=pct, fits=fits_said))
                        else:
                            alt.append(NOTE("missed_pct_none", printed=f.printed, k=k, n=n, pct=pct))
                    else:
                        alt.append(NOTE("missed_other", printed=f.printed))
                met = len(row.exact) - len(missed)
                notes.append(NOTE("conflict", U=U, exact=len(row.exact), n=n, met=met, missed=tuple(alt)))
            else:
                status = "ok"
                if all(f.stat == "mean" for f in row.exact) and len(cons) > U // 2:
                    notes.append(NOTE("mean_only"))
            if n < U:
                notes.append(NOTE("below_universe", n=n, U=U, missing=U - n))
                if row.sat[U] < len(row.exact) and not missed:
                    notes.append(NOTE("must_skip", U=U))
            for m, why in s.rejected.get(key, []):
                notes.append(NOTE("rejected", m=m, why=why))
        for f in row.worded:
            w = _worded_note(f, n)
            if w and w not in notes:
                notes.append(w)
        out.append(
            {
                "question": q,
                "by": by,
                "level": lev,
                "figures": ";".join(figs),
                "consistent_bases": compact(cons) if row.exact else "",
                "chosen_base": int(n),
                "status": status,
                "note": messages.join(notes),
                "notes": messages.encode(notes),
            }
        )
    df = pd.DataFrame(out, columns=BASES_COLUMNS)
    df["chosen_base"] = df["chosen_base"].astype("int64")
    return df


def _counts_table(s: _Solver) -> pd.DataFrame:
    out = []
    for key, row in s.rows.items():
        n = s.base[key]
        seen = set()
        for f in row.exact:  # most precise print of each option first
            if f.stat != "pct" or tuple(f.options) in seen:
                continue
            seen.add(tuple(f.options))
            k = nearest_count(f.printed, n)
            out.append(
                {
                    "figure": f.id,
                    "question": key[0],
                    "by": key[1],
                    "level": key[2],
                    "option": "+".join(f.options),
                    "printed": f.printed,
                    "base": n,
                    "k": k,
                    "achieved": round(100 * k / n, 4),
                    "consistent": row.meets(f, n),
                }
            )
    return pd.DataFrame(
        out, columns=["figure", "question", "by", "level", "option", "printed", "base", "k", "achieved", "consistent"]
    )


def _check(out, name, key, values: str | messages.Note, ok, meaning: messages.Note):
    """One cross-check row; `values` is plain when it is only numbers and signs ("203 <= 205")."""
    out.append(
        {
            "check": name,
            "question": key[0],
            "by": key[1],
            "level": key[2],
            "values": str(values),
            "result": "pass" if ok else "fail",
            "meaning": str(meaning),
            "values_notes": messages.encode([values]) if isinstance(values, messages.Note) else "",
            "meaning_notes": messages.encode([meaning]),
        }
    )


def _groups_table(s: _Solver) -> pd.DataFrame:
    out: list[dict] = []
    cb = s.cb
    # 1. follow-up questions and subgroups fit into the group they are asked of
    for key in s.rows:
        q = cb[key[0]]
        n = s.base[key]
        if key[1] == "" and q.universe is not None:
            p = q.universe.question
            u = s.universe[key]
            levs = messages.Opts(p, tuple(q.universe.values), "/")
            if n == u:
                meaning = NOTE("asked_all", q=q.id, u=u, p=p, levs=levs)
            elif n < u:
                meaning = NOTE("asked_skipped", q=q.id, u=u, p=p, levs=levs, k=u - n)
            else:
                meaning = NOTE("asked_exceeded", q=q.id, n=n, u=u)
            values = NOTE("v_within_universe", n=n, u=u, p=p, levs=levs)
            _check(out, "base_within_universe", key, values, n <= u, meaning)
        if key[1]:
            u = s.universe[key]
            level = messages.Opts(key[1], tuple(key[2].split(pub.OPTION_SEP)), pub.OPTION_SEP)
            _check(
                out,
                "subgroup_within_level",
                key,
                f"{n} <= {u}",
                n <= u,
                NOTE("group_fits", level=level, by=key[1], q=key[0], n=n, u=u)
                if n == u
                else NOTE("group_fits_skipped", level=level, by=key[1], q=key[0], n=n, u=u, k=u - n),
            )
    # 2. subgroups over the levels of a grouping question add up (counts too)
    for q in cb.of_type(*AUDITED_TYPES):
        n = s.base[(q.id, "", "")]
        groups: dict[str, list[_Row]] = {}
        for key, r in s.rows.items():
            if key[0] == q.id and key[1] and key[1] != (q.universe.question if q.universe else None):
                groups.setdefault(key[1], []).append(r)
        for b, rows in groups.items():
            total = sum(s.base[r.key] for r in rows)
            levels = sorted({lv for r in rows for lv in r.level.split(pub.OPTION_SEP)})
            rest = n - total
            parts = "+".join(str(s.base[r.key]) for r in rows)
            _check(
                out,
                "subgroup_bases_add_up",
                (q.id, b, "+".join(levels)),
                NOTE("v_bases_add_up", parts=parts, total=total, n=n, rest=rest),
                rest >= 0,
                NOTE(
                    "bases_add_up",
                    q=q.id,
                    n=n,
                    total=total,
                    levels=messages.Opts(b, tuple(levels), "/"),
                    by=b,
                    rest=rest,
                ),
            )
            for opt in q.keys:
                ks = []
                for r in rows:
                    fs = [f for f in r.exact if f.options == [opt] and f.stat == "pct"]
                    if fs:
                        ks.append(nearest_count(fs[0].printed, s.base[r.key]))
                kq = s.count(q.id, opt, n)
                if not ks or kq is None:
                    continue
                ok = sum(ks) <= kq and kq - sum(ks) <= rest
                o, k, r = messages.Opts(q.id, (opt,)), sum(ks), kq - sum(ks)
                said = "counts_add_up_none" if r == 0 and rest > 0 else "counts_add_up"
                _check(
                    out,
                    "subgroup_counts_add_up",
                    (q.id, b, "+".join(levels)),
                    NOTE("v_counts_add_up", q=q.id, opt=o, parts="+".join(map(str, ks)), k=k, kq=kq, r=r, rest=rest),
                    ok,
                    NOTE(said, kq=kq, opt=o, k=k, by=b, r=r, rest=rest),
                )
    # 3. subgroups defined by the levels of the universe question: sizes and their sum
    for q in cb.of_type(*AUDITED_TYPES):
        if q.universe is None:
            continue
        subs = [r for k, r in s.rows.items() if k[0] == q.id and k[1] == q.universe.question]
        if subs:
            n = s.base[(q.id, "", "")]
            u = s.universe[(q.id, "", "")]
            levels = messages.Opts(q.universe.question, tuple(r.level for r in subs))
            _check(
                out,
                "subgroup_bases_vs_parent",
                (q.id, q.universe.question, ""),
                NOTE("v_vs_parent", parts="+".join(str(s.base[r.key]) for r in subs), n=n, u=u),
                n <= u,
                NOTE("vs_parent", q=q.id, levels=levels, n=n, u=u)
                if n == u
                else NOTE("vs_parent_skipped", q=q.id, levels=levels, n=n, u=u, k=u - n),
            )
    # 4. single choice: published counts never exceed the base; complete questions add up to it
    for key, row in s.rows.items():
        q = cb[key[0]]
        n = s.base[key]
        singles = [f for f in row.exact if f.stat == "pct" and len(f.options) == 1]
        if q.type == "single" and len({f.options[0] for f in singles}) >= 2:
            byopt = {}
            for f in singles:  # most precise print of each option (rows are sorted that way)
                byopt.setdefault(f.options[0], nearest_count(f.printed, n))
            tot = sum(byopt.values())
            complete = set(byopt) == set(q.keys)
            ok = tot == n if complete else tot <= n
            _check(
                out,
                "single_choice_sum",
                key,
                f"{'+'.join(map(str, byopt.values()))} = {tot} {'=' if complete else '<='} {n}",
                ok,
                NOTE("single_complete", q=q.id, tot=tot, n=n)
                if complete
                else NOTE(
                    "single_partial",
                    q=q.id,
                    tot=tot,
                    n=n,
                    k=n - tot,
                    opts=messages.Opts(q.id, tuple(o for o in q.keys if o not in byopt)),
                ),  # fmt: skip
            )
            for f in row.worded:
                if f.stat != "pct" or len(f.options) != 1 or f.options[0] in byopt:
                    continue
                fits = [k for k in range(n + 1) if pub.comparator_holds(Fraction(100 * k, n), f.printed, f.comparator)]
                lo = min(fits) if fits else None
                rest = n - tot
                ok = lo is not None and lo <= rest
                left = tuple(o for o in q.keys if o not in byopt and o != f.options[0])
                o, word = messages.Opts(q.id, (f.options[0],)), messages.Term("comparator", f.comparator)
                if fits:
                    values = NOTE("v_residual", opt=o, word=word, printed=f.printed, lo=lo, hi=max(fits), rest=rest)
                else:
                    values = NOTE("v_residual_none", opt=o, word=word, printed=f.printed, rest=rest)
                if not ok:
                    meaning = NOTE("residual_fail", rest=rest, opt=o, word=word, printed=f.printed)
                elif left:
                    meaning = NOTE(
                        "residual_ok", rest=rest, opt=o, lo=lo, most=rest - lo, left=messages.Opts(q.id, left)
                    )
                else:
                    meaning = NOTE("residual_ok_alone", rest=rest, opt=o, lo=lo, most=rest - lo)
                _check(out, "single_choice_residual", key, values, ok, meaning)
        if q.type == "multi":
            ex = [o.key for o in q.options if o.exclusive]
            fs = {}
            for f in singles:
                fs.setdefault(f.options[0], nearest_count(f.printed, n))
            for e in ex:
                if e in fs and len(fs) > 1:
                    other = max(v for o, v in fs.items() if o != e)
                    _check(
                        out,
                        "exclusive_option",
                        key,
                        f"{fs[e]} + {other} <= {n}",
                        fs[e] + other <= n,
                        NOTE("exclusive", opt=messages.Opts(q.id, (e,), style="quote"), k=fs[e], other=other),
                    )
            if len(fs) >= 2 and not ex:
                tot = sum(fs.values())
                if tot > n:
                    _check(
                        out,
                        "multi_overlap",
                        key,
                        f"{'+'.join(map(str, fs.values()))} = {tot} > {n}",
                        True,
                        NOTE("overlap", q=q.id, n=n, d=tot - n, m=len(fs) - 1, k=-(-(tot - n) // (len(fs) - 1))),
                    )
    # 5. known relations between questions
    rel = [
        (
            ("diaspora_involved", "yes"),
            ("diaspora_known", "yes"),
            NOTE("diaspora_nested"),
        )
    ]
    for (qa, oa), (qb, ob), meaning in rel:
        if qa in cb.by_id and qb in cb.by_id:
            ka = s.count(qa, oa, s.base[(qa, "", "")])
            kb = s.count(qb, ob, s.base[(qb, "", "")])
            if ka is not None and kb is not None:
                values = NOTE(
                    "v_nested", qa=qa, oa=messages.Opts(qa, (oa,)), ka=ka, qb=qb, ob=messages.Opts(qb, (ob,)), kb=kb
                )
                _check(out, "nested_answers", (qa, "", ""), values, ka <= kb, meaning)
    return pd.DataFrame(out, columns=GROUPS_COLUMNS)


# ------------------------------------------------------------------------- public API
def run(
    figures: pd.DataFrame, codebook: Codebook, n_analysed: int | None = None, assumed: pd.DataFrame | None = None
) -> AuditResult:
    """Audit the published figures; see the module docstring for the rounding convention and base rule.

    ``n_analysed`` defaults to the published sample size (figure ``respondents``)."""
    if n_analysed is None:
        n_analysed = pub.sample_size(figures)
    s = _Solver(figures, codebook, n_analysed, assumed)
    s.solve()
    return AuditResult(bases=_bases_table(s), groups=_groups_table(s), counts=_counts_table(s))


def write(
    result: AuditResult, bases_path: Path | str, groups_path: Path | str, counts_path: Path | str | None = None
) -> None:
    """Write the bases and cross-check tables (and, if asked, the implied counts) as UTF-8 CSV."""
    outs = [(result.bases, bases_path), (result.groups, groups_path)]
    if counts_path is not None:
        outs.append((result.counts, counts_path))
    for df, path in outs:
        atomic.write_via(path, lambda tmp, df=df: df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n"))


def to_values(result: AuditResult, figures: pd.DataFrame, vals: Values) -> Values:
    """Record audit.questions, audit.conflicts, pub.<figure_id> (as printed) and ext.<name>."""
    b = result.bases
    vals.add(
        "audit.questions",
        int((b["by"] == "").sum()),
        "int",
        cell=CELL,
        description="codebook questions with a chosen base",
    )
    vals.add(
        "audit.conflicts",
        int((b["status"] == "conflict").sum()),
        "int",
        cell=CELL,
        description="audit rows where no base meets every printed figure",
    )
    ext_seen: dict[str, str] = {}
    for r in figures.to_dict("records"):
        vals.add(f"pub.{r['id']}", r["printed"], "text", cell=CELL, description=r["text"])
        if r["stat"] != "external":
            continue
        name = pub.external_name(r["id"])
        if name in ext_seen:
            if ext_seen[name] != r["printed"]:
                raise AuditError(f"external statistic {name!r} printed as {ext_seen[name]!r} and {r['printed']!r}")
            continue
        ext_seen[name] = r["printed"]
        v = pub.value(r["printed"])
        if r["unit"] == "pct":
            vals.add(
                f"ext.{name}",
                v,
                "pct",
                cell=CELL,
                description=r["share_of"] or r["text"],
                decimals=pub.decimals(r["printed"]),
            )
        else:
            vals.add(
                f"ext.{name}",
                int(v),
                "count" if r["unit"] == "count" else "int",
                cell=CELL,
                description=r["share_of"] or r["text"],
            )
    return vals
