"""Answer text to option key: labels, aliases, codes, SPSS value labels and truncated labels,
and the split of a multiple answer by matching the known labels."""

from __future__ import annotations

from pathlib import Path

from belmig.core.codebook import Question
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import _norm
from belmig.ingest.tidy import Answers

SAV_VAR_LABEL_BYTES = 256
SAV_VALUE_LABEL_BYTES = 120
STATA_VAR_LABEL_CHARS = 80


def _match_truncated(text: str, candidates: list[str], limit: int) -> str | None:
    """The one candidate `text` is a byte-limit truncation of (SPSS labels), else None."""
    t = _norm(text)
    if len(text.strip().encode("utf-8")) < limit - 4:
        return None
    hits = [c for c in candidates if _norm(c).startswith(t)]
    return hits[0] if len(hits) == 1 else None


def match_prefix(text: str, candidates: list[str], min_len: int) -> str | None:
    """The one candidate `text` is a prefix of, when `text` is at least `min_len` characters
    (labels cut to a length limit: Stata's 80 characters)."""
    t = _norm(text)
    if len(text.strip()) < min_len - 2:
        return None
    hits = [c for c in candidates if _norm(c).startswith(t)]
    return hits[0] if len(hits) == 1 else None


class _Labels:
    """Answer text → option key for one question, as :class:`~belmig.ingest.tidy.Answers` says.

    ``key`` returns the option key, or None with ``why`` set to the problem and a hint."""

    def __init__(self, q: Question, path: Path, answers: Answers | None = None):
        self.q = q
        self.a = answers or Answers()
        self.map: dict[str, str] = {}
        for o in q.options:
            for text in (o.label_ru, *o.aliases):
                n = _norm(text)
                if n in self.map and self.map[n] != o.key:
                    raise IngestError(
                        f"{path}: codebook question {q.id!r}: label {text!r} is used by options "
                        f"{self.map[n]!r} and {o.key!r}"
                    )
                self.map[n] = o.key
        for text, key in self.a.extra.items():
            self.map.setdefault(_norm(text), key)
        self.codes = {str(k).strip(): v for k, v in self.a.codes.items()}
        self.numeric = {str(o.code): o.key for o in q.options} if self.a.numeric_codes else {}
        self.full_labels = [o.label_ru for o in q.options]
        # a value label may be in the codebook's other languages (an SPSS file labelled in
        # English): the label says which option a code is, whatever the code's number
        self.translated: dict[str, str] = {}
        for o in q.options:
            for text in (o.label_en, o.label_lt):
                if text and _norm(text) not in self.map:
                    self.translated.setdefault(_norm(text), o.key)
        self.why = ("", "")

    @property
    def by_codes(self) -> bool:
        return bool(self.codes)

    def key(self, text: str) -> str | None:
        t = text.strip()
        if self.codes:
            if t in self.codes:
                return self.codes[t]
            if _norm(t) in self.map or t in self.a.value_labels:
                self.why = ("answer text where the column holds codes (mixed codes and labels):", self._codes_hint())
            else:
                self.why = ("unknown answer code", self._codes_hint())
            return None
        label = self.a.value_labels.get(t)
        if label is not None:
            k = self.map.get(_norm(label))
            if k is None:
                hit = _match_truncated(label, self.full_labels, SAV_VALUE_LABEL_BYTES)
                k = self.map[_norm(hit)] if hit is not None else None
            if k is None:
                k = self.translated.get(_norm(label))
            # never the code's number when its label names no option: a file whose codes were
            # renumbered (1 = Male, 2 = Female) would have its answers swapped without a word
            if k is None:
                same = f" (the codebook's code {t} is {self.numeric[t]!r})" if t in self.numeric else ""
                self.why = (
                    "unknown answer label",
                    f"code {t} labelled {label!r}{same}; expected one of {self.expected()}, "
                    "or the option's English or Lithuanian label",
                )
            return k
        k = self.map.get(_norm(t))
        if k is not None:
            return k
        if t in self.numeric:
            return self.numeric[t]
        looks = t in {str(o.code) for o in self.q.options} or t in self.q.keys
        hint = f"expected one of {self.expected()}"
        if looks:
            hint = "an answer code among labels (the column mixes codes and labels); " + hint
        self.why = ("unknown answer label", hint)
        return None

    def expected(self) -> str:
        return ", ".join(repr(o.label_ru) for o in self.q.options)

    def _codes_hint(self) -> str:
        shown = list(self.codes)[:12]
        more = ", …" if len(self.codes) > 12 else ""
        return "expected one of the codes " + ", ".join(repr(c) for c in shown) + more

    def variants(self) -> list[tuple[str, str]]:
        """(text, key) of every text a part of a multiple answer may be, longest first."""
        out = [(o.label_ru, o.key) for o in self.q.options]
        out += [(a, o.key) for o in self.q.options for a in o.aliases]
        out += list(self.a.extra.items())
        out += list(self.codes.items())
        return sorted(out, key=lambda tk: -len(tk[0]))


def split_known(text: str, variants: list[tuple[str, str]], sep: str, rest_ok: bool) -> tuple[list[str], str, str]:
    """Split a multiple answer by matching the known answer texts.

    Returns (option keys, rest, bad): ``rest`` is what follows the last matched answer when
    ``rest_ok`` (the inline "Other" text), ``bad`` the first part no known text matches when
    not. A known text matches at a position when it is followed by the separator (spaces
    around it allowed) or by the end of the cell, so texts may contain the separator."""
    s = text.strip()
    stop = sep.strip()
    n = len(s)
    memo: dict[int, tuple[list[str], int] | None] = {}

    def after(e: int) -> int | None:
        """Position of the next answer after a text ending at `e`; n at the end; None if no separator."""
        k = e
        while k < n and s[k].isspace():
            k += 1
        if k == n:
            return n
        if not stop:  # a whitespace separator
            return k if k > e else None
        if s.startswith(stop, k):
            k += len(stop)
            while k < n and s[k].isspace():
                k += 1
            return k
        return None

    def best(p: int) -> tuple[list[str], int] | None:
        """Keys matched from p and where matching stopped (n = everything matched)."""
        if p >= n:
            return [], n
        if p in memo:
            return memo[p]
        memo[p] = None  # no cycles: every match advances
        found: tuple[list[str], int] | None = None
        for variant, key in variants:
            v = variant.strip()
            if not v:
                continue
            end = p + len(v)
            if end > n or _norm(s[p:end]) != _norm(v):
                continue
            nxt = after(end)
            if nxt is None:
                continue
            sub = best(nxt)
            if sub is None:
                continue
            cand = ([key, *sub[0]], sub[1])
            if found is None or (cand[1], len(cand[0])) > (found[1], len(found[0])):
                found = cand
            if found[1] == n:
                break
        if found is None:
            found = ([], p)
        memo[p] = found
        return found

    keys, stopped = best(0) or ([], 0)
    if stopped >= n:
        return keys, "", ""
    tail = s[stopped:]
    if rest_ok:
        # the platforms write the "Other" text last: a known answer after it means the part
        # before is no "Other" text but an answer the codebook does not know (an option
        # renamed during fieldwork), which would otherwise swallow what follows
        known = {_norm(v) for v, _ in variants if v.strip()}
        pieces = [x.strip() for x in (tail.split(stop) if stop else tail.split())]
        if len(pieces) > 1 and any(_norm(x) in known for x in pieces[1:]):
            return keys, "", pieces[0]
        return keys, tail, ""
    part = tail.split(stop, 1)[0] if stop else tail.split(None, 1)[0]
    return keys, "", part.strip()
