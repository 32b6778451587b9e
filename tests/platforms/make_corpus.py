#!/usr/bin/env python3
"""Rewrite the synthetic export in the layouts that survey platforms actually write.

    python tests/platforms/make_corpus.py --export data/raw/synthetic_export.csv \\
        --codebook config/codebook.yaml --out DIR

reads the project's generic export (one header row, Russian question texts as headers, single
choice = ``label_ru``, multi = ``label_ru``s joined by ";", "Other" text in a separate
"… — Другое (укажите)" column, ``YYYY-MM-DD HH:MM:SS`` Vilnius local time) and writes the SAME
respondents with the SAME answers as Google Forms, LimeSurvey, Qualtrics, SurveyMonkey and
KoboToolbox export them, plus general SPSS/Stata files, the platforms' own survey definitions
(.qsf, .lss, XLSForm) for the code-only files, broken variants of each, and the manifest
``corpus.yaml``. What each platform writes, and the sources, are in ``README.md`` beside this file.

Deliberately independent of the reader under test: it does not import ``belmig``; it reads the
codebook YAML itself. Deterministic: the same inputs give byte-identical files (ZIP entry times,
XLSX document properties and SPSS/Stata header timestamps are pinned).
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import hashlib
import io
import json
import re
import struct
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

VILNIUS = ZoneInfo("Europe/Vilnius")
UTC = dt.UTC
EXPORTED_AT = dt.datetime(2022, 10, 3, 9, 0, 0)  # the (fixed) day the exports were downloaded
ZIP_TIME = (2022, 10, 3, 9, 0, 0)
SAV_STAMP = b"03 Oct 2209:00:00"  # .sav header: creation date "dd mmm yy" + time "hh:mm:ss"
DTA_STAMP = b"03 Oct 2022 09:00"  # .dta <timestamp>: "dd Mon yyyy hh:mm"
GENERIC_MULTI_SEP = ";"


class CorpusError(ValueError):
    """The generic export or the codebook cannot be rewritten faithfully."""


# =========================================================================== codebook


@dataclass(frozen=True)
class Opt:
    code: int
    key: str
    label: str
    label_en: str
    other: bool = False
    exclusive: bool = False


@dataclass(frozen=True)
class Q:
    id: str
    type: str  # single | multi | scale | text
    column: str
    text: str
    options: tuple[Opt, ...]
    other_column: str | None
    universe: dict | None
    scale: dict | None
    role: str

    @property
    def other_opt(self) -> Opt | None:
        return next((o for o in self.options if o.other), None)

    @property
    def plain_opts(self) -> tuple[Opt, ...]:
        return tuple(o for o in self.options if not o.other)

    def opt(self, key: str) -> Opt:
        for o in self.options:
            if o.key == key:
                return o
        raise KeyError(f"{self.id}: no option {key!r}")

    @property
    def is_yes_no(self) -> bool:
        return self.type == "single" and [o.key for o in self.options] == ["yes", "no"]


@dataclass(frozen=True)
class Admin:
    id: str
    column: str
    role: str
    type: str


@dataclass
class Book:
    title_ru: str
    admin: dict[str, Admin]
    questions: list[Q]
    multi_sep: str

    def q(self, qid: str) -> Q:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def generic_header(self) -> list[str]:
        head = [a.column for a in self.admin.values()]
        for q in self.questions:
            head.append(q.column)
            if q.other_column:
                head.append(q.other_column)
        return head


def load_codebook(path: Path) -> Book:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    admin = {c["id"]: Admin(c["id"], c["column"], c["role"], c["type"]) for c in raw["columns"]}
    for need in ("response_id", "started_at", "submitted_at", "email", "ip_address", "contact"):
        if need not in admin:
            raise CorpusError(f"{path}: columns: no {need!r} column; the corpus needs all six")
    qs = []
    for q in raw["questions"]:
        opts = tuple(
            Opt(
                int(o["code"]),
                str(o["key"]),
                o["label_ru"],
                o.get("label_en", ""),
                bool(o.get("other", False)),
                bool(o.get("exclusive", False)),
            )
            for o in q.get("options", [])
        )
        qs.append(
            Q(
                q["id"],
                q["type"],
                q["column"],
                q.get("text_ru", q["column"]),
                opts,
                q.get("other_column"),
                q.get("universe"),
                q.get("scale"),
                q.get("role", ""),
            )
        )
    sep = raw.get("meta", {}).get("multi_separator", GENERIC_MULTI_SEP)
    return Book(raw.get("meta", {}).get("title_ru", ""), admin, qs, sep)


# =========================================================================== the generic export


@dataclass
class Resp:
    row: int  # 1-based data row of the generic export
    rid: str
    start: dt.datetime | None  # naive, Europe/Vilnius wall clock
    submit: dt.datetime
    email: str
    ip: str
    contact: str
    ans: dict[str, Any] = field(
        default_factory=dict
    )  # single: Opt|None; multi: tuple|None; scale: int|None; text: str|None
    other: dict[str, str] = field(default_factory=dict)  # question id -> "Other" text ("" = none)

    def shown(self, q: Q) -> bool:
        """Whether the platform displayed the question (its universe, or it holds an answer)."""
        if self.ans.get(q.id) is not None or self.other.get(q.id):
            return True
        u = q.universe
        if not u:
            return True
        cond = self.ans.get(u["question"])
        return cond is not None and cond.key in u["in"]


TS = "%Y-%m-%d %H:%M:%S"


def read_export(path: Path, book: Book) -> list[Resp]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise CorpusError(f"{path}: empty file")
    header, data = rows[0], rows[1:]
    want = book.generic_header()
    if header != want:
        missing = [h for h in want if h not in header]
        extra = [h for h in header if h not in want]
        raise CorpusError(
            f"{path}: header is not the codebook's generic layout (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    col = {h: i for i, h in enumerate(header)}
    out = []
    for n, r in enumerate(data, 1):
        if len(r) != len(header):
            raise CorpusError(f"{path}, data row {n}: {len(r)} fields, expected {len(header)}")

        def cell(h: str, r: list[str] = r) -> str:
            return r[col[h]]

        def when(h: str, n: int = n) -> dt.datetime | None:
            s = cell(h)
            if not s:
                return None
            try:
                return dt.datetime.strptime(s, TS)
            except ValueError:
                raise CorpusError(f"{path}, data row {n}, column {h!r}: not {TS}: {s!r}") from None

        a = book.admin
        submit = when(a["submitted_at"].column)
        if submit is None:
            raise CorpusError(f"{path}, data row {n}: no submission time")
        resp = Resp(
            n,
            cell(a["response_id"].column),
            when(a["started_at"].column),
            submit,
            cell(a["email"].column),
            cell(a["ip_address"].column),
            cell(a["contact"].column),
        )
        for q in book.questions:
            s = cell(q.column)
            by_label = {o.label: o for o in q.options}
            if q.type == "single":
                if s and s not in by_label:
                    raise CorpusError(f"{path}, data row {n}, column {q.column!r}: unknown label {s!r}")
                resp.ans[q.id] = by_label[s] if s else None
            elif q.type == "multi":
                if not s:
                    resp.ans[q.id] = None
                else:
                    parts = s.split(book.multi_sep)
                    bad = [p for p in parts if p not in by_label]
                    if bad:
                        raise CorpusError(f"{path}, data row {n}, column {q.column!r}: unknown label {bad[0]!r}")
                    chosen = {p for p in parts}
                    resp.ans[q.id] = tuple(o for o in q.options if o.label in chosen)
            elif q.type == "scale":
                resp.ans[q.id] = int(s) if s else None
            else:
                resp.ans[q.id] = s or None
            if q.other_column:
                text = cell(q.other_column)
                resp.other[q.id] = text
                oth = q.other_opt
                chosen = resp.ans[q.id]
                is_chosen = (
                    oth is not None and chosen is not None and (oth in chosen if q.type == "multi" else chosen == oth)
                )
                if bool(text) != is_chosen:
                    raise CorpusError(
                        f"{path}, data row {n}, column {q.other_column!r}: 'Other' text and 'Other' "
                        f"choice disagree; the platforms cannot represent that"
                    )
        out.append(resp)
    return out


# =========================================================================== helpers


def stable(*parts: Any) -> int:
    """A deterministic 64-bit number from the parts (stands in for a platform's random ids)."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16], 16)


def alnum(n: int, length: int, salt: str) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out, x = [], stable(salt, n)
    for i in range(length):
        if x == 0:
            x = stable(salt, n, i)
        out.append(chars[x % 62])
        x //= 62
    return "".join(out)


def uuid_for(n: int, salt: str) -> str:
    h = hashlib.sha256(f"{salt}:{n}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=VILNIUS)


def in_zone(t: dt.datetime, zone: str) -> dt.datetime:
    """Vilnius wall-clock time -> wall-clock time in ``zone`` (naive)."""
    z = UTC if zone == "UTC" else ZoneInfo(zone)
    return aware(t).astimezone(z).replace(tzinfo=None)


def iso_offset(t: dt.datetime) -> str:
    """ISO 8601 with milliseconds and offset, as ODK/Enketo write ``start``/``end``."""
    a = aware(t)
    off = a.utcoffset()
    assert off is not None
    sign = "+" if off >= dt.timedelta(0) else "-"
    mins = abs(int(off.total_seconds())) // 60
    return a.strftime("%Y-%m-%dT%H:%M:%S") + f".000{sign}{mins // 60:02d}:{mins % 60:02d}"


def jsonc(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def utf8_truncate(s: str, nbytes: int) -> str:
    """Longest prefix of ``s`` that fits in ``nbytes`` UTF-8 bytes (never splits a character)."""
    b = s.encode("utf-8")
    if len(b) <= nbytes:
        return s
    return b[:nbytes].decode("utf-8", errors="ignore")


@dataclass
class Table:
    """Header rows + data rows and how the platform serialises them as CSV.

    Cells are ``None`` (written bare, "NULL"), ``str``, ``int``, ``float`` or ``datetime``
    (XLSX only). ``quote``: ``minimal`` (RFC 4180 as needed), ``nonnull`` (every non-None cell
    quoted, LimeSurvey) or ``all`` (every cell quoted, Kobo).
    """

    header: list[list[Any]]
    rows: list[list[Any]]
    sep: str = ","
    quote: str = "minimal"
    eol: str = "\r\n"
    bom: bool = False
    trailer: str = ""

    def dialect(self) -> dict[str, Any]:
        return {
            "sep": self.sep,
            "bom": self.bom,
            "quoting": self.quote,
            "line_end": "CRLF" if self.eol == "\r\n" else "LF",
            "header_rows": len(self.header),
        }

    def copy(self) -> Table:
        return copy.deepcopy(self)

    def col(self, name: str, header_row: int = 0) -> int:
        return self.header[header_row].index(name)

    def csv_bytes(self) -> bytes:
        def cell(v: Any) -> str:
            if v is None:
                return '""' if self.quote == "all" else ""
            s = str(v)
            needs = self.quote in ("all", "nonnull") or any(c in s for c in (self.sep, '"', "\n", "\r"))
            return '"' + s.replace('"', '""') + '"' if needs else s

        lines = [self.sep.join(cell(v) for v in r) for r in self.header + self.rows]
        text = self.eol.join(lines) + self.eol + self.trailer
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode("utf-8")


def pin_zip(data: bytes, fixes: Callable[[str, bytes], bytes] | None = None) -> bytes:
    """Rewrite a ZIP (XLSX) with fixed entry times, permissions and order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if fixes:
                body = fixes(info.filename, body)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            z.writestr(zi, body)
    return out.getvalue()


def _pin_core(name: str, body: bytes) -> bytes:
    if name == "docProps/core.xml":
        stamp = EXPORTED_AT.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", body)
    return body


def xlsx_bytes(sheets: list[tuple[str, list[list[Any]], dict[int, str]]]) -> bytes:
    """Sheets of (name, rows, {0-based column: number format}); None = no cell written."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows, formats in sheets:
        ws = wb.create_sheet(name[:31])
        for r in rows:
            ws.append(r)
        for line in ws.iter_rows():
            for cell in line:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # a text answer, never a formula
        for j, fmt in formats.items():
            for cells in ws.iter_rows(min_row=2, min_col=j + 1, max_col=j + 1):
                for c in cells:
                    if c.value is not None:
                        c.number_format = fmt
    wb.properties.creator = "corpus"
    wb.properties.created = EXPORTED_AT
    wb.properties.modified = EXPORTED_AT
    buf = io.BytesIO()
    wb.save(buf)
    return pin_zip(buf.getvalue(), _pin_core)


def _sav_records_end(data: bytes) -> int:
    """Offset of the dictionary-termination record (type 999) of an uncompressed-dictionary .sav."""
    i = 176
    while True:
        (rt,) = struct.unpack_from("<i", data, i)
        if rt == 2:
            _, has_label, n_missing = struct.unpack_from("<iii", data, i + 4)
            i += 32
            if has_label:
                (n,) = struct.unpack_from("<i", data, i)
                i += 4 + (n + 3) // 4 * 4
            i += abs(n_missing) * 8
        elif rt == 3:
            (n,) = struct.unpack_from("<i", data, i + 4)
            i += 8
            for _ in range(n):
                i += 8
                i += (data[i] + 1 + 7) // 8 * 8
        elif rt == 4:
            (n,) = struct.unpack_from("<i", data, i + 4)
            i += 8 + 4 * n
        elif rt == 6:
            (n,) = struct.unpack_from("<i", data, i + 4)
            i += 8 + 80 * n
        elif rt == 7:
            _, size, count = struct.unpack_from("<iii", data, i + 4)
            i += 16 + size * count
        elif rt == 999:
            return i
        else:
            raise CorpusError(f"unexpected .sav record type {rt} at byte {i}")


def sav_bytes(
    df,
    *,
    labels: dict[str, str],
    value_labels: dict[str, dict],
    file_label: str,
    mr_sets: list[tuple[str, str, list[str]]] = (),
    formats: dict[str, str] | None = None,
    measure: dict[str, str] | None = None,
) -> bytes:
    """Write an SPSS .sav with pyreadstat, add multiple-dichotomy sets, pin the header time.

    ``mr_sets``: (name without "$", label, variables) multiple-dichotomy sets counting value 1,
    written as the subtype-7 extension record SPSS uses (pyreadstat cannot write them).
    Variable labels are cut to SPSS's 256 bytes, value labels to 120 bytes, at a character
    boundary (ReadStat would cut silently and could split a UTF-8 character).
    """
    import pyreadstat

    labels = {k: utf8_truncate(v, 256) for k, v in labels.items()}
    value_labels = {k: {c: utf8_truncate(t, 120) for c, t in v.items()} for k, v in value_labels.items()}
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.sav"
        pyreadstat.write_sav(
            df,
            str(p),
            file_label=file_label,
            column_labels=labels,
            variable_value_labels=value_labels,
            variable_format=formats or None,
            variable_measure=measure or None,
        )
        data = bytearray(p.read_bytes())
    if data[:4] != b"$FL2":
        raise CorpusError("pyreadstat wrote something that is not an SPSS system file")
    data[92:109] = SAV_STAMP
    if mr_sets:
        body = b""
        for name, label, variables in mr_sets:
            lab = label.encode("utf-8")
            body += (
                b"$"
                + name.encode()
                + b"=D1 1 "
                + str(len(lab)).encode()
                + b" "
                + lab
                + b" "
                + " ".join(v.lower() for v in variables).encode()
                + b"\n"
            )
        rec = struct.pack("<iiii", 7, 7, 1, len(body)) + body
        end = _sav_records_end(bytes(data))
        data[end:end] = rec
    return bytes(data)


def dta_bytes(df, *, labels: dict[str, str], value_labels: dict[str, dict], file_label: str) -> bytes:
    import pyreadstat

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.dta"
        pyreadstat.write_dta(
            df, str(p), file_label=file_label, column_labels=labels, variable_value_labels=value_labels, version=15
        )
        data = bytearray(p.read_bytes())
    i = data.find(b"<timestamp>")
    if i < 0 or data[i + 11] != len(DTA_STAMP):
        raise CorpusError("unexpected Stata header: no 17-byte <timestamp>")
    data[i + 12 : i + 12 + len(DTA_STAMP)] = DTA_STAMP
    return bytes(data)


# =========================================================================== output collection


@dataclass
class Entry:
    file: str
    platform: str
    format: str
    well_formed: bool
    role: str = "export"  # export | definition
    info: dict = field(default_factory=dict)


class Corpus:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.entries: list[Entry] = []

    def add(
        self, name: str, data: bytes, platform: str, *, well_formed: bool = True, role: str = "export", **info: Any
    ) -> None:
        if name in self.files:
            raise CorpusError(f"{name} written twice")
        self.files[name] = data
        fmt = name.rsplit(".", 1)[-1]
        self.entries.append(Entry(name, platform, fmt, well_formed, role, info))


# =========================================================================== Google Forms


def _gf_cells(book: Book, r: Resp, *, numbers: bool) -> list[Any]:
    out: list[Any] = []
    for q in book.questions:
        a = r.ans[q.id]
        if a is None:
            out.append("")
        elif q.type == "single":
            out.append(r.other[q.id] if a.other else a.label)
        elif q.type == "multi":
            parts = [o.label for o in a if not o.other]
            if any(o.other for o in a):
                parts.append(r.other[q.id])  # Google writes the typed text in place of "Other"
            out.append(", ".join(parts))
        elif q.type == "scale":
            out.append(a if numbers else str(a))
        else:
            out.append(a)
    out += [r.email, r.contact]
    return out


def google_header(book: Book, ts: str) -> list[str]:
    return [ts] + [q.column for q in book.questions] + [book.admin["email"].column, book.admin["contact"].column]


def gf_ru(t: dt.datetime) -> str:
    return f"{t:%d.%m.%Y} {t.hour}:{t:%M:%S}"


def gf_en(t: dt.datetime) -> str:
    return f"{t.month}/{t.day}/{t.year} {t.hour}:{t:%M:%S}"


def google_table(book: Book, resps: list[Resp], *, locale: str) -> Table:
    ts_head, fmt = ("Отметка времени", gf_ru) if locale == "ru" else ("Timestamp", gf_en)
    rows = [[fmt(r.submit)] + _gf_cells(book, r, numbers=False) for r in resps]
    return Table([google_header(book, ts_head)], rows)


def google_xlsx_rows(book: Book, resps: list[Resp]) -> list[list[Any]]:
    rows: list[list[Any]] = [google_header(book, "Отметка времени")]
    for r in resps:
        cells = _gf_cells(book, r, numbers=True)
        rows.append([r.submit] + [None if c == "" else c for c in cells])
    return rows


GF_SHEET = "Ответы на форму (1)"
GF_TS_FORMAT = "dd.mm.yyyy h:mm:ss"


GOOGLE_CONSEQUENCES = (
    "no start time: durations are unknown, so the speeder step must be skipped (and said so on the "
    "console, in the cleaning-flow table and in the methods appendix): the submissions the default "
    "build removes as speeders stay in, every other step removes the same rows; no response id: ids "
    "are generated (and the appendix says so); no IP address: nothing changes (identifier only)"
)


def build_google(c: Corpus, book: Book, resps: list[Resp]) -> dict[str, Table]:
    lacks = ["response_id", "started_at", "ip_address"]
    ru = google_table(book, resps, locale="ru")
    c.add(
        "google_forms.csv",
        ru.csv_bytes(),
        "google_forms",
        respondents=len(resps),
        lacks=lacks,
        header_rows=1,
        needs_definition=None,
        csv=ru.dialect(),
        time_zone="Europe/Vilnius (sheet; not stated)",
        consequences=GOOGLE_CONSEQUENCES,
        layout="Google Sheets CSV download, Russian locale: 'Отметка времени' (submission time "
        "only, dd.mm.yyyy H:MM:SS, sheet time zone Europe/Vilnius); question titles as "
        "headers; checkbox answers joined by ', ' in form order; the 'Other' text typed in "
        "place of the Other option (inline, last); no response id, no start time, no IP",
    )
    en = google_table(book, resps, locale="en")
    c.add(
        "google_forms_en.csv",
        en.csv_bytes(),
        "google_forms",
        respondents=len(resps),
        lacks=lacks,
        header_rows=1,
        needs_definition=None,
        csv=en.dialect(),
        time_zone="Europe/Vilnius (sheet; not stated)",
        consequences=GOOGLE_CONSEQUENCES,
        layout="as google_forms.csv from an en-US spreadsheet: 'Timestamp', M/D/YYYY H:MM:SS",
    )
    c.add(
        "google_forms.xlsx",
        xlsx_bytes([(GF_SHEET, google_xlsx_rows(book, resps), {0: GF_TS_FORMAT})]),
        "google_forms",
        respondents=len(resps),
        lacks=lacks,
        header_rows=1,
        needs_definition=None,
        time_zone="Europe/Vilnius (sheet; not stated)",
        consequences=GOOGLE_CONSEQUENCES,
        layout="Google Sheets .xlsx download: sheet 'Ответы на форму (1)', timestamps as real "
        "date cells (Vilnius wall clock, no zone), linear-scale answers as numbers",
    )
    return {"ru": ru}


# =========================================================================== SurveyMonkey


SM_META = [
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
SM_OTHER = "Other (please specify)"
SM_COLLECTOR = "412507391"


def sm_time(t: dt.datetime) -> str:
    return t.strftime("%m/%d/%Y %I:%M:%S %p")


def sm_columns(book: Book) -> list[tuple[Q, str, Opt | None]]:
    """(question, row-2 label, option) per SurveyMonkey column; option None = Response/Other/text."""
    cols: list[tuple[Q, str, Opt | None]] = []
    for q in book.questions:
        if q.type == "multi":
            cols += [(q, o.label, o) for o in q.plain_opts]
            if q.other_opt:
                cols.append((q, SM_OTHER, None))
        elif q.type == "text":
            cols.append((q, "Open-Ended Response", None))
        else:
            cols.append((q, "Response", None))
            if q.other_opt:
                cols.append((q, SM_OTHER, None))
    return cols


def surveymonkey_table(book: Book, resps: list[Resp]) -> Table:
    cols = sm_columns(book)
    row1: list[Any] = list(SM_META)
    row2: list[Any] = [""] * len(SM_META)
    seen: set[str] = set()
    for q, label, _ in cols:
        row1.append("" if q.id in seen else q.column)
        seen.add(q.id)
        row2.append(label)
    contact = book.admin["contact"].column
    row1.append(contact)
    row2.append("Open-Ended Response")
    rows = []
    for r in resps:
        cells: list[Any] = [
            str(100000000000 + 1000 * r.row + stable("sm", r.row) % 997),
            SM_COLLECTOR,
            sm_time(r.start) if r.start else "",
            sm_time(r.submit),
            r.ip,
            r.email,
            "",
            "",
            "",
        ]
        for q, label, opt in cols:
            a = r.ans[q.id]
            if opt is not None:
                cells.append(opt.label if a is not None and opt in a else "")
            elif label == SM_OTHER:
                cells.append(r.other[q.id])
            elif a is None:
                cells.append("")
            elif q.type == "single":
                cells.append("" if a.other else a.label)  # "Other" chosen: Response stays empty
            else:
                cells.append(str(a))
        cells.append(r.contact)
        rows.append(cells)
    return Table([row1, row2], rows, bom=True)


def build_surveymonkey(c: Corpus, book: Book, resps: list[Resp]) -> dict[str, Table]:
    t = surveymonkey_table(book, resps)
    c.add(
        "surveymonkey.csv",
        t.csv_bytes(),
        "surveymonkey",
        respondents=len(resps),
        lacks=[],
        header_rows=2,
        needs_definition=None,
        csv=t.dialect(),
        time_zone="Europe/Vilnius (account setting; not stated)",
        layout="'All individual responses', expanded columns: row 1 = metadata names and each "
        "question's text over its first column; row 2 = 'Response' / 'Open-Ended "
        "Response' / the option text of each multiple-choice column / 'Other (please "
        "specify)'; a ticked option holds its own text; 'Other' text in its own column "
        "with the answer cell left empty; dates MM/DD/YYYY hh:mm:ss AM (account time "
        "zone Europe/Vilnius, not stated in the file)",
    )
    return {"sm": t}


# =========================================================================== Qualtrics


QX_META = [
    ("StartDate", "Start Date", "startDate", True),
    ("EndDate", "End Date", "endDate", True),
    ("Status", "Response Type", "status", False),
    ("IPAddress", "IP Address", "ipAddress", False),
    ("Progress", "Progress", "progress", False),
    ("Duration (in seconds)", "Duration (in seconds)", "duration", False),
    ("Finished", "Finished", "finished", False),
    ("RecordedDate", "Recorded Date", "recordedDate", True),
    ("ResponseId", "Response ID", "_recordId", False),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName", False),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName", False),
    ("RecipientEmail", "Recipient Email", "recipientEmail", False),
    ("ExternalReference", "External Data Reference", "externalDataReference", False),
    ("LocationLatitude", "Location Latitude", "locationLatitude", False),
    ("LocationLongitude", "Location Longitude", "locationLongitude", False),
    ("DistributionChannel", "Distribution Channel", "distributionChannel", False),
    ("UserLanguage", "User Language", "userLanguage", False),
]


@dataclass
class QxChoice:
    cid: str
    display: str
    recode: int
    opt: Opt | None
    text_entry: bool = False
    exclusive: bool = False


@dataclass
class QxQuestion:
    q: Q | None  # None: the contact question
    tag: str
    qid: str
    qtype: str  # MC | TE
    selector: str
    text: str
    choices: list[QxChoice]

    @property
    def has_text_entry(self) -> bool:
        return any(ch.text_entry for ch in self.choices)


def qualtrics_spec(book: Book) -> list[QxQuestion]:
    out = []
    for i, q in enumerate(book.questions):
        n = i + 1
        qid = f"QID{n if n < 7 else n + 1}"  # QID7 was deleted while the survey was drafted
        tag = f"Q{n}"
        if q.type == "text":
            out.append(QxQuestion(q, tag, qid, "TE", "ML", q.column, []))
            continue
        if q.type == "scale":
            lo, hi = q.scale["min"], q.scale["max"]
            ch = [QxChoice(str(k - lo + 1), str(k), k, None) for k in range(lo, hi + 1)]
            out.append(QxQuestion(q, tag, qid, "MC", "SAHR", q.column, ch))
            continue
        ch = []
        for pos, o in enumerate(q.options, 1):
            recode = {"yes": 1, "no": 0}[o.key] if q.is_yes_no else o.code
            ch.append(QxChoice(str(pos), o.label, recode, o, text_entry=o.other, exclusive=o.exclusive))
        out.append(QxQuestion(q, tag, qid, "MC", "MAVR" if q.type == "multi" else "SAVR", q.column, ch))
    n = len(book.questions) + 1
    out.append(QxQuestion(None, f"Q{n}", f"QID{n + 1}", "TE", "SL", book.admin["contact"].column, []))
    return out


@dataclass
class QxColumn:
    name: str
    label: str
    import_id: dict
    kind: str  # meta | single | choice | text_entry | text | contact
    qx: QxQuestion | None = None
    choice: QxChoice | None = None


def qualtrics_columns(spec: list[QxQuestion], tz: str) -> list[QxColumn]:
    cols = [
        QxColumn(name, label, {"ImportId": imp, **({"timeZone": tz} if has_tz else {})}, "meta")
        for name, label, imp, has_tz in QX_META
    ]
    for qx in spec:
        if qx.qtype == "TE":
            cols.append(
                QxColumn(qx.tag, qx.text, {"ImportId": f"{qx.qid}_TEXT"}, "contact" if qx.q is None else "text", qx)
            )
            continue
        if qx.selector == "MAVR":
            for ch in qx.choices:
                label = (
                    f"{qx.text} - Selected Choice - {ch.display}" if qx.has_text_entry else f"{qx.text} - {ch.display}"
                )
                cols.append(
                    QxColumn(f"{qx.tag}_{ch.cid}", label, {"ImportId": qx.qid, "choiceId": ch.cid}, "choice", qx, ch)
                )
        else:
            label = f"{qx.text} - Selected Choice" if qx.has_text_entry else qx.text
            cols.append(QxColumn(qx.tag, label, {"ImportId": qx.qid}, "single", qx))
        for ch in qx.choices:
            if ch.text_entry:
                cols.append(
                    QxColumn(
                        f"{qx.tag}_{ch.cid}_TEXT",
                        f"{qx.text} - {ch.display} - Text",
                        {"ImportId": f"{qx.qid}_{ch.cid}_TEXT"},
                        "text_entry",
                        qx,
                        ch,
                    )
                )
    return cols


def qualtrics_table(book: Book, resps: list[Resp], *, values: bool, tz: str) -> Table:
    spec = qualtrics_spec(book)
    cols = qualtrics_columns(spec, tz)
    header = [[c.name for c in cols], [c.label for c in cols], [jsonc(c.import_id) for c in cols]]
    rows = []
    for r in resps:
        start = r.start or r.submit
        lat = 54.6872 + (stable("lat", r.row) % 2000 - 1000) / 20000
        lon = 25.2797 + (stable("lon", r.row) % 2000 - 1000) / 20000
        meta = {
            "StartDate": in_zone(start, tz).strftime(TS),
            "EndDate": in_zone(r.submit, tz).strftime(TS),
            "Status": "0" if values else "IP Address",
            "IPAddress": r.ip,
            "Progress": "100",
            "Duration (in seconds)": str(int((r.submit - start).total_seconds())),
            "Finished": "1" if values else "True",
            "RecordedDate": in_zone(r.submit, tz).strftime(TS),
            "ResponseId": "R_" + alnum(r.row, 15, "qualtrics"),
            "RecipientLastName": "",
            "RecipientFirstName": "",
            "RecipientEmail": r.email,
            "ExternalReference": "",
            "LocationLatitude": f"{lat:.4f}",
            "LocationLongitude": f"{lon:.4f}",
            "DistributionChannel": "email" if r.email else "anonymous",
            "UserLanguage": "RU",
        }
        cells: list[Any] = []
        for col in cols:
            if col.kind == "meta":
                cells.append(meta[col.name])
                continue
            if col.kind == "contact":
                cells.append(r.contact)
                continue
            q = col.qx.q
            a = r.ans[q.id]
            if col.kind == "text":
                cells.append(a or "")
            elif col.kind == "text_entry":
                cells.append(r.other[q.id])
            elif col.kind == "choice":
                ticked = a is not None and col.choice.opt in a
                cells.append(("1" if values else col.choice.display) if ticked else "")
            elif a is None:
                cells.append("")
            elif q.type == "scale":
                ch = next(ch for ch in col.qx.choices if ch.recode == a)
                cells.append(str(ch.recode) if values else ch.display)
            else:
                ch = next(ch for ch in col.qx.choices if ch.opt == a)
                cells.append(str(ch.recode) if values else ch.display)
        rows.append(cells)
    return Table(header, rows, eol="\n")


def _qsf_display_logic(book: Book, spec: list[QxQuestion], q: Q) -> dict | None:
    u = q.universe
    if not u:
        return None
    src = next(qx for qx in spec if qx.q is not None and qx.q.id == u["question"])
    conds: dict[str, Any] = {}
    for k, key in enumerate(u["in"]):
        ch = next(ch for ch in src.choices if ch.opt is not None and ch.opt.key == key)
        loc = f"q://{src.qid}/SelectableChoice/{ch.cid}"
        cond = {
            "LogicType": "Question",
            "QuestionID": src.qid,
            "QuestionIsInLoop": "no",
            "ChoiceLocator": loc,
            "Operator": "Selected",
            "QuestionIDFromLocator": src.qid,
            "LeftOperand": loc,
            "Type": "Expression",
            "Description": f"If {src.tag} {ch.display} Is Selected",
        }
        if k:
            cond["Conjuction"] = "Or"
        conds[str(k)] = cond
    conds["Type"] = "If"
    return {"0": conds, "Type": "BooleanExpression", "inPage": False}


def qualtrics_qsf(book: Book) -> bytes:
    spec = qualtrics_spec(book)
    sid = "SV_" + alnum(0, 15, "qsf-survey")
    elements: list[dict] = []
    block_id = "BL_" + alnum(1, 15, "qsf-block")
    trash_id = "BL_" + alnum(2, 15, "qsf-block")
    elements.append(
        {
            "SurveyID": sid,
            "Element": "BL",
            "PrimaryAttribute": "Survey Blocks",
            "SecondaryAttribute": None,
            "TertiaryAttribute": None,
            "Payload": [
                {
                    "Type": "Default",
                    "Description": "Default Question Block",
                    "ID": block_id,
                    "BlockElements": [{"Type": "Question", "QuestionID": qx.qid} for qx in spec],
                },
                {
                    "Type": "Trash",
                    "Description": "Trash / Unused Questions",
                    "ID": trash_id,
                    "BlockElements": [{"Type": "Question", "QuestionID": "QID7"}],
                },
            ],
        }
    )
    elements.append(
        {
            "SurveyID": sid,
            "Element": "FL",
            "PrimaryAttribute": "Survey Flow",
            "SecondaryAttribute": None,
            "TertiaryAttribute": None,
            "Payload": {
                "Type": "Root",
                "FlowID": "FL_1",
                "Flow": [{"ID": block_id, "Type": "Block", "FlowID": "FL_2"}],
                "Properties": {"Count": 2},
            },
        }
    )
    elements.append(
        {
            "SurveyID": sid,
            "Element": "SO",
            "PrimaryAttribute": "Survey Options",
            "SecondaryAttribute": None,
            "TertiaryAttribute": None,
            "Payload": {
                "BackButton": "true",
                "SaveAndContinue": "true",
                "SurveyProtection": "PublicSurvey",
                "SurveyExpiration": "None",
                "SurveyTermination": "DefaultMessage",
                "Header": "",
                "Footer": "",
                "ProgressBarDisplay": "None",
                "PartialData": "+1 week",
                "PreviousButton": " ← ",
                "NextButton": " → ",
                "SurveyLanguage": "RU",
                "AnonymizeResponse": "No",
            },
        }
    )
    elements.append(
        {
            "SurveyID": sid,
            "Element": "QC",
            "PrimaryAttribute": "Survey Question Count",
            "SecondaryAttribute": str(len(spec) + 1),
            "TertiaryAttribute": None,
            "Payload": None,
        }
    )
    trashed = {
        "QuestionText": "Тестовый вопрос",
        "DataExportTag": "Q7_test",
        "QuestionType": "TE",
        "Selector": "SL",
        "Configuration": {"QuestionDescriptionOption": "UseText"},
        "QuestionDescription": "Тестовый вопрос",
        "Validation": {"Settings": {"ForceResponse": "OFF", "ForceResponseType": "ON", "Type": "None"}},
        "Language": [],
        "QuestionID": "QID7",
    }
    payloads = []
    for qx in spec:
        p: dict[str, Any] = {
            "QuestionText": qx.text,
            "DataExportTag": qx.tag,
            "QuestionType": qx.qtype,
            "Selector": qx.selector,
            "Configuration": {"QuestionDescriptionOption": "UseText"},
            "QuestionDescription": qx.text,
        }
        if qx.qtype == "MC":
            p["SubSelector"] = "TX"
            choices = {}
            for ch in qx.choices:
                c: dict[str, Any] = {"Display": ch.display}
                if ch.text_entry:
                    c["TextEntry"] = "true"
                if ch.exclusive:
                    c["ExclusiveAnswer"] = True
                choices[ch.cid] = c
            p["Choices"] = choices
            p["ChoiceOrder"] = [int(ch.cid) for ch in qx.choices]
            if any(str(ch.recode) != ch.cid for ch in qx.choices):
                p["RecodeValues"] = {ch.cid: str(ch.recode) for ch in qx.choices}
            p["NextChoiceId"] = len(qx.choices) + 1
        p["Validation"] = {"Settings": {"ForceResponse": "OFF", "ForceResponseType": "ON", "Type": "None"}}
        p["Language"] = []
        p["NextAnswerId"] = 1
        p["QuestionID"] = qx.qid
        p["DataVisibility"] = {"Private": False, "Hidden": False}
        if qx.q is not None:
            logic = _qsf_display_logic(book, spec, qx.q)
            if logic:
                p["DisplayLogic"] = logic
        payloads.append(p)
    payloads.insert(6, trashed)
    for p in payloads:
        elements.append(
            {
                "SurveyID": sid,
                "Element": "SQ",
                "PrimaryAttribute": p["QuestionID"],
                "SecondaryAttribute": p["QuestionText"][:100],
                "TertiaryAttribute": None,
                "Payload": p,
            }
        )
    doc = {
        "SurveyEntry": {
            "SurveyID": sid,
            "SurveyName": book.title_ru,
            "SurveyDescription": None,
            "SurveyOwnerID": "UR_" + alnum(3, 15, "qsf-owner"),
            "SurveyBrandID": "eesc",
            "DivisionID": None,
            "SurveyLanguage": "RU",
            "SurveyActiveResponseSet": "RS_" + alnum(4, 15, "qsf-rs"),
            "SurveyStatus": "Inactive",
            "SurveyStartDate": "2022-06-01 00:00:00",
            "SurveyExpirationDate": "0000-00-00 00:00:00",
            "SurveyCreationDate": "2022-05-16 10:12:41",
            "CreatorID": "UR_" + alnum(3, 15, "qsf-owner"),
            "LastModified": "2022-09-30 17:03:12",
            "LastAccessed": "0000-00-00 00:00:00",
            "LastActivated": "2022-05-31 21:55:02",
            "Deleted": None,
        },
        "SurveyElements": elements,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


QX_TZ_TEXT = "Europe/Vilnius"
QX_TZ_VALUES = "UTC"


def build_qualtrics(c: Corpus, book: Book, resps: list[Resp]) -> dict[str, Table]:
    text = qualtrics_table(book, resps, values=False, tz=QX_TZ_TEXT)
    vals = qualtrics_table(book, resps, values=True, tz=QX_TZ_VALUES)
    common = (
        "Data & Analysis → Export → CSV, 'Split multi-value fields into columns' (default): "
        "three header rows (names Q1…Q30 and metadata; labels 'question - choice', "
        "'- Selected Choice', '- … - Text'; ImportId JSON with the date columns' timeZone); "
        "multiple choice as one column per choice Q<n>_<choice id>; 'Other' text in "
        "Q<n>_<choice>_TEXT; e-mail in RecipientEmail; LocationLatitude/Longitude present"
    )
    c.add(
        "qualtrics_text.csv",
        text.csv_bytes(),
        "qualtrics",
        respondents=len(resps),
        lacks=[],
        header_rows=3,
        needs_definition=None,
        time_zone=QX_TZ_TEXT + " (stated in the ImportId row)",
        csv=text.dialect(),
        layout=common + "; 'Use choice text': answers as choice text, Status 'IP Address', "
        "Finished 'True'; dates in Europe/Vilnius",
    )
    c.add(
        "qualtrics_values.csv",
        vals.csv_bytes(),
        "qualtrics",
        respondents=len(resps),
        lacks=[],
        header_rows=3,
        needs_definition="qualtrics.qsf",
        time_zone=QX_TZ_VALUES + " (stated in the ImportId row)",
        csv=vals.dialect(),
        layout=common + "; 'Use numeric values': recode values (yes/no questions recoded "
        "1 = Да, 0 = Нет), ticked choice = 1, Status 0, Finished 1; dates in UTC",
    )
    c.add(
        "qualtrics.qsf",
        qualtrics_qsf(book),
        "qualtrics",
        role="definition",
        defines="qualtrics_values.csv",
        layout="Qualtrics survey file (JSON): SurveyEntry + SurveyElements (BL blocks incl. "
        "trash, FL flow, SO options, QC count, SQ questions with DataExportTag, Choices, "
        "ChoiceOrder, RecodeValues, TextEntry, ExclusiveAnswer, DisplayLogic)",
    )
    return {"text": text, "values": vals}


# =========================================================================== LimeSurvey


@dataclass
class LsQuestion:
    q: Q | None  # None: e-mail / contact question
    admin_id: str | None
    title: str
    ltype: str  # L | M | T | S
    qid: int
    gid: int
    text: str
    answers: list[tuple[str, str, Opt | None]]  # (code, answer text, option) for L
    subs: list[tuple[str, str, Opt]]  # (code, text, option) for M
    other: bool
    order: int


LS_SID = 482915
LS_ADMIN_HEADINGS = [
    ("id", "Response ID"),
    ("submitdate", "Date submitted"),
    ("lastpage", "Last page"),
    ("startlanguage", "Start language"),
    ("seed", "Seed"),
    ("startdate", "Date started"),
    ("datestamp", "Date last action"),
    ("ipaddr", "IP address"),
]
LS_OTHER_RU = "Другое"  # gT("Other") in the survey language


def ls_groups(book: Book) -> list[tuple[str, list[Q]]]:
    names = {"screening": "Отбор", "background": "О вас", "substantive": "Ваша ситуация"}
    groups: list[tuple[str, list[Q]]] = []
    for q in book.questions:
        if groups and groups[-1][0] == q.role:
            groups[-1][1].append(q)
        else:
            groups.append((q.role, [q]))
    return [(f"{names.get(role, role)}", qs) for role, qs in groups]


def limesurvey_spec(book: Book) -> tuple[list[tuple[int, str]], list[LsQuestion]]:
    groups = []
    spec: list[LsQuestion] = []
    qid = 100
    n = 0
    for gi, (gname, qs) in enumerate(ls_groups(book)):
        gid = 10 + gi
        groups.append((gid, gname))
        for order, q in enumerate(qs):
            n += 1
            qid += 1
            title = f"Q{n:02d}"
            if q.type == "single":
                answers = [(f"A{k}", o.label, o) for k, o in enumerate(q.plain_opts, 1)]
                spec.append(
                    LsQuestion(q, None, title, "L", qid, gid, q.column, answers, [], q.other_opt is not None, order)
                )
            elif q.type == "scale":
                answers = [(str(k), str(k), None) for k in range(q.scale["min"], q.scale["max"] + 1)]
                spec.append(LsQuestion(q, None, title, "L", qid, gid, q.column, answers, [], False, order))
            elif q.type == "multi":
                subs = [(f"SQ{k:03d}", o.label, o) for k, o in enumerate(q.plain_opts, 1)]
                spec.append(
                    LsQuestion(q, None, title, "M", qid, gid, q.column, [], subs, q.other_opt is not None, order)
                )
            else:
                spec.append(LsQuestion(q, None, title, "T", qid, gid, q.column, [], [], False, order))
    gid = 10 + len(groups)
    groups.append((gid, "Контакты"))
    spec.append(LsQuestion(None, "email", "EMAIL", "S", qid + 1, gid, book.admin["email"].column, [], [], False, 0))
    spec.append(
        LsQuestion(None, "contact", "CONTACT", "T", qid + 2, gid, book.admin["contact"].column, [], [], False, 1)
    )
    return groups, spec


@dataclass
class LsField:
    code: str  # Q03[SQ001]
    spss: str  # Q03_SQ001
    heading: str  # full question text heading
    var_label: str  # SPSS variable label
    lq: LsQuestion
    part: str  # main | sub | other
    sub: tuple[str, str, Opt] | None = None


def limesurvey_fields(spec: list[LsQuestion]) -> list[LsField]:
    out = []
    for lq in spec:
        if lq.ltype == "M":
            for sub in lq.subs:
                out.append(
                    LsField(
                        f"{lq.title}[{sub[0]}]",
                        f"{lq.title}_{sub[0]}",
                        f"{lq.text} [{sub[1]}]",
                        f"[{sub[1]}] {lq.text}",
                        lq,
                        "sub",
                        sub,
                    )
                )
        else:
            out.append(LsField(lq.title, lq.title, lq.text, lq.text, lq, "main"))
        if lq.other:
            out.append(
                LsField(
                    f"{lq.title}[other]",
                    f"{lq.title}_other",
                    f"{lq.text} [{LS_OTHER_RU}]",
                    f"[{LS_OTHER_RU}] {lq.text}",
                    lq,
                    "other",
                )
            )
    return out


def _ls_raw(r: Resp, f: LsField) -> str | None:
    """The value LimeSurvey stores: None = NULL (question not displayed), '' = displayed, no answer."""
    lq = f.lq
    if lq.q is None:
        v = r.email if lq.admin_id == "email" else r.contact
        return v
    q = lq.q
    if not r.shown(q):
        return None
    a = r.ans[q.id]
    if f.part == "other":
        return r.other[q.id]
    if f.part == "sub":
        return "Y" if a is not None and f.sub[2] in a else ""
    if a is None:
        return ""
    if q.type == "scale":
        return str(a)
    if q.type == "text":
        return a
    if a.other:
        return "-oth-"
    return next(code for code, _, o in lq.answers if o == a)


def _ls_full(f: LsField, raw: str | None) -> str | None:
    """SurveyObj::getFullAnswer for the field, Russian export language."""
    lq = f.lq
    if f.part == "sub":
        if raw == "Y":
            return "Да"
        if raw == "":
            return "Нет"
        return "N/A"
    if f.part == "other" or lq.ltype in ("T", "S"):
        return "" if raw is None and lq.ltype in ("T", "S") else raw
    if raw == "-oth-":
        return LS_OTHER_RU
    if not raw:
        return None
    return next(text for code, text, _ in lq.answers if code == raw)


def ls_pages(book: Book) -> int:
    """Pages of the group-by-group survey: one per question group plus the contact group."""
    return len(ls_groups(book)) + 1


def _ls_admin(r: Resp, pages: int) -> dict[str, str]:
    start = r.start or r.submit
    return {
        "id": str(r.row),
        "submitdate": r.submit.strftime(TS),
        "lastpage": str(pages),
        "startlanguage": "ru",
        "seed": str(stable("seed", r.row) % 2000000000),
        "startdate": start.strftime(TS),
        "datestamp": r.submit.strftime(TS),
        "ipaddr": r.ip,
    }


def limesurvey_tables(book: Book, resps: list[Resp]) -> tuple[Table, Table]:
    _, spec = limesurvey_spec(book)
    fields = limesurvey_fields(spec)
    codes_head = [a for a, _ in LS_ADMIN_HEADINGS] + [f.code for f in fields]
    text_head = [h for _, h in LS_ADMIN_HEADINGS] + [f.heading for f in fields]
    codes_rows, text_rows = [], []
    for r in resps:
        adm = _ls_admin(r, ls_pages(book))
        raws = [_ls_raw(r, f) for f in fields]
        codes_rows.append([adm[a] for a, _ in LS_ADMIN_HEADINGS] + raws)
        text_rows.append([adm[a] for a, _ in LS_ADMIN_HEADINGS] + [_ls_full(f, v) for f, v in zip(fields, raws)])
    codes = Table([codes_head], codes_rows, sep=",", quote="nonnull", bom=True, trailer="\r\n")
    text = Table([text_head], text_rows, sep=";", quote="nonnull", bom=True, trailer="\r\n")
    return codes, text


def limesurvey_sav(book: Book, resps: list[Resp]) -> bytes:
    import pandas as pd

    _, spec = limesurvey_spec(book)
    fields = limesurvey_fields(spec)
    cols: dict[str, list] = {}
    labels: dict[str, str] = {}
    vlabels: dict[str, dict] = {}
    formats: dict[str, str] = {}
    for a, _ in LS_ADMIN_HEADINGS:
        labels[a] = a
    cols["id"] = [float(r.row) for r in resps]
    formats["id"] = "F7.0"
    for a in ("submitdate", "startdate", "datestamp"):
        src = {
            "submitdate": lambda r: r.submit,
            "startdate": lambda r: r.start or r.submit,
            "datestamp": lambda r: r.submit,
        }[a]
        cols[a] = [src(r) for r in resps]
    cols["lastpage"] = [float(ls_pages(book)) for _ in resps]
    formats["lastpage"] = "F7.0"
    cols["startlanguage"] = ["ru" for _ in resps]
    cols["seed"] = [str(stable("seed", r.row) % 2000000000) for r in resps]
    cols["ipaddr"] = [r.ip for r in resps]
    order = ["id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp", "ipaddr"]
    for f in fields:
        raws = [_ls_raw(r, f) for r in resps]
        name = f.spss
        order.append(name)
        labels[name] = f.var_label
        lq = f.lq
        if f.part == "sub":
            cols[name] = [1.0 if v == "Y" else (0.0 if v == "" else None) for v in raws]
            vlabels[name] = {1: "Yes", 0: "Not Selected"}
            formats[name] = "F1.0"
        elif f.part == "main" and lq.ltype == "L" and lq.q.type == "scale":
            cols[name] = [float(v) if v else None for v in raws]
            vlabels[name] = {int(code): text for code, text, _ in lq.answers}
            formats[name] = "F2.0"
        elif f.part == "main" and lq.ltype == "L":
            cols[name] = [v or "" for v in raws]
            vlabels[name] = {code: text for code, text, _ in lq.answers}  # "-oth-" stays unlabelled
        else:
            cols[name] = [(v or "").replace("\r\n", "\n") for v in raws]
    df = pd.DataFrame({k: cols[k] for k in order})
    for a in ("submitdate", "startdate", "datestamp"):
        df[a] = pd.to_datetime(df[a])
    return sav_bytes(df, labels=labels, value_labels=vlabels, formats=formats, file_label=f"survey_{LS_SID}")


def _xml_table(name: str, fields: list[str], rows: list[dict]) -> str:
    out = [f" <{name}>", "  <fields>"]
    out += [f"   <fieldname>{f}</fieldname>" for f in fields]
    out += ["  </fields>", "  <rows>"]
    for r in rows:
        out.append("   <row>")
        for f in fields:
            v = r.get(f)
            if v is None:
                continue
            out.append(f"    <{f}><![CDATA[{str(v).replace(']]>', ']] >')}]]></{f}>")
        out.append("   </row>")
    out += ["  </rows>", f" </{name}>"]
    return "\n".join(out)


def _ls_relevance(q: Q, spec: list[LsQuestion]) -> str:
    u = q.universe
    if not u:
        return "1"
    src = next(lq for lq in spec if lq.q is not None and lq.q.id == u["question"])
    codes = [code for code, _, o in src.answers if o is not None and o.key in u["in"]]
    return "((" + " or ".join(f'{src.title}.NAOK == "{c}"' for c in codes) + "))"


def limesurvey_lss(book: Book) -> bytes:
    groups, spec = limesurvey_spec(book)
    qfields = [
        "qid",
        "parent_qid",
        "sid",
        "gid",
        "type",
        "title",
        "preg",
        "other",
        "mandatory",
        "encrypted",
        "question_order",
        "scale_id",
        "same_default",
        "relevance",
        "question_theme_name",
        "modulename",
        "same_script",
    ]
    themes = {"L": "listradio", "M": "multiplechoice", "T": "longfreetext", "S": "shortfreetext"}
    questions, subquestions, ql10n, answers, al10n, attrs = [], [], [], [], [], []
    aid = 1000
    sq_qid = 500
    l10n_id = 1
    for lq in spec:
        rel = _ls_relevance(lq.q, spec) if lq.q is not None else "1"
        questions.append(
            {
                "qid": lq.qid,
                "parent_qid": 0,
                "sid": LS_SID,
                "gid": lq.gid,
                "type": lq.ltype,
                "title": lq.title,
                "preg": "",
                "other": "Y" if lq.other else "N",
                "mandatory": "N",
                "encrypted": "N",
                "question_order": lq.order,
                "scale_id": 0,
                "same_default": 0,
                "relevance": rel,
                "question_theme_name": themes[lq.ltype],
                "modulename": "",
                "same_script": 0,
            }
        )
        ql10n.append(
            {
                "id": l10n_id,
                "qid": lq.qid,
                "question": lq.text,
                "help": ("Можно выбрать несколько вариантов" if lq.ltype == "M" else ""),
                "script": "",
                "language": "ru",
            }
        )
        l10n_id += 1
        for k, (code, text, _) in enumerate(lq.answers):
            aid += 1
            answers.append(
                {"aid": aid, "qid": lq.qid, "code": code, "sortorder": k, "assessment_value": 0, "scale_id": 0}
            )
            al10n.append({"id": aid, "aid": aid, "answer": text, "language": "ru"})
        for k, (code, text, _opt) in enumerate(lq.subs):
            sq_qid += 1
            subquestions.append(
                {
                    "qid": sq_qid,
                    "parent_qid": lq.qid,
                    "sid": LS_SID,
                    "gid": lq.gid,
                    "type": "T",
                    "title": code,
                    "preg": "",
                    "other": "N",
                    "mandatory": "",
                    "encrypted": "N",
                    "question_order": k + 1,
                    "scale_id": 0,
                    "same_default": 0,
                    "relevance": "1",
                    "question_theme_name": "",
                    "modulename": "",
                    "same_script": 0,
                }
            )
            ql10n.append({"id": l10n_id, "qid": sq_qid, "question": text, "help": "", "script": "", "language": "ru"})
            l10n_id += 1
        if lq.q is not None and lq.other:
            oth = lq.q.other_opt
            if oth.label != LS_OTHER_RU:
                attrs.append({"qid": lq.qid, "attribute": "other_replace_text", "value": oth.label, "language": "ru"})
        if lq.q is not None:
            excl = [code for code, _, o in lq.subs if o.exclusive]
            if excl:
                attrs.append(
                    {"qid": lq.qid, "attribute": "exclude_all_others", "value": ";".join(excl), "language": ""}
                )
    gl = [
        {"gid": gid, "sid": LS_SID, "group_order": k, "randomization_group": "", "grelevance": "1"}
        for k, (gid, _) in enumerate(groups)
    ]
    gl10n = [
        {"id": k + 1, "gid": gid, "group_name": name, "description": "", "language": "ru"}
        for k, (gid, name) in enumerate(groups)
    ]
    survey = {
        "sid": LS_SID,
        "gsid": 1,
        "admin": "Administrator",
        "adminemail": "admin@example.org",
        "anonymized": "Y",
        "format": "G",
        "language": "ru",
        "additional_languages": "",
        "datestamp": "Y",
        "ipaddr": "Y",
        "refurl": "N",
        "savetimings": "N",
        "allowprev": "Y",
        "usecookie": "N",
        "allowsave": "N",
        "showxquestions": "Y",
        "showgroupinfo": "B",
        "shownoanswer": "N",
        "showqnumcode": "X",
        "showwelcome": "Y",
        "showprogress": "Y",
        "questionindex": 0,
        "tokenlength": 15,
        "alloweditaftercompletion": "N",
    }
    langs = {
        "surveyls_survey_id": LS_SID,
        "surveyls_language": "ru",
        "surveyls_title": book.title_ru,
        "surveyls_description": "",
        "surveyls_welcometext": "",
        "surveyls_endtext": "",
        "surveyls_dateformat": 1,
        "surveyls_numberformat": 1,
    }
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<document>",
        " <LimeSurveyDocType>Survey</LimeSurveyDocType>",
        " <DBVersion>495</DBVersion>",
        " <languages>",
        "  <language>ru</language>",
        " </languages>",
        _xml_table("answers", ["aid", "qid", "code", "sortorder", "assessment_value", "scale_id"], answers),
        _xml_table("answer_l10ns", ["id", "aid", "answer", "language"], al10n),
        _xml_table("groups", ["gid", "sid", "group_order", "randomization_group", "grelevance"], gl),
        _xml_table("group_l10ns", ["id", "gid", "group_name", "description", "language"], gl10n),
        _xml_table("questions", qfields, questions),
        _xml_table("subquestions", qfields, subquestions),
        _xml_table("question_l10ns", ["id", "qid", "question", "help", "script", "language"], ql10n),
        _xml_table("question_attributes", ["qid", "attribute", "value", "language"], attrs),
        _xml_table("surveys", list(survey), [survey]),
        _xml_table("surveys_languagesettings", list(langs), [langs]),
        "</document>",
        "",
    ]
    return "\n".join(parts).encode("utf-8")


def build_limesurvey(c: Corpus, book: Book, resps: list[Resp]) -> dict[str, Table]:
    codes, text = limesurvey_tables(book, resps)
    common = (
        "admin columns id, submitdate, lastpage, startlanguage, seed, startdate, datestamp, "
        "ipaddr (server time, Europe/Vilnius, YYYY-MM-DD HH:MM:SS); UTF-8 with BOM, every "
        "non-NULL field quoted, NULL (question not displayed) bare, CRLF, one empty line at the end"
    )
    c.add(
        "limesurvey_codes.csv",
        codes.csv_bytes(),
        "limesurvey",
        respondents=len(resps),
        lacks=[],
        header_rows=1,
        needs_definition="limesurvey.lss",
        csv=codes.dialect(),
        time_zone="Europe/Vilnius (server; not stated)",
        layout="Export responses → CSV, headings 'Question code', responses 'Answer codes': Q01…Q29, "
        "Q03[SQ001] per multiple-choice option ('Y' ticked, '' not), Q03[other] / Q16[other] "
        "holding the 'Other' text, list answers A1…An, '-oth-' for Other, EMAIL/CONTACT "
        "questions; comma separated; " + common,
    )
    c.add(
        "limesurvey_text.csv",
        text.csv_bytes(),
        "limesurvey",
        respondents=len(resps),
        lacks=[],
        header_rows=1,
        needs_definition=None,
        csv=text.dialect(),
        time_zone="Europe/Vilnius (server; not stated)",
        layout="Export responses → CSV, headings 'Full question text', responses 'Full answers': "
        "admin headings in English ('Response ID', 'Date submitted', …); multiple choice as "
        "'question [option]' columns holding 'Да'/'Нет' ('N/A' when not displayed); 'Other' "
        "chosen in a list written as 'Другое' (LimeSurvey's own word, not the question's "
        "other_replace_text); semicolon separated; " + common,
    )
    c.add(
        "limesurvey.sav",
        limesurvey_sav(book, resps),
        "limesurvey",
        respondents=len(resps),
        lacks=[],
        needs_definition=None,
        time_zone="Europe/Vilnius (server; not stated)",
        layout="what SPSS saves after running LimeSurvey's 'SPSS' export syntax (.sps + .dat): "
        "variables Q01, Q03_SQ001, Q03_other …; variable labels '[option] question'; list "
        "answers as strings A1… with value labels (the '-oth-' code unlabelled); multiple "
        "choice 1 'Yes' / 0 'Not Selected' / system-missing when not displayed; dates as "
        "SPSS DATETIME; labels cut to SPSS's 256/120-byte limits",
    )
    c.add(
        "limesurvey.lss",
        limesurvey_lss(book),
        "limesurvey",
        role="definition",
        defines="limesurvey_codes.csv",
        layout="LimeSurvey survey structure (XML, LimeSurvey 5 format): answers + answer_l10ns, "
        "groups + group_l10ns, questions, subquestions, question_l10ns (texts in ru), "
        "question_attributes (other_replace_text, exclude_all_others), relevance equations",
    )
    return {"codes": codes, "text": text}


# =========================================================================== KoboToolbox


KOBO_NAMES = {
    "citizen_by": "citizen",
    "arrival_year": "arrival",
    "reasons_exit": "why_left",
    "security_by": "safety_by",
    "security_by_comment": "safety_by_why",
    "reasons_lithuania": "why_lt",
    "legal_status": "status_lt",
    "sex": "gender",
    "age_group": "age",
    "municipality": "municip",
    "income_regular": "income",
    "income_source": "income_src",
    "support_programs": "support_prog",
    "security_lt": "safety_lt",
    "quality_life": "life_quality",
    "discrimination": "discrim",
    "war_impact": "war",
    "war_impact_comment": "war_how",
    "support_needs": "needs",
    "support_sought": "sought",
    "health_used": "health",
    "health_rating": "health_rate",
    "health_problems": "health_prob",
    "education_used": "edu",
    "education_rating": "edu_rate",
    "education_problems": "edu_prob",
    "diaspora_known": "diaspora",
    "diaspora_involved": "diaspora_part",
    "return_plans": "return_plan",
}
KOBO_VERSION = "vUq7sAfx9rRL3tEw2ZbPk4"
KOBO_META = [
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
]


@dataclass
class KoboField:
    name: str  # XML name
    path: str  # group/name
    q: Q | None
    kind: str  # select_one | select_multiple | integer | text | other_text | email | contact
    list_name: str = ""


def kobo_spec(book: Book) -> list[KoboField]:
    out: list[KoboField] = []
    for gi, (_, qs) in enumerate(ls_groups(book), 1):
        g = f"g{gi}_{qs[0].role}"
        for q in qs:
            name = KOBO_NAMES.get(q.id, q.id)
            if q.type == "single":
                ln = "yn" if q.is_yes_no else f"l_{name}"
                out.append(KoboField(name, f"{g}/{name}", q, "select_one", ln))
            elif q.type == "multi":
                out.append(KoboField(name, f"{g}/{name}", q, "select_multiple", f"l_{name}"))
            elif q.type == "scale":
                out.append(KoboField(name, f"{g}/{name}", q, "integer"))
            else:
                out.append(KoboField(name, f"{g}/{name}", q, "text"))
            if q.other_opt is not None:
                out.append(KoboField(f"{name}_other", f"{g}/{name}_other", q, "other_text"))
    g = f"g{len(ls_groups(book)) + 1}_contact"
    out.append(KoboField("email", f"{g}/email", None, "email"))
    out.append(KoboField("contact", f"{g}/contact", None, "contact"))
    return out


def _kobo_other_label(q: Q) -> str:
    return q.other_column or f"{q.column} — {q.other_opt.label} (укажите)"


def kobo_label(book: Book, f: KoboField) -> str:
    if f.kind == "email":
        return book.admin["email"].column
    if f.kind == "contact":
        return book.admin["contact"].column
    if f.kind == "other_text":
        return _kobo_other_label(f.q)
    return f.q.column


def kobo_table(book: Book, resps: list[Resp], *, labels: bool) -> Table:
    """labels=False: CSV with XML names and group paths; True: rows for the label XLSX."""
    spec = kobo_spec(book)
    head: list[str] = ["start", "end"]
    for f in spec:
        lab = kobo_label(book, f)
        head.append(lab if labels else f.path)
        if f.kind == "select_multiple":
            for o in f.q.options:
                head.append(f"{lab}/{o.label}" if labels else f"{f.path}/{o.key}")
    head += KOBO_META
    zero, one = (0, 1) if labels else ("0", "1")
    rows = []
    for r in resps:
        start = r.start or r.submit
        received = r.submit + dt.timedelta(seconds=1 + stable("kobo-rx", r.row) % 5)
        cells: list[Any] = (
            [in_zone(start, "Europe/Vilnius"), in_zone(r.submit, "Europe/Vilnius")]
            if labels
            else [iso_offset(start), iso_offset(r.submit)]
        )
        for f in spec:
            if f.kind in ("email", "contact"):
                cells.append(r.email if f.kind == "email" else r.contact)
                continue
            q = f.q
            a = r.ans[q.id]
            if f.kind == "other_text":
                cells.append(r.other[q.id])
            elif f.kind == "select_one":
                cells.append("" if a is None else (a.label if labels else a.key))
            elif f.kind == "select_multiple":
                if a is None:
                    cells.append("")
                    cells += [""] * len(q.options)
                else:
                    cells.append(" ".join(o.label if labels else o.key for o in a))
                    cells += [one if o in a else zero for o in q.options]
            elif f.kind == "integer":
                cells.append("" if a is None else (a if labels else str(a)))
            else:
                cells.append(a or "")
        utc_rx = in_zone(received, "UTC")
        meta = {
            "_id": 163500000 + r.row * 7 + stable("kobo-id", r.row) % 7,
            "_uuid": uuid_for(r.row, "kobo"),
            "_submission_time": utc_rx if labels else utc_rx.strftime("%Y-%m-%dT%H:%M:%S"),
            "_validation_status": "",
            "_notes": "",
            "_status": "submitted_via_web",
            "_submitted_by": "",
            "__version__": KOBO_VERSION,
            "_tags": "",
            "_index": r.row,
        }
        cells += [meta[m] if labels else str(meta[m]) for m in KOBO_META]
        if labels:
            cells = [None if v == "" else v for v in cells]
        rows.append(cells)
    return Table([head], rows, sep=";", quote="all")


KOBO_FORM_TITLE = "Беларусы в Литве 2022"


def kobo_xlsform(book: Book) -> bytes:
    spec = kobo_spec(book)
    survey: list[list[Any]] = [["type", "name", "label", "hint", "required", "relevant", "constraint", "appearance"]]
    survey.append(["start", "start", None, None, None, None, None, None])
    survey.append(["end", "end", None, None, None, None, None, None])
    choices: list[list[Any]] = [["list_name", "name", "label"]]
    lists_done: set[str] = set()
    current_group = None
    group_labels = {f"g{gi}_{qs[0].role}": name for gi, (name, qs) in enumerate(ls_groups(book), 1)}
    for f in spec:
        g = f.path.split("/")[0]
        if g != current_group:
            if current_group is not None:
                survey.append(["end_group", None, None, None, None, None, None, None])
            survey.append(["begin_group", g, group_labels.get(g, "Контакты"), None, None, None, None, "field-list"])
            current_group = g
        rel = None
        if f.q is not None and f.q.universe and f.kind != "other_text":
            u = f.q.universe
            src = KOBO_NAMES.get(u["question"], u["question"])
            rel = " or ".join(f"${{{src}}} = '{k}'" for k in u["in"])
        if f.kind == "select_one":
            survey.append([f"select_one {f.list_name}", f.name, f.q.column, None, "false", rel, None, None])
        elif f.kind == "select_multiple":
            hint = "Можно выбрать несколько вариантов"
            excl = [o.key for o in f.q.options if o.exclusive]
            cons = f"not(selected(., '{excl[0]}') and count-selected(.) > 1)" if excl else None
            survey.append([f"select_multiple {f.list_name}", f.name, f.q.column, hint, "false", rel, cons, None])
        elif f.kind == "integer":
            lo, hi = f.q.scale["min"], f.q.scale["max"]
            survey.append(
                [
                    "integer",
                    f.name,
                    f.q.column,
                    f"{lo} — {f.q.scale.get('label_min_ru', '')}, {hi} — {f.q.scale.get('label_max_ru', '')}",
                    "false",
                    rel,
                    f". >= {lo} and . <= {hi}",
                    None,
                ]
            )
        elif f.kind == "other_text":
            base = KOBO_NAMES.get(f.q.id, f.q.id)
            cond = f"selected(${{{base}}}, 'other')" if f.q.type == "multi" else f"${{{base}}} = '{f.q.other_opt.key}'"
            survey.append(["text", f.name, kobo_label(book, f), None, "false", cond, None, None])
        else:
            survey.append(
                [
                    "text",
                    f.name,
                    kobo_label(book, f),
                    None,
                    "false",
                    rel,
                    None,
                    "multiline" if f.kind in ("text", "contact") else None,
                ]
            )
        if f.list_name and f.list_name not in lists_done:
            lists_done.add(f.list_name)
            for o in f.q.options:
                choices.append([f.list_name, o.key, o.label])
    survey.append(["end_group", None, None, None, None, None, None, None])
    settings = [
        ["form_title", "form_id", "version", "default_language"],
        [KOBO_FORM_TITLE, "belmig_lt_2022", "2022-05-28", "Russian (ru)"],
    ]
    return xlsx_bytes([("survey", survey, {}), ("choices", choices, {}), ("settings", settings, {})])


KOBO_TS_FORMAT = "yyyy-mm-dd"


def build_kobo(c: Corpus, book: Book, resps: list[Resp]) -> dict[str, Table]:
    xml = kobo_table(book, resps, labels=False)
    lab = kobo_table(book, resps, labels=True)
    ts_cols = {0: KOBO_TS_FORMAT, 1: KOBO_TS_FORMAT, lab.header[0].index("_submission_time"): KOBO_TS_FORMAT}
    c.add(
        "kobo_xml.csv",
        xml.csv_bytes(),
        "kobo",
        respondents=len(resps),
        lacks=["ip_address"],
        header_rows=1,
        needs_definition="kobo_xlsform.xlsx",
        csv=xml.dialect(),
        time_zone="start/end with offset +03:00; _submission_time UTC",
        consequences="no IP address: nothing changes (identifier only); use end, not "
        "_submission_time, as the submission time (the latter is the server receipt)",
        layout="KPI export → CSV, 'XML values and headers', 'Include groups in headers' (group/"
        "name), select_multiple 'both': a space-separated summary cell plus one "
        "group/name/choice column of 1/0 per choice ('' when not answered); 'Other' text "
        "in the <name>_other text question; start/end ISO 8601 with offset (+03:00), "
        "_submission_time UTC without offset (server receipt, 1–5 s after end); _id, "
        "_uuid, _validation_status, _status, __version__, _index; ';' separated, every "
        "field quoted; no IP address",
    )
    c.add(
        "kobo_labels.xlsx",
        xlsx_bytes([(KOBO_FORM_TITLE, lab.header + lab.rows, ts_cols)]),
        "kobo",
        respondents=len(resps),
        lacks=["ip_address"],
        header_rows=1,
        needs_definition=None,
        time_zone="start/end: Vilnius wall clock (offset dropped); _submission_time: UTC",
        consequences="no IP address: nothing changes (identifier only)",
        layout="KPI export → XLS, 'Labels', no group names, 'Store date and number responses as "
        "text' off: headers are question labels and 'label/choice label'; cells hold "
        "choice labels (the summary joins labels with spaces, so only the 1/0 columns "
        "are unambiguous); start/end date cells in Vilnius wall clock with the offset "
        "dropped; _submission_time a date cell in UTC; numbers as numbers",
    )
    c.add(
        "kobo_xlsform.xlsx",
        kobo_xlsform(book),
        "kobo",
        role="definition",
        defines="kobo_xml.csv",
        layout="XLSForm: survey (type, name, label, hint, required, relevant, constraint, "
        "appearance; begin_group/end_group), choices (list_name, name, label), settings",
    )
    return {"xml": xml, "labels": lab}


# =========================================================================== SPSS / Stata


def generic_frame(book: Book, resps: list[Resp], *, stata: bool):
    """The general researcher's file: q01…q29, multi as q03_1… dichotomies, codebook codes."""
    import pandas as pd

    cols: dict[str, list] = {}
    labels: dict[str, str] = {}
    vlabels: dict[str, dict] = {}
    mr_sets: list[tuple[str, str, list[str]]] = []
    a = book.admin
    cols["resp_id"] = [r.rid for r in resps]
    labels["resp_id"] = a["response_id"].column
    cols["start"] = [r.start for r in resps]
    labels["start"] = a["started_at"].column
    cols["submit"] = [r.submit for r in resps]
    labels["submit"] = a["submitted_at"].column
    cols["email"] = [r.email for r in resps]
    labels["email"] = a["email"].column
    cols["ip"] = [r.ip for r in resps]
    labels["ip"] = a["ip_address"].column
    cols["contact"] = [r.contact for r in resps]
    labels["contact"] = a["contact"].column
    yes_no = {0: "Нет", 1: "Да"}
    for i, q in enumerate(book.questions, 1):
        base = f"q{i:02d}"
        if q.type == "multi":
            names = []
            for o in q.options:
                n = f"{base}_{o.code}"
                names.append(n)
                cols[n] = [None if r.ans[q.id] is None else float(o in r.ans[q.id]) for r in resps]
                labels[n] = o.label
                vlabels[n] = dict(yes_no)
            mr_sets.append((base, q.column, names))
        elif q.type == "single":
            cols[base] = [None if r.ans[q.id] is None else float(r.ans[q.id].code) for r in resps]
            labels[base] = q.column
            vlabels[base] = {o.code: o.label for o in q.options}
        elif q.type == "scale":
            cols[base] = [None if r.ans[q.id] is None else float(r.ans[q.id]) for r in resps]
            labels[base] = q.column
            s = q.scale
            vlabels[base] = {s["min"]: s.get("label_min_ru", ""), s["max"]: s.get("label_max_ru", "")}
        else:
            cols[base] = [r.ans[q.id] or "" for r in resps]
            labels[base] = q.column
        if q.other_column:
            n = f"{base}_oth"
            cols[n] = [r.other[q.id] for r in resps]
            labels[n] = q.other_column
    scales = {f"q{i:02d}" for i, q in enumerate(book.questions, 1) if q.type == "scale"}
    measure = {k: ("scale" if k in scales else "nominal") for k in vlabels}
    df = pd.DataFrame(cols)
    df["start"] = pd.to_datetime(df["start"])
    df["submit"] = pd.to_datetime(df["submit"])
    for k, v in list(cols.items()):
        if isinstance(v[0], str) or k in ("resp_id", "email", "ip", "contact"):
            df[k] = df[k].map(lambda s: s.replace("\r\n", "\n"))
    if stata:
        labels = {k: v[:80] for k, v in labels.items()}  # Stata: variable labels ≤ 80 characters
    return df, labels, vlabels, mr_sets, measure


def build_spss_stata(c: Corpus, book: Book, resps: list[Resp]) -> None:
    df, labels, vlabels, mr_sets, measure = generic_frame(book, resps, stata=False)
    c.add(
        "generic.sav",
        sav_bytes(
            df, labels=labels, value_labels=vlabels, mr_sets=mr_sets, file_label=book.title_ru[:64], measure=measure
        ),
        "spss",
        respondents=len(resps),
        lacks=[],
        needs_definition=None,
        time_zone="Europe/Vilnius (wall clock; not stated)",
        layout="a researcher's SPSS file: resp_id, start, submit (DATETIME, Vilnius wall clock), "
        "email, ip, contact; q01…q29 with the question text as variable label; single "
        "choice coded with the codebook codes + value labels; 1–10 scales numeric with "
        "value labels on the end points only; multiple choice as q03_1… 0/1 dichotomies "
        "(label = option text, value labels 0 'Нет' 1 'Да', system-missing when not "
        "answered) grouped in multiple-dichotomy sets $q03 … (counted value 1); 'Other' "
        "text in q03_oth …; labels cut to SPSS's byte limits",
    )
    df, labels, vlabels, _, _ = generic_frame(book, resps, stata=True)
    c.add(
        "generic.dta",
        dta_bytes(df, labels=labels, value_labels=vlabels, file_label=book.title_ru[:80]),
        "stata",
        respondents=len(resps),
        lacks=[],
        needs_definition=None,
        time_zone="Europe/Vilnius (wall clock; not stated)",
        layout="the same variables as generic.sav written as Stata 15 (.dta 118): variable labels "
        "cut to Stata's 80 characters (most question texts are longer), value labels on "
        "integers, dichotomies 0/1, no multiple-response sets (Stata has none), datetimes %tc",
    )


# =========================================================================== broken variants


def pick(rows: list, pred: Callable[[int, Any], bool], what: str, after: float = 0.25) -> int:
    """1-based number of the first row past ``after`` of the file (else anywhere) that fits."""
    start = int(len(rows) * after)
    for lo in (start, 0):
        for n, row in enumerate(rows[lo:], lo + 1):
            if pred(n, row):
                return n
    raise CorpusError(f"no row of the export fits the broken variant {what!r}")


def build_broken(c: Corpus, book: Book, resps: list[Resp], t: dict[str, Table]) -> None:
    def add(
        name: str,
        data: bytes,
        platform: str,
        based_on: str,
        what: str,
        expect: list[str],
        *,
        data_row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        severity: str = "error",
    ) -> None:
        c.add(
            f"broken/{name}",
            data,
            platform,
            well_formed=False,
            based_on=based_on,
            what=what,
            expect=[name] + expect,
            data_row=data_row,
            column=column,
            value=value,
            severity=severity,
        )

    # ---------------------------------------------------------------- Google Forms
    g = t["google"]
    b = g.copy()
    j = b.col("Отметка времени")
    for r in [b.header[0]] + b.rows:
        del r[j]
    add(
        "google_forms_no_timestamp.csv",
        b.csv_bytes(),
        "google_forms",
        "google_forms.csv",
        "the 'Отметка времени' column was deleted: the file has no submission time at all (the one "
        "time Google records), so submissions cannot be ordered or dated",
        ["Отметка времени"],
        column="Отметка времени",
    )

    q = book.q("support_sought")
    old = q.options[1].label
    new = "Медицинская помощь и услуги"
    b = g.copy()
    j = b.col(q.column)
    hit = None
    for n, row in enumerate(b.rows, 1):
        if n > len(b.rows) // 2 and old in row[j].split(", "):
            row[j] = row[j].replace(old, new)
            hit = hit or n
    add(
        "google_forms_renamed_option.csv",
        b.csv_bytes(),
        "google_forms",
        "google_forms.csv",
        f"the option {old!r} was renamed {new!r} in the form half-way through fieldwork; later rows "
        "carry the new text, which no codebook label (and no 'Other', the question has none) matches",
        [q.column, new],
        data_row=hit,
        column=q.column,
        value=new,
    )

    q = book.q("sex")
    b = g.copy()
    j = b.col(q.column)
    changed = []
    for n, row in enumerate(b.rows, 1):
        if n % 9 == 0 and row[j]:
            row[j] = str(q.options[[o.label for o in q.options].index(row[j])].code)
            changed.append((n, row[j]))
    add(
        "google_forms_mixed_codes.csv",
        b.csv_bytes(),
        "google_forms",
        "google_forms.csv",
        "someone recoded part of the sheet by hand: every 9th answer to 'Ваш пол' is a code "
        "('1', '2') among the labels",
        [q.column, changed[0][1]],
        data_row=changed[0][0],
        column=q.column,
        value=changed[0][1],
    )

    # cut inside a quoted field of a row in the second half (a multi-line answer if there is one)
    def quoted(n: int, row: list) -> bool:
        return any(isinstance(v, str) and "\n" in v for v in row)

    try:
        idx = pick(g.rows, quoted, "multi-line answer", after=0.5)
    except CorpusError:
        idx = pick(g.rows, lambda n, row: '"' in Table([], [row]).csv_bytes().decode(), "quoted field", after=0.5)
    head = Table(g.header, g.rows[: idx - 1]).csv_bytes()
    last = Table([], g.rows[idx - 1 : idx]).csv_bytes()
    nl = last.find(b"\n")
    if nl < len(last) - 1:  # an embedded line break: the file ends right after it
        cut = nl + 1
    else:  # the middle of the first quoted field
        q1 = last.index(b'"')
        cut = q1 + 1 + (last.index(b'"', q1 + 1) - q1) // 2
    add(
        "google_forms_truncated.csv",
        head + last[:cut],
        "google_forms",
        "google_forms.csv",
        "the download was cut off inside a quoted answer: the last record never ends (unterminated "
        "quote at end of file)",
        [],
        data_row=idx,
    )

    rows = google_xlsx_rows(book, resps)
    short = ["timestamp"] + [f"q{i}" for i in range(1, len(rows[0]))]
    add(
        "google_forms_two_header_rows.xlsx",
        xlsx_bytes([(GF_SHEET, [rows[0], short] + rows[1:], {0: GF_TS_FORMAT})]),
        "google_forms",
        "google_forms.xlsx",
        "a second header row of short names (timestamp, q1, q2, …) was inserted under Google's "
        "header: the first 'data' row is not a submission ('timestamp' is not a date)",
        ["Отметка времени", "timestamp"],
        data_row=1,
        column="Отметка времени",
        value="timestamp",
    )

    # ---------------------------------------------------------------- LimeSurvey
    ls = t["ls_codes"]
    b = ls.copy()
    j = b.col("Q03[SQ002]")
    b.header[0][j] = "Q03[SQ02]"
    add(
        "limesurvey_codes_renamed_column.csv",
        b.csv_bytes(),
        "limesurvey",
        "limesurvey_codes.csv",
        "the subquestion column Q03[SQ002] was renamed Q03[SQ02]; no such subquestion in limesurvey.lss",
        ["Q03[SQ02]"],
        column="Q03[SQ02]",
    )

    _, spec = limesurvey_spec(book)
    sexq = next(lq for lq in spec if lq.q is not None and lq.q.id == "sex")
    b = ls.copy()
    j = b.col(sexq.title)
    changed = []
    for n, row in enumerate(b.rows, 1):
        if n % 11 == 0 and row[j]:
            row[j] = next(text for code, text, _ in sexq.answers if code == row[j])
            changed.append((n, row[j]))
    add(
        "limesurvey_codes_mixed_codes_labels.csv",
        b.csv_bytes(),
        "limesurvey",
        "limesurvey_codes.csv",
        f"rows pasted from a full-answer export: every 11th {sexq.title} cell holds the answer text "
        f"instead of its code",
        [sexq.title, changed[0][1]],
        data_row=changed[0][0],
        column=sexq.title,
        value=changed[0][1],
    )

    disc = next(lq for lq in spec if lq.q is not None and lq.q.id == "discrimination")
    b = ls.copy()
    jm, jo = b.col(disc.title), b.col(f"{disc.title}[other]")
    row_i = pick(b.rows, lambda n, row: row[jm] and row[jm] != "-oth-", "list answer without Other")
    b.rows[row_i - 1][jo] = "Отказали в аренде квартиры"
    add(
        "limesurvey_codes_other_without_choice.csv",
        b.csv_bytes(),
        "limesurvey",
        "limesurvey_codes.csv",
        f"{disc.title}[other] holds a text while {disc.title} is not '-oth-' (an 'Other' text with no 'Other' chosen)",
        [f"{disc.title}[other]"],
        data_row=row_i,
        column=f"{disc.title}[other]",
    )

    sav = c.files["limesurvey.sav"]
    add(
        "limesurvey_truncated.sav",
        sav[: len(sav) * 2 // 3],
        "limesurvey",
        "limesurvey.sav",
        "the .sav file was cut to two thirds of its length (interrupted copy)",
        [],
    )

    # ---------------------------------------------------------------- Qualtrics
    qt = t["qx_text"]
    b = qt.copy()
    b.header = b.header[:2]
    add(
        "qualtrics_text_two_header_rows.csv",
        b.csv_bytes(),
        "qualtrics",
        "qualtrics_text.csv",
        "the third header row (ImportId JSON) was deleted in Excel: row 3 is a response, not "
        "ImportIds, so the file is neither the current 3-row nor the legacy layout",
        ["ImportId"],
    )

    qv = t["qx_values"]
    qspec = qualtrics_spec(book)
    leg = next(qx for qx in qspec if qx.q is not None and qx.q.id == "legal_status")
    b = qv.copy()
    j = b.col(leg.tag)
    row_i = pick(b.rows, lambda n, row: row[j], "legal status answered", after=0.3)
    b.rows[row_i - 1][j] = "7"
    add(
        "qualtrics_values_unknown_recode.csv",
        b.csv_bytes(),
        "qualtrics",
        "qualtrics_values.csv",
        f"{leg.tag} holds the value 7, which is no RecodeValue of {leg.qid} in qualtrics.qsf",
        [leg.tag, "7"],
        data_row=row_i,
        column=leg.tag,
        value="7",
    )

    rex = next(qx for qx in qspec if qx.q is not None and qx.q.id == "reasons_exit")
    oth = next(ch for ch in rex.choices if ch.text_entry)
    b = qt.copy()
    jt = b.col(f"{rex.tag}_{oth.cid}_TEXT")
    jc = b.col(f"{rex.tag}_{oth.cid}")
    row_i = pick(b.rows, lambda n, row: not row[jc] and not row[jt], "Other not ticked")
    b.rows[row_i - 1][jt] = "Из-за работы мужа"
    add(
        "qualtrics_text_other_without_choice.csv",
        b.csv_bytes(),
        "qualtrics",
        "qualtrics_text.csv",
        f"{rex.tag}_{oth.cid}_TEXT holds a text while {rex.tag}_{oth.cid} ('{oth.display}') is not ticked",
        [f"{rex.tag}_{oth.cid}_TEXT"],
        data_row=row_i,
        column=f"{rex.tag}_{oth.cid}_TEXT",
    )

    ql = next(qx for qx in qspec if qx.q is not None and qx.q.id == "quality_life")
    b = qt.copy()
    j = b.col(ql.tag)
    for row in b.rows:
        row[j] = ""
    add(
        "qualtrics_text_empty_question.csv",
        b.csv_bytes(),
        "qualtrics",
        "qualtrics_text.csv",
        f"{ql.tag} ({ql.q.column}) is empty for every respondent (the question was hidden by a broken display logic)",
        [ql.tag],
        column=ql.tag,
        severity="error_or_counted_warning",
    )

    # ---------------------------------------------------------------- SurveyMonkey
    sm = t["sm"]
    b = sm.copy()
    b.header = b.header[:1]
    add(
        "surveymonkey_one_header_row.csv",
        b.csv_bytes(),
        "surveymonkey",
        "surveymonkey.csv",
        "the second header row (Response / option texts / Other (please specify)) was deleted: the "
        "option columns of the multiple-choice questions can no longer be told apart, and row 2 is "
        "a response",
        [],
    )

    rex = book.q("reasons_exit")
    b = sm.copy()
    j = b.header[1].index(rex.options[0].label)
    b.header[1][j] = "Политика"
    for row in b.rows:
        if row[j]:
            row[j] = "Политика"
    add(
        "surveymonkey_renamed_option.csv",
        b.csv_bytes(),
        "surveymonkey",
        "surveymonkey.csv",
        f"the option column {rex.options[0].label!r} of {rex.column!r} is headed (and ticked) 'Политика', "
        "which no codebook label matches",
        ["Политика"],
        column="Политика",
        value="Политика",
    )

    disc = book.q("discrimination")
    b = sm.copy()
    cols = sm_columns(book)
    jr = len(SM_META) + next(k for k, (q, lab, _) in enumerate(cols) if q.id == disc.id and lab == "Response")
    jo = jr + 1
    row_i = pick(b.rows, lambda n, row: row[jr] and not row[jo], "single answer without Other")
    b.rows[row_i - 1][jo] = "На работе"
    add(
        "surveymonkey_answer_and_other.csv",
        b.csv_bytes(),
        "surveymonkey",
        "surveymonkey.csv",
        f"{disc.column!r}: both an answer in 'Response' and an 'Other (please specify)' text for a "
        "single-choice question (two answers where one is allowed)",
        [disc.column],
        data_row=row_i,
        column=disc.column,
    )

    b = sm.copy()
    js, je = b.col("Start Date"), b.col("End Date")
    for row in b.rows:
        row[js] = row[je]
    add(
        "surveymonkey_start_equals_end.csv",
        b.csv_bytes(),
        "surveymonkey",
        "surveymonkey.csv",
        "'Start Date' was overwritten with 'End Date' in every row: every duration is 0, the "
        "speeder check would find nobody",
        ["Start Date"],
        column="Start Date",
        severity="error_or_counted_warning",
    )

    # ---------------------------------------------------------------- KoboToolbox
    kx = t["kobo_xml"]
    kspec = kobo_spec(book)
    why = next(f for f in kspec if f.q is not None and f.q.id == "reasons_exit" and f.kind == "select_multiple")
    b = kx.copy()
    old_col = f"{why.path}/political"
    j = b.col(old_col)
    b.header[0][j] = f"{why.path}/politics"
    add(
        "kobo_xml_renamed_option_column.csv",
        b.csv_bytes(),
        "kobo",
        "kobo_xml.csv",
        f"the choice column {old_col} was renamed {why.path}/politics: no choice 'politics' in the XLSForm list",
        [f"{why.path}/politics"],
        column=f"{why.path}/politics",
    )

    b = kx.copy()
    js = b.col(why.path)
    jd = b.col(f"{why.path}/{why.q.options[1].key}")
    row_i = pick(b.rows, lambda n, row: row[jd] == "1", "option ticked")
    b.rows[row_i - 1][jd] = "0"
    add(
        "kobo_xml_summary_detail_mismatch.csv",
        b.csv_bytes(),
        "kobo",
        "kobo_xml.csv",
        f"{why.path} lists '{why.q.options[1].key}' but {why.path}/{why.q.options[1].key} is 0 (the "
        "summary and the 1/0 columns disagree)",
        [f"{why.path}/{why.q.options[1].key}"],
        data_row=row_i,
        column=f"{why.path}/{why.q.options[1].key}",
    )

    hr = next(f for f in kspec if f.q is not None and f.q.id == "health_rating")
    b = kx.copy()
    j = b.col(hr.path)
    row_i = pick(
        b.rows,
        lambda n, row: (
            resps[n - 1].ans["health_used"] is not None and resps[n - 1].ans["health_used"].key == "no" and not row[j]
        ),
        "health care not used",
    )
    b.rows[row_i - 1][j] = "6"
    add(
        "kobo_xml_answer_not_asked.csv",
        b.csv_bytes(),
        "kobo",
        "kobo_xml.csv",
        f"{hr.path} = 6 for a respondent who answered 'no' to health: the XLSForm (and the codebook "
        "universe) say the question was not asked",
        [hr.path],
        data_row=row_i,
        column=hr.path,
        value="6",
    )

    lab = t["kobo_labels"]
    gq = book.q("sex")
    b = lab.copy()
    j = b.col(gq.column)
    changed = []
    for n, row in enumerate(b.rows, 1):
        if n % 13 == 0 and row[j]:
            row[j] = next(o.key for o in gq.options if o.label == row[j])
            changed.append((n, row[j]))
    ts_cols = {0: KOBO_TS_FORMAT, 1: KOBO_TS_FORMAT, b.header[0].index("_submission_time"): KOBO_TS_FORMAT}
    add(
        "kobo_labels_mixed_codes.xlsx",
        xlsx_bytes([(KOBO_FORM_TITLE, b.header + b.rows, ts_cols)]),
        "kobo",
        "kobo_labels.xlsx",
        f"every 13th '{gq.column}' cell holds the XML value ({changed[0][1]!r}) instead of the label",
        [gq.column, changed[0][1]],
        data_row=changed[0][0],
        column=gq.column,
        value=changed[0][1],
    )

    # ---------------------------------------------------------------- SPSS / Stata
    df, labels, vlabels, mr_sets, measure = generic_frame(book, resps, stata=False)
    sexvar = f"q{[q.id for q in book.questions].index('sex') + 1:02d}"
    row_i = pick(list(df[sexvar]), lambda n, v: v == v, "sex answered")
    df.loc[row_i - 1, sexvar] = 9.0
    add(
        "generic_unlabelled_code.sav",
        sav_bytes(
            df, labels=labels, value_labels=vlabels, mr_sets=mr_sets, file_label=book.title_ru[:64], measure=measure
        ),
        "spss",
        "generic.sav",
        f"{sexvar} ('{book.q('sex').column}') holds 9, a code with no value label and no codebook option",
        [sexvar, "9"],
        data_row=row_i,
        column=sexvar,
        value="9",
    )

    dta = c.files["generic.dta"]
    add(
        "generic_truncated.dta",
        dta[: len(dta) // 2],
        "stata",
        "generic.dta",
        "the .dta file was cut in half (interrupted copy)",
        [],
    )


# =========================================================================== main


def build(export: Path, codebook: Path) -> Corpus:
    book = load_codebook(codebook)
    resps = read_export(export, book)
    c = Corpus()
    tables: dict[str, Table] = {}
    tables["google"] = build_google(c, book, resps)["ru"]
    tables["sm"] = build_surveymonkey(c, book, resps)["sm"]
    qx = build_qualtrics(c, book, resps)
    tables["qx_text"], tables["qx_values"] = qx["text"], qx["values"]
    ls = build_limesurvey(c, book, resps)
    tables["ls_codes"], tables["ls_text"] = ls["codes"], ls["text"]
    kb = build_kobo(c, book, resps)
    tables["kobo_xml"], tables["kobo_labels"] = kb["xml"], kb["labels"]
    build_spss_stata(c, book, resps)
    build_broken(c, book, resps, tables)
    c.add("corpus.yaml", manifest(c, export, book, resps), "manifest", role="manifest")
    return c


def manifest(c: Corpus, export: Path, book: Book, resps: list[Resp]) -> bytes:
    files = []
    for e in c.entries:
        d: dict[str, Any] = {
            "file": e.file,
            "platform": e.platform,
            "format": e.format,
            "role": e.role,
            "well_formed": e.well_formed,
        }
        for k, v in e.info.items():
            if v is not None or k == "needs_definition":
                d[k] = v
        files.append(d)
    files.append(
        {"file": "corpus.yaml", "platform": "manifest", "format": "yaml", "role": "manifest", "well_formed": True}
    )
    doc = {
        "generator": "tests/platforms/make_corpus.py",
        "source_export": Path(export).name,
        "source_rows": len(resps),
        "time_zone_of_source": "Europe/Vilnius (naive wall clock; UTC+3 throughout the fieldwork)",
        "lacks_meaning": "codebook `columns:` ids the platform's file does not carry at all",
        "expect_meaning": "substrings the error message must contain (file name first, then the "
        "column as written in the file and the offending value); data_row is "
        "the 1-based respondent row, counting from the first row after the "
        "header rows",
        "files": files,
    }

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(doc, Dumper=NoAliases, allow_unicode=True, sort_keys=False, width=100).encode("utf-8")


def write(c: Corpus, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in c.files.items():
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--export", type=Path, required=True, help="the generic export (CSV)")
    ap.add_argument("--codebook", type=Path, required=True, help="config/codebook.yaml")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    args = ap.parse_args(argv)
    try:
        c = build(args.export, args.codebook)
    except CorpusError as e:
        print(f"make_corpus: {e}", file=sys.stderr)
        return 1
    write(c, args.out)
    n_ok = sum(1 for e in c.entries if e.role == "export" and e.well_formed)
    n_bad = sum(1 for e in c.entries if not e.well_formed)
    print(f"make_corpus: {len(c.files)} files in {args.out} ({n_ok} well-formed exports, {n_bad} broken variants)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
