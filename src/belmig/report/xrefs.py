"""Cross-references (``@fig-…``, ``@tbl-…``, ``@sec-…``): a reference to nothing is an error, a
figure, table or sub-section nothing refers to is a warning."""

from __future__ import annotations

import re
from collections.abc import Mapping

from belmig.report.prose import (
    DEFAULT_SOURCE,
    INLINE_CODE_RE,
    SHORTCODE_RE,
    Problem,
    line_of,
    mask_all,
    mask_non_text,
    sentence_at,
    suggest,
)

# ----------------------------------------------------------------------------- cross-references

XREF_DEF_RE = re.compile(r"\{#((?:fig|tbl|sec)-[\w:-]*\w)[\s}]")
XREF_USE_RE = re.compile(r"(?<![\w@])-?@((?:fig|tbl|sec)-[\w:-]*\w)")
_HEADING_ID_RE = re.compile(r"^(#{1,6})[ \t].*\{#(sec-[\w:-]*\w)[^}]*\}[ \t]*$", re.M)
_KINDS = {"fig": "figure", "tbl": "table", "sec": "section"}
_ANCHOR_LINK_RE = re.compile(r"\]\(#([\w:.-]+)\)")
_ANY_ID_RE = re.compile(r"\{#([\w:.-]+)[\s}]")


def crossref_problems(
    qmd_text: str, included: Mapping[str, str] | None = None, source: str = DEFAULT_SOURCE
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings): a reference to a figure, table or section that does not exist is an
    error at its line; a figure, table or sub-section nothing refers to is a warning
    (top-level sections are reached from the table of contents). `included`: text of the
    files the report includes (generated tables), whose ids count as defined."""
    text = mask_non_text(qmd_text)
    defined: dict[str, int] = {}
    for m in XREF_DEF_RE.finditer(text):
        defined.setdefault(m.group(1), line_of(qmd_text, m.start()))
    for inc in (included or {}).values():
        for m in XREF_DEF_RE.finditer(inc):
            defined.setdefault(m.group(1), 0)
    top = {m.group(2) for m in _HEADING_ID_RE.finditer(text) if len(m.group(1)) == 1}
    used: dict[str, int] = {}
    errors = []
    prose = mask_all(mask_all(text, INLINE_CODE_RE), SHORTCODE_RE)
    for m in XREF_USE_RE.finditer(prose):
        rid, line = m.group(1), line_of(qmd_text, m.start())
        used.setdefault(rid, line)
        if rid not in defined:
            kind = _KINDS[rid.split("-")[0]]
            near = suggest(rid, [d for d in defined if d.startswith(rid.split("-")[0] + "-")])
            errors.append(
                Problem(
                    "xref",
                    line,
                    f"@{rid} refers to a {kind} that does not exist"
                    + (f" (did you mean {', '.join('@' + n for n in near)}?)" if near else ""),
                    sentence=sentence_at(qmd_text, m.start()),
                    source=source,
                )
            )
    # a Markdown link to an anchor of the page ("[pav.](#fig-chart55)") must land somewhere too
    anchors = set(defined) | {m.group(1) for m in _ANY_ID_RE.finditer(text)}
    for inc in (included or {}).values():
        anchors |= {m.group(1) for m in _ANY_ID_RE.finditer(inc)}
    for m in _ANCHOR_LINK_RE.finditer(mask_all(text, INLINE_CODE_RE)):
        rid = m.group(1)
        used.setdefault(rid, line_of(qmd_text, m.start()))
        if rid not in anchors:
            near = suggest(rid, sorted(anchors))
            errors.append(
                Problem(
                    "xref",
                    line_of(qmd_text, m.start()),
                    f"the link to #{rid} leads nowhere: nothing has that id"
                    + (f" (did you mean {', '.join('#' + n for n in near)}?)" if near else ""),
                    sentence=sentence_at(qmd_text, m.start()),
                    source=source,
                )
            )
    warnings = []
    for rid, line in defined.items():
        if rid in used or rid in top:
            continue
        kind = _KINDS[rid.split("-")[0]]
        where = f"{kind} {{#{rid}}}" + ("" if line else " (generated table)")
        warnings.append(Problem("xref-unused", line, f"{where} is never referred to (@{rid})", source=source))
    return errors, warnings
