"""Weighting: margin files, post-stratification, raking and bounded calibration (against R), the
method the config may ask for, failures, diagnostics."""

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
    res = weight.poststratify(df, margins[0])
    assert res.converged and res.iterations == 1 and res.method.name == "poststratify"
    assert res.message == "post-stratified in one step (largest relative margin gap 0)"
    # raking on one margin is the same thing: IPF reaches it in one sweep
    np.testing.assert_allclose(weight.rake(df, margins, max_iter=50, tolerance=1e-12).weights, res.weights, rtol=1e-14)
    w = res.weights.to_numpy()
    np.testing.assert_allclose(w[:4], 19000 / 4)
    np.testing.assert_allclose(w[4:6], 15498 / 2)
    np.testing.assert_allclose(w[6:], [3200, 2600, 1600, 3500])
    assert w.sum() == pytest.approx(TOTAL, rel=1e-12)


def test_raked_weights_meet_every_margin(cb, two_margins):
    df = fixture_frame(cb)
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12)
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
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12)
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    ref = ref[ref["quantity"] == "weight"].set_index("resp_id")["value"].astype(float)
    r = ref.loc[df["resp_id"]].to_numpy()
    assert len(r) == 96
    np.testing.assert_allclose(res.weights.to_numpy(), r, rtol=1e-9, atol=0)


def test_missing_raking_variable_keeps_its_share_of_the_total(cb, two_margins):
    df = fixture_frame(cb)
    n_miss = int(df["municipality"].isna().sum())
    assert n_miss == 3
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12)
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


@pytest.fixture
def extreme_margins(cb, tmp_path):
    """Planted extreme cells (as tests/r/reference.R): a sex margin far from the sample's mix
    (female 36,000 of 45,398; the sample has 53 women and 43 men) with the municipality margin;
    unbounded raking gives weight / mean weight from 0.28 to 2.71."""
    sex = margin_file(tmp_path, "sex_x", f"sex,target\nfemale,36000\nmale,{TOTAL - 36000:g}\n")
    return weight.read_margins([MUNICIPALITY, sex], cb)


def _r_weights(quantity: str, ids) -> np.ndarray:
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    return ref[ref["quantity"] == quantity].set_index("resp_id")["value"].astype(float).loc[ids].to_numpy()


@pytest.mark.parametrize("calfun", ["logit", "raking"])
def test_bounded_calibration_equals_r_calibrate(cb, extreme_margins, calfun):
    # R: calibrate(design with weights N/n, list(~municipality, ~sex), bounds = c(0.4, 3), calfun)
    df = fixture_frame(cb)
    raked = weight.rake(df, extreme_margins, max_iter=500, tolerance=1e-12)
    g0 = raked.weights / raked.weights.mean()
    assert g0.min() < 0.4 and g0.max() == pytest.approx(2.708, abs=1e-3)  # unbounded, the lower bound would not hold
    res = weight.calibrate_bounded(df, extreme_margins, calfun=calfun, bounds=(0.4, 3.0), max_iter=200, tolerance=1e-12)
    assert res.converged, res.message
    w = res.weights.to_numpy()
    np.testing.assert_allclose(w, _r_weights(f"bcal_{calfun}_weight", df["resp_id"]), rtol=1e-9, atol=0)
    # the bounds hold and the margins are met
    g = w / w.mean()
    assert g.min() >= 0.4 * (1 - 1e-12) and g.max() <= 3.0 * (1 + 1e-12)
    diag = weight.diagnostics(df, w, extreme_margins)
    np.testing.assert_allclose(diag["weighted_count"], diag["target_count"], rtol=1e-11)
    assert diag["gap"].abs().max() < 1e-11
    # logit stays strictly inside the bounds; truncated raking puts 31 respondents on the lower one
    assert res.at_bounds == (0 if calfun == "logit" else 31)
    assert weight.summary(res)["bounds"] == [0.4, 3.0]


def test_bounded_calibration_se_equals_r(cb, extreme_margins):
    from belmig import estimate

    df = fixture_frame(cb)
    raw = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False, na_values=["NA"])
    df["income_regular"] = pd.Categorical(raw["income_regular"], categories=cb["income_regular"].keys)
    df["quality_life"] = pd.to_numeric(raw["quality_life"]).astype("Int64")
    res = weight.calibrate_bounded(
        df, extreme_margins, calfun="logit", bounds=(0.4, 3.0), max_iter=200, tolerance=1e-12
    )
    import dataclasses

    scb = dataclasses.replace(cb, questions=tuple(cb[q] for q in ("municipality", "sex", "age_group", "income_regular",
                                                                  "quality_life")), charts=())  # fmt: skip
    est = estimate.estimate_all(df, res.to_frame(), scb, {"confidence": 0.95, "ci_method": "logit", "subgroups": [],
                                "level_merges": {}, "multiplicity": "holm"}, 5)  # fmt: skip
    est = est[(est["by"] == "") & est["weighted"]].set_index(["question", "option"])
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    compared = 0
    for q in ("estimate", "se"):
        for r in ref[ref["quantity"] == f"bcal_logit_{q}"].itertuples():
            got = est.loc[(r.question, r.option), q] / (1 if r.option == "" else 100)
            assert got == pytest.approx(float(r.value), abs=1e-9), (q, r.question, r.option)
            compared += 1
    assert compared == 28


def test_infeasible_bounds_are_reported_not_hidden(cb, extreme_margins, tmp_path):
    # [0.5, 2.5] cannot hold together with the margins (R's calibrate fails as well)
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    assert float(ref.loc[ref["quantity"] == "bcal_infeasible_failed", "value"].iloc[0]) == 1
    df = fixture_frame(cb)
    res = weight.calibrate_bounded(
        df, extreme_margins, calfun="logit", bounds=(0.5, 2.5), max_iter=100, tolerance=1e-10
    )
    assert not res.converged and res.iterations == 100
    assert "did not converge in 100 iterations" in res.message and "margins_municipality_2022-11.csv" in res.message
    assert "bounds may be infeasible" in res.message
    with pytest.raises(RakeError, match="did not converge"):
        weight.to_values(res, ledger.Values(stage="weight", notebook="04_weight"))
    with pytest.raises(RakeError, match="did not converge"):
        weight.write(res, df, extreme_margins, tmp_path / "w.parquet", tmp_path / "d.csv", tmp_path / "s.json")


def test_method_and_margins_must_agree(cb, two_margins):
    df = fixture_frame(cb)
    one = two_margins[:1]
    with pytest.raises(RakeError, match="post-stratification uses exactly one margin file, got 2"):
        weight.weigh(df, two_margins, weight.Method("poststratify", 1, 1e-10))
    with pytest.raises(RakeError, match="with one margin it is post-stratification"):
        weight.weigh(df, one, weight.Method("rake", 10, 1e-10))
    with pytest.raises(RakeError, match="with one margin it is post-stratification"):
        weight.weigh(df, one, weight.Method("calibrate_bounded", 10, 1e-10, "logit", (0.5, 2.0)))
    with pytest.raises(RakeError, match="calfun and bounds are given for method calibrate_bounded, and only for it"):
        weight.Method("rake", 10, 1e-10, None, (0.5, 2.0))
    with pytest.raises(RakeError, match="0 <= lo < 1 < hi"):
        weight.Method("calibrate_bounded", 10, 1e-10, "logit", (1.5, 2.0))
    res = weight.weigh(df, one, weight.Method("poststratify", 1, 1e-10))
    assert res.converged and res.at_bounds == 0


@pytest.mark.parametrize(
    ("weighting", "message"),
    [
        ({"trim_cap": 5.0}, "must not contain {'trim_cap'}"),
        ({"bounds": [0.5, 2.0]}, "must NOT match a disallowed definition"),
        ({"margins": ["a.csv", "b.csv"]}, "must contain less than or equal to 1 items"),
        ({"method": "rake"}, "must contain at least 2 items"),
        ({"method": "calibrate_bounded", "margins": ["a.csv", "b.csv"]}, r"must contain \['bounds', 'calfun'\]"),
        (
            {"method": "calibrate_bounded", "margins": ["a.csv", "b.csv"], "calfun": "logit", "bounds": [0.5, 0.9]},
            "bounds/1",
        ),
    ],
)
def test_config_cannot_promise_a_method_that_does_not_happen(weighting, message):
    from belmig.core import config
    from belmig.core.schema import SchemaError

    with pytest.raises(SchemaError, match=message):
        config.load(overrides={"weighting": weighting})


def test_committed_config_is_post_stratification():
    from belmig.core import config

    w = config.load()["weighting"]
    assert w["method"] == "poststratify" and len(w["margins"]) == 1 and "bounds" not in w


def test_too_few_sweeps_is_reported(cb, two_margins):
    res = weight.rake(fixture_frame(cb), two_margins, max_iter=1, tolerance=1e-12)
    assert not res.converged and res.iterations == 1
    assert weight.summary(res)["converged"] is False


def test_category_absent_from_the_margin_file_is_an_error(cb, tmp_path):
    p = margin_file(tmp_path, "sex", "sex,target\nfemale,100\nmale,100\n")
    df = frame(cb, sex=["female", "male", "other", "other"])
    with pytest.raises(
        RakeError, match=r"sex\.csv: respondents in categories the margin does not list: other \(2 respondents\)"
    ):
        weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-10)


def test_target_without_respondents_is_an_error(cb, tmp_path):
    p = margin_file(tmp_path, "sex", "sex,target\nfemale,100\nmale,100\nother,5\n")
    df = frame(cb, sex=["female", "male"])
    with pytest.raises(RakeError, match=r"sex\.csv, line 4: no respondent in category other"):
        weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-10)


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
    res = weight.rake(df, weight.read_margins([p], cb), max_iter=10, tolerance=1e-12)
    np.testing.assert_allclose(res.weights.to_numpy(), [20] * 3 + [10] * 2 + [10] * 4 + [10])


# ---------------------------------------------------------------- summary, ledger, files


def test_summary_by_hand(cb, tmp_path):
    # 3 respondents in Vilnius city and 1 elsewhere, 300 people each: weights 100, 100, 100, 300
    p = margin_file(tmp_path, "m2", "municipality,target\nvilnius_city,300\nother,300\n")
    df = frame(cb, municipality=["vilnius_city"] * 3 + ["other"])
    res = weight.poststratify(df, weight.read_margins([p], cb)[0])
    s = weight.summary(res)
    # Σw = 600, Σw² = 120,000: n_eff = 600²/120,000 = 3, deff = 4/3, efficiency = 3/4
    assert s["n_eff"] == pytest.approx(3)
    assert s["deff"] == pytest.approx(4 / 3)
    assert s["efficiency"] == pytest.approx(0.75)
    assert (s["min"], s["max"]) == (pytest.approx(100), pytest.approx(300))
    assert s["iterations"] == 1 and s["converged"] and s["at_bounds"] == 0 and s["bounds"] is None
    assert s["method"] == "post-stratification"
    assert (s["p25"], s["median"], s["p75"]) == (pytest.approx(100), pytest.approx(100), pytest.approx(150))
    vals = ledger.Values(stage="weight", notebook="04_weight")
    weight.to_values(res, vals)
    assert set(vals.entries) == {f"weight.{k}" for k in ("deff", "n_eff", "efficiency", "min", "max", "iterations")}
    assert vals.entries["weight.efficiency"].value == pytest.approx(75)
    assert vals.entries["weight.deff"].text == "1.33"
    assert vals.entries["weight.iterations"].value == 1
    assert all(e.cell == "weight-values" for e in vals.entries.values())


def test_write_outputs(cb, two_margins, tmp_path):
    df = fixture_frame(cb)
    res = weight.rake(df, two_margins, max_iter=200, tolerance=1e-12)
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
    with pytest.raises(RakeError, match="tolerance > 0"):
        weight.rake(df, two_margins, max_iter=10, tolerance=0.0)
    assert math.isfinite(weight.rake(df, two_margins, max_iter=10, tolerance=1e-6).max_gap)


def test_bounded_calibration_with_a_joint_sex_by_age_margin(cb, tmp_path):
    # a user's sex × age file (data/external/README.md) with the municipality margin: the joint
    # cells are met exactly and no weight leaves [0.5, 3] × the mean weight
    df = fixture_frame(cb).dropna(subset=["age_group"]).reset_index(drop=True)
    cells = df.groupby(["sex", "age_group"], observed=True).size()
    shares = {("female", "age18_25"): 0.05, ("male", "age18_25"): 0.05}  # planted: the young rarer than sampled
    rest = (1 - sum(shares.values())) / (len(cells) - len(shares))
    lines = ["sex,age_group,target"] + [f"{s},{a},{TOTAL * shares.get((s, a), rest):.6f}" for s, a in cells.index]
    joint = margin_file(tmp_path, "sex_age", "\n".join(lines) + "\n")
    margins = weight.read_margins([MUNICIPALITY, joint], cb)
    raked = weight.rake(df, margins, max_iter=500, tolerance=1e-12)
    g0 = raked.weights / raked.weights.mean()
    assert g0.min() < 0.5 and g0.max() > 3.0  # unbounded, neither bound would hold
    res = weight.weigh(df, margins, weight.Method("calibrate_bounded", 200, 1e-11, "logit", (0.5, 3.0)))
    assert res.converged, res.message
    g = res.weights / res.weights.mean()
    assert g.min() >= 0.5 and g.max() <= 3.0
    diag = weight.diagnostics(df, res.weights, margins)
    assert diag["gap"].abs().max() < 1e-10
    assert len(diag) == 6 + 1 + len(cells)  # municipalities, (missing), joint cells
