"""Redaction, small-cell suppression and k-anonymity (hand-checkable examples)."""

from __future__ import annotations

import pandas as pd
import pytest

from belmig import privacy
from belmig.privacy import QuasiIdentifier, check_k_anonymity, k_anonymize, redact

R = privacy.REMOVED


@pytest.mark.parametrize(
    "text, expected",
    [
        ("пишите на ivan.petrov@example.com, отвечу", f"пишите на {R}, отвечу"),
        ("звоните +375 29 123-45-67", f"звоните {R}"),
        ("+370 612 34567 или 8 612 34567", f"{R} или {R}"),
        ("тел. 8 (029) 123 45 67", f"тел. {R}"),
        ("телеграм @my_handle_1", f"телеграм {R}"),
        ("канал https://t.me/somechannel и www.site.by", f"канал {R} и {R}"),
        ("t.me/abc", R),
        ("см. example.com/page", f"см. {R}"),
        ("861234567.0", R),  # a phone number in a numeric cell
        ("8.612.34567", R),
    ],
)
def test_redact_removes_contact_details(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "с 2020-2022 жила в Минске",
        "оценка 8 из 10",
        "01.06.2022 10:00",
        "2022-06-01 10:00:00",
        "в 2021 году, 3 раза",
        "Нет языкового барьера",
        "e-mail не дам",
        "@ один",
        "44743.5625",  # an Excel serial date and time, quoted by an error message
        "3.14159265358",
    ],
)
def test_redact_keeps_ordinary_text(text):
    assert redact(text) == text


def test_redact_needs_text():
    with pytest.raises(TypeError, match="needs a str"):
        redact(None)  # type: ignore[arg-type]


def test_suppress_small_cells_marks_and_blanks():
    table = pd.DataFrame({"option": ["a", "b", "c", "d"], "k": [0, 3, 5, 12], "pct": [0.0, 15.0, 25.0, 60.0]})
    out, n = privacy.suppress_small_cells(table, "k", 5, blank=["pct"])
    assert n == 1
    assert out["suppressed"].tolist() == [False, True, False, False]
    assert out["k"].isna().tolist() == [False, True, False, False]
    assert out["pct"].isna().tolist() == [False, True, False, False]
    assert out.loc[3, "k"] == 12 and out.loc[2, "pct"] == 25.0
    assert table["k"].tolist() == [0, 3, 5, 12]  # the input is untouched


def test_suppress_small_cells_errors():
    t = pd.DataFrame({"k": [1]})
    with pytest.raises(KeyError, match="no count column 'n'"):
        privacy.suppress_small_cells(t, "n", 5)
    with pytest.raises(KeyError, match="pct"):
        privacy.suppress_small_cells(t, "k", 5, blank=["pct"])


def test_check_k_anonymity_missing_matches_anything():
    df = pd.DataFrame({"age": ["x", "x", None], "sex": ["f", "f", "m"]})
    assert check_k_anonymity(df, ["age", "sex"], 2) == (False, 1)  # (None, m) is alone on sex
    df.loc[2, "sex"] = None
    assert check_k_anonymity(df, ["age", "sex"], 3) == (True, 3)  # a blank record matches all
    assert privacy.class_sizes(df, ["age", "sex"]).tolist() == [3, 3, 3]


def _sex(f, m, o):
    return pd.DataFrame({"sex": ["female"] * f + ["male"] * m + ["other"] * o})


SEX = QuasiIdentifier("sex", ("female", "male", "other"), ordered=False, pool="other", droppable=False)


def _steps(report, step):
    return report[report["step"] == step]


def test_k_anonymize_nothing_to_do():
    df = _sex(5, 5, 5)
    out, report = k_anonymize(df, [SEX], 5)
    assert out["sex"].tolist() == df["sex"].tolist()
    assert report["step"].tolist() == ["check", "check", "check"]  # before, after, information loss
    assert report.attrs["recodes"] == {"sex": {}} and report.attrs["dropped"] == []


def test_attacker_count_is_not_the_release_view():
    # issue 14: her municipality is blanked, so the release's own check puts her in a class of 8;
    # but the attacker knows she lives in "b", and the other 7 records all say "a"
    true = pd.DataFrame({"m": ["a"] * 7 + ["b"]})
    released = pd.DataFrame({"m": ["a"] * 7 + [None]})
    assert privacy.class_sizes(released, ["m"]).tolist() == [8] * 8
    assert privacy.attacker_counts(true, released, ["m"]).tolist() == [8] * 7 + [1]


def test_a_rare_category_is_merged_even_when_a_blank_would_pass_the_release_view():
    # one 'other' among 20 (k=2): blanking her value would give a release-view class of 20, but
    # she would still be the only record compatible with "other". The category must go: merging
    # male (9) into other costs 9*log2(10/9) + log2(10) = 4.69 bits
    out, report = k_anonymize(_sex(10, 9, 1), [SEX], 2)
    assert sorted(out["sex"].unique()) == ["female", "male+other"]
    assert _steps(report, "suppress").empty
    assert report.iloc[0]["violating_after"] == 1  # before: the one 'other' had 1 candidate
    assert "information loss 4.7 bits" in report.iloc[-1]["detail"]


def test_k_anonymize_recodes_rare_categories():
    # female 10, male 2, other 1, k=3: male and other are both below k -> male+other (3)
    out, report = k_anonymize(_sex(10, 2, 1), [SEX], 3)
    assert sorted(out["sex"].unique()) == ["female", "male+other"]
    assert report.attrs["recodes"] == {"sex": {"male": "male+other", "other": "male+other"}}
    rec = _steps(report, "recode")
    assert rec["detail"].tolist() == ["merged male into other, giving male+other"]
    assert rec["rows_affected"].tolist() == [3]
    assert report.iloc[0]["violating_after"] == 3  # before: male (2) and other (1)
    assert check_k_anonymity(out, ["sex"], 3) == (True, 3)


def test_decoys_protect_rare_combinations():
    # (x,q) and (y,p) are unique combinations of two-category variables that cannot be merged
    # further and may not be left out. Blanking a value of the unique record itself would not
    # help (the attacker knows its true value); a record that differs in one variable and has
    # that variable blanked is a decoy: two blanks give both targets 2 candidates.
    a = QuasiIdentifier("a", ("x", "y"), ordered=False, droppable=False)
    b = QuasiIdentifier("b", ("p", "q"), ordered=False, droppable=False)
    df = pd.DataFrame({"a": ["x"] * 5 + ["x"] + ["y"] + ["y"] * 5, "b": ["p"] * 5 + ["q"] + ["p"] + ["q"] * 5})
    assert privacy.attacker_counts(df, df, ["a", "b"]).tolist() == [5] * 5 + [1, 1] + [5] * 5
    out, report = k_anonymize(df, [a, b], 2)
    counts = privacy.attacker_counts(df, out, ["a", "b"])
    assert counts.min() == 2
    assert counts[5] == 2 and counts[6] == 2
    blanks = out[["a", "b"]].isna()
    assert int(blanks.to_numpy().sum()) == 2
    assert not blanks.iloc[5].any() and not blanks.iloc[6].any()  # the unique records keep their values
    assert _steps(report, "suppress")["rows_affected"].tolist() == [2, 2]


def test_an_unanswered_value_counts_as_every_value_it_might_be():
    # r (sex not answered, 'old'): the attacker knows r is male; the other 'old' records are
    # female, so a male 'old' target would have r alone. One decoy blank fixes it.
    df = pd.DataFrame({"sex": ["female"] * 3 + [None] + ["male"] * 3, "age": ["old"] * 4 + ["young"] * 3})
    sex = QuasiIdentifier("sex", ("female", "male"), ordered=False, droppable=False)
    age = QuasiIdentifier("age", ("old", "young"), ordered=True, droppable=False)
    assert privacy.attacker_counts(df, df, ["sex", "age"]).tolist() == [4, 4, 4, 1, 3, 3, 3]
    out, report = k_anonymize(df, [sex, age], 2)
    assert privacy.attacker_counts(df, out, ["sex", "age"]).min() == 2
    assert int(out[["sex", "age"]].isna().to_numpy().sum()) == 2  # r's own blank + one decoy


def test_extra_identifiers_get_the_same_k():
    # sex alone is 6-anonymous, but with income known the two 'no' records are unique
    sex = QuasiIdentifier("sex", ("female", "male"), ordered=False, droppable=False)
    income = QuasiIdentifier("income", ("yes", "no"), ordered=False)
    df = pd.DataFrame({"sex": ["female"] * 6 + ["male"] * 6, "income": (["yes"] * 5 + ["no"]) * 2})
    out, report = k_anonymize(df, [sex], 2, extras=[income])
    assert privacy.attacker_counts(df, out, ["sex"]).min() >= 2
    assert privacy.attacker_counts(df, out, ["sex", "income"]).min() == 2
    # two blanks (2 * log2(12) = 7.2 bits) are cheaper than leaving income out (its entropy,
    # 12 * H(5/6) = 7.8 bits)
    assert "income" in out.columns and report.attrs["dropped"] == []
    assert int(out[["sex", "income"]].isna().to_numpy().sum()) == 2
    checks = _steps(report, "check")
    assert checks.iloc[1]["variable"] == "income" and checks.iloc[1]["violating_after"] == 2


def test_a_variable_is_left_out_when_that_loses_least():
    # income is 'no' for one record in each sex: every fix costs more than its entropy
    # (12 * H(1/12) = 4.9 bits < blanks at log2(12) = 3.6 bits each, two needed)
    sex = QuasiIdentifier("sex", ("female", "male"), ordered=False, droppable=False)
    income = QuasiIdentifier("income", ("yes", "no"), ordered=False)
    df = pd.DataFrame({"sex": ["female"] * 6 + ["male"] * 6, "income": ["yes"] * 11 + ["no"]})
    out, report = k_anonymize(df, [sex], 3, extras=[income])
    assert report.attrs["dropped"] == ["income"] and "income" not in out.columns
    assert _steps(report, "drop")["detail"].tolist() == ["left income out of the release"]


def test_k_anonymize_ordered_merges_with_smaller_neighbour():
    age = QuasiIdentifier("age", ("a1", "a2", "a3"), ordered=True, droppable=False)
    df = pd.DataFrame({"age": ["a1"] * 9 + ["a2"] + ["a3"] * 3})
    # a2 (1) merges with its smaller neighbour a3 (3), not with a1 (9)
    out, report = k_anonymize(df, [age], 2)
    assert out["age"].tolist() == ["a1"] * 9 + ["a2+a3"] * 4
    assert report.attrs["recodes"] == {"age": {"a2": "a2+a3", "a3": "a2+a3"}}


def test_hierarchy_stops_at_two_categories_then_may_leave_the_variable_out():
    age = QuasiIdentifier("age", ("a1", "a2", "a3", "a4"), ordered=True)
    values = pd.Series(["a1", "a2", "a2", "a3", "a4", "a4", "a4"], dtype=object)
    levels = privacy.hierarchy(values, age)
    assert [len(set(lv.mapping.values())) for lv in levels] == [4, 3, 2]
    assert levels[1].steps == ("merged a1 and a2 into a1+a2",)  # a1 (1) with its only neighbour
    dropped = privacy.hierarchy(values, age, drop=True)[-1]
    assert dropped.dropped and dropped.steps[-1] == "left age out of the release"
    muni = QuasiIdentifier("m", ("v", "k", "s", "other"), ordered=False, pool="other")
    levels = privacy.hierarchy(pd.Series(["v"] * 6 + ["k"] * 3 + ["s"] + ["other"] * 2, dtype=object), muni)
    assert levels[-1].mapping == {"v": "v", "k": "k+s+other", "s": "k+s+other", "other": "k+s+other"}


def test_k_anonymize_result_is_k_anonymous_on_several_qis():
    df = pd.DataFrame(
        {
            "age": ["a1", "a1", "a1", "a2", "a2", "a2", "a3", "a1", "a2", "a3", "a3", "a1"],
            "sex": ["f", "m", "f", "f", "m", "m", "f", "f", "f", "m", "m", "m"],
            "answer": range(12),
        }
    )
    qis = [
        QuasiIdentifier("age", ("a1", "a2", "a3"), True, droppable=False),
        QuasiIdentifier("sex", ("f", "m"), False, pool="other", droppable=False),
    ]
    out, report = k_anonymize(df, qis, 3)
    assert privacy.attacker_counts(df, out, ["age", "sex"]).min() >= 3
    assert check_k_anonymity(out, ["age", "sex"], 3)[0]  # the release's own view follows
    assert out["answer"].tolist() == list(range(12))  # only the protected variables change
    assert report.iloc[-1]["detail"].startswith("information loss")
    with pytest.raises(ValueError, match="cannot be 13-anonymous"):
        k_anonymize(df, qis, 13)


def test_individual_risk_by_hand():
    # unweighted: fk = Fk, risk 1/fk; weighted pair (fk = 2, Fk = 20, pk = 0.1):
    # pk/(1-pk) - (pk/(1-pk))^2 log(1/pk) = 0.111111 - 0.0123457 * 2.302585 = 0.082684
    df = pd.DataFrame({"m": ["a", "a", "b", "b", "b"]})
    assert privacy.individual_risk(df, ["m"], None).tolist() == pytest.approx([0.5, 0.5, 1 / 3, 1 / 3, 1 / 3])
    r = privacy.individual_risk(df.iloc[:2], ["m"], [10.0, 10.0])
    assert r.tolist() == pytest.approx([0.082684] * 2, abs=1e-6)


def test_merges_of_the_estimates_are_the_releases_starting_point():
    # the estimates merged male and other (issue 16's level plan): the release starts from there
    sex = QuasiIdentifier(
        "sex", ("female", "male", "other"), ordered=False, droppable=False, start=(("male", "other"),)
    )
    out, report = k_anonymize(_sex(6, 6, 2), [sex], 2)
    assert sorted(out["sex"].unique()) == ["female", "male+other"]
    rec = _steps(report, "recode")
    assert rec["detail"].tolist() == ["merged male and other into male+other (as the estimates do)"]
    assert rec["rows_affected"].tolist() == [8]
