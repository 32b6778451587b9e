"""belmig.integrity.published: printed strings, comparator tolerances, and validation of the three tables."""

from __future__ import annotations

import csv
from fractions import Fraction

import pytest

from belmig.core import codebook, paths
from belmig.integrity import published as pub


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


FIG_HEADER = pub.FIGURE_COLUMNS
GOOD = {
    "id": "income_none_men",
    "printed": "18.70",
    "unit": "pct",
    "stat": "pct",
    "question": "income_regular",
    "option": "no",
    "by": "sex",
    "level": "male",
    "comparator": "=",
    "chart": "",
    "section": "myth2",
    "share_of": "men who answered",
    "text": "Men without income.",
}


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


# ------------------------------------------------------------------ printed strings
@pytest.mark.parametrize(
    "printed, d, v",
    [
        ("18.70", 2, 18.7),
        ("49.2", 1, 49.2),
        ("5", 0, 5.0),
        ("31,280", 0, 31280.0),
        ("0.5", 1, 0.5),
    ],
)
def test_decimals_and_value(printed, d, v):
    assert pub.decimals(printed) == d
    assert pub.value(printed) == v


def test_worded_values_are_exact_and_have_no_precision():
    assert pub.value("a quarter") == 25.0
    assert pub.exact("a third") == Fraction(100, 3)
    with pytest.raises(ValueError, match="not a printed numeral"):
        pub.decimals("a quarter")
    with pytest.raises(ValueError, match="cannot read"):
        pub.value("some")


@pytest.mark.parametrize(
    "x, printed, comp, ok",
    [
        (Fraction(100 * 23, 123), "18.70", "=", True),  # 18.699...
        (Fraction(100 * 22, 122), "18.70", "=", False),  # 18.03
        (Fraction(25, 2), "13", "=", True),  # 12.5: ends included
        (Fraction(25, 2), "12", "=", True),
        (86.07, "86", "about", True),
        (82.9, "86", "about", False),
        (69.49, "70", "almost", True),
        (70.2, "70", "almost", False),
        (8.14, "8", "slightly_more_than", True),
        (8.0, "8", "slightly_more_than", False),
        (9.2, "8", "slightly_more_than", False),
        (24.24, "a quarter", "about", True),
        (1300.5, "1,300", "more_than", True),
    ],
)
def test_comparator_holds(x, printed, comp, ok):
    assert pub.comparator_holds(x, printed, comp) is ok


# ------------------------------------------------------------------ figures.csv
def test_valid_figure_file_reads(tmp_path, cb):
    df = pub.read_figures(write_csv(tmp_path / "f.csv", FIG_HEADER, [GOOD]), cb)
    assert df.loc[0, "printed"] == "18.70"  # kept as printed, trailing zero included


@pytest.mark.parametrize(
    "change, column",
    [
        ({"question": "income_regularly"}, "question"),
        ({"option": "maybe"}, "option"),
        ({"printed": "18,7"}, "printed"),
        ({"level": "females"}, "level"),
        ({"comparator": "roughly"}, "comparator"),
        ({"printed": "a quarter"}, "printed"),  # "=" needs a numeral
        ({"unit": "mean"}, "unit"),
    ],
)
def test_figure_errors_name_file_row_column_value(tmp_path, cb, change, column):
    bad = {**GOOD, "id": "second", **change}
    path = write_csv(tmp_path / "f.csv", FIG_HEADER, [GOOD, bad])
    with pytest.raises(pub.PublishedError) as exc:
        pub.read_figures(path, cb)
    msg = str(exc.value)
    assert str(path) in msg and "row 2" in msg and repr(column) in msg
    assert repr(str(bad[column])) in msg


def test_duplicate_ids_are_rejected(tmp_path, cb):
    path = write_csv(tmp_path / "f.csv", FIG_HEADER, [GOOD, GOOD])
    with pytest.raises(pub.PublishedError, match=r"row 2, column 'id'.*duplicate"):
        pub.read_figures(path, cb)


def test_union_of_options_only_for_single_choice(tmp_path, cb):
    bad = {**GOOD, "question": "reasons_exit", "option": "political+economic", "by": "", "level": ""}
    with pytest.raises(pub.PublishedError, match="only defined for single-choice"):
        pub.read_figures(write_csv(tmp_path / "f.csv", FIG_HEADER, [bad]), cb)


def test_real_figures_file(cb):
    df = pub.read_figures(paths.PUBLISHED_FIGURES, cb)
    printed = dict(zip(df["id"], df["printed"]))
    assert printed["income_none_men"] == "18.70"
    assert printed["by_citizens_official"] == "31,280"
    assert printed["health_none"] == "22.50"
    assert len(df) >= 90
    survey = pub.survey_figures(df)
    assert {"income_regular", "return_plans", "education_problems"} <= set(survey["question"])
    assert set(df.loc[df["stat"] == "external", "question"]) == {""}


# ------------------------------------------------------------------ statements.csv / assumed.csv
def test_statement_errors(tmp_path):
    path = write_csv(
        tmp_path / "s.csv",
        pub.STATEMENT_COLUMNS,
        [
            {"id": "a", "text": "t", "condition": "pct.war_impact.negative > 50", "section": "living"},
            {"id": "b", "text": "t", "condition": "pct.war_impact.negative >", "section": "living"},
        ],
    )
    with pytest.raises(pub.PublishedError, match=r"s\.csv: row 2, column 'condition'"):
        pub.read_statements(path)


def test_real_statements_file():
    df = pub.read_statements(paths.PUBLISHED / "statements.csv")
    assert "pct.quality_life.ge8 > 50" in set(df["condition"])


def _assumed_row(**kw):
    base = {
        "question": "war_impact",
        "option": "negative",
        "by": "",
        "level": "",
        "stat": "pct",
        "value": "56.12",
        "constraint": "none",
        "reason": "r",
    }
    return {**base, **kw}


def test_assumed_shares_over_100_rejected(tmp_path, cb):
    path = write_csv(
        tmp_path / "a.csv",
        pub.ASSUMED_COLUMNS,
        [
            _assumed_row(),
            _assumed_row(option="none", value="50.00"),
        ],
    )
    with pytest.raises(pub.PublishedError, match=r"row 2, column 'value'.*106.12 > 100"):
        pub.read_assumed(path, cb)


def test_assumed_bad_value(tmp_path, cb):
    path = write_csv(tmp_path / "a.csv", pub.ASSUMED_COLUMNS, [_assumed_row(value="lots")])
    with pytest.raises(pub.PublishedError, match=r"row 1, column 'value', value 'lots'"):
        pub.read_assumed(path, cb)


def test_real_assumed_file(cb):
    df = pub.read_assumed(paths.ASSUMED_FIGURES, cb)
    sex = df[(df["question"] == "sex") & (df["by"] == "")].set_index("option")["value_num"]
    assert round(sex["female"] * 335 / 100) == 196
    ql = df[(df["question"] == "quality_life")].set_index("option")["value_num"]
    assert ql[["v8", "v9", "v10"]].sum() > 50
