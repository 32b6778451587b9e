"""Which levels of a subgroup question can bear estimates: kept, merged as configured, or dropped.

One mechanism for estimation (issue 16) and disclosure control (issue 14): the estimates, the
tests of difference and every published breakdown use the levels this module decides, and
nothing else. The plan is made once, on the analysed respondents, *before* estimation; the
estimation applies it (original option → analysis level, or none) and the report's methods
appendix prints its table ("which levels were merged or dropped").

The rule, for each subgroup question (a single-choice question):

1. **Merge as configured.** ``estimation.level_merges`` maps a question to groups of its option
   keys (``sex: [[male, other]]``); each group becomes one analysis level whose key is the parts
   joined by "+" in codebook order (``male+other``; in ledger keys ``male__other``, see
   :mod:`belmig.core.keys`) and whose label joins the parts' labels with " + " ("Male + Other /
   prefer not to say"). Nothing is merged that the config does not name: a merge changes what the
   report's groups mean, so it is a decision a person writes down, not a default.
2. **Count** the analysed respondents who answered the question, per analysis level (n).
3. **Primary suppression.** A level with 0 < n < ``privacy.min_cell`` is dropped: it enters no
   estimate and no test. A level nobody chose (n = 0) is dropped too (it has nothing to show;
   it hides nobody).
4. **Complementary suppression (differencing).** Dropping a level alone is not safe: every
   published overall figure still counts its respondents, so overall − Σ published levels
   gives the dropped group (totals 10 = female 4 + male 4 + other 2: publishing female and male
   hands out "other" by subtraction). Let D be the respondents in dropped levels. While
   0 < D < ``min_cell``, the smallest published level is dropped as well (ties: the later one in
   codebook order) and D grows by its n. The remainder of a published breakdown is then either
   empty or at least ``min_cell`` respondents.
5. **At least two levels.** A breakdown with fewer than two levels left compares nothing and
   would publish the overall figure again; the question is then dropped as a subgroup.

Respondents who did not answer the subgroup question also fall into the remainder of a
breakdown; they are not counted in D. Who skipped a question is not part of the background an
attacker knows, so the nonresponse remainder singles nobody out (the attack suite reports it as
``differencing.nonresponse``, a warning).

The same rule (:func:`protect`) is applied again by the estimation inside the base of each
question: a level whose base is below ``min_cell`` there is suppressed for that question and
left out of its tests, and the complementary step runs on the respondents of dropped levels in
that base.

Because step 4 can drop a large level to protect a small one, a small level is better merged:
the default configuration merges sex "other" into "male" (with sex "other" chosen by two
respondents, dropping it would cost the whole sex breakdown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from belmig.core.codebook import Codebook
from belmig.core.keys import merged_level

KEEP, MERGE, DROP = "kept", "merged", "dropped"
REASON_EMPTY = "no respondents"
REASON_COMPLEMENTARY = (
    "complementary suppression: the respondents of the levels dropped before it are too few "
    "and would follow by subtraction"
)
REASON_FEW_LEVELS = "fewer than two levels can be published: nothing to compare"
TABLE_COLUMNS = ["question", "option", "label", "level", "action", "reason", "n"]


class LevelError(ValueError):
    """The merge configuration does not fit the codebook or the subgroups."""


@dataclass(frozen=True)
class QuestionPlan:
    """How the options of one subgroup question enter estimation."""

    question: str
    mapping: dict[str, str | None]  # original option -> analysis level (None = dropped)
    levels: tuple[str, ...]  # analysis levels kept, in codebook order
    labels: dict[str, str]  # analysis level -> English label (every analysis level)
    n: dict[str, int]  # analysis level -> respondents (every analysis level, kept or not)
    reasons: dict[str, str] = field(default_factory=dict)  # dropped analysis level -> why

    @property
    def dropped(self) -> tuple[str, ...]:
        return tuple(lv for lv in self.n if lv not in self.levels)

    def codes(self, values: pd.Series, keys: Sequence[str]) -> np.ndarray:
        """Analysis-level index 0..len(levels)-1 of each respondent; -1 = no answer or dropped."""
        lookup = np.array(
            [self.levels.index(m) if m in self.levels else -1 for m in map(self.mapping.get, keys)] + [-1]
        )
        cat = pd.Categorical(values.astype(object).where(values.notna(), None), categories=list(keys))
        codes = np.asarray(cat.codes, dtype=np.int64)
        return lookup[codes]  # -1 picks the trailing -1


@dataclass(frozen=True)
class LevelPlan:
    """The plan for every subgroup question; ``questions`` in the order of the subgroups."""

    min_cell: int
    questions: dict[str, QuestionPlan]

    def __getitem__(self, q: str) -> QuestionPlan:
        return self.questions[q]

    def table(self) -> pd.DataFrame:
        """One row per original option: its analysis level, what happened and why, and the n of
        the analysis level when it is kept. The n of a dropped level or of a merged level's parts
        is never given: with the published levels and the overall base it would reveal the group
        that was protected."""
        rows = []
        for q, qp in self.questions.items():
            for opt, lv in qp.mapping.items():
                level = lv if lv is not None else ""
                key = lv if lv is not None else _level_of(qp, opt)
                kept = lv is not None
                merged = "+" in key
                if kept:
                    action = MERGE if merged else KEEP
                    reason = (
                        f"merged with {' and '.join(p for p in key.split('+') if p != opt)} (config)" if merged else ""
                    )
                else:
                    action = DROP
                    reason = qp.reasons[key]
                rows.append(
                    {
                        "question": q,
                        "option": opt,
                        "label": qp.labels[key],
                        "level": level,
                        "action": action,
                        "reason": reason,
                        "n": qp.n[key] if kept else pd.NA,
                    }
                )
        out = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        out["n"] = out["n"].astype("Int64")
        return out

    def to_record(self) -> dict[str, Any]:
        return {
            "min_cell": self.min_cell,
            "questions": {
                q: {
                    "mapping": qp.mapping,
                    "levels": list(qp.levels),
                    "labels": qp.labels,
                    "n": qp.n,
                    "reasons": qp.reasons,
                }  # fmt: skip
                for q, qp in self.questions.items()
            },
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> LevelPlan:
        qs = {
            q: QuestionPlan(
                q,
                dict(r["mapping"]),
                tuple(r["levels"]),
                dict(r["labels"]),
                {k: int(v) for k, v in r["n"].items()},
                dict(r["reasons"]),
            )  # fmt: skip
            for q, r in rec["questions"].items()
        }
        return cls(int(rec["min_cell"]), qs)


def _level_of(qp: QuestionPlan, opt: str) -> str:
    """The analysis level an original option belongs to (also when that level was dropped)."""
    for lv in qp.n:
        if opt in lv.split("+"):
            return lv
    raise KeyError(opt)


# ---------------------------------------------------------------- the rule


def protect(n: Mapping[str, int], rest: int, min_cell: int, order: Sequence[str] | None = None) -> dict[str, str]:
    """Levels to suppress so that every published level and the remainder bear ``min_cell``.

    `n`: respondents per candidate level; `rest`: respondents already in suppressed levels (the
    remainder besides nonrespondents); `order`: codebook order (ties of the complementary step drop
    the later level). Returns {level: reason} for the levels to suppress (steps 3–5 of the module
    docstring). A level with n = 0 is not returned (it shows nothing and hides nobody).
    """
    if min_cell < 1:
        raise LevelError(f"min_cell must be >= 1, got {min_cell}")
    order = list(order) if order is not None else list(n)
    out: dict[str, str] = {}
    for lv in order:
        if 0 < n[lv] < min_cell:
            out[lv] = f"fewer than {min_cell} respondents"
            rest += n[lv]
    while 0 < rest < min_cell:
        left = [lv for lv in order if lv not in out and n[lv] > 0]
        if not left:
            break
        smallest = min(n[lv] for lv in left)
        victim = [lv for lv in left if n[lv] == smallest][-1]
        out[victim] = REASON_COMPLEMENTARY
        rest += n[victim]
    left = [lv for lv in order if lv not in out and n[lv] > 0]
    if len(left) < 2:
        for lv in left:
            out[lv] = REASON_FEW_LEVELS
    return out


def check_merges(codebook: Codebook, subgroups: Sequence[str], merges: Mapping[str, Any]) -> None:
    """``estimation.level_merges`` against the codebook: subgroup questions, their option keys, no
    option in two groups, at least two options per group."""
    if not isinstance(merges, Mapping):
        raise LevelError(f"estimation.level_merges must be a mapping of question -> groups, got {merges!r}")
    for q, groups in merges.items():
        where = f"estimation.level_merges.{q}"
        if q not in subgroups:
            raise LevelError(f"{where}: {q!r} is not a subgroup question ({', '.join(subgroups)})")
        keys = codebook[q].keys
        seen: dict[str, int] = {}
        for i, g in enumerate(groups):
            if len(g) < 2:
                raise LevelError(f"{where}[{i}]: a merge needs at least two options, got {list(g)}")
            for opt in g:
                if opt not in keys:
                    raise LevelError(f"{where}[{i}]: {opt!r} is not an option of {q!r} ({', '.join(keys)})")
                if opt in seen:
                    raise LevelError(f"{where}[{i}]: option {opt!r} is already in group {seen[opt]}")
                seen[opt] = i


def plan_question(
    values: pd.Series, codebook: Codebook, question: str, groups: Sequence[Sequence[str]], min_cell: int
) -> QuestionPlan:
    """The plan of one subgroup question from its answers (codebook option keys, NA = no answer)."""
    q = codebook[question]
    keys = q.keys
    of: dict[str, str] = {}
    for g in groups:
        lv = merged_level([k for k in keys if k in set(g)])
        for k in g:
            of[k] = lv
    analysis = list(dict.fromkeys(of.get(k, k) for k in keys))  # codebook order of the first part
    labels = {lv: " + ".join(q.option(p).label_en for p in lv.split("+")) for lv in analysis}
    counts = values.astype(object).value_counts(dropna=True)
    unknown = sorted(set(map(str, counts.index)) - set(keys))
    if unknown:
        raise LevelError(f"{question}: answers {unknown} are not options of {question!r}")
    n = {lv: int(sum(int(counts.get(p, 0)) for p in lv.split("+"))) for lv in analysis}
    reasons = {lv: REASON_EMPTY for lv in analysis if n[lv] == 0}
    reasons.update(protect(n, 0, min_cell, analysis))
    kept = tuple(lv for lv in analysis if lv not in reasons)
    mapping = {k: (of.get(k, k) if of.get(k, k) in kept else None) for k in keys}
    return QuestionPlan(question, mapping, kept, labels, n, {lv: reasons[lv] for lv in analysis if lv in reasons})


def plan_levels(
    responses: pd.DataFrame,
    codebook: Codebook,
    subgroups: Sequence[str],
    min_cell: int,
    merges: Mapping[str, Sequence[Sequence[str]]],
) -> LevelPlan:
    """The level plan of every subgroup question on the analysed respondents."""
    check_merges(codebook, subgroups, merges)
    out = {}
    for q in subgroups:
        if q not in responses.columns:
            raise LevelError(f"responses have no column {q!r} (subgroup)")
        out[q] = plan_question(responses[q], codebook, q, merges.get(q, ()), min_cell)
    return LevelPlan(int(min_cell), out)
