"""Guards by id, the quantifier lexicon (phrase by phrase), unguarded quantifiers, numbers in words,
cross-references, "did you mean" keys, public values and the kept-last-good render."""

from __future__ import annotations

import pytest

from belmig.core import paths
from belmig.core.ledger import Entry
from belmig.report import checks as rc, editions, guards as gm, lexicon as lx, public

LEX = lx.Lexicon.load(editions.lexicon_path())

# --------------------------------------------------------------------------- lexicon, phrase by phrase
# (language, phrase, a condition that agrees, a condition that disagrees[, complement])
CASES = [
    ("en", "the great majority", "pct.a.b > 75", "pct.a.b > 50"),
    ("en", "the vast majority", "pct.a.b > 85", "pct.a.b > 75"),
    ("en", "the absolute majority", "pct.a.b > 50", "pct.a.b > 40"),
    ("en", "most", "pct.a.b > 50", "pct.a.b > 45"),
    ("en", "more than half", "pct.a.b > 50", "pct.a.b > 30"),
    ("en", "only slightly more than half", "pct.a.b > 50 and pct.a.b < 60", "pct.a.b > 50"),
    ("en", "about half", "abs(pct.a.b - 50) < 5", "abs(pct.a.b - 50) < 10"),
    ("en", "almost half", "pct.a.b > 40 and pct.a.b < 50", "pct.a.b < 50"),
    ("en", "nearly half", "pct.a.b > 42 and pct.a.b < 50", "pct.a.b > 40"),
    ("en", "more than two thirds", "pct.a.b > 200/3", "pct.a.b > 50"),
    ("en", "two thirds", "abs(pct.a.b - 200/3) < 4", "pct.a.b > 50"),
    ("en", "about a third", "abs(pct.a.b - 100/3) < 5", "abs(pct.a.b - 100/3) < 8"),
    (
        "en",
        "about a quarter",
        "abs(pct.a.b / (pct.a.b + pct.a.c) - 0.25) < 0.05",
        "abs(pct.a.b / (pct.a.b + pct.a.c) - 0.25) < 0.1",
    ),
    ("en", "a fifth", "abs(pct.a.b - 20) < 5", "pct.a.b < 25"),
    ("en", "almost a fifth", "pct.a.b > 15 and pct.a.b < 20", "pct.a.b > 15 and pct.a.b < 25"),
    ("en", "only about one in ten", "pct.a.b + pct.a.c > 5 and pct.a.b + pct.a.c < 15", "pct.a.b + pct.a.c < 15"),
    ("en", "a small minority", "pct.a.b < 10", "pct.a.b < 20"),
    ("en", "more often", "pct.a.b > pct.a.c", "pct.a.b < pct.a.c"),
    ("en", "much more likely", "pct.a.b > 1.5 * pct.a.c", "pct.a.b > pct.a.c"),
    ("en", "more than twice", "mean.a > 2 * mean.b", "mean.a > 1.5 * mean.b"),
    ("en", "less than half as often", "pct.a.b < pct.a.c / 2", "pct.a.b < pct.a.c"),
    ("en", "twice as", "pct.a.b > 1.9 * pct.a.c and pct.a.b < 2.1 * pct.a.c", "pct.a.b > 1.9 * pct.a.c"),
    ("en", "far above", "mean.a > mean.b + 3", "mean.a > mean.b + 1"),
    ("en", "practically the same", "abs(pct.a.b - pct.a.c) < 2", "abs(pct.a.b - pct.a.c) < 5"),
    ("en", "the most frequent", "pct.a.b >= max(pct.a.c, pct.a.d)", "pct.a.b > 50"),
    ("en", "the third most frequent", "pct.a.b > pct.a.c > pct.a.d > max(pct.a.e)", "pct.a.b >= max(pct.a.c)"),
    ("en", "well below the middle of the scale", "mean.a < 4.5", "mean.a < 5.5"),
    ("en", "positively", "mean.a > 5.5", "mean.a > 4"),
    ("en", "less often", "pct.a.b < pct.a.c", "pct.a.b > pct.a.c"),
    ("en", "more common", "pct.a.b > pct.a.c", "pct.a.b < pct.a.c"),
    ("en", "higher than", "mean.a > mean.b", "mean.a < mean.b"),
    ("en", "lower than", "mean.a < mean.b", "mean.a > mean.b"),
    ("en", "less likely", "pct.a.b < pct.a.c", "pct.a.b > pct.a.c"),
    ("en", "fewer", "pct.a.b < pct.a.c", "pct.a.b > pct.a.c"),
    ("en", "rarely", "pct.a.b < 20", "pct.a.b > 20"),
    ("ru", "ниже, чем", "mean.a < mean.b", "mean.a > mean.b"),
    ("ru", "более распространена", "pct.a.b > pct.a.c", "pct.a.b < pct.a.c"),
    ("lt", "žemesnės", "mean.a < mean.b", "mean.a > mean.b"),
    ("ru", "подавляющее большинство", "pct.a.b > 75", "pct.a.b > 50"),
    ("ru", "больше двух третей", "pct.a.b > 200/3", "pct.a.b > 50"),
    ("ru", "около трети", "abs(pct.a.b - 100/3) < 5", "pct.a.b < 40"),
    ("ru", "лишь примерно каждый десятый", "pct.a.b > 5 and pct.a.b < 15", "pct.a.b < 15"),
    ("ru", "почти каждый пятый", "pct.a.b > 15 and pct.a.b < 20", "pct.a.b < 20"),
    ("ru", "более чем вдвое реже", "pct.a.b < pct.a.c / 2", "pct.a.b < pct.a.c"),
    ("ru", "значительно ниже середины шкалы", "mean.a < 4.5", "mean.a < 5.5"),
    ("ru", "не позволяют установить", "padjtab.sex.q >= 0.05", "padjtab.sex.q >= 0.01"),
    ("ru", "не подтверждает", "padj.sex.q.a >= 0.05", "padj.sex.q.a < 0.05"),
    ("ru", "статистически не значимо", "padj.sex.q.a >= 0.05", "padj.sex.q.a >= 0.04"),
    ("ru", "не является статистически значимым", "padj.sex.q.a >= 0.05", "pby.sex.q.a >= 0.001"),
    ("ru", "ни одно из различий", "padjtab.sex.q >= 0.05 and padj.sex.r.a >= 0.05", "padjtab.sex.q >= 0.01"),
    (
        "ru",
        "не более чем на несколько процентных пунктов",
        "max(abs(wpctalt.a.b - wpct.a.b), abs(wpctalt.c.d - wpct.c.d)) < 5",
        "max(abs(wpctalt.a.b - wpct.a.b), abs(wpctalt.c.d - wpct.c.d)) < 10",
    ),
    ("lt", "didžioji dauguma", "pct.a.b > 75", "pct.a.b > 50"),
    ("lt", "daugiau nei pusei", "pct.a.b > 50", "pct.a.b > 40"),
    ("lt", "beveik penktadaliui", "pct.a.b > 15 and pct.a.b < 20", "pct.a.b < 20"),
    ("lt", "tik maždaug kas dešimtas", "pct.a.b > 5 and pct.a.b < 15", "pct.a.b < 15"),
    ("lt", "daugiau kaip dvigubai rečiau", "pct.a.b < pct.a.c / 2", "pct.a.b < pct.a.c"),
    ("lt", "gerokai žemiau skalės vidurio", "mean.a < 4.5", "mean.a < 5.5"),
    ("lt", "nėra statistiškai reikšmingas", "padj.sex.a.b >= 0.05", "padj.sex.a.b >= 0.01"),
    ("lt", "statistiškai nereikšmingi", "padjtab.sex.a >= 0.05", "padjtab.sex.a >= 0.01"),
    ("lt", "nepatvirtina", "padj.sex.a.b >= 0.05", "padj.sex.a.b >= 0.01"),
    (
        "lt",
        "nepasislenka daugiau nei keliais procentiniais punktais",
        "max(abs(wpctalt.a.b - wpct.a.b), abs(wpctalt.a.c - wpct.a.c)) < 5",
        "max(abs(wpctalt.a.b - wpct.a.b), abs(wpctalt.a.c - wpct.a.c)) < 10",
    ),
]


@pytest.mark.parametrize(("lang", "phrase", "agrees", "disagrees"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_lexicon_phrase_agrees_with_one_condition_and_not_another(lang, phrase, agrees, disagrees):
    found = LEX.find(phrase, lang)
    assert [m.start for m in found] == [0] and found[0].end == len(phrase), (phrase, found)
    meaning = LEX.meanings[found[0].meaning]
    assert lx.disagreement(meaning, lx.constraints(agrees)) is None
    assert lx.disagreement(meaning, lx.constraints(disagrees)) is not None


def test_complement_is_allowed_only_when_the_guard_says_so():
    m = LEX.meanings["majority"]
    c = lx.constraints("pct.age_group.age56plus < 50")
    assert lx.disagreement(m, c) is not None
    assert lx.disagreement(m, c, complement=True) is None
    # a relation flips with the complement: "less often have an income" = more often without one
    rel = lx.constraints("pctby.sex.female.income_regular.no > pctby.sex.male.income_regular.no")
    assert lx.disagreement(LEX.meanings["less-often"], rel) is not None
    assert lx.disagreement(LEX.meanings["less-often"], rel, complement=True) is None


def test_every_phrase_of_the_glossaries_is_in_the_lexicon():
    for lang, phrases in {
        "ru": ["абсолютное большинство", "около половины", "около пятой части", "самая многочисленная группа",
               "третья по частоте", "практически столько же", "не позволяют установить",
               "статистически не значимо", "не подтверждает", "ни одно из различий",
               "сдвигаются не более чем на несколько процентных пунктов"],
        "lt": ["absoliuti dauguma", "maždaug pusė", "maždaug penktadalis", "didžiausia grupė",
               "trečia pagal dažnumą", "praktiškai tiek pat", "gerokai žemiau skalės vidurio",
               "nėra statistiškai reikšmingas", "koreguotas testas nepatvirtina",
               "nepasislenka daugiau nei keliais procentiniais punktais"],
    }.items():  # fmt: skip
        for p in phrases:
            assert LEX.find(p, lang), (lang, p)


def test_lt_not_significant_phrases_outside_a_guard():
    # "patvirtina" (bears out) and "reikšmingas" alone are plain prose; "nepatvirtina" and
    # "nėra statistiškai reikšmingas" state a test result and need a guard or {.cited}
    plain = "---\ntitle: T\nlang: lt-LT\n---\n\nTai patvirtina politiką. Tai reikšmingas žingsnis.\n"
    assert rc.unguarded_phrases(plain, LEX, "lt") == []
    planted = plain.replace("Tai reikšmingas žingsnis.", "Koreguotas testas skirtumo nepatvirtina.")
    found = rc.unguarded_phrases(planted, LEX, "lt")
    assert [p.kind for p in found] == ["unguarded"] and "nepatvirtina" in found[0].message


# --------------------------------------------------------------------------- guards by id

GUARDS = gm.parse({"big-share": {"when": "pct.a.yes > 50"}, "huge-share": "pct.a.yes > 75"})
VALUES = {"pct.a.yes": 56.0, "pct.b.no": 10.0}


def doc(*body: str) -> str:
    return "\n".join(["---", "title: T", "lang: en-GB", "---", "", *body, ""])


def test_planted_words_condition_mismatch_is_caught():
    # "more than two thirds" with the condition "> 50": true at 56%, but the words say more
    text = doc('[More than two thirds]{.claim guard="big-share"} of respondents said yes.')
    problems = rc.check_claims(text, VALUES, guards=GUARDS, lexicon=LEX)
    assert [p.kind for p in problems] == ["claim-words"], [str(p) for p in problems]
    assert problems[0].line == 6 and "more than two thirds" in problems[0].message.lower()
    assert "(50, 100]" in problems[0].message
    ok = doc('[More than half]{.claim guard="big-share"} of respondents said yes.')
    assert rc.check_claims(ok, VALUES, guards=GUARDS, lexicon=LEX) == []


def test_group_words_need_a_key_of_that_group():
    g = gm.parse({"w": "pctby.sex.female.q.yes > pct.q.yes"})
    text = doc('Women said yes [more often than men]{.claim guard="w"}.')
    vals = {"pctby.sex.female.q.yes": 20.0, "pct.q.yes": 10.0}
    problems = rc.check_claims(text, vals, guards=g, lexicon=LEX)
    assert len(problems) == 1 and "'men' (sex.male)" in problems[0].message


def test_unknown_guard_suggests_the_nearest_id_and_old_when_form_says_how_to_convert():
    text = doc(
        '[More than half]{.claim guard="big-shares"} said yes.', "", '[Most]{.claim when="pct.a.yes > 50"} agree.'
    )
    problems = rc.check_claims(text, VALUES, guards=GUARDS, lexicon=LEX)
    assert "did you mean 'big-share'" in problems[0].message
    assert "python -m belmig.report.guards convert" in problems[1].message and problems[1].line == 8


def test_convert_moves_conditions_to_claims_yaml_and_matches_editions_by_condition():
    en = doc('[Most]{.claim when="pct.a.yes > 50"} agree; [a small minority]{.claim when="pct.b.no < 10"} do not.')
    ru = doc('[Большинство]{.claim when="pct.a.yes > 50"} согласны; [меньшинство]{.claim when="pct.b.no < 10"} нет.')
    new_en, eds, table = gm.convert(en, {"ru": ru}, {})
    assert [v["when"] for v in table.values()] == ["pct.a.yes > 50", "pct.b.no < 10"]
    ids = list(table)
    assert f'guard="{ids[0]}"' in new_en and f'guard="{ids[1]}"' in eds["ru"] and "when=" not in eds["ru"]
    with pytest.raises(gm.GuardError, match="differ from the English"):
        gm.convert(en, {"ru": doc('[Большинство]{.claim when="pct.a.yes > 60"} согласны.')}, {})


def test_real_editions_use_only_defined_guards_in_the_english_order():
    g = gm.load(editions.guards_path())
    orders = {}
    for ed in editions.existing():
        found = rc.find_claims(ed.qmd.read_text(encoding="utf-8"), g)
        assert all(c.guard in g and not c.legacy for c in found), ed.qmd
        orders[ed.lang] = [c.guard for c in found]
    assert orders["ru"] == orders["en"] and orders["lt"] == orders["en"]


# --------------------------------------------------------------------------- unguarded phrases, numbers in words


def test_unguarded_quantifier_is_an_error_unless_cited():
    text = doc("The vast majority stayed.", "", "The 2022 report said [the vast majority]{.cited} stayed.")
    problems = rc.unguarded_phrases(text, LEX, "en")
    assert [(p.kind, p.line) for p in problems] == [("unguarded", 6)]
    assert "{.cited}" in problems[0].message and 'guard="id"' in problems[0].message


def test_superlatives_are_not_quantifiers():
    assert rc.unguarded_phrases(doc("The most extensive repression; most likely not."), LEX, "en") == []


def test_ru_not_significant_phrases_do_not_catch_ordinary_prose():
    # «не подтверждается» (a view is not borne out) and «ни одно из» elsewhere are plain prose
    text = doc("Это представление не подтверждается. Ни одно из решений не было простым.")
    assert rc.unguarded_phrases(text, LEX, "ru") == []
    planted = doc("Тест с поправкой этот разрыв не подтверждает.")
    assert [p.kind for p in rc.unguarded_phrases(planted, LEX, "ru")] == ["unguarded"]


def test_numbers_written_in_words_are_errors():
    en = rc.number_words(doc("Some eighty-five per cent said so, and twenty-one people wrote."), LEX, "en")
    assert [p.number for p in en] == ["eighty-five per cent", "twenty-one"]
    ru = rc.number_words(doc("Так ответили восемьдесят пять процентов."), LEX, "ru")
    assert [p.number for p in ru] == ["восемьдесят пять процентов"]
    assert rc.number_words(doc("Two waves of departure; one person."), LEX, "en") == []


# --------------------------------------------------------------------------- cross-references and keys


def test_dangling_reference_is_an_error_with_its_line_and_unreferenced_figure_a_warning():
    text = doc(
        "# Intro {#sec-intro}",
        "",
        "See @fig-chart02 and @tbl-missing.",  # line 8
        "",
        "![A chart](../figures/chart01.svg){#fig-chart01}",
        "",
        "![B chart](../figures/chart02.svg){#fig-chart02}",
    )
    errors, warnings = rc.crossref_problems(text)
    assert [(p.line, p.kind) for p in errors] == [(8, "xref")] and "@tbl-missing" in errors[0].message
    assert [w.message for w in warnings] == ["figure {#fig-chart01} is never referred to (@fig-chart01)"]
    # ids of included (generated) tables count
    errors, _ = rc.crossref_problems(text, {"_generated/x.md": ": caption {#tbl-missing}\n"})
    assert errors == []


def test_mistyped_key_suggests_the_nearest_keys():
    text = doc("{{< var pct.reasons_exit.politcal >}}% left.")
    problems = rc.missing_keys(text, {"pct.reasons_exit.political", "pct.reasons_exit.economic"}, guards={})
    assert "did you mean 'pct.reasons_exit.political'" in problems[0].message


# --------------------------------------------------------------------------- public values


def _e(key, value=1.0, n=None):
    return Entry(key, value, str(value), "pct", "estimate", "05_estimate", "estimate-values", n=n)


def test_public_entries_are_the_used_keys_and_their_bases_only():
    entries = {k: _e(k) for k in ["pct.q.a", "n.q", "pct.q.b", "pctby.sex.female.q.a", "nby.sex.female.q", "n.r"]}
    shown = public.public_entries(entries, ["pctby.sex.female.q.a", "pct.q.a"])
    assert list(shown) == ["pctby.sex.female.q.a", "pct.q.a", "nby.sex.female.q", "n.q"]
    public.FILTERS.append(lambda d: {k: v for k, v in d.items() if not k.startswith("nby.")})
    try:
        assert "nby.sex.female.q" not in public.public_entries(entries, ["pctby.sex.female.q.a"])
    finally:
        public.FILTERS.pop()


def test_values_page_labels_cited_values_and_links_computed_ones_to_their_function():
    from belmig.core import codebook
    from belmig.report import values_page

    cb = codebook.load(paths.CODEBOOK)
    ext = Entry("ext.by_citizens_estimate", 40000, "40,000", "count", "audit", "01_audit", "audit-values")
    pct = Entry("pct.reasons_exit.political", 86.07, "86.07", "pct", "estimate", "05_estimate", "estimate-values",
                n=280, ci_low=81.47, ci_high=89.67, weighted=False)  # fmt: skip
    page = values_page.render_page({e.key: e for e in (ext, pct)}, [ext.key, pct.key], cb, "0" * 40)
    ext_part = page.split("id='ext.by_citizens_estimate'")[1].split("</section>")[0]
    assert "cited from" in ext_part and "computed by" not in ext_part
    pct_part = page.split("id='pct.reasons_exit.political'")[1].split("</section>")[0]
    assert "belmig.estimate.compute.estimate_all" in pct_part and "src/belmig/estimate/compute.py" in pct_part
    assert "81.47–89.67" in pct_part and "280" in pct_part and "unweighted" in pct_part


# Planted unguarded quantifiers an editor could write (found by a review of the editions: the
# lexicon lacked them, so the sentence went out with no condition behind it).
PLANTED_QUANTIFIERS = [
    ("lt", "Daugiau kaip pusė jų dirba."),
    ("lt", "Mažiau nei pusė jų dirba."),
    ("lt", "Pusė jų dirba."),
    ("lt", "Trečdalis jų dirba."),
    ("lt", "Ketvirtadalis jų dirba."),
    ("lt", "Trys ketvirtadaliai jų dirba."),
    ("lt", "Kas antras jų dirba."),
    ("lt", "Beveik visi jie dirba."),
    ("lt", "Didžioji dalis jų dirba."),
    ("ru", "Свыше половины из них работают."),
    ("ru", "Меньше половины из них работают."),
    ("ru", "Треть из них работает."),
    ("ru", "Более трети из них работают."),
    ("ru", "Три четверти из них работают."),
    ("ru", "Каждый второй из них работает."),
    ("ru", "Пятая часть из них работает."),
    ("ru", "Почти все они работают."),
    ("ru", "Большая часть из них работает."),
    ("ru", "Мужчин в три раза больше."),
    ("en", "Half of them work."),
    ("en", "Less than half of them work."),
    ("en", "A third of them work."),
    ("en", "Three quarters of them work."),
    ("en", "Almost all of them work."),
    ("en", "Nine in ten of them work."),
    # comparatives a review planted outside any guard ("more common among women than among men")
    ("en", "Work is more common among women than among men."),
    ("en", "Their rating is higher than in Lithuania."),
    ("en", "Women are less likely to have a regular income."),
    ("en", "Fewer of them have a regular income."),
    ("en", "They rarely use support programmes."),
    ("ru", "У женщин доход ниже, чем у мужчин."),
    ("ru", "Эта причина менее распространена среди мужчин."),
    ("lt", "Moterų pajamos žemesnės nei vyrų."),
    ("lt", "Jie retai naudojasi parama."),
    ("lt", "Jų pajamos mažesnės nei vyrų."),
]


@pytest.mark.parametrize(("lang", "sentence"), PLANTED_QUANTIFIERS)
def test_planted_quantifiers_need_a_guard(lang, sentence):
    assert [p.kind for p in rc.unguarded_phrases(doc(sentence), LEX, lang)] == ["unguarded"]


def test_halves_of_a_year_and_pages_are_no_quantifiers():
    assert rc.unguarded_phrases(doc("in the first half of 2022"), LEX, "en") == []
    assert rc.unguarded_phrases(doc("в первой половине 2022 г.; третьи страны"), LEX, "ru") == []
    assert rc.unguarded_phrases(doc("žr. puslapį; per pirmą pusę metų; pusmetį"), LEX, "lt") == []
    # the methods' rule, not a finding
    assert rc.unguarded_phrases(doc("a group still smaller than the minimum cell size"), LEX, "en") == []


def test_hundreds_in_russian_words_are_numbers():
    found = [p.number for p in rc.number_words(doc("Так ответили сто человек и двести пятьдесят."), LEX, "ru")]
    assert found == ["сто", "двести", "пятьдесят"]


PRINTED_ELSEWHERE = [
    ('---\ntitle: "Report"\nsubtitle: "ZQJ 44,2 % reproduced"\nlang: lt-LT\n---\n\nText.\n', "44,2", 3),
    ('---\ntitle: "Report"\nsynthetic-notice: >-\n  A notice\n  with 44.2% in it\nlang: en\n---\n\nText.\n', "44.2", 5),
    ('---\nauthor:\n  - name: "A"\n    role: "author of 12 studies"\n---\n\nText.\n', "12", 4),
    ("---\ntitle: x\n---\n\nSome `44,2 %` in code.\n", "44,2", 5),
    ("---\ntitle: x\n---\n\n```{=typst}\n#text[44,2 %]\n```\n", "44,2", 6),
    ("---\ntitle: x\n---\n\nPress {{< kbd 44,2 % >}} now.\n", "44,2", 5),
    ("---\ntitle: x\n---\n\nAbout ½ of them.\n", "1", 5),
]


@pytest.mark.parametrize(("text", "number", "line"), PRINTED_ELSEWHERE)
def test_numbers_that_print_outside_the_prose_are_linted(text, number, line):
    """Planted numbers a review found in the PDF or HTML though the lint skipped their part of the
    source: the front matter's reader-facing fields, inline code, raw blocks, unknown shortcodes,
    vulgar fractions."""
    from belmig.report.numbercheck import lint_numbers

    assert [(p.number, p.line) for p in lint_numbers(text, None)] == [(number, line)]


def test_the_front_matter_s_settings_are_not_linted():
    from belmig.report.numbercheck import lint_numbers

    text = '---\ntitle: "Report"\nlang: lt-LT\ncrossref:\n  fig-title: pav.\ntoc-depth: 2\nfontsize: 11pt\n---\n\nOk.\n'
    assert lint_numbers(text, None) == []
    assert lint_numbers("---\ntitle: x\n---\n\nA {{< var pct.a.b >}} value.\n", None) == []


def test_a_percent_sign_goes_with_shares_only():
    """Planted faults: a mean and a count printed with '%', and a share without it."""
    from belmig.report.keycheck import unit_problems

    kinds = {"mean.security_by": "mean", "count.sex.female": "count", "pct.sex.female": "pct", "wci.x.y": "text"}
    text = doc(
        "Вне {{< var mean.security_by >}} % и {{< var count.sex.female >}}%.",
        "",
        "Доля {{< var pct.sex.female >}} и {{< var pct.sex.female >}}\u00a0%, интервал {{< var wci.x.y >}} %.",
    )
    found = [(p.line, p.key) for p in unit_problems(text, kinds, "report/report.ru.qmd")]
    assert found == [(6, "mean.security_by"), (6, "count.sex.female"), (8, "pct.sex.female")]
    (_, _, p) = unit_problems(text, kinds)
    assert "printed without '%'" in p.message


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "Not the majority"),
        ("lt", "Ne dauguma"),
        ("lt", "Nėra daugiau nei pusė"),
        ("ru", "Отнюдь не большинство"),
        ("ru", "Не больше половины"),
    ],
)
def test_a_negation_inside_a_claim_is_caught(lang, words):
    """Planted faults: the claim's phrase ("the majority") holds for pct.a.yes > 50, and the
    words around it say the opposite; the check read the phrase alone."""
    text = doc(f'[{words}]{{.claim guard="big-share"}} of respondents said yes.')
    problems = rc.check_claims(text, VALUES, guards=GUARDS, lexicon=LEX, lang=lang)
    assert [p.kind for p in problems] == ["claim-words"] and "turns round" in problems[0].message
    plain = doc('[The majority]{.claim guard="big-share"} of respondents said yes.')
    assert rc.check_claims(plain, VALUES, guards=GUARDS, lexicon=LEX) == []


def test_a_null_result_keeps_its_negation():
    guards = gm.parse({"null": "padj.sex.a.b >= 0.05"})
    text = doc('[Nė vienas skirtumas nėra statistiškai reikšmingas]{.claim guard="null"}.')
    assert rc.check_claims(text, {"padj.sex.a.b": 0.4}, guards=guards, lexicon=LEX, lang="lt") == []


def test_a_markdown_link_to_a_missing_anchor_is_an_error():
    """Planted fault: "[pav.](#fig-chart55)" beside a working reference; only @-references were read."""
    from belmig.report.xrefs import crossref_problems

    text = doc("See @fig-chart01 ([the chart](#fig-chart55)).", "", "![A](../figures/chart01.svg){#fig-chart01}")
    errors, _ = crossref_problems(text)
    assert [(p.kind, p.line) for p in errors] == [("xref", 6)] and "#fig-chart55 leads nowhere" in errors[0].message
    ok = doc("See @fig-chart01 ([the chart](#fig-chart01)).", "", "![A](../figures/chart01.svg){#fig-chart01}")
    assert crossref_problems(ok)[0] == []


def test_a_number_starting_a_line_of_a_paragraph_is_no_list_marker():
    """Planted fault: "…jų buvo\\n41. Kiti." printed "41." (a list cannot interrupt a paragraph);
    the lint took it for a list marker."""
    from belmig.report.numbercheck import lint_numbers

    planted = doc("Iš jų buvo", "41. Kiti liko.")
    assert [p.number for p in lint_numbers(planted, None)] == ["41"]
    listed = doc("Grupės:", "", "1. pirmoji, kuri", "   tęsiasi;", "2. antroji.", "", "Tekstas.")
    assert lint_numbers(listed, None) == []
