"""The released microdata as the attacker reads them.

A released value is a set of possible true values: a plain category is itself, a merged one
("a+b") is its parts, a blank in a protected variable (a quasi-identifier the release recoded
or blanked) may hide anything, including "no answer". Outside the protected variables a blank is
a blank (not asked or not answered).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .structure import Structure


@dataclass
class Release:
    frame: pd.DataFrame  # one row per released record, values as str (NA = blank)
    file: str
    protected: set[str] = field(default_factory=set)
    # columns the release blanked beyond k-anonymity (answers asked because of a protective blank,
    # pooled rare codes): a blank there may hide an answer; not a key to match records by
    also_blanked: set[str] = field(default_factory=set)
    # questions blanked beside a protective blank because published tables cross them with it
    crossed: set[str] = field(default_factory=set)
    merges: dict[str, list[frozenset]] = field(default_factory=dict)  # var -> merged groups seen
    weight: str | None = None
    id_column: str | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def value_sets(self, var: str) -> list[frozenset | None]:
        """Per record, the set of true values the released value stands for (None = blank)."""
        out = []
        for v in self.frame[var].tolist():
            out.append(
                None if v is None or (isinstance(v, float) and np.isnan(v)) or v == "" else frozenset(str(v).split("+"))
            )
        return out


def _as_str(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[c] = s.map(lambda x: None if pd.isna(x) else ("true" if x else "false"))
        elif pd.api.types.is_float_dtype(s) and c != "weight" and s.dropna().apply(float.is_integer).all():
            out[c] = s.map(lambda x: None if pd.isna(x) else str(int(x)))
        else:
            out[c] = s.map(lambda x: None if pd.isna(x) else str(x))
    return out


def load(root: Path, files: list[str], structure: Structure) -> Release | None:
    """The release among the public files (CSV first, then Parquet, SPSS, Stata)."""
    rel = [f for f in files if "/release/" in f or f.startswith("release/")]
    order = [".csv", ".parquet", ".sav", ".dta"]
    cands = sorted(
        (f for f in rel if Path(f).suffix in order and not Path(f).name.startswith(("variables", "kanonymity"))),
        key=lambda f: order.index(Path(f).suffix),
    )
    if not cands:
        return None
    f = cands[0]
    p = root / f
    if p.suffix == ".csv":
        df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
        df = df.astype(object).where(df.notna(), None)
    elif p.suffix == ".parquet":
        df = _as_str(pd.read_parquet(p))
    elif p.suffix == ".sav":
        import pyreadstat

        df, _ = pyreadstat.read_sav(str(p), apply_value_formats=False)
        df = _as_str(df)
    else:
        df = _as_str(pd.read_stata(p, convert_categoricals=False))
    r = Release(frame=df, file=f)
    if "weight" in df.columns:
        r.weight = "weight"
        df["weight"] = pd.to_numeric(df["weight"], errors="coerce")
    for c in df.columns:
        if c in ("resp_id", "id", "record_id") or c.endswith("_id"):
            r.id_column = c
            break
    # Protected variables: those with merged categories, those named in the k-anonymity report,
    # and the configured quasi-identifiers (the public repository's config).
    for c in df.columns:
        if c == r.weight or c == r.id_column:
            continue
        vals = {v for v in df[c].dropna().unique()}
        groups = sorted(
            {
                frozenset(v.split("+"))
                for v in vals
                if isinstance(v, str)
                and "+" in v
                and all(p in structure.options(c) or not structure.options(c) for p in v.split("+"))
            },
            key=sorted,
        )
        if groups:
            r.merges[c] = groups
            r.protected.add(c)
    kr = root / Path(f).parent / "kanonymity_report.csv"
    if kr.is_file():
        with kr.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                # recoded, left out or blanked for k-anonymity (not the follow-on answers and
                # the pooled codes: the release view reads those blanks itself)
                if row.get("variable") in df.columns and row.get("step") in ("recode", "drop", "suppress"):
                    r.protected.add(row["variable"])
                elif row.get("step") == "diverse":  # a sensitive question blanked whole (l-diversity)
                    v = row.get("variable") or ""
                    if v in df.columns or any(c.startswith(v + "__") for c in df.columns):
                        r.protected.add(v)
                elif row.get("variable") in df.columns and row.get("step") in ("follow", "pool", "cross"):
                    r.also_blanked.add(row["variable"])
                    if row.get("step") == "cross":
                        r.crossed.add(row["variable"].split("__", 1)[0])
    r.protected |= set(configured_qis(root)) & set(df.columns)
    return r


def configured_qis(root: Path) -> list[str]:
    p = root / "config" / "config.yaml"
    if not p.is_file():
        return []
    cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    return list((cfg.get("privacy") or {}).get("quasi_identifiers") or [])
