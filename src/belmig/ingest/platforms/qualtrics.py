"""``qualtrics``: Data & Analysis → Export → CSV (the current exporter, three header rows).

Row 1: export tags and metadata names (``StartDate``, ``EndDate``, ``ResponseId``…, ``Q1``,
``Q3_1``, ``Q3_5_TEXT``); row 2: labels (the question text, ``question - choice`` for split
multiple-choice columns, ``question - Selected Choice`` [``- choice``] when a choice takes
text, ``question - choice - Text`` for that text); row 3: ImportId JSON
(``{"ImportId":"QID3","choiceId":"1"}``; the date columns carry ``timeZone``). As
``qualtRics::read_survey`` does, rows 2–3 are metadata; a file whose row 3 is no ImportId row
is refused (the legacy two-row format and a row deleted in Excel look alike).

Questions are matched by their row-2 label (the codebook ``column``); the choice part names the
option. With "Use choice text" answers are choice texts; with "Use numeric values" they are
the survey's RecodeValues, which only the survey definition (.qsf) states: such an export needs
a mapping overlay (``python -m belmig map-export FILE --definition survey.qsf``). Split
multiple-choice columns hold the choice text (or 1) when ticked; unsplit, one column holds the
chosen texts joined by ",". Times are
``YYYY-MM-DD HH:MM:SS`` in the ImportId's ``timeZone`` (converted to the study's). IP address,
recipient names and e-mail, external reference and the IP geolocation are identifiers. The
columns of "Export viewing order data" (``Q3_DO``, ImportId ``QID3_DO``; ``FL_6_DO``: the order
the choices, questions or blocks were shown in) are metadata.

``Status`` says what a response is: 0 / "IP Address" (a respondent), 4 / "Imported" and 16 /
"Offline" (the offline app) are responses; 1 "Survey Preview", 2 "Survey Test", 8 "Spam", 9
"Preview Spam" are not, and ``Finished`` 0 / "False" is a response closed before its end (the
"Recorded responses" export holds them). Such a row is an error naming its row and value, never
a respondent counted without a word (filter the export, or delete the rows).
"""

from __future__ import annotations

import json

from belmig.core.codebook import Codebook, Question
from belmig.ingest.errors import _Problem
from belmig.ingest.notes import NOTE
from belmig.ingest.platforms.base import Context, Layout
from belmig.ingest.raw import TIMESTAMP_FORMAT, _norm, _Raw
from belmig.ingest.tidy import QInput, Source, Tidy

NAME = "qualtrics"
ADMIN = {"startDate": "started_at", "endDate": "submitted_at", "_recordId": "response_id"}
IDENTIFIERS = {
    "ipAddress",
    "recipientLastName",
    "recipientFirstName",
    "recipientEmail",
    "externalDataReference",
    "locationLatitude",
    "locationLongitude",
}
META_NAMES = {
    "StartDate": "startDate",
    "EndDate": "endDate",
    "ResponseId": "_recordId",
    "Status": "status",
    "Finished": "finished",
    "IPAddress": "ipAddress",
    "RecipientLastName": "recipientLastName",
    "RecipientFirstName": "recipientFirstName",
    "RecipientEmail": "recipientEmail",
    "ExternalReference": "externalDataReference",
    "LocationLatitude": "locationLatitude",
    "LocationLongitude": "locationLongitude",
}


# Qualtrics' response types ("Understanding your dataset"): the codes and the words of each
RESPONSE_STATUS = {"0", "4", "16", "ip address", "imported", "offline"}
NOT_A_RESPONSE = {
    "1": "a survey preview",
    "2": "a survey test",
    "8": "spam",
    "9": "preview spam",
    "survey preview": "a survey preview",
    "survey test": "a survey test",
    "spam": "spam",
    "preview spam": "preview spam",
}
UNFINISHED = {"0", "false"}


def _status_problem(v: str) -> str | None:
    s = v.lower()
    if not s or s in RESPONSE_STATUS:
        return None
    return f"Qualtrics marks this row as {NOT_A_RESPONSE.get(s, 'not a response Qualtrics counts')}, not a respondent's answers:"


def _finished_problem(v: str) -> str | None:
    return "the respondent did not finish (Qualtrics closed the response):" if v.lower() in UNFINISHED else None


_ROW_CHECKS = (  # (what a cell says, the hint, the check's id)
    (_status_problem, "export again with a filter on Response Type (IP Address, Imported) or delete the row",
     "not_a_response"),
    (_finished_problem, "export again with a filter Finished = True (the default export holds the recorded "
     "partial responses), or delete the row", "unfinished"),
)  # fmt: skip


def _status_check(status: Source | None, finished: Source | None):
    """The rows Qualtrics marks as no respondent's (Status) or as not finished (Finished)."""

    def check(cells, keys) -> list[_Problem]:
        out = []
        for src, (says, hint, kind) in zip((status, finished), _ROW_CHECKS, strict=True):
            if src is None:
                continue
            for row, v in cells(src).items():
                s = str(v).strip()
                problem = says(s)
                if problem is not None:
                    out.append(_Problem(row, src.show(), problem, s, hint, kind, src.j))
        return out

    return check


def _import_id(cell: str) -> dict | None:
    try:
        v = json.loads(cell)
    except (ValueError, TypeError):
        return None
    return v if isinstance(v, dict) and isinstance(v.get("ImportId"), str) else None


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    L = Layout(raw, cb, NAME, ctx)
    rows = raw.rows or []
    if sum(1 for h in L.names if h.startswith("V") and h[1:].isdigit()) >= 5:
        L.problem(
            None, "a legacy Qualtrics export (two header rows, V1, V2…) is not supported", "export it again as CSV"
        )
        return L.tidy
    row3 = rows[1] if len(rows) > 1 else []
    ids = [_import_id(c) for c in row3]
    filled = [c for c in row3 if c.strip()]
    if not filled or sum(v is not None for v in ids) < len(filled) / 2:
        L.problem(
            None,
            'Qualtrics\' third header row (ImportId JSON, e.g. {"ImportId":"QID1"}) is missing: row 3 is a '
            "response, so the file is neither the current three-row nor the legacy export",
            "export the responses again, or put back the row deleted in a spreadsheet",
        )
        return L.tidy
    raw.take_header_rows(3)
    L.tidy.header_rows = 3
    L.tidy.n = raw.nrows
    L.labels = [c.strip() for c in raw.more_header[0]]
    over = L.overlay_admin()
    L.overlay_drop()
    numeric = False
    status = finished = None
    for j, (name, imp) in enumerate(zip(L.names, ids)):
        if j in L.claimed:
            continue
        iid = (imp or {}).get("ImportId") or META_NAMES.get(name, "")
        if iid.endswith("_DO") or name.endswith("_DO"):  # "Export viewing order data": the order shown
            L.tidy.metadata.append(L.claim(j, "metadata"))
            continue
        if iid in ADMIN:
            cid = ADMIN[iid]
            if cid in over:
                continue
            if cid == "response_id":
                L.tidy.response_id = L.claim(j, cid)
            else:
                zone = (imp or {}).get("timeZone")
                setattr(L.tidy, cid, L.time(j, (TIMESTAMP_FORMAT,), zone=zone, stated=bool(zone)))
        elif iid in IDENTIFIERS:
            L.tidy.identifiers.append(L.claim(j, "identifier"))
        elif iid and not iid.startswith("QID"):
            src = L.claim(j, "metadata")
            L.tidy.metadata.append(src)
            if iid == "status":
                status = src
            if iid == "finished":
                finished = src
                values = set(raw.column(j).str.strip()) - {""}
                numeric = bool(values) and values <= {"0", "1"}
    for cid, j in over.items():
        if j is not None:
            if cid == "response_id":
                L.tidy.response_id = L.claim(j, cid)
            else:
                setattr(L.tidy, cid, L.time(j, (TIMESTAMP_FORMAT,)))
    for c in cb.identifier_columns():  # an e-mail or contact question of the survey
        for j in [j for j in L.unclaimed() if _norm(L.labels[j]) == _norm(c.column)]:
            L.tidy.identifiers.append(L.claim(j, "identifier"))
    needs_codes = []
    for q in sorted(cb.questions, key=lambda q: -len(q.column)):  # longer texts first: " - " parts
        qi = L.explicit(q, ("<label>", "1"), ("0",), ",")
        if qi is None and q.id in ctx.mapped:  # the mapping names the column (export tag)
            qi = L.cell(q, ",")
        if qi is not None and qi.other is None:
            L.other(q, qi, "column")
        if qi is None:
            qi = _question(L, q)
        if qi is None:
            L.missing(q, q.column)
            continue
        if numeric and q.type in ("single", "scale") and not q.codes:
            needs_codes.append(q.id)
            qi.cell = None  # its cells are recode values: unread until a mapping gives the codes
            qi.method = "not found: recode values need a mapping"
        L.tidy.questions.append(qi)
    L.tidy.questions.sort(key=lambda qi: [q.id for q in cb.questions].index(qi.q.id))
    if needs_codes:
        L.problem(
            None,
            f"a 'Use numeric values' export: the answers to {len(needs_codes)} question(s) ({', '.join(needs_codes[:4])}"
            f"{', …' if len(needs_codes) > 4 else ''}) are recode values, which only the survey definition states",
            "draft a mapping with `python -m belmig map-export FILE --definition survey.qsf` and set ingest.mapping",
            check="needs_mapping",
        )
    if status is not None or finished is not None:
        L.tidy.checks.append(_status_check(status, finished))
    L.unknown()
    return L.tidy


def _question(L: Layout, q: Question) -> QInput | None:
    head = _norm(q.column)
    qi = QInput(q, "ticks" if q.type == "multi" else "cell", ticked=("<label>", "1"), unticked=("0",))
    qi.answers = L.answers(q)
    qi.method = NOTE("method_row2")
    qi.scale_codes = {k: int(v) for k, v in q.codes.items()} if q.type == "scale" else {}
    options = {}
    for o in q.options:
        for t in (o.label_ru, *o.aliases):
            options[_norm(t)] = o
    for j in L.unclaimed():
        lab = _norm(L.labels[j])
        if lab in (head, head + " - selected choice"):
            qi.cell = L.claim(j, q.id)
            if q.type == "multi":  # "split multi-value fields" off: the choices joined by ","
                qi.kind, qi.separator = "joined", q.separator or ","
            continue
        if not lab.startswith(head + " - "):
            continue
        rest = lab[len(head) + 3 :]
        if rest.endswith(" - text") and L.names[j].endswith("_TEXT"):
            if q.other_column:
                qi.other = L.claim(j, q.id)
                qi.other_mode = "column"
            continue
        if rest.startswith("selected choice - "):
            rest = rest[len("selected choice - ") :]
        if q.type == "multi" and rest in options:
            qi.ticks[options[rest].key] = L.claim(j, q.id)
    if q.type == "multi" and not qi.ticks and qi.kind != "joined":
        return None
    if q.type != "multi" and qi.cell is None:
        return None
    if q.type == "multi" and qi.kind == "ticks":
        for o in q.options:
            if o.key not in qi.ticks:
                L.problem(repr(q.column), f"has no column for option {o.label_ru!r} of question {q.id!r}")
    return qi
