"""The estimates in the value ledger (cell "estimate-values"); keys per docs/architecture.md."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from belmig.core import keys
from belmig.core.ledger import format_value
from belmig.estimate.compute import COMPLEMENTARY, LEVEL
from belmig.estimate.design import bare
from belmig.estimate.intervals import FIXED

CELL = "estimate-values"


def _ci_text(lo: float, hi: float, kind: str) -> str:
    return f"{format_value(lo, kind)}–{format_value(hi, kind)}"


def _finite(x: Any) -> bool:
    return x is not None and not pd.isna(x) and np.isfinite(float(x))


def to_values(estimates: pd.DataFrame, vals) -> None:
    """Ledger keys per docs/architecture.md (cell "estimate-values").

    For all respondents: pct/count/n, wpct/wci, mean/wmean/wci_mean. A value fixed by design
    (``ci_method`` "fixed": a screening answer, a calibrated margin) carries se 0 and no
    interval, and gets no ``wci`` key. Subgroups: pctby/nby (unweighted, like pct) for the
    levels that bear them in the question's base (a suppressed level has neither; a small count
    has no pctby); the weighted tests: pby/padj per option, ptab/padjtab for the whole table of
    a single-choice question, pmean/padjmean for a scale's means (tests that could not be
    computed are not recorded).
    """

    def add(key: str, value: Any, kind: str, description: str, r=None, **extra: Any) -> None:
        stats_ = {}
        if r is not None:
            stats_ = {"n": int(r.n), "n_eff": float(r.n_eff), "se": float(r.se), "ci_low": float(r.ci_low),
                      "ci_high": float(r.ci_high), "weighted": bool(r.weighted)}  # fmt: skip
        vals.add(key, value, kind, cell=CELL, description=description, **stats_, **extra)

    types = estimates.attrs.get("question_types", {})
    estimates = bare(estimates)  # the attrs are read: masks and rows taken from here do not copy them
    # rows are read one by one: Python strings iterate faster than Arrow-backed ones (same values)
    estimates = estimates.astype({c: object for c, t in estimates.dtypes.items() if isinstance(t, pd.StringDtype)})
    for r in estimates[estimates["by"] == ""].itertuples(index=False):
        q, o = r.question, r.option
        fixed = r.ci_method == FIXED
        ci = "fixed by design, no interval" if fixed else f"{r.ci_method} {_ci_text(r.ci_low, r.ci_high, r.stat)}"
        if r.stat == "pct" and not r.weighted:
            add(
                keys.pct(q, o),
                r.estimate,
                "pct",
                f"{q} = {o}: unweighted percent of the base" + (f" ({ci})" if fixed else ""),
                r,
            )
            add(keys.count(q, o), int(r.k), "count", f"{q} = {o}: respondents", n=int(r.n))
            if keys.n(q) not in vals.entries:
                add(keys.n(q), int(r.n), "count", f"{q}: base (asked and answered)")
        elif r.stat == "pct":
            add(keys.wpct(q, o), r.estimate, "pct", f"{q} = {o}: weighted percent ({ci})", r)
            if not fixed:
                add(
                    keys.wci(q, o),
                    _ci_text(r.ci_low, r.ci_high, "pct"),
                    "text",
                    f"{q} = {o}: {r.ci_method} CI of wpct",
                    r,
                )
        elif not r.weighted:
            add(keys.mean(q), r.estimate, "mean", f"{q}: unweighted mean", r)
        else:
            add(keys.wmean(q), r.estimate, "mean", f"{q}: weighted mean ({ci})", r)
            add(keys.wci_mean(q), _ci_text(r.ci_low, r.ci_high, "mean"), "text", f"{q}: t CI of wmean (design df)", r)
    sub = estimates[estimates["by"] != ""]
    pct = sub[sub["stat"] == "pct"]
    for r in pct[~pct["weighted"]].itertuples(index=False):
        if r.suppression in (LEVEL, COMPLEMENTARY):
            continue
        nkey = keys.nby(r.by, r.level, r.question)
        if nkey not in vals.entries:
            add(nkey, int(r.n), "count", f"{r.question}: base among {r.by} = {r.level}")
        if not r.suppressed:
            add(keys.pctby(r.by, r.level, r.question, r.option), r.estimate, "pct",
                f"{r.question} = {r.option} among {r.by} = {r.level}: unweighted percent", r)  # fmt: skip
    w = sub[sub["weighted"]]
    for r in w[w["stat"] == "pct"].drop_duplicates(["by", "question", "option"]).itertuples(index=False):
        if _finite(r.p_diff):
            add(keys.pby(r.by, r.question, r.option), r.p_diff, "pvalue",
                f"{r.question} = {r.option} by {r.by}: p of the Rao–Scott test (weighted)", weighted=True)  # fmt: skip
        if _finite(r.p_adj):
            add(keys.padj(r.by, r.question, r.option), r.p_adj, "pvalue",
                f"{r.question} = {r.option} by {r.by}: p adjusted for multiplicity (weighted)", weighted=True)  # fmt: skip
    single = {q for q, t in types.items() if t == "single"}
    for r in w.drop_duplicates(["by", "question"]).itertuples(index=False):
        if r.stat == "pct" and (r.question in single) and _finite(r.p_table):
            add(keys.ptab(r.by, r.question), r.p_table, "pvalue",
                f"{r.question} by {r.by}: p of the Rao–Scott test of the whole table (weighted)", weighted=True)  # fmt: skip
            add(keys.padjtab(r.by, r.question), r.p_table_adj, "pvalue",
                f"{r.question} by {r.by}: whole-table p adjusted for multiplicity (weighted)", weighted=True)  # fmt: skip
    for r in w[w["stat"] == "mean"].drop_duplicates(["by", "question"]).itertuples(index=False):
        if _finite(r.p_table):
            add(keys.pmean(r.by, r.question), r.p_table, "pvalue",
                f"{r.question} by {r.by}: p of the Wald test that the means are equal (weighted)", weighted=True)  # fmt: skip
            add(keys.padjmean(r.by, r.question), r.p_table_adj, "pvalue",
                f"{r.question} by {r.by}: that p adjusted for multiplicity (weighted)", weighted=True)  # fmt: skip


def sensitivity_values(bases: pd.DataFrame, frame: pd.DataFrame, vals) -> None:
    """The sensitivity figures of the methods appendix: ``nasked.<q>`` and ``pctasked.<q>.<opt>``
    (a multiple-choice option as a percent of everyone asked, blank = not chosen: the other base
    next to ``pct``), ``wpctalt.<q>.<opt>`` and ``wmeanalt.<q>`` (weighted under the alternative
    frame, :func:`belmig.estimate.sensitivity.alternative_frame`)."""
    for r in bases.itertuples(index=False):
        if keys.nasked(r.question) not in vals.entries:
            vals.add(keys.nasked(r.question), int(r.n_asked), "count", cell=CELL,
                     description=f"{r.question}: respondents asked (base of pctasked)")  # fmt: skip
        vals.add(keys.pctasked(r.question, r.option), r.pct_asked, "pct", cell=CELL, n=int(r.n_asked),
                 description=f"{r.question} = {r.option}: unweighted percent of everyone asked (blank = not chosen)")  # fmt: skip
    what = frame.attrs.get("frame", "the alternative frame")
    for r in bare(frame).itertuples(index=False):
        stats_ = {"n": int(r.n), "n_eff": float(r.n_eff), "se": float(r.se), "ci_low": float(r.ci_low),
                  "ci_high": float(r.ci_high), "weighted": True}  # fmt: skip
        if r.stat == "pct":
            vals.add(keys.wpctalt(r.question, r.option), r.estimate, "pct", cell=CELL, **stats_,
                     description=f"{r.question} = {r.option}: weighted percent, frame {what}")  # fmt: skip
        else:
            vals.add(keys.wmeanalt(r.question), r.estimate, "mean", cell=CELL, **stats_,
                     description=f"{r.question}: weighted mean, frame {what}")  # fmt: skip
