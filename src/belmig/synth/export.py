"""The platform CSV: strings in codebook order, written atomically with its provenance sidecar."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import yaml

from belmig.core import atomic
from belmig.core.codebook import Codebook
from belmig.core.keys import other_text_column
from belmig.synth.common import GENERATOR, SCALE_VALUES, STATEMENT, SynthError, label_cells
from belmig.synth.noise import text_column


def _arrow(values: pd.Series) -> pa.Array:
    arr = (
        pa.array(values.array)
        if isinstance(values.dtype, pd.StringDtype)
        else pa.array(values.to_numpy(dtype=object, na_value=None), pa.string())
    )
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _export_text(values: pd.Series) -> pa.Array:
    if isinstance(values.dtype, pd.CategoricalDtype):  # labels: dictionary-encoded, no empty label
        return pa.array(values.array)
    a = _arrow(values).cast(pa.string())
    return pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a) if pc.any(pc.equal(a, "")).as_py() else a


def to_export(rows: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """The platform CSV as strings: codebook headers in order, Russian labels, ';'-joined multiple
    answers, free texts in the text and 'other' columns; NA = an empty cell (no answer), written
    as an empty field. Answer columns are categoricals of their label strings (each distinct
    cell text stored once), free-text and admin columns ``str``."""
    sep = codebook.multi_separator
    out: dict[str, pa.Array] = {}
    for c in codebook.columns:
        if c.type == "datetime":
            ts = pa.array(rows[c.id].to_numpy(dtype="datetime64[s]"))
            out[c.column] = ts.cast(pa.string())  # "YYYY-MM-DD HH:MM:SS"
        else:
            out[c.column] = _export_text(rows[c.id])
    for q in codebook.questions:
        if q.type == "single":
            codes = rows[q.id].cat.codes.to_numpy()
            out[q.column] = label_cells(codes, [o.label_ru for o in q.options])
        elif q.type == "multi":
            mask = np.zeros(len(rows), dtype=np.int64)
            for j, col in enumerate(q.multi_columns()):
                mask |= rows[col].fillna(False).to_numpy(dtype=bool).astype(np.int64) << j
            uniq, inv = np.unique(mask, return_inverse=True)
            labels = [sep.join(o.label_ru for j, o in enumerate(q.options) if m >> j & 1) for m in uniq]
            inv = inv.ravel()
            out[q.column] = label_cells(np.where(mask == 0, -1, inv), labels)
        elif q.type == "scale":
            out[q.column] = label_cells(
                rows[q.id].fillna(0).to_numpy(dtype=np.int64) - 1, [str(v) for v in SCALE_VALUES]
            )
        elif q.type == "text":
            out[q.column] = _export_text(rows[text_column(q)])
        else:
            raise SynthError(f"cannot export question type {q.type!r} ({q.id})")
        if q.other_column:
            col = other_text_column(q.id)
            if col not in rows.columns:
                raise SynthError(f"rows lack the free-text column {col!r}")
            out[q.other_column] = _export_text(rows[col])
    heads = codebook.export_headers()
    if list(out) != heads:
        raise SynthError("export columns do not follow codebook.export_headers()")
    df = pd.DataFrame(
        {h: pd.array(out[h], dtype="str") if isinstance(out[h], (pa.Array, pa.ChunkedArray)) else out[h] for h in heads}
    )
    df.attrs = {"synth": dict(rows.attrs.get("synth", {}))}
    return df


def _csv_table(df: pd.DataFrame) -> pa.Table:
    """The export as an Arrow table of strings; NA and "" are written as a bare empty field."""
    return pa.table([_export_text(df[h]) for h in df.columns], names=list(df.columns))


CSV_OPTIONS = dict(eol="\r\n", quoting_style="needed", quoting_header="needed")


def _write_csv(df: pd.DataFrame, sink) -> None:
    pa_csv.write_csv(_csv_table(df), sink, pa_csv.WriteOptions(batch_size=1 << 16, **CSV_OPTIONS))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV, CRLF line ends, every non-empty field quoted (RFC 4180), empty fields bare:
    the bytes :func:`write_export` writes."""
    buf = io.BytesIO()
    _write_csv(df, buf)
    return buf.getvalue()


class _HashingFile:
    """A binary file that also feeds a sha256 with everything written to it."""

    def __init__(self, fh) -> None:
        self.fh, self.sha = fh, hashlib.sha256()
        self.closed = False

    def write(self, data) -> int:
        view = memoryview(data)
        self.sha.update(view)
        return self.fh.write(view)

    def flush(self) -> None:
        self.fh.flush()

    def writable(self) -> bool:
        return True


def _atomic_csv(path: Path, df: pd.DataFrame) -> str:
    """Write the CSV to a temporary file next to `path` (hashing it on the way), rename it;
    return the sha256."""

    def write(tmp: Path) -> str:
        with open(tmp, "wb") as fh:
            out = _HashingFile(fh)
            _write_csv(df, out)
        return out.sha.hexdigest()

    return atomic.write_via(path, write)


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.yaml")


def write_export(df: pd.DataFrame, path: Path | str) -> Path:
    """Write the export CSV atomically and its ``<path>.meta.yaml`` sidecar; return the CSV path.

    The sidecar's provenance (seed, noise counts, ...) comes from ``df.attrs["synth"]``, which
    ``add_noise_rows`` and ``to_export`` fill in; a frame without it is refused.
    """
    path = Path(path)
    info = df.attrs.get("synth")
    if not info or "seed" not in info:
        raise SynthError("write_export needs df.attrs['synth'] (use add_noise_rows and to_export)")
    digest = _atomic_csv(path, df)
    meta = {
        "synthetic": True,
        "statement": STATEMENT.format(n=int(info["genuine"])),
        "generator": GENERATOR,
        "seed": int(info["seed"]),
        "mode": info.get("mode", "reconstruction"),
        "rows": int(len(df)),
        "columns": int(df.shape[1]),
        "genuine_respondents": int(info["genuine"]),
        "noise_rows": {k: int(v) for k, v in info["noise"].items()},
        "noise_total": int(sum(info["noise"].values())),
        "texts_with_contact_details": int(info.get("texts_with_contacts", 0)),
        "noise_rows_matching_another_row": int(info.get("noise_collisions", 0)),
        "genuine_respondents_identical_to_another": int(info.get("genuine_identical", 0)),
        "csv": {
            "encoding": "utf-8",
            "line_ending": "CRLF",
            "quoting": "every non-empty field quoted; empty fields bare",
        },
        "sha256": digest,
    }
    for key in ("inputs", "unmet_figures", "subgroup_cells", "adjustments"):
        if key in info:
            meta[key] = info[key]
    text = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100)
    atomic.write_bytes(meta_path(path), ("# SYNTHETIC export - see statement\n" + text).encode("utf-8"))
    return path
