"""Disclosure control of the chart bars (belmig.charts.protect), with hand-checkable counts."""

from __future__ import annotations

import pandas as pd
import pytest

from belmig.charts import protect
from belmig.charts.build import build
from belmig.core import codebook as codebook_mod


def test_small_ratings_merge_with_their_smaller_neighbour():
    # security in Lithuania as built: 1, 1, 2, 3, 8, ... -> v1 (1) joins v2 (1) = 2, then the
    # smallest (2) joins v3 (2) = 4, then v4 (3) = 7: one bar "1-4"
    assert protect.merge_ratings([1, 1, 2, 3, 8, 12, 25, 55, 77, 151], 5) == [
        (0, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9),
    ]  # fmt: skip
    # quality of life: 2, 3, 6, ... -> "1-2" = 5 and 6 stays alone
    assert protect.merge_ratings([2, 3, 6, 10, 20, 30, 63, 87, 70, 44], 5)[:2] == [(0, 1), (2, 2)]
    # an empty rating stays a bar of its own (0% identifies nobody)
    assert protect.merge_ratings([0, 7, 9], 5) == [(0, 0), (1, 1), (2, 2)]
    # a small rating in the middle goes to its smaller neighbour
    assert protect.merge_ratings([9, 2, 6, 20], 5) == [(0, 0), (1, 2), (3, 3)]


def test_hidden_bars_of_a_single_choice_question_cannot_be_worked_out():
    # legal status with one "other": the shown bars would add up to 295 of 296, so "other" = 1.
    # The smallest shown bar (asylum, 24) is hidden too.
    hide = protect.hide_bars([200, 43, 28, 24, 1], 296, 5, partition=True)
    assert hide == [False, False, False, True, True]
    # two hidden bars of 1 each would be known to be 1 and 1: a third is hidden
    hide = protect.hide_bars([50, 30, 1, 1], 82, 5, partition=True)
    assert hide == [False, True, True, True]
    # several answers possible: no sum to take them from; the complement counts too
    assert protect.hide_bars([3, 200, 202], 205, 5, partition=False) == [True, False, True]


@pytest.fixture(scope="module")
def cb():
    return codebook_mod.load()


def _scale_estimates(counts: list[int]) -> pd.DataFrame:
    n = sum(counts)
    rows = []
    for weighted in (False, True):
        for i, k in enumerate(counts, start=1):
            rows.append(dict(question="security_lt", option=f"v{i}", stat="pct", by="", level="", weighted=weighted,
                             estimate=100 * k / n, ci_low=0.0, ci_high=100.0, n=n, k=k, suppressed=False))  # fmt: skip
        mean = sum(i * k for i, k in enumerate(counts, start=1)) / n
        rows.append(dict(question="security_lt", option="", stat="mean", by="", level="", weighted=weighted,
                         estimate=mean, ci_low=mean - 0.1, ci_high=mean + 0.1, n=n, k=pd.NA, suppressed=False))  # fmt: skip
    return pd.DataFrame(rows)


def test_a_scale_chart_draws_merged_ratings_across_their_span(cb):
    est = _scale_estimates([1, 1, 2, 3, 8, 12, 25, 55, 77, 151])  # n = 335
    _, rec = build(10, est, cb, lang="en", ci_whiskers=False, min_cell=5)
    bars = {b["option"]: b for b in rec["bars"]}
    assert list(bars)[0] == "v1+v2+v3+v4" and bars["v1+v2+v3+v4"]["label"] == "1–4"
    assert bars["v1+v2+v3+v4"]["text"] == "2.09"  # 7 of 335
    assert "v1" not in bars and bars["v5"]["text"] == "2.39"  # 8 of 335
    assert "1–4: 2.09%" in rec["alt"]
    assert "Ratings 1–4 are shown together" in " ".join(" ".join(rec["figure_text"]).split())
    # without disclosure control (min_cell None) every rating is drawn
    _, raw = build(10, est, cb, lang="en", ci_whiskers=False)
    assert [b["option"] for b in raw["bars"]][:2] == ["v1", "v2"]


@pytest.mark.parametrize("flag_zero", [False, True])
def test_a_bar_chart_hides_small_bars_and_shows_zeros(cb, flag_zero):
    # chart 8: income sources among those with a regular income (several answers possible)
    counts = {"employment": 161, "self_employed": 44, "savings_relatives": 8, "partner": 3, "benefits": 0, "other": 4}
    n = 203
    rows = []
    for weighted in (False, True):
        for o, k in counts.items():
            rows.append(dict(question="income_source", option=o, stat="pct", by="income_regular", level="yes",
                             weighted=weighted, estimate=100 * k / n, ci_low=0.0, ci_high=100.0, n=n, k=k,
                             suppressed=(k < 5) if flag_zero else (0 < k < 5)))  # fmt: skip
    _, rec = build(8, pd.DataFrame(rows), cb, lang="en", ci_whiskers=False, min_cell=5)
    bars = {b["option"]: b for b in rec["bars"]}
    assert bars["partner"]["suppressed"] and bars["other"]["suppressed"]
    assert bars["partner"]["text"] == "–" and bars["partner"]["ledger_key"] is None
    assert bars["savings_relatives"]["text"] == "3.94"  # 8 of 203
    # a zero is drawn, unless the estimates keep that cell out of the ledger
    assert bars["benefits"]["suppressed"] is flag_zero
    assert bars["benefits"]["text"] == ("–" if flag_zero else "0.00")
