"""Every path the project uses, derived from the repository root (never from the cwd).

Modelled on showyourwork's ``paths.py``. Code that needs a file imports it from here; the
Snakemake rules (``rules/common.smk``) import it too and use the same paths relative to the root
(:func:`rel`), since the Snakefile runs from the root.
"""

from __future__ import annotations

import os
from pathlib import Path

# The root can be overridden (tests run the DAG in a temporary copy).
ROOT = Path(os.environ.get("BELMIG_ROOT", Path(__file__).resolve().parents[3])).resolve()  # src/belmig/core/paths.py

CONFIG_DIR = ROOT / "config"
CONFIG = CONFIG_DIR / "config.yaml"
CONFIG_SCHEMA = CONFIG_DIR / "config.schema.yaml"
CODEBOOK = CONFIG_DIR / "codebook.yaml"
CODEBOOK_SCHEMA = CONFIG_DIR / "codebook.schema.yaml"
CODING_DIR = CONFIG_DIR / "coding"  # keyword dictionaries + manual coding of "Other" answers
CODING_KEYWORDS = CODING_DIR / "keywords.yaml"
CODING_MANUAL = CODING_DIR / "manual.csv"

DATA = ROOT / "data"
RAW = DATA / "raw"
SYNTHETIC_EXPORT = RAW / "synthetic_export.csv"  # written by the DAG (belmig.synth)
PROCESSED = DATA / "processed"
PUBLISHED = DATA / "published"
EXTERNAL = DATA / "external"
RELEASE = DATA / "release"
VALUES = PROCESSED / "values"  # per-stage ledger fragments
LEDGER = PROCESSED / "ledger.json"
APPROVED_LEDGER = DATA / "approved" / "ledger.json"

PUBLISHED_FIGURES = PUBLISHED / "figures.csv"
ASSUMED_FIGURES = PUBLISHED / "assumed.csv"
PUBLISHED_STATEMENTS = PUBLISHED / "statements.csv"

FIGURES = ROOT / "figures"
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "notebooks" / "executed"
REPORT = ROOT / "report"
LOGS = ROOT / "logs"
SRC = ROOT / "src"
TESTS = ROOT / "tests"


def rel(path: Path | str) -> str:
    """Path relative to the root, with forward slashes (for ledgers, logs and links)."""
    return Path(path).resolve().relative_to(ROOT).as_posix()
