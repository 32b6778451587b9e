"""The ingest stage's summary on the console (stderr), from the ingest report or the log.

    python -m belmig.ingest.console data/processed/ingest_report.json      # after success
    python -m belmig.ingest.console --failed logs/ingest_export.log        # after a failure

``rules/ingest.smk`` runs it after the stage: the stage's own output goes to its log, so
this is what reaches the console (the platform read, the warnings with their counts, what the
export lacks and what follows from it; or the error message, the last lines of the log).
Imports nothing heavy: it runs after every ingest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FAILED_MARK = "stage notebook "


def summary(doc: dict) -> list[str]:
    p = doc["platform"]
    how = "forced by ingest.platform" if p["forced"] else f"detected: {p['evidence']}"
    mapped = f"; mapping {doc['mapping']}" if doc.get("mapping") else ""
    lines = [f"ingest: {doc['file']} read as {p['used']} ({how}{mapped}); {doc['submissions']} submissions"]
    for w in doc.get("warnings", []):
        n = f" ({w['count']} cell(s))" if w.get("count") else ""
        lines.append(f"warning: {w['message']}{n}")
        for c in w.get("cells", [])[:5]:
            where = ", ".join(
                x
                for x in (
                    f"data row {c['row']}" if c.get("row") else "",
                    f"column {c['column']}" if c.get("column") else "",
                )
                if x
            )
            lines.append(f"  {doc['file']}, {where}")
    for c in doc.get("consequences", []):
        lines.append(f"note: {c}")
    return lines


def failed(log: Path) -> list[str]:
    """The error message at the end of a failed stage's log (the stage writes it last)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return [f"ingest failed; no log at {log}"]
    lines = text.rstrip("\n").splitlines()
    start = max((i for i, ln in enumerate(lines) if ln.startswith(FAILED_MARK)), default=max(0, len(lines) - 40))
    return ["ingest failed:", *lines[start:]]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--failed"]:
        out = failed(Path(args[1]))
    else:
        path = Path(args[0])
        if not path.exists():
            return 0
        out = summary(json.loads(path.read_text(encoding="utf-8")))
    print("\n".join(out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
