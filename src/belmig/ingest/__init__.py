"""Read a raw survey export (CSV, XLSX or SPSS .sav) into the ``ingested.parquet`` contract.

Everything about the export's layout comes from the codebook: which header holds which
question (``column`` / ``other_column``), which answer text means which option (``label_ru``,
``aliases``; in SPSS files also the numeric ``code``), which columns are direct identifiers
(dropped here, never read into the output). Another platform or language is a codebook edit.

The file is validated completely before anything is built; the first problem raises
:class:`IngestError` with one message naming the file, the data row (1-based submission
number, the header is not counted), the column and the offending value (closed answers only;
free text is never quoted, values are redacted and shortened). Checks, in order:
empty file → encoding (UTF-8, with or without BOM) → record structure (field counts,
unterminated quotes) → no submissions → duplicated headers → missing / renamed columns →
unknown extra columns → cell values (answer labels, each part of a multiple answer, exclusive
options combined with others, scale range, timestamps, response ids).

Readers:
* CSV: UTF-8 with or without BOM, delimiter ``,`` or ``;`` (sniffed from the header: the one
  that yields more codebook headers), CRLF or LF line ends, quoted fields may span lines.
* XLSX: the first worksheet; first row = header; numbers and dates converted to the CSV text.
* SAV: headers are the variable labels (SPSS variable names cannot hold question text); the
  variable name is used when it is itself a codebook header. Choice cells may be numeric codes
  (with or without value labels) or label text. SPSS truncates variable labels to 256 and value
  labels to 120 bytes; a truncated label matches the one codebook text it is a prefix of.

Free text (text questions, "Other" text) is redacted (:func:`belmig.privacy.redact`).

Modules: ``read`` (:func:`read_export`: reader choice, header check, parsing), ``raw`` (the
header + text cells every reader returns), ``csv_records`` and ``csv_fast`` (the two CSV
readers), ``xlsx``, ``sav``, ``labels`` (answer text to option key), ``parse`` (cell parsers),
``errors`` (:class:`IngestError` and its message). ``csv_fast.FAST_CSV`` switches the fast
path off.
"""

from belmig.ingest.errors import IngestError
from belmig.ingest.raw import TIMESTAMP_FORMAT
from belmig.ingest.read import READERS, main, read_export, write_ingested, write_parquet_atomic

__all__ = [
    "READERS",
    "TIMESTAMP_FORMAT",
    "IngestError",
    "main",
    "read_export",
    "write_ingested",
    "write_parquet_atomic",
]
