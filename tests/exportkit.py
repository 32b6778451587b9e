"""A small, deterministic, valid raw export built from the codebook (for the tests).

``build_export(cb, n)`` returns the export as a DataFrame of strings with the codebook's
headers (the "Raw export" contract); ``write_csv`` / ``write_xlsx`` / ``write_sav`` write it in
the three formats ingestion reads. Every respondent is eligible (citizen, arrived 2020–2022),
complete, not a speeder, not a straight-liner and not a duplicate, so tests change exactly the
cells they are about. Free text is drawn from small pools (``TEXTS``) that include contact
details (to test redaction) and words the keyword dictionary codes.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pandas as pd

from belmig.core.codebook import Codebook, Question

START = dt.datetime(2022, 6, 1, 8, 0, 0)

# Relative weights of the options of the background questions (codebook order); other choice
# questions are uniform.
WEIGHTS = {
    "age_group": [15, 40, 30, 10, 5],
    "sex": [55, 43, 2],
    "municipality": [75, 5, 10, 2, 3, 5],
    "legal_status": [45, 35, 8, 8, 4],
    "arrival_year": [0, 30, 40, 30],
}

# Free-text pools per question id (text questions and "Other" text of choice questions).
TEXTS = {
    "security_by_comment": [
        "Боялся ареста после протестов, писать на ivan.petrov@example.com",
        "Страх за будущее детей",
        "Беззаконие и произвол силовиков",
        "Война рядом, баялася вайны",
        "Просто так",
    ],
    "war_impact_comment": [
        "Выросли цены, инфляция",
        "Труднее снять жильё, аренда подорожала",
        "Очереди в миграционном департаменте, звоните +370 612 34567",
        "Занимаюсь волонтёрством",
    ],
    "reasons_exit": ["Уголовное дело, преследование", "Угроза мобилизации", "see https://t.me/somechannel"],
    "reasons_lithuania": [
        "Нет языкового барьера, все понимают по-русски",
        "Компания релоцировала офис в Вильнюс",
        "Близко к Беларуси",
        "Не выбирал, не было другого варианта",
        "My employer relocated here",
        "Не было іншага выйсця",
        "Случайно",
    ],
    "income_source": ["Фриланс на заказчиков из-за рубежа", "Стипендия"],
    "discrimination": ["В банке отказали открыть счёт", "В поликлинике"],
    "support_needs": ["Помощь с документами", "Обмен водительских прав"],
    "health_problems": ["Дорого у частных врачей"],
    "education_problems": ["Нет мест в детском саду"],
}


def _pick(rng: random.Random, q: Question) -> str:
    w = WEIGHTS.get(q.id, [1] * len(q.options))
    return rng.choices(q.options, weights=w, k=1)[0].key


def _multi(rng: random.Random, q: Question) -> list[str]:
    keys = [o.key for o in q.options if not o.exclusive]
    excl = [o.key for o in q.options if o.exclusive]
    if excl and rng.random() < 0.2:
        return [excl[0]]
    k = rng.choice([1, 1, 2, 2, 3])
    return rng.sample(keys, k)


def build_export(cb: Codebook, n: int = 40, seed: int = 1) -> pd.DataFrame:
    """A valid raw export of `n` eligible, complete, distinct submissions (all cells are str)."""
    rng = random.Random(seed)
    sep = cb.multi_separator
    rows = []
    for i in range(n):
        answers: dict[str, object] = {}
        row: dict[str, str] = {}
        for q in cb.questions:
            if q.universe is not None and answers.get(q.universe.question) not in q.universe.values:
                row[q.column] = ""
                if q.other_column:
                    row[q.other_column] = ""
                continue
            other_text = ""
            if q.type == "single":
                key = "yes" if q.id == "citizen_by" else _pick(rng, q)
                answers[q.id] = key
                row[q.column] = q.option(key).label_ru
                if q.other_column and q.option(key).other:
                    other_text = rng.choice(TEXTS.get(q.id, ["другое"]))
            elif q.type == "multi":
                keys = _multi(rng, q)
                answers[q.id] = keys
                row[q.column] = sep.join(q.option(k).label_ru for k in keys)
                if q.other_column and any(q.option(k).other for k in keys):
                    other_text = rng.choice(TEXTS.get(q.id, ["другое"]))
            elif q.type == "scale":
                # security in Belarus low, in Lithuania high: never a straight line
                lo, hi = (1, 5) if q.id == "security_by" else (6, 10)
                row[q.column] = str(rng.randint(lo, hi))
            elif q.type == "text":
                row[q.column] = rng.choice(TEXTS.get(q.id, [""]) + [""])
            if q.other_column:
                row[q.other_column] = other_text
        start = START + dt.timedelta(hours=7 * i, minutes=rng.randint(0, 59))
        dur = dt.timedelta(seconds=600 + rng.randint(0, 600))
        admin = {
            "response_id": f"R_{seed:02d}{i + 1:05d}",
            "started_at": start.strftime("%Y-%m-%d %H:%M:%S"),
            "submitted_at": (start + dur).strftime("%Y-%m-%d %H:%M:%S"),
            "email": f"respondent{i + 1}@example.org" if i % 3 else "",
            "ip_address": f"10.0.{i // 256}.{i % 256}",
            "contact": f"+375 29 {100 + i:03d}-45-67, @tg_user{i + 1}" if i % 4 == 0 else "",
        }
        full = {c.column: admin[c.id] for c in cb.columns}
        full.update(row)
        rows.append(full)
    df = pd.DataFrame(rows, columns=cb.export_headers(), dtype="object")
    return df.fillna("")


def set_answer(df: pd.DataFrame, cb: Codebook, row: int, qid: str, value: str) -> None:
    """Set the cell of question (or admin column) `qid` in 1-based data row `row`."""
    try:
        col = cb[qid].column
    except KeyError:
        col = cb.admin_column(qid).column
    df.loc[df.index[row - 1], col] = value


# --------------------------------------------------------------------------- writers


def write_csv(
    df: pd.DataFrame, path: Path, *, sep: str = ",", bom: bool = False, crlf: bool = False, encoding: str = "utf-8"
) -> Path:
    text = df.to_csv(index=False, sep=sep, lineterminator="\r\n" if crlf else "\n")
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    Path(path).write_bytes(data)
    return Path(path)


def write_xlsx(df: pd.DataFrame, path: Path, cb: Codebook) -> Path:
    """XLSX as a platform writes it: scales as numbers, timestamps as dates, the rest as text."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Responses"
    scale_cols = {q.column for q in cb.questions if q.type == "scale"}
    ts_cols = {c.column for c in cb.columns if c.type == "datetime"}
    ws.append(list(df.columns))
    for rec in df.itertuples(index=False):
        out = []
        for col, v in zip(df.columns, rec):
            if v == "":
                out.append(None)
            elif col in scale_cols:
                out.append(int(v))
            elif col in ts_cols:
                out.append(dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S"))
            else:
                out.append(v)
        ws.append(out)
    fixed = dt.datetime(2022, 10, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.save(path)
    return Path(path)


def write_sav(df: pd.DataFrame, path: Path, cb: Codebook) -> Path:
    """SPSS file: variables v001…, labels = headers, single choices as codes with value labels."""
    import pyreadstat

    singles = {q.column: q for q in cb.questions if q.type == "single"}
    scale_cols = {q.column for q in cb.questions if q.type == "scale"}
    ts_cols = {c.column for c in cb.columns if c.type == "datetime"}
    data, labels, value_labels = {}, {}, {}
    for j, col in enumerate(df.columns, start=1):
        name = f"v{j:03d}"
        labels[name] = col
        s = df[col]
        if col in singles:
            q = singles[col]
            code = {o.label_ru: float(o.code) for o in q.options}
            data[name] = s.map(lambda v: code[v] if v else float("nan")).astype("float64")  # noqa: B023 (used at once)
            value_labels[name] = {float(o.code): o.label_ru for o in q.options}
        elif col in scale_cols:
            data[name] = s.map(lambda v: float(v) if v else float("nan")).astype("float64")
        elif col in ts_cols:
            data[name] = pd.to_datetime(s, format="%Y-%m-%d %H:%M:%S")
        else:
            data[name] = s.astype("object")
    out = pd.DataFrame(data)
    pyreadstat.write_sav(out, str(path), column_labels=labels, variable_value_labels=value_labels)
    return Path(path)
