"""Chart 6. Age groups in their natural order."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=6,
    question="age_group",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
