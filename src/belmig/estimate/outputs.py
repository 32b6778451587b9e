"""The estimation stage's files, each written atomically (belmig.core.atomic)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from belmig.core import atomic
from belmig.privacy.levels import LevelPlan


def write(estimates: pd.DataFrame, path: Path) -> None:
    """``estimates.parquet`` (its attrs — the level plan, the question types — travel in the metadata)."""
    atomic.write_via(path, lambda p: estimates.to_parquet(p, index=False))


def write_csv(table: pd.DataFrame, path: Path) -> None:
    atomic.write_via(path, lambda p: table.to_csv(p, index=False, lineterminator="\n"))


def write_level_plan(plan: LevelPlan, path: Path) -> None:
    """``level_plan.csv``: :meth:`LevelPlan.table` (no n of a dropped level or of a merged level's parts)."""
    write_csv(plan.table(), path)
