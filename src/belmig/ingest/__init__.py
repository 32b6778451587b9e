"""Read a raw survey export (CSV, XLSX, SPSS .sav, Stata .dta) into the ``ingested.parquet`` contract.

The export may be laid out the way any of the supported platforms writes it; the platform is
detected from the file (or forced with ``ingest.platform``) and its adapter turns the layout
into the internal tidy form (:mod:`~belmig.ingest.tidy`) before anything is validated:

=================  =====================================================================
``generic``        the codebook's own layout: one header row, ``column`` / ``other_column``
``google_forms``   Sheets CSV/XLSX: submission time only, checkboxes joined by ", ", inline "Other"
``surveymonkey``   expanded CSV, two header rows, one column per option, "Other (please specify)"
``qualtrics``      three header rows (names, labels, ImportId JSON), choice text or numeric values
``limesurvey``     CSV with question codes or full texts, ``Q[SQ001]`` columns, its SPSS export
``kobo``           KoboToolbox CSV/XLSX, XML names or labels, select_multiple summary + 1/0
``spss``/``stata`` value labels, multiple-response sets, dichotomies found by name stem
=================  =====================================================================

Everything about the questionnaire comes from the codebook (``column``, ``other_column``,
``label_ru``, ``aliases``, ``code``; for the layouts: ``option_columns``, ``ticked``,
``separator``, ``codes``), optionally with a reviewed mapping overlay (``ingest.mapping``,
drafted by ``python -m belmig map-export``). Direct identifiers (codebook ``identifier``
columns, platform identifier fields: IP, e-mail, names, geolocation...) are dropped unread.

Validation (:mod:`~belmig.ingest.validate`) collects every problem (header and cells, up to a
cap in the message) before failing with one :class:`IngestError` naming file, data row,
column (as the file writes it) and value (closed answers only; redacted and shortened).
What the export lacks is stated, never invented: no response id → generated ids; no start
time → durations unknown (the speeder check is skipped). Consistency checks ("Other" text
with no "Other" chosen, answers where the question was not asked, identical durations,
questions nobody answered) are errors or counted warnings. The ingest report
(:mod:`~belmig.ingest.report`) records all of it.

Modules: ``read`` (:func:`read_export`, the CLI), ``detect``, ``platforms/*`` (one adapter per
platform), ``tidy``, ``validate``, ``parse`` (cell parsers), ``times``, ``labels``, ``raw`` and
the readers ``csv_records``, ``csv_fast`` (``csv_fast.FAST_CSV`` switches it off), ``xlsx``,
``sav`` (SPSS and Stata), ``mapping`` (overlays), ``mapexport`` + ``definitions`` (drafting a
mapping), ``report`` + ``console`` (the ingest report and its console summary), ``errors``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "READERS",
    "TIMESTAMP_FORMAT",
    "IngestError",
    "main",
    "read_export",
    "write_ingested",
    "write_parquet_atomic",
]

# Imported on first use: `python -m belmig.ingest.console` (run after every ingest job)
# must not pay for pandas.
_LAZY = {
    "IngestError": "belmig.ingest.errors",
    "TIMESTAMP_FORMAT": "belmig.ingest.raw",
    "READERS": "belmig.ingest.read",
    "main": "belmig.ingest.read",
    "read_export": "belmig.ingest.read",
    "write_ingested": "belmig.ingest.read",
    "write_parquet_atomic": "belmig.ingest.read",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'belmig.ingest' has no attribute {name!r}")
