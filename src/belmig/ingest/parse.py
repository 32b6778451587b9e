"""Cell parsers: the text cells of one question (as its :class:`~belmig.ingest.tidy.QInput`
says) to typed values; every problem is recorded with its data row and the file's column.

Each distinct cell text is parsed once (exports repeat a few answer texts many times)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from belmig.core.keys import multi_column
from belmig.ingest.errors import _Problem
from belmig.ingest.labels import _Labels, split_known
from belmig.ingest.raw import _norm
from belmig.ingest.tidy import QInput, Source
from belmig.privacy.redaction import redact

_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_UNKNOWN = "\0unknown"


def _by_unique(cells: pd.Series, parse: Callable[[str], Any]) -> tuple[np.ndarray, list[str], list[Any]]:
    """Apply `parse` once per distinct cell text: (code per row, the distinct texts, parsed)."""
    if isinstance(cells.dtype, pd.CategoricalDtype):  # CSV fast path: already factorised
        codes, uniques = cells.cat.codes.to_numpy().astype(np.intp), list(cells.cat.categories)
    else:
        codes, uniq = pd.factorize(cells, use_na_sentinel=False)
        uniques = list(uniq)
    return codes, uniques, [parse(u) for u in uniques]


def _rows(cells: pd.Series, codes: np.ndarray, u: int) -> list[int]:
    return [int(i) for i in cells.index[codes == u]]


class Parser:
    """Parses the questions of one export; problems go to ``problems`` (``order``: column position)."""

    def __init__(self, path, problems: list[_Problem], order: Callable[[Source | None], int]):
        self.path = path
        self.problems = problems
        self.order = order

    def add(
        self, rows: list[int], src: Source | None, problem: str, value: Any, hint: str = "", check: str = ""
    ) -> None:
        col = src.show() if src is not None else None
        for i in rows:
            self.problems.append(_Problem(i, col, problem, value, hint, check or "cell", self.order(src)))

    # ------------------------------------------------------------------ single choice

    def single(self, qi: QInput, cells: pd.Series, labels: _Labels) -> tuple[pd.Series, pd.Series | None]:
        """Option keys (str, NA = empty) and, for inline "Other", the typed texts."""
        other_key = next((o.key for o in qi.q.options if o.other), None)
        inline = qi.other_mode == "inline" and other_key is not None

        def parse(text: str) -> Any:
            if not text.strip():
                return None
            k = labels.key(text)
            if k is not None:
                return k
            if inline and not labels.by_codes:
                t = text.strip()
                if t in {str(o.code) for o in qi.q.options} or t in qi.q.keys:
                    hint = "an answer code among labels (the column mixes codes and labels); expected one of "
                    return ("bad", "unknown answer label", hint + labels.expected())
                return ("other", t)
            return ("bad", *labels.why)

        codes, uniques, parsed = _by_unique(cells, parse)
        if inline:
            parsed = _renamed_options(qi.q, codes, parsed)
        keys: list[Any] = []
        texts: list[Any] = []
        for u, (text, p) in enumerate(zip(uniques, parsed)):
            texts.append(None)
            if isinstance(p, tuple) and p[0] == "other":
                keys.append(other_key)
                texts[-1] = redact(p[1])
                continue
            if isinstance(p, tuple):
                self.add(_rows(cells, codes, u), qi.cell, p[1], text, p[2])
                p = None
            keys.append(p)
        vals = pd.array(keys, dtype="str").take(codes)
        out = pd.Series(vals, index=cells.index)
        if not inline:
            return out, None
        return out, pd.Series(pd.array(texts, dtype="str").take(codes), index=cells.index)

    # ------------------------------------------------------------------ multiple choice

    def joined(self, qi: QInput, cells: pd.Series, labels: _Labels) -> tuple[pd.DataFrame, pd.Series | None]:
        """One nullable boolean column per option; for inline "Other", the typed texts."""
        q = qi.q
        sep = qi.separator or ";"
        exclusive = {o.key for o in q.options if o.exclusive}
        other_key = next((o.key for o in q.options if o.other), None)
        inline = qi.other_mode == "inline" and other_key is not None
        variants = labels.variants()
        # no known text holds the separator: a plain split is the split by known labels
        plain = bool(sep.strip()) and not any(sep in v for v, _ in variants)

        def parse(text: str) -> Any:
            if not text.strip():
                return None
            if labels.by_codes:
                parts = [p.strip() for p in text.split(sep) if p.strip()]
                keys = [labels.codes.get(p) for p in parts]
                bad = [p for p, k in zip(parts, keys) if k is None]
                if bad:
                    return ("bad", bad[0])
                rest = ""
            else:
                keys = [labels.map.get(_norm(p)) for p in text.split(sep) if p.strip()] if plain else [None]
                rest = ""
                if None in keys:  # a part is no label: split by matching the known labels
                    keys, rest, bad = split_known(text, variants, sep, rest_ok=inline)
                    if bad:
                        return ("bad", bad)
            ks = set(keys)
            if rest:
                ks.add(other_key)
            if exclusive & ks and len(ks) > 1:
                return ("excl", sorted(exclusive & ks)[0])
            return (ks, redact(rest) if rest else None) if ks else None

        codes, uniques, parsed = _by_unique(cells, parse)
        table = np.full((len(uniques), len(q.options)), -1, dtype=np.int8)  # -1 = NA
        texts: list[Any] = []
        for u, p in enumerate(parsed):
            texts.append(None)
            if p is None:
                continue
            if isinstance(p[0], set):
                table[u] = [o.key in p[0] for o in q.options]
                texts[-1] = p[1]
            elif p[0] == "bad":
                what = (
                    "unknown answer code in a multiple answer:"
                    if labels.by_codes
                    else "unknown answer label in a multiple answer:"
                )
                self.add(
                    _rows(cells, codes, u),
                    qi.cell,
                    what,
                    p[1],
                    f"separator {sep!r}; expected {'codes' if labels.by_codes else 'labels'} {labels.expected()}",
                )
            else:
                self.add(
                    _rows(cells, codes, u),
                    qi.cell,
                    "exclusive option combined with other answers:",
                    q.option(p[1]).label_ru,
                )
        out = _indicators(q, table[codes], cells.index)
        if not inline:
            return out, None
        return out, pd.Series(pd.array(texts, dtype="str").take(codes), index=cells.index)

    def ticks(self, qi: QInput, cols: dict[str, pd.Series], index: pd.Index) -> pd.DataFrame:
        """One column per option: ticked / unticked / empty (not answered); all empty = NA."""
        q = qi.q
        ticked = {t.strip().casefold() for t in qi.ticked}
        unticked = {t.strip().casefold() for t in qi.unticked}
        n = len(index)
        state = np.zeros((n, len(q.options)), dtype=np.int8)  # 0 empty, 1 ticked, 2 unticked
        for j, o in enumerate(q.options):
            s = cols.get(o.key)
            if s is None:
                continue
            src = qi.ticks[o.key]
            own = {o.label_ru.strip().casefold()} if "<label>" in ticked else set()

            def parse(text: str, own: set[str] = own) -> Any:
                t = text.strip().casefold()
                if not t:
                    return 0
                if t in ticked or t in own:
                    return 1
                if t in unticked:
                    return 2
                return None

            codes, uniques, parsed = _by_unique(s, parse)
            vals = np.array([0 if p is None else p for p in parsed], dtype=np.int8)
            for u, (text, p) in enumerate(zip(uniques, parsed)):
                if p is None:
                    shown = sorted((ticked - {"<label>"}) | own) + sorted(unticked)
                    self.add(
                        _rows(s, codes, u),
                        src,
                        "unexpected value in an option column:",
                        text,
                        "expected " + ", ".join(repr(x) for x in shown if x) + " or empty",
                    )
            state[:, j] = vals[codes] if len(vals) else 0
        answered = (state == 1).any(axis=1)
        table = np.where(answered[:, None], (state == 1).astype(np.int8), -1).astype(np.int8)
        exclusive = [j for j, o in enumerate(q.options) if o.exclusive]
        for j in exclusive:
            combined = (table[:, j] == 1) & ((table == 1).sum(axis=1) > 1)
            if combined.any():
                rows = [int(i) for i in index[combined]]
                self.add(
                    rows,
                    qi.ticks.get(q.options[j].key),
                    "exclusive option combined with other answers:",
                    q.options[j].label_ru,
                )
        return _indicators(q, table, index)

    # ------------------------------------------------------------------ scales, numbers, text

    def scale(self, qi: QInput, cells: pd.Series) -> pd.Series:
        q = qi.q
        lo, hi = int(q.scale["min"]), int(q.scale["max"])
        codes_map = {str(k).strip(): int(v) for k, v in qi.scale_codes.items()}
        labels_map = {t.strip(): int(float(c)) for c, t in qi.answers.value_labels.items() if _NUM_RE.match(c)}

        def parse(text: str) -> Any:
            t = text.strip()
            if not t:
                return None
            if codes_map:
                if t in codes_map:
                    return codes_map[t]
                return ("unknown scale code", f"expected one of {', '.join(repr(c) for c in codes_map)}")
            if not _INT_RE.match(t) and t in labels_map:
                t = str(labels_map[t])
            if not _INT_RE.match(t):
                kind = "non-integer scale value" if _NUM_RE.match(t) else "non-numeric scale value"
                return (kind, f"expected an integer {lo}–{hi}")
            v = int(t)
            if not lo <= v <= hi:
                return ("scale value out of range", f"expected {lo}–{hi}")
            return v

        codes, uniques, parsed = _by_unique(cells, parse)
        vals = [p if isinstance(p, int) else None for p in parsed]
        for u, (text, p) in enumerate(zip(uniques, parsed)):
            if isinstance(p, tuple):
                self.add(_rows(cells, codes, u), qi.cell, p[0], text, p[1])
        return pd.Series(pd.array(vals, dtype="Int64").take(codes), index=cells.index)

    def number(self, src: Source | None, cells: pd.Series) -> pd.Series:
        vals: list[float | None] = []
        for i, text in cells.items():
            t = text.strip()
            if not t:
                vals.append(None)
            elif _NUM_RE.match(t):
                vals.append(float(t.replace(",", ".")))
            else:
                self.add([int(i)], src, "not a number", text)
                vals.append(None)
        return pd.Series(pd.array(vals, dtype="Float64"), index=cells.index)


def _indicators(q, table: np.ndarray, index: pd.Index) -> pd.DataFrame:
    out = {}
    for j, o in enumerate(q.options):
        col = table[:, j]
        arr = pd.array(col == 1, dtype="boolean")
        arr[col < 0] = pd.NA
        out[multi_column(q.id, o.key)] = arr
    return pd.DataFrame(out, index=index)


def _text(cells: pd.Series) -> pd.Series:
    """Free text, redacted (NA when empty)."""
    codes, _, parsed = _by_unique(cells, lambda s: redact(s.strip()) if s.strip() else None)
    vals = pd.array(parsed, dtype="str")
    return pd.Series(vals.take(codes), index=cells.index)


# An "Other" text that several respondents typed the same way and that reads as an option's label
# reworded is an option renamed during fieldwork, not free text (as Google Forms writes it when the
# form's owner edits an option: every later answer arrives as the new wording).
_RENAMED_RATIO = 0.8
_RENAMED_MIN_ROWS = 2


def _renamed_options(q: Any, codes: Any, parsed: list[Any]) -> list[Any]:
    """`parsed` with each inline "Other" text that looks like a reworded option (see above)
    turned into a problem naming the option it resembles."""
    import difflib

    def close(t: str, label: str) -> float:
        """How alike: difflib's ratio, or 1 when one holds the other whole (a label lengthened)."""
        if len(label) >= 8 and len(t) >= 8 and (label in t or t in label):
            return 1.0
        return difflib.SequenceMatcher(None, t, label).ratio()

    counts = np.bincount(np.asarray(codes)[np.asarray(codes) >= 0], minlength=len(parsed))
    labels = [(o.label_ru, _norm(o.label_ru)) for o in q.options if not o.other]
    out = list(parsed)
    for u, p in enumerate(parsed):
        if not (isinstance(p, tuple) and p[0] == "other") or counts[u] < _RENAMED_MIN_ROWS:
            continue
        t = _norm(p[1])
        near = max(labels, key=lambda lab: close(t, lab[1]), default=None)
        if near is not None and close(t, near[1]) >= _RENAMED_RATIO:
            out[u] = (
                "bad",
                "an option renamed during fieldwork?",
                f'{counts[u]} answers read {p[1]!r} (typed as "Other"), close to the option {near[0]!r}; '
                "if it is that option reworded, add the text to the option's aliases in the codebook",
            )
    return out
