"""Chart 16. Difficulties in health care among users of the services, ranked; "No difficulties"
(exclusive) and "Other" last.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=16,
    question="health_problems",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
