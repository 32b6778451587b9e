"""Generate the corpus of malformed exports in tests/data/malformed/ from a small valid export.

    .venv/bin/python tests/data/make_malformed.py

Every case is one file plus what ingestion (or, for ``all_ineligible``, cleaning) must say
about it: the fragments its error message must contain (file name, data row, column, value).
``CASES`` is imported by tests/test_ingest.py, which also checks that the committed CSV files
are what this script writes. The valid base export has ``N`` submissions built by
tests/exportkit.py (deterministic); all data is invented.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "malformed"
sys.path.insert(0, str(HERE.parent))  # tests/ (exportkit)

import exportkit as ek  # noqa: E402
import pandas as pd  # noqa: E402

from belmig.core import codebook as cbm  # noqa: E402

N = 6
SEED = 7


@dataclass(frozen=True)
class Case:
    name: str  # file name in malformed/
    write: Callable[[Path, cbm.Codebook], None]
    expect: tuple[str, ...]  # fragments the error message must contain
    stage: str = "ingest"  # "ingest": read_export raises; "clean": clean raises; "ok": both succeed
    what: str = ""
    extra: dict = field(default_factory=dict)


def base(cb) -> pd.DataFrame:
    return ek.build_export(cb, N, seed=SEED)


def col(cb, qid: str) -> str:
    try:
        return cb[qid].column
    except KeyError:
        return cb.admin_column(qid).column


def _csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def _edited(qid: str, row: int, value: str):
    def write(path: Path, cb) -> None:
        df = base(cb)
        ek.set_answer(df, cb, row, qid, value)
        ek.write_csv(df, path)

    return write


def w_empty(path, cb):
    path.write_bytes(b"")


def w_blank_lines(path, cb):
    path.write_bytes(b"\r\n\r\n  \r\n")


def w_header_only(path, cb):
    _write_text(path, _csv_text(base(cb).iloc[:0]))


def w_cp1251(path, cb):
    path.write_bytes(_csv_text(base(cb)).encode("cp1251"))


def w_cp1251_row(path, cb):
    lines = _csv_text(base(cb)).split("\n")
    head = "\n".join(lines[:4]) + "\n"  # header + data rows 1-3 in UTF-8
    tail = "\n".join(lines[4:])  # data row 4 on, saved as cp1251 (two exports glued together)
    path.write_bytes(head.encode("utf-8") + tail.encode("cp1251"))


def w_duplicated_header(path, cb):
    df = base(cb)
    df.insert(len(df.columns), col(cb, "sex") + " ", df[col(cb, "sex")])
    ek.write_csv(df, path)


def w_missing_column(path, cb):
    ek.write_csv(base(cb).drop(columns=[col(cb, "return_plans")]), path)


def w_renamed_column(path, cb):
    ek.write_csv(base(cb).rename(columns={col(cb, "age_group"): "Ваша возрастная группа (лет)"}), path)


def w_extra_column(path, cb):
    df = base(cb)
    df["Комментарий модератора"] = ""
    ek.write_csv(df, path)


def w_wrong_fields(path, cb):
    lines = _csv_text(base(cb)).split("\n")
    lines[3] = lines[3] + ",лишнее"  # data row 3 gets one field too many
    _write_text(path, "\n".join(lines))


def w_truncated(path, cb):
    text = _csv_text(base(cb))
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    # cut the last row after its 10th field (outside any quotes: admin fields come first)
    cut = text.rstrip("\n").rsplit("\n", 1)[0] + "\n" + _first_fields(last, 10)
    _write_text(path, cut)


def _first_fields(line: str, n: int) -> str:
    import csv
    import io

    rec = next(csv.reader(io.StringIO(line)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(rec[:n])
    return buf.getvalue()


def w_truncated_in_quote(path, cb):
    text = _csv_text(base(cb))
    i = text.rindex('"', 0, len(text) - 2)  # the last quoted field: cut inside it
    _write_text(path, text[: i - 3])


def w_semicolon_bom_crlf(path, cb):
    ek.write_csv(base(cb), path, sep=";", bom=True, crlf=True)


def w_valid(path, cb):
    ek.write_csv(base(cb), path)


def w_all_ineligible(path, cb):
    df = base(cb)
    for r in range(1, N + 1):
        ek.set_answer(df, cb, r, "arrival_year", cb["arrival_year"].option("before2020").label_ru)
    ek.write_csv(df, path)


def w_swap_times(path, cb):
    df = base(cb)
    s, e = col(cb, "started_at"), col(cb, "submitted_at")
    df.loc[df.index[3], [s, e]] = df.loc[df.index[3], [e, s]].to_numpy()
    ek.write_csv(df, path)


def w_dup_id(path, cb):
    df = base(cb)
    rid = col(cb, "response_id")
    df.loc[df.index[4], rid] = df.loc[df.index[1], rid]
    ek.write_csv(df, path)


def w_not_xlsx(path, cb):
    path.write_bytes(_csv_text(base(cb)).encode("utf-8"))


def w_xlsx_unknown_label(path, cb):
    df = base(cb)
    ek.set_answer(df, cb, 2, "municipality", "Клайпеда")
    ek.write_xlsx(df, path, cb)


def w_xlsx_scale_text(path, cb):
    df = base(cb)
    ek.write_xlsx(df, path, cb)
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.active
    j = list(df.columns).index(col(cb, "quality_life")) + 1
    ws.cell(row=1 + 5, column=j, value="отлично")
    wb.save(path)


def w_sav_unknown_label(path, cb):
    import pyreadstat

    df = base(cb)
    ek.write_sav(df, path, cb)
    data, meta = pyreadstat.read_sav(str(path))
    sex = next(n for n, lab in zip(meta.column_names, meta.column_labels) if lab == col(cb, "sex"))
    data.loc[2, sex] = 9.0  # data row 3: code 9, labelled "Мужчина" (not in the codebook)
    labels = dict(meta.variable_value_labels)
    labels[sex] = {**labels[sex], 9.0: "Мужчина"}
    pyreadstat.write_sav(
        data, str(path), column_labels=dict(zip(meta.column_names, meta.column_labels)), variable_value_labels=labels
    )


def w_not_sav(path, cb):
    path.write_bytes(b"$FL2 this is not an SPSS file")


def w_txt(path, cb):
    _write_text(path, _csv_text(base(cb)))


def _cases() -> list[Case]:
    cb = cbm.load()
    sex, age = col(cb, "sex"), col(cb, "age_group")
    ex, sought = col(cb, "reasons_exit"), col(cb, "support_sought")
    sec, qual = col(cb, "security_lt"), col(cb, "quality_life")
    start, sub, rid = col(cb, "started_at"), col(cb, "submitted_at"), col(cb, "response_id")
    none_label = cb["support_sought"].option("none").label_ru
    health_label = cb["support_sought"].option("health").label_ru
    return [
        Case("empty.csv", w_empty, ("empty.csv", "empty file")),
        Case("blank_lines.csv", w_blank_lines, ("blank_lines.csv", "empty file")),
        Case("header_only.csv", w_header_only, ("header_only.csv", "header only, no submissions")),
        Case(
            "cp1251.csv", w_cp1251, ("cp1251.csv", "not valid UTF-8 at byte 3", "line 1", "the header", "Windows-1251")
        ),
        Case(
            "cp1251_row.csv",
            w_cp1251_row,
            ("cp1251_row.csv", "not valid UTF-8 at byte", "line 5", "data row 4", "Windows-1251"),
        ),
        Case(
            "duplicated_header.csv",
            w_duplicated_header,
            ("duplicated_header.csv", f"duplicated header {sex!r}", "columns 16 and 43"),
        ),
        Case(
            "missing_column.csv",
            w_missing_column,
            ("missing_column.csv", repr(col(cb, "return_plans")), "is missing", "no similar unknown header"),
        ),
        Case(
            "renamed_column.csv",
            w_renamed_column,
            ("renamed_column.csv", repr(age), "is missing", "'Ваша возрастная группа (лет)'", "renamed"),
        ),
        Case(
            "extra_column.csv", w_extra_column, ("extra_column.csv", "'Комментарий модератора'", "not in the codebook")
        ),
        Case(
            "unknown_label.csv",
            _edited("sex", 3, "Мужчина"),
            ("unknown_label.csv", "data row 3", repr(sex), "unknown answer label", "'Мужчина'", "'Мужской'"),
        ),
        Case(
            "unknown_label_in_multi.csv",
            _edited("reasons_exit", 2, cb["reasons_exit"].option("political").label_ru + ";Политика"),
            (
                "unknown_label_in_multi.csv",
                "data row 2",
                repr(ex),
                "unknown answer label in a multiple answer",
                "'Политика'",
            ),
        ),
        Case(
            "exclusive_combined.csv",
            _edited("support_sought", 5, f"{health_label};{none_label}"),
            ("exclusive_combined.csv", "data row 5", repr(sought), "exclusive option combined", repr(none_label)),
        ),
        Case(
            "nonnumeric_scale.csv",
            _edited("security_lt", 4, "семь"),
            ("nonnumeric_scale.csv", "data row 4", repr(sec), "non-numeric scale value", "'семь'", "1–10"),
        ),
        Case(
            "out_of_range_scale.csv",
            _edited("security_lt", 1, "11"),
            ("out_of_range_scale.csv", "data row 1", repr(sec), "out of range", "'11'"),
        ),
        Case(
            "zero_scale.csv",
            _edited("quality_life", 6, "0"),
            ("zero_scale.csv", "data row 6", repr(qual), "out of range", "'0'"),
        ),
        Case(
            "non_integer_scale.csv",
            _edited("quality_life", 2, "7.5"),
            ("non_integer_scale.csv", "data row 2", repr(qual), "non-integer scale value", "'7.5'"),
        ),
        Case(
            "bad_timestamp.csv",
            _edited("started_at", 5, "01.06.2022 10:00"),
            ("bad_timestamp.csv", "data row 5", repr(start), "unparseable timestamp", "'01.06.2022 10:00'"),
        ),
        Case(
            "impossible_timestamp.csv",
            _edited("submitted_at", 2, "2022-02-30 10:00:00"),
            ("impossible_timestamp.csv", "data row 2", repr(sub), "unparseable timestamp", "'2022-02-30 10:00:00'"),
        ),
        Case(
            "missing_timestamp.csv",
            _edited("submitted_at", 6, ""),
            ("missing_timestamp.csv", "data row 6", repr(sub), "missing timestamp"),
        ),
        Case(
            "submitted_before_started.csv",
            w_swap_times,
            ("submitted_before_started.csv", "data row 4", repr(sub), "submitted before it was started"),
        ),
        Case(
            "duplicate_response_id.csv",
            w_dup_id,
            ("duplicate_response_id.csv", "data row 5", repr(rid), "repeats data row 2"),
        ),
        Case(
            "wrong_field_count.csv",
            w_wrong_fields,
            (
                "wrong_field_count.csv",
                "data row 3",
                f"has {len(cb.export_headers()) + 1} fields",
                f"the header has {len(cb.export_headers())}",
            ),
        ),
        Case("truncated.csv", w_truncated, ("truncated.csv", f"data row {N}", "has 10 fields", "truncated")),
        Case(
            "truncated_in_quote.csv",
            w_truncated_in_quote,
            ("truncated_in_quote.csv", f"data row {N}", "malformed CSV record", "truncated"),
        ),
        Case("not_xlsx.xlsx", w_not_xlsx, ("not_xlsx.xlsx", "not a readable .xlsx")),
        Case(
            "unknown_label.xlsx",
            w_xlsx_unknown_label,
            ("unknown_label.xlsx", "data row 2", repr(col(cb, "municipality")), "unknown answer label", "'Клайпеда'"),
        ),
        Case(
            "scale_text.xlsx",
            w_xlsx_scale_text,
            ("scale_text.xlsx", "data row 5", repr(qual), "non-numeric scale value", "'отлично'"),
        ),
        Case(
            "unknown_label.sav",
            w_sav_unknown_label,
            ("unknown_label.sav", "data row 3", repr(sex), "unknown answer label", "'Мужчина'"),
        ),
        Case("not_sav.sav", w_not_sav, ("not_sav.sav", "not a readable SPSS .sav")),
        Case("export.json", w_txt, ("export.json", "unsupported export format", "'.json'")),
        Case(
            "all_ineligible.csv",
            w_all_ineligible,
            ("all_ineligible.csv", "no submission left after step 'ineligible'", "before2020", "eligible_arrival"),
            stage="clean",
        ),
        Case("semicolon_bom_crlf.csv", w_semicolon_bom_crlf, (), stage="ok"),
        Case("valid.csv", w_valid, (), stage="ok"),
    ]


CASES = _cases()


def write_all(out: Path = OUT) -> list[Path]:
    cb = cbm.load()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for case in CASES:
        path = out / case.name
        case.write(path, cb)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all():
        print(p.relative_to(HERE.parent.parent))
