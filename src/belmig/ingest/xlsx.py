"""The XLSX reader: the first worksheet; numbers and date cells as the CSV text.

Returns every row; the adapter says how many of them are header rows."""

from __future__ import annotations

from pathlib import Path

from belmig.core.codebook import Codebook
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import _cell_text, _check_not_empty, _norm, _Raw, known_headers


def read_rows(path: Path, known: set[str] | None = None) -> list[list]:
    """The first worksheet's rows. With `known` (the codebook's headers), a first row that names
    none of them while a row below it or another worksheet's first row does is an error that
    says so (a title row above the header; a summary sheet before the data)."""
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_not_empty(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        raise IngestError(f"{path}: not a readable .xlsx workbook ({e})") from None
    try:
        ws = wb.worksheets[0]
        raw_rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if known and raw_rows and _hits(raw_rows[0], known) == 0:
            _misplaced_header(path, wb, raw_rows, known)
    finally:
        wb.close()
    while raw_rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in raw_rows[-1]):
        raw_rows.pop()
    if not raw_rows:
        raise IngestError(f"{path}: empty file (no header, no submissions)")
    return raw_rows


def _hits(row: list, known: set[str]) -> int:
    return sum(1 for v in row if v is not None and _norm(_cell_text(v)) in known)


def _misplaced_header(path: Path, wb, rows: list[list], known: set[str]) -> None:
    first = wb.worksheets[0].title
    filled = [v for v in rows[0] if v is not None and _cell_text(v).strip()]
    for i, r in enumerate(rows[1:10], start=2):
        if len(filled) <= 2 and _hits(r, known) >= 3:  # a title above the header, not header rows
            shown = [_cell_text(v) for v in filled]
            raise IngestError(
                f"{path}: worksheet {first!r}: row {i} names {_hits(r, known)} of the codebook's columns, row 1 "
                f"none (it holds {shown!r}): the header must be row 1; delete the rows above it (a title?)"
            )
    for ws in wb.worksheets[1:]:
        head = next(ws.iter_rows(values_only=True, max_row=1), ())
        if _hits(list(head), known) >= 3:
            raise IngestError(
                f"{path}: the data look to be on worksheet {ws.title!r} (its row 1 names {_hits(list(head), known)} "
                f"of the codebook's columns), but only the first worksheet, {first!r}, is read: move "
                f"{ws.title!r} first or save it as CSV"
            )


def _read_xlsx(path: Path, cb: Codebook | None = None) -> _Raw:
    raw_rows = read_rows(path, known_headers(cb) if cb is not None else None)
    header_cells = list(raw_rows[0])
    while header_cells and header_cells[-1] is None:
        header_cells.pop()
    header = [_cell_text(h).strip() for h in header_cells]
    rows = []
    for i, r in enumerate(raw_rows[1:], start=1):
        extra = [v for v in r[len(header) :] if v is not None and _cell_text(v).strip()]
        if extra:
            raise IngestError(
                f"{path}: data row {i}: has values in {len(header) + len(extra)} or more columns, "
                f"the header has {len(header)}"
            )
        cells = [_cell_text(v) for v in r[: len(header)]]
        cells += [""] * (len(header) - len(cells))
        rows.append(cells)
    return _Raw(path, "xlsx", header, rows)
