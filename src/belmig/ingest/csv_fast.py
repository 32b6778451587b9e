"""The columnar CSV reader (pyarrow) for well-formed files: a real speed-up on large exports.

It only accepts files whose every record the record-by-record reader
(:mod:`belmig.ingest.csv_records`) would read identically and without error; anything else
raises :class:`_NotFast` and is read again by that reader, which words the error.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from belmig.core.codebook import Codebook
from belmig.ingest.csv_records import _sniff_delimiter
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import _norm, _Raw, known_headers, series_key

FAST_CSV = True  # read.py looks it up at each call: tests switch it off to compare both readers
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
            if not ok[a[idx[s::2] - 1]].all() or not ok[a[idx[1 - s :: 2] + 1]].all():
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
    trailing = tail[len(tail.rstrip(b"\r\n")) :]
    if trailing not in (b"", b"\n", b"\r\n", b"\r"):
        raise _NotFast
    bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head[bom:], final=len(head) == size)
    except UnicodeDecodeError:
        raise _NotFast from None
    known = known_headers(cb)
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
    # the known columns, and those without a header (Excel's trailing empty columns: whether
    # they hold values is checked by the layout, as for the record reader)
    keep = [j for j, h in enumerate(header) if (_norm(h) in known and _norm(h) not in drop) or not _norm(h)]
    limit = csv.field_size_limit()
    names = [f"f{j}" for j in range(ncols)]
    chunks: dict[int, list] = {j: [] for j in keep}
    encode = {j for j in keep if _norm(header[j]) not in plain}

    def too_long(values) -> bool:  # csv.reader refuses fields above its size limit
        return (pc.max(pc.binary_length(values)).as_py() or 0) > limit and (
            pc.max(pc.utf8_length(values)).as_py() or 0
        ) > limit

    n = 0
    last_row: list[str] | None = None
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                delimiter=delim,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
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
        h = series_key(header, j)
        if h in plain:
            arr = pa.chunked_array(chunks[j], type=pa.string())
            series[h] = pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), index=index)
        else:
            arr = pa.chunked_array(chunks[j], type=pa.dictionary(pa.int32(), pa.string())).unify_dictionaries()
            if arr.num_chunks and too_long(arr.chunk(0).dictionary):
                raise _NotFast
            cats = arr.chunk(0).dictionary.to_pylist() if arr.num_chunks else []
            codes = (
                np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in arr.chunks])
                if arr.num_chunks
                else np.zeros(0, dtype=np.int32)
            )
            cat = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object), validate=False)
            series[h] = pd.Series(cat, index=index)
        chunks[j] = []
    return _Raw(path, "csv", header, None, n=n, series=series, delimiter=delim)
