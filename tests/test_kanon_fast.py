"""The fast paths of the k-anonymisation and the release's diversity check give the decisions of
their plain versions (kept here as references) on random data.

The references are the implementations they replaced: the decoy search recounting every
candidate matrix at each blank (kanon._suppress), the per-byte popcount of the candidates
(_Problem.counts), ``astype("object").where(...)`` for a column's values (kanon._values) and one
pass over the candidates per distinct answer (microdata.diversify). Each check also fails on a
planted fault (a ``fault`` parameter of the reference), so that it cannot pass vacuously.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from belmig.privacy import kanon
from belmig.privacy.kanon import QuasiIdentifier
from belmig.release import microdata


def _reference_suppress(prob: kanon._Problem, combo: dict[str, int], fault: bool = False) -> dict[str, np.ndarray]:
    """The decoy search recounted from scratch at every blank (the former kanon._suppress)."""
    k = prob.k
    mats = {v: kanon._unpack_rows(prob.packed[v][combo[v]], prob.n) for v in prob.names}
    blanked = {v: np.zeros(prob.n, dtype=bool) for v in prob.names}
    blankable = {q.name: q.blankable and not prob.ladders[q.name][combo[q.name]].dropped for q in prob.vars}
    while True:
        deficits = []
        for ks in prob.key_sets:
            m = np.ones_like(mats[ks[0]])
            for v in ks:
                m &= mats[v]
            short = np.flatnonzero(m.sum(axis=1) < k)
            if short.size:
                deficits.append((ks, short))
        if not deficits:
            return blanked
        gain = {v: np.zeros(prob.n, dtype=np.int64) for v in prob.names}
        for ks, short in deficits:
            sub = {v: mats[v][short] for v in ks}
            for j in ks:
                if not blankable[j]:
                    continue
                others = np.ones((len(short), prob.n), dtype=bool)
                for v in ks:
                    if v != j:
                        others &= sub[v]
                gain[j] += (others & ~sub[j]).sum(axis=0)
        best = max(((int(g.max()), -prob.names.index(v), v) for v, g in gain.items() if g.size), default=None)
        if best is None or best[0] == 0:
            ks, short = deficits[0]
            raise RuntimeError(
                f"k_anonymize: no blank helps the {len(short)} target(s) short of k={k} on {', '.join(ks)}"
            )
        v = best[2]
        r = int(np.argmax(gain[v]))
        if fault:  # planted: the last record with the largest gain instead of the first
            r = int(len(gain[v]) - 1 - np.argmax(gain[v][::-1]))
        mats[v][:, r] = True
        blanked[v][r] = True


def _reference_counts(prob: kanon._Problem, combo: dict[str, int]) -> dict[tuple[str, ...], np.ndarray]:
    """Candidates per target row, from the unpacked matrices."""
    mats = {v: kanon._unpack_rows(prob.packed[v][combo[v]], prob.n) for v in prob.names}
    out = {}
    for ks in prob.key_sets:
        m = np.ones_like(mats[ks[0]])
        for v in ks:
            m &= mats[v]
        out[ks] = m.sum(axis=1)
    return out


def _random_problem(seed: int) -> tuple[kanon._Problem, list[dict[str, int]]]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 90))
    k = int(rng.integers(2, 6))
    specs = []
    for i in range(int(rng.integers(2, 5)) + int(rng.integers(0, 3))):
        cats = tuple(f"c{i}_{j}" for j in range(int(rng.integers(2, 6))))
        p = rng.dirichlet(np.ones(len(cats)))
        vals = rng.choice(np.array(cats, dtype=object), size=n, p=p)
        vals[rng.random(n) < rng.uniform(0, 0.15)] = None  # "no answer": every category for the attacker
        specs.append((f"v{i}", cats, vals))
    df = pd.DataFrame({name: pd.Categorical(vals, categories=cats) for name, cats, vals in specs})
    n_qi = max(2, len(specs) - int(rng.integers(0, 3)))
    qs = [
        QuasiIdentifier(
            name,
            cats,
            ordered=bool(rng.integers(0, 2)),
            pool=cats[-1],
            blankable=bool(rng.random() < 0.8),
            droppable=bool(rng.random() < 0.3),
        )
        for name, cats, _ in specs
    ]
    try:
        prob = kanon._Problem(df, qs[:n_qi], qs[n_qi:], k)
    except ValueError:  # a variable that cannot be released at k: draw again
        return _random_problem(seed + 1000)
    combos = [
        dict(zip(prob.names, idx)) for idx in itertools.product(*[range(len(prob.ladders[v])) for v in prob.names])
    ]
    order = rng.permutation(len(combos))[:12]
    return prob, [combos[i] for i in sorted(order)] + [combos[i] for i in order[:4]]  # in order, then not


def _outcome(f, *args):
    try:
        return f(*args)
    except RuntimeError as e:
        return str(e)


def _same_blanks(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a.keys() == b.keys() and all(np.array_equal(a[v], b[v]) for v in a)


@pytest.mark.parametrize("seed", range(12))
def test_decoy_search_makes_the_blanks_of_the_plain_search(seed):
    prob, combos = _random_problem(seed)
    for combo in combos:
        fast = _outcome(kanon._suppress, prob, combo)
        assert _same_blanks(fast, _outcome(_reference_suppress, prob, combo)), combo


def test_the_planted_fault_is_caught_somewhere():
    """Over the seeds above, breaking ties the other way changes some blanks."""
    caught = False
    for seed in range(12):
        prob, combos = _random_problem(seed)
        for c in combos:
            if not _same_blanks(_outcome(kanon._suppress, prob, c), _outcome(_reference_suppress, prob, c, True)):
                caught = True
    assert caught


@pytest.mark.parametrize("seed", range(6))
def test_counts_with_the_kept_quasi_identifiers_and_are_the_popcounts(seed):
    prob, combos = _random_problem(seed)
    for combo in combos:  # in the search's order and then out of it: the kept AND must follow
        got = prob.counts(combo)
        want = _reference_counts(prob, combo)
        assert got.keys() == want.keys()
        assert all(np.array_equal(got[ks], want[ks]) for ks in want), combo


def test_pack_rows_round_trip_and_popcount():
    rng = np.random.default_rng(3)
    for n in (1, 7, 8, 63, 64, 65, 200):
        m = rng.random((9, n)) < 0.4
        p = kanon._pack_rows(m)
        assert p.dtype == np.uint64
        assert np.array_equal(kanon._unpack_rows(p, n), m)
        assert np.array_equal(kanon._popcount_rows(p), m.sum(axis=1))


def _reference_values(df: pd.DataFrame, name: str) -> np.ndarray:
    return df[name].astype("object").where(df[name].notna(), None).to_numpy(dtype=object)


def test_values_are_those_of_astype_object():
    n = 10
    df = pd.DataFrame(
        {
            "obj": pd.Series(["a", None, np.nan, "b+c", pd.NA] * 2, dtype=object),
            "cat": pd.Categorical(["x", None, "y", "x", "z"] * 2),
            "cat_int": pd.Categorical([1, None, 2, 3, 3] * 2),
            "cat_empty": pd.Categorical([None] * n),
            "Int64": pd.array([1, None, 3, 4, 5] * 2, dtype="Int64"),
            "boolean": pd.array([True, None, False, True, True] * 2, dtype="boolean"),
            "str": pd.array(["a", None, "b", "c", "d"] * 2, dtype="str"),
            "float": [1.5, np.nan, 2.0, 3.0, 4.0] * 2,
            "int": np.arange(n),
            "date": pd.to_datetime(["2020-01-01", None, "2021-01-01", "2021-01-01", "2021-01-01"] * 2),
        }
    )
    for col in df.columns:
        got, want = kanon._values(df, col), _reference_values(df, col)
        assert got.dtype == object and len(got) == len(want)
        assert [type(x) for x in got] == [type(x) for x in want], col
        assert [x for x in got] == [x for x in want], col
        got[0] = "changed"  # a copy: the frame is not touched
        assert df[col].iloc[0] != "changed"


def _reference_diversify(frame, true, qis, extras, sensitive, fault: bool = False):
    """One pass over the candidates per distinct answer (the former microdata.diversify)."""
    n = len(frame)
    base = microdata._candidates(frame, true, qis)
    known = [e for e in extras if e in frame.columns and e in true]

    def sets():
        yield base
        for e in known:
            yield base & microdata._candidates(frame, true, [e])

    out = {}
    for q in sensitive:
        cols = microdata._columns_of(q, list(frame.columns))
        cols = [c for c in cols if not c.endswith("__code")] or cols
        if not cols:
            continue
        done = np.zeros(n, dtype=bool)
        while True:
            cover = np.zeros(n, dtype=np.int64)
            for m in sets():
                exposed = np.zeros(n, dtype=bool)
                for col in cols:
                    vals = frame[col].astype("string").fillna("").to_numpy(dtype=object)
                    blank = frame[col].isna().to_numpy()
                    any_blank = (m & blank[None, :]).any(axis=1)
                    for a in pd.unique(vals[~blank]):
                        differ = m & (vals != a)[None, :]
                        if fault:  # planted: a candidate's blank no longer hides anything
                            any_blank[:] = False
                            differ &= ~blank[None, :]
                        exposed |= ~any_blank & ~differ.any(axis=1) & m.any(axis=1)
                cover += m[exposed].sum(axis=0)
            cover[done] = 0
            if not cover.any():
                break
            r = np.zeros(n, dtype=bool)
            r[int(np.argmax(cover))] = True
            for col in microdata._columns_of(q, list(frame.columns)):
                microdata._blank(frame, col, r)
            done |= r
        if done.any():
            out[q] = done
    return out


def _random_release(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(15, 70))

    def pick(options, p_blank):
        v = rng.choice(np.array(options, dtype=object), size=n)
        v[rng.random(n) < p_blank] = None
        return v

    frame = pd.DataFrame(
        {
            "sex": pd.Series(pick(["female", "male+other"], 0.1), dtype=object),
            "age_group": pd.Series(pick(["a1", "a2", "a3+a4"], 0.1), dtype=object),
            "income_regular": pd.Series(pick(["yes", "no"], 0.2), dtype=object),
            "reasons_exit__political": pd.array(rng.random(n) < 0.8, dtype="boolean"),
            "reasons_exit__economic": pd.array(rng.random(n) < 0.2, dtype="boolean"),
            "reasons_exit__code": pick(["x", "y"], 0.5),
            "discrimination": pd.Categorical(pick(["no", "yes", "unsure"], 0.1)),
            "return_plans": pd.array(rng.integers(0, 2, size=n), dtype="Int64"),
        }
    )
    frame.loc[rng.random(n) < 0.1, ["reasons_exit__political", "reasons_exit__economic"]] = pd.NA
    true = {c: np.array([x.split("+")[0] if isinstance(x, str) else rng.choice(["a1", "female", "yes"]) for x in frame[c]], dtype=object)
            for c in ("sex", "age_group", "income_regular")}  # fmt: skip
    return frame, true


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(
    "sensitive",
    [
        ["reasons_exit", "discrimination", "return_plans"],
        # an extra identifier that is sensitive too: its blanks change its candidate matrix
        ["income_regular", "reasons_exit", "discrimination"],
    ],
)
def test_diversify_blanks_what_the_plain_version_blanks(seed, sensitive):
    frame, true = _random_release(seed)
    args = (true, ["sex", "age_group"], ["income_regular"], sensitive)
    fast_frame, ref_frame = frame.copy(), frame.copy()
    fast = microdata.diversify(fast_frame, *args)
    ref = _reference_diversify(ref_frame, *args)
    assert fast.keys() == ref.keys() and all(np.array_equal(fast[q], ref[q]) for q in ref)
    pd.testing.assert_frame_equal(fast_frame, ref_frame)


def test_diversify_s_planted_fault_is_caught_somewhere():
    args = (["sex", "age_group"], ["income_regular"], ["reasons_exit", "discrimination", "return_plans"])
    differs = False
    for seed in range(10):
        frame, true = _random_release(seed)
        fast = microdata.diversify(frame.copy(), true, *args)
        faulty = _reference_diversify(frame.copy(), true, *args, fault=True)
        differs |= fast.keys() != faulty.keys() or any(not np.array_equal(fast[q], faulty[q]) for q in fast)
    assert differs
