# Shared paths (from belmig.core.paths, relative to the root the Snakefile runs from), the chart
# list (from the codebook) and the helpers that build a job's command line.
#
# Commands are built as argument lists and joined with shlex.join: a path or a parameter is one
# shell word whatever it contains (spaces, quotes, "$(...)", backticks), never shell code. Every
# rule's shell is '"$PYTHON" {params.cmd} > {log:q} 2>&1' ($PYTHON: see the Snakefile).
import json
import shlex
from pathlib import Path

from belmig.core import paths

NB = paths.rel(paths.NOTEBOOKS)
EXE = paths.rel(paths.EXECUTED)
PROC = paths.rel(paths.PROCESSED)
# the keys the report prints (written at parse time by rules/publish.smk; read by the release and the audit)
REPORT_KEYS = f"{PROC}/report_keys.json"
VALUES = paths.rel(paths.VALUES)
CODEBOOK = paths.rel(paths.CODEBOOK)
FIGURES = paths.rel(paths.FIGURES)
PUBLISHED_FIGURES = paths.rel(paths.PUBLISHED_FIGURES)
ASSUMED_FIGURES = paths.rel(paths.ASSUMED_FIGURES)
PUBLISHED_STATEMENTS = paths.rel(paths.PUBLISHED_STATEMENTS)


# The charts of the report, as the codebook lists them: {"01": "title", ...}
# (The codebook is validated when it is loaded; the list is kept while the codebook, its schema and
# the code that reads it are unchanged: belmig.core.parsecache.)
def _chart_titles():
    from belmig.core import codebook as codebook_mod

    return {f"{c.number:02d}": c.title_en for c in codebook_mod.load(paths.CODEBOOK).charts}


CHART_TITLES = parsecache.cached("charts", [CODEBOOK, paths.rel(paths.CODEBOOK_SCHEMA), *PARSE_CODE], _chart_titles)
CHARTS = list(CHART_TITLES)


def export_sidecar(export):
    """The export's provenance sidecar ``<export>.meta.yaml`` as a list: ingestion reads it when it
    exists (belmig.ingest.read). The synthetic export always has one (synthesize_export writes it)."""
    side = f"{export}.meta.yaml"
    return [side] if export == paths.rel(paths.SYNTHETIC_EXPORT) or Path(side).exists() else []


def margin_sidecars(margins):
    """The provenance sidecar ``<name>.meta.yaml`` of each margin file (belmig.weight reads them)."""
    return [str(Path(m).with_suffix(".meta.yaml")) for m in margins]


def settings(name, *sections):
    """The configuration sections a rule's command reads, as an input file written when the
    Snakefile parses and only when they changed (``data/processed/settings/<name>.json``).
    Snakemake re-runs a job when an input's content changed; the command gets the same values
    on its command line, which Snakemake does not compare (a function parameter), so without
    this an edit of config/config.yaml (privacy.min_cell, say) re-ran nothing. A plain parameter
    would do it too, at 0.4 s of every run: Snakemake imports pandas to hash one."""
    from belmig.core import atomic

    path = Path(PROC) / "settings" / f"{name}.json"
    text = json.dumps({s: config[s] for s in sections}, sort_keys=True, ensure_ascii=False, indent=1) + "\n"
    atomic.write_text_if_changed(path, text)
    return str(path)


def py_cmd(module, *args):
    """`-m <module> <args>` for "$PYTHON", every argument one shell word."""
    return shlex.join(["-m", module, *map(str, args)])


def nb_cmd(stage, params, html=None):
    """Command that executes notebooks/<stage>.ipynb with the given parameters (belmig.core.nbrun).
    The stages' HTML for reviewers is rendered by a job off the critical path (rules/notebooks.smk);
    `html`: the job writes it itself, after the notebook (rule render_report)."""
    return py_cmd(
        "belmig.core.nbrun",
        f"{NB}/{stage}.ipynb",
        f"{EXE}/{stage}.ipynb",
        *([html] if html is not None else []),
        "--params",
        json.dumps(params),
    )


def package_code(package, skip=()):
    """The modules of src/belmig/<package>/ (subpackages too) but `skip` (modules the stage does
    not import: the declared-inputs test checks that every input is read): a stage's code is an
    input of its rule, so that editing it re-runs the stage (Snakemake compares checksums)."""
    root = Path(f"src/belmig/{package}")
    return sorted(str(p) for p in root.rglob("*.py") if p.stem not in ("__main__", *skip))


# Code every chart uses (rules/charts.smk); each chart's own spec (specs/chartNN.py) is an input too.
CHART_CODE = [
    f"src/belmig/charts/{m}.py"
    for m in ("__init__", "__main__", "base", "build", "cli", "protect", "strings", "theme", "specs/__init__")
]
# The chart languages: charts.language's figures are figures/chartNN.svg …; each further language
# in charts.languages gets figures/chartNN.<lang>.svg ….
CHART_LANGS = list(dict.fromkeys([config["charts"]["language"], *config["charts"]["languages"]]))


def chart_files(ext, langs=CHART_LANGS[:1]):
    """figures/chartNN[.lang].<ext> of every chart, in chart order (per language)."""
    suffix = {lang: "" if lang == CHART_LANGS[0] else f".{lang}" for lang in CHART_LANGS}
    return [f"{FIGURES}/chart{n}{suffix[lang]}.{ext}" for lang in langs for n in CHARTS]


# The thread counts Snakemake's shell() exports for a one-core job, for a job declared with no core
# (threads: 0) whose command should run as a one-core job's does (the same job server, whose key
# holds them: belmig.core.forkserver.KEY_ENV_PREFIXES).
ONE_THREAD = (
    "export OMP_NUM_THREADS=1 GOTO_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1"
    " VECLIB_MAXIMUM_THREADS=1 NUMEXPR_NUM_THREADS=1;"
)


def chart_processes():
    """How many processes draw the English charts: two when the build has two cores or more.
    The job holds one core, as Snakemake counts; the jobs beside it are niced, so the second
    process takes what they would (the report waits for these charts, not for theirs)."""
    try:
        return min(2, workflow.cores)
    except WorkflowError:  # no --cores (a dry run)
        return 1


def chart_cmd(input, state, draw, jobs=1):
    """The chart job's command: every chart of the report, in the languages `draw` (of
    CHART_LANGS), drawn by `jobs` processes (chart_processes())."""
    return py_cmd(
        "belmig.charts",
        "--jobs",
        jobs,
        "--chart",
        *CHARTS,
        "--estimates",
        input.estimates,
        "--lang",
        *CHART_LANGS,
        "--draw",
        *draw,
        "--ci-whiskers",
        int(config["charts"]["ci_whiskers"]),
        "--dpi",
        config["charts"]["png_dpi"],
        "--min-cell",
        config["privacy"]["min_cell"],
        "--out-dir",
        FIGURES,
        "--codebook",
        input.codebook,
        "--state",
        state,
    )


def parity_english():
    """The text of English's record for the parity checks (rules/report.smk PARITY_ENGLISH),
    imported only when the text or that code changed (belmig.core.parsecache keeps it otherwise)."""
    from belmig.report import parity

    return parity.record_text(Path("report/report.qmd"))
