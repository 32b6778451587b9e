"""The codebook: questions, options, labels (ru/en/lt), universes, consistency rules and charts.

Loaded from ``config/codebook.yaml``, validated against ``config/codebook.schema.yaml`` and
then cross-checked (unique ids and codes, universes that point at real questions and options,
charts that point at real questions). Everything downstream reads labels and structure from
here, never from literals in code.

A question's export layout is its ``column`` (and ``other_column``) in the simple form; the
optional layout fields say more when a platform writes it otherwise: ``option_columns`` (one
column per option), ``ticked`` / ``unticked`` (what those cells hold), ``separator`` (between
several answers in one cell) and ``codes`` (the answer codes the export writes). A mapping
overlay (``belmig.ingest.mapping``) sets the same fields per export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from belmig.core import paths
from belmig.core.keys import multi_column
from belmig.core.schema import load_yaml, validate

CHOICE_TYPES = ("single", "multi")


class CodebookError(ValueError):
    """The codebook file is malformed or inconsistent."""


@dataclass(frozen=True)
class Option:
    code: int
    key: str
    label_ru: str
    label_en: str
    label_lt: str = ""  # Lithuanian (the Lithuanian edition and its charts)
    other: bool = False  # the option whose free text lives in the question's other_column
    exclusive: bool = False  # "none"-type option that cannot be combined with others
    aliases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return {"ru": self.label_ru, "lt": self.label_lt}.get(lang) or self.label_en


@dataclass(frozen=True)
class Universe:
    """Who was asked: respondents whose answer to `question` is one of `values`."""

    question: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Consistency:
    """Answers `answers` of a question are consistent only when `question` is one of `values`
    (asked of everyone, but one answer implies another: taking part in diaspora organisations
    implies knowing one)."""

    answers: tuple[str, ...]
    question: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # single | multi | scale | text | number
    role: str  # screening | background | substantive
    column: str
    text_ru: str
    text_en: str
    universe: Universe | None = None
    text_lt: str = ""
    options: tuple[Option, ...] = ()
    other_column: str | None = None
    chart: int | None = None
    scale: dict[str, Any] = field(default_factory=dict)
    coded_as: tuple[str, ...] = ()
    # export layout beyond `column` (see the module docstring); empty = the simple form
    option_columns: dict[str, str] = field(default_factory=dict)  # option key -> its column
    ticked: tuple[str, ...] = ()  # texts of an option column meaning "chosen"
    unticked: tuple[str, ...] = ()  # texts meaning "shown, not chosen"
    separator: str | None = None  # between several answers in one cell (default meta.multi_separator)
    codes: dict[str, str] = field(default_factory=dict)  # answer code in the export -> option key (scale: value)
    consistency: tuple[Consistency, ...] = ()

    def text(self, lang: str) -> str:
        return {"ru": self.text_ru, "lt": self.text_lt}.get(lang) or self.text_en

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def keys(self) -> list[str]:
        return [o.key for o in self.options]

    def option(self, key: str) -> Option:
        for o in self.options:
            if o.key == key:
                return o
        raise KeyError(f"question {self.id!r} has no option {key!r}")

    def multi_columns(self) -> list[str]:
        """Names of the indicator columns of a multiple-choice question in cleaned data."""
        return [multi_column(self.id, k) for k in self.keys]


@dataclass(frozen=True)
class Column:
    """A non-question column of the export (admin fields, direct identifiers)."""

    id: str
    column: str
    role: str  # admin | identifier
    type: str


@dataclass(frozen=True)
class Chart:
    number: int
    question: str
    title_en: str
    title_ru: str
    sort: bool
    exclude_options: tuple[str, ...] = ()
    subgroup: Universe | None = None
    title_lt: str = ""

    def title(self, lang: str) -> str:
        return {"ru": self.title_ru, "lt": self.title_lt}.get(lang) or self.title_en

    @property
    def id(self) -> str:
        return f"chart{self.number:02d}"


@dataclass(frozen=True)
class Codebook:
    meta: dict[str, Any]
    columns: tuple[Column, ...]
    questions: tuple[Question, ...]
    charts: tuple[Chart, ...]
    source: str = "config/codebook.yaml"

    @cached_property
    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def __getitem__(self, qid: str) -> Question:
        try:
            return self.by_id[qid]
        except KeyError:
            raise KeyError(f"{self.source}: no question with id {qid!r}") from None

    def __iter__(self):
        return iter(self.questions)

    @property
    def multi_separator(self) -> str:
        return self.meta["multi_separator"]

    def of_type(self, *types: str) -> list[Question]:
        return [q for q in self.questions if q.type in types]

    def identifier_columns(self) -> list[Column]:
        return [c for c in self.columns if c.role == "identifier"]

    def admin_column(self, cid: str) -> Column:
        for c in self.columns:
            if c.id == cid:
                return c
        raise KeyError(f"{self.source}: no column with id {cid!r}")

    def chart(self, number: int) -> Chart:
        for c in self.charts:
            if c.number == number:
                return c
        raise KeyError(f"{self.source}: no chart {number}")

    def export_headers(self) -> list[str]:
        """Every header a complete export carries, in questionnaire order."""
        heads = [c.column for c in self.columns]
        for q in self.questions:
            heads.append(q.column)
            if q.other_column:
                heads.append(q.other_column)
        return heads


def _universe(raw: dict | None) -> Universe | None:
    if raw is None:
        return None
    return Universe(question=raw["question"], values=tuple(str(v) for v in raw["in"]))


def from_dict(raw: dict[str, Any], source: str = "codebook") -> Codebook:
    validate(raw, paths.CODEBOOK_SCHEMA, source)
    questions = []
    for q in raw["questions"]:
        opts = tuple(
            Option(
                code=int(o["code"]),
                key=str(o["key"]),
                label_ru=o["label_ru"],
                label_en=o["label_en"],
                label_lt=o.get("label_lt", ""),
                other=bool(o.get("other", False)),
                exclusive=bool(o.get("exclusive", False)),
                aliases=tuple(o.get("aliases", ())),
            )
            for o in q.get("options", ())
        )
        questions.append(
            Question(
                id=q["id"],
                type=q["type"],
                role=q["role"],
                column=q["column"],
                text_ru=q["text_ru"],
                text_en=q["text_en"],
                text_lt=q.get("text_lt", ""),
                universe=_universe(q.get("universe")),
                options=opts,
                other_column=q.get("other_column"),
                chart=q.get("chart"),
                scale=dict(q.get("scale") or {}),
                coded_as=tuple(q.get("coded_as", ())),
                option_columns=dict(q.get("option_columns") or {}),
                ticked=tuple(q.get("ticked", ())),
                unticked=tuple(q.get("unticked", ())),
                separator=q.get("separator"),
                codes={str(k): str(v) for k, v in (q.get("codes") or {}).items()},
                consistency=tuple(
                    Consistency(
                        answers=tuple(str(a) for a in c["answers"]),
                        question=c["requires"]["question"],
                        values=tuple(str(v) for v in c["requires"]["in"]),
                    )
                    for c in q.get("consistency", ())
                ),
            )
        )
    columns = tuple(Column(**c) for c in raw["columns"])
    charts = tuple(
        Chart(
            number=c["number"],
            question=c["question"],
            title_en=c["title_en"],
            title_ru=c["title_ru"],
            title_lt=c.get("title_lt", ""),
            sort=c["sort"],
            exclude_options=tuple(c.get("exclude_options", ())),
            subgroup=_universe(c.get("subgroup")),
        )
        for c in raw["charts"]
    )
    cb = Codebook(meta=raw["meta"], columns=columns, questions=tuple(questions), charts=charts, source=source)
    _cross_check(cb)
    return cb


def _cross_check(cb: Codebook) -> None:
    src = cb.source
    seen_ids: set[str] = set()
    headers: dict[str, str] = {}
    for c in cb.columns:
        if c.column in headers:
            raise CodebookError(f"{src}: export column {c.column!r} declared twice")
        headers[c.column] = c.id
    for q in cb.questions:
        if q.id in seen_ids:
            raise CodebookError(f"{src}: question id {q.id!r} declared twice")
        seen_ids.add(q.id)
        for head in filter(None, (q.column, q.other_column)):
            if head in headers:
                raise CodebookError(f"{src}: export column {head!r} used by {headers[head]!r} and {q.id!r}")
            headers[head] = q.id
        if q.is_choice and not q.options:
            raise CodebookError(f"{src}: question {q.id!r} ({q.type}) has no options")
        if not q.is_choice and q.options:
            raise CodebookError(f"{src}: question {q.id!r} ({q.type}) must not have options")
        if q.type == "scale" and not q.scale:
            raise CodebookError(f"{src}: scale question {q.id!r} needs scale: {{min, max}}")
        for attr in ("code", "key", "label_ru", "label_en"):
            vals = [getattr(o, attr) for o in q.options]
            dup = {v for v in vals if vals.count(v) > 1}
            if dup:
                raise CodebookError(f"{src}: question {q.id!r} repeats option {attr} {sorted(dup)}")
        check_layout(q, src)
        if q.other_column and not any(o.other for o in q.options) and q.type == "multi":
            raise CodebookError(f"{src}: question {q.id!r} has other_column but no option marked other")
        if q.universe is not None:
            if q.universe.question not in seen_ids:
                raise CodebookError(
                    f"{src}: universe of {q.id!r} refers to {q.universe.question!r}, which is not an earlier question"
                )
            parent = cb.by_id[q.universe.question]
            bad = set(q.universe.values) - set(parent.keys)
            if bad:
                raise CodebookError(f"{src}: universe of {q.id!r} uses unknown options {sorted(bad)} of {parent.id!r}")
        for c in q.consistency:
            where = f"{src}: consistency rule of {q.id!r}"
            if q.type not in CHOICE_TYPES:
                raise CodebookError(f"{where}: {q.id!r} is a {q.type} question; rules are for choice questions")
            bad = set(c.answers) - set(q.keys)
            if bad:
                raise CodebookError(f"{where} uses unknown options {sorted(bad)} of {q.id!r}")
            if c.question not in seen_ids or c.question == q.id:
                raise CodebookError(f"{where} refers to {c.question!r}, which is not an earlier question")
            parent = cb.by_id[c.question]
            if parent.type != "single":
                raise CodebookError(f"{where} refers to {c.question!r}, which is not a single-choice question")
            bad = set(c.values) - set(parent.keys)
            if bad:
                raise CodebookError(f"{where} uses unknown options {sorted(bad)} of {parent.id!r}")
    for ch in cb.charts:
        if ch.question not in cb.by_id:
            raise CodebookError(f"{src}: chart {ch.number} refers to unknown question {ch.question!r}")
        if cb.by_id[ch.question].chart != ch.number:
            raise CodebookError(f"{src}: chart {ch.number} and question {ch.question!r} disagree on the chart number")
    numbers = [c.number for c in cb.charts]
    if numbers != sorted(set(numbers)):
        raise CodebookError(f"{src}: chart numbers must be unique and ascending, got {numbers}")


def check_layout(q: Question, src: str) -> None:
    """The layout fields of `q` refer to its own options and fit its type."""
    if (q.option_columns or q.ticked or q.unticked) and q.type != "multi":
        raise CodebookError(
            f"{src}: question {q.id!r} ({q.type}): option_columns/ticked/unticked are for multiple choice"
        )
    if q.separator is not None and q.type != "multi":
        raise CodebookError(f"{src}: question {q.id!r} ({q.type}): separator is for multiple choice")
    bad = sorted(set(q.option_columns) - set(q.keys))
    if bad:
        raise CodebookError(f"{src}: question {q.id!r}: option_columns names unknown options {bad}")
    if q.codes:
        if q.type == "scale":
            lo, hi = int(q.scale.get("min", 0)), int(q.scale.get("max", 0))
            wrong = sorted(v for v in q.codes.values() if not (v.lstrip("-").isdigit() and lo <= int(v) <= hi))
            if wrong:
                raise CodebookError(f"{src}: question {q.id!r}: scale codes must map to values {lo}–{hi}, got {wrong}")
        elif q.is_choice:
            wrong = sorted(set(q.codes.values()) - set(q.keys))
            if wrong:
                raise CodebookError(f"{src}: question {q.id!r}: codes map to unknown options {wrong}")
        else:
            raise CodebookError(f"{src}: question {q.id!r} ({q.type}) cannot have codes")


def load(path: Path | None = None) -> Codebook:
    path = Path(path or paths.CODEBOOK)
    raw = load_yaml(path)
    src = str(path.relative_to(paths.ROOT)) if path.is_relative_to(paths.ROOT) else str(path)
    return from_dict(raw, source=src)
