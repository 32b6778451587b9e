"""The attacker's audit and the publication decisions (belmig.privacy.audit / publish), on
hand-made respondents whose counts can be checked by hand."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from belmig.core import codebook as codebook_mod, keys as K, ledger, paths
from belmig.core.ledger import Entry
from belmig.privacy import audit as A, manifest, publish, suppress as S
from belmig.privacy.publish import Request

PUBLIC_VALUES = paths.PROCESSED / "public_values.json"  # rule protect_values

CB = codebook_mod.load()


def _people(rows: list[tuple[str, str | None, int]]) -> pd.DataFrame:
    """(sex, regular income or None, how many) -> respondents with those two answers."""
    out = []
    for sex, inc, n in rows:
        out += [{"sex": sex, "income_regular": inc}] * n
    df = pd.DataFrame(out)
    df["sex"] = pd.Categorical(df["sex"], categories=CB["sex"].keys)
    df["income_regular"] = pd.Categorical(df["income_regular"], categories=CB["income_regular"].keys)
    return df


# 170 women (67 without income), 123 men (23 without), 2 "other" (both with income), 40 no answer
PEOPLE = _people([("female", "yes", 103), ("female", "no", 67), ("male", "yes", 100), ("male", "no", 23),
                  ("other", "yes", 2), ("female", None, 26), ("male", None, 14)])  # fmt: skip


def _fact(key: str, text: str) -> A.Fact:
    (f,) = publish.key_facts(key, text)
    return f


@pytest.fixture(scope="module")
def model():
    return A.build_model(PEOPLE, CB, ["sex", "income_regular"], [("sex", "income_regular")])


def _pinned(model, facts, cell_, release=False):
    e = model.expr(cell_)
    t = int(model.true_value(e))
    return [r.value for r in A.recoveries(model, facts, 5, release=release, only=[(cell_, e, t)])]


OTHER_INCOME = A.cell(("sex", "other"), ("income_regular", A.ANS))
TOTALS = [_fact("n.sex", "335"), _fact("n.income_regular", "295")]


def test_bases_of_two_levels_give_away_the_third(model):
    facts = TOTALS + [_fact("nby.sex.female.income_regular", "170"), _fact("nby.sex.male.income_regular", "123")]
    assert _pinned(model, facts, OTHER_INCOME) == [2]  # 295 - 170 - 123
    # without the men's base the two "other" could be anywhere between 0 and 125
    assert _pinned(model, facts[:3], OTHER_INCOME) == []


def test_a_share_at_two_decimals_fixes_its_base(model):
    # 18.70% of men have no income: of the bases up to 125 only 123 (23/123 = 18.699%) prints so
    facts = TOTALS + [
        _fact("nby.sex.female.income_regular", "170"),
        _fact("pctby.sex.male.income_regular.no", "18.70"),
    ]
    assert _pinned(model, facts, OTHER_INCOME) == [2]
    # printed with one decimal (18.7%: 23/123, 22/118, 20/107 ...) the base is open again
    facts[-1] = _fact("pctby.sex.male.income_regular.no", "18.7")
    assert _pinned(model, facts, OTHER_INCOME) == []


def test_the_release_is_one_more_linked_table(model):
    # the release merges male and other; with it, the men's base alone gives the 2 away
    rel = pd.DataFrame({
        "sex": ["female"] * 196 + ["male+other"] * 139,
        "income_regular": ["yes"] * 103 + ["no"] * 67 + [None] * 26 + ["yes"] * 102 + ["no"] * 23 + [None] * 14,
    })  # fmt: skip
    m = A.build_model(PEOPLE, CB, ["sex", "income_regular"], [("sex", "income_regular")])
    A.add_release(m, A.ReleaseView.from_frame(rel, CB, ["sex"]))
    facts = [_fact("nby.sex.male.income_regular", "123")]
    assert _pinned(m, facts, OTHER_INCOME, release=True) == [2]  # 125 (release) - 123
    assert _pinned(m, [], OTHER_INCOME, release=True) == []  # the release alone hides it


def test_primary_rules():
    m = A.build_model(PEOPLE, CB, ["sex", "income_regular"], [("sex", "income_regular")])
    assert publish.primary("pct.sex.other", m, 5) == "primary: 2 of 335 respondents"
    assert publish.primary("count.sex.other", m, 5) == "primary: count of 2"
    assert publish.primary("nby.sex.other.income_regular", m, 5) == "primary: base of 2"
    assert publish.primary("pctby.sex.other.income_regular.yes", m, 5) == "primary: base of 2"
    assert publish.primary("pby.sex.income_regular.no", m, 5) == "primary: compares other (n = 2)"
    assert publish.primary("pct.sex.female", m, 5) is None
    # the complement: 293 of 295 answered income... a share of 99.32% says 2 did not
    assert publish.primary("pctby.income_regular.yes.sex.female", m, 5) is None
    df = _people([("female", "yes", 98), ("female", "no", 2)])
    m2 = A.build_model(df, CB, ["sex", "income_regular"], [("sex", "income_regular")])
    assert publish.primary("pctby.sex.female.income_regular.yes", m2, 5) == "primary: complement of 2 (of 100)"


def _entries(pairs: dict[str, str]) -> dict[str, Entry]:
    return {k: Entry(k, float(v.replace(",", "")), v, "pct", "estimate", "05_estimate", "estimate-values")
            for k, v in pairs.items()}  # fmt: skip


def test_secondary_suppression_withholds_the_cheapest_value_that_protects():
    entries = _entries({
        "n.sex": "335", "n.income_regular": "295",
        "pctby.sex.female.income_regular.no": "39.41", "pctby.sex.male.income_regular.no": "18.70",
        "nby.sex.female.income_regular": "170", "nby.sex.male.income_regular": "123",
    })  # fmt: skip
    reqs = publish.requests_for_report(
        ["n.sex", "n.income_regular", "pctby.sex.female.income_regular.no", "pctby.sex.male.income_regular.no"],
        entries=entries,
    )
    pub = publish.protect(entries, reqs, PEOPLE, CB, 5)
    withheld = {d.key: d for d in pub.withheld()}
    # Bases printed only in the values table go first, but they are not enough: at two decimals
    # the shares fix their bases (39.41% fits only 170, 203, 236 or 269 respondents, 18.70% only
    # 123, 230, 246 or 262; only 170 + 123 fit in 295). The men's share (the smaller cell) is then
    # printed to whole percent (19%: many bases fit), which is enough; the women's base, which
    # the rounding no longer needs, is put back.
    assert set(withheld) == {"nby.sex.male.income_regular"}
    assert all(d.reason.startswith("secondary") for d in withheld.values())
    men = pub.decisions["pctby.sex.male.income_regular.no"]
    assert men.public and men.text == "19" and "rounded to whole percent" in men.reason
    assert pub.decisions["nby.sex.female.income_regular"].public
    assert any("sex=other" in r for r in pub.recoveries_before)
    # the ledger as published: withheld values print "–", a share whose base is withheld loses
    # its base and interval, and nothing that was not asked for leaves
    entries["pct.sex.other"] = Entry("pct.sex.other", 0.6, "0.60", "pct", "estimate", "05_estimate", "x")
    shown = publish.public_ledger(entries, pub)
    assert shown["nby.sex.male.income_regular"].text == publish.SUPPRESSED
    assert shown["pctby.sex.male.income_regular.no"].text == "19"
    assert (
        shown["pctby.sex.male.income_regular.no"].n is None and shown["pctby.sex.male.income_regular.no"].ci_low is None
    )
    assert "pct.sex.other" not in shown
    assert "nby.sex.male.income_regular" not in publish.public_ledger(entries, pub, marks=False)


def test_values_published_anyway_stop_the_build_when_they_disclose():
    entries = _entries({"pct.sex.female": "58.51"})
    fixed = [_fact("n.sex", "335"), _fact("n.income_regular", "295"), _fact("nby.sex.female.income_regular", "170"),
             _fact("nby.sex.male.income_regular", "123")]  # fmt: skip
    fixed = [A.Fact(f.id, f.stat, f.cell, f.base, f.text, True, "chart99.json") for f in fixed]
    with pytest.raises(publish.DisclosureError, match=r"answered income_regular ∧ sex=other = 2 .*chart99"):
        publish.protect(entries, [Request("pct.sex.female", "text")], PEOPLE, CB, 5, fixed=fixed)
    # a requested value that gives it away is withheld instead
    entries = _entries({"n.income_regular": "295"})
    pub = publish.protect(entries, [Request("n.income_regular", "text")], PEOPLE, CB, 5, fixed=fixed[:1] + fixed[2:])
    assert [d.key for d in pub.withheld()] == ["n.income_regular"]


def test_publication_round_trips_through_json(tmp_path):
    entries = _entries({"n.sex": "335"})
    pub = publish.protect(entries, [Request("n.sex", "text"), Request("flow.analysed", "text")], PEOPLE, CB, 5)
    p = tmp_path / "public_values.json"
    p.write_text(json.dumps(pub.to_json()), encoding="utf-8")
    back = publish.load(p)
    assert back.decisions == pub.decisions and back.min_cell == 5
    assert back.decisions["flow.analysed"].role == "info" and back.decisions["flow.analysed"].public


def test_partition_suppression_by_hand():
    # codes of "Other" reasons: 22, 48, 11, 4, 4 -> both 4s hidden; they sum to 8 = 2 * 4, so if
    # the reader took them to be "fewer than 5" each they would both be 4: the 11 goes too
    assert S.hide_partition([22, 48, 11, 4, 4], 5) == [False, False, True, True, True]
    assert S.hide_partition([22, 48, 11, 4, 3], 5) == [False, False, False, True, True]
    assert S.hide_partition([9, 6, 0, 3], 5) == [False, True, False, True]  # a zero stays


def test_manifest_lists_files_with_checksums(tmp_path, monkeypatch):
    from belmig.core import paths

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "report").mkdir()
    (tmp_path / "report/report.pdf").write_bytes(b"%PDF")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks/index.html").write_text("<html>", encoding="utf-8")
    m = manifest.write(tmp_path / "public_manifest.json", ["report/report.pdf"], ["notebooks/index.html"])
    assert [(f["path"], f["audience"], f["bytes"]) for f in m["files"]] == [
        ("notebooks/index.html", "reviewer", 6), ("report/report.pdf", "public", 4),
    ]  # fmt: skip
    assert (
        m["files"][1]["sha256"] == "315d429b7714cedb6ad04ac31240145257692630457f3c88253c5beceac76027"
    )  # sha256 of b"%PDF"
    (tmp_path / "report/bundle.zip").write_bytes(b"PK")
    m = manifest.extend(tmp_path / "public_manifest.json", ["report/bundle.zip"])
    assert [f["path"] for f in m["files"]] == ["notebooks/index.html", "report/bundle.zip", "report/report.pdf"]
    with pytest.raises(FileNotFoundError, match="not a file"):
        manifest.write(tmp_path / "m.json", ["report/missing.pdf"])


def _counting_sha256(monkeypatch):
    read = []
    real = manifest.sha256
    monkeypatch.setattr(manifest, "sha256", lambda path: read.append(Path(path).name) or real(path))
    return read


def test_the_manifest_reads_again_only_the_files_that_changed_since_its_last_run(tmp_path, monkeypatch):
    from belmig.core import paths

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(manifest, "RACY_NS", 0)  # (the racy case: the next test)
    for name, data in (("a.pdf", b"%PDF"), ("b.html", b"<html>"), ("c.csv", b"x,y")):
        (tmp_path / name).write_bytes(data)
    hashes, files = tmp_path / ".snakemake/belmig/file_hashes.json", ["a.pdf", "b.html", "c.csv"]
    read = _counting_sha256(monkeypatch)
    first = manifest.write(tmp_path / "m.json", files, hashes=hashes)
    assert read == ["a.pdf", "b.html", "c.csv"] and first == manifest.build(files)
    read.clear()
    assert manifest.write(tmp_path / "m.json", files, hashes=hashes) == first and read == []
    # new bytes of the same size; the old modification time put back: the change time still moved
    before = os.stat(tmp_path / "b.html")
    (tmp_path / "b.html").write_bytes(b"<HTML>")
    os.utime(tmp_path / "b.html", ns=(before.st_atime_ns, before.st_mtime_ns))
    (tmp_path / "c.csv").write_bytes(b"x,y,z")
    read.clear()
    again = manifest.write(tmp_path / "m.json", files, hashes=hashes)
    assert sorted(read) == ["b.html", "c.csv"]
    assert again == manifest.build(files) != first
    hashes.write_text("{not json", encoding="utf-8")  # a broken record: every file is read
    read.clear()
    assert manifest.write(tmp_path / "m.json", files, hashes=hashes) == again and len(read) == 3


def test_the_manifest_does_not_trust_a_record_written_just_after_a_file_changed(tmp_path, monkeypatch):
    from belmig.core import paths

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    hashes = tmp_path / "file_hashes.json"
    read = _counting_sha256(monkeypatch)
    manifest.write(tmp_path / "m.json", ["a.pdf"], hashes=hashes)
    manifest.write(tmp_path / "m.json", ["a.pdf"], hashes=hashes)
    assert read == ["a.pdf", "a.pdf"]  # changed less than RACY_NS before the record: read again


def test_the_manifest_names_a_file_by_its_real_path_as_paths_rel_does(tmp_path, monkeypatch):
    from belmig.core import paths

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "real/a.pdf").write_bytes(b"%PDF")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "link.pdf").symlink_to(tmp_path / "real/a.pdf")
    for given in ("alias/a.pdf", "link.pdf", "real/../real/a.pdf", str(tmp_path / "alias/a.pdf")):
        assert manifest.entry(given, "public")["path"] == paths.rel(tmp_path / given) == "real/a.pdf"


def test_a_small_count_published_anyway_stops_the_build():
    # a raking table that prints a municipality of 3 respondents cannot be withheld here
    fixed = [A.Fact("count.sex.other", "count", A.cell(("sex", "other")), None, "2", True, "weighting table")]
    with pytest.raises(publish.DisclosureError, match=r"rest on fewer than 5 respondents: count.sex.other = 2"):
        publish.protect(_entries({"n.sex": "335"}), [Request("n.sex", "text")], PEOPLE, CB, 5, fixed=fixed)


def test_the_count_of_reproduced_figures_is_withheld_with_a_figure():
    """A withheld recomputed 2022 figure: "x of y figures are reproduced" would tell whether it
    matched its printed value, and with the printed value and its wording ("exact"), the value."""
    entries = _entries({"n.sex": "335"})
    entries["repro.matched"] = Entry("repro.matched", 72, "72", "int", "estimate", "05_estimate", "repro-values")
    small = A.Fact("figure.other_share", "pct", A.cell(("sex", "other")), A.cell(("sex", A.ANS)), "0.60")
    reqs = [
        Request("n.sex", "text"),
        Request("repro.matched", "text"),
        Request("figure.other_share", "table", fact=small),
    ]
    pub = publish.protect(entries, reqs, PEOPLE, CB, 5)
    withheld = {d.key: d for d in pub.withheld()}
    assert set(withheld) == {"figure.other_share", "repro.matched"}
    assert withheld["figure.other_share"].reason.startswith("primary")
    assert withheld["repro.matched"].reason == "secondary: counts whether figure.other_share match the 2022 report"
    assert publish.public_ledger(entries, pub)["repro.matched"].text == publish.SUPPRESSED
    # a figure that is shown leaves the count alone
    shown = A.Fact("figure.women", "pct", A.cell(("sex", "female")), A.cell(("sex", A.ANS)), "58.51")
    pub = publish.protect(entries, [*reqs[:2], Request("figure.women", "table", fact=shown)], PEOPLE, CB, 5)
    assert pub.public("repro.matched") and not pub.withheld()


def test_a_value_the_audit_never_saw_is_not_printed():
    """Planted leak (an edition printed a count of one respondent that English does not use, so
    rule protect_values never reviewed it): the edition's render refuses such a value, and the
    ledger the text is rendered from prints "–" for it anyway."""
    from belmig.report import keycheck

    entries = _entries({"n.sex": "335"})
    entries["count.security_lt.v1"] = Entry("count.security_lt.v1", 1, "1", "int", "estimate", "05_estimate", "x")
    entries["flow.analysed"] = Entry("flow.analysed", 335, "335", "int", "clean", "03_clean", "flow")
    pub = publish.protect(entries, [Request("n.sex", "text")], PEOPLE, CB, 5)
    shown = publish.marked(entries, pub)
    assert shown["n.sex"].text == "335" and shown["flow.analysed"].text == "335"  # reviewed / information
    assert shown["count.security_lt.v1"].text == publish.SUPPRESSED
    text = "Iš viso {{< var n.sex >}}.\n\nPROBE{{< var count.security_lt.v1 >}}PROBE ir {{< var flow.analysed >}}.\n"
    (p,) = keycheck.unreviewed_keys(text, pub.decisions, publish.INFO_FAMILIES, "report/report.lt.qmd")
    assert p.key == "count.security_lt.v1" and p.line == 3
    assert str(p).startswith("report/report.lt.qmd:3: ledger key 'count.security_lt.v1' is printed here")


@pytest.mark.skipif(not (paths.LEDGER.exists() and PUBLIC_VALUES.exists()), reason="needs a build (make report)")
def test_the_rendered_ledger_decides_every_value_as_the_rule_says():
    """publish.marked decides an entry when it is read: on the built ledger, every value reads as
    the rule says (reviewed and public as it is or rounded, withheld or never reviewed: the mark)."""
    import dataclasses

    entries = ledger.load(paths.LEDGER)
    pub = publish.load(PUBLIC_VALUES)
    shown = publish.marked(entries, pub)
    assert len(shown) == len(entries) and list(shown) == list(entries) and "no.such.key" not in shown
    kinds = set()
    for key, e in entries.items():
        d = pub.decisions.get(key)
        if d is None:
            info = K.family(key) in publish.INFO_FAMILIES
            expect = e if info else publish.withheld_text(e)
            kinds.add("information" if info else "never reviewed")
        elif not d.public:
            expect, _ = publish.withheld_text(e), kinds.add("withheld")
        elif d.text is not None:
            expect, _ = dataclasses.replace(e, text=d.text), kinds.add("rounded")
        else:
            expect, _ = e, kinds.add("public")
        assert shown[key] == expect, key
        assert shown[key] is shown[key]  # decided once
    assert {"withheld", "never reviewed", "public"} <= kinds
    with pytest.raises(KeyError):
        shown["no.such.key"]


def _weighted_people() -> pd.DataFrame:
    """Vilnius city: 20 with a regular income, 20 without; Šiauliai: 2 with, 1 without."""
    rows = [("vilnius_city", "yes")] * 20 + [("vilnius_city", "no")] * 20
    rows += [("siauliai_city", "yes")] * 2 + [("siauliai_city", "no")]
    df = pd.DataFrame(rows, columns=["municipality", "income_regular"])
    df["municipality"] = pd.Categorical(df["municipality"], categories=CB["municipality"].keys)
    df["income_regular"] = pd.Categorical(df["income_regular"], categories=CB["income_regular"].keys)
    return df


def test_a_weighted_share_over_a_small_weighting_cell_is_withheld(tmp_path):
    """Planted fault (a review's attack): post-stratified weights are public (the margins and the
    respondents of each municipality), so each weighted share is one more equation on the table
    municipality × answer; with its interval and effective base a review solved that table for 5
    of 7 questions, undoing the release's merged municipalities. Here Šiauliai's 3 respondents
    (2 with, 1 without income) weigh 10 times Vilnius city's: the weighted share and its interval
    are withheld; with one weight for the whole frame (its rest) the cell is 22 of 43 and prints."""
    from belmig.privacy import inputs

    diag = tmp_path / "weighting_diagnostics.csv"
    diag.write_text(
        "margin,variables,category,n,target_count\n"
        "m.csv,municipality,vilnius_city,40,40000\nm.csv,municipality,siauliai_city,3,30000\n",
        encoding="utf-8",
    )
    cfg = {"method": "poststratify", "alternative_frame": {"question": "municipality", "keep": []}}
    weights = inputs.cell_weights(diag, cfg)
    assert weights["wpct"] == ("municipality", {"vilnius_city": 1000.0, "siauliai_city": 10000.0})
    assert weights["wpctalt"][1] == {"vilnius_city": 70000 / 43, "siauliai_city": 70000 / 43}
    assert inputs.cell_weights(diag, {**cfg, "method": "rake"}) == {}
    people = _weighted_people()
    keys = ["wpct.income_regular.yes", "wci.income_regular.yes", "wpctalt.income_regular.yes", "pct.income_regular.yes"]
    entries = _entries({"wpct.income_regular.yes": "54.55", "wci.income_regular.yes": "40",
                        "wpctalt.income_regular.yes": "51.16", "pct.income_regular.yes": "51.16"})  # fmt: skip
    pub = publish.protect(entries, publish.requests_for_report(keys, entries=entries), people, CB, 5, weights=weights)
    withheld = {d.key: d.reason for d in pub.withheld()}
    assert set(withheld) == {"wpct.income_regular.yes", "wci.income_regular.yes"}
    assert "siauliai_city: 2 of 3" in withheld["wpct.income_regular.yes"]
    # without the weights (raking: no weight per cell) nothing says so
    pub = publish.protect(entries, publish.requests_for_report(keys, entries=entries), people, CB, 5)
    assert not pub.withheld()
    # the frame's single cell is fine, but the release left regular income blank for protection in
    # some records: the weighted figure (one equation per cell) would split those blanks by cell
    reqs = publish.requests_for_report(keys, entries=entries)
    pub = publish.protect(entries, reqs, people, CB, 5, weights=weights, blanked={"income_regular"})
    assert "release leaves income_regular blank" in pub.decisions["wpctalt.income_regular.yes"].reason
    rows = tmp_path / "kanonymity_report.csv"
    rows.write_text(
        "step,variable,detail,rows_affected,violating_after\n"
        "suppress,income_regular,x,7,0\ncross,support_needs__job,x,2,0\npool,reasons_exit__code,x,3,0\n",
        encoding="utf-8",
    )
    assert inputs.release_blanked(rows, CB) == {"income_regular", "support_needs"}


def test_a_withheld_value_s_description_carries_no_numbers():
    """Planted fault (a review found it on the values page): the description of a withheld
    weighted share still read "weighted percent (logit 66.93–78.74)", its interval."""
    e = Entry("wpct.q.a", 73.25, "73.25", "pct", "estimate", "05_estimate", "x",
              description="q = a: weighted percent (logit 66.93–78.74)")  # fmt: skip
    shown = publish.withheld_text(e)
    assert shown.text == publish.SUPPRESSED and shown.description == "q = a: weighted percent"
    assert not any(ch.isdigit() for ch in shown.description)
