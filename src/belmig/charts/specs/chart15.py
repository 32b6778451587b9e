"""Chart 15. Support sought from institutions, ranked; "I do not turn to them" (exclusive) last."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=15,
    question="support_sought",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
