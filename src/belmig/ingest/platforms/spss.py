"""``spss`` / ``stata``: a researcher's .sav or .dta file.

A variable is matched to the codebook by its variable label (or its name) being a codebook
header; SPSS cuts variable labels to 256 bytes and Stata to 80 characters, so a label that is
the one codebook header it is a prefix of also matches. Choice cells are codes: through the
variable's value labels (cut to 120 bytes in SPSS: matched the same way), or, without a value
label, the codebook ``code``. Scales are numbers (value labels on their end points only are
ignored). A multiple-choice question is either one variable holding the labels joined by the
separator, or dichotomies (counted value 1):

* in SPSS, its multiple-dichotomy set (``MRSETS``, pyreadstat ``mr_sets``): the set's label is
  the question, each variable's label (or, failing that, its name's suffix = the codebook
  code) the option;
* in Stata, which has no sets, the variables that share a name stem (``q03_1``, ``q03_2``…) and
  whose labels are the options of exactly one multiple-choice question.
"""

from __future__ import annotations

import re

from belmig.core import messages
from belmig.core.codebook import Codebook, Question
from belmig.ingest.labels import SAV_VAR_LABEL_BYTES, STATA_VAR_LABEL_CHARS, _match_truncated, match_prefix
from belmig.ingest.notes import NOTE
from belmig.ingest.platforms.base import Context, Layout, generic_times
from belmig.ingest.raw import _norm, _Raw
from belmig.ingest.tidy import QInput, Source, Tidy

NAME = "spss"
NAMES = ("spss", "stata")
_STEM = re.compile(r"^(.*)_([A-Za-z0-9]+)$")


def resolve_label(raw: _Raw, label: str, candidates: list[str]) -> str | None:
    """The codebook header a (possibly cut) variable label stands for."""
    exact = {_norm(c): c for c in candidates}
    if _norm(label) in exact:
        return exact[_norm(label)]
    if raw.fmt == "sav":
        return _match_truncated(label, candidates, SAV_VAR_LABEL_BYTES)
    return match_prefix(label, candidates, STATA_VAR_LABEL_CHARS)


class SpssLayout(Layout):
    def __init__(self, raw: _Raw, cb: Codebook, platform: str, ctx: Context):
        super().__init__(raw, cb, platform, ctx)
        meta = raw.spss
        self.labels = list(meta.labels)
        heads = cb.export_headers()
        # codebook header -> variable index, by label or by name
        self.by_header: dict[str, int] = {}
        for j, (name, label) in enumerate(zip(meta.names, meta.labels)):
            for text in (label, name):
                if not text:
                    continue
                h = resolve_label(raw, text, heads)
                if h is not None and _norm(h) not in self.by_header:
                    self.by_header[_norm(h)] = j
                    break

    def var(self, header: str) -> int | None:
        j = self.by_header.get(_norm(header))
        return j if j is not None and j not in self.claimed else None

    def answers_of(self, q: Question, j: int):
        vl = self.raw.spss.value_labels.get(self.names[j], {})
        return self.answers(q, value_labels=dict(vl), numeric_codes=self.names[j] in self.raw.spss.numeric)


def _option_of(q: Question, label: str, suffix: str, fmt: str):
    """The option a dichotomy stands for: by its label, else by its name's suffix (the code)."""
    texts = [o.label_ru for o in q.options]
    hit = resolve_label_text(label, texts, fmt)
    if hit is not None:
        return next(o for o in q.options if o.label_ru == hit)
    return next((o for o in q.options if str(o.code) == suffix), None)


def resolve_label_text(label: str, texts: list[str], fmt: str) -> str | None:
    exact = {_norm(t): t for t in texts}
    if _norm(label) in exact:
        return exact[_norm(label)]
    if fmt == "sav":
        return _match_truncated(label, texts, SAV_VAR_LABEL_BYTES)
    return match_prefix(label, texts, STATA_VAR_LABEL_CHARS)


def adapt(raw: _Raw, cb: Codebook, ctx: Context) -> Tidy:
    platform = "stata" if raw.fmt == "dta" else "spss"
    L = SpssLayout(raw, cb, platform, ctx)
    meta = raw.spss
    over = L.overlay_admin()
    L.overlay_drop()
    for c in cb.identifier_columns():
        j = L.var(c.column)
        if j is not None:
            L.tidy.identifiers.append(L.claim(j, "identifier"))
    for c in cb.columns:
        if c.role == "identifier":
            continue
        j = over[c.id] if c.id in over else L.var(c.column)
        if j is None:
            if c.id not in over:
                L.missing(None, c.column)
            continue
        if c.id == "response_id":
            L.tidy.response_id = L.claim(j, c.id)
        elif c.id in ("started_at", "submitted_at"):
            setattr(L.tidy, c.id, L.time(j, generic_times()))
        else:
            L.tidy.admin_extra[c.id] = L.claim(j, c.id)
    sep = cb.multi_separator
    sets = {}
    for name, s in meta.mr_sets.items():
        h = resolve_label(raw, s.get("label") or "", [q.column for q in cb.questions if q.type == "multi"])
        if h is not None:
            sets[_norm(h)] = (name, s)
    pending: list[Question] = []
    for q in cb.questions:
        qi = L.explicit(q, ("1",), ("0",), sep)
        if qi is None:
            j = L.var(q.column)
            if j is not None:
                qi = QInput(
                    q,
                    "joined" if q.type == "multi" else "cell",
                    cell=L.claim(j, q.id),
                    separator=q.separator or sep,
                    answers=L.answers_of(q, j),
                    method=NOTE("method_variable_label"),
                    scale_codes={k: int(v) for k, v in q.codes.items()} if q.type == "scale" else {},
                )
            elif q.type == "multi" and _norm(q.column) in sets:
                qi = _from_set(L, q, *sets[_norm(q.column)])
        if qi is None:
            if q.type == "multi":
                pending.append(q)
                continue
            L.missing(q, q.column)
            continue
        if qi.kind == "joined" and qi.cell is not None and _category_set(L, q, qi.cell.j):
            continue
        _other(L, q, qi)
        L.tidy.questions.append(qi)
    for q in pending:  # Stata: dichotomies by name stem
        qi = _from_stem(L, q)
        if qi is None:
            L.missing(q, q.column, "the question (no variable, set or dichotomies)")
            continue
        _other(L, q, qi)
        L.tidy.questions.append(qi)
    L.unknown()
    return L.tidy


def _category_set(L: SpssLayout, q: Question, j: int) -> bool:
    """A multiple-category set without its MRSETS record: ``q03_1``, ``q03_2``… all labelled with
    the question, each holding the code of one chosen answer. Not read (say so, once)."""
    m = _STEM.match(L.names[j])
    if m is None:
        return False
    label = _norm(L.labels[j])
    js = [
        k
        for k in L.unclaimed()
        if (mk := _STEM.match(L.names[k])) is not None and mk.group(1) == m.group(1) and _norm(L.labels[k]) == label
    ]
    if not js:
        return False
    names = [L.names[j], *(L.names[k] for k in js)]
    for k in js:
        L.claim(k, q.id)
    L.problem(
        repr(q.column),
        f"{names[0]}…{names[-1]} ({len(names)} variables with the question's label, each holding the code of one "
        "chosen answer) look like a multiple-category set whose MRSETS record is missing; this reader takes a "
        "multiple-dichotomy set (one 0/1 variable per answer, MRSETS /MDGROUP) or one variable of joined labels",
        "recode the set into one 0/1 variable per answer (or define it as a multiple-dichotomy set) and save again",
        check="category_set",
    )
    return True


def _other(L: SpssLayout, q: Question, qi: QInput) -> None:
    if not q.other_column:
        return
    j = L.var(q.other_column)
    if j is None:  # a cut label that could also be the question's own: the unclaimed one it fits
        fits = [k for k in L.unclaimed() if L.labels[k] and resolve_label(L.raw, L.labels[k], [q.other_column])]
        j = fits[0] if len(fits) == 1 else None
    if j is None:
        L.missing(q, q.other_column, "its 'Other' text")
        return
    qi.other = L.claim(j, q.id)
    qi.other_mode = "column"


def _dichotomies(L: SpssLayout, q: Question, js: list[int], counted: str, method: messages.Note) -> QInput | None:
    ticks: dict[str, Source] = {}
    for j in js:
        m = _STEM.match(L.names[j])
        o = _option_of(q, L.labels[j], m.group(2) if m else "", L.raw.fmt)
        if o is None or o.key in ticks:
            return None
        ticks[o.key] = L.claim(j, q.id)
    unticked = sorted({c for j in js for c in L.raw.spss.value_labels.get(L.names[j], {}) if c != counted} | {"0"})
    return QInput(q, "ticks", ticks=ticks, ticked=(counted,), unticked=tuple(unticked), method=method)


def _from_set(L: SpssLayout, q: Question, name: str, s: dict) -> QInput | None:
    lookup = {n.lower(): j for j, n in enumerate(L.names)}
    js = [lookup[v.lower()] for v in s.get("variable_list", []) if v.lower() in lookup]
    counted = s.get("counted_value", 1)
    counted = str(int(counted)) if isinstance(counted, (int, float)) else str(counted)
    return _dichotomies(L, q, js, counted, NOTE("method_mr_set", name=name))


def _from_stem(L: SpssLayout, q: Question) -> QInput | None:
    groups: dict[str, list[int]] = {}
    headers = set(L.by_header.values())
    for j in L.unclaimed():
        m = _STEM.match(L.names[j])
        if m and L.labels[j] and j not in headers:
            groups.setdefault(m.group(1), []).append(j)
    texts = {_norm(o.label_ru) for o in q.options}

    def resolved(js: list[int], p: Question) -> set[str] | None:
        out = set()
        for j in js:
            hit = resolve_label_text(L.labels[j], [o.label_ru for o in p.options], L.raw.fmt)
            if hit is None:
                return None
            out.add(_norm(hit))
        return out if len(out) == len(js) else None

    def options_only(js: list[int]) -> list[int]:
        """The variables of a stem whose labels are options of `q` (not its cut "Other" text label)."""
        keep = [j for j in js if resolve_label_text(L.labels[j], [o.label_ru for o in q.options], L.raw.fmt)]
        return keep if len(keep) >= len(js) - 1 else js

    fits = []
    for stem, js in groups.items():
        js = options_only(js)
        labels = resolved(js, q)
        if labels is None or len(js) < 2:
            continue
        rivals = [p for p in L.cb.questions if p.type == "multi" and p.id != q.id and resolved(js, p) is not None]
        if not rivals or labels == texts:
            fits.append((stem, js, labels == texts))
    exact = [f for f in fits if f[2]]
    pick = exact if len(exact) == 1 else fits if len(fits) == 1 else []
    if not pick:
        return None
    stem, js, _ = pick[0]
    return _dichotomies(L, q, js, "1", NOTE("method_dichotomies", stem=stem))
