"""Integration: the DAG to the PDF on platform exports of the synthetic export (issue 13).

The corpus generator rewrites the default build's synthetic export as SurveyMonkey and Google
Forms exports; each runs with only ``--config raw_export=FILE`` and the stock codebook:

* SurveyMonkey: every ledger value (so every number in the report) equals the default build's;
* Google Forms (no start time): the speeder check is skipped, said on the console and in the
  PDF; every other cleaning step removes what it removes in the default build, and the
  speeders stay in;
* a broken export fails at ingest, and its message (not just "check log file(s)") is on the
  console.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import copy_repo, run_snakemake
from pypdf import PdfReader

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent


def _ledger(root: Path) -> dict[str, dict]:
    return {e["key"]: e for e in json.loads((root / "data/processed/ledger.json").read_text(encoding="utf-8"))}


def _pdf_text(path: Path) -> str:
    return " ".join("\n".join(p.extract_text() for p in PdfReader(path).pages).split())


@pytest.fixture(scope="module")
def corpus(built_repo, tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "platforms" / "make_corpus.py")
    mc = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_corpus", mc)
    spec.loader.exec_module(mc)
    out = tmp_path_factory.mktemp("corpus")
    export = built_repo / "data/raw/synthetic_export.csv"
    assert (
        mc.main(["--export", str(export), "--codebook", str(built_repo / "config/codebook.yaml"), "--out", str(out)])
        == 0
    )
    return out


@pytest.fixture(scope="module")
def platform_repo(corpus, tmp_path_factory) -> Path:
    root = copy_repo(tmp_path_factory.mktemp("platforms") / "repo")
    raw = root / "data/raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in ("surveymonkey.csv", "google_forms.csv", "broken/surveymonkey_renamed_option.csv"):
        shutil.copy2(corpus / name, raw / Path(name).name)
        # the corpus rewrites the synthetic reconstruction: say so, as synth's sidecar does
        (raw / (Path(name).name + ".meta.yaml")).write_text("synthetic: true\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def surveymonkey(platform_repo):
    proc = run_snakemake(platform_repo, "--config", "raw_export=data/raw/surveymonkey.csv")
    return proc, _ledger(platform_repo), _pdf_text(platform_repo / "report/report.pdf")


def test_surveymonkey_gives_the_default_builds_numbers(surveymonkey, built_repo):
    proc, ledger, pdf = surveymonkey
    default = _ledger(built_repo)
    assert set(ledger) == set(default)
    differ = [
        k for k in default if (ledger[k]["value"], ledger[k]["text"]) != (default[k]["value"], default[k]["text"])
    ]
    assert differ == []
    assert "ingest: surveymonkey.csv read as surveymonkey" in proc.stderr
    assert "read as a SurveyMonkey export" in pdf and "2 header rows" in pdf
    for key in ("flow.analysed", "pct.reasons_exit.political", "mean.security_lt"):
        assert default[key]["text"] in pdf


def test_google_forms_skips_the_speeder_check_and_says_so(surveymonkey, platform_repo, built_repo):
    proc = run_snakemake(platform_repo, "--config", "raw_export=data/raw/google_forms.csv")
    ledger, default = _ledger(platform_repo), _ledger(built_repo)
    assert "warning: the export has no start times" in proc.stderr
    speeders = default["flow.speeders"]["value"]
    assert speeders > 0 and ledger["flow.speeders"]["value"] == 0
    assert "skipped" in ledger["flow.speeders"]["description"]
    for step in ("received", "duplicates", "test_entries", "ineligible", "incomplete", "straightlining"):
        assert ledger[f"flow.{step}"]["value"] == default[f"flow.{step}"]["value"], step
    assert ledger["flow.analysed"]["value"] == default["flow.analysed"]["value"] + speeders
    pdf = _pdf_text(platform_repo / "report/report.pdf")
    assert "the speeder check was skipped" in pdf
    assert "skipped: no start times" in pdf  # the cleaning-flow table
    assert "ids were generated" in pdf


def test_a_failing_ingest_shows_its_message_on_the_console(surveymonkey, platform_repo):
    proc = run_snakemake(platform_repo, "--config", "raw_export=data/raw/surveymonkey_renamed_option.csv", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert "stage 02_ingest failed" in err
    assert "surveymonkey_renamed_option.csv" in err and "'Политика'" in err
    assert "matches none of its options" in err
