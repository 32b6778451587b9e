"""Check every number drawn on the charts against the ledger (used by the 06_charts stage)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from belmig.core.ledger import Entry


def check_against_ledger(records: list[Path], entries: Mapping[str, Entry]) -> pd.DataFrame:
    """One row per drawn number: chart, ledger key, text on the chart, ledger text, ok."""
    rows = []
    for path in records:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
        items = [
            (b.get("ledger_key"), b.get("text"), b.get("drawn")) for b in rec.get("bars", []) if not b.get("suppressed")
        ]
        if rec.get("mean"):
            m = rec["mean"]
            items.append((m.get("ledger_key"), m.get("text"), m.get("drawn")))
        for key, text, drawn in items:
            if key is None:
                continue
            ledger_text = entries[key].text if key in entries else None
            ok = ledger_text is not None and text == ledger_text and (drawn is None or ledger_text in drawn)
            rows.append(
                {
                    "chart": rec["chart"],
                    "key": key,
                    "on_chart": drawn if drawn is not None else text,
                    "ledger": ledger_text,
                    "ok": ok,
                }
            )
    return pd.DataFrame(rows, columns=["chart", "key", "on_chart", "ledger", "ok"])
