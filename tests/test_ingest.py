"""Ingestion: the three readers, the contract, identifiers, redaction, the malformed corpus."""

from __future__ import annotations

import codecs
import copy
import csv
import io
import sys
from pathlib import Path

import exportkit as ek
import numpy as np
import pandas as pd
import pytest
import yaml

from belmig import clean, ingest
from belmig.clean import coding
from belmig.core import codebook, config, keys, paths
from belmig.ingest import IngestError, csv_fast

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_malformed as mm

CB = codebook.load()
CFG = config.load()
N = 12


@pytest.fixture(scope="module")
def export_df() -> pd.DataFrame:
    return ek.build_export(CB, N, seed=5)


@pytest.fixture(scope="module")
def files(export_df, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("exports")
    return {
        "csv": ek.write_csv(export_df, d / "export.csv"),
        "csv_bom_semicolon_crlf": ek.write_csv(export_df, d / "export2.csv", sep=";", bom=True, crlf=True),
        "xlsx": ek.write_xlsx(export_df, d / "export.xlsx", CB),
        "sav": ek.write_sav(export_df, d / "export.sav", CB),
    }


@pytest.fixture(scope="module")
def ingested(files) -> pd.DataFrame:
    return ingest.read_export(files["csv"], CB)


def test_contract_columns_and_types(ingested):
    df = ingested
    assert list(df.columns[:5]) == ["row", "response_id", "started_at", "submitted_at", "duration_sec"]
    assert df["row"].tolist() == list(range(1, N + 1))
    assert str(df["duration_sec"].dtype) == "Int64"
    assert (df["duration_sec"] == (df["submitted_at"] - df["started_at"]).dt.total_seconds()).all()
    for q in CB.questions:
        if q.type == "single":
            assert df[q.id].dtype == "str" and set(df[q.id].dropna()) <= set(q.keys)
        elif q.type == "multi":
            for c in q.multi_columns():
                assert str(df[c].dtype) == "boolean"
            block = df[q.multi_columns()]
            assert (block.isna().all(axis=1) | block.notna().all(axis=1)).all()  # all NA when empty
        elif q.type == "scale":
            assert str(df[q.id].dtype) == "Int64"
        elif q.type == "text":
            assert df[q.id].dtype == "str"
        if q.other_column:
            assert df[keys.other_text_column(q.id)].dtype == "str"


def test_values_match_the_export(export_df, ingested):
    sex = export_df[CB["sex"].column].tolist()
    label_to_key = {o.label_ru: o.key for o in CB["sex"].options}
    assert ingested["sex"].tolist() == [label_to_key[s] for s in sex]
    first = export_df[CB["reasons_exit"].column].iloc[0].split(";")
    ticked = [o.key for o in CB["reasons_exit"].options if o.label_ru in first]
    assert [k for k in CB["reasons_exit"].keys if ingested.loc[0, f"reasons_exit__{k}"]] == ticked
    assert ingested["security_lt"].tolist() == [int(v) for v in export_df[CB["security_lt"].column]]


@pytest.mark.parametrize("fmt", ["csv_bom_semicolon_crlf", "xlsx", "sav"])
def test_formats_give_identical_ingested_data(files, ingested, fmt):
    other = ingest.read_export(files[fmt], CB)
    pd.testing.assert_frame_equal(other, ingested)


def test_formats_give_identical_cleaned_data(files):
    rules = coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", CB)
    results = {
        f: clean.clean(ingest.read_export(files[f], CB), CB, CFG["cleaning"], rules) for f in ("csv", "xlsx", "sav")
    }
    for f in ("xlsx", "sav"):
        pd.testing.assert_frame_equal(results[f].responses, results["csv"].responses)
        pd.testing.assert_frame_equal(results[f].flow, results["csv"].flow)
        pd.testing.assert_frame_equal(results[f].other_coding, results["csv"].other_coding)
    assert len(results["csv"].responses) == N


def test_sav_truncated_value_labels_are_matched(tmp_path):
    import pyreadstat

    # a codebook whose label is longer than SPSS's 120-byte value labels
    raw = copy.deepcopy(yaml.safe_load(paths.CODEBOOK.read_text(encoding="utf-8")))
    status = next(q for q in raw["questions"] if q["id"] == "legal_status")
    asylum = next(o for o in status["options"] if o["key"] == "asylum")
    asylum["label_ru"] += ", включая дополнительную защиту"
    cb = codebook.from_dict(raw, source="edited codebook")
    df = ek.build_export(cb, 40, seed=2)
    assert (df[cb["legal_status"].column] == asylum["label_ru"]).any()
    path = ek.write_sav(df, tmp_path / "long.sav", cb)
    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    name = meta.column_names[meta.column_labels.index(cb["legal_status"].column)]
    stored = meta.variable_value_labels[name][float(asylum["code"])]
    assert stored != asylum["label_ru"] and asylum["label_ru"].startswith(stored)  # SPSS cut it
    got = ingest.read_export(path, cb)["legal_status"]
    want = ingest.read_export(ek.write_csv(df, tmp_path / "long.csv"), cb)["legal_status"]
    assert (got == "asylum").any()
    pd.testing.assert_series_equal(got, want)


def test_identifiers_never_get_past_ingestion(export_df, files):
    for fmt in ("csv", "xlsx", "sav"):
        df = ingest.read_export(files[fmt], CB)
        for c in CB.identifier_columns():
            assert c.id not in df.columns and c.column not in df.columns
        cells = {v for v in df.select_dtypes(include=["str", "object"]).to_numpy().ravel() if isinstance(v, str)}
        for c in CB.identifier_columns():
            raw = {v for v in export_df[c.column] if v}
            assert raw and not raw & cells
            assert not any(v in cell for v in raw for cell in cells)


def test_free_text_is_redacted(export_df, ingested):
    col = CB["security_by_comment"].column
    raw = export_df[col]
    i = raw[raw.str.contains("@example.com")].index[0]
    assert ingested.loc[i, "security_by_comment"] == "Боялся ареста после протестов, писать на [removed]"
    j = export_df[export_df[CB["war_impact_comment"].column].str.contains(r"\+370")].index[0]
    assert "[removed]" in ingested.loc[j, "war_impact_comment"] and "34567" not in ingested.loc[j, "war_impact_comment"]
    texts = ingested.select_dtypes(include="str").stack()
    assert not texts.str.contains(r"@\w|https?://|\+\d{3}").any()


def test_aliases_come_from_the_codebook(tmp_path, export_df):
    df = export_df.copy()
    ek.set_answer(df, CB, 2, "sex", "Мужчина")
    path = ek.write_csv(df, tmp_path / "alias.csv")
    with pytest.raises(IngestError, match="unknown answer label 'Мужчина'"):
        ingest.read_export(path, CB)
    raw = yaml.safe_load(paths.CODEBOOK.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    sex = next(q for q in raw["questions"] if q["id"] == "sex")
    next(o for o in sex["options"] if o["key"] == "male")["aliases"] = ["Мужчина"]
    cb2 = codebook.from_dict(raw, source="edited codebook")
    assert ingest.read_export(path, cb2).loc[1, "sex"] == "male"


def test_synthetic_flag_from_sidecar(tmp_path, export_df):
    path = ek.write_csv(export_df, tmp_path / "synthetic_export.csv")
    assert ingest.read_export(path, CB).attrs["belmig"]["synthetic"] is False
    side = tmp_path / "synthetic_export.csv.meta.yaml"
    side.write_text("seed: 1\n", encoding="utf-8")
    with pytest.raises(IngestError, match="synthetic_export.csv.meta.yaml: the sidecar of the export must say"):
        ingest.read_export(path, CB)
    side.write_text("synthetic: true\n", encoding="utf-8")
    df = ingest.read_export(path, CB)
    assert df.attrs["belmig"] == {
        "source": "synthetic_export.csv",
        "format": "csv",
        "synthetic": True,
        "platform": "generic",
        "lacks": [],
    }
    out = tmp_path / "ingested.parquet"
    ingest.write_ingested(df, out)
    assert pd.read_parquet(out).attrs["belmig"]["synthetic"] is True


def test_write_ingested_is_atomic(tmp_path, ingested):
    out = tmp_path / "ingested.parquet"
    bad = ingested.assign(bad=[object()] * len(ingested))  # pyarrow cannot store it
    with pytest.raises(ValueError):  # pyarrow.ArrowInvalid
        ingest.write_ingested(bad, out)
    assert list(tmp_path.iterdir()) == []
    ingest.write_ingested(ingested, out)
    pd.testing.assert_frame_equal(pd.read_parquet(out), ingested)
    assert [p.name for p in tmp_path.iterdir()] == ["ingested.parquet"]


# --------------------------------------------------------------------------- malformed corpus

INGEST_CASES = [c for c in mm.CASES if c.stage == "ingest"]


def test_corpus_is_large_enough():
    assert len([c for c in mm.CASES if c.stage != "ok"]) >= 20


@pytest.mark.parametrize("case", INGEST_CASES, ids=[c.name for c in INGEST_CASES])
def test_malformed_export_is_rejected(case, tmp_path, capsys, monkeypatch):
    path = mm.OUT / case.name
    with pytest.raises(IngestError) as err:
        ingest.read_export(path, CB)
    msg = str(err.value)
    for fragment in case.expect:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    # the CLI writes nothing on error
    monkeypatch.setattr(codebook, "load", lambda *a, **k: CB)  # (parsing the YAML again is slow)
    out = tmp_path / "ingested.parquet"
    assert ingest.main([str(path), "--out", str(out)]) == 1
    assert list(tmp_path.iterdir()) == []
    assert case.name in capsys.readouterr().err  # the error goes to stderr


def test_all_ineligible_fails_in_cleaning(tmp_path):
    case = next(c for c in mm.CASES if c.name == "all_ineligible.csv")
    df = ingest.read_export(mm.OUT / case.name, CB)
    rules = coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", CB)
    with pytest.raises(clean.CleanError) as err:
        clean.clean(df, CB, CFG["cleaning"], rules)
    for fragment in case.expect:
        assert fragment in str(err.value)


def test_semicolon_bom_crlf_variant_succeeds():
    a = ingest.read_export(mm.OUT / "semicolon_bom_crlf.csv", CB)
    b = ingest.read_export(mm.OUT / "valid.csv", CB)
    a.attrs, b.attrs = {}, {}
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == mm.N


def test_corpus_matches_its_generator(tmp_path):
    written = mm.write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in mm.OUT.iterdir() if p.is_file())
    for p in written:
        if p.suffix in (".csv", ".txt", ".json"):  # xlsx / sav carry creation timestamps
            assert p.read_bytes() == (mm.OUT / p.name).read_bytes(), f"{p.name}: re-run tests/data/make_malformed.py"


# --------------------------------------------------------------------------- CSV readers agree
# The columnar CSV reader must read exactly what the record-by-record reader reads, and leave
# every file it cannot vouch for to it (so errors name the same row, column and value).


def _outcome(path: Path, monkeypatch, fast: bool):
    monkeypatch.setattr(csv_fast, "FAST_CSV", fast)
    try:
        return "ok", ingest.read_export(path, CB)
    except IngestError as e:
        return "error", str(e)


def _assert_readers_agree(path: Path, monkeypatch) -> str:
    (ka, a), (kb, b) = _outcome(path, monkeypatch, True), _outcome(path, monkeypatch, False)
    assert ka == kb, (a, b)
    if ka == "ok":
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.attrs == b.attrs
    else:
        assert a == b
    return ka


CSV_CASES = [c for c in mm.CASES if c.name.endswith(".csv")]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.name for c in CSV_CASES])
def test_csv_readers_agree_on_the_corpus(case, monkeypatch):
    _assert_readers_agree(mm.OUT / case.name, monkeypatch)


def test_well_formed_csv_takes_the_fast_path(files):
    for key in ("csv", "csv_bom_semicolon_crlf"):
        raw = csv_fast._read_csv_fast(files[key], CB)
        assert raw.nrows == N and raw.rows is None


def _lines(export_df) -> list[str]:
    return export_df.to_csv(index=False, lineterminator="\n").split("\n")


def _edit_field(line: str, j: int, value: str) -> str:
    fields = line.split(",")  # the base export has no quoted commas in its first columns
    fields[j] = value
    return ",".join(fields)


EDGE_CASES = {
    # quoting the record-by-record reader refuses (strict) or reads literally
    "junk_after_quote": lambda L: L[:2] + [_edit_field(L[2], 0, '"R1"x')] + L[3:],
    "quote_inside_unquoted": lambda L: L[:2] + [_edit_field(L[2], 0, 'R"1')] + L[3:],
    "empty_quoted_then_junk": lambda L: L[:2] + [_edit_field(L[2], 0, '""x')] + L[3:],
    "unterminated_last_quote": lambda L: L[:-2] + [_edit_field(L[-2], 0, '"R1')] + L[-1:],
    # blank and empty records
    "blank_line_inside": lambda L: L[:3] + [""] + L[3:],
    "blank_lines_at_end": lambda L: L + ["", "", ""],
    "spaces_line_at_end": lambda L: L[:-1] + ["   ", ""],
    "empty_fields_record_inside": lambda L: L[:3] + ["," * (len(CB.export_headers()) - 1)] + L[3:],
    "blank_fields_record_at_end": lambda L: L[:-1] + [" ," * 2 + "," * 100, ""],
    "no_final_line_end": lambda L: L[:-1],
    "cr_line_ends": lambda L: ["\r".join(L)],
    # values the cell parsers strip or refuse
    "unicode_space_around_id": lambda L: L[:2] + [_edit_field(L[2], 0, "\u00a0R1 ")] + L[3:],
    "fullwidth_digits_in_time": lambda L: L[:2] + [_edit_field(L[2], 1, "２０２３-05-01 10:00:00")] + L[3:],
    "space_around_time": lambda L: L[:2] + [_edit_field(L[2], 2, " 2023-05-01 11:00:00\t")] + L[3:],
    "nul_in_id": lambda L: L[:2] + [_edit_field(L[2], 0, "R\x001")] + L[3:],
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_csv_readers_agree_on_edge_cases(name, export_df, tmp_path, monkeypatch):
    lines = EDGE_CASES[name](_lines(export_df))
    path = tmp_path / f"{name}.csv"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    _assert_readers_agree(path, monkeypatch)


def test_csv_readers_agree_on_quoted_free_text(export_df, tmp_path, monkeypatch):
    df = export_df.copy()
    q = next(q for q in CB.questions if q.type == "text")
    ek.set_answer(df, CB, 2, q.id, 'он сказал "нет", а потом\n\n"да"')
    ek.set_answer(df, CB, 3, q.id, '"""')
    ek.set_answer(df, CB, 4, q.id, "строка,\r\nещё; строка")
    assert _assert_readers_agree(ek.write_csv(df, tmp_path / "quoted.csv"), monkeypatch) == "ok"
    csv_fast._read_csv_fast(tmp_path / "quoted.csv", CB)  # well formed: no fallback


def test_csv_readers_agree_on_the_field_size_limit(export_df, tmp_path, monkeypatch):
    import csv

    df = export_df.copy()
    q = next(q for q in CB.questions if q.type == "text")
    ek.set_answer(df, CB, 3, q.id, "а" * 3000)
    path = ek.write_csv(df, tmp_path / "long.csv")
    old = csv.field_size_limit()
    try:
        csv.field_size_limit(2000)
        assert _assert_readers_agree(path, monkeypatch) == "error"
    finally:
        csv.field_size_limit(old)


def _recode_sav(path: Path, cb, qid: str, codes: dict[str, int], labels: dict[int, str], out: Path) -> Path:
    """The SPSS file with question `qid` renumbered (option key -> new code) and relabelled."""
    import pyreadstat

    data, meta = pyreadstat.read_sav(str(path))
    name = meta.column_names[meta.column_labels.index(cb[qid].column)]
    old = {float(o.code): o.key for o in cb[qid].options}
    data[name] = data[name].map(lambda v: float(codes[old[v]]) if v == v else v)
    value_labels = dict(meta.variable_value_labels)
    value_labels[name] = {float(c): t for c, t in labels.items()}
    pyreadstat.write_sav(data, str(out), column_labels=meta.column_labels, variable_value_labels=value_labels)
    return out


def test_sav_value_labels_win_over_renumbered_codes(files, ingested, tmp_path):
    """Planted fault (a real export): sex renumbered with English labels (1 = Male, 2 = Female),
    the codebook's codes the other way round. The labels say which option each code is; a label
    that names no option is refused rather than read by its number."""
    opts = {o.key: o for o in CB["sex"].options}
    swapped = {"female": opts["male"].code, "male": opts["female"].code}
    swapped.update({k: o.code for k, o in opts.items() if k not in swapped})
    labels = {swapped[k]: o.label_en for k, o in opts.items()}
    path = _recode_sav(files["sav"], CB, "sex", swapped, labels, tmp_path / "renumbered.sav")
    got = ingest.read_export(path, CB)
    pd.testing.assert_series_equal(got["sex"], ingested["sex"])
    labels[swapped["female"]] = "Mujer"  # no option's label in any language
    path = _recode_sav(files["sav"], CB, "sex", swapped, labels, tmp_path / "unknown.sav")
    with pytest.raises(IngestError, match=r"unknown answer label.*labelled 'Mujer'"):
        ingest.read_export(path, CB)


def test_trailing_empty_columns_are_ignored(files, ingested, tmp_path):
    """Excel's CSV: every line ends with empty fields under empty headers (it crashed with
    KeyError: '')."""
    text = files["csv"].read_text(encoding="utf-8")
    lines = text.split("\n")
    path = tmp_path / "trailing.csv"
    path.write_text("\n".join(line + ",," if line else line for line in lines), encoding="utf-8")
    pd.testing.assert_frame_equal(ingest.read_export(path, CB), ingested)


def test_a_known_answer_after_an_unknown_one_is_no_other_text():
    """Planted fault (Google Forms, an option renamed mid-fieldwork): "Семейные причины, Учёба"
    was read as the "Other" text, swallowing "Учёба". The platforms write "Other" last."""
    from belmig.ingest.labels import split_known

    variants = [("Политические причины", "political"), ("Учёба", "study"), ("Семейные обстоятельства", "family")]
    assert split_known("Политические причины, Семейные причины, Учёба", variants, ", ", True) == (
        ["political"],
        "",
        "Семейные причины",
    )
    # a real "Other" text, last: kept as the text
    assert split_known("Политические причины, мой собственный ответ", variants, ", ", True) == (
        ["political"],
        "мой собственный ответ",
        "",
    )


def test_an_other_text_many_typed_like_an_option_is_refused():
    """Planted fault (Google Forms): 'Да, при поиске жилья' renamed '… или аренде' during
    fieldwork; 15 answers went to "Other" without a word. A text typed once stays "Other"."""
    from belmig.ingest.parse import _renamed_options

    q = CB["discrimination"]
    housing = next(o for o in q.options if o.key == "housing").label_ru
    parsed = [("other", housing + " или аренде"), ("other", housing + " или аренде!"), ("other", "совсем другое")]
    codes = np.array([0] * 15 + [1] + [2] * 3)
    out = _renamed_options(q, codes, parsed)
    assert out[0][0] == "bad" and "15 answers" in out[0][2] and repr(housing) in out[0][2]
    assert out[1] == parsed[1]  # typed once: a respondent's own words
    assert out[2] == parsed[2]  # repeated, but like no option


def test_excel_unicode_text_and_a_second_byte_order_mark_are_read(files, ingested, tmp_path):
    """Excel's "Unicode text" (UTF-16 LE with its mark, tab-separated) was refused as "looks like
    cp1251"; a file saved twice with a mark kept the second one in its first header."""
    text = files["csv"].read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    tabbed = io.StringIO()
    csv.writer(tabbed, delimiter="\t", lineterminator="\r\n").writerows(rows)
    wide = tmp_path / "unicode.txt.csv"
    wide.write_bytes(codecs.BOM_UTF16_LE + tabbed.getvalue().encode("utf-16-le"))
    pd.testing.assert_frame_equal(ingest.read_export(wide, CB), ingested)
    twice = tmp_path / "twice.csv"
    twice.write_bytes(codecs.BOM_UTF8 + ("\ufeff" + text).encode("utf-8"))
    pd.testing.assert_frame_equal(ingest.read_export(twice, CB), ingested)


def test_an_xlsx_with_a_title_row_or_a_summary_sheet_first_says_so(files, tmp_path):
    """Planted faults: a title above the header, the data on the second worksheet. The message
    was 'data row 1: has values in 2 or more columns, the header has 1'."""
    from openpyxl import load_workbook

    wb = load_workbook(files["xlsx"])
    wb.active.insert_rows(1)
    wb.active["A1"] = "Выгрузка ответов"
    wb.save(tmp_path / "title.xlsx")
    with pytest.raises(
        IngestError, match=r"row 2 names \d+ of the codebook's columns, row 1 none .*the header must be row 1"
    ):
        ingest.read_export(tmp_path / "title.xlsx", CB)
    wb = load_workbook(files["xlsx"])
    wb.active.title = "Responses"
    wb.create_sheet("Summary", 0)["A1"] = "Ответов: 12"
    wb.save(tmp_path / "second.xlsx")
    with pytest.raises(IngestError, match=r"on worksheet 'Responses' .* only the first worksheet, 'Summary', is read"):
        ingest.read_export(tmp_path / "second.xlsx", CB)
