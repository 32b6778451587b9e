"""One module per chart (``chart01`` … ``chart18``), each holding ``SPEC``: what is particular
to that chart. A chart's build depends on its own module plus the shared ones, so editing one
chart redraws only that chart."""

from __future__ import annotations

import importlib

from belmig.charts.base import ChartSpec


def load(number: int) -> ChartSpec:
    try:
        mod = importlib.import_module(f"belmig.charts.specs.chart{number:02d}")
    except ModuleNotFoundError:
        raise KeyError(f"no chart spec for chart {number} (belmig/charts/specs/chart{number:02d}.py)") from None
    spec = mod.SPEC
    if spec.number != number:
        raise ValueError(f"specs/chart{number:02d}.py declares chart {spec.number}")
    return spec
