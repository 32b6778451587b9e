"""The methods appendix tables of issue 16 (belmig.report.tables): subgroup levels, the two
sensitivity tables, the cleaning flow with skip-logic counts, values fixed by design."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from belmig.core import codebook as cbm
from belmig.report import tables as rt


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


def rows_of(md: str) -> tuple[list[str], list[list[str]], str]:
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]] for ln in lines]
    caption = [ln for ln in md.splitlines() if ln.startswith(": ")][0]
    return split[0], split[2:], caption


def plan_df() -> pd.DataFrame:
    return pd.DataFrame({
        "question": ["sex", "sex", "sex", "legal_status"],
        "option": ["female", "male", "other", "other"],
        "label": ["Female", "Male + Other / prefer not to say", "Male + Other / prefer not to say", "Other"],
        "level": ["female", "male+other", "male+other", ""],
        "action": ["kept", "merged", "merged", "dropped"],
        "reason": ["", "merged with other (config)", "merged with male (config)", "no respondents"],
        "n": pd.array([196, 139, 139, None], dtype="Int64"),
    })  # fmt: skip


def frame_estimates() -> tuple[pd.DataFrame, pd.DataFrame]:
    base = dict(question="income_regular", option="yes", stat="pct", by="", level="", ci_low=60.0, ci_high=75.0,
                n=295, k=205, n_eff=170.0, suppressed=False, ci_method="logit")  # fmt: skip
    est = pd.DataFrame([{**base, "weighted": False, "estimate": 69.49}, {**base, "weighted": True, "estimate": 73.25}])
    alt = pd.DataFrame([{**base, "weighted": True, "estimate": 69.88}])
    return est, alt


def bases_df() -> pd.DataFrame:
    return pd.DataFrame({
        "question": ["support_needs"], "option": ["language"], "k": [182], "n_answered": [266],
        "pct_answered": [100 * 182 / 266], "n_asked": [335], "pct_asked": [100 * 182 / 335],
    })  # fmt: skip


def all_method_tables(cb) -> list[str]:
    """Every table of this file's functions (tests/test_report_checks.py checks the report's
    cross-references against them)."""
    est, alt = frame_estimates()
    return [
        rt.levels_md(plan_df(), cb, min_cell=5),
        rt.frame_md(est, alt, cb, ["income_regular.yes"], frame="Vilnius city vs the rest"),
        rt.multi_bases_md(bases_df(), cb, ["pct.support_needs.language"]),
    ]


def test_levels_table(cb):
    header, body, cap = rows_of(rt.levels_md(plan_df(), cb, min_cell=5))
    assert header == ["Subgroup", "Answer", "Analysed as", "Done", "Why", "Respondents"]
    # questions, answers and levels by the codebook's labels, never a code id
    assert body[1] == ["Your sex", "Male", "Male + Other / prefer not to say", "merged",
                       "merged with Other / prefer not to say (configuration)", "139"]  # fmt: skip
    assert body[3][2:] == ["–", "**dropped**", "no respondents", "–"]
    assert cap.endswith("{#tbl-levels}") and "below 5 respondents" in cap


def test_frame_table(cb):
    est, alt = frame_estimates()
    header, body, cap = rows_of(rt.frame_md(est, alt, cb, ["income_regular.yes"], frame="Vilnius city vs the rest"))
    assert header[3] == "Weighted, Vilnius city vs the rest"
    assert body[0][1:] == ["69.49%", "73.25%", "69.88%", "-3.37"]  # 69.88 - 73.25
    assert cap.endswith("{#tbl-frame}")


def test_multi_bases_table(cb):
    # language courses: 182 of 266 who answered = 68.42%, of all 335 asked = 54.33%
    header, body, cap = rows_of(rt.multi_bases_md(bases_df(), cb, ["pct.support_needs.language"]))
    assert body == [["Need for support: Lithuanian language courses", "68.42%", "266", "54.33%", "335", "-14.09"]]
    assert cap.endswith("{#tbl-multi-bases}")


def test_cleaning_flow_shows_skip_logic_counts():
    flow = pd.DataFrame({
        "step": ["received", "analysed", "consistency_diaspora_involved"],
        "description": ["submissions in the export", "respondents analysed", "diaspora_involved = yes although ..."],
        "removed": [0, 0, 0], "remaining": [345, 335, 335],
        "violations": pd.array([None, None, 17], dtype="Int64"),
    })  # fmt: skip
    header, body, _ = rows_of(rt.cleaning_flow_md(flow))
    assert header[-1] == "Answers concerned"
    assert body[1][2:] == ["0", "335", "–"]
    assert body[2][2:] == ["–", "–", "17"]


def test_fixed_values_show_no_interval(cb):
    est, _ = frame_estimates()
    est.loc[1, ["ci_method", "ci_low", "ci_high", "se"]] = ["fixed", float("nan"), float("nan"), 0.0]
    _, body, _ = rows_of(rt.weighted_vs_unweighted_md(est, cb, ["income_regular.yes"], min_cell=5))
    assert body[0][4:6] == ["73.25%", "fixed by design"]


def test_weighting_summary_names_the_method_and_distribution():
    diag = pd.DataFrame({"margin": ["m.csv"], "category": ["vilnius_city"], "n": [235], "sample_share": [0.7],
                         "target_share": [0.42], "weighted_share": [0.42], "gap": [0.0]})  # fmt: skip
    summary = {"method": "post-stratification", "median": 80.85, "bounds": None, "max_gap": 0.0, "at_bounds": 0}
    margins, stats = rt.weighting_md(diag, summary, min_cell=5).split("{#tbl-weighting-margins}")
    (_h1, b1, _c1), (_h2, b2, _c2) = rows_of(margins + "{#tbl-weighting-margins}"), rows_of(stats)
    assert b1[0][-1] == "0"
    values = dict((r[0], r[1]) for r in b2)
    assert values["Method"] == "post-stratification" and values["Weight, median"] == "80.85"
    assert values["Bounds on weight / mean weight"] == "none"
    assert values["Margins reached: largest relative gap to a target"] == "0"
