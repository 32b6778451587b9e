# The survey-to-report pipeline: raw export → ingest → clean → weight → estimate → charts → report.
# Every stage executes a thin papermill notebook (executed copies: notebooks/executed/) whose
# logic lives in the belmig package (src/belmig/). See README.md and docs/architecture.md.
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/captions/workflow.rst"


# This checkout's code, for this file and for every job. The tests run the DAG in temporary
# copies of the repository with the virtualenv of the original checkout, whose belmig.pth points
# at the original's src/: the copy's src/ must come first.
SRC = Path(workflow.basedir).resolve() / "src"
sys.path.insert(0, str(SRC))
# Jobs run "$PYTHON": the interpreter that runs Snakemake (whether or not its virtualenv is
# activated), with this checkout's src/ on PYTHONPATH, through belmig.core.forkserver's client
# (a warm server that has imported numpy, matplotlib… forks each job; BELMIG_FORKSERVER=0 or any
# failure: the interpreter itself). $PYTHON is one executable, .snakemake/belmig/python, written
# here when it changes. nbformat validates notebooks with fastjsonschema: importing jsonschema
# alone takes seconds.
FORKCLIENT = Path(".snakemake/belmig/python").resolve()
_client = (
    f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -SI {shlex.quote(str(SRC / "belmig/core/forkserver.py"))} "$@"\n'
)
if not FORKCLIENT.exists() or FORKCLIENT.read_text() != _client:
    FORKCLIENT.parent.mkdir(parents=True, exist_ok=True)
    _tmp = FORKCLIENT.with_name(f"python.{os.getpid()}.tmp")
    _tmp.write_text(_client)
    _tmp.chmod(0o755)
    _tmp.replace(FORKCLIENT)
JOB_ENV = {"NBFORMAT_VALIDATOR": "fastjsonschema"}
shell.prefix(
    "set -euo pipefail; "
    f"export PYTHONPATH={shlex.quote(str(SRC))} " + " ".join(f"{k}={shlex.quote(v)}" for k, v in JOB_ENV.items()) + "; "
    f"PYTHON={shlex.quote(str(FORKCLIENT))}; "
)
# Start the jobs' server now, in the background, so that its imports overlap Snakemake's start
# and DAG (a cold build's first job waited ~3 s for them). A job's environment is this one, the
# exports above and the thread counts Snakemake's shell() sets to the job's threads (1 here:
# no rule asks for more); any other environment only means the first job starts its own.
if not workflow.dryrun:
    from belmig.core import forkserver

    forkserver.start(
        {
            **os.environ,
            **JOB_ENV,
            **dict.fromkeys(
                (
                    "OMP_NUM_THREADS",
                    "GOTO_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS",
                ),
                "1",
            ),
        }
    )

from belmig.core import parsecache, scheduler

# Snakemake's scheduler waits a second for its own timer before it exits, the interpreter
# collects the whole heap's garbage as it exits, 0.3-0.5 s, and a finished job's metadata hashed
# every input once per output (belmig.core.scheduler). The rule files below are translated to
# Python again only when they change (belmig.core.parsecache).
scheduler.daemon_reevaluation()
scheduler.no_final_collection()
scheduler.one_checksum_per_input()
parsecache.included_snakefiles()

# What the parse-time checks depend on besides the data: the code that validates.
PARSE_CODE = [SRC / "belmig" / "core" / f"{m}.py" for m in ("config", "schema", "codebook", "keys", "paths")]


# A misspelled or missing key is an error before any rule runs. (Same JSON Schema as
# snakemake.utils.validate, checked with fastjsonschema: importing jsonschema takes seconds.)
# Checked again whenever the configuration, its overrides, the schema or that code change;
# otherwise the last verdict is reused (belmig.core.parsecache: a no-op skips the imports).
parsecache.cached(
    "config",
    ["config/config.schema.yaml", *PARSE_CODE],
    lambda: parsecache.check_config(config, "config/config.yaml + --config overrides"),
    extra=json.dumps(config, sort_keys=True, default=str),
)


include: "rules/common.smk"
include: "rules/audit.smk"
include: "rules/synthesize.smk"
include: "rules/ingest.smk"
include: "rules/clean.smk"
include: "rules/weight.smk"
include: "rules/estimate.smk"
include: "rules/charts.smk"
include: "rules/notebooks.smk"
include: "rules/release.smk"
include: "rules/publish.smk"
include: "rules/report.smk"
include: "rules/manifest.smk"


rule all:
    default_target: True
    input:
        rules.render_report.output.pdf,
        rules.render_report.output.html,
        expand(rules.render_edition.output.pdf, lang=EDITIONS),
        expand(rules.render_edition.output.html, lang=EDITIONS),
        expand(rules.check_parity.output.record, lang=EDITIONS),
        rules.index_notebooks.output.index,
        rules.export_microdata.output.datapackage,
        rules.list_public_files.output.manifest,
