"""The names the stages agree on: ledger keys and the column names of the data files.

Ledger keys (docs/architecture.md, "Ledger keys") are dot-separated: a family, then its parts,
e.g. ``pct.<question>.<option>`` or ``pctby.<by>.<level>.<question>.<option>``. Every module that
builds or reads a survey key does it through this module, so the grammar is written once.

Column names of ``ingested.parquet`` / ``responses.parquet`` join a question id and a suffix
with a double underscore: ``<q>__<option>`` (one indicator per option of a multiple-choice
question), ``<q>__other_text`` (the free text of its "Other" answer), ``<q>__code`` (the coded
open answer).
"""

from __future__ import annotations

import re
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
    "pby": ("by", "question", "option"),  # p of the test that the subgroups differ (weighted)
}


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
    return join("pctby", by, level, q, opt)


def nby(by: str, level: str, q: str) -> str:
    return join("nby", by, level, q)


def pby(by: str, q: str, opt: str) -> str:
    return join("pby", by, q, opt)


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
