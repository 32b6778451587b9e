"""Draw one chart and write its files: SVG, PNG, alt text and a record of what was plotted.

Every file is written atomically (temporary file in the same directory, then rename) and is
byte-identical across runs: fixed SVG hash salt and metadata (no date), PNG without the
"Software" text chunk, JSON with sorted keys.

The PNG is zlib-compressed at level ``PNG_COMPRESS_LEVEL`` (3), not Pillow's default 6: the same
pixels (tests/test_charts.py decodes both), and on the 18 English charts at 200 dpi 12 % fewer
bytes (1.43 against 1.62 MB) in 33 % less time (0.17 against 0.25 s). zlib's levels 1-3 use
its fast matcher, which on these flat-coloured images finds about as much as the lazy one of
levels 4-9, and Pillow's filters then compress better.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from belmig.charts import base, specs, theme
from belmig.charts.strings import LANGS, t
from belmig.core import atomic
from belmig.core.codebook import Codebook

PNG_COMPRESS_LEVEL = 3  # zlib level of the PNGs (see the module's docstring)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"chart language must be one of {LANGS}, got {lang!r}")


def build(
    number: int,
    estimates: pd.DataFrame,
    codebook: Codebook,
    *,
    lang: str,
    ci_whiskers: bool,
    min_cell: int | None = None,
) -> tuple[Figure, dict[str, Any]]:
    """The figure of chart `number` and the record of what it shows (texts read back from the figure).

    Drawn in the house theme; save it inside ``matplotlib.rc_context(theme.rc())`` (as :func:`draw`
    does) so the SVG settings (text as paths, fixed hash salt) apply.
    """
    _check_lang(lang)
    spec = specs.load(number)
    data = base.select(spec, estimates, codebook, lang=lang, ci_whiskers=ci_whiskers, min_cell=min_cell)
    with matplotlib.rc_context(theme.rc()):
        fig, handles = base.figure(data, codebook)
        return fig, record(data, handles, fig, codebook)


def record(data: base.ChartData, handles: dict[str, Any], fig: Figure, codebook: Codebook) -> dict[str, Any]:
    """What was plotted: per bar the estimate, its ledger text and the label as drawn."""
    by, level = data.spec.subgroup if data.spec.subgroup else ("", "")
    bars = []
    for p, lab, val in zip(data.points, handles["labels"], handles["values"]):
        bars.append({
            "option": p.key,
            "label": p.label,
            "label_drawn": lab.get_text(),
            "value": p.value,
            "text": p.text,
            "drawn": val.get_text(),
            "suppressed": p.suppressed,
            "residual": p.residual,
            "ledger_key": p.ledger_key,
            "weighted": None if p.w_value is None else {
                "value": p.w_value, "ci_low": p.w_low, "ci_high": p.w_high, "ledger_key": p.w_ledger_key,
            },
        })  # fmt: skip
    mean = None
    if data.mean is not None:
        m = data.mean
        mean = {
            "value": m.value, "text": m.text, "drawn": handles["mean"].get_text(), "ledger_key": m.ledger_key,
            "weighted": None if m.w_value is None else {
                "value": m.w_value, "ci_low": m.w_low, "ci_high": m.w_high, "ledger_key": m.w_ledger_key,
                "ci_drawn": handles["mean_ci"].get_text(), "ci_ledger_key": f"wci_mean.{data.question.id}",
            },
        }  # fmt: skip
    texts = [a.get_text() for a in fig.findobj(matplotlib.text.Text) if a.get_visible() and a.get_text().strip()]
    return {
        "chart": data.chart.number,
        "id": data.chart.id,
        "lang": data.lang,
        "kind": data.spec.kind,
        "question": data.question.id,
        "question_type": data.question.type,
        "by": by,
        "level": level,
        "sorted": data.chart.sort,
        "ci_whiskers": data.ci_whiskers,
        "n": data.n,
        "title": handles["title"].get_text().replace("\n", " "),
        "subtitle": handles["subtitle"].get_text().replace("\n", " "),
        "note": handles["note"].get_text().replace("\n", " "),
        "source": handles["source"].get_text().replace("\n", " "),
        "bars": bars,
        "mean": mean,
        "figure_text": texts,
        "alt": alt_text(data, codebook),
    }


def alt_text(data: base.ChartData, codebook: Codebook) -> str:
    """E.g. "Chart 1. Entry to Lithuania. Bar chart: When did you arrive in Lithuania? In 2020: 30.15%; …. n = 335; …"."""
    lang, q = data.lang, data.question
    items = [
        t(lang, "alt_suppressed", label=p.label)
        if p.suppressed
        else t(lang, "alt_value", label=p.label, value=base.drawn_value(p, lang))
        for p in data.points
    ]
    if data.spec.kind == "scale":
        kind = t(lang, "alt_scale", min=q.scale["min"], max=q.scale["max"],
                 label_min=q.scale[f"label_min_{lang}"], label_max=q.scale[f"label_max_{lang}"])  # fmt: skip
        items.append(t(lang, "alt_mean", mean=data.mean.text))
    else:
        kind = t(lang, "alt_bars")
    return f"{base.title(data)}. {kind}: {base.subtitle(data)} {'; '.join(items)}. {base.note(data, codebook, marks=False)}"


def caption(number: int, codebook: Codebook, lang: str) -> str:
    """One sentence describing chart `number` (for ``snakemake --report`` captions)."""
    _check_lang(lang)
    spec = specs.load(number)
    chart, q = base.check_spec(spec, codebook)
    head = t(lang, "title", number=chart.number, title=chart.title(lang))
    if spec.kind == "scale":
        return t(lang, "caption_scale", title=head, question=q.text(lang))
    if spec.subgroup:
        by, level = spec.subgroup
        return t(lang, "caption_subgroup", title=head, question=q.text(lang),
                 levels=codebook[by].option(level).label(lang), parent=codebook[by].text(lang))  # fmt: skip
    return t(lang, "caption_bars", title=head, question=q.text(lang))


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    atomic.write_via(path, write)


def _write_text(path: Path, text: str) -> None:
    def w(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8", newline="\n")

    _atomic(path, w)


def draw(
    number: int,
    estimates: pd.DataFrame,
    codebook: Codebook,
    *,
    lang: str,
    ci_whiskers: bool,
    dpi: int,
    out_svg: Path,
    out_png: Path | None,
    out_alt: Path,
    out_data: Path,
    min_cell: int | None = None,
) -> dict[str, Any]:
    """Draw chart `number` from the estimates and write SVG, PNG (unless `out_png` is None), alt
    text and the JSON record."""
    with matplotlib.rc_context(theme.rc()), theme.svg_text_cache():
        fig, rec = build(number, estimates, codebook, lang=lang, ci_whiskers=ci_whiskers, min_cell=min_cell)
        svg_meta = {
            "Date": None,
            "Creator": theme.CREATOR,
            "Title": rec["title"],
            "Description": rec["alt"],
            "Language": lang,
        }
        _atomic(out_svg, lambda tmp: fig.savefig(tmp, format="svg", metadata=svg_meta))
        if out_png is not None:
            _atomic(
                out_png,
                lambda tmp: fig.savefig(
                    tmp,
                    format="png",
                    dpi=dpi,
                    metadata={"Software": None},
                    pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
                ),
            )
    _write_text(out_alt, rec["alt"] + "\n")
    _write_text(out_data, json.dumps(rec, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return rec
