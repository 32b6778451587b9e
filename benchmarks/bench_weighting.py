"""Benchmark: raking and estimate_all on synthetic respondents (10k / 100k / 1M).

    .venv/bin/python benchmarks/bench_weighting.py [--sizes 10000 100000 1000000] [--margins 1|3]

Prints two tables: (1) belmig.weight.rake against a plain vectorised NumPy IPF on the rows
(the floor a straightforward implementation reaches: one np.bincount per margin per sweep over
all rows), same margins, same tolerance; (2) belmig.estimate.estimate_all (every choice and scale
question of the codebook, overall and by the subgroups, unweighted and weighted, with
calibration-aware SEs, CIs and tests) with its wall time and the peak resident memory of the
process (resource.getrusage; peak so far, so it only grows with the sizes). Wall time is
sensitive to other load on the machine; cpu_s (process time) less so.

The synthetic data follow the responses.parquet contract (universes respected, item
non-response on every question) but are random: the numbers are timings, not results.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from belmig import estimate, weight
from belmig.core import codebook as cbm
from belmig.core.codebook import Codebook
from belmig.core.keys import multi_column

ROOT = Path(__file__).resolve().parents[1]
MUNICIPALITY = ROOT / "data" / "external" / "margins_municipality_2022-11.csv"


def synthetic_responses(cb: Codebook, n: int, seed: int, item_nr: float = 0.03) -> pd.DataFrame:
    """Random respondents in the responses.parquet layout (universes respected)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {"resp_id": pd.array([f"r{i:07d}" for i in range(1, n + 1)], dtype="str")}
    codes: dict[str, np.ndarray] = {}
    for q in cb.questions:
        if q.universe is None:
            asked = np.ones(n, dtype=bool)
        else:
            parent = cb[q.universe.question]
            allowed = [parent.keys.index(k) for k in q.universe.values]
            asked = np.isin(codes[parent.id], allowed)
        answered = asked & (rng.random(n) >= item_nr)
        if q.type == "single":
            p = rng.dirichlet(np.full(len(q.keys), 2.0))
            c = rng.choice(len(q.keys), size=n, p=p)
            c = np.where(answered, c, -1)
            codes[q.id] = c
            cols[q.id] = pd.Categorical.from_codes(c, categories=q.keys)
        elif q.type == "multi":
            for key in q.keys:
                chosen = rng.random(n) < rng.uniform(0.05, 0.6)
                cols[multi_column(q.id, key)] = pd.array(np.where(answered, chosen, False), dtype="boolean")
                cols[multi_column(q.id, key)][~answered] = pd.NA
        elif q.type == "scale":
            lo, hi = q.scale["min"], q.scale["max"]
            x = np.clip(np.round(rng.normal((lo + hi) / 2 + 1, 2.2, n)), lo, hi).astype(np.int64)
            cols[q.id] = pd.array(np.where(answered, x, 0), dtype="Int64")
            cols[q.id][~answered] = pd.NA
    return pd.DataFrame(cols)


def numpy_rake(codes: list[np.ndarray], targets: list[np.ndarray], max_iter: int, tolerance: float):
    """The floor: IPF directly on the row weights with np.bincount (no cell compression)."""
    n = len(codes[0])
    w = np.full(n, targets[0].sum() / n)
    for it in range(1, max_iter + 1):  # noqa: B007 (the sweep count is returned)
        for c, t in zip(codes, targets):
            w *= (t / np.bincount(c, weights=w, minlength=len(t)))[c]
        gap = max(
            float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) - t) / t)) for c, t in zip(codes, targets)
        )
        if gap < tolerance:
            break
    return w, it


def extra_margins(cb: Codebook, tmp: Path, total: float) -> list[Path]:
    """Invented sex and sex × age margins (benchmark only) to time a three-margin rake."""
    paths = []
    sex = tmp / "bench_sex.csv"
    sex.write_text(f"sex,target\nfemale,{total * 0.55}\nmale,{total * 0.43}\nother,{total * 0.02}\n")
    age = tmp / "bench_age.csv"
    share = np.array([0.2, 0.35, 0.25, 0.12, 0.08])
    age.write_text("age_group,target\n" + "".join(f"{k},{total * s}\n" for k, s in zip(cb["age_group"].keys, share)))
    for p in (sex, age):
        p.with_suffix(".meta.yaml").write_text(
            "source: benchmark\nreference_date: none\nrounding: none\nlicence: none\n"
        )
        paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument(
        "--margins", type=int, choices=(1, 3), default=3, help="1 = municipality; 3 = + sex, age (invented)"
    )
    ap.add_argument("--seed", type=int, default=20220903)
    args = ap.parse_args(argv)
    cb = cbm.load()
    tmp = Path(tempfile.mkdtemp(prefix="bench_weighting_"))
    paths = [MUNICIPALITY]
    margins = weight.read_margins(paths, cb)
    if args.margins == 3:
        margins = weight.read_margins(paths + extra_margins(cb, tmp, margins[0].total), cb)
    cfg = {"confidence": 0.95, "ci_method": "logit", "subgroups": ["sex", "age_group", "legal_status"],
           "level_merges": {}, "multiplicity": "holm"}  # fmt: skip
    rake_rows, est_rows = [], []
    for n in args.sizes:
        df = synthetic_responses(cb, n, args.seed)
        t0 = time.perf_counter()
        res = weight.rake(df, margins, max_iter=200, tolerance=1e-10)
        t_rake = time.perf_counter() - t0
        res.require_converged()
        cal = weight.calibration(df, margins)
        codes = [cc[cal.cell] for cc in cal.cell_codes]
        t0 = time.perf_counter()
        w_floor, it_floor = numpy_rake(codes, list(cal.targets), 200, 1e-10)
        t_floor = time.perf_counter() - t0
        diff = float(np.max(np.abs(w_floor - res.weights.to_numpy()) / res.weights.to_numpy()))
        rake_rows.append({"n": n, "margins": len(margins), "rake_s": t_rake, "sweeps": res.iterations,
                          "numpy_floor_s": t_floor, "floor_sweeps": it_floor, "speedup": t_floor / t_rake,
                          "max_rel_diff": diff})  # fmt: skip
        wf = res.to_frame()
        t0, c0 = time.perf_counter(), time.process_time()
        est = estimate.estimate_all(df, wf, cb, cfg, 5)
        t_est, c_est = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
        est_rows.append({"n": n, "estimate_all_s": t_est, "cpu_s": c_est, "rows": len(est), "peak_rss_mib": peak})
        print(
            f"n={n:>9,}: rake {t_rake:.3f}s, floor {t_floor:.3f}s, estimate_all {t_est:.2f}s ({len(est):,} rows), peak RSS {peak:,.0f} MiB",
            file=sys.stderr,
        )
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        print("\nRaking: belmig.weight.rake vs a plain vectorised NumPy IPF on the rows")
        print(pd.DataFrame(rake_rows).to_string(index=False))
        print("\nestimate_all (all questions × overall + subgroups × unweighted/weighted)")
        print(pd.DataFrame(est_rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
