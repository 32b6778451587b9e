"""Chart 3. Sense of security in Belarus before leaving: distribution of the 1–10 ratings and their
mean.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=3,
    question="security_by",
    kind="scale",
    subgroup=None,
    exclude=(),
    last=(),
)
