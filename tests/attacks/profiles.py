"""Small groups whose answers the publication gives away, matched against the release.

A group is a published category (``sex=other``, ``legal_status=asylum`` ...) with fewer than
``min_cell`` members that the differencing pins down. Its *profile* is every pinned cell
"group ∧ answer": how many of its members gave each answer. The attacker then looks for sets of
exactly n release records that (a) may belong to the group by their released values and (b)
together reproduce the profile. When a single set fits, the group's members are singled out:
their records, with every answer, belong to the people of that category (whose category the
release had merged away).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd

from .differencing import ANS, NA, Engine, ReleaseView, describe
from .release import Release


@dataclass
class GroupMatch:
    group: str
    size: int
    profile_cells: int
    candidates: int
    fitting_sets: int | None  # None: too many candidates to enumerate
    singled_out: list[str] = field(default_factory=list)  # release record ids (or row numbers)
    verified: bool | None = None  # singled-out records are the group's true members
    note: str = ""


def small_groups(e: Engine, min_cell: int) -> list[tuple[tuple[str, str], int]]:
    out = []
    for j, c in enumerate(e.cells):
        if (
            len(c) == 1
            and c[0][1] not in (ANS, NA)
            and e.hi[j] is not None
            and e.lo[j] == e.hi[j]
            and 0 < e.lo[j] < min_cell
        ):
            out.append((c[0], e.lo[j]))
    return out


def match(
    e: Engine, release: Release, min_cell: int, max_sets: int = 300_000, truth: pd.DataFrame | None = None
) -> list[GroupMatch]:
    view = ReleaseView(release, e.st)
    ids = (
        release.frame[release.id_column].astype(str).tolist()
        if release.id_column
        else [f"row {i + 1}" for i in range(len(release))]
    )
    out = []
    for (gv, go), n in small_groups(e, min_cell):
        if not view.has(gv):
            continue
        member = view.atom(gv, go)
        if member is None:
            continue
        if int(member[0].sum()) == n == int(member[1].sum()):
            continue  # the release shows the group as it is: a matter for k-anonymity, not profiles
        cand = np.flatnonzero(member[1])
        # the profile: pinned cells group ∧ (q, answer) whose variables the release carries
        prof = []
        for j, c in enumerate(e.cells):
            if len(c) != 2 or (gv, go) not in c or e.hi[j] is None or e.lo[j] != e.hi[j]:
                continue
            other = next(a for a in c if a != (gv, go))
            if other[0] == gv or not view.has(other[0]):
                continue
            r = view.atom(*other)
            if r is None:
                continue
            prof.append((other, e.lo[j], r[0], r[1]))
        gname = describe(((gv, go),))
        if not prof:
            out.append(GroupMatch(gname, n, 0, len(cand), None, note="no pinned answers of the group"))
            continue
        # a record that certainly has an answer the group has nobody for cannot be a member
        keep = np.ones(len(cand), bool)
        for _atom, k, certain, _possible in prof:
            if k == 0:
                keep &= ~certain[cand]
        cand = cand[keep]
        if comb(len(cand), n) > max_sets:
            out.append(
                GroupMatch(
                    gname, n, len(prof), len(cand), None, note=f"{comb(len(cand), n)} sets of {n}: not enumerated"
                )
            )
            continue
        C = np.array([p[2][cand] for p in prof], dtype=np.int32)  # profile cell × candidate
        P = np.array([p[3][cand] for p in prof], dtype=np.int32)
        K = np.array([p[1] for p in prof], dtype=np.int32)
        fits = []
        for s in combinations(range(len(cand)), n):
            idx = list(s)
            if (C[:, idx].sum(axis=1) <= K).all() and (P[:, idx].sum(axis=1) >= K).all():
                fits.append(s)
                if len(fits) > 50:
                    break
        gm = GroupMatch(gname, n, len(prof), len(cand), len(fits))
        if fits:
            common = set(fits[0]).intersection(*map(set, fits[1:]))
            gm.singled_out = [ids[cand[i]] for i in sorted(common)]
            if truth is not None and gm.singled_out:
                gm.verified = _verify(release, truth, [cand[i] for i in sorted(common)], gv, go)
        out.append(gm)
    return out


def _verify(release: Release, truth: pd.DataFrame, rows: list[int], gv: str, go: str) -> bool:
    """Each singled-out record has the answers of a true member of the group."""
    from .kanon import answer_keys

    rel_keys = answer_keys(release.frame, release, truth)
    if gv not in truth.columns:
        return False
    col = truth[gv].astype("string")
    if go.startswith("v") and go[1:].isdigit() and pd.api.types.is_numeric_dtype(truth[gv]):
        col = "v" + col
    members = truth[(col == go).fillna(False).to_numpy()]
    tr_keys = set(answer_keys(members, release, truth))
    return all(rel_keys[i] in tr_keys for i in rows)
