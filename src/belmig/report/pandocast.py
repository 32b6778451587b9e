"""The report's pandoc AST, cached by top-level section, and pandoc's self-contained HTML step.

``make preview`` re-renders on every save; most of a save's pandoc time was the Markdown reader
on the whole text (~0.3 s) and ``--embed-resources`` re-reading and re-serialising the page
(~0.3 s). :class:`SectionCache` splits the text at its top-level (``#``) headers and converts only
the sections whose text changed (markdown → JSON AST, keyed by the section's text); the ASTs are
concatenated and pandoc's writer (with the Lua filter) runs once on the whole document, so
numbering, the contents and footnotes are global as before. :func:`self_contained` does what
``--embed-resources`` does to the report's page (the stylesheet inlined, tags re-serialised,
``role="img"`` on embedded images) in Python.

Both are speed-ups only: the bytes are pandoc's own (tests/test_preview_fast.py compares them on
all three editions). What the cache cannot reproduce it declines, and the caller converts the
whole text: footnote definitions are handed to every section that refers to them; a duplicate
header identifier (pandoc would have numbered it ``-1``), example lists (``(@)``, numbered across
the text) or a reference link whose definition is in another section fall back to the whole
text. :func:`self_contained` returns None (use pandoc's ``--embed-resources``) for a page with
anything else to embed (scripts, stylesheet URLs, images that are not data: URIs).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor


class PandocError(RuntimeError):
    pass


_COMPACT = (",", ":")  # the JSON as pandoc writes it: no spaces for its reader to skip
_FENCE_RE = re.compile(r"^(`{3,}|~{3,})")
_DIV_RE = re.compile(r"^:{3,}")
_HEADER_RES = {d: re.compile(r"^#{1," + str(d) + "} ") for d in range(1, 7)}
_FRONT_RE = re.compile(r"^---\n.*?\n---\n", re.S)
_CAPTION_RE = re.compile(r"(?:[Tt]able)?:\s")  # a table's caption paragraph (pandoc's table_captions)
# A footnote definition: its first line and indented (or blank-then-indented) continuation lines.
_NOTE_DEF_RE = re.compile(r"^\[\^([^\]\s]+)\]:[^\n]*(?:\n(?:[ \t]*\n)*(?:    |\t)[^\n]*)*", re.M)
_NOTE_REF_RE = re.compile(r"\[\^([^\]\s]+)\](?!:)")
_REF_DEF_RE = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s", re.M)
_EXAMPLE_RE = re.compile(r"^\s*\(@[\w-]*\)\s", re.M)


def split_sections(markdown: str, depth: int = 1) -> list[str] | None:
    """The text cut before every top-level ``# `` header (`depth` 2: ``## `` too…; outside code,
    divs and comments); section 0 is the front matter and whatever precedes the first header. None
    when the text uses something that does not survive the cut (see the module's docstring)."""
    cut = _cut(markdown, depth, after_tables=False)
    return None if cut is None else cut[0]


def _cut(markdown: str, depth: int, after_tables: bool) -> tuple[list[str], list[bool]] | None:
    """The sections, and for each whether it starts after a captioned table (`after_tables`: at
    the blank line after a pipe table, a blank line and its caption paragraph; pandoc gives a
    caption there to the table before it, so what follows reads the same alone)."""
    header = _HEADER_RES[depth]
    if _REF_DEF_RE.search(markdown) or _EXAMPLE_RE.search(markdown):
        return None
    lines = markdown.split("\n")
    front = _FRONT_RE.match(markdown)
    start = front.group(0).count("\n") if front else 0
    cuts = [0]
    after = [False]
    fence: str | None = None
    divs = 0
    comment = False
    prev_blank = True
    kinds = ("", "")  # the two top-level blocks before this one: "table", "caption" or "other"
    kind = ""  # this block's
    for i in range(start, len(lines)):
        line = lines[i]
        blank = not line.strip()
        if comment:
            comment = "-->" not in line
            kind = "other"
        elif fence is not None:
            if line.startswith(fence) and not line[len(fence) :].strip():
                fence = None
        elif m := _FENCE_RE.match(line):
            fence = m.group(1)
            kind = "other"
        elif _DIV_RE.match(line):
            divs = divs + 1 if line.strip(": \t") else max(0, divs - 1)
            kind = "other"
        elif line.lstrip().startswith("<!--") and "-->" not in line:
            comment = True
            kind = "other"
        elif blank:
            if kind:
                kinds, kind = (kinds[1], kind), ""
                if after_tables and divs == 0 and kinds == ("table", "caption"):
                    cuts.append(i)  # the blank line after the caption starts the next section
                    after.append(True)
        elif divs == 0 and prev_blank and header.match(line):
            cuts.append(i)
            after.append(False)
            kinds, kind = ("", ""), "other"
        elif prev_blank:  # a block starts
            kind = "table" if line.startswith("|") else "caption" if _CAPTION_RE.match(line) else "other"
            kind = kind if divs == 0 else "other"
        elif kind == "table" and not line.startswith("|"):
            kind = "other"
        prev_blank = blank
    if fence is not None or comment:
        return None
    cuts.append(len(lines))
    sections = ["\n".join(lines[a:b]) + ("\n" if b < len(lines) else "") for a, b in zip(cuts, cuts[1:], strict=False)]
    return sections, after


def _with_notes(sections: list[str]) -> list[str]:
    """Every section without its footnote definitions, followed by the definitions it refers to."""
    defs: dict[str, str] = {}
    bare = []
    for s in sections:
        for m in _NOTE_DEF_RE.finditer(s):
            defs.setdefault(m.group(1), m.group(0))
        bare.append(_NOTE_DEF_RE.sub("", s))
    out = []
    for s in bare:
        used = dict.fromkeys(m.group(1) for m in _NOTE_REF_RE.finditer(s) if m.group(1) in defs)
        out.append(s + "".join("\n\n" + defs[k] + "\n" for k in used) if used else s)
    return out


def sections_of(markdown: str, depth: int = 1) -> list[str] | None:
    """The text's sections (:func:`split_sections`) as each is read alone (the footnotes each
    refers to appended), or None when the text must be read whole."""
    sections = split_sections(markdown, depth)
    return None if sections is None else _with_notes(sections)


def sections_after_tables(markdown: str, depth: int) -> tuple[list[str], list[bool]] | None:
    """:func:`sections_of`, cut also after each captioned pipe table; with each section, whether
    it starts after one (the reader of the sections checks that pandoc saw a captioned table
    end the section before: belmig.report.pandocd)."""
    cut = _cut(markdown, depth, after_tables=True)
    return None if cut is None else (_with_notes(cut[0]), cut[1])


class _Section:
    """One section's blocks, what it numbers (headers' ids; notes and citations: pandoc numbers
    every citation by a counter that notes and citations share, ``citationNoteNum``), and its JSON
    text for the number it was last given."""

    def __init__(self, meta: object, blocks: list):
        self.meta = meta
        self.blocks = blocks
        self.ids: list[str] = []
        self.cites: list[tuple[dict, int]] = []  # the citation and its number within the section
        self.notes = 0
        self.groups = 0
        self.ok = True
        self._walk(blocks, False)
        self.count = self.notes + self.groups  # how far the section moves pandoc's counter
        self.offset: int | None = None
        self.text = ""

    def _walk(self, node, in_note: bool) -> None:
        if isinstance(node, list):
            for v in node:
                self._walk(v, in_note)
            return
        if not isinstance(node, dict):
            return
        t = node.get("t")
        if t == "Header":
            self.ids.append(node["c"][1][0])
        elif t == "Note":
            if in_note:
                self.ok = False
            self.notes += 1
            self._walk(node["c"], True)
            return
        elif t == "Cite":
            if in_note or len(node["c"][0]) != 1:  # not seen in the report: let pandoc number them
                self.ok = False
            self.groups += 1
            for c in node["c"][0]:
                self.cites.append((c, c["citationNoteNum"]))
        for v in node.values():
            self._walk(v, in_note)

    def json(self, offset: int) -> str:
        if offset != self.offset:
            for c, local in self.cites:
                c["citationNoteNum"] = local + offset
            self.text = json.dumps(self.blocks, ensure_ascii=False, separators=_COMPACT)[1:-1]
            self.offset = offset
        return self.text


class SectionCache:
    """markdown → pandoc's JSON AST, re-reading only the sections whose text changed.

    `pandoc`: the pandoc binary; `reader`: the reader's options (``--from=markdown``). Safe to
    use from two threads (the HTML and the PDF share the sections they have in common)."""

    def __init__(self, pandoc: str, reader: Sequence[str] = ("--from=markdown",), max_entries: int = 400):
        self.pandoc = pandoc
        self.reader = list(reader)
        self.max_entries = max_entries
        self._sections: dict[str, _Section] = {}
        self._api: list | None = None
        self._lock = threading.Lock()
        self.converted = 0  # sections read by pandoc (cold: whole texts count once), for tests

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def whole(self, markdown: str) -> str:
        """The whole text's AST as pandoc writes it (no cache)."""
        cmd = [self.pandoc, *self.reader, "--to=json"]
        proc = subprocess.run(cmd, input=markdown, capture_output=True, text=True, encoding="utf-8")
        if proc.returncode != 0:
            raise PandocError(f"pandoc failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def _read(self, markdown: str) -> dict:
        return json.loads(self.whole(markdown))

    def document(self, markdown: str) -> str:
        """The JSON AST of `markdown` (what ``pandoc --to=json`` gives for the whole text)."""
        sections = sections_of(markdown)
        if sections is None:
            return self.whole(markdown)
        keys = [self._key(s) for s in sections]
        with self._lock:
            missing = [i for i, k in enumerate(keys) if k not in self._sections]
        if len(missing) > max(2, len(keys) // 3):  # cold: one reader run, cut at the level-1 headers
            doc = self._read(markdown)
            parts = self._cut(doc["blocks"], len(sections))
            if parts is None:
                return json.dumps(doc, ensure_ascii=False, separators=_COMPACT)
            self.converted += 1
            new = {}
            offset = 0
            for i, (k, blocks) in enumerate(zip(keys, parts, strict=True)):
                sec = _Section(doc["meta"] if i == 0 else None, blocks)
                for c, n in sec.cites:  # the section's own numbers, as if it were read alone
                    c["citationNoteNum"] = n - offset
                sec.cites = [(c, c["citationNoteNum"]) for c, _ in sec.cites]
                offset += sec.count
                new[k] = sec
            with self._lock:
                self._api = doc["pandoc-api-version"]
                self._sections.update(new)
        elif missing:
            with ThreadPoolExecutor(max_workers=min(2, len(missing))) as pool:
                docs = list(pool.map(self._read, [sections[i] for i in missing]))
            self.converted += len(missing)
            with self._lock:
                for i, doc in zip(missing, docs, strict=True):
                    self._api = doc["pandoc-api-version"]
                    self._sections[keys[i]] = _Section(doc["meta"] if i == 0 else None, doc["blocks"])
        with self._lock:
            secs = [self._sections[k] for k in keys]
            ids = [i for s in secs for i in s.ids]
            if not all(s.ok for s in secs) or len(ids) != len(set(ids)):
                # pandoc would have numbered a repeated id, or notes and citations it numbers
                # differently: read it whole
                return self.whole(markdown)
            bodies = []
            offset = 0
            for s in secs:
                text = s.json(offset)
                offset += s.count
                if text:
                    bodies.append(text)
            api = self._api
            if len(self._sections) > self.max_entries:  # keep the ones in use
                self._sections = dict(zip(keys, secs, strict=True))
            return (
                '{"pandoc-api-version":'
                + json.dumps(api, separators=_COMPACT)
                + ',"meta":'
                + json.dumps(secs[0].meta, ensure_ascii=False, separators=_COMPACT)
                + ',"blocks":['
                + ",".join(bodies)
                + "]}"
            )

    @staticmethod
    def _cut(blocks: list, n: int) -> list[list] | None:
        """The blocks of the whole text in `n` runs, each starting at a level-1 header."""
        starts = [i for i, b in enumerate(blocks) if b.get("t") == "Header" and b["c"][0] == 1]
        if len(starts) != n - 1:
            return None
        bounds = [0, *starts, len(blocks)]
        return [blocks[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


# --- --embed-resources, for the report's page -------------------------------------------------

_CSS_TOKEN_RE = re.compile(r"/\*.*?\*/|\s+", re.S)
_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:-]*)([^<>]*?)(/?)>", re.S)
_ATTR_RE = re.compile(r'\s+([^\s="/>]+)="([^"]*)"')
_RAW_RE = re.compile(r"(<(script|style)\b[^>]*>)(.*?)(</\2>)|<!--.*?-->", re.S | re.I)
# A tag TagSoup writes back as it is: one line, attributes `name="value"` one space apart, no image.
_PLAIN_TAG_RE = re.compile(r'</?(?!img\b)[A-Za-z][\w:-]*(?: [^\s="/>]+="[^"\n]*")*(?: /)?>')
_ENTITY_RE = re.compile(r"&(?!(?:lt|gt|amp);)")


def embed_css(css: str) -> str:
    """A stylesheet as ``--embed-resources`` puts it in the page: comments dropped, each run of
    white space reduced to its first character."""
    return _CSS_TOKEN_RE.sub(lambda m: "" if m.group(0).startswith("/*") else m.group(0)[0], css)


def _tag(m: re.Match) -> str | None:
    close, name, attrs, slash = m.groups()
    pairs = _ATTR_RE.findall(attrs)
    if _ATTR_RE.sub("", attrs).strip():  # an attribute without a quoted value: not ours to redo
        return None
    if name == "img":
        d = dict(pairs)
        if not d.get("src", "").startswith("data:"):
            return None
        if "alt" in d and "aria-label" not in d:
            pairs = [("role", "img"), ("aria-label", d["alt"]), *pairs]
    return "<" + close + name + "".join(f' {k}="{v}"' for k, v in pairs) + (" />" if slash else ">")


def self_contained(html: str, stylesheet_href: str, stylesheet: str) -> str | None:
    """`html` (pandoc's standalone page linking `stylesheet_href` once) as ``--embed-resources``
    writes it; None when the page has something this does not handle."""
    if _ENTITY_RE.search(html) or "url(" in stylesheet or "@import" in stylesheet:
        return None
    link = f'<link rel="stylesheet" href="{stylesheet_href}" />'
    if html.count(link) != 1 or html.count("<link") != 1:
        return None
    out: list[str] = []
    failed = False

    def sub(m: re.Match) -> str:
        nonlocal failed
        if _PLAIN_TAG_RE.fullmatch(m.group(0)):  # already as TagSoup writes it
            return m.group(0)
        t = _tag(m)
        if t is None:
            failed = True
            return m.group(0)
        return t

    pos = 0
    for m in _RAW_RE.finditer(html):
        out.append(_TAG_RE.sub(sub, html[pos : m.start()]))
        if m.group(2) is None:  # a comment, as it is
            out.append(m.group(0))
        elif m.group(2).lower() == "style":
            out.append(_TAG_RE.sub(sub, m.group(1)) + embed_css(m.group(3)) + m.group(4))
        else:
            return None
        pos = m.end()
    out.append(_TAG_RE.sub(sub, html[pos:]))
    if failed:
        return None
    page = "".join(out)
    return page.replace(link, '<style type="text/css">' + embed_css(stylesheet) + "</style>", 1)
