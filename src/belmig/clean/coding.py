"""Coding of open answers ("Other" text and open comments) into categories.

Two sources, both in ``config/coding/``:

* ``keywords.yaml``: per question, an ordered list of categories, each with an English (and
  Russian) label and keywords in Russian, Belarusian and English. Matching is case-insensitive
  (``ё`` = ``е``) and stem-like: every word of a keyword matches a word *starting* with it
  ("язык" matches "языкового"); a keyword of several words matches those words in order with
  at most two other words between them ("нет барьер" matches "нет языкового барьера"); a word
  written ``=word`` must match the whole word. The first category (in file order) with a
  matching keyword wins.
* ``manual.csv`` (``response_id,question,category,note``): a reviewer's coding of single
  answers; it wins over the keywords. Every row must refer to a submission that has an open
  answer to that question.

For a text question the categories must be exactly its codebook ``coded_as``. What matches no
rule is coded ``"uncoded"``; it is counted, never printed.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from belmig.core import schema
from belmig.core.codebook import Codebook, Question
from belmig.core.keys import code_column, other_text_column

UNCODED = "uncoded"
_RESERVED = {UNCODED, "coded"}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MANUAL_COLUMNS = ["response_id", "question", "category", "note"]


class CodingError(ValueError):
    """The coding rules are malformed or do not fit the codebook / the data."""


def open_answer_column(q: Question) -> str:
    """Ingested column holding the open answer that is coded for question `q`."""
    return q.id if q.type == "text" else other_text_column(q.id)


def codable_questions(cb: Codebook) -> list[Question]:
    """Questions with an open answer: text questions and questions with an "Other" text column."""
    return [q for q in cb.questions if q.type == "text" or q.other_column]


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().replace("ё", "е")


def _keyword_regex(kw: str) -> str:
    words = normalise(kw).split()
    if not words:
        raise ValueError("empty keyword")
    parts = []
    for w in words:
        if w.startswith("="):
            parts.append(re.escape(w[1:]) + r"(?!\w)")
        else:
            parts.append(re.escape(w) + r"\w*")
    return r"(?<!\w)" + r"\W+(?:\w+\W+){0,2}?".join(parts)


@dataclass(frozen=True)
class Category:
    key: str
    label_en: str
    label_ru: str
    pattern: re.Pattern

    def matches(self, text: str) -> bool:
        return bool(self.pattern.search(normalise(text)))


@dataclass(frozen=True)
class CodingRules:
    categories: dict[str, tuple[Category, ...]]  # question id -> categories in priority order
    manual: dict[tuple[str, str], tuple[str, int]]  # (response_id, question) -> (category, line)
    keywords_source: str = "config/coding/keywords.yaml"
    manual_source: str = "config/coding/manual.csv"
    extra: dict = field(default_factory=dict)

    def keys(self, qid: str) -> list[str]:
        """Category keys of a question, in priority order, then "uncoded"."""
        return [c.key for c in self.categories[qid]] + [UNCODED]

    def labels(self, qid: str, lang: str = "en") -> dict[str, str]:
        out = {c.key: (c.label_en if lang == "en" else c.label_ru) for c in self.categories[qid]}
        out[UNCODED] = "Not coded (no rule matched)" if lang == "en" else "Не закодировано"
        return out

    def code_one(self, qid: str, text: str) -> str:
        for c in self.categories[qid]:
            if c.matches(text):
                return c.key
        return UNCODED


def load_rules(keywords: Path, manual: Path, codebook: Codebook) -> CodingRules:
    """Read and check the keyword dictionary and the manual coding table against the codebook."""
    keywords, manual = Path(keywords), Path(manual)
    raw = schema.load_yaml(keywords) or {}  # libyaml's parser, PyYAML's safe constructor: the same values
    if not isinstance(raw, dict):
        raise CodingError(f"{keywords}: expected a mapping question -> categories")
    codable = {q.id: q for q in codable_questions(codebook)}
    unknown = sorted(set(raw) - set(codable))
    if unknown:
        raise CodingError(
            f"{keywords}: {unknown[0]!r} is not a question with an open answer in {codebook.source} "
            f"(codable: {sorted(codable)})"
        )
    missing = [q for q in codable if q not in raw]
    if missing:
        raise CodingError(f"{keywords}: no categories for question {missing[0]!r} (it has an open answer)")
    cats: dict[str, tuple[Category, ...]] = {}
    for qid, q in codable.items():
        entries = raw[qid]
        if not isinstance(entries, dict) or not entries:
            raise CodingError(f"{keywords}: {qid}: expected a mapping category -> {{label_en, label_ru, keywords}}")
        out = []
        for key, spec in entries.items():
            where = f"{keywords}: {qid}.{key}"
            if not _KEY_RE.match(str(key)) or key in _RESERVED:
                raise CodingError(f"{where}: category key must be lower snake case and not one of {sorted(_RESERVED)}")
            if not isinstance(spec, dict) or set(spec) != {"label_en", "label_ru", "keywords"}:
                raise CodingError(f"{where}: needs exactly label_en, label_ru and keywords")
            kws = spec["keywords"]
            if not isinstance(kws, list) or not kws or not all(isinstance(k, str) and k.strip() for k in kws):
                raise CodingError(f"{where}: keywords must be a non-empty list of non-empty strings")
            pattern = re.compile("|".join(f"(?:{_keyword_regex(k)})" for k in kws))
            out.append(Category(str(key), str(spec["label_en"]), str(spec["label_ru"]), pattern))
        if q.type == "text":
            got, want = [c.key for c in out], list(q.coded_as)
            if set(got) != set(want):
                raise CodingError(f"{keywords}: {qid}: categories {got} must be exactly the codebook's coded_as {want}")
        cats[qid] = tuple(out)
    rules = CodingRules(cats, _load_manual(manual, cats), str(keywords), str(manual))
    return rules


def _load_manual(path: Path, cats: dict[str, tuple[Category, ...]]) -> dict[tuple[str, str], tuple[str, int]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise CodingError(f"{path}: empty file; the header must be {','.join(MANUAL_COLUMNS)}") from None
        if [h.strip() for h in header] != MANUAL_COLUMNS:
            raise CodingError(f"{path}: header must be {','.join(MANUAL_COLUMNS)}, got {','.join(header)}")
        out: dict[tuple[str, str], tuple[str, int]] = {}
        for line, rec in enumerate(reader, start=2):
            if not any(c.strip() for c in rec):
                continue
            if len(rec) != len(MANUAL_COLUMNS):
                raise CodingError(f"{path}: line {line}: {len(rec)} fields, expected {len(MANUAL_COLUMNS)}")
            rid, qid, cat = (c.strip() for c in rec[:3])
            if qid not in cats:
                raise CodingError(f"{path}: line {line}: question {qid!r} has no open answer to code")
            allowed = [c.key for c in cats[qid]]
            if cat not in allowed:
                raise CodingError(f"{path}: line {line}: category {cat!r} is not one of {allowed} for {qid!r}")
            if (rid, qid) in out:
                raise CodingError(
                    f"{path}: line {line}: response {rid!r}, question {qid!r} already coded "
                    f"on line {out[(rid, qid)][1]}"
                )
            out[(rid, qid)] = (cat, line)
    return out


def code_answers(texts: pd.DataFrame, codebook: Codebook, rules: CodingRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Code the open answers in `texts` (ingested columns: ``response_id`` + the text columns).

    Returns ``(codes, counts)``: `codes` has one column ``q__code`` per codable question, aligned
    with `texts` (category key, ``"uncoded"`` when no rule matched, NA when there is no text);
    `counts` has one row per question and category (``question, category, count, uncoded``;
    ``uncoded`` is True on the row counting answers no rule matched).
    """
    if "response_id" not in texts.columns:
        raise CodingError("code_answers: the data has no response_id column")
    rids = texts["response_id"].astype("str")
    codes = {}
    counts = []
    for q in codable_questions(codebook):
        col = open_answer_column(q)
        if col not in texts.columns:
            raise CodingError(f"code_answers: the data has no column {col!r} (open answer of {q.id!r})")
        s = texts[col]
        at, uniques = pd.factorize(s, use_na_sentinel=True)  # each distinct text coded once
        coded = pd.array([rules.code_one(q.id, str(t)) for t in uniques], dtype="str")
        codes[code_column(q.id)] = pd.Series(coded.take(at, allow_fill=True), index=s.index)
        counts.append(q.id)
    codes_df = pd.DataFrame(codes, index=texts.index)
    # the manual table wins
    wanted = list({rid for rid, _qid in rules.manual})
    hits = np.flatnonzero(rids.isin(wanted).to_numpy(dtype=bool))
    pos = dict(zip(rids.iloc[hits].tolist(), hits.tolist()))  # the last of repeated ids, as before
    known = pos
    for (rid, qid), (cat, line) in rules.manual.items():
        if rid not in known:
            # coded for a submission of another export or removed from this one: checked by caller
            continue
        i = pos[rid]
        col = code_column(qid)
        if pd.isna(codes_df[col].iloc[i]):
            raise CodingError(
                f"{rules.manual_source}: line {line}: response {rid!r} has no open answer to {qid!r} to code"
            )
        codes_df.iloc[i, codes_df.columns.get_loc(col)] = cat
    return codes_df, coding_counts(codes_df, codebook, rules)


def check_manual_ids(rules: CodingRules, response_ids: pd.Series) -> None:
    """Every manual coding row must refer to a submission of this export."""
    ids = response_ids.astype("str")
    known = set(ids[ids.isin(list({rid for rid, _qid in rules.manual}))])
    for (rid, _qid), (_cat, line) in sorted(rules.manual.items(), key=lambda kv: kv[1][1]):
        if rid not in known:
            raise CodingError(f"{rules.manual_source}: line {line}: response {rid!r} is not in the export")


def coding_counts(codes: pd.DataFrame, codebook: Codebook, rules: CodingRules) -> pd.DataFrame:
    """Counts of coded categories per question (``question, category, count, uncoded``)."""
    rows = []
    for q in codable_questions(codebook):
        vc = codes[code_column(q.id)].value_counts(dropna=True)
        for key in rules.keys(q.id):
            rows.append({"question": q.id, "category": key, "count": int(vc.get(key, 0)), "uncoded": key == UNCODED})
    out = pd.DataFrame(rows, columns=["question", "category", "count", "uncoded"])
    return out.astype({"question": "str", "category": "str", "count": "int64", "uncoded": "bool"})
