"""The ingest stage's summary on the console: the platform read, warnings, what the export lacks.

The stage notebook writes these lines to the job's own stderr (``sys.__stderr__``: the kernel's
file descriptor 2, inherited from the stage's process), which ``rules/ingest.smk`` sends to the
console as well as to the log; on failure the stage's error message goes the same way. Imports
nothing heavy.
"""

from __future__ import annotations

import sys
from typing import Any


def summary(doc: dict[str, Any]) -> list[str]:
    """The console lines of an ingest report (no cell value, no machine path)."""
    p = doc["platform"]
    how = "forced by ingest.platform" if p["forced"] else f"detected: {p['evidence']}"
    mapped = f"; mapping {doc['mapping']}" if doc.get("mapping") else ""
    lines = [f"ingest: {doc['file']} read as {p['used']} ({how}{mapped}); {doc['submissions']} submissions"]
    for w in doc.get("warnings", []):
        n = f" ({w['count']} cell(s))" if w.get("count") else ""
        lines.append(f"warning: {w['message']}{n}")
        for c in w.get("cells", [])[:5]:
            where = [f"data row {c['row']}" if c.get("row") else "", f"column {c['column']}" if c.get("column") else ""]
            lines.append(f"  {doc['file']}, " + ", ".join(x for x in where if x))
    for c in doc.get("consequences", []):
        lines.append(f"note: {c}")
    return lines


def emit(doc: dict[str, Any], stream: Any = None) -> None:
    """Write the summary to the process's real stderr (not a notebook's captured one)."""
    out = stream or sys.__stderr__ or sys.stderr
    out.write("\n".join(summary(doc)) + "\n")
    out.flush()
