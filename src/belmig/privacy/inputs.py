"""What the build publishes, read from its files as the audit needs it.

* :func:`report_requests`: the values the report editions print (shortcodes, claim conditions,
  the appendix tables), as :class:`belmig.privacy.publish.Request`;
* :func:`chart_facts`, :func:`weighting_facts`, :func:`coding_facts`: values published whatever
  the report does (chart bars and bases, the raking table, the coding table of the cleaning
  notebook), as fixed :class:`belmig.privacy.audit.Fact`;
* :func:`release_view`: the released microdata as the attacker reads them;
* :func:`screening_zeros`: answers nobody analysed can have (the public configuration's
  eligibility rules).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from belmig.core import keys as K
from belmig.core.codebook import Codebook
from belmig.privacy import audit as A, publish as P, suppress

# The headline figures of the appendix table "Unweighted and weighted estimates" (the report
# module's list; repeated here would be a second source of truth).


def headline_keys() -> tuple[str, ...]:
    from belmig.report.build import HEADLINE_KEYS

    return tuple(HEADLINE_KEYS)


def report_requests(
    keys: Mapping[str, Sequence[str]],
    entries: Mapping[str, Any],
    figures_csv: Path | None = None,
    reproduction_csv: Path | None = None,
) -> list[P.Request]:
    """Every value the report editions print (`keys`: :func:`text_keys`), with the role that
    decides what goes first."""
    from belmig.report.textkeys import claim_keys

    text_keys = list(keys["printed"])
    table_keys = claim_keys(keys)  # the values table lists the keys claim conditions read
    for h in headline_keys():
        parts = h.split(".")
        if len(parts) == 2:
            q, o = parts
            table_keys += [K.pct(q, o), K.wpct(q, o), K.wci(q, o), K.n(q)]
        elif parts[0] in ("mean", "wmean"):
            table_keys += [K.mean(parts[1]), K.wmean(parts[1]), K.wci_mean(parts[1]), K.n(parts[1])]
        elif parts[0] in ("pct", "wpct"):
            q, o = parts[1:]
            table_keys += [K.pct(q, o), K.wpct(q, o), K.wci(q, o), K.n(q)]
    reqs = P.requests_for_report(list(dict.fromkeys(text_keys)), list(dict.fromkeys(table_keys)), entries)
    if figures_csv is not None and reproduction_csv is not None:
        reqs += reproduction_requests(figures_csv, reproduction_csv)
    return reqs


_DIFF = re.compile(r"differs by ([+-]\d+\.\d+)")


def reproduction_requests(figures_csv: Path, reproduction_csv: Path) -> list[P.Request]:
    """The reproduction table's recomputed values: one request per figure (``figure.<id>``),
    with the cells it speaks about (the figure's question, options and subgroup are public in
    ``data/published/figures.csv``) and the precision its row reveals (the note's difference
    gives three decimals)."""
    figs = pd.read_csv(figures_csv, dtype=str, keep_default_na=False)
    rep = pd.read_csv(reproduction_csv, dtype=str, keep_default_na=False)
    rep = rep[rep.get("kind", "figure") != "statement"] if "kind" in rep.columns else rep
    by_id = {r["id"]: r for r in figs.to_dict("records")}
    out = []
    for r in rep.to_dict("records"):
        f = by_id.get(r["id"])
        if f is None or f["stat"] not in ("pct", "mean"):
            continue
        text = r["recomputed"]
        m = _DIFF.search(r.get("note", ""))
        if m:
            with contextlib.suppress(ValueError):  # a worded figure has no numeral to add to
                text = f"{float(f['printed'].replace(',', '')) + float(m.group(1)):.3f}"
        q, opts = f["question"], f["option"]
        if f["stat"] == "mean":
            fact = A.Fact(f"figure.{r['id']}", "mean", A.cell((q, A.ANS)), A.cell((q, A.ANS)), text)
        elif f["by"] == q:
            fact = A.Fact(f"figure.{r['id']}", "pct", A.cell((q, opts)), A.cell((q, f["level"])), text)
        elif f["by"]:
            fact = A.Fact(
                f"figure.{r['id']}",
                "pct",
                A.cell((f["by"], f["level"]), (q, opts)),
                A.cell((f["by"], f["level"]), (q, A.ANS)),
                text,
            )
        else:
            fact = A.Fact(f"figure.{r['id']}", "pct", A.cell((q, opts)), A.cell((q, A.ANS)), text)
        out.append(P.Request(f"figure.{r['id']}", "table", text=text, fact=fact))
    return out


def chart_facts(paths: Sequence[Path]) -> list[A.Fact]:
    """Bars, bases and means of the drawn charts (their JSON records); a hidden bar tells that
    its count is at least 1 when zeros are drawn."""
    out: list[A.Fact] = []
    for path in sorted(Path(p) for p in paths):
        rec = json.loads(path.read_text(encoding="utf-8"))
        q, by, lv = rec.get("question") or "", rec.get("by") or "", rec.get("level") or ""
        where = path.name
        pre = ((by, lv),) if by else ()
        for b in rec.get("bars", []):
            opt = b.get("option") or ""
            if b.get("suppressed"):
                # zeros are drawn on charts of all respondents, so a hidden bar there holds
                # someone; on a subgroup chart the estimates may hide an empty cell too
                out.append(P.range_fact(A.cell(*pre, (q, opt)), 0 if by else 1, 10**9, f"{where} {opt} hidden"))
                continue
            key = K.pctby(by, lv, q, opt) if by else K.pct(q, opt)
            out += P.key_facts(key, str(b.get("text")), fixed=True, where=where)
        if rec.get("n") is not None:
            key = K.nby(by, lv, q) if by else K.n(q)
            out += P.key_facts(key, str(rec["n"]), fixed=True, where=where)
        mean = rec.get("mean")
        if mean and not by:
            out += P.key_facts(K.mean(q), str(mean.get("text")), fixed=True, where=where)
    return out


def weighting_facts(diagnostics_csv: Path) -> list[A.Fact]:
    """The raking table prints the respondents of every category of each raking variable."""
    d = pd.read_csv(diagnostics_csv, dtype=str, keep_default_na=False)
    out = []
    for r in d.to_dict("records"):
        var, cat = r.get("variables", ""), r.get("category", "")
        if not var or "," in var or " " in var or not cat or cat.startswith("("):
            continue  # joint margins and the "(missing)" cell: not modelled here
        n = r.get("n", "")
        if n.isdigit():
            out += P.key_facts(K.count(var, cat), n, fixed=True, where=f"weighting table {cat}")
    return out


def cell_weights(diagnostics_csv: Path, weighting: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, float]]]:
    """The weights of each weighted family when they are one per category of one variable, as the
    weighting table and the margins publish them: post-stratification on one variable gives every
    respondent of category s the weight N_s / n_s (``wpct``, ``wmean``); the sensitivity frame
    (``alternative_frame``: the kept categories and one rest) N_g / n_g of its groups (``wpctalt``,
    ``wmeanalt``). Raking over several margins gives weights that vary within every category:
    {} (such weighted values are not audited, docs/disclosure.md)."""
    if weighting.get("method") != "poststratify":
        return {}
    d = pd.read_csv(diagnostics_csv, dtype=str, keep_default_na=False)
    rows = [r for r in d.to_dict("records") if r.get("category") and not r["category"].startswith("(")]
    names = {r.get("variables", "") for r in rows}
    if len(names) != 1 or not next(iter(names)) or "," in next(iter(names)):
        return {}
    (var,) = names
    n = {r["category"]: float(r["n"]) for r in rows if r.get("n", "").replace(".", "", 1).isdigit()}
    target = {r["category"]: float(r["target_count"]) for r in rows if r.get("target_count")}
    if not n or set(n) != set(target):
        return {}
    w = {s: target[s] / n[s] for s in n if n[s] > 0}
    out = {"wpct": (var, w), "wmean": (var, w)}
    frame = weighting.get("alternative_frame") or {}
    if frame.get("question") == var:
        keep = set(frame.get("keep") or [])
        rest = [s for s in n if s not in keep]
        n_rest, t_rest = sum(n[s] for s in rest), sum(target[s] for s in rest)
        alt = {s: (target[s] / n[s] if s in keep else t_rest / n_rest) for s in n if n[s] > 0 and (s in keep or n_rest)}
        out.update(wpctalt=(var, alt), wmeanalt=(var, alt))
    return out


def release_blanked(report_csv: Path, cb: Codebook) -> set[str]:
    """The questions whose answers the release left blank for protection in some records
    (kanonymity_report.csv: local suppression, l-diversity, follow-on and crossed blanks; not the
    pooled codes, which blank a code, not an answer)."""
    rows = pd.read_csv(report_csv, dtype=str, keep_default_na=False)
    out = set()
    for v in rows.loc[rows["step"].isin(["suppress", "diverse", "follow", "cross"]), "variable"]:
        q = v.split("__", 1)[0]
        if q in cb.by_id:
            out.add(q)
    return out


def coding_table(other_coding: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The coding table as the cleaning notebook shows it: counts below `min_cell` (and more,
    where one hidden count would follow from the others and the number of "Other" answers)
    replaced by "–" (the same mark for both: a mark that said "fewer than 5" would give the
    attacker an upper bound)."""
    out = []
    for q, grp in other_coding.groupby("question", sort=False):
        counts = [int(x) for x in grp["count"]]
        hide = suppress.hide_partition(counts, min_cell)
        for (_, r), h, c in zip(grp.iterrows(), hide, counts):
            shown = str(c) if not h else P.SUPPRESSED
            out.append({"question": q, "category": r["category"], "count": shown, "uncoded": r["uncoded"]})
    return pd.DataFrame(out, columns=["question", "category", "count", "uncoded"])


def coding_facts(shown: pd.DataFrame, min_cell: int) -> list[A.Fact]:
    """Facts of the coding table as shown (:func:`coding_table`)."""
    out: list[A.Fact] = []
    for r in shown.to_dict("records"):
        c = str(r["count"])
        if c.isdigit():
            out.append(P.code_fact(r["question"], [r["category"]], c, fixed=True, where="03_clean coding table"))
        elif c == P.SUPPRESSED:  # zeros are shown, so a hidden count is at least 1
            out.append(
                A.Fact(f"range:code {r['question']} {r['category']}", "coderange",
                       (("Y", r["question"], r["category"]),), None, "1..1000000000", True, "03_clean coding table")  # type: ignore[arg-type]
            )  # fmt: skip
    return out


def level_plan_facts(level_plan_csv: Path) -> list[A.Fact]:
    """The level plan's table (appendix and estimation notebook) prints the respondents of every
    level kept or merged (never of a dropped level or of a merged level's parts)."""
    d = pd.read_csv(level_plan_csv, dtype=str, keep_default_na=False)
    out: list[A.Fact] = []
    seen = set()
    for r in d.to_dict("records"):
        if r.get("action") not in ("kept", "merged") or not r.get("n", "").isdigit() or not r.get("level"):
            continue
        key = (r["question"], r["level"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            A.Fact(
                f"level {r['question']}={r['level']}",
                "count",
                A.cell((r["question"], r["level"])),
                None,
                r["n"],
                True,
                "level plan table",
            )  # fmt: skip
        )
    return out


def plan_levels(level_plan_csv: Path) -> dict[str, list[str]]:
    """{subgroup question: the levels it is analysed in} (kept or merged, not dropped)."""
    d = pd.read_csv(level_plan_csv, dtype=str, keep_default_na=False)
    out: dict[str, list[str]] = {}
    for r in d.to_dict("records"):
        if r.get("action") in ("kept", "merged") and r.get("level"):
            lv = out.setdefault(r["question"], [])
            if r["level"] not in lv:
                lv.append(r["level"])
    return out


def release_view(
    release_csv: Path, cb: Codebook, protected: Iterable[str], report: Path | None = None
) -> A.ReleaseView:
    """The release as the attacker reads it; `report`: its kanonymity_report.csv (the questions
    it blanked beside a protective blank, read as possibly anything there)."""
    rel = _release_frame(pd.read_csv(release_csv, dtype=str, keep_default_na=False, na_values=[""]))
    prot = set(protected)
    for c, col in rel.items():  # merged categories mark a protected variable too
        if any(x is not None and "+" in str(x) for x in col.tolist()):
            prot.add(c)
    # the questions whose answers the release blanked beside a protective blank (kanonymity_report.csv)
    crossed = set()
    if report is not None and Path(report).is_file():
        rows = pd.read_csv(report, dtype=str, keep_default_na=False)
        for col in rows.loc[rows["step"] == "cross", "variable"]:
            crossed.add(col.split("__", 1)[0] if col.split("__", 1)[0] in cb.by_id else col)
        # a sensitive question blanked where a target's candidates all answered it alike: any blank
        # of it may be such a one
        prot |= set(rows.loc[rows["step"] == "diverse", "variable"])
    return A.ReleaseView.from_frame(rel, cb, prot, crossed)


def _release_frame(rel: pd.DataFrame) -> pd.DataFrame:
    """The release as read (text columns), as objects with None for a blank: the frame of
    ``rel.astype(object).where(rel.notna(), None)``, in one conversion instead of two passes
    over every column (0.014 s of 0.09 s)."""
    values = rel.to_numpy(dtype=object, na_value=None)
    return pd.DataFrame(values, index=rel.index, columns=rel.columns, dtype=object)


def screening_zeros(cb: Codebook, cleaning: Mapping[str, Any]) -> list[A.Cell]:
    """Answers that screening rules (public configuration) exclude from the analysed sample."""
    out = []
    rules = {"arrival_year": cleaning.get("eligible_arrival"), "citizen_by": cleaning.get("eligible_citizenship")}
    for q, ok in rules.items():
        if ok and q in cb.by_id:
            out += [A.cell((q, o)) for o in cb[q].keys if o not in set(ok)]
    return out
