"""Parity of the editions with English (belmig.report.parity): planted omissions and additions in
temporary copies must each be reported, by kind, item and line; an exact copy passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from belmig.report import parity

REPORT = Path(__file__).resolve().parents[1] / "report"

EN = """---
lang: en-GB
---
# Summary {#sec-summary}

Most respondents ([{{< var pct.a.yes >}}%]{.claim guard="a-most"}) say yes (@fig-chart01).

![Arrivals](../figures/chart01.svg){#fig-chart01}

# Methods {#sec-methods}

See @tbl-flow and @sec-summary.

{{< include _generated/flow.md >}}
"""

LT = """---
lang: lt-LT
---
# Santrauka {#sec-summary}

Dauguma respondentų ([{{< var pct.a.yes >}} %]{.claim guard="a-most"}) sako „taip“ (@fig-chart01).

![Atvykimas](../figures/chart01.svg){#fig-chart01}

# Metodai {#sec-methods}

Žr. @tbl-flow ir @sec-summary.

{{< include _generated/lt/flow.md >}}
"""

INCLUDED = {"_generated/flow.md": "| a | b |\n|---|---|\n| 1 | 2 |\n\n: Flow {#tbl-flow}\n"}
INCLUDED["_generated/lt/flow.md"] = INCLUDED["_generated/flow.md"].replace("Flow", "Srautas")


def problems(edition: str) -> set[tuple[str, str, bool, int]]:
    found = parity.compare_texts(EN, edition, edition_name="lt", included=INCLUDED)
    return {(p.kind, p.item, p.missing, p.line) for p in found}


def test_inventory_of_a_small_text_by_hand():
    inv = parity.inventory(EN, INCLUDED).items
    assert inv["claim"] == {"a-most": 6}
    assert inv["value"] == {"pct.a.yes": 6}
    assert inv["figure"] == {"chart01": 8, "fig-chart01": 8}
    assert inv["table"] == {"_generated/flow.md": 14, "tbl-flow": 0}
    assert inv["section"] == {"sec-summary": 4, "sec-methods": 10}
    assert inv["reference"] == {"fig-chart01": 6, "tbl-flow": 12, "sec-summary": 12}


def test_a_faithful_translation_passes():
    assert problems(LT) == set()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # the claim span dropped (its words kept, unguarded)
        (
            '([{{< var pct.a.yes >}} %]{.claim guard="a-most"})',
            "({{< var pct.a.yes >}} %)",
            {("claim", "a-most", True, 6)},
        ),
        # the value typed away
        ("[{{< var pct.a.yes >}} %]", "[daug]", {("value", "pct.a.yes", True, 6)}),
        # the figure left out, its reference too
        (
            "![Atvykimas](../figures/chart01.svg){#fig-chart01}\n",
            "",
            {("figure", "chart01", True, 8), ("figure", "fig-chart01", True, 8)},
        ),
        # the appendix table not included: the file and the table id it defines
        (
            "{{< include _generated/lt/flow.md >}}\n",
            "",
            {("table", "_generated/flow.md", True, 14), ("table", "tbl-flow", True, 0)},
        ),
        # a cross-reference dropped
        ("Žr. @tbl-flow ir @sec-summary.", "Žr. @tbl-flow.", {("reference", "sec-summary", True, 12)}),
        # a section id renamed: one missing, one extra
        (
            "{#sec-methods}",
            "{#sec-metodai}",
            {("section", "sec-methods", True, 10), ("section", "sec-metodai", False, 10)},
        ),
        # a claim, a value and a reference English does not have
        (
            "Žr. @tbl-flow ir @sec-summary.",
            'Žr. @tbl-flow ir @sec-summary. [Visi]{.claim guard="a-all"} ({{< var n.a >}}, @sec-help).',
            {("claim", "a-all", False, 12), ("value", "n.a", False, 12), ("reference", "sec-help", False, 12)},
        ),
    ],
)
def test_planted_omissions_and_additions_are_reported(old, new, expected):
    assert old in LT
    assert problems(LT.replace(old, new, 1)) == expected


def test_a_reference_in_a_comment_or_code_does_not_count():
    lt = LT.replace("Žr. @tbl-flow ir @sec-summary.", "Žr. @tbl-flow. <!-- @sec-summary --> `@sec-summary`")
    assert problems(lt) == {("reference", "sec-summary", True, 12)}


def test_messages_name_the_item_the_kind_and_where(tmp_path):
    en, lt = tmp_path / "report.qmd", tmp_path / "report.lt.qmd"
    en.write_text(EN, encoding="utf-8")
    lt.write_text(LT.replace("[{{< var pct.a.yes >}} %]", "[daug]"), encoding="utf-8")
    (tmp_path / "_generated").mkdir()
    (tmp_path / "_generated" / "flow.md").write_text(INCLUDED["_generated/flow.md"], encoding="utf-8")
    (tmp_path / "_generated" / "lt").mkdir()
    (tmp_path / "_generated" / "lt" / "flow.md").write_text(INCLUDED["_generated/lt/flow.md"], encoding="utf-8")
    found = parity.compare(en, lt)
    assert [str(p) for p in found] == [f"{lt}: lacks the value 'pct.a.yes' that English has ({en}:6)"]
    assert parity.main([str(en), str(lt)]) == 1
    assert parity.main([str(en), str(en)]) == 0


def test_planted_omission_in_a_copy_of_the_real_english_text(tmp_path):
    """The real report against itself passes; a copy with one figure, one value and one claim
    taken out fails with exactly those (a temp copy, the translations are not touched)."""
    shutil.copytree(REPORT, tmp_path / "report", ignore=shutil.ignore_patterns("_build*", "*.pdf", "*.html"))
    en = tmp_path / "report" / "report.qmd"
    text = en.read_text(encoding="utf-8")
    assert parity.compare(en, en) == []
    copy = tmp_path / "report" / "report.xx.qmd"
    fig = next(line for line in text.splitlines() if line.startswith("![") and "{#fig-chart05}" in line)
    planted = text.replace(fig + "\n", "", 1)
    planted = planted.replace("{{< var ext.interviews >}}", "dvidešimt", 1)
    claim_id = parity.inventory(text).items["claim"]
    first_claim = next(iter(claim_id))
    n_before = planted.count(f'guard="{first_claim}"')
    planted = planted.replace(f'.claim guard="{first_claim}"', ".note")
    copy.write_text(planted, encoding="utf-8")
    found = {(p.kind, p.item, getattr(p, "missing", "uses")) for p in parity.compare(en, copy)}
    assert n_before >= 1
    expected = {
        ("figure", "chart05", True),
        ("figure", "fig-chart05", True),
        ("claim", first_claim, True),
    }
    # the value left out of one of its uses: missing when it had one, one use short when more
    expected.add(("value", "ext.interviews", True if text.count("{{< var ext.interviews >}}") == 1 else "uses"))
    assert found == expected


def test_uses_and_the_order_of_claims_count():
    """Planted faults parity took for faithful (it compared sets): a value dropped where English
    prints it twice, a figure drawn twice, and two claims' guard ids swapped (each sentence then
    carries the other's condition)."""
    en = (
        'A [most]{.claim guard="g-one"} and [few]{.claim guard="g-two"}.\n\n'
        "{{< var pct.a.yes >}} and again {{< var pct.a.yes >}}.\n\n![x](../figures/chart01.svg)\n"
    )
    assert parity.compare_texts(en, en) == []
    dropped = en.replace(" and again {{< var pct.a.yes >}}", "")
    (p,) = parity.compare_texts(en, dropped, edition_name="lt.qmd", english_name="en.qmd")
    assert str(p) == "lt.qmd:3: uses the value 'pct.a.yes' 1 time(s), English (en.qmd) 2"
    twice = en + "\n![x](../figures/chart01.svg)\n"
    assert [(p.kind, p.item, p.edition_uses) for p in parity.compare_texts(en, twice)] == [("figure", "chart01", 2)]
    swapped = en.replace("g-one", "TMP").replace("g-two", "g-one").replace("TMP", "g-two")
    (p,) = parity.compare_texts(en, swapped, edition_name="lt.qmd", english_name="en.qmd")
    assert p.order and str(p) == (
        "lt.qmd:1: claims out of English's order: claim 1 is 'g-two' here, 'g-one' in en.qmd (guard ids swapped?)"
    )


def test_an_edition_includes_its_own_tables_only():
    """Planted fault: the Lithuanian text included English's _generated/frame.md; parity, which
    counts an edition's tables as English's, took it for the right one and the PDF printed an
    English table. Likewise the Russian text including the Lithuanian one."""
    from belmig.report.parity import foreign_includes

    text = "# A\n\n{{< include _generated/lt/levels.md >}}\n\n{{< include _generated/frame.md >}}\n"
    (p,) = foreign_includes(text, "lt", "report/report.lt.qmd")
    assert str(p) == (
        "report/report.lt.qmd:5: _generated/frame.md: includes another edition's table; include _generated/lt/frame.md"
    )
    found = foreign_includes(text.replace("_generated/frame.md", "_generated/lt/frame.md"), "ru", "ru.qmd")
    assert [str(p).split(": ")[0] for p in found] == ["ru.qmd:3", "ru.qmd:5"]
    assert "include _generated/ru/levels.md" in str(found[0])
    assert foreign_includes(text.replace("_generated/frame.md", "_generated/lt/frame.md"), "lt") == []
    assert [str(p).split(": ", 1)[1] for p in foreign_includes(text, "en", "en.qmd")] == [
        "_generated/lt/levels.md: includes another edition's table; include the English tables in _generated/"
    ]


def test_englishs_record_checks_as_its_text_does(tmp_path, monkeypatch):
    """Rule check_parity reads English's record (written when the Snakefile parses), not its
    text: the same problems as from the text, for the real editions and for a planted omission,
    on the command line too; a reworded sentence leaves the record as it is, a moved claim does not."""
    import json

    from belmig.core import paths

    shutil.copytree(REPORT, tmp_path / "report", ignore=shutil.ignore_patterns("_build*", "*.pdf", "*.html"))
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    en = tmp_path / "report" / "report.qmd"
    record = parity.english_record(en)
    assert record["english"] == "report/report.qmd" and record["events"]
    assert json.loads(json.dumps(record)) == record  # as the file holds it
    gen_dir = REPORT / "_generated"
    gen = parity.read_generated(gen_dir) if gen_dir.is_dir() else None
    for lang in ("lt", "ru"):
        ed = tmp_path / "report" / f"report.{lang}.qmd"
        assert parity.compare(en, ed, gen, record) == parity.compare(en, ed, gen)
        planted = ed.read_text(encoding="utf-8").replace("{{< var ext.interviews >}}", "11", 1)
        ed.write_text(planted, encoding="utf-8")
        from_record = [str(p) for p in parity.compare(en, ed, gen, record)]
        assert from_record == [str(p) for p in parity.compare(en, ed, gen)] and from_record
    text = en.read_text(encoding="utf-8")
    claim = text.index('.claim guard="')
    start = text.rindex("\n\n", 0, claim)
    reworded = text[:start] + text[start:claim].replace(" ", "  ", 1) + text[claim:]
    en.write_text(reworded, encoding="utf-8")
    assert parity.english_record(en) == record
    en.write_text(text[:start] + "\n\nA new paragraph.\n" + text[start:], encoding="utf-8")
    assert parity.english_record(en) != record  # the claims' lines moved: the editions are checked again
    en.write_text(text, encoding="utf-8")
    rec = tmp_path / "parity.en.json"
    rec.write_text(json.dumps(record), encoding="utf-8")
    lt = tmp_path / "report" / "report.lt.qmd"
    args = ["--english-events", str(rec), str(lt)] + (["--generated", str(gen_dir)] if gen is not None else [])
    assert parity.main(args) == 1  # the planted "11" above
    lt.write_text((REPORT / "report.lt.qmd").read_text(encoding="utf-8"), encoding="utf-8")
    assert parity.main(args) == 0
    rec.write_text(json.dumps({"english": "x"}), encoding="utf-8")
    with pytest.raises(SystemExit):
        parity.main(args)
