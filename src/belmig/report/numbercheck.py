"""Digits typed into the prose (the number lint, with the allowlist of
``report/number-allowlist.yaml``) and numbers written in words. Every number the report prints
comes from the value ledger (``{{< var key >}}``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from belmig.report.prose import (
    DEFAULT_SOURCE,
    FRONT_MATTER_RE,
    INLINE_CODE_RE,
    NUMBER_RE,
    SHORTCODE_RE,
    Problem,
    line_of,
    mask_all,
    mask_markup,
    mask_non_text,
    sentence_at,
)

# ----------------------------------------------------------------------------- allowlist


@dataclass(frozen=True)
class AllowRule:
    """A regex whose matches in the prose may contain digits, and why."""

    pattern: re.Pattern
    reason: str

    @classmethod
    def make(cls, spec: AllowRule | str | Mapping[str, Any] | re.Pattern) -> AllowRule:
        if isinstance(spec, AllowRule):
            return spec
        if isinstance(spec, re.Pattern):
            return cls(spec, "")
        if isinstance(spec, str):
            return cls(re.compile(spec), "")
        flags = re.IGNORECASE if spec.get("ignore_case") else 0
        try:
            pat = re.compile(spec["pattern"], flags)
        except re.error as exc:
            raise ValueError(f"allowlist pattern {spec.get('pattern')!r} is not a valid regex: {exc}") from None
        reason = str(spec.get("reason") or "").strip()
        if not reason:
            raise ValueError(f"allowlist pattern {spec['pattern']!r} has no reason")
        return cls(pat, reason)


def load_allowlist(path: Path | str | None = None) -> list[AllowRule]:
    """The rules of ``report/number-allowlist.yaml`` (``rules: [{pattern, reason}, …]``)."""
    if path is None:
        from belmig.core import paths

        path = paths.REPORT / "number-allowlist.yaml"
    with open(path, encoding="utf-8") as fh:
        from belmig.core.schema import parse_yaml

        raw = parse_yaml(fh.read()) or {}
    rules = raw.get("rules") if isinstance(raw, dict) else raw
    if not isinstance(rules, list):
        raise ValueError(f"{path}: expected a list under 'rules'")
    return [AllowRule.make(r) for r in rules]


def _rules(allowlist: Iterable[Any] | Path | str | None) -> list[AllowRule]:
    """Rules from: a YAML path; the parsed YAML ({"rules": [...]}); one regex; or an iterable
    of AllowRule / regex strings / {pattern, reason} dicts."""
    if allowlist is None:
        return []
    if isinstance(allowlist, Path) or (isinstance(allowlist, str) and allowlist.endswith((".yaml", ".yml"))):
        return load_allowlist(allowlist)
    if isinstance(allowlist, Mapping) and "rules" in allowlist:  # the parsed YAML file
        return [AllowRule.make(r) for r in allowlist["rules"] or []]
    if isinstance(allowlist, (str, re.Pattern, Mapping, AllowRule)):
        return [AllowRule.make(allowlist)]
    return [AllowRule.make(r) for r in allowlist]


# ----------------------------------------------------------------------------- number lint


# Parts of the source the lint used to skip that print in the output all the same (a review planted
# "44,2 %" in each and found it in the PDF or the HTML): the front matter's reader-facing fields,
# raw Typst/HTML blocks, inline code, shortcodes other than var/include, and vulgar fractions.
_VISIBLE_FIELDS = (
    "title", "short-title", "subtitle", "institute", "name", "role", "reproduction", "original-study",
    "date", "synthetic-notice-title", "synthetic-notice", "abstract", "description", "toc-title",
)  # fmt: skip
_FIELD_RE = re.compile(r"^([ \t]*(?:- )?)([\w-]+):[ \t]*(.*)$")
_RAW_BLOCK_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\{=[\w-]+\}[ \t]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_KNOWN_SHORTCODE_RE = re.compile(r"\{\{<\s*(?:var|include|meta|pagebreak)\b.*?>\}\}", re.S)
_FRACTIONS_RE = re.compile("[\u00bc-\u00be\u2150-\u215e\u00b2\u00b3\u00b9\u2070-\u2079]")


def _front_matter_text(text: str) -> str:
    """The front matter with everything blanked but the values of its reader-facing fields."""
    m = FRONT_MATTER_RE.match(text)
    if not m:
        return ""
    out, block = [], False  # block: inside a reader-facing block scalar (">-", "|")
    for line in text[: m.end()].split("\n"):
        f = _FIELD_RE.match(line)
        if block and line[:1].isspace() and not (f and f.group(2) in _VISIBLE_FIELDS):
            out.append(line)
            continue
        block = False
        keep = ""
        if f and f.group(2) in _VISIBLE_FIELDS:  # "title: …", "- name: …", "    role: …"
            block = f.group(3).strip() in (">-", ">", "|", "|-")
            keep = "" if block else f.group(3)
        out.append(" " * (len(line) - len(keep)) + keep)
    return "\n".join(out)


def _printed(text: str) -> str:
    """What the lint reads: the prose (:func:`mask_markup`) and the other parts that print."""
    prose = mask_markup(text)
    front = _front_matter_text(text)
    if front:
        prose = front + prose[len(front) :]
    keep = [(mm.start(2), mm.end(2)) for mm in _RAW_BLOCK_RE.finditer(text)]
    keep += [(mm.start(), mm.end()) for mm in INLINE_CODE_RE.finditer(mask_non_text(text))]
    plain = mask_all(mask_non_text(text), _KNOWN_SHORTCODE_RE)
    keep += [(mm.start(), mm.end()) for mm in SHORTCODE_RE.finditer(plain)]
    chars = list(prose)
    for a, b in keep:
        chars[a:b] = text[a:b]
    out = "".join(chars)
    return _FRACTIONS_RE.sub("1", out)  # "½" is a number too


def _allowlist_of(source: str) -> str:
    """The allowlist of the edition `source` is ("report/report.lt.qmd" -> report/number-allowlist.lt.yaml)."""
    m = re.search(r"report\.([a-z]{2})\.qmd$", str(source))
    return f"report/number-allowlist.{m.group(1)}.yaml" if m else "report/number-allowlist.yaml"


def lint_numbers(
    qmd_text: str, allowlist: Iterable[Any] | Path | str | None, source: str = DEFAULT_SOURCE
) -> list[Problem]:
    """Digits typed into the prose that are neither a ledger value nor allowlisted.

    Front matter, code, comments, shortcodes (``{{< var >}}``, ``{{< include >}}``), URLs,
    link and image targets, attribute blocks (figure ids, claim conditions), fenced-div
    lines, cross-references (``@fig-…``), footnote markers and ordered-list markers are not
    prose. What remains is searched after blanking every match of an allowlist rule.
    """
    prose = _printed(qmd_text)
    for rule in _rules(allowlist):
        prose = mask_all(prose, rule.pattern)
    problems = []
    for m in NUMBER_RE.finditer(prose):
        line = line_of(qmd_text, m.start())
        problems.append(
            Problem(
                kind="number",
                line=line,
                number=m.group(0),
                sentence=sentence_at(qmd_text, m.start()),
                message=(
                    f"number {m.group(0)!r} is typed into the prose; use a ledger value "
                    f"({{{{< var key >}}}}) or add a rule to {_allowlist_of(source)}"
                ),
                source=source,
            )
        )
    return problems


def number_words(qmd_text: str, lexicon: Any, lang: str = "en", source: str = DEFAULT_SOURCE) -> list[Problem]:
    """Numbers written in words ("eighty-five per cent"): use a ledger value instead."""
    prose = mask_markup(qmd_text)
    return [
        Problem(
            "number-words",
            line_of(qmd_text, m.start()),
            f"number written in words {m.group(0)!r}: print it from the ledger ({{{{< var key >}}}})",
            sentence=sentence_at(qmd_text, m.start()),
            number=m.group(0),
            source=source,
        )
        for m in lexicon.numbers_in_words(prose, lang)
    ]
