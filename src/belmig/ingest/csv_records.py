"""The record-by-record CSV reader: reads any CSV the fast path reads, and words every error."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from belmig.core.codebook import Codebook
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import _check_not_empty, _norm, _Raw

DELIMITERS = (",", ";", "\t")


def _utf16(path: Path, data: bytes) -> str | None:
    """The text of a UTF-16 file with its byte-order mark (Excel's "Unicode text", tab-separated),
    None for any other file."""
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        return data.decode("utf-16").lstrip("\ufeff")
    except UnicodeDecodeError as e:
        raise IngestError(
            f"{path}: a UTF-16 file (its byte-order mark says so) that is not valid UTF-16 at byte {e.start}; "
            "re-save the export as CSV UTF-8"
        ) from None


def _decode(path: Path, data: bytes) -> str:
    wide = _utf16(path, data)
    if wide is not None:
        return wide
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    offset = len(data) - len(body)
    try:
        return body.decode("utf-8").lstrip("\ufeff")  # a second mark (a file re-saved with one)
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
            f"{path}: not valid UTF-8 at byte {pos} (line {line}, {where}{colpart}): byte 0x{data[pos]:02x} ({hint})"
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


def _read_csv_records(path: Path, cb: Codebook, delimiter: str | None = None) -> _Raw:
    data = _check_not_empty(path)
    text = _decode(path, data)
    delim = delimiter or _sniff_delimiter(text, {_norm(h) for h in cb.export_headers()})
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
    return _Raw(path, "csv", header, rows, delimiter=delim)


def peek_csv(path: Path, known: set[str], records: int = 4) -> tuple[str, list[list[str]]]:
    """The delimiter and the first `records` records (header rows) of a CSV file.

    Reads at most the first 4 MB; an undecodable or malformed head gives what could be read
    (the full reader words the error)."""
    with open(path, "rb") as fh:
        head = fh.read(4_000_000)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head[: len(head) // 2 * 2].decode("utf-16", errors="replace").lstrip("\ufeff")
    else:
        text = head[len(codecs.BOM_UTF8) :] if head.startswith(codecs.BOM_UTF8) else head
        text = text.decode("utf-8", errors="replace").lstrip("\ufeff")
    delim = _sniff_delimiter(text, known)
    out: list[list[str]] = []
    try:
        for rec in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
            if not any(c.strip() for c in rec) and not out:
                continue
            out.append([c.strip() for c in rec])
            if len(out) >= records:
                break
    except csv.Error:
        pass
    return delim, out


def _check_field_counts(path: Path, header: list[str], rows: list[list[str]], delim: str) -> None:
    bad = [(i, len(r)) for i, r in enumerate(rows, start=1) if len(r) != len(header)]
    if bad:
        i, n = bad[0]
        last = " (the last row: the file looks truncated)" if i == len(rows) and n < len(header) else ""
        raise IngestError(
            f"{path}: data row {i}: has {n} fields, the header has {len(header)}{last}; "
            f"delimiter {delim!r}"
            + (f"; {len(bad) - 1} more row(s) with the wrong number of fields" if len(bad) > 1 else "")
        )
