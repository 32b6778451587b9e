"""belmig.privacy.audit.Solver: the integer points it keeps answer only what the solver would.

A 2 x 2 table of integer cells a, b / c, d (n = 10) with its row and column sums published:
a + b = 3, c + d = 7, a + c = 4, b + d = 6. Each cell can be 0..3 (a), so no cell is pinned;
with a = 1 published too, every cell is. By hand: a in [0, 3], b = 3 - a, c = 4 - a, d = 3 + a.
"""

from __future__ import annotations

import math

import numpy as np

from belmig.privacy import audit as A


def _model(extra_fact: bool = False) -> tuple[A.Model, list[A.Constraint]]:
    m = A.Model(vars={}, n=10)
    for name, true in (("a", 1), ("b", 2), ("c", 3), ("d", 4)):
        m._new((name,), true)
    m.add({0: 1, 1: 1}, 3, 3, "row 1", "structure")
    m.add({2: 1, 3: 1}, 7, 7, "row 2", "structure")
    m.add({0: 1, 2: 1}, 4, 4, "col 1", "structure")
    m.add({1: 1, 3: 1}, 6, 6, "col 2", "structure")
    if extra_fact:
        m.add({0: 1}, 1, 1, "a published", "fact")
    return m, list(m.cons)


def test_the_kept_points_answer_as_the_solver_does(monkeypatch):
    m, cons = _model()
    s = A.Solver(m, cons)
    asked = [({0: 1.0}, 2, math.inf), ({0: 1.0}, -math.inf, 0), ({3: 1.0}, 7, math.inf), ({1: 1.0}, 4, math.inf)]
    answers = [s.feasible(*q) for q in asked]
    assert answers == [True, True, False, False]  # a = 2 or 3; a = 0; d <= 6; b <= 3
    kept = getattr(m, A.POINTS_ATTR)
    assert kept and all(s._satisfies(x) for x in kept)
    for x in kept:  # integer points of the table
        assert x.tolist() == [x[0], 3 - x[0], 4 - x[0], 3 + x[0]] and 0 <= x[0] <= 3
    with monkeypatch.context() as mp:  # c <= 2 is a >= 2: a kept point says so, no solver asked
        import scipy.optimize

        mp.setattr(scipy.optimize, "milp", lambda *a, **k: (_ for _ in ()).throw(AssertionError("solver asked")))
        assert s.feasible({2: 1.0}, -math.inf, 2) and s.feasible({1: 1.0, 2: 1.0}, -math.inf, 3)
    monkeypatch.setattr(A.Solver, "_known", lambda self, *a: False)
    assert [A.Solver(m, cons).feasible(*q) for q in asked] == answers  # the solver alone


def test_a_point_of_another_program_is_not_taken_for_one_of_this(monkeypatch):
    """Points found without the published a = 1 do not satisfy the program with it: the cells are
    pinned there, as the solver says (a planted fault: a check that accepted any kept point)."""
    m, cons = _model()
    free = A.Solver(m, cons)
    assert not free.pinned({0: 1.0}, 1)
    assert len(getattr(m, A.POINTS_ATTR)) >= 1
    m.add({0: 1}, 1, 1, "a published", "fact")
    pinned = A.Solver(m, list(m.cons))
    assert pinned.pinned({0: 1.0}, 1) and pinned.pinned({3: 1.0}, 4)
    assert len(pinned._points) == 0  # none of the kept points has a = 1 and another value of a
    monkeypatch.setattr(A.Solver, "_satisfies", lambda self, x: True)
    careless = A.Solver(m, list(m.cons))
    assert not careless.pinned({0: 1.0}, 1)  # what the check guards against


def test_a_rounded_solution_outside_the_program_is_not_kept():
    m, cons = _model(extra_fact=True)
    s = A.Solver(m, cons)
    assert not s._satisfies(np.array([1.0, 2.0, 3.0, 5.0]))  # row 2 broken
    assert not s._satisfies(np.array([-1.0, 4.0, 5.0, 2.0]))  # below zero
    assert not s._satisfies(np.array([1.0, 2.0, 3.0]))  # another shape
    assert s._satisfies(np.array([1.0, 2.0, 3.0, 4.0]))


def test_a_time_limit_with_the_objective_asks_for_any_point(monkeypatch):
    """The solver runs out of time optimising the random objective: the same check is asked
    without one, and answered as before; out of time there too, the cell counts as recovered."""
    import scipy.optimize

    real = scipy.optimize.milp
    seen = []

    def slow_with_objective(c, **k):
        seen.append(bool(np.any(c)))
        if np.any(c):
            return scipy.optimize.OptimizeResult(status=1, x=None, fun=None)
        return real(c=c, **k)

    monkeypatch.setattr(scipy.optimize, "milp", slow_with_objective)
    m, cons = _model()
    assert A.Solver(m, cons).feasible({0: 1.0}, 2, math.inf) and seen == [True, False]
    assert not A.Solver(m, cons).feasible({3: 1.0}, 7, math.inf)
    monkeypatch.setattr(scipy.optimize, "milp", lambda c, **k: scipy.optimize.OptimizeResult(status=1, x=None))
    m, cons = _model()
    assert A.Solver(m, cons).pinned({0: 1.0}, 1)  # fail safe
