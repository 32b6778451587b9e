"""Disclosure control of the chart bars (docs/disclosure.md, "Charts").

A chart publishes, for each answer, a share of a printed base: the count behind each bar is
public. Before a chart is drawn:

* **rating scales**: neighbouring ratings are merged until every bar that is not empty holds at
  least ``min_cell`` respondents (the smallest bar with its smaller neighbour, as the release
  merges ordered categories); a merged bar is drawn across its ratings and labelled "1–4";
* **answer bars**: a bar resting on 1 to ``min_cell − 1`` respondents is not drawn (the mark
  "–"), nor one whose complement (those who answered but did not choose it) is that small. The
  answers of a single-choice question add up to the base, so one hidden bar would follow from
  the others: then the smallest shown bars are hidden too, until at least two are hidden and
  they are not all ones (two hidden bars summing to 2 would each be 1).

Empty bars (0%) are drawn (a count of zero identifies nobody), except where the estimates keep
the cell out of the ledger (subgroup cells below ``min_cell``, zeros included). Whatever is drawn is audited again
with everything else the build publishes (:mod:`belmig.privacy.publish`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    keys: tuple[str, ...]  # the options (ratings) the bar stands for
    k: int  # respondents behind it
    suppressed: bool = False


def merge_ratings(counts: Sequence[int], min_cell: int) -> list[tuple[int, int]]:
    """Spans (first, last index) of merged neighbouring ratings: every span with respondents
    holds at least `min_cell` of them (unless all of them together hold fewer)."""
    spans = [[i, i, int(c)] for i, c in enumerate(counts)]

    def small(s) -> bool:
        return 0 < s[2] < min_cell

    while len(spans) > 1 and any(small(s) for s in spans):
        i = min((j for j, s in enumerate(spans) if small(s)), key=lambda j: (spans[j][2], j))
        neigh = [j for j in (i - 1, i + 1) if 0 <= j < len(spans)]
        j = min(neigh, key=lambda j: (spans[j][2], j))
        lo, hi = sorted((i, j))
        spans[lo : hi + 1] = [[spans[lo][0], spans[hi][1], spans[lo][2] + spans[hi][2]]]
    return [(a, b) for a, b, _ in spans]


def hide_bars(
    counts: Sequence[int], base: int, min_cell: int, *, partition: bool, hidden: Sequence[bool] = ()
) -> list[bool]:
    """Which bars to hide: primary (count or complement of 1 to min_cell - 1, and any already
    `hidden`, e.g. cells the estimates keep out of the ledger), then, when the bars partition
    the base, secondary until the hidden bars cannot be worked out
    (:func:`belmig.privacy.suppress.hide_partition`)."""
    from belmig.privacy.suppress import hide_partition

    return hide_partition(counts, min_cell, base=base, partition=partition, hidden=hidden)
