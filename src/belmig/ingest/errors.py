"""The one error of ingestion, the problems it lists and the counted warnings.

Ingestion collects every problem it finds (header and cells) before it fails, and lists them
in one :class:`IngestError`: each line names the file, the data row (1-based, counted from the
first row after the header rows), the column as the file writes it and the offending value.
Values are closed answers only; they are redacted and shortened, and free text is never
quoted. Up to :data:`PER_KIND` lines per (column, problem) and :data:`MAX_LINES` lines in all
are listed; the rest are counted.

An :class:`IngestWarning` is a problem that does not stop ingestion (it is counted, printed on the
console and recorded in the ingest report).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from belmig.privacy.redaction import redact

MAX_LINES = 40  # problem lines listed in one error message
PER_KIND = 5  # lines listed per (column, problem) before the rest are counted


class IngestError(ValueError):
    """The raw export cannot be read or does not match the codebook.

    ``problems`` holds every problem found (not only the listed ones)."""

    def __init__(self, message: str, problems: list[_Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


def _show(value: Any, limit: int = 60) -> str:
    """A cell value fit for an error message: redacted, shortened, quoted."""
    s = redact(str(value))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)


@dataclass
class _Problem:
    """One problem: where (data row, column as written in the file) and what.

    ``row`` None = the header or the whole column; ``column`` is shown as given (already
    quoted, e.g. ``'q08' ('Ваш пол')``); ``value`` None = not shown (free text, or no value)."""

    row: int | None
    column: str | None
    problem: str
    value: Any = None
    hint: str = ""
    check: str = ""  # a short id of the kind of problem (warnings: the check that found it)
    order: int = 0  # column position, for sorting

    def line(self, path: Path | str) -> str:
        where = [str(path)]
        if self.row is not None:
            where.append(f"data row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        msg = ", ".join(where) + ": " + (self.problem if self.value is not None else self.problem.rstrip(":"))
        if self.value is not None:
            msg += f" {_show(self.value)}"
        if self.hint:
            msg += f" ({self.hint})"
        return msg


def quote_column(name: str, label: str = "") -> str:
    """How a column is named in messages: its header, and a second name when it has one."""
    return repr(name) + (f" ({label!r})" if label and label != name else "")


def format_problems(path: Path | str, problems: Iterable[_Problem], what: str = "problem") -> list[str]:
    """Message lines for `problems`, sorted by row then column; capped per kind and in all."""
    probs = sorted(problems, key=lambda p: (p.row is not None, p.row or 0, p.order))
    lines: list[str] = []
    shown: dict[tuple[str | None, str], int] = {}
    hidden: dict[tuple[str | None, str], int] = {}
    for p in probs:
        kind = (p.column, p.problem)
        if shown.get(kind, 0) >= PER_KIND or len(lines) >= MAX_LINES:
            hidden[kind] = hidden.get(kind, 0) + 1
            continue
        shown[kind] = shown.get(kind, 0) + 1
        lines.append(p.line(path))
    for (col, prob), k in hidden.items():
        if shown.get((col, prob)):
            where = f"column {col}" if col else "the file"
            lines.append(f"{path}, {where}: {k} more {what}(s) of this kind: {prob.rstrip(':')}")
    rest = sum(hidden.values()) - sum(k for kind, k in hidden.items() if shown.get(kind))
    if rest:
        lines.append(f"{path}: {rest} more {what}(s) not listed")
    return lines


def fail(path: Path | str, problems: list[_Problem], platform: str = "") -> IngestError:
    """One IngestError listing `problems` (a single problem stays a one-line message)."""
    lines = format_problems(path, problems)
    if len(problems) == 1:
        return IngestError(lines[0], problems)
    on = f" (read as {platform})" if platform else ""
    head = f"{path}: {len(problems)} problems{on}; nothing was written:"
    return IngestError("\n".join([head, *("  " + ln for ln in lines)]), problems)


@dataclass
class IngestWarning:
    """A counted warning: a check that found something ingestion does not stop for."""

    check: str  # short id, e.g. "other_without_choice"
    message: str  # one sentence, no values
    problems: list[_Problem] = field(default_factory=list)
    count: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # the note's parameters (its id: "warn_" + check)

    def lines(self, path: Path | str) -> list[str]:
        head = f"warning: {self.message} ({self.count} cell(s))" if self.count else f"warning: {self.message}"
        return [head, *("  " + ln for ln in format_problems(path, self.problems, what="cell"))]
