"""Small-cell suppression of published tables."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def suppress_small_cells(
    table: pd.DataFrame, count_col: str, min_cell: int, blank: Sequence[str] = ()
) -> tuple[pd.DataFrame, int]:
    """Mark and blank table cells with 0 < count < `min_cell`.

    Returns a copy of `table` with a boolean column ``suppressed`` and `count_col` plus every
    column in `blank` (percentages, intervals … derived from the count) set to NA on the
    suppressed rows, and the number of suppressed rows. Zero counts are not suppressed (they
    identify nobody). Complementary suppression (a blanked cell recoverable from a total) is
    the caller's responsibility.
    """
    if count_col not in table.columns:
        raise KeyError(f"suppress_small_cells: no count column {count_col!r} in {list(table.columns)}")
    missing = [c for c in blank if c not in table.columns]
    if missing:
        raise KeyError(f"suppress_small_cells: columns to blank {missing} not in the table")
    if min_cell < 1:
        raise ValueError(f"suppress_small_cells: min_cell must be >= 1, got {min_cell}")
    out = table.copy()
    counts = pd.to_numeric(out[count_col])
    small = (counts > 0) & (counts < min_cell)
    small = small.fillna(False).astype(bool)
    out["suppressed"] = small
    for col in (count_col, *blank):
        if not small.any():
            break
        if out[col].dtype.kind in "iub":
            out[col] = out[col].astype("Int64" if out[col].dtype.kind != "b" else "boolean")
        elif out[col].dtype.kind == "f":
            out[col] = out[col].astype("Float64")
        out.loc[small, col] = pd.NA
    return out, int(small.sum())


def hide_partition(
    counts: Sequence[int],
    min_cell: int,
    *,
    base: int | None = None,
    partition: bool = True,
    hidden: Sequence[bool] = (),
) -> list[bool]:
    """Which cells of one table row to withhold: primary and secondary suppression.

    Primary: a count of 1 to ``min_cell - 1``; with `base`, also a count whose complement
    (``base - count``) is that small; and any cell already `hidden`. Secondary, when the cells
    `partition` a published total (the answers of a single-choice question, the codes of the
    "Other" answers): one withheld cell would follow from the others, and withheld cells that
    are all ones (or, all of them small, all ``min_cell - 1``) would follow from their sum, so
    the smallest remaining non-empty cells are withheld too until at least two are and their
    sum does not pin them. (Zeros stay: a count of zero identifies nobody.)
    """
    hide = [0 < k < min_cell or (base is not None and 0 < base - k < min_cell) for k in counts]
    hide = [h or (i < len(hidden) and bool(hidden[i])) for i, h in enumerate(hide)]
    if partition and any(hide):
        order = sorted((k, i) for i, k in enumerate(counts) if not hide[i] and k > 0)

        def safe() -> bool:
            withheld = [counts[i] for i, h in enumerate(hide) if h]
            all_small = all(k < min_cell for k in withheld)
            at_max = all_small and sum(withheld) >= len(withheld) * (min_cell - 1)
            return len(withheld) >= 2 and sum(withheld) > len(withheld) and not at_max

        while not safe() and order:
            _, i = order.pop(0)
            hide[i] = True
    return hide
