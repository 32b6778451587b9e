"""``estimate_all``: every choice and scale question, overall and by subgroup, unweighted and
weighted, in the ``estimates.parquet`` contract (method: :mod:`belmig.estimate`).

Speed: respondents are grouped once into "background cells" (calibration cell × subgroup
levels); every question then costs three ``np.bincount`` passes over the rows and the rest is
algebra on cell tables, so 1,000,000 respondents take seconds (benchmarks/bench_weighting.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from belmig import weight as wt
from belmig.core.codebook import Codebook
from belmig.estimate import intervals, multiplicity
from belmig.estimate.design import Design, EstimateError, bare, design, lincov
from belmig.estimate.items import Item, check_universe, subgroup_questions, values
from belmig.estimate.tests import level_tests
from belmig.privacy import levels as lv_mod

COLUMNS = [
    "question", "option", "stat", "by", "level", "weighted", "estimate", "se", "ci_low", "ci_high",
    "ci_method", "n", "k", "n_eff", "suppressed", "suppression", "p_diff", "p_adj", "p_table", "p_table_adj",
]  # fmt: skip
CONFIG_KEYS = ("confidence", "ci_method", "subgroups", "level_merges", "multiplicity")
SCREENING_ATTR = "screening"  # responses.attrs["belmig"]["screening"]: {question: eligible option keys}
# why a subgroup cell is suppressed (column "suppression")
LEVEL, COMPLEMENTARY, COUNT = "level", "complementary", "count"


def _blocks(
    item: Item,
    T: np.ndarray,
    L: int,
    levels: Sequence[str],
    des: Design,
    test: bool,
    min_cell: int,
) -> list[dict[str, np.ndarray]]:
    """Point estimates, variances, suppression and tests of one item in the L levels of one
    breakdown: [unweighted, weighted] (what rests on the counts alone is computed once for both).

    ``T``: (3, G, S, V) count, Σw, Σw² by calibration cell, slot and answer (0 = outside the
    base). Slots: 0 = subgroup not answered, 1..L = the analysis levels, L+1 (breakdowns only) =
    answered but in a level the plan dropped. Returns (L, J) arrays.
    """
    N = T[0][:, 1 : L + 1, 1:]  # (G, L, Vb)
    rest = int(T[0][:, L + 1 :, 1:].sum())  # in the base, in a level the plan dropped
    G, _, Vb = N.shape
    F = item.F
    J = F.shape[1]
    Nlv = N.sum(0)  # (L, Vb)
    n_l = N.sum((0, 2))
    ok = n_l > 0
    k = Nlv @ F
    li = np.flatnonzero(ok)
    n_rep = np.repeat(n_l[:, None], J, 1)
    # which levels bear estimates in this base (the plan's rule again, inside the base)
    level_sup = np.full(L, "", dtype=object)
    if test:
        sup = lv_mod.protect(dict(zip(levels, (int(x) for x in n_l))), rest, min_cell, levels)
        for i, name in enumerate(levels):
            if name in sup:
                level_sup[i] = COMPLEMENTARY if sup[name] == lv_mod.REASON_COMPLEMENTARY else LEVEL
            elif n_l[i] < min_cell:
                level_sup[i] = LEVEL  # an empty level
    level_sup_rep = np.repeat(level_sup[:, None], J, 1)
    tested = ok & (level_sup == "")
    Na = N.reshape(G, L * Vb)
    test_cache: dict = {}  # what the tests rest on besides the weights
    outs = []
    for weighted in (False, True):
        if weighted:
            S1, S2 = T[1][:, 1 : L + 1, 1:], T[2][:, 1 : L + 1, 1:]
            S1lv = S1.sum(0)  # (L, Vb)
        else:
            S1 = S2 = N
            S1lv = Nlv
        S1tot, S2tot = des.tot[weighted]
        calibrated = weighted and des.calibrated
        Q = des.Q if calibrated else None
        W_l = S1lv.sum(1)
        Wd = np.where(ok, W_l, 1.0)
        theta = (S1lv @ F) / Wd[:, None]  # (L, J)
        # linearised values on atoms (l', v): block-diagonal in the level
        e = np.zeros((L, J, L, Vb))
        e[li, :, li, :] = (F.T[None, :, :] - theta[li][:, :, None]) / Wd[li][:, None, None]
        S1a, S2a = (Na, Na) if not weighted else (S1.reshape(G, L * Vb), S2.reshape(G, L * Vb))
        var = lincov(e.reshape(L * J, L * Vb), Na, S1a, S2a, S1tot, S2tot, Q, float(des.n), diag=True).reshape(L, J)
        if weighted:
            W2_l = S2.sum((0, 2))
            with np.errstate(divide="ignore", invalid="ignore"):
                n_eff = np.where(ok, W_l**2 / W2_l, np.nan)
        else:
            n_eff = n_l.astype(float)
        out = {
            "estimate": np.where(ok[:, None], theta, np.nan),
            "var": np.where(ok[:, None], var, np.nan),
            "n": n_rep,
            "k": k,
            "n_eff": np.repeat(n_eff[:, None], J, 1),
            # R's nrow(design) for the Korn–Graubard df adjustment
            "nrow": np.full((L, J), des.n) if calibrated else n_rep,
            "p_diff": np.full((L, J), np.nan),
            "p_table": np.full((L, J), np.nan),
            "level_sup": level_sup_rep,
        }
        if test:
            p, p_table = level_tests(item, N, S1, S2, S1tot, S2tot, Q, des, calibrated, theta, tested, test_cache)
            out["p_diff"][:] = p[None, :]
            out["p_table"][:] = p_table
        outs.append(out)
    return outs


def _screening(responses: pd.DataFrame, screening: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    if screening is None:
        screening = responses.attrs.get("belmig", {}).get(SCREENING_ATTR, {})
    return {q: list(v) for q, v in screening.items()}


def _fix_screening(a: dict[str, np.ndarray], screening: Mapping[str, Sequence[str]], codebook: Codebook) -> np.ndarray:
    """Rows whose value the eligibility rule fixes (0% ineligible, 100% the only eligible answer)."""
    fixed = np.zeros(len(a["question"]), dtype=bool)
    for q, eligible in screening.items():
        if q not in codebook.by_id:
            raise EstimateError(f"screening question {q!r} is not in the codebook")
        bad = [o for o in eligible if o not in codebook[q].keys]
        if bad:
            raise EstimateError(f"screening {q!r}: {bad} are not options of {q!r}")
        for opt in codebook[q].keys:
            if opt in eligible and len(eligible) > 1:
                continue
            expect = 1.0 if opt in eligible else 0.0
            rows = (a["question"] == q) & (a["option"] == opt) & (a["n"] > 0)
            off = rows & (np.abs(a["estimate"] - expect) > 1e-12)
            if off.any():
                raise EstimateError(
                    f"{q} = {opt}: {100 * a['estimate'][off][0]:.2f}% of the analysed respondents, but cleaning keeps "
                    f"only {q} in {list(eligible)}; these responses were not screened by that rule"
                )
            fixed |= rows
    return fixed


def estimate_all(
    responses: pd.DataFrame,
    weights: pd.DataFrame,
    codebook: Codebook,
    estimation_cfg: dict[str, Any],
    min_cell: int,
    *,
    plan: lv_mod.LevelPlan | None = None,
    screening: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Every choice and scale question of the codebook, overall and by subgroup, unweighted
    and weighted, in the ``estimates.parquet`` contract (docs/architecture.md).

    `plan`: the subgroup levels (:func:`belmig.privacy.levels.plan_levels`; made here from
    ``estimation.level_merges`` when not given). `screening`: {question: eligible options} of
    the cleaning (default: ``responses.attrs["belmig"]["screening"]``, written by cleaning).
    The plan used is recorded in ``attrs["level_plan"]`` of the result, the questions' types in
    ``attrs["question_types"]``.
    """
    for key in CONFIG_KEYS:
        if key not in estimation_cfg:
            raise EstimateError(f"estimation settings lack {key!r}")
    method = estimation_cfg["ci_method"]
    if method not in intervals.CI_METHODS:
        raise EstimateError(f"ci_method must be one of {intervals.CI_METHODS}, got {method!r}")
    if estimation_cfg["multiplicity"] not in multiplicity.METHODS:
        raise EstimateError(
            f"multiplicity must be one of {multiplicity.METHODS}, got {estimation_cfg['multiplicity']!r}"
        )
    level = float(estimation_cfg["confidence"])
    if "resp_id" not in responses.columns:
        raise EstimateError("responses have no resp_id column")
    screening = _screening(responses, screening)
    responses = bare(responses)  # the attrs are read: columns taken from here do not copy them
    des = design(responses, weights)
    bys = subgroup_questions(codebook, estimation_cfg)
    if plan is None:
        try:
            plan = lv_mod.plan_levels(responses, codebook, bys, min_cell, estimation_cfg["level_merges"])
        except lv_mod.LevelError as exc:
            raise EstimateError(str(exc)) from None
    missing = [b for b in bys if b not in plan.questions]
    if missing:
        raise EstimateError(f"the level plan has no subgroup {missing[0]!r}")
    bys = [b for b in bys if plan[b].levels]  # a subgroup with no level to publish is not used
    by_codes, radix = {}, {}
    for b in bys:
        if b not in responses.columns:
            raise EstimateError(f"responses have no column {b!r} (subgroup)")
        orig = wt.option_codes(responses[b], codebook[b].keys, b)
        ana = plan[b].codes(responses[b], codebook[b].keys)
        L = len(plan[b].levels)
        by_codes[b] = np.where(orig < 0, 0, np.where(ana >= 0, ana + 1, L + 1))
        radix[b] = L + 2
    # background cells: calibration cell × every subgroup's slot
    key = des.cell.astype(np.int64)
    for b in bys:
        key = key * radix[b] + by_codes[b]
    size = des.G * int(np.prod([radix[b] for b in bys], dtype=np.int64))
    uniq, bg = wt.compress(key, size)
    B = len(uniq)
    rest = uniq.copy()
    bg_level = {}
    for b in reversed(bys):
        bg_level[b] = rest % radix[b]
        rest //= radix[b]
    bg_g = rest
    w = des.w
    w2 = w * w

    cols: dict[str, list] = {c: [] for c in ("question", "option", "stat", "by", "level", "weighted", "cid")}
    nums: dict[str, list] = {c: [] for c in ("estimate", "var", "n", "k", "n_eff", "nrow", "p_diff", "p_table")}
    level_sup: list[np.ndarray] = []
    test_rows: list[tuple] = []

    def tables(item: Item) -> np.ndarray:
        idx = bg * item.V + item.v
        size = B * item.V
        T = [np.bincount(idx, minlength=size), np.bincount(idx, weights=w, minlength=size),
             np.bincount(idx, weights=w2, minlength=size)]  # fmt: skip
        return np.stack(T).reshape(3, B, item.V)

    for q in codebook.of_type("single", "multi", "scale"):
        items = values(q, responses)
        check_universe(q, items[0], responses, codebook)
        for overall_item in items:
            # a subgroup question estimated within the other subgroups: on its planned levels
            by_item = (
                _planned_item(overall_item, plan[q.id], responses[q.id], q.keys) if q.id in plan.questions else None
            )
            T_all = tables(overall_item)
            T_by = tables(by_item) if by_item is not None else T_all
            for by in [""] + [b for b in bys if b != q.id]:
                item, T = (overall_item, T_all) if by == "" or by_item is None else (by_item, T_by)
                V, J = item.V, len(item.options)
                if J == 0:
                    continue
                if by == "":
                    L, S, slot, lvls = 1, 2, np.ones(B, dtype=np.int64), [""]
                else:
                    lvls = list(plan[by].levels)
                    L, S, slot = len(lvls), radix[by], bg_level[by]
                flat = ((bg_g * S + slot)[:, None] * V + np.arange(V)).ravel()
                Tb = np.stack([np.bincount(flat, weights=T[i].ravel(), minlength=des.G * S * V) for i in range(3)])
                Tb = Tb.reshape(3, des.G, S, V)
                cid = f"{q.id}|{item.options[0]}|{by}" if item.kind == "multi" else f"{q.id}||{by}"
                n_rows = L * J
                opts, sts = list(item.options) * L, list(item.stats) * L
                lvl_rows = [x for x in lvls for _ in range(J)]
                for weighted, res in zip((False, True), _blocks(item, Tb, L, lvls, des, by != "", min_cell)):
                    cols["question"] += [q.id] * n_rows
                    cols["option"] += opts
                    cols["stat"] += sts
                    cols["by"] += [by] * n_rows
                    cols["level"] += lvl_rows
                    cols["weighted"] += [weighted] * n_rows
                    cols["cid"] += [cid] * n_rows
                    for c in nums:
                        nums[c].append(np.asarray(res[c], dtype=float).ravel())
                    level_sup.append(res["level_sup"].ravel())
                    if by != "":
                        test_rows += _test_rows(item, cid, weighted, res)
    a = {c: np.concatenate(v) for c, v in nums.items()}
    a.update({c: np.array(v, dtype=bool if c == "weighted" else object) for c, v in cols.items()})
    sup_level = np.concatenate(level_sup)
    is_mean = a["stat"] == "mean"
    est, var, n = a["estimate"], a["var"], a["n"]
    se, lo, hi, label = intervals.prop_ci(np.where(is_mean, 0.5, est), var, n, a["n_eff"], a["nrow"], level, method)
    se_m, lo_m, hi_m = intervals.mean_ci(est, var, n, level)
    se = np.where(is_mean, se_m, se)
    lo = np.where(is_mean, lo_m, lo)
    hi = np.where(is_mean, hi_m, hi)
    label = np.where(is_mean, "t", label)
    fixed = _fix_screening(a, screening, codebook) & ~is_mean
    se = np.where(fixed, 0.0, se)
    lo = np.where(fixed, np.nan, lo)
    hi = np.where(fixed, np.nan, hi)
    label = np.where(fixed, intervals.FIXED, label)
    scale = np.where(is_mean, 1.0, 100.0)  # percent for shares
    k = np.where(is_mean, np.nan, a["k"])
    kk = np.where(is_mean, np.inf, a["k"])
    sub = a["by"] != ""
    suppression = np.where(
        ~sub, "", np.where(sup_level != "", sup_level, np.where((n < min_cell) | (kk < min_cell), COUNT, ""))
    )
    p_adj, p_table_adj = _adjust(a, test_rows, estimation_cfg["multiplicity"])
    out = pd.DataFrame({
        **{c: pd.array(a[c], dtype="str") for c in ("question", "option", "stat", "by", "level")},
        "weighted": a["weighted"].astype(bool),
        "estimate": est * scale, "se": se * scale, "ci_low": lo * scale, "ci_high": hi * scale,
        "ci_method": pd.array(label.astype(str), dtype="str"),
        "n": n.astype(np.int64),
        "k": pd.array(np.where(np.isnan(k), 0, k).astype(np.int64), dtype="Int64"),
        "n_eff": a["n_eff"],
        "suppressed": suppression != "",
        "suppression": pd.array(suppression.astype(str), dtype="str"),
        "p_diff": a["p_diff"], "p_adj": p_adj, "p_table": a["p_table"], "p_table_adj": p_table_adj,
    })  # fmt: skip
    out.loc[is_mean, "k"] = pd.NA
    out = out[COLUMNS]
    out.attrs["level_plan"] = plan.to_record()
    out.attrs["question_types"] = {q.id: q.type for q in codebook.of_type("single", "multi", "scale")}
    return out


def _planned_item(item: Item, qp: lv_mod.QuestionPlan, answers: pd.Series, keys: Sequence[str]) -> Item:
    """A subgroup question as a variable on its planned levels (merged options as one, dropped
    ones outside the base), for its estimates within the other subgroups."""
    K = len(qp.levels)
    v = qp.codes(answers, keys) + 1
    return Item(item.question, item.kind, v, K + 1, np.eye(K), tuple(qp.levels), ("pct",) * K)


def _test_rows(item: Item, cid: str, weighted: bool, res: dict[str, np.ndarray]) -> list[tuple]:
    """The tests of one block: (comparison, role, weighted, p, option) — option None for a
    single-choice question's whole-table test."""
    p = res["p_diff"][0]
    rows = []
    for j, opt in enumerate(item.options):
        role = "table" if item.kind == "multi" or item.stats[j] == "mean" else "follow-up"
        rows.append((cid, role, weighted, float(p[j]), opt))
    if item.kind == "single":
        rows.append((cid, "table", weighted, float(res["p_table"][0, 0]), None))
    return rows


def _adjust(a: dict[str, np.ndarray], test_rows: list[tuple], method: str) -> tuple[np.ndarray, np.ndarray]:
    """p_adj and p_table_adj of every estimate row (multiplicity families: module docstring)."""
    nrows = len(a["question"])
    if not test_rows:
        return np.full(nrows, np.nan), np.full(nrows, np.nan)
    comparison, role, weighted, p, option = zip(*test_rows)
    p_table_adj_t, p_adj_t = multiplicity.adjust_arrays(
        np.array(weighted, dtype=bool), np.array(comparison, dtype=object), np.array(role, dtype=object),
        np.array(p, dtype=float), method,
    )  # fmt: skip
    table: dict[tuple, float] = {}  # (comparison, weighted) -> p_table_adj
    per: dict[tuple, float] = {}  # (comparison, weighted, option) -> p_adj
    for c, wv, o, pt, pa in zip(comparison, weighted, option, p_table_adj_t.tolist(), p_adj_t.tolist()):
        table.setdefault((c, bool(wv)), pt)
        if o is not None:
            if (c, bool(wv), o) in per:
                raise ValueError(f"comparison {c!r} tests option {o!r} twice")
            per[(c, bool(wv), o)] = pa
    nan = float("nan")
    cid, wtd, opt = a["cid"].tolist(), a["weighted"].astype(bool).tolist(), a["option"].tolist()
    p_table_adj = np.array([table.get((c, wv), nan) for c, wv in zip(cid, wtd)], dtype=float)
    p_adj = np.array([per.get((c, wv, o), nan) for c, wv, o in zip(cid, wtd, opt)], dtype=float)
    return p_adj, p_table_adj
