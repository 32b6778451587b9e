"""belmig: the survey-to-report pipeline for the 2022 study of Belarusian migration to Lithuania."""

import os as _os
import sys as _sys
from pathlib import Path as _Path

__version__ = "0.1.0"

# Python writes no bytecode on these machines: the project's compiled modules are kept by content
# in .snakemake/belmig/pycache instead (belmig.core.bytecode), so a job does not compile them again.
if _sys.dont_write_bytecode:
    from belmig.core import bytecode as _bytecode

    _bytecode.install(_Path(__file__).parent)

# Opt-in file-access trace for the declared-inputs test (belmig.core.iotrace); off by default.
if _os.environ.get("BELMIG_TRACE_IO"):
    from belmig.core import iotrace as _iotrace

    _iotrace.install()
