"""The SPSS .sav reader: headers from variable labels, choice cells from codes or value labels."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from belmig.core.codebook import Codebook
from belmig.ingest.errors import IngestError
from belmig.ingest.labels import SAV_VAR_LABEL_BYTES, _match_truncated
from belmig.ingest.raw import TIMESTAMP_FORMAT, _cell_text, _check_not_empty, _norm, _Raw


def _read_sav(path: Path, cb: Codebook) -> _Raw:
    import pyreadstat

    _check_not_empty(path)
    try:
        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    except Exception as e:  # pyreadstat raises its own exception types
        raise IngestError(f"{path}: not a readable SPSS .sav file ({type(e).__name__}: {e})") from None
    known = {_norm(h): h for h in cb.export_headers()}
    choice_headers = {_norm(q.column) for q in cb.questions if q.is_choice}
    header: list[str] = []
    for name, label in zip(meta.column_names, meta.column_labels):
        if _norm(name) in known:
            header.append(known[_norm(name)])
        elif label:
            header.append(_match_truncated(label, list(known.values()), SAV_VAR_LABEL_BYTES) or label.strip())
        else:
            header.append(name)
    rows = [[""] * len(header) for _ in range(len(df))]
    from_vl: dict[str, set[str]] = {}
    for j, (name, head) in enumerate(zip(meta.column_names, header)):
        labels = meta.variable_value_labels.get(name, {}) if _norm(head) in choice_headers else {}
        col = df[name].tolist()
        for i, v in enumerate(col):
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
                continue
            if labels and not isinstance(v, str) and v in labels:
                rows[i][j] = labels[v]
                from_vl.setdefault(head, set()).add(labels[v])
            elif isinstance(v, pd.Timestamp):
                rows[i][j] = v.to_pydatetime().strftime(TIMESTAMP_FORMAT)
            else:
                rows[i][j] = _cell_text(v)
    return _Raw(path, "sav", header, rows, from_vl)
