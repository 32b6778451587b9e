"""Which values leave the build: primary and secondary suppression over everything published.

The public values are the ones the report and its appendix print (the ledger keys of the
editions' shortcodes and of the generated tables), together with the base of every share and
mean the values table prints. :func:`protect` decides, for each of them, whether it is
published; everything else in the ledger stays internal.

1. **Primary suppression** (threshold rule, Hundepool et al. §5.2; τ-ARGUS ``FREQ``): a count,
   a base, a share, a weighted share, an interval or a mean is withheld when it rests on 1 to
   ``min_cell − 1`` respondents, and a share also when its complement (base − count) does. A
   test of difference is withheld when a level it compares has fewer than ``min_cell``
   respondents in the test's base.
2. **Secondary suppression**: the attacker's audit (:mod:`belmig.privacy.audit`) runs on all
   that remains published, together with what is published anyway (the charts, the tables of
   the stage notebooks, the released microdata): any count of 1 to ``min_cell − 1`` it derives
   exactly is protected by withholding one more value, chosen among the values that bear on it
   (same variables): first bases printed only in the values table, then values printed only in
   appendix tables, last values printed in the text; within each, the one resting on the fewest
   respondents. The audit runs again until nothing small is recoverable, first on the tables
   alone, then with the release.

A value published anyway (a chart bar) cannot be withdrawn here: if it alone discloses a small
count the build stops (:class:`DisclosureError`) naming the count and the values behind it.

Size: a little above 600 lines, kept whole: primary rules, the secondary loop and the filters
that apply its decisions are one decision procedure.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from belmig.core import keys as K
from belmig.core.codebook import Codebook
from belmig.privacy import audit as A
from belmig.report.shortcodes import VAR_RE  # the report text's one definition of a value shortcode

if TYPE_CHECKING:
    import pandas as pd

SUPPRESSED = "–"  # printed instead of a withheld value (the charts use the same mark)
INFO_FAMILIES = ("flow", "weight", "ext", "pub", "audit", "repro", "charts", "ingest")


class DisclosureError(RuntimeError):
    """Published values that cannot be withdrawn disclose a small count."""


@dataclass
class Decision:
    key: str
    public: bool
    role: str  # text | table | base | info
    reason: str = ""  # why withheld or rounded: "primary: ..." or "secondary: protects ..."
    text: str | None = None  # printed instead of the ledger's text (a share rounded to whole percent)


@dataclass
class Publication:
    decisions: dict[str, Decision]
    min_cell: int
    recoveries_before: list[str] = field(default_factory=list)  # what the audit found with everything
    secondary: list[str] = field(default_factory=list)  # one line per secondary suppression
    targets: int = 0  # small cells audited
    facts: int = 0  # published facts audited
    digest: str = ""  # of everything the audit read (see :func:`digest`)

    def public(self, key: str) -> bool:
        d = self.decisions.get(key)
        return d is None or d.public  # keys not asked for are not published at all (see public_keys)

    def withheld(self) -> list[Decision]:
        return [d for d in self.decisions.values() if not d.public]

    def public_keys(self) -> list[str]:
        return [k for k, d in self.decisions.items() if d.public]

    def to_json(self) -> dict[str, Any]:
        return {
            "min_cell": self.min_cell,
            "targets": self.targets,
            "facts": self.facts,
            "digest": self.digest,
            "recoveries_before": self.recoveries_before,
            "secondary": self.secondary,
            "decisions": {k: asdict(d) for k, d in self.decisions.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Publication:
        return cls(
            decisions={k: Decision(**d) for k, d in data["decisions"].items()},
            min_cell=int(data["min_cell"]),
            recoveries_before=list(data.get("recoveries_before", [])),
            secondary=list(data.get("secondary", [])),
            targets=int(data.get("targets", 0)),
            facts=int(data.get("facts", 0)),
            digest=str(data.get("digest", "")),
        )


def load(path: Path | str) -> Publication:
    return Publication.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def digest(
    entries: Mapping[str, Any],
    requests: Sequence[Request],
    fixed: Sequence[A.Fact],
    zeros: Sequence[A.Cell],
    min_cell: int,
    files: Sequence[Path | str | None],
    weights: Mapping[str, Any] | None = None,
) -> str:
    """Digest of everything an audit reads: requests with their printed texts, fixed facts, the
    data files, the cell weights and the code that decides. Equal digests give equal decisions."""
    import hashlib

    h = hashlib.sha256()
    for r in sorted(requests, key=lambda r: (r.key, r.role)):
        text = r.text if r.text is not None else getattr(entries.get(r.key), "text", None)
        h.update(repr((r.key, r.role, text, r.fact)).encode())
    for f in fixed:
        h.update(repr(f).encode())
    h.update(repr((sorted(map(repr, zeros)), min_cell, sorted((weights or {}).items()))).encode())
    for p in files:
        if p is not None:
            h.update(Path(p).read_bytes())
    # the code that decides: the audit, this module, and inputs.py, which reads the release and
    # the levels the audit is given
    for mod in (A.__file__, __file__, Path(__file__).with_name("inputs.py")):
        h.update(Path(mod).read_bytes())
    return h.hexdigest()


def cached(path: Path | str, digest_: str) -> Publication | None:
    """The decisions of the last audit if it read exactly the same (else None)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        pub = load(p)
    except (ValueError, KeyError, TypeError):
        return None
    return pub if pub.digest == digest_ else None


# ------------------------------------------------------------------------------ keys as cells


@dataclass(frozen=True)
class Meaning:
    """What a ledger key says about the respondents."""

    family: str
    cell: A.Cell | None  # the count's cell (shares, counts) or the base (bases, means)
    base: A.Cell | None  # the base of a share or a mean
    by: str = ""
    question: str = ""


TEST_FAMILIES = ("pby", "padj", "ptab", "padjtab", "pmean", "padjmean")

# The universe of each question (who was asked), for the "asked" bases (pctasked, nasked): set
# by protect() from the codebook; a question without a universe was asked of everyone.
_ASKED: dict[str, A.Cell] = {}


def asked_cell(q: str) -> A.Cell:
    return _ASKED.get(q, ())


def meaning(key: str) -> Meaning | None:
    """The cells a survey key speaks about (None for keys that are not about respondents' cells).
    Merged levels are encoded in keys as ``male__other`` (:func:`belmig.core.keys.level_segment`)."""
    k = K.parse(key)
    p = tuple(K.level_from_segment(x) for x in k.parts)
    f = k.family
    if f in ("pct", "count", "wpct", "wci", "wpctalt") and len(p) == 2:
        q, o = p
        return Meaning(f, A.cell((q, o)), A.cell((q, A.ANS)), "", q)
    if f in ("n", "mean", "wmean", "wci_mean", "wmeanalt") and len(p) == 1:
        (q,) = p
        return Meaning(f, A.cell((q, A.ANS)), A.cell((q, A.ANS)), "", q)
    if f == "pctasked" and len(p) == 2:
        q, o = p
        return Meaning(f, A.cell((q, o)), asked_cell(q), "", q)
    if f == "nasked" and len(p) == 1:
        (q,) = p
        return Meaning(f, asked_cell(q), asked_cell(q), "", q)
    if f in ("pctby", "wpctby") and len(p) == 4:
        b, lv, q, o = p
        return Meaning(f, A.cell((b, lv), (q, o)), A.cell((b, lv), (q, A.ANS)), b, q)
    if f in ("nby", "meanby", "wmeanby") and len(p) == 3:
        b, lv, q = p
        return Meaning(f, A.cell((b, lv), (q, A.ANS)), A.cell((b, lv), (q, A.ANS)), b, q)
    if f in TEST_FAMILIES and len(p) in (2, 3):
        return Meaning("pby", None, None, p[0], p[1])
    if f == "other" and len(p) == 2:
        return Meaning(f, None, None, "", p[0])
    return None


def base_key(key: str) -> str | None:
    """The key of the base a share or mean is printed with in the values table."""
    k = K.parse(key)
    p = k.parts
    if k.family in ("pct", "wpct", "mean", "wmean") and p:
        return K.n(p[0])
    if k.family == "pctasked" and p:
        return K.join("nasked", p[0])
    if k.family == "pctby" and len(p) == 4:
        return K.join("nby", p[0], p[1], p[2])  # the level stays encoded as in the key
    return None


def _variables_of(c: A.Cell | None) -> set[str]:
    return {v for v, _ in c} if c else set()


# ------------------------------------------------------------------------------ primary


def _count(m: A.Model, c: A.Cell | None) -> int | None:
    if c is None:
        return None
    e = m.expr(c)
    return None if e is None else int(round(m.true_value(e)))


def _small(x: int | None, min_cell: int) -> bool:
    return x is not None and 0 < x < min_cell


def primary(
    key: str, m: A.Model, min_cell: int, entry: Any = None, levels: Mapping[str, Sequence[str]] | None = None
) -> str | None:
    """Why `key` may not be published on its own (None: it may). A test compares the levels
    `levels` gives for its subgroup question (the estimates' level plan), else its options."""
    mn = meaning(key)
    if mn is None:
        return None
    f = mn.family
    if f == "pby":
        lv_counts = []
        var = m.vars.get(mn.by)
        if var is None or mn.question not in m.vars:
            return "primary: test over variables the audit does not know"
        for lv in (levels or {}).get(mn.by) or var.states:
            n = _count(m, A.cell((mn.by, lv), (mn.question, A.ANS)))
            if n:
                lv_counts.append((lv, n))
        small = [f"{lv} (n = {n})" for lv, n in lv_counts if n < min_cell]
        return f"primary: compares {', '.join(small)}" if small else None
    if f == "other":
        return None  # coded open answers: decided with the coding table (code facts)
    base = _count(m, mn.base)
    if f in ("n", "nby", "nasked"):
        return f"primary: base of {base}" if _small(base, min_cell) else None
    if f in ("mean", "wmean", "wci_mean", "meanby", "wmeanby", "wmeanalt"):
        return f"primary: mean over {base} respondents" if base is not None and base < min_cell else None
    k = _count(m, mn.cell)
    if f == "count":
        return f"primary: count of {k}" if _small(k, min_cell) else None
    if base is not None and base < min_cell:
        return f"primary: base of {base}"
    if _small(k, min_cell):
        return f"primary: {k} of {base} respondents"
    if k is not None and base is not None and _small(base - k, min_cell):
        return f"primary: complement of {base - k} (of {base})"
    return None


def weighted_primary(
    key: str, responses: pd.DataFrame, cb: Codebook, min_cell: int, memo: dict[Any, Any] | None = None
) -> str | None:
    """Why a weighted value may not be published (None: it may), when its weights are one per
    cell of one variable (post-stratification; :func:`belmig.privacy.inputs.cell_weights`).

    The weights are public (the margins and the respondents of every cell), so a weighted share
    is a linear equation on the table answer × weighting cell, beside the unweighted share's: with
    the interval and the effective base (functions of the same table) a review solved that table
    exactly for 5 of 7 questions (cells of 1 to 4 respondents), undoing the release's merged
    municipalities. A weighted share, its interval, a weighted mean and its interval are printed
    only when no cell of that table holds between 1 and ``min_cell`` − 1 respondents giving the
    answer or not giving it (a mean: answering), and when the release left no answer to the
    question blank for protection: the release gives the table but for those blanks, and the
    weighted figure would tell them apart by cell (the weighting variable is never blanked).

    `memo`: a dict kept across the calls of one :func:`protect` (the same `responses` and `cb`):
    the variables and each variable's answers are read once, not once per weighted key."""
    fam = K.family(key)
    frame = _WEIGHTED.get(fam)
    mn = meaning(key)
    if frame is None or frame not in _WEIGHTS or mn is None or mn.cell is None or len(mn.cell) != 1:
        return None
    by, w = _WEIGHTS[frame]
    allv = _memo(memo, ("variables",), lambda: A.variables(cb))
    q, state = mn.cell[0]
    if by not in allv or q not in allv or by == q:
        return None
    cells: dict[float, list[str]] = {}
    for s, x in w.items():  # states of one weight are one cell (the frame's rest)
        cells.setdefault(round(x, 9), []).append(s)
    where = _memo(memo, ("single", by), lambda: A._single_values(responses, allv[by]))
    var = allv[q]
    if var.multi:
        answered, chosen = _memo(memo, ("multi", q), lambda: A._multi_values(responses, var))
        picked = chosen.get(state) if state != A.ANS else None
    else:
        vals = _memo(memo, ("single", q), lambda: A._single_values(responses, var))
        answered = vals != A.NA
        picked = (vals == state) if state != A.ANS else None
    import numpy as np

    small = []
    for states in cells.values():
        inside = _memo(memo, ("cell", by, tuple(states)), functools.partial(np.isin, where, states)) & answered
        n = int(inside.sum())
        k = int((inside & picked).sum()) if picked is not None else n
        name = "+".join(states)
        if picked is None and 0 < n < min_cell:
            small.append(f"{name}: {n} answering")
        elif picked is not None and (0 < k < min_cell or 0 < n - k < min_cell):
            small.append(f"{name}: {k} of {n}")
    if small:
        return (
            f"primary: weighted by {by}, one weight per cell, and the answers in a cell rest on few: {'; '.join(small)}"
        )
    if q in _BLANKED:
        # the release shows the cells' answers but for its protective blanks: with the weighted
        # figure (one more equation per cell) the blanks' answers would follow by cell
        return f"primary: weighted by {by}, one weight per cell, and the release leaves {q} blank for protection"
    return None


def _memo(memo: dict[Any, Any] | None, key: Any, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per `key` of `memo` (no memo, or a key that cannot be hashed:
    every time). What it keeps is only read, never changed."""
    if memo is None:
        return make()
    try:
        if key in memo:
            return memo[key]
    except TypeError:  # unhashable (a fact with a list in it): not kept
        return make()
    memo[key] = got = make()
    return got


# ------------------------------------------------------------------------------ facts


# The weights of each weighted family when they are one per state of one variable (protect()'s
# `weights`: {"wpct": ("municipality", {"vilnius_city": 80.85, ...}), "wpctalt": ...}).
_WEIGHTS: dict[str, tuple[str, dict[str, float]]] = {}
# The questions the release left blank for protection in some records (protect()'s `blanked`)
_BLANKED: set[str] = set()
# the weights each weighted family is computed with (intervals with their estimate's)
_WEIGHTED = {
    "wpct": "wpct",
    "wci": "wpct",
    "wmean": "wpct",
    "wci_mean": "wpct",
    "wpctalt": "wpctalt",
    "wmeanalt": "wpctalt",
}


def key_facts(key: str, text: str, fixed: bool = False, where: str = "") -> list[A.Fact]:
    """The audit facts a printed ledger value gives (none for weighted values and tests:
    weights and test statistics do not give exact integer constraints; weighted values are
    decided by :func:`weighted_primary`)."""
    mn = meaning(key)
    if mn is None:
        return []
    f = mn.family
    if f in ("pct", "pctby", "pctasked"):
        return [A.Fact(key, "pct", mn.cell, mn.base, text, fixed, where)]
    if f == "count":
        return [A.Fact(key, "count", mn.cell, None, text, fixed, where)]
    if f in ("n", "nby", "nasked"):
        return [A.Fact(key, "n", mn.cell, None, text, fixed, where)]
    if f in ("mean", "meanby"):
        return [A.Fact(key, "mean", mn.base, mn.base, text, fixed, where)]
    return []


def code_fact(question: str, codes: Sequence[str], text: str, fixed: bool = True, where: str = "") -> A.Fact:
    """A count of coded open answers (one code, or the sum of several)."""
    return A.Fact(
        f"other.{question}.{'+'.join(codes)}",
        "code",
        tuple(("Y", question, c) for c in codes),
        None,
        text,
        fixed,
        where,
    )  # type: ignore[arg-type]


def range_fact(c: A.Cell, lo: int, hi: int, where: str) -> A.Fact:
    """What a suppression mark tells: the count lies between lo and hi."""
    return A.Fact(f"range:{where}", "range", c, None, f"{lo}..{hi}", True, where)


# ------------------------------------------------------------------------------ protect


@dataclass
class Request:
    """A value the report prints."""

    key: str
    role: str  # text (prose) | table (appendix tables only) | base (the values table's base column)
    text: str | None = None  # printed text when it differs from the ledger's (e.g. rounded)
    fact: A.Fact | None = None  # what it says, for a value that is not a ledger key (a table row)


def _rank(role: str) -> int:
    return {"base": 0, "table": 1, "text": 2}.get(role, 3)


def protect(
    entries: Mapping[str, Any],
    requests: Sequence[Request],
    responses: pd.DataFrame,
    cb: Codebook,
    min_cell: int,
    *,
    fixed: Sequence[A.Fact] = (),
    release: A.ReleaseView | None = None,
    structural_zeros: Sequence[A.Cell] = (),
    levels: Mapping[str, Sequence[str]] | None = None,
    weights: Mapping[str, tuple[str, Mapping[str, float]]] | None = None,
    blanked: Iterable[str] = (),
) -> Publication:
    """Decide which requested values are published (see the module docstring). `levels`: the
    levels each subgroup question was analysed in (the estimates' level plan; tests compare those).
    `weights`: per weighted family, the variable whose states carry one weight each, and those
    weights (:func:`belmig.privacy.inputs.cell_weights`); the weighted values are then facts too."""
    # the values asked for, once each (the most visible role wins)
    req: dict[str, Request] = {}
    for r in requests:
        prev = req.get(r.key)
        if prev is None or _rank(r.role) > _rank(prev.role):
            req[r.key] = Request(
                r.key, r.role, r.text or (prev.text if prev else None), r.fact or (prev.fact if prev else None)
            )
    decisions: dict[str, Decision] = {}
    _ASKED.clear()
    _WEIGHTS.clear()
    _WEIGHTS.update({f: (v, dict(w)) for f, (v, w) in (weights or {}).items()})
    _BLANKED.clear()
    _BLANKED.update(blanked)
    for q in cb.questions:  # who was asked each question (the base of pctasked / nasked)
        if q.universe is not None:
            _ASKED[q.id] = A.cell((q.universe.question, K.merged_level(list(q.universe.values))))
    # every variable and pair the published values touch
    singles: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    coded: set[str] = set()
    allv = A.variables(cb)

    def touch(c: A.Cell | None) -> None:
        vs = [v for v in _variables_of(c)]
        singles.update(v for v in vs if v in allv)
        if len(vs) == 2:
            a, b = vs
            if not allv[a].multi:
                pairs.add((a, b))
            elif not allv[b].multi:
                pairs.add((b, a))

    for key, r in req.items():
        if r.fact is not None:
            touch(r.fact.cell)
            touch(r.fact.base)
            continue
        mn = meaning(key)
        if mn is None:
            continue
        touch(mn.cell)
        touch(mn.base)
        if mn.family == "pby" and mn.by in allv and mn.question in allv:
            touch(A.cell((mn.by, A.ANS), (mn.question, A.ANS)))
        if mn.family == "other":
            coded.add(mn.question)
    for f in fixed:
        if f.stat in ("code", "coderange"):
            coded.add(f.cell[0][1])  # type: ignore[index]
            continue
        touch(f.cell)
        touch(f.base)
    for c in structural_zeros:
        touch(c)
    singles = {v for v in singles if v in allv}
    m = A.build_model(responses, cb, singles, pairs, coded=coded)

    # 0. values published anyway must pass the threshold rule themselves (they cannot be withheld)
    small = []
    for f in fixed:
        if f.stat in ("count", "n", "code"):
            s = A._scaled(f.text)
            if s is not None and s[1] == 0 and 0 < s[0] < min_cell:
                small.append(f"{f.id} = {f.text} ({f.where})")
        elif f.stat == "pct":
            k, n = _count(m, f.cell), _count(m, f.base)
            if _small(k, min_cell) or (k is not None and n is not None and _small(n - k, min_cell)):
                small.append(f"{f.id} = {f.text}% ({f.where}: {k} of {n} respondents)")
    if small:
        raise DisclosureError(
            f"values published anyway rest on fewer than {min_cell} respondents: " + "; ".join(small[:12])
        )

    # 1. primary suppression
    answers: dict[Any, Any] = {}  # weighted_primary's reading of the responses, once per variable
    for key, r in req.items():
        fam = K.family(key)
        if r.fact is not None:
            why = _fact_primary(r.fact, m, min_cell)
            decisions[key] = Decision(key, why is None, r.role, why or "")
            continue
        if fam in INFO_FAMILIES or meaning(key) is None and fam != "other":
            decisions[key] = Decision(key, True, "info" if fam in INFO_FAMILIES else r.role)
            continue
        why = primary(key, m, min_cell, entries.get(key), levels) or weighted_primary(
            key, responses, cb, min_cell, answers
        )
        if fam == "other":
            why = _other_primary(key, m, min_cell)
        decisions[key] = Decision(key, why is None, r.role, why or "")

    said: dict[Any, Any] = {}  # key_facts of a printed text, once per key and text

    def facts_now() -> list[A.Fact]:
        out = list(fixed)
        for key, d in decisions.items():
            if not d.public:
                continue
            if req[key].fact is not None:
                out.append(req[key].fact)
                continue
            text = d.text or req[key].text or getattr(entries.get(key), "text", None)
            if text is None:
                continue
            if K.family(key) == "other":
                out += _other_facts(key, text, m)
            else:
                out += _memo(said, (key, str(text)), functools.partial(key_facts, key, str(text)))
        out += [A.Fact(f"zero:{A.describe(c)}", "count", c, None, "0", True, "screening") for c in structural_zeros]
        return out

    # 2. secondary suppression: tables alone, then with the release
    pub = Publication(decisions=decisions, min_cell=min_cell)
    all_targets = A.targets(m, min_cell)
    pub.targets = len(all_targets)
    texts = {k: getattr(e, "text", None) for k, e in entries.items() if k in req}
    _secondary(m, req, decisions, facts_now, all_targets, min_cell, pub, release=False, entries_text=texts)
    if release is not None:
        A.add_release(m, release)
        shown = A.release_only(m, min_cell)
        rel_targets = [t for t in all_targets if tuple(sorted(t[1].items())) not in shown]
        _secondary(m, req, decisions, facts_now, rel_targets, min_cell, pub, release=True, entries_text=texts)
    # 3. the reproduction's count of figures that match their 2022 value would tell whether a
    # withheld figure matched: with the printed figure and its wording ("exact"), its value
    held = sorted(k for k, d in decisions.items() if k.startswith("figure.") and not d.public)
    if held and "repro.matched" in decisions and decisions["repro.matched"].public:
        why = f"counts whether {', '.join(held)} match the 2022 report"
        decisions["repro.matched"] = Decision(
            "repro.matched", False, decisions["repro.matched"].role, f"secondary: {why}"
        )
        pub.secondary.append(f"repro.matched: {why}")
    pub.facts = len(facts_now())
    return pub


def _fact_primary(f: A.Fact, m: A.Model, min_cell: int) -> str | None:
    """The threshold rule for a value given by its cells (a row of an appendix table)."""
    base = _count(m, f.base)
    if base is not None and base < min_cell:
        return f"primary: base of {base}"
    if f.stat == "pct":
        k = _count(m, f.cell)
        if _small(k, min_cell):
            return f"primary: {k} of {base} respondents"
        if k is not None and base is not None and _small(base - k, min_cell):
            return f"primary: complement of {base - k} (of {base})"
    return None


def _other_primary(key: str, m: A.Model, min_cell: int) -> str | None:
    q, what = K.parse(key).parts
    names = [n for n in m.index if n[0] == "Y" and n[1] == q]
    if not names:
        return None
    if what == "uncoded":
        sel = [n for n in names if n[2] == "uncoded"]
    elif what == "coded":
        sel = [n for n in names if n[2] != "uncoded"]
    else:
        sel = [n for n in names if n[2] == what]
    total = sum(m.truth[m.index[n]] for n in sel)
    return f"primary: {total} coded answers" if 0 < total < min_cell else None


def _other_facts(key: str, text: str, m: A.Model) -> list[A.Fact]:
    q, what = K.parse(key).parts
    codes = sorted(n[2] for n in m.index if n[0] == "Y" and n[1] == q)
    if what == "uncoded":
        sel = [c for c in codes if c == "uncoded"]
    elif what == "coded":
        sel = [c for c in codes if c != "uncoded"]
    else:
        sel = [c for c in codes if c == what]
    return [code_fact(q, sel, text, fixed=False, where=key)] if sel else []


def _touches(key: str, target: A.Cell | tuple, req: Mapping[str, Request] | None = None) -> bool:
    tv = _variables_of(target) if _is_cell(target) else {target[1]} if target else set()
    r = (req or {}).get(key)
    if r is not None and r.fact is not None:
        return bool(tv & (_variables_of(r.fact.cell) | _variables_of(r.fact.base)))
    mn = meaning(key)
    if mn is None:
        return False
    if mn.family == "other":
        return mn.question in tv
    fv = _variables_of(mn.cell) | _variables_of(mn.base) | ({mn.by, mn.question} - {""})
    return bool(tv & fv)


def _whole_percent(key: str, req: Mapping[str, Request], entries_text: Mapping[str, str]) -> str | None:
    """The text of a share printed with decimals, rounded to whole percent (None: not a share)."""
    if K.family(key) not in ("pct", "pctby", "pctasked") or req[key].fact is not None:
        return None
    t = req[key].text or entries_text.get(key)
    if t is None or "." not in str(t):
        return None
    try:
        return f"{float(str(t).replace(',', '')):.0f}"
    except ValueError:
        return None


def _secondary(
    m, req, decisions, facts_now, targets, min_cell, pub: Publication, release: bool, entries_text=None
) -> None:
    entries_text = entries_text or {}
    from belmig.privacy.audit import Solver

    # a fact's constraints depend on the fact and the model's cells (which do not change here):
    # worked out once per fact, not once per solver
    known: dict[Any, Any] = {}

    def solver() -> Solver:
        cons = [
            c for c in m.cons if c.group in ("structure", "fact:flow.analysed") or (release and c.group == "release")
        ]
        for f in facts_now():
            cons += _memo(known, f, functools.partial(_constraints, m, f)) or []
        return Solver(m, cons)

    s = solver()
    pinned = [t for t in targets if s.pinned(t[1], t[2])]
    label = "with the release" if release else "from the tables"
    pub.recoveries_before += [f"{A.describe(c) if _is_cell(c) else c} = {v} ({label})" for c, _, v in pinned]
    guard = 0
    while pinned:
        guard += 1
        if guard > 500:  # pragma: no cover - each round withdraws a value, and there are finitely many
            raise DisclosureError("secondary suppression does not terminate")
        c, e, v = pinned[0]
        cands = [
            k for k, d in decisions.items() if d.public and d.role in ("base", "table", "text") and _touches(k, c, req)
        ]
        cands.sort(key=lambda k: (_rank(decisions[k].role), _size(m, k, req), k))
        # withhold candidates in order until the target is safe, then put back every one it
        # does not need (a minimal set: each withheld value is necessary for this target)
        added: list[str] = []
        rounded = None
        for k in cands:
            # a share in the text is first printed to whole percent (coarser rounding gives the
            # attacker a wider interval; τ-ARGUS-style rounding); withheld only if that is not enough
            whole = _whole_percent(k, req, entries_text)
            if whole is not None and decisions[k].role == "text":
                decisions[k].text = whole
                if not solver().pinned(e, v):
                    rounded = k
                    break
                decisions[k].text = None
            decisions[k].public = False
            added.append(k)
            if not solver().pinned(e, v):
                break
        else:
            what = A.describe(c) if _is_cell(c) else str(c)
            for k in added:
                decisions[k].public = True
            raise DisclosureError(
                f"{what} = {v} can be derived {label} from values that are published anyway "
                f"(charts, notebook tables, the release): {_sources(m, facts_now(), c)}"
            )
        for k in added if rounded is not None else added[:-1]:  # the last step made it safe: keep it
            decisions[k].public = True
            if solver().pinned(e, v):
                decisions[k].public = False
        what = A.describe(c) if _is_cell(c) else str(c)
        for k in added:
            if not decisions[k].public:
                decisions[k].reason = f"secondary: protects {what} ({label})"
                pub.secondary.append(f"withheld {k}: it let {what} = {v} be derived {label}")
        if rounded is not None:
            decisions[rounded].reason = f"secondary: rounded to whole percent, protects {what} ({label})"
            pub.secondary.append(
                f"rounded {rounded} to {decisions[rounded].text}: it let {what} = {v} be derived {label}"
            )
        s = solver()
        pinned = [t for t in pinned if s.pinned(t[1], t[2])]


def _constraints(m: A.Model, f: A.Fact):
    if f.stat == "code":
        idx = [m.index.get(n) for n in f.cell]  # type: ignore[union-attr]
        s = A._scaled(f.text)
        if any(i is None for i in idx) or s is None or s[1] != 0:
            return None
        return [A.Constraint({i: 1.0 for i in idx}, s[0], s[0], f"{f.id} = {f.text}", f"fact:{f.id}")]  # type: ignore[misc]
    if f.stat == "coderange":
        i = m.index.get(f.cell[0])  # type: ignore[arg-type]
        if i is None:
            return None
        lo, hi = (int(x) for x in f.text.split(".."))
        return [A.Constraint({i: 1.0}, lo, hi, f"{f.id}: between {lo} and {hi}", f"fact:{f.id}")]
    if f.stat == "range":
        e = m.expr(f.cell) if _is_cell(f.cell) else None
        if e is None:
            return None
        lo, hi = (int(x) for x in f.text.split(".."))
        return [A.Constraint(e, lo, hi, f"{f.id}: between {lo} and {hi}", f"fact:{f.id}")]
    return A.fact_constraints(m, f)


def _is_cell(c: object) -> bool:
    return isinstance(c, tuple) and all(isinstance(a, tuple) and len(a) == 2 for a in c)


def _size(m: A.Model, key: str, req: Mapping[str, Request] | None = None) -> int:
    r = (req or {}).get(key)
    if r is not None and r.fact is not None:
        n = _count(m, r.fact.cell)
        return n if n is not None else 10**9
    mn = meaning(key)
    if mn is None:
        return 10**9
    n = _count(m, mn.cell if mn.family not in ("n", "nby") else mn.base)
    return n if n is not None else 10**9


def _sources(m: A.Model, facts: Sequence[A.Fact], c) -> str:
    tv = _variables_of(c) if _is_cell(c) else {c[1]}
    rel = [f for f in facts if (_variables_of(f.cell if _is_cell(f.cell) else ()) | _variables_of(f.base)) & tv]
    return "; ".join(f"{f.id} = {f.text} ({f.where or 'published'})" for f in rel[:12]) or "(none listed)"


# ------------------------------------------------------------------------------ the report's requests


def shortcode_keys(paths: Iterable[Path]) -> list[str]:
    """Ledger keys the report editions print (their ``{{< var key >}}`` shortcodes, in order)."""
    out: list[str] = []
    for p in paths:
        out += VAR_RE.findall(Path(p).read_text(encoding="utf-8"))
    return list(dict.fromkeys(out))


def requests_for_report(
    text_keys: Sequence[str],
    table_keys: Sequence[str] = (),
    entries: Mapping[str, Any] | None = None,
) -> list[Request]:
    """Requests: the text's keys, the appendix tables' keys, and the base of every share and
    mean the values table prints."""
    out = [Request(k, "text") for k in text_keys] + [Request(k, "table") for k in table_keys]
    for k in list(text_keys) + list(table_keys):
        b = base_key(k)
        if b is not None and (entries is None or b in entries):
            out.append(Request(b, "base"))
    return out


# ------------------------------------------------------------------------------ applying it


_NUMBERED_RE = re.compile(r"\s*\([^()]*\d[^()]*\)")  # "(logit 66.93–78.74)": the interval


def without_numbers(description: Any) -> Any:
    """A value's description without the numbers it carries (its interval, in parentheses, and
    any other figure): the values page prints it beside a withheld or rounded value."""
    if not isinstance(description, str):
        return description
    return re.sub(r"\d+(?:[.,]\d+)*", "…", _NUMBERED_RE.sub("", description))


def _stripped(entry: Any, **changes: Any) -> Any:
    """`entry` with `changes` and its description without numbers."""
    import dataclasses

    if hasattr(entry, "description"):
        changes["description"] = without_numbers(entry.description)
    return dataclasses.replace(entry, **changes)


def withheld_text(entry: Any) -> Any:
    """A copy of a ledger entry that prints the suppression mark and carries no numbers (its
    description neither: "weighted percent (logit 66.93–78.74)" gave a withheld interval)."""
    return _stripped(entry, value=None, text=SUPPRESSED, n=None, n_eff=None, se=None, ci_low=None, ci_high=None)


def public_ledger(entries: Mapping[str, Any], pub: Publication, *, marks: bool = True) -> dict[str, Any]:
    """The ledger as the public may see it: the values the report asked for and the decision
    allowed; a withheld value is kept (printing the mark "–") when `marks`, else left out.
    Nothing that was not asked for: the full ledger stays internal."""

    out = {}
    for key, d in pub.decisions.items():
        e = entries.get(key)
        if e is None:
            continue
        if d.public:
            if d.text is not None:
                e = _stripped(e, text=d.text, ci_low=None, ci_high=None, se=None)
            b = base_key(key)
            if b is not None and b in pub.decisions and not pub.decisions[b].public:
                # the base is withheld: so is everything that would give it away (an interval's
                # width tells the base too)
                e = _stripped(e, n=None, n_eff=None, se=None, ci_low=None, ci_high=None)
            out[key] = e
        elif marks:
            out[key] = withheld_text(e)
    return out


def withheld_keys(pub: Publication | None) -> set[str]:
    return {d.key for d in pub.withheld()} if pub is not None else set()


def apply(shown: Mapping[str, Any], pub: Publication | None) -> dict[str, Any]:
    """The disclosure filter of the public values (``belmig.report.public.public_entries``):
    a withheld value prints "–", a value whose base is withheld loses its base and interval,
    and a value the audit never saw is withheld too (fail safe: every public value must have
    been asked for, see :func:`belmig.privacy.inputs.report_requests`)."""

    if pub is None:
        return dict(shown)
    out = {}
    for key, e in shown.items():
        d = pub.decisions.get(key)
        if d is None and K.family(key) not in INFO_FAMILIES:
            out[key] = withheld_text(e)
            continue
        if d is not None and not d.public:
            out[key] = withheld_text(e)
            continue
        if d is not None and d.text is not None:  # rounded: no interval either (it would give the decimals)
            e = _stripped(e, text=d.text, ci_low=None, ci_high=None, se=None)
        b = base_key(key)
        if b is not None and b in pub.decisions and not pub.decisions[b].public:
            e = _stripped(e, n=None, n_eff=None, se=None, ci_low=None, ci_high=None)
        out[key] = e
    return out


def marked(entries: Mapping[str, Any], pub: Publication | None) -> Mapping[str, Any]:
    """The full ledger with every withheld value replaced by the mark (to render the text), and
    every value the audit never reviewed too (:class:`Marked`: each entry when it is read)."""
    if pub is None:
        return dict(entries)
    return Marked(entries, pub)


class Marked(Mapping):
    """:func:`marked`'s ledger, each entry decided when it is first read: a text prints ~100 of
    the ~4,000 values, and stripping every withheld one took 0.04 s of each render."""

    def __init__(self, entries: Mapping[str, Any], pub: Publication):
        self._entries = entries
        self._pub = pub
        self._seen: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        try:
            return self._seen[key]
        except KeyError:
            pass
        e = self._entries[key]
        d = self._pub.decisions.get(key)
        if d is None:  # fail safe: a value the audit never reviewed prints "–" (as in apply)
            if K.family(key) not in INFO_FAMILIES:
                e = withheld_text(e)
        elif not d.public:
            e = withheld_text(e)
        elif d.text is not None:
            import dataclasses

            e = dataclasses.replace(e, text=d.text)
        self._seen[key] = e
        return e

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
