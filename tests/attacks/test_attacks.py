"""The attack suite on hand-made builds: each planted leak is found, a clean build passes.

The fake build has 20 respondents (truth table below), a codebook with sex (female, male,
other), age (young, old), q1 (yes/no), q2 (multiple choice a, b), q3 (x, y, z), income (yes/no),
a release with sex merged into "male+other", and published values computed from the truth,
so every planted number can be checked by hand:

    sex:    female 10 (rows 1-10), male 8 (11-18), other 2 (19, 20)
    age:    young = rows 1-5, 11-14, 19; old = the rest
    q1 yes: rows 1, 2, 3, 6, 7, 11, 12, 15, 16, 19  (female 5, male 4, other 1)
    q2 a:   rows 1, 2, 4, 6, 8, 10, 11-18            (female 6, male 8, other 0)
    q3:     x 10, y 7, z 3 (rows 15, 16, 18)

With ``BELMIG_ATTACK_BUILD`` set, the integration test runs the suite on that build and
requires that nothing succeeds.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from . import differencing as D, extract, manifest, run, structure

# ------------------------------------------------------------------------------ the fake build

ROWS = [
    # sex, age, q1, a, b, q3
    ("female", "young", "yes", True, False, "x"),
    ("female", "young", "yes", True, False, "x"),
    ("female", "young", "yes", False, True, "x"),
    ("female", "young", "no", True, False, "x"),
    ("female", "young", "no", False, True, "x"),
    ("female", "old", "yes", True, False, "x"),
    ("female", "old", "yes", False, True, "x"),
    ("female", "old", "no", True, False, "y"),
    ("female", "old", "no", False, True, "y"),
    ("female", "old", "no", True, True, "y"),
    ("male", "young", "yes", True, False, "x"),
    ("male", "young", "yes", True, True, "x"),
    ("male", "young", "no", True, False, "y"),
    ("male", "young", "no", True, True, "y"),
    ("male", "old", "yes", True, False, "z"),
    ("male", "old", "yes", True, True, "z"),
    ("male", "old", "no", True, False, "y"),
    ("male", "old", "no", True, True, "z"),
    ("other", "young", "yes", False, True, "x"),
    ("other", "old", "no", False, True, "y"),
]
FREE_TEXT = "Меня задержали после протеста в Минске"

CODEBOOK = {
    "meta": {"multi_separator": ";"},
    "columns": [
        {"id": "response_id", "column": "ID", "role": "admin", "type": "text"},
        {"id": "email", "column": "Email", "role": "identifier", "type": "text"},
    ],
    "questions": [
        {
            "id": "sex",
            "type": "single",
            "column": "Пол",
            "text_en": "Sex",
            "universe": None,
            "options": [
                {"key": "female", "label_ru": "Ж", "label_en": "Female"},
                {"key": "male", "label_ru": "М", "label_en": "Male"},
                {"key": "other", "label_ru": "Другое", "label_en": "Other"},
            ],
        },
        {
            "id": "age_group",
            "type": "single",
            "column": "Возраст",
            "text_en": "Age",
            "universe": None,
            "options": [
                {"key": "young", "label_ru": "молодой", "label_en": "Young"},
                {"key": "old", "label_ru": "старший", "label_en": "Old"},
            ],
        },
        {
            "id": "q1",
            "type": "single",
            "column": "Вопрос 1",
            "text_en": "Q1",
            "universe": None,
            "chart": 1,
            "options": [
                {"key": "yes", "label_ru": "Да", "label_en": "Yes"},
                {"key": "no", "label_ru": "Нет", "label_en": "No"},
            ],
        },
        {
            "id": "q2",
            "type": "multi",
            "column": "Вопрос 2",
            "text_en": "Q2",
            "universe": None,
            "options": [{"key": "a", "label_ru": "А", "label_en": "A"}, {"key": "b", "label_ru": "Б", "label_en": "B"}],
        },
        {
            "id": "q3",
            "type": "single",
            "column": "Вопрос 3",
            "text_en": "Q3",
            "universe": None,
            "chart": 2,
            "options": [
                {"key": "x", "label_ru": "икс", "label_en": "X"},
                {"key": "y", "label_ru": "игрек", "label_en": "Y"},
                {"key": "z", "label_ru": "зет", "label_en": "Z"},
            ],
        },
        {
            "id": "income_regular",
            "type": "single",
            "column": "Доход",
            "text_en": "Income",
            "universe": None,
            "options": [
                {"key": "yes", "label_ru": "Да", "label_en": "Yes"},
                {"key": "no", "label_ru": "Нет", "label_en": "No"},
            ],
        },
        {"id": "comment", "type": "text", "column": "Комментарий", "text_en": "Comment", "universe": None},
    ],
}


def truth() -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["sex", "age_group", "q1", "q2__a", "q2__b", "q3"])
    df.insert(0, "resp_id", [f"r{i:04d}" for i in range(1, 21)])
    df["income_regular"] = "yes"
    df["q4"] = [str((7 * i) % 10 + 1) for i in range(20)]  # a released rating, never published
    for c in ("q2__a", "q2__b"):
        df[c] = df[c].astype("boolean")
    return df


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.2f}"


def published(t: pd.DataFrame, keys: list[str]) -> dict[str, str]:
    """The value of each ledger key computed from the truth (counts, bases, shares)."""
    out = {}
    for key in keys:
        p = key.split(".")
        sub, rest = t, p[1:]
        if p[0] in ("pctby", "nby"):
            sub = t[t[p[1]] == p[2]]
            rest = p[3:]
        q = rest[0]
        ans = sub[[c for c in t.columns if c.startswith(q + "__")]].notna().any(axis=1) if q == "q2" else sub[q].notna()
        n = int(ans.sum())
        if p[0] in ("n", "nby"):
            out[key] = str(n)
            continue
        o = rest[1]
        k = int(sub[f"q2__{o}"].fillna(False).sum()) if q == "q2" else int((sub[q] == o).sum())
        out[key] = str(k) if p[0] == "count" else _pct(k, n)
    return out


def nest(flat: dict[str, str]) -> dict:
    out: dict = {}
    for k, v in flat.items():
        d = out
        parts = k.split(".")
        for x in parts[:-1]:
            d = d.setdefault(x, {})
        d[parts[-1]] = v
    return out


CLEAN_KEYS = [
    "n.sex",
    "count.sex.female",
    "n.q1",
    "pct.q1.yes",
    "pct.q1.no",
    "count.q1.yes",
    "count.q1.no",
    "nby.sex.female.q1",
    "pctby.sex.female.q1.yes",
    "pctby.sex.female.q1.no",
    "n.q3",
    "pct.q3.x",
    "count.q3.x",
]


def release_frame(t: pd.DataFrame, merge_sex: bool = True, order: bool = False) -> pd.DataFrame:
    r = t.drop(columns=["resp_id"]).copy()
    if merge_sex:
        r["sex"] = r["sex"].replace({"male": "male+other", "other": "male+other"})
    r["q2__a"] = r["q2__a"].map({True: "true", False: "false"})
    r["q2__b"] = r["q2__b"].map({True: "true", False: "false"})
    if not order:
        perm = [7, 14, 2, 19, 11, 4, 17, 0, 9, 13, 5, 16, 1, 10, 18, 3, 8, 15, 6, 12]
        r = r.iloc[perm].reset_index(drop=True)
        ids = [f"x{(37 * i + 11) % 97:03d}" for i in range(20)]
    else:
        ids = [f"r{i:04d}" for i in range(1, 21)]
    r.insert(0, "resp_id", ids)
    return r


def make_build(root: Path, plant: str | None = None) -> Path:
    """A build directory; ``plant`` names the one leak to plant (None: the clean build)."""
    t = truth()
    keys = list(CLEAN_KEYS)
    extra_vars: dict[str, str] = {"flow": {"analysed": "20"}}
    for d in ("config", "report", "figures", "notebooks/executed", "data/release", "data/processed", "data/raw"):
        (root / d).mkdir(parents=True, exist_ok=True)
    cfg = {
        "raw_export": "data/raw/export.csv",
        "privacy": {"min_cell": 5, "k_anonymity": 5, "quasi_identifiers": ["sex", "age_group"]},
    }
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    (root / "config" / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    index_html = "<html><body><h1>Reviewers' index</h1><p>Stages and values.</p></body></html>"
    nb = {
        "cells": [{"cell_type": "code", "source": "x = 1", "outputs": [{"output_type": "stream", "text": "ok\n"}]}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    chart = {
        "chart": 1,
        "question": "q1",
        "by": "",
        "level": "",
        "n": 20,
        "mean": None,
        "bars": [
            {"option": "yes", "label": "Yes", "text": "50.00", "suppressed": False, "ledger_key": "pct.q1.yes"},
            {"option": "no", "label": "No", "text": "50.00", "suppressed": False, "ledger_key": "pct.q1.no"},
        ],
    }
    raking = [("young", 10, 1000), ("old", 10, 500)]
    rel_kwargs: dict = {}
    t_rel = t.copy()

    if plant == "primary.published":
        keys += ["count.q3.z"]  # 3 respondents chose z
    elif plant == "differencing.within":
        keys += ["pct.q3.y"]  # z = 20 - 10 - 7 = 3
    elif plant == "differencing.across":
        keys += ["nby.sex.male.q1"]  # other = 20 - 10 - 8 = 2
    elif plant == "primary.test":
        keys += ["count.sex.male"]  # other = 2, and a test comparing it
        extra_vars["pby"] = {"sex": {"q1": {"yes": "0.512"}}}
    elif plant == "differencing.release":
        keys += ["nby.sex.male.q2", "pctby.sex.male.q2.b"]  # male∧b = 4; release: male+other∧b = 6
    elif plant == "differencing.suppressed":
        chart = {
            "chart": 2,
            "question": "q3",
            "by": "",
            "level": "",
            "n": 20,
            "mean": None,
            "bars": [
                {"option": "x", "label": "X", "text": "50.00", "suppressed": False, "ledger_key": "pct.q3.x"},
                {"option": "y", "label": "Y", "text": "35.00", "suppressed": False, "ledger_key": "pct.q3.y"},
                {"option": "z", "label": "Z", "text": "–", "suppressed": True, "ledger_key": None},
            ],
        }
    elif plant == "profiles.singled_out":
        # other = 2 and other∧a = 14 - 6 - 8 = 0: the two male+other records without a are theirs
        keys += [
            "count.sex.male",
            "n.q2",
            "count.q2.a",
            "nby.sex.female.q2",
            "pctby.sex.female.q2.a",
            "nby.sex.male.q2",
            "pctby.sex.male.q2.a",
        ]
    elif plant == "kanon.attacker":
        rel_kwargs["merge_sex"] = False  # "other" released as such: 1 candidate
    elif plant == "kanon.extra":
        t_rel.loc[0, "income_regular"] = "no"  # the only one without income
        t.loc[0, "income_regular"] = "no"
    elif plant == "weights.mix_solved":
        raking = [("female", 10, 1000), ("male", 8, 960), ("other", 2, 400)]  # w = 100, 120, 200
    elif plant == "order.submission":
        rel_kwargs["order"] = True
    rel = release_frame(t_rel, **rel_kwargs)
    if plant == "weights.mix_solved":
        w = {"female": 100.0, "male": 120.0, "other": 200.0}
        # raked weights averaged within released classes (sex × age)
        tw = t_rel.assign(w=t_rel["sex"].map(w), cls=release_frame(t_rel, order=True)["sex"] + "|" + t_rel["age_group"])
        mean = tw.groupby("cls")["w"].transform("mean")
        rel_sorted = release_frame(t_rel, order=True).assign(weight=mean.to_numpy())
        rel = rel_sorted.iloc[[7, 14, 2, 19, 11, 4, 17, 0, 9, 13, 5, 16, 1, 10, 18, 3, 8, 15, 6, 12]].reset_index(
            drop=True
        )
        rel["resp_id"] = [f"x{(37 * i + 11) % 97:03d}" for i in range(20)]
    else:
        rel["weight"] = 1.0
    rel.to_csv(root / "data" / "release" / "microdata.csv", index=False)
    t.to_parquet(root / "data" / "processed" / "responses.parquet")

    flat = published(t, keys)
    variables = nest(flat)
    for k, v in extra_vars.items():
        variables.setdefault(k, {}).update(v)
    (root / "report" / "_variables.yml").write_text(yaml.safe_dump(variables, allow_unicode=True), encoding="utf-8")
    rows = "".join(f"<tr><td><code>{c}</code></td><td>{n}</td><td>{N}</td></tr>" for c, n, N in raking)
    (root / "report" / "report.html").write_text(
        "<html><body><p>Report.</p><table><thead><tr><th>Category</th><th>Respondents</th><th>Population</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></body></html>",
        encoding="utf-8",
    )
    (root / "figures" / f"chart{chart['chart']:02d}.json").write_text(json.dumps(chart), encoding="utf-8")

    # the raw export: ids, e-mails, one free-text answer
    exp = pd.DataFrame(
        {
            "ID": [f"SYN-1000{i:02d}" for i in range(1, 21)],
            "Email": [f"person{i}@example.org" if i % 3 == 0 else "" for i in range(1, 21)],
            "Комментарий": [FREE_TEXT if i == 5 else "" for i in range(1, 21)],
        }
    )
    exp.to_csv(root / "data" / "raw" / "export.csv", index=False)

    if plant == "leaks.free_text":
        index_html = index_html.replace(
            "Stages and values.", "Offending cell: 'меня задержали после протеста в минске'"
        )
    elif plant == "leaks.identifier":
        nb["cells"][0]["outputs"][0]["text"] = "first row SYN-100007 dropped\n"
    elif plant == "leaks.abs_path":
        index_html = index_html.replace("Stages and values.", "input: /work/project/data/raw/export.csv")
    elif plant == "leaks.failed_notebook":
        (root / "notebooks" / "executed" / "02_ingest.failed.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (root / "notebooks" / "executed" / "index.html").write_text(index_html, encoding="utf-8")
    (root / "notebooks" / "executed" / "02_ingest.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    with zipfile.ZipFile(root / "report" / "snakemake-report.zip", "w") as z:
        z.writestr("snakemake-report/report.html", "<html><body>workflow report</body></html>")

    files = manifest.derive(root)
    if plant == "manifest.unlisted":
        files = [f for f in files if not f.endswith("index.html")]
    if plant == "manifest.missing":
        files = files + ["report/report.pdf"]
    (root / "public_manifest.json").write_text(json.dumps({"files": [{"path": f} for f in files]}), encoding="utf-8")
    return root


PLANTS = [
    "primary.published",
    "primary.test",
    "differencing.within",
    "differencing.across",
    "differencing.release",
    "differencing.suppressed",
    "profiles.singled_out",
    "kanon.attacker",
    "kanon.extra",
    "weights.mix_solved",
    "leaks.free_text",
    "leaks.identifier",
    "leaks.abs_path",
    "leaks.failed_notebook",
    "order.submission",
    "manifest.unlisted",
    "manifest.missing",
]


# ----------------------------------------------------------------------------------- tests


def test_clean_build_passes(tmp_path):
    rep = run.attack(make_build(tmp_path))
    fails = [f"{f.attack}: {f.title}" for f in rep.findings if f.severity == "fail"]
    assert fails == [], run.render(rep)
    assert rep.info["facts"] > 0 and rep.info["release"] == "data/release/microdata.csv"
    assert run.main([str(tmp_path)]) == 0


@pytest.mark.parametrize("plant", PLANTS)
def test_each_planted_leak_is_found(tmp_path, plant):
    rep = run.attack(make_build(tmp_path, plant))
    assert rep.count(plant) >= 1, run.render(rep)
    assert rep.failed
    assert run.main([str(tmp_path), "--json", str(tmp_path / "out.json")]) == 1
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["summary"][plant] >= 1


def _titles(rep, attack):
    return [f.title for f in rep.findings if f.attack == attack]


def test_planted_numbers_are_the_hand_checked_ones(tmp_path):
    within = run.attack(make_build(tmp_path / "w", "differencing.within"))
    assert _titles(within, "differencing.within") == ["q3=z = 3"]  # 20 − 10 − 7
    across = run.attack(make_build(tmp_path / "a", "differencing.across"))
    assert "answered q1 ∧ sex=other = 2" in _titles(across, "differencing.across")  # 20 − 10 − 8
    rel = run.attack(make_build(tmp_path / "r", "differencing.release"))
    assert "q2=b ∧ sex=other = 2" in _titles(rel, "differencing.release")  # 6 − 4 (release: male+other∧b)
    sup = run.attack(make_build(tmp_path / "s", "differencing.suppressed"))
    assert [f.title.split(": ", 1)[1] for f in sup.findings if f.attack == "differencing.suppressed"] == ["q3=z = 3"]
    prof = run.attack(make_build(tmp_path / "p", "profiles.singled_out"))
    (title,) = _titles(prof, "profiles.singled_out")
    # rows 19 and 20 of the truth are released as x089 and x023 (see release_frame's permutation)
    assert "sex=other (n = 2)" in title and "verified against the truth" in title
    k = run.attack(make_build(tmp_path / "k", "kanon.attacker"))
    unique = sorted(
        t.split(" {")[0] for t in _titles(k, "kanon.attacker") if t.endswith(": 1 compatible release record(s)")
    )
    assert unique == ["target r0019", "target r0020"]  # the two "other": alone in the release
    assert len(_titles(k, "kanon.attacker")) == 10  # and the 8 men: 4 per age group
    wt = run.attack(make_build(tmp_path / "wt", "weights.mix_solved"))
    assert wt.info["weights"]["solved"] == 2 and wt.info["weights"]["mixed_classes"] == 2  # male+other × age


def test_weights_attack_uses_public_margins_without_a_raking_table(tmp_path):
    root = make_build(tmp_path, "weights.mix_solved")
    (root / "report" / "report.html").write_text("<html><body>no raking table</body></html>", encoding="utf-8")
    assert "weights" not in run.attack(root).info
    (root / "data" / "external").mkdir(parents=True)
    (root / "data" / "external" / "margins_sex.csv").write_text("sex,target\nfemale,1000\nmale,960\nother,400\n")
    v = yaml.safe_load((root / "report" / "_variables.yml").read_text(encoding="utf-8"))
    v["count"]["sex"] = {"female": "10", "male": "8", "other": "2"}
    (root / "report" / "_variables.yml").write_text(yaml.safe_dump(v), encoding="utf-8")
    rep = run.attack(root)
    assert rep.info["weights"]["solved"] == 2 and rep.count("weights.mix_solved") == 1


def test_share_bounds_are_exact():
    # 43.33% of 90 allows exactly 39; 0.30% of 335 exactly 1; 50.00% of an unknown base is open
    st = structure.Structure({"q": structure.Question("q", "multi", ["a"])})
    facts = pd.DataFrame(
        [
            {
                "key": "pct.q.a",
                "text": "43.33",
                "stat": "pct",
                "question": "q",
                "option": "a",
                "by": "",
                "level": "",
                "file": "f",
                "where": "",
            },
            {
                "key": "n.q",
                "text": "90",
                "stat": "n",
                "question": "q",
                "option": "",
                "by": "",
                "level": "",
                "file": "f",
                "where": "",
            },
        ]
    )
    e = D.build(facts, st)
    assert e.fixed(D.cell(("q", "a"))) == 39
    facts.loc[0, "text"], facts.loc[1, "text"] = "0.30", "335"
    assert D.build(facts, st).fixed(D.cell(("q", "a"))) == 1
    e = D.build(facts.iloc[:1], st)
    assert e.fixed(D.cell(("q", "a"))) is None


def test_merged_level_keys_are_unions():
    # female 10 and "male+other" 10 of 20: the merged level is the sum of its parts, and nothing
    # pins "other" alone; adding the male level pins it (20 - 10 - 8 = 2)
    st = structure.Structure(
        {
            "sex": structure.Question("sex", "single", ["female", "male", "other"]),
            "q1": structure.Question("q1", "single", ["yes", "no"]),
        }
    )
    rows = [
        ("n.sex", "20"),
        ("count.sex.female", "10"),
        ("nby.sex.male+other.q1", "10"),
        ("pctby.sex.male+other.q1.yes", "50.00"),
        ("nby.sex.female.q1", "10"),
        ("n.q1", "20"),
    ]
    facts = pd.DataFrame([{"key": k, "text": v, **extract.parse_key(k), "file": "f", "where": ""} for k, v in rows])
    e = D.build(facts, st, root_count=20)
    assert e.fixed(D.cell(("sex", "male+other"), ("q1", "yes"))) == 5
    assert e.fixed(D.cell(("sex", "other"))) is None
    assert D.recoveries(e, 5) == []
    more = pd.concat(
        [
            facts,
            pd.DataFrame(
                [
                    {
                        "key": "count.sex.male",
                        "text": "8",
                        **extract.parse_key("count.sex.male"),
                        "file": "f",
                        "where": "",
                    }
                ]
            ),
        ]
    )
    assert D.build(more, st, root_count=20).fixed(D.cell(("sex", "other"))) == 2


def test_extract_reads_tables_text_and_zip(tmp_path):
    html = (
        "<table><thead><tr><th>Ledger key</th><th>Value</th><th>CI</th><th>Base n</th></tr></thead>"
        "<tbody><tr><td><code>pct.q1.yes</code></td><td>50.00</td><td>30.1–69.9</td><td>20</td></tr>"
        "<tr><td><code>wci.q1.yes</code></td><td>30.1–69.9</td><td>–</td><td>20</td></tr></tbody></table>"
        "<p>The ledger says count.q1.no 10 in text.</p>"
    )
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        z.writestr("inner/page.html", html)
    facts, _ = extract.extract(tmp_path, ["b.zip"], structure.Structure())
    got = {(r.key, r.text, r.derived != "") for r in facts.itertuples()}
    assert ("pct.q1.yes", "50.00", False) in got
    assert ("n.q1", "20", True) in got  # the base column gives the share's base
    assert ("count.q1.no", "10", False) in got
    assert not any(k == "wci.q1.yes" and t == "20" for k, t, _ in got)  # a range is no value


def test_a_pdf_key_is_paired_with_a_number_on_its_own_line_only():
    # pypdf (used when pdftotext is missing) puts the page's footer right after the page's last
    # line: a condition ending in a key, then the page number, is no published value of that key
    col = extract.Collector()
    text = (
        "pct.education_problems.information <\npct.health_problems.information\n29\nMigracija iš Baltarusijos\n"
        "pct.health_problems.language 36.88 29.70–44.68 160 05_estimate\n"
    )
    extract.read_text_pairs(text, col, "report.lt.pdf", "text", extract.PDF_PAIR_RE)
    assert {(f.key, f.text) for f in col.facts} == {("pct.health_problems.language", "36.88")}
    extract.read_text_pairs(text, col, "page.html", "text")  # other text: a value may follow a line break
    assert ("pct.health_problems.information", "29") in {(f.key, f.text) for f in col.facts}


def test_contradictory_facts_end_in_a_conflict_not_a_runaway():
    # 36.88 % of 160 is 59; a second "fact" says 29 % of it (a page number read as a value): the
    # bounds cross, the conflict is recorded with the numbers that crossed, and propagation stops
    st = structure.Structure({"q": structure.Question("q", "multi", ["a", "b"])})
    rows = [("n.q", "160"), ("pct.q.a", "36.88"), ("pct.q.a", "29"), ("pct.q.b", "36.88")]
    facts = pd.DataFrame([{"key": k, "text": v, **extract.parse_key(k), "file": "f", "where": ""} for k, v in rows])
    e = D.build(facts, st, root_count=160)  # before: bounds with thousands of digits, no end
    assert 0 < len(e.conflicts) <= len(e.cells)  # each cell's crossing once
    assert e.conflicts[0].startswith("q=a: bounds 59 > 47 (constraint: pct.q.a = 29")
    assert max(e.lo) < 1000 and all(h is None or h < 1000 for h in e.hi)


def test_manifest_flags_unlisted_and_missing(tmp_path):
    make_build(tmp_path)
    (tmp_path / "public_manifest.json").write_text(json.dumps(["report/_variables.yml", "report/report.pdf"]))
    m = manifest.public_files(tmp_path)
    assert m.missing == ["report/report.pdf"]
    assert "notebooks/executed/index.html" in m.unlisted
    assert "notebooks/executed/index.html" in m.files  # the attacker reads it all the same


@pytest.mark.integration
def test_real_build_leaks_nothing():
    build = os.environ.get("BELMIG_ATTACK_BUILD")
    if not build:
        pytest.skip("set BELMIG_ATTACK_BUILD to a build directory to attack it")
    rep = run.attack(Path(build))
    assert rep.seconds < 60
    assert not rep.failed, run.render(rep, limit=5)


def test_a_blank_the_questionnaire_marks_as_protective_is_found():
    """Planted leak: income_regular blanked for protection while income_source (asked only of
    those who answered income_regular) stays answered: the blank is known to hide an answer."""
    from .kanon import marked_blanks
    from .release import Release

    st = structure.Structure(
        {
            "income_regular": structure.Question("income_regular", "single", ["yes", "no"]),
            "income_source": structure.Question("income_source", "multi", ["job"], asked_if="income_regular"),
        }
    )
    frame = pd.DataFrame(
        {"income_regular": [None, "yes", None], "income_source__job": ["true", "false", None]}, dtype=object
    )
    rel = Release(frame, "microdata.csv", protected={"income_regular"})
    (line,) = marked_blanks(rel, st)
    assert "1 record(s) have income_regular blank but answered income_source" in line
    frame.loc[0, "income_source__job"] = None  # blanked with it: reads as a question skipped
    assert marked_blanks(rel, st) == []
    rel.protected = set()  # not protected: a blank there is a question skipped, nothing to mark
    frame.loc[0, "income_source__job"] = "true"
    assert marked_blanks(rel, st) == []


def test_every_candidate_answering_a_sensitive_question_alike_is_found():
    """Planted leak (a review's attack): the three records a woman 18-25 could be all left for
    political reasons, so she did; a blank among them (possibly anything) ends it."""
    from .kanon import homogeneous
    from .release import Release

    st = structure.Structure(
        {
            "sex": structure.Question("sex", "single", ["female", "male"]),
            "reasons_exit": structure.Question("reasons_exit", "multi", ["political"]),
        }
    )
    frame = pd.DataFrame(
        {"sex": ["female"] * 3 + ["male"] * 3, "reasons_exit__political": ["true"] * 4 + ["false"] * 2}, dtype=object
    )
    truth = pd.DataFrame({"sex": ["female"] * 3 + ["male"] * 3})
    rel = Release(frame, "microdata.csv", protected={"sex"})
    (line,) = homogeneous(rel, truth, ["sex"], st, [], set())
    assert line.startswith("3 target(s) whose candidate records all have reasons_exit__political = true")
    frame.loc[0, "reasons_exit__political"] = None
    assert homogeneous(rel, truth, ["sex"], st, [], set()) == []
