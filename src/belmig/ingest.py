"""Read a raw survey export (CSV, XLSX or SPSS .sav) into the ``ingested.parquet`` contract.

Everything about the export's layout comes from the codebook: which header holds which
question (``column`` / ``other_column``), which answer text means which option (``label_ru``,
``aliases``; in SPSS files also the numeric ``code``), which columns are direct identifiers
(dropped here, never read into the output). Another platform or language is a codebook edit.

The file is validated completely before anything is built; the first problem raises
:class:`IngestError` with one message naming the file, the data row (1-based submission
number, the header is not counted), the column and the offending value (closed answers only;
free text is never quoted, values are redacted and shortened). Checks, in order:
empty file → encoding (UTF-8, with or without BOM) → record structure (field counts,
unterminated quotes) → no submissions → duplicated headers → missing / renamed columns →
unknown extra columns → cell values (answer labels, each part of a multiple answer, exclusive
options combined with others, scale range, timestamps, response ids).

Readers:
* CSV: UTF-8 with or without BOM, delimiter ``,`` or ``;`` (sniffed from the header: the one
  that yields more codebook headers), CRLF or LF line ends, quoted fields may span lines.
* XLSX: the first worksheet; first row = header; numbers and dates converted to the CSV text.
* SAV: headers are the variable labels (SPSS variable names cannot hold question text); the
  variable name is used when it is itself a codebook header. Choice cells may be numeric codes
  (with or without value labels) or label text. SPSS truncates variable labels to 256 and value
  labels to 120 bytes; a truncated label matches the one codebook text it is a prefix of.

Free text (text questions, "Other" text) is redacted (:func:`belmig.privacy.redact`).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import difflib
import io
import math
import re
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from belmig.core import atomic
from belmig.core.codebook import Codebook, Question, multi_column
from belmig.privacy import redact

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
SAV_VAR_LABEL_BYTES = 256
SAV_VALUE_LABEL_BYTES = 120
DELIMITERS = (",", ";", "\t")
REQUIRED_ADMIN = ("response_id", "started_at", "submitted_at")


class IngestError(ValueError):
    """The raw export cannot be read or does not match the codebook."""


# --------------------------------------------------------------------------- messages


def _show(value: Any, limit: int = 60) -> str:
    """A cell value fit for an error message: redacted, shortened, quoted."""
    s = redact(str(value))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)


def _fail(path: Path, problem: str, *, row: int | None = None, column: str | None = None,
          value: Any = None, more: int = 0, hint: str = "") -> IngestError:
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


# --------------------------------------------------------------------------- raw tables


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


def _decode(path: Path, data: bytes) -> str:
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    offset = len(data) - len(body)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        pos = e.start + offset
        line = data[:pos].count(b"\n") + 1
        prefix = body[: e.start].decode("utf-8", errors="replace")
        recs = list(csv.reader(io.StringIO(prefix, newline=""), delimiter=_sniff_delimiter_guess(prefix)))
        row = len(recs) - 1  # records before the bad byte, minus the header
        col = None
        if recs and row >= 1:
            idx = len(recs[-1]) - 1
            col = recs[0][idx] if 0 <= idx < len(recs[0]) else None
        try:
            body.decode("cp1251")
            hint = "it looks like Windows-1251 (cp1251); re-save the export as UTF-8"
        except UnicodeDecodeError:
            hint = "re-save the export as UTF-8"
        where = f"data row {row}" if row >= 1 else "the header"
        colpart = f", column {col!r}" if col else ""
        raise IngestError(
            f"{path}: not valid UTF-8 at byte {pos} (line {line}, {where}{colpart}): "
            f"byte 0x{data[pos]:02x} ({hint})"
        ) from None


def _sniff_delimiter_guess(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max(DELIMITERS, key=lambda d: first.count(d))


def _sniff_delimiter(text: str, known: set[str]) -> str:
    """The delimiter whose parse of the first record yields the most codebook headers."""
    best, best_score = ",", (-1, -1)
    head = text[:1_000_000]  # the header record is in here
    for d in DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(head, newline=""), delimiter=d))
        except (csv.Error, StopIteration):
            continue
        score = (sum(_norm(h) in known for h in first), len(first))
        if score > best_score:
            best, best_score = d, score
    return best


def _read_csv(path: Path, cb: Codebook) -> _Raw:
    """Read a CSV export: the columnar fast path, or the record-by-record reader.

    The fast path (:func:`_read_csv_fast`) only accepts files whose every record the
    record-by-record reader would read identically and without error; anything else (an
    encoding problem, wrong field counts, a stray quote, blank lines...) is read again by
    :func:`_read_csv_records`, which produces the exact error message.
    """
    if FAST_CSV:
        try:
            return _read_csv_fast(path, cb)
        except _NotFast:
            pass
    return _read_csv_records(path, cb)


def _read_csv_records(path: Path, cb: Codebook) -> _Raw:
    data = _check_not_empty(path)
    text = _decode(path, data)
    known = {_norm(h) for h in cb.export_headers()}
    delim = _sniff_delimiter(text, known)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    records: list[list[str]] = []
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as e:
        row = len(records)  # the record being read (header = record 0)
        raise IngestError(
            f"{path}: data row {row} (line {reader.line_num}): malformed CSV record ({e}); "
            "the file is truncated or has an unbalanced quote"
        ) from None
    # blank lines at the end of the file are not submissions
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    if not records:
        raise IngestError(f"{path}: empty file (no header, no submissions)")
    header = [h.strip() for h in records[0]]
    rows = records[1:]
    _check_field_counts(path, header, rows, delim)
    return _Raw(path, "csv", header, rows, {})


def _check_field_counts(path: Path, header: list[str], rows: list[list[str]], delim: str) -> None:
    bad = [(i, len(r)) for i, r in enumerate(rows, start=1) if len(r) != len(header)]
    if bad:
        i, n = bad[0]
        last = " (the last row: the file looks truncated)" if i == len(rows) and n < len(header) else ""
        raise IngestError(
            f"{path}: data row {i}: has {n} fields, the header has {len(header)}{last}; "
            f"delimiter {delim!r}" + (f"; {len(bad) - 1} more row(s) with the wrong number of fields" if len(bad) > 1 else "")
        )


# --------------------------------------------------------------------------- CSV fast path

FAST_CSV = True  # tests switch it off to compare both readers
_HEAD_BYTES = 4_000_000  # holds the first 1,000,000 characters the delimiter is sniffed on
_BLOCK_BYTES = 1 << 22
_SCAN_BYTES = 1 << 20


class _NotFast(Exception):
    """The file needs the record-by-record reader (it may be malformed)."""


def _quotes_well_formed(path: Path, start: int, delim: str, stop: threading.Event | None = None) -> bool:
    """Whether every quote of the file opens a field, closes one or is doubled inside one.

    Counting quotes from the start, a quote with an even count before it must open a field
    (follow a delimiter, a line end or the start of the file) or be the second of a doubled
    quote; one with an odd count must close the field (precede a delimiter, a line end or the
    end of the file) or be the first of a doubled quote; the count must end even. Then the
    record-by-record reader (``strict=True``) raises no quoting error, unquoted fields hold no
    quote, and every CSV reader splits the fields alike.
    """
    ok = np.zeros(256, dtype=bool)
    for ch in (delim, "\r", "\n", '"'):
        ok[ord(ch)] = True
    count = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        prev, buf = b"\n", fh.read(_SCAN_BYTES)
        while buf:
            if stop is not None and stop.is_set():
                return False
            nxt = fh.read(_SCAN_BYTES)
            a = np.frombuffer(prev + buf + (nxt[:1] or b"\n"), dtype=np.uint8)
            idx = np.flatnonzero(a[1:-1] == 34) + 1
            s = count & 1
            if not ok[a[idx[s::2] - 1]].all() or not ok[a[idx[1 - s::2] + 1]].all():
                return False
            count += len(idx)
            prev, buf = buf[-1:], nxt
    return count % 2 == 0


def _read_csv_fast(path: Path, cb: Codebook) -> _Raw:
    """Columnar CSV reading (pyarrow) for well-formed files; raises :class:`_NotFast` otherwise.

    Closed-answer and free-text columns come back as categoricals (each distinct text once),
    response ids and timestamps as strings; direct identifiers are dropped after reading.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            fh.seek(max(0, size - 8))
            tail = fh.read()
    except OSError:
        raise _NotFast from None
    if not head.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise _NotFast
    # one line end at most after the last record (blank lines are not records)
    trailing = tail[len(tail.rstrip(b"\r\n")):]
    if trailing not in (b"", b"\n", b"\r\n", b"\r"):
        raise _NotFast
    bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head[bom:], final=len(head) == size)
    except UnicodeDecodeError:
        raise _NotFast from None
    known = {_norm(h) for h in cb.export_headers()}
    delim = _sniff_delimiter(text, known)
    try:
        first = next(csv.reader(io.StringIO(text[:1_000_000], newline=""), delimiter=delim, strict=True))
    except (csv.Error, StopIteration):
        raise _NotFast from None
    ncols = len(first)
    if ncols < 2:
        raise _NotFast
    # the quote check reads the file in a second thread while pyarrow parses it
    with ThreadPoolExecutor(max_workers=1) as pool:
        stop = threading.Event()
        quotes_ok = pool.submit(_quotes_well_formed, path, bom, delim, stop)
        try:
            raw = _read_csv_arrow(path, cb, first, delim, known)
        except _NotFast:
            stop.set()
            raise
        try:
            ok = quotes_ok.result()
        except OSError:
            raise _NotFast from None
        if not ok:
            raise _NotFast
    return raw


def _read_csv_arrow(path: Path, cb: Codebook, first: list[str], delim: str, known: set[str]) -> _Raw:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    ncols = len(first)
    header = [h.strip() for h in first]
    drop = {_norm(c.column) for c in cb.columns if c.role == "identifier"}
    plain = {_norm(c.column) for c in cb.columns if c.id == "response_id" or c.type == "datetime"}
    keep = [j for j, h in enumerate(header) if _norm(h) in known and _norm(h) not in drop]
    limit = csv.field_size_limit()
    names = [f"f{j}" for j in range(ncols)]
    chunks: dict[int, list] = {j: [] for j in keep}
    encode = {j for j in keep if _norm(header[j]) not in plain}

    def too_long(values) -> bool:  # csv.reader refuses fields above its size limit
        return ((pc.max(pc.binary_length(values)).as_py() or 0) > limit
                and (pc.max(pc.utf8_length(values)).as_py() or 0) > limit)

    n = 0
    last_row: list[str] | None = None
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char='"', double_quote=True,
                                             escape_char=False, newlines_in_values=True,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        if reader.schema.names != names:
            raise _NotFast
        for batch in reader:
            if n == 0 and last_row is None:  # the header record
                if list(batch.slice(0, 1).to_pylist()[0].values()) != first:
                    raise _NotFast
                batch = batch.slice(1)
                last_row = []
            if batch.num_rows == 0:
                continue
            # a record of empty fields only may be a blank line (not a record for csv.reader)
            empty = pc.equal(pc.binary_length(batch.column(0)), 0)
            if pc.any(empty).as_py():
                rows = batch.filter(empty).to_pylist()
                if any(not any(r.values()) for r in rows):
                    raise _NotFast
            for j in range(ncols):
                col = batch.column(j)
                if j in encode:  # its distinct values are checked below
                    chunks[j].append(pc.dictionary_encode(col))
                    continue
                if too_long(col):
                    raise _NotFast
                if j in chunks:
                    chunks[j].append(col)
            n += batch.num_rows
            last_row = list(batch.slice(batch.num_rows - 1).to_pylist()[0].values())
    except (pa.ArrowException, OSError, ValueError) as e:
        if isinstance(e, IngestError):
            raise
        raise _NotFast from None
    if last_row and not any(c.strip() for c in last_row):
        raise _NotFast  # trailing blank records are dropped by the record reader
    index = pd.RangeIndex(1, n + 1)
    series: dict[str, pd.Series] = {}
    for j in keep:
        h = _norm(header[j])
        if h in plain:
            arr = pa.chunked_array(chunks[j], type=pa.string())
            series[h] = pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), index=index)
        else:
            arr = pa.chunked_array(chunks[j], type=pa.dictionary(pa.int32(), pa.string())).unify_dictionaries()
            if arr.num_chunks and too_long(arr.chunk(0).dictionary):
                raise _NotFast
            cats = arr.chunk(0).dictionary.to_pylist() if arr.num_chunks else []
            codes = (np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in arr.chunks])
                     if arr.num_chunks else np.zeros(0, dtype=np.int32))
            cat = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object), validate=False)
            series[h] = pd.Series(cat, index=index)
        chunks[j] = []
    return _Raw(path, "csv", header, None, {}, n=n, series=series)


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


def _read_xlsx(path: Path, cb: Codebook) -> _Raw:
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
    header_cells = list(raw_rows[0])
    while header_cells and header_cells[-1] is None:
        header_cells.pop()
    header = [_cell_text(h).strip() for h in header_cells]
    for j, h in enumerate(header, start=1):
        if not h:
            raise IngestError(f"{path}: header cell {j} is empty")
    rows = []
    for i, r in enumerate(raw_rows[1:], start=1):
        extra = [v for v in r[len(header):] if v is not None and _cell_text(v).strip()]
        if extra:
            raise IngestError(
                f"{path}: data row {i}: has values in {len(header) + len(extra)} or more columns, "
                f"the header has {len(header)}"
            )
        cells = [_cell_text(v) for v in r[: len(header)]]
        cells += [""] * (len(header) - len(cells))
        rows.append(cells)
    return _Raw(path, "xlsx", header, rows, {})


def _read_sav(path: Path, cb: Codebook) -> _Raw:
    import pyreadstat

    _check_not_empty(path)
    try:
        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    except Exception as e:  # pyreadstat raises its own exception types
        raise IngestError(f"{path}: not a readable SPSS .sav file ({type(e).__name__}: {e})") from None
    known = {_norm(h): h for h in cb.export_headers()}
    choice_headers = {_norm(q.column) for q in cb.questions if q.is_choice}
    header: list[str] = []
    for name, label in zip(meta.column_names, meta.column_labels):
        if _norm(name) in known:
            header.append(known[_norm(name)])
        elif label:
            header.append(_match_truncated(label, list(known.values()), SAV_VAR_LABEL_BYTES) or label.strip())
        else:
            header.append(name)
    rows = [[""] * len(header) for _ in range(len(df))]
    from_vl: dict[str, set[str]] = {}
    for j, (name, head) in enumerate(zip(meta.column_names, header)):
        labels = meta.variable_value_labels.get(name, {}) if _norm(head) in choice_headers else {}
        col = df[name].tolist()
        for i, v in enumerate(col):
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
                continue
            if labels and not isinstance(v, str) and v in labels:
                rows[i][j] = labels[v]
                from_vl.setdefault(head, set()).add(labels[v])
            elif isinstance(v, pd.Timestamp):
                rows[i][j] = v.to_pydatetime().strftime(TIMESTAMP_FORMAT)
            else:
                rows[i][j] = _cell_text(v)
    return _Raw(path, "sav", header, rows, from_vl)


READERS: dict[str, Callable[[Path, Codebook], _Raw]] = {".csv": _read_csv, ".xlsx": _read_xlsx, ".sav": _read_sav}


# --------------------------------------------------------------------------- labels


def _norm(s: str) -> str:
    """Normalise text for matching: NFC, trimmed, single spaces, case-folded."""
    return " ".join(unicodedata.normalize("NFC", str(s)).split()).casefold()


def _match_truncated(text: str, candidates: list[str], limit: int) -> str | None:
    """The one candidate `text` is a byte-limit truncation of (SPSS labels), else None."""
    t = _norm(text)
    if len(text.strip().encode("utf-8")) < limit - 4:
        return None
    hits = [c for c in candidates if _norm(c).startswith(t)]
    return hits[0] if len(hits) == 1 else None


class _Labels:
    """Answer text (label_ru, aliases; SAV: codes, truncated value labels) → option key."""

    def __init__(self, q: Question, path: Path, codes_ok: bool):
        self.q = q
        self.map: dict[str, str] = {}
        for o in q.options:
            for text in (o.label_ru, *o.aliases):
                n = _norm(text)
                if n in self.map and self.map[n] != o.key:
                    raise IngestError(
                        f"{path}: codebook question {q.id!r}: label {text!r} is used by options "
                        f"{self.map[n]!r} and {o.key!r}"
                    )
                self.map[n] = o.key
        self.codes = {str(o.code): o.key for o in q.options} if codes_ok else {}
        self.full_labels = [o.label_ru for o in q.options]

    def key(self, text: str, value_label: bool) -> str | None:
        n = _norm(text)
        if n in self.map:
            return self.map[n]
        if value_label:
            hit = _match_truncated(text, self.full_labels, SAV_VALUE_LABEL_BYTES)
            if hit is not None:
                return self.map[_norm(hit)]
            return None
        if self.codes and text.strip() in self.codes:
            return self.codes[text.strip()]
        return None

    def expected(self) -> str:
        return ", ".join(repr(o.label_ru) for o in self.q.options)


# --------------------------------------------------------------------------- validation


def _check_header(raw: _Raw, cb: Codebook) -> None:
    path = raw.path
    seen: dict[str, int] = {}
    for j, h in enumerate(raw.header, start=1):
        n = _norm(h)
        if n in seen:
            raise IngestError(f"{path}: duplicated header {h!r} (columns {seen[n]} and {j})")
        seen[n] = j
    expected = cb.export_headers()
    exp_norm = {_norm(h) for h in expected}
    present = {_norm(h): h for h in raw.header}
    missing = [h for h in expected if _norm(h) not in present]
    unknown = [h for h in raw.header if _norm(h) not in exp_norm]
    if missing:
        h = missing[0]
        close = difflib.get_close_matches(h, unknown, n=1, cutoff=0.5)
        if close:
            sug = f"the export has {close[0]!r} instead, which looks like a renamed version of it"
        else:
            near = difflib.get_close_matches(h, raw.header, n=1, cutoff=0.0)
            sug = f"no similar unknown header is present; the closest header is {near[0]!r}" if near else "no headers present"
        more = f"; {len(missing) - 1} more expected column(s) missing" if len(missing) > 1 else ""
        raise IngestError(f"{path}: column {h!r} (codebook) is missing from the header: {sug}{more}")
    if unknown:
        more = f"; {len(unknown) - 1} more unknown column(s)" if len(unknown) > 1 else ""
        raise IngestError(
            f"{path}: column {unknown[0]!r} (header column {raw.header.index(unknown[0]) + 1}) is not in the "
            f"codebook ({cb.source}); add it there or remove it from the export{more}"
        )
    for cid in REQUIRED_ADMIN:
        try:
            cb.admin_column(cid)
        except KeyError:
            raise IngestError(f"{cb.source}: the codebook must declare an admin column {cid!r}") from None


@dataclass
class _Problem:
    row: int
    column: str
    problem: str
    value: str
    hint: str = ""


def _cells(raw: _Raw, header: str) -> pd.Series:
    """The cells of one column (index = 1-based data row)."""
    if raw.series is not None:
        return raw.series[_norm(header)]
    if raw.columns is None:
        raw.columns = {_norm(h): list(col) for h, col in zip(raw.header, zip(*raw.rows))}
    return pd.Series(raw.columns[_norm(header)], index=range(1, len(raw.rows) + 1), dtype="object")


def _by_unique(cells: pd.Series, parse: Callable[[str], Any]) -> tuple[pd.Series, dict[str, Any]]:
    """Apply `parse` once per distinct cell text; return the codes per row and the parsed uniques."""
    if isinstance(cells.dtype, pd.CategoricalDtype):  # CSV fast path: already factorised
        codes, uniques = cells.cat.codes.to_numpy().astype(np.intp), cells.cat.categories
    else:
        codes, uniques = pd.factorize(cells, use_na_sentinel=False)
    parsed = {u: parse(u) for u in uniques}
    return pd.Series(codes, index=cells.index), parsed


def _parse_single(raw: _Raw, q: Question, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    labels = _Labels(q, raw.path, codes_ok=raw.fmt == "sav")
    vl = raw.from_value_label.get(q.column, set())

    def parse(text: str) -> str | None:
        if not text.strip():
            return None
        key = labels.key(text, text in vl)
        return key if key is not None else _UNKNOWN

    codes, parsed = _by_unique(cells, parse)
    for u, text in enumerate(parsed):
        if parsed[text] == _UNKNOWN:
            for i in cells.index[codes.to_numpy() == u]:
                problems.append(_Problem(i, q.column, "unknown answer label", text, f"expected one of {labels.expected()}"))
    vals = pd.array([v if v != _UNKNOWN else None for v in parsed.values()], dtype="str")
    return pd.Series(vals.take(codes.to_numpy()), index=cells.index)


_UNKNOWN = "\0unknown"
# _TS_RE for Arrow-backed strings (RE2: \d is ASCII only; Python's \d is any Unicode digit)
_TS_RE2 = r"^\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2} \p{Nd}{2}:\p{Nd}{2}:\p{Nd}{2}$"


def _strip(cells: pd.Series) -> pd.Series:
    """``cells.map(str.strip)``; on Arrow-backed strings str.strip runs only on the cells whose
    first or last character is not printable non-space ASCII (the only ones it can change)."""
    if cells.dtype == object:
        return cells.map(str.strip)
    edge = cells.str.contains(r"^[^!-~]|[^!-~]$", regex=True).to_numpy(dtype=bool)
    if not edge.any():
        return cells
    out = cells.copy()
    out[edge] = [v.strip() for v in cells[edge]]
    return out


def _parse_multi(raw: _Raw, q: Question, cells: pd.Series, sep: str, problems: list[_Problem]) -> pd.DataFrame:
    labels = _Labels(q, raw.path, codes_ok=raw.fmt == "sav")
    for text in labels.map:
        if sep in text:
            raise IngestError(f"{raw.path}: codebook question {q.id!r}: a label contains the separator {sep!r}")
    vl = raw.from_value_label.get(q.column, set())
    exclusive = {o.key for o in q.options if o.exclusive}

    def parse(text: str) -> Any:
        if not text.strip():
            return None
        keys, bad = [], []
        for part in text.split(sep):
            if not part.strip():
                continue
            k = labels.key(part, text in vl)
            (keys if k is not None else bad).append(k if k is not None else part)
        if bad:
            return ("bad", bad[0])
        if exclusive & set(keys) and len(set(keys)) > 1:
            return ("excl", sorted(exclusive & set(keys))[0])
        return set(keys) if keys else None

    codes, parsed = _by_unique(cells, parse)
    uniques = list(parsed)
    table = np.full((len(uniques), len(q.options)), -1, dtype=np.int8)  # -1 = NA
    for u, text in enumerate(uniques):
        p = parsed[text]
        if isinstance(p, set):
            table[u] = [o.key in p for o in q.options]
        elif isinstance(p, tuple):
            for i in cells.index[codes.to_numpy() == u]:
                if p[0] == "bad":
                    problems.append(_Problem(i, q.column, "unknown answer label in a multiple answer:", p[1],
                                             f"separator {sep!r}; expected labels {labels.expected()}"))
                else:
                    problems.append(_Problem(i, q.column, "exclusive option combined with other answers:",
                                             q.option(p[1]).label_ru))
    rows = table[codes.to_numpy()]
    out = {}
    for j, o in enumerate(q.options):
        col = rows[:, j]
        arr = pd.array(col == 1, dtype="boolean")
        arr[col < 0] = pd.NA
        out[multi_column(q.id, o.key)] = arr
    return pd.DataFrame(out, index=cells.index)


def _parse_scale(raw: _Raw, q: Question, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    lo, hi = int(q.scale["min"]), int(q.scale["max"])

    def parse(text: str) -> Any:
        t = text.strip()
        if not t:
            return None
        if not _INT_RE.match(t):
            kind = "non-integer scale value" if _NUM_RE.match(t) else "non-numeric scale value"
            return (kind, f"expected an integer {lo}–{hi}")
        v = int(t)
        if not lo <= v <= hi:
            return ("scale value out of range", f"expected {lo}–{hi}")
        return v

    codes, parsed = _by_unique(cells, parse)
    uniques = list(parsed)
    vals = [parsed[u] if isinstance(parsed[u], int) else None for u in uniques]
    for u, text in enumerate(uniques):
        if isinstance(parsed[text], tuple):
            for i in cells.index[codes.to_numpy() == u]:
                problems.append(_Problem(i, q.column, parsed[text][0], text, parsed[text][1]))
    return pd.Series(pd.array(vals, dtype="Int64").take(codes.to_numpy()), index=cells.index)


def _parse_number(raw: _Raw, q: Question, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    vals: list[float | None] = []
    for i, text in cells.items():
        t = text.strip()
        if not t:
            vals.append(None)
        elif _NUM_RE.match(t):
            vals.append(float(t.replace(",", ".")))
        else:
            problems.append(_Problem(i, q.column, "not a number", text))
            vals.append(None)
    return pd.Series(pd.array(vals, dtype="Float64"), index=cells.index)


def _parse_timestamps(raw: _Raw, header: str, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    stripped = _strip(cells)
    ok_shape = stripped.str.match(_TS_RE.pattern if stripped.dtype == object else _TS_RE2)
    parsed = pd.to_datetime(stripped.where(ok_shape, None), format=TIMESTAMP_FORMAT, errors="coerce")
    for i in cells.index[parsed.isna().to_numpy()]:
        what = "missing timestamp" if not stripped[i] else "unparseable timestamp"
        problems.append(_Problem(i, header, what, cells[i], "expected YYYY-MM-DD HH:MM:SS"))
    return pd.Series(parsed.to_numpy(), index=cells.index).astype("datetime64[us]")


def _text(cells: pd.Series) -> pd.Series:
    codes, parsed = _by_unique(cells, lambda s: redact(s.strip()) if s.strip() else None)
    vals = pd.array(list(parsed.values()), dtype="str")
    return pd.Series(vals.take(codes.to_numpy()), index=cells.index)


# --------------------------------------------------------------------------- public API


def _read_raw(path: Path, codebook: Codebook) -> _Raw:
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(f"{path}: unsupported export format {path.suffix!r} (expected .csv, .xlsx or .sav)")
    raw = reader(path, codebook)
    if not raw.nrows:
        raise IngestError(f"{path}: header only, no submissions")
    raw.synthetic = _is_synthetic(path)
    return raw


def _is_synthetic(path: Path) -> bool:
    """Whether the export is the project's synthetic reconstruction (its sidecar says so)."""
    side = path.with_name(path.name + ".meta.yaml")
    if not side.exists():
        return False
    with open(side, encoding="utf-8") as fh:
        meta = yaml.safe_load(fh) or {}
    if not isinstance(meta, dict) or not isinstance(meta.get("synthetic"), bool):
        raise IngestError(f"{side}: the sidecar of the export must say 'synthetic: true' or 'synthetic: false'")
    return meta["synthetic"]


def read_export(path: Path | str, codebook: Codebook) -> pd.DataFrame:
    """Read and validate a raw export; return all submissions in the ``ingested.parquet`` contract.

    Raises :class:`IngestError` (naming file, data row, column and value) on the first problem.
    Direct identifiers (codebook columns with role ``identifier``) are never read into the result.
    ``attrs["belmig"]`` records the source file name and whether it is the synthetic export.
    """
    path = Path(path)
    raw = _read_raw(path, codebook)
    _check_header(raw, codebook)
    problems: list[_Problem] = []
    n = raw.nrows
    out: dict[str, pd.Series] = {"row": pd.Series(pd.array(range(1, n + 1), dtype="Int64"), index=range(1, n + 1))}

    # admin columns
    rid_col = codebook.admin_column("response_id").column
    rid = _strip(_cells(raw, rid_col))
    empty = (rid == "").to_numpy(dtype=bool)
    repeat = rid.duplicated(keep="first").to_numpy(dtype=bool) & ~empty
    if empty.any() or repeat.any():
        firsts = rid[~empty].drop_duplicates(keep="first")
        seen = dict(zip(firsts.to_numpy(), firsts.index))
        for i, v in rid[empty | repeat].items():
            if not v:
                problems.append(_Problem(i, rid_col, "empty response id", v))
            else:
                problems.append(_Problem(i, rid_col, f"response id repeats data row {seen[v]}:", v))
    out["response_id"] = rid.astype("str")
    for c in codebook.columns:
        if c.role == "identifier" or c.id == "response_id":
            continue  # identifiers never get past ingestion
        cells = _cells(raw, c.column)
        if c.type == "datetime":
            out[c.id] = _parse_timestamps(raw, c.column, cells, problems)
        elif c.type == "number":
            vals = []
            for i, t in cells.items():
                if t.strip() and not _NUM_RE.match(t.strip()):
                    problems.append(_Problem(i, c.column, "not a number", t))
                    vals.append(None)
                else:
                    vals.append(float(t.strip().replace(",", ".")) if t.strip() else None)
            out[c.id] = pd.Series(pd.array(vals, dtype="Float64"), index=cells.index)
        else:
            out[c.id] = _text(cells)

    # questions
    sep = codebook.multi_separator
    for q in codebook.questions:
        cells = _cells(raw, q.column)
        if q.type == "single":
            out[q.id] = _parse_single(raw, q, cells, problems)
        elif q.type == "multi":
            for col, s in _parse_multi(raw, q, cells, sep, problems).items():
                out[col] = s
        elif q.type == "scale":
            out[q.id] = _parse_scale(raw, q, cells, problems)
        elif q.type == "number":
            out[q.id] = _parse_number(raw, q, cells, problems)
        elif q.type == "text":
            out[q.id] = _text(cells)
        else:  # pragma: no cover - the codebook schema restricts types
            raise IngestError(f"{codebook.source}: question {q.id!r} has unsupported type {q.type!r}")
        if q.other_column:
            out[other_text_column(q.id)] = _text(_cells(raw, q.other_column))

    if problems:
        order = {_norm(h): j for j, h in enumerate(raw.header)}
        problems.sort(key=lambda p: (p.row, order.get(_norm(p.column), 0)))
        p = problems[0]
        same = sum(1 for x in problems[1:] if x.problem == p.problem)
        raise _fail(raw.path, p.problem, row=p.row, column=p.column, value=p.value, more=same, hint=p.hint)

    df = pd.DataFrame(out)
    started = df[codebook.admin_column("started_at").id]
    submitted = df[codebook.admin_column("submitted_at").id]
    dur = (submitted - started).dt.total_seconds()
    neg = dur[dur < 0]
    if len(neg):
        i = int(neg.index[0])
        raise _fail(raw.path, "submitted before it was started:", row=i,
                    column=codebook.admin_column("submitted_at").column,
                    value=submitted[i].strftime(TIMESTAMP_FORMAT),
                    hint=f"started {started[i].strftime(TIMESTAMP_FORMAT)}", more=len(neg) - 1)
    df.insert(df.columns.get_loc("submitted_at") + 1, "duration_sec", dur.round().astype("Int64"))
    df = df.reset_index(drop=True)
    df.attrs["belmig"] = {"source": path.name, "format": raw.fmt, "synthetic": raw.synthetic}
    return df


def other_text_column(question_id: str) -> str:
    """Ingested column holding the (redacted) free text of a question's "Other" answer."""
    return f"{question_id}__other_text"


def write_ingested(df: pd.DataFrame, path: Path | str) -> None:
    """Write the ingested frame as Parquet atomically (temp file in the same folder, then rename)."""
    write_parquet_atomic(df, Path(path))


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    atomic.write_via(path, lambda tmp: df.to_parquet(tmp, index=False))


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.ingest EXPORT --out ingested.parquet``: validate and write."""
    from belmig.core import codebook as cbm

    ap = argparse.ArgumentParser(prog="belmig.ingest", description=__doc__.split("\n")[0])
    ap.add_argument("export", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--codebook", type=Path, default=None)
    a = ap.parse_args(argv)
    cb = cbm.load(a.codebook)
    try:
        df = read_export(a.export, cb)
    except IngestError as e:
        print(f"error: {e}")
        return 1
    write_ingested(df, a.out)
    print(f"{len(df)} submissions -> {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
