"""Chart 14. Support needed, ranked (several answers possible); "Other" last."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=14,
    question="support_needs",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
