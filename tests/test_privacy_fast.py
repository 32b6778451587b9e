"""The fast paths of the disclosure audit (rule ``protect_values``) give what their plain versions
(kept here as references) gave, on random respondents and releases and on hand-made edge cases.

The references are the implementations they replaced: a column's states read record by record
through ``Series.map`` (audit._single_values) and through a frame of the option columns
(audit._multi_values); the release read with ``astype(object).where(...)`` and a ``str.contains``
per column (inputs.release_view), one frozenset per record and text (ReleaseView.from_frame); the
release bounds counted record by record (audit.add_release); ``sparse.vstack`` for the solver's
extra row (audit._stacked); and every value worked out again at every call (publish._memo: the
weighted rule's answers per variable, a printed value's facts, a fact's constraints). The whole
decision procedure (publish.protect) is compared too, down to every integer program the solver is
given. Each check also fails on a planted fault (a ``fault`` parameter of the reference), so that
it cannot pass vacuously.

Size: a little above 600 lines, kept whole: the references are the replaced code, verbatim, and
each is read beside the check that compares against it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
from scipy import sparse

from belmig.core import codebook as codebook_mod, keys as K
from belmig.core.keys import multi_column
from belmig.core.ledger import Entry
from belmig.privacy import audit as A, inputs, publish
from belmig.privacy.audit import NA, Model, ReleaseView, Var, _groups, _true, variables

CB = codebook_mod.load()
SINGLES = ["sex", "income_regular", "municipality", "health_used"]
SCALES = ["security_by", "health_rating"]
MULTIS = ["support_needs", "health_problems"]


# ------------------------------------------------------------------------------ the references


def ref_single_values(responses: pd.DataFrame, var: Var, fault: bool = False) -> np.ndarray:
    s = responses[var.name]
    if all(x.startswith("v") for x in var.states) and pd.api.types.is_numeric_dtype(s.dtype):
        vals = s.astype("Int64").astype("object").map(lambda x: NA if pd.isna(x) else f"v{int(x)}")
    else:
        vals = s.astype("object").map(lambda x: NA if pd.isna(x) else str(x))
    out = vals.to_numpy(dtype=object)
    if fault and len(var.states) > 1:  # planted: the last option read as no answer
        out = out.copy()
        out[out == var.states[-1]] = NA
    return out


def ref_multi_values(responses: pd.DataFrame, var: Var, fault: bool = False):
    cols = [multi_column(var.name, o) for o in var.states]
    block = responses[cols]
    answered = block.notna().any(axis=1).to_numpy()
    chosen = {o: (block[c].fillna(False).astype(bool).to_numpy() & answered) for o, c in zip(var.states, cols)}
    if fault:  # planted: "answered" from the first option alone
        answered = block[cols[0]].notna().to_numpy()
    return answered, chosen


def ref_from_frame(cls, frame, cb, protected, crossed=(), fault: bool = False) -> ReleaseView:
    allv = variables(cb)
    prot = set(protected)
    parent = {q.id: q.universe.question for q in cb.questions if q.universe is not None}
    wild_rows: dict[str, list[bool]] = {}
    shown = [c for c in prot if c in frame.columns]
    shown += [multi_column(v, allv[v].states[0]) for v in prot if v in allv and allv[v].multi]
    shown = [c for c in shown if c in frame.columns]
    any_blank = frame[shown].isna().any(axis=1).tolist() if shown else [False] * len(frame)
    cross = set(crossed)

    def wild(v):
        if v not in wild_rows:
            p = parent.get(v)
            if p is None or p not in frame.columns or not (p in prot or p in parent):
                rows = [False] * len(frame)
            else:
                up = wild(p) if p not in prot else [True] * len(frame)
                rows = [bool(u and pd.isna(x)) for u, x in zip(up, frame[p].astype("object"))]
            wild_rows[v] = [a or (v in cross and b) for a, b in zip(rows, any_blank)]
        return wild_rows[v]

    sets = {}
    for v, var in allv.items():
        if var.multi:
            cols = [multi_column(v, o) for o in var.states]
            if not all(c in frame.columns for c in cols):
                continue
            block = frame[cols].astype("object")
            w = [True] * len(frame) if v in prot else wild(v)
            anything = frozenset(["0", "1", NA])
            for o, c in zip(var.states, cols):
                sets[f"{v}__{o}"] = [
                    (anything if wi else frozenset([NA])) if pd.isna(x) else frozenset(["1" if _true(x) else "0"])
                    for x, wi in zip(block[c], w)
                ]
            continue
        if v not in frame.columns:
            continue
        everything = frozenset((*var.states, NA))
        out = []
        w = wild(v)
        for x, wi in zip(frame[v].astype("object"), w):
            if x is None or (isinstance(x, float) and math.isnan(x)) or (not isinstance(x, str) and pd.isna(x)):
                out.append(everything if v in prot or wi else frozenset([NA]))
                continue
            sx = str(x)
            if sx.replace(".", "", 1).isdigit() and all(s.startswith("v") for s in var.states):
                sx = f"v{int(float(sx))}"
            out.append(frozenset(sx.split("+")))
        sets[v] = out
    if fault:  # planted: a merged category read as its first part only
        sets = {v: [frozenset([min(x)]) if len(x) == 2 else x for x in s] for v, s in sets.items()}
    return cls(sets=sets, protected=prot, n=len(frame))


def ref_add_release(m: Model, rv: ReleaseView, fault: bool = False) -> None:
    if rv.n != m.n:
        return
    for v in sorted(m.singles):
        var = m.vars[v]
        if var.multi:
            _ref_release_multi(m, rv, v, None, fault)
            continue
        s = rv.sets.get(v)
        if s is None:
            continue
        for g in _groups(s, var):
            lo = sum(1 for x in s if x <= g)
            hi = sum(1 for x in s if x & g) if not (fault and len(g) > 1) else lo  # planted: a merge read as exact
            e = {m.index[("U", v, st)]: 1.0 for st in g}
            m.add(e, lo, hi, f"release: records of {v} in {'+'.join(sorted(g))}", "release")
    for b, q in sorted(m.pairs):
        sb = rv.sets.get(b)
        if sb is None:
            continue
        vq = m.vars[q]
        gb = _groups(sb, m.vars[b])
        if vq.multi:
            _ref_release_multi(m, rv, q, (b, sb, gb), fault)
            continue
        sq = rv.sets.get(q)
        if sq is None:
            continue
        for g1 in gb:
            for g2 in _groups(sq, vq):
                lo = sum(1 for x, y in zip(sb, sq) if x <= g1 and y <= g2)
                hi = sum(1 for x, y in zip(sb, sq) if x & g1 and y & g2)
                e = {m.index[("X", b, q, r, c)]: 1.0 for r in g1 for c in g2}
                label = f"release: records of {b} in {'+'.join(sorted(g1))} and {q} in {'+'.join(sorted(g2))}"
                m.add(e, lo, hi, label, "release")


def _ref_release_multi(m: Model, rv: ReleaseView, q: str, by, fault: bool = False) -> None:
    var = m.vars[q]
    cols = {o: rv.sets.get(f"{q}__{o}") for o in var.states}
    if any(c is None for c in cols.values()):
        return
    answered = [any(NA not in cols[o][i] for o in var.states) for i in range(rv.n)]
    maybe = [any(cols[o][i] - {NA} for o in var.states) for i in range(rv.n)]
    one = frozenset(["1"])
    if by is None:
        m.add({m.index[("A", q)]: 1.0}, sum(answered), sum(maybe), f"release: answered {q}", "release")
        for o in var.states:
            lo = sum(1 for x in cols[o] if x == one)
            hi = sum(1 for x in cols[o] if "1" in x)
            m.add({m.index[("C", q, o)]: 1.0}, lo, hi, f"release: {q}={o}", "release")
        return
    b, sb, gb = by
    for g in gb:
        lo = sum(1 for x, a in zip(sb, answered) if x <= g and a)
        hi = sum(1 for x, a in zip(sb, maybe) if x & g and a)
        m.add({m.index[("XA", b, q, r)]: 1.0 for r in g}, lo, hi, f"release: {b} in {'+'.join(sorted(g))}, answered {q}", "release")  # fmt: skip
        for o in var.states:
            lo = sum(1 for x, y in zip(sb, cols[o]) if x <= g and y == one)
            hi = sum(1 for x, y in zip(sb, cols[o]) if x & g and "1" in y and not (fault and len(g) > 1))
            m.add({m.index[("XC", b, q, r, o)]: 1.0 for r in g}, lo, hi, f"release: {b} in {'+'.join(sorted(g))}, {q}={o}", "release")  # fmt: skip


def ref_stacked(a, row, fault: bool = False):
    out = sparse.vstack([a, row], format="csr")
    if fault and out.nnz:  # planted: the extra row's last coefficient dropped
        out = out.tolil()
        i = out.shape[0] - 1
        if out.rows[i]:
            out[i, out.rows[i][-1]] = 0
        out = out.tocsr()
        out.eliminate_zeros()
    return out


def ref_release_frame(rel: pd.DataFrame, fault: bool = False) -> pd.DataFrame:
    out = rel.astype(object).where(rel.notna(), None)
    if fault:  # planted: blanks as NaN, not None
        out = rel.astype(object)
    return out


def ref_merged_columns(rel: pd.DataFrame) -> set[str]:
    return {c for c in rel.columns if rel[c].dropna().astype(str).str.contains("+", regex=False).any()}


def no_memo(memo, key, make):
    return make()


# ------------------------------------------------------------------------------ random respondents


def _people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Respondents of a few single, scale and multiple-choice questions (health_rating and
    health_problems asked of health_used = yes), with blanks; a few options made rare."""
    cols = {}
    for q in SINGLES:
        keys = list(CB[q].keys)
        p = rng.dirichlet(np.ones(len(keys)) * 0.7)
        vals = rng.choice(keys, size=n, p=p).astype(object)
        vals[rng.random(n) < 0.08] = None
        cols[q] = pd.Categorical(vals, categories=keys)
    used = np.asarray(cols["health_used"]) == "yes"
    for q in SCALES:
        vals = pd.array(rng.integers(1, 11, size=n), dtype="Int64")
        vals[rng.random(n) < 0.1] = pd.NA
        if q == "health_rating":
            vals[~used] = pd.NA
        cols[q] = vals
    for q in MULTIS:
        keys = list(CB[q].keys)
        blank = rng.random(n) < 0.12
        if q == "health_problems":
            blank |= ~used
        for o in keys:
            flag = pd.array(rng.random(n) < rng.uniform(0.02, 0.6), dtype="boolean")
            flag[blank | (rng.random(n) < 0.03)] = pd.NA  # some options left blank by who answered others
            cols[multi_column(q, o)] = flag
    return pd.DataFrame(cols)


def _release(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    """The respondents as a release writes them (text), with merged categories, protective
    blanks and the spellings of scales and flags a file may hold."""
    out = {}
    for q in SINGLES:
        vals = np.array(people[q].astype(object).where(people[q].notna(), None).tolist(), dtype=object)
        if q == "municipality":  # the release merges the small municipalities (and blanks some)
            small = ["kaunas_district", "siauliai_city", "vilnius_district", "other"][: int(rng.integers(2, 5))]
            vals[np.isin(vals, small)] = "+".join(sorted(small))
        vals[rng.random(len(vals)) < 0.05] = None
        out[q] = vals
    for q in SCALES:
        vals = [None if pd.isna(x) else (f"{x}.0" if rng.random() < 0.3 else str(x)) for x in people[q]]
        out[q] = vals
    for q in MULTIS:
        for o in CB[q].keys:
            c = multi_column(q, o)
            spell = rng.choice([("true", "false"), ("1", "0"), ("True", "False"), ("1.0", "0.0")])
            out[c] = [None if pd.isna(x) else spell[0] if x else spell[1] for x in people[c]]
    return pd.DataFrame(out, dtype=object)


def _write_release(tmp_path, rel: pd.DataFrame, rng: np.random.Generator):
    path = tmp_path / "microdata.csv"
    rel.to_csv(path, index=False)
    report = tmp_path / "kanonymity_report.csv"
    rows = ["step,variable,detail,rows_affected,violating_after"]
    if rng.random() < 0.7:
        rows.append("cross,support_needs__job,x,2,0")
    if rng.random() < 0.7:
        rows.append("diverse,income_regular,x,2,0")
    rows.append("suppress,sex,x,1,0")
    report.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, report


def _sets_equal(a: ReleaseView, b: ReleaseView) -> bool:
    return list(a.sets) == list(b.sets) and a.sets == b.sets and a.protected == b.protected and a.n == b.n


# ------------------------------------------------------------------------------ reading the answers


def _same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and [type(x) for x in a.tolist()] == [type(x) for x in b.tolist()] and a.tolist() == b.tolist()  # fmt: skip


def _single_cases(rng: np.random.Generator):
    """(frame, var): the codebook's questions as the responses hold them, and edge cases."""
    people = _people(rng, int(rng.integers(1, 60)))
    allv = variables(CB)
    for q in SINGLES + SCALES:
        yield people, allv[q]
    sex = allv["sex"]
    keys = list(sex.states)
    yield pd.DataFrame({"sex": pd.Categorical([None, None], categories=keys)}), sex  # nobody answered
    yield pd.DataFrame({"sex": pd.Categorical([], categories=keys)}), sex  # nobody at all
    yield pd.DataFrame({"sex": pd.Categorical(["male", None], categories=keys[::-1] + ["x"])}), sex  # other order
    yield pd.DataFrame({"sex": pd.Categorical([None, None], categories=[])}), sex  # no categories
    yield pd.DataFrame({"sex": pd.Categorical([1, 2, None])}), sex  # categories that are not texts
    yield pd.DataFrame({"sex": pd.Series(["male", None, "female"], dtype="str")}), sex
    yield pd.DataFrame({"sex": pd.Series(["male", None, np.nan, pd.NA, 3], dtype=object)}), sex
    yield pd.DataFrame({"security_by": pd.Series([1.0, np.nan, 10.0])}), allv["security_by"]
    yield pd.DataFrame({"security_by": pd.Categorical(["v1", None, "v3"])}), allv["security_by"]


def test_single_values_read_as_record_by_record():
    rng = np.random.default_rng(20261207)
    caught = 0
    for _ in range(30):
        for frame, var in _single_cases(rng):
            assert _same_array(A._single_values(frame, var), ref_single_values(frame, var)), (var.name, frame.dtypes)
            caught += not _same_array(A._single_values(frame, var), ref_single_values(frame, var, fault=True))
    assert caught  # the planted fault is seen
    # the same errors: a float that is not a scale point, a column that is not there
    frame = pd.DataFrame({"security_by": [1.5]})
    with pytest.raises(TypeError) as fast:
        A._single_values(frame, variables(CB)["security_by"])
    with pytest.raises(TypeError) as ref:
        ref_single_values(frame, variables(CB)["security_by"])
    assert str(fast.value) == str(ref.value)
    with pytest.raises(KeyError, match="sex"):
        A._single_values(pd.DataFrame({"age_group": ["x"]}), variables(CB)["sex"])


def _same_multi(a, b) -> bool:
    return _same_array(a[0], b[0]) and list(a[1]) == list(b[1]) and all(_same_array(a[1][o], b[1][o]) for o in a[1])


def test_multi_values_read_as_through_a_frame():
    rng = np.random.default_rng(7)
    allv = variables(CB)
    needs = allv["support_needs"]
    cols = [multi_column("support_needs", o) for o in needs.states]
    caught = 0
    for _ in range(40):
        people = _people(rng, int(rng.integers(1, 60)))
        cases = [(people, allv[q]) for q in MULTIS]
        obj = people[cols].astype(object)  # flags that are not nullable booleans: the plain reading
        cases.append((obj, needs))
        cases.append((people[cols[:1]], Var("support_needs", "multi", needs.states[:1])))  # one option
        cases.append((people, Var("support_needs", "multi", ())))  # none
        for frame, var in cases:
            assert _same_multi(A._multi_values(frame, var), ref_multi_values(frame, var))
            if var.states:
                caught += not _same_multi(A._multi_values(frame, var), ref_multi_values(frame, var, fault=True))
    assert caught
    dup = pd.concat([people[cols], people[cols[:1]]], axis=1)  # a column twice: read as before
    with pytest.raises(Exception) as fast:
        A._multi_values(dup, needs)
    with pytest.raises(Exception) as ref:
        ref_multi_values(dup, needs)
    assert type(fast.value) is type(ref.value) and str(fast.value) == str(ref.value)
    for missing in (people[cols[1:]], people.drop(columns=cols)):
        with pytest.raises(KeyError) as fast:
            A._multi_values(missing, needs)
        with pytest.raises(KeyError) as ref:
            ref_multi_values(missing, needs)
        assert str(fast.value) == str(ref.value)


# ------------------------------------------------------------------------------ the release


def test_the_release_is_read_as_before(tmp_path):
    rng = np.random.default_rng(11)
    prot = ["age_group", "sex", "municipality", "income_regular", "health_used"]
    caught = {"frame": 0, "view": 0}
    for i in range(12):
        people = _people(rng, int(rng.integers(5, 80)))
        rel = _release(rng, people)
        if i % 3 == 0:
            rel["sex"] = None  # a column left blank throughout
        path, report = _write_release(tmp_path, rel, rng)
        read = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        fast, ref = inputs._release_frame(read), ref_release_frame(read)
        assert fast.equals(ref) and list(fast.columns) == list(ref.columns) and fast.index.equals(ref.index)
        assert (fast.dtypes == ref.dtypes).all()
        assert [[type(x) for x in r] for r in fast.to_numpy().tolist()] == [[type(x) for x in r] for r in ref.to_numpy().tolist()]  # fmt: skip
        bad = ref_release_frame(read, fault=True)
        caught["frame"] += [[type(x) for x in r] for r in fast.to_numpy().tolist()] != [[type(x) for x in r] for r in bad.to_numpy().tolist()]  # fmt: skip
        assert {c for c, col in fast.items() if any(x is not None and "+" in str(x) for x in col.tolist())} == (
            ref_merged_columns(ref)
        )
        got = inputs.release_view(path, CB, prot, report=report)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(inputs, "_release_frame", ref_release_frame)
            mp.setattr(A.ReleaseView, "from_frame", classmethod(ref_from_frame))
            want = inputs.release_view(path, CB, prot, report=report)
            mp.setattr(A.ReleaseView, "from_frame", classmethod(lambda *a, **k: ref_from_frame(*a, **k, fault=True)))
            caught["view"] += not _sets_equal(got, inputs.release_view(path, CB, prot, report=report))
        assert _sets_equal(got, want)
    assert all(caught.values()), caught


def test_a_release_frame_of_any_values_is_read_as_before():
    """from_frame on frames as a caller may give them: numbers, booleans and every kind of blank."""
    rng = np.random.default_rng(3)
    odd = [None, np.nan, pd.NA, float("nan"), 3, 3.0, "3", "3.0", "10", True, False, "true", "1", 1, 0, "0.0",
           "male", "male+other", "", " ", "v4", "kaunas_city+kaunas_district", 2.5]  # fmt: skip
    cols = ["sex", "municipality", "security_by", "health_used", "health_rating", "income_regular"]
    cols += [multi_column(q, o) for q in MULTIS for o in CB[q].keys]
    caught = 0
    for _ in range(40):
        n = int(rng.integers(0, 30))
        frame = pd.DataFrame({c: pd.Series([odd[j] for j in rng.integers(0, len(odd), n)], dtype=object) for c in cols})
        prot = set(rng.choice(["sex", "municipality", "health_used", "support_needs", "x"], size=2))
        crossed = set(rng.choice(["health_rating", "support_needs", "health_problems"], size=1))
        got = ReleaseView.from_frame(frame, CB, prot, crossed)
        assert _sets_equal(got, ref_from_frame(ReleaseView, frame, CB, prot, crossed))
        caught += not _sets_equal(got, ref_from_frame(ReleaseView, frame, CB, prot, crossed, fault=True))
    assert caught


def _cons(m: Model) -> list[tuple]:
    return [(c.terms, c.lo, type(c.lo), c.hi, type(c.hi), c.label, c.group) for c in m.cons]


def test_the_release_bounds_are_counted_as_before():
    rng = np.random.default_rng(5)
    pairs = [("sex", "income_regular"), ("municipality", "support_needs"), ("health_used", "health_problems"),
             ("municipality", "security_by"), ("sex", "health_problems")]  # fmt: skip
    singles = SINGLES + SCALES + MULTIS
    caught = 0
    for i in range(15):
        people = _people(rng, int(rng.integers(5, 80)))
        rel = _release(rng, people)
        rv = ReleaseView.from_frame(rel, CB, {"municipality", "sex"} if i % 2 else {"health_used"}, {"support_needs"})
        fast, ref, bad = (A.build_model(people, CB, singles, pairs) for _ in range(3))
        A.add_release(fast, rv)
        ref_add_release(ref, rv)
        ref_add_release(bad, rv, fault=True)
        assert _cons(fast) == _cons(ref)
        caught += _cons(fast) != _cons(bad)
    assert caught
    short = ReleaseView(sets=dict(rv.sets), protected=set(), n=rv.n + 1)  # not every respondent: no bounds
    m = A.build_model(people, CB, singles, pairs)
    before = _cons(m)
    A.add_release(m, short)
    assert _cons(m) == before


# ------------------------------------------------------------------------------ the solver's matrix


def _csr_parts(x) -> tuple:
    x = sparse.csr_matrix(x)
    c = sparse.csc_array(x)  # what milp hands HiGHS
    return (x.shape, x.dtype, x.indptr.tolist(), x.indices.tolist(), x.data.tolist(),
            c.indptr.tolist(), c.indices.tolist(), c.data.tolist())  # fmt: skip


def test_the_extra_row_is_stacked_as_vstack():
    rng = np.random.default_rng(9)
    caught = 0
    for _ in range(200):
        nr, nv = int(rng.integers(0, 12)), int(rng.integers(1, 15))
        dense = rng.integers(-2, 3, size=(nr, nv)) * (rng.random((nr, nv)) < 0.3)
        kind = rng.choice(["float", "int", "explicit zero"])
        a = sparse.csr_matrix(dense.astype(float if kind != "int" else np.int64))
        if kind == "explicit zero" and a.nnz:
            a.data[0] = 0.0  # kept as an entry
        keys = rng.choice(nv, size=int(rng.integers(0, nv + 1)), replace=False).tolist()
        coef = [float(rng.integers(-3, 4)) if kind != "int" else int(rng.integers(-3, 4)) for _ in keys]
        row = sparse.csr_matrix((coef, ([0] * len(keys), keys)), shape=(1, nv))
        assert _csr_parts(A._stacked(a, row)) == _csr_parts(ref_stacked(a, row))
        caught += _csr_parts(A._stacked(a, row)) != _csr_parts(ref_stacked(a, row, fault=True))
    assert caught


# ------------------------------------------------------------------------------ the whole decision


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.2f}"


def _entries_and_keys(people: pd.DataFrame, rng: np.random.Generator):
    """Ledger values of the respondents (shares, bases, subgroup shares, means, weighted shares)."""
    allv = variables(CB)
    texts: dict[str, str] = {}
    vals = {q: ref_single_values(people, allv[q]) for q in SINGLES + SCALES}
    for q in SINGLES:
        ans = vals[q] != NA
        if ans.sum():
            texts[K.n(q)] = str(int(ans.sum()))
            for o in allv[q].states:
                texts[K.pct(q, o)] = _pct(int((vals[q] == o).sum()), int(ans.sum()))
    for q in MULTIS:
        answered, chosen = ref_multi_values(people, allv[q])
        if answered.sum():
            texts[K.n(q)] = str(int(answered.sum()))
            for o in allv[q].states:
                texts[K.pct(q, o)] = _pct(int(chosen[o].sum()), int(answered.sum()))
                texts[K.wpct(q, o)] = _pct(int(chosen[o].sum()), int(answered.sum()))
    for q in SCALES:
        ans = vals[q] != NA
        if ans.sum():
            texts[K.n(q)] = str(int(ans.sum()))
            texts[K.mean(q)] = f"{np.mean([int(x[1:]) for x in vals[q][ans]]):.2f}"
    for lv in allv["sex"].states:
        base = (vals["sex"] == lv) & (vals["income_regular"] != NA)
        if base.sum():
            texts[K.nby("sex", lv, "income_regular")] = str(int(base.sum()))
            texts[K.pctby("sex", lv, "income_regular", "yes")] = _pct(
                int((base & (vals["income_regular"] == "yes")).sum()), int(base.sum())
            )
    for o in allv["income_regular"].states:
        texts[K.wpct("income_regular", o)] = texts.get(K.pct("income_regular", o), "50.00")
        texts[K.wci("income_regular", o)] = "40.00"
    entries = {k: Entry(k, float(v), v, "pct", "estimate", "05_estimate", "x") for k, v in texts.items()}
    keys = [k for k in texts if K.family(k) != "n"]
    rng.shuffle(keys)
    return entries, keys[: int(len(keys) * 0.8)], keys[int(len(keys) * 0.8) :]


def _protect(people, entries, text_keys, table_keys, rv, weights, blanked, fixed):
    """publish.protect's decisions, or its error, and every integer program it had solved."""
    calls = []
    real = scipy.optimize.milp

    def recording(c, constraints, integrality, bounds, options):
        calls.append((np.asarray(c).tolist(), _csr_parts(constraints.A),
                      np.asarray(constraints.lb).tolist(), np.asarray(constraints.ub).tolist(),
                      np.asarray(integrality).tolist(), np.asarray(bounds.lb).tolist(), np.asarray(bounds.ub).tolist(),
                      options))  # fmt: skip
        return real(c=c, constraints=constraints, integrality=integrality, bounds=bounds, options=options)

    reqs = publish.requests_for_report(text_keys, table_keys, entries)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scipy.optimize, "milp", recording)
        try:
            pub = publish.protect(
                entries, reqs, people, CB, 5, release=rv, weights=weights, blanked=blanked, fixed=fixed
            )
            out = pub.to_json()
        except publish.DisclosureError as e:
            out = f"DisclosureError: {e}"
    return out, calls


def _reference(mp: pytest.MonkeyPatch, fault: bool = False) -> None:
    mp.setattr(A, "_single_values", ref_single_values)
    mp.setattr(A, "_multi_values", ref_multi_values)
    mp.setattr(A, "add_release", lambda m, rv: ref_add_release(m, rv, fault=fault))
    mp.setattr(A, "_stacked", ref_stacked)
    mp.setattr(publish, "_memo", no_memo)


def _compare(people, entries, text_keys, table_keys, rel, weights=None, blanked=(), fixed=()) -> bool:
    """Asserts that protect decides as the plain implementation; whether the planted fault shows."""
    args = (weights, set(blanked), list(fixed))
    rv = ReleaseView.from_frame(rel, CB, {"municipality"}, {"support_needs"}) if rel is not None else None
    got = _protect(people, entries, text_keys, table_keys, rv, *args)
    with pytest.MonkeyPatch.context() as mp:
        _reference(mp)
        rv = ref_from_frame(ReleaseView, rel, CB, {"municipality"}, {"support_needs"}) if rel is not None else None
        want = _protect(people, entries, text_keys, table_keys, rv, *args)
        _reference(mp, fault=True)
        bad = _protect(people, entries, text_keys, table_keys, rv, *args) if rv is not None else got
    assert got[1], "no program was solved: the comparison would say nothing"
    assert got[0] == want[0]
    assert got[1] == want[1]
    return got != bad


def test_protect_decides_as_the_plain_implementation():
    """The decisions, the texts, the errors and every program handed to the solver (matrix,
    bounds, objective, options, in order) are those of the plain implementation: on random
    respondents (some of their releases stop the build: the error is compared then) and on
    test_disclosure's hand-made ones, where a share is rounded to whole percent."""
    rng = np.random.default_rng(2026)
    caught = 0
    for i in range(8):
        people = _people(rng, int(rng.integers(25, 90)))
        entries, text_keys, table_keys = _entries_and_keys(people, rng)
        weights = {"wpct": ("municipality", {s: float(rng.uniform(0.5, 3)) for s in CB["municipality"].keys})}
        fixed = [] if i % 2 else publish.key_facts(K.n("sex"), entries[K.n("sex")].text, fixed=True, where="chart")
        rel = _release(rng, people) if i != 1 else None
        caught += _compare(people, entries, text_keys, table_keys, rel, weights, ["income_regular"] * (i % 2), fixed)
    assert caught
    rows = [("female", "yes", 103), ("female", "no", 67), ("male", "yes", 100), ("male", "no", 23),
            ("other", "yes", 2), ("female", None, 26), ("male", None, 14)]  # fmt: skip
    people = pd.DataFrame([{"sex": s, "income_regular": v} for s, v, n in rows for _ in range(n)])
    for q in ("sex", "income_regular"):
        people[q] = pd.Categorical(people[q], categories=CB[q].keys)
    texts = {"n.sex": "335", "n.income_regular": "295", "pctby.sex.female.income_regular.no": "39.41",
             "pctby.sex.male.income_regular.no": "18.70", "nby.sex.female.income_regular": "170",
             "nby.sex.male.income_regular": "123"}  # fmt: skip
    entries = {k: Entry(k, float(v), v, "pct", "estimate", "05_estimate", "x") for k, v in texts.items()}
    keys = ["n.sex", "n.income_regular", "pctby.sex.female.income_regular.no", "pctby.sex.male.income_regular.no"]
    _compare(people, entries, keys, [], None)
    out, _ = _protect(people, entries, keys, [], None, None, set(), [])
    assert out["decisions"]["pctby.sex.male.income_regular.no"]["text"] == "19"  # the rounding was taken


def test_the_weighted_rule_reads_each_variable_once_with_the_same_answers(monkeypatch):
    rng = np.random.default_rng(17)
    keys = [K.wpct("income_regular", "yes"), K.wci("income_regular", "no"), K.wpct("support_needs", "job"),
            K.wpct("sex", "other"), K.wmean("security_by"), K.wpct("municipality", "other"), "wpct.nosuch.x"]  # fmt: skip
    monkeypatch.setattr(publish, "_BLANKED", set())
    caught = 0
    for _ in range(10):
        people = _people(rng, int(rng.integers(3, 60)))
        w = {s: float(rng.choice([1.0, 2.0, 2.5])) for s in CB["municipality"].keys}
        monkeypatch.setattr(publish, "_WEIGHTS", {"wpct": ("municipality", w)})
        memo: dict = {}
        got = [publish.weighted_primary(k, people, CB, 5, memo) for k in keys * 2]  # the second time from memo
        assert got == [publish.weighted_primary(k, people, CB, 5) for k in keys * 2]
        assert ("single", "municipality") in memo and ("multi", "support_needs") in memo
        # planted: a memo that mixed up its keys (income_regular read as support_needs' answers)
        memo[("single", "income_regular")] = np.where(memo[("multi", "support_needs")][1]["job"], "yes", "no")
        caught += [publish.weighted_primary(k, people, CB, 5, memo) for k in keys] != got[: len(keys)]
    assert caught
    assert publish._memo({}, ["unhashable"], lambda: 3) == 3 and publish._memo(None, 1, lambda: 4) == 4


def test_the_cached_decisions_depend_on_every_module_that_decides(monkeypatch):
    """publish.digest covers the code that reads the release and the levels (inputs.py) as well
    as the audit and publish: an edit of any of them means the audit runs again."""
    from pathlib import Path

    from belmig.privacy import audit, inputs, publish

    read = []
    real = Path.read_bytes

    def spy(self):
        read.append(Path(self).resolve())
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    publish.digest({}, [], [], [], 5, [])
    assert {Path(m.__file__).resolve() for m in (audit, inputs, publish)} <= set(read)
