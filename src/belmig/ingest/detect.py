"""Which platform wrote the export: told from the file itself.

Signatures, first match wins (``evidence`` says what was seen, for the ingest report):

* ``.sav`` with LimeSurvey's admin variables (``id``, ``submitdate``, ``lastpage``,
  ``startlanguage``) → ``limesurvey``; any other ``.sav`` → ``spss``; ``.dta`` → ``stata``;
* Qualtrics' metadata names in the first header row (``StartDate``, ``EndDate``,
  ``ResponseId``…; its ImportId JSON row is checked by the adapter) → ``qualtrics``;
* ``Respondent ID``, ``Collector ID`` → ``surveymonkey``;
* LimeSurvey's admin fields (``id``, ``submitdate``, ``lastpage``, ``startlanguage`` or their
  full-text headings ``Response ID``, ``Date submitted``…) or ``Q03[SQ001]``-style names →
  ``limesurvey``;
* Kobo's meta columns (``_uuid``, ``_submission_time``, ``_index``) → ``kobo``;
* a first header that is Google Forms' timestamp (``Отметка времени``, ``Timestamp``…) →
  ``google_forms``;
* the codebook's admin headers → ``generic``; question titles only, no metadata column and no
  "Other" text column → ``google_forms`` (guessed: a sheet that lost its timestamp);
* otherwise ``generic`` (its header check then names what does not match).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from belmig.core import messages
from belmig.core.codebook import Codebook
from belmig.ingest.notes import NOTE
from belmig.ingest.raw import _norm

PLATFORMS = ("generic", "google_forms", "surveymonkey", "qualtrics", "limesurvey", "kobo", "spss", "stata")
FORMATS = {
    "generic": (".csv", ".xlsx"),
    "google_forms": (".csv", ".xlsx"),
    "surveymonkey": (".csv", ".xlsx"),
    "qualtrics": (".csv", ".xlsx"),
    "limesurvey": (".csv", ".xlsx", ".sav"),  # its "Microsoft Excel" export too
    "kobo": (".csv", ".xlsx"),
    "spss": (".sav",),
    "stata": (".dta",),
}
# Google Sheets' header of the submission time, by the form's language
GOOGLE_TIMESTAMP = (
    "Отметка времени",
    "Timestamp",
    "Zeitstempel",
    "Horodateur",
    "Marca temporal",
    "Informazioni cronologiche",
    "Carimbo de data/hora",
    "Sygnatura czasowa",
    "Позначка часу",
    "Laiko žymė",
)
QUALTRICS_META = ("startdate", "enddate", "responseid", "recordeddate", "finished", "progress")
LS_ADMIN_CODES = ("id", "submitdate", "lastpage", "startlanguage")
LS_ADMIN_FULL = ("response id", "date submitted", "last page", "start language")
KOBO_META = ("_uuid", "_submission_time", "_index", "_id", "_validation_status")
_LS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\[[A-Za-z0-9_]+\]$")


@dataclass
class Detection:
    platform: str
    note: messages.Note  # what was seen (belmig.ingest.notes), worded by each edition of the report

    @property
    def evidence(self) -> str:
        """What was seen, in English."""
        return str(self.note)


def from_spss_names(suffix: str, names: list[str]) -> Detection:
    if suffix == ".dta":
        return Detection("stata", NOTE("stata_file"))
    low = {n.lower() for n in names}
    if set(LS_ADMIN_CODES) <= low:
        return Detection("limesurvey", NOTE("spss_limesurvey"))
    return Detection("spss", NOTE("spss_file"))


def from_rows(rows: list[list[str]], cb: Codebook) -> Detection:
    """The platform from the first header rows of a CSV/XLSX export."""
    first = [h.strip() for h in (rows[0] if rows else [])]
    low = [_norm(h) for h in first]
    have = set(low)
    q_meta = [m for m in QUALTRICS_META if m in have]
    if len(q_meta) >= 3:
        return Detection("qualtrics", NOTE("qualtrics", columns=", ".join(first[low.index(m)] for m in q_meta[:4])))
    # Qualtrics without its metadata columns: the legacy export (V1, V2… then the question texts)
    # and the current one with "all fields" unticked (its third row holds {"ImportId": …})
    if low[:5] == [f"v{i}" for i in range(1, 6)]:
        return Detection("qualtrics", NOTE("qualtrics_legacy"))
    third = [c.strip() for c in rows[2]] if len(rows) > 2 else []
    ids = [c for c in third if c.startswith("{") and '"importid"' in c.lower()]
    if third and len(ids) >= max(1, len([c for c in third if c]) // 2):
        return Detection("qualtrics", NOTE("qualtrics_import_ids", first=ids[0]))
    if low[:2] == ["respondent id", "collector id"]:
        return Detection("surveymonkey", NOTE("surveymonkey"))
    if set(LS_ADMIN_CODES) <= have:
        return Detection("limesurvey", NOTE("limesurvey_codes"))
    if set(LS_ADMIN_FULL) <= have:
        return Detection("limesurvey", NOTE("limesurvey_headings"))
    ls_names = [h for h in first if _LS_NAME.match(h)]
    if ls_names and "id" in have:
        return Detection("limesurvey", NOTE("limesurvey_questions", first=ls_names[0]))
    k_meta = [m for m in KOBO_META if m in have]
    if len(k_meta) >= 2:
        return Detection("kobo", NOTE("kobo", columns=", ".join(k_meta)))
    if first and _norm(first[0]) in {_norm(t) for t in GOOGLE_TIMESTAMP}:
        return Detection("google_forms", NOTE("google_forms", column=repr(first[0])))
    admin = {_norm(c.column) for c in cb.columns if c.role == "admin"}
    if admin & have:
        columns = ", ".join(sorted(c.column for c in cb.columns if _norm(c.column) in have and c.role == "admin"))
        return Detection("generic", NOTE("codebook_admin", columns=columns))
    questions = {_norm(q.column) for q in cb.questions}
    others = {_norm(q.other_column) for q in cb.questions if q.other_column}
    hits = len(questions & have)
    if hits >= max(1, len(questions) // 2) and not others & have:
        return Detection("google_forms", NOTE("google_forms_guess"))
    return Detection("generic", NOTE("no_signature"))


def check_format(platform: str, path: Path) -> str | None:
    """A problem when `platform` does not write files like `path`."""
    ok = FORMATS.get(platform, ())
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".txt"):  # delimited text: read as a CSV (the delimiter is sniffed)
        suffix = ".csv"
    if suffix not in ok:
        return f"{platform} exports are {' or '.join(ok)} files, not {path.suffix!r}"
    return None
