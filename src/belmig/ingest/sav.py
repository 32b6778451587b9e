"""The SPSS .sav and Stata .dta reader: variable names as the header, raw values as text.

What the file says about its variables (labels, value labels, SPSS multiple-response sets) is
kept in :class:`~belmig.ingest.raw.SpssMeta`; the adapter (:mod:`belmig.ingest.platforms.spss`,
:mod:`~belmig.ingest.platforms.limesurvey`) decides which variable is which question and
whether a code is read through its value label.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from belmig.core.codebook import Codebook
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import SpssMeta, _cell_text, _check_not_empty, _Raw

KINDS = {".sav": ("sav", "SPSS .sav"), ".dta": ("dta", "Stata .dta")}


def _read_spss(path: Path, cb: Codebook | None = None) -> _Raw:
    import pyreadstat

    _check_not_empty(path)
    fmt, what = KINDS[path.suffix.lower()]
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    try:
        kw = {"user_missing": False} if fmt == "sav" else {}
        df, meta = read(str(path), apply_value_formats=False, **kw)
    except Exception as e:  # pyreadstat raises its own exception types
        raise IngestError(f"{path}: not a readable {what} file ({type(e).__name__}: {e})") from None
    names = list(meta.column_names)
    labels = [lab or "" for lab in (meta.column_labels or [""] * len(names))]
    vlabels = {
        name: {_cell_text(k): str(v) for k, v in (meta.variable_value_labels.get(name) or {}).items()} for name in names
    }
    numeric = {n for n in names if pd.api.types.is_numeric_dtype(df[n])}
    rows = [[""] * len(names) for _ in range(len(df))]
    for j, name in enumerate(names):
        for i, v in enumerate(df[name].tolist()):
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
                continue
            rows[i][j] = _cell_text(v)
    spss = SpssMeta(names, labels, vlabels, dict(getattr(meta, "mr_sets", None) or {}), numeric)
    return _Raw(path, fmt, names, rows, spss=spss)


_read_sav = _read_spss
