"""The XLSX reader: the first worksheet; numbers and date cells as the CSV text.

Returns every row; the adapter says how many of them are header rows."""

from __future__ import annotations

from pathlib import Path

from belmig.core.codebook import Codebook
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import _cell_text, _check_not_empty, _Raw


def read_rows(path: Path) -> list[list]:
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
    finally:
        wb.close()
    while raw_rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in raw_rows[-1]):
        raw_rows.pop()
    if not raw_rows:
        raise IngestError(f"{path}: empty file (no header, no submissions)")
    return raw_rows


def _read_xlsx(path: Path, cb: Codebook | None = None) -> _Raw:
    raw_rows = read_rows(path)
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
