"""Ledger keys in the report: which it uses (values and claim conditions), which the ledger
lacks (with the nearest existing keys), and which cannot be ledger keys at all (key grammar
against belmig.core.keys and the codebook, before any data exists)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from belmig.core.keys import KEY_RE, SHAPES, level_from_segment, level_parts, parse as parse_key
from belmig.report import claims as claims_mod
from belmig.report.claimcheck import find_claims
from belmig.report.prose import DEFAULT_SOURCE, Problem, line_of, mask_non_text, suggest
from belmig.report.shortcodes import VAR_PERCENT_RE, VAR_RE

# ----------------------------------------------------------------------------- keys


def _key_occurrences(
    qmd_text: str, include_claims: bool = True, guards: Mapping[str, Any] | None = None
) -> list[tuple[str, int]]:
    searchable = mask_non_text(qmd_text)
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in VAR_RE.finditer(searchable)]
    if include_claims:
        for c in find_claims(qmd_text, guards, sentences=False):
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
    return [(k, line_of(qmd_text, off)) for off, k in found]


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


def unreviewed_keys(
    qmd_text: str, decided: Iterable[str], info_families: Iterable[str], source: str = DEFAULT_SOURCE
) -> list[Problem]:
    """Values an edition prints that disclosure control never reviewed: rule protect_values
    decides the keys the English text uses, so a value only a translated edition prints would
    reach its PDF unaudited (a count of one respondent did). One problem per key, at its first use."""
    have, info = set(decided), set(info_families)
    seen: set[str] = set()
    problems = []
    for key, line in _key_occurrences(qmd_text, include_claims=False):
        if key in have or key in seen or key.split(".", 1)[0] in info:
            continue
        seen.add(key)
        problems.append(
            Problem(
                "unreviewed-key",
                line,
                f"ledger key {key!r} is printed here but not in the English text, so disclosure control "
                "never reviewed it: print it in English too, or leave it out",
                key=key,
                source=source,
            )
        )
    return problems


# The kinds of value a percent sign may follow: shares, and text values that print a share's
# range or a published figure ("52.1–60.3"). A mean, a count or a p-value with "%" says another
# quantity than it is (a review planted "{{< var mean.security_by >}} %").
_PERCENT_KINDS = {"pct", "text"}


def unit_problems(qmd_text: str, kinds: Mapping[str, str], source: str = DEFAULT_SOURCE) -> list[Problem]:
    """A percent sign after a value that is no share, and a share printed without one."""
    text = mask_non_text(qmd_text)
    problems = []
    for m in VAR_PERCENT_RE.finditer(text):
        key, kind = m.group(1), kinds.get(m.group(1))
        if kind is None:
            continue
        if m.group("pct") and kind not in _PERCENT_KINDS:
            msg = f"'%' after {key!r}, a {kind} value, not a share: leave the percent sign out"
        elif not m.group("pct") and kind == "pct":
            msg = f"{key!r} is a share (in percent) printed without '%': write {{{{< var {key} >}}}}%"
        else:
            continue
        problems.append(Problem("unit", line_of(qmd_text, m.start()), msg, key=key, source=source))
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
