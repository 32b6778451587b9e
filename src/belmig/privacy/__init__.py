"""Protecting the respondents (docs/disclosure.md).

The respondents fled political persecution; every public output is treated as published to an
adversary who knows some respondents' background (age group, sex, municipality, arrival year,
legal status, perhaps one more answer) and wants to find them or their answers.

* :func:`redact` replaces contact details in free text by ``[removed]`` (ingestion);
* :func:`suppress_small_cells` and :func:`belmig.privacy.suppress.hide_partition`: primary and
  secondary suppression of one table;
* :func:`k_anonymize` protects microdata so that every respondent has at least k candidate
  records *for someone who knows their true values* (:func:`attacker_counts`), on the
  quasi-identifiers and on each extra identifier; :func:`individual_risk` is sdcMicro's risk;
* :mod:`belmig.privacy.audit` and :mod:`belmig.privacy.publish`: the exact audit of everything
  published and the decision which printed values are public (rule ``protect_values``);
* :mod:`belmig.privacy.manifest`: ``public_manifest.json``.

Modules: ``redaction`` (not ``redact``: that name is the function), ``suppress``, ``kanon``,
``audit``, ``publish``, ``inputs``, ``explain``, ``manifest``.
"""

from belmig.core import lazy

# The names are imported when first used (PEP 562): the report stage reads the disclosure decisions
# (belmig.privacy.publish) without paying for k-anonymity's imports.
_EXPORTS = {
    **dict.fromkeys(
        (
            "Level",
            "QuasiIdentifier",
            "attacker_counts",
            "check_k_anonymity",
            "class_sizes",
            "hierarchy",
            "individual_risk",
            "k_anonymize",
            "merged_label",
            "risk_summary",
        ),
        "kanon",
    ),
    "REMOVED": "redaction",
    "redact": "redaction",
    "suppress_small_cells": "suppress",
}


__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS, globals())

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
