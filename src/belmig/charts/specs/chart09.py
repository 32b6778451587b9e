"""Chart 9. Use of social support programmes in codebook order (no / state / NGO)."""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=9,
    question="support_programs",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
