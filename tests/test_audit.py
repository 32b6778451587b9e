"""belmig.integrity.audit: GRIM-style base inference, base choice, conflicts and cross-checks."""

from __future__ import annotations

import pandas as pd
import pytest

from belmig.core import codebook, paths
from belmig.core.ledger import Values
from belmig.integrity import audit, published as pub


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


def figs(*rows: dict) -> pd.DataFrame:
    """A figures table from short dicts (id, printed, question, option, by, level, comparator, stat)."""
    full = []
    for i, r in enumerate(rows):
        stat = r.get("stat", "pct")
        full.append(
            {
                "id": r.get("id", f"f{i}"),
                "printed": r["printed"],
                "unit": stat if stat != "external" else r.get("unit", "count"),
                "stat": stat,
                "question": r.get("question", ""),
                "option": r.get("option", ""),
                "by": r.get("by", ""),
                "level": r.get("level", ""),
                "comparator": r.get("comparator", "="),
                "chart": "",
                "section": "s",
                "share_of": "x" if stat == "pct" else "",
                "text": "t",
            }
        )
    return pd.DataFrame(full, columns=pub.FIGURE_COLUMNS, dtype="str")


def assumed(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "question": q,
                "option": o,
                "by": "",
                "level": "",
                "stat": "pct",
                "value": v,
                "constraint": "none",
                "reason": "test",
            }
            for q, o, v in rows
        ],
        columns=pub.ASSUMED_COLUMNS,
    )


# Follow-up questions need the size of their universe; without a printed figure it is assumed.
PARENTS = (
    ("income_regular", "yes", "70"),
    ("income_regular", "no", "30"),
    ("health_used", "yes", "50"),
    ("health_used", "no", "50"),
    ("education_used", "yes", "30"),
    ("education_used", "no", "70"),
)
BASE = assumed(*PARENTS)
SEX = assumed(
    ("sex", "female", "58.51"), ("sex", "male", "40.90"), ("sex", "other", "0.60"), *PARENTS
)  # 196/137/2 of 335


def row(result, question, by="", level=""):
    b = result.bases
    r = b[(b["question"] == question) & (b["by"] == by) & (b["level"] == level)]
    assert len(r) == 1
    return r.iloc[0]


# ------------------------------------------------------------------ primitives
def test_18_70_of_123_is_23():
    assert audit.pct_counts("18.70", 123) == [23]  # 2300/123 = 18.699...
    assert not audit.pct_consistent("18.70", 122)  # 22/122 = 18.03, 23/122 = 18.85
    assert audit.nearest_count("18.70", 122) == 23


def test_return_plans_bases_are_multiples_of_29():
    got = audit.consistent_bases(["34.48", "20.69", "44.83"], 335)
    assert got == list(range(29, 320, 29))  # 10/29, 6/29, 13/29 and their multiples


def test_half_unit_ties_accept_both_roundings():
    assert audit.pct_counts("13", 8) == [1]  # 12.5 printed as 13 (half up) ...
    assert audit.pct_counts("12", 8) == [1]  # ... or as 12 (half even)


def test_mean_consistency():
    assert audit.mean_totals("4.17", 6) == [25]  # 25/6 = 4.1667
    assert not audit.mean_consistent("4.17", 5)  # totals/5 step by 0.2
    assert audit.mean_consistent("10.00", 3)
    assert not audit.mean_consistent("10.01", 3)  # above the scale maximum
    assert audit.consistent_bases(["8.01"], 93, stat="mean")[-1] == 93  # 745/93 = 8.0108


def test_the_solvers_bases_in_one_pass_are_the_consistency_checks_base_by_base():
    """audit._bases_met (every base a figure allows, in one pass) is pct_consistent /
    mean_consistent asked base by base, on printed shares and means of 0 to 3 decimals; a
    planted off-by-one in the base range is seen."""
    import random

    rng = random.Random(3)
    printed = ["0", "100", "0.0", "100.00", "18.70", "50", "33.3", "66.67", "2.5", "8.81", "4.17", "1.0", "10"]
    printed += [f"{rng.uniform(0, 100):.{rng.choice((0, 1, 2, 3))}f}" for _ in range(40)]
    for text in printed:
        for stat in ("pct", "mean"):
            if stat == "mean" and not 1 <= float(text) <= 10:
                continue
            fig = audit._Fig(id="f", printed=text, comparator="=", stat=stat, options=[] if stat == "mean" else ["x"])
            for scale in ((1, 10), (0, 5)):
                want = [n for n in range(1, 401) if
                        (audit.mean_consistent(text, n, *scale) if stat == "mean" else audit.pct_consistent(text, n))]  # fmt: skip
                assert audit._bases_met(fig, 400, scale) == want, (text, stat, scale)
    fig = audit._Fig(id="f", printed="18.70", comparator="=", stat="pct", options=["x"])
    assert audit._bases_met(fig, 122, (1, 10)) != [n for n in range(1, 124) if audit.pct_consistent("18.70", n)]


def test_compact():
    assert audit.compact([1, 2, 3, 7, 29, 58]) == "1–3,7,29,58"
    assert audit.compact([]) == "none"
    assert audit.compact(list(range(2, 200, 2)), limit=5).startswith("2,4,6,…")


# ------------------------------------------------------------------ base choice
def test_largest_consistent_base_not_above_universe(cb):
    res = audit.run(
        figs(
            {"printed": "34.48", "question": "return_plans", "option": "yes"},
            {"printed": "20.69", "question": "return_plans", "option": "no"},
            {"printed": "44.83", "question": "return_plans", "option": "cant_say"},
        ),
        cb,
        335,
        assumed=BASE,
    )
    r = row(res, "return_plans")
    assert (r.chosen_base, r.status) == (319, "ok")
    assert row(res, "war_impact").status == "assumed" and row(res, "war_impact").chosen_base == 335
    assert set(res.bases.loc[res.bases["by"] == "", "question"]) == {
        q.id for q in cb.of_type("single", "multi", "scale")
    }


def test_conflict_legal_status(cb):
    res = audit.run(
        figs(
            {"printed": "67.75", "question": "legal_status", "option": "residence_permit"},
            {"printed": "14.58", "question": "legal_status", "option": "humanitarian_visa"},
            {"printed": "9.49", "question": "legal_status", "option": "study_work_visa"},
        ),
        cb,
        335,
        assumed=BASE,
    )
    r = row(res, "legal_status")
    # 14.58 and 9.49 share only 295 (43 and 28); 67.75 needs 276 or 307
    assert (r.chosen_base, r.status, r.consistent_bases) == (295, "conflict", "none")
    assert "67.75" in r.note and "200/295 = 67.80" in r.note


def test_follow_up_base_forces_parent_choice(cb):
    # 55.71% fits 280 (156 users) and 289 (161 users); 160 answered the problems question.
    res = audit.run(
        figs(
            {"printed": "55.71", "question": "health_used", "option": "yes"},
            {"printed": "22.50", "question": "health_problems", "option": "none"},
            {"printed": "43.75", "question": "health_problems", "option": "waiting"},
        ),
        cb,
        335,
        assumed=BASE,
    )
    assert row(res, "health_used").chosen_base == 289
    assert row(res, "health_problems").chosen_base == 160
    g = res.groups
    chk = g[(g["check"] == "base_within_universe") & (g["question"] == "health_problems")].iloc[0]
    assert chk["values"].startswith("160 <= 161") and chk["result"] == "pass"


INCOME = (
    {"printed": "69.49", "question": "income_regular", "option": "yes"},
    {"printed": "79.31", "question": "income_source", "option": "employment", "by": "income_regular", "level": "yes"},
    {
        "printed": "21.67",
        "question": "income_source",
        "option": "self_employed",
        "by": "income_regular",
        "level": "yes",
    },
    {
        "printed": "61.11",
        "question": "income_source",
        "option": "savings_relatives",
        "by": "income_regular",
        "level": "no",
    },
    {"printed": "43.33", "question": "income_source", "option": "partner", "by": "income_regular", "level": "no"},
    {"printed": "39.41", "question": "income_regular", "option": "no", "by": "sex", "level": "female"},
    {"printed": "18.70", "question": "income_regular", "option": "no", "by": "sex", "level": "male"},
)


def test_income_subgroups(cb):
    res = audit.run(figs(*INCOME), cb, 335, assumed=SEX)
    assert row(res, "income_regular").chosen_base == 295  # 205 yes + 90 no
    assert row(res, "income_source", "income_regular", "no").chosen_base == 90  # 55/90, 39/90
    yes = row(res, "income_source", "income_regular", "yes")
    assert yes.chosen_base == 203 and "2 in the universe did not answer" in yes.note  # 161/203, 44/203; 205 impossible
    assert row(res, "income_source").chosen_base == 293
    assert row(res, "income_regular", "sex", "female").chosen_base == 170  # 67/170
    assert row(res, "income_regular", "sex", "male").chosen_base == 123  # 23/123
    assert "331 rejected" in row(res, "income_regular").note  # 69.49% of 331 fits, but women+men leave 38
    g = res.groups
    counts = g[(g["check"] == "subgroup_counts_add_up") & (g["question"] == "income_regular")].iloc[0]
    assert counts["values"].startswith("income_regular=no: 67+23 = 90 of 90") and counts["result"] == "pass"
    assert (g["result"] == "pass").all()


def test_subgroup_sizes_need_assumed_split(cb):
    with pytest.raises(audit.AuditError, match="assumed.csv needs a row question=sex, option=female"):
        audit.run(figs(*INCOME), cb, 335, assumed=BASE)


def test_impossible_subgroup_is_a_conflict(cb):
    # nobody of 10 lacks income, yet half of the women do: no subgroup base can hold that
    res = audit.run(
        figs(
            {"printed": "0.00", "question": "income_regular", "option": "no"},
            {"printed": "50.00", "question": "income_regular", "option": "no", "by": "sex", "level": "female"},
        ),
        cb,
        10,
        assumed=assumed(("sex", "female", "50"), ("sex", "male", "50"), ("sex", "other", "0"), *PARENTS),
    )
    women = row(res, "income_regular", "sex", "female")
    assert women.status == "conflict" and "50.00" in women.note


def test_failing_cross_check(cb):
    # two options of one single-choice question at 60% each cannot both hold
    res = audit.run(
        figs(
            {"printed": "60", "question": "war_impact", "option": "negative"},
            {"printed": "60", "question": "war_impact", "option": "none"},
        ),
        cb,
        10,
        assumed=BASE,
    )
    g = res.groups
    bad = g[(g["check"] == "single_choice_sum") & (g["question"] == "war_impact")].iloc[0]
    assert bad["result"] == "fail" and bad["values"] == "6+6 = 12 <= 10"


# ------------------------------------------------------------------ outputs
def test_write_and_values(tmp_path, cb):
    f = figs(
        {"id": "return_yes", "printed": "34.48", "question": "return_plans", "option": "yes"},
        {"id": "respondents", "printed": "335", "stat": "external"},
        {"id": "respondents__intro", "printed": "335", "stat": "external"},
        {"id": "political_prisoners", "printed": "1,300", "stat": "external", "comparator": "more_than"},
    )
    res = audit.run(f, cb, 335, assumed=BASE)
    audit.write(res, tmp_path / "b.csv", tmp_path / "g.csv")
    back = pd.read_csv(tmp_path / "b.csv", keep_default_na=False)
    assert list(back.columns) == audit.BASES_COLUMNS and len(back) == len(res.bases)
    vals = audit.to_values(res, f, Values("audit", "01_audit"))
    e = vals.entries
    assert e["pub.respondents__intro"].text == "335" and e["pub.political_prisoners"].text == "1,300"
    assert e["ext.respondents"].value == 335 and e["ext.political_prisoners"].text == "1,300"
    assert "ext.respondents__intro" not in e
    assert e["audit.conflicts"].value == 0 and e["audit.questions"].value == 27
    assert {x.cell for x in e.values()} == {"audit-values"}


def test_the_sample_size_comes_from_the_figures(cb):
    f = figs(
        {"id": "respondents", "printed": "41", "stat": "external"},
        {"id": "respondents__intro", "printed": "41", "stat": "external"},
        {"id": "return_yes", "printed": "34.15", "question": "return_plans", "option": "yes"},  # 14/41
    )
    assert pub.sample_size(f) == 41
    assert row(audit.run(f, cb, assumed=BASE), "return_plans").chosen_base == 41  # default: the printed size
    with pytest.raises(pub.PublishedError, match="printed once as a whole number, got \\['41', '42'\\]"):
        pub.sample_size(pd.concat([f, figs({"id": "respondents__end", "printed": "42", "stat": "external"})]))
    with pytest.raises(pub.PublishedError, match="got \\[\\]"):
        pub.sample_size(f.iloc[2:])


def test_real_figures_audit(cb):
    f = pub.read_figures(paths.PUBLISHED_FIGURES, cb)
    assert pub.sample_size(f) == 335  # as printed in the 2022 report's summary and introduction
    res = audit.run(f, cb, assumed=pub.read_assumed(paths.ASSUMED_FIGURES, cb))
    b = res.bases
    assert b["chosen_base"].gt(0).all()
    assert list(b.loc[b["status"] == "conflict", "question"]) == ["legal_status"]
    chosen = dict(zip(b.loc[b["by"] == "", "question"], b.loc[b["by"] == "", "chosen_base"]))
    assert chosen["reasons_exit"] == 280 and chosen["support_needs"] == 266 and chosen["discrimination"] == 329
    assert (res.groups["result"] == "pass").all()
