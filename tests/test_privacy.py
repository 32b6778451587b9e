"""Redaction, small-cell suppression and k-anonymity (hand-checkable examples)."""

from __future__ import annotations

import math

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


SEX = QuasiIdentifier("sex", ("female", "male", "other"), ordered=False, pool="other")


def test_k_anonymize_nothing_to_do():
    df = _sex(5, 5, 5)
    out, report = k_anonymize(df, [SEX], 5)
    assert out["sex"].tolist() == df["sex"].tolist()
    assert report["step"].tolist() == ["check", "check"]
    assert report.attrs["recodes"] == {"sex": {}}


def test_k_anonymize_suppresses_when_cheaper():
    # one 'other' among 20: merging male (9) into other costs 9*log2(10/9)+log2(10) = 4.69 bits,
    # blanking the one value log2(20) = 4.32 bits -> local suppression
    out, report = k_anonymize(_sex(10, 9, 1), [SEX], 2)
    assert out["sex"].isna().sum() == 1 and out["sex"].iloc[-1] is None
    assert report.attrs["recodes"] == {"sex": {}}
    sup = report[report["step"] == "suppress"]
    assert sup["rows_affected"].tolist() == [1, 1]
    assert check_k_anonymity(out, ["sex"], 2) == (True, 10)  # 9 male + the blank one


def test_k_anonymize_recodes_when_cheaper():
    # female 10, male 2, other 1, k=3: merging male into other costs 2*log2(3/2)+log2(3) = 2.75
    # bits; blanking needs two values (2*log2(13) = 7.4 bits) -> recode
    out, report = k_anonymize(_sex(10, 2, 1), [SEX], 3)
    assert sorted(out["sex"].unique()) == ["female", "male+other"]
    assert report.attrs["recodes"] == {"sex": {"male": "male+other", "other": "male+other"}}
    rec = report[report["step"] == "recode"]
    assert rec["detail"].tolist() == ["merged male into other, giving male+other"]
    assert rec["rows_affected"].tolist() == [3]
    assert not (report["step"] == "suppress").any()
    assert report.iloc[0]["violating_after"] == 3  # before: male (2) and other (1)
    assert check_k_anonymity(out, ["sex"], 3) == (True, 3)


def test_k_anonymize_ordered_merges_with_smaller_neighbour():
    age = QuasiIdentifier("age", ("a1", "a2", "a3"), ordered=True)
    df = pd.DataFrame({"age": ["a1"] * 9 + ["a2"] + ["a3"] * 3})
    # a2 (1) merges with its smaller neighbour a3 (3), not with a1 (9):
    # log2(4) + 3*log2(4/3) = 3.25 bits < log2(13) = 3.70 bits for blanking it
    assert math.log2(4) + 3 * math.log2(4 / 3) < math.log2(13)
    out, report = k_anonymize(df, [age], 2)
    assert out["age"].tolist() == ["a1"] * 9 + ["a2+a3"] * 4
    assert report.attrs["recodes"] == {"age": {"a2": "a2+a3", "a3": "a2+a3"}}


def test_hierarchy_never_collapses_to_one_category():
    age = QuasiIdentifier("age", ("a1", "a2", "a3", "a4"), ordered=True)
    levels = privacy.hierarchy(pd.Series(["a1", "a2", "a2", "a3", "a4", "a4", "a4"], dtype=object), age)
    assert [len(set(lv.mapping.values())) for lv in levels] == [4, 3, 2]
    assert levels[1].steps == ("merged a1 and a2 into a1+a2",)  # a1 (1) with its only neighbour
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
    qis = [QuasiIdentifier("age", ("a1", "a2", "a3"), True), QuasiIdentifier("sex", ("f", "m"), False, pool="other")]
    out, report = k_anonymize(df, qis, 3)
    assert check_k_anonymity(out, ["age", "sex"], 3)[0]
    assert out["answer"].tolist() == list(range(12))  # only quasi-identifiers change
    assert report.iloc[-1]["detail"].startswith("after: smallest equivalence class")
    with pytest.raises(ValueError, match="cannot be 13-anonymous"):
        k_anonymize(df, qis, 13)


def test_smooth_weights_by_hand():
    df = pd.DataFrame({"m": ["a", "a", "b", None], "w": [1.0, 3.0, 6.0, 2.0]})
    # classes: a-records match a, a and the blank one -> mean (1+3+2)/3 = 2; b: (6+2)/2 = 4;
    # the blank record matches all -> 3; then rescaled from 2+2+4+3 = 11 to 12
    out = privacy.smooth_weights(df, ["m"], "w")
    assert out.tolist() == pytest.approx([2 * 12 / 11, 2 * 12 / 11, 4 * 12 / 11, 3 * 12 / 11])
