"""Command-line entry points used by the Snakemake rules and the Makefile.

python -m belmig.cli merge-ledger data/processed/values/*.json --out data/processed/ledger.json
python -m belmig.cli export --responses ... --weights ... --codebook ... --privacy '{...}' --out-dir data/release
python -m belmig.cli index --ledger data/processed/ledger.json --out notebooks/executed/index.html NB...
python -m belmig.cli approve
python -m belmig map-export EXPORT [--definition survey.qsf|.lss|xlsform.xlsx] [--out overlay.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from belmig.core import atomic, paths


def cmd_merge_ledger(a: argparse.Namespace) -> None:
    from belmig.core import ledger

    merged = ledger.merge(a.fragments, a.out)
    print(f"{len(merged)} values from {len(a.fragments)} stages -> {paths.rel(a.out)}")


def cmd_export(a: argparse.Namespace) -> None:
    import pandas as pd

    from belmig.core import codebook
    from belmig.release import microdata

    responses = pd.read_parquet(a.responses)
    weights = pd.read_parquet(a.weights) if a.weights else None
    written = microdata.write_release(responses, weights, codebook.load(a.codebook), json.loads(a.privacy), a.out_dir)
    for p in written:
        print(p)


def cmd_index(a: argparse.Namespace) -> None:
    from belmig.core import ledger
    from belmig.report import index

    html = index.render_index([Path(n) for n in a.notebooks], ledger.load(a.ledger))
    atomic.write_text(a.out, html)
    print(f"index of {len(a.notebooks)} stages -> {paths.rel(a.out)}")


def cmd_approve(a: argparse.Namespace) -> None:
    from belmig.report import valuediff

    valuediff.approve()
    print(f"approved: {paths.rel(paths.LEDGER)} -> {paths.rel(paths.APPROVED_LEDGER)} (commit it)")


def cmd_map_export(a: argparse.Namespace) -> None:
    from belmig.ingest import mapexport

    argv = [str(a.export)] + (["--definition", str(a.definition)] if a.definition else [])
    argv += (["--out", str(a.out)] if a.out else []) + (["--codebook", str(a.codebook)] if a.codebook else [])
    raise SystemExit(mapexport.main(argv))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="belmig")
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge-ledger", help="join stage value fragments into the ledger")
    m.add_argument("fragments", nargs="+", type=Path)
    m.add_argument("--out", type=Path, required=True)
    m.set_defaults(func=cmd_merge_ledger)
    e = sub.add_parser("export", help="write the released microdata")
    e.add_argument("--responses", type=Path, required=True)
    e.add_argument("--weights", type=Path)
    e.add_argument("--codebook", type=Path, required=True)
    e.add_argument("--privacy", required=True, help="JSON of the config's privacy section")
    e.add_argument("--out-dir", type=Path, required=True)
    e.set_defaults(func=cmd_export)
    i = sub.add_parser("index", help="reviewers' index of the executed notebooks")
    i.add_argument("notebooks", nargs="+")
    i.add_argument("--ledger", type=Path, required=True)
    i.add_argument("--out", type=Path, required=True)
    i.set_defaults(func=cmd_index)
    p = sub.add_parser("approve", help="record the current ledger as the approved snapshot")
    p.set_defaults(func=cmd_approve)
    x = sub.add_parser("map-export", help="draft the mapping of an export to the codebook (a reviewable overlay)")
    x.add_argument("export", type=Path)
    x.add_argument("--definition", type=Path, help="the platform's survey definition: .qsf, .lss or an XLSForm")
    x.add_argument("--out", type=Path, help="write the overlay here (default: print it)")
    x.add_argument("--codebook", type=Path)
    x.set_defaults(func=cmd_map_export)
    a = ap.parse_args(argv)
    a.func(a)


if __name__ == "__main__":
    main(sys.argv[1:])
