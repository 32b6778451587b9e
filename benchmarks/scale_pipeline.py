"""One process: raw CSV → ingest → clean → weight → every estimate, timing each step.

    python benchmarks/scale_pipeline.py data/raw/scale_100000.csv

Prints one JSON line: rows, seconds per step, total, peak RSS (MiB) of this process.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from belmig import clean, estimate, ingest, weight
from belmig.clean import coding
from belmig.core import codebook, config, paths


def main(export: Path) -> dict:
    cfg = config.load()
    cb = codebook.load()
    times: dict[str, float] = {}
    t = time.perf_counter()
    df = ingest.read_export(export, cb)
    times["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    rules = coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", cb)
    res = clean.clean(df, cb, cfg["cleaning"], rules)
    times["clean"] = time.perf_counter() - t
    t = time.perf_counter()
    margins = weight.read_margins([paths.ROOT / m for m in cfg["weighting"]["margins"]], cb)
    w = cfg["weighting"]
    rk = weight.weigh(res.responses, margins, weight.Method.from_config(w))
    times["weight"] = time.perf_counter() - t
    t = time.perf_counter()
    wdf = weight.weights_frame(res.responses, rk)
    est = estimate.estimate_all(res.responses, wdf, cb, cfg["estimation"], cfg["privacy"]["min_cell"])
    times["estimate"] = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows_raw": int(len(df)),
        "rows_analysed": int(len(res.responses)),
        "estimates": int(len(est)),
        **{k: round(v, 3) for k, v in times.items()},
        "total": round(sum(times.values()), 3),
        "peak_mib": round(peak, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
