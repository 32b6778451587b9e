"""Estimates: hand-checkable shares, agreement with R's survey package (tests/r/), svy as a
cross-check, completeness over the codebook, suppression and the ledger keys."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from belmig import estimate, weight
from belmig.core import codebook as cbm, ledger
from belmig.core.keys import multi_column
from belmig.estimate import EstimateError

ROOT = Path(__file__).resolve().parents[1]
RDIR = ROOT / "tests" / "r"
FIXTURE = RDIR / "fixture_sample.csv"
REFERENCE = RDIR / "reference_values.csv"
MUNICIPALITY = ROOT / "data" / "external" / "margins_municipality_2022-11.csv"
TOTAL = float(pd.read_csv(MUNICIPALITY)["target"].sum())  # the population of the margins file
FIXTURE_QUESTIONS = ["municipality", "sex", "age_group", "income_regular", "income_source", "quality_life"]
TOL = 1e-6  # agreement with R required by the brief


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


def sub_codebook(cb, ids):
    return dataclasses.replace(
        cb, questions=tuple(cb[q] for q in ids), charts=tuple(c for c in cb.charts if c.question in ids)
    )


def cfg(method="logit", subgroups=("sex", "age_group")):
    return {"confidence": 0.95, "ci_method": method, "subgroups": list(subgroups)}


def fixture_responses(cb) -> pd.DataFrame:
    """tests/r/fixture_sample.csv in the responses.parquet layout."""
    raw = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False, na_values=["NA"])
    df = pd.DataFrame({"resp_id": raw["resp_id"].astype("str")})
    for q in ("municipality", "sex", "age_group", "income_regular"):
        df[q] = pd.Categorical(raw[q], categories=cb[q].keys)
    for key in cb["income_source"].keys:
        col = multi_column("income_source", key)
        df[col] = raw[col].map({"TRUE": True, "FALSE": False}).astype("boolean")
    df["quality_life"] = pd.to_numeric(raw["quality_life"]).astype("Int64")
    return df


@pytest.fixture(scope="module")
def fixture(cb, tmp_path_factory):
    """Fixture responses, their weights raked as in tests/r/reference.R, the sub-codebook."""
    tmp = tmp_path_factory.mktemp("margins")
    sex = tmp / "sex.csv"
    sex.write_text(f"sex,target\nfemale,24000\nmale,{TOTAL - 24000:g}\n")
    sex.with_suffix(".meta.yaml").write_text(
        "source: fixture only\nreference_date: none\nrounding: none\nlicence: none\n"
    )
    margins = weight.read_margins([MUNICIPALITY, sex], cb)
    df = fixture_responses(cb)
    res = weight.rake(df, margins, max_iter=500, tolerance=1e-12, trim_cap=None)
    res.require_converged()
    return df, res.to_frame(), sub_codebook(cb, FIXTURE_QUESTIONS)


@pytest.fixture(scope="module")
def estimates(fixture):
    df, w, scb = fixture
    return {m: estimate.estimate_all(df, w, scb, cfg(m), 5) for m in ("logit", "beta")}


def reference() -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    ref = ref[ref["quantity"] != "weight"].copy()
    ref["weighted"] = ref["weighted"].map({"true": True, "false": False}).astype(bool)
    ref["value"] = ref["value"].astype(float)
    return ref[np.isfinite(ref["value"])]


# ---------------------------------------------------------------- by hand


def test_shares_means_and_srs_se_by_hand(cb):
    scb = sub_codebook(cb, ["income_regular", "quality_life"])
    df = pd.DataFrame({
        "resp_id": pd.array(["r1", "r2", "r3", "r4", "r5"], dtype="str"),
        "income_regular": pd.Categorical(["yes", "yes", "no", "yes", None], categories=["yes", "no"]),
        "quality_life": pd.array([8, 9, 5, 10, None], dtype="Int64"),
    })  # fmt: skip
    w = pd.DataFrame({"resp_id": df["resp_id"], "weight": 2.0})
    w.attrs["calibration"] = {"margins": []}  # equal weights, not calibrated
    est = estimate.estimate_all(df, w, scb, cfg(subgroups=()), 5).set_index(["question", "option", "weighted"])
    yes = est.loc[("income_regular", "yes", False)]
    assert (yes["n"], yes["k"], yes["estimate"]) == (4, 3, pytest.approx(75.0))  # NA excluded from the base
    # SRS domain variance as R computes it: n/(n-1) Σ_domain ((y - p)/n_d)² with n = 5 respondents:
    # 5/4 · (3 · 0.25² + 0.75²) / 4² = 0.05859375
    assert yes["se"] == pytest.approx(100 * np.sqrt(0.05859375))
    assert est.loc[("quality_life", "", False), "estimate"] == pytest.approx(8.0)  # (8+9+5+10)/4
    assert est.loc[("quality_life", "ge8", False), "estimate"] == pytest.approx(75.0)
    assert est.loc[("quality_life", "v5", False), "estimate"] == pytest.approx(25.0)
    assert est.loc[("quality_life", "v1", False), "k"] == 0
    # equal weights: weighted estimates equal the unweighted ones
    for key in [("income_regular", "yes"), ("quality_life", ""), ("quality_life", "ge8")]:
        assert est.loc[key + (True,), "estimate"] == pytest.approx(est.loc[key + (False,), "estimate"])


def test_unweighted_shares_are_simple_counts(fixture, estimates):
    df, _, _ = fixture
    est = estimates["logit"]
    overall = est[(est["by"] == "") & ~est["weighted"]].set_index(["question", "option"])
    for q in ("municipality", "age_group", "income_regular"):
        counts = df[q].value_counts()
        for opt, k in counts.items():
            assert overall.loc[(q, opt), "k"] == k
            assert overall.loc[(q, opt), "n"] == df[q].notna().sum()
            assert overall.loc[(q, opt), "estimate"] == pytest.approx(100 * k / df[q].notna().sum())
    col = df[multi_column("income_source", "benefits")]
    assert overall.loc[("income_source", "benefits"), "k"] == int(col.sum())
    assert overall.loc[("income_source", "benefits"), "n"] == int(col.notna().sum())
    by = est[(est["by"] == "sex") & ~est["weighted"] & (est["question"] == "income_regular")].set_index(
        ["level", "option"]
    )
    tab = pd.crosstab(df["sex"], df["income_regular"])
    for sex in ("female", "male"):
        assert by.loc[(sex, "yes"), "k"] == tab.loc[sex, "yes"]
        assert by.loc[(sex, "yes"), "estimate"] == pytest.approx(100 * tab.loc[sex, "yes"] / tab.loc[sex].sum())


def test_scale_points_add_up(estimates):
    est = estimates["logit"]
    ql = est[(est["question"] == "quality_life") & (est["stat"] == "pct")].set_index(
        ["by", "level", "weighted", "option"]
    )["estimate"]
    for _, grp in ql.groupby(level=[0, 1, 2]):
        g = grp.droplevel([0, 1, 2])
        if np.isnan(g["v1"]):
            continue  # an empty subgroup level
        assert g[[f"v{i}" for i in range(1, 11)]].sum() == pytest.approx(100)
        assert g["ge8"] == pytest.approx(g[["v8", "v9", "v10"]].sum())


# ---------------------------------------------------------------- against R


def _compare(estimates) -> dict[str, tuple[float, int]]:
    """Max |python - R| per reference quantity (proportions in R's 0–1 units), and how many."""
    ref = reference()
    key = ["question", "option", "by", "level", "weighted"]
    est = {m: e.set_index(key) for m, e in estimates.items()}
    column = {"estimate": ("logit", "estimate"), "se": ("logit", "se"), "logit_low": ("logit", "ci_low"),
              "logit_high": ("logit", "ci_high"), "beta_low": ("beta", "ci_low"), "beta_high": ("beta", "ci_high"),
              "normal_low": ("logit", "ci_low"), "normal_high": ("logit", "ci_high")}  # fmt: skip
    tests = {"raoscott_p", "wald_p", "ttest_p"}
    out: dict[str, list[float]] = {}
    for r in ref.itertuples(index=False):
        if r.quantity in column:
            m, c = column[r.quantity]
            got = est[m].loc[(r.question, r.option, r.by, r.level, r.weighted), c]
            got = got if r.option == "" else got / 100
        elif r.quantity in tests:
            e = est["logit"]
            sel = e.xs((r.question, r.option, r.by), level=["question", "option", "by"])
            got = sel[sel.index.get_level_values("weighted") == r.weighted]["p_diff"].iloc[0]
        else:
            continue  # test statistics and df (diagnostic only)
        out.setdefault(r.quantity, []).append(abs(got - r.value))
    return {q: (float(np.max(d)), len(d)) for q, d in out.items()}


def test_estimates_ses_and_intervals_equal_r(estimates):
    diffs = _compare(estimates)
    expected = {
        "estimate": 500,
        "se": 500,
        "logit_low": 400,
        "logit_high": 400,
        "beta_low": 400,
        "beta_high": 400,
        "normal_low": 18,
        "normal_high": 18,
    }
    for q, at_least in expected.items():
        worst, count = diffs[q]
        assert count >= at_least, f"only {count} {q} values compared"
        assert worst < TOL, f"{q}: max |python - R| = {worst:.3g}"


def test_subgroup_tests_equal_r(estimates):
    diffs = _compare(estimates)
    for q, at_least in {"raoscott_p": 150, "wald_p": 6, "ttest_p": 4}.items():
        worst, count = diffs[q]
        assert count >= at_least, f"only {count} {q} values compared"
        assert worst < TOL, f"{q}: max |python - R| = {worst:.3g}"


def test_calibrated_share_has_no_sampling_error(estimates):
    # the weighted share of a raking category is fixed by the margins: se 0, interval [p, p]
    est = estimates["logit"].set_index(["question", "option", "by", "weighted"])
    row = est.loc[("municipality", "kaunas_city", "", True)]
    assert row["estimate"] == pytest.approx(100 * 2600 / TOTAL)
    assert row["se"] == 0 and row["ci_low"] == row["ci_high"] == row["estimate"]


def test_zero_share_gets_clopper_pearson(estimates):
    est = estimates["logit"].set_index(["question", "option", "by", "weighted"])
    row = est.loc[("quality_life", "v1", "", False)]  # nobody answered 1
    assert row["k"] == 0 and row["estimate"] == 0 and row["ci_method"] == "clopper-pearson"
    assert row["ci_high"] == pytest.approx(100 * (1 - 0.025 ** (1 / row["n"])))


@pytest.mark.r
def test_r_script_reproduces_the_committed_reference(tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    out = tmp_path / "ref.csv"
    subprocess.run(["Rscript", str(RDIR / "reference.R"), str(out)], check=True, capture_output=True, timeout=600)
    new = pd.read_csv(out, dtype=str, keep_default_na=False)
    old = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    assert new.drop(columns="value").equals(old.drop(columns="value"))
    a, b = new["value"].astype(float).to_numpy(), old["value"].astype(float).to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- against svy


def test_svy_agrees_on_calibrated_ses_and_logit_intervals(fixture, estimates):
    pl = pytest.importorskip("polars")
    svy = pytest.importorskip("svy")
    df, _, _ = fixture
    d = pl.DataFrame({
        "municipality_r": df["municipality"].astype(object).where(df["municipality"].notna(), "(missing)").tolist(),
        **{q: df[q].astype(object).where(df[q].notna(), None).tolist() for q in ("sex", "age_group", "income_regular")},
        "w0": [1.0] * len(df),
    })  # fmt: skip
    mun = pd.read_csv(MUNICIPALITY)
    share_missing = df["municipality"].isna().mean()
    ctrl_m = {k: float(v) * (1 - share_missing) for k, v in zip(mun["municipality"], mun["target"])}
    ctrl_m["(missing)"] = TOTAL * share_missing
    sample = svy.Sample(d, svy.Design(wgt="w0"))
    sample = sample.weighting.rake(
        controls={"municipality_r": ctrl_m, "sex": {"female": 24000.0, "male": TOTAL - 24000}}, wgt_name="rk"
    )
    est = estimates["logit"].set_index(["question", "option", "by", "level", "weighted"])
    overall = sample.estimation.prop("income_regular", drop_nulls=True).to_polars()
    by_age = sample.estimation.prop("income_regular", by="age_group", drop_nulls=True).to_polars()
    compared = 0
    for row in overall.iter_rows(named=True):
        ours = est.loc[("income_regular", row["income_regular"], "", "", True)]
        for col, theirs in (
            ("estimate", row["est"]),
            ("se", row["se"]),
            ("ci_low", row["lci"]),
            ("ci_high", row["uci"]),
        ):
            assert ours[col] / 100 == pytest.approx(theirs, abs=TOL)
            compared += 1
    for row in by_age.iter_rows(named=True):
        ours = est.loc[("income_regular", row["income_regular"], "age_group", row["age_group"], True)]
        assert ours["se"] / 100 == pytest.approx(row["se"], abs=TOL)
        assert ours["ci_low"] / 100 == pytest.approx(row["lci"], abs=TOL)
        compared += 2
    assert compared == 8 + 16


# ---------------------------------------------------------------- completeness and contract


def synthetic(cb, n: int, seed: int) -> pd.DataFrame:
    """Random respondents in the responses.parquet layout for the whole codebook."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"resp_id": pd.array([f"r{i:04d}" for i in range(1, n + 1)], dtype="str")})
    codes = {}
    for q in cb.questions:
        asked = np.ones(n, bool)
        if q.universe is not None:
            parent = cb[q.universe.question]
            asked = np.isin(codes[parent.id], [parent.keys.index(k) for k in q.universe.values])
        answered = asked & (rng.random(n) > 0.05)
        if q.type == "single":
            c = np.where(answered, rng.integers(0, len(q.keys), n), -1)
            codes[q.id] = c
            df[q.id] = pd.Categorical.from_codes(c, categories=q.keys)
        elif q.type == "multi":
            for key in q.keys:
                s = pd.array(rng.random(n) < 0.3, dtype="boolean")
                s[~answered] = pd.NA
                df[multi_column(q.id, key)] = s
        elif q.type == "scale":
            s = pd.array(rng.integers(q.scale["min"], q.scale["max"] + 1, n), dtype="Int64")
            s[~answered] = pd.NA
            df[q.id] = s
    return df


@pytest.fixture(scope="module")
def full(cb):
    df = synthetic(cb, 600, 7)
    margins = weight.read_margins([MUNICIPALITY], cb)
    w = weight.rake(df, margins, max_iter=50, tolerance=1e-10, trim_cap=None).to_frame()
    return df, w, estimate.estimate_all(df, w, cb, cfg(subgroups=("sex", "age_group", "legal_status")), 5)


def test_every_choice_and_scale_question_is_estimated(cb, full):
    _, _, est = full
    assert list(est.columns) == estimate.COLUMNS
    bys = ["", "sex", "age_group", "legal_status", "income_regular"]  # income_regular: chart 8's subgroup
    assert estimate.subgroup_questions(cb, cfg(subgroups=("sex", "age_group", "legal_status"))) == bys[1:]
    for q in cb.of_type("single", "multi", "scale"):
        opts = q.keys if q.is_choice else [f"v{i}" for i in range(1, 11)] + ["ge8", ""]
        for by in bys:
            if by == q.id:
                assert not ((est["question"] == q.id) & (est["by"] == by)).any()
                continue
            levels = [""] if by == "" else cb[by].keys
            for weighted in (False, True):
                sel = est[(est["question"] == q.id) & (est["by"] == by) & (est["weighted"] == weighted)]
                assert sorted(zip(sel["level"], sel["option"])) == sorted((lv, o) for lv in levels for o in opts), (
                    q.id,
                    by,
                )
    assert set(est["ci_method"]) <= {"logit", "normal", "clopper-pearson"}
    assert est["k"].isna().equals(est["stat"] == "mean")
    sub = est[est["by"] != ""]
    assert sub.groupby(["question", "option", "by", "weighted"])["p_diff"].nunique(dropna=False).max() == 1


def test_suppression_flags_small_subgroup_cells(full):
    _, _, est = full
    small = (est["by"] != "") & ((est["n"] < 5) | ((est["stat"] == "pct") & (est["k"].fillna(99) < 5)))
    assert small.any() and (est["suppressed"].to_numpy() == small.to_numpy(dtype=bool)).all()
    assert not est.loc[est["by"] == "", "suppressed"].any()


def test_ledger_keys(cb, full, tmp_path):
    _, _, est = full
    vals = ledger.Values(stage="estimate", notebook="05_estimate")
    estimate.to_values(est, vals)
    keys = set(vals.entries)
    for k in ("pct.return_plans.yes", "count.return_plans.yes", "n.return_plans", "wpct.return_plans.yes",
              "wci.return_plans.yes", "mean.security_lt", "wmean.security_lt", "wci_mean.security_lt",
              "pct.security_lt.v8", "pct.security_lt.ge8", "wpct.security_lt.ge8",
              "nby.income_regular.yes.income_source", "pby.income_regular.income_source.employment",
              "pct.income_source.employment"):  # fmt: skip
        assert k in keys, k
    e = vals.entries["wpct.return_plans.yes"]
    assert e.weighted is True and e.n > 0 and e.se > 0 and e.ci_low < e.value < e.ci_high and e.n_eff > 0
    assert e.cell == "estimate-values"
    assert vals.entries["wci.return_plans.yes"].text == f"{e.ci_low:.2f}–{e.ci_high:.2f}"
    assert vals.entries["pct.return_plans.yes"].weighted is False
    shown = est[(est["by"] != "") & ~est["weighted"] & (est["stat"] == "pct") & ~est["suppressed"]]
    assert {k for k in keys if k.startswith("pctby.")} == {
        f"pctby.{r.by}.{r.level}.{r.question}.{r.option}" for r in shown.itertuples()
    }
    vals.write(tmp_path / "estimate.json")  # no key is a prefix of another


# ---------------------------------------------------------------- errors


def test_weights_without_calibration_record_are_refused(fixture):
    df, w, scb = fixture
    bare = pd.DataFrame({"resp_id": w["resp_id"], "weight": w["weight"]})
    with pytest.raises(EstimateError, match="no calibration record"):
        estimate.estimate_all(df, bare, scb, cfg(), 5)


def test_weights_must_cover_the_respondents(fixture):
    df, w, scb = fixture
    short = w.iloc[1:].copy()
    short.attrs = w.attrs
    with pytest.raises(EstimateError, match="1 respondents have no weight"):
        estimate.estimate_all(df, short, scb, cfg(), 5)


def test_weights_that_miss_their_targets_are_refused(fixture):
    df, w, scb = fixture
    bad = w.copy()
    bad["weight"] = bad["weight"] * 1.01
    bad.attrs = w.attrs
    with pytest.raises(EstimateError, match="do not reproduce the targets"):
        estimate.estimate_all(df, bad, scb, cfg(), 5)


def test_answers_outside_the_universe_are_refused(fixture):
    df, w, scb = fixture
    bad = df.copy()
    row = bad.index[bad["income_regular"].isna()][0]
    for key in scb["income_source"].keys:
        bad.loc[row, multi_column("income_source", key)] = False
    with pytest.raises(EstimateError, match=r"income_source: 1 respondents answered although outside the universe"):
        estimate.estimate_all(bad, w, scb, cfg(), 5)


def test_unknown_ci_method_is_refused(fixture):
    df, w, scb = fixture
    with pytest.raises(EstimateError, match="ci_method"):
        estimate.estimate_all(df, w, scb, cfg(method="wilson"), 5)
