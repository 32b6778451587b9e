"""An export read into a header and text cells (the table every reader produces), and the
normalisation headers and labels are matched by."""

from __future__ import annotations

import codecs
import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from belmig.ingest.errors import IngestError

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class _Raw:
    """An export read into header + string cells ("" = empty)."""

    path: Path
    fmt: str  # csv | xlsx | sav
    header: list[str]
    rows: list[list[str]]
    # SAV: {header: {cell text: True}} for cells that came from value labels (may be truncated)
    from_value_label: dict[str, set[str]]
    synthetic: bool = False
    columns: dict[str, list[str]] | None = None  # normalised header -> cells, built on first use
    # CSV fast path: the data rows were never materialised as Python lists; `series` holds the
    # columns the ingestion reads (normalised header -> cells, index = 1-based data row)
    n: int = 0
    series: dict[str, pd.Series] | None = None

    @property
    def nrows(self) -> int:
        return len(self.rows) if self.rows is not None else self.n


def _check_not_empty(path: Path) -> bytes:
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    data = path.read_bytes()
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise IngestError(f"{path}: empty file (no header, no submissions)")
    return data


def _norm(s: str) -> str:
    """Normalise text for matching: NFC, trimmed, single spaces, case-folded."""
    return " ".join(unicodedata.normalize("NFC", str(s)).split()).casefold()


def _cells(raw: _Raw, header: str) -> pd.Series:
    """The cells of one column (index = 1-based data row)."""
    if raw.series is not None:
        return raw.series[_norm(header)]
    if raw.columns is None:
        raw.columns = {_norm(h): list(col) for h, col in zip(raw.header, zip(*raw.rows))}
    return pd.Series(raw.columns[_norm(header)], index=range(1, len(raw.rows) + 1), dtype="object")


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.strftime(TIMESTAMP_FORMAT)
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    return str(v)
