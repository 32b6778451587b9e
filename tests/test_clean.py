"""Cleaning: each step on hand-made submissions, the flow, the responses contract, outputs."""

from __future__ import annotations

import exportkit as ek
import pandas as pd
import pytest

from belmig import clean, ingest
from belmig.clean import CleanError, coding
from belmig.core import codebook, config, ledger, paths

CB = codebook.load()
CFG = config.load()
N = 20
REMOVED_ROWS = (3, 5, 7, 8, 9, 10, 11)  # see scenario()


@pytest.fixture(scope="module")
def rules():
    return coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", CB)


def _blank(df: pd.DataFrame, row: int, qids: list[str]) -> None:
    for qid in qids:
        ek.set_answer(df, CB, row, qid, "")
        if CB[qid].other_column:
            df.loc[df.index[row - 1], CB[qid].other_column] = ""


def _scales(df, row, **values):
    for qid, v in values.items():
        ek.set_answer(df, CB, row, qid, str(v))


def scenario() -> pd.DataFrame:
    """20 submissions; rows 3, 5, 7, 8, 9, 10, 11 each break exactly one rule."""
    df = ek.build_export(CB, N, seed=11)
    answers = [c for c in df.columns if c not in {c.column for c in CB.columns}]
    df.loc[df.index[2], answers] = df.loc[df.index[1], answers].to_numpy()  # row 3 = row 2 again
    ek.set_answer(df, CB, 5, "security_by_comment", "Тестовая запись, не учитывать")
    ek.set_answer(df, CB, 6, "security_by_comment", "Участвовал в протестах")  # not a test marker
    ek.set_answer(df, CB, 7, "arrival_year", CB["arrival_year"].option("before2020").label_ru)
    ek.set_answer(df, CB, 8, "citizen_by", CB["citizen_by"].option("no").label_ru)
    _blank(df, 9, [q.id for q in CB.questions[3:]])  # answers citizen_by, arrival_year, reasons_exit only
    start = pd.Timestamp(df.loc[df.index[9], CB.admin_column("started_at").column])
    ek.set_answer(df, CB, 10, "submitted_at", (start + pd.Timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S"))
    # row 11: straight line on 4 answered grid items
    ek.set_answer(df, CB, 11, "health_used", "Да")
    ek.set_answer(df, CB, 11, "education_used", "Нет")
    _blank(df, 11, ["education_rating", "education_problems"])
    ek.set_answer(df, CB, 11, "health_problems", CB["health_problems"].option("waiting").label_ru)
    _scales(df, 11, security_by=5, security_lt=5, quality_life=5, health_rating=5)
    # row 12: the same value on only 3 answered items: not a straight-liner
    for q in ("health_used", "education_used"):
        ek.set_answer(df, CB, 12, q, "Нет")
    _blank(df, 12, ["health_rating", "health_problems", "education_rating", "education_problems"])
    _scales(df, 12, security_by=5, security_lt=5, quality_life=5)
    # row 13: a health rating although health services were not used (outside the universe)
    ek.set_answer(df, CB, 13, "health_used", "Нет")
    _blank(df, 13, ["health_problems"])
    ek.set_answer(df, CB, 13, "health_rating", "9")
    # row 14: "Other" text for reasons_lithuania without the "Other" option ticked
    ek.set_answer(df, CB, 14, "reasons_lithuania", CB["reasons_lithuania"].option("visa").label_ru)
    df.loc[df.index[13], CB["reasons_lithuania"].other_column] = "Близко к дому"
    # diaspora: everyone knows the organisations and takes part, except row 15 (takes part without
    # knowing any: the one consistency violation), row 16 (knowledge not answered: no violation) and
    # row 17 (knows none, takes no part: consistent); row 9 stays blank (incomplete)
    for row in (r for r in range(1, N + 1) if r != 9):
        ek.set_answer(df, CB, row, "diaspora_known", "Да")
        ek.set_answer(df, CB, row, "diaspora_involved", "Да")
    ek.set_answer(df, CB, 15, "diaspora_known", "Нет")
    ek.set_answer(df, CB, 16, "diaspora_known", "")
    ek.set_answer(df, CB, 17, "diaspora_known", "Нет")
    ek.set_answer(df, CB, 17, "diaspora_involved", "Нет")
    return df


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> pd.DataFrame:
    path = ek.write_csv(scenario(), tmp_path_factory.mktemp("clean") / "scenario.csv")
    return ingest.read_export(path, CB)


@pytest.fixture(scope="module")
def result(ingested, rules) -> clean.CleanResult:
    return clean.clean(ingested, CB, CFG["cleaning"], rules)


SKIP_STEPS = [
    "skip_income_source", "skip_war_impact_comment", "skip_health_rating", "skip_health_problems",
    "skip_education_rating", "skip_education_problems", "consistency_diaspora_involved",
]  # fmt: skip


def test_flow_counts_each_step(result):
    flow = result.flow
    assert list(flow.columns) == ["step", "description", "removed", "remaining", "violations", "notes"]
    assert flow["step"].tolist() == list(clean.STEPS) + SKIP_STEPS
    steps = flow[flow["step"].isin(clean.STEPS)]
    assert steps["removed"].tolist() == [0, 1, 1, 2, 1, 1, 1, 0]
    assert steps["remaining"].tolist() == [20, 19, 18, 16, 15, 14, 13, 13]
    assert steps["violations"].isna().all()


def test_skip_logic_and_consistency_are_counted(result):
    # among the 13 analysed: row 13's health rating (not asked) and row 15's involvement
    skip = result.flow[~result.flow["step"].isin(clean.STEPS)].set_index("step")
    assert (skip["removed"] == 0).all() and (skip["remaining"] == 13).all()
    assert skip["violations"].to_dict() == {s: int(s in ("skip_health_rating", "consistency_diaspora_involved"))
                                            for s in SKIP_STEPS}  # fmt: skip
    desc = skip.loc["consistency_diaspora_involved", "description"]
    assert desc == (
        "diaspora_involved = yes although diaspora_known is not yes: set to missing (cleaning.skip_violations: set_missing)"
    )
    assert skip.loc["skip_health_rating", "description"].startswith("health_rating answered although not asked")


def test_inconsistent_answers_set_missing_or_kept(ingested, rules, result):
    kept = [r for r in range(1, N + 1) if r not in REMOVED_ROWS]
    inv = result.responses["diaspora_involved"].astype(object)
    assert pd.isna(inv[kept.index(15)])  # cleared
    assert inv[kept.index(16)] == "yes" and inv[kept.index(17)] == "no"  # unknown knowledge; consistent
    assert inv.notna().sum() == 12
    keep = clean.clean(ingested, CB, {**CFG["cleaning"], "skip_violations": "keep"}, rules)
    assert keep.responses["diaspora_involved"].astype(object)[kept.index(15)] == "yes"
    row = keep.flow.set_index("step").loc["consistency_diaspora_involved"]
    assert row["violations"] == 1 and row["description"].endswith("kept as given (cleaning.skip_violations: keep)")
    # the rule changes an answer, never who is analysed
    assert keep.responses["resp_id"].tolist() == result.responses["resp_id"].tolist()


def test_consistency_rule_by_hand():
    df = pd.DataFrame({
        "diaspora_known": pd.Categorical(["yes", "no", None, "no", "yes"], categories=["yes", "no"]),
        "diaspora_involved": pd.Categorical(["yes", "yes", "yes", "no", None], categories=["yes", "no"]),
    })  # fmt: skip
    v = clean.consistency_violations(df, CB)
    assert list(v.columns) == ["diaspora_involved"]
    assert v["diaspora_involved"].tolist() == [False, True, False, False, False]
    cleared = clean.clear_answers(df, CB, v)
    assert cleared["diaspora_involved"].isna().tolist() == [False, True, False, False, True]


def test_flow_adds_up(result):
    flow = result.flow
    assert flow["remaining"].iloc[0] - flow["removed"].sum() == flow["remaining"].iloc[-1]
    assert clean.flow_adds_up(flow)
    broken = flow.copy()
    broken.loc[3, "removed"] = 5
    assert not clean.flow_adds_up(broken)


def test_the_right_rows_are_kept(ingested, result):
    kept = ingested[~ingested["row"].isin(REMOVED_ROWS)]
    assert len(result.responses) == 13
    assert result.responses["resp_id"].tolist() == [f"r{i:04d}" for i in range(1, 14)]
    # submission order is kept: the sex answers line up with the kept rows
    assert result.responses["sex"].astype(str).tolist() == kept["sex"].tolist()


def test_step_functions_by_hand(ingested):
    df, _ = clean.clear_out_of_universe(ingested, CB)
    assert clean.duplicate_flags(df, CB).tolist() == [i == 2 for i in range(N)]
    assert clean.test_flags(df, CB, ["test", "тест"]).tolist() == [i == 4 for i in range(N)]  # "протест" is no test
    assert clean.ineligible_flags(df, CFG["cleaning"]).tolist() == [i in (6, 7) for i in range(N)]
    # row 9 answers 3 questions; health/education/income follow-ups are not asked of it:
    # 27 closed questions - 5 outside their universe = 22 applicable
    assert clean.completeness(df, CB).iloc[8] == pytest.approx(3 / 22)
    assert clean.completeness(df, CB).drop([8, 15]).min() == 1.0
    assert clean.completeness(df, CB).iloc[15] == pytest.approx(24 / 25)  # row 16: diaspora_known blank
    fast, cut = clean.speeder_flags(pd.Series([100, 600, 900, 1200, 30]), 0.33)
    assert cut == pytest.approx(0.33 * 600) and fast.tolist() == [True, False, False, False, True]
    grid = CFG["cleaning"]["straightline_grids"]
    assert clean.straightline_flags(df, CB, grid, 4).tolist() == [i == 10 for i in range(N)]
    assert clean.straightline_flags(df, CB, grid, 3)[[10, 11]].tolist() == [True, True]


def test_answers_outside_the_universe_are_cleared_and_counted(ingested, result):
    kept = [r for r in range(1, N + 1) if r not in REMOVED_ROWS]
    assert ingested.loc[12, "health_rating"] == 9
    assert pd.isna(result.responses.loc[kept.index(13), "health_rating"])
    assert ingested.loc[13, "reasons_lithuania__other_text"] == "Близко к дому"
    assert pd.isna(result.responses.loc[kept.index(14), "reasons_lithuania__code"])
    assert (
        result.responses["reasons_lithuania__code"].notna().sum() == result.responses["reasons_lithuania__other"].sum()
    )
    cleared = result.cleared.set_index("column")["cleared"].to_dict()
    assert cleared == {"health_rating": 1, "reasons_lithuania__other_text": 1}


def test_responses_contract(result, ingested):
    r = result.responses
    expected = ["resp_id"]
    for q in CB.questions:
        expected += q.multi_columns() if q.type == "multi" else [] if q.type == "text" else [q.id]
        if q.type == "text" or q.other_column:
            expected.append(f"{q.id}__code")
    assert list(r.columns) == expected
    for q in CB.questions:
        if q.type == "single":
            assert isinstance(r[q.id].dtype, pd.CategoricalDtype)
            assert list(r[q.id].cat.categories) == q.keys
        elif q.type == "multi":
            assert all(str(r[c].dtype) == "boolean" for c in q.multi_columns())
        elif q.type == "scale":
            assert str(r[q.id].dtype) == "Int64"
    for col in [c for c in r.columns if c.endswith("__code")]:
        qid = col[: -len("__code")]
        assert set(r[col].dropna()) <= set(result.responses.attrs["belmig"]["coded_labels"][qid])
    # NA outside universes: nobody who did not use health services has a rating
    assert r.loc[r["health_used"] != "yes", "health_rating"].isna().all()


def test_no_free_text_in_responses(result, ingested):
    texts = set()
    for c in clean.open_text_columns(CB):
        texts |= {t for t in ingested[c].dropna()}
    assert texts
    cells = {v for v in result.responses.astype("object").to_numpy().ravel() if isinstance(v, str)}
    assert not texts & cells


def test_other_coding_counts_the_analysed(result):
    oc = result.other_coding
    assert list(oc.columns) == ["question", "category", "count", "uncoded"]
    per_q = oc.groupby("question")["count"].sum()
    for q in coding.codable_questions(CB):
        assert per_q[q.id] == result.responses[f"{q.id}__code"].notna().sum()


def test_everyone_removed_is_an_error(ingested, rules, tmp_path):
    # nobody is a non-citizen who arrived before 2020 (rows 7 and 8 each break one condition)
    cfg = {**CFG["cleaning"], "eligible_arrival": ["before2020"], "eligible_citizenship": ["no"]}
    with pytest.raises(
        CleanError, match=r"no submission left after step 'ineligible'.*eligible_arrival=\['before2020'\]"
    ):
        clean.clean(ingested, CB, cfg, rules)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"eligible_arrival": ["y2019"]}, r"cleaning.eligible_arrival: 'y2019' is not an option of 'arrival_year'"),
        ({"straightline_grids": [["security_by", "sex"]]}, r"straightline_grids\[0\]: 'sex' is not a scale question"),
        ({"speeder_fraction": None, "extra": 1}, "unknown setting 'extra'"),
        ({"skip_violations": "drop"}, r"skip_violations must be one of \('set_missing', 'keep'\), got 'drop'"),
    ],
)
def test_bad_settings(ingested, rules, change, message):
    cfg = {**CFG["cleaning"], **change}
    with pytest.raises(CleanError, match=message):
        clean.clean(ingested, CB, cfg, rules)


def test_missing_setting(ingested, rules):
    cfg = {k: v for k, v in CFG["cleaning"].items() if k != "test_markers"}
    with pytest.raises(CleanError, match="missing setting 'test_markers'"):
        clean.clean(ingested, CB, cfg, rules)


def test_write_is_atomic(result, tmp_path):
    out = [tmp_path / "responses.parquet", tmp_path / "cleaning_flow.csv", tmp_path / "blocked" / "other.csv"]
    (tmp_path / "blocked").write_text("a file where a folder should be")
    with pytest.raises(OSError):
        clean.write(result, *out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]
    out[2] = tmp_path / "other_coding.csv"
    clean.write(result, *out)
    back = pd.read_parquet(out[0])
    pd.testing.assert_frame_equal(back, result.responses)
    assert back.attrs["belmig"]["coded_labels"] == result.responses.attrs["belmig"]["coded_labels"]
    assert pd.read_csv(out[1])["remaining"].tolist() == result.flow["remaining"].tolist()


def test_ledger_values(result):
    vals = ledger.Values(stage="clean", notebook="03_clean")
    clean.to_values(result, vals)
    e = vals.entries
    assert e["flow.received"].value == 20 and e["flow.analysed"].value == 13
    assert e["flow.ineligible"].value == 2 and e["flow.duplicates"].value == 1
    assert e["flow.skip_health_rating"].value == 1 and e["flow.consistency_diaspora_involved"].value == 1
    assert e["flow.skip_education_rating"].value == 0
    oc = result.other_coding
    rl = oc[oc["question"] == "reasons_lithuania"]
    assert e["other.reasons_lithuania.uncoded"].value == int(rl.loc[rl["uncoded"], "count"].sum())
    assert e["other.reasons_lithuania.coded"].value == int(rl.loc[~rl["uncoded"], "count"].sum())
    ledger.check_prefixes(e)


def test_synthetic_export_cleans_to_335(tmp_path, rules):
    """The project's synthetic export: exactly 335 analysed, each noise kind removed by its step."""
    from belmig import synth
    from belmig.integrity import audit, published

    figs = published.read_figures(paths.PUBLISHED_FIGURES, CB)
    assumed = published.read_assumed(paths.ASSUMED_FIGURES, CB)
    audit.write(audit.run(figs, CB, assumed=assumed), tmp_path / "audit_bases.csv", tmp_path / "audit_groups.csv")
    seed = CFG["seed"]
    export = synth.build(CB, paths.PUBLISHED_FIGURES, paths.ASSUMED_FIGURES, tmp_path / "audit_bases.csv", seed, None)
    path = synth.write_export(export, tmp_path / "synthetic_export.csv")
    df = ingest.read_export(path, CB)
    assert df.attrs["belmig"]["synthetic"] is True
    res = clean.clean(df, CB, CFG["cleaning"], rules)
    flow = res.flow.set_index("step")
    assert flow.loc["analysed", "remaining"] == published.sample_size(figs)
    assert clean.flow_adds_up(res.flow)
    noise = export.attrs["synth"]["noise"]
    assert flow.loc["duplicates", "removed"] == noise["duplicate"]
    assert flow.loc["test_entries", "removed"] == noise["test"]
    assert flow.loc["ineligible", "removed"] == noise["ineligible_arrival"] + noise["ineligible_citizenship"]
    assert flow.loc["incomplete", "removed"] == noise["partial"]
    assert flow.loc["speeders", "removed"] == noise["speeder"]
    assert flow.loc["straightlining", "removed"] == noise["straightliner"]
    assert res.cleared.empty  # the synthetic skip logic is clean
    # but 17 who know no diaspora organisation say they take part (issue 16)
    assert flow.loc["consistency_diaspora_involved", "violations"] == 17
    assert res.responses.attrs["belmig"]["screening"] == {
        "citizen_by": ["yes"],
        "arrival_year": ["y2020", "y2021", "y2022"],
    }
