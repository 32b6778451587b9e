"""The report stage: check the text against the ledger, write generated tables, render.

``check`` fails the build (ReportCheckError) when the prose holds a number that is not a
ledger value, uses a key the ledger lacks, or states a claim whose guard no longer holds;
each problem names the line, the sentence, the condition and the values.
``build`` writes ``report/_generated/*.md`` (appendix tables from processed data),
``report/_variables.yml`` (for Quarto users), the value diff against the approved snapshot,
and renders PDF, HTML and DOCX with a provenance stamp.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from belmig.core import paths
from belmig.core.ledger import Entry
from belmig.report import render, valuediff

HEADLINE_KEYS = (
    "reasons_exit.political",
    "reasons_exit.economic",
    "reasons_lithuania.visa",
    "legal_status.residence_permit",
    "legal_status.humanitarian_visa",
    "income_regular.yes",
    "support_programs.no",
    "discrimination.no",
    "war_impact.negative",
    "support_needs.language",
    "health_used.yes",
    "diaspora_known.yes",
    "diaspora_involved.yes",
    "return_plans.yes",
)


class ReportCheckError(RuntimeError):
    pass


def numeric_values(entries: Mapping[str, Entry]) -> dict[str, float]:
    return {
        k: e.value for k, e in entries.items() if isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
    }


def check(qmd: Path, entries: Mapping[str, Entry], allowlist: Path, report_cfg: Mapping[str, Any]) -> list[str]:
    """Run the number lint and the claim guards; raise ReportCheckError listing every problem."""
    from belmig.report import checks

    text = qmd.read_text(encoding="utf-8")
    problems: list[str] = []
    problems += [str(p) for p in checks.missing_keys(text, set(entries))]
    if report_cfg["lint_numbers"]:
        allow = yaml.safe_load(allowlist.read_text(encoding="utf-8"))
        problems += [str(p) for p in checks.lint_numbers(text, allow)]
    if report_cfg["enforce_claims"]:
        problems += [str(p) for p in checks.check_claims(text, numeric_values(entries))]
    if problems:
        raise ReportCheckError(f"{paths.rel(qmd)}: {len(problems)} problem(s):\n" + "\n".join(problems))
    return problems


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "not a git checkout"


def provenance(raw_export: Path, cfg: Mapping[str, Any]) -> list[dict[str, str]]:
    """Commit and checksums of the inputs, printed on the cover and in the HTML."""
    cfg_bytes = json.dumps(cfg, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return [
        {"label": "repository commit", "value": git_commit(paths.ROOT)},
        {"label": "raw export sha256", "value": sha256(raw_export)},
        {"label": "lock file sha256", "value": sha256(paths.ROOT / "requirements.lock")},
        {"label": "configuration sha256", "value": hashlib.sha256(cfg_bytes).hexdigest()},
    ]


def write_generated_tables(out_dir: Path, entries: Mapping[str, Entry], used_keys: list[str], min_cell: int) -> None:
    """Appendix tables as Markdown, from the processed data (included by report.qmd)."""
    from belmig.core import codebook
    from belmig.report import tables

    p = paths.PROCESSED
    cb = codebook.load()
    summary = json.loads((p / "weighting_summary.json").read_text(encoding="utf-8"))
    est = pd.read_parquet(p / "estimates.parquet")
    generated = {
        "cleaning_flow.md": tables.cleaning_flow_md(pd.read_csv(p / "cleaning_flow.csv")),
        "weighting.md": tables.weighting_md(pd.read_csv(p / "weighting_diagnostics.csv"), summary, min_cell=min_cell),
        "audit.md": tables.audit_md(
            pd.read_csv(p / "audit_bases.csv", keep_default_na=False),
            pd.read_csv(p / "audit_groups.csv", keep_default_na=False),
            min_cell=min_cell,
        ),
        "reproduction.md": tables.reproduction_md(
            pd.read_csv(p / "reproduction.csv", dtype={"printed": str, "recomputed": str}, keep_default_na=False)
        ),
        "weighted_vs_unweighted.md": tables.weighted_vs_unweighted_md(est, cb, list(HEADLINE_KEYS), min_cell=min_cell),
        "values.md": tables.values_md(entries, used_keys, min_cell=min_cell),
        "data_source.md": tables.data_source_md(json.loads((p / "ingest_report.json").read_text(encoding="utf-8"))),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, md in generated.items():
        render._atomic_write(out_dir / name, md if md.endswith("\n") else md + "\n")


def build(
    qmd: Path,
    entries: Mapping[str, Entry],
    raw_export: Path,
    cfg: Mapping[str, Any],
    out_pdf: Path,
    out_html: Path,
    out_docx: Path | None,
) -> tuple[str, ...]:
    from belmig.report import checks

    text = qmd.read_text(encoding="utf-8")
    used = checks.used_keys(text)
    write_generated_tables(qmd.parent / "_generated", entries, used, cfg["privacy"]["min_cell"])
    render.write_quarto_variables(entries, qmd.parent / "_variables.yml")
    valuediff.write_diff(entries, paths.APPROVED_LEDGER, qmd, paths.PROCESSED / "ledger_diff.md")
    expanded = render.render(
        qmd, entries, out_pdf=out_pdf, out_html=out_html, out_docx=out_docx, provenance=provenance(raw_export, cfg)
    )
    return expanded.used_keys
