"""The rules' shell commands: every path and parameter is one inert shell word."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys

import pytest
from conftest import copy_repo, run_snakemake

# A raw export path a shell would run code from, if a rule spliced it into its command unquoted
# or inside double quotes: command substitution both ways, a single and a double quote, spaces.
EVIL = 'data/raw/it\'s a "test" $(touch pwned_dollar) `touch pwned_tick`.csv'


@pytest.fixture(scope="module")
def printed_commands(tmp_path_factory) -> list[str]:
    """The shell commands of a dry run with raw_export = EVIL (every rule of the DAG)."""
    root = copy_repo(tmp_path_factory.mktemp("rules") / "repo")
    (root / EVIL).parent.mkdir(parents=True, exist_ok=True)
    (root / EVIL).write_text("", encoding="utf-8")  # a dry run only needs the file to exist
    override = root / "evil.yaml"
    override.write_text(json.dumps({"raw_export": EVIL}), encoding="utf-8")  # JSON is YAML
    proc = run_snakemake(root, "-n", "--printshellcmds", "--configfile", str(override))
    out = proc.stdout + proc.stderr
    return [m.group(1) for m in re.finditer(r"^Shell command: (.*)$", out, re.M) if m.group(1) != "None"]


def test_dry_run_prints_every_rules_command(printed_commands):
    # the synthetic export is not needed when raw_export names another file: 10 stages, the two
    # chart jobs (English; the editions' languages), the stage notebooks' HTML jobs (01-06, one
    # each; the report's notebook writes its own in render_report), disclosure control's two
    # (protect_values, list_public_files), the appendix tables, one render_edition and one
    # check_parity per translated edition (lt, ru), `all` aside
    assert len(printed_commands) == 25
    words = [shlex.split(c) for c in printed_commands]
    assert {w[w.index("-m") + 1] for w in words} == {
        "belmig.core.nbrun", "belmig.charts", "belmig.cli", "belmig.release", "belmig.privacy",
        "belmig.report.editions", "belmig.report.build", "belmig.report.parity",
    }  # fmt: skip
    assert not [c for c in printed_commands if EVIL in c]  # never spliced in verbatim


def test_a_hostile_raw_export_path_is_inert(printed_commands, tmp_path):
    """Run each printed command with bash in an empty folder, $PYTHON a script that records its
    arguments: no command creates a file, and the path arrives as it was given."""
    record = tmp_path / "record_argv"
    record.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n", encoding="utf-8")
    record.chmod(record.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    (work / "logs").mkdir(parents=True)
    seen = []
    for cmd in printed_commands:
        subprocess.run(
            ["bash", "-c", f"set -euo pipefail; PYTHON={shlex.quote(str(record))}; {cmd}"],
            cwd=work,
            check=True,
            env={"PATH": os.environ["PATH"]},
        )
        words = shlex.split(cmd)
        log = words[words.index(">") + 1]  # "... > logs/<rule>.log 2>&1 [|| ...]"
        argv = json.loads((work / log).read_text(encoding="utf-8"))
        if "--params" in argv:
            params = json.loads(argv[argv.index("--params") + 1])
            seen += [v for k, v in params.items() if k == "raw_export"]
    assert sorted(p.name for p in work.iterdir()) == ["logs"], "a command ran code from a path"
    assert seen == [EVIL, EVIL]  # ingest_export and render_report got the path intact


# ---------------------------------------------------------------- a failing build, on the console
BROKEN = "tests/data/malformed/unknown_label.csv"  # data row 3 answers 'Мужчина' to the sex question
CONSOLE_LINES_MAX = 70  # measured: 65 (profiles/default: failed logs shown, no host banner or job table;
# the audit notebook's HTML job, which runs beside the failing stage, is announced too)


@pytest.mark.integration
def test_a_broken_export_fails_on_the_console_with_its_own_message(tmp_path):
    root = copy_repo(tmp_path / "repo")
    stale = root / "notebooks/executed/02_ingest.failed.ipynb"  # where older builds left failed copies
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", encoding="utf-8")
    proc = run_snakemake(root, "--config", f"raw_export={BROKEN}", check=False)
    console = proc.stdout + proc.stderr
    assert proc.returncode == 1
    log = (root / "logs/ingest_export.log").read_text(encoding="utf-8").strip().splitlines()
    # the stage's own message is the log's last line(s) and reaches the console on a line of its own
    assert re.fullmatch(
        r"stage 02_ingest failed in cell \d+ \(executed copy: logs/02_ingest\.failed\.ipynb\):", log[-2]
    )
    error = log[-1]
    assert error.startswith(f"IngestError: {BROKEN}") and "row 3" in error and "'Мужчина'" in error
    assert error in console.splitlines()
    assert "Traceback" not in console and "\x1b[" not in console
    assert len(console.splitlines()) <= CONSOLE_LINES_MAX, console
    # no output of the failed stage, and nothing failed among the public files
    assert (root / "logs/02_ingest.failed.ipynb").is_file()
    assert not list((root / "notebooks/executed").glob("*02_ingest*"))
    assert not (root / "data/processed/ingested.parquet").exists()
    assert not (root / "data/processed/values/ingest.json").exists()


def test_every_rule_whose_command_reads_the_config_declares_its_settings():
    """Planted fault (found in review): privacy.min_cell changed in config/config.yaml and the
    build said "Nothing to be done": the commands get the configuration on their command line,
    from a function parameter, which Snakemake does not compare. Each such rule declares the
    sections it reads as an input file (rules/common.smk settings()), whose content it compares."""
    import re

    from belmig.core import paths

    missing = []
    for smk in sorted((paths.ROOT / "rules").glob("*.smk")):
        text = smk.read_text(encoding="utf-8")
        for m in re.finditer(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", text, re.S | re.M):
            name, body = m.group(1), m.group(2)
            params = body.split("    params:", 1)[1] if "    params:" in body else ""
            if "config" in params.split("    shell:", 1)[0] and "settings=settings(" not in body:
                missing.append(f"{smk.name}: {name}")
    assert missing == []
