"""The attacker's audit of everything published: which small counts can be derived exactly.

This is the audit of τ-ARGUS (de Wolf et al., "audit of a suppressed table": the attacker's
feasibility interval of every cell given all that is published), done as an exact integer
program over linked tables instead of an LP over one table.

**Model.** Every survey variable v in play has one-way cells: for a single-choice or scale
question one count per option plus "no answer", for a multiple-choice question the number who
answered and the number who chose each option. Every pair (b, q) that a published value links
(a subgroup share, a base within a subgroup, release records) has its joint cells: b's states ×
q's states, whose rows and columns add up to the one-way cells. Everything adds up to N, the
number of respondents analysed (published). This is the linked-tables structure of τ-ARGUS
and Sukasih et al. (2011); cross-classifications of three variables are not formed.

**What the attacker knows** (constraints, all integer and exact):

* a published count or base: ``cell = c``;
* a share printed as ``P`` with d decimals: ``(2P − 1)·n ≤ 2·10^(d+2)·k ≤ (2P + 1)·n``, both the
  count k and the base n unknown integers (43.33% of 90 gives k = 39; 18.70% with the base
  between 0 and 125 allows only n = 123);
* a mean of a scale question: the same with ``Σ v·k_v`` against ``n``;
* counts of coded open answers: a partition of those who chose "Other";
* the screening rules of the (public) configuration: nobody outside the target group;
* the released microdata, when given (:class:`ReleaseView`): every cell lies between the
  records that certainly fall in it and those that possibly do (a merged category stands for its
  parts, a blank in a protected variable for anything, "no answer" included).

**Targets.** Every cell of the model and every row or column sum of a joint table whose true
count is between 1 and ``min_cell − 1``. A target is *recovered* when no integer solution of
the constraints gives it another value (two feasibility problems: target ≥ true + 1, and
target ≤ true − 1). Solved with HiGHS (:func:`scipy.optimize.milp`).

Size: a little above 600 lines, kept whole: the model, the facts, the release bounds and the
solver are one integer program and are read together.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from belmig.core.codebook import Codebook
from belmig.core.keys import multi_column

if TYPE_CHECKING:  # numpy, pandas and scipy are imported by the code that runs the audit: a reader
    import numpy as np  # of its decisions (the report stage, through belmig.privacy.publish) does
    import pandas as pd  # not pay for them

NA = "-"  # "did not answer" (outside the universe or item non-response)
ANS = "*"  # "answered"

Atom = tuple[str, str]  # (variable, state): an option key, ANS, NA, or "!opt" (multi: answered, not chosen)
Cell = tuple[Atom, ...]


def cell(*atoms: Atom) -> Cell:
    return tuple(sorted(set(atoms)))


def describe(c: Cell) -> str:
    if not c:
        return "all respondents"
    out = []
    for v, s in c:
        out.append(
            f"answered {v}"
            if s == ANS
            else f"no answer to {v}"
            if s == NA
            else f"{v} answered, not {s[1:]}"
            if s.startswith("!")
            else f"{v}={s}"
        )
    return " ∧ ".join(out)


@dataclass(frozen=True)
class Var:
    """A survey variable as the audit sees it."""

    name: str
    kind: str  # single | multi
    states: tuple[str, ...]  # options (single/scale) or options (multi); NA is implicit

    @property
    def multi(self) -> bool:
        return self.kind == "multi"


def variables(cb: Codebook) -> dict[str, Var]:
    out = {}
    for q in cb.questions:
        if q.type in ("single", "multi"):
            out[q.id] = Var(q.id, q.type, tuple(q.keys))
        elif q.type == "scale":
            lo, hi = int(q.scale["min"]), int(q.scale["max"])
            out[q.id] = Var(q.id, "single", tuple(f"v{i}" for i in range(lo, hi + 1)))
    return out


def derived_parts(var: Var, state: str) -> list[str] | None:
    """States a derived option stands for: ``ge8`` = v8 + v9 + v10, ``a+b`` = a, b."""
    if state.startswith("ge") and state[2:].isdigit() and all(s.startswith("v") for s in var.states):
        lo = int(state[2:])
        return [s for s in var.states if int(s[1:]) >= lo]
    if "+" in state and all(p in var.states for p in state.split("+")):
        return state.split("+")
    return None


# ------------------------------------------------------------------------------ constraints


@dataclass
class Constraint:
    terms: dict[int, float]
    lo: float
    hi: float
    label: str
    group: str  # "structure" | "fact:<id>" | "release"


@dataclass
class Model:
    """Integer cells and the attacker's constraints."""

    vars: dict[str, Var]
    n: int
    index: dict[tuple, int] = field(default_factory=dict)
    names: list[tuple] = field(default_factory=list)
    truth: list[int] = field(default_factory=list)
    cons: list[Constraint] = field(default_factory=list)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    singles: set[str] = field(default_factory=set)
    coded: set[str] = field(default_factory=set)

    # ---------------------------------------------------------------- cells
    def _new(self, name: tuple, true: int) -> int:
        i = len(self.names)
        self.index[name] = i
        self.names.append(name)
        self.truth.append(int(true))
        return i

    def add(self, terms: dict[int, float], lo: float, hi: float, label: str, group: str) -> None:
        t = {i: a for i, a in terms.items() if a != 0}
        if t:
            self.cons.append(Constraint(t, lo, hi, label, group))

    def expr(self, c: Cell) -> dict[int, float] | None:
        """Linear expression of a cell over the model's integer cells (None: not in the model)."""
        if not c:
            return {self.index[("N",)]: 1.0}
        if len(c) == 1:
            ((v, s),) = c
            return self._one(v, s)
        if len(c) == 2:
            (a, sa), (b, sb) = c
            if (a, b) in self.pairs:
                return self._two(a, sa, b, sb)
            if (b, a) in self.pairs:
                return self._two(b, sb, a, sa)
        return None

    def _states(self, v: str, s: str) -> list[str] | None:
        var = self.vars[v]
        if s == ANS:
            return list(var.states)
        if s == NA:
            return [NA]
        if s in var.states:
            return [s]
        return derived_parts(var, s)

    def _one(self, v: str, s: str) -> dict[int, float] | None:
        if v not in self.singles:
            return None
        var = self.vars[v]
        if not var.multi:
            states = self._states(v, s)
            return None if states is None else {self.index[("U", v, x)]: 1.0 for x in states}
        if s == ANS:
            return {self.index[("A", v)]: 1.0}
        if s == NA:
            return {self.index[("N",)]: 1.0, self.index[("A", v)]: -1.0}
        if s.startswith("!") and s[1:] in var.states:
            return {self.index[("A", v)]: 1.0, self.index[("C", v, s[1:])]: -1.0}
        if s in var.states:
            return {self.index[("C", v, s)]: 1.0}
        return None

    def _two(self, b: str, sb: str, q: str, sq: str) -> dict[int, float] | None:
        rows = self._states(b, sb)
        if rows is None:
            return None
        var = self.vars[q]
        out: dict[int, float] = {}
        for r in rows:
            if not var.multi:
                cols = self._states(q, sq)
                if cols is None:
                    return None
                for c in cols:
                    out[self.index[("X", b, q, r, c)]] = 1.0
            elif sq == ANS:
                out[self.index[("XA", b, q, r)]] = 1.0
            elif sq == NA:
                out[self.index[("U", b, r)]] = out.get(self.index[("U", b, r)], 0.0) + 1.0
                out[self.index[("XA", b, q, r)]] = -1.0
            elif sq.startswith("!") and sq[1:] in var.states:
                out[self.index[("XA", b, q, r)]] = 1.0
                out[self.index[("XC", b, q, r, sq[1:])]] = -1.0
            elif sq in var.states:
                out[self.index[("XC", b, q, r, sq)]] = 1.0
            else:
                return None
        return out

    def true_value(self, terms: dict[int, float]) -> float:
        return float(sum(a * self.truth[i] for i, a in terms.items()))


def _single_values(responses: pd.DataFrame, var: Var) -> np.ndarray:
    """Per record, its state of `var` (an option key, ``v<k>`` of a scale, NA for no answer)."""
    import numpy as np
    import pandas as pd

    s = responses[var.name]
    if all(x.startswith("v") for x in var.states) and pd.api.types.is_numeric_dtype(s.dtype):
        vals = s.astype("Int64").astype("object").map(lambda x: NA if pd.isna(x) else f"v{int(x)}")
    elif (
        isinstance(s, pd.Series)
        and isinstance(s.dtype, pd.CategoricalDtype)
        and all(type(c) is str for c in s.cat.categories)
    ):
        # the texts of the categories, read per category (not per record): the same values
        return np.array([*s.cat.categories, NA], dtype=object)[s.cat.codes.to_numpy()]  # code -1: NA
    else:
        vals = s.astype("object").map(lambda x: NA if pd.isna(x) else str(x))
    return vals.to_numpy(dtype=object)


def _multi_values(responses: pd.DataFrame, var: Var) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per record, whether it answered `var` (any option not blank), and per option whether it
    chose it (and answered)."""
    import numpy as np
    import pandas as pd

    cols = [multi_column(var.name, o) for o in var.states]
    if cols and responses.columns.is_unique and all(c in responses.columns for c in cols):
        flags = [responses[c] for c in cols]
        if all(isinstance(f.dtype, pd.BooleanDtype) for f in flags):
            # the nullable booleans of the responses read column by column, without a frame of them
            answered = ~np.logical_and.reduce([f.isna().to_numpy() for f in flags])
            return answered, {o: f.to_numpy(dtype=bool, na_value=False) & answered for o, f in zip(var.states, flags)}
    block = responses[cols]
    answered = block.notna().any(axis=1).to_numpy()
    chosen = {o: (block[c].fillna(False).astype(bool).to_numpy() & answered) for o, c in zip(var.states, cols)}
    return answered, chosen


def build_model(
    responses: pd.DataFrame,
    cb: Codebook,
    singles: Iterable[str],
    pairs: Iterable[tuple[str, str]],
    coded: Iterable[str] = (),
) -> Model:
    """Cells of the given one-way variables and pairs (b single/scale, q any), with their
    structure and their true counts (from the internal responses)."""
    allv = variables(cb)
    pairs = {(b, q) for b, q in pairs if b != q}
    singles = set(singles) | {v for p in pairs for v in p}
    unknown = sorted(v for v in singles if v not in allv)
    if unknown:
        raise KeyError(f"audit: {unknown} are not choice or scale questions of {cb.source}")
    for b, _ in pairs:
        if allv[b].multi:
            raise ValueError(f"audit: subgroup variable {b!r} must be single-choice")
    n = len(responses)
    m = Model(vars=allv, n=n, pairs=pairs, singles=singles)
    iN = m._new(("N",), n)
    m.add({iN: 1.0}, n, n, f"respondents analysed = {n}", "fact:flow.analysed")
    single_vals: dict[str, np.ndarray] = {}
    multi_vals: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for v in sorted(singles):
        var = allv[v]
        if var.multi:
            answered, chosen = _multi_values(responses, var)
            multi_vals[v] = (answered, chosen)
            ia = m._new(("A", v), int(answered.sum()))
            m.add({ia: 1.0, iN: -1.0}, -math.inf, 0, f"{v}: those who answered are among all", "structure")
            for o in var.states:
                ic = m._new(("C", v, o), int(chosen[o].sum()))
                m.add({ic: 1.0, ia: -1.0}, -math.inf, 0, f"{v}={o} is among those who answered {v}", "structure")
        else:
            vals = _single_values(responses, var)
            single_vals[v] = vals
            bad = set(vals) - set(var.states) - {NA}
            if bad:
                raise ValueError(f"audit: {v} holds values outside the codebook: {sorted(bad)}")
            terms = {}
            for s in (*var.states, NA):
                terms[m._new(("U", v, s), int((vals == s).sum()))] = 1.0
            m.add(
                {**terms, iN: -1.0}, 0, 0, f"the answers to {v} (and no answer) partition all respondents", "structure"
            )
    for b, q in sorted(pairs):
        vb, vq = allv[b], allv[q]
        rb = single_vals[b]
        for sb in (*vb.states, NA):
            in_b = rb == sb
            ub = m.index[("U", b, sb)]
            if not vq.multi:
                rq = single_vals[q]
                row = {}
                for sq in (*vq.states, NA):
                    row[m._new(("X", b, q, sb, sq), int((in_b & (rq == sq)).sum()))] = 1.0
                m.add({**row, ub: -1.0}, 0, 0, f"{b}={sb}: the answers to {q} partition it", "structure")
            else:
                answered, chosen = multi_vals[q]
                ia = m._new(("XA", b, q, sb), int((in_b & answered).sum()))
                m.add({ia: 1.0, ub: -1.0}, -math.inf, 0, f"{b}={sb}: those who answered {q} are among it", "structure")
                for o in vq.states:
                    ic = m._new(("XC", b, q, sb, o), int((in_b & chosen[o]).sum()))
                    m.add(
                        {ic: 1.0, ia: -1.0}, -math.inf, 0, f"{b}={sb} ∧ {q}={o} within those who answered", "structure"
                    )
        # columns add up to the one-way cells of q
        if not vq.multi:
            for sq in (*vq.states, NA):
                col = {m.index[("X", b, q, sb, sq)]: 1.0 for sb in (*vb.states, NA)}
                m.add(
                    {**col, m.index[("U", q, sq)]: -1.0},
                    0,
                    0,
                    f"{q}={sq}: the answers to {b} partition it",
                    "structure",
                )
        else:
            col = {m.index[("XA", b, q, sb)]: 1.0 for sb in (*vb.states, NA)}
            m.add(
                {**col, m.index[("A", q)]: -1.0},
                0,
                0,
                f"those who answered {q}: the answers to {b} partition them",
                "structure",
            )
            for o in vq.states:
                col = {m.index[("XC", b, q, sb, o)]: 1.0 for sb in (*vb.states, NA)}
                m.add(
                    {**col, m.index[("C", q, o)]: -1.0}, 0, 0, f"{q}={o}: the answers to {b} partition it", "structure"
                )
    for q in sorted(set(coded)):
        _coded(m, responses, cb, q)
    return m


def _coded(m: Model, responses: pd.DataFrame, cb: Codebook, q: str) -> None:
    """Counts of a coded open answer: categories partition those who gave the answer."""
    col = f"{q}__code"
    if col not in responses.columns:
        return
    codes = responses[col].astype("object")
    cats = sorted({str(x) for x in codes.dropna()})
    terms = {m._new(("Y", q, c), int((codes == c).sum())): 1.0 for c in cats}
    m.coded.add(q)
    qq = cb[q]
    other = next((o.key for o in qq.options if o.other), None) if qq.options else None
    total = int(codes.notna().sum())
    if other is not None and q in m.singles:
        e = m.expr(cell((q, other)))
        if e is not None and m.true_value(e) == total:
            # every "Other" answer is coded (or "uncoded"): the categories partition them
            m.add(
                {**terms, **{i: -a for i, a in e.items()}}, 0, 0, f"the codes of {q} partition {q}={other}", "structure"
            )


# ------------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class Fact:
    """One published number: what cell it speaks about and how it was printed."""

    id: str  # a ledger key, or the place ("chart08 n")
    stat: str  # count | n | pct | mean | code
    cell: Cell  # the count's cell (pct, count, code) or the base cell (n, mean)
    base: Cell | None  # the base of a share or mean
    text: str
    fixed: bool = False  # published elsewhere already (a chart, a notebook): cannot be withdrawn
    where: str = ""


def _scaled(text: str) -> tuple[int, int] | None:
    t = str(text).replace(",", "").replace("%", "").replace("\u2212", "-").strip()
    if not t or t.startswith("-"):
        return None
    if "." in t:
        a, b = t.split(".", 1)
        if not (a.isdigit() and b.isdigit()):
            return None
        return int(a + b), len(b)
    return (int(t), 0) if t.isdigit() else None


def fact_constraints(m: Model, f: Fact) -> list[Constraint] | None:
    """The constraints one fact gives the attacker (None: the fact's cells are not modelled)."""
    group = f"fact:{f.id}"
    out: list[Constraint] = []
    if f.stat in ("count", "n"):
        e = m.expr(f.cell)
        s = _scaled(f.text)
        if e is None or s is None or s[1] != 0:
            return None
        out.append(Constraint(e, s[0], s[0], f"{f.id} = {f.text}", group))
    elif f.stat == "code":
        i = m.index.get(f.cell[0]) if f.cell and f.cell[0] and f.cell[0][0] == "Y" else None  # type: ignore[index]
        s = _scaled(f.text)
        if i is None or s is None or s[1] != 0:
            return None
        out.append(Constraint({i: 1.0}, s[0], s[0], f"{f.id} = {f.text}", group))
    elif f.stat == "pct":
        e, b = m.expr(f.cell), m.expr(f.base) if f.base is not None else None
        s = _scaled(f.text)
        if e is None or b is None or s is None:
            return None
        P, d = s
        A = 200 * 10**d
        terms_lo = {i: A * a for i, a in e.items()}
        for i, a in b.items():
            terms_lo[i] = terms_lo.get(i, 0.0) - (2 * P - 1) * a
        terms_hi = {i: A * a for i, a in e.items()}
        for i, a in b.items():
            terms_hi[i] = terms_hi.get(i, 0.0) - (2 * P + 1) * a
        out.append(Constraint(terms_lo, 0, math.inf, f"{f.id} = {f.text}% (lower)", group))
        out.append(Constraint(terms_hi, -math.inf, 0, f"{f.id} = {f.text}% (upper)", group))
        out.append(Constraint(dict(b), 1, math.inf, f"{f.id}: a printed share has a base", group))
    elif f.stat == "mean":
        if f.base is None:
            return None
        (q, _), *_ = [a for a in f.base if a[1] == ANS]
        pre = tuple(a for a in f.base if a[0] != q)
        var = m.vars.get(q)
        s = _scaled(f.text)
        if var is None or s is None or not all(x.startswith("v") for x in var.states):
            return None
        M, d = s
        b = m.expr(f.base)
        if b is None:
            return None
        sums: dict[int, float] = {}
        for x in var.states:
            e = m.expr(cell(*pre, (q, x)))
            if e is None:
                return None
            for i, a in e.items():
                sums[i] = sums.get(i, 0.0) + 2 * 10**d * int(x[1:]) * a
        lo = dict(sums)
        for i, a in b.items():
            lo[i] = lo.get(i, 0.0) - (2 * M - 1) * a
        hi = dict(sums)
        for i, a in b.items():
            hi[i] = hi.get(i, 0.0) - (2 * M + 1) * a
        out.append(Constraint(lo, 0, math.inf, f"{f.id} = {f.text} (lower)", group))
        out.append(Constraint(hi, -math.inf, 0, f"{f.id} = {f.text} (upper)", group))
        out.append(Constraint(dict(b), 1, math.inf, f"{f.id}: a printed mean has a base", group))
    else:
        return None
    return out


# ------------------------------------------------------------------------------ the release


@dataclass
class ReleaseView:
    """The released microdata as the attacker reads them: per record, per variable, the set of
    states the released value stands for (a merged category its parts, a blank in a protected
    variable anything including no answer)."""

    sets: dict[str, list[frozenset[str]]]  # variable -> per record
    protected: set[str]
    n: int

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, cb: Codebook, protected: Iterable[str], crossed: Iterable[str] = ()
    ) -> ReleaseView:
        """A blank of a protected variable may be anything; so may a blank of a question asked
        because of it when that one is blank too (the release blanks those answers with it, so
        that a blank left for protection reads as a question skipped), and a blank of a question
        in `crossed` in a record with a protected value blank (the release blanks the answers the
        published tables cross a protective blank with: ``microdata.blank_crossed``)."""
        import pandas as pd

        allv = variables(cb)
        prot = set(protected)
        parent = {q.id: q.universe.question for q in cb.questions if q.universe is not None}
        wild_rows: dict[str, list[bool]] = {}
        shown = [c for c in prot if c in frame.columns]
        # a protected multiple-choice question (blanked whole, microdata.diversify): its first option
        shown += [multi_column(v, allv[v].states[0]) for v in prot if v in allv and allv[v].multi]
        shown = [c for c in shown if c in frame.columns]
        any_blank = frame[shown].isna().any(axis=1).tolist() if shown else [False] * len(frame)
        cross = set(crossed)

        def wild(v: str) -> list[bool]:
            """Per record: a blank of v may hide an answer (its parent is protected and blank, or
            v is crossed with a protected value the record has blank)."""
            if v not in wild_rows:
                p = parent.get(v)
                if p is None or p not in frame.columns or not (p in prot or p in parent):
                    rows = [False] * len(frame)
                else:
                    up = wild(p) if p not in prot else [True] * len(frame)
                    rows = [bool(u and pd.isna(x)) for u, x in zip(up, frame[p].astype("object"))]
                wild_rows[v] = [a or (v in cross and b) for a, b in zip(rows, any_blank)]
            return wild_rows[v]

        sets: dict[str, list[frozenset[str]]] = {}
        for v, var in allv.items():
            if var.multi:
                cols = [multi_column(v, o) for o in var.states]
                if not all(c in frame.columns for c in cols):
                    continue
                block = frame[cols].astype("object")
                w = [True] * len(frame) if v in prot else wild(v)
                anything = frozenset(["0", "1", NA])
                flags: dict[str, frozenset[str]] = {}  # a released flag's states, once per text
                for o, c in zip(var.states, cols):
                    sets[f"{v}__{o}"] = [
                        flags[x] if type(x) is str and x in flags else _flag(x, wi, anything, flags)
                        for x, wi in zip(block[c], w)
                    ]
                continue
            if v not in frame.columns:
                continue
            everything = frozenset((*var.states, NA))
            scale = all(s.startswith("v") for s in var.states)
            seen: dict[str, frozenset[str]] = {}  # a released text's states, once per text
            out = []
            w = wild(v)
            for x, wi in zip(frame[v].astype("object"), w):
                if type(x) is str and x in seen:
                    out.append(seen[x])
                    continue
                if x is None or (isinstance(x, float) and math.isnan(x)) or (not isinstance(x, str) and pd.isna(x)):
                    out.append(everything if v in prot or wi else frozenset([NA]))
                    continue
                sx = str(x)
                if sx.replace(".", "", 1).isdigit() and scale:
                    sx = f"v{int(float(sx))}"
                out.append(frozenset(sx.split("+")))
                if type(x) is str:
                    seen[x] = out[-1]
            sets[v] = out
        return cls(sets=sets, protected=prot, n=len(frame))


def _true(x: object) -> bool:
    return str(x).lower() in ("true", "1", "1.0")


def _flag(x: object, wild: bool, anything: frozenset[str], seen: dict[str, frozenset[str]]) -> frozenset[str]:
    """The states a released option flag stands for (a blank: no answer, or anything where it
    may hide one); a text's states are kept in `seen` (they do not depend on the record)."""
    import pandas as pd

    if pd.isna(x):
        return anything if wild else frozenset([NA])
    out = frozenset(["1" if _true(x) else "0"])
    if type(x) is str:
        seen[x] = out
    return out


def _release_states(rv: ReleaseView, m: Model, v: str) -> list[frozenset[str]] | None:
    """Per record: the set of states of v the record may be in (multi: answered / chosen sets)."""
    return rv.sets.get(v)


def add_release(m: Model, rv: ReleaseView) -> None:
    """Bounds from the release on every one-way cell, joint cell and union of merged parts."""
    if rv.n != m.n:
        return  # the release does not hold every respondent: no bounds
    for v in sorted(m.singles):
        var = m.vars[v]
        if var.multi:
            _release_multi(m, rv, v, None)
            continue
        s = rv.sets.get(v)
        if s is None:
            continue
        groups = _groups(s, var)
        n_of = Counter(s)  # the records of each released set (the bounds count records by their set)
        for g in groups:
            lo = sum(k for x, k in n_of.items() if x <= g)
            hi = sum(k for x, k in n_of.items() if x & g)
            e = {m.index[("U", v, st)]: 1.0 for st in g}
            m.add(e, lo, hi, f"release: records of {v} in {'+'.join(sorted(g))}", "release")
    for b, q in sorted(m.pairs):
        sb = rv.sets.get(b)
        if sb is None:
            continue
        vq = m.vars[q]
        gb = _groups(sb, m.vars[b])
        if vq.multi:
            _release_multi(m, rv, q, (b, sb, gb))
            continue
        sq = rv.sets.get(q)
        if sq is None:
            continue
        gq = _groups(sq, vq)
        n_of = Counter(zip(sb, sq))
        for g1 in gb:
            for g2 in gq:
                lo = sum(k for (x, y), k in n_of.items() if x <= g1 and y <= g2)
                hi = sum(k for (x, y), k in n_of.items() if x & g1 and y & g2)
                e = {m.index[("X", b, q, r, c)]: 1.0 for r in g1 for c in g2}
                m.add(
                    e,
                    lo,
                    hi,
                    f"release: records of {b} in {'+'.join(sorted(g1))} and {q} in {'+'.join(sorted(g2))}",
                    "release",
                )


def _groups(sets: list[frozenset[str]], var: Var) -> list[frozenset[str]]:
    """The unions the release bounds: every single state and every released (merged) set."""
    singles = {frozenset([s]) for s in (*var.states, NA)}
    return sorted(singles | {x for x in sets if len(x) > 1}, key=lambda g: (len(g), sorted(g)))


def _release_multi(m: Model, rv: ReleaseView, q: str, by) -> None:
    var = m.vars[q]
    cols = {o: rv.sets.get(f"{q}__{o}") for o in var.states}
    if any(c is None for c in cols.values()):
        return
    # certainly answered (a flag without "no answer") and possibly answered (a flag that may be
    # an answer: a blank the release left for protection)
    answered = [any(NA not in cols[o][i] for o in var.states) for i in range(rv.n)]
    maybe = [any(cols[o][i] - {NA} for o in var.states) for i in range(rv.n)]
    one = frozenset(["1"])
    if by is None:
        m.add({m.index[("A", q)]: 1.0}, sum(answered), sum(maybe), f"release: answered {q}", "release")
        for o in var.states:
            n_of = Counter(cols[o])
            lo = sum(k for x, k in n_of.items() if x == one)
            hi = sum(k for x, k in n_of.items() if "1" in x)
            m.add({m.index[("C", q, o)]: 1.0}, lo, hi, f"release: {q}={o}", "release")
        return
    b, sb, gb = by
    n_answered, n_maybe = Counter(zip(sb, answered)), Counter(zip(sb, maybe))
    n_flag = {o: Counter(zip(sb, cols[o])) for o in var.states}
    for g in gb:
        lo = sum(k for (x, a), k in n_answered.items() if x <= g and a)
        hi = sum(k for (x, a), k in n_maybe.items() if x & g and a)
        m.add(
            {m.index[("XA", b, q, r)]: 1.0 for r in g},
            lo,
            hi,
            f"release: {b} in {'+'.join(sorted(g))}, answered {q}",
            "release",
        )
        for o in var.states:
            lo = sum(k for (x, y), k in n_flag[o].items() if x <= g and y == one)
            hi = sum(k for (x, y), k in n_flag[o].items() if x & g and "1" in y)
            m.add(
                {m.index[("XC", b, q, r, o)]: 1.0 for r in g},
                lo,
                hi,
                f"release: {b} in {'+'.join(sorted(g))}, {q}={o}",
                "release",
            )


# ------------------------------------------------------------------------------ solving


@dataclass
class Recovery:
    cell: Cell | tuple
    value: int
    expr: dict[int, float]
    label: str


# Integer points that satisfied some solver's program are kept with the model (POINTS_ATTR). Most
# audited cells are not pinned: a point another check found often already gives such a cell
# another value, and checking it takes a product where the solver took ~10 ms.
POINTS_ATTR = "_feasible_points"
_TOL = 1e-9  # a point is kept only when it satisfies every constraint to this (the solver's own is 1e-6ish)


class Solver:
    """Feasibility checks on the integer program (structure + chosen facts + release).

    :meth:`feasible` first looks among the integer points found before for the same model (each
    checked against this program's constraints, exactly but for float rounding): one that gives
    the cell a value in the asked range proves the range feasible, as the solver would. Only
    when none does is the solver asked; a point it finds is kept. The answers are the solver's."""

    def __init__(self, m: Model, cons: Sequence[Constraint]):
        import numpy as np
        from scipy import sparse  # the solver's imports are paid by the audit alone, not by its readers

        self.m = m
        nv = len(m.names)
        rows, cols, vals, lo, hi = [], [], [], [], []
        for r, c in enumerate(cons):
            for i, a in c.terms.items():
                rows.append(r)
                cols.append(i)
                vals.append(a)
            lo.append(c.lo)
            hi.append(c.hi)
        self.A = sparse.csr_matrix((vals, (rows, cols)), shape=(len(cons), nv))
        self.lo = np.array(lo, dtype=float)
        self.hi = np.array(hi, dtype=float)
        self.nv = nv
        self._pool = m.__dict__.setdefault(POINTS_ATTR, [])
        self._seen = 0  # how many of the model's points were checked against this program
        self._points = np.zeros((0, nv))  # those that satisfy it, one a row

    def _satisfies(self, x) -> bool:
        import numpy as np

        if x.shape != (self.nv,) or (x < 0).any() or (x > self.m.n).any():
            return False
        ax = self.A @ x
        return bool(np.all(ax >= self.lo - _TOL) and np.all(ax <= self.hi + _TOL))

    def _known(self, extra: dict[int, float], lo: float, hi: float) -> bool:
        """Whether an integer point found before satisfies this program with the extra row in range."""
        import numpy as np

        if self._seen < len(self._pool):
            new = [x for x in self._pool[self._seen :] if self._satisfies(x)]
            self._seen = len(self._pool)
            if new:
                self._points = np.vstack([self._points, *new])
        if not len(self._points):
            return False
        idx = np.fromiter(extra.keys(), dtype=int, count=len(extra))
        coef = np.fromiter(extra.values(), dtype=float, count=len(extra))
        v = self._points[:, idx] @ coef
        return bool(np.any((v >= lo - _TOL) & (v <= hi + _TOL)))

    def feasible(self, extra: dict[int, float], lo: float, hi: float) -> bool:
        import numpy as np
        from scipy import sparse
        from scipy.optimize import Bounds, LinearConstraint, milp

        if self._known(extra, lo, hi):
            return True

        row = sparse.csr_matrix((list(extra.values()), ([0] * len(extra), list(extra.keys()))), shape=(1, self.nv))
        cons = LinearConstraint(_stacked(self.A, row), np.append(self.lo, lo), np.append(self.hi, hi))

        def solve(c):
            return milp(
                c=c,
                constraints=cons,
                integrality=np.ones(self.nv),
                bounds=Bounds(0, self.m.n),
                options={"presolve": True, "time_limit": 20},
            )

        # A random objective (seeded by how many points are kept: the same run, the same calls)
        # sends the solver to a far corner of the feasible set: the point it finds then gives
        # many other cells other values, and answers their checks (74 -> 27 solves that found a
        # point in the report's audit). Feasibility does not depend on the objective.
        res = solve(np.random.default_rng(len(self._pool)).standard_normal(self.nv))
        if res.status == 1:  # time limit with an objective to optimise: ask for any point instead
            if res.x is not None and self._keep(res.x) and self._known(extra, lo, hi):
                return True
            res = solve(np.zeros(self.nv))
        if res.status == 1:  # time limit: cannot prove either way; count as recoverable (fail safe)
            return False
        if res.status == 0 and res.x is not None:
            self._keep(res.x)
        return res.status == 0

    def _keep(self, x) -> bool:
        """Keep the solver's point when, rounded, it is an integer point of this program."""
        import numpy as np

        x = np.rint(x)
        if not self._satisfies(x):
            return False
        self._pool.append(x)
        return True

    def pinned(self, expr: dict[int, float], true: int) -> bool:
        return not self.feasible(expr, true + 1, math.inf) and not self.feasible(expr, -math.inf, true - 1)


def _stacked(a, row):
    """``scipy.sparse.vstack([a, row], format="csr")`` of two CSR matrices with as many columns:
    the same entries (and dtype), from their arrays, in a quarter of the time."""
    import numpy as np
    from scipy import sparse

    return sparse.csr_matrix(
        (
            np.concatenate([a.data, row.data]),
            np.concatenate([a.indices, row.indices]),
            np.concatenate([a.indptr, row.indptr[1:] + a.nnz]),
        ),
        shape=(a.shape[0] + row.shape[0], a.shape[1]),
    )


def targets(
    m: Model, min_cell: int, cells: Iterable[Cell] = (), nonresponse: bool = False
) -> list[tuple[Cell, dict[int, float], int]]:
    """Cells whose true count is between 1 and min_cell - 1: every model cell, every row and
    column sum of a joint table, and any extra cells given.

    Cells that count who did *not* answer a question ("k of this group skipped q") are left
    out unless `nonresponse`: they tell no answer of anybody (the attack suite reports them as
    warnings, not failures).
    """
    seen: dict[tuple, tuple[Cell, dict[int, float], int]] = {}

    def consider(c: Cell) -> None:
        if not nonresponse and any(s == NA for _, s in c):
            return
        e = m.expr(c)
        if e is None:
            return
        t = int(round(m.true_value(e)))
        if 0 < t < min_cell:
            seen.setdefault(tuple(sorted(e.items())), (c, e, t))

    for v in sorted(m.singles):
        var = m.vars[v]
        states = (*var.states, NA, ANS) + tuple(f"!{s}" for s in var.states if var.multi)
        for s in states:
            consider(cell((v, s)))
    for b, q in sorted(m.pairs):
        vb, vq = m.vars[b], m.vars[q]
        sq_all = (*vq.states, NA, ANS) + tuple(f"!{s}" for s in vq.states if vq.multi)
        for sb, sq in itertools.product((*vb.states, NA, ANS), sq_all):
            consider(cell((b, sb), (q, sq)))
    for c in cells:
        consider(c)
    for name, i in m.index.items():  # coded open answers
        if name[0] == "Y" and 0 < m.truth[i] < min_cell:
            seen.setdefault(((i, 1.0),), (("code", name[1], name[2]), {i: 1.0}, m.truth[i]))  # type: ignore[arg-type]
    return list(seen.values())


def recoveries(
    m: Model, facts: Sequence[Fact], min_cell: int, *, release: bool = False, only: Sequence | None = None
) -> list[Recovery]:
    """Target cells the attacker recovers exactly from the facts (and the release bounds)."""
    cons = [c for c in m.cons if c.group == "structure" or (release and c.group == "release")]
    cons += [c for c in m.cons if c.group == "fact:flow.analysed"]
    for f in facts:
        cons += fact_constraints(m, f) or []
    solver = Solver(m, cons)
    out = []
    for c, e, t in only if only is not None else targets(m, min_cell):
        if solver.pinned(e, t):
            out.append(
                Recovery(c, t, e, describe(c) if isinstance(c, tuple) and c and isinstance(c[0], tuple) else str(c))
            )
    return out


def release_only(m: Model, min_cell: int) -> set[tuple]:
    """Targets the release alone pins (shown by the microdata themselves, not by the tables)."""
    got = recoveries(m, [], min_cell, release=True)
    return {tuple(sorted(r.expr.items())) for r in got}
