# Shared constants and the helper that builds a notebook stage's command line.
import json

CHARTS = [f"{n:02d}" for n in range(1, 19)]
NB = "notebooks"
EXE = "notebooks/executed"
PROC = "data/processed"
VALUES = f"{PROC}/values"
CODEBOOK = "config/codebook.yaml"


def nb_cmd(stage, params):
    """Shell command that executes notebooks/<stage>.ipynb with the given parameters."""
    return (
        f"python -m belmig.core.nbrun {NB}/{stage}.ipynb {EXE}/{stage}.ipynb {EXE}/{stage}.html "
        f"--params {json.dumps(json.dumps(params))}"
    )
