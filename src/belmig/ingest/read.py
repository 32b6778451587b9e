"""``read_export``: pick the reader, check the header against the codebook, parse every column."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from belmig.core import atomic
from belmig.core.codebook import Codebook
from belmig.core.keys import other_text_column
from belmig.ingest import csv_fast
from belmig.ingest.csv_fast import _NotFast, _read_csv_fast
from belmig.ingest.csv_records import _read_csv_records
from belmig.ingest.errors import IngestError, _fail, _Problem
from belmig.ingest.parse import (
    _NUM_RE,
    _parse_multi,
    _parse_number,
    _parse_scale,
    _parse_single,
    _parse_timestamps,
    _strip,
    _text,
)
from belmig.ingest.raw import TIMESTAMP_FORMAT, _cells, _norm, _Raw
from belmig.ingest.sav import _read_sav
from belmig.ingest.xlsx import _read_xlsx

REQUIRED_ADMIN = ("response_id", "started_at", "submitted_at")


def _read_csv(path: Path, cb: Codebook) -> _Raw:
    """Read a CSV export: the columnar fast path, or the record-by-record reader.

    The fast path (:func:`_read_csv_fast`) only accepts files whose every record the
    record-by-record reader would read identically and without error; anything else (an
    encoding problem, wrong field counts, a stray quote, blank lines...) is read again by
    :func:`_read_csv_records`, which produces the exact error message.
    """
    if csv_fast.FAST_CSV:  # the one switch (tests turn it off to compare both readers)
        try:
            return _read_csv_fast(path, cb)
        except _NotFast:
            pass
    return _read_csv_records(path, cb)


READERS: dict[str, Callable[[Path, Codebook], _Raw]] = {".csv": _read_csv, ".xlsx": _read_xlsx, ".sav": _read_sav}


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
            sug = (
                f"no similar unknown header is present; the closest header is {near[0]!r}"
                if near
                else "no headers present"
            )
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
        raise _fail(
            raw.path,
            "submitted before it was started:",
            row=i,
            column=codebook.admin_column("submitted_at").column,
            value=submitted[i].strftime(TIMESTAMP_FORMAT),
            hint=f"started {started[i].strftime(TIMESTAMP_FORMAT)}",
            more=len(neg) - 1,
        )
    df.insert(df.columns.get_loc("submitted_at") + 1, "duration_sec", dur.round().astype("Int64"))
    df = df.reset_index(drop=True)
    df.attrs["belmig"] = {"source": path.name, "format": raw.fmt, "synthetic": raw.synthetic}
    return df


def write_ingested(df: pd.DataFrame, path: Path | str) -> None:
    """Write the ingested frame as Parquet atomically (temp file in the same folder, then rename)."""
    write_parquet_atomic(df, Path(path))


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    atomic.write_via(path, lambda tmp: df.to_parquet(tmp, index=False))


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.ingest EXPORT --out ingested.parquet``: validate and write."""
    from belmig.core import codebook as cbm

    ap = argparse.ArgumentParser(
        prog="belmig.ingest", description="Read and validate a raw survey export; write ingested.parquet."
    )
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
