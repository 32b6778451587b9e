"""The stages' notes (belmig.core.messages) in every edition (issue 18): the audit's, cleaning's
and ingestion's explanations are stored as an id and parameters beside their English; the
Lithuanian and Russian editions word each id themselves, and a note they do not word fails."""

from __future__ import annotations

import re
import string

import pandas as pd
import pytest

from belmig.core import codebook as cbm, messages, paths
from belmig.integrity import audit, published as pub
from belmig.report import locale, notes, tables as rt

NBSP = "\u00a0"
CATALOG_MODULES = ("belmig.integrity.audit", "belmig.clean.steps", "belmig.ingest.notes")


@pytest.fixture(scope="module")
def cb():
    return cbm.load()


@pytest.fixture(scope="module")
def real_audit(cb):
    f = pub.read_figures(paths.PUBLISHED_FIGURES, cb)
    return audit.run(f, cb, assumed=pub.read_assumed(paths.ASSUMED_FIGURES, cb))


def _catalogs() -> dict[str, dict[str, str]]:
    import importlib

    for m in CATALOG_MODULES:
        importlib.import_module(m)
    return messages.CATALOGS


def test_every_note_is_worded_in_every_edition_with_the_same_parameters():
    cats = _catalogs()
    assert {"audit", "clean", "ingest"} <= set(cats) and sum(map(len, cats.values())) > 60
    for lang in ("lt", "ru"):
        w = rt.words(lang)
        for name, templates in cats.items():
            worded = w.get(f"notes.{name}") or {}
            assert set(worded) == set(templates), f"{lang}: notes.{name} differs: {set(worded) ^ set(templates)}"
            for key, en in templates.items():
                fields = {f for _, f, _, _ in string.Formatter().parse(worded[key]) if f}
                assert fields == messages.placeholders(en), f"{lang}: notes.{name}.{key} parameters"


def test_a_note_is_its_english_text_and_survives_storage():
    note = audit.NOTE("below_universe", n=293, U=295, missing=2)
    assert str(note) == "base 293 < universe 295: 2 in the universe did not answer"
    nested = audit.NOTE(
        "rejected", m=331, why=(audit.NOTE("plan_bases", by="sex", total=293, rest=38, cap=2), audit.NOTE("plan_unfit"))
    )
    assert str(nested) == (
        "consistent base 331 rejected: subgroup bases by sex add up to 293, leaving 38 (room: 0..2); subgroups do not fit"
    )
    opts = audit.NOTE(
        "v_within_universe", n=93, u=93, p="education_used", levs=messages.Opts("education_used", ("yes",))
    )
    word = audit.NOTE("worded_met", word=messages.Term("comparator", "slightly_more_than"), printed="8", n=295)
    for n in (note, nested, opts, word):
        back = messages.decode(messages.encode([n]))
        assert back == [n] and str(back[0]) == str(n)
    assert str(word) == "worded slightly more than 8: can be met at 295"


def test_a_note_refuses_unknown_ids_and_wrong_parameters():
    with pytest.raises(KeyError, match="no note 'nope'"):
        audit.NOTE("nope")
    with pytest.raises(TypeError, match="below_universe"):
        audit.NOTE("below_universe", n=1, U=2)  # 'missing' left out


def test_lithuanian_and_russian_word_a_note_with_their_numbers_and_labels(cb):
    lt, ru = rt.words("lt"), rt.words("ru")
    note = audit.NOTE("below_universe", n=1234, U=2000, missing=766)
    assert notes.word(note, lt) == f"bazė 1{NBSP}234 < klaustųjų 2{NBSP}000; neatsakė: 766"
    assert notes.word(note, ru) == f"база 1{NBSP}234 < опрошенных 2{NBSP}000; не ответили: 766"
    skip = messages.Opts("health_used", ("yes",))
    v = audit.NOTE("v_within_universe", n=160, u=161, p="health_used", levs=skip)
    assert notes.word(v, lt, cb) == "160 <= 161 (health_used: Taip)"  # the codebook's label
    assert notes.word(v, ru, cb) == "160 <= 161 (health_used: Да)"
    w = audit.NOTE("worded_met", word=messages.Term("comparator", "about"), printed="86.07", n=280)
    assert notes.word(w, lt) == "formuluotė „apie 86,07“: įmanoma, kai bazė 280"


def test_an_edition_without_a_wording_fails_naming_its_file_and_the_note():
    w = rt.Words({"notes": {"audit": {}}}, "lt")
    stored = messages.encode([audit.NOTE("assumed_split")])
    with pytest.raises(KeyError, match=r"report/tables\.lt\.yaml: no wording of note 'audit\.assumed_split'"):
        notes.worded(stored, "answer split taken from assumed.csv", w)
    assert notes.worded(stored, "as English", rt.words("en")) == "as English"  # English keeps the stage's text


ENGLISH = re.compile(r"\b(the|of|in|answered|respondents|universe|base|fits|skipped|remainder|needs|none)\b")


def english_left(md: str) -> list[str]:
    """Table rows of `md` with an English word outside code."""
    out = []
    for line in md.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            if ENGLISH.search(" ".join(c for c in cells if "`" not in c)):
                out.append(line)
    return out


def test_the_real_audit_tables_say_no_english_in_lithuanian_or_russian(cb, real_audit):
    bases, groups = real_audit.bases, real_audit.groups
    assert bases["notes"].str.startswith("[").all() and groups["meaning_notes"].str.startswith("[").all()
    for lang in ("lt", "ru"):
        md = rt.audit_md(bases, groups, codebook=cb, lang=lang, min_cell=5)
        assert english_left(md) == [], f"{lang}: English left"
    # English is the audit's own text, unchanged
    md = rt.audit_md(bases, groups, codebook=cb, lang="en", min_cell=5)
    assert "base 280 \\< universe 335: 55 in the universe did not answer" in md  # (\\< : Markdown)


def test_a_planted_note_without_its_stored_form_is_caught(cb, real_audit):
    """A row whose note was written as plain English only (the fault planted here) shows English
    in the Lithuanian table, and the scan above finds exactly that row."""
    groups = real_audit.groups.copy()
    groups.loc[groups.index[0], "meaning_notes"] = ""
    md = rt.audit_md(real_audit.bases, groups, codebook=cb, lang="lt", min_cell=5)
    left = english_left(md)
    assert len(left) == 1 and groups.loc[groups.index[0], "meaning"].replace("<", "\\<") in left[0]


def test_cleaning_flow_and_ingest_notes_in_lithuanian(cb):
    import belmig.clean.steps as steps
    from belmig.ingest.notes import NOTE as INGEST

    flow = pd.DataFrame([
        {"step": "incomplete", "description": "answered < 80% of the closed questions asked", "removed": 12,
         "remaining": 343, "violations": None, "notes": messages.encode([steps.NOTE("incomplete", threshold="80")])},
    ])  # fmt: skip
    md = rt.cleaning_flow_md(flow, lang="lt", codebook=cb)
    assert f"atsakyta į mažiau nei 80{NBSP}% užduotų uždarųjų klausimų" in md
    assert str(steps.NOTE("incomplete", threshold="80")) == "answered < 80% of the closed questions asked"
    zone = INGEST("zone_study", zone="Europe/Vilnius")
    assert notes.worded_one(messages.as_data(zone), str(zone), rt.words("lt")) == (
        "Europe/Vilnius (faile nenurodyta; laikyta tyrimo laiko juosta)"
    )
    assert locale.localize_text("22.43", "lt") == "22,43"


def test_the_data_source_paragraph_and_table_in_russian():
    from belmig.ingest import notes as inotes, report as irep

    admin = {
        "response_id": {"column": None, "status": "generated"},
        "started_at": {"column": None, "status": "lacking"},
        "submitted_at": {"column": "Timestamp", "status": "read", "format": "YYYY-MM-DD HH:MM:SS"},
    }
    zone = inotes.NOTE("zone_stated", zone="UTC")
    admin["submitted_at"] |= {"time_zone": str(zone), "time_zone_note": messages.as_data(zone)}
    info = {"admin": admin, "time_zone": "Europe/Vilnius"}
    evidence = inotes.NOTE("google_forms", column="'Timestamp'")
    header = inotes.NOTE("method_header")
    doc = {
        "file": "google_forms.csv", "sha256": "0" * 64, "header_rows": 1, "submissions": 374, "mapping": None,
        "platform": {"used": "google_forms", "detected": "google_forms", "forced": False,
                     "evidence": str(evidence), "evidence_note": messages.as_data(evidence)},
        "admin": admin, "questions": [{"id": "sex", "method": str(header), "method_note": messages.as_data(header)}],
        "identifiers_dropped": [], "metadata_ignored": [],
        "warnings": [{"check": "not_asked", "message": str(inotes.NOTE("warn_not_asked")), "count": 3}],
        "consequences": irep.consequences(info),
        "consequences_notes": [messages.as_data(n) for n in irep.consequence_notes(info)],
    }  # fmt: skip
    assert (
        doc["consequences"][-1]
        == "The export's timestamps (UTC (stated in the file)) were converted to Europe/Vilnius."
    )
    ru = rt.data_source_md(doc, lang="ru")
    assert "первый столбец — отметка времени Google Forms 'Timestamp'" in ru
    assert "Отметки времени выгрузки (UTC (указан в файле)) пересчитаны в Europe/Vilnius." in ru
    assert "ответы на вопросы, которые, по кодовой книге, не задавались" in ru
    assert "заголовок = столбец кодовой книги" in ru
    en = rt.data_source_md(doc, lang="en")
    assert "not_asked: 3" in en and "were converted to Europe/Vilnius" in en
    for word in ("export", "stated", "timestamps", "answers", "column"):
        assert not re.search(rf"\b{word}\b", ru), word
