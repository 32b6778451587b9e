"""The survey design of the estimates: weights aligned with the respondents, the calibration
they carry, and the linearised covariance of ratio estimates (R's ``svyrecvar``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from belmig import weight as wt


class EstimateError(ValueError):
    """Responses, weights or settings do not allow the estimates."""


@dataclass(frozen=True)
class Design:
    n: int
    w: np.ndarray  # (n,) weights of the weighted design
    calibrated: bool
    G: int  # calibration cells
    Q: np.ndarray | None  # (G, G) projection of cell sums on the margin indicators
    cell: np.ndarray  # (n,) calibration cell
    tot: dict[bool, tuple[np.ndarray, np.ndarray]]  # weighted? -> per-cell (Σw, Σw²)


def bare(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` without its ``attrs`` (a shallow copy: no data is copied). pandas deep-copies a
    frame's attrs into every column or mask taken from it, which costs more than the estimates'
    arithmetic; read what the attrs hold first, then work on this."""
    out = frame.copy(deep=False)
    out.attrs = {}
    return out


def calibration_margins(weights: pd.DataFrame) -> list[wt.Margin]:
    rec = weights.attrs.get(wt.CALIBRATION_ATTR)
    if rec is None:
        raise EstimateError(
            "the weights carry no calibration record (weights.attrs['calibration']): write them with "
            "belmig.weight.write / WeightResult.to_frame(), or set attrs['calibration'] = {'margins': []} "
            "for weights that were not calibrated"
        )
    return [wt.Margin.from_record(m) for m in rec["margins"]]


def align_weights(responses: pd.DataFrame, weights: pd.DataFrame) -> np.ndarray:
    for col in ("resp_id", "weight"):
        if col not in weights.columns:
            raise EstimateError(f"weights have no {col!r} column")
    ids = responses["resp_id"].astype("str")
    wi = weights["resp_id"].astype("str")
    if len(ids) == len(wi) and bool((ids.array == wi.array).all()):  # same respondents, same order
        w = weights["weight"].to_numpy(dtype=float)
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise EstimateError("weights must be positive and finite")
        return w
    if ids.duplicated().any():
        raise EstimateError(f"responses repeat resp_id {ids[ids.duplicated()].iloc[0]!r}")
    if wi.duplicated().any():
        raise EstimateError(f"weights repeat resp_id {wi[wi.duplicated()].iloc[0]!r}")
    w = pd.Series(weights["weight"].to_numpy(dtype=float), index=wi.to_numpy()).reindex(ids.to_numpy())
    if w.isna().any():
        raise EstimateError(
            f"{int(w.isna().sum())} respondents have no weight (e.g. {ids[w.isna().to_numpy()].iloc[0]!r})"
        )
    if len(wi) != len(ids):
        raise EstimateError(f"{len(wi) - len(ids)} weights belong to no respondent")
    w = w.to_numpy()
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise EstimateError("weights must be positive and finite")
    return w


def design(responses: pd.DataFrame, weights: pd.DataFrame) -> Design:
    w = align_weights(responses, weights)
    margins = calibration_margins(weights)
    n = len(responses)
    if margins:
        cal = wt.calibration(responses, margins)
        for m, codes, t in zip(margins, cal.cell_codes, cal.targets):
            got = np.bincount(codes[cal.cell], weights=w, minlength=len(t))
            if not np.allclose(got, t, rtol=1e-6, atol=0):
                raise EstimateError(f"the weights do not reproduce the targets of {m.source} they were calibrated to")
        D = cal.design_matrix()
        n_g = np.bincount(cal.cell, minlength=cal.n_cells).astype(float)
        gram = D.T @ (n_g[:, None] * D)
        Q = D @ np.linalg.pinv(gram, rcond=1e-10, hermitian=True) @ D.T
        cell, G = cal.cell, cal.n_cells
    else:
        Q, cell, G = None, np.zeros(n, dtype=np.int64), 1
    ones = np.ones(n)
    tot = {
        True: (np.bincount(cell, weights=w, minlength=G), np.bincount(cell, weights=w * w, minlength=G)),
        False: (np.bincount(cell, weights=ones, minlength=G), np.bincount(cell, weights=ones, minlength=G)),
    }
    return Design(n=n, w=w, calibrated=Q is not None, G=G, Q=Q, cell=cell, tot=tot)


def lincov(
    e: np.ndarray,
    N: np.ndarray,
    S1: np.ndarray,
    S2: np.ndarray,
    S1tot: np.ndarray,
    S2tot: np.ndarray,
    Q: np.ndarray | None,
    n: float,
    diag: bool,
) -> np.ndarray:
    """Covariance of ratio estimates from their linearised values on "atoms".

    An atom is a set of respondents of one calibration cell g who share every value the
    estimates depend on (subgroup level, answer), so each estimate's linearised value
    e_j = d·(y - θ_j)/Σ_domain w is constant on it. ``e``: (..., J, A) values per atom type;
    ``N``, ``S1``, ``S2``: (G, A) count, Σw, Σw² of each atom; ``S1tot``, ``S2tot``: (G,) Σw,
    Σw² of every respondent of cell g (respondents in no atom have e = 0). With a projection
    ``Q`` (calibration) the values are replaced by their residuals r = e - h_g, h = Q·(Σ_cell e),
    the least-squares projection on the margin indicators; the variance is
    n/(n-1) [Σ (w r)² - (Σ w r)²/n] over the n respondents of the design, as R's svyrecvar.
    Returns (..., J) variances if ``diag`` else (..., J, J) covariances.
    """
    S2a = S2.sum(0)
    cross = (e * e) @ S2a if diag else (e * S2a) @ np.swapaxes(e, -1, -2)
    sw = e @ S1.sum(0)
    if Q is not None:
        h = (e @ N.T) @ Q.T  # (..., J, G)
        P = e @ S2.T  # (..., J, G): Σ_a S2[g, a] e[j, a]
        if diag:
            cross = cross - 2 * (h * P).sum(-1) + (h * h) @ S2tot
        else:
            hT, PT = np.swapaxes(h, -1, -2), np.swapaxes(P, -1, -2)
            cross = cross - h @ PT - P @ hT + (h * S2tot) @ hT
        sw = sw - h @ S1tot
    if diag:
        return n / (n - 1) * (cross - sw * sw / n)
    return n / (n - 1) * (cross - sw[..., :, None] * sw[..., None, :] / n)
