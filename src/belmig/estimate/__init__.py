"""Shares and means of every choice and scale question, unweighted and weighted, with honest
uncertainty: calibration-aware linearised standard errors, confidence intervals as R's
``survey`` computes them, subgroup estimates on levels that can bear them, whole-table tests of
difference with multiplicity control, and the sensitivity tables of the methods appendix.

Method (checked against R's survey 4.1 to 1e-6 by tests/test_estimate.py; see tests/r/):

* **Design.** An open online sample: one stage, no strata, no clusters, equal starting
  weights (R: ``svydesign(ids=~1, data=d)``), calibrated to the margins recorded with the
  weights (R: ``postStratify`` / ``rake`` / ``calibrate``). Unweighted rows use the same design
  without the calibration (weights 1).
* **Base.** A question's universe with item non-response excluded (R: ``subset(des,
  !is.na(y))``); a subgroup level further restricts it (R: ``subset(des, !is.na(y) & g ==
  level)``). Estimates are ratios Σ w·y / Σ w over the base (domain estimation: the
  respondents outside the base stay in the design for the variance).
* **Subgroup levels** (:mod:`belmig.privacy.levels`, the mechanism disclosure control shares):
  levels are merged as ``estimation.level_merges`` says and dropped below ``privacy.min_cell``
  (with complementary suppression) *before* estimation; inside each question's base the same
  rule runs again, so a level too small there is suppressed for that question and left out of
  its tests (``suppression`` "level" or "complementary"; a small count alone is "count").
* **Standard errors.** Taylor linearisation of the ratio: z_i = w_i·d_i·(y_i - θ)/Σ_base w.
  For calibrated weights z_i/w_i is replaced by its residual from the (unweighted) least-squares
  projection on the margin indicators — the calibration/GREG linearisation, which R's
  ``svyrecvar`` reaches by back-fitting (rake) or by its QR (calibrate) — times the final
  weight. Variance ``n/(n-1) Σ (z_i - z̄)²`` over all n respondents (R keeps the full sample's
  PSU count for a domain even where it drops the rows). Unweighted rows: the same with w = 1
  and no calibration, i.e. ``n/(n-1) · Σ_base (y - p)² / n_base²``.
* **Intervals** (:mod:`belmig.estimate.intervals`): shares by ``ci_method`` ("logit" =
  ``svyciprop(method="logit")``, "beta" = Korn–Graubard), Clopper–Pearson on Kish's n for 0 or
  100%; means by t with the design df (``confint(svymean(), df = degf())``); values fixed by
  design (screening answers, calibrated margins) carry se 0 and no interval (``ci_method``
  "fixed").
* **Effective n** (``n_eff``): Kish's ``(Σw)²/Σw²`` over the base (= n unweighted).
* **Tests** (:mod:`belmig.estimate.tests`): per comparison of a question with a subgroup, one
  whole-table test (``p_table``: Rao–Scott F of the full option × level table of a single-choice
  question; of an option's own table for a multiple-choice option; Wald F of a scale's means);
  per option (or scale point) a follow-up test (``p_diff``). Unweighted rows carry the same tests
  on the unweighted design.
* **Multiplicity** (:mod:`belmig.estimate.multiplicity`): ``estimation.multiplicity`` (Holm or
  Benjamini–Hochberg) within each family — all whole-table tests of the report
  (``p_table_adj``); the follow-ups of one comparison, gated by its whole-table test (``p_adj``).
* **Subgroups**: ``estimation.subgroups`` of the config plus every question a codebook chart
  is drawn for a subgroup of (chart 8: income sources by ``income_regular``).
* **Weights** come as ``weights.parquet`` (resp_id, weight) whose ``attrs["calibration"]``
  (written by :func:`belmig.weight.write`) lists the margins and the method; the calibration
  variables are read from the responses and the weights must reproduce the targets.

Modules: ``design`` (weights, calibration, linearised covariance), ``items`` (the analysed
variables), ``intervals``, ``tests``, ``multiplicity``, ``compute`` (:func:`estimate_all`),
``ledger`` (:func:`to_values`), ``sensitivity`` (bases and frame), ``outputs`` (files).
"""

from belmig.core import lazy

# The names are imported when first used (PEP 562): importing the package, or finding one of its
# modules (the values page reads their source lines), does not pay for scipy and pandas.
_EXPORTS = {
    "COLUMNS": "compute",
    "estimate_all": "compute",
    "EstimateError": "design",
    "CI_METHODS": "intervals",
    "FIXED": "intervals",
    "TOP_BOX": "items",
    "subgroup_questions": "items",
    "sensitivity_values": "ledger",
    "to_values": "ledger",
    "write": "outputs",
    "write_csv": "outputs",
    "write_level_plan": "outputs",
    "alternative_frame": "sensitivity",
    "multi_bases": "sensitivity",
}


__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS, globals())

__all__ = [
    "CI_METHODS",
    "COLUMNS",
    "FIXED",
    "TOP_BOX",
    "EstimateError",
    "alternative_frame",
    "estimate_all",
    "multi_bases",
    "sensitivity_values",
    "subgroup_questions",
    "to_values",
    "write",
    "write_csv",
    "write_level_plan",
]
