"""``python -m belmig.report check|preview`` (``make check``, ``make preview``).

check: number lint, numbers in words, claim guards (conditions and words), unguarded
quantifiers, keys ("did you mean") and cross-references of every edition, on the current
ledger, without rendering. Exit status 1 when any edition has an error; warnings are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m belmig.report")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="check every edition against the ledger (no render)")
    c.add_argument("--lang", default="all", help="en, ru, lt or all (default)")
    c.add_argument("--ledger", type=Path, default=None)
    p = sub.add_parser("preview", help="watch, check, render, serve with live reload")
    p.add_argument("--lang", default="en")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-pdf", action="store_true", help="refresh only the HTML")
    p.add_argument("--once", action="store_true", help="render once and exit (for tests and benchmarks)")
    a = ap.parse_args(argv)
    if a.cmd == "check":
        return check_main(a.lang, a.ledger)
    from belmig.report import preview

    return preview.main(a.lang, a.port, pdf=not a.no_pdf, once=a.once)


def check_main(lang: str, ledger_path: Path | None) -> int:
    t0 = time.perf_counter()
    from belmig.core import codebook, ledger, paths
    from belmig.report import build, editions

    ledger_path = ledger_path or paths.LEDGER
    if not ledger_path.exists():
        print(f"{paths.rel(ledger_path)} does not exist: build once with `make report`", file=sys.stderr)
        return 2
    entries = ledger.load(ledger_path)
    cb = codebook.load(paths.CODEBOOK)
    which = editions.existing() if lang == "all" else [editions.edition(lang)]
    failed = 0
    for ed in which:
        result = build.run_checks(
            ed.qmd,
            entries,
            allowlist=ed.allowlist,
            guards_path=editions.guards_path(),
            lexicon_path=editions.lexicon_path(),
            codebook=cb,
            generated_dir=ed.qmd.parent / "_generated",
        )
        status = "ok" if not result.errors else f"{len(result.errors)} error(s)"
        print(f"{paths.rel(ed.qmd)}: {status}, {len(result.warnings)} warning(s)")
        if result.errors or result.warnings:
            print(result.message(), file=sys.stderr if result.errors else sys.stdout)
        failed += bool(result.errors)
        if ed.lang != "en":  # the same claims, values, figures, tables and references as English
            from belmig.report import parity

            problems = parity.check_editions(editions.edition("en").qmd, [ed.qmd], ed.qmd.parent / "_generated")
            if problems:
                print(parity.format_problems(problems, "English", paths.rel(ed.qmd)), file=sys.stderr)
                failed += 1
    print(f"checked {len(which)} edition(s) in {time.perf_counter() - t0:.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
