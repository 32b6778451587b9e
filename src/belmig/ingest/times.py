"""Timestamps as the platforms write them, to the study's wall clock.

Every timestamp becomes a naive wall-clock time in the study's time zone (``ingest.time_zone``,
Europe/Vilnius): a time with an offset (Kobo ``2022-06-01T08:19:24.000+03:00``) or in a zone the
file states (Qualtrics' ImportId ``timeZone``) is converted; a naive time in a zone the file
does not state is read as the study's wall clock (and the ingest report says so).

A column is read with one format: the first of ``TimeInput.formats`` that reads all its
cells (day/month order is a property of the sheet, not of a cell); when none does, the cells
the best format cannot read are the problems.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from belmig.ingest.errors import _Problem
from belmig.ingest.raw import TIMESTAMP_FORMAT
from belmig.ingest.tidy import TimeInput

ISO = "iso"  # ISO 8601, with or without fraction and offset
# Google Forms' own "Download responses (.csv)" (not the Sheets download): year first, a 12-hour
# clock and the form owner's offset, "2022/06/01 8:30:59 AM GMT+3" (the AM/PM words by language)
FORMS = "forms"
_FORMS_RE = re.compile(
    r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2}) (?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})"
    r"(?: ?(?P<ampm>AM|PM|A\.M\.|P\.M\.|ДП|ПП|priešpiet|popiet))?"
    r"(?: ?(?P<zone>GMT|UTC)(?P<off>[+-]\d{1,2}(?::?\d{2})?)?)?$",
    re.IGNORECASE,
)
_PM = {"pm", "p.m.", "пп", "popiet"}
HUMAN = {
    TIMESTAMP_FORMAT: "YYYY-MM-DD HH:MM:SS",
    "%d.%m.%Y %H:%M:%S": "DD.MM.YYYY H:MM:SS",
    "%m/%d/%Y %H:%M:%S": "M/D/YYYY H:MM:SS",
    "%d/%m/%Y %H:%M:%S": "D/M/YYYY H:MM:SS",
    "%m/%d/%Y %I:%M:%S %p": "MM/DD/YYYY hh:mm:ss AM",
    "%d.%m.%Y %H:%M": "DD.MM.YYYY H:MM",
    "%m/%d/%Y %H:%M": "M/D/YYYY H:MM",
    "%d/%m/%Y %H:%M": "D/M/YYYY H:MM",
    ISO: "ISO 8601 (2022-06-01T08:19:24.000+03:00)",
    FORMS: "YYYY/MM/DD h:mm:ss AM GMT+3 (Google Forms' own download)",
}
SWAPPED = {
    "%m/%d/%Y %H:%M:%S": "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S": "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M",
}
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# _TS_RE for Arrow-backed strings (RE2: \d is ASCII only; Python's \d is any Unicode digit)
_TS_RE2 = r"^\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2} \p{Nd}{2}:\p{Nd}{2}:\p{Nd}{2}$"
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


# A spreadsheet's display of a date and time (no seconds, the day or month first, a 2- or 4-digit
# year): what an export looks like after it was opened and saved again in Excel or LibreOffice
_RESAVED_RE = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-](\d{2}|\d{4}) \d{1,2}:\d{2}( ?[AP]M)?$", re.IGNORECASE)
RESAVED = (
    "it looks like a spreadsheet's display of a date (no seconds): the file was opened and saved again in "
    "Excel or a similar program, which rewrites dates; use the platform's file as downloaded"
)


def human(fmt: str) -> str:
    return HUMAN.get(fmt, fmt)


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


def _forms_time(text: object) -> tuple[pd.Timestamp, bool] | None:
    """A Google Forms download's cell as (time, had an offset), UTC when it had one; None = not one."""
    m = _FORMS_RE.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    hour = int(m["H"])
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ampm"].lower() in _PM else 0)
    try:
        ts = pd.Timestamp(int(m["y"]), int(m["m"]), int(m["d"]), hour, int(m["M"]), int(m["S"]))
    except ValueError:
        return None
    if not m["zone"]:
        return ts, False
    if not m["off"]:  # "GMT": the offset is 0
        return ts.tz_localize("UTC"), True
    sign = -1 if m["off"][0] == "-" else 1
    hh, _, mm = m["off"][1:].partition(":")
    if not mm and len(hh) > 2:
        hh, mm = hh[:-2], hh[-2:]
    offset = pd.Timedelta(hours=int(hh), minutes=int(mm or 0))
    return (ts - sign * offset).tz_localize("UTC"), True


def _parse_forms(stripped: pd.Series) -> pd.Series:
    read = [_forms_time(v) for v in stripped]
    offsets = {r[1] for r in read if r is not None}
    if len(offsets) > 1:
        return pd.Series(pd.NaT, index=stripped.index)  # some with an offset, some without: not one format
    if offsets == {True}:
        return pd.Series([r[0] if r else pd.NaT for r in read], index=stripped.index, dtype="datetime64[ns, UTC]")
    return pd.Series([r[0] if r else pd.NaT for r in read], index=stripped.index, dtype="datetime64[ns]")


def _parse_with(stripped: pd.Series, fmt: str) -> pd.Series:
    """Parsed timestamps (UTC-aware for ISO cells with an offset, else naive); NaT = not read."""
    if fmt == FORMS:
        return _parse_forms(stripped)
    if fmt == TIMESTAMP_FORMAT:
        ok = stripped.str.match(_TS_RE.pattern if stripped.dtype == object else _TS_RE2)
        return pd.to_datetime(stripped.where(ok, None), format=fmt, errors="coerce")
    if fmt == ISO:
        ok = stripped.map(lambda t: bool(_ISO_RE.match(t)) if isinstance(t, str) else False).astype(bool)
        vals = stripped.where(ok, None)
        has_off = vals.map(lambda t: isinstance(t, str) and bool(re.search(r"(Z|[+-]\d{2}:?\d{2})$", t))).astype(bool)
        if has_off.any() and not has_off[ok].all():
            return pd.Series(pd.NaT, index=stripped.index)  # mixed offsets and naive: not one format
        return pd.to_datetime(vals, format="ISO8601", errors="coerce", utc=bool(has_off.any()))
    return pd.to_datetime(stripped.where(stripped != "", None), format=fmt, errors="coerce")


def parse_times(
    t: TimeInput, cells: pd.Series, study_zone: str, problems: list[_Problem], order: int = 0
) -> tuple[pd.Series, str]:
    """Naive study-zone timestamps (datetime64[us]) and the format used; problems recorded."""
    stripped = _strip(cells)
    filled = (stripped != "").to_numpy(dtype=bool)
    best: tuple[int, str, pd.Series] | None = None
    for fmt in t.formats:
        parsed = _parse_with(stripped, fmt)
        bad = int((parsed.isna().to_numpy() & filled).sum())
        if best is None or bad < best[0]:
            best = (bad, fmt, parsed)
        if bad == 0:
            break
    assert best is not None
    bad, fmt, parsed = best
    twin = SWAPPED.get(fmt)
    if bad == 0 and twin in t.formats and filled.any():
        alt = _parse_with(stripped, twin)
        if not (alt.isna().to_numpy() & filled).any():
            t.hint = (
                f"every day of the month is 12 or less, so the date order is ambiguous: read as {human(fmt)}, "
                f"not {human(twin)} (from the header {t.source.name!r})"
            )
    col = t.source.show()
    for i in cells.index[parsed.isna().to_numpy()]:
        what = "missing timestamp" if not stripped[i] else "unparseable timestamp"
        hint = f"expected {human(fmt)}" + (f"; {t.if_missing}" if not stripped[i] and t.if_missing else "")
        if isinstance(stripped[i], str) and _RESAVED_RE.match(stripped[i]):
            hint += f"; {RESAVED}"
        problems.append(_Problem(int(i), col, what, cells[i], hint, "timestamp", order))
    if getattr(parsed.dt, "tz", None) is not None:
        local = parsed.dt.tz_convert(study_zone).dt.tz_localize(None)
    elif t.zone and t.zone != study_zone:
        local = (
            parsed.dt.tz_localize(t.zone, ambiguous="NaT", nonexistent="NaT")
            .dt.tz_convert(study_zone)
            .dt.tz_localize(None)
        )
    else:
        local = parsed
    out = pd.Series(local.to_numpy(), index=cells.index).astype("datetime64[us]")
    return out, fmt


def all_equal_durations(durations: pd.Series) -> bool:
    d = durations.dropna()
    return len(d) >= 2 and bool(np.all(d.to_numpy() == d.to_numpy()[0]))
