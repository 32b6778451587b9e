"""The report's checks run beside its render (render.while_checking, render.render(gate=...)): a text
that fails a check still replaces no output, and the check's error is the one reported."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from test_editions import DOCS, LEDGER, mini_root  # noqa: F401  (the fixture)

from belmig.core import paths
from belmig.report import build, editions, render


def failing_checks() -> None:
    raise build.ReportCheckError("report/report.qmd:3: claim [most] is no longer supported")


@pytest.mark.parametrize("in_thread", [False, True])
def test_the_checks_and_the_render_run_at_the_same_time(tmp_path, in_thread):
    """A forked process when the caller has no other thread (a build's job), else a thread."""
    started = tmp_path / "checks started"
    seen = []
    other = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
    if in_thread:
        other.start()  # a second thread: no fork

    def checks():
        started.write_text(str(os.getpid()))

    def render_fn(gate):
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # sequential checks-then-render would never see the file here
        seen.append(started.exists())
        gate()
        return "rendered"

    assert render.while_checking(checks, render_fn) == "rendered"
    assert seen == [True]
    assert (int(started.read_text()) == os.getpid()) == in_thread  # a child's pid when forked


def test_a_check_s_failure_comes_back_from_the_checks_process_with_its_type_and_text():
    def broken():
        return {}["missing key"]

    with pytest.raises(KeyError, match="missing key"):
        render.while_checking(broken, lambda gate: gate())
    with pytest.raises(build.ReportCheckError, match="no longer supported"):
        render.while_checking(failing_checks, lambda gate: gate())


def test_a_failed_check_stops_the_render_at_the_gate():
    replaced = []

    def render_fn(gate):
        gate()
        replaced.append(True)  # what render.render does after the gate: replace the outputs

    with pytest.raises(build.ReportCheckError, match="no longer supported"):
        render.while_checking(failing_checks, render_fn)
    assert replaced == []


def test_a_failed_check_is_reported_before_a_failed_render():
    def render_fn(gate):
        raise render.RenderError("typst could not compile report/_build/report.typ")

    with pytest.raises(build.ReportCheckError, match="no longer supported"):
        render.while_checking(failing_checks, render_fn)
    with pytest.raises(render.RenderError, match="typst"):
        render.while_checking(lambda: None, render_fn)


def test_render_replaces_nothing_when_the_gate_raises(mini_root):  # noqa: F811
    """A real render (HTML) with a failing gate: the last good HTML stays, no temporary is left."""
    (mini_root / "report" / "report.qmd").write_text("---\nlang: en-GB\n---\n", encoding="utf-8")
    qmd = mini_root / "report" / "report.lt.qmd"
    qmd.write_text(DOCS["lt"], encoding="utf-8")
    out = editions.outputs("lt", mini_root / "report")
    out["html"].write_text("the last good page", encoding="utf-8")
    with pytest.raises(build.ReportCheckError):
        render.render(
            qmd,
            LEDGER,
            out_pdf=None,
            out_html=out["html"],
            provenance=[{"label": "repository commit", "value": "abc"}],
            figures_dir=mini_root / "figures",
            gate=failing_checks,
        )
    assert out["html"].read_text(encoding="utf-8") == "the last good page"
    assert not list(out["html"].parent.glob(".*.rendering"))
    render.render(  # the same render with a passing gate replaces it
        qmd,
        LEDGER,
        out_pdf=None,
        out_html=out["html"],
        provenance=[{"label": "repository commit", "value": "abc"}],
        figures_dir=mini_root / "figures",
        gate=lambda: None,
    )
    assert "<html" in out["html"].read_text(encoding="utf-8")


@pytest.mark.skipif(not paths.LEDGER.exists(), reason="needs a built ledger (make report)")
def test_tables_made_for_another_text_stop_the_build_and_write_nothing(tmp_path):
    """Planted fault: report_keys.json lists other keys than the text uses (the appendix tables
    were made for another text). The comparison runs beside the render, with the other checks:
    the build fails naming the file, and writes no PDF, HTML, DOCX or value diff."""
    import json
    import shutil
    import tempfile

    import yaml

    keys = tmp_path / "report_keys.json"
    keys.write_text(json.dumps({"used": ["pct.not.this"], "printed": ["pct.not.this"]}), encoding="utf-8")
    out = {ext: tmp_path / f"report.{ext}" for ext in ("pdf", "html", "docx")}
    report = paths.ROOT / "report"
    build_dir = Path(tempfile.mkdtemp(prefix="test-build-", dir=paths.ROOT / ".snakemake"))  # Typst: inside the root
    cfg = {"report": yaml.safe_load((paths.ROOT / "config/config.yaml").read_text(encoding="utf-8"))["report"]}
    try:
        _build_with(keys, out, report, build_dir, cfg, tmp_path)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    assert not [p for p in out.values() if p.exists()] and not (tmp_path / "ledger_diff.md").exists()


def _build_with(keys, out, report, build_dir, cfg, tmp_path):
    from belmig.core import ledger

    with pytest.raises(build.ReportCheckError, match="lists other keys than report.qmd uses"):
        build.build(
            report / "report.qmd",
            ledger.load(paths.LEDGER),
            paths.ROOT / "data/raw/synthetic_export.csv",
            cfg,
            out["pdf"],
            out["html"],
            out["docx"],
            codebook_path=paths.ROOT / "config/codebook.yaml",
            guards_path=report / "claims.yaml",
            lexicon_path=report / "lexicon.yaml",
            allowlist=report / "number-allowlist.yaml",
            approved=paths.ROOT / "data/approved/ledger.json",
            out_diff=tmp_path / "ledger_diff.md",
            generated_dir=report / "_generated",
            text_keys=keys,
            out_build=build_dir,
            stylesheet=report / "style.css",
        )
