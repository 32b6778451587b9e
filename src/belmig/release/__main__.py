"""``python -m belmig.release``: write the released microdata (rule ``export_microdata``).

    python -m belmig.release --responses data/processed/responses.parquet \
        --weights data/processed/weights.parquet --privacy '{...}' --seed 20220903 \
        --out-dir data/release --summary data/processed/release_summary.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_levels(path: Path) -> dict[str, dict[str, str]]:
    """{variable: {option: level}} from the level plan (``belmig.privacy.levels``'s table) or JSON."""
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    import csv

    out: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r.get("level"):
                out.setdefault(r["question"], {})[r["option"]] = r["level"]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m belmig.release", description=__doc__.split("\n\n")[0])
    ap.add_argument("--responses", type=Path, required=True)
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--codebook", type=Path, help="codebook YAML (default: config/codebook.yaml)")
    ap.add_argument("--privacy", required=True, help="JSON of the config's privacy section")
    ap.add_argument("--seed", type=int, required=True, help="config seed: row order and record ids")
    ap.add_argument("--out-dir", type=Path, required=True)
    ap.add_argument("--summary", type=Path, help="internal JSON of the protection decisions (for the report)")
    ap.add_argument(
        "--levels",
        type=Path,
        help="JSON {variable: {option: level}}: merges the estimates made (the release starts there)",
    )
    ap.add_argument(
        "--report-keys",
        type=Path,
        help="JSON of the keys the report prints (report_keys.json): the tables that cross two questions",
    )
    a = ap.parse_args(argv)

    import pandas as pd

    from belmig.core import codebook, paths
    from belmig.release import microdata

    cb = codebook.load(a.codebook) if a.codebook else codebook.load()
    responses = pd.read_parquet(a.responses)
    weights = pd.read_parquet(a.weights) if a.weights else None
    crossed = None
    if a.report_keys:
        used = json.loads(a.report_keys.read_text(encoding="utf-8"))["used"]
        crossed = microdata.crossed_pairs(used, cb)
    written = microdata.write_release(
        responses, weights, cb, json.loads(a.privacy), a.out_dir, seed=a.seed, summary_path=a.summary,
        levels=read_levels(a.levels) if a.levels else None, crossed=crossed,
    )  # fmt: skip
    for p in written:
        print(paths.rel(p))


if __name__ == "__main__":
    main()
