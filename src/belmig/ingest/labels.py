"""Answer text to option key: labels, aliases, SPSS codes and truncated SPSS labels."""

from __future__ import annotations

from pathlib import Path

from belmig.core.codebook import Question
from belmig.ingest.errors import IngestError
from belmig.ingest.raw import _norm

SAV_VAR_LABEL_BYTES = 256
SAV_VALUE_LABEL_BYTES = 120


def _match_truncated(text: str, candidates: list[str], limit: int) -> str | None:
    """The one candidate `text` is a byte-limit truncation of (SPSS labels), else None."""
    t = _norm(text)
    if len(text.strip().encode("utf-8")) < limit - 4:
        return None
    hits = [c for c in candidates if _norm(c).startswith(t)]
    return hits[0] if len(hits) == 1 else None


class _Labels:
    """Answer text (label_ru, aliases; SAV: codes, truncated value labels) → option key."""

    def __init__(self, q: Question, path: Path, codes_ok: bool):
        self.q = q
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
        self.codes = {str(o.code): o.key for o in q.options} if codes_ok else {}
        self.full_labels = [o.label_ru for o in q.options]

    def key(self, text: str, value_label: bool) -> str | None:
        n = _norm(text)
        if n in self.map:
            return self.map[n]
        if value_label:
            hit = _match_truncated(text, self.full_labels, SAV_VALUE_LABEL_BYTES)
            if hit is not None:
                return self.map[_norm(hit)]
            return None
        if self.codes and text.strip() in self.codes:
            return self.codes[text.strip()]
        return None

    def expected(self) -> str:
        return ", ".join(repr(o.label_ru) for o in self.q.options)
