"""Plain-language sentences about what disclosure control did in this build.

The release README and the report's appendix ("Protecting respondents") are generated from the
build's decisions with these functions, never typed: when the data change, the text changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from belmig.core.codebook import Codebook


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _label(cb: Codebook, q: str, key: str) -> str:
    try:
        return cb[q].option(key).label_en
    except (KeyError, AttributeError):
        return key


def _name(cb: Codebook, q: str) -> str:
    names = {
        "age_group": "age group",
        "sex": "sex",
        "municipality": "municipality",
        "arrival_year": "year of arrival",
        "legal_status": "legal status",
        "income_regular": "regular income",
        "diaspora_involved": "involvement in diaspora organisations",
        "support_programs": "use of social security programmes",
    }
    if q in names:
        return names[q]
    return cb[q].text_en.rstrip("?") if q in cb.by_id else q


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


def release_sentences(summary: Mapping[str, Any], cb: Codebook) -> list[str]:
    """What the release changed, one sentence per variable or action, in plain English."""
    k = summary["k"]
    out = []
    qis = list(summary["quasi_identifiers"])
    extras = list(summary["extra_identifiers"])
    out.append(
        f"Someone who knows a respondent's {_join([_name(cb, q) for q in qis])} must not be able to pick out "
        f"their record: every respondent shares these values with at least {k - 1} other records "
        f"(an empty value counts as possibly theirs), and the same holds when one more of "
        f"{_join([_name(cb, q) for q in extras]) or 'no other answer'} is known."
        if extras
        else f"Someone who knows a respondent's {_join([_name(cb, q) for q in qis])} must not be able to pick out "
        f"their record: every respondent shares these values with at least {k - 1} other records "
        f"(an empty value counts as possibly theirs)."
    )
    for q in qis + extras:
        if q in summary["dropped"]:
            out.append(
                f"The {_name(cb, q)} is left out of the release: keeping it would have needed more merging "
                "or more empty values elsewhere than the information it carries."
            )
            continue
        groups = merges(cb, q, summary["recodes"].get(q, {}))
        if groups:
            parts = [_join([f"“{_label(cb, q, m)}”" for m in g]) for g in groups]
            out.append(
                f"The {_name(cb, q)} is released with fewer categories: "
                + "; ".join(f"{p} form one category" for p in parts)
                + f" (each category of the release holds at least {k} respondents)."
            )
    blanked = summary.get("blanked") or {}
    if blanked:
        what = _join([f"{n} of {_name(cb, v)}" for v, n in blanked.items()])
        out.append(
            f"In {summary['records_with_blanks']} records some of these values are left empty ({what}), so that "
            "the few respondents with a rare combination have enough records they could be."
        )
    if summary.get("weights") == "reraked":
        out.append(
            "The weights are raked again to the population margins of "
            f"{_join([_name(cb, v) for v in summary['raking_variables']])} on the released categories only: "
            "weights computed on the original categories would tell apart the categories the release merges."
        )
    return out


# ------------------------------------------------------------------------------ the report


def _value_words(cb: Codebook, key: str) -> str:
    """A published value in words: "the share of respondents with legal status “Asylum ...”"."""
    from belmig.core import keys as K

    if key.startswith("figure."):
        return f"the recomputed 2022 figure {key[len('figure.') :]} in the reproduction table"
    k = K.parse(key)
    p = k.parts

    def q_text(q: str) -> str:
        return f"“{cb[q].text_en}”" if q in cb.by_id else q

    def group(by: str, level: str) -> str:
        labels = [_label(cb, by, lv) for lv in level.split("+")] if by in cb.by_id else [level]
        return f"respondents whose {_name(cb, by)} is {_join([f'“{x}”' for x in labels])}"

    try:
        if k.family in ("pct", "wpct") and len(p) == 2:
            return f"the share answering “{_label(cb, p[0], p[1])}” to {q_text(p[0])}"
        if k.family == "count" and len(p) == 2:
            return f"the number answering “{_label(cb, p[0], p[1])}” to {q_text(p[0])}"
        if k.family == "n" and len(p) == 1:
            return f"the number who answered {q_text(p[0])}"
        if k.family in ("mean", "wmean") and len(p) == 1:
            return f"the mean rating of {q_text(p[0])}"
        if k.family == "pctby" and len(p) == 4:
            return f"the share answering “{_label(cb, p[2], p[3])}” to {q_text(p[2])} among {group(p[0], p[1])}"
        if k.family == "nby" and len(p) == 3:
            return f"the number of {group(p[0], p[1])} who answered {q_text(p[2])}"
        if k.family == "pby" and len(p) >= 2:
            return f"the test of whether answers to {q_text(p[1])} differ by {_name(cb, p[0])}"
        if k.family == "other" and len(p) == 2:
            return f"the number of coded answers ({p[1]}) to {q_text(p[0])}"
    except KeyError:
        pass
    return key


def protection_md(
    pub: Any,
    release_summary: Mapping[str, Any] | None,
    chart_records: Sequence[Mapping[str, Any]],
    cb: Codebook,
) -> str:
    """The generated part of the appendix section "Protecting respondents", in plain words."""
    m = pub.min_cell
    out: list[str] = []
    withheld = sorted(pub.withheld(), key=lambda d: (d.reason.startswith("secondary"), d.key))
    primary = [d for d in withheld if d.reason.startswith("primary")]
    secondary = [d for d in withheld if d.reason.startswith("secondary")]
    out.append(
        f"- **Small numbers.** No number in the report, its tables, its charts or the reviewers' notebooks "
        f"rests on fewer than {m} respondents: not a count, a base, a share, a mean, an interval or a test, "
        f"and not the complement of a share (those in the base who did not give the answer)."
    )
    out.append(
        f"- **Numbers that could be worked out.** Every number the report prints was checked together with "
        f"every other published number, the way a determined reader would: totals, bases, shares printed to "
        f"two decimals (which fix their count), the charts and the released microdata, solved exactly for any "
        f"count of fewer than {m} people. {pub.targets} such small counts exist among the groups the report "
        f"touches; {len(pub.recoveries_before)} of them could have been worked out from what the report would "
        f"otherwise print."
    )
    if withheld:
        out.append(
            f"- **Not printed** (shown as “–”): {len(withheld)} value(s). "
            + (
                f"{len(primary)} rest on fewer than {m} respondents: "
                + "; ".join(_value_words(cb, d.key) for d in primary)
                + ". "
                if primary
                else ""
            )
            + (
                f"{len(secondary)} would, together with other published numbers, have let a reader work out a "
                f"count of fewer than {m} respondents: " + "; ".join(_value_words(cb, d.key) for d in secondary) + "."
                if secondary
                else ""
            )
        )
    else:
        out.append("- **Not printed:** nothing; every value the report prints passed both checks.")
    rounded = [d for d in pub.decisions.values() if d.public and d.text is not None]
    if rounded:
        out.append(
            f"- **Printed to whole percent** (instead of two decimals, which would have let a reader work out "
            f"a count of fewer than {m} respondents together with other published numbers): "
            + "; ".join(f"{_value_words(cb, d.key)} ({d.text}%)" for d in rounded)
            + "."
        )
    merged, hidden = [], []
    for rec in sorted(chart_records, key=lambda r: r.get("chart", 0)):
        spans = [b["label"] for b in rec.get("bars", []) if "+" in str(b.get("option", ""))]
        if spans:
            merged.append(f"Chart {rec['chart']} (ratings {_join(spans)})")
        n_hidden = sum(1 for b in rec.get("bars", []) if b.get("suppressed"))
        if n_hidden:
            hidden.append(f"Chart {rec['chart']} ({n_hidden} answer{'s' if n_hidden > 1 else ''})")
    if merged or hidden:
        parts = []
        if merged:
            parts.append(
                f"ratings given by fewer than {m} respondents are shown together with their neighbours: {_join(merged)}"
            )
        if hidden:
            parts.append(
                f"bars resting on fewer than {m} respondents, or that would give one away, are not shown: {_join(hidden)}"
            )
        out.append("- **Charts.** " + "; ".join(parts) + ".")
    if release_summary:
        rs = release_sentences(release_summary, cb)
        out.append(
            "- **Released microdata.** " + " ".join(rs) + " Rows are in random order and record ids are random numbers."
        )
    out.append(
        "- **Never published:** the full table of computed values (only the values printed here leave the "
        "build), the free text of open answers, the respondents' identifiers, contact details and timestamps."
    )
    return "\n".join(out) + "\n"
