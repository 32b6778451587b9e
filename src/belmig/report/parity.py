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

Each edition includes its own language's appendix tables (``_generated/lt/levels.md`` where English
includes ``_generated/levels.md``; the same table for parity). With the generated tables at hand,
:func:`generated_problems` also fails an edition whose tables lack a table (a file or a
``{#tbl-…}``) English has, or still say in English what English says (a caption, a column header
or a row label of the English tables, ``report/tables.yaml``, left untranslated).

    python -m belmig.report.parity report/report.qmd report/report.lt.qmd report/report.ru.qmd
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from belmig.report import xrefs
from belmig.report.claimcheck import find_claims
from belmig.report.prose import line_of, mask_non_text
from belmig.report.shortcodes import VAR_RE

KINDS = ("claim", "value", "figure", "table", "section", "reference")
_CHART_RE = re.compile(r"!\[[^\]]*\]\([^)\s]*?/figures/(chart\d+)(?:\.[a-z]{2})?\.svg\)")
_INCLUDE_RE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
_LANG_DIR_RE = re.compile(r"(^|/)_generated/[a-z]{2}/")
_CAPTION_RE = re.compile(r"^: (.*?)\s*\{#(tbl-[\w-]+)\}\s*$", re.M)
_REF_MASK_RE = re.compile(r"\{\{[<%].*?[>%]\}\}|(`+)(?!`).+?(?<!`)\1", re.S)


@dataclass
class Inventory:
    """What one edition contains that parity compares: kind -> {item: first line}."""

    items: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in KINDS})
    # every use, in order: kind -> [(item, line)] (how many times, and the claims' order)
    uses: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def add(self, kind: str, item: str, line: int) -> None:
        self.items[kind].setdefault(item, line)
        self.uses[kind].append((item, line))


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


# What an edition must use as many times as English does (a value printed twice in English and
# once in the edition is a value left out; a claim, figure or table twice, one added), and the
# claims in English's order (two guard ids swapped give each sentence the other's condition).
COUNTED = ("claim", "value", "figure", "table")


@dataclass(frozen=True)
class UseProblem:
    kind: str
    item: str
    english_uses: int  # how many times (order: the position in English's sequence)
    edition_uses: int
    line: int  # in the edition (its first use, or where the order departs)
    edition: str
    english: str
    order: bool = False
    expected: str = ""  # order: English's claim in that place

    def __str__(self) -> str:
        if self.order:
            return (
                f"{self.edition}:{self.line}: claims out of English's order: claim {self.english_uses} is "
                f"{self.item!r} here, {self.expected!r} in {self.english} (guard ids swapped?)"
            )
        return (
            f"{self.edition}:{self.line}: uses the {self.kind} {self.item!r} {self.edition_uses} time(s), "
            f"English ({self.english}) {self.english_uses}"
        )


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def events(text: str) -> list[tuple[str, str, int]]:
    """What :func:`inventory` adds, in its order: ``(kind, item, line)``, and ``("include", name,
    line)`` where the text includes a file (whose tables come from the included text). English's
    are worked out when the Snakefile parses (:func:`english_record`)."""
    out: list[tuple[str, str, int]] = []
    body = mask_non_text(text)
    for c in find_claims(text, guards={}, sentences=False):
        out.append(("claim", c.guard or f"when={c.condition}", c.line))
    for m in VAR_RE.finditer(body):
        out.append(("value", m.group(1), line_of(text, m.start())))
    for m in _CHART_RE.finditer(body):
        out.append(("figure", m.group(1), line_of(text, m.start())))
    for m in xrefs.XREF_DEF_RE.finditer(body):
        out.append((_DEF_KINDS[m.group(1).split("-")[0]], m.group(1), line_of(text, m.start())))
    for m in _INCLUDE_RE.finditer(body):
        out.append(("include", m.group(1), line_of(text, m.start())))
    refs = _REF_MASK_RE.sub(_blank, body)
    for m in xrefs.XREF_USE_RE.finditer(refs):
        out.append(("reference", m.group(1), line_of(text, m.start())))
    return out


_DEF_KINDS = {"fig": "figure", "tbl": "table", "sec": "section"}


def replay(evs: Iterable[Sequence], included: Mapping[str, str] | None = None) -> Inventory:
    """The inventory of a text's :func:`events`; `included`: the text of each included file by its
    name as written (tables defined there)."""
    inv = Inventory()
    for kind, item, line in evs:
        if kind != "include":
            inv.add(kind, item, line)
            continue
        inv.add("table", table_item(item), line)
        for d in xrefs.XREF_DEF_RE.finditer((included or {}).get(item, "")):
            inv.add(_DEF_KINDS[d.group(1).split("-")[0]], d.group(1), 0)
    return inv


def inventory(text: str, included: Mapping[str, str] | None = None) -> Inventory:
    """The claims, values, figures, tables, sections and references of one edition's text.
    `included`: the text of each included file by its name as written (tables defined there)."""
    return replay(events(text), included)


def english_record(english: Path) -> dict:
    """English's part of every parity check, written when the Snakefile parses (rule check_parity
    reads it instead of the text): its name and :func:`events`. A reworded sentence leaves it as
    it is, so editing English checks the editions again only when what they must match moved."""
    return {
        "english": _name(Path(english)),
        "events": [list(e) for e in events(Path(english).read_text(encoding="utf-8"))],
    }


def record_text(english: Path) -> str:
    """:func:`english_record` as its file holds it (``data/processed/parity.en.json``)."""
    import json

    return json.dumps(english_record(english), ensure_ascii=False, indent=1) + "\n"


def table_item(name: str) -> str:
    """An included file as parity compares it: an edition's own tables count as English's
    ("_generated/lt/levels.md" -> "_generated/levels.md")."""
    return _LANG_DIR_RE.sub(r"\1_generated/", name)


def generated_key(name: str) -> str:
    """The key of an included file among the generated tables ("_generated/lt/levels.md" ->
    "lt/levels.md"; as ``belmig.report.build.read_generated`` keys them)."""
    parts = Path(name).parts
    return "/".join(parts[parts.index("_generated") + 1 :]) if "_generated" in parts else Path(name).name


@dataclass(frozen=True)
class TableProblem:
    """An edition's generated tables lack a table English has, or print English words."""

    what: str  # "file", "table" or "words"
    item: str
    file: str  # the edition's generated file ("lt/levels.md")
    edition: str

    def __str__(self) -> str:
        if self.what == "file":
            return f"{self.edition}: lacks the generated table file _generated/{self.file} (English has {self.item})"
        if self.what == "table":
            return f"{self.edition}: _generated/{self.file} lacks the table {self.item!r} that English has"
        if self.what == "foreign":
            own = f"_generated/{self.file}" if self.file else "the English tables in _generated/"
            return f"{self.edition}:{self.item}: includes another edition's table; include {own}"
        return f"{self.edition}: _generated/{self.file} is not translated: it says {self.item!r} as English does"


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def table_words(md: str) -> set[str]:
    """The reader-facing words of generated tables: captions, column headers, and the row labels
    (first column) that are words, not numbers or code."""
    out = {m.group(1).strip() for m in _CAPTION_RE.finditer(md)}
    lines = md.splitlines()
    for i, ln in enumerate(lines):
        if not ln.startswith("|"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]]
        header = i + 1 < len(lines) and re.fullmatch(r"\|[\s|:-]+\|?", lines[i + 1].strip() or "x") is not None
        if re.fullmatch(r"\|[\s|:-]+\|?", ln.strip()):
            continue
        if header:
            out |= set(cells)
        elif cells and " " in cells[0] and not cells[0].startswith("`"):
            out.add(cells[0])
    return {w for w in out if _letters(w) >= 3}


def foreign_includes(text: str, lang: str, edition_name: str = "edition") -> list[TableProblem]:
    """Generated tables an edition includes from another edition's folder (English's
    ``_generated/frame.md`` in the Lithuanian text printed an English table in its PDF, and
    parity, which counts an edition's tables as English's, took it for the right one)."""
    out = []
    for m in _INCLUDE_RE.finditer(text):
        name = m.group(1)
        if "_generated/" not in name:
            continue
        key = generated_key(name)
        own = key.startswith(f"{lang}/") if lang != "en" else "/" not in key
        if not own:
            file = key if lang == "en" else f"{lang}/{key.split('/', 1)[-1]}"
            line = line_of(text, m.start())
            out.append(TableProblem("foreign", f"{line}: {name}", "" if lang == "en" else file, edition_name))
    return out


def generated_problems(generated: Mapping[str, str], lang: str, edition_name: str = "edition") -> list[TableProblem]:
    """What the edition `lang`'s generated tables (``<lang>/<name>.md`` in `generated`, English's
    ``<name>.md``) lack of English's, and the English captions, headers and row labels they still print."""
    out: list[TableProblem] = []
    for name, en_md in sorted(generated.items()):
        if "/" in name:
            continue
        key = f"{lang}/{name}"
        if key not in generated:
            out.append(TableProblem("file", f"_generated/{name}", key, edition_name))
            continue
        ed_md = generated[key]
        ed_ids = {d.group(1) for d in xrefs.XREF_DEF_RE.finditer(ed_md)}
        for d in xrefs.XREF_DEF_RE.finditer(en_md):
            if d.group(1) not in ed_ids:
                out.append(TableProblem("table", d.group(1), key, edition_name))
        english = table_words(en_md)
        out += [TableProblem("words", w, key, edition_name) for w in sorted(table_words(ed_md) & english)]
    return out


def compare_texts(
    english: str,
    edition: str,
    *,
    english_name: str = "report/report.qmd",
    edition_name: str = "edition",
    included: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every claim, value, figure, table, section and reference one text has and the other lacks."""
    return compare_inventories(inventory(english, included), inventory(edition, included), english_name, edition_name)


def compare_inventories(en: Inventory, ed: Inventory, english_name: str, edition_name: str) -> list[Problem]:
    """:func:`compare_texts` of two inventories (English's, the edition's)."""
    out: list = []
    for kind in KINDS:
        a, b = en.items[kind], ed.items[kind]
        out += [Problem(kind, k, True, a[k], edition_name, english_name) for k in a if k not in b]
        out += [Problem(kind, k, False, b[k], edition_name, english_name) for k in b if k not in a]
    for kind in COUNTED:
        na = Counter(k for k, _ in en.uses[kind])
        nb = Counter(k for k, _ in ed.uses[kind])
        for k in na:
            if k in nb and na[k] != nb[k]:
                out.append(UseProblem(kind, k, na[k], nb[k], ed.items[kind][k], edition_name, english_name))
    ca, cb = [k for k, _ in en.uses["claim"]], ed.uses["claim"]
    if Counter(ca) == Counter(k for k, _ in cb):
        for i, (x, (y, line)) in enumerate(zip(ca, cb, strict=True), 1):
            if x != y:
                out.append(UseProblem("claim", y, i, i, line, edition_name, english_name, order=True, expected=x))
                break
    return out


def _name(p: Path) -> str:
    from belmig.core import paths

    return paths.shown(p)


def included_texts(qmd: Path, generated: Mapping[str, str] | None = None) -> dict[str, str]:
    """The files `qmd` includes, by name as written (generated tables from `generated` by
    :func:`generated_key` when given, else from disk; a missing file counts as empty)."""
    qmd = Path(qmd)
    names = [m.group(1) for m in _INCLUDE_RE.finditer(qmd.read_text(encoding="utf-8"))]
    return _included(names, qmd.parent, generated)


def _included(names: Iterable[str], base: Path, generated: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for name in names:
        key = generated_key(name)
        if generated is not None and key in generated:
            out[name] = generated[key]
        elif (base / name).is_file():
            out[name] = (base / name).read_text(encoding="utf-8")
    return out


def compare(
    english: Path, edition: Path, generated: Mapping[str, str] | None = None, english_events: Mapping | None = None
) -> list:
    """Parity problems of the edition file `edition` against the English file `english`; with
    `generated` (every language's tables, ``belmig.report.build.read_generated``), those of its
    generated tables too (:func:`generated_problems`). `english_events`: English's
    :func:`english_record`, read instead of the text."""
    from belmig.core import paths
    from belmig.report import editions

    if english_events is None:
        english_events, en_base = english_record(english), Path(english).parent
    else:
        en_base = (paths.ROOT / english_events["english"]).parent
    en_events = english_events["events"]
    en_includes = _included((item for kind, item, _ in en_events if kind == "include"), en_base, generated)
    included = {**en_includes, **included_texts(edition, generated)}
    text = Path(edition).read_text(encoding="utf-8")
    out: list = compare_inventories(
        replay(en_events, included), inventory(text, included), english_events["english"], _name(edition)
    )
    from belmig.report import render

    lang = editions.lang_of(render.front_matter(text).get("lang"))
    out += foreign_includes(text, lang, _name(edition))
    if generated and lang != "en":
        out += generated_problems(generated, lang, _name(edition))
    return out


def format_problems(
    problems: Sequence[Problem | TableProblem], english: Path | str = "", edition: Path | str = ""
) -> str:
    head = f"{edition or 'edition'}: {len(problems)} parity problem(s) against {english or 'English'}:"
    return "\n".join([head, *(str(p) for p in problems)])


def read_generated(generated_dir: Path) -> dict[str, str]:
    """Every generated table file below `generated_dir`, by :func:`generated_key` ("lt/levels.md")."""
    d = Path(generated_dir)
    return {p.relative_to(d).as_posix(): p.read_text(encoding="utf-8") for p in sorted(d.rglob("*.md"))}


def check_editions(
    english: Path, editions_: Iterable[Path], generated_dir: Path | None = None, english_events: Mapping | None = None
) -> list:
    """Parity problems of every edition (``make check``); generated tables from `generated_dir`;
    `english_events`: English's :func:`english_record` (read instead of `english`)."""
    gen = None
    if generated_dir is not None and Path(generated_dir).is_dir():
        gen = read_generated(generated_dir)
    out: list = []
    for ed in editions_:
        out += compare(english, ed, gen, english_events)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.report.parity ENGLISH.qmd EDITION.qmd [...] [--generated DIR] [--out F]``,
    or ``python -m belmig.report.parity --english-events RECORD EDITION.qmd [...]`` (rule
    check_parity: English's :func:`english_record`, written when the Snakefile parses, instead of
    its text): exit status 1 and the problems on stderr when an edition lacks a claim, value,
    figure, table or reference English has, or has one English lacks; with --out, a record of the
    check (written only when it passes)."""
    import argparse
    import json

    from belmig.core import atomic

    ap = argparse.ArgumentParser(prog="python -m belmig.report.parity")
    ap.add_argument(
        "texts", type=Path, nargs="+", help="English's text, then the editions' (only those with --english-events)"
    )
    ap.add_argument("--english-events", type=Path, help="English's record (belmig.report.parity.english_record)")
    ap.add_argument("--generated", type=Path, help="the appendix tables (report/_generated)")
    ap.add_argument("--out", type=Path, help="a JSON record of the passed check")
    a = ap.parse_args(argv)
    english_events = None
    if a.english_events is not None:
        english_events = json.loads(a.english_events.read_text(encoding="utf-8"))
        if not isinstance(english_events, dict) or set(english_events) != {"english", "events"}:
            ap.error(f"{a.english_events}: not a record of belmig.report.parity.english_record")
        english, eds = Path(english_events["english"]), a.texts
    elif len(a.texts) < 2:
        ap.error("name English's text and at least one edition's")
    else:
        english, eds = a.texts[0], a.texts[1:]
    failed = 0
    record = {"english": _name(english), "editions": {}}
    for ed in eds:
        problems = check_editions(english, [ed], a.generated, english_events)
        if problems:
            print(format_problems(problems, _name(english), _name(ed)), file=sys.stderr)
        else:
            print(f"{_name(ed)}: parity ok")
        record["editions"][_name(ed)] = "ok" if not problems else f"{len(problems)} problem(s)"
        failed += bool(problems)
    if a.out is not None and not failed:
        atomic.write_text(a.out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
