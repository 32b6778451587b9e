"""The released microdata: k-anonymous, no free text, in four formats with labels.

``write_release`` writes into ``outdir``:

* ``microdata.parquet`` — categories as codebook keys (``category`` dtype), booleans, ``Int64``;
* ``microdata.csv`` — UTF-8, keys as text, ``true``/``false``, empty cell = missing, described by
  ``datapackage.json`` (Frictionless Data Package: field types, enums, descriptions);
* ``microdata.sav`` (SPSS) and ``microdata.dta`` (Stata 15) — numeric codes with value labels
  from the codebook (multiple-choice indicators 0/1), English variable labels (Stata: at most
  80 characters, names shortened to fit 32 characters; ``variables.csv`` maps every name);
* ``variables.csv`` — name, Stata name, type, label and value labels of every variable;
* ``kanonymity_report.csv`` — what was recoded and suppressed (:func:`belmig.privacy.k_anonymize`);
* ``README.txt`` — what the files are; says so prominently when the data is the synthetic
  reconstruction (``responses.attrs["belmig"]["synthetic"]``, set by ingestion from the
  export's ``.meta.yaml`` sidecar).

Privacy: the release holds ``resp_id``, the closed answers, the coded open answers and (when
given) the weight — no timestamps, durations, platform ids or free text. Weights are averaged
within the k-anonymous classes (:func:`belmig.privacy.smooth_weights`): raking weights are a
function of the original categories and would otherwise reveal them. Quasi-identifiers
(``privacy.quasi_identifiers``) are made ``privacy.k_anonymity``-anonymous: an ordered
question (one whose chart keeps codebook order, e.g. age groups, years) merges neighbouring
categories, others merge rare categories into their "other" option; what remains is locally
suppressed. Merged categories ("a+b") get the smallest code of their parts and a label naming
all parts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from belmig import privacy
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import coded_question

BASENAME = "microdata"
# Stata allows 32-character names; readstat names the value label set of a variable after it
# plus a running number (name + "17"), which must fit too: see stata_name_limit().
STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
MULTI_LABELS = {0: "not selected", 1: "selected"}
PRIVACY_KEYS = ("min_cell", "k_anonymity", "quasi_identifiers")

SYNTHETIC_NOTICE = (
    "SYNTHETIC DATA - NOT REAL SURVEY RESPONSES.\n"
    "This release was produced from the project's synthetic reconstruction of the raw export\n"
    "(belmig.synth), calibrated to the figures published in the 2022 report. No row describes a\n"
    "real person; it exists to demonstrate and test the pipeline. Do not use it for research\n"
    "about Belarusian migrants."
)


class ExportError(ValueError):
    """The responses cannot be released as they are."""


# --------------------------------------------------------------------------- variables


def _short_text(q: Question) -> str:
    t = q.text_en
    for tail in (" (several answers possible)", " (1 to 10)"):
        t = t.replace(tail, "")
    return t


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "..."


def stata_name_limit(n_labelled: int) -> int:
    """Longest Stata variable name readstat can write with `n_labelled` value label sets."""
    return STATA_NAME_MAX - len(str(max(n_labelled - 1, 0)))


def stata_names(names: list[str], limit: int = STATA_NAME_MAX) -> dict[str, str]:
    """Unique Stata names (at most `limit` characters) for the release's variables."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in names:
        s = n[:limit]
        i = 1
        while s in used:
            suffix = f"_{i}"
            s = n[: limit - len(suffix)] + suffix
            i += 1
        used.add(s)
        out[n] = s
    return out


def _quasi_identifiers(cb: Codebook, names: list[str]) -> list[privacy.QuasiIdentifier]:
    qis = []
    for n in names:
        if n not in cb.by_id or cb[n].type != "single":
            raise ExportError(f"config privacy.quasi_identifiers: {n!r} is not a single-choice question of {cb.source}")
        q = cb[n]
        ordered = q.chart is not None and not cb.chart(q.chart).sort
        # rare categories of an unordered variable go to its "Other" option (created if absent)
        pool = next((o.key for o in q.options if o.other), "other")
        qis.append(privacy.QuasiIdentifier(n, tuple(q.keys), ordered=ordered, pool=pool))
    return qis


def _qi_value_labels(q: Question, recodes: dict[str, str]) -> dict[str, tuple[int, str]]:
    """Released category -> (code, English label) of a recoded quasi-identifier.

    Categories left alone keep their codebook code and label; a merged category ("a+b") gets
    the smallest code of its parts and the parts' labels joined by " / ".
    """
    out: dict[str, tuple[int, str]] = {}
    for o in q.options:
        cat = recodes.get(o.key, o.key)
        if cat in out:
            continue
        parts = [q.option(p) for p in cat.split("+")] if cat != o.key else [o]
        out[cat] = (min(p.code for p in parts), " / ".join(p.label_en for p in parts))
    return dict(sorted(out.items(), key=lambda kv: kv[1][0]))


def _variables(
    release: pd.DataFrame,
    cb: Codebook,
    qi_labels: dict[str, dict[str, tuple[int, str]]],
    coded_labels: dict[str, dict[str, str]],
) -> list[dict[str, Any]]:
    """One record per released column: name, kind, label, value labels {key: (code, label)}."""
    out = []
    for col in release.columns:
        if col == "resp_id":
            out.append(dict(name=col, kind="id", label="Respondent id (r0001... in submission order)", values=None))
            continue
        if col == "weight":
            out.append(
                dict(
                    name=col,
                    kind="number",
                    values=None,
                    label="Survey weight (raked, then averaged within k-anonymous classes)",
                )
            )
            continue
        if coded_question(col) in cb.by_id:
            q = cb[coded_question(col)]
            labels = coded_labels.get(q.id)
            if labels is None:
                raise ExportError(
                    f"responses: no category labels for coded column {col!r} (attrs['belmig']['coded_labels'])"
                )
            vals = {k: (i, v) for i, (k, v) in enumerate(labels.items(), start=1)}
            what = "open answer" if q.type == "text" else "'Other' answer"
            out.append(dict(name=col, kind="category", label=f"{_short_text(q)} - {what}, coded", values=vals))
            continue
        if col in cb.by_id:
            q = cb[col]
            if q.type == "single":
                vals = qi_labels.get(q.id) or {o.key: (o.code, o.label_en) for o in q.options}
                out.append(dict(name=col, kind="category", label=_short_text(q), values=vals))
            elif q.type == "scale":
                out.append(
                    dict(
                        name=col,
                        kind="integer",
                        label=_short_text(q),
                        values=None,
                        min=int(q.scale["min"]),
                        max=int(q.scale["max"]),
                    )
                )
            elif q.type == "number":
                out.append(dict(name=col, kind="number", label=_short_text(q), values=None))
            else:
                raise ExportError(f"responses: column {col!r} ({q.type}) cannot be released")
            continue
        owner = next((q for q in cb.questions if q.type == "multi" and col in q.multi_columns()), None)
        if owner is not None:
            key = col[len(owner.id) + 2 :]
            out.append(
                dict(name=col, kind="boolean", label=f"{_short_text(owner)}: {owner.option(key).label_en}", values=None)
            )
            continue
        raise ExportError(f"responses: column {col!r} is not a codebook variable; refusing to release it")
    return out


# --------------------------------------------------------------------------- the release frame


def release_frame(
    responses: pd.DataFrame, weights: pd.DataFrame | None, codebook: Codebook, privacy_cfg: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """(k-anonymous release frame, k-anonymity report, variable descriptions)."""
    cb = codebook
    missing = [k for k in PRIVACY_KEYS if k not in privacy_cfg]
    if missing:
        raise ExportError(f"config privacy: missing setting {missing[0]!r}")
    k = int(privacy_cfg["k_anonymity"])
    meta = responses.attrs.get("belmig") or {}
    if "coded_labels" not in meta or "synthetic" not in meta:
        raise ExportError(
            "responses: attrs['belmig'] lacks provenance ('synthetic', 'coded_labels'); "
            "write responses with belmig.clean"
        )
    if "resp_id" not in responses.columns or responses["resp_id"].duplicated().any():
        raise ExportError("responses: resp_id missing or not unique")
    # only codebook variables go out; anything else (free text, timestamps) is refused
    _variables(responses, cb, {}, meta["coded_labels"])
    for col in [c for c in responses.columns if coded_question(c) is not None]:
        allowed = set(meta["coded_labels"][coded_question(col)])
        bad = set(responses[col].dropna().astype(str)) - allowed
        if bad:
            raise ExportError(
                f"responses: column {col!r} holds values that are not coded categories ({len(bad)} distinct)"
            )
    rel = responses.copy()
    rel.attrs = {}
    if weights is not None:
        if set(weights.columns) < {"resp_id", "weight"}:
            raise ExportError("weights: needs columns resp_id and weight")
        w = weights[["resp_id", "weight"]]
        if set(w["resp_id"]) != set(rel["resp_id"]) or w["resp_id"].duplicated().any():
            raise ExportError("weights: resp_id does not match the responses one to one")
        if not (w["weight"] > 0).all():
            raise ExportError("weights: every weight must be > 0")
        rel = rel.merge(w, on="resp_id", how="left", validate="one_to_one")
    qis = _quasi_identifiers(cb, list(privacy_cfg["quasi_identifiers"]))
    anon, report = privacy.k_anonymize(rel, qis, k)
    ok, smallest = privacy.check_k_anonymity(anon, [q.name for q in qis], k)
    if not ok:
        raise ExportError(f"release is not {k}-anonymous (smallest class {smallest}); fewer than k respondents?")
    if weights is not None:
        anon["weight"] = privacy.smooth_weights(anon, [q.name for q in qis], "weight")
    qi_labels = {}
    for q in qis:
        labels = _qi_value_labels(cb[q.name], report.attrs["recodes"][q.name])
        qi_labels[q.name] = labels
        anon[q.name] = pd.Categorical(anon[q.name].astype("object"), categories=list(labels))
    return anon.reset_index(drop=True), report, _variables(anon, cb, qi_labels, meta["coded_labels"])


# --------------------------------------------------------------------------- writers


def _csv_frame(df: pd.DataFrame, variables: list[dict[str, Any]]) -> pd.DataFrame:
    out = {}
    for v in variables:
        s = df[v["name"]]
        if v["kind"] == "boolean":
            out[v["name"]] = s.astype("boolean").map({True: "true", False: "false"}).astype("object")
        elif v["kind"] == "integer":
            out[v["name"]] = s.astype("Int64").astype("object")
        else:
            out[v["name"]] = s.astype("object")
    return pd.DataFrame(out).where(pd.DataFrame(out).notna(), None)


def _coded_frame(df: pd.DataFrame, variables: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict, dict]:
    """Numeric codes for SPSS/Stata: (frame, value labels {name: {code: label}}, variable labels)."""
    out, vlabels, labels = {}, {}, {}
    for v in variables:
        s, name = df[v["name"]], v["name"]
        labels[name] = v["label"]
        if v["kind"] == "category":
            codes = {key: code for key, (code, _) in v["values"].items()}
            out[name] = (
                s.astype("object")
                .map(lambda x, c=codes: float(c[x]) if pd.notna(x) else float("nan"))
                .astype("float64")
            )
            vlabels[name] = {float(code): lab for code, lab in v["values"].values()}
        elif v["kind"] == "boolean":
            out[name] = s.astype("boolean").astype("Float64").astype("float64")
            vlabels[name] = {float(c): lab for c, lab in MULTI_LABELS.items()}
        elif v["kind"] in ("integer", "number"):
            out[name] = s.astype("Float64").astype("float64")
        else:
            out[name] = s.astype("object")
    return pd.DataFrame(out), vlabels, labels


def _datapackage(variables: list[dict[str, Any]], synthetic: bool, k: int, qis: list[str]) -> dict[str, Any]:
    fields = []
    for v in variables:
        f: dict[str, Any] = {"name": v["name"], "description": v["label"]}
        if v["kind"] == "id":
            f.update(type="string", constraints={"required": True, "unique": True})
        elif v["kind"] == "category":
            f.update(type="string", constraints={"enum": list(v["values"])})
            f["description"] += ". Values: " + "; ".join(f"{key} = {lab}" for key, (_, lab) in v["values"].items())
        elif v["kind"] == "boolean":
            f.update(type="boolean", trueValues=["true"], falseValues=["false"])
        elif v["kind"] == "integer":
            f.update(type="integer", constraints={"minimum": v["min"], "maximum": v["max"]})
        else:
            f.update(type="number")
        fields.append(f)
    desc = (
        f"Respondent-level data of the survey, k-anonymous (k={k}) on {', '.join(qis)}; "
        "no free text (open answers are coded). Empty cell = not asked / no answer / suppressed."
    )
    if synthetic:
        desc = "SYNTHETIC DATA - NOT REAL SURVEY RESPONSES (synthetic reconstruction). " + desc
    return {
        "name": "belmig-microdata",
        "title": "Migration from Belarus and integration in Lithuania (2022 survey): released microdata"
        + (" [SYNTHETIC]" if synthetic else ""),
        "description": desc,
        "resources": [
            {
                "name": "microdata",
                "path": f"{BASENAME}.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": desc,
                "schema": {"fields": fields, "missingValues": [""], "primaryKey": ["resp_id"]},
            }
        ],
    }


def _variables_table(variables: list[dict[str, Any]], snames: dict[str, str]) -> pd.DataFrame:
    rows = []
    for v in variables:
        vals = ""
        if v["kind"] == "category":
            vals = "; ".join(f"{code} = {key} ({lab})" for key, (code, lab) in v["values"].items())
        elif v["kind"] == "boolean":
            vals = "; ".join(f"{c} = {lab}" for c, lab in MULTI_LABELS.items()) + " (CSV: false/true)"
        elif v["kind"] == "integer":
            vals = f"{v['min']}-{v['max']}"
        rows.append(dict(name=v["name"], stata_name=snames[v["name"]], type=v["kind"], label=v["label"], values=vals))
    return pd.DataFrame(rows, columns=["name", "stata_name", "type", "label", "values"])


def _readme(n: int, synthetic: bool, k: int, qis: list[str], report: pd.DataFrame, weights: bool) -> str:
    lines = []
    if synthetic:
        lines += [SYNTHETIC_NOTICE, ""]
    lines += [
        "Migration from Belarus and integration of immigrants in Lithuania (2022 online survey)",
        "Released microdata",
        "",
        f"Respondents: {n}. One row per respondent; resp_id r0001... in submission order.",
        "Files: microdata.csv (+ datapackage.json), microdata.parquet, microdata.sav (SPSS),",
        "microdata.dta (Stata; long names shortened, see variables.csv), variables.csv,",
        "kanonymity_report.csv.",
        "Weights: "
        + (
            "column 'weight': the raking weights averaged within the k-anonymous classes of the\n"
            "quasi-identifiers (so they cannot reveal a recoded or blanked category) and rescaled to\n"
            "the same total; they no longer match the raking margins exactly."
            if weights
            else "not included (weighting had not run)."
        ),
        "",
        "Protection of the respondents:",
        "- no free text: open answers are coded into categories (columns *__code);",
        "- no timestamps, durations, platform ids, e-mail or IP addresses or contacts;",
        f"- {k}-anonymity on {', '.join(qis)}: every combination of these is shared by at least",
        f"  {k} respondents (a blank value counts as unknown and matches any value);",
        "  changes made to get there:",
    ]
    for r in report.itertuples(index=False):
        if r.step in ("recode", "suppress"):
            lines.append(f"  * {r.detail} ({r.rows_affected} rows)")
    if not any(report["step"].isin(["recode", "suppress"])):
        lines.append("  * none were needed")
    lines += ["", "Missing values: empty (CSV), NA (Parquet), system-missing (SPSS), . (Stata).", ""]
    return "\n".join(lines)


def write_release(
    responses: pd.DataFrame,
    weights: pd.DataFrame | None,
    codebook: Codebook,
    privacy_cfg: dict[str, Any],
    outdir: Path | str,
) -> list[Path]:
    """Write the released microdata into `outdir`; return the paths written.

    All files are written to a temporary folder first and moved into `outdir` only when every
    one succeeded (on error nothing is written).
    """
    import pyreadstat

    outdir = Path(outdir)
    rel, report, variables = release_frame(responses, weights, codebook, privacy_cfg)
    meta = responses.attrs["belmig"]
    synthetic = bool(meta["synthetic"])
    k = int(privacy_cfg["k_anonymity"])
    qis = list(privacy_cfg["quasi_identifiers"])
    n_labelled = sum(v["kind"] in ("category", "boolean") for v in variables)
    snames = stata_names([v["name"] for v in variables], stata_name_limit(n_labelled))
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".release.", dir=outdir))
    names = [
        f"{BASENAME}.parquet",
        f"{BASENAME}.csv",
        f"{BASENAME}.sav",
        f"{BASENAME}.dta",
        "datapackage.json",
        "variables.csv",
        "kanonymity_report.csv",
        "README.txt",
    ]
    try:
        rel.to_parquet(tmp / names[0], index=False)
        _csv_frame(rel, variables).to_csv(tmp / names[1], index=False, lineterminator="\n", encoding="utf-8")
        coded, vlabels, vars_ = _coded_frame(rel, variables)
        title = "Belarusian migrants in Lithuania 2022: microdata" + (" [SYNTHETIC]" if synthetic else "")
        pyreadstat.write_sav(
            coded, str(tmp / names[2]), file_label=title, column_labels=vars_, variable_value_labels=vlabels
        )
        st = coded.rename(columns=snames)
        pyreadstat.write_dta(
            st,
            str(tmp / names[3]),
            file_label=_truncate(title, STATA_LABEL_MAX),
            column_labels={snames[c]: _truncate(lab, STATA_LABEL_MAX) for c, lab in vars_.items()},
            variable_value_labels={snames[c]: {int(code): lab for code, lab in v.items()} for c, v in vlabels.items()},
        )
        pin_sav_timestamp(tmp / names[2])
        pin_dta_timestamp(tmp / names[3])
        (tmp / names[4]).write_text(
            json.dumps(_datapackage(variables, synthetic, k, qis), ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
        _variables_table(variables, snames).to_csv(tmp / names[5], index=False, lineterminator="\n")
        report.to_csv(tmp / names[6], index=False, lineterminator="\n")
        (tmp / names[7]).write_text(_readme(len(rel), synthetic, k, qis, report, weights is not None), encoding="utf-8")
        written = []
        for n in names:
            os.replace(tmp / n, outdir / n)
            written.append(outdir / n)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ReadStat stamps the time of writing into SPSS and Stata headers; two builds of the same
# commit must give the same bytes, so the stamp is pinned to the 2022 report's publication date.
SAV_STAMP = b"03 Nov 2200:00:00"  # creation date "dd mmm yy" (9 bytes) + time "hh:mm:ss" (8 bytes)
DTA_STAMP = b"03 Nov 2022 00:00"


def pin_sav_timestamp(path: Path) -> None:
    """Overwrite the creation date/time of an SPSS .sav header (bytes 92–108 of the header record)."""
    data = bytearray(Path(path).read_bytes())
    if data[:4] not in (b"$FL2", b"$FL3"):
        raise ExportError(f"{path}: not an SPSS system file")
    data[92:109] = SAV_STAMP
    Path(path).write_bytes(bytes(data))


def pin_dta_timestamp(path: Path) -> None:
    """Overwrite the <timestamp> of a Stata 118/119 .dta header."""
    data = bytearray(Path(path).read_bytes())
    i = data.find(b"<timestamp>")
    if i < 0:
        raise ExportError(f"{path}: no <timestamp> in the Stata header")
    length = data[i + 11]
    if length:
        if length != len(DTA_STAMP):
            raise ExportError(f"{path}: unexpected Stata timestamp length {length}")
        data[i + 12 : i + 12 + length] = DTA_STAMP
    Path(path).write_bytes(bytes(data))
