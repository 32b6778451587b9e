"""Raking: margin files, invariants of the raked weights, trimming, failures, diagnostics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from belmig import weight
from belmig.core import codebook as cbm, ledger
from belmig.weight import MarginError, RakeError

ROOT = Path(__file__).resolve().parents[1]
MUNICIPALITY = ROOT / "data" / "external" / "margins_municipality_2022-11.csv"
FIXTURE = ROOT / "tests" / "r" / "fixture_sample.csv"
REFERENCE = ROOT / "tests" / "r" / "reference_values.csv"
TOTAL = float(pd.read_csv(MUNICIPALITY)["target"].sum())  # the population of the margins file
META = "source: test\nreference_date: '2022-11'\nrounding: none\nlicence: test\n"


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


def margin_file(tmp_path: Path, name: str, text: str, meta: str | None = META) -> Path:
    p = tmp_path / f"{name}.csv"
    p.write_text(text, encoding="utf-8")
    if meta is not None:
        p.with_suffix(".meta.yaml").write_text(meta, encoding="utf-8")
    return p


def frame(cb, **cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    df = pd.DataFrame({"resp_id": [f"r{i:04d}" for i in range(1, n + 1)]})
    for q, values in cols.items():
        df[q] = pd.Categorical(values, categories=cb[q].keys)
    return df


def fixture_frame(cb) -> pd.DataFrame:
    raw = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False, na_values=["NA"])
    return frame(cb, **{q: raw[q].tolist() for q in ("municipality", "sex", "age_group")})


@pytest.fixture
def two_margins(cb, tmp_path):
    """The committed municipality margin and a fixture-only sex margin (as in tests/r/reference.R)."""
    sex = margin_file(tmp_path, "sex", f"sex,target\nfemale,24000\nmale,{TOTAL - 24000:g}\n")
    return weight.read_margins([MUNICIPALITY, sex], cb)


# ---------------------------------------------------------------- margin files


def test_committed_municipality_margin(cb):
    (m,) = weight.read_margins([MUNICIPALITY], cb)
    assert m.variables == ("municipality",)
    assert {c[0] for c in m.categories} == set(cb["municipality"].keys)
    assert m.total == TOTAL  # the November 2022 stock; "other" is the remainder
    assert dict(zip((c[0] for c in m.categories), m.targets))["vilnius_city"] == 19000
    assert {"source", "reference_date", "rounding", "licence"} <= set(m.meta)


def test_joint_margin_is_read_as_combinations(cb, tmp_path):
    p = margin_file(
        tmp_path, "sex_age", "sex,age_group,target\nfemale,age18_25,100\nmale,age18_25,50\nfemale,age26_35,30\n"
    )
    (m,) = weight.read_margins([p], cb)
    assert m.variables == ("sex", "age_group")
    assert m.categories == (("female", "age18_25"), ("male", "age18_25"), ("female", "age26_35"))
    assert m.label(1) == "male × age18_25"
    assert m.total == 180


@pytest.mark.parametrize(
    "text, meta, message",
    [
        ("municipality,target\nvilnius,19000\n", META, r"line 2: 'vilnius' is not an option of 'municipality'"),
        ("municipality,target\nvilnius_city,0\n", META, r"line 2, target: target '0' must be a positive number"),
        ("municipality,target\nvilnius_city,-5\n", META, r"line 2, target: target '-5' must be a positive number"),
        (
            'municipality,target\nvilnius_city,"19,000"\n',
            META,
            r"line 2, target: target '19,000' must be a plain number",
        ),
        ("municipality,target\nvilnius_city,many\n", META, r"line 2, target: target 'many' is not a number"),
        ("municipality,count\nvilnius_city,1\n", META, r"line 1: no 'target' column"),
        ("town,target\nvilnius_city,1\n", META, r"line 1: column 'town' is not a question of the codebook"),
        ("reasons_exit,target\npolitical,1\n", META, r"'reasons_exit' is a multi question"),
        ("municipality,target\nother,1\nother,2\n", META, r"line 3: category other already given on line 2"),
        ("municipality,target\nother,1,2\n", META, r"line 2: 3 fields, header has 2"),
        ("municipality,target\n", META, r"no categories"),
        ("municipality,target\nother,1\n", None, r"provenance sidecar bad\.meta\.yaml not found"),
        (
            "municipality,target\nother,1\n",
            "source: x\n",
            r"missing provenance keys \['reference_date', 'rounding', 'licence'\]",
        ),
        ("municipality,target\nother,1\n", META + "total: 2\n", r"targets sum to 1 but bad\.meta\.yaml states total 2"),
    ],
)
def test_bad_margin_files_name_file_row_and_value(cb, tmp_path, text, meta, message):
    p = margin_file(tmp_path, "bad", text, meta)
    with pytest.raises(MarginError, match=message) as err:
        weight.read_margins([p], cb)
    assert "bad" in str(err.value)  # the file is named


def test_margins_must_agree_on_the_total(cb, tmp_path):
    sex = margin_file(tmp_path, "sex", "sex,target\nfemale,24000\nmale,21000\n")
    with pytest.raises(
        MarginError,
        match=r"disagree on the population total: .*margins_municipality_2022-11\.csv sums to 45,398, .*sex\.csv to 45,000",
    ):
        weight.read_margins([MUNICIPALITY, sex], cb)


def test_no_margin_files_is_an_error(cb):
    with pytest.raises(MarginError, match="no margin files"):
        weight.read_margins([], cb)


# ---------------------------------------------------------------- raking invariants


def test_one_margin_is_poststratification_by_hand(cb):
    # 4 in Vilnius city, 2 in "other", one in each remaining municipality
    df = frame(
        cb,
        municipality=["vilnius_city"] * 4
        + ["other"] * 2
        + ["vilnius_district", "kaunas_city", "kaunas_district", "siauliai_city"],
    )
    margins = weight.read_margins([MUNICIPALITY], cb)
    res = weight.rake(df, margins, max_iter=50, tolerance=1e-12, trim_cap=None)
    assert res.converged and res.iterations == 1
    w = res.weights.to_numpy()
    np.testing.assert_allclose(w[:4], 19000 / 4)
    np.testing.assert_allclose(w[4:6], 15498 / 2)
    np.testing.assert_allclose(w[6:], [3200, 2600, 1600, 3500])
    assert w.sum() == pytest.approx(TOTAL, rel=1e-12)


def test_raked_weights_meet_every_margin(cb, two_margins):
    df = fixture_frame(cb)
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12, trim_cap=None)
    assert res.converged
    w = res.weights.to_numpy()
    assert (w > 0).all()
    assert w.sum() == pytest.approx(TOTAL, rel=1e-12)
    diag = weight.diagnostics(df, w, two_margins)
    np.testing.assert_allclose(diag["weighted_count"], diag["target_count"], rtol=1e-11)
    np.testing.assert_allclose(diag["weighted_share"], diag["target_share"], rtol=1e-11)
    # weights depend only on the calibration cell (sex × municipality)
    per_cell = pd.Series(w).groupby([df["sex"].astype(str), df["municipality"].astype(str)]).nunique()
    assert (per_cell == 1).all()


def test_raked_weights_equal_r_rake(cb, two_margins):
    df = fixture_frame(cb)
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12, trim_cap=None)
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    ref = ref[ref["quantity"] == "weight"].set_index("resp_id")["value"].astype(float)
    r = ref.loc[df["resp_id"]].to_numpy()
    assert len(r) == 96
    np.testing.assert_allclose(res.weights.to_numpy(), r, rtol=1e-9, atol=0)


def test_missing_raking_variable_keeps_its_share_of_the_total(cb, two_margins):
    df = fixture_frame(cb)
    n_miss = int(df["municipality"].isna().sum())
    assert n_miss == 3
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12, trim_cap=None)
    w = res.weights.to_numpy()
    miss = df["municipality"].isna().to_numpy()
    assert w[miss].sum() == pytest.approx(TOTAL * n_miss / len(df), rel=1e-10)
    # among those who answered, the municipality shares are the file's shares
    known = pd.Series(w[~miss]).groupby(df.loc[~miss, "municipality"].astype(str).to_numpy()).sum()
    (m,) = [m for m in two_margins if m.variables == ("municipality",)]
    for cat, t in zip(m.categories, m.targets):
        assert known[cat[0]] / known.sum() == pytest.approx(t / TOTAL, rel=1e-10)
    assert res.unclassified[str(MUNICIPALITY)] == 3
    assert "(missing)" in set(weight.diagnostics(df, w, two_margins)["category"])


def test_trimming_respects_the_cap_and_the_margins(cb, two_margins):
    df = fixture_frame(cb)
    untrimmed = weight.rake(df, two_margins, max_iter=500, tolerance=1e-10, trim_cap=None)
    ratio = untrimmed.weights.max() / untrimmed.weights.mean()
    assert ratio > 1.8  # the cap below binds
    res = weight.rake(df, two_margins, max_iter=500, tolerance=1e-10, trim_cap=1.8)
    assert res.converged and res.trimmed > 0
    w = res.weights.to_numpy()
    assert w.max() / w.mean() <= 1.8 * (1 + 1e-9)
    diag = weight.diagnostics(df, w, two_margins)
    np.testing.assert_allclose(diag["weighted_count"], diag["target_count"], rtol=1e-9)
    assert weight.summary(res)["deff"] < weight.summary(untrimmed)["deff"]


def test_a_cap_that_does_not_bind_changes_nothing(cb, two_margins):
    df = fixture_frame(cb)
    a = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12, trim_cap=None)
    b = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12, trim_cap=5.0)
    assert b.trimmed == 0
    np.testing.assert_array_equal(a.weights.to_numpy(), b.weights.to_numpy())


def test_infeasible_cap_is_reported_not_hidden(cb, tmp_path):
    # Kaunas district (1,600 of 45,398) has 1 respondent in 40: weight 1,600 = 1.41 × the mean
    df = frame(
        cb,
        municipality=["vilnius_city"] * 17
        + ["other"] * 15
        + ["vilnius_district"] * 3
        + ["kaunas_city"] * 2
        + ["kaunas_district"]
        + ["siauliai_city"] * 2,
    )
    margins = weight.read_margins([MUNICIPALITY], cb)
    res = weight.rake(df, margins, max_iter=30, tolerance=1e-10, trim_cap=1.2)
    assert not res.converged
    assert res.iterations == 30
    assert "did not converge in 30 sweeps" in res.message and "margins_municipality_2022-11.csv" in res.message
    assert "cap may be infeasible" in res.message
    with pytest.raises(RakeError, match="did not converge"):
        weight.to_values(res, ledger.Values(stage="weight", notebook="04_weight"))
    with pytest.raises(RakeError, match="did not converge"):
        weight.write(res, df, margins, tmp_path / "w.parquet", tmp_path / "d.csv", tmp_path / "s.json")


def test_too_few_sweeps_is_reported(cb, two_margins):
    res = weight.rake(fixture_frame(cb), two_margins, max_iter=1, tolerance=1e-12, trim_cap=None)
    assert not res.converged and res.iterations == 1
    assert weight.summary(res)["converged"] is False


def test_category_absent_from_the_margin_file_is_an_error(cb, tmp_path):
    p = margin_file(tmp_path, "sex", "sex,target\nfemale,100\nmale,100\n")
    df = frame(cb, sex=["female", "male", "other", "other"])
    with pytest.raises(
        RakeError, match=r"sex\.csv: respondents in categories the margin does not list: other \(2 respondents\)"
    ):
        weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-10, trim_cap=None)


def test_target_without_respondents_is_an_error(cb, tmp_path):
    p = margin_file(tmp_path, "sex", "sex,target\nfemale,100\nmale,100\nother,5\n")
    df = frame(cb, sex=["female", "male"])
    with pytest.raises(RakeError, match=r"sex\.csv, line 4: no respondent in category other"):
        weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-10, trim_cap=None)


def test_joint_margin_is_met(cb, tmp_path):
    rows = (
        [("female", "age18_25")] * 3
        + [("male", "age18_25")] * 2
        + [("female", "age26_35")] * 4
        + [("male", "age26_35")]
    )
    df = frame(cb, sex=[r[0] for r in rows], age_group=[r[1] for r in rows])
    p = margin_file(
        tmp_path,
        "sa",
        "sex,age_group,target\nfemale,age18_25,60\nmale,age18_25,20\nfemale,age26_35,40\nmale,age26_35,10\n",
    )
    res = weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-12, trim_cap=None)
    np.testing.assert_allclose(res.weights.to_numpy(), [20] * 3 + [10] * 2 + [10] * 4 + [10])


# ---------------------------------------------------------------- summary, ledger, files


def test_summary_by_hand(cb, tmp_path):
    # 3 respondents in Vilnius city and 1 elsewhere, 300 people each: weights 100, 100, 100, 300
    p = margin_file(tmp_path, "m2", "municipality,target\nvilnius_city,300\nother,300\n")
    df = frame(cb, municipality=["vilnius_city"] * 3 + ["other"])
    res = weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-12, trim_cap=None)
    s = weight.summary(res)
    # Σw = 600, Σw² = 120,000: n_eff = 600²/120,000 = 3, deff = 4/3, efficiency = 3/4
    assert s["n_eff"] == pytest.approx(3)
    assert s["deff"] == pytest.approx(4 / 3)
    assert s["efficiency"] == pytest.approx(0.75)
    assert (s["min"], s["max"]) == (pytest.approx(100), pytest.approx(300))
    assert s["iterations"] == 1 and s["converged"] and s["trimmed"] == 0
    vals = ledger.Values(stage="weight", notebook="04_weight")
    weight.to_values(res, vals)
    assert set(vals.entries) == {f"weight.{k}" for k in ("deff", "n_eff", "efficiency", "min", "max", "iterations")}
    assert vals.entries["weight.efficiency"].value == pytest.approx(75)
    assert vals.entries["weight.deff"].text == "1.33"
    assert vals.entries["weight.iterations"].value == 1
    assert all(e.cell == "weight-values" for e in vals.entries.values())


def test_write_outputs(cb, two_margins, tmp_path):
    df = fixture_frame(cb)
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12, trim_cap=None)
    out = tmp_path / "w.parquet"
    weight.write(res, df, two_margins, out, tmp_path / "d.csv", tmp_path / "s.json")
    back = pd.read_parquet(out)
    assert list(back.columns) == ["resp_id", "weight"]
    assert back["resp_id"].tolist() == df["resp_id"].tolist()
    assert back["weight"].sum() == pytest.approx(TOTAL, rel=1e-12)
    cal = back.attrs["calibration"]
    assert [m["variables"] for m in cal["margins"]] == [["municipality"], ["sex"]]
    assert json.loads((tmp_path / "s.json").read_text())["converged"] is True
    assert len(pd.read_csv(tmp_path / "d.csv")) == 6 + 1 + 2  # municipalities, (missing), sexes
    with pytest.raises(RakeError, match="does not belong to these responses"):
        weight.weights_frame(df.iloc[::-1], res)


def test_settings_are_checked(cb, two_margins):
    df = fixture_frame(cb)
    with pytest.raises(RakeError, match="trim_cap must exceed 1"):
        weight.rake(df, two_margins, max_iter=10, tolerance=1e-10, trim_cap=0.5)
    with pytest.raises(RakeError, match="tolerance > 0"):
        weight.rake(df, two_margins, max_iter=10, tolerance=0.0, trim_cap=None)
    assert math.isfinite(weight.rake(df, two_margins, max_iter=10, tolerance=1e-6, trim_cap=None).max_gap)
