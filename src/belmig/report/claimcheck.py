"""Claim guards: every ``[words]{.claim guard="id"}`` span of the report, its condition (from
``report/claims.yaml``) evaluated on ledger values with :func:`belmig.report.claims.evaluate`, its
words read through the lexicon against the condition, and quantifiers outside any guard."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from belmig.report import claims as claims_mod
from belmig.report.prose import (
    CLASS_RE,
    DEFAULT_SOURCE,
    SPAN_RE,
    WHEN_RE,
    Problem,
    blank,
    line_of,
    mask_markup,
    mask_non_text,
    sentence_at,
    suggest,
)

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


def find_claims(qmd_text: str, guards: Mapping[str, Any] | None = None, *, sentences: bool = True) -> list[Claim]:
    """Every ``[text]{.claim guard="id"}`` span (and old ``when="…"`` spans) outside front
    matter, code and comments; the condition comes from `guards` (report/claims.yaml).
    `sentences` False: each claim's sentence (what a message quotes) is left empty, for callers
    that want only keys, ids and lines (finding the sentences is half the work)."""
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
                line=line_of(qmd_text, m.start()),
                sentence=sentence_at(qmd_text, m.start("text")) if sentences else "",
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
# A negation inside a claim's words outside its lexicon phrase ("[not the great majority]",
# "[ne aukštesnis]", «[отнюдь не более высокую]»): the phrase's meaning is checked, the words
# say the opposite (a review planted these). Lithuanian negates by the prefix ne-, which also
# starts ordinary words: only the particle and the forms of "nėra"/"nebuvo" are read.
_NEGATION_RE = {
    "en": re.compile(r"(?i)\b(?:not|no|never|none|n't)\b"),
    "lt": re.compile(r"(?i)(?<!\w)(?:ne|nė|nėra|nebuvo|nebus|niekada)(?!\w)"),
    "ru": re.compile(r"(?i)(?<!\w)(?:не|ни|нет|отнюдь|никогда)(?!\w)"),
}


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
    # a phrase that states a null result ("not significant", "none moves by more than a few
    # points") takes the negation with it (Lithuanian and Russian negate twice: «ни одно … не»)
    null = any(lexicon.meanings[m.meaning].kind in ("pvalue", "gap") for m in found)
    negations = [
        n.group(0)
        for n in _NEGATION_RE.get(lang, _NEGATION_RE["en"]).finditer(words)
        if not null and not any(m.start <= n.start() < m.end for m in found)
    ]
    if negations:
        out.append(
            problem(
                f"claim [{c.text}]: {negations[0]!r} in its words turns round what the phrase says, "
                "and the check reads the phrase alone; say it without the negation (the phrase for "
                "what is true), or add the negated phrase and its meaning to report/lexicon.yaml"
            )
        )
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


# ----------------------------------------------------------------------------- quantifiers outside guards

CITED_CLASS = "cited"


def _blank_spans(text: str, classes: set[str]) -> str:
    """Blank the words of every [words]{.cls} span of the given classes (offsets kept)."""
    for m in reversed(list(SPAN_RE.finditer(text))):
        if classes & set(CLASS_RE.findall(m.group("attrs"))):
            text = blank(text, m.start("text"), m.end("text"))
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
                line_of(qmd_text, m.start),
                f"{prose[m.start : m.end]!r} ({m.meaning}) states a quantity without a guard: write "
                f'[{prose[m.start : m.end]}]{{.claim guard="id"}} with id in report/claims.yaml, or, when it quotes '
                f"the 2022 report or an interviewee, [{prose[m.start : m.end]}]{{.cited}}",
                sentence=sentence_at(qmd_text, m.start),
                source=source,
            )
        )
    return out


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
