"""Shared drawing of the 18 charts: what to plot (from the estimates and the codebook) and how.

A chart is described by a :class:`ChartSpec` in ``specs/chartNN.py``. :func:`select` turns the
spec, the estimates table (contract "estimates.parquet" in docs/architecture.md) and the codebook
into a :class:`ChartData`: the plotted points in drawing order, every number already formatted
with :func:`belmig.core.ledger.format_value` (the text the report prints). :func:`figure` draws it:

- ``kind="bars"``: horizontal bars, one per answer option, value label at the end of each bar;
  sorted by size when the codebook chart has ``sort: true`` (answers flagged ``other`` or
  ``exclusive`` in the codebook, and those the spec lists in ``last``, follow the ranked ones
  in codebook order, in grey), codebook order otherwise;
- ``kind="scale"``: a 1–10 rating as its distribution (bars for v1..v10) with the mean marked
  and labelled.

Bars and labels are the unweighted estimates (ledger ``pct.*``, ``pctby.*``, ``mean.*``); with
``ci_whiskers`` the 95% interval of the weighted estimate is drawn as a line with a dot at the
weighted estimate (ledger ``wpct.*``, ``wci.*``, ``wmean.*``, ``wci_mean.*``).

Layout is computed in inches from measured text, so nothing overlaps or is cut off whatever the
label length or language: long labels wrap, the figure grows to fit.

Size: over 600 lines (about 750): the chart model, its one drawing function and the text
measurement its layout rests on, kept together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg, get_hinting_flag
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

from belmig.charts import theme
from belmig.charts.strings import SUPPRESSED_MARK, t
from belmig.core import keys
from belmig.core.codebook import Chart, Codebook, Question
from belmig.core.ledger import format_value

KINDS = ("bars", "scale")
REQUIRED_COLUMNS = (
    "question", "option", "stat", "by", "level", "weighted",
    "estimate", "ci_low", "ci_high", "n", "suppressed",
)  # fmt: skip


class ChartError(ValueError):
    """The spec, the codebook and the estimates do not fit together."""


@dataclass(frozen=True)
class ChartSpec:
    """What is particular to one chart. Every field is stated in the chart's module.

    ``question``, ``subgroup`` and ``exclude`` repeat the codebook's chart entry on purpose: the
    spec is where a reader of the chart's code sees them, and :func:`check_spec` fails when the
    two disagree.
    """

    number: int
    question: str
    kind: str  # "bars" | "scale"
    subgroup: tuple[str, str] | None  # (by, level) of the estimates rows; None = all respondents
    exclude: tuple[str, ...]  # options not drawn
    last: tuple[str, ...]  # options kept after the ranked ones besides the codebook's other/exclusive


@dataclass(frozen=True)
class Point:
    """One plotted value: a bar, or the mean of a scale."""

    key: str  # option key (v1..v10 on scales); "" for the mean
    label: str  # codebook label in the chart language (unwrapped); the rating for scale points
    value: float | None  # unweighted estimate; None when suppressed
    text: str  # format_value(value, stat); SUPPRESSED_MARK when suppressed
    suppressed: bool
    residual: bool  # drawn after the ranked answers, in grey
    ledger_key: str | None
    w_value: float | None  # weighted estimate (only with ci_whiskers)
    w_low: float | None
    w_high: float | None
    w_ledger_key: str | None
    span: tuple[int, int] | None = None  # scale bars merged for disclosure control: first and last rating


@dataclass(frozen=True)
class ChartData:
    spec: ChartSpec
    chart: Chart
    question: Question
    lang: str
    ci_whiskers: bool
    n: int
    points: tuple[Point, ...]  # in drawing order (top to bottom; left to right on scales)
    mean: Point | None  # scales only


# --------------------------------------------------------------------------- spec and selection


def check_spec(spec: ChartSpec, codebook: Codebook) -> tuple[Chart, Question]:
    chart = codebook.chart(spec.number)
    where = f"chart {spec.number}"
    if spec.kind not in KINDS:
        raise ChartError(f"{where}: kind must be one of {KINDS}, got {spec.kind!r}")
    if chart.question != spec.question:
        raise ChartError(f"{where}: spec draws {spec.question!r}, codebook says {chart.question!r}")
    q = codebook[spec.question]
    if (spec.kind == "scale") != (q.type == "scale"):
        raise ChartError(f"{where}: kind {spec.kind!r} does not fit question type {q.type!r}")
    if spec.kind == "bars" and not q.is_choice:
        raise ChartError(f"{where}: bars need a choice question, {q.id!r} is {q.type!r}")
    cb_sub = None
    if chart.subgroup is not None:
        if len(chart.subgroup.values) != 1:
            raise ChartError(f"{where}: a chart subgroup must name one level, got {chart.subgroup.values}")
        cb_sub = (chart.subgroup.question, chart.subgroup.values[0])
    if spec.subgroup != cb_sub:
        raise ChartError(f"{where}: spec subgroup {spec.subgroup} differs from the codebook's {cb_sub}")
    if tuple(spec.exclude) != tuple(chart.exclude_options):
        raise ChartError(f"{where}: spec excludes {spec.exclude}, codebook {chart.exclude_options}")
    unknown = (set(spec.exclude) | set(spec.last)) - set(q.keys)
    if unknown:
        raise ChartError(f"{where}: unknown options {sorted(unknown)} of {q.id!r}")
    if spec.last and not chart.sort:
        raise ChartError(f"{where}: `last` only matters for sorted charts")
    return chart, q


def _check_columns(estimates: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in estimates.columns]
    if missing:
        raise ChartError(f"estimates lack columns {missing} (contract: docs/architecture.md)")


class _Rows:
    """The estimates rows of one question and group (``by``, ``level``), indexed by
    (stat, by, level, weighted) and option."""

    def __init__(self, est: pd.DataFrame, question: str, by: str, level: str):
        if est["weighted"].isna().any():
            raise ChartError("estimates: `weighted` has missing values")
        # only the chart's rows become records (all of a question's subgroups took ~5 ms a chart)
        sub = est.loc[(est["question"] == question) & (est["by"] == by) & (est["level"] == level)]
        self._groups: dict[tuple, dict[str, list[dict[str, Any]]]] = {}
        for rec in sub.to_dict("records"):
            key = (rec["stat"], rec["by"], rec["level"], bool(rec["weighted"]))
            self._groups.setdefault(key, {}).setdefault(rec["option"], []).append(rec)

    def options(self, stat: str, by: str, level: str, weighted: bool) -> dict[str, list[dict[str, Any]]]:
        return self._groups.get((stat, by, level, weighted), {})


def _one(rows: dict[str, list[dict[str, Any]]], option: str, what: str) -> dict[str, Any]:
    hit = rows.get(option, [])
    if len(hit) != 1:
        raise ChartError(f"{what}: expected one estimates row for option {option!r}, found {len(hit)}")
    return hit[0]


def _ledger_key(q: str, option: str, by: str, level: str, weighted: bool) -> str | None:
    """The ledger key under which the report prints this estimate (docs: "Ledger keys")."""
    if by:
        return None if (weighted or option == "") else keys.pctby(by, level, q, option)
    if option == "":
        return keys.wmean(q) if weighted else keys.mean(q)
    return keys.wpct(q, option) if weighted else keys.pct(q, option)


def _float(x: Any, what: str) -> float:
    if x is None or pd.isna(x):
        raise ChartError(f"{what}: missing value")
    return float(x)


def _point(
    row: dict[str, Any], wrow: dict[str, Any] | None, *, key: str, label: str, kind: str, residual: bool,
    q: str, by: str, level: str, what: str,
) -> Point:  # fmt: skip
    suppressed = bool(row["suppressed"])
    if suppressed:
        value, text = None, SUPPRESSED_MARK
    else:
        value = _float(row["estimate"], f"{what} estimate")
        text = format_value(value, kind)
    w_value = w_low = w_high = None
    if wrow is not None and not suppressed:
        if bool(wrow["suppressed"]):
            raise ChartError(f"{what}: weighted row suppressed but unweighted row not")
        w_value = _float(wrow["estimate"], f"{what} weighted estimate")
        w_low = _float(wrow["ci_low"], f"{what} weighted ci_low")
        w_high = _float(wrow["ci_high"], f"{what} weighted ci_high")
        if not (w_low <= w_value <= w_high):
            raise ChartError(f"{what}: weighted CI [{w_low}, {w_high}] does not contain {w_value}")
    return Point(
        key=key,
        label=label,
        value=value,
        text=text,
        suppressed=suppressed,
        residual=residual,
        ledger_key=None
        if suppressed
        else _ledger_key(q, key, by, level, False),  # suppressed cells are not in the ledger
        w_value=w_value,
        w_low=w_low,
        w_high=w_high,
        w_ledger_key=_ledger_key(q, key, by, level, True) if wrow is not None else None,
    )


def select(
    spec: ChartSpec,
    estimates: pd.DataFrame,
    codebook: Codebook,
    *,
    lang: str,
    ci_whiskers: bool,
    min_cell: int | None = None,
) -> ChartData:
    """The points of one chart, in drawing order, from the estimates (never from raw rows).

    With `min_cell`, small bars are merged (ratings) or hidden (answers) first
    (:mod:`belmig.charts.protect`); without it the estimates' own ``suppressed`` flags apply.
    """
    chart, q = check_spec(spec, codebook)
    _check_columns(estimates)
    by, level = spec.subgroup if spec.subgroup else ("", "")
    what = f"chart {spec.number} ({q.id}{f' by {by}={level}' if by else ''})"
    table = _Rows(estimates, q.id, by, level)
    rows = table.options("pct", by, level, False)
    wrows = table.options("pct", by, level, True) if ci_whiskers else None
    if not rows:
        raise ChartError(f"{what}: no unweighted pct rows in the estimates")
    if ci_whiskers and not wrows:
        raise ChartError(f"{what}: ci_whiskers needs weighted rows, the estimates have none")

    if spec.kind == "scale":
        lo, hi = int(q.scale["min"]), int(q.scale["max"])
        keys = [f"v{i}" for i in range(lo, hi + 1)]
        labels = {k: str(i) for k, i in zip(keys, range(lo, hi + 1))}
        residual: set[str] = set()
    else:
        keys = [k for k in q.keys if k not in spec.exclude]
        labels = {o.key: o.label(lang) for o in q.options}
        residual = {o.key for o in q.options if o.other or o.exclusive} | set(spec.last) if chart.sort else set()
        stray = set(rows) - set(q.keys)
        if stray:
            raise ChartError(f"{what}: estimates rows for options not in the codebook: {sorted(stray)}")

    points = []
    used = []
    for k in keys:
        row = _one(rows, k, what)
        wrow = _one(wrows, k, what + " weighted") if ci_whiskers else None
        if min_cell is not None:  # disclosure control decides (with the estimates' flag, see _protect)
            row = {**row, "suppressed": False}
            wrow = None if wrow is None else {**wrow, "suppressed": False}
        points.append(
            _point(row, wrow, key=k, label=labels[k], kind="pct", residual=k in residual,
                   q=q.id, by=by, level=level, what=f"{what} {k}")
        )  # fmt: skip
        used.append(row)
    if min_cell is not None:
        points = _protect(points, [_one(rows, p.key, what) for p in points], spec.kind, q, min_cell, what)

    mean = None
    if spec.kind == "scale":
        mrow = _one(table.options("mean", by, level, False), "", what + " mean")
        wm = _one(table.options("mean", by, level, True), "", what + " weighted mean") if ci_whiskers else None
        mean = _point(mrow, wm, key="", label="", kind="mean", residual=False, q=q.id, by=by, level=level,
                      what=f"{what} mean")  # fmt: skip
        if mean.suppressed:
            raise ChartError(f"{what}: the mean is suppressed; a scale chart cannot be drawn")
        used.append(mrow)

    ns = sorted({int(r["n"]) for r in used})
    if len(ns) != 1:
        raise ChartError(f"{what}: the plotted rows have different bases n = {ns}")

    if chart.sort:
        ranked = [p for p in points if not p.residual]
        ranked.sort(
            key=lambda p: -math.inf if p.value is None else p.value, reverse=True
        )  # stable: ties keep codebook order
        points = ranked + [p for p in points if p.residual]
    return ChartData(
        spec=spec, chart=chart, question=q, lang=lang, ci_whiskers=ci_whiskers, n=ns[0],
        points=tuple(points), mean=mean,
    )  # fmt: skip


def _protect(
    points: list[Point], rows: list[dict[str, Any]], kind: str, q: Question, min_cell: int, what: str
) -> list[Point]:
    """Merge small ratings or hide small bars (:mod:`belmig.charts.protect`)."""
    from belmig.charts import protect

    if "k" not in rows[0]:
        raise ChartError(f"{what}: disclosure control needs the counts (column k) of the estimates")
    counts = [int(r["k"]) for r in rows]
    base = int(rows[0]["n"])
    if kind == "scale":
        out = []
        for a, b in protect.merge_ratings(counts, min_cell):
            if a == b:
                out.append(points[a])
                continue
            part = points[a : b + 1]
            value = sum(p.value for p in part)
            lo, hi = int(part[0].key[1:]), int(part[-1].key[1:])
            out.append(
                Point(key="+".join(p.key for p in part), label=f"{lo}–{hi}", value=value,
                      text=format_value(value, "pct"), suppressed=False, residual=False, ledger_key=None,
                      w_value=None, w_low=None, w_high=None, w_ledger_key=None, span=(lo, hi))
            )  # fmt: skip
        return out
    # a cell the estimates flag is not in the ledger (subgroup cells below min_cell): hidden too
    flagged = [bool(r["suppressed"]) for r in rows]
    hide = protect.hide_bars(counts, base, min_cell, partition=q.type == "single", hidden=flagged)
    return [
        Point(key=p.key, label=p.label, value=None, text=SUPPRESSED_MARK, suppressed=True, residual=p.residual,
              ledger_key=None, w_value=None, w_low=None, w_high=None, w_ledger_key=None)
        if h else p
        for p, h in zip(points, hide)
    ]  # fmt: skip


# --------------------------------------------------------------------------- words around the plot


def _levels_text(codebook: Codebook, qid: str, levels: tuple[str, ...], lang: str) -> str:
    parent = codebook[qid]
    return t(lang, "or").join(parent.option(v).label(lang) for v in levels)


def note(data: ChartData, codebook: Codebook, *, marks: bool) -> str:
    """The text under the chart: base and answer type; then who was asked, whiskers, and (with
    `marks`) what the suppression mark means. The alt text says "not shown" instead of a mark."""
    lang, q = data.lang, data.question
    first = [t(lang, "base", n=format_value(data.n, "count"))]
    if q.type == "scale":
        first.append(t(lang, "scale", min=q.scale["min"], max=q.scale["max"]))
    else:
        first.append(t(lang, q.type))
    more = []
    if data.spec.subgroup:
        by, level = data.spec.subgroup
        more.append(
            t(lang, "subgroup", levels=_levels_text(codebook, by, (level,), lang), question=codebook[by].text(lang))
        )
    elif q.universe is not None and set(q.universe.values) != set(codebook[q.universe.question].keys):
        u = q.universe
        more.append(t(lang, "universe", levels=_levels_text(codebook, u.question, u.values, lang),
                      question=codebook[u.question].text(lang)))  # fmt: skip
    if data.ci_whiskers:
        more.append(t(lang, "ci"))
    if marks and any(p.suppressed for p in data.points):
        more.append(t(lang, "suppressed", mark=SUPPRESSED_MARK))
    spans = [p.label for p in data.points if p.span]
    if spans:
        more.append(t(lang, "merged", spans=", ".join(spans)))
    return " ".join(["; ".join(first) + "."] + more)


def title(data: ChartData) -> str:
    return t(data.lang, "title", number=data.chart.number, title=data.chart.title(data.lang))


def subtitle(data: ChartData) -> str:
    return data.question.text(data.lang)


def in_locale(text: str, lang: str) -> str:
    """A ledger text as the chart's language prints numbers (the report's editions' format, Babel:
    "4.17" -> "4,17" in lt and ru); English charts keep the ledger's text."""
    from belmig.report.locale import localize_text

    return text if lang == "en" or text == SUPPRESSED_MARK else localize_text(text, lang)


def drawn_value(p: Point, lang: str = "en") -> str:
    """The value label at a bar: the ledger text with its unit, in the chart language's format."""
    if p.suppressed:
        return p.text
    from belmig.report.locale import percent_suffix

    return in_locale(p.text, lang) + (percent_suffix(lang) if lang != "en" else "%")


def drawn_mean(data: ChartData) -> str:
    return t(data.lang, "mean", mean=in_locale(data.mean.text, data.lang))


def drawn_mean_ci(data: ChartData) -> str | None:
    """The weighted interval of the mean as the ledger prints ``wci_mean.<q>``: "a–b"."""
    m = data.mean
    if m.w_value is None:
        return None
    return t(data.lang, "mean_ci", low=in_locale(format_value(m.w_low, "mean"), data.lang),
             high=in_locale(format_value(m.w_high, "mean"), data.lang))  # fmt: skip


# --------------------------------------------------------------------------- text measurement

_SCRATCH: dict[str, Any] = {}
_MEASURED: dict[tuple, tuple[float, float]] = {}  # the house font only: keyed by text, size, weight


def _renderer():
    if "r" not in _SCRATCH:
        fig = Figure(figsize=(1, 1), dpi=72)
        _SCRATCH["fig"], _SCRATCH["r"] = fig, FigureCanvasAgg(fig).get_renderer()
    return _SCRATCH["fig"], _SCRATCH["r"]


def measure(text: str, prop: FontProperties) -> tuple[float, float]:
    """Width and height in inches of a (possibly multi-line) text block as drawn."""
    key = (text, prop.get_size_in_points(), prop.get_weight())
    if key not in _MEASURED:
        fig, r = _renderer()
        artist = fig.text(0, 0, text, fontproperties=prop, linespacing=theme.LINE_SPACING, parse_math=False)
        bb = artist.get_window_extent(renderer=r)
        artist.remove()
        _MEASURED[key] = (bb.width / 72.0, bb.height / 72.0)
    return _MEASURED[key]


def _line_width(text: str, prop: FontProperties) -> float:
    """Width in inches of one line of text (faster than :func:`measure`, same metrics)."""
    key = ("\x00w", text, prop.get_size_in_points(), prop.get_weight())
    if key not in _MEASURED:
        _, r = _renderer()
        w, _, _ = r.get_text_width_height_descent(text, prop, ismath=False)
        _MEASURED[key] = (w / 72.0, 0.0)
    return _MEASURED[key][0]


# Text is measured unhinted at 72 dpi; hinted rendering at low resolutions runs a little wider,
# so lines are wrapped with a small safety margin (a 100-dpi preview clipped the Russian source line).
WRAP_SAFETY = 0.97

# Laying a line out in FreeType costs ~14 µs a character and a greedy wrap measures each line once
# per word (most of the charts' text measurement). The sum of the characters' advance widths is
# within ESTIMATE_SLACK of the measured width (it leaves out kerning and the first and last
# glyphs' side bearings: at most 0.35 em on the 18 charts' texts in three languages,
# tests/test_charts.py), so only a line whose sum is that close to the width is measured; the
# others are decided by the sum, and the wrap is the same as measuring every line.
ESTIMATE_SLACK_EM = 1.0  # plus ESTIMATE_SLACK_REL of the sum
ESTIMATE_SLACK_REL = 0.01
_ADVANCES: dict[tuple, float | None] = {}  # (character, size, weight) -> advance width in inches


def _advance(char: str, prop: FontProperties) -> float | None:
    """The advance width in inches of one character in the house font (None: not in its first face)."""
    key = (char, prop.get_size_in_points(), prop.get_weight())
    if key not in _ADVANCES:
        _, r = _renderer()
        font = r._prepare_font(prop)  # the face and size the measuring renderer lays text out with
        code = ord(char)
        adv = None
        if font.get_char_index(code):
            adv = font.load_char(code, flags=get_hinting_flag()).linearHoriAdvance / 65536 / 72.0
        _ADVANCES[key] = adv
    return _ADVANCES[key]


def estimate_width(text: str, prop: FontProperties) -> float | None:
    """The sum of the characters' advance widths in inches (None when one is not in the font)."""
    total = 0.0
    for char in text:
        adv = _advance(char, prop)
        if adv is None:
            return None
        total += adv
    return total


def wider_than(text: str, width_in: float, prop: FontProperties) -> bool:
    """Whether one line of ``text`` is wider than ``width_in``: :func:`_line_width` ``> width_in``,
    measured only when the advance widths' sum is within the slack of the width."""
    est = estimate_width(text, prop)
    if est is not None:
        slack = ESTIMATE_SLACK_EM * prop.get_size_in_points() / 72.0 + ESTIMATE_SLACK_REL * est
        if est + slack < width_in:
            return False
        if est - slack > width_in:
            return True
    return _line_width(text, prop) > width_in


def wrap(text: str, width_in: float, prop: FontProperties) -> str:
    """Greedy word wrap to a width in inches (a word longer than the width gets its own line)."""
    width_in *= WRAP_SAFETY
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for word in para.split():
            trial = f"{cur} {word}" if cur else word
            if cur and wider_than(trial, width_in, prop):
                lines.append(cur)
                cur = word
            else:
                cur = trial
        lines.append(cur)
    return "\n".join(lines)


# --------------------------------------------------------------------------- figure

SHOW_TITLE = False  # the report's caption titles the chart (issue 15: one title)
MARGIN = 0.06  # white border of the image, inches
GAP_TITLE = 0.04
GAP_HEAD = 0.14  # subtitle to plot
GAP_FOOT = 0.10  # plot to note
GAP_SOURCE = 0.03
PAD_BOTTOM = 0.02
BAR_THICK = 0.19  # inches
ROW_MIN = 0.29  # inches per bar row
ROW_PAD = 0.10  # inches between wrapped label blocks
GROUP_GAP = 0.14  # inches of space before the residual answers
LABEL_MAX = 0.44  # of the text width: the widest option-label column
VALUE_OFFSET_PT = 4
SCALE_AXES_H = 1.75
SCALE_BAR_W = 0.68


@dataclass
class _Block:
    text: str
    prop: FontProperties
    color: str
    height: float


def _whisker(ax, x: float, y: float, *, horizontal: bool, low: float, high: float, value: float, **kw: Any) -> None:
    """A 95% interval with a dot at the weighted estimate, haloed in white so it reads on a bar."""
    err = [[value - low], [high - value]]
    cont = ax.errorbar(x, y, **({"xerr": err} if horizontal else {"yerr": err}), fmt="o", ms=3.0, mec="white",
                       mew=0.5, color=theme.WHISKER, elinewidth=0.8, capsize=2.2, capthick=0.8, zorder=4, **kw)  # fmt: skip
    for artist in cont.lines[2]:  # the interval line, not the caps
        artist.set_path_effects([patheffects.withStroke(linewidth=1.8, foreground="white")])


def _block(text: str, width: float, prop: FontProperties, color: str) -> _Block:
    wrapped = wrap(text, width, prop)
    return _Block(wrapped, prop, color, measure(wrapped, prop)[1])


def figure(data: ChartData, codebook: Codebook) -> tuple[Figure, dict[str, Any]]:
    """Draw the chart. Returns the figure and handles of the text it shows (read back for the record).

    Call inside ``matplotlib.rc_context(theme.rc())``.
    """
    theme.check_font()
    W = theme.FIG_WIDTH_IN
    text_w = W - 2 * MARGIN
    head = [
        _block(title(data), text_w, theme.font(theme.SIZE_TITLE, "bold"), theme.INK),
        _block(subtitle(data), text_w, theme.font(theme.SIZE_SUBTITLE), theme.INK_SOFT),
    ]
    foot = [
        _block(note(data, codebook, marks=True), text_w, theme.font(theme.SIZE_NOTE), theme.INK_SOFT),
        _block(t(data.lang, "source"), text_w, theme.font(theme.SIZE_SOURCE), theme.INK_SOFT),
    ]
    # One title: the report's caption is the chart's title, so the image does not repeat it
    # (the record and the alt text keep it; SHOW_TITLE draws it for stand-alone use).
    if not SHOW_TITLE:
        head[0] = _Block(head[0].text, head[0].prop, head[0].color, -GAP_TITLE)
    head_h = MARGIN + head[0].height + GAP_TITLE + head[1].height + GAP_HEAD
    foot_h = GAP_FOOT + foot[0].height + GAP_SOURCE + foot[1].height + PAD_BOTTOM + MARGIN
    body = _bars_body(data, text_w) if data.spec.kind == "bars" else _scale_body(data, text_w)
    H = head_h + body["height"] + foot_h

    fig = Figure(figsize=(W, H), dpi=72)
    handles: dict[str, Any] = {}
    y = H - MARGIN
    for name, b, gap in (("title", head[0], GAP_TITLE), ("subtitle", head[1], 0.0)):
        if name == "title" and not SHOW_TITLE:
            handles[name] = Text(text=b.text)  # kept for the record, not drawn
            continue
        handles[name] = fig.text(MARGIN / W, y / H, b.text, fontproperties=b.prop, color=b.color, va="top", ha="left",
                                 linespacing=theme.LINE_SPACING, parse_math=False)  # fmt: skip
        y -= b.height + gap
    y = foot_h - GAP_FOOT
    for name, b, gap in (("note", foot[0], GAP_SOURCE), ("source", foot[1], 0.0)):
        handles[name] = fig.text(MARGIN / W, y / H, b.text, fontproperties=b.prop, color=b.color, va="top", ha="left",
                                 linespacing=theme.LINE_SPACING, parse_math=False)  # fmt: skip
        y -= b.height + gap
    body["draw"](fig, W, H, foot_h, handles)
    return fig, handles


def _bars_body(data: ChartData, text_w: float) -> dict[str, Any]:
    lab_prop = theme.font(theme.SIZE_LABEL)
    val_prop = theme.font(theme.SIZE_VALUE)
    labels = [wrap(p.label, LABEL_MAX * text_w, lab_prop) for p in data.points]
    sizes = [measure(s, lab_prop) for s in labels]
    label_w = max(w for w, _ in sizes)
    value_w = max(measure(drawn_value(p, data.lang), val_prop)[0] for p in data.points) + VALUE_OFFSET_PT / 72
    # Rows in inches (data units of the y axis), top to bottom: each row as tall as its label
    # block needs, so a long label does not spread out every other bar; a gap before the
    # residual answers.
    ys, y = [], 0.0
    for i, (p, (_, h)) in enumerate(zip(data.points, sizes)):
        if i and p.residual and not data.points[i - 1].residual:
            y += GROUP_GAP
        row = max(ROW_MIN, h + ROW_PAD)
        ys.append(y + row / 2)
        y += row
    height = y
    tick_pad = 5 / 72

    def draw(fig: Figure, W: float, H: float, bottom: float, handles: dict[str, Any]) -> None:
        left = MARGIN + label_w + tick_pad
        width = W - MARGIN - value_w - 0.03 - left
        ax = fig.add_axes((left / W, bottom / H, width / W, height / H))
        ends = [max(p.value, p.w_high if p.w_high is not None else -math.inf) for p in data.points if not p.suppressed]
        xmax = max(ends) if ends and max(ends) > 0 else 1.0
        ax.set_xlim(0, xmax)
        ax.set_ylim(height, 0)
        thick = BAR_THICK
        for p, yy in zip(data.points, ys):
            if not p.suppressed:
                ax.barh(yy, p.value, height=thick, color=theme.BAR_RESIDUAL if p.residual else theme.BAR, zorder=2)
        ax.set_xticks([])  # no tick machinery: the option labels are drawn as texts
        ax.set_yticks([])
        handles["labels"] = [
            ax.annotate(lab, xy=(0, yy), xycoords=("axes fraction", "data"), xytext=(-tick_pad * 72, 0),
                        textcoords="offset points", ha="right", va="center_baseline", multialignment="right",
                        fontproperties=lab_prop, color=theme.INK, linespacing=theme.LINE_SPACING,
                        annotation_clip=False, parse_math=False)
            for lab, yy in zip(labels, ys)
        ]  # fmt: skip
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.spines["left"].set_color(theme.RULE)
        values = []
        for p, yy in zip(data.points, ys):
            if p.w_value is not None:
                _whisker(ax, p.w_value, yy, horizontal=True, low=p.w_low, high=p.w_high, value=p.w_value)
            end = 0.0 if p.suppressed else max(p.value, p.w_high if p.w_high is not None else -math.inf)
            values.append(
                ax.annotate(
                    drawn_value(p, data.lang),
                    xy=(end, yy),
                    xytext=(VALUE_OFFSET_PT, 0),
                    textcoords="offset points",
                    ha="left",
                    va="center_baseline",
                    fontproperties=val_prop,
                    color=theme.INK,
                    annotation_clip=False,
                    parse_math=False,
                )  # fmt: skip
            )
        handles["values"] = values

    return {"height": height, "draw": draw}


def _scale_body(data: ChartData, text_w: float) -> dict[str, Any]:
    q, lang = data.question, data.lang
    val_prop = theme.font(theme.SIZE_VALUE_SCALE)
    mean_prop = theme.font(theme.SIZE_LABEL, "bold")
    tick_prop = theme.font(theme.SIZE_LABEL)
    end_prop = theme.font(theme.SIZE_NOTE)
    lo, hi = int(q.scale["min"]), int(q.scale["max"])
    end_texts = (
        t(lang, "scale_end", value=lo, label=q.scale[f"label_min_{lang}"]),
        t(lang, "scale_end", value=hi, label=q.scale[f"label_max_{lang}"]),
    )
    mean_prop_ci = theme.font(theme.SIZE_NOTE)
    mean_text, ci_text = drawn_mean(data), drawn_mean_ci(data)
    mean_w, mean_th = measure(mean_text, mean_prop)
    ci_w, ci_th = measure(ci_text, mean_prop_ci) if ci_text else (0.0, 0.0)
    ci_gap = 6 / 72 if ci_text else 4 / 72  # above the axes (room for the caps of the weighted-mean whisker)
    mean_h = ci_gap + ci_th + mean_th + 1 / 72
    tick_h = measure("0123456789", tick_prop)[1] + 3 / 72
    end_h = max(measure(s, end_prop)[1] for s in end_texts) + 4 / 72
    height = mean_h + SCALE_AXES_H + tick_h + end_h

    def draw(fig: Figure, W: float, H: float, bottom: float, handles: dict[str, Any]) -> None:
        left, width = MARGIN, W - 2 * MARGIN
        ax = fig.add_axes((left / W, (bottom + tick_h + end_h) / H, width / W, SCALE_AXES_H / H))
        xs = [(p.span[0] + p.span[1]) / 2 if p.span else int(p.key[1:]) for p in data.points]
        widths = [(p.span[1] - p.span[0] + SCALE_BAR_W) if p.span else SCALE_BAR_W for p in data.points]
        ends = [max(p.value, p.w_high if p.w_high is not None else -math.inf) for p in data.points if not p.suppressed]
        top = max(ends) if ends and max(ends) > 0 else 1.0
        val_h = measure("0%", val_prop)[1] + 3 / 72
        ax.set_ylim(0, top * (1 + 1.35 * val_h / SCALE_AXES_H))  # head room for the value labels
        ax.set_xlim(lo - 0.55, hi + 0.55)
        for p, x, bw in zip(data.points, xs, widths):
            if not p.suppressed:
                ax.bar(x, p.value, width=bw, color=theme.BAR, zorder=2)
        ax.set_xticks([])  # no tick machinery at all (labels are drawn as texts)
        ax.set_yticks([])
        handles["labels"] = [
            ax.annotate(p.label, xy=(x, 0), xycoords=("data", "axes fraction"), xytext=(0, -3),
                        textcoords="offset points", ha="center", va="top", fontproperties=tick_prop,
                        color=theme.INK, annotation_clip=False, parse_math=False)
            for p, x in zip(data.points, xs)
        ]  # fmt: skip
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(theme.RULE)
        m = data.mean
        ax.axvline(m.value, color=theme.MEAN, lw=1.5, ls=(0, (4, 2)), zorder=3)
        values = []
        for p, x in zip(data.points, xs):
            if p.w_value is not None:
                _whisker(ax, x, p.w_value, horizontal=False, low=p.w_low, high=p.w_high, value=p.w_value)
            end = 0.0 if p.suppressed else max(p.value, p.w_high if p.w_high is not None else -math.inf)
            values.append(
                ax.annotate(
                    drawn_value(p, data.lang),
                    xy=(x, end),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontproperties=val_prop,
                    color=theme.INK,
                    annotation_clip=False,
                    parse_math=False,
                    zorder=5,
                    bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none"},
                )  # fmt: skip
            )
        if m.w_value is not None:
            _whisker(ax, m.w_value, 1.0, horizontal=True, low=m.w_low, high=m.w_high, value=m.w_value,
                     transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
        # the mean label centred over the line, shifted to stay inside the axes
        x_in = (m.value - (lo - 0.55)) / (hi - lo + 1.1) * width
        half = max(mean_w, ci_w) / 2
        dx = (max(half - x_in, 0.0) - max(x_in + half - width, 0.0)) * 72
        common = {"xycoords": ("data", "axes fraction"), "textcoords": "offset points", "ha": "center", "va": "bottom",
                  "annotation_clip": False, "parse_math": False, "color": theme.INK}  # fmt: skip
        handles["mean"] = ax.annotate(mean_text, xy=(m.value, 1.0), xytext=(dx, (ci_gap + ci_th) * 72),
                                      fontproperties=mean_prop, **common)  # fmt: skip
        if ci_text:
            handles["mean_ci"] = ax.annotate(ci_text, xy=(m.value, 1.0), xytext=(dx, ci_gap * 72),
                                             fontproperties=mean_prop_ci, **common)  # fmt: skip
        off = -(tick_h * 72 + 2)
        handles["scale_ends"] = [
            ax.annotate(end_texts[0], xy=(lo - SCALE_BAR_W / 2, 0), xycoords=("data", "axes fraction"), xytext=(0, off),
                        textcoords="offset points", ha="left", va="top", fontproperties=end_prop,
                        color=theme.INK_SOFT, annotation_clip=False, parse_math=False),
            ax.annotate(end_texts[1], xy=(hi + SCALE_BAR_W / 2, 0), xycoords=("data", "axes fraction"), xytext=(0, off),
                        textcoords="offset points", ha="right", va="top", fontproperties=end_prop,
                        color=theme.INK_SOFT, annotation_clip=False, parse_math=False),
        ]  # fmt: skip
        handles["values"] = values

    return {"height": height, "draw": draw}
