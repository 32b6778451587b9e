"""Chart 10. Sense of security in Lithuania: distribution of the 1–10 ratings and their mean."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=10,
    question="security_lt",
    kind="scale",
    subgroup=None,
    exclude=(),
    last=(),
)
