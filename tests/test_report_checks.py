"""The report text checks (number lint, claim guards, keys) and the appendix tables."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from belmig.core import codebook as cbm, paths
from belmig.core.keys import KEY_RE
from belmig.core.ledger import Entry
from belmig.report import checks as rc, claims, tables as rt

REPORT = paths.REPORT / "report.qmd"
ALLOWLIST = paths.REPORT / "number-allowlist.yaml"


@pytest.fixture(scope="module")
def allow() -> list[rc.AllowRule]:
    return rc.load_allowlist(ALLOWLIST)


@pytest.fixture(scope="module")
def report_text() -> str:
    return REPORT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


G: dict = {}  # guards of the small reports below (their when="…" spans become guard ids)


def doc(*body: str) -> str:
    """A small report: front matter (with numbers that must be ignored) and the given lines; claim
    spans written with when="…" are converted to guard ids, defined in G (as report/claims.yaml)."""
    from belmig.report import guards as gm

    # a setting with a number (n: 42) is no text; the title and the date print, so they are linted
    text = "\n".join(["---", "title: Test", "date: 3 November 2022", "n: 42", "---", "", *body, ""])
    new, _, table = gm.convert(text, {}, {})
    G.update({gid: gm.Guard(gid, spec["when"]) for gid, spec in table.items()})
    return new


# --------------------------------------------------------------------------- number lint


def test_planted_bare_number_is_caught_and_names_line_number_and_sentence(allow):
    text = doc(
        "# Myth 1 {#sec-myth1}",  # line 7
        "",
        "In 2022 many people came. Exactly 42 of them were",  # line 9
        "interviewed in Vilnius. The rest were not.",
    )
    problems = rc.lint_numbers(text, allow)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert (p.kind, p.line, p.number) == ("number", 9, "42")
    assert p.sentence == "Exactly 42 of them were interviewed in Vilnius."
    msg = str(p)
    assert msg.startswith("report/report.qmd:9: ")
    assert "'42'" in msg and "Exactly 42 of them were interviewed in Vilnius." in msg


def test_decimal_and_thousands_are_one_number(allow):
    problems = rc.lint_numbers(doc("About 86.07% left, and 31,280 lived there."), allow)
    assert [p.number for p in problems] == ["86.07", "31,280"]


def test_shortcodes_years_and_allowlisted_phrases_pass(allow):
    text = doc(
        "Between 2020 and 2022, {{< var pct.reasons_exit.political >}}% left (see Chart 5).",
        "Since 24 February 2022 and 9 August 2020 things changed; the law took effect on 1 February 2022.",
        "Ratings run on a scale from 1 to 10, e.g. {{< var mean.security_lt >}} out of 10, a 10-point scale.",
        "Most rated it 8 or higher. The absolute majority are aged 18–45; few are 56 and older.",
        "Myth 2 concerns the budget; COVID-19 vaccination was difficult; 95% confidence intervals.",
    )
    assert rc.lint_numbers(text, allow) == []


def test_markup_is_not_prose(allow):
    text = doc(
        "![Caption without digits](../figures/chart01.svg){#fig-chart01}",
        "",
        'As @fig-chart01 and @tbl-weighting-summary show, [most]{.claim when="pct.income_regular.yes > 50"} work.[^n3]',
        "",
        "1. First item of an ordered list.",
        "2. Second item.",
        "",
        "See <https://example.org/2022/08/09/page-19480.pdf> and [the site](https://x.lt/a1/b2).",
        "",
        "::: {.interview}",
        "Paraphrased from an interview of the 2022 study.",
        ":::",
        "",
        "<!-- a comment with 123 -->",
        "",
        "```",
        "code with 456",
        "```",
        "",
        "Inline `code` is fine.",  # a number in inline code prints: linted (tests/test_report_guards.py)
        "",
        "{{< include _generated/values.md >}}",
        "",
        "[^n3]: BNS, 9 August 2022, <https://www.vz.lt/verslo-aplinka/2022/08/09/x>.",
    )
    assert rc.lint_numbers(text, allow) == []


def test_numbers_in_captions_and_footnote_text_are_prose(allow):
    problems = rc.lint_numbers(
        doc("![Rated by 335 people](../figures/chart03.svg){#fig-chart03}", "", "[^a]: Source with 77 pages."), allow
    )
    assert [(p.number, p.line) for p in problems] == [("335", 7), ("77", 9)]


def test_a_number_next_to_an_allowlisted_phrase_is_still_caught(allow):
    problems = rc.lint_numbers(doc("In 2021 exactly 17 people moved (Chart 4)."), allow)
    assert [p.number for p in problems] == ["17"]


def test_allowlist_rules_have_reasons_and_do_not_admit_bare_numbers(allow):
    assert len(allow) >= 5
    for rule in allow:
        assert rule.reason, rule.pattern.pattern
        for bare in ("42", "86.07", "31,280", "7", "335", "0.5"):
            # a rule that matched a lone data value would switch the lint off for it
            assert not rule.pattern.fullmatch(bare), f"allowlist rule {rule.pattern.pattern!r} matches bare {bare!r}"


def test_allowlist_without_reason_is_rejected(tmp_path):
    f = tmp_path / "allow.yaml"
    f.write_text("rules:\n  - pattern: 'x'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no reason"):
        rc.load_allowlist(f)


def test_lint_accepts_parsed_yaml_path_and_list(allow):
    import yaml

    text = doc("In 2021 there were 5 cases.")
    parsed = yaml.safe_load(ALLOWLIST.read_text(encoding="utf-8"))
    for spec in (parsed, ALLOWLIST, str(ALLOWLIST), allow):
        assert [p.number for p in rc.lint_numbers(text, spec)] == ["5"]


# --------------------------------------------------------------------------- claims


VALUES = {
    "pct.age_group.age18_25": 11.94,
    "pct.age_group.age26_35": 42.09,
    "pct.age_group.age36_45": 29.85,
    "pctby.sex.female.income_regular.no": 39.41,
    "pctby.sex.male.income_regular.no": 18.70,
}


def test_planted_false_claim_names_sentence_condition_and_values():
    text = doc(
        "Income differs by sex.",
        'Among those without income there are [fewer women than men]{.claim when="pctby.sex.female.income_regular.no < pctby.sex.male.income_regular.no"}, it seems.',
    )
    problems = rc.check_claims(text, VALUES, guards=G)
    assert len(problems) == 1
    p = problems[0]
    assert (p.kind, p.line) == ("claim", 8)
    assert p.condition == "pctby.sex.female.income_regular.no < pctby.sex.male.income_regular.no"
    assert p.values == {"pctby.sex.female.income_regular.no": 39.41, "pctby.sex.male.income_regular.no": 18.70}
    msg = str(p)
    assert "report/report.qmd:8:" in msg
    assert "[fewer women than men]" in msg
    assert "Among those without income there are [fewer women than men], it seems." in msg  # the sentence
    assert "pctby.sex.female.income_regular.no < pctby.sex.male.income_regular.no" in msg  # the condition
    assert "39.41" in msg and "18.7" in msg  # the values


def test_true_claim_passes():
    text = doc(
        '[The absolute majority]{.claim when="pct.age_group.age18_25 + pct.age_group.age26_35 + pct.age_group.age36_45 > 50"}',
        "are aged 18–45, and [more women than men]{.claim when='pctby.sex.female.income_regular.no > pctby.sex.male.income_regular.no'} lack income.",
    )
    assert len(rc.find_claims(text, G)) == 2
    assert rc.check_claims(text, VALUES, guards=G) == []


def test_claim_with_unknown_key_or_bad_syntax_or_no_condition_is_an_error():
    text = doc(
        '[a]{.claim when="pct.nope.x > 1"} and',
        '[b]{.claim when="pct.age_group.age18_25 >> 1"} and',
        "[c]{.claim} end.",
    )
    problems = rc.check_claims(text, VALUES, guards=G)
    assert [p.kind for p in problems] == ["claim-error"] * 3
    assert "pct.nope.x" in str(problems[0])
    assert "has no guard" in str(problems[2])


def test_non_claim_spans_and_links_are_ignored():
    text = doc("A [link](https://x.org) and [a span]{.smallcaps} and ![img](a.svg){#fig-x}.")
    assert rc.find_claims(text, G) == []


def test_claims_in_comments_and_code_are_ignored():
    text = doc('<!-- [x]{.claim when="pct.q.o > 1"} -->', "```", '[y]{.claim when="pct.q.o > 1"}', "```")
    assert rc.find_claims(text, G) == []


# --------------------------------------------------------------------------- keys


def test_used_keys_in_order_without_repeats_including_claim_keys():
    text = doc(
        "{{< var pct.b.x >}} and {{< var pct.a.y >}} and again {{< var pct.b.x >}}.",
        '[most]{.claim when="pct.c.z > pct.a.y"}.',
        "<!-- {{< var pct.hidden.k >}} -->",
    )
    assert rc.used_keys(text, guards=G) == ["pct.b.x", "pct.a.y", "pct.c.z"]
    assert rc.used_keys(text, include_claims=False, guards=G) == ["pct.b.x", "pct.a.y"]


def test_missing_keys_names_key_and_first_line():
    text = doc("{{< var pct.a.x >}}", "{{< var pct.b.y >}} {{< var pct.b.y >}}", '[c]{.claim when="pct.c.z > 1"}')
    problems = rc.missing_keys(text, {"pct.a.x"}, guards=G)
    assert [(p.key, p.line) for p in problems] == [("pct.b.y", 8), ("pct.c.z", 9)]
    assert "pct.b.y" in str(problems[0])


def test_key_grammar_catches_typos(cb):
    bad = [
        "pct.reasons_exit.politcal",
        "pctby.sex.female.income_regular",
        "mean.income_regular",
        "foo.bar",
        "pct.nosuch.yes",
        "Pct.x.y",
        "weight.median",
        "pctby.sex.woman.income_regular.no",
    ]
    found = {p.key for p in rc.key_grammar_problems(bad, cb)}
    assert found == set(bad)
    good = [
        "pct.reasons_exit.political",
        "pctby.sex.female.income_regular.no",
        "mean.security_lt",
        "pct.quality_life.ge8",
        "wci.income_regular.yes",
        "wci_mean.security_lt",
        "ext.respondents",
        "flow.analysed",
        "weight.deff",
        "repro.matched",
        "other.security_by_comment.coded",
        "n.support_needs",
        "pby.sex.income_regular.no",
        "nby.sex.female.income_regular",
    ]
    assert rc.key_grammar_problems(good, cb) == []


# --------------------------------------------------------------------------- the real report


def test_real_report_passes_the_number_lint(report_text, allow):
    problems = rc.lint_numbers(report_text, allow)
    assert problems == [], "\n".join(map(str, problems))


def test_every_claim_in_the_real_report_parses_and_uses_ledger_keys(report_text, cb):
    found = rc.find_claims(report_text)
    assert len(found) >= 20
    for c in found:
        assert c.condition, f"line {c.line}: claim [{c.text}] has no condition"
        keys = claims.names(c.condition)  # raises ClaimError when it does not parse
        assert keys, f"line {c.line}: condition {c.condition!r} uses no ledger key"
        for k in keys:
            assert KEY_RE.match(k), f"line {c.line}: {k!r}"
        # evaluable once values exist: every key set to 1 must give a bool, not an error
        assert isinstance(claims.evaluate(c.condition, {k: 1.0 for k in keys}), bool)
    problems = rc.key_grammar_problems(report_text, cb)
    assert problems == [], "\n".join(map(str, problems))


def test_the_value_diff_sees_every_claim(report_text):
    """Every key of every claim guard is attributed to the claim's line in the value diff."""
    from belmig.report import claims, valuediff

    use = valuediff.usages(report_text)
    found = rc.find_claims(report_text)
    assert found
    for c in found:
        for key in claims.names(c.condition):
            assert any(u.startswith(f"line {c.line}:") for u in use.get(key, [])), (c.line, key)


def _published_values(cb) -> dict[str, float]:
    """Ledger-style values from the printed figures and our assumptions (no pipeline run)."""
    from belmig.integrity import published as pub

    vals: dict[str, float] = {}
    figs = pub.read_figures(paths.PUBLISHED_FIGURES, cb)
    for f in pub.survey_figures(figs).to_dict("records"):
        if f["comparator"] not in pub.EXACT_COMPARATORS or "+" in f["option"] or f["by"] == f["question"]:
            continue
        if f["stat"] == "mean":
            key = f"mean.{f['question']}"
        elif f["by"]:
            key = f"pctby.{f['by']}.{f['level']}.{f['question']}.{f['option']}"
        else:
            key = f"pct.{f['question']}.{f['option']}"
        vals.setdefault(key, pub.value(f["printed"]))
    assumed = pub.read_assumed(paths.ASSUMED_FIGURES, cb)
    for a in assumed.to_dict("records"):
        key = (
            f"pctby.{a['by']}.{a['level']}.{a['question']}.{a['option']}"
            if a["by"]
            else f"pct.{a['question']}.{a['option']}"
        )
        vals.setdefault(key, a["value_num"])
    for q in cb.of_type("scale"):
        pts = [vals.get(f"pct.{q.id}.v{i}") for i in (8, 9, 10)]
        if all(p is not None for p in pts):
            vals[f"pct.{q.id}.ge8"] = sum(pts)
    return vals


def test_claims_of_the_real_report_hold_on_the_published_figures(report_text, cb):
    """Every guard whose keys the printed figures and assumed.csv determine must hold on them:
    the report says nothing the 2022 figures (or our stated assumptions) contradict."""
    if not (paths.PUBLISHED_FIGURES.exists() and paths.ASSUMED_FIGURES.exists()):
        pytest.skip("published figures not transcribed yet")
    vals = _published_values(cb)
    checked = 0
    for c in rc.find_claims(report_text):
        keys = claims.names(c.condition)
        if not keys <= set(vals):
            continue  # weighted values etc. exist only after a pipeline run
        checked += 1
        assert claims.evaluate(c.condition, vals), (
            f"line {c.line}: [{c.text}] fails on the published figures: {c.condition} with "
            + ", ".join(f"{k} = {vals[k]}" for k in sorted(keys))
        )
    assert checked >= 20


def test_real_report_structure(report_text):
    heads = [h.strip() for h in re.findall(r"^# (.+?)(?:\{#[^}]+\})?$", report_text, re.M)]
    expected = [
        "Summary",
        "Introduction",
        "Myth 1: Belarusians choose Lithuania only out of necessity",
        "Myth 2: Belarusians in Lithuania are a burden on the budget",
        "Living in Lithuania",
        "What help do Belarusians need?",
        "Education and health services",
        "Activism in the diaspora and plans for Belarus",
        "Conclusions and recommendations",
        "Methods appendix",
    ]
    assert len(heads) == len(expected)
    for h, e in zip(heads, expected):
        assert h.startswith(e), (h, e)
    fm = rc.FRONT_MATTER_RE.match(report_text)
    assert fm and "synthetic-notice:" in fm.group(0) and "synthetic reconstruction" in fm.group(0)


def test_real_report_has_all_18_figures_in_order_and_references_each(report_text):
    ids = re.findall(r"!\[[^\]]+\]\(\.\./figures/(chart\d\d)\.svg\)\{#fig-(chart\d\d)\}", report_text)
    assert [a for a, _ in ids] == [f"chart{n:02d}" for n in range(1, 19)]
    assert all(a == b for a, b in ids)
    prose = rc.mask_non_text(report_text)
    for n in range(1, 19):
        assert f"@fig-chart{n:02d}" in prose, f"chart {n} is never referenced"


def test_real_report_cross_references_resolve(report_text):
    prose = rc.mask_non_text(report_text)
    sections = set(re.findall(r"\{#(sec-[\w-]+)\}", prose))
    for ref in set(re.findall(r"@(sec-[\w-]+)", prose)):
        assert ref in sections, ref
    # table ids come from the generated includes (belmig.report.tables)
    produced = set(re.findall(r"\{#(tbl-[\w-]+)\}", _all_generated_tables()))
    for ref in set(re.findall(r"@(tbl-[\w-]+)", prose)):
        assert ref in produced, ref
    for name in ("cleaning_flow", "weighting", "audit", "reproduction", "weighted_vs_unweighted", "values"):
        assert f"{{{{< include _generated/{name}.md >}}}}" in prose


def test_real_report_interviews_are_marked_as_paraphrases(report_text):
    blocks = re.findall(r"^::: \{\.interview\}\n(.*?)^:::$", report_text, re.S | re.M)
    assert len(blocks) >= 10
    for b in blocks:
        assert re.search(r"Paraphrased from (?:an interview|interviews) of the 2022 study\.", b), b[:80]


def test_real_report_cites_the_four_sources(report_text):
    for url in ("vz.lt/verslo-aplinka/2022/08/09", "osp.stat.gov.lt", "investlithuania.com", "library.fes.de"):
        assert report_text.count(url) >= 1, url
    assert len(re.findall(r"^\[\^\w+\]:", report_text, re.M)) == 4


# --------------------------------------------------------------------------- tables


def _pipe_tables(md: str) -> list[tuple[list[str], list[list[str]], str]]:
    """Parse pipe tables + caption lines; assert they are well formed."""
    out = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            split = [re.split(r"(?<!\\)\|", row.strip())[1:-1] for row in block]
            header, sep, body = split[0], split[1], split[2:]
            assert all(re.fullmatch(r":?-{3,}:?", c.strip()) for c in sep), block[1]
            assert all(len(r) == len(header) for r in [sep, *body]), block
            assert lines[i] == "", "a blank line must separate table and caption"
            cap = lines[i + 1]
            assert re.fullmatch(r": .+ \{#tbl-[a-z0-9-]+\}", cap), cap
            out.append(([c.strip() for c in header], [[c.strip() for c in r] for r in body], cap))
        i += 1
    return out


def _flow_df():
    return pd.DataFrame(
        {
            "step": ["received", "duplicates", "test_entries", "analysed"],
            "description": ["submissions in the export", "identical | repeated", "test marker", "respondents analysed"],
            "removed": [0, 6, 4, 0],
            "remaining": [345, 339, 335, 335],
        }
    )


def _estimates_df():
    base = dict(by="", level="", se=1.0, ci_method="logit", p_diff=float("nan"))
    rows = [
        dict(
            question="income_regular",
            option="yes",
            stat="pct",
            weighted=False,
            estimate=69.49,
            ci_low=64.1,
            ci_high=74.4,
            n=295,
            k=205,
            n_eff=295.0,
            suppressed=False,
        ),
        dict(
            question="income_regular",
            option="yes",
            stat="pct",
            weighted=True,
            estimate=67.2,
            ci_low=60.0,
            ci_high=73.7,
            n=295,
            k=205,
            n_eff=170.4,
            suppressed=False,
        ),
        dict(
            question="security_lt",
            option="",
            stat="mean",
            weighted=False,
            estimate=8.81,
            ci_low=8.6,
            ci_high=9.0,
            n=335,
            k=float("nan"),
            n_eff=335.0,
            suppressed=False,
        ),
        dict(
            question="security_lt",
            option="",
            stat="mean",
            weighted=True,
            estimate=8.7,
            ci_low=8.4,
            ci_high=9.0,
            n=335,
            k=float("nan"),
            n_eff=190.0,
            suppressed=False,
        ),
        dict(
            question="legal_status",
            option="other",
            stat="pct",
            weighted=False,
            estimate=0.9,
            ci_low=0.1,
            ci_high=2.0,
            n=295,
            k=3,
            n_eff=295.0,
            suppressed=True,
        ),
        dict(
            question="legal_status",
            option="other",
            stat="pct",
            weighted=True,
            estimate=0.8,
            ci_low=0.1,
            ci_high=2.0,
            n=295,
            k=3,
            n_eff=170.0,
            suppressed=True,
        ),
        # a subgroup row must not be picked for the headline
        dict(
            question="income_regular",
            option="yes",
            stat="pct",
            weighted=False,
            estimate=1.0,
            ci_low=0.0,
            ci_high=2.0,
            n=9,
            k=1,
            n_eff=9.0,
            suppressed=True,
            by="sex",
            level="other",
        ),
    ]
    return pd.DataFrame([{**base, **r} for r in rows])


def _all_generated_tables() -> str:
    cb = cbm.load()
    entries = {
        "pct.income_regular.yes": Entry(
            "pct.income_regular.yes",
            69.49,
            "69.49",
            "pct",
            "estimate",
            "05_estimate",
            "estimate-values",
            n=295,
            ci_low=64.1,
            ci_high=74.4,
        ),
    }
    return "\n".join(
        [
            rt.cleaning_flow_md(_flow_df()),
            rt.weighting_md(
                pd.DataFrame(
                    {
                        "margin": ["municipality"],
                        "category": ["vilnius_city"],
                        "n": [235],
                        "sample_share": [0.7],
                        "target_share": [0.42],
                        "weighted_share": [0.42],
                    }
                ),
                {"deff": 1.7, "n_eff": 197.0, "iterations": 6},
                min_cell=5,
            ),
            rt.audit_md(
                pd.DataFrame(
                    {
                        "question": ["sex"],
                        "by": [""],
                        "level": [""],
                        "figures": [""],
                        "consistent_bases": [""],
                        "chosen_base": [335],
                        "status": ["assumed"],
                        "note": [""],
                    }
                ),
                None,
                min_cell=5,
            ),
            rt.reproduction_md(
                pd.DataFrame(
                    {
                        "id": ["a"],
                        "printed": ["1"],
                        "comparator": ["="],
                        "recomputed": ["1"],
                        "match": [True],
                        "note": [""],
                        "kind": ["figure"],
                    }
                )
            ),
            rt.weighted_vs_unweighted_md(_estimates_df(), cb, ["income_regular.yes"], min_cell=5),
            rt.values_md(entries, ["pct.income_regular.yes"], min_cell=5),
            rt.data_source_md(_INGEST_REPORT),
            *_method_tables(cb),  # tests/test_method_tables.py
        ]
    )


# the ingest report (belmig.ingest.report) of a Google Forms export: no start time, no response id
_INGEST_REPORT = {
    "file": "google_forms.csv",
    "sha256": "0" * 64,
    "platform": {
        "used": "google_forms",
        "detected": "google_forms",
        "evidence": "its timestamp column",
        "forced": False,
    },
    "header_rows": 1,
    "submissions": 374,
    "mapping": None,
    "admin": {
        "response_id": {"column": None, "status": "generated"},
        "started_at": {"column": None, "status": "lacking"},
        "submitted_at": {"column": "Отметка времени", "status": "read", "format": "DD.MM.YYYY H:MM:SS"},
    },
    "questions": [{"id": "sex", "method": "header = codebook column"}],
    "identifiers_dropped": ["e-mail"],
    "metadata_ignored": [],
    "warnings": [{"check": "no_start_time", "message": "no start times", "count": 0}],
    "consequences": ["The speeder check was skipped."],
}


def _method_tables(cb) -> list[str]:
    from test_method_tables import all_method_tables

    return all_method_tables(cb)


def test_cleaning_flow_table():
    md = rt.cleaning_flow_md(_flow_df())
    [(header, body, cap)] = _pipe_tables(md)
    assert header == ["Step", "What the step does", "Removed", "Remaining"]
    assert [r[3] for r in body] == ["345", "339", "335", "335"]
    assert body[1][1] == "identical \\| repeated"  # a pipe in a cell is escaped
    assert cap.endswith("{#tbl-cleaning-flow}")
    with pytest.raises(ValueError, match="remaining"):
        rt.cleaning_flow_md(_flow_df().drop(columns="remaining"))


def test_weighting_tables_suppress_small_cells():
    diag = pd.DataFrame(
        {
            "margin": ["municipality"] * 2,
            "variables": ["municipality"] * 2,
            "category": ["vilnius_city", "kaunas_district"],
            "n": [235, 3],
            "sample_share": [0.70, 0.01],
            "target_share": [0.42, 0.035],
            "weighted_share": [0.42, 0.035],
            "target_count": [19000.0, 1600.0],
            "weighted_count": [19000.0, 1600.0],
        }
    )
    md = rt.weighting_md(
        diag,
        {"deff": 1.713, "n_eff": 195.6, "efficiency": 0.584, "iterations": 7, "converged": True, "unclassified": {}},
        min_cell=5,
    )
    (h1, b1, c1), (h2, b2, c2) = _pipe_tables(md)
    assert h1[:3] == ["Margin", "Category", "Respondents"]
    assert b1[0][2] == "235" and b1[1][2] == "suppressed"
    assert b1[0][3] == "70.00" and b1[0][4] == "42.00"  # fractions printed as percentages
    assert "{#tbl-weighting-margins}" in c1 and "{#tbl-weighting-summary}" in c2
    values = dict((r[0], r[1]) for r in b2)
    assert values["Effective sample size"] == "195.60"
    assert values["Weighting efficiency (effective n / n)"] == "58.4%"
    assert values["Iterations to convergence (raking sweeps or Newton steps)"] == "7"


def test_audit_tables():
    bases = pd.DataFrame(
        {
            "question": ["income_regular", "income_regular"],
            "by": ["", "sex"],
            "level": ["", "other"],
            "figures": ["69.49", ""],
            "consistent_bases": ["59,118,177,236,295", ""],
            "chosen_base": [295, 2],
            "status": ["ok", "conflict"],
            "note": ["", "forced"],
        }
    )
    groups = pd.DataFrame(
        {
            "check": ["base_within_universe"],
            "question": ["income_source"],
            "by": [""],
            "level": [""],
            "values": ["293 <= 295"],
            "result": ["pass"],
            "meaning": ["fits"],
        }
    )
    (h1, b1, c1), (h2, b2, c2) = _pipe_tables(rt.audit_md(bases, groups, min_cell=5))
    assert b1[0][4] == "295" and b1[1][4] == "suppressed"  # subgroup base below min_cell
    assert b1[1][5] == "**conflict**"
    assert b2[0][0] == "base within universe" and b2[0][3] == "293 \\<= 295"
    assert "{#tbl-audit-bases}" in c1 and "{#tbl-audit-groups}" in c2


def test_reproduction_tables_count_matches():
    df = pd.DataFrame(
        {
            "id": ["reasons_exit_political", "legal_residence_permit", "political_majority"],
            "printed": ["86.07", "67.75", "pct.reasons_exit.political > 50"],
            "comparator": ["=", "=", "claim"],
            "recomputed": ["86.07", "67.80", "true"],
            "match": ["True", "False", "True"],  # as read from CSV without dtype
            "note": [
                "equal at the printed precision",
                "differs by +0.050",
                "An absolute majority left for political reasons.",
            ],
            "kind": ["figure", "figure", "statement"],
        }
    )
    (h1, b1, c1), (h2, b2, c2) = _pipe_tables(rt.reproduction_md(df))
    assert [r[4] for r in b1] == ["yes", "**no**"]
    assert "(1 of 2 match)" in c1 and "{#tbl-reproduction}" in c1
    # holds, number, statement, condition: a row starts with a word (a PDF reader would take a row
    # number after the previous row's condition for that key's value)
    assert h2[0] == "Holds" and b2[0][0] == "yes" and b2[0][1] == "1"
    assert b2[0][3] == "`pct.reasons_exit.political > 50`"
    assert "(1 of 1 hold)" in c2 and "{#tbl-reproduction-statements}" in c2


def test_a_withheld_figure_says_nothing_of_whether_it_matches():
    """Planted leak (issue 14's attacker, found on the reproduction table): the 2022 figure is
    printed, its wording says "exact", so "yes" in the match column pinned the withheld value."""
    df = pd.DataFrame(
        {
            "id": ["shown", "held", "political_majority", "political_over_economic"],
            "printed": ["86.07", "43.33", "pct.reasons_exit.political > 50", "pctby.a.b.c.d > 40 and pct.x.y < 3"],
            "comparator": ["exact", "exact", "claim", "claim"],
            "recomputed": ["86.07", "43.33", "true", "true"],
            "match": ["True", "True", "True", "True"],
            "note": ["", "", "Most left for political reasons.", "Many rely on a partner."],
            "kind": ["figure", "figure", "statement", "statement"],
        }
    )
    (h1, b1, c1), (h2, b2, c2) = _pipe_tables(rt.reproduction_md(df, withheld={"figure.held", "pctby.a.b.c.d"}))
    assert b1[0][3:5] == ["86.07", "yes"]
    assert b1[1][3] == b1[1][4] == rt.SUPPRESSED  # no "yes" beside "43.33, exact"
    assert "(1 of 1 shown match; 1 withheld)" in c1
    assert [r[0] for r in b2] == ["yes", rt.SUPPRESSED]
    assert "(1 of 1 shown hold; 1 withheld)" in c2
    # nothing withheld: the captions as before
    (_, _, c1), (_, _, c2) = _pipe_tables(rt.reproduction_md(df))
    assert "(2 of 2 match)" in c1 and "(2 of 2 hold)" in c2
    for lang in ("lt", "ru"):
        (_, b1, c1), (_, b2, c2) = _pipe_tables(
            rt.reproduction_md(df, withheld={"figure.held", "pctby.a.b.c.d"}, lang=lang)
        )
        assert b1[1][4] == b1[1][3] != "yes" and b2[1][0] == b1[1][3]
        assert "{" not in c1.replace("{#tbl-reproduction}", "") and "{" not in c2.replace(
            "{#tbl-reproduction-statements}", ""
        )


def test_weighted_vs_unweighted_table(cb):
    md = rt.weighted_vs_unweighted_md(
        _estimates_df(),
        cb,
        ["income_regular.yes", "mean.security_lt", "pct.legal_status.other", "pct.support_needs.language"],
        min_cell=5,
    )
    [(header, body, cap)] = _pipe_tables(md)
    assert header == ["Figure", "Unweighted", "95% CI", "n", "Weighted", "95% CI", "Effective n"]
    assert body[0] == ["Regular income: Yes", "69.49%", "64.10–74.40", "295", "67.20%", "60.00–73.70", "170"]
    assert body[1][0] == "Sense of security in Lithuania: mean rating" and body[1][1] == "8.81"
    assert body[2][1] == "suppressed" and body[2][4] == "suppressed"  # k below min_cell / flagged
    assert body[3][1:] == ["–"] * 6  # not estimated: shown as missing, not invented
    assert "{#tbl-weighted}" in cap


def test_values_table_lists_every_used_key_with_source_link():
    entries = [
        Entry(
            "pct.income_regular.yes",
            69.49,
            "69.49",
            "pct",
            "estimate",
            "05_estimate",
            "estimate-values",
            n=295,
            ci_low=64.123,
            ci_high=74.456,
        ),
        Entry("count.legal_status.other", 3, "3", "count", "estimate", "05_estimate", "estimate-values", n=295),
        Entry(
            "pctby.sex.other.income_regular.no", 0.0, "0.00", "pct", "estimate", "05_estimate", "estimate-values", n=2
        ),
        Entry("flow.analysed", 335, "335", "count", "clean", "03_clean", "clean-values"),
    ]
    md = rt.values_md(
        entries,
        [
            "pct.income_regular.yes",
            "count.legal_status.other",
            "pctby.sex.other.income_regular.no",
            "flow.analysed",
            "pct.not.there",
            "pct.income_regular.yes",
        ],
        min_cell=5,
    )
    [(header, body, cap)] = _pipe_tables(md)
    assert header == ["Ledger key", "Value", "CI", "Base n", "Computed in"]
    assert len(body) == 5  # repeats dropped
    assert body[0][:4] == ["`pct.income_regular.yes`", "69.49", "64.12–74.46", "295"]
    assert (
        body[0][4] == "[05\\_estimate](../notebooks/executed/05_estimate.html#estimate-values)"
        or body[0][4].startswith("[05")
        and "05_estimate.html#" in body[0][4]
    )
    assert body[1][1] == "suppressed"  # a count below min_cell
    assert body[2][1] == "suppressed" and body[2][3] == "suppressed"  # subgroup of 2 people
    assert body[3][1] == "335"  # cleaning counts are not subgroup cells
    assert "missing" in body[4][1]
    assert "{#tbl-values}" in cap


def test_generated_tables_parse_as_tables_in_pandoc():
    pypandoc = pytest.importorskip("pypandoc")
    import json

    md = _all_generated_tables()
    ast = json.loads(pypandoc.convert_text(md, to="json", format="markdown"))
    kinds = [b["t"] for b in ast["blocks"]]
    assert kinds.count("Table") == len(re.findall(r"\{#tbl-", md)), kinds


def test_masking_blanks_each_match_keeps_offsets_and_lines_and_is_the_one_by_one_result():
    """prose.mask_all blanks in one pass what blanking match after match gave (a check masks the
    whole text with each pattern: one by one, the text was copied once per match)."""
    import re

    from belmig.core import paths
    from belmig.report import prose

    assert (
        prose.mask_all("a {{< var x >}} b\n{{< var y\n>}}.", prose.SHORTCODE_RE)
        == "a " + " " * 13 + " b\n" + " " * 9 + "\n   ."
    )
    assert prose.mask_all("no match", prose.SHORTCODE_RE) == "no match"

    def one_by_one(text, pattern, group=0):
        for start, end in reversed([m.span(group) for m in pattern.finditer(text) if m.start(group) >= 0]):
            text = prose.blank(text, start, end)
        return text

    patterns = [v for k, v in vars(prose).items() if k.endswith("_RE") and isinstance(v, re.Pattern)]
    assert len(patterns) > 10
    for name in ("report.qmd", "report.lt.qmd", "report.ru.qmd"):
        text = (paths.REPORT / name).read_text(encoding="utf-8")[:40_000]
        for p in patterns:
            for g in range(p.groups + 1):
                masked = prose.mask_all(text, p, g)
                assert masked == one_by_one(text, p, g), (name, p.pattern, g)
                assert len(masked) == len(text) and masked.count("\n") == text.count("\n")


def test_a_problems_line_is_the_count_of_line_breaks_before_it():
    from belmig.report import prose

    for text in ("", "\n", "a\nb", "\n\nx\n", "one\ntwo\n\nfour"):
        for offset in range(len(text) + 2):
            assert prose.line_of(text, offset) == text.count("\n", 0, offset) + 1, (text, offset)
