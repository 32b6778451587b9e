"""Chart 7. Regular source of income: yes / no in codebook order."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=7,
    question="income_regular",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
