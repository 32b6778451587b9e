"""Multiplicity control of the tests of difference: Holm or Benjamini–Hochberg within families.

``estimation.multiplicity`` chooses the adjustment: ``holm`` (Holm's step-down: the family-wise
error rate) or ``bh`` (Benjamini–Hochberg: the false discovery rate); both as R's ``p.adjust``.

Families (each on the weighted tests and, separately, on the unweighted ones):

* **The comparisons** — one test per comparison of a question with a subgroup, the whole-table
  test (:mod:`belmig.estimate.tests`): every single-choice question × subgroup, every option of
  a multiple-choice question × subgroup, every scale's mean × subgroup, across the whole report
  (all questions, all subgroups). Adjusted: ``p_table_adj``.
* **The follow-ups of one comparison** — the per-option tests of one single-choice question ×
  subgroup, or the per-point tests (and "8 or higher") of one scale × subgroup. Adjusted within
  the comparison and then gated by it: a follow-up's ``p_adj`` is the larger of its adjusted p
  within the comparison and the comparison's own adjusted p, so no follow-up is more significant
  than the whole-table test it follows (serial gatekeeping). For a whole-table test itself (a
  mean, an option of a multiple-choice question) ``p_adj`` is ``p_table_adj``.

Tests that could not be computed (fewer than two levels that bear it, no variation) are not
members of any family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("holm", "bh")


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (R: ``p.adjust(p, "holm")``); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="mergesort")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (R: ``p.adjust(p, "BH")``); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="mergesort")[::-1]]  # descending
    i = np.arange(m, 0, -1)
    adj = np.minimum.accumulate(m / i * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    if method == "holm":
        return holm(p)
    if method == "bh":
        return bh(p)
    raise ValueError(f"multiplicity must be one of {METHODS}, got {method!r}")


def adjust_families(tests: pd.DataFrame, method: str) -> pd.DataFrame:
    """Adjusted p-values for one row per test.

    `tests`: columns ``weighted``, ``comparison`` (id of the comparison), ``role`` ("table" for
    the whole-table test, "follow-up"), ``p``. Returns it with ``p_adj`` (see the module
    docstring: gated for follow-ups) and ``p_table_adj`` (the comparison's adjusted p).
    """
    out = tests.copy()
    p_table_adj, p_adj = adjust_arrays(
        tests["weighted"].to_numpy(),
        tests["comparison"].to_numpy(dtype=object),
        tests["role"].to_numpy(dtype=object),
        tests["p"].to_numpy(dtype=float),
        method,
    )
    out["p_table_adj"] = p_table_adj
    out["p_adj"] = p_adj
    return out


def adjust_arrays(
    weighted: np.ndarray, comparison: np.ndarray, role: np.ndarray, p: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`adjust_families` on the columns as arrays (one entry per test): (p_table_adj, p_adj)."""
    p = np.asarray(p, dtype=float)
    p_table_adj = np.full(len(p), np.nan)
    p_adj = np.full(len(p), np.nan)
    for wv in np.unique(weighted):  # each family on the weighted tests, and on the unweighted ones
        rows = np.flatnonzero(weighted == wv)
        tab = rows[role[rows] == "table"]
        adj = adjust(p[tab], method)
        table_of: dict = {}
        for r, a in zip(tab.tolist(), adj.tolist()):
            if comparison[r] in table_of:
                raise ValueError(f"comparison {comparison[r]!r} has two whole-table tests")
            table_of[comparison[r]] = a
        p_table_adj[rows] = [table_of.get(c, np.nan) for c in comparison[rows].tolist()]
        p_adj[tab] = adj
        follow: dict = {}  # the follow-ups of each comparison, in their order
        for r in rows[role[rows] == "follow-up"].tolist():
            follow.setdefault(comparison[r], []).append(r)
        for g in follow.values():
            g = np.asarray(g)
            within = adjust(p[g], method)
            gate = p_table_adj[g]
            ok = np.isfinite(within) & np.isfinite(gate)  # no valid gate: no adjusted follow-up
            p_adj[g] = np.where(ok, np.maximum(within, np.where(ok, gate, 0.0)), np.nan)
    return p_table_adj, p_adj
