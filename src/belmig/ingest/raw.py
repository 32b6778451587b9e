"""An export read into header rows and text cells (the table every reader produces), and the
normalisation headers and labels are matched by."""

from __future__ import annotations

import codecs
import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from belmig.ingest.errors import IngestError

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class SpssMeta:
    """What an SPSS/Stata file says about its variables (pyreadstat's metadata)."""

    names: list[str]
    labels: list[str]  # variable labels ("" = none)
    value_labels: dict[str, dict[str, str]]  # variable -> {cell text of the code: label}
    mr_sets: dict[str, dict[str, Any]]  # SPSS multiple-response sets (pyreadstat ``mr_sets``)
    numeric: set[str]  # variables stored as numbers


def series_key(header: list[str], j: int) -> str:
    """The key of column `j` in the fast path's series: its normalised header, or its position
    when it has none (several columns may have none)."""
    return _norm(header[j]) or f"\0{j}"


@dataclass
class _Raw:
    """An export read into header + string cells ("" = empty).

    ``header`` is the first header row (SPSS/Stata: the variable names); an adapter that needs
    more header rows takes them from the top of ``rows`` (:meth:`take_header_rows`)."""

    path: Path
    fmt: str  # csv | xlsx | sav | dta
    header: list[str]
    rows: list[list[str]] | None
    synthetic: bool = False
    # CSV fast path: the data rows were never materialised as Python lists; `series` holds the
    # columns the ingestion reads (normalised header -> cells, index = 1-based data row)
    n: int = 0
    series: dict[str, pd.Series] | None = None
    more_header: list[list[str]] = field(default_factory=list)  # header rows 2, 3, ...
    delimiter: str = ""
    spss: SpssMeta | None = None
    _by_index: dict[int, pd.Series] = field(default_factory=dict, repr=False)

    @property
    def nrows(self) -> int:
        return len(self.rows) if self.rows is not None else self.n

    @property
    def header_rows(self) -> int:
        return 1 + len(self.more_header)

    def take_header_rows(self, k: int) -> None:
        """Read the first ``k - 1`` data rows as header rows 2..k (record readers only)."""
        if self.rows is None:
            raise RuntimeError("take_header_rows needs the record-by-record reader")
        extra = k - self.header_rows
        if extra > 0:
            width = len(self.header)
            self.more_header += [list(r) + [""] * (width - len(r)) for r in self.rows[:extra]]
            self.rows = self.rows[extra:]
            self._by_index.clear()

    def column(self, j: int) -> pd.Series:
        """The cells of column ``j`` (0-based; index = 1-based data row)."""
        if j in self._by_index:
            return self._by_index[j]
        if self.series is not None:
            s = self.series[series_key(self.header, j)]
        else:
            s = pd.Series(
                [r[j] if j < len(r) else "" for r in self.rows], index=range(1, len(self.rows) + 1), dtype="object"
            )
        self._by_index[j] = s
        return s


def known_headers(cb) -> set[str]:
    """Normalised headers the codebook (and an applied overlay) expects in the file."""
    heads = set(cb.export_headers())
    for q in cb.questions:
        heads |= set(q.option_columns.values())
    return {_norm(h) for h in heads}


def _check_not_empty(path: Path) -> bytes:
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    data = path.read_bytes()
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise IngestError(f"{path}: empty file (no header, no submissions)")
    return data


def _norm(s: str) -> str:
    """Normalise text for matching: NFC, trimmed, single spaces, case-folded, without byte-order
    marks (a file saved twice with one keeps the second in its first header)."""
    return " ".join(unicodedata.normalize("NFC", str(s)).replace("\ufeff", "").split()).casefold()


def _cell_text(v: Any) -> str:
    if v is None or v is pd.NaT:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        # spreadsheet date cells are fractions of a day: round to the second
        if v.microsecond:
            v = v.replace(microsecond=0) + dt.timedelta(seconds=round(v.microsecond / 1e6))
        return v.strftime(TIMESTAMP_FORMAT)
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    return str(v)
