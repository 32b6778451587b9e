"""Chart 8. Sources of income among those WITH a regular income (estimates rows by=income_regular,
level=yes), ranked.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=8,
    question="income_source",
    kind="bars",
    subgroup=("income_regular", "yes"),
    exclude=(),
    last=(),
)
