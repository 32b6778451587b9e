"""``google_forms``: a Google Sheets download (CSV or XLSX) of a form's responses.

One header row: the submission time (``Отметка времени``, ``Timestamp``... by the sheet's
language), then one column per question titled as in the form (= the codebook ``column``).
There is no response id, no start time and no IP address (Google records when a response was
submitted, nothing else): ids are generated, durations are unknown and the speeder check is
skipped, and the ingest report says so. Checkbox answers are the ticked labels joined by ", ";
the "Other" option is not written: the respondent's typed text takes its place, last in the
cell (for a single-choice question the cell is just that text). Labels may contain ", ", so
cells are split by matching the known labels, and what is left is the "Other" text.
Timestamps are the sheet's display format in its time zone, which the file does not state
(read as the study's): ``01.06.2022 8:30:59`` (Russian), ``6/1/2022 8:30:59`` (en-US); XLSX
date cells are read as dates. The form's own "Download responses (.csv)" writes
``2022/06/01 8:30:59 AM GMT+3``: the offset is stated, and the time converted.
"""

from __future__ import annotations

from belmig.core.codebook import Codebook
from belmig.ingest.detect import GOOGLE_TIMESTAMP
from belmig.ingest.platforms.base import Context, Layout
from belmig.ingest.raw import TIMESTAMP_FORMAT, _norm, _Raw
from belmig.ingest.tidy import Tidy
from belmig.ingest.times import FORMS, ISO

NAME = "google_forms"
SEPARATOR = ", "
# fields Google adds when the form collects them, besides the questions
IDENTIFIERS = ("Адрес электронной почты", "Email Address", "Email address", "Электронная почта")
METADATA = ("Баллы", "Score")
ENGLISH = ("timestamp",)


def formats(header: str) -> tuple[str, ...]:
    """Timestamp formats in the order they are tried; month first for an English sheet."""
    slash = ("%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S")
    if _norm(header) not in ENGLISH:
        slash = slash[::-1]
    # a sheet saved again in a spreadsheet keeps minutes only (Google records no start time, so
    # no duration is lost)
    minutes = tuple(f.replace(":%S", "") for f in ("%d.%m.%Y %H:%M:%S", *slash))
    return (TIMESTAMP_FORMAT, "%d.%m.%Y %H:%M:%S", *slash, ISO, FORMS, *minutes)


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    L = Layout(raw, cb, NAME, ctx)
    L.duplicates()
    over = L.overlay_admin()
    L.overlay_drop()
    L.codebook_identifiers()
    for h in IDENTIFIERS:
        j = L.find(h)
        if j is not None:
            L.tidy.identifiers.append(L.claim(j, "identifier"))
    for h in METADATA:
        j = L.find(h)
        if j is not None:
            L.tidy.metadata.append(L.claim(j, "metadata"))
    ts = over.get("submitted_at") if "submitted_at" in over else None
    if ts is None:
        stamps = {_norm(t) for t in GOOGLE_TIMESTAMP}
        ts = next((j for j in L.unclaimed() if _norm(L.names[j]) in stamps), None)
    if ts is None:
        L.problem(
            repr(GOOGLE_TIMESTAMP[0]),
            f"Google Forms' timestamp column ({GOOGLE_TIMESTAMP[0]!r}, {GOOGLE_TIMESTAMP[1]!r} in an English "
            "sheet) is missing: the file has no submission time at all, so submissions cannot be ordered or dated",
            "download the responses sheet again, with its first column",
        )
    else:
        L.tidy.submitted_at = L.time(ts, formats(L.names[ts]))
    if over.get("response_id") is not None:
        L.tidy.response_id = L.claim(over["response_id"], "response_id")
    if over.get("started_at") is not None:
        L.tidy.started_at = L.time(over["started_at"], formats(L.names[over["started_at"]]))
    for q in cb.questions:
        qi = L.explicit(q, ("1",), ("0",), SEPARATOR) or L.cell(q, SEPARATOR)
        if qi is None:
            L.missing(q, q.column)
            continue
        if q.other_column and L.find(q.other_column) is not None:
            L.other(q, qi, "column")
        elif any(o.other for o in q.options):
            qi.other_mode = "inline"
        L.tidy.questions.append(qi)
    L.tidy.notes.append(
        "Google Forms writes no 'Other' option: a respondent's typed text takes its place in the answer "
        "cell, so a text that matches no answer label is read as 'Other' (for questions that have one)."
    )
    L.unknown()
    return L.tidy
