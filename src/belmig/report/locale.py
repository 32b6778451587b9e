"""How each edition prints the ledger's values: the same digits, the locale's separators (Babel).

The ledger formats every value once, the English way (``belmig.core.ledger.format_value``:
``1,234``, ``56.40``, ``< 0.001``, ``8.61–9.07``). An edition prints exactly those digits with its
own decimal sign and thousands separator, from CLDR through ``babel.numbers``, never by hand:

    >>> localize_text("1,234.50", "lt")      # decimal comma, a no-break space between thousands
    '1\\xa0234,50'
    >>> format_percent("56.4", "lt")        # the percent sign after a no-break space
    '56,4\\xa0%'

Rounding is decided once (in the ledger), so every edition prints the same value. The ``{{< var >}}``
shortcode is the same in every edition; a ``%`` typed after it (``{{< var k >}}%`` or
``{{< var k >}} %``) is printed the locale's way (:func:`percent_suffix`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, numbers as bn

# The CLDR locale of each edition (lang of the edition's front matter, e.g. lt-LT).
LOCALES = {"en": "en_GB", "lt": "lt_LT", "ru": "ru_RU"}

# A number as the ledger writes it (English): optional minus, thousands commas, decimal point.
LEDGER_NUMBER_RE = re.compile(r"(?<![\w.,])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")

# What the ledger writes for a value it has no number for, per language.
NOT_AVAILABLE = {"en": "n/a", "lt": "n.\u00a0d.", "ru": "н/д"}


class LocaleError(ValueError):
    pass


def locale_of(lang: str) -> Locale:
    """The Babel locale of an edition ("en", "lt", "ru"; a tag such as "lt-LT" is accepted)."""
    base = (lang or "en").replace("_", "-").split("-")[0].lower()
    if base not in LOCALES:
        raise LocaleError(f"no locale for edition language {lang!r}: one of {', '.join(LOCALES)}")
    return _locale(LOCALES[base])


@lru_cache(maxsize=8)
def _locale(tag: str) -> Locale:
    return Locale.parse(tag)


def _pattern(decimals: int, base: str = "#,##0") -> str:
    return base + ("." + "0" * decimals if decimals > 0 else "")


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def format_number(number: str | int | float | Decimal, lang: str, decimals: int | None = None) -> str:
    """`number` with the locale's decimal sign and grouping. A string keeps its own digits
    ("56.40" -> "56,40" in lt); `decimals` forces the number of fraction digits."""
    if isinstance(number, str):  # grouped only when the ledger grouped it (not "2022", a year)
        d = _decimals(number) if decimals is None else decimals
        value = Decimal(number.replace(",", ""))
        if "," not in number:
            return bn.format_decimal(value, format=_pattern(d, "0"), locale=locale_of(lang))
    else:
        value = Decimal(str(number))
        d = (_decimals(str(number)) if isinstance(number, float) else 0) if decimals is None else decimals
    return bn.format_decimal(value, format=_pattern(d), locale=locale_of(lang), decimal_quantization=True)


def percent_suffix(lang: str) -> str:
    """What follows a share in `lang`: "%" in English, a no-break space and "%" in Lithuanian and
    Russian (read from the locale's CLDR percent pattern, e.g. ``#,##0 %``)."""
    pattern = locale_of(lang).percent_formats[None].pattern
    m = re.search(r"0([^0#%]*)%", pattern)
    if m is None:  # the sign before the number ("%56") is not used by any edition
        raise LocaleError(f"{lang}: percent pattern {pattern!r} does not put the sign after the number")
    return m.group(1).replace(" ", "\u00a0") + "%"


def format_percent(share_pct: str | int | float | Decimal, lang: str, decimals: int | None = None) -> str:
    """A share given in percent points ("56.4") as the locale prints it: "56.4%", "56,4 %"."""
    return format_number(share_pct, lang, decimals) + percent_suffix(lang)


def localize_text(text: str, lang: str) -> str:
    """The ledger's English text of a value as `lang` prints it: every number in it keeps its
    digits and takes the locale's separators ("< 0.001" -> "< 0,001", "8.61–9.07" -> "8,61–9,07",
    "1,234" -> "1 234"); "n/a" is said in the language; other words are left as they are."""
    base = (lang or "en").split("-")[0].lower()
    locale_of(base)  # an unknown language is an error, also for a text without numbers
    if base == "en":
        return text
    if text.strip() == NOT_AVAILABLE["en"]:
        return NOT_AVAILABLE[base]
    return LEDGER_NUMBER_RE.sub(lambda m: format_number(m.group(0), base), text)


_NUM = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# A table cell that is only a number, a bound ("< 0.001") or an interval ("81.47–89.67").
NUMERIC_CELL_RE = re.compile(rf"^\s*(?:[<>≤≥≈~]\s*)?{_NUM}(?:\s*[–-]\s*{_NUM})?\s*%?\s*$")


def localize_table(markdown: str, lang: str) -> str:
    """The generated appendix tables (pipe tables) with every cell that is only a number printed
    in `lang`'s format ("19,000" -> "19 000", "81.47–89.67" -> "81,47–89,67"); words, file names,
    keys, captions and scientific notation are left as they are."""
    if locale_of(lang).language == "en":
        return markdown
    out = []
    for line in markdown.split("\n"):
        if line.lstrip().startswith("|") and not re.fullmatch(r"\s*\|[\s|:-]+\|?\s*", line):
            cells = line.split("|")
            line = "|".join(localize_text(c, lang) if NUMERIC_CELL_RE.match(c) else c for c in cells)
        out.append(line)
    return "\n".join(out)
