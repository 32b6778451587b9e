"""Confidence intervals as R's ``survey`` computes them, and the values that get none.

* Proportions: ``svyciprop(method="logit")`` or ``method="beta"`` (Korn–Graubard); for p = 0 or
  1, where R's intervals are undefined, the exact Clopper–Pearson interval on Kish's effective n.
* Means: t intervals with the design degrees of freedom, ``confint(svymean(~y, des), df =
  degf(des))``; ``degf`` of a domain counts the respondents with a positive weight there, so
  df = base n − 1 (weighted and unweighted alike).
* **Fixed by design** (``ci_method`` "fixed", se 0, no interval): a value that no other sample
  drawn under the same design could change. A weighted share of a calibration category is fixed
  by the margins (its linearised variance vanishes: detected numerically, below
  ``CALIBRATED_VAR_RTOL`` × p(1−p)/n); the share of a screening answer is fixed by the
  eligibility rule of cleaning (0% for an ineligible answer, 100% for the only eligible one).
  A sampling interval around such a value would describe uncertainty that does not exist.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from belmig.estimate.design import EstimateError

CI_METHODS = ("logit", "beta")
FIXED = "fixed"
CALIBRATED_VAR_RTOL = 1e-10  # var below this × p(1-p)/n: a share fixed by the calibration (se = 0)


def t_ppf(q, df):
    """Student's t quantile: ``scipy.stats.t.ppf(q, df)``, computed as it computes it (its ``_ppf``
    is ``special.stdtrit(df, q)``, times the scale 1 plus the location 0, where 0 < q < 1 and
    df > 0; ±inf at q = 1 or 0; nan elsewhere), bit for bit (tests/test_estimate.py). Without
    scipy.stats, whose import was ~0.35 s of every job that estimates."""
    q, df = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(df, dtype=float))
    out = np.full(q.shape, np.nan)
    good = df > 0
    inner = good & (q > 0) & (q < 1)
    out[inner] = special.stdtrit(df[inner], q[inner]) * 1.0 + 0.0
    out[good & (q == 1)] = np.inf
    out[good & (q == 0)] = -np.inf
    return out[()] if out.ndim == 0 else out


def prop_ci(p, var, n, n_eff_kish, nrow, level, method):
    """se and interval of proportions (arrays of one shape); returns se, lo, hi, method label."""
    alpha = 1 - level
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    label = np.full(p.shape, method, dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.clip(var, 0, None))
        fixed = (p > 0) & (p < 1) & (var <= CALIBRATED_VAR_RTOL * p * (1 - p) / n)
        inner = (p > 0) & (p < 1) & ~fixed & (n > 1) & np.isfinite(var)
        df = np.where(inner, n - 1, 1.0)
        pi = np.where(inner, p, 0.5)
        if method == "logit":
            half = t_ppf(1 - alpha / 2, df) * se / (pi * (1 - pi))
            lo = np.where(inner, special.expit(special.logit(pi) - half), lo)
            hi = np.where(inner, special.expit(special.logit(pi) + half), hi)
        elif method == "beta":
            nr = np.where(inner, nrow, 2.0)
            adj = (t_ppf(alpha / 2, nr - 1) / t_ppf(alpha / 2, df)) ** 2
            ne = np.where(inner, pi * (1 - pi) / np.where(inner, var, 1.0) * adj, 1.0)
            lo = np.where(inner, special.betaincinv(ne * pi, ne * (1 - pi) + 1, alpha / 2), lo)
            hi = np.where(inner, special.betaincinv(ne * pi + 1, ne * (1 - pi), 1 - alpha / 2), hi)
        else:
            raise EstimateError(f"ci_method must be one of {CI_METHODS}, got {method!r}")
        # p = 0 or 1: exact Clopper–Pearson on the Kish effective base size
        zero = (p == 0) & (n > 0)
        one = (p == 1) & (n > 0)
        lo = np.where(zero, 0.0, np.where(one, (alpha / 2) ** (1 / n_eff_kish), lo))
        hi = np.where(zero, 1 - (alpha / 2) ** (1 / n_eff_kish), np.where(one, 1.0, hi))
    label[zero | one] = "clopper-pearson"
    label[fixed] = FIXED
    se = np.where(fixed, 0.0, se)
    lo = np.where(fixed, np.nan, lo)
    hi = np.where(fixed, np.nan, hi)
    return se, lo, hi, label


def mean_ci(mu, var, n, level):
    """se and t interval of means: ``mu ± t_{n-1} · se`` (R: confint(svymean, df = degf))."""
    alpha = 1 - level
    se = np.sqrt(np.clip(var, 0, None))
    ok = (n > 1) & np.isfinite(var)
    with np.errstate(invalid="ignore"):
        t = t_ppf(1 - alpha / 2, np.where(ok, n - 1, 1.0))
    lo = np.where(ok, mu - t * se, np.nan)
    hi = np.where(ok, mu + t * se, np.nan)
    return se, lo, hi
