"""Plain-language sentences about what disclosure control did in this build.

The release README and the report's appendix ("Protecting respondents") are generated from the
build's decisions with these functions, never typed: when the data change, the text changes.
The release README is English; the appendix is written in each edition's language: English from
:data:`WORDS_EN`, the others from ``report/protection.<lang>.yaml`` (the same keys, the same
placeholders; ``tests/test_table_words.py`` checks them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from belmig.core.codebook import Codebook

# The appendix section's sentences, English; {placeholders} are filled by the functions below.
WORDS_EN: dict[str, Any] = {
    "and": " and ",
    "quote": "“{}”",
    "names": {
        "age_group": "age group",
        "sex": "sex",
        "municipality": "municipality",
        "arrival_year": "year of arrival",
        "legal_status": "legal status",
        "income_regular": "regular income",
        "diaspora_involved": "involvement in diaspora organisations",
        "support_programs": "use of social security programmes",
    },
    "small": "- **Small numbers.** No number in the report, its tables, its charts or the reviewers' notebooks "
    "rests on fewer than {m} respondents: not a count, a base, a share, a mean, an interval or a test, "
    "and not the complement of a share (those in the base who did not give the answer).",
    "worked_out": "- **Numbers that could be worked out.** Every number the report prints was checked together "
    "with every other published number, the way a determined reader would: totals, bases, shares printed to "
    "two decimals (which fix their count), the charts and the released microdata, solved exactly for any "
    "count of fewer than {m} people. {targets} such small counts exist among the groups the report "
    "touches; {recovered} of them could have been worked out from what the report would otherwise print.",
    "withheld": "- **Not printed** (shown as “–”): {n} value(s). ",
    "withheld_primary": "{n} rest on fewer than {m} respondents: {values}. ",
    "withheld_weighted": "{n} are weighted figures: every respondent of a municipality carries the same weight, "
    "which the population figures and the respondents of each municipality make public, so a weighted figure "
    "counts each municipality's answers separately; it is not printed where some municipality holds fewer than "
    "{m} respondents who gave the answer, or did not, or where the released microdata leave the question empty "
    "for protection in some records (the figure would tell by municipality what those records hide): {values}. ",
    "withheld_secondary": "{n} would, together with other published numbers, have let a reader work out a "
    "count of fewer than {m} respondents: {values}.",
    "withheld_none": "- **Not printed:** nothing; every value the report prints passed both checks.",
    "rounded": "- **Printed to whole percent** (instead of two decimals, which would have let a reader work out "
    "a count of fewer than {m} respondents together with other published numbers): {values}.",
    "chart": "Chart {n}",
    "chart_merged": "{chart} (ratings {spans})",
    "chart_hidden": "{chart} ({n} answers)",
    "chart_hidden_one": "{chart} (1 answer)",
    "charts": "- **Charts.** {parts}.",
    "charts_merged": "ratings given by fewer than {m} respondents are shown together with their neighbours: {charts}",
    "charts_hidden": "bars resting on fewer than {m} respondents, or that would give one away, are not shown: {charts}",
    "release": "- **Released microdata.** {sentences} Rows are in random order and record ids are random numbers.",
    "never": "- **Never published:** the full table of computed values (only the values printed here leave the "
    "build), the free text of open answers, the respondents' identifiers, contact details and timestamps.",
    "release_k": "Someone who knows a respondent's {qis} must not be able to pick out their record: every "
    "respondent shares these values with at least {k1} other records (an empty value counts as possibly "
    "theirs).",
    "release_k_extra": "Someone who knows a respondent's {qis} must not be able to pick out their record: every "
    "respondent shares these values with at least {k1} other records (an empty value counts as possibly "
    "theirs), and the same holds when one more of {extras} is known.",
    "release_dropped": "The {name} is left out of the release: keeping it would have needed more merging or more "
    "empty values elsewhere than the information it carries.",
    "release_merged": "The {name} is released with fewer categories: {groups} (each category of the release holds "
    "at least {k} respondents).",
    "release_group": "{members} form one category",
    "release_blanked_item": "{n} of {name}",
    "release_blanked": "In {records} records some of these values are left empty ({what}), so that the few "
    "respondents with a rare combination have enough records they could be.",
    "release_follow_on": "Where such a value is left empty, so are the answers to the questions asked only because "
    "of it ({what}), so that it reads as a question skipped, not as a value hidden.",
    "release_diverse": "Where every record that a respondent with a given background could be gives the same answer "
    "to a sensitive question, that answer would be known without finding the record; one of those records then "
    "has the question left empty ({what}).",
    "release_crossed": "In those records the answers that the report's tables cross with an empty value are left "
    "empty as well ({what}): a table by sex, say, would otherwise tell which of them are women.",
    "release_codes": "The codes of open answers that fewer than {m} records hold are left empty, together with "
    "the next rarest code where those are still fewer ({n} answers to {questions} questions): a rare answer "
    "would pick its record out.",
    "release_reraked": "The weights are raked again to the population margins of {variables} on the released "
    "categories only: weights computed on the original categories would tell apart the categories the release "
    "merges.",
    "value_figure": "the recomputed 2022 figure {id} in the reproduction table",
    "value_repro_matched": "the number of 2022 figures our data reproduce",
    "value_pct": "the share answering “{option}” to {question}",
    "value_count": "the number answering “{option}” to {question}",
    "value_n": "the number who answered {question}",
    "value_mean": "the mean rating of {question}",
    "value_wpct": "the weighted share answering “{option}” to {question}, with its confidence interval",
    "value_wmean": "the weighted mean rating of {question}, with its confidence interval",
    "value_pctby": "the share answering “{option}” to {question} among {group}",
    "value_nby": "the number of {group} who answered {question}",
    "value_pby": "the test of whether answers to {question} differ by {name}",
    "value_other": "the number of coded answers ({code}) to {question}",
    "group": "respondents whose {name} is {labels}",
}


def words(lang: str = "en", path: Any = None) -> dict[str, Any]:
    """The section's sentences in `lang`: English from :data:`WORDS_EN`, another language from
    `path` (default ``report/protection.<lang>.yaml``), which must hold every key of English."""
    if lang == "en" and path is None:
        return WORDS_EN
    from pathlib import Path

    from belmig.core import paths
    from belmig.core.schema import load_yaml

    path = Path(path) if path is not None else paths.REPORT / f"protection.{lang}.yaml"
    data = load_yaml(path)
    missing = sorted(set(WORDS_EN) - set(data or {})) + sorted(
        f"names.{k}" for k in set(WORDS_EN["names"]) - set((data or {}).get("names") or {})
    )
    if missing:
        raise ValueError(f"{path}: the protection section's words lack {', '.join(missing)}")
    return data


def _join(items: Sequence[str], w: Mapping[str, Any] = WORDS_EN) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + w["and"] + items[-1]


def _label(cb: Codebook, q: str, key: str, lang: str = "en") -> str:
    try:
        return cb[q].option(key).label(lang)
    except (KeyError, AttributeError):
        return key


def _name(cb: Codebook, q: str, w: Mapping[str, Any] = WORDS_EN, lang: str = "en") -> str:
    names = w["names"]
    if q in names:
        return names[q]
    return cb[q].text(lang).rstrip("?") if q in cb.by_id else q


def merges(cb: Codebook, q: str, recodes: Mapping[str, str]) -> list[list[str]]:
    """Groups of original categories released as one (codebook order), each of two or more."""
    groups: dict[str, list[str]] = {}
    for orig, rel in recodes.items():
        groups.setdefault(rel, []).append(orig)
    order = list(cb[q].keys) if q in cb.by_id else []
    out = []
    for members in groups.values():
        members = sorted(set(members), key=lambda m: order.index(m) if m in order else len(order))
        if len(members) > 1:
            out.append(members)
    return sorted(out, key=lambda g: order.index(g[0]) if g[0] in order else len(order))


def release_sentences(
    summary: Mapping[str, Any], cb: Codebook, w: Mapping[str, Any] = WORDS_EN, lang: str = "en"
) -> list[str]:
    """What the release changed, one sentence per variable or action, in plain words (`w`: the
    words of `lang`, :func:`words`)."""
    k = summary["k"]
    out = []
    qis = list(summary["quasi_identifiers"])
    extras = list(summary["extra_identifiers"])

    def name(q: str) -> str:
        return _name(cb, q, w, lang)

    def join(items: Sequence[str]) -> str:
        return _join(items, w)

    if extras:
        out.append(
            w["release_k_extra"].format(
                qis=join([name(q) for q in qis]), k1=k - 1, extras=join([name(q) for q in extras])
            )
        )
    else:
        out.append(w["release_k"].format(qis=join([name(q) for q in qis]), k1=k - 1))
    for q in qis + extras:
        if q in summary["dropped"]:
            out.append(w["release_dropped"].format(name=name(q)))
            continue
        groups = merges(cb, q, summary["recodes"].get(q, {}))
        if groups:
            parts = [join([w["quote"].format(_label(cb, q, m, lang)) for m in g]) for g in groups]
            out.append(
                w["release_merged"].format(
                    name=name(q), groups="; ".join(w["release_group"].format(members=p) for p in parts), k=k
                )
            )
    blanked = summary.get("blanked") or {}
    if blanked:
        what = join([w["release_blanked_item"].format(n=n, name=name(v)) for v, n in blanked.items()])
        out.append(w["release_blanked"].format(records=summary["records_with_blanks"], what=what))

    def quoted(q: str) -> str:  # a question by its words, without "(several answers possible)"
        text = cb[q].text(lang) if q in cb.by_id else q
        return w["quote"].format(re.sub(r"\s*\([^()]*\)\s*$", "", text).rstrip("?"))

    fields = (("diverse", "release_diverse"), ("follow_on", "release_follow_on"), ("crossed", "release_crossed"))
    for field, sentence in fields:
        blanked_too = summary.get(field) or {}
        if blanked_too:
            what = join([w["release_blanked_item"].format(n=n, name=quoted(q)) for q, n in blanked_too.items()])
            out.append(w[sentence].format(what=what))
    pooled = summary.get("codes_pooled") or {}
    if pooled:
        out.append(
            w["release_codes"].format(m=summary["codes_threshold"], n=sum(pooled.values()), questions=len(pooled))
        )
    if summary.get("weights") == "reraked":
        out.append(w["release_reraked"].format(variables=join([name(v) for v in summary["raking_variables"]])))
    return out


# ------------------------------------------------------------------------------ the report


def _value_words(cb: Codebook, key: str, w: Mapping[str, Any] = WORDS_EN, lang: str = "en") -> str:
    """A published value in words: "the share of respondents with legal status “Asylum ...”"."""
    from belmig.core import keys as K

    if key.startswith("figure."):
        return w["value_figure"].format(id=key[len("figure.") :])
    if key == "repro.matched":
        return w["value_repro_matched"]
    k = K.parse(key)
    p = k.parts

    def q_text(q: str) -> str:
        return w["quote"].format(cb[q].text(lang)) if q in cb.by_id else q

    def group(by: str, level: str) -> str:
        labels = [_label(cb, by, lv, lang) for lv in level.split("+")] if by in cb.by_id else [level]
        return w["group"].format(name=_name(cb, by, w, lang), labels=_join([w["quote"].format(x) for x in labels], w))

    try:
        if k.family in ("wpct", "wci", "wpctalt") and len(p) == 2:
            return w["value_wpct"].format(option=_label(cb, p[0], p[1], lang), question=q_text(p[0]))
        if k.family in ("wmean", "wci_mean", "wmeanalt") and len(p) == 1:
            return w["value_wmean"].format(question=q_text(p[0]))
        if k.family == "pct" and len(p) == 2:
            return w["value_pct"].format(option=_label(cb, p[0], p[1], lang), question=q_text(p[0]))
        if k.family == "count" and len(p) == 2:
            return w["value_count"].format(option=_label(cb, p[0], p[1], lang), question=q_text(p[0]))
        if k.family == "n" and len(p) == 1:
            return w["value_n"].format(question=q_text(p[0]))
        if k.family == "mean" and len(p) == 1:
            return w["value_mean"].format(question=q_text(p[0]))
        if k.family == "pctby" and len(p) == 4:
            return w["value_pctby"].format(
                option=_label(cb, p[2], p[3], lang), question=q_text(p[2]), group=group(p[0], p[1])
            )
        if k.family == "nby" and len(p) == 3:
            return w["value_nby"].format(group=group(p[0], p[1]), question=q_text(p[2]))
        if k.family == "pby" and len(p) >= 2:
            return w["value_pby"].format(question=q_text(p[1]), name=_name(cb, p[0], w, lang))
        if k.family == "other" and len(p) == 2:
            return w["value_other"].format(code=p[1], question=q_text(p[0]))
    except KeyError:
        pass
    return key


def protection_md(
    pub: Any,
    release_summary: Mapping[str, Any] | None,
    chart_records: Sequence[Mapping[str, Any]],
    cb: Codebook,
    lang: str = "en",
    w: Mapping[str, Any] | None = None,
) -> str:
    """The generated part of the appendix section "Protecting respondents", in plain words, in
    `lang` (`w`: its words, default :func:`words`)."""
    from belmig.report.locale import localize_text

    w = w if w is not None else words(lang)
    m = pub.min_cell
    out: list[str] = []
    withheld = sorted(pub.withheld(), key=lambda d: (d.reason.startswith("secondary"), d.key))
    weighted = [d for d in withheld if d.reason.startswith("primary: weighted")]
    primary = [d for d in withheld if d.reason.startswith("primary") and d not in weighted]
    secondary = [d for d in withheld if d.reason.startswith("secondary")]

    def values(ds: Sequence[Any]) -> str:  # a share and its interval are named once
        return "; ".join(dict.fromkeys(_value_words(cb, d.key, w, lang) for d in ds))

    out.append(w["small"].format(m=m))
    out.append(w["worked_out"].format(m=m, targets=pub.targets, recovered=len(pub.recoveries_before)))
    if withheld:
        out.append(
            w["withheld"].format(n=len(withheld))
            + (w["withheld_primary"].format(n=len(primary), m=m, values=values(primary)) if primary else "")
            + (w["withheld_weighted"].format(n=len(weighted), m=m, values=values(weighted)) if weighted else "")
            + (w["withheld_secondary"].format(n=len(secondary), m=m, values=values(secondary)) if secondary else "")
        )
    else:
        out.append(w["withheld_none"])
    rounded = [d for d in pub.decisions.values() if d.public and d.text is not None]
    if rounded:
        shown = "; ".join(f"{_value_words(cb, d.key, w, lang)} ({localize_text(f'{d.text}%', lang)})" for d in rounded)
        out.append(w["rounded"].format(m=m, values=shown))
    merged, hidden = [], []
    for rec in sorted(chart_records, key=lambda r: r.get("chart", 0)):
        chart = w["chart"].format(n=rec["chart"])
        spans = [b["label"] for b in rec.get("bars", []) if "+" in str(b.get("option", ""))]
        if spans:
            merged.append(w["chart_merged"].format(chart=chart, spans=_join(spans, w)))
        n_hidden = sum(1 for b in rec.get("bars", []) if b.get("suppressed"))
        if n_hidden:
            hidden.append(w["chart_hidden_one" if n_hidden == 1 else "chart_hidden"].format(chart=chart, n=n_hidden))
    if merged or hidden:
        parts = []
        if merged:
            parts.append(w["charts_merged"].format(m=m, charts=_join(merged, w)))
        if hidden:
            parts.append(w["charts_hidden"].format(m=m, charts=_join(hidden, w)))
        out.append(w["charts"].format(parts="; ".join(parts)))
    if release_summary:
        out.append(w["release"].format(sentences=" ".join(release_sentences(release_summary, cb, w, lang))))
    out.append(w["never"])
    return "\n".join(out) + "\n"
