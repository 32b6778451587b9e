"""Chart 4. Reasons for choosing Lithuania, ranked; "Other reason" (flagged other in the codebook)
last although it is large (32.72% in the report): it bundles many different reasons.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=4,
    question="reasons_lithuania",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
