"""Checks on the report text (report/report.qmd) before it is rendered.

Every number the report prints must come from the value ledger, and every conclusion that
rests on data must still be supported by it. This module finds the places where that is not
so and names them precisely (line, sentence, number or condition, values):

* :func:`used_keys` — ledger keys the report uses (``{{< var key >}}`` and claim conditions);
* :func:`lint_numbers` — digits typed into the prose that are not allowed by the allowlist
  (``report/number-allowlist.yaml``: years, chart numbers, dates, scale ends …);
* :func:`check_claims` — every ``[text]{.claim when="condition"}`` span evaluated on ledger
  values with :func:`belmig.report.claims.evaluate`;
* :func:`missing_keys` — keys the report uses that the ledger does not hold;
* :func:`key_grammar_problems` — keys that cannot be ledger keys (wrong family, unknown
  question or option of the codebook), found before any data exists;
* :func:`check_report` — all of the above at once.

All of them return a list of :class:`Problem` (empty = fine); ``str(problem)`` reads like a
compiler message: ``report/report.qmd:123: …`` followed by the sentence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from belmig.core.keys import KEY_RE, SHAPES, level_from_segment, level_parts, parse as parse_key
from belmig.report import claims as claims_mod
from belmig.report.render import VAR_RE

DEFAULT_SOURCE = "report/report.qmd"

# ----------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """One thing wrong with the report text."""

    kind: str  # "number" | "claim" | "claim-error" | "missing-key" | "key-grammar"
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


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _mask_all(text: str, pattern: re.Pattern, group: int | str = 0) -> str:
    spans = [m.span(group) for m in pattern.finditer(text) if m.start(group) >= 0]
    for start, end in reversed(spans):
        text = _blank(text, start, end)
    return text


def mask_non_text(text: str) -> str:
    """The text with front matter, code blocks and HTML comments blanked (offsets kept)."""
    m = FRONT_MATTER_RE.match(text)
    if m:
        text = _blank(text, 0, m.end())
    text = _mask_all(text, FENCE_RE)
    text = _mask_all(text, COMMENT_RE)
    return text


def mask_markup(text: str) -> str:
    """Only the prose remains: everything that is markup, a reference or a path is blanked."""
    text = mask_non_text(text)
    text = _mask_all(text, SHORTCODE_RE)  # {{< var … >}}, {{< include … >}}
    text = _mask_all(text, INLINE_CODE_RE)
    text = _mask_all(text, AUTOLINK_RE)
    text = _mask_all(text, LINK_TARGET_RE)  # ](url), image paths
    text = _mask_all(text, BARE_URL_RE)
    text = _mask_all(text, ATTR_RE)  # {#fig-x}, {.claim when="…"}, {#sec-…}
    text = _mask_all(text, DIV_FENCE_RE)
    text = _mask_all(text, FOOTNOTE_RE)  # [^1] markers and definitions
    text = _mask_all(text, CROSSREF_RE)  # @fig-chart01, @sec-methods, @tbl-audit
    text = _mask_all(text, LIST_MARKER_RE, 2)  # "1. " of ordered lists
    text = _mask_all(text, HTML_TAG_RE)
    return text


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


_CLAIM_ATTR_RE = re.compile(r"\]\{[^{}]*\.claim\b[^{}]*\}")
_SENTENCE_END_RE = re.compile(r"[.!?][\"'”’)\]*_]*(?=\s)")


def _is_break_line(line: str) -> bool:
    """A line that separates paragraphs: blank, heading, fenced div, horizontal rule."""
    t = line.strip()
    return not t or t.startswith(":::") or bool(HEADING_LINE_RE.match(t)) or t in ("---", "***", "___")


def _paragraph_bounds(text: str, offset: int) -> tuple[int, int]:
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    idx = max(i for i, s in enumerate(starts) if s <= offset)

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
        raw = yaml.safe_load(fh) or {}
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


def lint_numbers(
    qmd_text: str, allowlist: Iterable[Any] | Path | str | None, source: str = DEFAULT_SOURCE
) -> list[Problem]:
    """Digits typed into the prose that are neither a ledger value nor allowlisted.

    Front matter, code, comments, shortcodes (``{{< var >}}``, ``{{< include >}}``), URLs,
    link and image targets, attribute blocks (figure ids, claim conditions), fenced-div
    lines, cross-references (``@fig-…``), footnote markers and ordered-list markers are not
    prose. What remains is searched after blanking every match of an allowlist rule.
    """
    prose = mask_markup(qmd_text)
    for rule in _rules(allowlist):
        prose = _mask_all(prose, rule.pattern)
    problems = []
    for m in NUMBER_RE.finditer(prose):
        line = _line_of(qmd_text, m.start())
        problems.append(
            Problem(
                kind="number",
                line=line,
                number=m.group(0),
                sentence=sentence_at(qmd_text, m.start()),
                message=(
                    f"number {m.group(0)!r} is typed into the prose; use a ledger value "
                    "({{< var key >}}) or add a rule to report/number-allowlist.yaml"
                ),
                source=source,
            )
        )
    return problems


# ----------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    text: str  # the guarded words as written (may contain shortcodes)
    condition: str | None  # None when the span has no when="…"
    line: int
    sentence: str
    offset: int


def find_claims(qmd_text: str) -> list[Claim]:
    """Every ``[text]{.claim when="…"}`` span outside front matter, code and comments."""
    searchable = mask_non_text(qmd_text)
    # shortcodes contain no brackets, but "{{<" must not be read as an attribute block
    out = []
    for m in SPAN_RE.finditer(searchable):
        attrs = m.group("attrs")
        if "claim" not in CLASS_RE.findall(attrs):
            continue
        w = WHEN_RE.search(attrs)
        cond = None
        if w:
            cond = html.unescape(w.group("dq") if w.group("dq") is not None else w.group("sq")).strip()
        out.append(
            Claim(
                text=" ".join(m.group("text").split()),
                condition=cond,
                line=_line_of(qmd_text, m.start()),
                sentence=sentence_at(qmd_text, m.start("text")),
                offset=m.start(),
            )
        )
    return out


def check_claims(qmd_text: str, values: Mapping[str, float], source: str = DEFAULT_SOURCE) -> list[Problem]:
    """Claims whose condition is false on `values` (or cannot be evaluated)."""
    problems = []
    for c in find_claims(qmd_text):
        if not c.condition:
            problems.append(
                Problem(
                    "claim-error",
                    c.line,
                    f'claim [{c.text}] has no condition (when="…")',
                    sentence=c.sentence,
                    source=source,
                )
            )
            continue
        try:
            keys = sorted(claims_mod.names(c.condition))
        except claims_mod.ClaimError as exc:
            problems.append(
                Problem(
                    "claim-error",
                    c.line,
                    f"claim [{c.text}]: {exc}",
                    sentence=c.sentence,
                    condition=c.condition,
                    source=source,
                )
            )
            continue
        involved = {k: values.get(k) for k in keys}
        try:
            ok = claims_mod.evaluate(c.condition, values)
        except (claims_mod.ClaimError, ZeroDivisionError, TypeError) as exc:
            problems.append(
                Problem(
                    "claim-error",
                    c.line,
                    f"claim [{c.text}] cannot be evaluated: {exc}",
                    sentence=c.sentence,
                    condition=c.condition,
                    values=involved,
                    source=source,
                )
            )
            continue
        if not ok:
            problems.append(
                Problem(
                    "claim",
                    c.line,
                    f"claim [{c.text}] is no longer supported by the data",
                    sentence=c.sentence,
                    condition=c.condition,
                    values=involved,
                    source=source,
                )
            )
    return problems


# ----------------------------------------------------------------------------- keys


def _key_occurrences(qmd_text: str, include_claims: bool = True) -> list[tuple[str, int]]:
    searchable = mask_non_text(qmd_text)
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in VAR_RE.finditer(searchable)]
    if include_claims:
        for c in find_claims(qmd_text):
            if not c.condition:
                continue
            try:
                names = claims_mod.names(c.condition)
            except claims_mod.ClaimError:
                continue
            # keys in the order they appear in the condition
            for k in sorted(names, key=lambda k: c.condition.find(k)):
                found.append((c.offset, k))
    found.sort(key=lambda t: t[0])
    return [(k, _line_of(qmd_text, off)) for off, k in found]


def used_keys(qmd_text: str, include_claims: bool = True) -> list[str]:
    """Ledger keys the report uses, in order of first appearance, without repeats.

    With ``include_claims`` (default) keys read by claim conditions count as used."""
    return list(dict.fromkeys(k for k, _ in _key_occurrences(qmd_text, include_claims)))


def missing_keys(qmd_text: str, ledger_keys: Iterable[str], source: str = DEFAULT_SOURCE) -> list[Problem]:
    """Keys used by the report (values and claim conditions) that the ledger does not hold.
    One problem per key, at its first use."""
    have = set(ledger_keys)
    seen: set[str] = set()
    problems = []
    for key, line in _key_occurrences(qmd_text):
        if key in have or key in seen:
            continue
        seen.add(key)
        problems.append(
            Problem(
                "missing-key", line, f"ledger key {key!r} is used but not in the value ledger", key=key, source=source
            )
        )
    return problems


# The survey key families and their parts: belmig.core.keys.SHAPES. Options of scale questions:
_SCALE_OPTS = {f"v{i}" for i in range(1, 11)} | {"ge8"}
# Families whose segments are chosen by the stage that records them (cleaning steps, published
# figure ids, external statistics, audit results, per-stage counters).
_FREE_FAMILIES = {"flow", "pub", "ext", "audit", "ingest", "charts"}
_REPRO_STATS = {"figures", "matched", "statements", "statements_held"}  # belmig.integrity.reproduce.to_values
_WEIGHT_STATS = {"deff", "n_eff", "efficiency", "min", "max", "iterations"}


def key_grammar_problems(
    keys: Iterable[str] | str, codebook: Any | None = None, source: str = DEFAULT_SOURCE
) -> list[Problem]:
    """Keys that cannot be ledger keys.

    `keys` is a list of keys or the report text (then every used key is checked, with its
    line). Checks the ledger's key regex, the family (``pct``, ``wci``, ``pctby`` …) and its
    number of segments, and — when a codebook is given — that questions and options exist.
    """
    if isinstance(keys, str):
        occ = _key_occurrences(keys)
        first: dict[str, int] = {}
        for k, line in occ:
            first.setdefault(k, line)
        items = list(first.items())
    else:
        items = [(k, 0) for k in dict.fromkeys(keys)]
    problems = []
    for key, line in items:
        why = _key_problem(key, codebook)
        if why:
            problems.append(
                Problem("key-grammar", line, f"{key!r} is not a valid ledger key: {why}", key=key, source=source)
            )
    return problems


def _key_problem(key: str, cb: Any | None) -> str | None:
    if not KEY_RE.match(key):
        return f"does not match {KEY_RE.pattern}"
    parsed = parse_key(key)
    fam, rest = parsed.family, list(parsed.parts)

    def q_ok(qid: str) -> str | None:
        if cb is None:
            return None
        if qid not in cb.by_id:
            return f"no question {qid!r} in the codebook"
        return None

    def opt_ok(qid: str, opt: str) -> str | None:
        if cb is None:
            return None
        err = q_ok(qid)
        if err:
            return err
        q = cb[qid]
        allowed = set(q.keys)
        if q.type == "scale":
            allowed |= _SCALE_OPTS
        if q.type == "text":
            allowed |= set(q.coded_as) | {"uncoded"}
        for part in level_parts(level_from_segment(opt)):  # a merged option: each part (keys.level_segment)
            if part not in allowed:
                return f"question {qid!r} has no option {part!r}"
        return None

    shapes = {f: len(parts) for f, parts in SHAPES.items()}
    if fam in shapes:
        if len(rest) != shapes[fam]:
            return f"{fam}.* keys have {shapes[fam]} segments after {fam!r}, this one has {len(rest)}"
        if fam in ("pct", "count", "wpct", "wci"):
            return opt_ok(rest[0], rest[1])
        if fam in ("n", "mean", "wmean", "wci_mean"):
            err = q_ok(rest[0])
            if err is None and cb is not None and fam != "n" and cb[rest[0]].type != "scale":
                return f"{fam}.* needs a scale question, {rest[0]!r} is {cb[rest[0]].type}"
            return err
        if fam == "pctby":
            by, level, q, opt = rest
            return opt_ok(by, level) or opt_ok(q, opt)
        if fam == "nby":
            by, level, q = rest
            return opt_ok(by, level) or q_ok(q)
        if fam == "pby":
            by, q, opt = rest
            return q_ok(by) or opt_ok(q, opt)
        # the other survey families: each part checked by its role in keys.SHAPES
        role = dict(zip(SHAPES[fam], rest))
        if "option" in role:
            return (q_ok(role["by"]) if "by" in role else None) or opt_ok(role["question"], role["option"])
        return (q_ok(role["by"]) if "by" in role else None) or q_ok(role["question"])
    if fam == "weight":
        return None if len(rest) == 1 and rest[0] in _WEIGHT_STATS else f"weight.* is one of {sorted(_WEIGHT_STATS)}"
    if fam == "repro":
        return None if len(rest) == 1 and rest[0] in _REPRO_STATS else f"repro.* is one of {sorted(_REPRO_STATS)}"
    if fam == "other":
        if len(rest) != 2 or rest[1] not in ("coded", "uncoded"):
            return "other.* is other.<question>.coded|uncoded"
        return q_ok(rest[0])
    if fam in _FREE_FAMILIES:
        return None
    return f"unknown key family {fam!r}"


# ----------------------------------------------------------------------------- all checks


def check_report(
    qmd_text: str,
    *,
    allowlist: Iterable[Any] | Path | str | None = None,
    values: Mapping[str, float] | None = None,
    ledger_keys: Iterable[str] | None = None,
    codebook: Any | None = None,
    source: str = DEFAULT_SOURCE,
) -> list[Problem]:
    """Every check that has its inputs: grammar, missing keys, numbers, claims (by line)."""
    problems = key_grammar_problems(qmd_text, codebook, source)
    if ledger_keys is not None:
        problems += missing_keys(qmd_text, ledger_keys, source)
    if allowlist is not None:
        problems += lint_numbers(qmd_text, allowlist, source)
    if values is not None:
        problems += check_claims(qmd_text, values, source)
    return sorted(problems, key=lambda p: p.line)


def format_problems(problems: Sequence[Problem]) -> str:
    return "\n".join(str(p) for p in problems)
