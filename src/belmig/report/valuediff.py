"""The value diff: what changed in the ledger since the approved snapshot, and where it shows.

Every build writes ``data/processed/ledger_diff.md``: values added, removed or changed since
``data/approved/ledger.json`` (committed), and for each the sentences of ``report.qmd`` that
print it or guard a claim with it, and the charts of the question it belongs to.
``make approve`` copies the current ledger over the snapshot after a human read the diff.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from belmig.core import atomic, keys, paths
from belmig.core.ledger import Entry
from belmig.report import claims
from belmig.report.shortcodes import VAR_RE


@dataclass(frozen=True)
class Change:
    key: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"


def compare(current: Mapping[str, str], approved: Mapping[str, str]) -> list[Change]:
    """Changes between two {key: text} mappings, sorted by key."""
    keys = sorted(set(current) | set(approved))
    return [Change(k, approved.get(k), current.get(k)) for k in keys if approved.get(k) != current.get(k)]


def usages(qmd_text: str, guards=None) -> dict[str, list[str]]:
    """key -> lines of the report ("line N: sentence…") that print it or use it in a claim guard."""
    from belmig.report.checks import find_claims

    claim_keys: dict[int, set[str]] = {}
    for c in find_claims(qmd_text, guards, sentences=False):
        try:
            claim_keys.setdefault(c.line, set()).update(claims.names(c.condition or ""))
        except claims.ClaimError:
            continue
    out: dict[str, list[str]] = {}
    for i, line in enumerate(qmd_text.splitlines(), start=1):
        keys = set(VAR_RE.findall(line)) | claim_keys.get(i, set())
        snippet = VAR_RE.sub(lambda m: f"[{m.group(1)}]", line.strip())
        snippet = snippet if len(snippet) <= 140 else snippet[:137] + "…"
        for k in keys:
            out.setdefault(k, []).append(f"line {i}: {snippet}")
    return out


def diff_markdown(changes: list[Change], qmd_text: str, charts_by_question: Mapping[str, int], guards=None) -> str:
    if not changes:
        return "# Value diff\n\nNo value differs from the approved snapshot.\n"
    use = usages(qmd_text, guards)
    lines = [
        "# Value diff",
        "",
        f"{len(changes)} value(s) differ from the approved snapshot (`data/approved/ledger.json`). "
        "Read them, then run `make approve` to record the current values as approved.",
        "",
        "| key | approved | now | change | report text | chart |",
        "|---|---|---|---|---|---|",
    ]
    for c in changes:
        where = "<br>".join(use.get(c.key, [])) or "not printed"
        q = keys.question_of(c.key)
        chart = f"Chart {charts_by_question[q]}" if q in charts_by_question else ""
        lines.append(f"| `{c.key}` | {c.old or ''} | {c.new or ''} | {c.kind} | {where.replace('|', '/')} | {chart} |")
    return "\n".join(lines) + "\n"


def _texts(entries: Mapping[str, Entry]) -> dict[str, str]:
    return {k: e.text for k, e in entries.items()}


def load_texts(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {e["key"]: e["text"] for e in json.loads(path.read_text(encoding="utf-8"))}


def write_diff(
    entries: Mapping[str, Entry], approved: Path, qmd: Path, out: Path, *, codebook, guards=None
) -> list[Change]:
    """Write the diff to `out`; `codebook` is the loaded codebook the rule passes in."""
    changes = compare(_texts(entries), load_texts(approved))
    md = diff_markdown(
        changes, qmd.read_text(encoding="utf-8"), {c.question: c.number for c in codebook.charts}, guards
    )
    atomic.write_text(out, md)
    return changes


def approve(ledger: Path = paths.LEDGER, approved: Path = paths.APPROVED_LEDGER) -> None:
    if not ledger.exists():
        raise SystemExit(f"{paths.rel(ledger)} does not exist: build the report first (make report)")
    approved.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ledger, approved)
