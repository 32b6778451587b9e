"""The level plan (belmig.privacy.levels): merges as configured, primary and complementary
suppression of subgroup levels, with counts one can check by hand (totals 10 = female 4 +
male 4 + other 2)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from belmig.core import codebook as cbm
from belmig.privacy import levels
from belmig.privacy.levels import LevelError, LevelPlan


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


def sex(female=4, male=4, other=2, missing=0) -> pd.Series:
    vals = ["female"] * female + ["male"] * male + ["other"] * other + [None] * missing
    return pd.Series(pd.Categorical(vals, categories=["female", "male", "other"]))


# ---------------------------------------------------------------- the rule, by hand


def test_dropping_a_small_level_alone_is_not_safe():
    # 10 = 4 + 4 + 2, min_cell 3: "other" (2) is below; publishing female and male would give
    # other = 10 - 4 - 4 = 2 by subtraction, so the smallest published level goes too (male, the
    # later of the two tied at 4: D = 2 + 4 = 6 >= 3), and one level left compares nothing.
    out = levels.protect({"female": 4, "male": 4, "other": 2}, 0, 3)
    assert out == {
        "other": "fewer than 3 respondents",
        "male": levels.REASON_COMPLEMENTARY,
        "female": levels.REASON_FEW_LEVELS,
    }


def test_merging_the_small_level_keeps_the_breakdown(cb):
    # merged: female 4, male+other 6, both >= 3: nothing dropped, nothing left to subtract
    qp = levels.plan_question(sex(), cb, "sex", [["male", "other"]], 3)
    assert qp.levels == ("female", "male+other")
    assert qp.mapping == {"female": "female", "male": "male+other", "other": "male+other"}
    assert qp.n == {"female": 4, "male+other": 6}
    assert qp.labels["male+other"] == "Male + Other / prefer not to say"
    assert qp.dropped == ()


def test_merge_key_follows_codebook_order(cb):
    qp = levels.plan_question(sex(), cb, "sex", [["other", "female"]], 3)
    assert qp.levels == ("female+other", "male")
    assert qp.n == {"female+other": 6, "male": 4}


def test_dropped_levels_that_bear_min_cell_together_are_safe():
    # 5 = 1 + 2 + 2 dropped (each below 3) but together >= 3: nothing else needs to go
    out = levels.protect({"a": 10, "b": 1, "c": 2, "d": 2, "e": 9}, 0, 3)
    assert set(out) == {"b", "c", "d"}


def test_complementary_step_uses_what_is_already_dropped():
    # in a question's base: 2 respondents of a level the plan dropped + level b with 1 = 3 >= 3
    assert levels.protect({"a": 10, "b": 1, "c": 7}, 2, 3) == {"b": "fewer than 3 respondents"}
    # but 1 + 0 < 3: the smallest published level (c, 7) follows
    assert levels.protect({"a": 10, "b": 1, "c": 7}, 0, 3) == {
        "b": "fewer than 3 respondents",
        "c": levels.REASON_COMPLEMENTARY,
        "a": levels.REASON_FEW_LEVELS,
    }


def test_empty_levels_hide_nobody():
    assert levels.protect({"a": 10, "b": 0, "c": 7}, 0, 3) == {}


def test_nonrespondents_are_not_part_of_the_remainder(cb):
    # 2 who did not answer sex: not a level, not dropped, nothing suppressed for them
    qp = levels.plan_question(sex(female=6, male=6, other=0, missing=2), cb, "sex", [], 5)
    assert qp.levels == ("female", "male") and qp.reasons == {"other": levels.REASON_EMPTY}


def test_plan_on_the_analysed_respondents(cb):
    df = pd.DataFrame({"sex": sex(female=196, male=137, other=2)})
    df["age_group"] = pd.Categorical(["age18_25"] * 40 + ["age26_35"] * 141 + ["age36_45"] * 100 + ["age46_55"] * 37
                                     + ["age56plus"] * 17, categories=cb["age_group"].keys)  # fmt: skip
    plan = levels.plan_levels(df, cb, ["sex", "age_group"], 5, {"sex": [["male", "other"]]})
    assert plan["sex"].levels == ("female", "male+other") and plan["sex"].n["male+other"] == 139
    assert plan["age_group"].levels == tuple(cb["age_group"].keys)
    no_merge = levels.plan_levels(df, cb, ["sex"], 5, {})
    assert no_merge["sex"].levels == () and no_merge["sex"].reasons == {
        "other": "fewer than 5 respondents",
        "male": levels.REASON_COMPLEMENTARY,
        "female": levels.REASON_FEW_LEVELS,
    }


def test_codes_map_respondents_to_analysis_levels(cb):
    qp = levels.plan_question(sex(female=4, male=4, other=2, missing=1), cb, "sex", [["male", "other"]], 3)
    codes = qp.codes(sex(female=4, male=4, other=2, missing=1), cb["sex"].keys)
    assert codes.tolist() == [0] * 4 + [1] * 6 + [-1]


# ---------------------------------------------------------------- the table and the record


def test_table_never_shows_the_n_of_a_protected_group(cb):
    plan = LevelPlan(3, {"sex": levels.plan_question(sex(), cb, "sex", [["male", "other"]], 3)})
    t = plan.table()
    assert list(t.columns) == levels.TABLE_COLUMNS
    rows = t.set_index("option")
    assert rows.loc["female", "action"] == "kept" and rows.loc["female", "n"] == 4
    assert rows.loc["male", "action"] == "merged" and rows.loc["male", "level"] == "male+other"
    assert rows.loc["other", "n"] == 6 and rows.loc["male", "n"] == 6  # the merged level's n, not the parts'
    assert "merged with other" in rows.loc["male", "reason"]
    dropped = LevelPlan(3, {"sex": levels.plan_question(sex(), cb, "sex", [], 3)}).table().set_index("option")
    assert (dropped["action"] == "dropped").all() and dropped["n"].isna().all()
    assert dropped.loc["other", "reason"] == "fewer than 3 respondents"


def test_record_round_trip(cb):
    plan = LevelPlan(3, {"sex": levels.plan_question(sex(), cb, "sex", [["male", "other"]], 3)})
    again = LevelPlan.from_record(plan.to_record())
    assert again == plan


# ---------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(
    ("merges", "message"),
    [
        ({"municipality": [["other", "kaunas_city"]]}, r"level_merges\.municipality: 'municipality' is not a subgroup"),
        ({"sex": [["male", "men"]]}, r"level_merges\.sex\[0\]: 'men' is not an option of 'sex'"),
        ({"sex": [["male"]]}, r"level_merges\.sex\[0\]: a merge needs at least two options"),
        (
            {"sex": [["male", "other"], ["female", "other"]]},
            r"level_merges\.sex\[1\]: option 'other' is already in group 0",
        ),
    ],
)
def test_bad_merges_name_the_config_key(cb, merges, message):
    df = pd.DataFrame({"sex": sex()})
    with pytest.raises(LevelError, match=message):
        levels.plan_levels(df, cb, ["sex"], 3, merges)


def test_unknown_answers_are_an_error(cb):
    s = pd.Series(["female", "woman"])
    with pytest.raises(LevelError, match=r"sex: answers \['woman'\] are not options"):
        levels.plan_question(s, cb, "sex", [], 3)


def test_min_cell_must_be_positive():
    with pytest.raises(LevelError, match="min_cell must be >= 1"):
        levels.protect({"a": 1}, 0, 0)


def test_estimation_uses_the_plan(cb):
    """The estimates by a merged subgroup equal those by the recoded subgroup."""
    from belmig import estimate

    rng = np.random.default_rng(3)
    n = 60
    sx = rng.choice(["female", "male", "other"], n, p=[0.5, 0.47, 0.03])
    sx[:2] = "other"
    df = pd.DataFrame({
        "resp_id": pd.array([f"r{i:03d}" for i in range(n)], dtype="str"),
        "sex": pd.Categorical(sx, categories=cb["sex"].keys),
        "income_regular": pd.Categorical(rng.choice(["yes", "no"], n), categories=cb["income_regular"].keys),
    })  # fmt: skip
    w = pd.DataFrame({"resp_id": df["resp_id"], "weight": 1.0})
    w.attrs["calibration"] = {"margins": []}
    scb = dataclasses.replace(cb, questions=(cb["sex"], cb["income_regular"]), charts=())
    cfg = {"confidence": 0.95, "ci_method": "logit", "subgroups": ["sex"], "level_merges": {"sex": [["male", "other"]]},
           "multiplicity": "holm"}  # fmt: skip
    est = estimate.estimate_all(df, w, scb, cfg, 5)
    by = est[(est["by"] == "sex") & (est["question"] == "income_regular")]
    assert sorted(set(by["level"])) == ["female", "male+other"]
    recoded = df.copy()
    recoded["sex"] = recoded["sex"].replace({"other": "male"})
    ref = estimate.estimate_all(recoded, w, scb, {**cfg, "level_merges": {}}, 5)
    ref = ref[(ref["by"] == "sex") & (ref["question"] == "income_regular") & (ref["level"] != "other")]
    for col in ("estimate", "se", "n", "p_diff", "p_table"):
        np.testing.assert_allclose(by[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float), rtol=1e-12)
    assert est.attrs["level_plan"]["questions"]["sex"]["levels"] == ["female", "male+other"]
