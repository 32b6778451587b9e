"""``limesurvey``: Export responses → CSV (question codes or full texts), and its SPSS export.

Admin fields (``createFieldMap``): ``id``, ``submitdate``, ``lastpage``, ``startlanguage``,
``seed``, ``startdate``, ``datestamp``, ``ipaddr`` (``refurl``, ``token``), or their full-text
headings (``Response ID``, ``Date submitted``…); times ``YYYY-MM-DD HH:MM:SS`` in the server's
time zone, which the file does not state (read as the study's).

* **Question codes** (``Q01``, ``Q03[SQ001]``, ``Q03[other]``; answers ``A1``, ``-oth-``,
  ``Y``): the texts are only in the survey structure (.lss), so this layout needs a mapping
  overlay (``python -m belmig map-export FILE --definition survey.lss``).
* **Full question texts**: the question text (= the codebook ``column``), ``question
  [subquestion]`` for each option of a multiple-choice question, ``question [Другое]`` (the
  survey language's word for "Other") for its "Other" text; answers as their texts, "Other"
  in a list as that same word; multiple choice ``Да`` / ``Нет`` / ``N/A`` (not displayed).
* **SPSS** (.sav from its syntax export): variables ``Q01``, ``Q03_SQ001``, ``Q03_other`` with
  labels ``question`` / ``[subquestion] question`` (cut to 256 bytes); list answers as strings
  ``A1``… with the answer texts as value labels (``-oth-`` unlabelled); multiple choice 1/0.

A multiple-choice "Other" has no option column of its own: a text in ``[other]`` means it was
chosen. A list's "Other" is the answer ``-oth-`` with its text in ``[other]``; a list with
comment writes its text in ``[comment]``, read as the question's "Other" text column.
"""

from __future__ import annotations

import re

from belmig.core.codebook import Codebook, Question
from belmig.ingest.labels import SAV_VAR_LABEL_BYTES, _match_truncated
from belmig.ingest.notes import NOTE
from belmig.ingest.platforms.base import Context, Layout
from belmig.ingest.raw import TIMESTAMP_FORMAT, _norm, _Raw
from belmig.ingest.tidy import QInput, Tidy

NAME = "limesurvey"
ADMIN = {
    "id": "response_id",
    "response id": "response_id",
    "submitdate": "submitted_at",
    "date submitted": "submitted_at",
    "startdate": "started_at",
    "date started": "started_at",
}
IDENTIFIERS = ("ipaddr", "ip address", "refurl", "referrer url", "token", "email", "firstname", "lastname")
METADATA = ("lastpage", "last page", "startlanguage", "start language", "seed", "datestamp", "date last action")
OTHER_WORDS = ("Другое", "Other", "Інше", "Kita", "Andere", "Autre", "Otro")
TICKED = ("Y", "Да", "Yes", "1")
UNTICKED = ("", "Нет", "No", "N/A", "0", "Not Selected")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\[[A-Za-z0-9_]+\])?$")
_SAV_SUB = re.compile(r"^\[(.*?)\]\s*(.*)$", re.S)
TIMES = (TIMESTAMP_FORMAT, "%Y-%m-%d %H:%M")


# LimeSurvey's default export holds the incomplete responses too, with no submission date
INCOMPLETE = "LimeSurvey leaves the submission date empty for an incomplete response: export 'Completed responses only'"


# "Question code & question text" headings: the code, LimeSurvey's separator (". ") and the text
_CODE_TEXT = re.compile(r"^([A-Za-z][A-Za-z0-9_]*(?:\[[A-Za-z0-9_]+\])*)\. (.+)$", re.S)


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    L = Layout(raw, cb, NAME, ctx)
    if raw.spss is not None:
        L.labels = list(raw.spss.labels)
    coded = [_CODE_TEXT.match(h) for h in L.names]
    if sum(m is not None for m in coded) >= 3:  # headings "Q01. <question text>": read by their text
        L.names = [m.group(2) if m is not None else h for h, m in zip(L.names, coded, strict=True)]
    L.duplicates()
    over = L.overlay_admin()
    L.overlay_drop()
    for j in L.unclaimed():
        key = _norm(L.names[j])
        role = ADMIN.get(key)
        if role is not None and role not in over:
            if role == "response_id":
                L.tidy.response_id = L.claim(j, role)
            else:
                t = L.time(j, TIMES)
                if role == "submitted_at":
                    t.if_missing = INCOMPLETE
                setattr(L.tidy, role, t)
        elif key in IDENTIFIERS:
            L.tidy.identifiers.append(L.claim(j, "identifier"))
        elif key in METADATA:
            L.tidy.metadata.append(L.claim(j, "metadata"))
    for cid, j in over.items():
        if j is not None:
            if cid == "response_id":
                L.tidy.response_id = L.claim(j, cid)
            else:
                setattr(L.tidy, cid, L.time(j, TIMES))
    texts = [_text_of(L, j) for j in range(len(L.names))]
    for c in cb.identifier_columns():  # e-mail and contact questions of the survey
        for j in L.unclaimed():
            if texts[j] is not None and _same(raw, texts[j][1], c.column, texts[j][2]) and texts[j][0] is None:
                L.tidy.identifiers.append(L.claim(j, "identifier"))
    missing = []
    for q in cb.questions:
        qi = L.explicit(q, TICKED, UNTICKED, ";") or _question(L, q, texts)
        if qi is None:
            missing.append(q)
            continue
        if qi.other is None and q.other_column:
            j = L.find(q.other_column)
            if j is not None:
                qi.other = L.claim(j, q.id)
        if qi.other is not None and not qi.other_mode:
            has_col = any(o.other and o.key in qi.ticks for o in q.options)
            qi.other_mode = "column" if q.type != "multi" or has_col else "implies"
        L.tidy.questions.append(qi)
    coded = [h for h in L.names if _CODE.match(h) and "[" in h]
    if missing and len(missing) > len(cb.questions) // 2 and coded:
        L.problem(
            None,
            f"question-code headings ({coded[0]!r}…): the question texts are only in the survey structure, so "
            f"{len(missing)} codebook question(s) cannot be found",
            "draft a mapping with `python -m belmig map-export FILE --definition survey.lss` and set ingest.mapping, "
            "or export with 'Full question text' headings and 'Full answers'",
            check="needs_mapping",
        )
        for j in L.unclaimed():
            L.tidy.unknown.append(L.claim(j, "unmapped"))  # unplaced, reported once above
    else:
        for q in missing:
            L.missing(q, q.column)
    L.unknown()
    return L.tidy


def _same(raw: _Raw, text: str, header: str, cut: bool = False) -> bool:
    """Whether a heading's question text is `header` (an SPSS label cut at 256 bytes: a prefix)."""
    if _norm(text) == _norm(header):
        return True
    return cut and len(_norm(text)) >= 20 and _norm(header).startswith(_norm(text))


def _text_of(L: Layout, j: int) -> tuple[str | None, str, bool] | None:
    """(subquestion or None, question text, cut) a column's heading or SPSS label stands for."""
    if L.raw.spss is not None:
        label = L.labels[j]
        if not label:
            return None
        cut = len(label.encode("utf-8")) >= SAV_VAR_LABEL_BYTES - 4
        m = _SAV_SUB.match(label)
        return (m.group(1).strip(), m.group(2).strip(), cut) if m else (None, label.strip(), cut)
    h = L.names[j]
    if h.endswith("]") and " [" in h:
        i = h.rindex(" [")
        return h[i + 2 : -1].strip(), h[:i].strip(), False
    return None, h, False


def _question(L: Layout, q: Question, texts: list) -> QInput | None:
    raw = L.raw
    sav = raw.spss is not None
    other_key = next((o.key for o in q.options if o.other), None)
    extra = {w: other_key for w in OTHER_WORDS} if other_key else {}
    extra["-oth-"] = other_key if other_key else extra.get("-oth-")
    extra = {k: v for k, v in extra.items() if v}
    qi = QInput(q, "ticks" if q.type == "multi" else "cell", ticked=TICKED, unticked=UNTICKED)
    qi.method = NOTE("method_variable_label" if sav else "method_heading")
    options = {}
    for o in q.options:
        for t in (o.label_ru, *o.aliases):
            options[_norm(t)] = o
    words = {_norm(w) for w in OTHER_WORDS} | {"other", "comment", "othercomment"}
    for j in L.unclaimed():
        t = texts[j]
        if t is None or not _same(raw, t[1], q.column, t[2]):
            continue
        sub = t[0]
        if sub is None and q.type != "multi" and qi.cell is None:
            qi.cell = L.claim(j, q.id)
        elif sub is not None and _norm(sub) in words and q.other_column:
            qi.other = L.claim(j, q.id)
        elif sub is not None and q.type == "multi" and _norm(sub) in options:
            qi.ticks[options[_norm(sub)].key] = L.claim(j, q.id)
        elif sub is not None and q.type == "multi" and sav and _match_truncated(sub, list(options), 120):
            qi.ticks[options[_norm(_match_truncated(sub, list(options), 120))].key] = L.claim(j, q.id)
    if q.type == "multi" and not qi.ticks:
        return None
    if q.type != "multi" and qi.cell is None:
        return None
    if q.is_choice and qi.cell is not None:
        vl = raw.spss.value_labels.get(L.names[qi.cell.j], {}) if sav else {}
        qi.answers = L.answers(q, extra=extra, value_labels=dict(vl))
    if q.type == "multi":
        for o in q.options:
            if o.key not in qi.ticks and not (o.other and qi.other is not None):
                L.problem(repr(q.column), f"has no column for option {o.label_ru!r} of question {q.id!r}")
    return qi
