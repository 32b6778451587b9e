"""Parity of the editions with English: the same claims, values, figures, tables, sections and
cross-references in every language.

Each edition is written in its own words, but it must say the same things about the same data:
a translation that drops a guarded claim, a value, a chart, a table or a reference (or adds one
that English does not have) fails the build (rule ``render_edition``) and ``make check``. What is
compared, per edition, is its :class:`Inventory`:

- ``claim``: the guard ids of its ``[words]{.claim guard="id"}`` spans (report/claims.yaml);
- ``value``: the ledger keys of its ``{{< var key >}}`` shortcodes;
- ``figure``: the ids of its figures (``{#fig-…}``) and the charts they show (``chartNN``);
- ``table``: the ids of its tables (``{#tbl-…}``, in the text or in an included file) and the
  files it includes (``{{< include _generated/… >}}``);
- ``section``: the ids of its sections (``{#sec-…}``);
- ``reference``: the ids it refers to (``@fig-…``, ``@tbl-…``, ``@sec-…``).

    python -m belmig.report.parity report/report.qmd report/report.lt.qmd report/report.ru.qmd
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from belmig.report import checks, render, xrefs

KINDS = ("claim", "value", "figure", "table", "section", "reference")
_CHART_RE = re.compile(r"!\[[^\]]*\]\([^)\s]*?/figures/(chart\d+)(?:\.[a-z]{2})?\.svg\)")
_INCLUDE_RE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
_REF_MASK_RE = re.compile(r"\{\{[<%].*?[>%]\}\}|(`+)(?!`).+?(?<!`)\1", re.S)


@dataclass
class Inventory:
    """What one edition contains that parity compares: kind -> {item: first line}."""

    items: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, kind: str, item: str, line: int) -> None:
        self.items[kind].setdefault(item, line)


@dataclass(frozen=True)
class Problem:
    kind: str  # one of KINDS
    item: str
    missing: bool  # True: English has it, the edition lacks it; False: only the edition has it
    line: int  # in English (missing) or in the edition (extra); 0 for an included file
    edition: str
    english: str

    def __str__(self) -> str:
        if self.missing:
            where = f"{self.english}:{self.line}" if self.line else self.english
            return f"{self.edition}: lacks the {self.kind} {self.item!r} that English has ({where})"
        where = f"{self.edition}:{self.line}" if self.line else self.edition
        return f"{where}: has the {self.kind} {self.item!r} that English ({self.english}) does not have"


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def inventory(text: str, included: Mapping[str, str] | None = None) -> Inventory:
    """The claims, values, figures, tables, sections and references of one edition's text.
    `included`: the text of each included file by its name as written (tables defined there)."""
    inv = Inventory()
    body = checks.mask_non_text(text)
    for c in checks.find_claims(text, guards={}):
        inv.add("claim", c.guard or f"when={c.condition}", c.line)
    for m in render.VAR_RE.finditer(body):
        inv.add("value", m.group(1), _line(text, m.start()))
    for m in _CHART_RE.finditer(body):
        inv.add("figure", m.group(1), _line(text, m.start()))
    kinds = {"fig": "figure", "tbl": "table", "sec": "section"}
    for m in xrefs.XREF_DEF_RE.finditer(body):
        inv.add(kinds[m.group(1).split("-")[0]], m.group(1), _line(text, m.start()))
    for m in _INCLUDE_RE.finditer(body):
        name = m.group(1)
        inv.add("table", name, _line(text, m.start()))
        for d in xrefs.XREF_DEF_RE.finditer((included or {}).get(name, "")):
            inv.add(kinds[d.group(1).split("-")[0]], d.group(1), 0)
    refs = _REF_MASK_RE.sub(_blank, body)
    for m in xrefs.XREF_USE_RE.finditer(refs):
        inv.add("reference", m.group(1), _line(text, m.start()))
    return inv


def compare_texts(
    english: str,
    edition: str,
    *,
    english_name: str = "report/report.qmd",
    edition_name: str = "edition",
    included: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every claim, value, figure, table, section and reference one text has and the other lacks."""
    en, ed = inventory(english, included), inventory(edition, included)
    out = []
    for kind in KINDS:
        a, b = en.items[kind], ed.items[kind]
        out += [Problem(kind, k, True, a[k], edition_name, english_name) for k in a if k not in b]
        out += [Problem(kind, k, False, b[k], edition_name, english_name) for k in b if k not in a]
    return out


def _name(p: Path) -> str:
    from belmig.core import paths

    p = Path(p)
    return paths.rel(p) if p.resolve().is_relative_to(paths.ROOT) else str(p)


def included_texts(qmd: Path, generated: Mapping[str, str] | None = None) -> dict[str, str]:
    """The files `qmd` includes, by name as written (generated tables from `generated` by file
    name when given, else from disk; a missing file counts as empty)."""
    qmd = Path(qmd)
    out = {}
    for m in _INCLUDE_RE.finditer(qmd.read_text(encoding="utf-8")):
        name = m.group(1)
        short = Path(name).name
        if generated is not None and short in generated:
            out[name] = generated[short]
        elif (qmd.parent / name).is_file():
            out[name] = (qmd.parent / name).read_text(encoding="utf-8")
    return out


def compare(english: Path, edition: Path, generated: Mapping[str, str] | None = None) -> list[Problem]:
    """Parity problems of the edition file `edition` against the English file `english`."""
    included = {**included_texts(english, generated), **included_texts(edition, generated)}
    return compare_texts(
        Path(english).read_text(encoding="utf-8"),
        Path(edition).read_text(encoding="utf-8"),
        english_name=_name(english),
        edition_name=_name(edition),
        included=included,
    )


def format_problems(problems: Sequence[Problem], english: Path | str = "", edition: Path | str = "") -> str:
    head = f"{edition or 'edition'}: {len(problems)} parity problem(s) against {english or 'English'}:"
    return "\n".join([head, *(str(p) for p in problems)])


def check_editions(english: Path, editions_: Iterable[Path], generated_dir: Path | None = None) -> list[Problem]:
    """Parity problems of every edition (``make check``); generated tables from `generated_dir`."""
    gen = None
    if generated_dir is not None and Path(generated_dir).is_dir():
        gen = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(generated_dir).glob("*.md"))}
    out: list[Problem] = []
    for ed in editions_:
        out += compare(english, ed, gen)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.report.parity ENGLISH.qmd EDITION.qmd [...] [--generated DIR] [--out F]``
    (rule check_parity): exit status 1 and the problems on stderr when an edition lacks a claim,
    value, figure, table or reference English has, or has one English lacks; with --out, a record
    of the check (written only when it passes)."""
    import argparse
    import json

    from belmig.core import atomic

    ap = argparse.ArgumentParser(prog="python -m belmig.report.parity")
    ap.add_argument("english", type=Path)
    ap.add_argument("editions", type=Path, nargs="+")
    ap.add_argument("--generated", type=Path, help="the appendix tables (report/_generated)")
    ap.add_argument("--out", type=Path, help="a JSON record of the passed check")
    a = ap.parse_args(argv)
    failed = 0
    record = {"english": _name(a.english), "editions": {}}
    for ed in a.editions:
        problems = check_editions(a.english, [ed], a.generated)
        if problems:
            print(format_problems(problems, _name(a.english), _name(ed)), file=sys.stderr)
        else:
            print(f"{_name(ed)}: parity ok")
        record["editions"][_name(ed)] = "ok" if not problems else f"{len(problems)} problem(s)"
        failed += bool(problems)
    if a.out is not None and not failed:
        atomic.write_text(a.out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
