"""Checks on the report text (report/report.qmd) before it is rendered.

Every number the report prints must come from the value ledger, and every conclusion that
rests on data must still be supported by it. The checks find the places where that is not
so and name them precisely (line, sentence, number or condition, values). They live by concern;
this module runs them all and keeps the names callers use:

* :mod:`belmig.report.prose` — :class:`Problem`, masking of non-prose, the sentence at an offset;
* :mod:`belmig.report.numbercheck` — :func:`lint_numbers` (digits typed into the prose that the
  allowlist ``report/number-allowlist.yaml`` does not allow: years, chart numbers, dates …) and
  :func:`number_words`;
* :mod:`belmig.report.claimcheck` — :func:`find_claims`, :func:`check_claims` (every
  ``[text]{.claim guard="id"}`` span evaluated on ledger values with
  :func:`belmig.report.claims.evaluate`, its words through the lexicon) and
  :func:`unguarded_phrases`;
* :mod:`belmig.report.keycheck` — :func:`used_keys`, :func:`missing_keys` (keys the ledger does
  not hold) and :func:`key_grammar_problems` (keys that cannot be ledger keys: wrong family,
  unknown question or option of the codebook, found before any data exists);
* :mod:`belmig.report.xrefs` — :func:`crossref_problems`;
* :func:`check_report` — all of the above at once (the build and ``make check``).

All of them return a list of :class:`Problem` (empty = fine); ``str(problem)`` reads like a
compiler message: ``report/report.qmd:123: …`` followed by the sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from belmig.report.claimcheck import (
    CITED_CLASS,
    CONVERT_HINT,
    Claim,
    check_claims,
    default_guards,
    find_claims,
    unguarded_phrases,
    words_problems,
)
from belmig.report.keycheck import key_grammar_problems, missing_keys, unit_problems, used_keys
from belmig.report.numbercheck import AllowRule, lint_numbers, load_allowlist, number_words
from belmig.report.prose import (
    DEFAULT_SOURCE,
    FRONT_MATTER_RE,
    Problem,
    mask_markup,
    mask_non_text,
    sentence_at,
    suggest,
)
from belmig.report.xrefs import crossref_problems

__all__ = [
    "CITED_CLASS",
    "CONVERT_HINT",
    "DEFAULT_SOURCE",
    "FRONT_MATTER_RE",
    "AllowRule",
    "Claim",
    "Edition",
    "Problem",
    "check_claims",
    "check_report",
    "crossref_problems",
    "default_guards",
    "find_claims",
    "format_problems",
    "key_grammar_problems",
    "lint_numbers",
    "load_allowlist",
    "mask_markup",
    "mask_non_text",
    "missing_keys",
    "number_words",
    "sentence_at",
    "suggest",
    "unguarded_phrases",
    "used_keys",
    "words_problems",
]


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
    kinds: Mapping[str, str] | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """Every check that has its inputs, as (errors, warnings), each sorted by line: key grammar,
    missing keys, number lint, numbers in words, claim guards (conditions and words), unguarded
    quantifiers, cross-references. The build and ``make check`` both call this."""
    problems = key_grammar_problems(qmd_text, codebook, source, guards) if codebook is not None else []
    if ledger_keys is not None:
        problems += missing_keys(qmd_text, ledger_keys, source, guards)
    if kinds is not None:
        problems += unit_problems(qmd_text, kinds, source)
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
