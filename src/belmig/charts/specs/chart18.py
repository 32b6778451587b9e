"""Chart 18. Plans to return to Belarus in codebook order (yes / no / cannot say)."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=18,
    question="return_plans",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
