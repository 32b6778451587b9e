"""Validation: the tidy form of any platform's export to the ``ingested.parquet`` frame.

One code path for every platform: response ids, timestamps, every question's cells, the
"Other" texts, then the consistency checks. Every problem is collected (the adapter's header
problems first); if there is any, one :class:`~belmig.ingest.errors.IngestError` lists them.

Consistency checks (issue 13):

=========================  ==================================================================
``other_without_choice``   an "Other" text while "Other" is not chosen: counted warning (the
                           cleaning stage clears and counts it, as for any skip-logic error)
``not_asked``              an answer where the codebook universe says the question was not
                           asked: counted warning (cleaning decides what to do with it)
``durations_equal``        every submission has the same duration: error (the start column is
                           no start time; with no start times, map none and the check is skipped)
``empty_question``         a closed question asked of someone and answered by nobody: error;
                           an open question nobody answered: counted warning
=========================  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from belmig.core import messages
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import multi_column, other_text_column
from belmig.ingest.errors import IngestWarning, _Problem, fail
from belmig.ingest.labels import _Labels
from belmig.ingest.notes import NOTE
from belmig.ingest.parse import Parser, _text
from belmig.ingest.raw import TIMESTAMP_FORMAT, _Raw
from belmig.ingest.tidy import QInput, Source, Tidy
from belmig.ingest.times import SWAPPED, _strip, all_equal_durations, human, parse_times


@dataclass
class Result:
    """The ingested frame and what the ingest report says about it."""

    df: pd.DataFrame
    warnings: list[IngestWarning] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _empty(n: int) -> pd.Series:
    return pd.Series([""] * n, index=range(1, n + 1), dtype="object")


def validate(raw: _Raw, tidy: Tidy, cb: Codebook, study_zone: str) -> Result:
    n = tidy.n
    index = pd.RangeIndex(1, n + 1)
    problems: list[_Problem] = list(tidy.problems)
    warnings: list[IngestWarning] = []

    def order(src: Source | None) -> int:
        return -1 if src is None else src.j

    def cells(src: Source | None) -> pd.Series:
        if src is None:
            return _empty(n)
        s = raw.column(src.j)
        return s if s.index.equals(index) or isinstance(s.dtype, pd.CategoricalDtype) else s.reindex(index)

    parser = Parser(tidy.path, problems, order)
    out: dict[str, pd.Series] = {"row": pd.Series(pd.array(range(1, n + 1), dtype="Int64"), index=index)}
    info: dict[str, Any] = {"admin": {}, "questions": []}

    # ---------------------------------------------------------------- response ids
    if tidy.response_id is not None:
        src = tidy.response_id
        rid = _strip(cells(src))
        empty = (rid == "").to_numpy(dtype=bool)
        repeat = rid.duplicated(keep="first").to_numpy(dtype=bool) & ~empty
        if empty.any() or repeat.any():
            firsts = rid[~empty].drop_duplicates(keep="first")
            seen = dict(zip(firsts.to_numpy(), firsts.index))
            for i, v in rid[empty | repeat].items():
                if not v:
                    problems.append(_Problem(int(i), src.show(), "empty response id", v, order=src.j))
                else:
                    problems.append(
                        _Problem(int(i), src.show(), f"response id repeats data row {seen[v]}:", v, order=src.j)
                    )
        out["response_id"] = rid.astype("str")
        info["admin"]["response_id"] = {"column": src.name, "status": "read"}
    else:
        width = max(4, len(str(n)))
        out["response_id"] = pd.Series([f"row-{i:0{width}d}" for i in range(1, n + 1)], index=index, dtype="str")
        info["admin"]["response_id"] = {
            "column": None,
            "status": "generated",
            "note": f"the export has no response id: ids generated from the data row (row-{1:0{width}d}, …)",
        }

    # ---------------------------------------------------------------- timestamps
    times: dict[str, pd.Series] = {}
    for cid in ("started_at", "submitted_at"):
        t = getattr(tidy, cid)
        if t is None:
            times[cid] = pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
            info["admin"][cid] = {"column": None, "status": "lacking"}
            continue
        times[cid], fmt = parse_times(t, cells(t.source), study_zone, problems, t.source.j)
        zone = t.zone or study_zone
        said = NOTE("zone_stated" if t.stated else "zone_study" if not t.zone else "zone_given", zone=zone)
        info["admin"][cid] = {
            "column": t.source.name,
            "status": "read",
            "format": human(fmt),
            "time_zone": str(said),
            "time_zone_note": messages.as_data(said),
        }
        if t.hint:
            info["admin"][cid]["note"] = t.hint
            said = {"column": t.source.name, "read": human(fmt), "other": human(SWAPPED[fmt])}
            warnings.append(
                IngestWarning("ambiguous_date_order", str(NOTE("warn_ambiguous_date_order", **said)), params=said)
            )
    out["started_at"], out["submitted_at"] = times["started_at"], times["submitted_at"]
    for cid, src in tidy.admin_extra.items():
        c = cb.admin_column(cid)
        s = cells(src)
        if c.type == "datetime":
            from belmig.ingest.tidy import TimeInput

            out[cid], _ = parse_times(TimeInput(src, (TIMESTAMP_FORMAT,)), s, study_zone, problems, src.j)
        elif c.type == "number":
            out[cid] = parser.number(src, s)
        else:
            out[cid] = _text(s)

    # ---------------------------------------------------------------- questions
    keys: dict[str, pd.Series | pd.DataFrame] = {}
    others: dict[str, pd.Series] = {}
    by_id = {qi.q.id: qi for qi in tidy.questions}
    for q in cb.questions:
        qi = by_id.get(q.id)
        if qi is None:  # not found in the export (a header problem says so): NA, keep collecting
            qi = QInput(q, "cell", method="not found", confidence=0.0)
        _question(q, qi, cells, parser, tidy, out, keys, others, warnings)
        info["questions"].append(_describe(qi))

    # ---------------------------------------------------------------- consistency
    asked = _asked(cb, keys, index)
    _check_not_asked(cb, by_id, keys, others, asked, cells, warnings, order)
    _check_empty(cb, by_id, keys, asked, problems, warnings, order, cells)
    started, submitted = times["started_at"], times["submitted_at"]
    dur = (submitted - started).dt.total_seconds()
    if tidy.started_at is not None and tidy.submitted_at is not None:
        src = tidy.submitted_at.source
        for i in dur.index[(dur < 0).to_numpy()]:
            problems.append(
                _Problem(
                    int(i),
                    src.show(),
                    "submitted before it was started:",
                    submitted[i].strftime(TIMESTAMP_FORMAT),
                    f"started {started[i].strftime(TIMESTAMP_FORMAT)}",
                    "time",
                    src.j,
                )
            )
        if all_equal_durations(dur):
            s = tidy.started_at.source
            problems.append(
                _Problem(
                    None,
                    s.show(),
                    f"every submission has the same duration ({int(dur.dropna().iloc[0])} s):",
                    None,
                    "these are not real start times (copied from the end time?); if the platform records no "
                    "start time, map none (mapping overlay: admin: {started_at: null}) and the speeder check is skipped",
                    "durations_equal",
                    s.j,
                )
            )
    for check in tidy.checks:
        problems.extend(check(cells, keys))

    if problems:
        raise fail(tidy.path, problems, tidy.platform)

    if tidy.started_at is None:
        warnings.append(
            IngestWarning(
                "no_start_time",
                str(NOTE("warn_no_start_time")),
            )
        )
    df = pd.DataFrame(out)
    df.insert(df.columns.get_loc("submitted_at") + 1, "duration_sec", dur.round().astype("Int64"))
    df = df.reset_index(drop=True)
    info["warnings"] = warnings
    return Result(df, warnings, info)


def _question(q: Question, qi: QInput, cells, parser: Parser, tidy: Tidy, out, keys, others, warnings) -> None:
    labels = _Labels(q, tidy.path, qi.answers) if q.is_choice else None
    other_text: pd.Series | None = None
    if q.type == "single":
        vals, inline = parser.single(qi, cells(qi.cell), labels)
        if qi.other is not None:
            other_text = _text(cells(qi.other))
            if qi.other_mode == "beside_empty":
                other_key = next((o.key for o in q.options if o.other), None)
                fill = vals.isna() & other_text.notna()
                if other_key is not None and fill.any():
                    vals = vals.where(~fill, other_key)
        elif inline is not None:
            other_text = inline
        out[q.id] = vals
        keys[q.id] = vals
    elif q.type == "multi":
        if qi.kind == "ticks":
            block = parser.ticks(qi, {k: cells(s) for k, s in qi.ticks.items()}, cells(None).index)
            if qi.cell is not None:
                summary, _ = parser.joined(qi, cells(qi.cell), labels)
                _cross_check(qi, block, summary, parser)
        else:
            block, other_text = parser.joined(qi, cells(qi.cell), labels)
        if qi.other is not None:
            other_text = _text(cells(qi.other))
            if qi.other_mode == "implies":
                ocol = next((multi_column(q.id, o.key) for o in q.options if o.other), None)
                if ocol is not None:
                    has = other_text.notna().to_numpy()
                    unanswered = block.isna().all(axis=1).to_numpy()
                    for c in block.columns:
                        col = block[c].copy()
                        if c == ocol:
                            col[has] = True
                            col[unanswered & ~has] = pd.NA
                        else:
                            col[has & unanswered] = False
                        block[c] = col
        for c in block.columns:
            out[c] = block[c]
        keys[q.id] = block
    elif q.type == "scale":
        out[q.id] = keys[q.id] = parser.scale(qi, cells(qi.cell))
    elif q.type == "number":
        out[q.id] = keys[q.id] = parser.number(qi.cell, cells(qi.cell))
    else:
        out[q.id] = keys[q.id] = _text(cells(qi.cell))
    if q.other_column:
        if other_text is None:
            other_text = pd.Series(pd.array([None] * len(out["row"]), dtype="str"), index=out["row"].index)
        out[other_text_column(q.id)] = other_text
        others[q.id] = other_text


def _cross_check(qi: QInput, block: pd.DataFrame, summary: pd.DataFrame, parser: Parser) -> None:
    """A summary column (Kobo's select_multiple cell) must list exactly the ticked options."""
    for o in qi.q.options:
        c = multi_column(qi.q.id, o.key)
        a, b = block[c], summary[c]
        both = a.notna() & b.notna()
        differ = both & (a.fillna(False) != b.fillna(False))
        differ |= a.isna() & b.fillna(False)
        differ |= b.isna() & a.fillna(False)
        rows = [int(i) for i in block.index[differ.to_numpy(dtype=bool)]]
        if rows:
            src = qi.ticks.get(o.key)
            listed = "lists" if bool(b.fillna(False)[rows[0]]) else "does not list"
            parser.add(
                rows,
                src,
                f"the summary column {qi.cell.name!r} {listed} this option, its own column says otherwise:",
                o.label_ru,
                "the summary and the option columns disagree",
                "summary_detail",
            )


def _asked(cb: Codebook, keys: dict, index: pd.Index) -> dict[str, np.ndarray]:
    """Per question: was it asked of the respondent (codebook universes, nested)?"""
    asked: dict[str, np.ndarray] = {}
    for q in cb.questions:
        if q.universe is None:
            asked[q.id] = np.ones(len(index), dtype=bool)
            continue
        parent = cb[q.universe.question]
        pv = keys[parent.id]
        if parent.type == "multi":
            inside = pv[[multi_column(parent.id, k) for k in q.universe.values]].fillna(False).astype(bool).any(axis=1)
        else:
            inside = pv.isin(list(q.universe.values)).fillna(False).astype(bool)
        asked[q.id] = inside.to_numpy(dtype=bool) & asked[parent.id]
    return asked


def _answered(q: Question, keys: dict) -> np.ndarray:
    v = keys[q.id]
    if isinstance(v, pd.DataFrame):
        return v.notna().any(axis=1).to_numpy(dtype=bool)
    return v.notna().to_numpy(dtype=bool)


def _main_source(qi: QInput | None) -> Source | None:
    if qi is None:
        return None
    if qi.cell is not None:
        return qi.cell
    return next(iter(qi.ticks.values()), None)


def _check_not_asked(cb, by_id, keys, others, asked, cells, warnings, order) -> None:
    found: list[_Problem] = []
    for q in cb.questions:
        outside = ~asked[q.id] & _answered(q, keys)
        if not outside.any():
            continue
        qi = by_id.get(q.id)
        src = _main_source(qi)
        idx = keys[q.id].index
        for i in idx[outside]:
            value = None
            if q.type in ("single", "scale", "number") and src is not None:
                value = cells(src)[i]
            found.append(
                _Problem(
                    int(i),
                    src.show() if src else repr(q.column),
                    "an answer where the codebook says the question was not asked:",
                    value,
                    f"asked only if {q.universe.question} is one of {list(q.universe.values)}",
                    "not_asked",
                    order(src),
                )
            )
    if found:
        warnings.append(
            IngestWarning(
                "not_asked",
                str(NOTE("warn_not_asked")),
                found,
                len(found),
            )
        )
    orphans: list[_Problem] = []
    for q in cb.questions:
        if q.id not in others or not q.is_choice:
            continue
        qi = by_id.get(q.id)
        text = others[q.id].notna().to_numpy(dtype=bool)
        okeys = [o.key for o in q.options if o.other]
        v = keys[q.id]
        if isinstance(v, pd.DataFrame):
            chosen = v[[multi_column(q.id, k) for k in okeys]].fillna(False).astype(bool).any(axis=1).to_numpy()
        else:
            chosen = v.isin(okeys).fillna(False).to_numpy(dtype=bool)
        orphan = text & ~chosen
        if not orphan.any():
            continue
        beside = qi is not None and qi.other_mode == "beside_empty"
        src = _main_source(qi) if beside else (qi.other if qi is not None else None)
        for i in v.index[orphan]:
            what = (
                "an answer and an 'Other' text for a single-choice question (two answers where one is allowed):"
                if beside
                else "an 'Other' text while 'Other' is not chosen"
            )
            orphans.append(
                _Problem(
                    int(i),
                    src.show() if src else repr(q.other_column),
                    what,
                    None,
                    "",
                    "other_without_choice",
                    order(src),
                )
            )
    if orphans:
        warnings.append(
            IngestWarning(
                "other_without_choice",
                str(NOTE("warn_other_without_choice")),
                orphans,
                len(orphans),
            )
        )


def _check_empty(cb, by_id, keys, asked, problems, warnings, order, cells) -> None:
    quiet: list[_Problem] = []
    for q in cb.questions:
        qi = by_id.get(q.id)
        if qi is None or str(qi.method).startswith("not found"):
            continue
        if _answered(q, keys).any():
            continue
        if any((_strip(cells(s).astype(str)) != "").any() for s in qi.columns() if s is not qi.other):
            continue  # its cells hold something: they were refused above, not left empty
        k = int(asked[q.id].sum())
        src = _main_source(qi)
        col = src.show() if src else repr(q.column)
        if q.type == "text" or k == 0:
            why = "nobody answered this open question" if q.type == "text" else "nobody was asked this question"
            quiet.append(_Problem(None, col, why, None, f"question {q.id!r}", "empty_question", order(src)))
        else:
            problems.append(
                _Problem(
                    None,
                    col,
                    f"empty for every respondent: nobody answered question {q.id!r}, which {k} were asked",
                    None,
                    "a broken display logic, or the wrong column",
                    "empty_question",
                    order(src),
                )
            )
    if quiet:
        warnings.append(IngestWarning("empty_question", str(NOTE("warn_empty_question")), quiet, len(quiet)))


def _describe(qi: QInput) -> dict[str, Any]:
    answers = "codes" if qi.answers.codes else "value labels" if qi.answers.value_labels else "labels"
    if qi.q.type in ("scale", "number", "text"):
        answers = "codes" if qi.scale_codes else qi.q.type
    d: dict[str, Any] = {
        "id": qi.q.id,
        "type": qi.q.type,
        "columns": [s.name for s in qi.columns()],
        "layout": qi.kind if qi.q.type == "multi" else "cell",
        "answers": answers,
        "method": str(qi.method),
        "confidence": round(float(qi.confidence), 2),
    }
    if isinstance(qi.method, messages.Note):
        d["method_note"] = messages.as_data(qi.method)
    if qi.kind == "joined" and qi.q.type == "multi":
        d["separator"] = qi.separator
    if qi.other is not None or qi.other_mode == "inline":
        d["other"] = qi.other_mode
    return d
