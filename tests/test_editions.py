"""The editions machinery (belmig.report.editions, render): strings per language, the language
switcher, figure paths per edition, front-matter defaults, the codebook's Lithuanian labels, and a
real render of small Lithuanian and Russian documents (PDF text, embedded fonts, "5 pav.")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from belmig.core import paths
from belmig.core.ledger import Entry
from belmig.report import editions, render

ROOT = Path(__file__).resolve().parents[1]
LT_LETTERS = "ąčęėįšųūž"


def test_every_language_has_the_same_strings():
    keys = {lg: set(s) for lg, s in editions.STRINGS.items()}
    assert set(keys) == set(editions.LANGS)
    assert all(k == keys["en"] for k in keys.values())
    assert editions.STRINGS["lt"]["crossref"]["number-first"] is True
    assert editions.STRINGS["ru"]["toc-title"] == "Содержание"
    assert set(editions.PROVENANCE_LABELS["lt"]) == set(editions.PROVENANCE_LABELS["ru"])


def test_outputs_and_build_folders_per_edition(tmp_path):
    assert editions.outputs("en", tmp_path) == {
        "pdf": tmp_path / "report.pdf",
        "html": tmp_path / "report.html",
        "docx": tmp_path / "report.docx",
    }
    assert editions.outputs("lt", tmp_path) == {"pdf": tmp_path / "report.lt.pdf", "html": tmp_path / "report.lt.html"}
    assert [editions.build_dir_name(lg) for lg in ("en", "lt", "ru")] == ["_build", "_build.lt", "_build.ru"]
    assert editions.lang_of("lt-LT") == "lt" and editions.lang_of(None) == "en"
    with pytest.raises(ValueError, match="'de-DE'"):
        editions.lang_of("de-DE")


def test_switcher_links_the_other_two_editions(tmp_path):
    for lg in ("", ".lt", ".ru"):
        (tmp_path / f"report{lg}.qmd").write_text("---\n---\n", encoding="utf-8")
    html = editions.switcher_html("lt", tmp_path)
    assert '<a href="report.html" hreflang="en" lang="en">English</a>' in html
    assert '<a href="report.ru.html" hreflang="ru" lang="ru">Русский</a>' in html
    assert 'href="report.lt.html"' not in html  # the current edition is named, not linked
    assert '<strong lang="lt" aria-current="page">Lietuvių</strong>' in html
    assert html.startswith('<nav class="edition-switcher" aria-label="Kalba"')
    (tmp_path / "report.ru.qmd").unlink()  # an edition that does not exist is not linked
    assert "report.ru.html" not in editions.switcher_html("en", tmp_path)


def test_figure_path_is_the_one_place_for_an_editions_figures():
    assert editions.figure_path(5, "en") == "../figures/chart05.svg"
    assert editions.figure_path("05", "lt", per_language=True) == "../figures/chart05.lt.svg"
    assert editions.figure_path(5, "ru", per_language=False) == "../figures/chart05.svg"
    md = "![Atvykimas](../figures/chart01.svg){#fig-chart01}"
    assert (
        render.localize_figures(md, "lt", per_language=True) == "![Atvykimas](../figures/chart01.lt.svg){#fig-chart01}"
    )
    assert render.localize_figures(md, "en", per_language=True) == md


def test_front_matter_defaults_do_not_override_the_edition():
    text = "---\nlang: lt-LT\ntoc-title: Mano turinys\ncrossref:\n  fig-prefix: pav.\n---\nTekstas\n"
    out = render.with_defaults(text, editions.strings("lt"))
    fm = render.front_matter(out)
    assert fm["toc-title"] == "Mano turinys"  # the edition's own
    assert fm["header-notice"] == editions.STRINGS["lt"]["header-notice"]  # the default
    assert fm["crossref"] == {"number-first": True, "fig-prefix": "pav."}  # merged one level deep
    assert out.endswith("---\nTekstas\n")


def test_codebook_has_lithuanian_and_russian_words_for_every_question_option_and_chart():
    cb = yaml.safe_load((ROOT / "config" / "codebook.yaml").read_text(encoding="utf-8"))
    missing = []
    for q in cb["questions"]:
        missing += [f"{q['id']}.{k}" for k in q if k.endswith("_en") and k[:-3] + "_lt" not in q]
        missing += [f"{q['id']}.{k}" for k in q if k.endswith("_en") and k[:-3] + "_ru" not in q]
        for o in q.get("options") or []:
            missing += [f"{q['id']}.{o['key']}.{k}" for k in o if k.endswith("_en") and k[:-3] + "_lt" not in o]
    for c in cb["charts"]:
        missing += [f"chart {c['number']}.{k}" for k in c if k.endswith("_en") and k[:-3] + "_lt" not in c]
    assert missing == []


def test_config_lists_the_three_editions():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert cfg["report"]["editions"] == ["en", "lt", "ru"]


# ----------------------------------------------------------------------------- a real render

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40"><rect width="100" height="40" fill="#1f4e79"/></svg>'

DOCS = {
    "lt": """---
title: "Ataskaita: ąčęėįšųūž"
lang: lt-LT
synthetic-notice-title: "Sintetiniai duomenys"
synthetic-notice: "Tai ne tikrų respondentų atsakymai."
crossref:
  fig-title: pav.
  fig-prefix: pav.
  tbl-title: lentelė
  tbl-prefix: lent.
---

# Santrauka {#sec-summary}

Leidimą gyventi turi {{< var pct.a.yes >}}% respondentų, apklausoje dalyvavo {{< var n.a >}} žmonių
(@fig-chart01). Žodžiai su raidėmis ą č ę ė į š ų ū ž ir „kabutėmis“.

![Atvykimas](../figures/chart01.svg){#fig-chart01}
""",
    "ru": """---
title: "Доклад: съешь же ещё этих мягких французских булок"
lang: ru-RU
synthetic-notice-title: "Синтетические данные"
synthetic-notice: "Это не ответы реальных респондентов."
crossref:
  fig-title: Рисунок
  fig-prefix: рис.
  tbl-title: Таблица
  tbl-prefix: табл.
---

# Резюме {#sec-summary}

Вид на жительство есть у {{< var pct.a.yes >}} % респондентов, в опросе участвовали
{{< var n.a >}} человек (@fig-chart01).

![Въезд](../figures/chart01.svg){#fig-chart01}
""",
}


def _entry(key: str, text: str) -> Entry:
    return Entry(key=key, value=None, text=text, kind="pct", stage="s", notebook="05_estimate", cell="c")


LEDGER = {"pct.a.yes": _entry("pct.a.yes", "56.4"), "n.a": _entry("n.a", "1,234")}


@pytest.fixture
def mini_root(tmp_path, monkeypatch):
    """A copy of the report's template, filter and stylesheet in a temporary project root."""
    rep = tmp_path / "report"
    (rep / "filters").mkdir(parents=True)
    shutil.copy(ROOT / "report" / "template.typ", rep)
    shutil.copy(ROOT / "report" / "style.css", rep)
    shutil.copy(ROOT / "report" / "filters" / "crossref.lua", rep / "filters")
    (tmp_path / "figures").mkdir()
    from PIL import Image  # the DOCX (English) shows the PNG twin of the SVG

    for sfx in ("", ".lt", ".ru"):  # each edition prints its own figure (editions.figure_path)
        (tmp_path / "figures" / f"chart01{sfx}.svg").write_text(SVG, encoding="utf-8")
    Image.new("RGB", (100, 40), (31, 78, 121)).save(tmp_path / "figures" / "chart01.png")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    return tmp_path


def _pdftotext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdffonts") is None, reason="poppler-utils")
@pytest.mark.parametrize("lang", ["lt", "ru"])
def test_a_small_edition_renders_in_its_language_with_embedded_fonts(mini_root, lang):
    for lg, text in DOCS.items():
        (mini_root / "report" / f"report.{lg}.qmd").write_text(text, encoding="utf-8")
    (mini_root / "report" / "report.qmd").write_text("---\nlang: en-GB\n---\n", encoding="utf-8")
    qmd = mini_root / "report" / f"report.{lang}.qmd"
    out = editions.outputs(lang, mini_root / "report")
    render.render(
        qmd,
        LEDGER,
        out_pdf=out["pdf"],
        out_html=out["html"],
        provenance=[{"label": "repository commit", "value": "abc"}],
        figures_dir=mini_root / "figures",
    )
    assert (mini_root / "report" / f"_build.{lang}" / f"report.{lang}.typ").is_file()
    text = " ".join(_pdftotext(out["pdf"]).replace("\xa0", " ").split())
    assert "56,4 %" in text and "1 234" in text  # the edition's number format
    assert "56.4" not in text and "1,234" not in text
    fonts = subprocess.run(["pdffonts", str(out["pdf"])], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(r[-5] == "yes" for r in rows), fonts  # emb column: every font embedded
    html = out["html"].read_text(encoding="utf-8")
    assert f'lang="{lang}-{lang.upper()}"' in html
    assert 'class="edition-switcher"' in html and 'href="report.html"' in html
    # each number links to the same value anchor as in English
    assert 'href="../notebooks/executed/values.html#pct.a.yes"' in html
    if lang == "lt":
        assert all(c in text for c in LT_LETTERS), text
        assert "1 pav." in text  # the number first, as Lithuanian writes it
        assert "Turinys" in text and "Sintetinė rekonstrukcija" in text
        assert "repozitorijos versija (commit): abc" in text
        assert "56,4</a>\xa0%" in html  # the value links to its anchor; the sign after a no-break space
    else:
        assert "съешь же ещё этих мягких французских булок" in text
        assert "рис. 1" in text and "Содержание" in text
        assert "56,4</a>\xa0%" in html  # the value links to its anchor; the sign after a no-break space


def test_a_sentence_ending_in_a_number_first_reference_takes_its_period():
    fm = "---\ncrossref:\n  number-first: true\n  fig-prefix: pav.\n  tbl-prefix: lent.\n---\n"
    text = fm + "Parodyta @tbl-flow.\nŽr. @fig-chart01. Ir @sec-methods.\n(@fig-chart02).\n"
    out = render.absorb_abbreviation_period(text)
    assert out == fm + "Parodyta @tbl-flow\nŽr. @fig-chart01 Ir @sec-methods.\n(@fig-chart02).\n"
    en = "---\ncrossref:\n  fig-prefix: Chart\n---\nSee @fig-chart01.\n"
    assert render.absorb_abbreviation_period(en) == en


def test_the_loaded_codebook_speaks_lithuanian():
    from belmig.core import codebook

    cb = codebook.load(ROOT / "config" / "codebook.yaml")
    q = cb["arrival_year"]
    assert q.option("y2020").label("lt") == "2020 m."
    assert q.option("y2020").label("ru") == "В 2020 году"
    assert q.option("y2020").label("en") == "In 2020"
    assert q.text("lt") == "Kada atvykote į Lietuvą?"
    assert cb.charts[0].title("lt") == "Atvykimas į Lietuvą"
    assert all(o.label_lt for qq in cb.by_id.values() for o in qq.options)
    assert all(c.title_lt for c in cb.charts)


def test_chart_numbers_print_in_the_chart_language():
    """A Lithuanian or Russian chart prints its bars and mean as its edition does (decimal comma,
    no-break space before %); English keeps the ledger's text; a withheld bar keeps its mark."""
    from belmig.charts import base

    p = base.Point(key="k", label="x", value=86.07, text="86.07", suppressed=False, residual=False,
                   ledger_key=None, w_value=None, w_low=None, w_high=None, w_ledger_key=None)  # fmt: skip
    assert base.drawn_value(p, "en") == "86.07%"
    assert base.drawn_value(p, "lt") == "86,07\u00a0%"
    assert base.drawn_value(p, "ru") == "86,07\u00a0%"
    assert base.in_locale("4.17", "lt") == "4,17"
    assert base.in_locale(base.SUPPRESSED_MARK, "lt") == base.SUPPRESSED_MARK
