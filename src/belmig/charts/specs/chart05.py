"""Chart 5. Legal status, ranked; "Other" is not flagged `other` in the codebook (no free text), so
it is pinned last here.
"""

from belmig.charts.base import ChartSpec

SPEC = ChartSpec(
    number=5,
    question="legal_status",
    kind="bars",
    subgroup=None,
    exclude=(),
    last=("other",),
)
