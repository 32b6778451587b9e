"""Integration: the three editions from one build (the session's DAG run in a temporary copy).

All six files exist; each PDF is in its language, with every embedded font, and prints the same
values as English in its own number format; editing one translation re-renders that edition
alone; the public manifest lists every edition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_snakemake

from belmig.report import locale

pytestmark = pytest.mark.integration

EDITIONS = {"en": "", "lt": ".lt", "ru": ".ru"}
# Values of the summary that every edition prints (the headline shares and the sample size).
KEYS = ("pct.reasons_exit.political", "pct.legal_status.residence_permit", "pct.income_regular.yes", "ext.respondents")


def _text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.replace("\xa0", " ").split())


def _ledger(root: Path) -> dict[str, dict]:
    return {e["key"]: e for e in json.loads((root / "data/processed/ledger.json").read_text(encoding="utf-8"))}


def test_all_six_files_are_built(built_repo):
    for sfx in EDITIONS.values():
        for ext in ("pdf", "html"):
            f = built_repo / f"report/report{sfx}.{ext}"
            assert f.is_file() and f.stat().st_size > 10_000, f


@pytest.mark.parametrize("lang", ["en", "lt", "ru"])
def test_each_pdf_prints_the_english_values_in_its_own_format(built_repo, lang):
    text = _text(built_repo / f"report/report{EDITIONS[lang]}.pdf")
    led = _ledger(built_repo)
    for key in KEYS:
        shown = " ".join(locale.localize_text(led[key]["text"], lang).replace("\xa0", " ").split())
        assert shown in text, (lang, key, shown)
    if lang == "lt":
        assert all(c in text for c in "ąčęėįšųūž")
        assert "Turinys" in text and "pav." in text
    if lang == "ru":
        assert sum("\u0400" <= c <= "\u04ff" for c in text) > 10_000
        assert "Содержание" in text


@pytest.mark.parametrize("lang", ["en", "lt", "ru"])
def test_every_font_is_embedded(built_repo, lang):
    if shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils (pdffonts) is not installed")
    out = subprocess.run(
        ["pdffonts", str(built_repo / f"report/report{EDITIONS[lang]}.pdf")], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert rows and all(r[-5] == "yes" for r in rows), out


def test_each_html_links_the_other_editions(built_repo):
    for lang, sfx in EDITIONS.items():
        html = (built_repo / f"report/report{sfx}.html").read_text(encoding="utf-8")
        others = [f'href="report{s}.html"' for lg, s in EDITIONS.items() if lg != lang]
        assert all(o in html for o in others), lang
        assert f'href="report{sfx}.html"' not in html


@pytest.mark.parametrize("lang", ["lt", "ru"])
def test_editing_one_translation_rerenders_that_edition_alone(built_repo, lang):
    qmd = built_repo / f"report/report.{lang}.qmd"
    original, st = qmd.read_text(encoding="utf-8"), qmd.stat()
    try:
        qmd.write_text(original + "\nRedaktoriaus sakinys.\n", encoding="utf-8")
        proc = run_snakemake(built_repo, "-n", "--quiet", "rules")
    finally:  # the session's build stays as it was (content and time)
        qmd.write_text(original, encoding="utf-8")
        os.utime(qmd, ns=(st.st_atime_ns, st.st_mtime_ns))
    jobs = proc.stdout
    assert "render_edition" in jobs
    for other in ("render_report", "protect_values", "merge_ledger", "draw_chart", "index_notebooks"):
        assert other not in jobs, jobs
    detail = run_snakemake(built_repo, "-n")  # nothing left to do after the restore
    assert "Nothing to be done" in detail.stdout + detail.stderr


def test_the_public_manifest_lists_every_edition(built_repo):
    manifest = json.loads((built_repo / "public_manifest.json").read_text(encoding="utf-8"))
    text = json.dumps(manifest)
    for sfx in EDITIONS.values():
        for ext in ("pdf", "html"):
            assert f"report/report{sfx}.{ext}" in text


def _dry_run_with(built_repo: Path, rel: str, edit) -> str:
    """The jobs a dry run schedules after `edit(text)` of one file; the file is put back after."""
    f = built_repo / rel
    original, st = f.read_text(encoding="utf-8"), f.stat()
    try:
        f.write_text(edit(original), encoding="utf-8")
        return run_snakemake(built_repo, "-n", "--quiet", "rules").stdout
    finally:
        f.write_text(original, encoding="utf-8")
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
        run_snakemake(built_repo, "-n")  # the parse puts report_keys.json back too


def test_rewording_english_does_not_rerun_the_disclosure_audit(built_repo):
    jobs = _dry_run_with(built_repo, "report/report.qmd", lambda t: t.replace("the survey", "the  survey", 1))
    assert "render_report" in jobs
    # nor the parity checks: what the editions must match (parity.en.json) is unchanged
    for other in ("protect_values", "merge_ledger", "draw_chart", "estimate_values", "check_parity"):
        assert other not in jobs, jobs


def test_moving_what_the_editions_must_match_checks_them_again(built_repo):
    """A paragraph added before English's claims moves their lines (the parity messages name
    them): both editions are checked again, and neither is re-rendered."""
    jobs = _dry_run_with(built_repo, "report/report.qmd", lambda t: t.replace("\n## ", "\nA new paragraph.\n\n## ", 1))
    assert "render_report" in jobs and "check_parity" in jobs
    assert "render_edition" not in jobs, jobs


def test_printing_a_new_value_reruns_the_disclosure_audit(built_repo):
    keys = json.loads((built_repo / "data/processed/report_keys.json").read_text(encoding="utf-8"))
    assert "pct.reasons_exit.political" in keys["printed"]
    jobs = _dry_run_with(built_repo, "report/report.qmd", lambda t: t + "\nAlso {{< var n.age >}} answered.\n")
    assert "protect_values" in jobs and "render_report" in jobs, jobs
