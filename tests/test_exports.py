"""The released microdata: k-anonymous, no free text, four formats with labels, datapackage."""

from __future__ import annotations

import json

import exportkit as ek
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from belmig import clean, ingest, privacy
from belmig.clean import coding
from belmig.core import codebook, config, paths
from belmig.privacy import explain
from belmig.release import microdata
from belmig.release.microdata import ExportError

CB = codebook.load()
CFG = config.load()
PRIV = CFG["privacy"]
QIS = PRIV["quasi_identifiers"]
EXTRAS = PRIV["extra_identifiers"]
SEED = CFG["seed"]
N = 150
FILES = [
    "microdata.parquet",
    "microdata.csv",
    "microdata.sav",
    "microdata.dta",
    "datapackage.json",
    "variables.csv",
    "kanonymity_report.csv",
    "README.txt",
]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    d = tmp_path_factory.mktemp("release_src")
    raw = ek.build_export(CB, N, seed=9)
    ing = ingest.read_export(ek.write_csv(raw, d / "export.csv"), CB)
    rules = coding.load_rules(paths.CODING_DIR / "keywords.yaml", paths.CODING_DIR / "manual.csv", CB)
    res = clean.clean(ing, CB, CFG["cleaning"], rules)
    return raw, ing, res.responses


@pytest.fixture(scope="module")
def release(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    written = microdata.write_release(source[2], None, CB, PRIV, out, seed=SEED)
    return out, written


def test_files_written(release):
    out, written = release
    assert [p.name for p in written] == FILES
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temp files left


def _released_frames(out):
    csv = pd.read_csv(out / "microdata.csv", dtype=str, keep_default_na=False).replace("", None)
    parquet = pd.read_parquet(out / "microdata.parquet")
    sav, _ = pyreadstat.read_sav(str(out / "microdata.sav"))
    dta, _ = pyreadstat.read_dta(str(out / "microdata.dta"))
    return {"csv": csv, "parquet": parquet, "sav": sav, "dta": dta}


def test_every_released_file_is_k_anonymous_the_attackers_way(release, source):
    out, _ = release
    frames = _released_frames(out)
    truth = source[2]
    cats = {q: CB[q].keys for q in QIS + EXTRAS}
    for fmt in ("csv", "parquet"):
        df = frames[fmt]
        kept = [q for q in QIS if q in df.columns]
        assert kept == QIS  # privacy.release_keep holds every quasi-identifier
        assert privacy.attacker_counts(truth, df, QIS, cats).min() >= PRIV["k_anonymity"], fmt
        for extra in EXTRAS:
            counts = privacy.attacker_counts(truth, df, QIS + [extra], cats)
            assert counts.min() >= PRIV["k_anonymity"], f"{fmt} + {extra}"
        ok, smallest = privacy.check_k_anonymity(df, QIS, PRIV["k_anonymity"])  # the release's own view
        assert ok, f"{fmt}: smallest class {smallest}"
    assert len(frames["csv"]) == N


def test_the_original_data_was_not_k_anonymous(source):
    # otherwise the test above proves nothing
    truth = source[2]
    assert privacy.attacker_counts(truth, truth, QIS).min() < PRIV["k_anonymity"]


def test_rows_are_shuffled_and_ids_are_random(release, source):
    out, _ = release
    parquet = pd.read_parquet(out / "microdata.parquet")
    truth = source[2]
    ids = parquet[microdata.ID_COLUMN]
    assert ids.is_unique and ids.str.fullmatch(r"R\d{6}").all()
    assert not set(ids) & set(truth["resp_id"])
    assert "resp_id" not in parquet.columns
    # the release's rows are not in submission order: a column nobody protects differs in order
    assert sorted(parquet["security_lt"].dropna()) == sorted(truth["security_lt"].dropna())
    assert parquet["security_lt"].astype("Int64").tolist() != truth["security_lt"].astype("Int64").tolist()
    a, order_a = microdata._shuffle(pd.DataFrame({"x": range(50)}), 1)
    b, order_b = microdata._shuffle(pd.DataFrame({"x": range(50)}), 1)
    c, order_c = microdata._shuffle(pd.DataFrame({"x": range(50)}), 2)
    assert a.equals(b) and list(order_a) == list(order_b)  # seeded: the same build gives the same file
    assert list(order_a) != list(order_c) and sorted(order_a) == list(range(50))
    rho = pd.Series(order_a).corr(pd.Series(range(50)), method="spearman")
    assert abs(rho) < 0.5


def test_report_documents_recoding_and_suppression(release, source):
    out, _ = release
    report = pd.read_csv(out / "kanonymity_report.csv")
    assert list(report.columns) == ["step", "variable", "detail", "rows_affected", "violating_after"]
    assert report["step"].iloc[0] == "check" and report["step"].iloc[-1] == "check"
    assert report["violating_after"].iloc[0] > 0
    parquet = pd.read_parquet(out / "microdata.parquet")
    responses = source[2]
    prot = [q for q in QIS + EXTRAS if q in parquet.columns]
    blanked = parquet[prot].isna().sum() - responses[prot].isna().sum()
    sup = report[(report["step"] == "suppress") & report["variable"].notna()].set_index("variable")["rows_affected"]
    assert blanked[blanked > 0].to_dict() == sup.to_dict()
    for q in prot:  # every released category is an original key or a merge of keys
        for cat in parquet[q].dropna().unique():
            assert set(str(cat).split("+")) <= set(CB[q].keys)
    readme = (out / "README.txt").read_text(encoding="utf-8")
    for q in report.loc[report["step"].isin(["recode", "drop"]), "variable"].unique():
        assert explain._name(CB, q) in readme  # each recoded or left-out variable is named
    for v, n in sup.items():
        assert f"{n} of {explain._name(CB, v)}" in readme.replace("\n  ", " ")


def test_no_free_text_and_no_identifiers(release, source):
    out, _ = release
    raw, ing, responses = source
    allowed = (set(responses.columns) - {"resp_id"}) | {microdata.ID_COLUMN}
    texts = set()
    for c in clean.open_text_columns(CB):
        texts |= set(ing[c].dropna())
        texts |= set(raw[CB[c.split("__")[0]].other_column if c.endswith("__other_text") else CB[c].column]) - {""}
    idents = set()
    for c in CB.identifier_columns():
        idents |= set(raw[c.column]) - {""}
    assert texts and idents
    for fmt, df in _released_frames(out).items():
        if fmt != "dta":
            assert set(df.columns) <= allowed, fmt
        cells = {str(v) for v in df.to_numpy().ravel() if v is not None and not pd.isna(v)}
        assert not cells & texts, fmt
        assert not cells & idents, fmt
    blob = "".join((out / f).read_text(encoding="utf-8") for f in FILES if f.endswith((".csv", ".json", ".txt")))
    for value in texts | idents:
        assert value not in blob
    for col in ("response_id", "started_at", "submitted_at", "duration_sec", "row"):
        assert col not in _released_frames(out)["parquet"].columns


def test_datapackage_validates(release):
    from frictionless import validate

    out, _ = release
    report = validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    pkg = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in pkg["resources"][0]["schema"]["fields"]}
    assert fields["security_lt"]["type"] == "integer" and fields["security_lt"]["constraints"] == {
        "minimum": 1,
        "maximum": 10,
    }
    assert fields["reasons_exit__political"]["type"] == "boolean"
    assert fields["return_plans"]["constraints"]["enum"] == ["yes", "no", "cant_say"]
    assert fields["return_plans"]["description"].startswith("Are you planning to go back to Belarus")
    assert pkg["resources"][0]["schema"]["missingValues"] == [""]


def test_spss_and_stata_labels(release):
    out, _ = release
    _, sav = pyreadstat.read_sav(str(out / "microdata.sav"))
    labels = dict(zip(sav.column_names, sav.column_labels))
    assert labels["return_plans"] == "Are you planning to go back to Belarus if the opportunity arises?"
    assert sav.variable_value_labels["return_plans"] == {1.0: "Yes", 2.0: "No", 3.0: "Cannot say"}
    assert sav.variable_value_labels["reasons_exit__political"] == {0.0: "not selected", 1.0: "selected"}
    _, dta = pyreadstat.read_dta(str(out / "microdata.dta"))
    assert all(len(n) <= 32 for n in dta.column_names) and len(set(dta.column_names)) == len(dta.column_names)
    assert all(len(lab) <= microdata.STATA_LABEL_MAX for lab in dta.column_labels)
    assert any(lab.endswith("...") for lab in dta.column_labels)  # long question texts were shortened
    names = pd.read_csv(out / "variables.csv").set_index("name")["stata_name"]
    assert names["education_problems__language_adaptation"] != "education_problems__language_adaptation"
    assert dta.variable_value_labels[names["return_plans"]] == {1: "Yes", 2: "No", 3: "Cannot say"}


def test_formats_hold_the_same_values(release):
    out, _ = release
    f = _released_frames(out)
    codes = {o.key: o.code for o in CB["return_plans"].options}
    assert f["csv"]["return_plans"].map(codes).astype(float).tolist() == f["sav"]["return_plans"].tolist()
    assert (f["parquet"]["security_lt"].astype(float) == f["dta"]["security_lt"]).all()
    assert (
        f["csv"]["reasons_exit__political"].map({"true": 1.0, "false": 0.0}).tolist()
        == f["sav"]["reasons_exit__political"].tolist()
    )


def test_readme_says_synthetic_only_for_the_synthetic_export(source, release, tmp_path):
    out, _ = release
    assert "SYNTHETIC" not in (out / "README.txt").read_text(encoding="utf-8")
    responses = source[2].copy()
    responses.attrs = {"belmig": {**source[2].attrs["belmig"], "synthetic": True}}
    microdata.write_release(responses, None, CB, PRIV, tmp_path, seed=SEED)
    readme = (tmp_path / "README.txt").read_text(encoding="utf-8")
    assert readme.startswith("SYNTHETIC DATA - NOT REAL SURVEY RESPONSES.")
    assert "SYNTHETIC" in json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))["title"]
    assert "Weights: not included" in readme


def test_weights_are_reraked_on_the_released_categories(source, tmp_path):
    from belmig import weight

    responses = source[2]
    margin = weight.read_margins([paths.ROOT / m for m in CFG["weighting"]["margins"]], CB)
    res = weight.rake(responses, margin, max_iter=200, tolerance=1e-10)
    w = weight.weights_frame(responses, res)
    assert w.attrs[weight.CALIBRATION_ATTR]["margins"]
    # raked to municipality: every municipality has its own weight N_m / n_m
    assert w.groupby(responses["municipality"].astype(str).to_numpy())["weight"].nunique().max() == 1
    assert w["weight"].round(6).nunique() == responses["municipality"].nunique()
    microdata.write_release(responses, w, CB, PRIV, tmp_path, seed=SEED)
    parquet = pd.read_parquet(tmp_path / "microdata.parquet")
    assert parquet["weight"].sum() == pytest.approx(w["weight"].sum())
    assert parquet["municipality"].notna().all()  # the raking variable is never blanked
    # the released weight is N_c / n_c of the *released* category c (targets of merged parts added)
    targets = dict(zip([c[0] for c in margin[0].categories], margin[0].targets))
    for cat, grp in parquet.groupby("municipality", observed=True):
        expected = sum(targets[p] for p in str(cat).split("+")) / len(grp)
        assert grp["weight"].to_numpy() == pytest.approx(expected)
    assert parquet["weight"].round(6).nunique() == parquet["municipality"].nunique()
    csv = pd.read_csv(tmp_path / "microdata.csv")
    assert csv["weight"].to_numpy() == pytest.approx(parquet["weight"].to_numpy())
    pkg = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert pkg["resources"][0]["schema"]["fields"][-1]["name"] == "weight"
    assert pkg["resources"][0]["schema"]["fields"][-1]["type"] == "number"
    assert "raked again to the population margins of municipality on the released categories" in " ".join(
        (tmp_path / "README.txt").read_text(encoding="utf-8").split()
    )


def _without_attrs(df: pd.DataFrame) -> pd.DataFrame:
    df.attrs = {}
    return df


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r, w: (r.assign(note=["x"] * len(r)), None), "column 'note' is not a codebook variable"),
        (lambda r, w: (r, w.iloc[1:]), "weights: resp_id does not match"),
        (lambda r, w: (r, w.assign(weight=0.0)), "every weight must be > 0"),
        (lambda r, w: (_without_attrs(r), None), "lacks provenance"),
    ],
)
def test_refusals_write_nothing(source, tmp_path, change, message):
    responses = source[2]
    w = pd.DataFrame({"resp_id": responses["resp_id"], "weight": 1.0})
    r, weights = change(responses.copy(), w)
    with pytest.raises(ExportError, match=message):
        microdata.write_release(r, weights, CB, PRIV, tmp_path, seed=SEED)
    assert list(tmp_path.iterdir()) == []


def test_stata_names():
    names = microdata.stata_names(["a" * 40, "a" * 40 + "b", "short"], limit=30)
    assert names == {"a" * 40: "a" * 30, "a" * 40 + "b": "a" * 28 + "_1", "short": "short"}
    assert microdata.stata_name_limit(60) == 30 and microdata.stata_name_limit(5) == 31


def test_spss_and_stata_headers_carry_a_fixed_timestamp(tmp_path):
    """ReadStat stamps the write time; the release pins it so rebuilds are byte-identical."""
    import pyreadstat

    from belmig.release.microdata import pin_dta_timestamp, pin_sav_timestamp

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    pyreadstat.write_sav(df, tmp_path / "x.sav")
    pyreadstat.write_dta(df, tmp_path / "x.dta")
    pin_sav_timestamp(tmp_path / "x.sav")
    pin_dta_timestamp(tmp_path / "x.dta")
    back, meta = pyreadstat.read_sav(tmp_path / "x.sav")
    assert str(meta.creation_time) == "2022-11-03 00:00:00"
    assert back["a"].tolist() == [1.0, 2.0, 3.0]
    _, meta = pyreadstat.read_dta(tmp_path / "x.dta")
    assert str(meta.creation_time) == "2022-11-03 00:00:00"


def test_rare_codes_of_open_answers_are_blanked_together():
    """Planted leak: a code of an open answer held by one record ("pension") picks that record
    out; the release blanks every code held by fewer than the threshold, with the next rarest
    while the blanked ones are still fewer."""
    frame = pd.DataFrame(
        {
            "income_source__code": ["pension"] + ["grant"] * 2 + ["uncoded"] * 5 + ["freelance"] * 9 + [None] * 3,
            "reasons_exit__code": ["a"] * 6 + ["b"] * 5 + [None] * 9,
            "income_regular": ["yes"] * 20,
        }
    )
    pooled = microdata.pool_rare_codes(frame, 5)
    # pension 1 + grant 2 = 3 < 5: the next rarest, uncoded (5), joins them
    assert pooled == {"income_source__code": (["grant", "pension", "uncoded"], 8)}
    assert frame["income_source__code"].value_counts().to_dict() == {"freelance": 9}
    assert frame["income_source__code"].isna().sum() == 11
    assert frame["reasons_exit__code"].value_counts().to_dict() == {"a": 6, "b": 5}  # nothing rare
    assert frame["income_regular"].eq("yes").all()  # only coded answers are touched


def test_no_released_code_is_rare(release):
    out, _ = release
    parquet = pd.read_parquet(out / "microdata.parquet")
    report = pd.read_csv(out / "kanonymity_report.csv")
    for col in [c for c in parquet.columns if c.endswith("__code")]:
        counts = parquet[col].value_counts()
        assert (counts >= 5).all(), (col, counts[counts < 5].to_dict())
    assert report["detail"].str.contains("codes held by fewer than 5 records").any()


def test_a_protective_blank_reads_as_a_question_skipped(release, source):
    """Planted leak (an attack on the 2022 build): regular income was blanked for protection in
    7 records whose sources of income stayed, so those 7 blanks stood out from the 40 skipped
    ones, and chart 8 with three shares told which were "yes". The answers asked because of a
    blanked value are blanked with it."""
    out, _ = release
    parquet = pd.read_parquet(out / "microdata.parquet")
    responses = source[2]
    for q in [q for q in CB.questions if q.universe is not None and q.universe.question in QIS + EXTRAS]:
        parent = q.universe.question
        cols = [c for c in parquet.columns if c.startswith(q.id + "__") and not c.endswith("__code")]
        if parent not in parquet.columns or not cols:
            continue

        def stands_out(df, parent=parent, cols=cols):
            return int((df[parent].isna() & df[cols].notna().any(axis=1)).sum())

        assert stands_out(parquet) == stands_out(responses)  # no more than the export had
    report = pd.read_csv(out / "kanonymity_report.csv")
    assert (report["step"] == "follow").any() and (report["step"].iloc[-1] == "check")


def test_blank_follow_on_blanks_only_the_questions_asked_because_of_it():
    frame = pd.DataFrame(
        {
            "income_regular": [None, "yes", None],
            "income_source__employment": [True, True, None],
            "income_source__partner": [False, False, None],
            "income_source__code": ["pension", None, None],
            "sex": ["female", None, "male"],
        }
    )
    blanked = {"income_regular": np.array([True, False, False]), "sex": np.array([False, True, False])}
    assert microdata.blank_follow_on(frame, CB, blanked) == {
        "income_source__employment": 1,
        "income_source__partner": 1,
        "income_source__code": 1,
    }
    assert frame.loc[0, ["income_source__employment", "income_source__partner", "income_source__code"]].isna().all()
    assert frame.loc[1, "income_source__employment"] == True  # noqa: E712 (its regular income was not blanked)


def test_the_audit_reads_a_follow_on_blank_as_anything():
    from belmig.privacy import audit as A

    frame = pd.DataFrame(
        {
            "income_regular": [None, "yes", None],
            **{c: [None, None, "false"] for c in CB["income_source"].multi_columns()},
        }
    )
    frame.loc[2, "income_regular"] = "no"
    rv = A.ReleaseView.from_frame(frame, CB, ["income_regular"])
    flag = CB["income_source"].multi_columns()[0]
    assert rv.sets[flag] == [frozenset(["0", "1", A.NA]), frozenset([A.NA]), frozenset(["0"])]
    assert rv.sets["income_regular"][0] == frozenset([*A.variables(CB)["income_regular"].states, A.NA])


def test_the_published_crossings_are_read_from_the_keys_and_the_charts():
    keys = ["pct.sex.female", "pctby.sex.female.income_regular.no", "nby.sex.male.support_needs", "ext.respondents"]
    crossed = microdata.crossed_pairs(keys, CB)
    assert crossed["sex"] == {"income_regular", "support_needs"}
    assert crossed["support_needs"] == {"sex"}
    assert "income_source" in crossed["income_regular"]  # chart 8: within those with a regular income
    assert "ext" not in crossed and "respondents" not in crossed


def test_a_protective_blank_takes_the_answers_its_tables_cross_it_with():
    """Planted leak (the review of the editions): every respondent answered sex, so every sex
    blank is protective, and a table of income by sex told how many of the blanked were women;
    with their income answers present, 3 of 9 were placed among the women whatever the others."""
    frame = pd.DataFrame(
        {
            "sex": [None, "female", "male", None],
            "income_regular": ["yes", "no", "yes", None],
            "income_source__employment": [True, False, True, None],
            "municipality": ["vilnius_city"] * 4,
        }
    )
    blanked = {"sex": np.array([True, False, False, False]), "municipality": np.zeros(4, bool)}
    crossed = {"sex": {"income_regular", "municipality"}, "income_regular": {"sex", "income_source"}}
    got = microdata.blank_crossed(frame, CB, blanked, crossed, never={"municipality"})
    # the income answer, and what follows from it (asked only of those who answered)
    assert got == {"income_regular": 1, "income_source__employment": 1}
    assert frame.loc[0, ["income_regular", "income_source__employment"]].isna().all()
    assert frame.loc[0, "municipality"] == "vilnius_city"  # a raking variable is never blanked
    assert frame.loc[1:2, "income_regular"].tolist() == ["no", "yes"]  # records without a blank kept


def test_the_audit_reads_a_crossed_blank_as_anything_where_a_protected_value_is_blank():
    from belmig.privacy import audit as A

    frame = pd.DataFrame({"sex": [None, "female"], "discrimination": [None, None]})
    rv = A.ReleaseView.from_frame(frame, CB, ["sex"], crossed=["discrimination"])
    everything = frozenset([*A.variables(CB)["discrimination"].states, A.NA])
    assert rv.sets["discrimination"] == [everything, frozenset([A.NA])]


def test_a_sensitive_answer_all_candidates_share_is_blanked_in_one_of_them():
    """Planted fault (a review's attack): knowing a target's background, take the records that
    may be theirs; when all of them left for political reasons, so did the target (25 targets
    from the background alone). Here the 5 women 18-25 all answered "yes"; the 5 men did not
    all answer alike. One record of the women's group gets the question blank (all its columns,
    so that it reads as unanswered), and no target is exposed any more."""
    frame = pd.DataFrame(
        {
            "sex": ["female"] * 5 + ["male"] * 5,
            "age_group": ["age18_25"] * 10,
            "reasons_exit__political": [True] * 5 + [True, False, True, True, True],
            "reasons_exit__economic": [False] * 5 + [True] * 5,
            "discrimination": ["no"] * 4 + [None] + ["no"] * 5,
        }
    )
    true = {"sex": frame["sex"].to_numpy(object), "age_group": frame["age_group"].to_numpy(object)}
    out = microdata.diversify(frame, true, ["sex", "age_group"], [], ["reasons_exit", "discrimination"])
    assert list(out) == ["reasons_exit", "discrimination"]
    # one record of each group: the women all "political", the men all "economic" (another column
    # of the same question); the whole question is blank there
    assert out["reasons_exit"][:5].sum() == 1 and out["reasons_exit"][5:].sum() == 1
    cols = ["reasons_exit__political", "reasons_exit__economic"]
    assert frame.loc[out["reasons_exit"], cols].isna().all(axis=None)
    # discrimination: the women's group has a genuine blank (anything), the men's are all "no"
    assert out["discrimination"][:5].sum() == 0 and out["discrimination"][5:].sum() == 1
    again = microdata.diversify(frame, true, ["sex", "age_group"], [], ["reasons_exit", "discrimination"])
    assert again == {}


def test_no_target_s_candidates_answer_a_sensitive_question_alike_in_the_release():
    built = paths.ROOT / "data" / "release" / "microdata.csv"
    if not built.is_file():
        pytest.skip("needs a built tree (make report)")
    rel = pd.read_csv(built, dtype=str)
    sensitive = PRIV["sensitive"]
    assert any(c.split("__", 1)[0] in sensitive for c in rel.columns)
    rows = pd.read_csv(paths.ROOT / "data" / "release" / "kanonymity_report.csv", dtype=str)
    assert set(rows.loc[rows["step"] == "diverse", "variable"]) <= set(sensitive)
