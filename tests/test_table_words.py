"""The appendix tables in every edition's language (issue 18): their words come from
report/tables.yaml, tables.lt.yaml and tables.ru.yaml (same keys), their row labels from the
codebook in the edition's language, their numbers in its format; parity fails an edition whose
tables lack one of English's or still print English."""

from __future__ import annotations

import string
from pathlib import Path

import pandas as pd
import pytest

from belmig.core import codebook as cbm, paths
from belmig.report import build, locale, parity, tables as rt

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


def rows_of(md: str) -> tuple[list[str], list[list[str]], str]:
    import re

    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]] for ln in lines]
    caption = [ln for ln in md.splitlines() if ln.startswith(": ")][0]
    return split[0], split[2:], caption


def flow_df() -> pd.DataFrame:
    return pd.DataFrame({
        "step": ["received", "duplicates", "analysed", "skip_income_source"],
        "description": ["submissions in the export", "identical answers", "respondents analysed", "x"],
        "removed": [0, 6, 0, 0], "remaining": [1234, 1228, 1228, 1228],
        "violations": pd.array([None, None, None, 3], dtype="Int64"),
    })  # fmt: skip


def plan_df() -> pd.DataFrame:
    return pd.DataFrame({
        "question": ["sex", "sex", "sex", "legal_status"],
        "option": ["female", "male", "other", "other"],
        "label": ["Female", "Male + Other", "Male + Other", "Other"],
        "level": ["female", "male+other", "male+other", ""],
        "action": ["kept", "merged", "merged", "dropped"],
        "reason": ["", "merged with other (config)", "merged with male (config)", "no respondents"],
        "n": pd.array([196, 139, 139, None], dtype="Int64"),
    })  # fmt: skip


def diag_df() -> pd.DataFrame:
    return pd.DataFrame({"margin": ["margins_municipality_2022-11.csv"], "category": ["vilnius_city"], "n": [235],
                         "sample_share": [0.7015], "target_share": [0.4185], "weighted_share": [0.4185],
                         "target_count": [19000], "weighted_count": [19000], "gap": [0.0]})  # fmt: skip


# ------------------------------------------------------------------------------ the words files


def test_every_edition_has_the_same_keys_and_placeholders():
    # (the 2022 statements' texts are English in data/published/statements.csv, not in tables.yaml:
    # test_every_2022_statement_has_a_translation_and_no_unknown_ids checks the editions' ones)
    en = rt.load_words(rt.words_path("en"))
    keys = rt.flat_keys(en)
    assert len(keys) > 150 and rt.STATEMENTS_KEY not in en
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for lang in ("lt", "ru"):
        other = {k: v for k, v in rt.load_words(rt.words_path(lang)).items() if k not in (rt.STATEMENTS_KEY, "notes")}
        assert rt.flat_keys(other) == keys, f"{lang}: keys differ from tables.yaml"
        w_en, w = rt.Words(en), rt.Words(other, lang)
        for k in keys:
            assert isinstance(w.get(k), str) and w.get(k).strip(), f"{lang}: {k} is empty"
            assert fields(w.get(k)) <= fields(w_en.get(k)), f"{lang}: {k} uses a placeholder English does not fill"


def test_no_caption_or_header_is_left_in_english():
    en = rt.Words(rt.load_words(rt.words_path("en")))
    same_ok = {"common.option", "common.group", "weighted.headers.n", "data_source.questions_found"}
    for lang in ("lt", "ru"):
        w = rt.words(lang)
        for k in rt.flat_keys(en.data):
            if (".caption" in k or ".headers." in k or k.endswith("_caption")) and k not in same_ok:
                assert w.get(k) != en.get(k), f"{lang}: {k} is the English {en.get(k)!r}"


# ------------------------------------------------------------------------------ hand-checked tables


def test_cleaning_flow_in_lithuanian(cb):
    md = locale.localize_table(rt.cleaning_flow_md(flow_df(), lang="lt", codebook=cb), "lt")
    header, body, cap = rows_of(md)
    assert header == ["Žingsnis", "Ką žingsnis daro", "Pašalinta", "Liko", "Paveikti atsakymai"]
    assert body[0][0] == "Gautos anketos" and body[0][3] == f"1{NBSP}234"  # grouped the Lithuanian way
    assert body[3][0] == "Perėjimų logika: Pajamų šaltinis"  # the question's Lithuanian chart title
    assert cap.startswith(": Duomenų valymo eiga") and cap.endswith("{#tbl-cleaning-flow}")
    assert "`" not in md  # no code ids


def test_cleaning_flow_in_russian_and_english(cb):
    header, body, _ = rows_of(rt.cleaning_flow_md(flow_df(), lang="ru", codebook=cb))
    assert header[:2] == ["Шаг", "Что делает шаг"] and body[1][0] == "Дубликаты"
    header, body, _ = rows_of(rt.cleaning_flow_md(flow_df(), codebook=cb))
    assert header[0] == "Step" and body[1][0] == "Duplicates" and body[3][0] == "Skip logic: Source of income"


def test_weighting_margins_by_label_with_decimal_comma(cb):
    summary = {"method": "post-stratification", "converged": True, "bounds": None}
    md = locale.localize_table(rt.weighting_md(diag_df(), summary, min_cell=5, lang="lt", codebook=cb), "lt")
    margins, stats = md.split("{#tbl-weighting-margins}")
    h, b, _ = rows_of(margins + "{#tbl-weighting-margins}")
    assert h[:4] == ["Pasiskirstymas", "Kategorija", "Respondentai", "Dalis imtyje (%)"]
    assert b[0][:4] == ["Kurioje Lietuvos savivaldybėje gyvenate?", "Vilniaus miestas", "235", "70,15"]
    assert b[0][6] == f"19{NBSP}000"
    _, b2, _ = rows_of(stats)
    assert dict(b2) == {"Metodas": "poststratifikacija", "Konvergavo": "taip", "Svorio ir vidutinio svorio santykio ribos": "nėra"}  # fmt: skip
    ru = rt.weighting_md(diag_df(), summary, min_cell=5, lang="ru", codebook=cb)
    assert "| Вильнюс (город) |" in ru and "vilnius_city" not in ru and "Метод" in ru


def test_levels_in_russian_name_groups_by_their_labels(cb):
    header, body, cap = rows_of(rt.levels_md(plan_df(), cb, min_cell=5, lang="ru"))
    assert header == ["Подгруппа", "Ответ", "Анализируется как", "Действие", "Причина", "Респонденты"]
    assert body[0][:4] == ["Ваш пол", "Женский", "Женский", "оставлен"]
    assert body[1][4] == "объединён с «Другое / не хочу отвечать» (конфигурация)"
    assert body[3][3:5] == ["**исключён**", "нет респондентов"]
    assert "менее 5 респондентов" in cap and cap.endswith("{#tbl-levels}")
    lt = rt.levels_md(plan_df(), cb, min_cell=5, lang="lt")
    assert "`" not in lt and "male+other" not in lt and "Vyras + Kita / nenoriu atsakyti" in lt


def test_frame_label_and_headline_labels_in_lithuanian(cb):
    frame = {"question": "municipality", "keep": ["vilnius_city"]}
    assert build.frame_label(cb, frame) == "Vilnius city vs the rest"
    name = build.frame_label(cb, frame, "lt")
    assert name == "Vilniaus miestas ir kitos savivaldybės"
    base = dict(question="income_regular", option="yes", stat="pct", by="", level="", ci_low=60.0, ci_high=75.0,
                n=295, k=205, n_eff=170.0, suppressed=False, ci_method="logit")  # fmt: skip
    est = pd.DataFrame([{**base, "weighted": False, "estimate": 69.49}, {**base, "weighted": True, "estimate": 73.25}])
    md = locale.localize_table(
        rt.weighted_vs_unweighted_md(est, cb, ["income_regular.yes"], min_cell=5, lang="lt"), "lt"
    )
    header, body, cap = rows_of(md)
    assert header == ["Skaičius", "Nesvertinis", "95 % PI", "n", "Svertinis", "95 % PI", "Efektyvusis n"]
    # (the percent sign of a table cell stays where the builder put it: locale.localize_table)
    assert body[0][:3] == ["Nuolatinės pajamos: Taip", "69,49%", "60,00–75,00"]
    assert "pasikliautinieji intervalai" in cap


def test_suppressed_cells_say_so_in_the_edition_language(cb):
    bases = pd.DataFrame({"question": ["income_regular"], "by": ["sex"], "level": ["female"], "figures": ["39.41"],
                          "consistent_bases": ["3"], "chosen_base": [3], "status": ["ok"], "note": [""]})  # fmt: skip
    h, b, _ = rows_of(rt.audit_md(bases, None, min_cell=5, codebook=cb, lang="ru").split("\n\n:")[0] + "\n\n: x")
    assert h[0] == "Вопрос" and b[0][1] == "Ваш пол: Женский" and b[0][4] == "не показано"


# ------------------------------------------------------------------------------ per-language files


def test_includes_resolve_to_the_edition_own_tables(tmp_path):
    gen = {"levels.md": "english", "lt/levels.md": "lietuviškai"}
    assert build.generated_key("_generated/lt/levels.md") == "lt/levels.md"
    assert build.generated_key("_generated/levels.md") == "levels.md"
    text = "{{< include _generated/lt/levels.md >}}\n"
    assert build.included_texts(text, tmp_path, gen) == {"_generated/lt/levels.md": "lietuviškai"}
    build.write_generated(tmp_path / "_generated", {**gen, "ru/levels.md": "по-русски"})
    (tmp_path / "_generated" / "old.md").write_text("stale", encoding="utf-8")
    build.write_generated(tmp_path / "_generated", gen)  # a file no longer generated goes
    assert parity.read_generated(tmp_path / "_generated") == gen
    assert parity.table_item("_generated/ru/levels.md") == "_generated/levels.md"


@pytest.mark.parametrize("lang", ["lt", "ru"])
def test_edition_texts_include_their_own_language(lang):
    text = (paths.REPORT / f"report.{lang}.qmd").read_text(encoding="utf-8")
    en = (paths.REPORT / "report.qmd").read_text(encoding="utf-8")
    mine = [ln for ln in text.splitlines() if "{{< include" in ln]
    assert mine and all(f"_generated/{lang}/" in ln for ln in mine)
    assert len(mine) == len([ln for ln in en.splitlines() if "{{< include" in ln])


# ------------------------------------------------------------------------------ parity, planted faults


def _generated(cb) -> dict[str, str]:
    out = {}
    for lang in ("en", "lt", "ru"):
        prefix = "" if lang == "en" else f"{lang}/"
        out[prefix + "levels.md"] = rt.levels_md(plan_df(), cb, min_cell=5, lang=lang)
        out[prefix + "cleaning_flow.md"] = rt.cleaning_flow_md(flow_df(), lang=lang, codebook=cb)
    return out


def test_translated_tables_pass(cb):
    gen = _generated(cb)
    assert parity.generated_problems(gen, "lt") == [] and parity.generated_problems(gen, "ru") == []


def test_planted_english_header_in_lithuanian_tables_fails(cb):
    gen = _generated(cb)
    gen["lt/levels.md"] = gen["lt/levels.md"].replace("| Pogrupis |", "| Subgroup |")
    problems = parity.generated_problems(gen, "lt", "report/report.lt.qmd")
    assert [(p.what, p.item, p.file) for p in problems] == [("words", "Subgroup", "lt/levels.md")]
    assert "not translated" in str(problems[0]) and "'Subgroup'" in str(problems[0])


def test_planted_english_tables_in_russian_fail(cb):
    gen = _generated(cb)
    gen["ru/cleaning_flow.md"] = gen["cleaning_flow.md"]  # the English file copied over
    problems = parity.generated_problems(gen, "ru")
    items = {p.item for p in problems}
    assert {"Step", "What the step does", "Skip logic: Source of income"} <= items
    assert any(i.startswith("Cleaning flow:") for i in items)  # the caption


def test_planted_missing_table_fails(cb):
    gen = _generated(cb)
    del gen["lt/levels.md"]
    gen["ru/cleaning_flow.md"] = gen["ru/cleaning_flow.md"].replace("{#tbl-cleaning-flow}", "")
    lt = parity.generated_problems(gen, "lt")
    assert [(p.what, p.file) for p in lt] == [("file", "lt/levels.md")]
    ru = parity.generated_problems(gen, "ru")
    assert [(p.what, p.item) for p in ru] == [("table", "tbl-cleaning-flow")]


def test_compare_runs_the_table_checks_on_edition_files(cb, tmp_path):
    en = tmp_path / "report.qmd"
    lt = tmp_path / "report.lt.qmd"
    en.write_text("---\nlang: en\n---\n\nSee @tbl-levels.\n\n{{< include _generated/levels.md >}}\n", encoding="utf-8")
    lt.write_text(
        "---\nlang: lt-LT\n---\n\nŽr. @tbl-levels.\n\n{{< include _generated/lt/levels.md >}}\n", encoding="utf-8"
    )
    gen = _generated(cb)
    assert parity.compare(en, lt, gen) == []
    gen["lt/levels.md"] = gen["levels.md"]
    problems = parity.compare(en, lt, gen)
    assert problems and all(isinstance(p, parity.TableProblem) and p.what == "words" for p in problems)
    del gen["lt/levels.md"]
    kinds = {
        (type(p).__name__, p.what if isinstance(p, parity.TableProblem) else p.kind)
        for p in parity.compare(en, lt, gen)
    }
    assert ("TableProblem", "file") in kinds and ("Problem", "table") in kinds  # and tbl-levels is gone


def test_words_file_default_is_in_report():
    assert rt.words_path("lt") == Path(paths.REPORT) / "tables.lt.yaml"
    with pytest.raises(ValueError):
        rt.words_path("de")


# ------------------------------------------------------------------------------ the 2022 statements


def _statement_ids() -> list[str]:
    return pd.read_csv(paths.ROOT / "data" / "published" / "statements.csv")["id"].astype(str).tolist()


@pytest.mark.parametrize("lang", ["lt", "ru"])
def test_every_2022_statement_has_a_translation_and_no_unknown_ids(lang):
    ids = _statement_ids()
    said = rt.load_words(rt.words_path(lang))[rt.STATEMENTS_KEY]
    assert len(ids) == 37
    assert sorted(set(ids) - set(said)) == [], f"{lang}: statements without a translation"
    assert sorted(set(said) - set(ids)) == [], f"{lang}: translations of unknown statements"
    en = pd.read_csv(paths.ROOT / "data" / "published" / "statements.csv").set_index("id")["text"]
    for sid in ids:
        assert isinstance(said[sid], str) and said[sid].strip() and said[sid] != en[sid], f"{lang}: {sid}"


def _statements_df() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["political_majority", "return_third"], "printed": ["pct.a.b > 50", "pct.c.d > 1"],
        "comparator": ["claim", "claim"], "recomputed": ["true", "n/a"], "match": [True, False],
        "note": ["An absolute majority left Belarus for political reasons.",
                 "not evaluated: condition 'pct.c.d > 1' uses 'pct.c.d', which is not in the ledger"],
        "kind": ["statement", "statement"],
    })  # fmt: skip


def test_statements_table_prints_the_edition_text():
    lt = rt.reproduction_md(_statements_df(), lang="lt")
    assert "Absoliuti dauguma išvyko iš Baltarusijos dėl politinių priežasčių." in lt
    assert "nevertinta: sąlygos reikšmės pct.c.d nėra" in lt and "reikšmių registre" in lt and "not evaluated" not in lt
    ru = rt.reproduction_md(_statements_df(), lang="ru")
    assert "по политическим причинам" in ru and "не проверено: значения pct.c.d," in ru and "An absolute" not in ru
    en = rt.reproduction_md(_statements_df())
    assert "An absolute majority left Belarus for political reasons." in en and "not evaluated: condition" in en


def test_planted_missing_statement_translation_fails():
    data = rt.load_words(rt.words_path("lt"))
    data = {**data, rt.STATEMENTS_KEY: {k: v for k, v in data[rt.STATEMENTS_KEY].items() if k != "political_majority"}}
    with pytest.raises(KeyError, match=r"report/tables\.lt\.yaml.*'political_majority'"):
        rt.reproduction_md(_statements_df(), lang=rt.Words(data, "lt"))
