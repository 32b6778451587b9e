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

from belmig.core import atomic, messages
from belmig.ingest.notes import NOTE
from belmig.ingest.validate import Result

VERSION = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def consequence_notes(info: dict[str, Any]) -> list[messages.Note]:
    """What the export's lacks and time zones mean for the results (belmig.ingest.notes)."""
    out = []
    admin = info["admin"]
    zone = info.get("time_zone", "Europe/Vilnius")
    if admin["started_at"]["status"] != "read":
        out.append(NOTE("no_start_times"))
    if admin["response_id"]["status"] == "generated":
        out.append(NOTE("no_response_ids"))
    for cid in ("started_at", "submitted_at"):
        a = admin[cid]
        if a["status"] == "read" and a.get("time_zone_note", {}).get("id") == "ingest.zone_study":
            out.append(NOTE("zone_assumed", zone=zone))
            break
    for cid in ("started_at", "submitted_at"):
        a = admin[cid]
        if a["status"] == "read" and not a.get("time_zone", "").startswith(zone):
            given = (messages.from_data(a["time_zone_note"]),) if a.get("time_zone_note") else a["time_zone"]
            out.append(NOTE("zone_converted", given=given, zone=zone))
            break
    return out


def consequences(info: dict[str, Any]) -> list[str]:
    """What the export's lacks and time zones mean for the results, in plain words."""
    return [str(n) for n in consequence_notes(info)]


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
                **({"params": w.params} if w.params else {}),
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
        "consequences_notes": [messages.as_data(n) for n in consequence_notes(info)],
    }


def write(result: Result, export: Path | str, out: Path | str) -> dict[str, Any]:
    doc = build(result, export)
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    atomic.write_text(Path(out), text)
    return doc


def load(path: Path | str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
