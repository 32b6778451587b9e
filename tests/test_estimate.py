"""Estimates: hand-checkable shares, agreement with R's survey package (tests/r/: estimates, SEs,
intervals, per-option and whole-table Rao–Scott tests, Holm/BH adjustments, t intervals, bounded
calibration), svy as a cross-check, completeness over the codebook, levels that bear estimates,
values fixed by design, the sensitivity tables and the ledger keys."""

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
from belmig.privacy import levels as levels_mod

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


def cfg(method="logit", subgroups=("sex", "age_group"), merges=None, multiplicity="holm"):
    return {"confidence": 0.95, "ci_method": method, "subgroups": list(subgroups), "level_merges": merges or {},
            "multiplicity": multiplicity}  # fmt: skip


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
    res = weight.rake(df, margins, max_iter=500, tolerance=1e-12)
    res.require_converged()
    return df, res.to_frame(), sub_codebook(cb, FIXTURE_QUESTIONS)


@pytest.fixture(scope="module")
def estimates(fixture):
    df, w, scb = fixture
    out = {m: estimate.estimate_all(df, w, scb, cfg(m), 5) for m in ("logit", "beta")}
    out["bh"] = estimate.estimate_all(df, w, scb, cfg(multiplicity="bh"), 5)
    return out


def reference(weights: bool = False) -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    is_weight = ref["quantity"].str.endswith("weight")
    ref = ref[is_weight if weights else ~is_weight].copy()
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


Z95 = 1.959963984540054  # qnorm(0.975): R's default confint(svymean) is a normal interval


def _compare(estimates) -> dict[str, tuple[float, int]]:
    """Max |python - R| per reference quantity (proportions in R's 0–1 units), and how many."""
    ref = reference()
    key = ["question", "option", "by", "level", "weighted"]
    est = {m: e.set_index(key) for m, e in estimates.items()}
    column = {"estimate": ("logit", "estimate"), "se": ("logit", "se"), "logit_low": ("logit", "ci_low"),
              "logit_high": ("logit", "ci_high"), "beta_low": ("beta", "ci_low"), "beta_high": ("beta", "ci_high"),
              "t_low": ("logit", "ci_low"), "t_high": ("logit", "ci_high")}  # fmt: skip
    # test p-values: (estimates, column); the whole-table and adjusted ones are per comparison
    tests = {"raoscott_p": ("logit", "p_diff"), "wald_p": ("logit", "p_diff"), "ttest_p": ("logit", "p_diff"),
             "table_raoscott_p": ("logit", "p_table"), "holm_table_p": ("logit", "p_table_adj"),
             "holm_p": ("logit", "p_adj"), "bh_table_p": ("bh", "p_table_adj"), "bh_p": ("bh", "p_adj")}  # fmt: skip
    out: dict[str, list[float]] = {}
    for r in ref.itertuples(index=False):
        if r.quantity in column:
            m, c = column[r.quantity]
            row = est[m].loc[(r.question, r.option, r.by, r.level, r.weighted)]
            # fixed by design (a calibrated margin): we give no interval; R's is [p, p]
            got = row["estimate"] if row["ci_method"] == "fixed" and c.startswith("ci_") else row[c]
            got = got if r.option == "" else got / 100
        elif r.quantity in ("normal_low", "normal_high"):  # the normal interval from our estimate and se
            row = est["logit"].loc[(r.question, r.option, r.by, r.level, r.weighted)]
            got = row["estimate"] + (-Z95 if r.quantity == "normal_low" else Z95) * row["se"]
        elif r.quantity in tests:
            m, c = tests[r.quantity]
            e = est[m]
            # a single-choice question's whole table: any of its options' rows carries it
            sel = e.xs((r.question, r.by), level=["question", "by"])
            if r.option != "" or c != "p_table" and c != "p_table_adj":
                sel = sel[sel.index.get_level_values("option") == r.option]
            got = sel[sel.index.get_level_values("weighted") == r.weighted][c].dropna().iloc[0]
        else:
            continue  # test statistics, df, calibration weights (tested in test_weight.py)
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
        "t_low": 18,
        "t_high": 18,
    }
    for q, at_least in expected.items():
        worst, count = diffs[q]
        assert count >= at_least, f"only {count} {q} values compared"
        assert worst < TOL, f"{q}: max |python - R| = {worst:.3g}"


def test_subgroup_tests_equal_r(estimates):
    # the fixture's levels all bear estimates in every base, so the tests use every level, as R does
    assert set(estimates["logit"]["suppression"]) <= {"", "count"}
    diffs = _compare(estimates)
    for q, at_least in {"raoscott_p": 150, "wald_p": 6, "ttest_p": 4, "table_raoscott_p": 18}.items():
        worst, count = diffs[q]
        assert count >= at_least, f"only {count} {q} values compared"
        assert worst < TOL, f"{q}: max |python - R| = {worst:.3g}"


def test_multiplicity_adjustments_equal_r(estimates):
    # R: p.adjust(holm | BH) over every whole-table test (30 per weighting: 9 single-choice tables,
    # 18 income-source options, 3 quality-of-life means), and within each comparison's follow-ups
    # gated by pmax with the comparison's adjusted p
    diffs = _compare(estimates)
    for q, count_ in {"holm_table_p": 60, "bh_table_p": 60, "holm_p": 164, "bh_p": 164}.items():
        worst, count = diffs[q]
        assert count == count_, f"{count} {q} values compared, expected {count_}"
        assert worst < TOL, f"{q}: max |python - R| = {worst:.3g}"


def test_follow_ups_are_never_more_significant_than_their_table(estimates):
    est = estimates["logit"]
    sub = est[(est["by"] != "") & est["p_adj"].notna()]
    assert len(sub) > 100
    assert (sub["p_adj"] >= sub["p_table_adj"] - 1e-15).all()
    assert (sub["p_table_adj"] >= sub["p_table"] - 1e-15).all()  # an adjustment never lowers a p


def test_calibrated_share_has_no_sampling_error(estimates):
    # the weighted share of a raking category is fixed by the margins: se 0, no interval
    est = estimates["logit"].set_index(["question", "option", "by", "weighted"])
    row = est.loc[("municipality", "kaunas_city", "", True)]
    assert row["estimate"] == pytest.approx(100 * 2600 / TOTAL)
    assert row["se"] == 0 and row["ci_method"] == "fixed"
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    # within a subgroup the same share is not fixed by the margins
    by_sex = estimates["logit"].query(
        "question == 'municipality' and option == 'kaunas_city' and by == 'sex' and weighted"
    )
    assert (by_sex["ci_method"] == "logit").all() and (by_sex["se"] > 0).all()


def test_t_quantile_is_scipy_stats_bit_for_bit():
    """intervals.t_ppf is scipy.stats.t.ppf without scipy.stats: the same bits on a grid with the
    edges (q 0, 1, outside, nan; df 0, negative, tiny, huge, inf, nan), on random inputs, and as a
    scalar; a planted difference of one unit in the last place is seen."""
    from scipy import stats

    from belmig.estimate.intervals import t_ppf

    qs = np.array([0.0, 1e-300, 1e-10, 0.025, 0.05, 0.3, 0.5, 0.7, 0.975, 0.999999, 1.0, -0.1, 1.1, np.nan])
    dfs = np.array([-1.0, 0.0, 1e-3, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 29.0, 333.0, 1e6, 1e12, np.inf, np.nan])
    rng = np.random.default_rng(7)
    for q, df in [np.meshgrid(qs, dfs), (rng.random(2000), rng.random(2000) * 400), (0.975, np.array([4.0, 334.0]))]:
        want, got = stats.t.ppf(q, df), t_ppf(q, df)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(want.view(np.int64), got.view(np.int64))
    assert t_ppf(0.975, 10) == stats.t.ppf(0.975, 10) and np.ndim(t_ppf(0.975, 10)) == 0
    off = np.nextafter(t_ppf(0.975, 10), np.inf)
    assert not np.array_equal(np.float64(off).view(np.int64), stats.t.ppf(0.975, 10).view(np.int64))


def test_mean_interval_is_t_with_design_df(estimates):
    # R: confint(svymean(~y, des), df = degf(des)); degf of a domain = its respondents - 1
    from scipy import stats

    row = estimates["logit"].set_index(["question", "option", "by", "weighted"]).loc[("quality_life", "", "", True)]
    t = stats.t.ppf(0.975, row["n"] - 1)
    assert row["ci_method"] == "t"
    assert row["ci_low"] == pytest.approx(row["estimate"] - t * row["se"], abs=1e-12)
    assert row["ci_high"] == pytest.approx(row["estimate"] + t * row["se"], abs=1e-12)
    degf = reference().query("quantity == 'degf' and question == 'quality_life' and by == '' and weighted")
    assert float(degf["value"].iloc[0]) == row["n"] - 1


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
    w = weight.poststratify(df, margins[0]).to_frame()
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
    assert set(est["ci_method"]) <= {"logit", "t", "clopper-pearson", "fixed"}
    assert est["k"].isna().equals(est["stat"] == "mean")
    sub = est[est["by"] != ""]
    assert sub.groupby(["question", "option", "by", "weighted"])["p_diff"].nunique(dropna=False).max() == 1


def test_suppression_flags_small_subgroup_cells(full):
    _, _, est = full
    small = (est["by"] != "") & ((est["n"] < 5) | ((est["stat"] == "pct") & (est["k"].fillna(99) < 5)))
    assert small.any() and (est.loc[small, "suppressed"]).all()
    # beyond small counts, only whole levels too small in a question's base (and their complements)
    extra = est["suppressed"] & ~small
    assert set(est.loc[extra, "suppression"]) <= {"level", "complementary"}
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


# ---------------------------------------------------------------- levels that bear estimates


def _small_level_data(cb, n=240, seed=5):
    """Random respondents with legal_status "other" chosen by 3 (below min_cell 5)."""
    df = synthetic(cb, n, seed)
    ls = df["legal_status"].astype(object).replace({"other": "asylum"})
    ls.iloc[:3] = "other"
    df["legal_status"] = pd.Categorical(ls, categories=cb["legal_status"].keys)
    return df


def test_no_estimate_or_test_rests_on_a_small_level(cb):
    df = _small_level_data(cb)
    w = pd.DataFrame({"resp_id": df["resp_id"], "weight": 1.0})
    w.attrs["calibration"] = {"margins": []}
    c = cfg(subgroups=("legal_status",))
    est = estimate.estimate_all(df, w, cb, c, 5)
    plan = est.attrs["level_plan"]["questions"]["legal_status"]
    # "other" (3) is dropped; 3 < 5 would follow by subtraction, so the smallest published level goes too
    n = df["legal_status"].value_counts()
    smallest = min(
        (k for k in cb["legal_status"].keys if k != "other"), key=lambda k: (n[k], -cb["legal_status"].keys.index(k))
    )
    assert plan["reasons"] == {"other": "fewer than 5 respondents", smallest: levels_mod.REASON_COMPLEMENTARY}
    by = est[est["by"] == "legal_status"]
    assert not set(by["level"]) & {"other", smallest}
    # the tests equal those on data where the dropped levels' respondents did not answer
    gone = df.copy()
    gone.loc[gone["legal_status"].isin(["other", smallest]), "legal_status"] = None
    ref = estimate.estimate_all(gone, w, cb, c, 5)
    key = ["question", "option", "level", "weighted"]
    a = by.set_index(key).sort_index()
    b = ref[ref["by"] == "legal_status"].set_index(key).sort_index()
    for col in ("estimate", "se", "p_diff", "p_table", "p_adj", "p_table_adj"):
        np.testing.assert_allclose(a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float), rtol=1e-12)
    # and no ledger key names them
    vals = ledger.Values(stage="estimate", notebook="05_estimate")
    estimate.to_values(est, vals)
    assert not [
        k for k in vals.entries if k.startswith(("pctby.legal_status.other.", f"pctby.legal_status.{smallest}."))
    ]


def test_a_level_small_in_a_question_base_is_suppressed_there(cb):
    # health_problems is asked of health_used = yes only: make age 18-25 rare among them
    df = synthetic(cb, 400, 11)
    young = (df["age_group"] == "age18_25").to_numpy()
    used = df["health_used"].astype(object).where(~young, "no")
    used.iloc[np.flatnonzero(young)[:3]] = "yes"
    df["health_used"] = pd.Categorical(used, categories=cb["health_used"].keys)
    for key in cb["health_problems"].keys:
        col = multi_column("health_problems", key)
        df.loc[df["health_used"] != "yes", col] = pd.NA
        df.loc[(df["health_used"] == "yes") & df[col].isna(), col] = False
    df.loc[df["health_used"] != "yes", "health_rating"] = pd.NA
    for key in cb["health_problems"].keys:
        df[multi_column("health_problems", key)] = df[multi_column("health_problems", key)].astype("boolean")
    w = pd.DataFrame({"resp_id": df["resp_id"], "weight": 1.0})
    w.attrs["calibration"] = {"margins": []}
    est = estimate.estimate_all(df, w, cb, cfg(subgroups=("age_group",)), 5)
    hp = est[(est["question"] == "health_problems") & (est["by"] == "age_group") & ~est["weighted"]]
    per = hp.drop_duplicates("level").set_index("level")
    assert per.loc["age18_25", "n"] == 3 and per.loc["age18_25", "suppression"] == "level"
    small = per.drop("age18_25")["n"].idxmin()
    assert per.loc[small, "suppression"] == "complementary"
    assert set(per.drop(["age18_25", small])["suppression"]) <= {"", "count"}
    # elsewhere (a question everyone was asked) age 18-25 is a level like the others
    ri = est[(est["question"] == "income_regular") & (est["by"] == "age_group") & (est["level"] == "age18_25")]
    assert set(ri["suppression"]) <= {"", "count"}
    vals = ledger.Values(stage="estimate", notebook="05_estimate")
    estimate.to_values(est, vals)
    assert "nby.age_group.age18_25.health_problems" not in vals.entries
    assert f"nby.age_group.{small}.health_problems" not in vals.entries
    assert "nby.age_group.age18_25.income_regular" in vals.entries


def test_merged_levels_in_estimates_and_ledger(cb, full):
    df, w, _ = full
    est = estimate.estimate_all(df, w, cb, cfg(subgroups=("sex",), merges={"sex": [["male", "other"]]}), 5)
    assert set(est.loc[est["by"] == "sex", "level"]) == {"female", "male+other"}
    # sex as a question within another subgroup is on the same levels
    assert set(est.loc[(est["question"] == "sex") & (est["by"] != ""), "option"]) == {"female", "male+other"}
    assert set(est.loc[(est["question"] == "sex") & (est["by"] == ""), "option"]) == {"female", "male", "other"}
    vals = ledger.Values(stage="estimate", notebook="05_estimate")
    estimate.to_values(est, vals)
    keys_ = set(vals.entries)
    assert "pctby.sex.male__other.income_regular.yes" in keys_ and "nby.sex.male__other.income_regular" in keys_
    assert "pctby.income_regular.yes.sex.male__other" in keys_ and "ptab.sex.income_regular" in keys_
    assert not [k for k in keys_ if ".sex.male." in k or ".sex.other." in k]


# ---------------------------------------------------------------- tests, multiplicity, fixed values


def test_whole_table_test_of_a_two_option_question_is_its_option_test(estimates):
    est = estimates["logit"]
    ir = est[(est["question"] == "income_regular") & (est["by"] == "sex")]
    np.testing.assert_allclose(ir["p_table"], ir["p_diff"], rtol=1e-12)  # a 2 × 2 table either way


def test_multiplicity_by_hand():
    from belmig.estimate import multiplicity

    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 (m = 4) -> 0.02, 0.03, 0.06, max(0.04, 0.06) = 0.06
    np.testing.assert_allclose(multiplicity.holm(p), [0.03, 0.06, 0.06, np.nan, 0.02])
    # BH: 0.04·4/4 = 0.04, 0.03·4/3 = 0.04, 0.01·4/2 = 0.02, 0.005·4/1 = 0.02
    np.testing.assert_allclose(multiplicity.bh(p), [0.02, 0.04, 0.04, np.nan, 0.02])
    tests_ = pd.DataFrame({
        "weighted": [True] * 4, "comparison": ["a", "a", "a", "b"], "role": ["table", "follow-up", "follow-up", "table"],
        "p": [0.02, 0.001, 0.3, 0.01], "option": [None, "x", "y", None],
    })  # fmt: skip
    adj = multiplicity.adjust_families(tests_, "holm").set_index(["comparison", "option"], drop=False)
    # tables: 0.01, 0.02 -> 0.02, 0.02; follow-ups of a: holm(0.001, 0.3) = 0.002, 0.3, gated by 0.02
    assert adj["p_table_adj"].tolist() == pytest.approx([0.02, 0.02, 0.02, 0.02])
    assert adj["p_adj"].tolist() == pytest.approx([0.02, 0.02, 0.3, 0.02])


def test_screening_values_are_fixed_by_design(cb):
    scb = sub_codebook(cb, ["citizen_by", "arrival_year", "sex"])
    n = 12
    df = pd.DataFrame({
        "resp_id": pd.array([f"r{i}" for i in range(n)], dtype="str"),
        "citizen_by": pd.Categorical(["yes"] * n, categories=["yes", "no"]),
        "arrival_year": pd.Categorical(["y2020"] * 4 + ["y2021"] * 4 + ["y2022"] * 4, categories=cb["arrival_year"].keys),
        "sex": pd.Categorical(["female", "male"] * 6, categories=cb["sex"].keys),
    })  # fmt: skip
    w = pd.DataFrame({"resp_id": df["resp_id"], "weight": 1.0})
    w.attrs["calibration"] = {"margins": []}
    screening = {"citizen_by": ["yes"], "arrival_year": ["y2020", "y2021", "y2022"]}
    est = estimate.estimate_all(df, w, scb, cfg(subgroups=("sex",)), 5, screening=screening)
    e = est.set_index(["question", "option", "by", "level", "weighted"])
    for key in [("citizen_by", "yes"), ("citizen_by", "no"), ("arrival_year", "before2020")]:
        for weighted in (False, True):
            row = e.loc[key + ("", "", weighted)]
            assert (
                row["ci_method"] == "fixed" and row["se"] == 0 and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
            )
        assert e.loc[key + ("sex", "female", False), "ci_method"] == "fixed"
    assert e.loc[("citizen_by", "yes", "", "", False), "estimate"] == 100
    row = e.loc[("arrival_year", "y2021", "", "", False)]
    assert row["ci_method"] == "logit" and row["ci_low"] < 100 / 3 < row["ci_high"]
    vals = ledger.Values(stage="estimate", notebook="05_estimate")
    estimate.to_values(est, vals)
    assert "wci.arrival_year.before2020" not in vals.entries and "wci.arrival_year.y2021" in vals.entries
    assert vals.entries["pct.arrival_year.before2020"].ci_low is None
    # the responses were not screened by this rule: an error, not a silent interval
    bad = df.copy()
    bad.loc[0, "arrival_year"] = "before2020"
    with pytest.raises(EstimateError, match=r"arrival_year = before2020: 8.33% .* cleaning keeps only"):
        estimate.estimate_all(bad, w, scb, cfg(subgroups=("sex",)), 5, screening=screening)
    # the rule travels with the responses (cleaning writes it)
    df.attrs["belmig"] = {"screening": screening}
    again = estimate.estimate_all(df, w, scb, cfg(subgroups=("sex",)), 5)
    assert (again["ci_method"] == "fixed").sum() == (est["ci_method"] == "fixed").sum()


def test_settings_lacking_the_new_keys_are_refused(fixture):
    df, w, scb = fixture
    for key in ("level_merges", "multiplicity"):
        c = {k: v for k, v in cfg().items() if k != key}
        with pytest.raises(EstimateError, match=f"estimation settings lack '{key}'"):
            estimate.estimate_all(df, w, scb, c, 5)
    with pytest.raises(EstimateError, match="multiplicity must be one of"):
        estimate.estimate_all(df, w, scb, cfg(multiplicity="bonferroni"), 5)


# ---------------------------------------------------------------- sensitivity


def test_multi_bases_by_hand(cb):
    scb = sub_codebook(cb, ["income_regular", "income_source"])
    df = pd.DataFrame({
        "resp_id": pd.array(["a", "b", "c", "d", "e"], dtype="str"),
        "income_regular": pd.Categorical(["yes", "yes", "no", "yes", None], categories=["yes", "no"]),
    })  # fmt: skip
    for key in cb["income_source"].keys:
        df[multi_column("income_source", key)] = pd.array(
            [key == "employment", None, False, True, None], dtype="boolean"
        )
    b = estimate.multi_bases(df, scb).set_index("option")
    # asked: the 4 with income_regular answered; answered: 3 (b left it blank); employment by a and d
    row = b.loc["employment"]
    assert (row["k"], row["n_answered"], row["n_asked"]) == (2, 3, 4)
    assert row["pct_answered"] == pytest.approx(200 / 3) and row["pct_asked"] == pytest.approx(50)


def test_alternative_frame_collapses_the_margin(cb, full):
    df, w, _ = full
    frame = estimate.alternative_frame(df, w, cb, {"question": "municipality", "keep": ["vilnius_city"]}, cfg(), 5)
    assert set(frame["by"]) == {""} and frame["weighted"].all() and "municipality" not in set(frame["question"])
    # by hand: post-stratified to Vilnius city 19,000 and the rest 26,398
    vil = (df["municipality"] == "vilnius_city").to_numpy()
    known = df["municipality"].notna().to_numpy()
    n, n_miss = len(df), int((~known).sum())
    t_v, t_r = 19000 * (1 - n_miss / n), (TOTAL - 19000) * (1 - n_miss / n)
    wt = np.where(~known, TOTAL / n, np.where(vil, t_v / vil.sum(), t_r / (known & ~vil).sum()))
    y = (df["income_regular"] == "yes").to_numpy()
    has = df["income_regular"].notna().to_numpy()
    expect = 100 * (wt * y)[has].sum() / wt[has].sum()
    got = frame.set_index(["question", "option"]).loc[("income_regular", "yes"), "estimate"]
    assert got == pytest.approx(expect, rel=1e-12)
    with pytest.raises(EstimateError, match=r"\['vilnius'\] are not categories"):
        estimate.alternative_frame(df, w, cb, {"question": "municipality", "keep": ["vilnius"]}, cfg(), 5)


def _adjust_families_reference(tests_: pd.DataFrame, method: str) -> pd.DataFrame:
    """The pandas formulation of multiplicity.adjust_families (before its array fast path)."""
    from belmig.estimate.multiplicity import adjust

    out = tests_.copy()
    out["p_table_adj"] = np.nan
    out["p_adj"] = np.nan
    for _, idx in out.groupby("weighted").groups.items():
        part = out.loc[idx]
        tab = part[part["role"] == "table"]
        adj = pd.Series(adjust(tab["p"].to_numpy(), method), index=tab["comparison"].to_numpy())
        out.loc[idx, "p_table_adj"] = part["comparison"].map(adj).to_numpy()
        out.loc[tab.index, "p_adj"] = adj.to_numpy()
        for _, g in part[part["role"] == "follow-up"].groupby("comparison"):
            within = adjust(g["p"].to_numpy(), method)
            gate = out.loc[g.index, "p_table_adj"].to_numpy()
            ok = np.isfinite(within) & np.isfinite(gate)
            out.loc[g.index, "p_adj"] = np.where(ok, np.maximum(within, np.where(ok, gate, 0.0)), np.nan)
    return out


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_multiplicity_arrays_equal_the_pandas_formulation(method):
    from belmig.estimate import multiplicity

    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        for weighted in (False, True):
            comp = f"q{i}"
            p = rng.uniform(0, 0.2, 5)
            p[rng.uniform(size=5) < 0.15] = np.nan  # tests that could not be computed
            if i % 7 != 3:  # some comparisons have no whole-table test
                rows.append((weighted, comp, "table", p[0], None))
            rows += [(weighted, comp, "follow-up", x, f"o{j}") for j, x in enumerate(p[1:])]
    order = rng.permutation(len(rows))  # families interleaved
    tests_ = pd.DataFrame([rows[i] for i in order], columns=["weighted", "comparison", "role", "p", "option"])
    got = multiplicity.adjust_families(tests_, method)
    ref = _adjust_families_reference(tests_, method)
    for c in ("p_table_adj", "p_adj"):  # the same floats, bit for bit
        assert np.array_equal(got[c].to_numpy(), ref[c].to_numpy(), equal_nan=True)
    dup = pd.concat([tests_, tests_[tests_["role"] == "table"].head(1)], ignore_index=True)
    with pytest.raises(ValueError, match="two whole-table tests"):
        multiplicity.adjust_families(dup, method)


def test_estimates_leave_the_inputs_attrs_alone(cb):
    scb = sub_codebook(cb, ["citizen_by", "sex"])
    n = 12
    df = pd.DataFrame({
        "resp_id": pd.array([f"r{i}" for i in range(n)], dtype="str"),
        "citizen_by": pd.Categorical(["yes"] * n, categories=["yes", "no"]),
        "sex": pd.Categorical(["female", "male"] * 6, categories=cb["sex"].keys),
    })  # fmt: skip
    df.attrs["belmig"] = {"screening": {"citizen_by": ["yes"]}}
    w = pd.DataFrame({"resp_id": df["resp_id"], "weight": 1.0})
    w.attrs["calibration"] = {"margins": []}
    est = estimate.estimate_all(df, w, scb, cfg(subgroups=("sex",)), 5)
    assert df.attrs == {"belmig": {"screening": {"citizen_by": ["yes"]}}}  # read, not dropped
    e = est.set_index(["question", "option", "by", "level", "weighted"])
    assert e.loc[("citizen_by", "yes", "", "", True), "ci_method"] == "fixed"  # the screening rule was seen
    types = dict(est.attrs["question_types"])
    vals = ledger.Values(stage="estimate", notebook="05_estimate")
    estimate.to_values(est, vals)
    assert est.attrs["question_types"] == types and est["question"].dtype == "str"
