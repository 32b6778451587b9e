"""Sensitivity of the figures to two choices: the bases of multiple-choice questions and the frame
the weights are calibrated to (the methods appendix shows both tables).

* **Multiple-choice bases.** A share of a multiple-choice option is reported, as in 2022, among
  those who answered the question (ticked at least one option); a blank item is left out of the
  base even where the question has no "none" option. :func:`multi_bases` gives each option both
  ways: of those who answered and of everyone asked (blank = not chosen), e.g. 182 of 266 who
  answered (68.42%) = 182 of all 335 asked (54.33%).
* **The frame.** The margins count every Belarusian citizen with a declared residence in
  Lithuania (November 2022); the survey covers those who arrived from 2020, and the "other
  municipality" target is a remainder, not a published figure. :func:`alternative_frame`
  re-weights with the margin of one question collapsed to a few categories and the rest
  (``weighting.alternative_frame``: Vilnius city vs the rest), by the method the weights were
  made with, and returns the weighted overall estimates under it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from belmig import weight as wt
from belmig.clean.steps import applicable
from belmig.core.codebook import Codebook
from belmig.core.keys import multi_column
from belmig.estimate.compute import _screening, estimate_all
from belmig.estimate.design import EstimateError, bare
from belmig.privacy.levels import LevelPlan

MULTI_COLUMNS = ["question", "option", "k", "n_answered", "pct_answered", "n_asked", "pct_asked"]
REST = "rest"  # label of the pooled category of the alternative frame


def multi_bases(responses: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Every option of every multiple-choice question: count k, and k as a percent of those who
    answered (``n_answered``) and of everyone asked (``n_asked``: in the question's universe)."""
    responses = bare(responses)  # columns taken from here do not copy its attrs
    asked = applicable(responses, codebook)
    rows = []
    for q in codebook.of_type("multi"):
        n_asked = int(asked[q.id].sum())
        for key in q.keys:
            col = responses[multi_column(q.id, key)]
            n_ans = int(col.notna().sum())
            k = int(col.fillna(False).astype(bool).sum())
            rows.append({
                "question": q.id, "option": key, "k": k, "n_answered": n_ans,
                "pct_answered": 100 * k / n_ans if n_ans else float("nan"), "n_asked": n_asked,
                "pct_asked": 100 * k / n_asked if n_asked else float("nan"),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=MULTI_COLUMNS)


def collapse_margin(margin: wt.Margin, codebook: Codebook, keep: Sequence[str]) -> tuple[wt.Margin, str]:
    """The one-variable `margin` with every category outside `keep` pooled into one; returns the
    margin and the option key that stands for the pool in the recoded responses (the last option
    of the question outside `keep`, codebook order)."""
    if len(margin.variables) != 1:
        raise EstimateError(
            f"{margin.source}: the alternative frame collapses a one-variable margin, not {margin.variables}"
        )
    q = margin.variables[0]
    cats = [c[0] for c in margin.categories]
    bad = [k for k in keep if k not in cats]
    if bad:
        raise EstimateError(f"alternative frame: {bad} are not categories of {margin.source} ({', '.join(cats)})")
    others = [k for k in codebook[q].keys if k not in keep]
    if not others:
        raise EstimateError(f"alternative frame: keeping {list(keep)} leaves no rest category of {q!r}")
    pool = others[-1]
    targets = [margin.targets[cats.index(k)] for k in keep]
    targets.append(margin.total - sum(targets))
    new = dataclasses.replace(
        margin,
        source=f"{margin.source} (collapsed: {', '.join(keep)}, {REST})",
        categories=tuple((k,) for k in keep) + ((pool,),),
        targets=tuple(targets),
        rows=tuple(range(2, len(keep) + 3)),
    )
    return new, pool


def alternative_frame(
    responses: pd.DataFrame,
    weights: pd.DataFrame,
    codebook: Codebook,
    frame: Mapping[str, Any],
    estimation_cfg: dict[str, Any],
    min_cell: int,
) -> pd.DataFrame:
    """Weighted overall estimates (``estimates.parquet`` layout, ``by`` == "") with the weights
    re-made on the frame ``{question, keep}``: the calibration record's margins, the one of
    `question` collapsed, the same method. The collapsed question itself is left out."""
    rec = weights.attrs.get(wt.CALIBRATION_ATTR)
    if not rec or not rec.get("margins") or "method" not in rec:
        raise EstimateError("the weights carry no calibration record with margins and method to re-weight with")
    margins = [wt.Margin.from_record(m) for m in rec["margins"]]
    q, keep = frame["question"], list(frame["keep"])
    hits = [i for i, m in enumerate(margins) if q in m.variables]
    if len(hits) != 1:
        raise EstimateError(f"alternative frame: {len(hits)} margins hold {q!r}; exactly one must")
    collapsed, pool = collapse_margin(margins[hits[0]], codebook, keep)
    margins[hits[0]] = collapsed
    screening = _screening(responses, None)  # the cleaning's rule, from the attrs
    recoded = bare(responses).copy()  # columns taken from here do not copy the attrs
    col = recoded[q].astype(object)
    recoded[q] = pd.Categorical(col.where(col.isna() | col.isin(keep), pool), categories=codebook[q].keys)
    method = wt.Method.from_record(rec["method"])
    res = wt.weigh(recoded, margins, method)
    res.require_converged()
    sub = dataclasses.replace(codebook, charts=())
    cfg = {**estimation_cfg, "subgroups": [], "level_merges": {}}
    est = estimate_all(recoded, res.to_frame(), sub, cfg, min_cell, plan=LevelPlan(min_cell, {}), screening=screening)
    out = est[(est["by"] == "") & est["weighted"] & (est["question"] != q)].reset_index(drop=True)
    out.attrs = {"frame": f"{q}: {', '.join(keep)} vs {REST}", "method": method.describe()}
    return out
