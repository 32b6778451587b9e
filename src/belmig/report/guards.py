"""Claim guards defined once, by id (``report/claims.yaml``), for every edition.

The condition of each claim lives in one place::

    reasons-exit-political-great-majority:
      when: "pct.reasons_exit.political > 75"
      says: great-majority          # optional: a meaning of report/lexicon.yaml
      complement: false             # optional: the words describe the rest (100 - share)
      note: "..."                   # optional: why the condition says what the words say

and every edition marks its own words for it::

    [The great majority]{.claim guard="reasons-exit-political-great-majority"} of respondents
    [Подавляющее большинство]{.claim guard="reasons-exit-political-great-majority"} респондентов

The old form ``[words]{.claim when="condition"}`` is refused with a message that names the
conversion command (``python -m belmig.report.guards convert``), which moves the conditions
into claims.yaml and rewrites the spans of every edition.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from belmig.report import claims as claims_mod

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIELDS = {"when", "says", "complement", "note"}


class GuardError(ValueError):
    pass


@dataclass(frozen=True)
class Guard:
    id: str
    when: str
    says: str | None = None
    complement: bool = False
    note: str = ""


def parse(raw: object, source: str = "report/claims.yaml") -> dict[str, Guard]:
    """Guards from the parsed YAML (a mapping id -> {when, says, complement, note})."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise GuardError(f"{source}: expected a mapping of guard ids, got {type(raw).__name__}")
    out: dict[str, Guard] = {}
    for gid, spec in raw.items():
        gid = str(gid)
        if not ID_RE.match(gid):
            raise GuardError(f"{source}: guard id {gid!r} must be lower-case words joined by '-'")
        if isinstance(spec, str):
            spec = {"when": spec}
        if not isinstance(spec, Mapping) or not str(spec.get("when") or "").strip():
            raise GuardError(f"{source}: guard {gid!r} has no condition (when: ...)")
        unknown = set(spec) - _FIELDS
        if unknown:
            raise GuardError(f"{source}: guard {gid!r}: unknown field(s) {sorted(unknown)}; allowed {sorted(_FIELDS)}")
        when = " ".join(str(spec["when"]).split())
        try:
            claims_mod.names(when)
        except claims_mod.ClaimError as exc:
            raise GuardError(f"{source}: guard {gid!r}: {exc}") from None
        out[gid] = Guard(gid, when, spec.get("says"), bool(spec.get("complement", False)), str(spec.get("note") or ""))
    return out


_LOADED: dict[tuple[str, int, int], dict[str, Guard]] = {}


def load(path: Path) -> dict[str, Guard]:
    """The guards of `path` (claims.yaml), parsed once while the file is unchanged (``make check``
    reads it for every edition, ``make preview`` on every save)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _LOADED:
        _LOADED.clear()
        from belmig.core.schema import parse_yaml

        _LOADED[key] = parse(parse_yaml(p.read_text(encoding="utf-8")), str(path))
    return dict(_LOADED[key])


# ----------------------------------------------------------------------------- conversion

_WHEN_SPAN_RE = re.compile(r"""(?<!!)\[(?P<text>[^\[\]]*?)\]\{(?P<attrs>[^{}]*\.claim\b[^{}]*)\}""")
_WHEN_ATTR_RE = re.compile(r"""when\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""")
_STOP = {"the", "a", "an", "of", "than", "as", "is", "are"}


def _slug(condition: str, words: str) -> str:
    try:
        keys = sorted(claims_mod.names(condition), key=condition.find)
    except claims_mod.ClaimError:
        keys = []
    subject = ".".join(keys[0].split(".")[-2:]) if keys else "claim"
    w = [x for x in re.findall(r"[a-z0-9]+", words.lower()) if x not in _STOP][:4]
    return "-".join(re.findall(r"[a-z0-9]+", subject.replace("_", "-")) + w)


def _spans(text: str) -> list[tuple[re.Match, str]]:
    out = []
    for m in _WHEN_SPAN_RE.finditer(text):
        w = _WHEN_ATTR_RE.search(m.group("attrs"))
        if w:
            out.append((m, " ".join((w.group("dq") if w.group("dq") is not None else w.group("sq")).split())))
    return out


def convert(
    english: str, editions: Mapping[str, str], existing: Mapping[str, Guard]
) -> tuple[str, dict[str, str], dict]:
    """Move every ``when="…"`` condition into guards; returns the rewritten English text, the
    rewritten editions and the new claims.yaml mapping. Editions must hold the same conditions
    in the same order as English (the spans are matched by their condition string)."""
    by_cond = {g.when: g.id for g in existing.values()}
    table: dict[str, dict] = {g.id: {k: v for k, v in _guard_dict(g).items()} for g in existing.values()}

    def id_for(cond: str, words: str) -> str:
        if cond in by_cond:
            return by_cond[cond]
        base = _slug(cond, words)
        gid, i = base, 2
        while gid in table:
            gid, i = f"{base}-{i}", i + 1
        table[gid] = {"when": cond}
        by_cond[cond] = gid
        return gid

    def rewrite(text: str, ids: list[str] | None) -> tuple[str, list[str]]:
        spans = _spans(text)
        used = []
        for m, cond in reversed(spans):
            gid = id_for(cond, " ".join(m.group("text").split())) if ids is None else by_cond.get(cond)
            if gid is None:
                raise GuardError(f"condition {cond!r} of an edition is not a condition of the English text")
            attrs = _WHEN_ATTR_RE.sub(f'guard="{gid}"', m.group("attrs"), count=1)
            text = text[: m.start("attrs")] + attrs + text[m.end("attrs") :]
            used.append(gid)
        return text, used[::-1]

    # assign ids in English order (reversed rewriting must not change the numbering)
    for m, cond in _spans(english):
        id_for(cond, " ".join(m.group("text").split()))
    new_en, en_ids = rewrite(english, [])
    out = {}
    for name, text in editions.items():
        conds = [c for _, c in _spans(text)]
        en_conds = [c for _, c in _spans(english)]
        if conds != en_conds:
            raise GuardError(f"{name}: its conditions differ from the English ones (order or text)")
        out[name], _ = rewrite(text, [])
    return new_en, out, table


def _guard_dict(g: Guard) -> dict:
    d: dict = {"when": g.when}
    if g.says:
        d["says"] = g.says
    if g.complement:
        d["complement"] = True
    if g.note:
        d["note"] = g.note
    return d


def dump(table: Mapping[str, Mapping]) -> str:
    header = (
        "# Claim guards, defined once for every edition (docs/editing-the-report.md).\n"
        "# id: {when: condition on ledger keys, says: meaning of report/lexicon.yaml (optional),\n"
        "#      complement: true when the words describe the rest of the respondents, note: why}\n"
        '# Every edition marks its words: [words]{.claim guard="id"}.\n'
    )
    return header + yaml.safe_dump(dict(table), allow_unicode=True, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m belmig.report.guards")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help='move [words]{.claim when="…"} conditions into report/claims.yaml')
    c.add_argument("english", type=Path)
    c.add_argument("editions", type=Path, nargs="*")
    c.add_argument("--claims", type=Path, default=Path("report/claims.yaml"))
    a = ap.parse_args(argv)
    existing = load(a.claims) if a.claims.exists() else {}
    en, eds, table = convert(
        a.english.read_text(encoding="utf-8"), {str(p): p.read_text(encoding="utf-8") for p in a.editions}, existing
    )
    a.english.write_text(en, encoding="utf-8")
    for p in a.editions:
        p.write_text(eds[str(p)], encoding="utf-8")
    a.claims.write_text(dump(table), encoding="utf-8")
    print(f"{a.claims}: {len(table)} guard(s); converted {a.english} and {len(a.editions)} edition(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
