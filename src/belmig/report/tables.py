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
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from belmig.core.keys import family as key_family, parse as parse_key

SUPPRESSED = "suppressed"  # the builders' marker; printed in the edition's words (common.suppressed)
MAX_DASHES = 40  # widest relative column width in a pipe table
MIN_DASHES = 9  # narrowest: a short number column with its header ("Base used") must not overlap the next
DASH = "–"
LINE_CHARS = 100  # characters of table text on one line of the PDF page (widths are shares of it)

# --------------------------------------------------------------------------- words

LANGS = ("en", "lt", "ru")


def words_path(lang: str, report_dir: Path | None = None) -> Path:
    """The words of the tables in edition `lang`: ``report/tables.yaml`` (English) or
    ``report/tables.<lang>.yaml``."""
    from belmig.core import paths

    if lang not in LANGS:
        raise ValueError(f"unknown table language {lang!r}: one of {', '.join(LANGS)}")
    return (report_dir or paths.REPORT) / ("tables.yaml" if lang == "en" else f"tables.{lang}.yaml")


@lru_cache(maxsize=16)
def _read_words(path: str, mtime: float) -> dict[str, Any]:
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_words(path: Path) -> dict[str, Any]:
    """One words file (nested mapping of strings)."""
    p = Path(path)
    return _read_words(str(p.resolve()), p.stat().st_mtime)


class Words:
    """The reader-facing words of one edition's tables: ``w("levels.caption", min_cell=5)``."""

    def __init__(self, data: Mapping[str, Any], lang: str = "en") -> None:
        self.data, self.lang = data, lang

    def get(self, key: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def __call__(self, key: str, **fmt: Any) -> str:
        node = self.get(key)
        if not isinstance(node, str):
            raise KeyError(f"tables.yaml ({self.lang}): no string {key!r}")
        text = " ".join(node.split())
        text = (" " if node[:1].isspace() else "") + text + (" " if node[-1:].isspace() else "")
        return text.format(**fmt) if fmt else text


def words(lang: str | Words = "en", path: Path | None = None) -> Words:
    """The words of edition `lang` (from `path`, default :func:`words_path`)."""
    if isinstance(lang, Words):
        return lang
    return Words(load_words(path or words_path(lang)), lang)


def flat_keys(data: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every leaf key of a words file, dotted ("levels.headers.why")."""
    out: set[str] = set()
    for k, v in data.items():
        key = f"{prefix}{k}"
        out |= flat_keys(v, key + ".") if isinstance(v, Mapping) else {key}
    return out


def _question_name(codebook: Any, q: str, lang: str) -> str:
    """A question as a reader names it in `lang`: its chart's title, else its text, else the id."""
    try:
        question = codebook[q]
    except (KeyError, TypeError):
        return str(q).replace("_", " ").capitalize()
    if question.chart is not None:
        with contextlib.suppress(KeyError):
            return codebook.chart(question.chart).title(lang)
    return question.text(lang)


def _option_label(codebook: Any, q: str, opt: str, lang: str) -> str:
    try:
        return codebook[q].option(opt).label(lang)
    except (KeyError, TypeError):
        return str(opt)


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
    s = re.sub(r"[ \t\r\n]+", " ", str(x)).strip()  # a no-break space (1 234, 80 %) stays
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
    words: Words | None = None,
) -> str:
    """A pandoc pipe table with a Quarto caption line. `align`: one of l/r/c per column.
    Cells must already be Markdown text (see :func:`cell`); with `words`, a suppressed cell
    says so in the edition's language."""
    headers = list(headers)
    said = words("common.suppressed") if words is not None else SUPPRESSED
    rows = [[said if c == SUPPRESSED else c for c in r] for r in rows]
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
    # The widths are shares of the line (about LINE_CHARS characters of table text): give every
    # column at least its longest word (header or cell) so that "оставлен" or "Respondentai" is
    # not hyphenated next to wide label columns.
    words_ = [
        max((len(w.strip("*")) for t in [h, *(r[j] for r in rows)] if not t.startswith("`")
             for w in re.sub(r"\]\([^)]*\)", "]", t).split()), default=3)
        for j, h in enumerate(headers)
    ]  # fmt: skip
    for _ in range(3):
        total = sum(widths)
        widths = [max(w, min(MAX_DASHES, math.ceil((n + 2) * total / LINE_CHARS))) for w, n in zip(widths, words_)]

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


def _step_name(step: str, w: Words, codebook: Any | None) -> str:
    """A cleaning step as a reader names it: "Duplicates", "Skip logic: Regular income"."""
    name = w.get(f"cleaning_flow.steps.{step}")
    if isinstance(name, str):
        return cell(name)
    for prefix, key in (("skip_", "cleaning_flow.skip"), ("consistency_", "cleaning_flow.consistency")):
        if step.startswith(prefix):
            return cell(w(key, question=_question_name(codebook, step.removeprefix(prefix), w.lang)))
    return cell(step.replace("_", " ").capitalize())


def cleaning_flow_md(flow_df: pd.DataFrame, *, lang: str | Words = "en", codebook: Any | None = None) -> str:
    """Cleaning flow: one row per step (step, description, removed, remaining); with a
    ``violations`` column (belmig.clean), the skip-logic and consistency checks that follow
    the steps show the answers concerned among the analysed instead of removed/remaining.
    Steps are named in the edition's words (a check by the question it is about, with `codebook`)."""
    from belmig.report import notes

    _require(flow_df, ["step", "description", "removed", "remaining"], "cleaning flow")
    w = words(lang)
    checks = "violations" in flow_df.columns
    rows = []
    for r in flow_df.itertuples(index=False):
        is_check = checks and not _missing(r.violations)
        said = notes.worded(getattr(r, "notes", None), r.description, w, codebook)
        row = [_step_name(str(r.step), w, codebook), cell(said)]
        row += [DASH, DASH] if is_check else [count(r.removed), count(r.remaining)]
        if checks:
            row.append(count(r.violations) if is_check else DASH)
        rows.append(row)
    h = [w(f"cleaning_flow.headers.{k}") for k in ("step", "does", "removed", "remaining", "concerned")]
    return pipe_table(
        h if checks else h[:4],
        rows,
        caption=w("cleaning_flow.caption_checks" if checks else "cleaning_flow.caption"),
        tbl_id="tbl-cleaning-flow",
        align="llrrr" if checks else "llrr",
        words=w,
    )


# --------------------------------------------------------------------------- weighting

# generic diagnostics columns -> header key (weighting.headers.<key>)
_WEIGHT_HEADERS = {
    "margin": "margin",
    "variable": "margin",
    "question": "margin",
    "level": "category",
    "category": "category",
    "n": "n",
    "sample_n": "n",
    "respondents": "n",
    "count": "n",
    "target": "target_share",
    "target_pct": "target_share",
    "population_pct": "target_share",
    "population": "target_count",
    "sample_pct": "sample_share",
    "unweighted_pct": "sample_share",
    "unweighted": "sample_share",
    "weighted_pct": "weighted_share",
    "weighted": "weighted_share",
    "diff": "diff",
    "mean_weight": "mean_weight",
}
_COUNT_COLS = {"n", "k", "sample_n", "respondents", "count", "cases"}


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


# diagnostics columns of belmig.weight.diagnostics -> formatter kind (header: weighting.headers.<column>)
_DIAG_COLUMNS = [
    ("margin", "text"),
    ("category", "text"),
    ("n", "count"),
    ("sample_share", "share"),
    ("target_share", "share"),
    ("weighted_share", "share"),
    ("target_count", "int"),
    ("weighted_count", "int"),
    ("gap", "gap"),
]


def _gap(x: Any) -> str:
    """A relative gap to a target, in scientific notation (0 when it is exactly met)."""
    if _missing(x):
        return DASH
    return "0" if float(x) == 0 else cell(f"{float(x):.1e}")


def _summary_value(k: str, v: Any, w: Words) -> str:
    if hasattr(v, "text"):
        return cell(v.text)
    if v is None:
        return w("common.none")
    if isinstance(v, bool):
        return w("common.yes") if v else w("common.no")
    if isinstance(v, Mapping):
        return cell("; ".join(f"{a}: {b}" for a, b in v.items()) or w("common.none"))
    if k == "efficiency" and isinstance(v, (int, float)) and v <= 1:
        return f"{100 * v:.1f}%"
    if k == "bounds" and isinstance(v, (list, tuple)):
        return cell(w("common.to").join(f"{float(b):g}" for b in v))
    if k in ("iterations", "n", "trimmed", "at_bounds") and isinstance(v, (int, float)):
        return count(v)
    if k == "max_gap" and isinstance(v, (int, float)):
        return _gap(v)
    if k == "method" and isinstance(v, str):
        return cell(w.get(f"weighting.methods.{v}") or v)
    if isinstance(v, float) and v.is_integer():
        return count(v)
    if isinstance(v, float):
        return num(v)
    return cell(v)


def _margin_question(margin: Any, codebook: Any | None) -> str | None:
    """The codebook question a margin file is about ("margins_municipality_2022-11.csv" ->
    "municipality"), None when no question id is in its name."""
    if codebook is None or _missing(margin):
        return None
    stem = Path(str(margin)).stem
    hits = [q for q in getattr(codebook, "by_id", {}) if re.search(rf"(?<![a-z]){re.escape(q)}(?![a-z])", stem)]
    return max(hits, key=len) if hits else None


def weighting_md(
    diagnostics_df: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    min_cell: int | None = None,
    lang: str | Words = "en",
    codebook: Any | None = None,
) -> str:
    """Margins before and after raking (one row per margin category; ``belmig.weight.diagnostics``:
    margin, category, n, sample_share, target_share, weighted_share as fractions, target_count,
    weighted_count) and the summary of the weights (``weighting_summary.json``).

    Respondent counts below ``min_cell`` are suppressed. Other diagnostics columns are shown
    as they are. `summary` values may be numbers, strings, dicts or ledger entries. With a
    `codebook`, a margin is named by its question and a category by its answer's label."""
    mc = _min_cell(min_cell)
    w = words(lang)
    known = [c for c in _DIAG_COLUMNS if c[0] in diagnostics_df.columns]
    if {"margin", "category"} <= set(diagnostics_df.columns):
        rows = []
        for _, r in diagnostics_df.iterrows():
            q = _margin_question(r["margin"], codebook)
            row = []
            for col, kind in known:
                v = r[col]
                if col == "margin" and q is not None:
                    row.append(cell(_question_name(codebook, q, w.lang)))
                elif col == "category" and q is not None:
                    row.append(cell(_option_label(codebook, q, str(v), w.lang)))
                else:
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
        headers = [w(f"weighting.headers.{c}") for c, _k in known]
        align = "".join("l" if k == "text" else "r" for _c, k in known)
    else:
        names = {c: w(f"weighting.headers.{k}") for c, k in _WEIGHT_HEADERS.items()}
        headers, rows, align = _generic_rows(diagnostics_df, names, mc)
    margins = pipe_table(
        headers, rows, caption=w("weighting.margins_caption"), tbl_id="tbl-weighting-margins", align=align, words=w
    )
    srows = []
    for k, v in summary.items():
        label = w.get(f"weighting.summary.{k}") or str(k).replace("_", " ").capitalize()
        srows.append([cell(label), _summary_value(k, v, w)])
    stats = pipe_table(
        [w("weighting.headers.statistic"), w("weighting.headers.value")],
        srows,
        caption=w("weighting.summary_caption"),
        tbl_id="tbl-weighting-summary",
        align="lr",
        words=w,
    )
    return margins + "\n" + stats


# --------------------------------------------------------------------------- audit


def _truncate(s: str, n: int = 48) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def reader_question(q: Any, codebook: Any | None, lang: str = "en") -> str:
    """A question as a reader names it (chart title or question text, in `lang`); without the
    codebook's entry, the id in words ("income source")."""
    if _missing(q) or not str(q):
        return DASH
    if codebook is None or str(q) not in getattr(codebook, "by_id", {}):
        return cell(str(q).replace("_", " "))
    return cell(_question_name(codebook, str(q), lang))


def reader_group(by: Any, level: Any, codebook: Any | None, w: Words | None = None) -> str:
    """'sex = female' as a reader reads it ("Sex: female"; "female or male" for merged levels)."""
    w = w or words("en")
    if _missing(by) or str(by) == "":
        return w("common.all_respondents")
    by, level = str(by), "" if _missing(level) else str(level)
    if codebook is not None and by in getattr(codebook, "by_id", {}) and not level:
        return cell(_question_name(codebook, by, w.lang))  # all its published levels (a row per level)
    if codebook is None or by not in getattr(codebook, "by_id", {}):
        return cell(f"{by.replace('_', ' ')}: {level.replace('_', ' ')}")
    names = [_option_label(codebook, by, part, w.lang) for part in level.split("+")]
    return cell(w("common.group", question=_question_name(codebook, by, w.lang), levels=w("common.or").join(names)))


def _figures(figures: Any, w: Words) -> str:
    """The printed figures of an audit row ("86.07;about 86"), with the wording of a worded one
    and the numbers in the edition's forms ("86,07; apie 86" in Lithuanian)."""
    if _missing(figures):
        return ""
    if w.lang == "en":
        return str(figures).replace(";", "; ")
    from belmig.integrity.published import COMPARATORS
    from belmig.report import locale

    said = {c.replace("_", " "): c for c in COMPARATORS}
    out = []
    for part in str(figures).split(";"):
        head, _, number = part.rpartition(" ")
        if head in said:
            part = f"{w(f'reproduction.comparator.{said[head]}')} {number}"
        out.append(locale.localize_text(part, w.lang))
    return "; ".join(out)


def _bases(bases: Any, w: Words) -> str:
    """The consistent bases of an audit row ("1–3,7" -> "1–3, 7"; "none" in the edition's words)."""
    if _missing(bases):
        return ""
    return w("common.none") if str(bases) == "none" else str(bases).replace(",", ", ")


def audit_md(
    bases_df: pd.DataFrame,
    groups_df: pd.DataFrame | None,
    *,
    min_cell: int | None = None,
    codebook: Any | None = None,
    lang: str | Words = "en",
) -> str:
    """The audit of the published figures: for every question (and subgroup) the printed
    figures, the respondent bases consistent with all of them, and the base chosen. With a
    `codebook`, questions and groups carry the reader's labels, not codebook ids."""
    from belmig.report import notes

    mc = _min_cell(min_cell)
    w = words(lang)
    _require(
        bases_df,
        ["question", "by", "level", "figures", "consistent_bases", "chosen_base", "status", "note"],
        "audit bases",
    )
    rows = []
    for r in bases_df.itertuples(index=False):
        everyone = _missing(r.by) or str(r.by) == ""
        sub = reader_group(r.by, r.level, codebook, w)
        base = count(r.chosen_base, None if everyone else mc)
        status = str(r.status)
        said = w.get(f"audit.status.{status}") or status
        rows.append(
            [
                reader_question(r.question, codebook, w.lang),
                sub,
                cell(_truncate(_figures(r.figures, w), 60)),
                cell(_truncate(_bases(r.consistent_bases, w))),
                base,
                f"**{cell(said)}**" if status == "conflict" else cell(said),
                cell(notes.worded(getattr(r, "notes", None), r.note, w, codebook)),
            ]
        )
    h = [
        w(f"audit.headers.{k}") for k in ("question", "respondents", "figures", "consistent", "base", "status", "note")
    ]
    out = pipe_table(h, rows, caption=w("audit.bases_caption"), tbl_id="tbl-audit-bases", align="lllllll", words=w)
    out += "\n" + _audit_groups(groups_df, mc, codebook, w)
    return out


def _audit_groups(groups_df: pd.DataFrame | None, mc: int, codebook: Any | None = None, w: Words | None = None) -> str:
    from belmig.report import notes

    w = w or words("en")
    cols = ["check", "question", "by", "level", "values", "result", "meaning"]
    caption = w("audit.groups_caption")
    h = [w(f"audit.headers.{k}") for k in ("check", "question", "respondents", "values", "result", "meaning")]
    if groups_df is None or not len(groups_df):
        return pipe_table(h, [], caption=caption, tbl_id="tbl-audit-groups", align="llllll", words=w)
    if set(cols) <= set(groups_df.columns):
        rows = []
        for r in groups_df.itertuples(index=False):
            sub = reader_group(r.by, r.level, codebook, w)
            res = str(r.result)
            said = cell(w.get(f"audit.result.{res}") or res)
            check = w.get(f"audit.checks.{r.check}") or str(r.check).replace("_", " ")
            rows.append(
                [
                    cell(check),
                    reader_question(r.question, codebook, w.lang),
                    sub,
                    cell(notes.worded(getattr(r, "values_notes", None), r.values, w, codebook)),
                    f"**{said}**" if res == "fail" else said,
                    cell(notes.worded(getattr(r, "meaning_notes", None), r.meaning, w, codebook)),
                ]
            )
        return pipe_table(h, rows, caption=caption, tbl_id="tbl-audit-groups", align="llllll", words=w)
    names = {"question": h[1], "by": h[2], "level": h[2]}
    headers, grows, align = _generic_rows(groups_df, names, mc)
    return pipe_table(headers, grows, caption=caption, tbl_id="tbl-audit-groups", align=align, words=w)


# --------------------------------------------------------------------------- reproduction


def _condition_keys(condition: str) -> set[str]:
    """The ledger keys a statement's condition reads (belmig.report.claims.names)."""
    from belmig.report import claims

    try:
        return claims.names(condition)
    except claims.ClaimError:
        return set()


_DIFFERS_RE = re.compile(r"; differs by ([+-]?\d+(?:\.\d+)?)$")


_NOT_COMPUTED_RE = re.compile(r"not computed: ledger key '([^']*)' is missing")


def _not_available(x: Any, lang: str) -> Any:
    """ "n/a" in the edition's words (belmig.report.locale.NOT_AVAILABLE); another value as it is."""
    from belmig.report import locale

    return locale.NOT_AVAILABLE[lang] if str(x).strip() == locale.NOT_AVAILABLE["en"] else x


def _repro_note(comparator: Any, note: Any, w: Words) -> Any:
    """The note of a reproduced figure in the edition's words: the tolerance of its wording
    (belmig.integrity.reproduce.TOLERANCE_NOTE) and the difference; another note as it is."""
    from belmig.integrity import reproduce

    if _missing(note):
        return note
    m = _NOT_COMPUTED_RE.fullmatch(str(note))
    if m is not None and w.lang != "en":
        return w("reproduction.not_computed", name=f"`{m.group(1)}`")
    text, rule = str(note), reproduce.TOLERANCE_NOTE.get(str(comparator))
    if w.lang == "en" or rule is None or not text.startswith(rule):
        return note
    rest = text[len(rule) :]
    m = _DIFFERS_RE.fullmatch(rest)
    if rest and m is None:
        return note
    said = w.get(f"reproduction.tolerance.{comparator}") or rule
    if m is None:
        return said
    from belmig.report import locale

    d = m.group(1)
    sign = "-" if d.startswith("-") else "+"
    return said + w("reproduction.differs", diff=sign + locale.format_number(d.lstrip("+-"), w.lang))


STATEMENTS_KEY = "statements"  # words files' mapping: 2022 statement id -> its text in the edition
_NOT_EVALUATED = "not evaluated: "
_NOT_IN_LEDGER_RE = re.compile(r"condition '(?P<condition>.*)' uses '(?P<name>[^']*)', which is not in the ledger")


def statement_text(sid: Any, text: Any, w: Words) -> Any:
    """What statement `sid` of the 2022 report says, in the edition's words: English keeps the
    text of data/published/statements.csv (`text`); another edition has it under
    ``statements.<id>`` of its words file, and a missing one is an error (no English fallback)."""
    if w.lang == "en":
        return text
    said = w.get(f"{STATEMENTS_KEY}.{sid}")
    if not isinstance(said, str) or not said.strip():
        raise KeyError(
            f"report/{words_path(w.lang).name}: no translation of "
            f"2022 statement {str(sid)!r} (add it under {STATEMENTS_KEY}:)"
        )
    return " ".join(said.split())


def _statement_note(sid: Any, note: Any, w: Words) -> Any:
    """The text of a statement row (see :func:`statement_text`), or the reason it was not
    evaluated (belmig.integrity.reproduce) in the edition's words."""
    text = "" if _missing(note) else str(note)
    if not text.startswith(_NOT_EVALUATED):
        return statement_text(sid, note, w)
    if w.lang == "en":
        return note
    reason = text[len(_NOT_EVALUATED) :]
    m = _NOT_IN_LEDGER_RE.fullmatch(reason)
    if m is not None:
        reason = w("reproduction.not_in_ledger", **m.groupdict())
    return w("reproduction.not_evaluated", reason=reason)


def reproduction_md(
    repro_df: pd.DataFrame, withheld: Collection[str] = (), *, lang: str | Words = "en", codebook: Any | None = None
) -> str:
    """Each figure printed in 2022 next to its recomputation from our data
    (``tbl-reproduction``), and each qualitative statement with whether it holds
    (``tbl-reproduction-statements``; rows with ``kind == "statement"`` of reproduction.csv).
    A figure is named by its question and answer when reproduction.csv has ``question`` and
    ``option`` columns (and `codebook` is given), else numbered: its id is the code's, not the reader's.

    A figure whose recomputation disclosure control withholds (``figure.<id>`` in `withheld`)
    prints "–" for the value, the note and whether it matches: with the printed figure and its
    wording ("exact", "about"), "yes" would pin the withheld value, so the caption counts the
    figures shown and says how many were withheld. A statement whose condition reads a withheld
    value prints "–" for whether it holds, for the same reason."""
    _require(repro_df, ["id", "printed", "comparator", "recomputed", "match", "note"], "reproduction")
    w = words(lang)
    yes, no = w("common.yes"), f"**{w('common.no')}**"
    kind = repro_df["kind"].astype(str) if "kind" in repro_df.columns else pd.Series("figure", index=repro_df.index)
    figs, stmts = repro_df[kind != "statement"], repro_df[kind == "statement"]
    rows, matched, hidden, any_named = [], 0, 0, False
    for i, r in enumerate(figs.itertuples(index=False), 1):
        ok = _truthy(r.match)
        held_back = f"figure.{r.id}" in withheld
        hidden += held_back
        matched += ok and not held_back
        rec = (
            num(r.recomputed)
            if isinstance(r.recomputed, (int, float)) and not isinstance(r.recomputed, bool)
            else cell(r.recomputed if w.lang == "en" else _not_available(r.recomputed, w.lang))
        )
        note = _repro_note(r.comparator, r.note, w)
        verdict = yes if ok else no
        if held_back:
            rec, note, verdict = SUPPRESSED, w("reproduction.withheld"), SUPPRESSED
        q, opt = getattr(r, "question", None), getattr(r, "option", None)
        named = codebook is not None and not _missing(q) and str(q) in getattr(codebook, "by_id", {})
        any_named |= named
        rows.append(
            [
                cell(_label(codebook, str(q), "" if _missing(opt) else str(opt), "pct", w)) if named else str(i),
                cell(str(r.printed)),
                cell(w.get(f"reproduction.comparator.{r.comparator}") or r.comparator),
                rec,
                verdict,
                cell(note),
            ]
        )
    hd = "reproduction.headers."
    shown = len(rows) - hidden
    caption = (
        w("reproduction.caption_withheld", matched=matched, total=shown, withheld=hidden)
        if hidden
        else w("reproduction.caption", matched=matched, total=shown)
    )
    out = pipe_table(
        [w(hd + k) for k in ("figure" if any_named else "number", "printed", "wording", "recomputed", "match", "note")],
        rows,
        caption=caption,
        tbl_id="tbl-reproduction",
        align="rrlrll",
        words=w,
    )
    srows, held, unsaid = [], 0, 0
    for i, r in enumerate(stmts.itertuples(index=False), 1):
        ok = _truthy(r.match)
        reads_withheld = bool(_condition_keys(str(r.printed)) & set(withheld))
        unsaid += reads_withheld
        held += ok and not reads_withheld
        verdict = SUPPRESSED if reads_withheld else (yes if ok else no)
        srows.append([verdict, str(i), cell(_statement_note(r.id, r.note, w)), code(r.printed)])
    # "Holds" first: a row then starts with a word, never with its number right after the previous
    # row's condition (a PDF's text would read "…self_employed 13" as the value 13 of that key)
    out += "\n" + pipe_table(
        [w(hd + k) for k in ("holds", "number", "says", "condition")],
        srows,
        caption=(
            w("reproduction.statements_caption_withheld", held=held, total=len(srows) - unsaid, withheld=unsaid)
            if unsaid
            else w("reproduction.statements_caption", held=held, total=len(srows))
        ),
        tbl_id="tbl-reproduction-statements",
        align="crll",
        words=w,
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


def _label(codebook: Any, q: str, opt: str, stat: str, w: Words | None = None) -> str:
    """A headline figure as a reader names it, in the words' language: "Regular income: Yes"."""
    w = w or words("en")
    try:
        codebook[q]
    except (KeyError, TypeError):
        return f"{q} {opt}".replace("_", " ").strip()
    title = _question_name(codebook, q, w.lang)
    if stat == "mean":
        return w("common.mean_rating", title=title)
    if opt == "ge8":
        return w("common.ge8", title=title)
    if opt.startswith("v") and opt[1:].isdigit():
        return w("common.option", title=title, option=opt[1:])
    return w("common.option", title=title, option=_option_label(codebook, q, opt, w.lang))


class _FirstRows:
    """The first row of a frame for each key, as ``df[<key columns == key>].iloc[0]`` finds it
    (None when no row has the key). `index` (:func:`_overall_rows`, :func:`_frame_rows`) maps each
    key to the position of its first row, once, on the first look-up (so a frame without its key
    columns fails where a mask over it would): a mask over all 3,904 estimates per figure was
    most of the appendix tables' time."""

    def __init__(self, df: pd.DataFrame, index: Callable[[pd.DataFrame], dict[tuple[Any, ...], int]]) -> None:
        self.df, self.index = df, index
        self.first: dict[tuple[Any, ...], int] | None = None

    def __call__(self, *key: Any) -> pd.Series | None:
        if self.first is None:
            self.first = self.index(self.df)
        i = self.first.get(key)
        return None if i is None else self.df.iloc[i]


def _first_positions(keys: Iterable[tuple[Any, ...]], rows: Iterable[int]) -> dict[tuple[Any, ...], int]:
    first: dict[tuple[Any, ...], int] = {}
    for key, i in zip(keys, rows):
        first.setdefault(key, i)
    return first


def _overall_rows(est: pd.DataFrame) -> dict[tuple[Any, ...], int]:
    """{(question, option, stat, weighted): position of its first row} among the estimates of all
    respondents (no ``by``/``level``; a missing option, by or level is "")."""
    option = est["option"].fillna("")
    overall = np.ones(len(est), dtype=bool)
    for col in ("by", "level"):
        if col in est:
            overall &= (est[col].fillna("") == "").to_numpy(dtype=bool)
    rows = np.flatnonzero(overall).tolist()
    cols = [est["question"], option, est["stat"], est["weighted"].astype(bool)]
    keys = zip(*(c.iloc[rows].tolist() for c in cols))
    return _first_positions(keys, rows)


def _frame_rows(frame_df: pd.DataFrame) -> dict[tuple[Any, ...], int]:
    """{(question, option, stat): position of its first row} of the alternative-frame estimates."""
    cols = [frame_df["question"], frame_df["option"].fillna(""), frame_df["stat"]]
    return _first_positions(zip(*(c.tolist() for c in cols)), range(len(frame_df)))


def _pick(est: pd.DataFrame, q: str, opt: str, stat: str, weighted: bool) -> pd.Series | None:
    """The estimate of all respondents for a figure (None when there is none); a table of many
    figures looks them up in one :class:`_FirstRows` instead."""
    return _FirstRows(est, _overall_rows)(q, opt, stat, weighted)


def weighted_vs_unweighted_md(
    estimates_df: pd.DataFrame,
    codebook: Any,
    keys: Sequence[str],
    *,
    min_cell: int | None = None,
    confidence: float = 0.95,
    withheld: Collection[str] = (),
    lang: str | Words = "en",
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
    words_ = words(lang)
    fixed = words_("weighted.fixed")
    pick = _FirstRows(estimates_df, _overall_rows)
    rows = []
    for key in keys:
        stat, q, opt = _parse_headline(key)
        u = pick(q, opt, stat, False)
        w = pick(q, opt, stat, True)
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
                return f"{num(r['estimate'])}{unit}", fixed  # noqa: B023
            return f"{num(r['estimate'])}{unit}", f"{num(r['ci_low'])}{DASH}{num(r['ci_high'])}"  # noqa: B023

        ue, uci = fmt(u)
        we, wci = fmt(w)
        n = count(u["n"]) if u is not None else DASH
        neff = num(w["n_eff"], 0) if w is not None and not _missing(w["n_eff"]) else DASH
        ukey, wkey, _ = _headline_keys(stat, q, opt)
        if ukey in withheld:
            ue, uci = SUPPRESSED, SUPPRESSED
        if wkey in withheld or f"wci.{q}.{opt}" in withheld or f"wci_mean.{q}" in withheld:
            we, wci, neff = SUPPRESSED, SUPPRESSED, SUPPRESSED
        if f"n.{q}" in withheld:
            n, uci = SUPPRESSED, SUPPRESSED if ue != SUPPRESSED else uci
        if SUPPRESSED in (ue, we):
            n = n if ue != SUPPRESSED else SUPPRESSED
        rows.append([cell(_label(codebook, q, opt, stat, words_)), ue, uci, n, we, wci, neff])
    level = f"{confidence * 100:g}"
    ci = words_("weighted.headers.ci", level=level)
    hd = "weighted.headers."
    return pipe_table(
        [words_(hd + "figure"), words_(hd + "unweighted"), ci, words_(hd + "n"), words_(hd + "weighted"), ci,
         words_(hd + "n_eff")],
        rows,
        caption=words_("weighted.caption", level=level),
        tbl_id="tbl-weighted",
        align="lrrrrrr",
        words=words_,
    )  # fmt: skip


# --------------------------------------------------------------------------- levels

_FEWER_RE = re.compile(r"fewer than (\d+) respondents")


def _level_reason(r: Any, codebook: Any, w: Words) -> str:
    """Why a level was merged or dropped, in the edition's words (belmig.privacy.levels writes
    the English reasons; the known ones are said again here, others are shown as they are)."""
    from belmig.privacy import levels as lv

    action, reason = str(r.action), "" if _missing(r.reason) else str(r.reason)
    if action == "merged" and not _missing(r.level):
        others = [_option_label(codebook, r.question, p, w.lang) for p in str(r.level).split("+") if p != r.option]
        return cell(w("levels.reasons.merged", labels=w("common.and").join(others)))
    if reason == lv.REASON_EMPTY:
        return cell(w("levels.reasons.empty"))
    if reason == lv.REASON_COMPLEMENTARY:
        return cell(w("levels.reasons.complementary"))
    if reason == lv.REASON_FEW_LEVELS:
        return cell(w("levels.reasons.few_levels"))
    m = _FEWER_RE.fullmatch(reason)
    if m:
        return cell(w("levels.reasons.few", n=m.group(1)))
    return cell(reason) if reason else DASH


def levels_md(plan_df: pd.DataFrame, codebook: Any, *, min_cell: int | None = None, lang: str | Words = "en") -> str:
    """Which subgroup levels entered the estimates and tests (``level_plan.csv`` of
    :meth:`belmig.privacy.levels.LevelPlan.table`): every option of every subgroup question, the
    level it was analysed in, merged or dropped and why, and the respondents of that level. The n
    of a dropped level or of a merged level's parts is not in the file and not printed.
    Questions, answers and levels carry the codebook's labels in the edition's language."""
    mc = _min_cell(min_cell)
    w = words(lang)
    _require(plan_df, ["question", "option", "label", "level", "action", "reason", "n"], "level plan")
    rows = []
    for r in plan_df.itertuples(index=False):
        label = _option_label(codebook, r.question, r.option, w.lang)
        if _missing(r.level) or not str(r.level):
            level = DASH
        else:
            level = cell(" + ".join(_option_label(codebook, r.question, p, w.lang) for p in str(r.level).split("+")))
        action = str(r.action)
        done = cell(w.get(f"levels.actions.{action}") or action)
        rows.append([reader_question(r.question, codebook, w.lang), cell(label), level,
                     f"**{done}**" if action == "dropped" else done, _level_reason(r, codebook, w),
                     count(r.n, mc)])  # fmt: skip
    hd = "levels.headers."
    return pipe_table(
        [w(hd + k) for k in ("subgroup", "answer", "analysed_as", "done", "why", "respondents")],
        rows,
        caption=w("levels.caption", min_cell=mc),
        tbl_id="tbl-levels",
        align="lllllr",
        words=w,
    )


# --------------------------------------------------------------------------- sensitivity


def _headline_keys(stat: str, q: str, opt: str) -> tuple[str, str, str]:
    """The ledger keys of a headline figure: unweighted, weighted, weighted to the alternative frame."""
    if stat == "pct":
        return f"pct.{q}.{opt}", f"wpct.{q}.{opt}", f"wpctalt.{q}.{opt}"
    return f"mean.{q}", f"wmean.{q}", f"wmeanalt.{q}"


def frame_md(
    estimates_df: pd.DataFrame,
    frame_df: pd.DataFrame,
    codebook: Any,
    keys: Sequence[str],
    *,
    frame: str,
    withheld: Collection[str] = (),
    lang: str | Words = "en",
) -> str:
    """Headline figures unweighted, weighted to the configured margins, and weighted to the
    alternative frame (`frame`: how it is described), with the shift the frame makes.
    `withheld`: ledger keys disclosure control withholds (``pct.*``, ``wpct.*``, ``wpctalt.*``,
    ``mean.*``, ``wmean.*``, ``wmeanalt.*``): printed as suppressed, and the shift with them."""
    _require(frame_df, ["question", "option", "stat", "estimate"], "alternative frame")
    words_ = words(lang)
    pick, alternative = _FirstRows(estimates_df, _overall_rows), _FirstRows(frame_df, _frame_rows)
    rows = []
    for key in keys:
        stat, q, opt = _parse_headline(key)
        u = pick(q, opt, stat, False)
        w = pick(q, opt, stat, True)
        a = alternative(q, opt, stat)
        unit = "%" if stat == "pct" else ""

        def fmt(r: Any) -> str:
            return DASH if r is None or _missing(r["estimate"]) else f"{num(r['estimate'])}{unit}"  # noqa: B023

        shift = DASH if w is None or a is None else f"{float(a['estimate']) - float(w['estimate']):+.2f}"
        ukey, wkey, akey = _headline_keys(stat, q, opt)
        shown = [SUPPRESSED if k in withheld else v for k, v in ((ukey, fmt(u)), (wkey, fmt(w)), (akey, fmt(a)))]
        if wkey in withheld or akey in withheld:
            shift = SUPPRESSED
        rows.append([cell(_label(codebook, q, opt, stat, words_)), *shown, shift])
    hd = "frame.headers."
    return pipe_table(
        [words_(hd + "figure"), words_(hd + "unweighted"), words_(hd + "weighted"),
         words_(hd + "weighted_frame", frame=frame), words_(hd + "shift")],
        rows,
        caption=words_("frame.caption", frame=frame),
        tbl_id="tbl-frame",
        align="lrrrr",
        words=words_,
    )  # fmt: skip


def multi_bases_md(bases_df: pd.DataFrame, codebook: Any, keys: Sequence[str], *, lang: str | Words = "en") -> str:
    """Multiple-choice figures on both bases: of those who answered the question (the report's
    base) and of everyone asked (a blank counted as not chosen). `keys`: ``pct.<q>.<opt>``."""
    _require(bases_df, ["question", "option", "k", "n_answered", "pct_answered", "n_asked", "pct_asked"], "bases")
    idx = bases_df.set_index(["question", "option"])
    w = words(lang)
    rows = []
    for key in keys:
        _stat, q, opt = _parse_headline(key)
        if (q, opt) not in idx.index:
            continue
        r = idx.loc[(q, opt)]
        shift = float(r["pct_asked"]) - float(r["pct_answered"])
        rows.append([cell(_label(codebook, q, opt, "pct", w)), f"{num(r['pct_answered'])}%", count(r["n_answered"]),
                     f"{num(r['pct_asked'])}%", count(r["n_asked"]), f"{shift:+.2f}"])  # fmt: skip
    return pipe_table(
        [w(f"multi_bases.headers.{k}") for k in ("figure", "answered", "n_answered", "asked", "n_asked", "shift")],
        rows,
        caption=w("multi_bases.caption"),
        tbl_id="tbl-multi-bases",
        align="lrrrrr",
        words=w,
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
    lang: str | Words = "en",
) -> str:
    """Every value the report uses: key, printed text, confidence interval, base n and a link
    to the executed-notebook cell that computed it. Keys not in the ledger are listed as
    missing, so the table shows them rather than hiding them."""
    mc = _min_cell(min_cell)
    w = words(lang)
    entries = _as_mapping(ledger_entries)
    rows = []
    for key in dict.fromkeys(used_keys):
        e = entries.get(key)
        if e is None:
            rows.append([code(key), f"**{w('values.missing')}**", DASH, DASH, DASH])
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
        label = _entry_get(e, "notebook") or _entry_get(e, "stage") or w("values.source")
        link = f"[{cell(label)}]({link_prefix}{source})" if source else DASH
        rows.append([code(key), cell(text), ci, base, link])
    return pipe_table(
        [w(f"values.headers.{k}") for k in ("key", "value", "ci", "base", "computed")],
        rows,
        caption=w("values.caption"),
        tbl_id="tbl-values",
        align="lrrrl",
        words=w,
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


def _admin_cell(a: Mapping[str, Any], lacking: str, w: Words) -> str:
    if a.get("status") == "generated":
        return w("data_source.generated")
    if a.get("status") != "read":
        return lacking
    parts = [w("data_source.column", column=a["column"])]
    if a.get("format"):
        parts.append(a["format"])
    if a.get("time_zone"):
        from belmig.report import notes

        parts.append(notes.worded_one(a.get("time_zone_note"), a["time_zone"], w))
    return cell(", ".join(parts))


def data_source_md(doc: Mapping[str, Any], *, lang: str | Words = "en") -> str:
    """How the raw export was read (from ``ingest_report.json``): a paragraph and a table. The
    sentences ingestion itself wrote (consequences, warnings) are shown as it wrote them."""
    w = words(lang)
    ds = "data_source."
    p = doc["platform"]
    name = w.get(f"{ds}platforms.{p['used']}") or PLATFORM_NAMES.get(p["used"], p["used"])
    from belmig.report import notes

    evidence = notes.worded_one(p.get("evidence_note"), p["evidence"], w)
    how = w(ds + "forced") if p["forced"] else w(ds + "detected", evidence=evidence)
    qs = doc["questions"]
    found = [q for q in qs if not str(q.get("method", "")).startswith("not found")]
    methods: dict[str, int] = {}
    for q in found:
        said = notes.worded_one(q.get("method_note"), q["method"], w)
        methods[said] = methods.get(said, 0) + 1
    by = "; ".join(f"{k}: {v}" for k, v in methods.items())
    mapping = w(ds + "with_mapping", mapping=f"`{doc['mapping']}`") if doc.get("mapping") else ""
    as_what = w(ds + "as_generic", name=name) if p["used"] == "generic" else w(ds + "as_platform", name=name)
    rows_txt = w(ds + "one_header_row") if doc["header_rows"] == 1 else w(ds + "header_rows_n", n=doc["header_rows"])
    n_ids = len(doc.get("identifiers_dropped", []))
    text = f"**{w(ds + 'heading')}** " + w(
        ds + "read", file=f"`{doc['file']}`", sha=f"`{doc['sha256'][:12]}`", as_what=as_what, how=cell(how),
        mapping=mapping, rows=rows_txt, submissions=f"{doc['submissions']:,}", found=len(found), total=len(qs),
    ) + " "  # fmt: skip
    said = doc.get("consequences", [])
    if w.lang != "en" and "consequences_notes" in doc:
        said = [notes.worded_one(n, "", w) for n in doc["consequences_notes"]]
    text += " ".join(said)
    warns = [x for x in doc.get("warnings", []) if x["check"] != "no_start_time"]  # said in the consequences
    if warns:
        listed = "; ".join(
            notes.warning(x, w) + (w(ds + "cells", n=x["count"]) if x.get("count") else "") for x in warns
        )
        text += w(ds + "reported", warnings=listed)
    text += w(ds + "dropped", n=n_ids)
    admin = doc["admin"]
    lacking = w(ds + "lacking")
    none = w("common.none")
    r = ds + "rows."
    rows = [
        [w(r + "platform"), cell(f"{name} ({how})")],
        [w(r + "header_rows"), cell(doc["header_rows"])],
        [w(r + "submissions"), cell(doc["submissions"])],
        [w(r + "response_id"), _admin_cell(admin["response_id"], lacking, w)],
        [w(r + "started_at"), _admin_cell(admin["started_at"], w(ds + "lacking_start"), w)],
        [w(r + "submitted_at"), _admin_cell(admin["submitted_at"], lacking, w)],
        [w(r + "questions"), cell(w(ds + "questions_found", found=len(found), total=len(qs), by=by))],
        [w(r + "mapping"), cell(doc.get("mapping") or none)],
        [w(r + "identifiers"), cell(w(ds + "columns", n=n_ids))],
        [w(r + "metadata"), cell(w(ds + "columns", n=len(doc.get("metadata_ignored", []))))],
        [
            w(r + "warnings"),
            cell(
                "; ".join(f"{x['check'] if w.lang == 'en' else notes.warning(x, w)}: {x['count']}" for x in warns)
                if warns
                else none
            ),
        ],
    ]
    table = pipe_table(
        [w(ds + "headers.item"), w(ds + "headers.value")],
        rows,
        caption=w(ds + "caption"),
        tbl_id="tbl-data-source",
        align="ll",
        words=w,
    )
    return " ".join(text.split()) + "\n\n" + table
