"""Integration: the whole DAG on the synthetic export, in a temporary copy of the repository."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import chart_count, copy_repo, run_snakemake, sample_size
from pypdf import PdfReader

pytestmark = pytest.mark.integration

STAGES = ("01_audit", "02_ingest", "03_clean", "04_weight", "05_estimate", "06_charts", "07_report")


def ledger(root: Path) -> dict[str, dict]:
    return {e["key"]: e for e in json.loads((root / "data/processed/ledger.json").read_text(encoding="utf-8"))}


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_report_contains_computed_values(built_repo):
    text = pdf_text(built_repo / "report/report.pdf")
    values = ledger(built_repo)
    # numbers the pipeline computed from the raw export appear in the PDF's text
    for key in ("pct.reasons_exit.political", "mean.security_lt", "flow.analysed", "pct.income_regular.yes"):
        assert values[key]["text"] in text, f"{key} = {values[key]['text']} not found in the PDF"
    assert values["flow.analysed"]["value"] == sample_size()
    assert "synthetic" in text.lower()
    assert "??" not in text


def test_every_stage_leaves_an_executed_notebook(built_repo):
    exe = built_repo / "notebooks/executed"
    for stage in STAGES:
        nb = json.loads((exe / f"{stage}.ipynb").read_text(encoding="utf-8"))
        tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
        assert "injected-parameters" in tags, f"{stage}: no injected parameters cell"
        assert (exe / f"{stage}.html").stat().st_size > 10_000
    index = (exe / "index.html").read_text(encoding="utf-8")
    assert all(s in index for s in STAGES[:-1])


def test_html_report_is_self_contained(built_repo):
    html = (built_repo / "report/report.html").read_text(encoding="utf-8")
    assert html.count("data:image/svg+xml;base64") >= chart_count()  # the charts' SVG, not a PNG
    assert 'src="../figures' not in html


def test_second_run_does_nothing(built_repo):
    proc = run_snakemake(built_repo)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_text_edit_reruns_only_the_render_step(built_repo):
    qmd = built_repo / "report/report.qmd"
    qmd.write_text(qmd.read_text(encoding="utf-8") + "\nAn editor's added closing sentence.\n", encoding="utf-8")
    proc = run_snakemake(built_repo, "-n", "--quiet", "rules")
    assert "render_report" in proc.stdout
    for other in ("estimate_values", "draw_chart", "clean_responses", "merge_ledger"):
        assert other not in proc.stdout


def _checksums(root: Path) -> dict[str, str]:
    files = [
        *sorted((root / "data/processed").rglob("*")),
        *sorted((root / "figures").glob("chart*")),
        root / "report/report.pdf",
        root / "report/report.html",
        root / "report/report.docx",  # its creation date is the PDF's fixed one (SOURCE_DATE_EPOCH)
        *sorted((root / "report").glob("report.*.pdf")),
        *sorted((root / "report").glob("report.*.html")),
        *sorted((root / "data/release").glob("*")),
        *sorted((root / "notebooks/executed").glob("*.ipynb")),
    ]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def test_two_clean_builds_are_byte_identical(built_repo, tmp_path):
    other = copy_repo(tmp_path / "repo")
    run_snakemake(other)
    a, b = _checksums(built_repo), _checksums(other)
    differing = sorted(k for k in a if a[k] != b.get(k))
    assert set(a) == set(b)
    assert not differing, differing


def test_snakemake_report_bundles_every_chart_with_its_caption(built_repo, tmp_path):
    import zipfile

    out = tmp_path / "snakemake-report.zip"
    run_snakemake(built_repo, "--report", str(out))
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        html = next(z.read(n).decode("utf-8") for n in names if n.endswith("report.html"))
    assert sum(n.endswith(".svg") for n in names) == chart_count()
    assert "Chart 14. Need for support" in html and "synthetic reconstruction" in html


def test_every_value_link_reaches_its_notebook_cell(built_repo):
    import re

    html = (built_repo / "report/report.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="\.\./(notebooks/executed/[\w.]+\.html)#(cell-id=[\w-]+)"', html))
    assert len(links) >= 3  # values come from several stages
    for page, anchor in links:
        target = (built_repo / page).read_text(encoding="utf-8")
        assert f'id="{anchor}"' in target, f"{page}#{anchor} does not exist"
