"""The report text's Quarto shortcodes, as every module that reads the text matches them.

The one definition of a value shortcode (``{{< var key >}}``: the render, the checks, the value
diff and the disclosure audit's reading of the text use it) and of an include line. Its own module,
without the render's imports: the Snakefile reads the English text's keys and parity record when it
parses (belmig.report.textkeys, belmig.report.parity), in Snakemake's process.
"""

from __future__ import annotations

import re

# Any non-space key matches, so a malformed key fails as "not in the ledger" instead of passing through.
VAR_RE = re.compile(r"\{\{<\s*var\s+([^\s>]+)\s*>\}\}")
# A value shortcode and the percent sign typed after it, with or without a (no-break) space.
VAR_PERCENT_RE = re.compile(VAR_RE.pattern + r"(?P<pct>[ \u00a0\u202f]?%)?")
INCLUDE_RE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$", re.M)
