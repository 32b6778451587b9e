"""``python -m belmig.privacy``: the disclosure-control steps of the build.

    python -m belmig.privacy protect --ledger data/processed/ledger.json \
        --responses data/processed/responses.parquet --codebook config/codebook.yaml \
        --text-keys data/processed/report_keys.json --charts figures/chart*.json \
        --figures data/published/figures.csv --reproduction data/processed/reproduction.csv \
        --weighting data/processed/weighting_diagnostics.csv --coding data/processed/other_coding.csv \
        --release data/release/microdata.csv --privacy '{...}' --cleaning '{...}' \
        --out data/processed/public_values.json

    python -m belmig.privacy manifest --out public_manifest.json --public FILE... [--reviewer FILE...]
    python -m belmig.privacy manifest --out public_manifest.json --extend --public report/snakemake-report.zip
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_protect(a: argparse.Namespace) -> int:
    import pandas as pd

    from belmig.core import atomic, codebook, ledger
    from belmig.privacy import inputs, publish
    from belmig.report import textkeys

    cb = codebook.load(a.codebook)
    entries = ledger.load(a.ledger)
    priv = json.loads(a.privacy)
    cleaning = json.loads(a.cleaning)
    min_cell = int(priv["min_cell"])
    responses = pd.read_parquet(a.responses)
    # the audit reads no attrs (the cleaning's record), and pandas deep-copies a frame's attrs into
    # every column and row taken from it: ~0.14 s of the audit's pandas work
    responses.attrs = {}
    # the keys the text prints and its claims read (the Snakefile writes the file when they change)
    keys = textkeys.read(a.text_keys) if a.text_keys else textkeys.text_keys(a.qmd, a.claims)
    reqs = inputs.report_requests(keys, entries, a.figures, a.reproduction)
    fixed = inputs.chart_facts(a.charts)
    if a.levels:
        fixed += inputs.level_plan_facts(a.levels)
    if a.weighting:
        fixed += inputs.weighting_facts(a.weighting)
    if a.coding:
        shown = inputs.coding_table(pd.read_csv(a.coding, keep_default_na=False), min_cell)
        fixed += inputs.coding_facts(shown, min_cell)
    zeros = inputs.screening_zeros(cb, cleaning)
    # The audit is exact and takes seconds; an edit of the report's wording that prints the
    # same values reuses the last decisions (same digest of everything the audit reads).
    weights = inputs.cell_weights(a.weighting, json.loads(a.weighting_config)) if a.weighting else {}
    blanked = inputs.release_blanked(a.release_report, cb) if a.release_report else set()
    digest = publish.digest(
        entries,
        reqs,
        fixed,
        zeros,
        min_cell,
        [a.responses, a.release, a.codebook, a.levels, a.weighting, a.release_report],
        weights,
    )
    # (the rule declares its output update(): Snakemake leaves the last one in place)
    pub = publish.cached(a.out, digest)
    if pub is None:
        rv = None
        if a.release:
            rv = inputs.release_view(
                a.release,
                cb,
                list(priv["quasi_identifiers"]) + list(priv["extra_identifiers"]),
                report=a.release_report,
            )
        pub = publish.protect(
            entries, reqs, responses, cb, min_cell, fixed=fixed, release=rv, structural_zeros=zeros,
            levels=inputs.plan_levels(a.levels) if a.levels else None, weights=weights, blanked=blanked,
        )  # fmt: skip
        pub.digest = digest
    else:
        print("same values and data as the last audit: its decisions stand")
    atomic.write_text(a.out, json.dumps(pub.to_json(), ensure_ascii=False, indent=1) + "\n")
    withheld = pub.withheld()
    print(
        f"{len(pub.decisions)} values asked for, {len(withheld)} withheld "
        f"({sum(d.reason.startswith('secondary') for d in withheld)} secondary); "
        f"{pub.targets} small cells audited against {pub.facts} published values -> {a.out}"
    )
    for d in withheld:
        print(f"  withheld {d.key}: {d.reason}")
    return 0


def cmd_manifest(a: argparse.Namespace) -> int:
    from belmig.privacy import manifest

    if a.extend:
        m = manifest.extend(a.out, a.public)
    else:
        m = manifest.write(a.out, public=a.public, reviewer=a.reviewer or [], hashes=a.hashes)
    print(f"{len(m['files'])} public files -> {a.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m belmig.privacy", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("protect", help="decide which values the report may print (public_values.json)")
    p.add_argument("--ledger", type=Path, required=True)
    p.add_argument("--responses", type=Path, required=True)
    p.add_argument("--codebook", type=Path, required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--text-keys", type=Path, help="report_keys.json: the keys the text prints (belmig.report.textkeys)"
    )
    src.add_argument("--qmd", type=Path, nargs="+", help="the report texts (their keys are read with --claims)")
    p.add_argument("--charts", type=Path, nargs="*", default=[])
    p.add_argument("--figures", type=Path)
    p.add_argument("--reproduction", type=Path)
    p.add_argument("--weighting", type=Path)
    p.add_argument(
        "--weighting-config",
        default="{}",
        help="JSON of the config's weighting section (post-stratified weights make weighted values facts)",
    )
    p.add_argument("--coding", type=Path)
    p.add_argument("--release", type=Path)
    p.add_argument(
        "--release-report",
        type=Path,
        help="the release's kanonymity_report.csv (which answers it blanked beside a protective blank)",
    )
    p.add_argument(
        "--claims", type=Path, help="report/claims.yaml, with --qmd: the claim guards (their keys are printed too)"
    )
    p.add_argument("--levels", type=Path, help="level_plan.csv: the respondents of every subgroup level, as printed")
    p.add_argument("--privacy", required=True, help="JSON of the config's privacy section")
    p.add_argument("--cleaning", required=True, help="JSON of the config's cleaning section (screening rules)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_protect)
    m = sub.add_parser("manifest", help="write public_manifest.json")
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--public", type=Path, nargs="*", default=[])
    m.add_argument("--reviewer", type=Path, nargs="*", default=[])
    m.add_argument("--extend", action="store_true", help="add the --public files to the existing manifest")
    m.add_argument("--hashes", type=Path, help="the checksums of the last run, by file and stat (read, then rewritten)")
    m.set_defaults(func=cmd_manifest)
    a = ap.parse_args(argv)
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
