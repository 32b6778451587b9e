# The survey-to-report pipeline: raw export → ingest → clean → weight → estimate → charts → report.
# Every stage executes a thin papermill notebook (executed copies: notebooks/executed/) whose
# logic lives in the belmig package (src/belmig/). See README.md and docs/architecture.md.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

configfile: "config/config.yaml"


report: "report/captions/workflow.rst"


# Jobs use this checkout's code and paths, whichever virtualenv runs them (tests run copies).
ROOT = Path(workflow.basedir).resolve()
sys.path.insert(0, str(ROOT / "src"))
os.environ["BELMIG_ROOT"] = str(ROOT)
# Jobs call `python`: make it the interpreter that runs Snakemake, even if the venv is not activated.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
os.environ["NBFORMAT_VALIDATOR"] = "fastjsonschema"  # jsonschema's import alone takes seconds
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
from belmig.core.config import validate_config  # noqa: E402

# A misspelled or missing key is an error before any rule runs. (Same JSON Schema as
# snakemake.utils.validate, checked with fastjsonschema: importing jsonschema takes seconds.)
validate_config(config, "config/config.yaml + --config overrides")

include: "rules/common.smk"
include: "rules/audit.smk"
include: "rules/synthesize.smk"
include: "rules/ingest.smk"
include: "rules/clean.smk"
include: "rules/weight.smk"
include: "rules/estimate.smk"
include: "rules/charts.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "report/report.pdf",
        "report/report.html",
        "notebooks/executed/index.html",
        "data/release/datapackage.json",
