"""The "Protecting respondents" section in each edition's words (belmig.privacy.explain)."""

from __future__ import annotations

import re
import string
from types import SimpleNamespace

import pytest

from belmig.core import codebook, paths
from belmig.privacy import explain

LANGS = ("lt", "ru")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


@pytest.mark.parametrize("lang", LANGS)
def test_every_sentence_has_the_english_keys_and_placeholders(lang):
    w = explain.words(lang)
    assert set(w) == set(explain.WORDS_EN)
    assert set(w["names"]) == set(explain.WORDS_EN["names"])
    for key, en in explain.WORDS_EN.items():
        if isinstance(en, str):
            assert _fields(w[key]) == _fields(en), (lang, key)


def test_a_missing_sentence_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "protection.lt.yaml"
    text = (paths.REPORT / "protection.lt.yaml").read_text(encoding="utf-8")
    bad.write_text(re.sub(r"(?m)^never:.*(\n  .*)*\n", "", text), encoding="utf-8")
    with pytest.raises(ValueError, match=r"protection\.lt\.yaml: the protection section's words lack never"):
        explain.words("lt", bad)


def _publication(withheld=()):
    return SimpleNamespace(
        min_cell=5,
        targets=56,
        recoveries_before=[1],
        decisions={},
        withheld=lambda: list(withheld),
    )


@pytest.mark.parametrize(
    ("lang", "small", "quote"),
    [
        ("en", "rests on fewer than 5 respondents", "“"),
        ("lt", "nesiremia mažiau nei 5 respondentų", "„"),
        ("ru", "не опирается менее чем на 5 респондентов", "«"),
    ],
)
def test_the_section_is_in_the_editions_language(lang, small, quote):
    cb = codebook.load(paths.CODEBOOK)
    d = SimpleNamespace(key="pct.sex.female", reason="primary: 3 respondents")
    md = explain.protection_md(_publication([d]), None, [], cb, lang)
    assert small in md and "56" in md
    assert f"{quote}{cb['sex'].option('female').label(lang)}" in md  # the answer's label, quoted the edition's way
    if lang != "en":
        assert not re.search(r"\b(respondents|printed|published|Never)\b", md), md
