"""The editor's loop on a built copy (issue 15): `make preview` writes what `make report` wrote, and
a failing build names the problem on the console and keeps the last good report."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, REPO, dag_env, run_snakemake

pytestmark = pytest.mark.integration

OUTPUTS = ("report/report.pdf", "report/report.html")


def digests(root: Path, files=OUTPUTS) -> dict[str, str]:
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}


@pytest.fixture
def built_copy(built_repo, tmp_path) -> Path:
    """A copy of the built repository (files, mtimes and Snakemake's metadata), so edits and
    re-renders here leave the shared build alone."""
    dest = tmp_path / "repo"
    shutil.copytree(built_repo, dest, symlinks=True)
    for qmd in REPO.glob("report/*.qmd"):  # what was built (test_pipeline appends to the shared copy's text)
        shutil.copy2(qmd, dest / qmd.relative_to(REPO))
    return dest


def test_preview_writes_byte_identical_html_and_pdf(built_copy):
    """`python -m belmig.report preview --once` re-renders report.html and report.pdf from the last
    build's ledger, disclosure decisions, tables and figures: the files are the build's, byte for byte
    (withheld values marked, the same provenance stamp)."""
    built = digests(built_copy)
    for f in OUTPUTS:
        (built_copy / f).unlink()  # the preview must write them again, not leave the build's
    proc = subprocess.run(
        [str(BIN / "python"), "-m", "belmig.report", "preview", "--once"],
        cwd=built_copy,
        env=dag_env(built_copy),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert digests(built_copy) == built


PLANTED = ("  when: pct.reasons_exit.political > 75\n", "  when: pct.reasons_exit.political > 99\n")


def test_a_false_claim_fails_the_build_on_the_console_and_keeps_the_last_good_report(built_copy):
    """A planted false claim: the build fails, the console (not only logs/render_report.log) shows
    the line, the guarded words, the condition and the value, says the last good files were kept,
    and report.pdf and report.html are the previous build's."""
    before = digests(built_copy)
    claims = built_copy / "report/claims.yaml"
    text = claims.read_text(encoding="utf-8")
    assert text.count(PLANTED[0]) == 1
    claims.write_text(text.replace(*PLANTED), encoding="utf-8")
    proc = run_snakemake(built_copy, check=False)
    console = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "claim [The great majority] is no longer supported by the data" in console, console[-4000:]
    assert "report/report.qmd:" in console
    assert "condition: pct.reasons_exit.political > 99" in console
    assert "values:    pct.reasons_exit.political = " in console
    assert "the last good report/report.pdf, report/report.html, report/report.docx were kept" in console
    assert digests(built_copy) == before
