"""The report's editions and the files their checks read, in one place.

English is ``report/report.qmd``; every other edition is ``report/report.<lang>.qmd`` with its
own number allowlist (``number-allowlist.<lang>.yaml``). Guards (``claims.yaml``) and the
lexicon (``lexicon.yaml``) are shared. Language-specific strings live in those files and in
each edition's front matter, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from belmig.core import paths

LANGS = ("en", "ru", "lt")


@dataclass(frozen=True)
class EditionFiles:
    lang: str
    qmd: Path
    allowlist: Path

    @property
    def suffix(self) -> str:
        return "" if self.lang == "en" else f".{self.lang}"


def edition(lang: str, report_dir: Path | None = None) -> EditionFiles:
    d = report_dir or paths.REPORT
    if lang not in LANGS:
        raise ValueError(f"unknown edition {lang!r}: one of {', '.join(LANGS)}")
    sfx = "" if lang == "en" else f".{lang}"
    return EditionFiles(lang, d / f"report{sfx}.qmd", d / f"number-allowlist{sfx}.yaml")


def existing(report_dir: Path | None = None) -> list[EditionFiles]:
    return [e for e in (edition(lang, report_dir) for lang in LANGS) if e.qmd.exists()]


def guards_path(report_dir: Path | None = None) -> Path:
    return (report_dir or paths.REPORT) / "claims.yaml"


def lexicon_path(report_dir: Path | None = None) -> Path:
    return (report_dir or paths.REPORT) / "lexicon.yaml"
