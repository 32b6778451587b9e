"""Survey definitions: what a platform's own survey file says about the export's names and codes.

Code-only exports (LimeSurvey question codes, Qualtrics numeric values, Kobo XML names) carry
no question text and no answer text; the survey definition maps them:

* Qualtrics ``.qsf`` (JSON): each ``SQ`` element's ``DataExportTag`` (the export name),
  ``QuestionText``, ``Choices`` (``Display``, ``TextEntry``), ``RecodeValues`` (what a numeric
  export writes; the choice id when absent), ``Selector`` (``MAVR``/``MAHR``: multiple answer);
  questions in the trash block are left out.
* LimeSurvey ``.lss`` (XML, LimeSurvey 3 and 5): ``questions`` (``title`` = export code,
  ``type``, ``other``), ``subquestions`` (``Q03[SQ001]``), ``answers`` (codes ``A1``…), with their
  texts in the same rows (LimeSurvey 3) or in ``question_l10ns`` / ``answer_l10ns`` (5).
* a KoboToolbox XLSForm (``.xlsx``): ``survey`` (type, name, label, groups), ``choices``
  (list_name, name, label).

Each becomes a :class:`Definition`: a list of :class:`DefQuestion` (export name, text, type,
answer codes with their texts, subquestions with theirs, the "Other" text field).
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from belmig.ingest.errors import IngestError


@dataclass
class DefQuestion:
    name: str  # the export's name of the question (tag, code, XML name)
    text: str
    type: str  # single | multi | text | number
    choices: list[tuple[str, str]] = field(default_factory=list)  # (code in the export, text)
    subs: list[tuple[str, str]] = field(default_factory=list)  # multiple answer: (column name, text)
    other_column: str | None = None  # column of the "Other" text
    other_code: str | None = None  # the answer code (single) / subquestion (multi) of "Other"
    group: str = ""  # Kobo: group path ("g2_substantive")


@dataclass
class Definition:
    platform: str
    file: str
    questions: list[DefQuestion]


_TAG = re.compile(r"<[^>]+>")


def _plain(s: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", s or "")).split())


def read(path: Path | str) -> Definition:
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: survey definition not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".qsf":
            return read_qsf(path)
        if suffix == ".lss":
            return read_lss(path)
        if suffix in (".xlsx", ".xls"):
            return read_xlsform(path)
    except (ValueError, KeyError, ET.ParseError) as e:
        raise IngestError(f"{path}: not a readable survey definition ({type(e).__name__}: {e})") from None
    raise IngestError(f"{path}: unknown survey definition {suffix!r} (expected .qsf, .lss or an XLSForm .xlsx)")


# ----------------------------------------------------------------------------- Qualtrics


def read_qsf(path: Path) -> Definition:
    doc = json.loads(path.read_text(encoding="utf-8"))
    elements = doc["SurveyElements"]
    trash: set[str] = set()
    for e in elements:
        if e.get("Element") == "BL":
            blocks = e.get("Payload") or []
            blocks = blocks.values() if isinstance(blocks, dict) else blocks
            for b in blocks:
                if b.get("Type") == "Trash":
                    trash |= {x.get("QuestionID") for x in b.get("BlockElements", [])}
    out = []
    for e in elements:
        if e.get("Element") != "SQ":
            continue
        p = e["Payload"]
        if p.get("QuestionID") in trash:
            continue
        tag, text = p.get("DataExportTag") or p["QuestionID"], _plain(p.get("QuestionText", ""))
        qtype, sel = p.get("QuestionType"), p.get("Selector", "")
        if qtype == "TE":
            out.append(DefQuestion(tag, text, "text"))
            continue
        if qtype != "MC":
            continue
        choices = p.get("Choices") or {}
        order = [str(c) for c in p.get("ChoiceOrder") or choices]
        recode = {str(k): str(v) for k, v in (p.get("RecodeValues") or {}).items()}
        q = DefQuestion(tag, text, "multi" if sel in ("MAVR", "MAHR", "MACOL", "MSB") else "single")
        for cid in order:
            ch = choices.get(cid)
            if ch is None:
                continue
            display = _plain(ch.get("Display", ""))
            if q.type == "multi":
                q.subs.append((f"{tag}_{cid}", display))
            else:
                q.choices.append((recode.get(cid, cid), display))
            if str(ch.get("TextEntry", "")).lower() == "true":
                q.other_column = f"{tag}_{cid}_TEXT"
                q.other_code = f"{tag}_{cid}" if q.type == "multi" else recode.get(cid, cid)
        out.append(q)
    return Definition("qualtrics", path.name, out)


# ----------------------------------------------------------------------------- LimeSurvey


def _rows(root: ET.Element, table: str) -> list[dict[str, str]]:
    t = root.find(table)
    if t is None:
        return []
    return [{c.tag: (c.text or "") for c in row} for row in t.iter("row")]


def read_lss(path: Path) -> Definition:
    root = ET.parse(path).getroot()
    if root.findtext("LimeSurveyDocType") != "Survey":
        raise ValueError("no <LimeSurveyDocType>Survey</LimeSurveyDocType>")
    lang = root.findtext("languages/language") or ""
    texts = {r["qid"]: r.get("question", "") for r in _rows(root, "question_l10ns") if r.get("language", lang) == lang}
    questions = _rows(root, "questions")
    subs = _rows(root, "subquestions")
    for r in questions + subs:
        if r.get("question") and r["qid"] not in texts:
            texts[r["qid"]] = r["question"]  # LimeSurvey 3: texts in the rows
    answer_text = {
        r["aid"]: r.get("answer", "") for r in _rows(root, "answer_l10ns") if r.get("language", lang) == lang
    }
    answers: dict[str, list[tuple[str, str, int]]] = {}
    for r in _rows(root, "answers"):
        if r.get("language", lang) not in (lang, ""):
            continue
        text = r.get("answer") or answer_text.get(r.get("aid", ""), "")
        answers.setdefault(r["qid"], []).append((r["code"], _plain(text), int(r.get("sortorder") or 0)))
    by_parent: dict[str, list[dict[str, str]]] = {}
    for r in subs + [q for q in questions if q.get("parent_qid", "0") not in ("0", "")]:
        by_parent.setdefault(r["parent_qid"], []).append(r)
    out = []
    for q in questions:
        if q.get("parent_qid", "0") not in ("0", ""):
            continue
        title, ltype, text = q["title"], q.get("type", ""), _plain(texts.get(q["qid"], ""))
        other = q.get("other") == "Y"
        if ltype in ("M", "P"):
            dq = DefQuestion(title, text, "multi")
            kids = sorted(by_parent.get(q["qid"], []), key=lambda r: int(r.get("question_order") or 0))
            dq.subs = [(f"{title}[{k['title']}]", _plain(texts.get(k["qid"], ""))) for k in kids]
            if other:
                dq.other_column = f"{title}[other]"
        elif ltype in ("L", "!", "O", "Y", "G", "5"):
            if ltype == "O":  # list with comment: the comment is the question's free text
                other = False
            dq = DefQuestion(title, text, "single")
            dq.choices = [(c, t) for c, t, _ in sorted(answers.get(q["qid"], []), key=lambda a: a[2])]
            if ltype == "Y":
                dq.choices = [("Y", "Да"), ("N", "Нет")]
            if other:
                dq.other_column, dq.other_code = f"{title}[other]", "-oth-"
                dq.choices.append(("-oth-", "Other"))
            elif ltype == "O":
                dq.other_column = f"{title}[comment]"
        elif ltype in ("N",):
            dq = DefQuestion(title, text, "number")
        else:
            dq = DefQuestion(title, text, "text")
        out.append(dq)
    return Definition("limesurvey", path.name, out)


# ----------------------------------------------------------------------------- Kobo XLSForm


def read_xlsform(path: Path) -> Definition:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {ws.title.lower(): [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()
    if "survey" not in sheets:
        raise ValueError("no 'survey' sheet")

    def table(rows: list[list]) -> list[dict[str, str]]:
        if not rows:
            return []
        head = [str(h or "").strip().lower() for h in rows[0]]
        return [{h: ("" if v is None else str(v).strip()) for h, v in zip(head, r)} for r in rows[1:] if any(r)]

    def label(r: dict[str, str]) -> str:
        if r.get("label"):
            return r["label"]
        return next((v for k, v in r.items() if k.startswith("label::") and v), "")

    lists: dict[str, list[tuple[str, str]]] = {}
    for r in table(sheets.get("choices", [])):
        if r.get("list_name") or r.get("list name"):
            lists.setdefault(r.get("list_name") or r.get("list name"), []).append((r["name"], _plain(label(r))))
    out: list[DefQuestion] = []
    groups: list[str] = []
    by_name: dict[str, DefQuestion] = {}
    for r in table(sheets["survey"]):
        t = (
            r.get("type", "").replace(" ", "_", 1)
            if r.get("type", "").startswith(("begin ", "end "))
            else r.get("type", "")
        )
        if t in ("begin_group", "begin_repeat"):
            groups.append(r.get("name", ""))
            continue
        if t in ("end_group", "end_repeat"):
            if groups:
                groups.pop()
            continue
        name = r.get("name", "")
        if not name:
            continue
        kind, _, lst = t.partition(" ")
        g = "/".join(groups)
        if kind in ("select_one", "select_multiple"):
            lst = lst.split()[0] if lst else ""
            dq = DefQuestion(name, _plain(label(r)), "multi" if kind == "select_multiple" else "single", group=g)
            opts = lists.get(lst, [])
            dq.choices = list(opts)
            if dq.type == "multi":
                dq.subs = [(name + "/" + c, text) for c, text in opts]
            if " or_other" in t or t.endswith("or_other"):
                dq.choices.append(("other", "Other"))
        elif kind in ("integer", "decimal", "range"):
            dq = DefQuestion(name, _plain(label(r)), "number", group=g)
        elif kind in ("text", "email"):
            dq = DefQuestion(name, _plain(label(r)), "text", group=g)
        else:
            continue
        out.append(dq)
        by_name[name] = dq
    for dq in list(out):  # "<name>_other" text questions are the "Other" texts of <name>
        base = by_name.get(dq.name[: -len("_other")]) if dq.name.endswith("_other") else None
        if base is not None and dq.type == "text" and base.type in ("single", "multi"):
            base.other_column = dq.name
            base.other_code = "other"
            out.remove(dq)
    return Definition("kobo", path.name, out)
