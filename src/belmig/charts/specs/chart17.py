"""Chart 17. Problems in education and childcare among users, ranked; "No problems" (exclusive) and
"Other" last.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=17,
    question="education_problems",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=(),
)
