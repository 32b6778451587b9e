"""Chart 13. Impact of the war in Ukraine in codebook order (worse / better / none / cannot say)."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=13,
    question="war_impact",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
