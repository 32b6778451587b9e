"""The released microdata (k-anonymous, no free text): CSV, Parquet, SPSS, Stata and datapackage.json."""

from belmig.release.microdata import SYNTHETIC_NOTICE, ExportError, release_frame, write_release

__all__ = ["SYNTHETIC_NOTICE", "ExportError", "release_frame", "write_release"]
