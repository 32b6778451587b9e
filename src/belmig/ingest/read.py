"""``read_export``: detect the platform, read the file, let its adapter lay it out, validate.

python -m belmig.ingest EXPORT --out ingested.parquet [--platform auto] [--mapping overlay.yaml]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from belmig.core import atomic, messages, schema
from belmig.core.codebook import Codebook
from belmig.ingest import csv_fast, detect
from belmig.ingest.csv_fast import _NotFast, _read_csv_fast
from belmig.ingest.csv_records import _read_csv_records, peek_csv
from belmig.ingest.errors import IngestError
from belmig.ingest.mapping import Mapping
from belmig.ingest.platforms import ADAPTERS
from belmig.ingest.platforms.base import Context
from belmig.ingest.raw import _norm, _Raw, known_headers
from belmig.ingest.sav import _read_spss
from belmig.ingest.validate import Result, validate
from belmig.ingest.xlsx import _read_xlsx

DEFAULT_ZONE = "Europe/Vilnius"


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


READERS: dict[str, Callable[[Path, Codebook], _Raw]] = {
    ".csv": _read_csv,
    # delimited text under another name: Qualtrics' "TSV" download, Excel's "Unicode text" (.txt)
    ".tsv": _read_csv,
    ".txt": _read_csv,
    ".xlsx": _read_xlsx,
    ".sav": _read_spss,
    ".dta": _read_spss,
}


def _is_synthetic(path: Path) -> bool:
    """Whether the export is the project's synthetic reconstruction (its sidecar says so)."""
    side = path.with_name(path.name + ".meta.yaml")
    if not side.exists():
        return False
    meta = schema.load_yaml(side) or {}  # libyaml's parser, PyYAML's safe constructor: the same values
    if not isinstance(meta, dict) or not isinstance(meta.get("synthetic"), bool):
        raise IngestError(f"{side}: the sidecar of the export must say 'synthetic: true' or 'synthetic: false'")
    return meta["synthetic"]


def _read(path: Path, cb: Codebook, platform: str) -> tuple[_Raw, detect.Detection]:
    """Read the file and tell its platform (``platform`` = "auto" or the forced one)."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise IngestError(
            f"{path}: unsupported export format {suffix!r} (expected .csv, .tsv, .txt, .xlsx, .sav or .dta)"
        )
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if suffix in (".sav", ".dta"):
        raw = _read_spss(path, cb)
        found = detect.from_spss_names(suffix, raw.header)
    elif suffix == ".xlsx":
        raw = _read_xlsx(path, cb)
        found = detect.from_rows([raw.header, *(raw.rows or [])[:3]], cb)
    else:
        known = known_headers(cb)
        delim, head = peek_csv(path, known) if path.stat().st_size else (",", [])
        found = detect.from_rows(head, cb)
        used = found.platform if platform == "auto" else platform
        raw = _read_csv(path, cb) if used == "generic" else _read_csv_records(path, cb, delim)
    return raw, found


def ingest(
    path: Path | str,
    codebook: Codebook,
    *,
    platform: str = "auto",
    mapping: Mapping | None = None,
    time_zone: str = DEFAULT_ZONE,
) -> Result:
    """Read and validate a raw export; the ingested frame, its warnings and the report's facts.

    Raises :class:`IngestError` listing every problem (file, data row, column, value)."""
    path = Path(path)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise IngestError(
            f"ingest.time_zone: unknown time zone {time_zone!r} (an IANA name, e.g. Europe/Vilnius)"
        ) from None
    cb = mapping.apply(codebook) if mapping is not None else codebook
    ctx = mapping.context(time_zone) if mapping is not None else Context(study_zone=time_zone)
    if platform != "auto" and platform not in ADAPTERS:
        raise IngestError(f"ingest.platform: unknown platform {platform!r} (one of auto, {', '.join(ADAPTERS)})")
    raw, found = _read(path, cb, platform)
    used = found.platform if platform == "auto" else platform
    if mapping is not None and mapping.platform and mapping.platform != used:
        raise IngestError(
            f"{path}: read as {used}, but the mapping {mapping.source} was drafted for {mapping.platform} "
            "(set ingest.platform to force a platform, or draft the mapping for this export)"
        )
    bad = detect.check_format(used, path)
    if bad:
        raise IngestError(f"{path}: read as {used}, but {bad}")
    if raw.nrows == 0:
        raise IngestError(f"{path}: header only, no submissions")
    raw.synthetic = _is_synthetic(path)
    tidy = ADAPTERS[used](raw, cb, ctx)
    if tidy.n == 0:
        raise IngestError(f"{path}: header only, no submissions (after {tidy.header_rows} header rows)")
    result = validate(raw, tidy, cb, time_zone)
    lacks = [cid for cid, a in result.info["admin"].items() if a["status"] != "read"]
    lacks += [
        c.id for c in cb.identifier_columns() if not any(_norm(s.name) == _norm(c.column) for s in tidy.identifiers)
    ]
    result.df.attrs["belmig"] = {
        "source": path.name,
        "format": raw.fmt,
        "synthetic": raw.synthetic,
        "platform": used,
        "lacks": sorted(set(lacks) & {"response_id", "started_at"}),
    }
    result.info.update(
        {
            "file": path.name,
            "format": raw.fmt,
            "delimiter": raw.delimiter or None,
            "header_rows": tidy.header_rows,
            "submissions": tidy.n,
            "platform": {
                "used": used,
                "detected": found.platform,
                "evidence": found.evidence,
                "evidence_note": messages.as_data(found.note),
                "forced": platform != "auto",
            },
            "mapping": Path(mapping.source).name if mapping is not None else None,
            "time_zone": time_zone,
            "lacks": lacks,
            "identifiers_dropped": [s.name or s.label for s in tidy.identifiers],
            "metadata_ignored": [s.name or s.label for s in tidy.metadata],
            "notes": list(tidy.notes),
        }
    )
    return result


def read_export(path: Path | str, codebook: Codebook, **kw: Any) -> pd.DataFrame:
    """Read and validate a raw export; return all submissions in the ``ingested.parquet`` contract.

    Raises :class:`IngestError` (naming file, data row, column and value) listing every problem.
    Direct identifiers are never read into the result. ``attrs["belmig"]`` records the source
    file name, its format and platform, whether it is the synthetic export, and what it lacks.
    Keywords: ``platform`` ("auto" or one of ``detect.PLATFORMS``), ``mapping`` (a
    :class:`~belmig.ingest.mapping.Mapping`), ``time_zone`` (the study's).
    """
    return ingest(path, codebook, **kw).df


def write_ingested(df: pd.DataFrame, path: Path | str) -> None:
    """Write the ingested frame as Parquet atomically (temp file in the same folder, then rename)."""
    write_parquet_atomic(df, Path(path))


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    atomic.write_via(path, lambda tmp: df.to_parquet(tmp, index=False))


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.ingest EXPORT --out ingested.parquet``: validate and write."""
    from belmig.core import codebook as cbm
    from belmig.ingest import mapping as mapping_mod, report

    ap = argparse.ArgumentParser(
        prog="belmig.ingest", description="Read and validate a raw survey export; write ingested.parquet."
    )
    ap.add_argument("export", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--codebook", type=Path, default=None)
    ap.add_argument("--platform", default="auto", choices=["auto", *detect.PLATFORMS])
    ap.add_argument("--mapping", type=Path, default=None, help="a mapping overlay (from map-export)")
    ap.add_argument("--time-zone", default=DEFAULT_ZONE)
    ap.add_argument("--report", type=Path, default=None, help="also write the ingest report (JSON)")
    a = ap.parse_args(argv)
    cb = cbm.load(a.codebook)
    try:
        m = mapping_mod.load(a.mapping, cb) if a.mapping else None
        res = ingest(a.export, cb, platform=a.platform, mapping=m, time_zone=a.time_zone)
    except IngestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_ingested(res.df, a.out)
    if a.report:
        report.write(res, a.export, a.report)
    for w in res.warnings:
        print("\n".join(w.lines(a.export)), file=sys.stderr)
    print(f"{len(res.df)} submissions ({res.info['platform']['used']}) -> {a.out}")
    return 0
