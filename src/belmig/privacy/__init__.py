"""Protecting the respondents: redaction of free text, small-cell suppression, k-anonymity.

The respondents fled political persecution; every public output is treated as published to an
adversary who knows some respondents' background (age group, sex, municipality, arrival year,
legal status) and wants to find their answers.

* :func:`redact` replaces contact details (e-mail addresses, phone numbers, @handles, URLs) in
  free text by ``[removed]``. Ingestion applies it to every free-text answer.
* :func:`suppress_small_cells` blanks the counts (and any derived columns) of table cells with
  fewer than ``min_cell`` respondents.
* :func:`k_anonymize` makes microdata k-anonymous on the quasi-identifiers, first by recoding
  (merging rare categories; the combination of merges that loses the least information), then
  by local suppression (blanking quasi-identifier values of the records still in too small
  equivalence classes). :func:`check_k_anonymity` verifies it.

Equivalence classes follow the usual convention for locally suppressed data (as in sdcMicro):
a missing quasi-identifier value matches any value, so the class of a record is the set of
records that agree with it on every quasi-identifier where both are known.

Modules: ``redaction`` (not ``redact``: that name is the function), ``suppress`` (small cells), ``kanon`` (k-anonymity and the weights
released next to it, :func:`smooth_weights`).
"""

from belmig.privacy.kanon import (
    Level,
    QuasiIdentifier,
    check_k_anonymity,
    class_sizes,
    hierarchy,
    k_anonymize,
    attacker_counts,
    individual_risk,
    merged_label,
    risk_summary,
)
from belmig.privacy.redaction import REMOVED, redact
from belmig.privacy.suppress import suppress_small_cells

__all__ = [
    "REMOVED",
    "Level",
    "QuasiIdentifier",
    "check_k_anonymity",
    "class_sizes",
    "hierarchy",
    "k_anonymize",
    "attacker_counts",
    "individual_risk",
    "merged_label",
    "redact",
    "risk_summary",
    "suppress_small_cells",
]
