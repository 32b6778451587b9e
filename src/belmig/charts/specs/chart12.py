"""Chart 12. Discrimination, ranked; "in another situation" (flagged other) last."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=12,
    question="discrimination",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
