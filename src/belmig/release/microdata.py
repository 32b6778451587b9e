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

Privacy (docs/disclosure.md): the release holds a random record id, the closed answers, the
coded open answers and (when given) a weight: no timestamps, durations, platform ids or free
text, and neither the internal ``resp_id`` nor the submission order (rows are shuffled and ids
drawn at random, both from the configured seed). The quasi-identifiers
(``privacy.quasi_identifiers``) are protected so that every respondent has at least
``privacy.k_anonymity`` candidate records for an attacker who knows their true values, alone
and together with each ``privacy.extra_identifiers`` answer (:func:`belmig.privacy.k_anonymize`):
rare categories merged (an ordered question, e.g. age groups or years, with a neighbour; others
into their "other" option), values blanked in decoy records, variables left out when that loses
less information (never those in ``privacy.release_keep``). Merged categories ("a+b") get the
smallest code of their parts and a label naming all parts. Weights are raked again to the
*released* categories of the raking variables (a weight raked on the original categories would
tell merged municipalities apart), so they are a function of released values only; the raking
variables are never blanked.

Size: a little above 600 lines, kept whole: the release frame, its re-raked weights and the
four writers describe one set of files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from belmig import privacy
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import coded_question
from belmig.privacy import kanon

BASENAME = "microdata"
# Stata allows 32-character names; readstat names the value label set of a variable after it
# plus a running number (name + "17"), which must fit too: see stata_name_limit().
STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
MULTI_LABELS = {0: "not selected", 1: "selected"}
PRIVACY_KEYS = ("min_cell", "k_anonymity", "quasi_identifiers", "extra_identifiers", "release_keep", "sensitive")
ID_COLUMN = "record_id"

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


def _protected(
    cb: Codebook,
    names: list[str],
    setting: str,
    keep: set[str],
    never_blank: set[str],
    levels: Mapping[str, Mapping[str, str]] | None = None,
):
    qis = []
    for n in names:
        if n not in cb.by_id or cb[n].type != "single":
            raise ExportError(f"config privacy.{setting}: {n!r} is not a single-choice question of {cb.source}")
        q = cb[n]
        ordered = q.chart is not None and not cb.chart(q.chart).sort
        # rare categories of an unordered variable go to its "Other" option (created if absent)
        pool = next((o.key for o in q.options if o.other), "other")
        plan = (levels or {}).get(n, {})
        start = tuple(tuple(sorted(set(k for k, v in plan.items() if v == lv), key=q.keys.index))
                      for lv in dict.fromkeys(plan.values()))  # fmt: skip
        start = tuple(g for g in start if len(g) > 1)
        qis.append(
            privacy.QuasiIdentifier(
                n, tuple(q.keys), ordered=ordered, pool=pool, blankable=n not in never_blank, droppable=n not in keep,
                start=start,
            )
        )  # fmt: skip
    return qis


def _quasi_identifiers(cb: Codebook, names: list[str]) -> list[privacy.QuasiIdentifier]:
    """The configured quasi-identifiers as :class:`belmig.privacy.QuasiIdentifier` (all droppable)."""
    return _protected(cb, names, "quasi_identifiers", set(), set())


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
        if col == ID_COLUMN:
            out.append(dict(name=col, kind="id", label="Record id (random; not the order of submission)", values=None))
            continue
        if col == "weight":
            out.append(
                dict(
                    name=col,
                    kind="number",
                    values=None,
                    label="Survey weight (raked to the population margins on the released categories)",
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


def rerake(released: pd.DataFrame, weights: pd.DataFrame, protection: dict[str, Any]) -> pd.Series:
    """Weights raked to the population margins on the *released* categories only.

    The margins are those recorded with the weights (``weights.attrs["calibration"]``). Each
    margin's categories are mapped to the released ones (a merged category's target is the sum
    of its parts'; a variable left out of the release collapses the margin to its total), and
    the released records are raked to that (:func:`belmig.weight.rake`). A weight is then a
    function of released values only: it cannot tell apart categories the release merged.
    """
    from belmig import weight as wt

    rec = weights.attrs.get(wt.CALIBRATION_ATTR)
    if rec is None:
        raise ExportError(
            "weights: no calibration record (weights.attrs['calibration']); write them with belmig.weight"
        )
    margins = [wt.Margin.from_record(m) for m in rec["margins"]]
    if not margins:
        return pd.Series(weights["weight"].to_numpy(dtype=float), name="weight")
    frame = pd.DataFrame({"resp_id": [f"x{i}" for i in range(len(released))]})
    new = []
    for m in margins:
        levels, columns = [], {}
        for j, v in enumerate(m.variables):
            if v in protection["dropped"] or v not in released.columns:
                levels.append(("all",))
                columns[v] = ["all"] * len(released)
                continue
            recodes = protection["recodes"].get(v, {})
            rel_levels = []
            for key in m.levels[j]:
                r = recodes.get(key, key)
                if r not in rel_levels:
                    rel_levels.append(r)
            levels.append(tuple(rel_levels))
            columns[v] = released[v].astype("object").where(released[v].notna(), None).tolist()
        targets: dict[tuple[str, ...], float] = {}
        for cat, t in zip(m.categories, m.targets):
            key = tuple(
                "all" if levels[j] == ("all",) else protection["recodes"].get(v, {}).get(c, c)
                for j, (v, c) in enumerate(zip(m.variables, cat))
            )
            targets[key] = targets.get(key, 0.0) + t
        cats = tuple(targets)
        new.append(
            wt.Margin(
                source=m.source,
                variables=m.variables,
                levels=tuple(levels),
                categories=cats,
                targets=tuple(targets[c] for c in cats),
                rows=tuple(range(2, len(cats) + 2)),
            )
        )
        for v, col in columns.items():
            frame[v] = pd.Series(col, dtype=object)
    # raking (IPF) on the released categories; with one margin that is post-stratification
    res = wt.rake(frame, new, max_iter=1000, tolerance=1e-12)
    res.require_converged()
    return pd.Series(np.asarray(res.weights, dtype=float), name="weight")


def _shuffle(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows in a random order and random record ids (both from `seed`): no submission order."""
    rng = np.random.default_rng([int(seed), 14])  # 14: this stream, apart from the synthesis
    order = rng.permutation(len(frame))
    out = frame.iloc[order].reset_index(drop=True)
    width = max(6, len(str(10 * len(frame))))
    ids = rng.choice(9 * 10 ** (width - 1), size=len(frame), replace=False) + 10 ** (width - 1)
    out.insert(0, ID_COLUMN, [f"R{i}" for i in ids])
    return out, order


def release_frame(
    responses: pd.DataFrame,
    weights: pd.DataFrame | None,
    codebook: Codebook,
    privacy_cfg: dict[str, Any],
    seed: int,
    levels: Mapping[str, Mapping[str, str]] | None = None,
    crossed: Mapping[str, set[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """(protected release frame, protection report, variable descriptions).

    `crossed`: {variable: the questions the published tables cross it with} (:func:`crossed_pairs`);
    a value blanked for protection takes the record's answers to those with it (:func:`blank_crossed`).

    `levels`: the merges the estimates made before estimation ({variable: {option: level}},
    issue 16's level plan); the release starts from them, so that it is never finer than the
    published tables (tables by "male+other" next to a release with "male" would give "other"
    away).

    The report's ``attrs["summary"]`` holds the decisions for the report's appendix and the
    README (:func:`summary`).
    """
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
    _variables(responses.drop(columns="resp_id"), cb, {}, meta["coded_labels"])
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
    raking = set()
    if weights is not None:
        from belmig import weight as wt

        rec = weights.attrs.get(wt.CALIBRATION_ATTR) or {"margins": []}
        raking = {v for m in rec["margins"] for v in m["variables"]}
    keep = set(privacy_cfg["release_keep"])
    qi_names = list(privacy_cfg["quasi_identifiers"])
    extra_names = [e for e in privacy_cfg["extra_identifiers"] if e not in qi_names]
    unknown = sorted(keep - set(qi_names) - set(extra_names))
    if unknown:
        raise ExportError(f"config privacy.release_keep: {unknown} are neither quasi- nor extra identifiers")
    qis = _protected(cb, qi_names, "quasi_identifiers", keep, raking, levels)
    extras = _protected(cb, extra_names, "extra_identifiers", keep, raking, levels)
    rel = rel.drop(columns="resp_id")
    anon, report = privacy.k_anonymize(rel, qis, k, extras=extras)
    true = {q.name: kanon._values(rel, q.name) for q in qis + extras if q.name in rel.columns}
    unknown_s = sorted(s for s in privacy_cfg["sensitive"] if s not in cb.by_id)
    if unknown_s:
        raise ExportError(f"config privacy.sensitive: {unknown_s} are not questions of the codebook")
    diverse = diversify(anon, true, [q.name for q in qis], [q.name for q in extras], list(privacy_cfg["sensitive"]))
    report = _with_rows(
        report,
        "diverse",
        {
            q: (int(r.sum()), f"blanked {q} in {int(r.sum())} records: all the records a target with their "
                f"background could be answered it alike")
            for q, r in diverse.items()
        },
    )  # fmt: skip
    blanked = dict(report.attrs["protection"].blanked)
    for q, r in diverse.items():
        blanked[q] = np.asarray(blanked.get(q, np.zeros(len(anon), dtype=bool)), dtype=bool) | r
    followed = blank_follow_on(anon, cb, blanked)
    cross = blank_crossed(anon, cb, blanked, crossed or {}, raking)
    crossing = "in records with a value left empty for protection that the published tables cross it with"
    report = _with_rows(
        report, "cross", {col: (n, f"blanked {n} answers of {col} {crossing}") for col, n in cross.items()}
    )
    report = _with_rows(
        report,
        "follow",
        {
            col: (n, f"blanked {n} answers of {col} asked because of a value left empty for protection")
            for col, n in followed.items()
        },
    )
    prot = {"recodes": report.attrs["recodes"], "dropped": report.attrs["dropped"]}
    names = [q.name for q in qis + extras]
    kept = [n for n in names if n not in prot["dropped"]]
    if weights is not None:
        anon["weight"] = rerake(anon.reset_index(drop=True), weights, prot).to_numpy()
    labels = {}
    for q in qis + extras:
        if q.name in prot["dropped"]:
            continue
        lab = _qi_value_labels(cb[q.name], prot["recodes"][q.name])
        labels[q.name] = lab
        anon[q.name] = pd.Categorical(anon[q.name].astype("object"), categories=list(lab))
    anon = anon.reset_index(drop=True)
    rare_below = max(k, int(privacy_cfg["min_cell"]))
    pooled = pool_rare_codes(anon, rare_below)
    report = _with_rows(
        report,
        "pool",
        {
            col: (n, f"codes held by fewer than {rare_below} records are not released (blank): {', '.join(codes)}")
            for col, (codes, n) in pooled.items()
        },
    )
    risk = privacy.individual_risk(
        anon, [q for q in qi_names if q in kept], anon["weight"].to_numpy() if "weight" in anon.columns else None
    )
    anon, _ = _shuffle(anon, seed)
    prot_obj = report.attrs["protection"]
    report.attrs["summary"] = {
        "k": k,
        "records": int(len(anon)),
        "quasi_identifiers": qi_names,
        "extra_identifiers": extra_names,
        "recodes": prot["recodes"],
        "dropped": prot["dropped"],
        "blanked": {v: int(b.sum()) for v, b in prot_obj.blanked.items() if b.any()},
        "records_with_blanks": int(np.any([b for b in prot_obj.blanked.values()], axis=0).sum()),
        "before": {" + ".join(ks): n for ks, n in prot_obj.before.items()},
        "fewest_candidates": {" + ".join(ks): int(c.min()) for ks, c in prot_obj.counts.items()},
        "information_loss_bits": round(float(prot_obj.loss_bits), 1),
        "weights": "reraked" if weights is not None else "none",
        "raking_variables": sorted(raking),
        "individual_risk": privacy.risk_summary(risk),
        "kept": kept,
        "codes_pooled": {coded_question(col): n for col, (_codes, n) in pooled.items()},
        "follow_on": {v: n for v, n in _by_question(followed, cb).items()},
        "crossed": {v: n for v, n in _by_question(cross, cb).items()},
        "diverse": {q: int(r.sum()) for q, r in diverse.items()},
        "codes_threshold": rare_below,
    }
    return anon, report, _variables(anon, cb, labels, meta["coded_labels"])


def _with_rows(report: pd.DataFrame, step: str, rows: Mapping[str, tuple[int, str]]) -> pd.DataFrame:
    """The protection report with a row per variable of `rows` ({variable: (records, detail)})
    for `step`, before its closing checks ("after: …", the information loss)."""
    if not rows:
        return report
    attrs = report.attrs
    tail = len(report)
    while tail > 0 and report["step"].iloc[tail - 1] == "check":
        tail -= 1
    extra = pd.DataFrame(
        [
            dict(step=step, variable=v, detail=detail, rows_affected=n, violating_after=0)
            for v, (n, detail) in rows.items()
        ]
    ).astype({"rows_affected": "int64", "violating_after": "int64"})
    out = pd.concat([report.iloc[:tail], extra, report.iloc[tail:]]).reset_index(drop=True)
    out.attrs = attrs
    return out


def follow_on_columns(cb: Codebook, variable: str, columns: Sequence[str]) -> list[str]:
    """The released columns of the questions asked because of `variable` (the codebook's
    universes), and of those asked because of them."""
    out: list[str] = []
    for q in cb.questions:
        if q.universe is None or q.universe.question != variable:
            continue
        out += _columns_of(q.id, columns) + follow_on_columns(cb, q.id, columns)
    return out


def _columns_of(question: str, columns: Sequence[str]) -> list[str]:
    """The released columns of a question: itself, or its options and code (``<id>__…``)."""
    return [c for c in columns if c == question or (c.startswith(question + "__") and c[len(question) + 2 :])]


def _blank(frame: pd.DataFrame, col: str, rows: np.ndarray) -> np.ndarray:
    """Blank `col` in `rows` (in place); the rows that held an answer there."""
    hit = rows & frame[col].notna().to_numpy()
    if hit.any():
        frame[col] = frame[col].where(~pd.Series(hit, index=frame.index))
    return hit


def blank_follow_on(frame: pd.DataFrame, cb: Codebook, blanked: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Blank, in place, the answers asked because of a value the protection left empty
    ({column: answers blanked}).

    Whoever skips a question is not asked the ones that follow from it, so a blank with those
    answers present is a blank left for protection, and the published tables then tell which
    value it hides: 5 of 7 blanks of regular income were worked out from chart 8 (the sources of
    income of those with one) and three shares. With them blank too, it reads as a question
    skipped, one among the genuine ones."""
    out: dict[str, int] = {}
    for v, rows in blanked.items():
        rows = np.asarray(rows, dtype=bool)
        if not rows.any():
            continue
        for col in follow_on_columns(cb, v, list(frame.columns)):
            hit = _blank(frame, col, rows)
            if hit.any():
                out[col] = out.get(col, 0) + int(hit.sum())
    return out


# the key families that print a question within the groups of another ({by}.{level}.{question}…)
_CROSSING = ("pctby", "wpctby", "nby", "meanby", "wmeanby")


def crossed_pairs(keys: Sequence[str], cb: Codebook) -> dict[str, set[str]]:
    """{variable: the questions a published value crosses it with}, both ways: from the report's
    keys (``pctby.sex.female.income_regular.no`` crosses sex and income_regular) and the charts
    drawn within a group (chart 8: the sources of income of those with a regular income)."""
    from belmig.core import keys as K

    out: dict[str, set[str]] = {}

    def add(a: str, b: str) -> None:
        if a in cb.by_id and b in cb.by_id and a != b:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)

    for key in keys:
        try:
            k = K.parse(key)
        except ValueError:
            continue
        if k.family in _CROSSING and len(k.parts) >= 3:
            add(k.parts[0], k.parts[2])
    for chart in cb.charts:
        sub = getattr(chart, "subgroup", None)
        if sub is not None and getattr(sub, "question", None):
            add(sub.question, chart.question)
    return out


def blank_crossed(
    frame: pd.DataFrame,
    cb: Codebook,
    blanked: Mapping[str, np.ndarray],
    crossed: Mapping[str, set[str]],
    never: set[str] = frozenset(),
) -> dict[str, int]:
    """Blank, in place, the answers a protective blank's record gives to the questions the
    published tables cross the blanked variable with, and again for those (to a fixed point);
    {column: answers blanked}. Not in `never` (the raking variables).

    Everybody answered sex, age group, municipality and year of arrival, so every blank there is
    known to be protective, and a table by sex tells how many women each answer group holds:
    with the record's answers present, an attacker placed 3 of 9 such blanks among the women
    whatever the others were. With those answers blank too, the record adds to the table's
    "no answer" cell only, which nobody's value can be read from."""
    rows: dict[str, np.ndarray] = {v: np.asarray(b, dtype=bool).copy() for v, b in blanked.items() if np.any(b)}
    out: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for v, r in list(rows.items()):
            for w in sorted(crossed.get(v, ())):
                if w in never:
                    continue
                cols = _columns_of(w, list(frame.columns))
                cols += [c for c in follow_on_columns(cb, w, list(frame.columns)) if c not in cols]
                hit_any = np.zeros(len(frame), dtype=bool)
                for col in cols:
                    hit = _blank(frame, col, r)
                    if hit.any():
                        out[col] = out.get(col, 0) + int(hit.sum())
                        hit_any |= hit
                if hit_any.any():
                    prev = rows.get(w, np.zeros(len(frame), dtype=bool))
                    if (hit_any & ~prev).any():
                        rows[w] = prev | hit_any
                        changed = True
    return out


def _candidates(frame: pd.DataFrame, true: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """[target, record]: whether the released record may be the target's, for an attacker who
    knows the target's true values of `names` (a merged category stands for its parts, a blank
    for anything: ``kanon.compatible``, as the k count)."""
    m = np.ones((len(frame), len(frame)), dtype=bool)
    for q in names:
        if q in frame.columns and q in true:
            m &= kanon.compatible(kanon._values(frame, q), true[q])
    return m


def diversify(
    frame: pd.DataFrame,
    true: Mapping[str, np.ndarray],
    qis: Sequence[str],
    extras: Sequence[str],
    sensitive: Sequence[str],
) -> dict[str, np.ndarray]:
    """Blank, in place, a sensitive question in the records of targets whose every candidate
    record gives it the same answer; {question: records blanked}.

    Someone who knows a target's quasi-identifiers (and one extra identifier) takes the records
    that may be theirs, k of them at least; when all of them answer a sensitive question alike
    ("left Belarus for political reasons": a review learned it of 25 targets from the background
    alone, 56 with their income) the target's answer is known without their record being found
    (distinct l-diversity, with a blank read as possibly anything). One record at a time, the
    candidate record shared by the most such targets then has the whole question blank, so that
    it reads as unanswered, until no target is left; the follow-on and crossed answers are
    blanked after this (release_frame)."""
    n = len(frame)
    base = _candidates(frame, true, qis)
    known = [e for e in extras if e in frame.columns and e in true]
    # the candidate matrices (n × n each), as 0/1 float32 too for the answer counts (exact: < 2**24);
    # an extra's is made again only once a blank has touched its column (the base never is)
    sets: list[tuple[np.ndarray, np.ndarray] | None] = [(base, base.astype(np.float32))] + [None] * len(known)

    def candidate_sets() -> list[tuple[np.ndarray, np.ndarray]]:
        for i, e in enumerate(known, start=1):
            if sets[i] is None:
                m = base & _candidates(frame, true, [e])
                sets[i] = (m, m.astype(np.float32))
        return sets  # type: ignore[return-value]

    out: dict[str, np.ndarray] = {}
    for q in sensitive:
        cols = _columns_of(q, list(frame.columns))
        cols = [c for c in cols if not c.endswith("__code")] or cols
        if not cols:
            continue
        done = np.zeros(n, dtype=bool)
        while True:
            answers = _answer_indicators(frame, cols)
            cover = np.zeros(n, dtype=np.int64)  # records: how many exposed targets they may be
            for m, mf in candidate_sets():
                exposed = np.zeros(n, dtype=bool)
                for ind, blank_col in answers:
                    seen = (mf @ ind) > 0  # [target, column's answer | blank]: some candidate holds it
                    # no candidate blank, and exactly one answer among the candidates
                    exposed |= ~seen[:, blank_col] & (seen.sum(axis=1) == 1)
                cover += m[exposed].sum(axis=0)
            cover[done] = 0
            if not cover.any():
                break
            r = np.zeros(n, dtype=bool)
            r[int(np.argmax(cover))] = True
            for col in _columns_of(q, list(frame.columns)):
                _blank(frame, col, r)
                if col in known:
                    sets[known.index(col) + 1] = None
            done |= r
        if done.any():
            out[q] = done
    return out


def _answer_indicators(frame: pd.DataFrame, cols: Sequence[str]) -> list[tuple[np.ndarray, int]]:
    """Per column: its answers one-hot (records × (distinct answers as text, then "blank"),
    float32) and the index of the blank column."""
    out = []
    for col in cols:
        blank = frame[col].isna().to_numpy()
        text = frame[col].astype("string").fillna("").to_numpy(dtype=object)
        codes, uniques = pd.factorize(text[~blank])
        full = np.full(len(frame), len(uniques), dtype=np.int64)
        full[~blank] = codes
        ind = np.zeros((len(frame), len(uniques) + 1), dtype=np.float32)
        ind[np.arange(len(frame)), full] = 1.0
        out.append((ind, len(uniques)))
    return out


def _by_question(counts: Mapping[str, int], cb: Codebook) -> dict[str, int]:
    """Answers blanked per question (a multiple choice's columns counted once: its records)."""
    out: dict[str, int] = {}
    for col, n in counts.items():
        q = col.split("__", 1)[0] if col.split("__", 1)[0] in cb.by_id else col
        out[q] = max(out.get(q, 0), n)
    return out


def pool_rare_codes(frame: pd.DataFrame, threshold: int) -> dict[str, tuple[list[str], int]]:
    """Blank, in place, every coded open answer (``*__code``) whose code fewer than `threshold`
    records hold; {column: (codes blanked, records)}.

    The codes of open answers are the most telling answers a record has ("lives on a pension"
    held by one respondent picks her record out for whoever knows that of her, with all her
    answers), and the coding table of the cleaning notebook withholds them below `min_cell`:
    the release must not print them. The rare codes are blanked together; while they hold fewer
    than `threshold` records between them, the next rarest code joins them, so that the blank
    itself never marks a small group."""
    out: dict[str, tuple[list[str], int]] = {}
    for col in [c for c in frame.columns if coded_question(c) is not None]:
        counts = frame[col].dropna().astype(str).value_counts()
        counts = counts.iloc[sorted(range(len(counts)), key=lambda i: (counts.iloc[i], counts.index[i]))]
        rare = [c for c, n in counts.items() if n < threshold]
        if not rare:
            continue
        total = int(counts[rare].sum())
        for c, n in counts.items():
            if total >= threshold:
                break
            if c not in rare:
                rare.append(c)
                total += int(n)
        hit = frame[col].astype(object).astype(str).isin(rare) & frame[col].notna()
        frame[col] = frame[col].where(~hit)
        out[col] = (sorted(rare), int(hit.sum()))
    return out


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
        f"Respondent-level data of the survey: every respondent has at least {k} candidate records for "
        f"someone who knows their {', '.join(qis)} (see README.txt); rows in random order, random ids; "
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
                "schema": {"fields": fields, "missingValues": [""], "primaryKey": [ID_COLUMN]},
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


def _readme(n: int, synthetic: bool, report: pd.DataFrame, cb: Codebook, weights: bool) -> str:
    from belmig.privacy import explain

    summary = report.attrs["summary"]
    lines = []
    if synthetic:
        lines += [SYNTHETIC_NOTICE, ""]
    lines += [
        "Migration from Belarus and integration of immigrants in Lithuania (2022 online survey)",
        "Released microdata",
        "",
        f"Respondents: {n}. One row per respondent, in random order; record_id is a random number",
        "(it is not the order in which the questionnaires were submitted, and it is not the id used",
        "inside the pipeline).",
        "Files: microdata.csv (+ datapackage.json), microdata.parquet, microdata.sav (SPSS),",
        "microdata.dta (Stata; long names shortened, see variables.csv), variables.csv,",
        "kanonymity_report.csv (every recoding, left-out variable and blank, with counts).",
        "",
        "Protecting the respondents",
        "",
        "The respondents fled political persecution. The release assumes that a reader may know a",
        "respondent's background and that they took part, and is built so that such a reader cannot",
        "pick out their record:",
        "- no free text: open answers are coded into categories (columns *__code); a code fewer",
        "  than min_cell records hold is left blank, together with the next rarest if need be;",
        "- no timestamps, durations, platform ids, e-mail or IP addresses or contacts;",
    ]
    for sentence in explain.release_sentences(summary, cb):
        lines += _wrap("- " + sentence)
    risk = summary.get("individual_risk") or {}
    if risk:
        lines += _wrap(
            "- Re-identification risk per record (sdcMicro's individual risk, computed on the released "
            f"values): largest {risk['max']:.4f}, mean {risk['mean']:.4f}, 90th percentile {risk['p90']:.4f}; "
            f"{risk['above_0.05']} records above 0.05."
        )
    if not weights:
        lines += ["- Weights: not included (weighting had not run)."]
    lines += [
        "",
        "Weights: " + ("column 'weight' (see above); they sum to the population total." if weights else "none."),
        "",
        "Missing values: empty (CSV), NA (Parquet), system-missing (SPSS), . (Stata). An empty quasi-",
        "identifier may be a question not answered or a value left empty for protection.",
        "",
    ]
    return "\n".join(lines)


def _wrap(text: str, width: int = 94) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, subsequent_indent="  ", break_on_hyphens=False)


def write_release(
    responses: pd.DataFrame,
    weights: pd.DataFrame | None,
    codebook: Codebook,
    privacy_cfg: dict[str, Any],
    outdir: Path | str,
    seed: int,
    summary_path: Path | str | None = None,
    levels: Mapping[str, Mapping[str, str]] | None = None,
    crossed: Mapping[str, set[str]] | None = None,
) -> list[Path]:
    """Write the released microdata into `outdir`; return the paths written.

    All files are written to a temporary folder first and moved into `outdir` only when every
    one succeeded (on error nothing is written).
    """
    import pyreadstat

    outdir = Path(outdir)
    rel, report, variables = release_frame(responses, weights, codebook, privacy_cfg, seed, levels, crossed)
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
        (tmp / names[7]).write_text(
            _readme(len(rel), synthetic, report, codebook, weights is not None), encoding="utf-8"
        )
        written = []
        for n in names:
            os.replace(tmp / n, outdir / n)
            written.append(outdir / n)
        if summary_path is not None:
            from belmig.core import atomic

            atomic.write_text(
                Path(summary_path), json.dumps(report.attrs["summary"], ensure_ascii=False, indent=1) + "\n"
            )
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
