"""The platform-export corpus generator (tests/platforms/make_corpus.py) checked by hand.

The generator runs on a small export built by tests/exportkit.py (every answer known), and each
file is read back with plain csv / openpyxl / pyreadstat / json / ElementTree code written here,
never with the generator's own helpers and never with belmig's reader: the corpus must say what
the platforms write, so its tests decode it the way the platforms' documentation says.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import json
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CODEBOOK = ROOT / "config" / "codebook.yaml"
N = 150
SEED = 3
MULTILINE = "Первая строка,\nвторая строка"


def _generator():
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = mod
    spec.loader.exec_module(mod)
    return mod


mc = _generator()


@pytest.fixture(scope="module")
def cb():
    from belmig.core import codebook as cbm

    return cbm.load(CODEBOOK)


@pytest.fixture(scope="module")
def export(cb, tmp_path_factory):
    """(path, DataFrame of the generic export): N respondents, one multi-line comment."""
    sys.path.insert(0, str(ROOT / "tests"))
    import exportkit as ek

    df = ek.build_export(cb, n=N, seed=SEED)
    ek.set_answer(df, cb, 7, "security_by_comment", MULTILINE)
    path = tmp_path_factory.mktemp("export") / "export.csv"
    ek.write_csv(df, path, crlf=True)
    return path, df


@pytest.fixture(scope="module")
def out(export, tmp_path_factory):
    path, _ = export
    d = tmp_path_factory.mktemp("corpus")
    assert mc.main(["--export", str(path), "--codebook", str(CODEBOOK), "--out", str(d)]) == 0
    return d


@pytest.fixture(scope="module")
def manifest(out):
    return yaml.safe_load((out / "corpus.yaml").read_text(encoding="utf-8"))


def rows_of(path: Path, sep: str = ",") -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


def ts(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S")


def col(df, cb, qid: str) -> list[str]:
    try:
        return list(df[cb[qid].column])
    except KeyError:
        return list(df[cb.admin_column(qid).column])


# --------------------------------------------------------------------------- the generator itself


def test_rerun_is_byte_identical(export, out):
    again = mc.build(export[0], CODEBOOK)
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert set(again.files) == set(written)
    changed = [name for name, data in again.files.items() if data != written[name]]
    assert changed == []


def test_pinned_timestamps(out):
    with zipfile.ZipFile(out / "google_forms.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2022, 10, 3, 9, 0, 0)}
        core = z.read("docProps/core.xml").decode()
        assert "2022-10-03T09:00:00Z" in core
    assert (out / "generic.sav").read_bytes()[92:109] == b"03 Oct 2209:00:00"
    assert b"<timestamp>\x1103 Oct 2022 09:00</timestamp>" in (out / "generic.dta").read_bytes()


def test_manifest_lists_every_file_once(out, manifest):
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    listed = [f["file"] for f in manifest["files"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk
    assert manifest["source_rows"] == N


def test_manifest_entries_are_complete(manifest):
    files = {f["file"]: f for f in manifest["files"]}
    exports = [f for f in manifest["files"] if f["role"] == "export" and f["well_formed"]]
    assert {f["platform"] for f in exports} == {
        "google_forms",
        "limesurvey",
        "qualtrics",
        "surveymonkey",
        "kobo",
        "spss",
        "stata",
    }
    for f in exports:
        assert f["respondents"] == N, f["file"]
        assert set(f["lacks"]) <= {"response_id", "started_at", "submitted_at", "email", "ip_address", "contact"}
        if f["needs_definition"]:
            assert files[f["needs_definition"]]["role"] == "definition"
    assert files["google_forms.csv"]["lacks"] == ["response_id", "started_at", "ip_address"]
    assert files["kobo_xml.csv"]["lacks"] == ["ip_address"]
    broken = [f for f in manifest["files"] if not f["well_formed"]]
    assert len(broken) >= 15
    assert {f["platform"] for f in broken} == {f["platform"] for f in exports}
    for f in broken:
        assert f["file"].startswith("broken/")
        assert f["expect"][0] == f["file"].removeprefix("broken/")
        assert files[f["based_on"]]["well_formed"]
        assert f["what"]


def test_broken_files_are_broken_where_the_manifest_says(out, manifest):
    files = {f["file"]: f for f in manifest["files"]}
    checked = 0
    for f in manifest["files"]:
        if f["well_formed"]:
            continue
        data = (out / f["file"]).read_bytes()
        assert data != (out / f["based_on"]).read_bytes(), f["file"]
        if f["format"] != "csv" or "value" not in f or "data_row" not in f:
            continue
        base = files[f["based_on"]]
        sep = ";" if f["based_on"] in ("limesurvey_text.csv", "kobo_xml.csv") else ","
        rows = rows_of(out / f["file"], sep)
        head = rows[0]
        cell = rows[base["header_rows"] - 1 + f["data_row"]][head.index(f["column"])]
        assert cell == f["value"] or f["value"] in cell.split(", "), f["file"]  # a cell or one answer of it
        checked += 1
    assert checked >= 3


def test_generator_refuses_an_unknown_label(export, cb, tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))
    import exportkit as ek

    df = export[1].copy()
    ek.set_answer(df, cb, 4, "sex", "Женщина")
    bad = ek.write_csv(df, tmp_path / "bad.csv")
    with pytest.raises(mc.CorpusError, match=r"data row 4, column 'Ваш пол': unknown label 'Женщина'"):
        mc.build(bad, CODEBOOK)


# --------------------------------------------------------------------------- Google Forms


def test_google_forms_csv(out, export, cb):
    _, df = export
    rows = rows_of(out / "google_forms.csv")
    head, data = rows[0], rows[1:]
    assert len(data) == N
    assert head[0] == "Отметка времени" and cb.admin_column("started_at").column not in head
    # the only timestamp is the submission, dd.mm.yyyy H:MM:SS in Vilnius time
    got = [dt.datetime.strptime(r[0], "%d.%m.%Y %H:%M:%S") for r in data]
    assert got == [ts(s) for s in col(df, cb, "submitted_at")]
    # single choice: the label; multi: labels joined by ", ", the typed "Other" text inline
    for qid in ("sex", "legal_status", "age_group"):
        assert [r[head.index(cb[qid].column)] for r in data] == col(df, cb, qid)
    q = cb["reasons_lithuania"]
    j = head.index(q.column)
    for i, (cell, other) in enumerate(zip(col(df, cb, q.id), list(df[q.other_column]))):
        ticked = set(cell.split(";"))
        labels = [o.label_ru for o in q.options if o.label_ru in ticked and not o.other]  # form order
        want = ", ".join(labels + ([other] if other else []))
        assert data[i][j] == want
    assert any("Здесь есть родственники, друзья или люди, которые могут поддержать" in r[j] for r in data)
    assert q.other_column not in head


def test_google_forms_locales_and_xlsx(out, export, cb):
    from openpyxl import load_workbook

    _, df = export
    first = ts(col(df, cb, "submitted_at")[0])
    en = rows_of(out / "google_forms_en.csv")
    assert en[0][0] == "Timestamp"
    assert en[1][0] == f"{first.month}/{first.day}/{first.year} {first.hour}:{first:%M:%S}"
    ws = load_workbook(out / "google_forms.xlsx").active
    assert ws.max_row == N + 1
    assert ws["A2"].value == first and ws["A2"].is_date
    scale = [c.value for c in ws[1]].index(cb["security_lt"].column)
    assert [r[scale].value for r in ws.iter_rows(min_row=2)] == [int(v) for v in col(df, cb, "security_lt")]


# --------------------------------------------------------------------------- SurveyMonkey


def test_surveymonkey_expanded(out, export, cb):
    _, df = export
    rows = rows_of(out / "surveymonkey.csv")
    r1, r2, data = rows[0], rows[1], rows[2:]
    assert len(data) == N
    assert r1[:9] == [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
    ]
    assert r2[:9] == [""] * 9
    starts = [dt.datetime.strptime(r[2], "%m/%d/%Y %I:%M:%S %p") for r in data]
    assert starts == [ts(s) for s in col(df, cb, "started_at")]
    assert [r[5] for r in data] == col(df, cb, "email")
    # discrimination: "Response" then "Other (please specify)"; Other chosen -> Response empty
    q = cb["discrimination"]
    j = r1.index(q.column)
    assert r2[j : j + 2] == ["Response", "Other (please specify)"]
    for i, (cell, other) in enumerate(zip(col(df, cb, q.id), list(df[q.other_column]))):
        if other:
            assert data[i][j : j + 2] == ["", other]
        else:
            assert data[i][j : j + 2] == [cell, ""]
    # multi: one column per option (row 2 = option text), ticked = the option text
    q = cb["support_sought"]
    j = r1.index(q.column)
    opts = [o.label_ru for o in q.options]
    assert r2[j : j + len(opts)] == opts and r1[j + 1 : j + len(opts)] == [""] * (len(opts) - 1)
    for i, cell in enumerate(col(df, cb, q.id)):
        ticked = set(cell.split(";")) - {""}
        assert data[i][j : j + len(opts)] == [o if o in ticked else "" for o in opts]


# --------------------------------------------------------------------------- Qualtrics


def test_qualtrics_three_header_rows_and_time_zones(out, export, cb):
    _, df = export
    text = rows_of(out / "qualtrics_text.csv")
    vals = rows_of(out / "qualtrics_values.csv")
    for rows, zone, status, finished in ((text, "Europe/Vilnius", "IP Address", "True"), (vals, "UTC", "0", "1")):
        names, imports, data = rows[0], [json.loads(c) for c in rows[2]], rows[3:]
        assert len(data) == N
        assert all("ImportId" in c for c in imports)
        assert imports[names.index("StartDate")] == {"ImportId": "startDate", "timeZone": zone}
        assert {r[names.index("Status")] for r in data} == {status}
        assert {r[names.index("Finished")] for r in data} == {finished}
    start_text = [ts(r[0]) for r in text[3:]]
    start_utc = [ts(r[0]) for r in vals[3:]]
    assert start_text == [ts(s) for s in col(df, cb, "started_at")]
    assert {a - b for a, b in zip(start_text, start_utc)} == {dt.timedelta(hours=3)}  # EEST
    dur = [int(r[text[0].index("Duration (in seconds)")]) for r in text[3:]]
    assert dur == [
        int((ts(b) - ts(a)).total_seconds()) for a, b in zip(col(df, cb, "started_at"), col(df, cb, "submitted_at"))
    ]


def test_qualtrics_values_decode_with_the_qsf(out, export, cb):
    """Every single-choice and multi answer of the numeric file, decoded through qualtrics.qsf."""
    _, df = export
    qsf = json.loads((out / "qualtrics.qsf").read_text(encoding="utf-8"))
    by_tag = {e["Payload"]["DataExportTag"]: e["Payload"] for e in qsf["SurveyElements"] if e["Element"] == "SQ"}
    by_text = {p["QuestionText"]: p for p in by_tag.values()}
    rows = rows_of(out / "qualtrics_values.csv")
    names, data = rows[0], rows[3:]
    n_checked = 0
    for q in cb.questions:
        p = by_text[q.column]
        if q.type == "single":
            recode = p.get("RecodeValues", {k: k for k in p["Choices"]})
            label = {recode[k]: c["Display"] for k, c in p["Choices"].items()}
            got = [label.get(r[names.index(p["DataExportTag"])], "") for r in data]
            assert got == col(df, cb, q.id), q.id
            n_checked += 1
        elif q.type == "multi":
            for k, c in p["Choices"].items():
                j = names.index(f"{p['DataExportTag']}_{k}")
                want = [c["Display"] in cell.split(";") for cell in col(df, cb, q.id)]
                assert [r[j] == "1" for r in data] == want, (q.id, k)
                if c.get("TextEntry"):
                    jt = names.index(f"{p['DataExportTag']}_{k}_TEXT")
                    assert [r[jt] for r in data] == list(df[q.other_column])
            n_checked += 1
    assert n_checked == sum(q.type in ("single", "multi") for q in cb.questions)
    citizen = by_text[cb["citizen_by"].column]
    assert citizen["RecodeValues"] == {"1": "1", "2": "0"}  # yes/no recoded 1/0, not the codebook's 1/2


# --------------------------------------------------------------------------- LimeSurvey


def test_limesurvey_codes_and_lss(out, export, cb):
    _, df = export
    raw = (out / "limesurvey_codes.csv").read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"id","submitdate"') and raw.endswith(b"\r\n\r\n")
    rows = rows_of(out / "limesurvey_codes.csv")
    head, data = rows[0], [r for r in rows[1:] if r]
    assert len(data) == N
    root = ET.parse(out / "limesurvey.lss").getroot()
    text_of = {r.findtext("qid"): r.findtext("question") for r in root.iterfind("question_l10ns/rows/row")}
    title = {text_of[r.findtext("qid")]: r.findtext("title") for r in root.iterfind("questions/rows/row")}
    qid_of = {r.findtext("title"): r.findtext("qid") for r in root.iterfind("questions/rows/row")}
    aid_code = {(r.findtext("qid"), r.findtext("code")): r.findtext("aid") for r in root.iterfind("answers/rows/row")}
    answer = {r.findtext("aid"): r.findtext("answer") for r in root.iterfind("answer_l10ns/rows/row")}
    sex = title[cb["sex"].column]
    got = [answer[aid_code[(qid_of[sex], r[head.index(sex)])]] if r[head.index(sex)] else "" for r in data]
    assert got == col(df, cb, "sex")
    # multi: Q..[SQ00k] = "Y" / "" ; the "Other" text in Q..[other]
    q = cb["reasons_exit"]
    t = title[q.column]
    j = head.index(f"{t}[SQ001]")
    assert [r[j] == "Y" for r in data] == [q.options[0].label_ru in c.split(";") for c in col(df, cb, q.id)]
    assert [r[head.index(f"{t}[other]")] for r in data] == list(df[q.other_column])
    # a question not displayed (universe) is NULL: a bare empty field, not ""
    hr = title[cb["health_rating"].column]
    line = raw.decode("utf-8-sig").split("\r\n")[
        1 + next(i for i, v in enumerate(col(df, cb, "health_used")) if v == "Нет")
    ]
    fields = next(csv.reader([line]))
    assert fields[head.index(hr)] == ""
    assert ",," in line or line.endswith(",")


def test_limesurvey_full_answers(out, export, cb):
    _, df = export
    rows = rows_of(out / "limesurvey_text.csv", sep=";")
    head, data = rows[0], [r for r in rows[1:] if r]
    assert len(data) == N and head[:2] == ["Response ID", "Date submitted"]
    q = cb["support_sought"]
    o = q.options[0]
    j = head.index(f"{q.column} [{o.label_ru}]")
    assert [r[j] for r in data] == ["Да" if o.label_ru in c.split(";") else "Нет" for c in col(df, cb, q.id)]
    hp = cb["health_problems"]
    j = head.index(f"{hp.column} [{hp.options[0].label_ru}]")
    not_asked = [i for i, v in enumerate(col(df, cb, "health_used")) if v == "Нет"]
    assert not_asked and {data[i][j] for i in not_asked} == {"N/A"}
    assert data[6][head.index(cb["security_by_comment"].column)] == MULTILINE


def test_limesurvey_sav(out, export, cb):
    import pyreadstat

    _, df = export
    data, meta = pyreadstat.read_sav(str(out / "limesurvey.sav"))
    assert len(data) == N
    q = cb["reasons_exit"]
    var = next(
        n for n, lab in zip(meta.column_names, meta.column_labels) if lab == f"[{q.options[0].label_ru}] {q.column}"
    )
    assert meta.variable_value_labels[var] == {1.0: "Yes", 0.0: "Not Selected"}
    assert list(data[var]) == [float(q.options[0].label_ru in c.split(";")) for c in col(df, cb, q.id)]
    assert list(data["submitdate"]) == [ts(s) for s in col(df, cb, "submitted_at")]


# --------------------------------------------------------------------------- KoboToolbox


def test_kobo_xml_and_xlsform(out, export, cb):
    from openpyxl import load_workbook

    _, df = export
    raw = (out / "kobo_xml.csv").read_text(encoding="utf-8")
    assert raw.startswith('"start";"end";')
    rows = rows_of(out / "kobo_xml.csv", sep=";")
    head, data = rows[0], rows[1:]
    assert len(data) == N
    start = [dt.datetime.fromisoformat(r[0]) for r in data]
    assert {s.utcoffset() for s in start} == {dt.timedelta(hours=3)}
    assert [s.replace(tzinfo=None) for s in start] == [ts(s) for s in col(df, cb, "started_at")]
    end = [dt.datetime.fromisoformat(r[1]) for r in data]
    rx = [dt.datetime.fromisoformat(r[head.index("_submission_time")]).replace(tzinfo=dt.UTC) for r in data]
    assert all(dt.timedelta(0) < b - a <= dt.timedelta(seconds=5) for a, b in zip(end, rx))
    wb = load_workbook(out / "kobo_xlsform.xlsx")
    assert wb.sheetnames == ["survey", "choices", "settings"]
    survey = [[c.value for c in r] for r in wb["survey"].iter_rows()]
    name_of = {r[2]: r[1] for r in survey[1:] if r[2]}
    q = cb["support_needs"]
    name = name_of[q.column]
    path = next(h for h in head if h.endswith("/" + name))
    choices = [[c.value for c in r] for r in wb["choices"].iter_rows()]
    lst = next(r[0] for r in survey if r[1] == name).split()[1]
    names = {r[2]: r[1] for r in choices if r[0] == lst}
    for o in q.options:
        j = head.index(f"{path}/{names[o.label_ru]}")
        want = ["" if not c else ("1" if o.label_ru in c.split(";") else "0") for c in col(df, cb, q.id)]
        assert [r[j] for r in data] == want, o.key
    summary = [r[head.index(path)].split() for r in data]
    assert summary == [[names[o.label_ru] for o in q.options if o.label_ru in c.split(";")] for c in col(df, cb, q.id)]


def test_kobo_labels_xlsx(out, export, cb):
    from openpyxl import load_workbook

    _, df = export
    ws = load_workbook(out / "kobo_labels.xlsx").active
    head = [c.value for c in ws[1]]
    body = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(body) == N
    q = cb["reasons_exit"]
    j = head.index(f"{q.column}/{q.options[1].label_ru}")
    assert [r[j] for r in body] == [
        None if not c else int(q.options[1].label_ru in c.split(";")) for c in col(df, cb, q.id)
    ]
    assert [r[0] for r in body] == [ts(s) for s in col(df, cb, "started_at")]  # wall clock, offset dropped
    assert [r[head.index(cb["sex"].column)] for r in body] == col(df, cb, "sex")


# --------------------------------------------------------------------------- SPSS / Stata


def test_generic_sav_mr_sets_and_labels(out, export, cb):
    import pyreadstat

    _, df = export
    data, meta = pyreadstat.read_sav(str(out / "generic.sav"))
    assert len(data) == N
    multis = [q for q in cb.questions if q.type == "multi"]
    assert len(meta.mr_sets) == len(multis)
    for q in multis:
        s = next(s for s in meta.mr_sets.values() if s["label"] == q.column)
        assert s["type"] == "D" and s["counted_value"] == 1
        assert [meta.column_labels[meta.column_names.index(v)] for v in s["variable_list"]] == [
            o.label_ru for o in q.options
        ]
    sex = meta.column_names[meta.column_labels.index(cb["sex"].column)]
    labels = meta.variable_value_labels[sex]
    assert [labels[v] for v in data[sex]] == col(df, cb, "sex")
    assert list(data["resp_id"]) == col(df, cb, "response_id")


def test_generic_dta_label_limits(out, export, cb):
    import pyreadstat

    _, df = export
    data, meta = pyreadstat.read_dta(str(out / "generic.dta"))
    assert len(data) == N
    assert max(len(lab) for lab in meta.column_labels) == 80
    q = cb["education_used"]
    assert len(q.column) > 80 and q.column[:80] in meta.column_labels
    assert list(data["submit"]) == [ts(s) for s in col(df, cb, "submitted_at")]
