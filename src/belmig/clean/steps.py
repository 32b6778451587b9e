"""Cleaning: from all ingested submissions to the analysed respondents (``responses.parquet``).

Steps, in order, each counted in the cleaning flow (``step, description, removed, remaining``;
``received`` minus every ``removed`` equals ``analysed``):

1. ``duplicates``: a submission whose answers (every question column, open text included;
   response id and timestamps excluded) are identical to an earlier submission's. Submissions
   without any answer are not duplicates of each other (they fail completeness).
2. ``test_entries``: a word of an open answer (text questions and "Other" text) starts with a
   test marker (``cleaning.test_markers``), case-insensitively: "тест", "тестовая", "Test"
   count; "протест" and "аттестат" (the marker inside a word) do not.
3. ``ineligible``: ``citizen_by`` not in ``cleaning.eligible_citizenship`` or ``arrival_year``
   not in ``cleaning.eligible_arrival`` (no answer = ineligible).
4. ``incomplete``: share of applicable closed questions answered below
   ``cleaning.completeness_threshold``. Closed = single, multi, scale, number (open comments
   are optional and not counted). A question is applicable when the respondent is in its
   universe (the answer to the universe question is one of its options; nested universes
   follow); a multiple-choice question counts as answered when any option was ticked.
5. ``speeders``: duration below ``cleaning.speeder_fraction`` × the median duration of the
   submissions still in (i.e. eligible, complete, not duplicates or tests). Skipped (removed 0,
   described as skipped) when the export has no start times, so no duration is known.
6. ``straightlining``: on any grid of ``cleaning.straightline_grids``, at least
   ``cleaning.straightline_min_items`` applicable items answered and all answers identical.

Skip logic and consistency (counted per question among the analysed respondents, in the flow
after ``analysed``: ``removed`` 0, ``violations`` the answers concerned):

* ``skip_<q>``: answers given outside a question's universe (asked only of some: health
  ratings of those who used health care) are data errors of the platform's skip logic; they are
  **cleared** (set to NA) before the steps run, whatever the config says — the question's base
  is who was asked. "Other" text without the "Other" option ticked is cleared too (counted in
  ``CleanResult.cleared`` only).
* ``consistency_<q>``: a question asked of everyone whose answer another answer rules out
  (codebook ``consistency``: taking part in diaspora organisations without knowing any). After
  the steps, ``cleaning.skip_violations`` decides: ``set_missing`` clears the dependent answer,
  ``keep`` leaves it as given. A respondent with the other answer missing is not a violation.
  Clearing after the steps means the rule changes answers, not who is analysed.

If no submission is left after a step, :class:`CleanError` is raised instead of producing an
empty dataset. ``responses.attrs["belmig"]["screening"]`` records the eligibility rule
(``{citizen_by: [...], arrival_year: [...]}``): the estimation marks the shares it fixes.

``responses`` has ``resp_id`` ("r0001"… in submission order) and per question: single →
``category`` with the codebook keys in codebook order; multi → nullable boolean ``q__key``;
scale → ``Int64``; open answers → ``q__code`` (see :mod:`belmig.clean.coding`); no free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from belmig.clean import coding as coding_mod
from belmig.core import atomic, messages
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import code_column, multi_column, other_text_column

CITIZENSHIP_QUESTION = "citizen_by"
ARRIVAL_QUESTION = "arrival_year"
CLOSED_TYPES = ("single", "multi", "scale", "number")
CONFIG_KEYS = (
    "eligible_arrival",
    "eligible_citizenship",
    "completeness_threshold",
    "speeder_fraction",
    "straightline_grids",
    "straightline_min_items",
    "test_markers",
    "skip_violations",
)
STEPS = ("received", "duplicates", "test_entries", "ineligible", "incomplete", "speeders", "straightlining", "analysed")
# description: English; notes: the same as a note (belmig.core.messages), worded by each edition
FLOW_COLUMNS = ["step", "description", "removed", "remaining", "violations", "notes"]
SKIP_ACTIONS = ("set_missing", "keep")
SCREENING_ATTR = "screening"
# What each step of the cleaning flow does, in English; each edition words the same notes itself
# (report/tables.<lang>.yaml, notes: clean.<id>).
NOTE = messages.catalog(
    "clean",
    {
        "received": "submissions in the export",
        "duplicates": "identical answers to an earlier submission",
        "test_entries": "open answer contains a test marker ({markers})",
        "ineligible": "{citizen} not in {citizen_ok} or {arrival} not in {arrival_ok}",
        "incomplete": "answered < {threshold}% of the closed questions asked",
        "speeders": "duration < {fraction} × median of complete submissions ({cut} s)",
        "speeders_skipped": "skipped: no start times (durations unknown), nobody removed",
        "straightlining": "same answer on all of >= {items} answered items of a grid ({grids})",
        "analysed": "respondents analysed",
        "skip": "{q} answered although not asked ({p} not in {values}): set to missing",
        "consistency_cleared": (
            "{q} = {answers} although {p} is not {values}: set to missing (cleaning.skip_violations: set_missing)"
        ),
        "consistency_kept": "{q} = {answers} although {p} is not {values}: kept as given (cleaning.skip_violations: keep)",
    },
)
# the speeder step when no submission has a duration (no start times in the export)
SPEEDERS_SKIPPED = str(NOTE("speeders_skipped"))


def _flow_row(step: str, note: messages.Note, removed: int, remaining: int, violations: int | None = None) -> dict:
    return dict(step=step, description=str(note), removed=removed, remaining=remaining, violations=violations,
                notes=messages.encode([note]))  # fmt: skip


class CleanError(ValueError):
    """The ingested data or the cleaning settings do not allow cleaning."""


@dataclass(frozen=True)
class CleanResult:
    responses: pd.DataFrame
    flow: pd.DataFrame
    other_coding: pd.DataFrame
    # answers cleared because they were given outside the question's universe (analysed rows)
    cleared: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["question", "cleared"]))


# --------------------------------------------------------------------------- columns


def question_columns(q: Question) -> list[str]:
    """Ingested columns holding the answer to `q` (without its "Other" text)."""
    return q.multi_columns() if q.type == "multi" else [q.id]


def open_text_columns(cb: Codebook) -> list[str]:
    return [coding_mod.open_answer_column(q) for q in coding_mod.codable_questions(cb)]


def ingested_answer_columns(cb: Codebook) -> list[str]:
    """Ingested columns holding answers: every question's columns and its "Other" text."""
    cols = []
    for q in cb.questions:
        cols += question_columns(q)
        if q.other_column:
            cols.append(other_text_column(q.id))
    return cols


def _check_ingested(df: pd.DataFrame, cb: Codebook, source: str) -> None:
    need = ["row", "response_id", "duration_sec", *ingested_answer_columns(cb)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CleanError(
            f"{source}: column {missing[0]!r} is missing from the ingested data "
            f"({len(missing)} missing); re-run ingestion with this codebook ({cb.source})"
        )


def _check_config(cfg: dict[str, Any], cb: Codebook) -> None:
    missing = [k for k in CONFIG_KEYS if k not in cfg]
    if missing:
        raise CleanError(f"config cleaning: missing setting {missing[0]!r}")
    extra = sorted(set(cfg) - set(CONFIG_KEYS))
    if extra:
        raise CleanError(f"config cleaning: unknown setting {extra[0]!r}")
    for key, qid in (("eligible_citizenship", CITIZENSHIP_QUESTION), ("eligible_arrival", ARRIVAL_QUESTION)):
        q = cb[qid]
        bad = [v for v in cfg[key] if v not in q.keys]
        if bad:
            raise CleanError(f"config cleaning.{key}: {bad[0]!r} is not an option of {qid!r} ({q.keys})")
    for g, grid in enumerate(cfg["straightline_grids"]):
        for qid in grid:
            if qid not in cb.by_id or cb[qid].type != "scale":
                raise CleanError(f"config cleaning.straightline_grids[{g}]: {qid!r} is not a scale question")
    if cfg["skip_violations"] not in SKIP_ACTIONS:
        raise CleanError(
            f"config cleaning.skip_violations must be one of {SKIP_ACTIONS}, got {cfg['skip_violations']!r}"
        )
    if not 0 <= cfg["completeness_threshold"] <= 1 or not 0 <= cfg["speeder_fraction"] <= 1:
        raise CleanError("config cleaning: completeness_threshold and speeder_fraction must lie in [0, 1]")


# --------------------------------------------------------------------------- universes


def applicable(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Boolean frame (rows × question ids): was the question asked of the respondent?"""
    out: dict[str, pd.Series] = {}
    for q in cb.questions:
        if q.universe is None:
            out[q.id] = pd.Series(True, index=df.index)
        else:
            parent = cb[q.universe.question]
            if parent.type == "multi":
                ticked = df[[multi_column(parent.id, k) for k in q.universe.values]].fillna(False).astype(bool)
                inside = ticked.any(axis=1)
            else:
                inside = _isin(df[parent.id], q.universe.values)
            out[q.id] = inside & out[parent.id]
    return pd.DataFrame(out, index=df.index)


def _isin(s: pd.Series, values) -> pd.Series:
    """``s.astype("object").isin(values)`` without converting every cell to a Python object."""
    if s.dtype == object:
        return s.isin(list(values))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    hit = pd.Index(uniques, dtype=object).isin(list(values)) if len(uniques) else np.zeros(0, dtype=bool)
    out = np.zeros(len(s), dtype=bool)
    ok = codes >= 0
    out[ok] = hit[codes[ok]]
    return pd.Series(out, index=s.index)


def answered(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Boolean frame (rows × question ids): did the respondent answer the question?"""
    out = {}
    for q in cb.questions:
        # the question's columns' missingness as arrays, not a frame of its columns (one question's
        # at a time: a million rows' masks of every column at once were ~0.3 GB more at the peak)
        have = [df[c].notna().to_numpy(dtype=bool) for c in question_columns(q)]
        out[q.id] = np.logical_or.reduce(have) if have else np.zeros(len(df), dtype=bool)
    return pd.DataFrame(out, index=df.index)


def clear_out_of_universe(df: pd.DataFrame, cb: Codebook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set answers given outside a question's universe (and orphan "Other" text) to NA.

    Returns the cleared frame and a boolean frame (rows × columns) of the cells cleared.
    """
    out = df.copy()
    asked = applicable(df, cb)
    cleared: dict[str, Any] = {}  # boolean arrays, one per column
    for q in cb.questions:
        cols = question_columns(q)
        if q.other_column:
            cols = cols + [other_text_column(q.id)]
        outside = ~asked[q.id].to_numpy(dtype=bool)
        for c in cols:
            hit = outside & out[c].notna().to_numpy(dtype=bool)
            cleared[c] = hit
            if hit.any():
                out.loc[hit, c] = pd.NA
        if q.other_column:
            tcol = other_text_column(q.id)
            other_keys = [o.key for o in q.options if o.other]
            if q.type == "multi":
                chosen = out[[multi_column(q.id, k) for k in other_keys]].fillna(False).astype(bool).any(axis=1)
            else:
                chosen = _isin(out[q.id], other_keys)
            orphan = ~chosen.to_numpy(dtype=bool) & out[tcol].notna().to_numpy(dtype=bool)
            cleared[tcol] = cleared[tcol] | orphan
            if orphan.any():
                out.loc[orphan, tcol] = pd.NA
    return out, pd.DataFrame(cleared, index=df.index)


def universe_violations(cleared_cells: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Boolean frame (rows × questions with a universe): an answer given although not asked
    (from the cells :func:`clear_out_of_universe` cleared; "Other" text alone does not count)."""
    return pd.DataFrame(
        {q.id: cleared_cells[question_columns(q)].any(axis=1) for q in cb.questions if q.universe is not None},
        index=cleared_cells.index,
    )


def consistency_violations(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Boolean frame (rows × questions with consistency rules): an answer that the respondent's
    answer to another question rules out (the other answer known and not allowed)."""
    out: dict[str, pd.Series] = {}
    for q in cb.questions:
        if not q.consistency:
            continue
        hit = pd.Series(False, index=df.index)
        for c in q.consistency:
            if q.type == "multi":
                chosen = df[[multi_column(q.id, a) for a in c.answers]].fillna(False).astype(bool).any(axis=1)
            else:
                chosen = _isin(df[q.id], c.answers)
            other = df[c.question]
            hit |= chosen & other.notna() & ~_isin(other, c.values)
        out[q.id] = hit.astype(bool)
    return pd.DataFrame(out, index=df.index)


def clear_answers(df: pd.DataFrame, cb: Codebook, flags: pd.DataFrame) -> pd.DataFrame:
    """`df` with the answers (and "Other" text) of question ``flags.columns`` set to NA where flagged."""
    out = df.copy()
    for qid in flags.columns:
        q = cb[qid]
        cols = question_columns(q) + ([other_text_column(q.id)] if q.other_column else [])
        hit = flags[qid].to_numpy()
        if hit.any():
            for c in cols:
                out.loc[hit, c] = pd.NA
    return out


def skip_flow(
    cb: Codebook, universe: pd.DataFrame, consistency: pd.DataFrame, action: str, analysed: int
) -> list[dict[str, Any]]:
    """The flow rows of the skip-logic and consistency checks (counts among the analysed)."""
    rows = []
    for q in cb.questions:
        if q.universe is not None:
            p = q.universe.question
            note = NOTE("skip", q=q.id, p=p, values=messages.Opts(p, tuple(map(str, q.universe.values))))
            rows.append(_flow_row(f"skip_{q.id}", note, 0, analysed, int(universe[q.id].sum())))
        for c in q.consistency:
            said = "consistency_cleared" if action == "set_missing" else "consistency_kept"
            answers = messages.Opts(q.id, tuple(map(str, c.answers)))
            values = messages.Opts(c.question, tuple(map(str, c.values)))
            note = NOTE(said, q=q.id, answers=answers, p=c.question, values=values)
            rows.append(_flow_row(f"consistency_{q.id}", note, 0, analysed, int(consistency[q.id].sum())))
    return rows


def completeness(df: pd.DataFrame, cb: Codebook, asked: pd.DataFrame | None = None) -> pd.Series:
    """Share of applicable closed questions answered (answers outside universes do not count).

    `asked`: ``applicable(df, cb)`` when the caller has it already."""
    closed = [q.id for q in cb.questions if q.type in CLOSED_TYPES]
    asked = (applicable(df, cb) if asked is None else asked)[closed]
    ans = answered(df, cb)[closed] & asked
    n = asked.sum(axis=1)
    return (ans.sum(axis=1) / n.where(n > 0)).fillna(0.0)


# --------------------------------------------------------------------------- flags


def duplicate_flags(df: pd.DataFrame, cb: Codebook) -> pd.Series:
    """True for a submission identical (on every answer) to an earlier one."""
    cols = ingested_answer_columns(cb)
    has_answer = df[cols].notna().any(axis=1)
    key = pd.util.hash_pandas_object(
        pd.DataFrame({c: _object_categorical(df[c]) for c in cols}, index=df.index), index=False
    )
    return key.duplicated(keep="first") & has_answer


def _object_categorical(s: pd.Series) -> pd.Categorical:
    """The categorical ``hash_array`` builds from ``s.astype("object")`` (same categories, so the
    same hashes), without converting every cell to a Python object: the column is factorised in
    its own dtype and only the first occurrence of each distinct value is converted."""
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.intp)
    k = int(codes.max()) + 1 if len(codes) else 0
    # factorize numbers the values in order of first appearance: a code first appears where
    # the running maximum grows
    grows = np.diff(np.maximum.accumulate(codes), prepend=-1) > 0 if len(codes) else np.zeros(0, dtype=bool)
    first = np.flatnonzero(grows)
    if len(first) != k or not np.array_equal(codes[first], np.arange(k)):
        uniq, first = np.unique(codes, return_index=True)
        first = first[uniq >= 0]
    small = s.iloc[first].astype("object").to_numpy()
    ocodes, ouniques = pd.factorize(small, sort=False)  # as hash_array does on the object column
    to_obj = np.asarray(ocodes, dtype=np.intp)
    cell = np.where(codes >= 0, to_obj[np.maximum(codes, 0)] if k else -1, -1)
    dtype = pd.CategoricalDtype(categories=pd.Index(ouniques, copy=False), ordered=False)
    return pd.Categorical.from_codes(cell, dtype=dtype)


def test_flags(df: pd.DataFrame, cb: Codebook, markers: list[str]) -> pd.Series:
    """True when a word of any open answer starts with a test marker (case-insensitive)."""
    if not markers:
        return pd.Series(False, index=df.index)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(m.casefold()) for m in markers) + r")")
    hit = pd.Series(False, index=df.index)
    for c in open_text_columns(cb):
        s = df[c].dropna()
        marked = {t for t in s.unique() if pattern.search(str(t).casefold())}
        hit |= df[c].isin(list(marked)) if marked else False
    return hit.astype(bool)


def ineligible_flags(df: pd.DataFrame, cfg: dict[str, Any]) -> pd.Series:
    cit = df[CITIZENSHIP_QUESTION].astype("object").isin(list(cfg["eligible_citizenship"]))
    arr = df[ARRIVAL_QUESTION].astype("object").isin(list(cfg["eligible_arrival"]))
    return ~(cit & arr)


def speeder_flags(durations: pd.Series, fraction: float) -> tuple[pd.Series, float]:
    """True when the duration is below `fraction` × the median duration; also returns the cut-off."""
    d = durations.astype("Float64")
    if d.isna().any():
        raise CleanError("duration_sec is missing for some submissions; cannot detect speeders")
    cut = fraction * float(d.median())
    return (d < cut).astype(bool), cut


def straightline_flags(
    df: pd.DataFrame, cb: Codebook, grids: list[list[str]], min_items: int, asked: pd.DataFrame | None = None
) -> pd.Series:
    """True when, on any grid, >= min_items applicable items are answered and all are identical."""
    asked = applicable(df, cb) if asked is None else asked
    flag = pd.Series(False, index=df.index)
    for grid in grids:
        vals = pd.DataFrame({q: df[q].where(asked[q]) for q in grid}, index=df.index).astype("Float64")
        n = vals.notna().sum(axis=1)
        same = (vals.max(axis=1, skipna=True) == vals.min(axis=1, skipna=True)).fillna(False)
        flag |= (n >= min_items) & same
    return flag.astype(bool)


# --------------------------------------------------------------------------- the pipeline


def _source(df: pd.DataFrame) -> str:
    meta = df.attrs.get("belmig", {})
    return f"ingested data of {meta['source']}" if meta.get("source") else "ingested data"


def clean(
    ingested: pd.DataFrame, codebook: Codebook, cleaning_cfg: dict[str, Any], coding: coding_mod.CodingRules
) -> CleanResult:
    """Apply the cleaning steps in order; return the analysed responses, the flow and the coding counts."""
    cb, cfg = codebook, cleaning_cfg
    source = _source(ingested)
    _check_config(cfg, cb)
    _check_ingested(ingested, cb, source)
    if len(ingested) == 0:
        raise CleanError(f"{source}: no submissions to clean")
    df = ingested.reset_index(drop=True)
    df.attrs = {}  # read above (source) and below (meta, from `ingested`): not copied into each column
    df, cleared_cells = clear_out_of_universe(df, cb)
    coding_mod.check_manual_ids(coding, df["response_id"])
    codes, _ = coding_mod.code_answers(df, cb, coding)

    markers = ", ".join(cfg["test_markers"])
    grids = "; ".join(", ".join(g) for g in cfg["straightline_grids"])
    keep = pd.Series(True, index=df.index)
    flow = [_flow_row("received", NOTE("received"), 0, len(df))]

    def step(name: str, note: messages.Note, flags: pd.Series) -> None:
        removed = flags & keep
        keep.loc[removed] = False
        left = int(keep.sum())
        flow.append(_flow_row(name, note, int(removed.sum()), left))
        description = str(note)
        if left == 0:
            raise CleanError(
                f"{source}: no submission left after step {name!r} ({description}); "
                f"it removed all {int(removed.sum())} remaining of {len(df)} submissions. " + _diagnose(name, df, cfg)
            )

    step("duplicates", NOTE("duplicates"), duplicate_flags(df, cb))
    step("test_entries", NOTE("test_entries", markers=markers), test_flags(df, cb, cfg["test_markers"]))
    citizen_ok = messages.Opts(CITIZENSHIP_QUESTION, tuple(cfg["eligible_citizenship"]), style="repr")
    arrival_ok = messages.Opts(ARRIVAL_QUESTION, tuple(cfg["eligible_arrival"]), style="repr")
    step(
        "ineligible",
        NOTE("ineligible", citizen=CITIZENSHIP_QUESTION, citizen_ok=citizen_ok, arrival=ARRIVAL_QUESTION,
             arrival_ok=arrival_ok),
        ineligible_flags(df, cfg),
    )  # fmt: skip
    asked = applicable(df, cb)
    share = completeness(df, cb, asked)
    step(
        "incomplete",
        NOTE("incomplete", threshold=f"{100 * cfg['completeness_threshold']:.0f}"),
        share < cfg["completeness_threshold"],
    )
    if df["duration_sec"].isna().all():  # the export has no start times (ingest says so)
        step("speeders", NOTE("speeders_skipped"), pd.Series(False, index=df.index))
    else:
        fast, cut = speeder_flags(df.loc[keep, "duration_sec"], cfg["speeder_fraction"])
        step(
            "speeders",
            NOTE("speeders", fraction=str(cfg["speeder_fraction"]), cut=f"{cut:.0f}"),
            fast.reindex(df.index, fill_value=False),
        )
    step(
        "straightlining",
        NOTE("straightlining", items=cfg["straightline_min_items"], grids=grids),
        straightline_flags(df, cb, cfg["straightline_grids"], cfg["straightline_min_items"], asked),
    )
    flow.append(_flow_row("analysed", NOTE("analysed"), 0, int(keep.sum())))

    kept = df.loc[keep]
    kept_codes = codes.loc[keep]
    # skip logic and consistency, among the analysed (universe answers were cleared above)
    outside = universe_violations(cleared_cells.loc[keep], cb)
    inconsistent = consistency_violations(kept, cb)
    if cfg["skip_violations"] == "set_missing":
        kept = clear_answers(kept, cb, inconsistent)
    flow += skip_flow(cb, outside, inconsistent, cfg["skip_violations"], int(keep.sum()))
    flow_df = pd.DataFrame(flow, columns=FLOW_COLUMNS).astype(
        {"removed": "int64", "remaining": "int64", "violations": "Int64"}
    )

    responses = build_responses(kept, kept_codes, cb)
    meta = dict(ingested.attrs.get("belmig", {}))
    meta["coded_labels"] = {q.id: coding.labels(q.id) for q in coding_mod.codable_questions(cb)}
    meta[SCREENING_ATTR] = {
        CITIZENSHIP_QUESTION: list(cfg["eligible_citizenship"]),
        ARRIVAL_QUESTION: list(cfg["eligible_arrival"]),
    }
    responses.attrs["belmig"] = meta
    counts = coding_mod.coding_counts(kept_codes, cb, coding)
    cl = cleared_cells.loc[keep].sum()
    cleared = pd.DataFrame({"column": cl.index, "cleared": cl.to_numpy().astype("int64")})
    cleared = cleared[cleared["cleared"] > 0].reset_index(drop=True)
    return CleanResult(responses=responses, flow=flow_df, other_coding=counts, cleared=cleared)


def _diagnose(step: str, df: pd.DataFrame, cfg: dict[str, Any]) -> str:
    if step == "ineligible":
        cit = df[CITIZENSHIP_QUESTION].astype("object").fillna("(no answer)").value_counts().to_dict()
        arr = df[ARRIVAL_QUESTION].astype("object").fillna("(no answer)").value_counts().to_dict()
        return (
            f"Answers in the export: {CITIZENSHIP_QUESTION} {cit}, {ARRIVAL_QUESTION} {arr}; eligible are "
            f"cleaning.eligible_citizenship={cfg['eligible_citizenship']} and "
            f"cleaning.eligible_arrival={cfg['eligible_arrival']}."
        )
    return "Check the export and the cleaning settings in config/config.yaml."


def _categorical(s: pd.Series, categories: list[str]) -> pd.Categorical:
    """``pd.Categorical(s.astype("object"), categories=categories)``, mapping each distinct value once."""
    if s.dtype == object:
        return pd.Categorical(s.where(s.notna(), None), categories=categories)
    dtype = pd.CategoricalDtype(categories=categories, ordered=False)
    at, uniques = pd.factorize(s, use_na_sentinel=True)
    to_cat = (
        dtype.categories.get_indexer(pd.Index(uniques, dtype=object)) if len(uniques) else np.zeros(0, dtype=np.intp)
    )
    codes = np.where(at >= 0, to_cat[np.maximum(at, 0)] if len(uniques) else -1, -1)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def build_responses(kept: pd.DataFrame, codes: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """The ``responses.parquet`` frame from cleaned ingested rows and their coded open answers."""
    n = len(kept)
    width = max(4, len(str(n)))
    kept = kept.reset_index(drop=True)
    codes = codes.reset_index(drop=True)
    cols: dict[str, Any] = {"resp_id": pd.Series([f"r{i:0{width}d}" for i in range(1, n + 1)], dtype="str")}
    for q in cb.questions:
        if q.type == "single":
            cols[q.id] = pd.Series(_categorical(kept[q.id], q.keys))
        elif q.type == "multi":
            for c in q.multi_columns():
                cols[c] = kept[c].astype("boolean")
        elif q.type == "scale":
            cols[q.id] = kept[q.id].astype("Int64")
        elif q.type == "number":
            cols[q.id] = kept[q.id].astype("Float64")
        if q.type == "text" or q.other_column:
            col = code_column(q.id)
            if col in cols:
                raise CleanError(f"{cb.source}: column {col!r} of question {q.id!r} collides with an option column")
            cols[col] = codes[col].astype("str")
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------- outputs


def _atomic(paths_writers: list[tuple[Path, Any]]) -> None:
    """Write every output to a temp file first; rename all only when all succeeded."""
    atomic.write_all(paths_writers)


def write(result: CleanResult, responses_path: Path, flow_path: Path, other_path: Path) -> None:
    """Write responses (Parquet), the cleaning flow and the coding counts (CSV), atomically
    (all three or none)."""
    _atomic(
        [
            (Path(responses_path), lambda p: result.responses.to_parquet(p, index=False)),
            (Path(flow_path), lambda p: result.flow.to_csv(p, index=False, lineterminator="\n")),
            (Path(other_path), lambda p: result.other_coding.to_csv(p, index=False, lineterminator="\n")),
        ]
    )


def to_values(result: CleanResult, vals: Any, cell: str = "clean-values") -> None:
    """Ledger values: ``flow.<step>`` (remaining for received/analysed, the violations for the
    skip-logic and consistency rows, removed otherwise) and ``other.<q>.coded|uncoded``."""
    for r in result.flow.itertuples(index=False):
        if r.step in ("received", "analysed"):
            value = r.remaining
        elif r.step.startswith(("skip_", "consistency_")):
            value = r.violations
        else:
            value = r.removed
        vals.add(f"flow.{r.step}", int(value), "count", cell=cell, description=r.description)
    oc = result.other_coding
    for qid, g in oc.groupby("question", sort=False):
        unc = int(g.loc[g["uncoded"], "count"].sum())
        cod = int(g.loc[~g["uncoded"], "count"].sum())
        vals.add(f"other.{qid}.coded", cod, "count", cell=cell, description=f"open answers to {qid} coded")
        vals.add(f"other.{qid}.uncoded", unc, "count", cell=cell, description=f"open answers to {qid} not coded")


def flow_adds_up(flow: pd.DataFrame) -> bool:
    """received − Σ removed = analysed, and every remaining is the previous minus removed."""
    rem = flow["remaining"].to_numpy()
    removed = flow["removed"].to_numpy()
    return bool(np.all(rem[1:] == rem[:-1] - removed[1:]) and rem[0] - removed.sum() == rem[-1])
