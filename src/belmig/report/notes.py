"""The stages' notes (belmig.core.messages) in an edition's words.

English keeps the text the stage wrote (its catalog's templates). A translated edition words
each note from ``notes.<catalog>.<id>`` of ``report/tables.<lang>.yaml``, with the parameters in
its own forms: numbers in its format (Babel, belmig.report.locale), a question's options by the
codebook's labels in the language, closed-list words (:class:`~belmig.core.messages.Term`) from
the words file. A note without a wording is an error naming the file and the id: a translated
edition never shows English in their place.
"""

from __future__ import annotations

import re
from typing import Any

from belmig.core import messages
from belmig.report import locale

# where each closed list of words is kept in an edition's words file
TERMS = {"comparator": "reproduction.comparator"}
NOTES_KEY = "notes"


def _words_file(w: Any) -> str:
    from belmig.report.tables import words_path

    return f"report/{words_path(w.lang).name}"


def _option(codebook: Any, q: str, opt: str, lang: str) -> str:
    from belmig.report.tables import _option_label

    return _option_label(codebook, q, opt, lang) if codebook is not None else opt


def param(value: Any, w: Any, codebook: Any | None) -> str:
    """One parameter of a note as edition `w` shows it."""
    lang = w.lang
    if isinstance(value, messages.Opts):
        labels = [_option(codebook, value.question, o, lang) for o in value.options]
        if value.style in ("quote", "repr"):
            labels = [w(f"{NOTES_KEY}.quote", text=x) for x in labels]
        return value.sep.join(labels)
    if isinstance(value, messages.Term):
        group = TERMS.get(value.group)
        said = w.get(f"{group}.{value.key}") if group else None
        if not isinstance(said, str):
            raise KeyError(f"{_words_file(w)}: no word for {value.group} {value.key!r} (add it under {group}:)")
        return said
    if isinstance(value, tuple):
        return "; ".join(word(n, w, codebook) for n in value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return locale.format_number(value, lang)
    return locale.localize_text(str(value), lang)


def word(note: messages.Note, w: Any, codebook: Any | None = None) -> str:
    """`note` in the words of edition `w` (a :class:`~belmig.report.tables.Words`)."""
    template = w.get(f"{NOTES_KEY}.{note.id}")
    if not isinstance(template, str) or not template.strip():
        raise KeyError(f"{_words_file(w)}: no wording of note {note.id!r} (add it under {NOTES_KEY}:)")
    text = re.sub(r"[ \t\r\n]+", " ", template).strip()  # folded YAML; a no-break space stays
    return text.format(**{k: param(v, w, codebook) for k, v in note.params.items()})


def worded(encoded: Any, english: Any, w: Any, codebook: Any | None = None) -> Any:
    """The notes stored as `encoded` (belmig.core.messages.encode) in edition `w`'s words, joined
    by "; "; English, or a row without stored notes, keeps `english`."""
    from belmig.report.tables import _missing

    if w.lang == "en" or _missing(encoded) or not str(encoded).strip():
        return english
    return "; ".join(word(n, w, codebook) for n in messages.decode(str(encoded)))


def worded_one(data: Any, english: Any, w: Any, codebook: Any | None = None) -> Any:
    """One note stored as JSON data (belmig.core.messages.as_data) in edition `w`'s words;
    English, or a field without a stored note, keeps `english`."""
    if w.lang == "en" or not data:
        return english
    return word(messages.from_data(data), w, codebook)


def warning(warn: Any, w: Any) -> str:
    """A counted ingest warning (``{"check": ..., "message": ...}`` of ingest_report.json) in
    edition `w`'s words: ``notes.ingest.warn_<check>``; English keeps the message."""
    if w.lang == "en":
        return str(warn["message"])
    return word(messages.Note(f"ingest.warn_{warn['check']}", dict(warn.get("params") or {})), w)
