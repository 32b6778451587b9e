"""The one error of ingestion and how its messages name file, row, column and value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from belmig.privacy.redaction import redact


class IngestError(ValueError):
    """The raw export cannot be read or does not match the codebook."""


def _show(value: Any, limit: int = 60) -> str:
    """A cell value fit for an error message: redacted, shortened, quoted."""
    s = redact(str(value))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)


def _fail(
    path: Path,
    problem: str,
    *,
    row: int | None = None,
    column: str | None = None,
    value: Any = None,
    more: int = 0,
    hint: str = "",
) -> IngestError:
    where = [str(path)]
    if row is not None:
        where.append(f"data row {row}")
    if column is not None:
        where.append(f"column {column!r}")
    msg = ", ".join(where) + ": " + problem
    if value is not None:
        msg += f" {_show(value)}"
    if hint:
        msg += f" ({hint})"
    if more:
        msg += f"; {more} more cell(s) with problems of this kind"
    return IngestError(msg)


@dataclass
class _Problem:
    row: int
    column: str
    problem: str
    value: str
    hint: str = ""
