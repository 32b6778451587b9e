"""Every path the project uses, derived from the repository root (never from the cwd).

Modelled on showyourwork's ``paths.py``. Code that needs a file imports it from here; the
Snakemake rules (``rules/common.smk``) import it too and use the same paths relative to the root
(:func:`rel`), since the Snakefile runs from the root. Every public name here is used elsewhere
(tests/test_layout.py checks it); the folders they derive from are private.
"""

from __future__ import annotations

import os
from pathlib import Path

# The root can be overridden (tests run the DAG in a temporary copy).
ROOT = Path(os.environ.get("BELMIG_ROOT", Path(__file__).resolve().parents[3])).resolve()  # src/belmig/core/paths.py

_CONFIG = ROOT / "config"
CONFIG = _CONFIG / "config.yaml"
CONFIG_SCHEMA = _CONFIG / "config.schema.yaml"
CODEBOOK = _CONFIG / "codebook.yaml"
CODEBOOK_SCHEMA = _CONFIG / "codebook.schema.yaml"
CODING_DIR = _CONFIG / "coding"  # keyword dictionaries + manual coding of "Other" answers
CODING_KEYWORDS = CODING_DIR / "keywords.yaml"
CODING_MANUAL = CODING_DIR / "manual.csv"

_DATA = ROOT / "data"
SYNTHETIC_EXPORT = _DATA / "raw" / "synthetic_export.csv"  # written by the DAG (belmig.synth)
PROCESSED = _DATA / "processed"
PUBLISHED = _DATA / "published"
RELEASE = _DATA / "release"
VALUES = PROCESSED / "values"  # per-stage ledger fragments
LEDGER = PROCESSED / "ledger.json"
APPROVED_LEDGER = _DATA / "approved" / "ledger.json"

PUBLISHED_FIGURES = PUBLISHED / "figures.csv"
ASSUMED_FIGURES = PUBLISHED / "assumed.csv"
PUBLISHED_STATEMENTS = PUBLISHED / "statements.csv"

FIGURES = ROOT / "figures"
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "notebooks" / "executed"
REPORT = ROOT / "report"
LOGS = ROOT / "logs"
# The public manifest's checksums by file and stat (belmig.privacy.manifest.Hashes): Snakemake's
# scratch folder, never a build output.
FILE_HASHES = ROOT / ".snakemake" / "belmig" / "file_hashes.json"


def rel(path: Path | str) -> str:
    """Path relative to the root, with forward slashes (for ledgers, logs and links)."""
    return Path(path).resolve().relative_to(ROOT).as_posix()


def shown(path: Path | str) -> str:
    """A path as messages show it: relative to the root inside the checkout, else as given."""
    return rel(path) if Path(path).resolve().is_relative_to(ROOT) else str(path)
