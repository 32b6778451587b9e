"""The report text as the checks see it: the :class:`Problem` they report, masking (front
matter, code, comments, markup blanked with offsets kept), the sentence around an offset, and
"did you mean" suggestions. Used by numbercheck, claimcheck, keycheck and xrefs (belmig.report.checks
runs them all)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DEFAULT_SOURCE = "report/report.qmd"

# ----------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """One thing wrong with the report text."""

    kind: (
        str  # number | number-words | claim | claim-error | claim-words | unguarded | missing-key | key-grammar | xref
    )
    line: int
    message: str
    sentence: str = ""
    number: str | None = None
    condition: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    source: str = DEFAULT_SOURCE

    def __str__(self) -> str:
        out = [f"{self.source}:{self.line}: {self.message}"]
        if self.sentence:
            out.append(f"    sentence:  {self.sentence}")
        if self.condition is not None:
            out.append(f"    condition: {self.condition}")
        if self.values:
            vals = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.values.items())
            out.append(f"    values:    {vals}")
        return "\n".join(out)


def _fmt(v: Any) -> str:
    if v is None:
        return "(not in the ledger)"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# ----------------------------------------------------------------------------- masking
#
# Masking replaces a region by spaces (newlines are kept), so offsets and line numbers of the
# masked text are those of the original.

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.S | re.M)
COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
SHORTCODE_RE = re.compile(r"\{\{[<%].*?[>%]\}\}", re.S)
INLINE_CODE_RE = re.compile(r"(`+)(?!`).+?(?<!`)\1")
LINK_TARGET_RE = re.compile(r"\]\([^)\n]*\)")
AUTOLINK_RE = re.compile(r"<(?:https?|ftp|mailto):[^>\s]+>")
BARE_URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s)>\]]+")
ATTR_RE = re.compile(r"\{[^{}\n]*\}")
CROSSREF_RE = re.compile(r"(?<![\w@])-?@[A-Za-z][\w:-]*[\w]")
FOOTNOTE_RE = re.compile(r"\[\^[^\]\s]+\]")
LIST_MARKER_RE = re.compile(r"^([ \t]*)(\d+)([.)])(?=[ \t])", re.M)
DIV_FENCE_RE = re.compile(r"^[ \t]*:{3,}[^\n]*$", re.M)
HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>\n]*>")
HEADING_LINE_RE = re.compile(r"^#{1,6}[ \t]")
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")

# A claim span: [text]{... .claim ... when="condition"}. The text may run over several lines
# of one paragraph and contain shortcodes, but no square brackets.
SPAN_RE = re.compile(r"(?<!!)\[(?P<text>[^\[\]]*?)\]\{(?P<attrs>[^{}]*)\}")
CLASS_RE = re.compile(r"(?:^|\s)\.([A-Za-z][\w-]*)")
WHEN_RE = re.compile(r"""(?:^|\s)when\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""")


_NOT_NEWLINE_RE = re.compile(r"[^\n]")


def blank(text: str, start: int, end: int) -> str:
    return text[:start] + _NOT_NEWLINE_RE.sub(" ", text[start:end]) + text[end:]


def mask_all(text: str, pattern: re.Pattern, group: int | str = 0) -> str:
    """`text` with every match of `pattern` (its `group`) blanked, line breaks and offsets kept.
    One pass: the matches do not overlap and come in order (the text is copied once, not once
    per match: the report's ~160 KB and its hundreds of shortcodes made that most of a check)."""
    out = []
    pos = 0
    for m in pattern.finditer(text):
        start, end = m.span(group)
        if start < 0:
            continue
        out.append(text[pos:start])
        out.append(_NOT_NEWLINE_RE.sub(" ", text[start:end]))
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


@lru_cache(maxsize=8)
def mask_non_text(text: str) -> str:
    """The text with front matter, code blocks and HTML comments blanked (offsets kept). Kept for
    the last few texts: a check of the report asks for the same text's masks a dozen times."""
    m = FRONT_MATTER_RE.match(text)
    if m:
        text = blank(text, 0, m.end())
    text = mask_all(text, FENCE_RE)
    text = mask_all(text, COMMENT_RE)
    return text


@lru_cache(maxsize=8)
def mask_markup(text: str) -> str:
    """Only the prose remains: everything that is markup, a reference or a path is blanked (kept
    as :func:`mask_non_text` is)."""
    text = mask_non_text(text)
    text = mask_all(text, SHORTCODE_RE)  # {{< var … >}}, {{< include … >}}
    text = mask_all(text, INLINE_CODE_RE)
    text = mask_all(text, AUTOLINK_RE)
    text = mask_all(text, LINK_TARGET_RE)  # ](url), image paths
    text = mask_all(text, BARE_URL_RE)
    text = mask_all(text, ATTR_RE)  # {#fig-x}, {.claim when="…"}, {#sec-…}
    text = mask_all(text, DIV_FENCE_RE)
    text = mask_all(text, FOOTNOTE_RE)  # [^1] markers and definitions
    text = mask_all(text, CROSSREF_RE)  # @fig-chart01, @sec-methods, @tbl-audit
    text = _mask_list_markers(text)  # "1. " of ordered lists
    text = mask_all(text, HTML_TAG_RE)
    return text


def _mask_list_markers(text: str) -> str:
    """Blank the numbers of ordered-list markers: a marker after a blank line (or at the start),
    or inside a list (its items and their indented continuation lines). A line of a paragraph
    that starts "41. " is no list item (pandoc prints "41." in the text: a list cannot
    interrupt a paragraph), so its number stays prose."""
    out, prev_blank, in_list = [], True, False
    for line in text.split("\n"):
        m = LIST_MARKER_RE.match(line)
        if not line.strip():
            prev_blank = True
        else:
            if m and (prev_blank or in_list):
                line = line[: m.start(2)] + " " * (m.end(2) - m.start(2)) + line[m.end(2) :]
                in_list = True
            elif prev_blank and not line[:1].isspace():
                in_list = False  # a paragraph after the list ends it
            prev_blank = False
        out.append(line)
    return "\n".join(out)


def line_of(text: str, offset: int) -> int:
    """The 1-based line of `offset` (a bisection over the text's line starts, found once per text:
    a check asks for hundreds of lines of the same 160 KB)."""
    return bisect.bisect_right(_line_starts(text), max(0, offset))


_CLAIM_ATTR_RE = re.compile(r"\]\{[^{}]*\.claim\b[^{}]*\}")
_SENTENCE_END_RE = re.compile(r"[.!?][\"'”’)\]*_]*(?=\s)")


def _is_break_line(line: str) -> bool:
    """A line that separates paragraphs: blank, heading, fenced div, horizontal rule."""
    t = line.strip()
    return not t or t.startswith(":::") or bool(HEADING_LINE_RE.match(t)) or t in ("---", "***", "___")


@lru_cache(maxsize=8)
def _line_starts(text: str) -> tuple[int, ...]:
    """Offsets where the lines of `text` start (once per text: every problem asks for its sentence)."""
    return (0, *(m.end() for m in re.finditer(r"\n", text)))


def _paragraph_bounds(text: str, offset: int) -> tuple[int, int]:
    starts = _line_starts(text)
    idx = bisect.bisect_right(starts, offset) - 1

    def line(i: int) -> str:
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(text)
        return text[starts[i] : end]

    lo = idx
    if not _is_break_line(line(idx)):
        while lo > 0 and not _is_break_line(line(lo - 1)):
            lo -= 1
    hi = idx
    if not _is_break_line(line(idx)):
        while hi + 1 < len(starts) and not _is_break_line(line(hi + 1)):
            hi += 1
    end = starts[hi + 1] - 1 if hi + 1 < len(starts) else len(text)
    return starts[lo], end


def sentence_at(text: str, offset: int, limit: int = 300) -> str:
    """The sentence of the original text around `offset`, whitespace collapsed."""
    para_start, para_end = _paragraph_bounds(text, offset)
    s_start = para_start
    for m in _SENTENCE_END_RE.finditer(text, para_start, offset):
        s_start = m.end()
    m = _SENTENCE_END_RE.search(text, offset, para_end)
    s_end = m.end() if m else para_end
    sentence = " ".join(text[s_start:s_end].split())
    sentence = _CLAIM_ATTR_RE.sub("]", sentence)  # the condition is reported separately
    if len(sentence) > limit:
        sentence = sentence[: limit - 1] + "…"
    return sentence


def suggest(key: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The nearest existing keys (difflib), for "did you mean" messages."""
    import difflib

    known = list(known)
    near = difflib.get_close_matches(key, known, n=n, cutoff=0.75)
    if not near:  # same family and question, another option
        prefix = ".".join(key.split(".")[:-1]) + "."
        near = sorted(k for k in known if k.startswith(prefix))[:n]
    return near
