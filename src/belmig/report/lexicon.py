"""What the words of a claim say (``report/lexicon.yaml``), and whether its condition says it.

A guard's words ("more than two thirds", «больше двух третей», "daugiau nei du trečdaliai") are
read through the lexicon of the edition's language into meanings (an interval on a share, on a
scale mean, a relation between two values, or a rank). The condition is read into the
constraints it imposes (:func:`constraints`). :func:`disagreement` says why a condition does
not imply a meaning (``None`` when it does): the interval the condition leaves must lie inside
the interval the words promise.

    >>> lex = Lexicon.load(Path("report/lexicon.yaml"))
    >>> [p.meaning for p in lex.find("more than two thirds", "en")]
    ['more-than-two-thirds']
    >>> disagreement(lex.meanings["more-than-two-thirds"], constraints("pct.a.b > 50"))
    'the condition allows pct.a.b in (50, 100], the words say (66.67, 100]'

Size: a little above 600 lines, kept whole: the meanings, the conditions' constraints and the
search for phrases in a text are one model (a phrase's meaning is what the constraints are
checked against, and the search must find exactly the phrases the meanings were written for).
"""

from __future__ import annotations

import ast
import importlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from belmig.core import keys
from belmig.core.schema import parse_yaml
from belmig.report import claims as claims_mod

INF = math.inf
SCALE = (1.0, 10.0)  # rating scales of the codebook
SHARE = (0.0, 100.0)
PVALUE = (0.0, 1.0)  # p-values of the tests (pby, ptab, padj... keys)
GAP = (0.0, 100.0)  # absolute differences in percentage points: abs(a - b), max(abs(...), ...)


class LexiconError(ValueError):
    pass


# ----------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    lo: float = -INF
    hi: float = INF
    lo_open: bool = True
    hi_open: bool = True

    def intersect(self, other: Interval) -> Interval:
        if other.lo > self.lo or (other.lo == self.lo and other.lo_open):
            lo, lo_open = other.lo, other.lo_open
        else:
            lo, lo_open = self.lo, self.lo_open
        if other.hi < self.hi or (other.hi == self.hi and other.hi_open):
            hi, hi_open = other.hi, other.hi_open
        else:
            hi, hi_open = self.hi, self.hi_open
        return Interval(lo, hi, lo_open, hi_open)

    def within(self, other: Interval, eps: float = 1e-6) -> bool:
        lo_ok = self.lo > other.lo + eps or (
            abs(self.lo - other.lo) <= eps and (self.lo_open or not other.lo_open) or other.lo == -INF
        )
        hi_ok = self.hi < other.hi - eps or (
            abs(self.hi - other.hi) <= eps and (self.hi_open or not other.hi_open) or other.hi == INF
        )
        return lo_ok and hi_ok

    def complement(self, total: float = 100.0) -> Interval:
        return Interval(total - self.hi, total - self.lo, self.hi_open, self.lo_open)

    def __str__(self) -> str:
        def f(x: float) -> str:
            return f"{x:.4g}" if abs(x) != INF else ("-inf" if x < 0 else "inf")

        return f"{'(' if self.lo_open else '['}{f(self.lo)}, {f(self.hi)}{')' if self.hi_open else ']'}"


def _num(v: Any) -> float:
    """A number of the lexicon: 50, 66.7 or an expression such as "200/3"."""
    return float(claims_mod.value_of(str(v))) if isinstance(v, str) else float(v)


def _interval(spec: Mapping[str, Any]) -> Interval:
    if "approx" in spec:
        x, d = _num(spec["approx"]), _num(spec.get("tol", 5))
        return Interval(x - d, x + d, False, False)
    iv = Interval()
    for k, v in spec.items():
        v = _num(v)
        iv = iv.intersect(
            {"gt": Interval(v, INF, True), "ge": Interval(v, INF, False), "lt": Interval(-INF, v, hi_open=True),
             "le": Interval(-INF, v, hi_open=False)}[k]
        )  # fmt: skip
    return iv


# ----------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Bound:
    """The condition keeps `subject` (an expression over ledger keys) inside `interval`."""

    subject: str
    interval: Interval
    ratio: bool = False  # a quotient of two ledger values (a fraction 0-1, read as a percentage x100)


@dataclass(frozen=True)
class Relation:
    """``a op k*b + d`` between two ledger expressions; op is '>' or '<' (>= and <= count as them);
    ``within`` for ``abs(a - b) < d``; ``max`` when b is the max() of several values."""

    a: str
    b: str
    op: str  # ">" | "<" | "within"
    k: float = 1.0
    d: float = 0.0
    max_of: tuple[str, ...] = ()


@dataclass
class Constraints:
    bounds: list[Bound] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    chains: list[list[str]] = field(default_factory=list)  # a > b > c > max(...): ranks 1, 2, 3…
    opaque: bool = False  # or / not: the condition is not a plain conjunction

    def interval_of(self, subject: str) -> Interval:
        iv = Interval()
        for b in self.bounds:
            if b.subject == subject:
                iv = iv.intersect(b.interval)
        return iv

    @property
    def subjects(self) -> list[str]:
        return list(dict.fromkeys(b.subject for b in self.bounds))


def _const(node: ast.AST) -> float | None:
    try:
        names = claims_mod.names(ast.unparse(node))
    except claims_mod.ClaimError:
        return None
    if names:
        return None
    try:
        return float(claims_mod.value_of(node))
    except Exception:  # noqa: BLE001
        return None


def _canon(node: ast.AST) -> str:
    return ast.unparse(node)


def _is_ratio(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _const(node.right) is None


def _scaled(node: ast.AST) -> tuple[ast.AST, float, float]:
    """node = k * base + d with constant k, d (returns base, k, d)."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mult):
            c = _const(node.left)
            if c is not None:
                base, k, d = _scaled(node.right)
                return base, c * k, c * d
            c = _const(node.right)
            if c is not None:
                base, k, d = _scaled(node.left)
                return base, c * k, c * d
        if isinstance(node.op, ast.Div):
            c = _const(node.right)
            if c:
                base, k, d = _scaled(node.left)
                return base, k / c, d / c
        if isinstance(node.op, (ast.Add, ast.Sub)):
            sign = 1 if isinstance(node.op, ast.Add) else -1
            c = _const(node.right)
            if c is not None:
                base, k, d = _scaled(node.left)
                return base, k, d + sign * c
            c = _const(node.left)
            if c is not None and sign == 1:
                base, k, d = _scaled(node.right)
                return base, k, d + c
    return node, 1.0, 0.0


def _bound(op: ast.cmpop, c: float) -> Interval:
    return {
        ast.Gt: Interval(c, INF, True),
        ast.GtE: Interval(c, INF, False),
        ast.Lt: Interval(-INF, c, hi_open=True),
        ast.LtE: Interval(-INF, c, hi_open=False),
    }[type(op)]


_FLIP = {ast.Gt: ast.Lt, ast.Lt: ast.Gt, ast.GtE: ast.LtE, ast.LtE: ast.GtE}


def _max_args(node: ast.AST) -> tuple[str, ...] | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "max":
        return tuple(_canon(a) for a in node.args)
    return None


def constraints(condition: str) -> Constraints:
    """The constraints a condition imposes (a conjunction of comparisons)."""
    out = Constraints()
    body = claims_mod._parse(condition).body  # noqa: SLF001

    def conj(node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            return [x for v in node.values for x in conj(v)]
        return [node]

    for node in conj(body):
        if not isinstance(node, ast.Compare):
            out.opaque = True
            continue
        items = [node.left, *node.comparators]
        if len(node.ops) > 1 and all(isinstance(o, (ast.Gt, ast.GtE)) for o in node.ops) and _max_args(items[-1]):
            out.chains.append([_canon(x) for x in items[:-1]])
        for left, op, right in zip(items, node.ops, items[1:]):
            if not isinstance(op, (ast.Gt, ast.GtE, ast.Lt, ast.LtE)):
                out.opaque = True
                continue
            cl, cr = _const(left), _const(right)
            if cl is not None and cr is not None:
                continue
            if cl is not None:  # c < E  ->  E > c
                left, right, op, cr = right, left, _FLIP[type(op)](), cl
            if cr is not None:
                _add_bound(out, left, op, cr)
                continue
            base_r, k, d = _scaled(right)
            base_l, kl, dl = _scaled(left)
            if kl != 1 or dl != 0:  # k*A op B: rewrite as A op B/k (k > 0)
                if kl <= 0:
                    out.opaque = True
                    continue
                base_r, k, d = base_r, k / kl, (d - dl) / kl
            sym = ">" if isinstance(op, (ast.Gt, ast.GtE)) else "<"
            mx = _max_args(base_r)
            out.relations.append(Relation(_canon(base_l), _canon(base_r), sym, k, d, mx or ()))
    return out


def _add_bound(out: Constraints, expr: ast.AST, op: ast.cmpop, c: float) -> None:
    # abs(E - x) < c  ->  E in (x - c, x + c);  abs(A - B) < c -> relation "within"
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "abs"
        and isinstance(op, (ast.Lt, ast.LtE))
    ):
        inner = expr.args[0]
        if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub):
            x = _const(inner.right)
            if x is not None:
                open_ = isinstance(op, ast.Lt)
                _push(out, inner.left, Interval(x - c, x + c, open_, open_))
                return
            out.relations.append(Relation(_canon(inner.left), _canon(inner.right), "within", d=c))
            return
        _push(out, inner, Interval(-c, c))
        return
    base, k, d = _scaled(expr)
    if k != 1 or d != 0:
        if k == 0:
            return
        iv = _bound(op, c)
        lo, hi = (iv.lo - d) / k, (iv.hi - d) / k
        iv = Interval(min(lo, hi), max(lo, hi), iv.lo_open, iv.hi_open) if k > 0 else Interval(hi, lo)
        _push(out, base, iv)
        return
    _push(out, expr, _bound(op, c))


def _push(out: Constraints, expr: ast.AST, iv: Interval) -> None:
    out.bounds.append(Bound(_canon(expr), iv, _is_ratio(expr)))


# ----------------------------------------------------------------------------- meanings


@dataclass(frozen=True)
class Meaning:
    id: str
    kind: str  # share | mean | pvalue | gap | relation | rank
    interval: Interval | None = None
    ratio_gt: float | None = None
    ratio_lt: float | None = None
    diff_gt: float | None = None
    diff_within: float | None = None
    rank: int | None = None

    def describe(self) -> str:
        if self.kind in ("share", "mean", "pvalue", "gap"):
            return f"{self.kind} in {self.interval}"
        if self.kind == "rank":
            return f"rank {self.rank} among the options"
        parts = []
        if self.ratio_gt is not None:
            parts.append(f"A > {self.ratio_gt:g} x B")
        if self.ratio_lt is not None:
            parts.append(f"A < {self.ratio_lt:g} x B")
        if self.diff_gt is not None:
            parts.append(f"A > B + {self.diff_gt:g}")
        if self.diff_within is not None:
            parts.append(f"|A - B| < {self.diff_within:g}")
        return " and ".join(parts)


def _meaning(mid: str, spec: Mapping[str, Any]) -> Meaning:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise LexiconError(f"meaning {mid!r}: expected one of share/mean/pvalue/gap/relation/rank, got {spec!r}")
    (kind, body), = spec.items()  # fmt: skip
    if kind in _SCALES:
        return Meaning(mid, kind, interval=_interval(body).intersect(Interval(*_SCALES[kind], False, False)))
    if kind == "relation":
        unknown = set(body) - {"ratio_gt", "ratio_lt", "diff_gt", "diff_within"}
        if unknown:
            raise LexiconError(f"meaning {mid!r}: unknown relation field(s) {sorted(unknown)}")
        return Meaning(mid, "relation", **{k: float(v) for k, v in body.items()})
    if kind == "rank":
        return Meaning(mid, "rank", rank=int(body))
    raise LexiconError(f"meaning {mid!r}: unknown kind {kind!r}")


def _ok_relation(m: Meaning, r: Relation) -> bool:
    if r.max_of:
        return False
    if r.op == "within":
        return m.diff_within is not None and r.d <= m.diff_within and m.ratio_gt is None and m.ratio_lt is None
    ok = True
    if m.ratio_gt is not None:  # A > k*B + d with k >= r, d >= 0 (B >= 0)
        ok &= r.op == ">" and r.k >= m.ratio_gt - 1e-12 and r.d >= 0
    if m.ratio_lt is not None:
        if m.ratio_gt is not None:  # "twice": needs both sides, not expressible as one relation
            return False
        ok &= r.op == "<" and r.k <= m.ratio_lt + 1e-12 and r.d <= 0
    if m.diff_gt is not None:
        ok &= r.op == ">" and r.k >= 1 and r.d >= m.diff_gt
    if m.diff_within is not None:
        return False
    return ok


def _flip(r: Relation) -> Relation:
    """The relation between the complements (100 - a, 100 - b), when it is one."""
    if r.k != 1 or r.max_of or r.op == "within":
        return r if r.op == "within" else Relation(r.a, r.b, "?", r.k, r.d)
    return Relation(r.a, r.b, "<" if r.op == ">" else ">", 1.0, -r.d)


def disagreement(m: Meaning, c: Constraints, complement: bool = False) -> str | None:
    """Why the condition does not imply the meaning (None when it does)."""
    if m.kind in _SCALES:
        scale = Interval(*_SCALES[m.kind], False, False)
        subjects = [s for s in c.subjects if _subject_kind(s) == m.kind]
        if not subjects:
            return f"the words state a {m.kind} ({m.interval}), the condition bounds no {m.kind}"
        seen = []
        for s in subjects:
            iv = c.interval_of(s)
            if any(b.subject == s and b.ratio for b in c.bounds):
                iv = Interval(iv.lo * 100, iv.hi * 100, iv.lo_open, iv.hi_open)
            iv = iv.intersect(scale)
            if complement and m.kind == "share":
                iv = iv.complement()
            if iv.within(m.interval):
                return None
            seen.append(f"{'100 - ' if complement and m.kind == 'share' else ''}{s} in {iv}")
        return f"the condition allows {'; '.join(seen)}, the words say {m.interval}"
    if m.kind == "relation":
        rels = [_flip(r) if complement else r for r in c.relations]
        if m.ratio_gt is not None and m.ratio_lt is not None:  # two-sided ("twice"): both bounds on one pair
            lo = Meaning(m.id, "relation", ratio_gt=m.ratio_gt)
            hi = Meaning(m.id, "relation", ratio_lt=m.ratio_lt)
            if any(
                _ok_relation(lo, r) and any(_ok_relation(hi, q) and (q.a, q.b) == (r.a, r.b) for q in rels)
                for r in rels
            ):
                return None
        elif any(_ok_relation(m, r) for r in rels):
            return None
        have = "; ".join(_rel_str(r) for r in rels) or "no relation between two values"
        return f"the words say {m.describe()}, the condition has {have}"
    if m.kind == "rank":
        if m.rank == 1:
            if any(r.max_of and r.op == ">" and r.k == 1 and r.d >= 0 for r in c.relations):
                return None
            if any(len(ch) >= 1 for ch in c.chains):
                return None
            return "the words rank it first, the condition does not compare it with max() of the other options"
        if any(len(ch) >= m.rank for ch in c.chains):
            return None
        return f"the words rank it {m.rank}, the condition has no chain a > b > … > max(…) of that length"
    return f"unknown meaning kind {m.kind!r}"


def _is_mean(subject: str) -> bool:
    return bool(re.match(r"^\(?w?mean\.", subject))


_SCALES = {"share": SHARE, "mean": SCALE, "pvalue": PVALUE, "gap": GAP}


def _subject_kind(subject: str) -> str:
    """What a bounded expression measures: a mean, a p-value, a gap (abs/max of abs) or a share."""
    if _is_mean(subject):
        return "mean"
    if re.match(r"^\(?(?:" + "|".join(keys.PVALUE_FAMILIES) + r")\.", subject):
        return "pvalue"
    if re.match(r"^(?:max\()?abs\(", subject):
        return "gap"
    return "share"


def _rel_str(r: Relation) -> str:
    if r.op == "within":
        return f"|{r.a} - {r.b}| < {r.d:g}"
    rhs = f"max({', '.join(r.max_of)})" if r.max_of else r.b
    k = "" if r.k == 1 else f"{r.k:g} x "
    d = "" if r.d == 0 else f" {'+' if r.d > 0 else '-'} {abs(r.d):g}"
    return f"{r.a} {r.op} {k}{rhs}{d}"


# ----------------------------------------------------------------------------- phrases


@dataclass(frozen=True)
class Phrase:
    text: str
    meaning: str
    source: str  # case-insensitive; compiled on first use (re's cache): only the edition's language
    guard_only: bool = False
    literal: str = ""  # in the lower-cased text wherever the pattern matches ("" unknown)
    first: str = ""  # where every match starts in the lower-cased text ("" unknown): the first word


@dataclass(frozen=True)
class Match:
    phrase: Phrase
    start: int
    end: int

    @property
    def meaning(self) -> str:
        return self.phrase.meaning

    @property
    def words(self) -> str:
        return self.phrase.text


_WORD = r"[^\W_]"


def _words_regex(phrase: str) -> str:
    parts = []
    for w in phrase.split():
        esc = re.escape(w.rstrip("*"))
        parts.append(esc + (rf"{_WORD}*" if w.endswith("*") else ""))
    body = r"\s+".join(parts)
    lead = rf"(?<!{_WORD})" if re.match(r"\w", phrase) else ""
    trail = rf"(?!{_WORD})" if re.search(r"[\w*]$", phrase) else ""
    return lead + body + trail


def _alts(words: Sequence[str]) -> str:
    return "|".join(_words_regex(w) for w in words)


def _phrase(text: str, spec: Any) -> Phrase:
    if isinstance(spec, str):
        spec = {"meaning": spec}
    rx = _words_regex(text)
    if spec.get("not_after"):
        rx = "".join(rf"(?<!{re.escape(w)}\s)" for w in spec["not_after"] if "*" not in w) + rx
    if spec.get("not_before"):
        rx = rx + rf"(?!\s+(?:{_alts(spec['not_before'])}))"
    rx = rf"(?={re.escape(text.lstrip()[:1])})" + rx if text.strip() else rx  # first letter, then look-behinds
    words = [w.rstrip("*").lower() for w in text.split()]
    literal = _lowered_literal(max(words, key=len, default=""))  # in every match, lower-cased
    first = _lowered_literal(words[0] if words else "")  # what every match starts with (look-arounds take no room)
    return Phrase(text, str(spec["meaning"]), rx, bool(spec.get("guard_only", False)), literal, first)


def _lowered_literal(word: str) -> str:
    """`word` (lower-cased) when re.IGNORECASE matches it exactly where a lower-cased text has it, else ""."""
    return word if _CASEFIX and not (set(word) & _NOT_PLAIN) else ""


def _casefix_chars() -> frozenset[str]:
    """Letters a lower-cased text cannot stand in for under re.IGNORECASE: "İ" (two letters lower
    case) and the second of each pair it matches with another lower case ("ı"/"i", "ſ"/"s", old
    Cyrillic forms: CPython's re._casefix); empty (nothing skipped) where that table is unknown."""
    try:
        extra = importlib.import_module("re._casefix")._EXTRA_CASES
    except (ImportError, AttributeError):
        extra = {}
    return frozenset({"\u0130", *(chr(c) for k, v in extra.items() for c in sorted({k, *v})[1:])} if extra else ())


_CASEFIX = _casefix_chars()
# ...and "Σ", whose lower case str.lower() chooses by its place in a word (re's is always "σ").
_NOT_PLAIN = _CASEFIX | {"\u03a3"}


def _plain(text: str, lowered: str) -> bool:
    """Whether `lowered` (text.lower()) stands in for `text` under re.IGNORECASE, letter for letter."""
    return bool(_CASEFIX) and len(lowered) == len(text) and _NOT_PLAIN.isdisjoint(text)


def _matches_from(source: str, text: str, lowered: str, first: str) -> Iterator[re.Match]:
    """``re.compile(source, re.I).finditer(text)`` for a pattern whose every match starts with
    `first` in `lowered`: the pattern is tried only where `lowered` has it, and compiled only when
    it has it somewhere (a scan of the whole text for each phrase was most of a check). The same
    matches: each is the leftmost at or after the previous one's end, and `rx.match` at a position
    sees the text before it, as the scan's look-behinds do."""
    pos = lowered.find(first)
    if pos < 0:
        return
    rx = re.compile(source, re.I)
    while pos >= 0:
        m = rx.match(text, pos)
        if m is not None:
            yield m
        pos = lowered.find(first, m.end() if m is not None and m.end() > pos else pos + 1)


def _first_chars(words: Sequence[str]) -> str:
    """A look-ahead for `words`' first letters, after a word start when every word has that look-behind."""
    firsts = "".join(re.escape(c) for c in sorted({w.lstrip()[0] for w in words if w.strip()}))
    return (rf"(?<!{_WORD})" if all(re.match(r"\w", w) for w in words) else "") + f"(?=[{firsts}])" if firsts else ""


_CACHE: dict[tuple[str, int], Lexicon] = {}


@dataclass
class Lexicon:
    meanings: dict[str, Meaning]
    phrases: dict[str, list[Phrase]]  # language -> phrases, longest first
    groups: dict[str, list[tuple[re.Pattern, str]]]  # language -> (pattern, "by.level")
    number_words: dict[str, dict[str, str]]  # language -> {"big", "percent"}: sources, compiled on use

    @classmethod
    def parse(cls, raw: Mapping[str, Any], source: str = "report/lexicon.yaml") -> Lexicon:
        meanings = {str(k): _meaning(str(k), v) for k, v in (raw.get("meanings") or {}).items()}
        phrases: dict[str, list[Phrase]] = {}
        for lang, table in (raw.get("phrases") or {}).items():
            items = [_phrase(str(t), s) for t, s in table.items()]
            for p in items:
                if p.meaning not in meanings:
                    raise LexiconError(f"{source}: phrase {p.text!r} ({lang}) has unknown meaning {p.meaning!r}")
            phrases[str(lang)] = sorted(items, key=lambda p: -len(p.text))
        groups = {
            str(lang): [(re.compile(_words_regex(str(w)), re.I), str(g)) for w, g in table.items()]
            for lang, table in (raw.get("groups") or {}).items()
        }
        numbers = {}
        for lang, spec in (raw.get("number_words") or {}).items():
            big, small, pct = spec.get("words", []), spec.get("small", []), spec.get("percent", [])
            num, pcts = f"(?:{_alts(big + small)})", _alts([p for p in pct if p != "%"])
            numbers[str(lang)] = {  # compiled for the edition checked only (~5 ms a language)
                "big": rf"{_first_chars(big)}(?:{_alts(big)})(?:[\s-]+(?:{_alts(small)}))?",
                "percent": rf"{_first_chars(big + small)}{num}(?:[\s-]+{num})*\s*(?:{pcts}|%)",
            }
        return cls(meanings, phrases, groups, numbers)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        return cls.parse(parse_yaml(Path(path).read_text(encoding="utf-8")) or {}, str(path))

    @classmethod
    def cached(cls, path: Path) -> Lexicon:
        """load(), reused while the file is unchanged (make check, the preview's warm process)."""
        p = Path(path)
        key = (str(p.resolve()), p.stat().st_mtime_ns)
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = cls.load(p)
        return _CACHE[key]

    def find(self, text: str, lang: str, *, outside_guards: bool = False) -> list[Match]:
        """Lexicon phrases in `text`, longest first where they overlap, in text order
        (`outside_guards`: without the guard-only phrases)."""
        taken: list[tuple[int, int]] = []
        out = []
        lowered = text.lower()
        plain = _plain(text, lowered)
        for p in self.phrases.get(lang, []):
            if plain and p.literal and p.literal not in lowered:  # cannot match: skip the scan
                continue
            if plain and p.first:
                found = _matches_from(p.source, text, lowered, p.first)
            else:
                found = re.compile(p.source, re.I).finditer(text)
            for m in found:
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append(m.span())
                if not (outside_guards and p.guard_only):
                    out.append(Match(p, m.start(), m.end()))
        return sorted(out, key=lambda m: m.start)

    def groups_in(self, text: str, lang: str) -> list[tuple[str, str]]:
        """(word, "by.level") for every subgroup word in `text`."""
        return [(m.group(0), g) for rx, g in self.groups.get(lang, []) for m in rx.finditer(text)]

    def numbers_in_words(self, text: str, lang: str) -> list[re.Match]:
        pats = self.number_words.get(lang)
        if not pats:
            return []
        found = list(re.compile(pats["percent"], re.I).finditer(text))
        for m in re.compile(pats["big"], re.I).finditer(text):
            if not any(f.start() <= m.start() < f.end() for f in found):
                found.append(m)
        return sorted(found, key=lambda m: m.start())


def language_of(lang_tag: str | None) -> str:
    """'en-GB' -> 'en'; 'ru' -> 'ru'."""
    return (lang_tag or "en").split("-")[0].split("_")[0].lower()
