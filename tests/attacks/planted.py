"""A planted variant of a raw export: a 2-person gender group and a unique legal status.

    python -m tests.attacks.planted IN.csv OUT.csv [--codebook config/codebook.yaml]

Issue 14's "done when" asks that the attack suite find nothing on the synthetic export *and*
on a variant where the publication is hardest to protect: exactly two analysed respondents in
the sex category "Other / prefer not to say", and exactly one with the legal status "Other".
The variant edits only those two answers, and only in submissions that clearly survive the
cleaning rules (eligible, complete, not a speeder, not a test, not a straight-liner, not a
duplicate), so that the build analyses the planted people. Every other submission that held
the planted categories gets the most common one instead. The sidecar (``.meta.yaml``) is copied
with a note. Build it with ``snakemake --cores 2 --config raw_export=OUT.csv`` and run the suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

TEST_MARKERS = ("test", "тест", "проверка")


def _q(cb: dict, qid: str) -> dict:
    return next(q for q in cb["questions"] if q["id"] == qid)


def _label(q: dict, key: str) -> str:
    return next(o["label_ru"] for o in q["options"] if str(o["key"]) == key)


def safe_rows(df: pd.DataFrame, cb: dict) -> pd.Series:
    """Submissions that pass every cleaning rule with a margin."""
    cols = {c["id"]: c["column"] for c in cb.get("columns", [])}
    ok = pd.Series(True, index=df.index)
    cz, ar = _q(cb, "citizen_by"), _q(cb, "arrival_year")
    ok &= df[cz["column"]] == _label(cz, "yes")
    ok &= df[ar["column"]].isin([_label(ar, k) for k in ("y2020", "y2021", "y2022")])
    text = df.fillna("").astype(str).apply(lambda r: " ".join(r).casefold(), axis=1)
    for m in TEST_MARKERS:
        ok &= ~text.str.contains(m, regex=False)
    if "started_at" in cols and "submitted_at" in cols:
        d = (pd.to_datetime(df[cols["submitted_at"]]) - pd.to_datetime(df[cols["started_at"]])).dt.total_seconds()
        ok &= d >= 0.6 * d.median()
    qcols = [q["column"] for q in cb["questions"] if q.get("universe") is None and q["type"] != "text"]
    ok &= df[qcols].notna().mean(axis=1) >= 0.95
    grid = [_q(cb, g)["column"] for g in ("security_by", "security_lt", "quality_life")]
    ok &= df[grid].nunique(axis=1) > 1
    answers = df[[q["column"] for q in cb["questions"]]].fillna("").astype(str).agg("|".join, axis=1)
    ok &= ~answers.duplicated(keep=False)
    return ok


def plant(df: pd.DataFrame, cb: dict) -> tuple[pd.DataFrame, list[str]]:
    out = df.copy()
    notes = []
    ok = safe_rows(df, cb)
    sx, ls = _q(cb, "sex"), _q(cb, "legal_status")
    other_sex, male = _label(sx, "other"), _label(sx, "male")
    holders = [i for i in df.index[df[sx["column"]] == other_sex] if ok[i]]
    chosen = (holders + [i for i in df.index[ok & (df[sx["column"]] == male)] if i not in holders])[:2]
    for i in df.index[df[sx["column"]] == other_sex]:
        if i not in chosen:
            out.loc[i, sx["column"]] = male
            notes.append(f"row {i + 1}: sex other -> male")
    for i in chosen:
        out.loc[i, sx["column"]] = other_sex
        notes.append(f"row {i + 1}: sex = other (one of the 2)")
    other_ls, common = _label(ls, "other"), _label(ls, "residence_permit")
    for i in df.index[df[ls["column"]] == other_ls]:
        out.loc[i, ls["column"]] = common
        notes.append(f"row {i + 1}: legal status other -> residence permit")
    target = next(i for i in df.index[ok & (df[ls["column"]] == common)] if i not in chosen)
    out.loc[target, ls["column"]] = other_ls
    notes.append(f"row {target + 1}: legal status = other (unique)")
    return out, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.attacks.planted", description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--codebook", type=Path, default=Path("config/codebook.yaml"))
    a = ap.parse_args(argv)
    cb = yaml.safe_load(a.codebook.read_text(encoding="utf-8"))
    df = pd.read_csv(a.src, dtype=str, keep_default_na=False, na_values=[""])
    out, notes = plant(df, cb)
    a.dst.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(a.dst, index=False)
    side = a.src.with_name(a.src.name + ".meta.yaml")
    if side.is_file():
        meta = yaml.safe_load(side.read_text(encoding="utf-8")) or {}
        meta["planted"] = "tests.attacks.planted: " + "; ".join(notes)
        a.dst.with_name(a.dst.name + ".meta.yaml").write_text(
            yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
