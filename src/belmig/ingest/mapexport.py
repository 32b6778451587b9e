"""Drafting the mapping of an export to the codebook: ``python -m belmig map-export``.

    python -m belmig map-export EXPORT [--definition survey.qsf|.lss|xlsform.xlsx] [--out overlay.yaml]

reads the export's headers (and, when given, the platform's survey definition) and proposes a
mapping overlay (:mod:`belmig.ingest.mapping`): for every codebook question it can match, the
column(s), the answer codes and the "Other" text column, with a confidence score; the headers
it could not place and the questions it found no column for. The draft is then checked the
way ingestion will read it (the platform adapter lays the export out with it), so what it
lists as unmatched is what ingestion would refuse.

Matching a definition's question to a codebook question: its text equals the codebook
``column`` or ``text_ru`` (after normalising case and spaces) → confidence 1; otherwise the
closest text by ``difflib`` ratio (≥ 0.6) → that ratio. Answer codes: a choice whose text is an
option's label (or alias) maps to it; the choice of the survey's "Other" maps to the codebook's
"Other" option. Without a definition, a codebook question whose ``column`` is not a header is
matched to the closest unplaced header (a different wording) with that header's ratio.

Entries with confidence below :data:`REVIEW` are written commented out: a person decides.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from belmig.core.codebook import Codebook, Question
from belmig.ingest import definitions as defs, mapping as mapping_mod
from belmig.ingest.definitions import Definition, DefQuestion
from belmig.ingest.errors import IngestError
from belmig.ingest.platforms import ADAPTERS
from belmig.ingest.raw import _norm

REVIEW = 0.9  # entries below this confidence are proposed commented out
TICKS = {
    "limesurvey": (["Y"], [""]),
    "qualtrics": (["1"], ["0"]),
    "kobo": (["1"], ["0"]),
}


@dataclass
class Proposal:
    export: str
    platform: str
    definition: str | None
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    identifiers: list[str] = field(default_factory=list)
    unmatched_headers: list[str] = field(default_factory=list)
    unmatched_questions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def overlay(self, active_only: bool = True) -> dict[str, Any]:
        qs = {q: m for q, m in self.questions.items() if not active_only or m.get("confidence", 1) >= REVIEW}
        doc: dict[str, Any] = {"platform": self.platform, "source": self.export, "definition": self.definition}
        if self.identifiers:
            doc["identifiers"] = list(self.identifiers)
        doc["questions"] = qs
        doc["unmatched_headers"] = list(self.unmatched_headers)
        doc["unmatched_questions"] = list(self.unmatched_questions)
        return doc


def _score(a: str, b: str) -> float:
    na, nb = _norm(a), _norm(b)
    if na == nb:
        return 1.0
    return difflib.SequenceMatcher(None, na, nb).ratio()


def _q_score(dq: DefQuestion, q: Question) -> float:
    return max(_score(dq.text, q.column), _score(dq.text, q.text_ru))


def _pair(def_qs: list[DefQuestion], cb: Codebook) -> list[tuple[DefQuestion, Question, float]]:
    """Definition questions to codebook questions: best pairs first, each used once."""
    cands = []
    for dq in def_qs:
        for q in cb.questions:
            if (q.type == "multi") != (dq.type == "multi"):
                continue
            s = _q_score(dq, q)
            if s >= 0.6:
                cands.append((s, dq, q))
    cands.sort(key=lambda c: -c[0])
    used_d: set[int] = set()
    used_q: set[str] = set()
    out = []
    for s, dq, q in cands:
        if id(dq) in used_d or q.id in used_q:
            continue
        used_d.add(id(dq))
        used_q.add(q.id)
        out.append((dq, q, s))
    return out


def _option(q: Question, text: str) -> tuple[str | None, float]:
    best, score = None, 0.0
    for o in q.options:
        for t in (o.label_ru, *o.aliases):
            s = _score(text, t)
            if s > score:
                best, score = o.key, s
    return (best, score) if score >= 0.8 else (None, score)


class _Headers:
    """The export's column names, found by a definition's name (Kobo: by group path or leaf)."""

    def __init__(self, names: list[str], platform: str):
        self.names = names
        self.platform = platform
        # Kobo's export lets the group separator be "." instead of "/" ("g1_screening.citizen")
        dotted = platform == "kobo" and not any("/" in n for n in names) and sum("." in n for n in names) >= 3
        self.exact = {(n.replace(".", "/") if dotted else n): n for n in names}  # as "/" paths -> header
        self.leaf: dict[str, list[str]] = {}
        for path in self.exact:
            self.leaf.setdefault(path.rsplit("/", 1)[-1], []).append(path)

    def get(self, name: str, group: str = "") -> str | None:
        if name in self.exact:
            return self.exact[name]
        if self.platform == "kobo":
            full = f"{group}/{name}" if group else name
            if full in self.exact:
                return self.exact[full]
            hits = [h for h in self.leaf.get(name.rsplit("/", 1)[-1], []) if h.endswith("/" + name) or h == name]
            return self.exact[hits[0]] if len(hits) == 1 else None
        return None


def _entry(dq: DefQuestion, q: Question, score: float, heads: _Headers, platform: str) -> dict[str, Any]:
    e: dict[str, Any] = {}
    notes = []
    conf = score
    if q.type == "multi":
        cols = {}
        summary = heads.get(dq.name, dq.group)
        # Kobo's "split select_multiple" unticked: one column of the chosen names, space-separated
        joined_only = platform == "kobo" and summary is not None and not any(heads.get(s, dq.group) for s, _ in dq.subs)
        for sub, text in dq.subs:
            key, s = _option(q, text)
            col = heads.get(sub, dq.group)
            if key is not None and joined_only:
                conf = min(conf, s)
                continue
            if key is None or col is None:
                notes.append(f"choice {text!r} ({sub}): " + ("no option" if key is None else "not in the export"))
                conf = min(conf, 0.5)
                continue
            cols[key] = col
            conf = min(conf, s)
        if joined_only:
            notes.append("one column of the chosen names (select_multiple not split)")
        if summary is not None:
            e["column"] = summary
        if not joined_only:
            e["option_columns"] = cols
            ticked, unticked = TICKS.get(platform, (["1"], ["0"]))
            e["ticked"], e["unticked"] = ticked, unticked
        if platform == "kobo":
            e["separator"] = " "
            e["codes"] = {c.rsplit("/", 1)[-1]: k for c, k in ((s, _option(q, t)[0]) for s, t in dq.subs) if k}
    else:
        col = heads.get(dq.name, dq.group)
        if col is None:
            notes.append(f"{dq.name}: not in the export")
            conf = min(conf, 0.5)
        else:
            e["column"] = col
        if q.type == "scale":
            codes = {}
            for code, text in dq.choices:
                t = text.strip()
                if t.lstrip("-").isdigit():
                    codes[code] = int(t)
            if codes:  # what the export writes for each scale point (the definition says so)
                e["codes"] = codes
        elif q.is_choice:
            other = next((o.key for o in q.options if o.other), None)
            codes = {}
            for code, text in dq.choices:
                key, s = _option(q, text)
                if key is None and code == dq.other_code and other:
                    key, s = other, 1.0
                if key is None:
                    notes.append(f"answer {code!r} ({text!r}): no option")
                    conf = min(conf, 0.5)
                    continue
                codes[code] = key
                conf = min(conf, s)
            e["codes"] = codes
    if dq.other_column and q.other_column:
        col = heads.get(dq.other_column, dq.group)
        if col is not None:
            e["other_column"] = col
    e["confidence"] = round(conf, 2)
    e["matched_by"] = f"definition: {dq.name}" + (" (same text)" if score == 1.0 else f" (text similarity {score:.2f})")
    if notes:
        e["matched_by"] += "; " + "; ".join(notes)
    return e


def propose(export: Path | str, cb: Codebook, definition: Path | str | None = None) -> Proposal:
    """The draft mapping of `export` (and its survey definition) to the codebook."""
    from belmig.ingest import read

    export = Path(export)
    raw, found = read._read(export, cb, "auto")
    d: Definition | None = defs.read(definition) if definition else None
    platform = found.platform
    if d is not None and d.platform != platform and platform in ("generic", "google_forms"):
        platform = d.platform
    p = Proposal(export.name, platform, Path(definition).name if definition else None)
    heads = _Headers([h.strip() for h in raw.header], platform)
    if d is not None:
        for dq, q, s in _pair(d.questions, cb):
            p.questions[q.id] = _entry(dq, q, s, heads, platform)
        for dq in d.questions:
            for c in cb.identifier_columns():
                if _score(dq.text, c.column) == 1.0:
                    col = heads.get(dq.name, dq.group)
                    if col is not None and col not in p.identifiers:
                        p.identifiers.append(col)
    _check(p, export, cb)
    if d is None:
        _fuzzy(p, cb, export)
        _check(p, export, cb)
    return p


def _check(p: Proposal, export: Path, cb: Codebook) -> None:
    """Lay the export out with the draft, as ingestion will: what is left over is unmatched."""
    from belmig.ingest import read

    m = mapping_mod.from_dict(p.overlay(), cb, "draft mapping")
    raw, _ = read._read(export, m.apply(cb), p.platform)
    tidy = ADAPTERS[p.platform](raw, m.apply(cb), m.context("Europe/Vilnius"))
    p.unmatched_headers = [s.name or s.label for s in tidy.unknown]
    found = {qi.q.id for qi in tidy.questions}
    p.unmatched_questions = [q.id for q in cb.questions if q.id not in found or q.id in tidy.missing]
    p.notes = [pr.line(export.name) for pr in tidy.problems if pr.check == "needs_mapping"]


def _fuzzy(p: Proposal, cb: Codebook, export: Path) -> None:
    """No definition: unmatched questions to the closest unplaced header (another wording)."""
    free = list(p.unmatched_headers)
    for qid in list(p.unmatched_questions):
        q = cb[qid]
        if q.type == "multi" or not free:
            continue
        best = max(free, key=lambda h: _score(h, q.column))
        s = _score(best, q.column)
        if s >= 0.6:
            p.questions[qid] = {"column": best, "confidence": round(s, 2), "matched_by": f"header similarity {s:.2f}"}
            free.remove(best)


def to_yaml(p: Proposal) -> str:
    """The overlay as a reviewable YAML file: low-confidence entries commented out."""
    lines = [
        f"# Mapping overlay for {p.export}, drafted by `python -m belmig map-export`"
        + (f" with {p.definition}" if p.definition else "")
        + ".",
        "# Review every entry, then point config ingest.mapping at this file.",
        f"# Entries with confidence below {REVIEW} are commented out: check them, then uncomment.",
    ]
    head = {k: v for k, v in p.overlay().items() if k not in ("questions", "unmatched_headers", "unmatched_questions")}
    lines.append(yaml.safe_dump(head, allow_unicode=True, sort_keys=False, width=120).rstrip())
    lines.append("questions:")
    if not p.questions:
        lines[-1] = "questions: {}"
    for qid, e in p.questions.items():
        block = yaml.safe_dump({qid: e}, allow_unicode=True, sort_keys=False, width=120).rstrip().splitlines()
        block = ["  " + ln for ln in block]
        if e.get("confidence", 1) < REVIEW:
            block = ["  # REVIEW (confidence " + str(e.get("confidence")) + ")"] + ["  # " + ln[2:] for ln in block]
        lines += block
    for key in ("unmatched_headers", "unmatched_questions"):
        vals = getattr(p, key)
        lines.append(yaml.safe_dump({key: vals}, allow_unicode=True, sort_keys=False, width=120).rstrip())
    return "\n".join(lines) + "\n"


def summary(p: Proposal) -> list[str]:
    sure = sum(1 for e in p.questions.values() if e.get("confidence", 1) >= REVIEW)
    out = [
        f"{p.export}: read as {p.platform}" + (f", definition {p.definition}" if p.definition else ""),
        f"  {sure} question(s) matched, {len(p.questions) - sure} to review (confidence < {REVIEW}), "
        f"{len(p.unmatched_questions)} codebook question(s) not found, {len(p.unmatched_headers)} header(s) not placed",
    ]
    if p.unmatched_questions:
        out.append("  not found: " + ", ".join(p.unmatched_questions))
    if p.unmatched_headers:
        out.append(
            "  not placed: "
            + ", ".join(repr(h) for h in p.unmatched_headers[:12])
            + (" …" if len(p.unmatched_headers) > 12 else "")
        )
    out += ["  " + n for n in p.notes]
    return out


def main(argv: list[str] | None = None) -> int:
    from belmig.core import atomic, codebook as cbm

    ap = argparse.ArgumentParser(prog="belmig map-export", description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path)
    ap.add_argument("--definition", type=Path, default=None, help="the survey definition (.qsf, .lss, XLSForm .xlsx)")
    ap.add_argument("--out", type=Path, default=None, help="write the overlay here (default: print it)")
    ap.add_argument("--codebook", type=Path, default=None)
    a = ap.parse_args(argv)
    cb = cbm.load(a.codebook)
    try:
        p = propose(a.export, cb, a.definition)
    except IngestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    text = to_yaml(p)
    if a.out:
        atomic.write_text(a.out, text)
    else:
        sys.stdout.write(text)
    print("\n".join(summary(p)) + (f"\n  -> {a.out}" if a.out else ""), file=sys.stderr)
    return 0
