"""Notes the stages write for readers, kept as an id and its parameters so that every edition of
the report words them itself.

A stage that explains a row (the audit's "base 293 < universe 295: 2 in the universe did not
answer", a cleaning step's description, how ingestion read the time stamps) declares its English
templates once, in a catalog, and makes each note from one::

    NOTE = messages.catalog("audit", {"below_universe": "base {n} < universe {U}: ..."})
    n = NOTE("below_universe", n=293, U=295)
    str(n)                 # the English text, as the stage always wrote it
    messages.encode([n])   # what it stores beside that text (a JSON list of id + parameters)

The report words the stored notes in each translated edition from ``notes.<id>`` of
``report/tables.<lang>.yaml`` (belmig.report.notes); a catalog id without a wording there fails
the test that compares catalogs and words files, and a missing wording at render time is an error
naming the file and the id, never English in a translated edition.

Parameters are numbers, plain text (ids, file names, printed figures), :class:`Opts` (options of a
question: codes in English, the codebook's labels in an edition), :class:`Term` (a word of a closed
list, e.g. a comparator) or a tuple of notes (joined by "; ").
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CATALOGS: dict[str, dict[str, str]] = {}  # catalog name -> {note id: English template}


@dataclass(frozen=True)
class Opts:
    """Options of `question`, joined by `sep`: ``Opts("health_used", ("yes",))``."""

    question: str
    options: tuple[str, ...]
    sep: str = ", "
    style: str = "plain"  # English: "repr" shows a list's repr ("['yes']"), "quote" each one's ('yes')

    def __str__(self) -> str:
        if self.style == "repr":
            return repr(list(self.options))
        if self.style == "quote":
            return self.sep.join(repr(o) for o in self.options)
        return self.sep.join(self.options)


@dataclass(frozen=True)
class Term:
    """A word of the closed list `group` (``Term("comparator", "slightly_more")``): English says
    the key with spaces, an edition says ``terms.<group>.<key>`` of its words file."""

    group: str
    key: str

    def __str__(self) -> str:
        return self.key.replace("_", " ")


@dataclass(frozen=True)
class Note:
    """One note: its id (``<catalog>.<name>``), its parameters and its English template."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> str:
        name, _, key = self.id.partition(".")
        return CATALOGS[name][key]

    def __str__(self) -> str:
        return self.template.format(**{k: english(v) for k, v in self.params.items()})


def english(value: Any) -> str:
    """A parameter as the English template shows it."""
    if isinstance(value, tuple) and all(isinstance(v, Note) for v in value):
        return "; ".join(str(v) for v in value)
    return value if isinstance(value, (int, float)) else str(value)


def placeholders(template: str) -> set[str]:
    """The names a template uses: ``{n}``, ``{cut:.0f}`` -> {"n", "cut"}."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def catalog(name: str, templates: Mapping[str, str]) -> Callable[..., Note]:
    """Register the English `templates` of catalog `name`; returns the maker of its notes, which
    refuses an unknown id or parameters that do not match the template."""
    if name in CATALOGS and CATALOGS[name] != dict(templates):
        raise ValueError(f"notes catalog {name!r} is declared twice with different templates")
    CATALOGS[name] = dict(templates)

    def make(key: str, **params: Any) -> Note:
        if key not in templates:
            raise KeyError(f"notes catalog {name!r} has no note {key!r}")
        want = placeholders(templates[key])
        if set(params) != want:
            raise TypeError(f"note {name}.{key}: parameters {sorted(params)}, template uses {sorted(want)}")
        return Note(f"{name}.{key}", dict(params))

    return make


# ------------------------------------------------------------------------- storage
def _to_json(value: Any) -> Any:
    if isinstance(value, Opts):
        return {"$opts": value.question, "options": list(value.options), "sep": value.sep, "style": value.style}
    if isinstance(value, Term):
        return {"$term": value.group, "key": value.key}
    if isinstance(value, Note):
        return {"id": value.id, "params": {k: _to_json(v) for k, v in value.params.items()}}
    if isinstance(value, tuple):
        return {"$notes": [_to_json(v) for v in value]}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"a note parameter must be a number, text, Opts, Term or notes, not {value!r}")


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "$opts" in value:
            return Opts(value["$opts"], tuple(value["options"]), value["sep"], value.get("style", "plain"))
        if "$term" in value:
            return Term(value["$term"], value["key"])
        if "$notes" in value:
            return tuple(_from_json(v) for v in value["$notes"])
        return Note(value["id"], {k: _from_json(v) for k, v in value["params"].items()})
    return value


def encode(notes: Iterable[Note]) -> str:
    """The notes as one JSON text (stable: sorted keys), for a CSV cell or a JSON field."""
    return json.dumps([_to_json(n) for n in notes], ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> list[Note]:
    """The notes of :func:`encode`."""
    return [_from_json(v) for v in json.loads(text)]


def join(notes: Iterable[Note], sep: str = "; ") -> str:
    """The English text of several notes, as the stages have always joined them."""
    return sep.join(str(n) for n in notes)


def as_data(note: Note) -> dict[str, Any]:
    """One note as JSON data (for a field of a JSON report)."""
    return _to_json(note)


def from_data(data: Mapping[str, Any]) -> Note:
    """The note of :func:`as_data`."""
    return _from_json(dict(data))
