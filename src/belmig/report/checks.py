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

GUARD_RE = re.compile(r"""(?:^|\s)guard\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""")
CONVERT_HINT = (
    "conditions are defined once, by id, in report/claims.yaml: run "
    "`python -m belmig.report.guards convert report/report.qmd report/report.ru.qmd report/report.lt.qmd` "
    '(or write [words]{{.claim guard="some-id"}} and some-id: {{when: "{cond}"}} in report/claims.yaml)'
)


@dataclass(frozen=True)
class Claim:
    text: str  # the guarded words as written (may contain shortcodes)
    condition: str | None  # None when the span has no guard (or an unknown one)
    line: int
    sentence: str
    offset: int
    guard: str | None = None  # the id of report/claims.yaml
    legacy: bool = False  # written with when="…" in the text
    complement: bool = False
    says: str | None = None


_DEFAULT_GUARDS: dict[str, Any] = {}


def default_guards() -> Mapping[str, Any]:
    """report/claims.yaml of the checkout (tests and tools; the build passes its rule's input)."""
    from belmig.core import paths
    from belmig.report import guards as guards_mod

    path = paths.REPORT / "claims.yaml"
    mtime = path.stat().st_mtime_ns if path.exists() else None
    if _DEFAULT_GUARDS.get("mtime") != mtime:
        _DEFAULT_GUARDS.update(mtime=mtime, guards=guards_mod.load(path) if mtime else {})
    return _DEFAULT_GUARDS["guards"]


def _attr(rx: re.Pattern, attrs: str) -> str | None:
    m = rx.search(attrs)
    if not m:
        return None
    return html.unescape(m.group("dq") if m.group("dq") is not None else m.group("sq")).strip()


def find_claims(qmd_text: str, guards: Mapping[str, Any] | None = None) -> list[Claim]:
    """Every ``[text]{.claim guard="id"}`` span (and old ``when="…"`` spans) outside front
    matter, code and comments; the condition comes from `guards` (report/claims.yaml)."""
    guards = default_guards() if guards is None else guards
    searchable = mask_non_text(qmd_text)
    out = []
    for m in SPAN_RE.finditer(searchable):
        attrs = m.group("attrs")
        if "claim" not in CLASS_RE.findall(attrs):
            continue
        gid, cond = _attr(GUARD_RE, attrs), _attr(WHEN_RE, attrs)
        g = guards.get(gid) if gid else None
        out.append(
            Claim(
                text=" ".join(m.group("text").split()),
                condition=g.when if g is not None else (cond if gid is None else None),
                line=_line_of(qmd_text, m.start()),
                sentence=sentence_at(qmd_text, m.start("text")),
                offset=m.start(),
                guard=gid,
                legacy=gid is None and cond is not None,
                complement=bool(g is not None and g.complement),
                says=g.says if g is not None else None,
            )
        )
    return out


def check_claims(
    qmd_text: str,
    values: Mapping[str, float],
    source: str = DEFAULT_SOURCE,
    *,
    guards: Mapping[str, Any] | None = None,
    lexicon: Any | None = None,
    lang: str = "en",
) -> list[Problem]:
    """Claims whose condition is false on `values` (or cannot be evaluated), and — with a
    `lexicon` — claims whose words say something else than their condition."""
    guards = default_guards() if guards is None else guards
    problems = []
    for c in find_claims(qmd_text, guards):
        if c.legacy:
            problems.append(
                Problem(
                    "claim-error",
                    c.line,
                    f'claim [{c.text}] uses when="…" in the text: ' + CONVERT_HINT.format(cond=c.condition),
                    sentence=c.sentence,
                    condition=c.condition,
                    source=source,
                )
            )
            continue
        if not c.condition:
            if c.guard:
                near = suggest(c.guard, guards)
                msg = f"claim [{c.text}]: guard {c.guard!r} is not defined in report/claims.yaml" + (
                    f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
                )
            else:
                msg = f'claim [{c.text}] has no guard (write [{c.text}]{{.claim guard="id"}}, id in report/claims.yaml)'
            problems.append(Problem("claim-error", c.line, msg, sentence=c.sentence, source=source))
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
        if lexicon is not None:
            problems += words_problems(c, lexicon, lang, source)
        try:
            ok = claims_mod.evaluate(c.condition, values)
        except (claims_mod.ClaimError, ZeroDivisionError, TypeError) as exc:
            near = [
                f"{k!r} (did you mean {', '.join(map(repr, suggest(k, values)))}?)" for k in keys if k not in values
            ]
            problems.append(
                Problem(
                    "claim-error",
                    c.line,
                    f"claim [{c.text}] cannot be evaluated: {exc}" + (f"; {'; '.join(near)}" if near else ""),
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


_SHORTCODE_TEXT_RE = re.compile(r"\{\{<.*?>\}\}")


def words_problems(c: Claim, lexicon: Any, lang: str, source: str = DEFAULT_SOURCE) -> list[Problem]:
    """The guard's words against its condition, through the lexicon (report/lexicon.yaml)."""
    from belmig.report import lexicon as lex_mod

    words = _SHORTCODE_TEXT_RE.sub(" ", c.text)
    found = lexicon.find(words, lang)
    out = []

    def problem(msg: str) -> Problem:
        return Problem("claim-words", c.line, msg, sentence=c.sentence, condition=c.condition, source=source)

    if not found:
        return [
            problem(
                f"claim [{c.text}]: its words hold no phrase of the lexicon, so the check cannot read them; "
                f"add the phrase and its meaning to report/lexicon.yaml (phrases.{lang})"
            )
        ]
    cons = lex_mod.constraints(c.condition)
    for m in found:
        meaning = lexicon.meanings[m.meaning]
        why = lex_mod.disagreement(meaning, cons, c.complement)
        if why is None:
            continue
        hint = ""
        if not c.complement and meaning.kind == "share" and lex_mod.disagreement(meaning, cons, True) is None:
            hint = f" (if the words describe the rest of the respondents, set complement: true for {c.guard!r})"
        out.append(
            problem(f"claim [{c.text}]: the words {m.words!r} ({m.meaning}) disagree with the condition: {why}{hint}")
        )
    if c.says and c.says not in {m.meaning for m in found}:
        out.append(
            problem(
                f"claim [{c.text}]: guard {c.guard!r} says {c.says!r}, the words say "
                f"{', '.join(sorted({m.meaning for m in found}))}"
            )
        )
    keys = claims_mod.names(c.condition)
    for word, group in lexicon.groups_in(words, lang):
        by, level = group.split(".", 1)
        if not any(_names_group(k, by, level) for k in keys):
            out.append(
                problem(
                    f"claim [{c.text}]: the words name {word!r} ({group}), the condition uses no key of that group "
                    f"(pctby.{by}.{level}.…)"
                )
            )
    return out


def suggest(key: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The nearest existing keys (difflib), for "did you mean" messages."""
    import difflib

    known = list(known)
    near = difflib.get_close_matches(key, known, n=n, cutoff=0.75)
    if not near:  # same family and question, another option
        prefix = ".".join(key.split(".")[:-1]) + "."
        near = sorted(k for k in known if k.startswith(prefix))[:n]
    return near


# ----------------------------------------------------------------------------- quantifiers outside guards

CITED_CLASS = "cited"


def _blank_spans(text: str, classes: set[str]) -> str:
    """Blank the words of every [words]{.cls} span of the given classes (offsets kept)."""
    for m in reversed(list(SPAN_RE.finditer(text))):
        if classes & set(CLASS_RE.findall(m.group("attrs"))):
            text = _blank(text, m.start("text"), m.end("text"))
    return text


def unguarded_phrases(qmd_text: str, lexicon: Any, lang: str = "en", source: str = DEFAULT_SOURCE) -> list[Problem]:
    """Lexicon phrases in the prose outside claim spans and [..]{.cited} spans."""
    prose = _blank_spans(mask_non_text(qmd_text), {"claim", CITED_CLASS})
    prose = mask_markup(prose)
    out = []
    for m in lexicon.find(prose, lang, outside_guards=True):
        out.append(
            Problem(
                "unguarded",
                _line_of(qmd_text, m.start),
                f"{prose[m.start : m.end]!r} ({m.meaning}) states a quantity without a guard: write "
                f'[{prose[m.start : m.end]}]{{.claim guard="id"}} with id in report/claims.yaml, or, when it quotes '
                f"the 2022 report or an interviewee, [{prose[m.start : m.end]}]{{.cited}}",
                sentence=sentence_at(qmd_text, m.start),
                source=source,
            )
        )
    return out


def number_words(qmd_text: str, lexicon: Any, lang: str = "en", source: str = DEFAULT_SOURCE) -> list[Problem]:
    """Numbers written in words ("eighty-five per cent"): use a ledger value instead."""
    prose = mask_markup(qmd_text)
    return [
        Problem(
            "number-words",
            _line_of(qmd_text, m.start()),
            f"number written in words {m.group(0)!r}: print it from the ledger ({{{{< var key >}}}})",
            sentence=sentence_at(qmd_text, m.start()),
            number=m.group(0),
            source=source,
        )
        for m in lexicon.numbers_in_words(prose, lang)
    ]


# ----------------------------------------------------------------------------- keys


def _key_occurrences(
    qmd_text: str, include_claims: bool = True, guards: Mapping[str, Any] | None = None
) -> list[tuple[str, int]]:
    searchable = mask_non_text(qmd_text)
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in VAR_RE.finditer(searchable)]
    if include_claims:
        for c in find_claims(qmd_text, guards):
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


def used_keys(qmd_text: str, include_claims: bool = True, guards: Mapping[str, Any] | None = None) -> list[str]:
    """Ledger keys the report uses, in order of first appearance, without repeats.

    With ``include_claims`` (default) keys read by claim conditions count as used."""
    return list(dict.fromkeys(k for k, _ in _key_occurrences(qmd_text, include_claims, guards)))


def missing_keys(
    qmd_text: str, ledger_keys: Iterable[str], source: str = DEFAULT_SOURCE, guards: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Keys used by the report (values and claim conditions) that the ledger does not hold.
    One problem per key, at its first use, with the nearest existing keys."""
    have = set(ledger_keys)
    seen: set[str] = set()
    problems = []
    for key, line in _key_occurrences(qmd_text, guards=guards):
        if key in have or key in seen:
            continue
        seen.add(key)
        near = suggest(key, have)
        hint = f" (did you mean {', '.join(repr(k) for k in near)}?)" if near else ""
        problems.append(
            Problem(
                "missing-key",
                line,
                f"ledger key {key!r} is used but not in the value ledger{hint}",
                key=key,
                source=source,
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
    keys: Iterable[str] | str,
    codebook: Any | None = None,
    source: str = DEFAULT_SOURCE,
    guards: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Keys that cannot be ledger keys.

    `keys` is a list of keys or the report text (then every used key is checked, with its
    line). Checks the ledger's key regex, the family (``pct``, ``wci``, ``pctby`` …) and its
    number of segments, and — when a codebook is given — that questions and options exist.
    """
    if isinstance(keys, str):
        occ = _key_occurrences(keys, guards=guards)
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


# ----------------------------------------------------------------------------- cross-references

XREF_DEF_RE = re.compile(r"\{#((?:fig|tbl|sec)-[\w:-]*\w)[\s}]")
XREF_USE_RE = re.compile(r"(?<![\w@])-?@((?:fig|tbl|sec)-[\w:-]*\w)")
_HEADING_ID_RE = re.compile(r"^(#{1,6})[ \t].*\{#(sec-[\w:-]*\w)[^}]*\}[ \t]*$", re.M)
_KINDS = {"fig": "figure", "tbl": "table", "sec": "section"}


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
        defined.setdefault(m.group(1), _line_of(qmd_text, m.start()))
    for inc in (included or {}).values():
        for m in XREF_DEF_RE.finditer(inc):
            defined.setdefault(m.group(1), 0)
    top = {m.group(2) for m in _HEADING_ID_RE.finditer(text) if len(m.group(1)) == 1}
    used: dict[str, int] = {}
    errors = []
    prose = _mask_all(_mask_all(text, INLINE_CODE_RE), SHORTCODE_RE)
    for m in XREF_USE_RE.finditer(prose):
        rid, line = m.group(1), _line_of(qmd_text, m.start())
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
    warnings = []
    for rid, line in defined.items():
        if rid in used or rid in top:
            continue
        kind = _KINDS[rid.split("-")[0]]
        where = f"{kind} {{#{rid}}}" + ("" if line else " (generated table)")
        warnings.append(Problem("xref-unused", line, f"{where} is never referred to (@{rid})", source=source))
    return errors, warnings


# ----------------------------------------------------------------------------- all checks


@dataclass
class Edition:
    """One edition of the report and what its checks read (all paths come from the caller)."""

    path: Path
    text: str
    lang: str  # "en" | "ru" | "lt"
    allowlist: Any
    source: str

    @classmethod
    def read(cls, path: Path, allowlist: Any, source: str | None = None) -> Edition:
        from belmig.report import lexicon as lex_mod

        text = Path(path).read_text(encoding="utf-8")
        m = FRONT_MATTER_RE.match(text)
        fm = yaml.safe_load(m.group(0).strip().strip("-").strip(".")) if m else {}
        lang = lex_mod.language_of((fm or {}).get("lang"))
        return cls(Path(path), text, lang, allowlist, source or str(path))


def check_report(
    qmd_text: str,
    *,
    allowlist: Iterable[Any] | Path | str | None = None,
    values: Mapping[str, float] | None = None,
    ledger_keys: Iterable[str] | None = None,
    codebook: Any | None = None,
    source: str = DEFAULT_SOURCE,
    guards: Mapping[str, Any] | None = None,
    lexicon: Any | None = None,
    lang: str = "en",
    included: Mapping[str, str] | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """Every check that has its inputs, as (errors, warnings), each sorted by line: key grammar,
    missing keys, number lint, numbers in words, claim guards (conditions and words), unguarded
    quantifiers, cross-references. The build and ``make check`` both call this."""
    problems = key_grammar_problems(qmd_text, codebook, source, guards) if codebook is not None else []
    if ledger_keys is not None:
        problems += missing_keys(qmd_text, ledger_keys, source, guards)
    if allowlist is not None:
        problems += lint_numbers(qmd_text, allowlist, source)
    if lexicon is not None:
        problems += number_words(qmd_text, lexicon, lang, source)
        problems += unguarded_phrases(qmd_text, lexicon, lang, source)
    if values is not None:
        problems += check_claims(qmd_text, values, source, guards=guards, lexicon=lexicon, lang=lang)
    xerr, xwarn = crossref_problems(qmd_text, included, source)
    problems += xerr
    return sorted(problems, key=lambda p: p.line), sorted(xwarn, key=lambda p: p.line)


def format_problems(problems: Sequence[Problem], warnings: Sequence[Problem] = ()) -> str:
    """The problems as compiler messages, errors first, then warnings (marked as such)."""
    out = [str(p) for p in problems]
    out += ["warning: " + str(w) for w in warnings]
    return "\n".join(out)


def _names_group(key: str, by: str, level: str) -> bool:
    """Whether a condition key speaks of the subgroup `by` = `level`: a subgroup estimate of that
    level (also when the level is merged with others, e.g. ``male__other`` for "men"), or a test
    comparing the levels of `by` (pby, ptab, padj... keys)."""
    from belmig.core import keys as keys_mod

    parts = key.split(".")
    if parts[0] in keys_mod.PVALUE_FAMILIES:
        return len(parts) > 1 and parts[1] == by
    if parts[0] in ("pctby", "nby", "meanby") and len(parts) > 2 and parts[1] == by:
        return level in parts[2].split("__")
    return False
