"""The ledger keys a report text uses, as the disclosure audit reads them (``report_keys.json``).

Rule protect_values decides which values the report may print. It depends on *which* keys the
text prints and which its claim conditions read, not on its wording. The Snakefile therefore
writes those keys to ``data/processed/report_keys.json`` when it parses (cached by the text's
digest, :mod:`belmig.core.parsecache`), and rewrites the file only when the keys change: the
rule reads that file, so an edit of the wording re-renders the report without re-running the
audit, and an edit that prints a new value re-runs it.

    {"used": ["pct.q.o", "wpct.q.o", ...], "printed": ["pct.q.o", ...]}

"used" is every key the text uses, shortcodes and claim conditions (``report/claims.yaml``)
alike, in order of first use (the appendix's values table lists them in that order); "printed"
is the keys its shortcodes print. Neither repeats a key. Only the English text is read: every other edition
prints the same values (the parity check fails the build otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def used_keys(text: str, guards: Path | None = None) -> dict[str, list[str]]:
    """{"used": ..., "printed": ...} of one text; the claims' conditions live in `guards`."""
    from belmig.report import guards as guards_mod
    from belmig.report.keycheck import used_keys as all_used
    from belmig.report.shortcodes import VAR_RE

    g = guards_mod.load(guards) if guards is not None else None
    return {"used": all_used(text, guards=g), "printed": list(dict.fromkeys(VAR_RE.findall(text)))}


def text_keys(qmds: Iterable[Path | str], guards: Path | str | None = None) -> dict[str, list[str]]:
    """{"used": [...], "printed": [...]} of the texts, each in order of first use."""
    used: list[str] = []
    printed: list[str] = []
    for q in qmds:
        k = used_keys(Path(q).read_text(encoding="utf-8"), Path(guards) if guards is not None else None)
        used += k["used"]
        printed += k["printed"]
    return {"used": list(dict.fromkeys(used)), "printed": list(dict.fromkeys(printed))}


def claim_keys(keys: dict[str, list[str]]) -> list[str]:
    """The keys only claim conditions read."""
    printed = set(keys["printed"])
    return [k for k in keys["used"] if k not in printed]


def dumps(keys: dict[str, list[str]]) -> str:
    return json.dumps({"used": list(keys["used"]), "printed": list(keys["printed"])}, indent=1) + "\n"


def write_if_changed(path: Path | str, keys: dict[str, list[str]]) -> bool:
    """Write the keys file unless it already holds exactly these keys (its bytes, and so its
    checksum for Snakemake, stay put). Atomic; True when it was written."""
    from belmig.core import atomic

    return atomic.write_text_if_changed(path, dumps(keys))


def read(path: Path | str) -> dict[str, list[str]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"used", "printed"}:
        raise ValueError(f"{path}: not a report keys file (expected the keys 'used' and 'printed')")
    return {"used": list(data["used"]), "printed": list(data["printed"])}
