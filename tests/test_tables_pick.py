"""The headline tables' look-ups (belmig.report.tables._FirstRows): a figure's estimate found in
a dict built once must be the row the straightforward boolean mask over the whole frame finds
(the first one, of all respondents), with the same missing rows, the same tables and the same errors."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from belmig.core import codebook as cbm, ledger, paths
from belmig.report import build, tables as rt, values_page as vp

# --------------------------------------------------------------------------- the reference


def mask_pick(est: pd.DataFrame, q: str, opt: str, stat: str, weighted: bool) -> pd.Series | None:
    """The estimate of all respondents as the tables selected it before _FirstRows (verbatim)."""
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


def mask_frame_hit(frame_df: pd.DataFrame, q: str, opt: str, stat: str) -> pd.Series | None:
    """frame_md's alternative-frame row as it selected it before _FirstRows (verbatim)."""
    hit = frame_df[(frame_df["question"] == q) & (frame_df["option"].fillna("") == opt) & (frame_df["stat"] == stat)]
    return hit.iloc[0] if len(hit) else None


class MaskRows:
    """_FirstRows done by the reference masks: tables built with it are the straightforward ones."""

    def __init__(self, df, index):
        self.df, self.index = df, index

    def __call__(self, *key):
        if self.index is rt._overall_rows:
            return mask_pick(self.df, *key)
        assert self.index is rt._frame_rows
        return mask_frame_hit(self.df, *key)


def assert_same_row(got: pd.Series | None, want: pd.Series | None) -> None:
    if want is None:
        assert got is None
        return
    assert got is not None
    pd.testing.assert_series_equal(got, want)
    assert got.name == want.name
    assert [type(v) for v in got] == [type(v) for v in want]  # numpy scalars stay numpy scalars


def outcome(f, *args, **kw):
    """What a call gives: its value, or the type and message of its error."""
    try:
        return "value", f(*args, **kw)
    except Exception as exc:  # noqa: BLE001 (any error must be the same one)
        return "error", (type(exc), str(exc))


# --------------------------------------------------------------------------- a hand-made frame


def estimates() -> pd.DataFrame:
    """Overall and subgroup rows of the same figures, a subgroup row first, a duplicate overall row
    (the first wins), missing options/bys/levels (NaN counts as ""), a row without a question, a
    weighted-only figure and an index that is not the rows' positions."""
    base = dict(se=1.0, ci_method="logit", n=295, k=205, n_eff=170.0, suppressed=False, ci_low=60.0, ci_high=75.0)
    rows = [
        dict(question="income_regular", option="yes", stat="pct", by="sex", level="female", weighted=False,
             estimate=71.0),
        dict(question="income_regular", option="yes", stat="pct", by="", level="", weighted=False, estimate=69.49),
        dict(question="income_regular", option="yes", stat="pct", by="", level="", weighted=True, estimate=73.25),
        dict(question="income_regular", option="yes", stat="pct", by="", level="", weighted=False, estimate=1.0),
        dict(question="income_regular", option="no", stat="pct", by=None, level=None, weighted=False,
             estimate=30.51, k=3),
        dict(question="income_regular", option="no", stat="pct", by="sex", level="", weighted=True, estimate=30.0),
        dict(question="quality_life", option=None, stat="mean", by="", level="", weighted=False, estimate=6.5,
             ci_low=6.2, ci_high=6.8),
        dict(question="quality_life", option="", stat="mean", by="", level="", weighted=True, estimate=6.7,
             ci_method="fixed"),
        dict(question="quality_life", option=None, stat="mean", by="age_group", level="age18_25", weighted=True,
             estimate=9.9),
        dict(question=None, option="yes", stat="pct", by="", level="", weighted=False, estimate=50.0),
        dict(question="health_used", option="yes", stat="pct", by="", level="", weighted=True, estimate=44.4,
             suppressed=True),
        dict(question="health_used", option="yes", stat="pct", by="", level="sex", weighted=False, estimate=40.0),
    ]  # fmt: skip
    est = pd.DataFrame([{**base, **r} for r in rows])
    est.index = [10 * i + 7 for i in range(len(est))][::-1]
    return est


def frame_rows() -> pd.DataFrame:
    base = dict(by="", level="", weighted=True, ci_low="", ci_high="", n=295, k="", n_eff=170.0)
    return pd.DataFrame([
        {**base, "question": "income_regular", "option": "yes", "stat": "pct", "estimate": 69.88},
        {**base, "question": "income_regular", "option": "yes", "stat": "pct", "estimate": 1.0},  # not the first
        {**base, "question": "quality_life", "option": None, "stat": "mean", "estimate": 6.1},
        {**base, "question": "health_used", "option": "yes", "stat": "mean", "estimate": 3.0},  # wrong stat
    ])  # fmt: skip


LOOKUPS = [
    (q, opt, stat, weighted)
    for q in ("income_regular", "quality_life", "health_used", "no_such_question", "")
    for opt in ("yes", "no", "", "other")
    for stat in ("pct", "mean", "n")
    for weighted in (False, True)
]
KEYS = ["income_regular.yes", "pct.income_regular.no", "mean.quality_life", "health_used.yes", "no_such.yes",
        "wpct.income_regular.yes", "wmean.quality_life"]  # fmt: skip


def variants() -> dict[str, pd.DataFrame]:
    est = estimates()
    no_sub = est[(est["by"].fillna("") == "") & (est["level"].fillna("") == "")].drop(columns=["by", "level"])
    as_read = est.copy()  # by/level as read_csv reads empty columns: all NaN floats
    as_read[["by", "level"]] = np.nan
    ints = est.assign(weighted=est["weighted"].astype(int))  # 0/1 weighted flags
    text = est.assign(weighted=est["weighted"].map({True: "yes", False: ""}))  # truthy text: "" is unweighted
    return {
        "hand-made": est,
        "without by and level": no_sub,
        "by and level NaN": as_read,
        "0/1 weighted": ints,
        "weighted as text": text,
        "empty": est.iloc[:0],
        "string dtypes": est.astype({c: "string" for c in ("question", "option", "stat", "by", "level")}),
    }


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # fillna("") of the NaN floats, in both
@pytest.mark.parametrize("name", list(variants()))
def test_every_lookup_finds_the_row_the_mask_finds(name):
    est = variants()[name]
    pick = rt._FirstRows(est, rt._overall_rows)
    for key in LOOKUPS:
        assert_same_row(pick(*key), mask_pick(est, *key))
        assert_same_row(rt._pick(est, *key), mask_pick(est, *key))


def test_the_lookups_that_matter_here_are_found_or_missing_as_planted():
    est = estimates()
    pick = rt._FirstRows(est, rt._overall_rows)
    assert pick("income_regular", "yes", "pct", False)["estimate"] == 69.49  # not the subgroup's, not the duplicate
    assert pick("income_regular", "no", "pct", False)["estimate"] == 30.51  # by/level NaN: all respondents
    assert pick("income_regular", "no", "pct", True) is None  # only a subgroup row
    assert pick("quality_life", "", "mean", False)["estimate"] == 6.5  # option NaN is ""
    assert pick("health_used", "yes", "pct", False) is None  # its only row has a level
    assert pick("no_such_question", "yes", "pct", False) is None


def test_alternative_frame_rows_are_the_ones_the_mask_finds():
    df = frame_rows()
    alternative = rt._FirstRows(df, rt._frame_rows)
    for q, opt, stat, _w in LOOKUPS:
        assert_same_row(alternative(q, opt, stat), mask_frame_hit(df, q, opt, stat))
    assert alternative("income_regular", "yes", "pct")["estimate"] == 69.88
    assert alternative("health_used", "yes", "pct") is None


@pytest.mark.parametrize("name", ["hand-made", "without by and level", "0/1 weighted", "weighted as text", "empty"])
@pytest.mark.parametrize("lang", ["en", "lt"])
def test_the_tables_are_the_ones_the_masks_give(cb, monkeypatch, name, lang):
    est = variants()[name]
    withheld = {"wpct.income_regular.no", "n.health_used"}

    def both() -> list[tuple[str, object]]:
        return [
            outcome(rt.weighted_vs_unweighted_md, est, cb, KEYS, min_cell=5, withheld=withheld, lang=lang),
            outcome(rt.frame_md, est, frame_rows(), cb, KEYS, frame="Vilnius city", withheld=withheld, lang=lang),
        ]

    fast = both()
    assert fast[1][0] == "value"  # frame_md needs no by/level column; weighted_vs_unweighted_md does
    monkeypatch.setattr(rt, "_FirstRows", MaskRows)
    assert fast == both()


@pytest.mark.parametrize(
    "broken",
    [
        lambda e: e.drop(columns=["option"]),
        lambda e: e.drop(columns=["question"]),
        lambda e: e.drop(columns=["weighted"]),
        lambda e: e.drop(columns=["option", "question"]),  # the same column named first
        lambda e: e.assign(weighted=pd.array([True, None] * (len(e) // 2), dtype="boolean")),  # NA: no bool
    ],
)
def test_a_frame_without_its_key_columns_fails_as_before(broken):
    est = broken(estimates())
    for key in LOOKUPS[:3]:
        assert outcome(rt._FirstRows(est, rt._overall_rows), *key) == outcome(mask_pick, est, *key)
        assert outcome(rt._FirstRows(est, rt._overall_rows), *key)[0] == "error"


def test_the_frame_is_indexed_only_when_a_figure_is_looked_up(cb, monkeypatch):
    est = estimates().drop(columns=["question"])
    # no keys: nothing looked up, no error (as with the masks)
    assert rt.frame_md(est, frame_rows(), cb, [], frame="x") == rt.frame_md(est, frame_rows(), cb, [], frame="x")
    # a bad key fails before the frame is read
    fast = outcome(rt.frame_md, est, frame_rows(), cb, ["a.b.c.d"], frame="x")
    monkeypatch.setattr(rt, "_FirstRows", MaskRows)
    assert fast == outcome(rt.frame_md, est, frame_rows(), cb, ["a.b.c.d"], frame="x")
    assert fast[1][0] is ValueError


# --------------------------------------------------------------------------- the build's data

ESTIMATES, FRAME = paths.PROCESSED / "estimates.parquet", paths.PROCESSED / "frame_sensitivity.csv"


@pytest.mark.skipif(not (ESTIMATES.is_file() and FRAME.is_file()), reason="needs a built data/processed/")
def test_the_built_estimates_give_the_tables_the_masks_give(cb, monkeypatch):
    est = pd.read_parquet(ESTIMATES)
    est.attrs = {}
    frame_df = pd.read_csv(FRAME, dtype={"question": str, "option": str, "level": str}, keep_default_na=False)
    pick = rt._FirstRows(est, rt._overall_rows)
    found = est[["question", "option", "stat", "weighted"]].drop_duplicates().itertuples(index=False, name=None)
    for q, opt, stat, weighted in list(found)[::7]:
        for key in ((q, opt or "", stat, bool(weighted)), (q, opt or "", stat, not weighted)):
            assert_same_row(pick(*key), mask_pick(est, *key))
    keys = list(build.HEADLINE_KEYS) + ["no_such.yes"]
    fast = [rt.weighted_vs_unweighted_md(est, cb, keys, min_cell=5), rt.frame_md(est, frame_df, cb, keys, frame="x")]
    monkeypatch.setattr(rt, "_FirstRows", MaskRows)
    assert fast == [
        rt.weighted_vs_unweighted_md(est, cb, keys, min_cell=5),
        rt.frame_md(est, frame_df, cb, keys, frame="x"),
    ]


# --------------------------------------------------------------------------- the values page


def test_the_values_page_finds_each_function_once_and_says_the_same(cb, monkeypatch):
    entries = {
        e.key: e
        for e in [
            ledger.Entry("pct.reasons_exit.political", 86.07, "86.07", "pct", "estimate", "05_estimate",
                         "estimate-values", n=280, ci_low=81.47, ci_high=89.67, weighted=False),
            ledger.Entry("n.reasons_exit", 280, "280", "count", "estimate", "05_estimate", "estimate-values"),
            ledger.Entry("n.analysed", 335, "335", "count", "clean", "02_clean", "clean-values"),
            ledger.Entry("figure.f1", 1, "1", "count", "audit", "08_reproduce", "repro-values"),
            ledger.Entry("ext.by_citizens_estimate", 40000, "40,000", "count", "audit", "01_audit", "audit-values"),
        ]
    }  # fmt: skip
    calls = []
    real = vp.function_source
    monkeypatch.setattr(vp, "function_source", lambda spec: calls.append(spec) or real(spec))
    page = vp.render_page(entries, list(entries), cb, "0" * 40)
    assert len(calls) == len(set(calls)) == 6  # estimate's two, clean's two, the reproduction's two
    monkeypatch.setattr(functools, "cache", lambda f: f)  # every entry finds its functions again
    assert page == vp.render_page(entries, list(entries), cb, "0" * 40)
    assert "src/belmig/estimate/compute.py" in page and "src/belmig/integrity/reproduce.py" in page
