"""The internal tidy form every platform adapter produces, and validation reads.

An adapter (:mod:`belmig.ingest.platforms`) looks at the export's layout (header rows, metadata
columns, one column per option, "Other" text columns...) and says, for every codebook element,
which column(s) of the file hold it and how to read them: a :class:`Tidy`. Validation
(:mod:`belmig.ingest.validate`) then parses every cell the same way for every platform, so the
checks and their messages are one code path.

Three ways a question's answer can be laid out (``QInput.kind``):

* ``cell``: one cell per respondent (single choice, scale, number, text);
* ``joined``: several answers in one cell, separated by ``separator``; the cell is split by
  matching the known answer labels, so a label may contain the separator;
* ``ticks``: one column per option; ``ticked`` / ``unticked`` are the cell texts meaning
  "chosen" / "shown, not chosen" (an empty cell: not answered). ``cell`` may name a summary
  column that lists the chosen options (Kobo), which is then cross-checked.

Where the "Other" text lives (``other_mode``):

* ``column``: in its own column; the "Other" option is chosen in the answer itself;
* ``implies``: in its own column, and there is no option column for "Other": a text means
  "Other" was chosen (SurveyMonkey, LimeSurvey multiple choice);
* ``beside_empty``: in its own column beside a single-choice cell left empty when "Other" was
  chosen (SurveyMonkey);
* ``inline``: typed into the answer cell in place of the "Other" option (Google Forms): in a
  joined cell, what no label matches; in a single-choice cell, a text that is no label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from belmig.core import messages
from belmig.core.codebook import Question
from belmig.ingest.errors import _Problem, quote_column


@dataclass(frozen=True)
class Source:
    """One column of the file: its position, its header as written, and a second name."""

    j: int  # 0-based column index
    name: str  # first header row / variable name
    label: str = ""  # row-2 label (SurveyMonkey, Qualtrics), variable label (SPSS/Stata)

    def show(self) -> str:
        return quote_column(self.name, self.label)


@dataclass
class Answers:
    """How a cell's text becomes an option key (single choice, each part of a multiple answer)."""

    codes: dict[str, str] = field(default_factory=dict)  # cell text -> key; non-empty = codes only
    extra: dict[str, str] = field(default_factory=dict)  # platform words -> key ("-oth-", "Другое")
    value_labels: dict[str, str] = field(default_factory=dict)  # SPSS/Stata: code text -> label
    numeric_codes: bool = False  # SPSS/Stata numbers without a value label: the codebook code


@dataclass
class QInput:
    """The tidy form of one question: where its answer is and how to read it."""

    q: Question
    kind: str  # cell | joined | ticks
    cell: Source | None = None
    ticks: dict[str, Source] = field(default_factory=dict)  # option key -> its column
    ticked: tuple[str, ...] = ()
    unticked: tuple[str, ...] = ()
    separator: str | None = None
    other: Source | None = None
    other_mode: str = ""  # column | implies | beside_empty | inline
    answers: Answers = field(default_factory=Answers)
    method: str | messages.Note = ""  # how the adapter matched the question (for the ingest report)
    confidence: float = 1.0
    scale_codes: dict[str, int] = field(default_factory=dict)  # cell text -> scale value

    def columns(self) -> list[Source]:
        cols = [self.cell] if self.cell is not None else []
        cols += list(self.ticks.values())
        if self.other is not None:
            cols.append(self.other)
        return cols


@dataclass
class TimeInput:
    """A timestamp column and how to read it."""

    source: Source
    formats: tuple[str, ...]  # strptime formats tried (one is chosen per column); "iso" = ISO 8601
    zone: str | None = None  # zone of naive timestamps (None: the study's time zone)
    stated: bool = False  # whether the file itself states the zone
    hint: str = ""  # how the format was chosen (for the report)
    if_missing: str = ""  # what an empty cell means on this platform (said with the problem)


@dataclass
class Tidy:
    """The export as the adapter understood it (see the module docstring)."""

    path: Path
    fmt: str
    platform: str
    n: int
    header_rows: int = 1
    response_id: Source | None = None
    started_at: TimeInput | None = None
    submitted_at: TimeInput | None = None
    admin_extra: dict[str, Source] = field(default_factory=dict)  # other codebook admin columns
    questions: list[QInput] = field(default_factory=list)
    identifiers: list[Source] = field(default_factory=list)  # dropped, never read
    metadata: list[Source] = field(default_factory=list)  # recognised platform columns, not needed
    problems: list[_Problem] = field(default_factory=list)  # header-level problems
    unknown: list[Source] = field(default_factory=list)  # columns no codebook element claims
    missing: list[str] = field(default_factory=list)  # codebook headers the export lacks
    notes: list[str] = field(default_factory=list)  # what the adapter assumed (for the report)
    checks: list = field(default_factory=list)  # extra row checks: callables(tidy, cells) -> problems
