"""``python -m belmig.charts --chart N --estimates data/processed/estimates.parquet --lang en
--ci-whiskers 0 --dpi 200 --min-cell 5 --out-dir figures`` writes figures/chartNN.{svg,png,alt.txt,json}."""

from __future__ import annotations

import argparse
from pathlib import Path

from belmig.core import codebook as codebook_mod, paths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m belmig.charts", description="Draw report charts from the estimates.")
    p.add_argument("--chart", type=int, nargs="+", required=True, metavar="N", help="chart number(s), 1–18")
    p.add_argument("--estimates", type=Path, required=True, help="estimates.parquet")
    p.add_argument("--lang", choices=("en", "ru"), required=True, help="label language")
    p.add_argument("--ci-whiskers", type=int, choices=(0, 1), required=True, help="1 = 95%% CI whiskers (weighted)")
    p.add_argument("--dpi", type=int, required=True, help="PNG resolution")
    p.add_argument("--min-cell", type=int, required=True, help="privacy.min_cell: smaller bars are merged or hidden")
    p.add_argument("--out-dir", type=Path, required=True, help="directory of chartNN.svg/.png/.alt.txt/.json")
    p.add_argument("--codebook", type=Path, default=paths.CODEBOOK, help="codebook (default: config/codebook.yaml)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import pandas as pd

    from belmig.charts.build import draw

    cb = codebook_mod.load(args.codebook)
    est = pd.read_parquet(args.estimates)
    for n in args.chart:
        stem = args.out_dir / f"chart{n:02d}"
        draw(
            n, est, cb, lang=args.lang, ci_whiskers=bool(args.ci_whiskers), dpi=args.dpi,
            out_svg=stem.with_suffix(".svg"), out_png=stem.with_suffix(".png"),
            out_alt=stem.with_suffix(".alt.txt"), out_data=stem.with_suffix(".json"), min_cell=args.min_cell,
        )  # fmt: skip
    return 0
