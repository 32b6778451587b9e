"""Chart 11. Quality of life in Lithuania: distribution of the 1–10 ratings and their mean."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=11,
    question="quality_life",
    kind="scale",
    subgroup=None,
    exclude=(),
    last=(),
)
