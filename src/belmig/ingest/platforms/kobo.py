"""``kobo``: a KoboToolbox (KPI / formpack) export, CSV or XLSX, XML names or labels.

Columns: ``start``, ``end``, the questions in form order, then the meta columns ``_id``,
``_uuid``, ``_submission_time``, ``_validation_status``, ``_notes``, ``_status``,
``_submitted_by``, ``__version__``, ``_tags``, ``_index``. With "Labels" a header is the question
label (= the codebook ``column``); with "XML values and headers" it is the XML name, with
"Include groups in headers" its group path (``g2/why_left``): that layout needs a mapping
overlay drafted from the XLSForm (``python -m belmig map-export FILE --definition form.xlsx``).

A select_multiple is written "both": a summary cell (the chosen choices separated by spaces:
names, or labels, which contain spaces themselves) and one ``question/choice`` column per
choice holding ``1`` / ``0`` (empty when the question was not answered). The 1/0 columns are
read; the summary is cross-checked against them (split by matching the known labels). "Other"
is the choice ``other`` plus a ``<name>_other`` text question. ``start`` / ``end`` are ISO 8601
with an offset (converted to the study's zone) or, in XLSX, date cells in local time;
``end`` is the submission time (``_submission_time`` is the server's receipt, in UTC).
``_uuid`` is the response id. Kobo records no IP address; ``_submitted_by``, device and phone
ids and ``_geolocation`` are identifiers.
"""

from __future__ import annotations

from belmig.core.codebook import Codebook, Question
from belmig.ingest.notes import NOTE
from belmig.ingest.platforms.base import Context, Layout
from belmig.ingest.raw import TIMESTAMP_FORMAT, _norm, _Raw
from belmig.ingest.tidy import QInput, Tidy
from belmig.ingest.times import ISO

NAME = "kobo"
ADMIN = {"start": "started_at", "end": "submitted_at", "_uuid": "response_id"}
IDENTIFIERS = (
    "_submitted_by",
    "username",
    "deviceid",
    "phonenumber",
    "simserial",
    "subscriberid",
    "_geolocation",
    "email",
)
METADATA = (
    "_id",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "__version__",
    "_tags",
    "_index",
    "_attachments",
    "_xform_id_string",
    "today",
    "instanceid",
    "rootuuid",
    "deprecatedid",
    "uuid",
    "instancename",
    "audit",
)
TIMES = (ISO, TIMESTAMP_FORMAT)
SEPARATOR = " "


def _leaf(header: str) -> str:
    return _norm(header.rsplit("/", 1)[-1])


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    L = Layout(raw, cb, NAME, ctx)
    L.duplicates()
    over = L.overlay_admin()
    L.overlay_drop()
    for j in L.unclaimed():
        leaf = _leaf(L.names[j])
        role = ADMIN.get(leaf)
        if role is not None and role not in over and _norm(L.names[j]) == leaf:  # top level, not a question
            if role == "response_id":
                L.tidy.response_id = L.claim(j, role)
            else:
                setattr(L.tidy, role, L.time(j, TIMES))
        elif leaf in IDENTIFIERS:
            L.tidy.identifiers.append(L.claim(j, "identifier"))
        elif leaf in METADATA or L.names[j].startswith("formhub/"):
            L.tidy.metadata.append(L.claim(j, "metadata"))
    for cid, j in over.items():
        if j is not None:
            if cid == "response_id":
                L.tidy.response_id = L.claim(j, cid)
            else:
                setattr(L.tidy, cid, L.time(j, TIMES))
    L.codebook_identifiers()
    for c in cb.identifier_columns():  # under a group path too: dropped unread all the same
        k = _in_group(L, c.column) if L.find(c.column, unclaimed=False) is None else None
        if k is not None:
            L.tidy.identifiers.append(L.claim(k, "identifier"))
    missing = []
    for q in cb.questions:
        qi = L.explicit(q, ("1",), ("0",), SEPARATOR)
        if qi is None:
            qi = _question(L, q)
        if qi is None:
            missing.append(q)
            continue
        if q.other_column and qi.other is None:
            k = _in_group(L, q.other_column) if L.find(q.other_column) is None else None
            if k is not None:  # under the question's group path, as the question itself
                qi.other, qi.other_mode = L.claim(k, q.id), "column"
            else:
                L.other(q, qi, "column")
        elif qi.other is not None:
            qi.other_mode = "column"
        L.tidy.questions.append(qi)
    paths = [h for h in L.names if "/" in h]
    if missing and len(missing) > len(cb.questions) // 2 and paths:
        L.problem(
            None,
            f"XML names as headers ({paths[0]!r}…): the question labels are only in the XLSForm, so "
            f"{len(missing)} codebook question(s) cannot be found",
            "draft a mapping with `python -m belmig map-export FILE --definition form.xlsx` and set ingest.mapping, "
            "or export with 'Labels'",
            check="needs_mapping",
        )
        for j in L.unclaimed():
            L.tidy.unknown.append(L.claim(j, "unmapped"))  # unplaced, reported once above
    else:
        for q in missing:
            L.missing(q, q.column)
    L.unknown()
    return L.tidy


def _in_group(L: Layout, text: str) -> int | None:
    """The one unclaimed header that is `text` under a group path ("Основная часть/<label>": a
    labels export of a form whose questions sit in groups writes the group's label first)."""
    tail = "/" + _norm(text)
    hits = [k for k in L.unclaimed() if _norm(L.names[k]).endswith(tail)]
    return hits[0] if len(hits) == 1 else None


def _option_columns(L: Layout, q: Question) -> dict[str, int]:
    """{option key: unclaimed column} of a multiple answer's option columns, headed
    ``<label>/<option label>`` under any group path (the first such column of each option)."""
    own = _norm(q.column) + "/"
    options = {_norm(t): o.key for o in q.options for t in (o.label_ru, *o.aliases)}
    out: dict[str, int] = {}
    for k in L.unclaimed():
        h = _norm(L.names[k])
        if h.startswith(own):
            rest = h[len(own) :]
        elif (at := h.rfind("/" + own)) >= 0:  # under a group path
            rest = h[at + 1 + len(own) :]
        else:
            continue
        key = options.get(rest)
        if key is not None:
            out.setdefault(key, k)
    return out


def _question(L: Layout, q: Question) -> QInput | None:
    j = L.find(q.column)
    if j is None:
        j = _in_group(L, q.column)
    if j is None and q.type == "multi" and _option_columns(L, q):
        # "separate columns" only (the export's select_multiple format without the summary column)
        return _ticks(L, q, QInput(q, "ticks", ticked=("1",), unticked=("0",)))
    if j is None:
        return None
    qi = QInput(q, "ticks" if q.type == "multi" else "cell", cell=L.claim(j, q.id), ticked=("1",), unticked=("0",))
    qi.separator = q.separator or SEPARATOR
    qi.answers = L.answers(q)
    qi.method = NOTE("method_header_labels")
    qi.scale_codes = {k: int(v) for k, v in q.codes.items()} if q.type == "scale" else {}
    if q.type != "multi":
        return qi
    return _ticks(L, q, qi)


def _ticks(L: Layout, q: Question, qi: QInput) -> QInput:
    """The option columns of a multiple answer (``<label>/<option label>``, under any group path)."""
    qi.separator = q.separator or SEPARATOR
    qi.answers = L.answers(q)
    qi.method = NOTE("method_header_labels")
    for key, k in _option_columns(L, q).items():
        qi.ticks[key] = L.claim(k, q.id)
    if not qi.ticks:  # a summary cell only: read it as the answer
        qi.kind = "joined"
        return qi
    for o in q.options:
        if o.key not in qi.ticks:
            L.problem(repr(q.column), f"has no column {q.column + '/' + o.label_ru!r} for option {o.key!r} of {q.id!r}")
    return qi
