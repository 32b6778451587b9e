"""Locale formatting of the ledger's values per edition (belmig.report.locale, Babel/CLDR).

Every expected string is written out by hand: U+00A0 (no-break space) is spelled ``\\xa0``."""

from __future__ import annotations

from pathlib import Path

import pytest

from belmig.core.ledger import Entry
from belmig.report import checks, locale, render

REPORT = Path(__file__).resolve().parents[1] / "report"
NBSP = "\xa0"


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("56.4", "en", "56.4"),
        ("56.4", "lt", "56,4"),
        ("56.4", "ru", "56,4"),
        ("56.40", "lt", "56,40"),  # the ledger's digits are kept, trailing zero included
        ("1,234", "en", "1,234"),
        ("1,234", "lt", f"1{NBSP}234"),
        ("1,234.5", "ru", f"1{NBSP}234,5"),
        ("12,345", "lt", f"12{NBSP}345"),
        ("2022", "lt", "2022"),  # not grouped in the ledger (a year, a code): not grouped here
        ("12345", "ru", "12345"),
        ("335", "ru", "335"),
        ("< 0.001", "lt", "< 0,001"),
        ("0.042", "ru", "0,042"),
        ("8.61–9.07", "lt", "8,61–9,07"),  # an interval: both ends
        ("-0.5", "lt", "-0,5"),
        ("–", "lt", "–"),  # the mark of a withheld value stays
        ("n/a", "lt", f"n.{NBSP}d."),
        ("n/a", "ru", "н/д"),
    ],
)
def test_ledger_text_is_printed_in_the_edition_locale(text, lang, expected):
    assert locale.localize_text(text, lang) == expected


def test_percent_sign_follows_the_language():
    assert locale.format_percent("56.4", "en") == "56.4%"
    assert locale.format_percent("56.4", "lt") == f"56,4{NBSP}%"
    assert locale.format_percent("56.4", "ru") == f"56,4{NBSP}%"
    assert locale.percent_suffix("en") == "%"
    assert locale.percent_suffix("lt-LT") == f"{NBSP}%"


def test_format_number_from_numbers_and_forced_decimals():
    assert locale.format_number(1234, "ru") == f"1{NBSP}234"
    assert locale.format_number(0.5, "lt") == "0,5"
    assert locale.format_number("3.14159", "lt", decimals=2) == "3,14"
    assert locale.format_number(2, "en", decimals=1) == "2.0"


def test_unknown_language_is_an_error():
    with pytest.raises(locale.LocaleError, match="'de'"):
        locale.localize_text("1.5", "de")
    with pytest.raises(locale.LocaleError):
        locale.percent_suffix("fr")


def _entry(key: str, text: str) -> Entry:
    return Entry(key=key, value=None, text=text, kind="pct", stage="estimate", notebook="05_estimate", cell="c1")


LEDGER = {
    "pct.a.yes": _entry("pct.a.yes", "56.4"),
    "n.a": _entry("n.a", "1,234"),
}


@pytest.mark.parametrize("typed", ["{{< var pct.a.yes >}}%", "{{< var pct.a.yes >}} %", "{{< var pct.a.yes >}}\xa0%"])
def test_the_shortcode_is_the_same_and_the_value_prints_per_locale(typed):
    lt = render.substitute_values(f"Taip: {typed}.", LEDGER, None, "t.qmd", "lt").markdown
    en = render.substitute_values(f"Yes: {typed}.", LEDGER, None, "t.qmd", "en").markdown
    ru = render.substitute_values(f"Да: {typed}.", LEDGER, "../", "t.qmd", "ru").markdown
    assert lt == f"Taip: [56,4]{{.value}}{NBSP}%."
    assert en == "Yes: [56.4]{.value}%."
    assert ru == f"Да: [56,4](../notebooks/executed/values.html#pct.a.yes){{.value}}{NBSP}%."


def test_counts_get_the_locale_grouping_and_the_same_anchor():
    lt = render.substitute_values("{{< var n.a >}} žmonių", LEDGER, "../", "t.qmd", "lt")
    assert lt.markdown == f"[1{NBSP}234](../notebooks/executed/values.html#n.a){{.value}} žmonių"
    en = render.substitute_values("{{< var n.a >}} people", LEDGER, "../", "t.qmd", "en")
    assert "values.html#n.a)" in en.markdown and "[1,234]" in en.markdown
    assert lt.used_keys == en.used_keys == ("n.a",)


# ----------------------------------------------------------------------------- the number lint per edition


@pytest.mark.parametrize(
    ("lang", "planted"),
    [
        ("lt", f"Leidimą gyventi turi 56,4{NBSP}% respondentų."),
        ("lt", f"Apklausoje dalyvavo 1{NBSP}234 žmonės."),
        ("lt", "Tai sudaro 56.4 % respondentų."),
        ("ru", f"Вид на жительство есть у 56,4{NBSP}% респондентов."),
        ("ru", f"В опросе участвовали 1{NBSP}234 человека."),
        ("en", "A residence permit is held by 56.4% of respondents."),
    ],
)
def test_each_edition_lint_rejects_a_bare_number_in_its_own_format(lang, planted):
    allow = REPORT / ("number-allowlist.yaml" if lang == "en" else f"number-allowlist.{lang}.yaml")
    problems = checks.lint_numbers(f"Intro.\n\n{planted}\n", allow, f"report.{lang}.qmd")
    assert problems, planted
    assert {p.line for p in problems} == {3}
    assert all(p.kind == "number" for p in problems)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("lt", f"Nuo 2020{NBSP}m. leidimą gyventi turi {{{{< var pct.a.yes >}}}}{NBSP}% respondentų."),
        ("ru", f"С 2020{NBSP}г. вид на жительство есть у {{{{< var pct.a.yes >}}}}{NBSP}% респондентов."),
        ("en", "Since 2020, {{< var pct.a.yes >}}% of respondents hold a residence permit."),
    ],
)
def test_each_edition_lint_accepts_its_own_dates_and_shortcodes(lang, text):
    allow = REPORT / ("number-allowlist.yaml" if lang == "en" else f"number-allowlist.{lang}.yaml")
    assert checks.lint_numbers(text + "\n", allow) == []


def test_numeric_table_cells_are_localized_and_nothing_else():
    md = "\n".join(
        [
            "| Margin | Category | n | Share (%) | CI | p | Population |",
            "|:--|:--|--:|--:|--:|--:|--:|",
            "| margins_2022-11.csv | vilnius_city | 235 | 70.15 | 81.47–89.67 | < 0.001 | 19,000 |",
            "| `pct.a.yes` | y2020 | 2022 | -1.9e-16 | – | n/a | 1.2.3 |",
            "",
            ": Margins 2022: shares in 70.15 {#tbl-x}",
        ]
    )
    lt = locale.localize_table(md, "lt").split("\n")
    assert lt[0:2] == md.split("\n")[0:2]
    assert lt[2] == f"| margins_2022-11.csv | vilnius_city | 235 | 70,15 | 81,47–89,67 | < 0,001 | 19{NBSP}000 |"
    assert lt[3:] == md.split("\n")[3:]  # keys, codes, a year, scientific notation, the caption
    assert locale.localize_table(md, "en") == md
