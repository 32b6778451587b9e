"""Ingestion's machinery behind the platform adapters, on small hand-made exports.

Splitting multiple answers by known labels, timestamps and time zones, every problem in one
error, the consistency checks (errors and counted warnings), the codebook's layout fields and
mapping overlays, the speeder step without start times, the console summary and the report's
data-source table.
"""

from __future__ import annotations

import copy
import json
import sys

import exportkit as ek
import pandas as pd
import pytest
import yaml

from belmig import clean, ingest
from belmig.clean import coding
from belmig.core import codebook, config, paths
from belmig.core.schema import SchemaError
from belmig.ingest import IngestError, console, mapping, read, report
from belmig.ingest.errors import MAX_LINES
from belmig.ingest.labels import split_known
from belmig.ingest.tidy import Source, TimeInput
from belmig.ingest.times import ISO, parse_times
from belmig.report import tables

CB = codebook.load()
CFG = config.load()
N = 12


@pytest.fixture(scope="module")
def export_df() -> pd.DataFrame:
    return ek.build_export(CB, N, seed=8)


def _write(df: pd.DataFrame, tmp_path, name: str = "export.csv"):
    return ek.write_csv(df, tmp_path / name)


# --------------------------------------------------------------------------- splitting by labels

VARIANTS = sorted(
    [
        ("Здесь есть родственники, друзья или люди, которые могут поддержать", "relatives"),
        ("Возможность получить визу и/или ВНЖ в Литве", "visa"),
        ("Лучшие возможности трудоустройства", "employment"),
    ],
    key=lambda v: -len(v[0]),
)


def test_a_label_may_contain_the_separator():
    keys, rest, bad = split_known(
        "Возможность получить визу и/или ВНЖ в Литве, Здесь есть родственники, друзья или люди, которые могут поддержать",
        VARIANTS,
        ", ",
        rest_ok=False,
    )
    assert (keys, rest, bad) == (["visa", "relatives"], "", "")


def test_what_no_label_matches_is_the_inline_other_text_or_the_bad_part():
    cell = "Лучшие возможности трудоустройства, мой ответ, с запятой"
    assert split_known(cell, VARIANTS, ", ", rest_ok=True) == (["employment"], "мой ответ, с запятой", "")
    assert split_known(cell, VARIANTS, ", ", rest_ok=False) == (["employment"], "", "мой ответ")
    # a whitespace separator (Kobo's label summary), labels full of spaces
    assert split_known(
        "Лучшие возможности трудоустройства Возможность получить визу и/или ВНЖ в Литве", VARIANTS, " ", False
    )[0] == [
        "employment",
        "visa",
    ]


def test_a_question_may_have_its_own_separator(export_df, tmp_path):
    raw = copy.deepcopy(yaml.safe_load(paths.CODEBOOK.read_text(encoding="utf-8")))
    q = next(q for q in raw["questions"] if q["id"] == "reasons_exit")
    q["separator"] = " | "
    q["options"][0]["label_ru"] = "Политические причины; преследование"  # holds the global separator
    cb = codebook.from_dict(raw, source="edited codebook")
    df = export_df.copy()
    col = cb["reasons_exit"].column
    old = CB["reasons_exit"].option("political").label_ru
    df[col] = df[col].map(
        lambda v: (
            " | ".join(cb["reasons_exit"].option("political").label_ru if p == old else p for p in v.split(";"))
            if v
            else v
        )
    )
    got = ingest.read_export(_write(df, tmp_path), cb)
    want = ingest.read_export(_write(export_df, tmp_path, "orig.csv"), CB)
    for c in CB["reasons_exit"].multi_columns():
        pd.testing.assert_series_equal(got[c], want[c])


# --------------------------------------------------------------------------- timestamps


def test_zoned_timestamps_are_converted_to_the_studys_wall_clock():
    problems = []
    cells = pd.Series(["2022-06-01 05:19:24", "2022-09-30 20:59:59"], index=[1, 2], dtype=object)
    got, _ = parse_times(
        TimeInput(Source(0, "StartDate"), ("%Y-%m-%d %H:%M:%S",), zone="UTC"), cells, "Europe/Vilnius", problems
    )
    assert [str(t) for t in got] == ["2022-06-01 08:19:24", "2022-09-30 23:59:59"] and problems == []
    iso = pd.Series(["2022-06-01T08:19:24.000+03:00", "2022-06-01T05:19:24Z"], index=[1, 2], dtype=object)
    got, fmt = parse_times(TimeInput(Source(0, "start"), (ISO,)), iso, "Europe/Vilnius", problems)
    assert fmt == ISO and [str(t) for t in got] == ["2022-06-01 08:19:24", "2022-06-01 08:19:24"]


def test_day_month_order_is_chosen_per_column_and_an_ambiguous_one_is_stated():
    formats = ("%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S")
    problems = []
    cells = pd.Series(["6/1/2022 8:30:59", "6/13/2022 9:00:00"], index=[1, 2], dtype=object)
    t = TimeInput(Source(0, "Timestamp"), formats[::-1])  # day first tried first, but 13 is no month
    got, fmt = parse_times(t, cells, "Europe/Vilnius", problems)
    assert fmt == formats[0] and str(got[1]) == "2022-06-01 08:30:59" and not t.hint
    t = TimeInput(Source(0, "Timestamp"), formats)
    parse_times(t, cells.iloc[:1], "Europe/Vilnius", problems)
    assert "ambiguous" in t.hint and problems == []


def test_spreadsheet_date_cells_are_rounded_to_the_second():
    import datetime as dt

    from belmig.ingest.raw import _cell_text

    assert _cell_text(dt.datetime(2022, 6, 1, 8, 30, 58, 999_600)) == "2022-06-01 08:30:59"


# --------------------------------------------------------------------------- all problems at once


def test_every_problem_is_listed_in_one_error(export_df, tmp_path):
    df = export_df.drop(columns=[CB["return_plans"].column])
    ek.set_answer(df, CB, 2, "sex", "Мужчина")
    ek.set_answer(df, CB, 4, "security_lt", "11")
    ek.set_answer(df, CB, 7, "started_at", "вчера")
    with pytest.raises(IngestError) as err:
        ingest.read_export(_write(df, tmp_path), CB)
    msg = str(err.value)
    assert len(err.value.problems) == 4
    assert msg.splitlines()[0].endswith("4 problems (read as generic); nothing was written:")
    for fragment in (
        repr(CB["return_plans"].column) + " (codebook): is missing",
        "data row 2, column 'Ваш пол': unknown answer label 'Мужчина'",
        "data row 4, column " + repr(CB["security_lt"].column) + ": scale value out of range '11'",
        "data row 7, column 'Время начала': unparseable timestamp 'вчера'",
    ):
        assert fragment in msg
    assert all("export.csv" in line for line in msg.splitlines())  # each line names the file


def test_the_listing_is_capped_and_the_rest_counted(tmp_path):
    df = ek.build_export(CB, 80, seed=9)
    for r in range(1, 81):
        ek.set_answer(df, CB, r, "sex", "Мужчина")
        ek.set_answer(df, CB, r, "age_group", "старше 90")
    with pytest.raises(IngestError) as err:
        ingest.read_export(_write(df, tmp_path), CB)
    lines = str(err.value).splitlines()
    assert len(err.value.problems) == 160
    assert len(lines) <= MAX_LINES + 3
    assert any("75 more problem(s) of this kind: unknown answer label" in ln for ln in lines)


# --------------------------------------------------------------------------- consistency checks


def test_other_text_without_other_is_a_counted_warning(export_df, tmp_path):
    df = export_df.copy()
    q = CB["reasons_lithuania"]
    row = next(i for i in range(1, N + 1) if "Другая причина" not in df.loc[df.index[i - 1], q.column])
    df.loc[df.index[row - 1], q.other_column] = "Близко к дому, звоните +370 600 00000"
    res = read.ingest(_write(df, tmp_path), CB)
    (w,) = [w for w in res.warnings if w.check == "other_without_choice"]
    assert w.count == 1 and w.problems[0].row == row
    text = "\n".join(w.lines("export.csv"))
    assert q.other_column in text and "Близко" not in text  # the free text is never shown
    # cleaning clears it (and counts it)
    rules = coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", CB)
    cleaned = clean.clean(res.df, CB, CFG["cleaning"], rules)
    assert cleaned.cleared.set_index("column")["cleared"].to_dict() == {"reasons_lithuania__other_text": 1}


def test_an_answer_where_the_question_was_not_asked_is_a_counted_warning(export_df, tmp_path):
    df = export_df.copy()
    row = next(i for i in range(1, N + 1) if df.loc[df.index[i - 1], CB["health_used"].column] == "Нет")
    ek.set_answer(df, CB, row, "health_rating", "7")
    res = read.ingest(_write(df, tmp_path), CB)
    (w,) = [w for w in res.warnings if w.check == "not_asked"]
    assert w.count == 1 and w.problems[0].row == row and w.problems[0].value == "7"
    assert "health_used" in w.problems[0].hint


def test_identical_durations_are_an_error(export_df, tmp_path):
    df = export_df.copy()
    df[CB.admin_column("started_at").column] = df[CB.admin_column("submitted_at").column]
    with pytest.raises(IngestError, match=r"column 'Время начала': every submission has the same duration \(0 s\)"):
        ingest.read_export(_write(df, tmp_path), CB)


def test_a_closed_question_nobody_answered_is_an_error_an_open_one_a_warning(export_df, tmp_path):
    df = export_df.copy()
    df[CB["diaspora_known"].column] = ""
    with pytest.raises(IngestError, match="nobody answered question 'diaspora_known', which 12 were asked"):
        ingest.read_export(_write(df, tmp_path), CB)
    df = export_df.copy()
    df[CB["security_by_comment"].column] = ""
    res = read.ingest(_write(df, tmp_path, "b.csv"), CB)
    assert [w.check for w in res.warnings] == ["empty_question"]


# --------------------------------------------------------------------------- layouts and overlays


def _as_option_columns(df: pd.DataFrame, qid: str) -> tuple[pd.DataFrame, dict]:
    """The question's joined cell rewritten as one 1/0 column per option (answered rows only)."""
    q = CB[qid]
    out = df.copy()
    cols = {}
    for o in q.options:
        h = f"{qid}/{o.key}"
        cols[o.key] = h
        out[h] = df[q.column].map(lambda v, o=o: "" if not v else ("1" if o.label_ru in v.split(";") else "0"))
    return out.drop(columns=[q.column]), cols


def test_option_columns_from_an_overlay_read_like_the_simple_form(export_df, tmp_path):
    df, cols = _as_option_columns(export_df, "support_needs")
    overlay = {"questions": {"support_needs": {"option_columns": cols, "ticked": ["1"], "unticked": ["0"]}}}
    m = mapping.from_dict(overlay, CB, "overlay.yaml")
    got = read.ingest(_write(df, tmp_path), CB, mapping=m)
    want = ingest.read_export(_write(export_df, tmp_path, "orig.csv"), CB)
    pd.testing.assert_frame_equal(got.df, want)
    q = next(q for q in got.info["questions"] if q["id"] == "support_needs")
    assert q["layout"] == "ticks" and q["method"] == "mapping overlay" and len(q["columns"]) == 12


def test_an_unexpected_value_in_an_option_column_is_named(export_df, tmp_path):
    df, cols = _as_option_columns(export_df, "support_needs")
    df.loc[df.index[2], cols["legal"]] = "да"
    overlay = {"questions": {"support_needs": {"option_columns": cols, "ticked": ["1"], "unticked": ["0"]}}}
    with pytest.raises(
        IngestError, match=r"data row 3, column 'support_needs/legal': unexpected value in an option column: 'да'"
    ):
        read.ingest(_write(df, tmp_path), CB, mapping=mapping.from_dict(overlay, CB, "o.yaml"))


def test_codes_from_an_overlay_and_mixed_codes_and_labels(export_df, tmp_path):
    df = export_df.copy()
    col = CB["sex"].column
    codes = {o.label_ru: f"S{o.code}" for o in CB["sex"].options}
    df[col] = df[col].map(codes)
    overlay = {"questions": {"sex": {"codes": {f"S{o.code}": o.key for o in CB["sex"].options}}}}
    m = mapping.from_dict(overlay, CB, "o.yaml")
    got = read.ingest(_write(df, tmp_path), CB, mapping=m).df
    assert got["sex"].tolist() == ingest.read_export(_write(export_df, tmp_path, "o.csv"), CB)["sex"].tolist()
    df.loc[df.index[4], col] = "Женский"
    with pytest.raises(
        IngestError, match=r"data row 5, column 'Ваш пол': answer text where the column holds codes \(mixed"
    ):
        read.ingest(_write(df, tmp_path, "mixed.csv"), CB, mapping=m)


@pytest.mark.parametrize(
    ("overlay", "fragment"),
    [
        ({"questions": {"no_such_question": {"column": "x"}}}, "are not in the codebook"),
        ({"questions": {"sex": {"codes": {"1": "nonbinary"}}}}, "codes map to unknown options ['nonbinary']"),
        (
            {"questions": {"sex": {"option_columns": {"female": "x"}}}},
            "option_columns/ticked/unticked are for multiple choice",
        ),
        ({"questions": {"sex": {"colum": "x"}}}, "does not match mapping.schema.yaml"),
        ({"platform": "surveygizmo", "questions": {}}, "does not match mapping.schema.yaml"),
    ],
)
def test_a_wrong_overlay_is_refused_naming_it(overlay, fragment):
    with pytest.raises(IngestError) as err:
        m = mapping.from_dict(overlay, CB, "my_overlay.yaml")
        m.apply(CB)
    assert "my_overlay.yaml" in str(err.value) and fragment in str(err.value)


def test_an_overlay_can_state_a_lacking_start_time(export_df, tmp_path):
    df = export_df.drop(columns=[CB.admin_column("started_at").column])
    m = mapping.from_dict({"admin": {"started_at": None}, "questions": {}}, CB, "o.yaml")
    res = read.ingest(_write(df, tmp_path), CB, mapping=m)
    assert res.info["admin"]["started_at"]["status"] == "lacking" and res.df["duration_sec"].isna().all()
    with pytest.raises(IngestError, match=r"'Время начала' \(codebook\): is missing from the header"):
        ingest.read_export(_write(df, tmp_path, "b.csv"), CB)  # without it, a missing column


def test_a_forced_platform_reads_the_file_its_way(export_df, tmp_path):
    path = _write(export_df, tmp_path)
    with pytest.raises(IngestError, match="third header row"):
        read.ingest(path, CB, platform="qualtrics")
    with pytest.raises(IngestError, match=r"read as spss, but spss exports are .sav files, not '.csv'"):
        read.ingest(path, CB, platform="spss")
    assert read.ingest(path, CB, platform="generic").info["platform"]["forced"] is True


def test_config_refuses_an_unknown_platform():
    with pytest.raises(SchemaError, match="ingest"):
        config.load(overrides={"ingest": {"platform": "surveygizmo"}})


# --------------------------------------------------------------------------- downstream


def test_without_start_times_the_speeder_step_is_skipped(export_df, tmp_path):
    df = read.ingest(_write(export_df, tmp_path), CB).df
    df["started_at"] = pd.NaT
    df["duration_sec"] = pd.array([None] * len(df), dtype="Int64")
    rules = coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", CB)
    flow = clean.clean(df, CB, CFG["cleaning"], rules).flow.set_index("step")
    assert flow.loc["speeders", "removed"] == 0
    assert flow.loc["speeders", "description"] == clean.steps.SPEEDERS_SKIPPED


def test_report_and_console_say_what_the_export_lacks(export_df, tmp_path, capsys):
    df = export_df.drop(columns=[CB.admin_column("started_at").column, CB.admin_column("response_id").column])
    m = mapping.from_dict({"admin": {"started_at": None, "response_id": None}, "questions": {}}, CB, "o.yaml")
    path = _write(df, tmp_path)
    res = read.ingest(path, CB, mapping=m)
    doc = report.write(res, path, tmp_path / "ingest_report.json")
    assert doc["lacks"] == ["response_id", "started_at"] and doc["mapping"] == "o.yaml"
    assert "/" not in doc["file"] and len(doc["sha256"]) == 64
    console.emit(doc, sys.stderr)
    err = capsys.readouterr().err
    assert "warning: the export has no start times" in err and "speeder check was skipped" in err
    md = tables.data_source_md(json.loads((tmp_path / "ingest_report.json").read_text(encoding="utf-8")))
    assert "speeder check was skipped" in md and "ids were generated" in md and "{#tbl-data-source}" in md
    assert "lacking: durations unknown, speeder check skipped" in md


def test_qualtrics_without_its_metadata_columns_is_still_qualtrics():
    """Two Qualtrics files read as generic (108 lines of "missing from the header"): the legacy
    export (V1, V2… in row 1; the adapter says it is not supported and how to export again) and
    the current one with "all fields" unticked (row 3 holds {"ImportId": …})."""
    from belmig.ingest import detect

    legacy = [["V1", "V2", "V3", "V4", "V5", "V6", "Q1"], ["ResponseID", "ResponseSet", "Name", "", "", "", "Вы…"]]
    assert detect.from_rows(legacy, CB).platform == "qualtrics"
    assert detect.from_rows(legacy, CB).evidence == "Qualtrics's legacy header row (V1, V2, V3…)"
    bare = [["Q1", "Q2"], ["Вы являетесь…", "Когда…"], ['{"ImportId":"QID1"}', '{"ImportId":"QID2"}']]
    det = detect.from_rows(bare, CB)
    assert det.platform == "qualtrics" and '{"ImportId":"QID1"}' in det.evidence
    assert detect.from_rows([["Q1", "Q2"], ["a", "b"], ["1", "2"]], CB).platform != "qualtrics"
