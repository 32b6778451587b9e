"""The value ledger: every number the report prints, with where it was computed.

Each stage collects its values in a :class:`Values` fragment and writes it to
``data/processed/values/<stage>.json``; ``merge`` joins the fragments into the one ledger
(``data/processed/ledger.json``) that the report reads (modelled on showyourwork's value
files). Formatting happens here, once.

Key grammar: dot-separated lower-snake segments, e.g. ``pct.income_regular.yes``. A key must
not be a prefix of another key (Quarto's ``_variables.yml`` is nested by the dots).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from belmig.core import atomic
from belmig.core.keys import KEY_RE

KINDS = ("pct", "mean", "count", "int", "float", "pvalue", "text")


class LedgerError(ValueError):
    pass


def format_value(value: Any, kind: str, decimals: int | None = None) -> str:
    """The text a value is printed as. pct/mean: 2 decimals; counts: thousands separators."""
    if kind == "text":
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind in ("count", "int"):
        return f"{int(round(value)):,}"
    if kind == "pvalue":
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    d = 2 if decimals is None else decimals
    return f"{value:.{d}f}"


@dataclass
class Entry:
    key: str
    value: Any
    text: str
    kind: str
    stage: str
    notebook: str  # stem of the stage notebook, e.g. "05_estimate"
    cell: str  # id of the notebook cell that computed / recorded the value
    description: str = ""
    n: int | None = None
    n_eff: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    weighted: bool | None = None

    @property
    def source(self) -> str:
        """Link target: the cell of the executed notebook rendered to HTML."""
        return f"notebooks/executed/{self.notebook}.html#cell-id={self.cell}"

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in their order: ``dataclasses.asdict`` without its deep copy (a
        field holds a number, a string or None; the copy was most of a stage's ledger writing)."""
        return {name: getattr(self, name) for name in _ENTRY_FIELDS}


_ENTRY_FIELDS = tuple(f.name for f in fields(Entry))


def _clean(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if hasattr(x, "item"):  # numpy scalar
        return _clean(x.item())
    return x


@dataclass
class Values:
    """The values one stage contributes to the ledger."""

    stage: str
    notebook: str
    entries: dict[str, Entry] = field(default_factory=dict)

    def add(
        self,
        key: str,
        value: Any,
        kind: str,
        *,
        cell: str,
        description: str = "",
        decimals: int | None = None,
        **stats: Any,
    ) -> Entry:
        if not KEY_RE.match(key):
            raise LedgerError(f"ledger key {key!r} does not match {KEY_RE.pattern}")
        if kind not in KINDS:
            raise LedgerError(f"ledger key {key!r}: unknown kind {kind!r} (one of {KINDS})")
        if key in self.entries:
            raise LedgerError(f"ledger key {key!r} recorded twice in stage {self.stage!r}")
        value = _clean(value)
        entry = Entry(
            key=key,
            value=value,
            text=format_value(value, kind, decimals),
            kind=kind,
            stage=self.stage,
            notebook=self.notebook,
            cell=cell,
            description=description,
            **{k: _clean(v) for k, v in stats.items()},
        )
        self.entries[key] = entry
        return entry

    def write(self, path: Path) -> None:
        check_prefixes(self.entries)
        _atomic_write_json(path, [e.as_dict() for e in sorted(self.entries.values(), key=lambda e: e.key)])

    def table(self):
        """The entries as a DataFrame, for display in the stage notebook."""
        import pandas as pd

        return pd.DataFrame([e.as_dict() for e in self.entries.values()])


def check_prefixes(keys: Iterable[str]) -> None:
    keys = sorted(keys)
    for a, b in zip(keys, keys[1:]):
        if b.startswith(a + "."):
            raise LedgerError(f"ledger key {a!r} is a prefix of {b!r}; Quarto variables are nested by dots")


def read_fragment(path: Path) -> list[Entry]:
    with open(path, encoding="utf-8") as fh:
        return [Entry(**e) for e in json.load(fh)]


def merge(fragments: Iterable[Path], out: Path) -> dict[str, Entry]:
    """Join stage fragments into the ledger; a key recorded by two stages is an error."""
    ledger: dict[str, Entry] = {}
    for frag in fragments:
        for e in read_fragment(Path(frag)):
            if e.key in ledger:
                raise LedgerError(f"{frag}: key {e.key!r} already recorded by stage {ledger[e.key].stage!r}")
            ledger[e.key] = e
    check_prefixes(ledger)
    _atomic_write_json(out, [ledger[k].as_dict() for k in sorted(ledger)])
    return ledger


def load(path: Path) -> Ledger:
    """The ledger at `path` (:class:`Ledger`: by key, each entry made when it is first read)."""
    with open(path, encoding="utf-8") as fh:
        records = json.load(fh)
    return Ledger(records, str(path))


_FIELD_SET = frozenset(_ENTRY_FIELDS)
_REQUIRED = frozenset(f.name for f in fields(Entry) if f.default is MISSING and f.default_factory is MISSING)


class Ledger(Mapping):
    """The ledger by key, as :func:`load` reads it: each :class:`Entry` is made when it is first
    read (a render prints ~100 of ~3,750 values, and making all of them was 6 ms of every job
    that loads the ledger). Every record's fields are checked as it loads: a record Entry would
    refuse fails here, naming the file and the key."""

    __slots__ = ("_made", "_records")

    def __init__(self, records: Iterable[Mapping[str, Any]], source: str = "the ledger"):
        self._records: dict[str, Mapping[str, Any]] = {}
        for r in records:
            if not isinstance(r, dict) or not (_REQUIRED <= r.keys() <= _FIELD_SET):
                fields_ = sorted(r) if isinstance(r, dict) else type(r).__name__
                raise LedgerError(f"{source}: a record with the fields {fields_} is not a ledger entry")
            self._records[r["key"]] = r
        self._made: dict[str, Entry] = {}

    def __getitem__(self, key: str) -> Entry:
        entry = self._made.get(key)
        if entry is None:
            entry = self._made[key] = Entry(**self._records[key])
        return entry

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


def _atomic_write_json(path: Path, obj: Any) -> None:
    atomic.write_json(path, obj)
