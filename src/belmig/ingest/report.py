"""The ingest report: what was read and how, as a small machine-readable record.

``data/processed/ingest_report.json`` (a declared output of ``ingest_export``): the file (name
and checksum, never a machine path), the platform detected or forced and the evidence, the
header rows, how every codebook question was matched (columns, layout, method, confidence),
the admin fields read, generated or lacking, the identifiers dropped and the platform metadata
ignored (column names only), the warnings with their counts, and the consequences in plain
words. No cell value is recorded. The report stage turns it into the "data source" paragraph
and table of the methods appendix (:func:`belmig.report.tables.data_source_md`); the console
summary (:mod:`belmig.ingest.console`) prints it after every ingest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from belmig.core import atomic
from belmig.ingest.validate import Result

VERSION = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def consequences(info: dict[str, Any]) -> list[str]:
    """What the export's lacks and time zones mean for the results, in plain words."""
    out = []
    admin = info["admin"]
    zone = info.get("time_zone", "Europe/Vilnius")
    if admin["started_at"]["status"] != "read":
        out.append(
            "The export has no start times, so how long each submission took is unknown: the speeder "
            "check was skipped, and submissions it would have removed as too fast are kept."
        )
    if admin["response_id"]["status"] == "generated":
        out.append("The export has no response ids: ids were generated from the data row (row-0001, …).")
    for cid in ("started_at", "submitted_at"):
        a = admin[cid]
        if a["status"] == "read" and "not stated" in a.get("time_zone", ""):
            out.append(f"The export's timestamps state no time zone; they were read as {zone} wall-clock time.")
            break
    for cid in ("started_at", "submitted_at"):
        a = admin[cid]
        if a["status"] == "read" and not a.get("time_zone", "").startswith(zone):
            out.append(f"The export's timestamps ({a['time_zone']}) were converted to {zone}.")
            break
    return out


def build(result: Result, export: Path | str) -> dict[str, Any]:
    info = dict(result.info)
    warnings = []
    for w in result.warnings:
        warnings.append(
            {
                "check": w.check,
                "message": w.message,
                "count": w.count,
                "cells": [{"row": p.row, "column": p.column} for p in w.problems[:20]],
            }
        )
    info.pop("warnings", None)
    return {
        "version": VERSION,
        "file": Path(export).name,
        "sha256": _sha256(Path(export)),
        **{k: v for k, v in info.items() if k != "file"},
        "warnings": warnings,
        "consequences": consequences(info),
    }


def write(result: Result, export: Path | str, out: Path | str) -> dict[str, Any]:
    doc = build(result, export)
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    atomic.write_text(Path(out), text)
    return doc


def load(path: Path | str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
