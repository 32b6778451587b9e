"""What every platform adapter shares: claiming columns, matching headers, stating problems.

An adapter builds a :class:`Layout`: it claims every column of the file for an admin field,
an identifier (dropped unread), a platform metadata column (recognised, not needed) or a
codebook question; whatever is left unclaimed is a problem ("not in the codebook"), and so is
every codebook question it cannot find (with the closest unclaimed header as a suggestion).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from belmig.core import messages
from belmig.core.codebook import Codebook, Question
from belmig.ingest.errors import _Problem
from belmig.ingest.notes import NOTE
from belmig.ingest.raw import TIMESTAMP_FORMAT, _norm, _Raw
from belmig.ingest.tidy import Answers, QInput, Source, Tidy, TimeInput

ADMIN_IDS = ("response_id", "started_at", "submitted_at")


@dataclass
class Context:
    """What the adapter is told besides the file and the codebook (config + mapping overlay)."""

    study_zone: str = "Europe/Vilnius"
    admin: dict[str, str | None] = field(default_factory=dict)  # overlay: admin id -> header (None: lacking)
    identifiers: tuple[str, ...] = ()  # overlay: headers to drop unread
    ignore: tuple[str, ...] = ()  # overlay: headers of platform metadata not needed
    zone: str | None = None  # overlay: zone of the file's naive timestamps
    mapped: frozenset[str] = frozenset()  # question ids the overlay maps
    confidence: dict[str, float] = field(default_factory=dict)  # overlay: question id -> confidence


class Layout:
    """Builds the :class:`Tidy` of one export."""

    def __init__(self, raw: _Raw, cb: Codebook, platform: str, ctx: Context):
        self.raw, self.cb, self.ctx = raw, cb, ctx
        self.tidy = Tidy(raw.path, raw.fmt, platform, raw.nrows, raw.header_rows)
        self.claimed: dict[int, str] = {}
        self.names = [h.strip() for h in raw.header]
        self.labels: list[str] = [""] * len(self.names)
        self._by_norm: dict[str, list[int]] = {}
        for j, h in enumerate(self.names):
            self._by_norm.setdefault(_norm(h), []).append(j)

    # ------------------------------------------------------------------ columns

    def src(self, j: int, name: str | None = None) -> Source:
        return Source(j, self.names[j] if name is None else name, self.labels[j])

    def find(self, header: str, *, unclaimed: bool = True) -> int | None:
        for j in self._by_norm.get(_norm(header), []):
            if not unclaimed or j not in self.claimed:
                return j
        return None

    def claim(self, j: int, what: str) -> Source:
        self.claimed[j] = what
        return self.src(j)

    def unclaimed(self) -> list[int]:
        return [j for j in range(len(self.names)) if j not in self.claimed]

    def problem(
        self,
        column: str | None,
        problem: str,
        hint: str = "",
        order: int = -1,
        check: str = "header",
        value: Any = None,
    ) -> None:
        self.tidy.problems.append(_Problem(None, column, problem, value, hint, check, order))

    # ------------------------------------------------------------------ common parts

    def overlay_admin(self) -> dict[str, int | None]:
        """Admin fields the mapping overlay names ({id: column index}; None = stated lacking)."""
        out: dict[str, int | None] = {}
        for cid, header in self.ctx.admin.items():
            if header is None:
                out[cid] = None
                continue
            j = self.find(header)
            if j is None:
                self.problem(repr(header), f"is missing from the header (the mapping's column for {cid})")
            else:
                out[cid] = j
        return out

    def overlay_drop(self) -> None:
        """Identifiers and ignored metadata the overlay lists."""
        for header in self.ctx.identifiers:
            j = self.find(header)
            if j is not None:
                self.tidy.identifiers.append(self.claim(j, "identifier"))
        for header in self.ctx.ignore:
            j = self.find(header)
            if j is not None:
                self.tidy.metadata.append(self.claim(j, "metadata"))

    def codebook_identifiers(self) -> None:
        for c in self.cb.identifier_columns():
            j = self.find(c.column)
            if j is not None:
                self.tidy.identifiers.append(self.claim(j, "identifier"))

    def time(
        self, j: int, formats: tuple[str, ...], zone: str | None = None, stated: bool = False, hint: str = ""
    ) -> TimeInput:
        return TimeInput(self.claim(j, "time"), formats, zone if zone is not None else self.ctx.zone, stated, hint)

    def answers(self, q: Question, **kw: Any) -> Answers:
        """The question's answer codes (codebook/overlay ``codes``) plus adapter extras."""
        a = Answers(**kw)
        if q.codes and q.type != "scale":
            a.codes = dict(q.codes)
        return a

    def explicit(
        self, q: Question, default_ticked: tuple[str, ...], default_unticked: tuple[str, ...], sep: str
    ) -> QInput | None:
        """The question as the codebook / overlay lays it out (``option_columns``), or None."""
        if not q.option_columns:
            return None
        ticks: dict[str, Source] = {}
        for key, header in q.option_columns.items():
            j = self.find(header)
            if j is None:
                self.missing(q, header, f"the column of option {key!r}")
                continue
            ticks[key] = self.claim(j, q.id)
        summary = self.find(q.column)
        qi = QInput(
            q,
            "ticks",
            cell=self.claim(summary, q.id) if summary is not None else None,
            ticks=ticks,
            ticked=q.ticked or default_ticked,
            unticked=q.unticked or default_unticked,
            separator=q.separator or sep,
            answers=self.answers(q),
            method=self._how(q, NOTE("method_option_columns")),
            confidence=self.ctx.confidence.get(q.id, 1.0),
        )
        return qi

    def other(self, q: Question, qi: QInput, mode: str) -> None:
        """Attach the question's "Other" text column (codebook/overlay ``other_column``)."""
        if not q.other_column:
            return
        j = self.find(q.other_column)
        if j is None:
            self.missing(q, q.other_column, "its 'Other' text")
            return
        qi.other = self.claim(j, q.id)
        qi.other_mode = mode

    def cell(self, q: Question, sep: str, **kw: Any) -> QInput | None:
        """The question in one column headed ``column`` (joined answers for multiple choice)."""
        j = self.find(q.column)
        if j is None:
            return None
        kind = "joined" if q.type == "multi" else "cell"
        scale_codes = {k: int(v) for k, v in q.codes.items()} if q.type == "scale" else {}
        return QInput(
            q,
            kind,
            cell=self.claim(j, q.id),
            separator=q.separator or sep,
            answers=self.answers(q, **kw),
            method=self._how(q, NOTE("method_header")),
            confidence=self.ctx.confidence.get(q.id, 1.0),
            scale_codes=scale_codes,
        )

    def _how(self, q: Question, what: messages.Note) -> messages.Note:
        return NOTE("method_overlay") if q.id in self.ctx.mapped else what

    def missing(self, q: Question | None, header: str, what: str = "") -> None:
        """A codebook header the export does not have, with the closest unclaimed header."""
        unknown = [self.names[j] for j in self.unclaimed() if self.names[j]]
        close = difflib.get_close_matches(header, unknown, n=1, cutoff=0.5)
        if close:
            sug = f"the export has {close[0]!r} instead, which looks like a renamed version of it"
        else:
            near = difflib.get_close_matches(header, [h for h in self.names if h], n=1, cutoff=0.0)
            sug = (
                f"no similar unknown header is present; the closest header is {near[0]!r}"
                if near
                else "no headers present"
            )
        of = f" ({what} of question {q.id!r})" if q is not None and what else f" (question {q.id!r})" if q else ""
        self.tidy.missing.append(q.id if q is not None else header)
        self.problem(f"{header!r} (codebook)", f"is missing from the header{of}: {sug}")

    def unknown(self, hint: str = "") -> None:
        for j in self.unclaimed():
            name = self.names[j]
            if not name and not self.labels[j]:
                if any(self.raw.column(j).astype(str).str.strip() != ""):
                    self.problem(f"{j + 1}", "has no header but holds values", order=j)
                continue
            self.tidy.unknown.append(self.src(j))
            self.problem(
                self.src(j).show() + f" (header column {j + 1})",
                f"is not in the codebook ({self.cb.source}); add it there or remove it from the export",
                hint,
                order=j,
            )

    def duplicates(self) -> None:
        for _n, js in self._by_norm.items():
            if len(js) > 1 and self.names[js[0]]:
                self.problem(
                    None,
                    f"duplicated header {self.names[js[1]]!r} (columns {js[0] + 1} and {js[1] + 1})",
                    order=js[1],
                )


def generic_times() -> tuple[str, ...]:
    return (TIMESTAMP_FORMAT,)
