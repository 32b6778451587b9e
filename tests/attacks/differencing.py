"""Recovering counts by differencing, with exact integer arithmetic.

Every count the attacker could ask about is a *cell*: the respondents that satisfy a set of
atoms, an atom being ``(variable, option)``, ``(variable, "*")`` (answered it) or
``(variable, "-")`` (did not answer it). Published facts constrain cells:

* a count or a base fixes a cell: ``count.q.o = 12`` ⇒ ``k[q=o] = 12``;
* a share printed to d decimals bounds a cell against its base, exactly:
  ``pct = P/10^d`` ⇒ ``(2P−1)·n ≤ 2·10^(d+2)·k ≤ (2P+1)·n`` (43.33% of 90 ⇒ k = 39);
* a mean bounds the rating-weighted sum of the rating cells against the base;
* the questionnaire adds the structure: the options of a single-choice question partition the
  ones who answered it, answered + not answered = everyone in the parent cell, a multiple-choice
  option is within the ones who answered, "ge8" = v8 + v9 + v10, a merged level "a+b" = a + b;
* the release (when it covers every respondent) bounds every cell between the records that
  certainly fall into it and those that possibly do, and every union of the parts of a merged
  category by the records carrying that category.

This is the audit of τ-ARGUS (the attacker's feasibility interval of every cell given all that
is published), done as bound propagation over integers: each constraint tightens the bounds of
its cells until nothing changes. A cell is *recovered* when its lower and upper bound meet. The
bound that pinned it remembers the constraint that set it, so each recovery comes with the chain
of published facts that proves it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from .release import Release
from .structure import Question, Structure, derived_parts

Atom = tuple[str, str]
CellKey = tuple[Atom, ...]

ANS, NA = "*", "-"


def cell(*atoms: Atom) -> CellKey:
    return tuple(sorted(set(atoms)))


def describe(c: CellKey) -> str:
    if not c:
        return "all respondents"
    parts = []
    for v, o in c:
        parts.append(f"answered {v}" if o == ANS else f"no answer to {v}" if o == NA else f"{v}={o}")
    return " ∧ ".join(parts)


@dataclass
class Constraint:
    terms: list[tuple[int, int]]  # (cell index, integer coefficient)
    lo: int | None  # Σ a·x >= lo
    hi: int | None  # Σ a·x <= hi
    kind: str  # fact | structure | release
    label: str
    facts: tuple = ()  # fact rows (key, text, file, table) behind it


@dataclass
class Recovery:
    cell: CellKey
    value: int
    kind: str  # published | share | within | across
    uses_release: bool
    nonresponse: bool
    proof: str
    facts: list[tuple[str, str, str]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)


class Engine:
    def __init__(self, structure: Structure) -> None:
        self.st = structure
        self.index: dict[CellKey, int] = {}
        self.cells: list[CellKey] = []
        self.lo: list[int] = []
        self.hi: list[int | None] = []
        self.why_lo: list[int | None] = []
        self.why_hi: list[int | None] = []
        self.cons: list[Constraint] = []
        self.of: list[list[int]] = []
        self.conflicts: list[str] = []
        self.conflicted: set[int] = set()  # cells whose bounds crossed (_set)
        self._expanded: set[tuple[CellKey, str]] = set()
        self._queue: deque[CellKey] = deque()

    # ------------------------------------------------------------------ cells and constraints
    def var(self, c: CellKey) -> int:
        i = self.index.get(c)
        if i is None:
            i = len(self.cells)
            self.index[c] = i
            self.cells.append(c)
            self.lo.append(0)
            self.hi.append(None)
            self.why_lo.append(None)
            self.why_hi.append(None)
            self.of.append([])
            self._queue.append(c)
        return i

    def add(
        self, terms: list[tuple[CellKey, int]], lo: int | None, hi: int | None, kind: str, label: str, facts: tuple = ()
    ) -> int:
        merged: dict[int, int] = {}
        for c, a in terms:
            j = self.var(c)
            merged[j] = merged.get(j, 0) + a
        t = [(j, a) for j, a in merged.items() if a != 0]
        k = len(self.cons)
        self.cons.append(Constraint(t, lo, hi, kind, label, facts))
        for j, _ in t:
            self.of[j].append(k)
        return k

    def question(self, v: str) -> Question | None:
        return self.st.get(v)

    def expand(self) -> None:
        """Add the questionnaire's structure for every cell, until no new cell appears."""
        while self._queue:
            c = self._queue.popleft()
            for atom in c:
                self._structure(c, atom)

    def _structure(self, c: CellKey, atom: Atom) -> None:
        v, o = atom
        parent = tuple(a for a in c if a != atom)
        if (parent, v) in self._expanded and o in (ANS, NA):
            return
        q = self.question(v)
        answered, missing = cell(*parent, (v, ANS)), cell(*parent, (v, NA))
        if (parent, v) not in self._expanded:
            self._expanded.add((parent, v))
            # everyone in the parent cell answered v or did not
            self.add(
                [(parent, 1), (answered, -1), (missing, -1)],
                0,
                0,
                "structure",
                f"{describe(parent)} = those who answered {v} + those who did not",
            )
            if q is not None and q.partitions and q.options:
                self.add(
                    [(answered, 1)] + [(cell(*parent, (v, x)), -1) for x in q.options],
                    0,
                    0,
                    "structure",
                    f"the options of {v} partition those who answered it",
                )
        if o in (ANS, NA):
            return
        parts = derived_parts(q, o)
        if parts:
            self.add(
                [(c, 1)] + [(cell(*parent, (v, p)), -1) for p in parts],
                0,
                0,
                "structure",
                f"{v}={o} is " + " + ".join(parts),
            )
        if q is None or not q.partitions:
            # a multiple-choice option (or an option of an unknown question) is within those who answered
            self.add([(answered, 1), (c, -1)], 0, None, "structure", f"{v}={o} is among those who answered {v}")

    # ------------------------------------------------------------------------- propagation
    def _set(self, j: int, lo: int | None, hi: int | None, why: int) -> bool:
        # A cell whose bounds crossed is recorded once and left as it is: contradictory facts
        # would otherwise push its bounds (and its neighbours') apart without end.
        if j in self.conflicted:
            return False
        changed = False
        if lo is not None and lo > self.lo[j]:
            self.lo[j] = lo
            self.why_lo[j] = why
            changed = True
        if hi is not None and (self.hi[j] is None or hi < self.hi[j]):
            self.hi[j] = hi
            self.why_hi[j] = why
            changed = True
        if changed and self.hi[j] is not None and self.lo[j] > self.hi[j]:
            self.conflicts.append(
                f"{describe(self.cells[j])}: bounds {self.lo[j]} > {self.hi[j]} (constraint: {self.cons[why].label})"
            )
            self.hi[j] = None if self.hi[j] is None else max(self.hi[j], self.lo[j])
            self.conflicted.add(j)
        return changed

    def propagate(self, max_steps: int = 5_000_000) -> None:
        queue = deque(range(len(self.cons)))
        queued = [True] * len(self.cons)
        steps = 0
        lo, hi = self.lo, self.hi
        while queue and steps < max_steps:
            k = queue.popleft()
            queued[k] = False
            steps += 1
            con = self.cons[k]
            terms = con.terms
            touched: list[int] = []
            if con.hi is not None:
                # Σ a x <= U: each a_j x_j <= U - Σ_{i≠j} min(a_i x_i)
                tot, inf = 0, 0
                mins = []
                for j, a in terms:
                    m = a * lo[j] if a > 0 else (None if hi[j] is None else a * hi[j])
                    mins.append(m)
                    if m is None:
                        inf += 1
                    else:
                        tot += m
                if inf <= 1:
                    for (j, a), m in zip(terms, mins):
                        if m is None:
                            rest = tot
                        elif inf:
                            continue
                        else:
                            rest = tot - m
                        res = con.hi - rest
                        if a > 0:
                            if self._set(j, None, res // a, k):
                                touched.append(j)
                        else:
                            if self._set(j, -((-res) // a), None, k):
                                touched.append(j)
            if con.lo is not None:
                # Σ a x >= L: each a_j x_j >= L - Σ_{i≠j} max(a_i x_i)
                tot, inf = 0, 0
                maxs = []
                for j, a in terms:
                    m = (None if hi[j] is None else a * hi[j]) if a > 0 else a * lo[j]
                    maxs.append(m)
                    if m is None:
                        inf += 1
                    else:
                        tot += m
                if inf <= 1:
                    for (j, a), m in zip(terms, maxs):
                        if m is None:
                            rest = tot
                        elif inf:
                            continue
                        else:
                            rest = tot - m
                        res = con.lo - rest
                        if a > 0:
                            if self._set(j, -((-res) // a), None, k):
                                touched.append(j)
                        else:
                            if self._set(j, None, res // a, k):
                                touched.append(j)
            for j in touched:
                for k2 in self.of[j]:
                    if not queued[k2] and k2 != k:
                        queued[k2] = True
                        queue.append(k2)

    def fixed(self, c: CellKey) -> int | None:
        j = self.index.get(c)
        if j is None or self.hi[j] is None or self.lo[j] != self.hi[j]:
            return None
        return self.lo[j]

    # ------------------------------------------------------------------------------- proofs
    def support(self, j: int, limit: int = 4000) -> tuple[set[int], set[int]]:
        """Constraints (and cells) behind both bounds of cell j, transitively."""
        seen_c: set[int] = set()
        seen_b: set[tuple[int, str]] = set()
        stack = [(j, "lo"), (j, "hi")]
        while stack and len(seen_c) < limit:
            i, side = stack.pop()
            if (i, side) in seen_b:
                continue
            seen_b.add((i, side))
            k = self.why_lo[i] if side == "lo" else self.why_hi[i]
            if k is None or k in seen_c:
                continue
            seen_c.add(k)
            con = self.cons[k]
            a_j = next(a for x, a in con.terms if x == i)
            # Which side of the constraint produced this bound: lower bound of x with a>0 comes from
            # the ">= L" side (uses the others' maxima), etc.
            from_ge = (side == "lo") == (a_j > 0)
            for x, a in con.terms:
                if x == i:
                    continue
                if from_ge:
                    stack.append((x, "hi" if a > 0 else "lo"))
                else:
                    stack.append((x, "lo" if a > 0 else "hi"))
        return seen_c, {i for i, _ in seen_b}

    def equation(self, j: int) -> str:
        """The last step: the constraint that pinned cell j, solved for it, with the values."""
        ks = [k for k in (self.why_lo[j], self.why_hi[j]) if k is not None]
        if not ks:
            return "(no constraint)"
        k = ks[-1]
        con = self.cons[k]
        a_j = next(a for x, a in con.terms if x == j)
        others = [(x, a) for x, a in con.terms if x != j]
        name = f"k[{describe(self.cells[j])}]"

        def val(x: int) -> str:
            return (
                str(self.lo[x])
                if self.hi[x] == self.lo[x]
                else f"[{self.lo[x]}, {self.hi[x] if self.hi[x] is not None else '∞'}]"
            )

        if (
            con.kind == "structure"
            and con.lo == 0
            and con.hi == 0
            and abs(a_j) == 1
            and all(abs(a) == 1 for _, a in others)
        ):
            # x = Σ ± others
            sign = -a_j
            pieces = []
            for x, a in others:
                s = a * sign
                pieces.append(("+ " if s > 0 else "− ") + f"k[{describe(self.cells[x])}]={val(x)}")
            text = " ".join(pieces).lstrip("+ ")
            return f"{name} = {text} = {self.lo[j]}   ({con.label})"
        return f"{name} = {self.lo[j]} from: {con.label}"


# --------------------------------------------------------------------------- fact → constraints


def _int_text(text: str) -> int | None:
    t = text.replace(",", "").replace("\xa0", "").strip()
    return int(t) if t.isdigit() else None


def _scaled(text: str) -> tuple[int, int] | None:
    """A printed decimal as (integer P, decimals d): "43.33" -> (4333, 2)."""
    t = text.replace(",", "").replace("%", "").strip()
    if not t or t.startswith("-"):
        return None
    if "." in t:
        a, b = t.split(".", 1)
        if not (a.isdigit() and b.isdigit()):
            return None
        return int(a + b), len(b)
    return (int(t), 0) if t.isdigit() else None


def fact_cells(r) -> tuple[CellKey, CellKey] | None:
    """(cell, base cell) a fact row speaks about."""
    q, o, by, lv = r.question, r.option, r.by, r.level
    if not q or (by and by == q):
        return None
    pre = ((by, lv),) if by else ()
    if o:
        return cell(*pre, (q, o)), cell(*pre, (q, ANS))
    return cell(*pre), cell(*pre, (q, ANS))


def table_of(r) -> str:
    return f"{r.by}={r.level}" if r.by else "overall"


def build(
    facts: pd.DataFrame, structure: Structure, release: Release | None = None, root_count: int | None = None
) -> Engine:
    e = Engine(structure)
    use = facts[facts.stat.isin(["pct", "count", "n", "mean"]) & facts.text.notna()]
    use = use.drop_duplicates(subset=["key", "text"])
    for r in use.itertuples(index=False):
        cells = fact_cells(r)
        if cells is None:
            continue
        c, base = cells
        fact = ((r.key, r.text, r.file, table_of(r)),)
        label = f"{r.key} = {r.text} ({r.file})"
        if r.stat == "count" and r.option:
            v = _int_text(r.text)
            if v is not None:
                e.add([(c, 1)], v, v, "fact", label, fact)
        elif r.stat == "n" and not r.option:
            v = _int_text(r.text)
            if v is not None:
                e.add([(base, 1)], v, v, "fact", label, fact)
        elif r.stat == "pct" and r.option:
            s = _scaled(r.text)
            if s is None:
                continue
            P, d = s
            A = 200 * 10**d
            e.add([(c, A), (base, -(2 * P - 1))], 0, None, "fact", label, fact)
            e.add([(c, A), (base, -(2 * P + 1))], None, 0, "fact", label, fact)
        elif r.stat == "mean" and not r.option:
            s = _scaled(r.text)
            q = structure.get(r.question)
            if s is None or q is None or q.type != "scale":
                continue
            M, d = s
            pre = ((r.by, r.level),) if r.by else ()
            terms = [(cell(*pre, (r.question, o)), 2 * 10**d * int(o[1:])) for o in q.options]
            e.add(terms + [(base, -(2 * M - 1))], 0, None, "fact", label, fact)
            e.add(terms + [(base, -(2 * M + 1))], None, 0, "fact", label, fact)
    if root_count is not None:
        e.add(
            [((), 1)],
            root_count,
            root_count,
            "fact",
            f"respondents analysed = {root_count}",
            (("flow.analysed", str(root_count), "", "overall"),),
        )
    e.expand()
    if release is not None:
        add_release(e, release, complete=root_count is not None and len(release) == root_count)
        e.expand()
    e.propagate()
    return e


# ------------------------------------------------------------------------------- the release


class ReleaseView:
    """Certain / possible membership of every release record in an atom."""

    def __init__(self, rel: Release, st: Structure) -> None:
        self.rel, self.st = rel, st
        self.n = len(rel)
        self._sets: dict[str, list] = {}
        self._cache: dict = {}
        self._multi: dict[str, list[str]] = {}
        cols = set(rel.frame.columns)
        for c in cols:
            if "__" in c and not c.endswith("__code"):
                q, o = c.split("__", 1)
                self._multi.setdefault(q, []).append(o)

    def has(self, v: str) -> bool:
        return v in self.rel.frame.columns or v in self._multi

    def _values(self, v: str) -> list:
        if v not in self._sets:
            q = self.st.get(v)
            vals = self.rel.value_sets(v)
            if q is not None and q.type == "scale":
                vals = [None if s is None else frozenset(f"v{x}" for x in s) for s in vals]
            self._sets[v] = vals
        return self._sets[v]

    def atom(self, v: str, o: str | frozenset) -> tuple[np.ndarray, np.ndarray] | None:
        key = (v, o)
        if key not in self._cache:
            self._cache[key] = self._atom(v, o)
        return self._cache[key]

    def _atom(self, v: str, o: str | frozenset) -> tuple[np.ndarray, np.ndarray] | None:
        df = self.rel.frame
        if v in self._multi and v not in df.columns:
            cols = [f"{v}__{x}" for x in self._multi[v]]
            answered = df[cols].notna().any(axis=1).to_numpy()
            # a question asked because of a protected answer left blank: the release blanks it too
            # (so that the blank reads as a question skipped), so its blank may hide an answer
            wild = ~answered & (np.ones(self.n, bool) if v in self.rel.protected else self.follows_blank(v))
            if o == ANS:
                return answered, answered | wild
            if o == NA:
                return ~answered & ~wild, ~answered
            if isinstance(o, frozenset) or f"{v}__{o}" not in df.columns:
                return None
            sel = (df[f"{v}__{o}"] == "true").to_numpy()
            return sel, sel | wild
        if v not in df.columns:
            return None
        vals = self._values(v)
        blank = np.array([s is None for s in vals])
        # a blank that may hide anything: in a protected variable, or in one asked because of a
        # protected answer the record has blank (the release blanks those answers too)
        hides = blank if v in self.rel.protected else blank & self.follows_blank(v)
        if o == ANS:
            return ~blank, ~blank | hides
        if o == NA:
            return blank & ~hides, blank
        q = self.st.get(v)
        g = o if isinstance(o, frozenset) else frozenset(derived_parts(q, o) or [o])
        certain = np.array([s is not None and s <= g for s in vals])
        possible = np.array([s is not None and bool(s & g) for s in vals]) | hides
        return certain, possible

    def follows_blank(self, v: str) -> np.ndarray:
        """Per record: v is asked because of a protected question (or of one asked because of
        it) that the record has blank."""
        df = self.rel.frame
        if v in self.rel.crossed:  # blanked beside any protective blank of the record
            prot = [c for c in self.rel.protected if c in df.columns]
            # a protected multiple-choice question is blanked whole: its first option column
            prot += [
                f"{c}__{self._multi[c][0]}" for c in self.rel.protected if c in self._multi and c not in df.columns
            ]
            prot = [c for c in prot if c in df.columns]
            if prot:
                return df[prot].isna().any(axis=1).to_numpy() | self._follows_parent(v)
        return self._follows_parent(v)

    def _follows_parent(self, v: str) -> np.ndarray:
        q = self.st.get(v)
        parent = q.asked_if if q is not None else None
        df = self.rel.frame
        if parent is None:
            return np.zeros(self.n, bool)
        if parent in df.columns:
            blank = df[parent].isna().to_numpy()
            if parent in self.rel.protected:
                return blank
            return blank & self.follows_blank(parent)
        if parent in self._multi:
            cols = [f"{parent}__{x}" for x in self._multi[parent]]
            blank = ~df[cols].notna().any(axis=1).to_numpy()
            return blank if parent in self.rel.protected else blank & self.follows_blank(parent)
        return np.zeros(self.n, bool)

    def bounds(self, atoms: list[tuple[str, str | frozenset]]) -> tuple[int, int] | None:
        c = np.ones(self.n, bool)
        p = np.ones(self.n, bool)
        for v, o in atoms:
            r = self.atom(v, o)
            if r is None:
                return None
            c &= r[0]
            p &= r[1]
        return int(c.sum()), int(p.sum())


def add_release(e: Engine, rel: Release, complete: bool) -> None:
    view = ReleaseView(rel, e.st)
    done: set[frozenset] = set()
    for c in list(e.cells):
        if not c or not all(view.has(v) for v, _ in c):
            continue
        b = view.bounds(list(c))
        if b is None:
            continue
        lo, hi = b
        e.add(
            [(c, 1)],
            lo,
            hi if complete else None,
            "release",
            f"release {rel.file}: {describe(c)} in [{lo}, {hi}]",
            (("release", f"{lo}..{hi}", rel.file, "release"),),
        )
        # unions over the parts of the merged categories the cell's values fall in
        prot = [
            (i, v, o)
            for i, (v, o) in enumerate(c)
            if o not in (ANS, NA) and v in rel.merges and any(o in g for g in rel.merges[v])
        ]
        for mask in range(1, 1 << len(prot)):
            chosen = [prot[i] for i in range(len(prot)) if mask >> i & 1]
            choices = []
            for _, v, o in chosen:
                g = next(g for g in rel.merges[v] if o in g)
                choices.append(sorted(g))
            members = []
            for combo in product(*choices):
                atoms = list(c)
                for (i, v, _), val in zip(chosen, combo):
                    atoms[i] = (v, val)
                members.append(cell(*atoms))
            key = frozenset(members)
            if key in done or not all(m in e.index for m in members):
                continue
            done.add(key)
            atoms = list(c)
            for i, v, o in chosen:
                atoms[i] = (v, next(g for g in rel.merges[v] if o in g))
            b = view.bounds(atoms)
            if b is None:
                continue
            lo, hi = b
            names = " + ".join(f"k[{describe(m)}]" for m in members)
            e.add(
                [(m, 1) for m in members],
                lo,
                hi if complete else None,
                "release",
                f"release {rel.file}: {names} in [{lo}, {hi}] (merged category)",
                (("release", f"{lo}..{hi}", rel.file, "release"),),
            )


def release_only_bounds(rel: Release, st: Structure, c: CellKey) -> tuple[int, int] | None:
    return ReleaseView(rel, st).bounds(list(c)) if c else None


# ------------------------------------------------------------------------------- findings


def recoveries(e: Engine, min_cell: int, release: Release | None = None) -> list[Recovery]:
    """Every cell pinned to 0 < k < min_cell, with its proof."""
    view = ReleaseView(release, e.st) if release is not None else None
    out = []
    for j, c in enumerate(e.cells):
        if not c or e.hi[j] is None or e.lo[j] != e.hi[j] or not 0 < e.lo[j] < min_cell:
            continue
        if view is not None and all(view.has(v) for v, _ in c):
            b = view.bounds(list(c))
            if b is not None and b[0] == b[1] == e.lo[j]:
                continue  # the microdata show this cell as it is; k-anonymity governs that
        cons, _cells = e.support(j)
        facts = []
        tables = set()
        uses_release = False
        for k in sorted(cons):
            con = e.cons[k]
            if con.kind == "release":
                uses_release = True
                tables.add("release")
            for f in con.facts:
                if f[0] != "release":
                    facts.append((f[0], f[1], f[2]))
                    tables.add(f[3])
        facts = sorted(set(facts))
        last = [e.cons[k] for k in (e.why_lo[j], e.why_hi[j]) if k is not None]
        direct = all(x.kind == "fact" for x in last) and len({x.label for x in last}) == 1
        if direct and last[0].terms and len(last[0].terms) == 1:
            kind = "published"
        elif direct:
            kind = "share"
        elif len(tables - {"release"}) <= 1 and not uses_release:
            kind = "within"
        else:
            kind = "across"
        out.append(
            Recovery(c, e.lo[j], kind, uses_release, any(o == NA for _, o in c), e.equation(j), facts, sorted(tables))
        )
    return out


def suppressed_recovered(e: Engine, suppressed: list[dict]) -> list[dict]:
    """Cells a chart or table marks as suppressed whose count the attacker recovers anyway."""
    out, seen = [], set()
    for s in suppressed:
        pre = ((s["by"], s["level"]),) if s.get("by") else ()
        c = cell(*pre, (s["question"], s["option"]))
        if c in seen:
            continue
        seen.add(c)
        v = e.fixed(c)
        if v is not None:
            out.append({**s, "cell": describe(c), "value": v, "proof": e.equation(e.index[c])})
    return out


def true_count(c: CellKey, truth: pd.DataFrame, st: Structure) -> int | None:
    """The true count of a cell in the oracle (None when the oracle lacks a variable)."""
    mask = np.ones(len(truth), bool)
    for v, o in c:
        q = st.get(v)
        multi = [col for col in truth.columns if col.startswith(v + "__") and not col.endswith("__code")]
        if q is not None and q.type == "multi" or (v not in truth.columns and multi):
            if not multi:
                return None
            ans = truth[multi].notna().any(axis=1).to_numpy()
            if o == ANS:
                m = ans
            elif o == NA:
                m = ~ans
            else:
                parts = derived_parts(q, o) or [o]
                cols = [f"{v}__{p}" for p in parts]
                if not all(col in truth.columns for col in cols):
                    return None
                m = np.zeros(len(truth), bool)
                for col in cols:
                    m |= truth[col].fillna(False).astype(bool).to_numpy()
        else:
            if v not in truth.columns:
                return None
            col = truth[v]
            if o == ANS:
                m = col.notna().to_numpy()
            elif o == NA:
                m = col.isna().to_numpy()
            else:
                parts = derived_parts(q, o) or [o]
                if q is not None and q.type == "scale":
                    vals = [int(p[1:]) for p in parts]
                    m = col.isin(vals).fillna(False).to_numpy(dtype=bool)
                else:
                    m = col.astype("string").isin(parts).fillna(False).to_numpy(dtype=bool)
        mask &= m
    return int(mask.sum())
