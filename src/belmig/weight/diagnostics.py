"""Weight diagnostics (distribution, Kish's deff and n_eff, margins reached), the ledger values
and the weights.parquet writer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from belmig.core import atomic
from belmig.weight.margins import MISSING, Margin, RakeError, calibration
from belmig.weight.methods import WeightResult


def diagnostics(df: pd.DataFrame, weights: pd.Series | np.ndarray, margins: Sequence[Margin]) -> pd.DataFrame:
    """Per margin category: sample and weighted counts and shares against the targets.

    ``target_count`` is the effective target (scaled when some respondents miss the variable;
    ``file_target`` is the file's figure); shares are of the population total; ``gap`` is the
    relative gap (weighted − target) / target, the margin reached.
    """
    w = np.asarray(weights, dtype=float)
    if len(w) != len(df):
        raise ValueError(f"{len(w)} weights for {len(df)} respondents")
    cal = calibration(df, margins)
    n = len(df)
    rows = []
    for m, codes, t in zip(margins, cal.cell_codes, cal.targets):
        cat = codes[cal.cell]
        cnt = np.bincount(cat, minlength=len(t))
        wsum = np.bincount(cat, weights=w, minlength=len(t))
        for i in range(len(t)):
            listed = i < len(m.categories)
            rows.append(
                {
                    "margin": m.name,
                    "variables": " × ".join(m.variables),
                    "category": m.label(i) if listed else MISSING,
                    "n": int(cnt[i]),
                    "sample_share": cnt[i] / n,
                    "target_share": t[i] / cal.total,
                    "weighted_share": wsum[i] / w.sum(),
                    "file_target": m.targets[i] if listed else np.nan,
                    "target_count": t[i],
                    "weighted_count": wsum[i],
                    "gap": (wsum[i] - t[i]) / t[i],
                }
            )
    return pd.DataFrame(rows)


def kish(weights: np.ndarray) -> dict[str, float]:
    """Kish's design effect of unequal weights, effective sample size and efficiency."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    n_eff = w.sum() ** 2 / np.square(w).sum()
    return {"deff": n / n_eff, "n_eff": n_eff, "efficiency": n_eff / n}


def summary(result: WeightResult) -> dict[str, Any]:
    """The method, the weight distribution, Kish design effect, effective n, efficiency and the
    margins reached (largest relative gap)."""
    w = result.weights.to_numpy()
    k = kish(w)
    mean = w.mean()
    q = np.quantile(w, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "method": result.method.describe(),
        "n": int(len(w)),
        "population_total": float(result.total),
        "weight_sum": float(w.sum()),
        "deff": float(k["deff"]),
        "n_eff": float(k["n_eff"]),
        "efficiency": float(k["efficiency"]),
        "min": float(w.min()),
        "p05": float(q[0]),
        "p25": float(q[1]),
        "median": float(q[2]),
        "p75": float(q[3]),
        "p95": float(q[4]),
        "max": float(w.max()),
        "min_ratio": float(w.min() / mean),
        "max_ratio": float(w.max() / mean),
        "bounds": None if result.method.bounds is None else list(result.method.bounds),
        "at_bounds": int(result.at_bounds),
        "iterations": int(result.iterations),
        "converged": bool(result.converged),
        "max_gap": float(result.max_gap),
        "unclassified": {k_: int(v) for k_, v in result.unclassified.items()},
        "message": result.message,
    }


def to_values(result: WeightResult, vals) -> None:
    """Record weight.deff|n_eff|efficiency|min|max|iterations (cell "weight-values")."""
    result.require_converged()
    s = summary(result)
    cell = "weight-values"
    vals.add("weight.deff", s["deff"], "float", cell=cell, description="Kish design effect of the weights (1 + CV²)")
    vals.add("weight.n_eff", s["n_eff"], "float", cell=cell, decimals=1,
             description="Kish effective sample size (Σw)²/Σw²", n=s["n"])  # fmt: skip
    vals.add("weight.efficiency", 100 * s["efficiency"], "pct", cell=cell,
             description="weighting efficiency n_eff / n, percent", n=s["n"])  # fmt: skip
    vals.add(
        "weight.min", s["min"], "float", cell=cell, decimals=1, description="smallest weight (persons represented)"
    )
    vals.add("weight.max", s["max"], "float", cell=cell, decimals=1, description="largest weight (persons represented)")
    vals.add("weight.iterations", s["iterations"], "int", cell=cell,
             description=f"iterations of {s['method']} until convergence")  # fmt: skip


def weights_frame(df: pd.DataFrame, result: WeightResult) -> pd.DataFrame:
    """The weights.parquet table of these responses (resp_id, weight; calibration record in
    ``.attrs``), after checking that the result belongs to them and converged."""
    result.require_converged()
    ids = df["resp_id"].astype("str").array
    mine = pd.array(np.asarray(result.resp_id, dtype=object), dtype="str")
    if len(ids) != len(mine) or not bool((mine == ids).all()):
        raise RakeError("the weighting result does not belong to these responses (resp_id differ)")
    return result.to_frame()


def write(
    result: WeightResult,
    df: pd.DataFrame,
    margins: Sequence[Margin],
    out_weights: Path,
    out_diagnostics: Path,
    out_summary: Path,
) -> None:
    """Write weights.parquet (+ calibration record), the diagnostics CSV and the summary JSON,
    each atomically (belmig.core.atomic)."""
    frame = weights_frame(df, result)
    diag = diagnostics(df, result.weights, margins)
    atomic.write_via(out_weights, lambda p: frame.to_parquet(p, index=False))
    atomic.write_via(out_diagnostics, lambda p: diag.to_csv(p, index=False, lineterminator="\n"))
    atomic.write_text(out_summary, json.dumps(summary(result), ensure_ascii=False, indent=1) + "\n")
