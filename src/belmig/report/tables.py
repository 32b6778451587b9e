"""Markdown tables for the report's Methods appendix, generated from processed data.

The renderer writes each function's output to ``report/_generated/<name>.md`` before pandoc
runs; ``report/report.qmd`` pulls them in with ``{{< include _generated/<name>.md >}}``.

Every function returns one or more pipe tables, each followed by a Quarto caption line
``: Caption {#tbl-…}`` so the tables can be cross-referenced (``@tbl-cleaning-flow``).
Subgroup counts below ``privacy.min_cell`` are never printed: the cell says "suppressed".

=============================  =====================================  ===================
function                       input (docs/architecture.md)            table id(s)
=============================  =====================================  ===================
cleaning_flow_md               cleaning_flow.csv                       tbl-cleaning-flow
weighting_md                   weighting_diagnostics.csv + weight.*    tbl-weighting-margins,
                                                                       tbl-weighting-summary
audit_md                       audit_bases.csv, audit_groups.csv       tbl-audit-bases,
                                                                       tbl-audit-groups
reproduction_md                reproduction.csv                        tbl-reproduction
weighted_vs_unweighted_md      estimates.parquet + codebook            tbl-weighted
levels_md                      level_plan.csv                          tbl-levels
frame_md                       estimates.parquet, frame_sensitivity    tbl-frame
multi_bases_md                 multi_bases.csv + codebook              tbl-multi-bases
values_md                      ledger entries + keys the report uses   tbl-values
data_source_md                 ingest_report.json                      tbl-data-source
=============================  =====================================  ===================

Size: one builder per appendix table sharing the pipe-table and suppression helpers, a little
above 600 lines; the disclosure-control work (issue on small cells) reshapes it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from belmig.core.keys import family as key_family, parse as parse_key

SUPPRESSED = "suppressed"
MAX_DASHES = 40  # widest relative column width in a pipe table
MIN_DASHES = 9  # narrowest: a short number column with its header ("Base used") must not overlap the next
DASH = "–"

# --------------------------------------------------------------------------- helpers


def _min_cell(min_cell: int | None) -> int:
    if min_cell is not None:
        return int(min_cell)
    from belmig.core import config

    return int(config.load()["privacy"]["min_cell"])


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


_ESCAPE_RE = re.compile(r"([\\|*<>\[\]@`$#])")


def cell(x: Any) -> str:
    """A value as the text of one table cell (pipes and Markdown specials escaped)."""
    if _missing(x):
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if isinstance(x, float):
        return f"{x:,.2f}"
    if isinstance(x, int):
        return f"{x:,}"
    s = " ".join(str(x).split())
    return _ESCAPE_RE.sub(r"\\\1", s)


def _truthy(x: Any) -> bool:
    """A yes/no cell read from CSV: True, "True", "yes", "1" (anything else is False)."""
    if _missing(x):
        return False
    if isinstance(x, str):
        return x.strip().lower() in ("true", "yes", "1", "ok", "match")
    return bool(x)


def code(x: Any) -> str:
    """An identifier (ledger key, question id) in code font."""
    s = str(x).replace("`", "'")
    return f"`{s}`"


def num(x: Any, decimals: int = 2) -> str:
    if _missing(x):
        return DASH
    return f"{float(x):,.{decimals}f}"


def count(x: Any, min_cell: int | None = None) -> str:
    """A count; below `min_cell` (when given) it is suppressed."""
    if _missing(x) or (isinstance(x, str) and not x.strip()):
        return DASH
    try:
        v = int(round(float(str(x).replace(",", ""))))
    except ValueError:
        return cell(x)
    if min_cell is not None and 0 < v < min_cell:
        return SUPPRESSED
    return f"{v:,}"


def pipe_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str,
    tbl_id: str,
    align: str | None = None,
) -> str:
    """A pandoc pipe table with a Quarto caption line. `align`: one of l/r/c per column.
    Cells must already be Markdown text (see :func:`cell`)."""
    headers = list(headers)
    rows = [list(r) for r in rows]
    if not tbl_id.startswith("tbl-"):
        raise ValueError(f"table id {tbl_id!r} must start with 'tbl-'")
    align = align or "l" * len(headers)
    if len(align) != len(headers):
        raise ValueError(f"align {align!r} has {len(align)} columns, headers have {len(headers)}")
    for r in rows:
        if len(r) != len(headers):
            raise ValueError(f"row {r!r} has {len(r)} cells, the table has {len(headers)} columns")
    if not rows:
        rows = [[DASH] * len(headers)]

    # Pandoc sizes wide pipe tables by the dashes of the separator line: make them proportional
    # to the longest cell of each column (clamped), so long notes get room and numbers do not.
    def measure(text: str) -> int:
        text = re.sub(r"\]\([^)]*\)", "]", text)  # a link shows its text, not its target
        # code (ledger keys, ids) is set in a wider monospace font and does not wrap
        return round(len(text) * 1.6) if text.startswith("`") else len(text)

    widths = []
    for j, h in enumerate(headers):
        longest = max([max((len(w) for w in h.split()), default=3)] + [measure(r[j]) for r in rows])
        widths.append(max(MIN_DASHES, min(MAX_DASHES, longest)))

    def sep(a: str, w: int) -> str:
        return {"l": ":" + "-" * (w - 1), "r": "-" * (w - 1) + ":", "c": ":" + "-" * (w - 2) + ":"}[a]

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(sep(a, w) for a, w in zip(align, widths)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    caption = " ".join(caption.split())
    return "\n".join(lines) + f"\n\n: {caption} {{#{tbl_id}}}\n"


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; has {list(df.columns)}")


# --------------------------------------------------------------------------- cleaning flow


def cleaning_flow_md(flow_df: pd.DataFrame) -> str:
    """Cleaning flow: one row per step (step, description, removed, remaining); with a
    ``violations`` column (belmig.clean), the skip-logic and consistency checks that follow
    the steps show the answers concerned among the analysed instead of removed/remaining."""
    _require(flow_df, ["step", "description", "removed", "remaining"], "cleaning flow")
    checks = "violations" in flow_df.columns
    rows = []
    for r in flow_df.itertuples(index=False):
        is_check = checks and not _missing(r.violations)
        row = [code(r.step), cell(r.description)]
        row += [DASH, DASH] if is_check else [count(r.removed), count(r.remaining)]
        if checks:
            row.append(count(r.violations) if is_check else DASH)
        rows.append(row)
    if not checks:
        return pipe_table(
            ["Step", "What the step does", "Removed", "Remaining"],
            rows,
            caption="Cleaning flow: from the submissions in the export to the respondents analysed",
            tbl_id="tbl-cleaning-flow",
            align="llrr",
        )
    return pipe_table(
        ["Step", "What the step does", "Removed", "Remaining", "Answers concerned"],
        rows,
        caption=(
            "Cleaning flow: from the submissions in the export to the respondents analysed, then the answers "
            "among them that break the questionnaire's skip logic or a consistency rule"
        ),
        tbl_id="tbl-cleaning-flow",
        align="llrrr",
    )


# --------------------------------------------------------------------------- weighting

_WEIGHT_HEADERS = {
    "margin": "Margin",
    "variable": "Margin",
    "question": "Margin",
    "level": "Category",
    "category": "Category",
    "n": "Respondents",
    "sample_n": "Respondents",
    "respondents": "Respondents",
    "count": "Respondents",
    "target": "Population share (%)",
    "target_pct": "Population share (%)",
    "population_pct": "Population share (%)",
    "population": "Population",
    "sample_pct": "Sample share (%)",
    "unweighted_pct": "Sample share (%)",
    "unweighted": "Sample share (%)",
    "weighted_pct": "Weighted share (%)",
    "weighted": "Weighted share (%)",
    "diff": "Weighted − population (points)",
    "mean_weight": "Mean weight",
}
_COUNT_COLS = {"n", "k", "sample_n", "respondents", "count", "cases"}

_SUMMARY_LABELS = {
    "deff": "Design effect due to weighting (Kish: 1 + CV² of the weights)",
    "n_eff": "Effective sample size",
    "efficiency": "Weighting efficiency (effective n / n)",
    "min": "Smallest weight",
    "max": "Largest weight",
    "iterations": "Iterations to convergence (raking sweeps or Newton steps)",
    "method": "Method",
    "p05": "Weight, 5th percentile",
    "p25": "Weight, lower quartile",
    "median": "Weight, median",
    "p75": "Weight, upper quartile",
    "p95": "Weight, 95th percentile",
    "bounds": "Bounds on weight / mean weight",
    "at_bounds": "Respondents at a bound",
    "converged": "Converged",
    "trimmed": "Weights trimmed",
    "n": "Respondents weighted",
    "total": "Sum of weights (population total)",
    "population_total": "Population total of the margins",
    "weight_sum": "Sum of the weights",
    "min_ratio": "Smallest weight / mean weight",
    "max_ratio": "Largest weight / mean weight",
    "max_gap": "Margins reached: largest relative gap to a target",
    "trim_cap": "Trimming cap (multiple of the mean weight)",
    "unclassified": "Respondents with a calibration variable missing (per margin file)",
    "message": "Outcome",
}


def _generic_rows(
    df: pd.DataFrame, headers: Mapping[str, str], min_cell: int
) -> tuple[list[str], list[list[str]], str]:
    cols = list(df.columns)
    out_headers, align = [], ""
    for c in cols:
        out_headers.append(headers.get(c, str(c).replace("_", " ").capitalize()))
        align += "r" if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) else "l"
    rows = []
    for _, r in df.iterrows():
        row = []
        for c in cols:
            v = r[c]
            if c in _COUNT_COLS:
                row.append(count(v, min_cell))
            elif isinstance(v, (float,)) and not _missing(v):
                row.append(num(v))
            else:
                row.append(cell(v))
        rows.append(row)
    return out_headers, rows, align


def _share_pct(x: Any) -> str:
    """A share stored as a fraction (0–1) printed as a percentage."""
    if _missing(x):
        return DASH
    return num(100 * float(x))


# diagnostics columns of belmig.weight.diagnostics -> (header, formatter kind)
_DIAG_COLUMNS = [
    ("margin", "Margin", "text"),
    ("category", "Category", "text"),
    ("n", "Respondents", "count"),
    ("sample_share", "Sample share (%)", "share"),
    ("target_share", "Population share (%)", "share"),
    ("weighted_share", "Weighted share (%)", "share"),
    ("target_count", "Population", "int"),
    ("weighted_count", "Sum of weights", "int"),
    ("gap", "Relative gap", "gap"),
]


def _gap(x: Any) -> str:
    """A relative gap to a target, in scientific notation (0 when it is exactly met)."""
    if _missing(x):
        return DASH
    return "0" if float(x) == 0 else cell(f"{float(x):.1e}")


def _summary_value(k: str, v: Any) -> str:
    if hasattr(v, "text"):
        return cell(v.text)
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Mapping):
        return cell("; ".join(f"{a}: {b}" for a, b in v.items()) or "none")
    if k == "efficiency" and isinstance(v, (int, float)) and v <= 1:
        return f"{100 * v:.1f}%"
    if k == "bounds" and isinstance(v, (list, tuple)):
        return cell(" to ".join(f"{float(b):g}" for b in v))
    if k in ("iterations", "n", "trimmed", "at_bounds") and isinstance(v, (int, float)):
        return count(v)
    if k == "max_gap" and isinstance(v, (int, float)):
        return _gap(v)
    if isinstance(v, float) and v.is_integer():
        return count(v)
    if isinstance(v, float):
        return num(v)
    return cell(v)


def weighting_md(diagnostics_df: pd.DataFrame, summary: Mapping[str, Any], *, min_cell: int | None = None) -> str:
    """Margins before and after raking (one row per margin category; ``belmig.weight.diagnostics``:
    margin, category, n, sample_share, target_share, weighted_share as fractions, target_count,
    weighted_count) and the summary of the weights (``weighting_summary.json``).

    Respondent counts below ``min_cell`` are suppressed. Other diagnostics columns are shown
    as they are. `summary` values may be numbers, strings, dicts or ledger entries."""
    mc = _min_cell(min_cell)
    known = [c for c in _DIAG_COLUMNS if c[0] in diagnostics_df.columns]
    if {"margin", "category"} <= set(diagnostics_df.columns):
        rows = []
        for _, r in diagnostics_df.iterrows():
            row = []
            for col, _h, kind in known:
                v = r[col]
                row.append(
                    {
                        "text": cell,
                        "count": lambda x: count(x, mc),
                        "share": _share_pct,
                        "int": lambda x: count(x),
                        "gap": _gap,
                    }[kind](v)
                )
            rows.append(row)
        headers = [h for _c, h, _k in known]
        align = "".join("l" if k == "text" else "r" for _c, _h, k in known)
    else:
        headers, rows, align = _generic_rows(diagnostics_df, _WEIGHT_HEADERS, mc)
    margins = pipe_table(
        headers,
        rows,
        caption=(
            "Weighting margins: population shares, sample shares before weighting, weighted shares, and the "
            "margins reached (relative gap of the weighted count to the target)"
        ),
        tbl_id="tbl-weighting-margins",
        align=align,
    )
    srows = []
    for k, v in summary.items():
        label = _SUMMARY_LABELS.get(k, str(k).replace("_", " ").capitalize())
        srows.append([cell(label), _summary_value(k, v)])
    stats = pipe_table(
        ["Statistic", "Value"],
        srows,
        caption="Summary of the survey weights: method, distribution, design effect, effective n and convergence",
        tbl_id="tbl-weighting-summary",
        align="lr",
    )
    return margins + "\n" + stats


# --------------------------------------------------------------------------- audit

_STATUS = {"ok": "ok", "conflict": "**conflict**", "assumed": "assumed"}


def _truncate(s: str, n: int = 48) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def reader_question(q: Any, codebook: Any | None) -> str:
    """A question as a reader names it (chart title or question text), the id as fallback."""
    if codebook is None or _missing(q) or str(q) not in getattr(codebook, "by_id", {}):
        return code(q)
    question = codebook[str(q)]
    title = None
    if question.chart is not None:
        try:
            title = codebook.chart(question.chart).title_en
        except KeyError:
            title = None
    return cell(title or question.text_en)


def reader_group(by: Any, level: Any, codebook: Any | None) -> str:
    """'sex = female' as a reader reads it ("Sex: female"; "female or male" for merged levels)."""
    if _missing(by) or str(by) == "":
        return "all respondents"
    by, level = str(by), str(level)
    if codebook is None or by not in getattr(codebook, "by_id", {}):
        return cell(f"{by} = {level}")
    q = codebook[by]
    names = []
    for part in level.split("+"):
        try:
            names.append(q.option(part).label_en)
        except KeyError:
            names.append(part)
    label = by.replace("_", " ").capitalize()
    if q.chart is not None:
        with contextlib.suppress(KeyError):
            label = codebook.chart(q.chart).title_en
    return cell(f"{label}: {' or '.join(names)}")


def audit_md(
    bases_df: pd.DataFrame, groups_df: pd.DataFrame | None, *, min_cell: int | None = None, codebook: Any | None = None
) -> str:
    """The audit of the published figures: for every question (and subgroup) the printed
    figures, the respondent bases consistent with all of them, and the base chosen. With a
    `codebook`, questions and groups carry the reader's labels, not codebook ids."""
    mc = _min_cell(min_cell)
    _require(
        bases_df,
        ["question", "by", "level", "figures", "consistent_bases", "chosen_base", "status", "note"],
        "audit bases",
    )
    rows = []
    for r in bases_df.itertuples(index=False):
        sub = reader_group(r.by, r.level, codebook)
        base = count(r.chosen_base, mc if sub != "all respondents" else None)
        rows.append(
            [
                reader_question(r.question, codebook),
                sub,
                cell(_truncate(str(r.figures).replace(";", "; ") if not _missing(r.figures) else "", 60)),
                cell(_truncate(str(r.consistent_bases).replace(",", ", ") if not _missing(r.consistent_bases) else "")),
                base,
                _STATUS.get(str(r.status), cell(r.status)),
                cell(r.note),
            ]
        )
    out = pipe_table(
        ["Question", "Respondents", "Printed figures", "Bases consistent with them", "Base used", "Status", "Note"],
        rows,
        caption="Audit of the published figures: which respondent bases reproduce every printed percentage",
        tbl_id="tbl-audit-bases",
        align="lllllll",
    )
    out += "\n" + _audit_groups(groups_df, mc, codebook)
    return out


def _audit_groups(groups_df: pd.DataFrame | None, mc: int, codebook: Any | None = None) -> str:
    cols = ["check", "question", "by", "level", "values", "result", "meaning"]
    caption = "Audit cross-checks: subgroups and follow-up questions fit the groups they belong to"
    if groups_df is None or not len(groups_df):
        return pipe_table(
            ["Check", "Question", "Respondents", "Values", "Result", "Meaning"],
            [],
            caption=caption,
            tbl_id="tbl-audit-groups",
            align="llllll",
        )
    if set(cols) <= set(groups_df.columns):
        rows = []
        for r in groups_df.itertuples(index=False):
            sub = reader_group(r.by, r.level, codebook)
            res = str(r.result)
            rows.append(
                [
                    cell(str(r.check).replace("_", " ")),
                    reader_question(r.question, codebook),
                    sub,
                    cell(r.values),
                    "**fail**" if res == "fail" else cell(res),
                    cell(r.meaning),
                ]
            )
        return pipe_table(
            ["Check", "Question", "Respondents", "Values", "Result", "Meaning"],
            rows,
            caption=caption,
            tbl_id="tbl-audit-groups",
            align="llllll",
        )
    headers, grows, align = _generic_rows(
        groups_df, {"question": "Question", "by": "Subgroup question", "level": "Group"}, mc
    )
    return pipe_table(headers, grows, caption=caption, tbl_id="tbl-audit-groups", align=align)


# --------------------------------------------------------------------------- reproduction

_COMPARATOR = {
    "=": "exact",
    "about": "about",
    "almost": "almost",
    "more_than": "more than",
    "slightly_more_than": "slightly more than",
    "only": "only",
}


def reproduction_md(repro_df: pd.DataFrame, withheld: Collection[str] = ()) -> str:
    """Each figure printed in 2022 next to its recomputation from our data
    (``tbl-reproduction``), and each qualitative statement with whether it holds
    (``tbl-reproduction-statements``; rows with ``kind == "statement"`` of reproduction.csv).

    A figure whose recomputation disclosure control withholds (``figure.<id>`` in `withheld`)
    prints "–" and no difference."""
    _require(repro_df, ["id", "printed", "comparator", "recomputed", "match", "note"], "reproduction")
    kind = repro_df["kind"].astype(str) if "kind" in repro_df.columns else pd.Series("figure", index=repro_df.index)
    figs, stmts = repro_df[kind != "statement"], repro_df[kind == "statement"]
    rows, matched = [], 0
    for r in figs.itertuples(index=False):
        ok = _truthy(r.match)
        matched += ok
        rec = (
            num(r.recomputed)
            if isinstance(r.recomputed, (int, float)) and not isinstance(r.recomputed, bool)
            else cell(r.recomputed)
        )
        note = r.note
        if f"figure.{r.id}" in withheld:
            rec, note = SUPPRESSED, "withheld to protect respondents (see Protecting respondents)"
        rows.append(
            [
                code(r.id),
                cell(str(r.printed)),
                cell(_COMPARATOR.get(str(r.comparator), r.comparator)),
                rec,
                "yes" if ok else "**no**",
                cell(note),
            ]
        )
    out = pipe_table(
        ["Figure", "Printed in 2022", "Wording", "Recomputed", "Match", "Note"],
        rows,
        caption=f"Reproduction of the survey figures printed in the 2022 report ({matched} of {len(rows)} match)",
        tbl_id="tbl-reproduction",
        align="lrlrll",
    )
    srows, held = [], 0
    for r in stmts.itertuples(index=False):
        ok = _truthy(r.match)
        held += ok
        srows.append([code(r.id), cell(r.note), code(r.printed), "yes" if ok else "**no**"])
    out += "\n" + pipe_table(
        ["Statement", "What the 2022 report says", "Condition on our values", "Holds"],
        srows,
        caption=f"Qualitative statements of the 2022 report checked on our data ({held} of {len(srows)} hold)",
        tbl_id="tbl-reproduction-statements",
        align="lllc",
    )
    return out


# --------------------------------------------------------------------------- weighted vs unweighted


def _parse_headline(key: str) -> tuple[str, str, str]:
    """'pct.q.opt' | 'mean.q' | 'q.opt' -> (stat, question, option)."""
    k = parse_key(key)
    if k.family in ("pct", "wpct") and len(k.parts) == 2:
        return "pct", k.parts[0], k.parts[1]
    if k.family in ("mean", "wmean") and len(k.parts) == 1:
        return "mean", k.parts[0], ""
    parts = key.split(".")  # the short forms
    if len(parts) == 2:
        return "pct", parts[0], parts[1]
    if len(parts) == 1:
        return "mean", parts[0], ""
    raise ValueError(f"headline key {key!r}: expected 'pct.<q>.<opt>', 'mean.<q>' or '<q>.<opt>'")


def _label(codebook: Any, q: str, opt: str, stat: str) -> str:
    try:
        question = codebook[q]
    except KeyError:
        return f"{q} {opt}".strip()
    title = None
    if question.chart is not None:
        try:
            title = codebook.chart(question.chart).title_en
        except KeyError:
            title = None
    title = title or question.text_en
    if stat == "mean":
        return f"{title}: mean rating"
    if opt == "ge8":
        return f"{title}: 8 or higher"
    if opt.startswith("v") and opt[1:].isdigit():
        return f"{title}: {opt[1:]}"
    try:
        return f"{title}: {question.option(opt).label_en}"
    except KeyError:
        return f"{title}: {opt}"


def _pick(est: pd.DataFrame, q: str, opt: str, stat: str, weighted: bool) -> pd.Series | None:
    by = est["by"].fillna("") if "by" in est else ""
    level = est["level"].fillna("") if "level" in est else ""
    option = est["option"].fillna("")
    m = (
        (est["question"] == q)
        & (option == opt)
        & (est["stat"] == stat)
        & (by == "")
        & (level == "")
        & (est["weighted"].astype(bool) == weighted)
    )
    hit = est[m]
    if hit.empty:
        return None
    return hit.iloc[0]


def weighted_vs_unweighted_md(
    estimates_df: pd.DataFrame,
    codebook: Any,
    keys: Sequence[str],
    *,
    min_cell: int | None = None,
    confidence: float = 0.95,
    withheld: Collection[str] = (),
) -> str:
    """Headline figures unweighted and weighted, each with its confidence interval; the
    unweighted base n and the effective n of the weighted estimate.

    `keys`: ``pct.<q>.<opt>`` / ``mean.<q>`` (or ``<q>.<opt>``), in the order to print.
    `withheld`: ledger keys disclosure control withholds (``pct.*``, ``wpct.*``, ``n.*``,
    ``mean.*``, ``wmean.*``): printed as suppressed."""
    _require(
        estimates_df,
        ["question", "option", "stat", "by", "level", "weighted", "estimate", "ci_low", "ci_high", "n", "n_eff"],
        "estimates",
    )
    mc = _min_cell(min_cell)
    rows = []
    for key in keys:
        stat, q, opt = _parse_headline(key)
        u = _pick(estimates_df, q, opt, stat, False)
        w = _pick(estimates_df, q, opt, stat, True)
        unit = "%" if stat == "pct" else ""

        def fmt(r: pd.Series | None) -> tuple[str, str]:
            if r is None:
                return DASH, DASH
            small = bool(r.get("suppressed", False)) if not _missing(r.get("suppressed", None)) else False
            k = r.get("k", None)
            if stat == "pct" and not _missing(k) and 0 < float(k) < mc:  # noqa: B023 (called in this iteration)
                small = True
            if small:
                return SUPPRESSED, SUPPRESSED
            if str(r.get("ci_method", "")) == "fixed":
                return f"{num(r['estimate'])}{unit}", "fixed by design"  # noqa: B023
            return f"{num(r['estimate'])}{unit}", f"{num(r['ci_low'])}{DASH}{num(r['ci_high'])}"  # noqa: B023

        ue, uci = fmt(u)
        we, wci = fmt(w)
        n = count(u["n"]) if u is not None else DASH
        neff = num(w["n_eff"], 0) if w is not None and not _missing(w["n_eff"]) else DASH
        ukey, wkey = (f"pct.{q}.{opt}", f"wpct.{q}.{opt}") if stat == "pct" else (f"mean.{q}", f"wmean.{q}")
        if ukey in withheld:
            ue, uci = SUPPRESSED, SUPPRESSED
        if wkey in withheld or f"wci.{q}.{opt}" in withheld or f"wci_mean.{q}" in withheld:
            we, wci, neff = SUPPRESSED, SUPPRESSED, SUPPRESSED
        if f"n.{q}" in withheld:
            n, uci = SUPPRESSED, SUPPRESSED if ue != SUPPRESSED else uci
        if SUPPRESSED in (ue, we):
            n = n if ue != SUPPRESSED else SUPPRESSED
        rows.append([cell(_label(codebook, q, opt, stat)), ue, uci, n, we, wci, neff])
    level = f"{confidence * 100:g}% CI"
    return pipe_table(
        ["Figure", "Unweighted", f"{level}", "n", "Weighted", f"{level}", "Effective n"],
        rows,
        caption=(
            f"Headline figures without and with weights ({level.replace('CI', 'confidence intervals')}; "
            "n is the unweighted base, effective n that of the weighted estimate)"
        ),
        tbl_id="tbl-weighted",
        align="lrrrrrr",
    )


# --------------------------------------------------------------------------- levels

_ACTION = {"kept": "kept", "merged": "merged", "dropped": "**dropped**"}


def levels_md(plan_df: pd.DataFrame, codebook: Any, *, min_cell: int | None = None) -> str:
    """Which subgroup levels entered the estimates and tests (``level_plan.csv`` of
    :meth:`belmig.privacy.levels.LevelPlan.table`): every option of every subgroup question, the
    level it was analysed in, merged or dropped and why, and the respondents of that level. The n
    of a dropped level or of a merged level's parts is not in the file and not printed."""
    mc = _min_cell(min_cell)
    _require(plan_df, ["question", "option", "label", "level", "action", "reason", "n"], "level plan")
    rows = []
    for r in plan_df.itertuples(index=False):
        try:
            label = codebook[r.question].option(r.option).label_en
        except KeyError:
            label = r.option
        level = DASH if _missing(r.level) or not str(r.level) else code(r.level)
        rows.append([code(r.question), cell(label), level, _ACTION.get(str(r.action), cell(r.action)),
                     cell(r.reason) if not _missing(r.reason) and str(r.reason) else DASH, count(r.n, mc)])  # fmt: skip
    return pipe_table(
        ["Subgroup", "Answer", "Analysed as", "Done", "Why", "Respondents"],
        rows,
        caption=(
            f"Subgroup levels in the estimates and tests: merged as configured, or dropped below {mc} respondents "
            "(with complementary suppression, so that no dropped group follows by subtraction)"
        ),
        tbl_id="tbl-levels",
        align="lllllr",
    )


# --------------------------------------------------------------------------- sensitivity


def frame_md(
    estimates_df: pd.DataFrame, frame_df: pd.DataFrame, codebook: Any, keys: Sequence[str], *, frame: str
) -> str:
    """Headline figures unweighted, weighted to the configured margins, and weighted to the
    alternative frame (`frame`: how it is described), with the shift the frame makes."""
    _require(frame_df, ["question", "option", "stat", "estimate"], "alternative frame")
    rows = []
    for key in keys:
        stat, q, opt = _parse_headline(key)
        u = _pick(estimates_df, q, opt, stat, False)
        w = _pick(estimates_df, q, opt, stat, True)
        hit = frame_df[
            (frame_df["question"] == q) & (frame_df["option"].fillna("") == opt) & (frame_df["stat"] == stat)
        ]
        a = hit.iloc[0] if len(hit) else None
        unit = "%" if stat == "pct" else ""

        def fmt(r: Any) -> str:
            return DASH if r is None or _missing(r["estimate"]) else f"{num(r['estimate'])}{unit}"  # noqa: B023

        shift = DASH if w is None or a is None else f"{float(a['estimate']) - float(w['estimate']):+.2f}"
        rows.append([cell(_label(codebook, q, opt, stat)), fmt(u), fmt(w), fmt(a), shift])
    return pipe_table(
        ["Figure", "Unweighted", "Weighted", f"Weighted, {frame}", "Shift (points)"],
        rows,
        caption=(
            f"Headline figures under another frame: weighted to the municipality margin, and to {frame} only "
            "(shift = alternative frame − weighted)"
        ),
        tbl_id="tbl-frame",
        align="lrrrr",
    )


def multi_bases_md(bases_df: pd.DataFrame, codebook: Any, keys: Sequence[str]) -> str:
    """Multiple-choice figures on both bases: of those who answered the question (the report's
    base) and of everyone asked (a blank counted as not chosen). `keys`: ``pct.<q>.<opt>``."""
    _require(bases_df, ["question", "option", "k", "n_answered", "pct_answered", "n_asked", "pct_asked"], "bases")
    idx = bases_df.set_index(["question", "option"])
    rows = []
    for key in keys:
        _stat, q, opt = _parse_headline(key)
        if (q, opt) not in idx.index:
            continue
        r = idx.loc[(q, opt)]
        shift = float(r["pct_asked"]) - float(r["pct_answered"])
        rows.append([cell(_label(codebook, q, opt, "pct")), f"{num(r['pct_answered'])}%", count(r["n_answered"]),
                     f"{num(r['pct_asked'])}%", count(r["n_asked"]), f"{shift:+.2f}"])  # fmt: skip
    return pipe_table(
        ["Figure", "Of those who answered", "n answered", "Of everyone asked", "n asked", "Shift (points)"],
        rows,
        caption=(
            "Multiple-choice figures on two bases: of those who answered the question (as printed) and of everyone "
            "it was asked of, a blank answer counted as not chosen"
        ),
        tbl_id="tbl-multi-bases",
        align="lrrrrr",
    )


# --------------------------------------------------------------------------- values


def _entry_get(e: Any, name: str) -> Any:
    if isinstance(e, Mapping):
        return e.get(name)
    return getattr(e, name, None)


def _as_mapping(entries: Mapping[str, Any] | Iterable[Any]) -> dict[str, Any]:
    if isinstance(entries, Mapping):
        return dict(entries)
    return {_entry_get(e, "key"): e for e in entries}


def _decimals(text: str) -> int:
    m = re.search(r"\.(\d+)\s*$", str(text))
    return len(m.group(1)) if m else 2


def values_md(
    ledger_entries: Mapping[str, Any] | Iterable[Any],
    used_keys: Sequence[str],
    *,
    link_prefix: str = "../",
    min_cell: int | None = None,
) -> str:
    """Every value the report uses: key, printed text, confidence interval, base n and a link
    to the executed-notebook cell that computed it. Keys not in the ledger are listed as
    missing, so the table shows them rather than hiding them."""
    mc = _min_cell(min_cell)
    entries = _as_mapping(ledger_entries)
    rows = []
    for key in dict.fromkeys(used_keys):
        e = entries.get(key)
        if e is None:
            rows.append([code(key), "**missing from the ledger**", DASH, DASH, DASH])
            continue
        text = _entry_get(e, "text")
        value = _entry_get(e, "value")
        family = key_family(key)
        if family in ("count", "nby") and not _missing(value) and 0 < float(value) < mc:
            text = SUPPRESSED
        lo, hi = _entry_get(e, "ci_low"), _entry_get(e, "ci_high")
        d = _decimals(text) if text != SUPPRESSED else 2
        ci = f"{lo:.{d}f}{DASH}{hi:.{d}f}" if not _missing(lo) and not _missing(hi) else DASH
        n = _entry_get(e, "n")
        base = count(n, mc) if family in ("pctby", "nby") else count(n)
        if base == SUPPRESSED:
            text, ci = SUPPRESSED, SUPPRESSED
        source = _entry_get(e, "source")
        if source is None:
            nb, c = _entry_get(e, "notebook"), _entry_get(e, "cell")
            source = f"notebooks/executed/{nb}.html#{c}" if nb else None
        label = _entry_get(e, "notebook") or _entry_get(e, "stage") or "source"
        link = f"[{cell(label)}]({link_prefix}{source})" if source else DASH
        rows.append([code(key), cell(text), ci, base, link])
    return pipe_table(
        ["Ledger key", "Value", "CI", "Base n", "Computed in"],
        rows,
        caption="Every value used in this report, with its confidence interval, its base and the notebook cell that computed it",
        tbl_id="tbl-values",
        align="lrrrl",
    )


# --------------------------------------------------------------------------- data source

PLATFORM_NAMES = {
    "generic": "the codebook's own layout",
    "google_forms": "Google Forms",
    "surveymonkey": "SurveyMonkey",
    "qualtrics": "Qualtrics",
    "limesurvey": "LimeSurvey",
    "kobo": "KoboToolbox",
    "spss": "SPSS",
    "stata": "Stata",
}


def _admin_cell(a: Mapping[str, Any], lacking: str) -> str:
    if a.get("status") == "generated":
        return "generated from the data row (the export has none)"
    if a.get("status") != "read":
        return lacking
    parts = [f"column {a['column']!r}"]
    if a.get("format"):
        parts.append(a["format"])
    if a.get("time_zone"):
        parts.append(a["time_zone"])
    return cell(", ".join(parts))


def data_source_md(doc: Mapping[str, Any]) -> str:
    """How the raw export was read (from ``ingest_report.json``): a paragraph and a table."""
    p = doc["platform"]
    name = PLATFORM_NAMES.get(p["used"], p["used"])
    how = "as set in the configuration" if p["forced"] else f"detected from the file: {p['evidence']}"
    qs = doc["questions"]
    found = [q for q in qs if not str(q.get("method", "")).startswith("not found")]
    methods: dict[str, int] = {}
    for q in found:
        methods[q["method"]] = methods.get(q["method"], 0) + 1
    by = "; ".join(f"{k}: {v}" for k, v in methods.items())
    mapping = f", with the mapping overlay `{doc['mapping']}`" if doc.get("mapping") else ""
    as_what = f"in {name}" if p["used"] == "generic" else f"as a {name} export"
    rows_txt = "one header row" if doc["header_rows"] == 1 else f"{doc['header_rows']} header rows"
    text = (
        f"**How the export was read.** The raw export `{doc['file']}` (SHA-256 `{doc['sha256'][:12]}…`) was read "
        f"{as_what} ({cell(how)}){mapping}, with {rows_txt} and {doc['submissions']:,} submissions. "
        f"{len(found)} of the {len(qs)} codebook questions were found in it. "
    )
    text += " ".join(doc.get("consequences", []))
    warns = [w for w in doc.get("warnings", []) if w["check"] != "no_start_time"]  # said in the consequences
    if warns:
        text += (
            " Ingestion reported: "
            + "; ".join(f"{w['message']}" + (f" ({w['count']} cell(s))" if w.get("count") else "") for w in warns)
            + "."
        )
    text += (
        f" Direct identifiers ({len(doc.get('identifiers_dropped', []))} column(s)) were dropped without being read."
    )
    admin = doc["admin"]
    rows = [
        ["Platform", cell(f"{name} ({how})")],
        ["Header rows", cell(doc["header_rows"])],
        ["Submissions", cell(doc["submissions"])],
        ["Response id", _admin_cell(admin["response_id"], "lacking")],
        ["Start time", _admin_cell(admin["started_at"], "lacking: durations unknown, speeder check skipped")],
        ["Submission time", _admin_cell(admin["submitted_at"], "lacking")],
        ["Questions found", cell(f"{len(found)} of {len(qs)} ({by})")],
        ["Mapping overlay", cell(doc.get("mapping") or "none")],
        ["Identifiers dropped unread", cell(f"{len(doc.get('identifiers_dropped', []))} column(s)")],
        ["Platform metadata not used", cell(f"{len(doc.get('metadata_ignored', []))} column(s)")],
        [
            "Warnings",
            cell("; ".join(f"{w['check']}: {w['count']}" for w in warns) if warns else "none"),
        ],
    ]
    table = pipe_table(
        ["Item", "In this export"],
        rows,
        caption="Data source: how the raw export was read, and what it lacks",
        tbl_id="tbl-data-source",
        align="ll",
    )
    return " ".join(text.split()) + "\n\n" + table
