"""The names the stages agree on: ledger keys and the column names of the data files.

Ledger keys (docs/architecture.md, "Ledger keys") are dot-separated: a family, then its parts,
e.g. ``pct.<question>.<option>`` or ``pctby.<by>.<level>.<question>.<option>``. Every module that
builds or reads a survey key does it through this module, so the grammar is written once.

Merged subgroup levels (:mod:`belmig.privacy.levels`): in the data (``estimates.parquet``,
``level_plan.csv``, the release) a level made of several options is their keys joined by "+" in
codebook order, ``male+other``. A "+" cannot stand in a ledger key (it is an operator in claim
conditions, and the key regex is lower snake case), so in keys the parts are joined by a double
underscore, ``pctby.sex.male__other.income_regular.no``. The encoding is reversible because no
option key contains "__" (:func:`level_segment` refuses one that does; the column grammar below
uses "__" too). Every key builder that takes a level encodes it, and so do the builders of
subgroup keys for the option (a subgroup question estimated within another subgroup has the
merged levels as its options: ``pctby.income_regular.yes.sex.male__other``);
:func:`level_from_segment` and :func:`level_parts` decode.

Column names of ``ingested.parquet`` / ``responses.parquet`` join a question id and a suffix
with a double underscore: ``<q>__<option>`` (one indicator per option of a multiple-choice
question), ``<q>__other_text`` (the free text of its "Other" answer), ``<q>__code`` (the coded
open answer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# ------------------------------------------------------------------------------ ledger keys

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
SEP = "."

# The survey families and the parts after the family, in order.
SHAPES: dict[str, tuple[str, ...]] = {
    "pct": ("question", "option"),  # unweighted percent
    "count": ("question", "option"),  # its unweighted count
    "wpct": ("question", "option"),  # weighted percent
    "wci": ("question", "option"),  # its confidence interval, as text
    "n": ("question",),  # the question's base
    "mean": ("question",),  # unweighted mean of a scale question
    "wmean": ("question",),  # weighted mean
    "wci_mean": ("question",),  # its confidence interval, as text
    "pctby": ("by", "level", "question", "option"),  # unweighted percent within a subgroup
    "nby": ("by", "level", "question"),  # the subgroup's base
    "pby": ("by", "question", "option"),  # p of the per-option test that the subgroups differ (weighted)
    "padj": ("by", "question", "option"),  # that p adjusted for multiplicity (belmig.estimate.multiplicity)
    "ptab": ("by", "question"),  # p of the whole-table Rao–Scott test of a single-choice question (weighted)
    "padjtab": ("by", "question"),  # that p adjusted for multiplicity
    "pmean": ("by", "question"),  # p of the Wald test that the subgroup means of a scale are equal (weighted)
    "padjmean": ("by", "question"),  # that p adjusted for multiplicity
    "pctasked": ("question", "option"),  # multiple choice: unweighted percent of everyone asked (blank = not chosen)
    "nasked": ("question",),  # multiple choice: respondents asked (the base of pctasked)
    "wpctalt": ("question", "option"),  # weighted percent under the alternative frame (sensitivity)
    "wmeanalt": ("question",),  # weighted mean under the alternative frame
}

# Families whose values are p-values of tests (a claim bounding them speaks of significance).
PVALUE_FAMILIES = ("pby", "padj", "ptab", "padjtab", "pmean", "padjmean")

# Families whose parts include a subgroup level (encoded by level_segment).
LEVEL_FAMILIES = ("pctby", "nby")

MERGE_SEP = "+"  # joins the parts of a merged level in the data ("male+other")
LEVEL_KEY_SEP = "__"  # joins them in a ledger key ("male__other")


def join(family: str, *parts: str) -> str:
    """``join("pct", "sex", "female")`` → ``"pct.sex.female"``."""
    return SEP.join((family, *parts))


def pct(q: str, opt: str) -> str:
    return join("pct", q, opt)


def count(q: str, opt: str) -> str:
    return join("count", q, opt)


def wpct(q: str, opt: str) -> str:
    return join("wpct", q, opt)


def wci(q: str, opt: str) -> str:
    return join("wci", q, opt)


def n(q: str) -> str:
    return join("n", q)


def mean(q: str) -> str:
    return join("mean", q)


def wmean(q: str) -> str:
    return join("wmean", q)


def wci_mean(q: str) -> str:
    return join("wci_mean", q)


def pctby(by: str, level: str, q: str, opt: str) -> str:
    return join("pctby", by, level_segment(level), q, level_segment(opt))


def nby(by: str, level: str, q: str) -> str:
    return join("nby", by, level_segment(level), q)


def pby(by: str, q: str, opt: str) -> str:
    return join("pby", by, q, level_segment(opt))


def padj(by: str, q: str, opt: str) -> str:
    return join("padj", by, q, level_segment(opt))


def ptab(by: str, q: str) -> str:
    return join("ptab", by, q)


def padjtab(by: str, q: str) -> str:
    return join("padjtab", by, q)


def pmean(by: str, q: str) -> str:
    return join("pmean", by, q)


def padjmean(by: str, q: str) -> str:
    return join("padjmean", by, q)


def pctasked(q: str, opt: str) -> str:
    return join("pctasked", q, opt)


def nasked(q: str) -> str:
    return join("nasked", q)


def wpctalt(q: str, opt: str) -> str:
    return join("wpctalt", q, opt)


def wmeanalt(q: str) -> str:
    return join("wmeanalt", q)


# ------------------------------------------------------------------------------ merged levels


def merged_level(parts: Sequence[str]) -> str:
    """The data key of a level made of several options: ``["male", "other"]`` → ``"male+other"``
    (pass the parts in codebook order)."""
    return MERGE_SEP.join(parts)


def level_parts(level: str) -> list[str]:
    """The options a level stands for: ``"male+other"`` → ``["male", "other"]``, ``"male"`` → ``["male"]``."""
    return level.split(MERGE_SEP)


def level_segment(level: str) -> str:
    """A level as a ledger-key segment: ``"male+other"`` → ``"male__other"`` (unmerged levels unchanged)."""
    parts = level_parts(level)
    for p in parts:
        if LEVEL_KEY_SEP in p or not p:
            raise ValueError(f"level {level!r}: option key {p!r} cannot be encoded in a ledger key (empty or has '__')")
    return LEVEL_KEY_SEP.join(parts)


def level_from_segment(segment: str) -> str:
    """The inverse of :func:`level_segment`: ``"male__other"`` → ``"male+other"``."""
    return merged_level(segment.split(LEVEL_KEY_SEP))


@dataclass(frozen=True)
class Key:
    """A key split into its family and the parts after it."""

    family: str
    parts: tuple[str, ...]


def parse(key: str) -> Key:
    """Split a key at its dots (no validation: see :data:`KEY_RE` and :data:`SHAPES`)."""
    family, *parts = key.split(SEP)
    return Key(family, tuple(parts))


def family(key: str) -> str:
    """The family of a key: ``"pctby"`` for ``"pctby.sex.female.q.opt"``."""
    return parse(key).family


def question_of(key: str) -> str | None:
    """The question a survey key is about (``None`` for other families or too few parts)."""
    k = parse(key)
    shape = SHAPES.get(k.family)
    if shape is None:
        return None
    i = shape.index("question")
    return k.parts[i] if len(k.parts) > i else None


# ----------------------------------------------------------------------------- column names


def multi_column(question_id: str, key: str) -> str:
    """Column of one option of a multiple-choice question (a nullable boolean indicator)."""
    return f"{question_id}__{key}"


def other_text_column(question_id: str) -> str:
    """Ingested column holding the (redacted) free text of a question's "Other" answer."""
    return f"{question_id}__other_text"


CODE_SUFFIX = "__code"


def code_column(question_id: str) -> str:
    """Column of the coded open answer of a question in ``responses.parquet``."""
    return f"{question_id}{CODE_SUFFIX}"


def coded_question(column: str) -> str | None:
    """The question id of a ``<q>__code`` column, else ``None``."""
    return column[: -len(CODE_SUFFIX)] if column.endswith(CODE_SUFFIX) else None
