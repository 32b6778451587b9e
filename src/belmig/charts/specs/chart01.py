"""Chart 1. Arrival year among those who came from 2020 on: the years keep their order; earlier
arrivals are outside the study and not drawn.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=1,
    question="arrival_year",
    kind="bars",
    subgroup=None,
    exclude=("before2020",),
    last=(),
)
