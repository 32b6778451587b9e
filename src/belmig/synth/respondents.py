"""Generation of the analysed respondents in coded form (the contract of responses.parquet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from belmig.core.codebook import Codebook, Question
from belmig.core.keys import code_column, multi_column
from belmig.synth.common import (
    MAX_SAME_SCALE_ANSWER,
    SCALE_KEYS,
    SCALE_VALUES,
    SynthError,
    apportion,
    arrow_strings,
)
from belmig.synth.counts import Cell, Targets


@dataclass
class _State:
    n: int
    single: dict[str, np.ndarray] = field(default_factory=dict)  # option index, -1 = NA
    multi: dict[str, tuple[np.ndarray, list[np.ndarray]]] = field(default_factory=dict)  # answered, ticks per option
    scale: dict[str, np.ndarray] = field(default_factory=dict)  # 1..10, 0 = NA
    scale_cell: dict[str, np.ndarray] = field(default_factory=dict)  # cell id of each answer
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # code index, -1 = NA
    missing: np.ndarray = None  # applicable questions left unanswered, per respondent

    def answered(self, q: Question) -> np.ndarray:
        if q.type == "single":
            return self.single[q.id] >= 0
        if q.type == "multi":
            return self.multi[q.id][0]
        return self.scale[q.id] > 0


def _universe(state: _State, codebook: Codebook, q: Question) -> np.ndarray:
    if q.universe is None:
        return np.ones(state.n, dtype=bool)
    parent = codebook[q.universe.question]
    idx = [parent.keys.index(v) for v in q.universe.values]
    return np.isin(state.single[parent.id], idx)


def _order(codebook: Codebook, t: Targets) -> list[Question]:
    """Codebook order, moved so every subgroup's question comes before the question it splits."""
    todo = [q for q in codebook.questions if q.type in ("single", "multi", "scale")]
    done: list[Question] = []
    while todo:
        for q in todo:
            deps = {c.by for c in t.subgroups(q.id)} | ({q.universe.question} if q.universe else set())
            if deps <= {d.id for d in done}:
                done.append(q)
                todo.remove(q)
                break
        else:
            raise SynthError(f"circular subgroup dependencies among {[q.id for q in todo]}")
    return done


def _pick(pool: np.ndarray, k: int, state: _State, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split `pool` into k respondents who answer and the rest. Those who already skipped the
    most questions answer first (ties at random), so item non-response is spread thinly and no
    one comes near the completeness rule."""
    if k >= len(pool):
        return pool, pool[:0]
    key = rng.random(len(pool)) - state.missing[pool]  # lower = answers first
    part = np.argpartition(key, k)
    return np.sort(pool[part[:k]]), np.sort(pool[part[k:]])


def _shrink(cell: Cell, size: int) -> Cell:
    """Scale mode only: a cell whose pool came out smaller than its base."""
    if cell.kind == "multi":
        f = size / cell.base if cell.base else 0
        return replace(cell, base=size, counts={k: min(size, int(round(v * f))) for k, v in cell.counts.items()})
    return replace(cell, base=size, counts=dict(zip(cell.counts, apportion(size, list(cell.counts.values())))))


def _rest(marg: Cell, subs: Sequence[Cell]) -> Cell:
    counts = {k: v - sum(s.counts[k] for s in subs) for k, v in marg.counts.items()}
    base = marg.base - sum(s.base for s in subs)
    return replace(marg, by="*rest*", base=base, counts=counts)


def _multi_ticks(q: Question, cell: Cell, m: int, rng: np.random.Generator, strict: bool) -> list[np.ndarray]:
    """Per option, m booleans with exact sums; exclusive options alone; >= 1 tick per answerer.

    Each option ticks a random set of its exact size; answerers left without a tick then take
    an option over from someone holding two or more (option sums unchanged)."""
    keys = q.keys
    ticks = [np.zeros(m, dtype=bool) for _ in keys]
    excl = [i for i, o in enumerate(q.options) if o.exclusive]
    nonex = [i for i in range(len(keys)) if i not in excl]
    perm = rng.permutation(m)
    start = 0
    for i in excl:
        k = cell.counts[keys[i]]
        ticks[i][perm[start : start + k]] = True
        start += k
    rest = np.sort(perm[start:])
    r = len(rest)
    if r == 0:
        return ticks
    cols = []
    for i in nonex:
        col = np.zeros(r, dtype=bool)
        col[rng.permutation(r)[: min(cell.counts[keys[i]], r)]] = True
        cols.append(col)
    cnt = np.zeros(r, dtype=np.int32)
    for col in cols:
        cnt += col
    for j in np.argsort([-int(c.sum()) for c in cols], kind="stable"):
        unc = np.flatnonzero(cnt == 0)
        if unc.size == 0:
            break
        donors = np.flatnonzero(cols[j] & (cnt >= 2))
        t = min(unc.size, donors.size)
        if t:
            d = donors[rng.permutation(donors.size)[:t]]
            u = unc[:t]
            cols[j][d] = False
            cols[j][u] = True
            cnt[d] -= 1
            cnt[u] += 1
    if (cnt == 0).any():
        if strict:
            raise SynthError(f"{q.id}: {int((cnt == 0).sum())} answerers left without an option")
        cols[int(np.argmax([c.sum() for c in cols]))][cnt == 0] = True  # scale mode: one extra tick
    for i, col in zip(nonex, cols):
        ticks[i][rest] = col
    return ticks


def _fill(
    q: Question, cell: Cell, pool: np.ndarray, state: _State, rng: np.random.Generator, strict: bool, cell_id: int
) -> None:
    if len(pool) < cell.base:
        if strict:
            raise SynthError(
                f"{q.id} {cell.by}={cell.level}: {cell.base} answers needed, only {len(pool)} respondents in the group"
            )
        cell = _shrink(cell, len(pool))
    if not strict and q.type in ("single", "scale") and sum(cell.counts.values()) != cell.base:
        w = list(cell.counts.values())  # scale mode: rounding left the counts off the base
        cell = replace(cell, counts=dict(zip(cell.counts, apportion(cell.base, w if sum(w) > 0 else [1] * len(w)))))
    who, silent = _pick(pool, cell.base, state, rng)
    state.missing[silent] += 1
    if q.type == "single":
        vals = np.repeat(np.arange(len(q.keys)), [cell.counts[k] for k in q.keys])
        if len(vals) != len(who):
            raise SynthError(f"{q.id} {cell.by}={cell.level}: counts sum to {len(vals)}, base {len(who)}")
        state.single[q.id][who] = rng.permutation(vals)
    elif q.type == "scale":
        vals = np.repeat(np.array(SCALE_VALUES), [cell.counts[k] for k in SCALE_KEYS])
        if len(vals) != len(who):
            raise SynthError(f"{q.id} {cell.by}={cell.level}: counts sum to {len(vals)}, base {len(who)}")
        state.scale[q.id][who] = rng.permutation(vals)
        state.scale_cell[q.id][who] = cell_id
    else:
        answered, ticks = state.multi[q.id]
        answered[who] = True
        for col, new in zip(ticks, _multi_ticks(q, cell, len(who), rng, strict)):
            col[who] = new


def _assign_question(
    q: Question, codebook: Codebook, t: Targets, state: _State, rng: np.random.Generator, strict: bool
) -> None:
    n = state.n
    if q.type == "single":
        state.single[q.id] = np.full(n, -1, dtype=np.int16)
    elif q.type == "scale":
        state.scale[q.id] = np.zeros(n, dtype=np.int8)
        state.scale_cell[q.id] = np.full(n, -1, dtype=np.int16)
    else:
        state.multi[q.id] = (np.zeros(n, dtype=bool), [np.zeros(n, dtype=bool) for _ in q.keys])
    universe = _universe(state, codebook, q)
    marg = t.cell(q.id)
    subs = t.subgroups(q.id)
    if len({s.by for s in subs}) > 1:
        raise SynthError(
            f"{q.id}: subgroup cells by several questions ({sorted({s.by for s in subs})}) are not supported"
        )
    covered = np.zeros(n, dtype=bool)
    for cid, s in enumerate(subs):
        by = codebook[s.by]
        in_level = state.single[by.id] == by.keys.index(s.level)
        _fill(q, s, np.flatnonzero(universe & in_level), state, rng, strict, cid)
        covered |= in_level
    rest = _rest(marg, subs)
    if rest.base < 0 or any(v < 0 for v in rest.counts.values()):
        if strict:
            raise SynthError(f"{q.id}: subgroup cells exceed the whole-sample counts")
        base = max(rest.base, 0)  # scale mode: rounding; _fill evens the counts out
        rest = replace(rest, base=base, counts={k: min(max(v, 0), base) for k, v in rest.counts.items()})
    _fill(q, rest, np.flatnonzero(universe & ~covered), state, rng, strict, len(subs))


def _grid(codebook: Codebook) -> list[str]:
    return [q.id for q in codebook.of_type("scale")]


def _fingerprints(state: _State, codebook: Codebook) -> np.ndarray:
    h = np.zeros(state.n, dtype=np.uint64)
    mult = np.uint64(1099511628211)
    with np.errstate(over="ignore"):
        for q in codebook.questions:
            if q.type == "single":
                cols = [state.single[q.id].astype(np.int64)]
            elif q.type == "scale":
                cols = [state.scale[q.id].astype(np.int64)]
            elif q.type == "multi":
                ans, ticks = state.multi[q.id]
                cols = [np.where(ans, sum(t.astype(np.int64) << j for j, t in enumerate(ticks)), -1)]
            else:
                continue
            for c in cols:
                h = (h ^ (c.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))) * mult
    return h


def _repair(state: _State, codebook: Codebook, rng: np.random.Generator, strict: bool) -> None:
    """Swap scale answers between respondents of the same cell (marginals unchanged) until no one
    straight-lines and (in strict mode) no two respondents give identical answers. After the
    first round only the respondents touched by a swap are checked again."""
    grid = _grid(codebook)
    if not grid:
        return
    m = np.stack([state.scale[g] for g in grid], axis=1)
    cells = np.stack([state.scale_cell[g] for g in grid], axis=1)
    cand_lists: dict[tuple[int, int], np.ndarray] = {}
    check = np.arange(state.n)
    for _ in range(200):
        sub = m[check]
        tally = np.stack([(sub == v).sum(axis=1) for v in SCALE_VALUES], axis=1)
        bad_rows = check[tally.max(axis=1) > MAX_SAME_SCALE_ANSWER]
        if strict:
            for gi, g in enumerate(grid):
                state.scale[g] = m[:, gi]
            fp = _fingerprints(state, codebook)
            bad_rows = np.union1d(bad_rows, np.flatnonzero(pd.Series(fp).duplicated(keep="first").to_numpy()))
        if bad_rows.size == 0:
            break
        rows = bad_rows
        sub = m[rows]
        # the grid question to change: the first one holding the respondent's most repeated value
        tally = np.stack([(sub == v).sum(axis=1) for v in SCALE_VALUES], axis=1)
        modes = np.array(SCALE_VALUES, dtype=sub.dtype)[tally.argmax(axis=1)]
        holds = (sub == modes[:, None]) & (sub > 0)
        which = np.where(holds.any(axis=1), holds.argmax(axis=1), -1)
        touched = [rows]
        for gi in range(len(grid)):
            mine = rows[which == gi]
            for cid in np.unique(cells[mine, gi]):
                own = mine[cells[mine, gi] == cid]
                key = (gi, int(cid))
                if key not in cand_lists:
                    cand_lists[key] = np.flatnonzero((cells[:, gi] == cid) & (m[:, gi] > 0))
                cl = cand_lists[key]
                k = min(own.size, cl.size)
                if k == 0:
                    continue
                partners = cl[rng.choice(cl.size, size=k, replace=False)]
                own = own[:k]
                ok = (m[partners, gi] != m[own, gi]) & ~np.isin(partners, rows)
                a, b = own[ok], partners[ok]
                m[a, gi], m[b, gi] = m[b, gi].copy(), m[a, gi].copy()
                touched.append(b)
        check = np.unique(np.concatenate(touched))
    else:
        if strict:
            raise SynthError("could not remove straight-lining / identical respondents in 200 rounds")
    for gi, g in enumerate(grid):
        state.scale[g] = np.ascontiguousarray(m[:, gi])


def _assign_codes(codebook: Codebook, t: Targets, state: _State, rng: np.random.Generator, strict: bool) -> None:
    for q in codebook.questions:
        cq = code_column(q.id)
        if not t.has(cq):
            continue
        arr = np.full(state.n, -1, dtype=np.int16)
        subs = [c for c in t.cells if c.question == cq and c.by != ""]
        cells = subs or [t.cell(cq)]
        keys = list(t.cell(cq).counts)
        for c in cells:
            if q.type == "text":
                pool = _universe(state, codebook, q)
                if c.by:
                    by = codebook[c.by]
                    pool &= state.single[by.id] == by.keys.index(c.level)
                pool = np.flatnonzero(pool)
                if len(pool) < c.base:
                    if strict:
                        raise SynthError(f"{cq}: {c.base} texts needed, {len(pool)} respondents asked")
                    c = _shrink(c, len(pool))
                who = _pick(pool, c.base, state, rng)[0]  # those with the most gaps comment first
            else:
                other = next(o.key for o in q.options if o.other)
                if q.type == "multi":
                    who = np.flatnonzero(state.multi[q.id][1][q.keys.index(other)])
                else:
                    who = np.flatnonzero(state.single[q.id] == q.keys.index(other))
                if len(who) != c.base:
                    if strict:
                        raise SynthError(f"{cq}: {c.base} texts planned, {len(who)} respondents chose 'other'")
                    c = _shrink(c, len(who))
            vals = np.repeat(np.array([keys.index(k) for k in c.counts]), list(c.counts.values()))
            arr[who] = rng.permutation(vals)
        state.codes[cq] = arr


def _resp_ids(n: int) -> pd.api.extensions.ExtensionArray:
    width = max(4, len(str(n)))
    num = pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string())
    return pd.array(pc.binary_join_element_wise("r", pc.utf8_lpad(num, width, "0"), ""), dtype="str")


def _build(codebook: Codebook, t: Targets, state: _State) -> pd.DataFrame:
    data: dict[str, object] = {"resp_id": _resp_ids(state.n)}
    for q in codebook.questions:
        if q.type == "single":
            data[q.id] = pd.Categorical.from_codes(state.single[q.id].astype(np.int64), categories=q.keys)
        elif q.type == "multi":
            ans, ticks = state.multi[q.id]
            for j, k in enumerate(q.keys):
                data[multi_column(q.id, k)] = pd.arrays.BooleanArray(ticks[j], ~ans)
        elif q.type == "scale":
            v = state.scale[q.id].astype(np.int64)
            data[q.id] = pd.arrays.IntegerArray(v, v == 0)
        cq = code_column(q.id)
        if cq in state.codes:
            data[cq] = arrow_strings(state.codes[cq], list(t.cell(cq).counts))
    return pd.DataFrame(data)


def _generate(codebook: Codebook, t: Targets, seed: int, strict: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    state = _State(n=t.n, missing=np.zeros(t.n, dtype=np.int32))
    for q in _order(codebook, t):
        _assign_question(q, codebook, t, state, rng, strict)
    _repair(state, codebook, rng, strict)
    _assign_codes(codebook, t, state, rng, strict)
    return _build(codebook, t, state)


def generate(codebook: Codebook, targets: Targets, seed: int) -> pd.DataFrame:
    """The analysed respondents in coded form (contract of responses.parquet), counts exact.

    Joint constraints hold by construction: every published subgroup cell (e.g. sex x
    income_regular, sex x discrimination, income_regular x income_source) is filled inside its
    group; universes are respected; item non-response makes every question's base its target
    (spread so that respondents with the fewest gaps skip first); exclusive options stand
    alone; every multiple answer has >= 1 option; no one straight-lines the scale questions and
    no two respondents give identical answers.
    """
    return _generate(codebook, targets, seed, strict=True)


def generate_scaled(codebook: Codebook, targets: Targets, n: int, seed: int) -> pd.DataFrame:
    """n respondents with the same questionnaire and (rounded) proportions, for benchmarks
    (n >= ``targets.n``, the published sample size; meant for 10k to 1M)."""
    if n < targets.n:
        raise SynthError(f"scale mode needs at least {targets.n} respondents (the published sample size), got {n}")
    return _generate(codebook, targets.scaled(n), seed, strict=False)
