"""The few words on a chart that are not in the codebook (notes, source line, alt-text frames).

Everything a respondent saw (questions, answer options, scale end labels, chart titles) comes
from the codebook; this table holds only the chart's own furniture, in every chart language.
Every language must have exactly the same keys (checked at import), so a Russian or Lithuanian
build never falls back to English.
"""

from __future__ import annotations

LANGS = ("en", "ru", "lt")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Chart {number}. {title}",
        "base": "n = {n}",
        "single": "one answer per respondent",
        "multi": "several answers possible, so the percentages add up to more than 100",
        "scale": "ratings from {min} to {max}; bars show the percentage of respondents giving each rating",
        "subgroup": "Only respondents who answered “{levels}” to “{question}”.",
        "universe": "Asked only of respondents who answered “{levels}” to “{question}”.",
        "or": "” or “",
        "ci": "Lines: 95% confidence interval of the weighted estimate (dot: the weighted estimate).",
        "suppressed": "“{mark}”: not shown, to protect respondents.",
        "merged": "Ratings {spans} are shown together: too few respondents gave each of them.",
        "source": "Source: synthetic reconstruction of the EESC 2022 survey (not the original data)",
        "mean": "Mean: {mean}",
        "mean_ci": "weighted 95% CI: {low}–{high}",
        "scale_end": "{value} = {label}",
        "alt_bars": "Bar chart",
        "alt_scale": "Bar chart of ratings from {min} ({label_min}) to {max} ({label_max})",
        "alt_value": "{label}: {value}",
        "alt_suppressed": "{label}: not shown (to protect respondents)",
        "alt_mean": "mean {mean}",
        "caption_bars": "{title}: answers to “{question}”, percent of respondents.",
        "caption_scale": "{title}: ratings of “{question}” (distribution and mean).",
        "caption_subgroup": "{title}: answers to “{question}” among respondents who answered “{levels}” to “{parent}”, percent.",
    },
    "ru": {
        "title": "Диаграмма {number}. {title}",
        "base": "Число ответивших: {n}",
        "single": "один вариант ответа",
        "multi": "можно было выбрать несколько вариантов, поэтому сумма превышает 100%",
        "scale": "оценки от {min} до {max}; столбцы — доля респондентов с каждой оценкой",
        "subgroup": "Только респонденты, ответившие «{levels}» на вопрос «{question}».",
        "universe": "Вопрос задавался только ответившим «{levels}» на вопрос «{question}».",
        "or": "» или «",
        "ci": "Отрезки: 95-процентный доверительный интервал взвешенной оценки (точка — взвешенная оценка).",
        "suppressed": "«{mark}» — не показано, чтобы защитить респондентов.",
        "merged": "Оценки {spans} показаны вместе: каждую из них дали слишком мало респондентов.",
        "source": "Источник: синтетическая реконструкция опроса Центра исследований Восточной Европы 2022 г. (не исходные данные)",
        "mean": "Среднее: {mean}",
        "mean_ci": "взвешенный 95-процентный интервал: {low}–{high}",
        "scale_end": "{value} — {label}",
        "alt_bars": "Столбчатая диаграмма",
        "alt_scale": "Столбчатая диаграмма оценок от {min} ({label_min}) до {max} ({label_max})",
        "alt_value": "{label}: {value}",
        "alt_suppressed": "{label}: не показано (чтобы защитить респондентов)",
        "alt_mean": "среднее {mean}",
        "caption_bars": "{title}: ответы на вопрос «{question}», % респондентов.",
        "caption_scale": "{title}: оценки по вопросу «{question}» (распределение и среднее).",
        "caption_subgroup": "{title}: ответы на вопрос «{question}» среди ответивших «{levels}» на вопрос «{parent}», %.",
    },
    "lt": {
        "title": "{number} diagrama. {title}",
        "base": "Atsakiusiųjų skaičius: {n}",
        "single": "vienas atsakymas kiekvienam respondentui",
        "multi": "buvo galima rinktis kelis atsakymus, todėl procentų suma viršija 100",
        "scale": "įvertinimai nuo {min} iki {max}; stulpeliai rodo, kokia respondentų dalis pasirinko kiekvieną įvertinimą",
        "subgroup": "Tik respondentai, į klausimą „{question}“ atsakę „{levels}“.",
        "universe": "Klausimas užduotas tik respondentams, į klausimą „{question}“ atsakiusiems „{levels}“.",
        "or": "“ arba „",
        "ci": "Linijos: svertinio įverčio 95\u00a0% pasikliautinasis intervalas (taškas\u00a0– svertinis įvertis).",
        "suppressed": "„{mark}“: nerodoma, kad būtų apsaugoti respondentai.",
        "merged": "Įvertinimai {spans} rodomi kartu: kiekvieną jų pasirinko per mažai respondentų.",
        "source": "Šaltinis: sintetinė Rytų Europos studijų centro 2022\u00a0m. apklausos rekonstrukcija (ne originalūs duomenys)",
        "mean": "Vidurkis: {mean}",
        "mean_ci": "svertinis 95\u00a0% pasikliautinasis intervalas: {low}–{high}",
        "scale_end": "{value}\u00a0– {label}",
        "alt_bars": "Stulpelinė diagrama",
        "alt_scale": "Įvertinimų nuo {min} ({label_min}) iki {max} ({label_max}) stulpelinė diagrama",
        "alt_value": "{label}: {value}",
        "alt_suppressed": "{label}: nerodoma (kad būtų apsaugoti respondentai)",
        "alt_mean": "vidurkis {mean}",
        "caption_bars": "{title}: atsakymai į klausimą „{question}“, respondentų procentais.",
        "caption_scale": "{title}: klausimo „{question}“ įvertinimai (pasiskirstymas ir vidurkis).",
        "caption_subgroup": "{title}: atsakymai į klausimą „{question}“ tarp respondentų, į klausimą „{parent}“ atsakiusių „{levels}“, procentais.",
    },
}

SUPPRESSED_MARK = "–"  # drawn instead of a value for a suppressed cell (explained in the note)

if any(set(TEXT[lang]) != set(TEXT["en"]) for lang in TEXT) or set(TEXT) != set(LANGS):
    raise RuntimeError("belmig.charts.strings: the languages do not have the same keys")


def t(lang: str, key: str, **fields: object) -> str:
    if lang not in TEXT:
        raise ValueError(f"chart language must be one of {LANGS}, got {lang!r}")
    return TEXT[lang][key].format(**fields)
