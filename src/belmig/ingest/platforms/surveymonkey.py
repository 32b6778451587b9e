"""``surveymonkey``: "All individual responses", expanded columns (CSV).

Two header rows. Row 1: ``Respondent ID, Collector ID, Start Date, End Date, IP Address,
Email Address, First Name, Last Name, Custom Data 1``, then each question's text over the
first of its columns (the others are empty in row 1). Row 2: empty under the metadata;
``Response`` under a single-choice or rating column, ``Open-Ended Response`` under a text
column, the option's text under each option column of a multiple-choice question, ``Other
(please specify)`` under an "Other" text column.

A ticked option's column holds the option's text, an unticked one is empty. "Other" has no
option column: its text is in the "Other (please specify)" column, and for a single-choice
question the ``Response`` cell is left empty when "Other" is chosen (so a text beside an empty
answer means "Other"; a text beside an answer is counted as an "Other" text with no "Other"
chosen). Dates ``06/01/2022 08:19:24 AM`` in the account's time zone, which the file does not
state (read as the study's). IP, e-mail, names and custom data are identifiers.
"""

from __future__ import annotations

import re

from belmig.core.codebook import Codebook, Question
from belmig.ingest.notes import NOTE
from belmig.ingest.platforms.base import Context, Layout
from belmig.ingest.raw import TIMESTAMP_FORMAT, _norm, _Raw
from belmig.ingest.tidy import QInput, Tidy

NAME = "surveymonkey"
# the CSV's text; an xlsx download's date cells (read as TIMESTAMP_FORMAT by belmig.ingest.xlsx)
TIME = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", TIMESTAMP_FORMAT)
META = {
    "respondent id": "response_id",
    "collector id": "metadata",
    "start date": "started_at",
    "end date": "submitted_at",
    "ip address": "identifier",
    "email address": "identifier",
    "first name": "identifier",
    "last name": "identifier",
}
_CUSTOM = re.compile(r"^custom data \d+$")
RESPONSE = ("response",)
OPEN = ("open-ended response",)
OTHER = ("other (please specify)", "other", "другое (укажите)", "другое (пожалуйста, укажите)", "другое")


def _second_row_ok(row2: list[str], row1: list[str]) -> bool:
    """Row 2 is SurveyMonkey's labels row: empty under the metadata, 'Response'... under questions."""
    meta = [j for j, h in enumerate(row1) if _norm(h) in META or _CUSTOM.match(_norm(h))]
    if any(row2[j].strip() for j in meta if j < len(row2)):
        return False
    return any(_norm(c) in RESPONSE + OPEN for c in row2)


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    row2 = raw.rows[0] if raw.rows else []
    if not _second_row_ok(row2, raw.header):
        L = Layout(raw, cb, NAME, ctx)
        L.problem(
            None,
            "SurveyMonkey's second header row is missing: row 2 holds a response (its 'Respondent ID' is not "
            "empty), not the row of 'Response' / option texts / 'Other (please specify)' under the questions, "
            "so the option columns of the multiple-choice questions cannot be told apart",
            "export 'All individual responses' again, with both header rows",
        )
        return L.tidy
    raw.take_header_rows(2)
    L = Layout(raw, cb, NAME, ctx)
    L.tidy.header_rows = 2
    L.labels = [c.strip() for c in raw.more_header[0]]
    over = L.overlay_admin()
    L.overlay_drop()
    # metadata columns, then each question's columns (row 1 forward-filled)
    groups: dict[str, list[int]] = {}
    current = None
    for j, h in enumerate(L.names):
        key = _norm(h)
        role = META.get(key) or ("identifier" if _CUSTOM.match(key) else None)
        if role is not None and current is None:
            if role in ("response_id", "started_at", "submitted_at"):
                if role not in over:
                    if role == "response_id":
                        L.tidy.response_id = L.claim(j, role)
                    else:
                        setattr(L.tidy, role, L.time(j, TIME))
            elif role == "identifier":
                L.tidy.identifiers.append(L.claim(j, role))
            else:
                L.tidy.metadata.append(L.claim(j, role))
            continue
        if h:
            current = h
        if current is not None:
            groups.setdefault(_norm(current), []).append(j)
            L.names[j] = current
    for cid, j in over.items():
        if j is None:
            continue
        if cid == "response_id":
            L.tidy.response_id = L.claim(j, cid)
        else:
            setattr(L.tidy, cid, L.time(j, TIME))
    for c in cb.identifier_columns():
        for j in groups.pop(_norm(c.column), []):
            L.tidy.identifiers.append(L.claim(j, "identifier"))
    for q in cb.questions:
        qi = L.explicit(q, ("<label>",), (), ";")
        if qi is None:
            js = groups.get(_norm(q.column))
            if not js:
                L.missing(q, q.column)
                continue
            qi = _question(L, q, [j for j in js if j not in L.claimed])
        if qi is not None:
            L.tidy.questions.append(qi)
    if _numeric_values(L, raw):
        L.problem(
            None,
            "a 'Numerical value' export: the answers are the positions of the choices (1, 2, 3...), "
            "not their texts, and the file does not say which text each number stands for",
            "export 'All individual responses' again with 'Actual answer text' (Columns: Expanded)",
            check="numeric_values",
        )
        L.tidy.questions = []  # unread: a cell problem per answer would only repeat it
    L.unknown()
    return L.tidy


def _numeric_values(L: Layout, raw: _Raw) -> bool:
    """Whether the single-choice answers are numbers where the options are words (SurveyMonkey's
    "Numerical value" download): nearly every answer of three questions or more."""
    digits = filled = questions = 0
    for qi in L.tidy.questions:
        if qi.q.type != "single" or qi.cell is None or any(str(o.label("ru")).isdigit() for o in qi.q.options):
            continue
        cells = raw.column(qi.cell.j).astype(str).str.strip()
        cells = cells[cells != ""]
        if len(cells):
            questions += 1
            filled += len(cells)
            digits += int(cells.str.fullmatch(r"\d+").sum())
    return questions >= 3 and digits >= 0.95 * filled


def _question(L: Layout, q: Question, js: list[int]) -> QInput | None:
    qi = QInput(q, "ticks" if q.type == "multi" else "cell", ticked=("<label>",), method=NOTE("method_question_text"))
    qi.answers = L.answers(q)
    labels = {}
    for o in q.options:
        for t in (o.label_ru, *o.aliases):
            labels[_norm(t)] = o.key
    for j in js:
        lab = _norm(L.labels[j])
        if lab in RESPONSE + OPEN and qi.cell is None and q.type != "multi":
            qi.cell = L.claim(j, q.id)
        elif lab in OTHER and q.other_column:
            qi.other = L.claim(j, q.id)
            qi.other_mode = "implies" if q.type == "multi" else "beside_empty"
        elif q.type == "multi" and lab in labels and labels[lab] not in qi.ticks:
            qi.ticks[labels[lab]] = L.claim(j, q.id)
        else:
            src = L.claim(j, q.id)
            expected = ", ".join(repr(o.label_ru) for o in q.options if not o.other)
            L.problem(
                src.show(),
                f"is a column of question {q.id!r} whose row-2 label matches none of its options:",
                f"expected 'Response', 'Other (please specify)' or an option text ({expected})",
                order=j,
                value=L.labels[j],
            )
    if q.type == "multi":
        for o in q.options:
            if o.key not in qi.ticks and not (o.other and qi.other is not None):
                L.problem(
                    repr(q.column),
                    f"has no column for option {o.label_ru!r} of question {q.id!r}",
                    "row 2 must hold the option's text",
                    order=js[0] if js else -1,
                )
    elif qi.cell is None:
        L.problem(repr(q.column), f"has no 'Response' column (question {q.id!r})", order=js[0] if js else -1)
        return None
    return qi
