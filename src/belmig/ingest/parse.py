"""Cell parsers: text cells of one column to typed values, each problem recorded with its row."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from belmig.core.codebook import Question
from belmig.core.keys import multi_column
from belmig.ingest.errors import IngestError, _Problem
from belmig.ingest.labels import _Labels
from belmig.ingest.raw import TIMESTAMP_FORMAT, _Raw
from belmig.privacy.redaction import redact

_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _by_unique(cells: pd.Series, parse: Callable[[str], Any]) -> tuple[pd.Series, dict[str, Any]]:
    """Apply `parse` once per distinct cell text; return the codes per row and the parsed uniques."""
    if isinstance(cells.dtype, pd.CategoricalDtype):  # CSV fast path: already factorised
        codes, uniques = cells.cat.codes.to_numpy().astype(np.intp), cells.cat.categories
    else:
        codes, uniques = pd.factorize(cells, use_na_sentinel=False)
    parsed = {u: parse(u) for u in uniques}
    return pd.Series(codes, index=cells.index), parsed


def _parse_single(raw: _Raw, q: Question, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    labels = _Labels(q, raw.path, codes_ok=raw.fmt == "sav")
    vl = raw.from_value_label.get(q.column, set())

    def parse(text: str) -> str | None:
        if not text.strip():
            return None
        key = labels.key(text, text in vl)
        return key if key is not None else _UNKNOWN

    codes, parsed = _by_unique(cells, parse)
    for u, text in enumerate(parsed):
        if parsed[text] == _UNKNOWN:
            for i in cells.index[codes.to_numpy() == u]:
                problems.append(
                    _Problem(i, q.column, "unknown answer label", text, f"expected one of {labels.expected()}")
                )
    vals = pd.array([v if v != _UNKNOWN else None for v in parsed.values()], dtype="str")
    return pd.Series(vals.take(codes.to_numpy()), index=cells.index)


_UNKNOWN = "\0unknown"
# _TS_RE for Arrow-backed strings (RE2: \d is ASCII only; Python's \d is any Unicode digit)
_TS_RE2 = r"^\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2} \p{Nd}{2}:\p{Nd}{2}:\p{Nd}{2}$"


def _strip(cells: pd.Series) -> pd.Series:
    """``cells.map(str.strip)``; on Arrow-backed strings str.strip runs only on the cells whose
    first or last character is not printable non-space ASCII (the only ones it can change)."""
    if cells.dtype == object:
        return cells.map(str.strip)
    edge = cells.str.contains(r"^[^!-~]|[^!-~]$", regex=True).to_numpy(dtype=bool)
    if not edge.any():
        return cells
    out = cells.copy()
    out[edge] = [v.strip() for v in cells[edge]]
    return out


def _parse_multi(raw: _Raw, q: Question, cells: pd.Series, sep: str, problems: list[_Problem]) -> pd.DataFrame:
    labels = _Labels(q, raw.path, codes_ok=raw.fmt == "sav")
    for text in labels.map:
        if sep in text:
            raise IngestError(f"{raw.path}: codebook question {q.id!r}: a label contains the separator {sep!r}")
    vl = raw.from_value_label.get(q.column, set())
    exclusive = {o.key for o in q.options if o.exclusive}

    def parse(text: str) -> Any:
        if not text.strip():
            return None
        keys, bad = [], []
        for part in text.split(sep):
            if not part.strip():
                continue
            k = labels.key(part, text in vl)
            (keys if k is not None else bad).append(k if k is not None else part)
        if bad:
            return ("bad", bad[0])
        if exclusive & set(keys) and len(set(keys)) > 1:
            return ("excl", sorted(exclusive & set(keys))[0])
        return set(keys) if keys else None

    codes, parsed = _by_unique(cells, parse)
    uniques = list(parsed)
    table = np.full((len(uniques), len(q.options)), -1, dtype=np.int8)  # -1 = NA
    for u, text in enumerate(uniques):
        p = parsed[text]
        if isinstance(p, set):
            table[u] = [o.key in p for o in q.options]
        elif isinstance(p, tuple):
            for i in cells.index[codes.to_numpy() == u]:
                if p[0] == "bad":
                    problems.append(
                        _Problem(
                            i,
                            q.column,
                            "unknown answer label in a multiple answer:",
                            p[1],
                            f"separator {sep!r}; expected labels {labels.expected()}",
                        )
                    )
                else:
                    problems.append(
                        _Problem(i, q.column, "exclusive option combined with other answers:", q.option(p[1]).label_ru)
                    )
    rows = table[codes.to_numpy()]
    out = {}
    for j, o in enumerate(q.options):
        col = rows[:, j]
        arr = pd.array(col == 1, dtype="boolean")
        arr[col < 0] = pd.NA
        out[multi_column(q.id, o.key)] = arr
    return pd.DataFrame(out, index=cells.index)


def _parse_scale(raw: _Raw, q: Question, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    lo, hi = int(q.scale["min"]), int(q.scale["max"])

    def parse(text: str) -> Any:
        t = text.strip()
        if not t:
            return None
        if not _INT_RE.match(t):
            kind = "non-integer scale value" if _NUM_RE.match(t) else "non-numeric scale value"
            return (kind, f"expected an integer {lo}–{hi}")
        v = int(t)
        if not lo <= v <= hi:
            return ("scale value out of range", f"expected {lo}–{hi}")
        return v

    codes, parsed = _by_unique(cells, parse)
    uniques = list(parsed)
    vals = [parsed[u] if isinstance(parsed[u], int) else None for u in uniques]
    for u, text in enumerate(uniques):
        if isinstance(parsed[text], tuple):
            for i in cells.index[codes.to_numpy() == u]:
                problems.append(_Problem(i, q.column, parsed[text][0], text, parsed[text][1]))
    return pd.Series(pd.array(vals, dtype="Int64").take(codes.to_numpy()), index=cells.index)


def _parse_number(raw: _Raw, q: Question, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    vals: list[float | None] = []
    for i, text in cells.items():
        t = text.strip()
        if not t:
            vals.append(None)
        elif _NUM_RE.match(t):
            vals.append(float(t.replace(",", ".")))
        else:
            problems.append(_Problem(i, q.column, "not a number", text))
            vals.append(None)
    return pd.Series(pd.array(vals, dtype="Float64"), index=cells.index)


def _parse_timestamps(raw: _Raw, header: str, cells: pd.Series, problems: list[_Problem]) -> pd.Series:
    stripped = _strip(cells)
    ok_shape = stripped.str.match(_TS_RE.pattern if stripped.dtype == object else _TS_RE2)
    parsed = pd.to_datetime(stripped.where(ok_shape, None), format=TIMESTAMP_FORMAT, errors="coerce")
    for i in cells.index[parsed.isna().to_numpy()]:
        what = "missing timestamp" if not stripped[i] else "unparseable timestamp"
        problems.append(_Problem(i, header, what, cells[i], "expected YYYY-MM-DD HH:MM:SS"))
    return pd.Series(parsed.to_numpy(), index=cells.index).astype("datetime64[us]")


def _text(cells: pd.Series) -> pd.Series:
    codes, parsed = _by_unique(cells, lambda s: redact(s.strip()) if s.strip() else None)
    vals = pd.array(list(parsed.values()), dtype="str")
    return pd.Series(vals.take(codes.to_numpy()), index=cells.index)
