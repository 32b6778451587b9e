"""Chart 2. Reasons for leaving Belarus, ranked (several answers possible); "Other" last."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=2,
    question="reasons_exit",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
