"""belmig: the survey-to-report pipeline for the 2022 study of Belarusian migration to Lithuania."""

import os as _os

__version__ = "0.1.0"

# Opt-in file-access trace for the declared-inputs test (belmig.core.iotrace); off by default.
if _os.environ.get("BELMIG_TRACE_IO"):
    from belmig.core import iotrace as _iotrace

    _iotrace.install()
