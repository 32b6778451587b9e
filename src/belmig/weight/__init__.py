"""Survey weights calibrated to population margins, and their diagnostics.

Margins are data files under ``data/external/`` (format: ``data/external/README.md``): a CSV
whose columns are one or more single-choice codebook questions plus ``target`` (one row per
category; several question columns make a joint margin, e.g. ``sex,age_group,target``), and a
``.meta.yaml`` sidecar with its provenance. :func:`read_margins` validates them, :func:`weigh`
computes the weights by the configured method, :func:`diagnostics` and :func:`summary` describe
them, :func:`to_values` records them in the ledger and :func:`write` writes ``weights.parquet``
(with the calibration record that :mod:`belmig.estimate` needs for calibration-aware standard
errors, and that the sensitivity analysis re-weights with).

Methods (``weighting.method``; config.schema.yaml ties each to the margins it can use):

* ``poststratify`` — **one** margin file (a single variable, or a joint one such as sex × age):
  every respondent of a category gets target / respondents of the category. Nothing is
  iterated and nothing can be trimmed: with one margin every weight is fixed by it, so a cap
  could only be met by missing the margin.
* ``rake`` — **several** margin files: iterative proportional fitting (IPF) on the joint
  calibration cells until every margin is met within ``tolerance`` (R: ``rake``). No bounds.
* ``calibrate_bounded`` — several margin files, and the weights kept within ``bounds`` =
  [lo, hi] × the mean weight (the starting weight N/n): generalised raking with bounds as R's
  ``calibrate(design, formula, population, bounds = c(lo, hi), calfun = "logit" | "raking")``
  (Deville & Särndal 1992), Newton's method on the calibration equations (R's ``grake``,
  including its step halving and generalised inverse). ``calfun: logit`` (a smooth g-function
  that stays strictly inside the bounds; it converges whenever the bounds are feasible) or
  ``raking`` (exp, truncated at the bounds, as R's ``cal.raking``). The margins hold exactly; the
  bounds replace trimming, which (as ``trimWeights`` does) would miss the margins or, re-raked,
  need not converge. Bounds that cannot be met together with the margins stop the build with a
  message naming the margin category with the largest gap.

Decisions (documented here and in data/external/README.md):

* Starting weights are equal (the survey is an open online sample with no design weights):
  N/n each; calibrated weights sum to the population total N of the margins.
* A respondent whose answer to a calibration variable is missing is kept. On that margin they
  form a separate "(missing)" cell whose target is their unweighted share of the total; the
  file's targets are scaled to the rest. The margin's *shares* are thus imposed on those who
  answered, and those who did not keep, on that margin, the average adjustment. The counts are
  reported (``WeightResult.unclassified``) and shown in the diagnostics.
* A respondent whose answer is an option the margin file does not list is an error (a margin
  must cover every category that occurs; a silently unclassified category would be a typo).
"""

from belmig.weight.diagnostics import diagnostics, kish, summary, to_values, weights_frame, write
from belmig.weight.margins import (
    CALIBRATION_ATTR,
    MISSING,
    SIDECAR_KEYS,
    TARGET_COLUMN,
    TOTAL_RTOL,
    Calibration,
    Margin,
    MarginError,
    RakeError,
    calibration,
    compress,
    margin_codes,
    option_codes,
    read_margin,
    read_margins,
)
from belmig.weight.methods import (
    CALFUNS,
    METHODS,
    STEP_HALVINGS,
    Method,
    WeightResult,
    calibrate_bounded,
    poststratify,
    rake,
    weigh,
)

__all__ = [
    "CALFUNS",
    "CALIBRATION_ATTR",
    "Calibration",
    "METHODS",
    "MISSING",
    "Margin",
    "MarginError",
    "Method",
    "RakeError",
    "SIDECAR_KEYS",
    "STEP_HALVINGS",
    "TARGET_COLUMN",
    "TOTAL_RTOL",
    "WeightResult",
    "calibrate_bounded",
    "calibration",
    "compress",
    "diagnostics",
    "kish",
    "margin_codes",
    "option_codes",
    "poststratify",
    "rake",
    "read_margin",
    "read_margins",
    "summary",
    "to_values",
    "weigh",
    "weights_frame",
    "write",
]
