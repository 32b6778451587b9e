"""belmig.integrity.reproduce: published figures against recomputed values, and statements."""

from __future__ import annotations

import pandas as pd

from belmig.core import codebook, paths
from belmig.core.ledger import Values
from belmig.integrity import audit, published as pub, reproduce


def fig(id, printed, question, option="", by="", level="", comparator="=", stat="pct"):
    return {
        "id": id,
        "printed": printed,
        "unit": stat,
        "stat": stat,
        "question": question,
        "option": option,
        "by": by,
        "level": level,
        "comparator": comparator,
        "chart": "",
        "section": "s",
        "share_of": "x",
        "text": "t",
    }


FIGS = pd.DataFrame(
    [
        fig("men", "18.70", "income_regular", "no", "sex", "male"),
        fig("use", "10", "support_programs", "state+ngo", comparator="only"),
        fig("ngo", "a quarter", "support_programs", "ngo", "support_programs", "state+ngo", comparator="about"),
        fig("qol", "7.62", "quality_life", stat="mean"),
        fig("asylum", "8", "legal_status", "asylum", comparator="slightly_more_than"),
        fig("war", "56.12", "war_impact", "negative"),
        {**fig("ext", "335", ""), "stat": "external", "unit": "count", "share_of": ""},
    ],
    columns=pub.FIGURE_COLUMNS,
    dtype="str",
)

STATEMENTS = pd.DataFrame(
    [
        {
            "id": "women",
            "text": "more women without income",
            "condition": "pctby.sex.female.income_regular.no > pctby.sex.male.income_regular.no",
            "section": "s",
        },
        {"id": "half", "text": "over half worse off", "condition": "pct.war_impact.negative > 60", "section": "s"},
        {"id": "missing", "text": "needs a key we lack", "condition": "pct.quality_life.ge8 > 50", "section": "s"},
    ],
    dtype="str",
)

VALUES = {
    "pctby.sex.male.income_regular.no": 100 * 23 / 123,  # 18.699 -> 18.70
    "pctby.sex.female.income_regular.no": 100 * 67 / 170,
    "pct.support_programs.no": 100 * 302 / 335,
    "pct.support_programs.state": 100 * 25 / 335,
    "pct.support_programs.ngo": 100 * 8 / 335,  # 8 of 33 users = 24.24%
    "mean.quality_life": 2553 / 335,  # 7.6209
    "pct.legal_status.asylum": 100 * 24 / 295,  # 8.14
}


def table():
    return reproduce.reproduction_table(FIGS, STATEMENTS, VALUES).set_index("id")


def test_keys():
    f = FIGS.set_index("id", drop=False)
    assert reproduce.figure_keys(f.loc["men"]) == ["pctby.sex.male.income_regular.no"]
    assert reproduce.figure_keys(f.loc["use"]) == ["pct.support_programs.state", "pct.support_programs.ngo"]
    assert reproduce.figure_keys(f.loc["qol"]) == ["mean.quality_life"]


def test_figures_match_at_printed_precision():
    t = table()
    assert "ext" not in t.index  # external statistics are not recomputed
    assert t.loc["men", "recomputed"] == "18.70" and t.loc["men", "match"]
    assert t.loc["use", "recomputed"] == "10" and t.loc["use", "match"]  # 33/335 = 9.85
    assert t.loc["ngo", "recomputed"] == "24.24" and t.loc["ngo", "match"]
    assert t.loc["qol", "recomputed"] == "7.62" and t.loc["qol", "match"]
    assert t.loc["asylum", "match"]


def test_mismatch_and_missing_key_are_reported():
    t = reproduce.reproduction_table(FIGS, STATEMENTS, {**VALUES, "mean.quality_life": 7.6251}).set_index("id")
    assert not t.loc["qol", "match"] and "+0.005" in t.loc["qol", "note"]
    assert not t.loc["war", "match"] and "pct.war_impact.negative" in t.loc["war", "note"]


def test_statements():
    t = table()
    assert t.loc["women", "match"] and t.loc["women", "kind"] == "statement"
    assert t.loc["half", "recomputed"] == "n/a"  # key missing: not silently false
    assert not t.loc["missing", "match"] and "pct.quality_life.ge8" in t.loc["missing", "note"]
    t2 = reproduce.reproduction_table(FIGS, STATEMENTS, {**VALUES, "pct.war_impact.negative": 56.12}).set_index("id")
    assert t2.loc["half", "recomputed"] == "false" and not t2.loc["half", "match"]


def test_to_values():
    vals = reproduce.to_values(table(), Values("estimate", "05_estimate"))
    got = {k: e.value for k, e in vals.entries.items()}
    assert got == {"repro.figures": 6, "repro.matched": 5, "repro.statements": 3, "repro.statements_held": 1}
    assert {e.cell for e in vals.entries.values()} == {"repro-values"}


def test_published_data_reproducible_from_audit_and_assumptions():
    """The audited counts plus our assumed values reproduce every figure but the one conflict."""
    cb = codebook.load()
    figures = pub.read_figures(paths.PUBLISHED_FIGURES, cb)
    ass = pub.read_assumed(paths.ASSUMED_FIGURES, cb)
    res = audit.run(figures, cb, 335, assumed=ass)
    vals: dict[str, float] = {}
    for r in res.counts.itertuples():
        if "+" not in r.option:
            key = f"pct.{r.question}.{r.option}" if not r.by else f"pctby.{r.by}.{r.level}.{r.question}.{r.option}"
            vals[key] = 100 * r.k / r.base
    for r in ass.itertuples():
        key = f"pct.{r.question}.{r.option}" if not r.by else f"pctby.{r.by}.{r.level}.{r.question}.{r.option}"
        vals.setdefault(key, r.value_num)
    for q in cb.of_type("scale"):
        vals[f"mean.{q.id}"] = sum(i * vals[f"pct.{q.id}.v{i}"] for i in range(1, 11)) / 100
        vals[f"pct.{q.id}.ge8"] = sum(vals[f"pct.{q.id}.v{i}"] for i in (8, 9, 10))
    t = reproduce.reproduction_table(figures, pub.read_statements(paths.PUBLISHED / "statements.csv"), vals)
    figs = t[t["kind"] == "figure"]
    assert list(figs.loc[~figs["match"], "id"]) == ["legal_residence_permit"]  # 67.75 vs 200/295 = 67.80
    assert t.loc[t["kind"] == "statement", "match"].all(), t.loc[~t["match"], ["id", "note"]]
