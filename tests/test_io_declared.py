"""Every file a job opens comes through its rule (owid/etl fails a step on an undeclared dependency).

The DAG runs in a temporary copy with ``BELMIG_TRACE_IO`` set (belmig.core.iotrace); the files
each job read and wrote are compared with the inputs and outputs of its rule (tests/iocheck.py
says how). A planted undeclared read, write and an unread input must be caught.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import iocheck
import pytest
from conftest import BIN, copy_repo, dag_env, run_snakemake

# ------------------------------------------------------------------------------------ allowed
# Validated by the Snakefile itself on every run, before any job (common.smk loads the codebook,
# which validates it): an edit that rejects the codebook stops the whole build. The schema is
# compiled with use_default=False, so it changes no output.
PARSE_TIME = {"config/codebook.schema.yaml"}
# Written by the Snakefile itself when it parses, not by a job: the keys the English text uses
# (belmig.report.textkeys) and English's part of the parity checks (belmig.report.parity),
# rewritten only when they change; the jobs that read them declare them (and the settings files,
# SETTINGS below).
PARSE_TIME_WRITES = {"data/processed/report_keys.json", "data/processed/parity.en.json"}

# Inputs read by a subprocess from the document rather than from its command line: pandoc and
# typst open the chart files the report references. The trace sees the subprocess's command line
# only (files named there count as read).
# The renderer also reads each SVG the document references to inline it in the HTML
# (render.inline_chart_images): a declared input, named by the document, not the command.
SUBPROCESS_READS = {
    (job, kind, f"figures/chart{n:02d}{sfx}.{ext}")
    # the translated editions (rule render_edition, issue 18) read their own figures the same way
    for job, sfx in (("render_report", ""), ("render_edition[lang=lt]", ".lt"), ("render_edition[lang=ru]", ".ru"))
    for n in range(1, 99)
    for ext in ("svg", "png")
    for kind in ("unread input", "not from the command")
}


# The configuration a job's command gets on its command line, declared as an input so that an
# edit of config/config.yaml re-runs the job (rules/common.smk settings(), written when the
# Snakefile parses): the command does not open it.
SETTINGS = "data/processed/settings/"


def allowed(f: iocheck.Finding) -> bool:
    if f.kind in ("undeclared read", "not from the command") and f.path in PARSE_TIME:
        return True
    if f.kind == "unread input" and f.path.startswith(SETTINGS):
        return True
    return (f.job, f.kind, f.path) in SUBPROCESS_READS


def dry_run_jobs(root, *targets: str) -> list[iocheck.Job]:
    proc = run_snakemake(root, "-n", "--printshellcmds", "--forceall", *targets)
    return iocheck.parse_dry_run(proc.stdout + proc.stderr)


# ------------------------------------------------------------------------------------ the build
@pytest.fixture(scope="module")
def findings(traced_build):
    jobs = dry_run_jobs(traced_build.root)
    # every job of the DAG but `all`: 11 stages, disclosure control's two (protect_values,
    # list_public_files), (issue 17, speed) the two chart jobs (English; the editions' languages), the
    # six stage notebooks' HTML jobs (render_report writes its own notebook's) and the appendix
    # tables, and one render_edition and one check_parity per translated edition (lt, ru)
    assert len(jobs) == 22 + 4
    found, seen = iocheck.check_jobs(jobs, iocheck.read_traces(traced_build.trace), traced_build.root)
    return jobs, found, seen


@pytest.mark.integration
def test_every_job_opens_only_its_declared_files(findings):
    jobs, found, seen = findings
    assert len(seen) == len(jobs)
    unexpected = [str(f) for f in found if not allowed(f)]
    assert not unexpected, "\n".join(unexpected)


@pytest.mark.integration
def test_the_trace_saw_the_stages_read_their_data(findings):
    """The check is only as good as the trace: the Parquet files (opened in C by pyarrow) and the
    notebook kernels' reads must be in it."""
    _, _, seen = findings
    assert "data/processed/responses.parquet" in seen["rake_weights"].reads  # read in the kernel, by pyarrow
    assert "data/processed/weights.parquet" in seen["rake_weights"].writes
    assert "data/published/statements.csv" in seen["estimate_values"].reads
    assert "figures/chart07.png" in seen["draw_charts"].writes  # issue 17: one chart job per role
    assert "figures/chart07.ru.svg" in seen["draw_edition_charts"].writes
    assert not any(f.endswith(".png") for f in seen["draw_edition_charts"].writes)  # the DOCX's alone
    assert {"data/release/microdata.sav", "data/release/microdata.dta"} <= seen["export_microdata"].writes


@pytest.mark.integration
def test_every_allowed_exception_is_still_needed(findings):
    """An allow-list entry that matches nothing is stale: remove it. (The report stage's and the
    methods' exceptions of issue 12 are gone: the report reads and writes through its rule,
    directory() and update() outputs are parsed as such, and every stage writes atomically.)"""
    _, found, _ = findings
    hit = {(f.job, f.kind, f.path) for f in found}
    assert {p for p in PARSE_TIME if any(f.path == p for f in found)} == PARSE_TIME
    # pandoc and typst open the chart files the document references: some of them must be seen so
    assert any(e in hit for e in SUBPROCESS_READS), "SUBPROCESS_READS matches nothing: remove it"


@pytest.mark.integration
def test_the_build_leaves_only_declared_outputs(traced_build, findings):
    """Files the build created or changed, whoever wrote them (a subprocess too), are declared
    outputs; the rest is Snakemake's (.snakemake/, logs/)."""
    jobs, _, _ = findings
    declared = {o for j in jobs for o in iocheck.output_files(j, traced_build.root)}
    changed = iocheck.changed_files(traced_build.before, traced_build.after)
    assert changed >= {"report/report.pdf", "data/processed/ledger.json"}
    assert "data/processed/report_keys.json" in changed  # the Snakefile's own, when it parses
    parse_time = PARSE_TIME_WRITES | {f for f in changed if f.startswith(SETTINGS)}
    assert not changed - declared - parse_time, sorted(changed - declared - parse_time)


# ------------------------------------------------------------------------------------ planted faults
PLANTED_CELL = textwrap.dedent(
    """\
    # PLANTED: an undeclared read (pandas, Python open) and an undeclared write (Parquet, written in C)
    pd.read_csv("data/published/assumed.csv")
    ingested.head(1).to_parquet("data/processed/planted.parquet")
    """
)


@pytest.mark.integration
def test_planted_undeclared_read_write_and_unread_input_are_caught(tmp_path):
    root = copy_repo(tmp_path / "repo")
    nb_path = root / "notebooks/02_ingest.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "planted",
            "metadata": {},
            "outputs": [],
            "source": PLANTED_CELL,
        }
    )
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    rules = root / "rules/ingest.smk"
    text = rules.read_text(encoding="utf-8")
    assert text.count("        codebook=CODEBOOK,\n") == 1
    rules.write_text(
        text.replace(
            "        codebook=CODEBOOK,\n",
            '        codebook=CODEBOOK,\n        unused="data/published/statements.csv",\n',
        ),
        encoding="utf-8",
    )
    run_snakemake(root, "ingest_export", trace=tmp_path / "trace")
    jobs = dry_run_jobs(root, "ingest_export")
    assert [j.rule for j in jobs] == ["audit_published", "synthesize_export", "ingest_export"]
    found, _ = iocheck.check_jobs(jobs, iocheck.read_traces(tmp_path / "trace"), root)
    assert sorted(str(f) for f in found if not allowed(f)) == [
        "ingest_export: not from the command data/published/assumed.csv",
        "ingest_export: undeclared read data/published/assumed.csv",
        "ingest_export: undeclared write data/processed/planted.parquet",
        "ingest_export: unread input data/published/statements.csv",
    ]


# ------------------------------------------------------------------------------------ the parser
DRY_RUN = textwrap.dedent(
    """\
    [Wed Dec  2 07:33:26 2026]
    rule render_report:
        input: report/report.qmd, data/processed/public_values.json
        output: report/report.pdf (update), report/_generated, data/processed/ledger_diff.md
        log: logs/render_report.log
        jobid: 1
        reason: Forced execution
        resources: tmpdir=/tmp
    Shell command: "$PYTHON" -m belmig.report x > logs/render_report.log 2>&1
    """
)


def test_the_dry_run_parser_drops_snakemake_annotations():
    """update() outputs print as "path (update)": the path is the file, the annotation a flag."""
    (job,) = iocheck.parse_dry_run(DRY_RUN)
    assert job.outputs == ["report/report.pdf", "report/_generated", "data/processed/ledger_diff.md"]
    assert job.flags == {"report/report.pdf": "update"}
    assert job.inputs == ["report/report.qmd", "data/processed/public_values.json"]


def test_a_directory_output_stands_for_the_files_in_it(tmp_path):
    (job,) = iocheck.parse_dry_run(DRY_RUN)
    (tmp_path / "report/_generated/sub").mkdir(parents=True)
    for f in (
        "report/_generated/levels.md",
        "report/_generated/sub/frame.md",
        "report/_generated/.snakemake_timestamp",
    ):
        (tmp_path / f).write_text("", encoding="utf-8")
    assert iocheck.output_files(job, tmp_path) == {
        "report/report.pdf",
        "data/processed/ledger_diff.md",
        "report/_generated/levels.md",
        "report/_generated/sub/frame.md",
        "report/_generated/.snakemake_timestamp",
    }
    # a file written next to the folder, not in it, is still undeclared
    (tmp_path / "report/x.md").write_text("", encoding="utf-8")
    records = [{"ev": "start", "argv": ["python", *job.argv()]}]
    records += [{"ev": "write", "path": str(tmp_path / p)} for p in ("report/_generated/levels.md", "report/x.md")]
    found, _ = iocheck.check_jobs([job], {"j": [(True, records)]}, tmp_path)
    assert [str(f) for f in found if f.kind == "undeclared write"] == ["render_report: undeclared write report/x.md"]


# ------------------------------------------------------------------------------------ the tracer
TRACED_SCRIPT = textwrap.dedent(
    """\
    import os, subprocess, sys
    import belmig  # starts the trace
    import pandas as pd, pyarrow as pa, pyarrow.csv as pacsv, pyreadstat
    from belmig.core import atomic
    d = sys.argv[1]
    open(f"{d}/in.txt").read()
    atomic.write_text(f"{d}/out.txt", "x")
    df = pd.DataFrame({"x": [1, 2]})
    df.to_parquet(f"{d}/t.parquet"); pd.read_parquet(f"{d}/t.parquet")
    pacsv.write_csv(pa.table({"x": [1]}), f"{d}/t.csv"); pacsv.read_csv(f"{d}/t.csv")
    pyreadstat.write_sav(df, f"{d}/t.sav"); pyreadstat.read_sav(f"{d}/t.sav")
    subprocess.run([sys.executable, "-c", f"open({d!r} + '/child.txt', 'w').close()"], check=True)
    """
)


def test_the_tracer_sees_python_c_and_child_process_file_access(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    (d / "in.txt").write_text("in", encoding="utf-8")
    env = dag_env(tmp_path, tmp_path / "trace")
    subprocess.run([str(BIN / "python"), "-c", TRACED_SCRIPT, str(d)], check=True, env=env, cwd=tmp_path)
    traces = iocheck.read_traces(tmp_path / "trace")
    assert len(traces) == 1  # one job: the script and its child
    (procs,) = traces.values()
    assert sorted(is_root for is_root, _ in procs) == [False, True]
    acc = iocheck.access(procs, tmp_path)
    assert acc.reads == {"work/in.txt"}  # its own outputs read back are not inputs
    assert acc.writes == {f"work/{n}" for n in ("out.txt", "t.parquet", "t.csv", "t.sav", "child.txt")}
    assert acc.in_place == acc.writes - {"work/out.txt"}  # atomic.write_text renames into place
    assert acc.argv[1:3] == ["-c", TRACED_SCRIPT]


def test_the_snakemake_process_is_not_traced(tmp_path):
    env = dag_env(tmp_path, tmp_path / "trace")
    code = f"import snakemake.api, belmig; open({str(tmp_path / 'x')!r}).read()"
    (tmp_path / "x").write_text("", encoding="utf-8")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert not (tmp_path / "trace").exists()


@pytest.mark.integration
def test_every_output_has_the_mode_open_gives(traced_build, findings):
    """Every declared output has one mode (0644 under umask 022): belmig.core.atomic's, which is
    what open() gives; tempfile's 0600 would make some outputs unreadable to others."""
    jobs, _, _ = findings
    mask = os.umask(0)
    os.umask(mask)
    modes = {
        o: (traced_build.root / o).stat().st_mode & 0o777
        for j in jobs
        for o in iocheck.output_files(j, traced_build.root)
    }
    assert len(modes) > 100
    assert {o: oct(m) for o, m in modes.items() if m != 0o666 & ~mask} == {}


@pytest.mark.integration
def test_no_machine_path_in_the_executed_notebooks(traced_build):
    """The executed notebooks and their HTML (public) name no folder of the machine that built them."""
    machine = [str(traced_build.root), str(traced_build.root.parent), sys.prefix, str(Path.home())]
    pages = sorted((traced_build.root / "notebooks/executed").iterdir())
    assert len(pages) >= 15
    leaks = {p.name: m for p in pages for m in machine if m in p.read_text(encoding="utf-8")}
    assert not leaks
