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
