"""``generic``: the codebook's own layout (what ``synth`` writes).

One header row: the codebook ``columns`` (response id, start and submission time, identifiers)
and every question's ``column`` (and ``other_column``); several answers in one cell joined by
``meta.multi_separator`` (or the question's ``separator``); answers as ``label_ru`` (or an
alias); times ``YYYY-MM-DD HH:MM:SS`` in the study's time zone. A question may instead be laid
out as one column per option (codebook ``option_columns``) or written as codes (``codes``).
"""

from __future__ import annotations

from belmig.core.codebook import Codebook
from belmig.ingest.platforms.base import Context, Layout, generic_times
from belmig.ingest.raw import _Raw
from belmig.ingest.tidy import Tidy

NAME = "generic"
TICKED = ("1", "Y", "Да", "Yes", "True")
UNTICKED = ("0", "N", "Нет", "No", "False")


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    L = Layout(raw, cb, NAME, ctx)
    L.duplicates()
    if raw.fmt == "xlsx":
        for j, h in enumerate(L.names, start=1):
            if not h:
                L.problem(None, f"header cell {j} is empty", order=j - 1)
    over = L.overlay_admin()
    L.overlay_drop()
    L.codebook_identifiers()
    for c in cb.columns:
        if c.role == "identifier":
            continue
        if c.id in over:
            j = over[c.id]
        else:
            j = L.find(c.column)
            if j is None:
                L.missing(None, c.column)
                continue
        if j is None:
            continue  # stated lacking by the overlay
        if c.id == "response_id":
            L.tidy.response_id = L.claim(j, c.id)
        elif c.id in ("started_at", "submitted_at"):
            setattr(L.tidy, c.id, L.time(j, generic_times()))
        else:
            L.tidy.admin_extra[c.id] = L.claim(j, c.id)
    if "submitted_at" not in over and not any(c.id == "submitted_at" for c in cb.columns):
        L.problem(None, f"{cb.source}: the codebook must declare an admin column 'submitted_at'")
    sep = cb.multi_separator
    for q in cb.questions:
        qi = L.explicit(q, TICKED, UNTICKED, sep) or L.cell(q, sep)
        if qi is None:
            L.missing(q, q.column)
            continue
        L.other(q, qi, "column")
        L.tidy.questions.append(qi)
    L.unknown()
    return L.tidy
