"""Coding of open answers: keyword dictionary, manual table, counts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from belmig.clean import coding
from belmig.clean.coding import UNCODED, CodingError
from belmig.core import codebook, paths

CB = codebook.load()
KEYWORDS = paths.CODING_DIR / "keywords.yaml"
MANUAL = paths.CODING_DIR / "manual.csv"


@pytest.fixture(scope="module")
def rules():
    return coding.load_rules(KEYWORDS, MANUAL, CB)


def test_every_open_answer_has_categories(rules):
    codable = {q.id for q in coding.codable_questions(CB)}
    assert set(rules.categories) == codable
    assert {"security_by_comment", "war_impact_comment", "reasons_lithuania"} <= codable
    for qid in ("security_by_comment", "war_impact_comment"):
        assert set(rules.keys(qid)) == set(CB[qid].coded_as) | {UNCODED}


def test_reasons_lithuania_categories(rules):
    assert rules.keys("reasons_lithuania") == [
        "employer_relocation",
        "language_experience",
        "proximity",
        "no_choice",
        UNCODED,
    ]


@pytest.mark.parametrize(
    "qid, text, category",
    [
        # Russian, Belarusian, English; stems; case; ё = е
        ("reasons_lithuania", "Нет языкового барьера, все понимают по-русски", "language_experience"),
        ("reasons_lithuania", "Раньше бывала в Литве много раз", "language_experience"),
        ("reasons_lithuania", "Наша редакция переехала сюда", "employer_relocation"),
        ("reasons_lithuania", "КОМПАНИЯ РЕЛОЦИРОВАЛА ОФИС", "employer_relocation"),
        ("reasons_lithuania", "My employer relocated the whole team", "employer_relocation"),
        ("reasons_lithuania", "Близко к дому", "proximity"),
        ("reasons_lithuania", "Блізка да Беларусі", "proximity"),
        ("reasons_lithuania", "close to Belarus", "proximity"),
        ("reasons_lithuania", "Не особо выбирал, так получилось", "no_choice"),
        ("reasons_lithuania", "Не было іншага выйсця", "no_choice"),
        ("reasons_lithuania", "there was no other option", "no_choice"),
        ("reasons_lithuania", "здесь близкие люди", UNCODED),  # "близк" alone is not proximity
        ("reasons_lithuania", "Случайно", UNCODED),
        ("security_by_comment", "Боялся ареста после протестов", "arrest_fear"),
        ("security_by_comment", "Баяўся арышту", "arrest_fear"),
        ("security_by_comment", "Беззаконие и произвол", "lawlessness"),
        ("security_by_comment", "Страх за будущее детей", "future_fear"),
        ("security_by_comment", "Война рядом, баялася вайны", "war"),
        ("war_impact_comment", "Аренда квартир подорожала", "housing"),  # housing wins over inflation
        ("war_impact_comment", "Выросли цены", "inflation"),
        ("war_impact_comment", "Очереди в миграционном департаменте", "migration_queues"),
        ("war_impact_comment", "Занимаюсь волонтёрством", "volunteering"),
        ("reasons_exit", "Угроза мобилизации", "war_mobilization"),
        ("support_needs", "Обмен водительских прав", "driving_licence"),
    ],
)
def test_keywords(rules, qid, text, category):
    assert rules.code_one(qid, text) == category


def _write_keywords(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(KEYWORDS.read_text(encoding="utf-8"))
    edit(raw)
    p = tmp_path / "keywords.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def test_phrase_gap_and_whole_word(tmp_path):
    def edit(raw):
        raw["reasons_exit"] = {
            "a": {"label_en": "A", "label_ru": "А", "keywords": ["нет барьер"]},
            "b": {"label_en": "B", "label_ru": "Б", "keywords": ["=eu"]},
        }

    rules = coding.load_rules(_write_keywords(tmp_path, edit), MANUAL, CB)
    assert rules.code_one("reasons_exit", "нет языкового барьера") == "a"  # one word between
    assert rules.code_one("reasons_exit", "нет совсем никакого языкового барьера") == UNCODED  # three between
    assert rules.code_one("reasons_exit", "барьер нет") == UNCODED  # order matters
    assert rules.code_one("reasons_exit", "the EU") == "b"
    assert rules.code_one("reasons_exit", "Europe") == UNCODED  # =eu is a whole word


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.pop("reasons_lithuania"), "no categories for question 'reasons_lithuania'"),
        (
            lambda r: r.update(sex={"x": {"label_en": "X", "label_ru": "Х", "keywords": ["x"]}}),
            "'sex' is not a question",
        ),
        (lambda r: r["security_by_comment"].pop("war"), "must be exactly the codebook's coded_as"),
        (
            lambda r: r["reasons_exit"].update(uncoded={"label_en": "U", "label_ru": "U", "keywords": ["u"]}),
            "reasons_exit.uncoded: category key",
        ),
        (lambda r: r["reasons_exit"]["freedom"].update(keywords=[]), "reasons_exit.freedom: keywords"),
    ],
)
def test_keyword_file_errors(tmp_path, edit, message):
    with pytest.raises(CodingError, match=message):
        coding.load_rules(_write_keywords(tmp_path, edit), MANUAL, CB)


def _texts(rows: list[dict]) -> pd.DataFrame:
    cols = ["response_id"] + [coding.open_answer_column(q) for q in coding.codable_questions(CB)]
    df = pd.DataFrame(rows).reindex(columns=cols)
    return df.astype({c: "str" for c in cols})


def _manual(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "manual.csv"
    p.write_text("response_id,question,category,note\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
    return p


def test_code_answers_manual_wins_and_counts(tmp_path):
    texts = _texts(
        [
            {"response_id": "A", "reasons_lithuania__other_text": "Близко к дому"},
            {"response_id": "B", "reasons_lithuania__other_text": "Случайно"},
            {"response_id": "C", "reasons_lithuania__other_text": "Случайно вышло"},
            {"response_id": "D", "security_by_comment": "Просто так"},
        ]
    )
    manual = _manual(tmp_path, ["B,reasons_lithuania,no_choice,reviewer: 'случайно' = no real choice"])
    rules = coding.load_rules(KEYWORDS, manual, CB)
    codes, counts = coding.code_answers(texts, CB, rules)
    assert codes["reasons_lithuania__code"].tolist()[:3] == ["proximity", "no_choice", UNCODED]
    assert codes["reasons_lithuania__code"].isna().tolist() == [False, False, False, True]
    assert codes["security_by_comment__code"].tolist()[3] == UNCODED
    rl = counts[counts["question"] == "reasons_lithuania"].set_index("category")
    assert rl["count"].to_dict() == {
        "employer_relocation": 0,
        "language_experience": 0,
        "proximity": 1,
        "no_choice": 1,
        UNCODED: 1,
    }
    assert rl["uncoded"].to_dict()[UNCODED] and not rl["uncoded"].to_dict()["proximity"]
    assert list(counts.columns) == ["question", "category", "count", "uncoded"]
    # the counts never carry the texts
    assert not counts.isin(["Случайно вышло", "Просто так"]).any().any()


@pytest.mark.parametrize(
    "line, message",
    [
        ("A,reasons_lithuania,visa_free,", "line 2: category 'visa_free' is not one of"),
        ("A,sex,other,", "line 2: question 'sex' has no open answer"),
        ("A,reasons_lithuania", "line 2: 2 fields, expected 4"),
    ],
)
def test_manual_file_errors(tmp_path, line, message):
    with pytest.raises(CodingError, match=message):
        coding.load_rules(KEYWORDS, _manual(tmp_path, [line]), CB)


def test_manual_duplicate_row(tmp_path):
    m = _manual(tmp_path, ["A,reasons_lithuania,proximity,", "A,reasons_lithuania,no_choice,"])
    with pytest.raises(CodingError, match="line 3: response 'A', question 'reasons_lithuania' already coded on line 2"):
        coding.load_rules(KEYWORDS, m, CB)


def test_manual_must_refer_to_an_answer(tmp_path):
    texts = _texts([{"response_id": "A", "reasons_lithuania__other_text": "x"}])
    rules = coding.load_rules(KEYWORDS, _manual(tmp_path, ["A,war_impact_comment,housing,"]), CB)
    with pytest.raises(CodingError, match="line 2: response 'A' has no open answer to 'war_impact_comment'"):
        coding.code_answers(texts, CB, rules)
    rules = coding.load_rules(KEYWORDS, _manual(tmp_path, ["Z,reasons_lithuania,proximity,"]), CB)
    with pytest.raises(CodingError, match="line 2: response 'Z' is not in the export"):
        coding.check_manual_ids(rules, texts["response_id"])
