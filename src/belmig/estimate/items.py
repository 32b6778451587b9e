"""The analysed variables: one item per single-choice or scale question, one per option of a
multiple-choice question, each with the scores of its estimands on the answer values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from belmig import weight as wt
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import multi_column
from belmig.estimate.design import EstimateError

TOP_BOX = 8  # "8 or higher": the top-box share the 2022 report prints for 1–10 scales


@dataclass(frozen=True)
class Item:
    """One analysed variable: a single/scale question or one option of a multi question."""

    question: str
    kind: str  # single | scale | multi
    v: np.ndarray  # (n,) 0 = outside the base, 1..V-1 = the answer's position
    V: int
    F: np.ndarray  # (V-1, J) scores of the estimands on the answer values
    options: tuple[str, ...]
    stats: tuple[str, ...]


def values(q: Question, responses: pd.DataFrame) -> list[Item]:
    if q.type == "single":
        if q.id not in responses.columns:
            raise EstimateError(f"responses have no column {q.id!r} (question {q.id})")
        try:
            v = wt.option_codes(responses[q.id], q.keys, q.id) + 1
        except wt.RakeError as exc:
            raise EstimateError(str(exc)) from None
        K = len(q.keys)
        return [Item(q.id, "single", v, K + 1, np.eye(K), tuple(q.keys), ("pct",) * K)]
    if q.type == "scale":
        if q.id not in responses.columns:
            raise EstimateError(f"responses have no column {q.id!r} (question {q.id})")
        lo, hi = int(q.scale["min"]), int(q.scale["max"])
        x = responses[q.id].to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(x)
        bad = ok & ((x != np.round(x)) | (x < lo) | (x > hi))
        if bad.any():
            raise EstimateError(f"{q.id}: values outside the scale {lo}–{hi}: {sorted(set(x[bad].tolist()))[:5]}")
        v = np.where(ok, np.nan_to_num(x) - lo + 1, 0).astype(np.int64)
        vals = np.arange(lo, hi + 1, dtype=float)
        cols = [(vals == s).astype(float) for s in vals]
        options = [f"v{int(s)}" for s in vals]
        st = ["pct"] * len(vals)
        if lo <= TOP_BOX <= hi:
            cols.append((vals >= TOP_BOX).astype(float))
            options.append(f"ge{TOP_BOX}")
            st.append("pct")
        cols.append(vals)
        options.append("")
        st.append("mean")
        return [Item(q.id, "scale", v, len(vals) + 1, np.column_stack(cols), tuple(options), tuple(st))]
    # multi: one binary item per option; the NA pattern must be the same for all options
    items, na0 = [], None
    for key in q.keys:
        col = multi_column(q.id, key)
        if col not in responses.columns:
            raise EstimateError(f"responses have no column {col!r} (question {q.id})")
        s = responses[col]
        na = s.isna().to_numpy()
        if na0 is None:
            na0 = na
        elif (na != na0).any():
            raise EstimateError(f"{q.id}: option columns are missing for different respondents ({col!r})")
        v = s.to_numpy(dtype=np.int8, na_value=-1).astype(np.int64) + 1  # 0 NA, 1 no, 2 yes
        items.append(Item(q.id, "multi", v, 3, np.array([[0.0], [1.0]]), (key,), ("pct",)))
    return items


def check_universe(q: Question, item: Item, responses: pd.DataFrame, codebook: Codebook) -> None:
    if q.universe is None:
        return
    parent = codebook[q.universe.question]
    codes = wt.option_codes(responses[parent.id], parent.keys, parent.id)
    allowed = np.array([parent.keys.index(k) for k in q.universe.values])
    outside = (item.v > 0) & ~np.isin(codes, allowed)
    if outside.any():
        raise EstimateError(
            f"{q.id}: {int(outside.sum())} respondents answered although outside the universe "
            f"({parent.id} in {list(q.universe.values)}); responses must be NA there"
        )


def subgroup_questions(codebook: Codebook, estimation_cfg: dict[str, Any]) -> list[str]:
    """The config's subgroups plus the subgroups the charts are drawn for (codebook charts)."""
    out = list(estimation_cfg["subgroups"])
    for ch in codebook.charts:
        if ch.subgroup is not None and ch.subgroup.question not in out:
            out.append(ch.subgroup.question)
    for b in out:
        if b not in codebook.by_id or codebook[b].type != "single":
            raise EstimateError(f"subgroup {b!r} is not a single-choice question of the codebook")
    return out
