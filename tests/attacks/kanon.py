"""k-anonymity of the release as the attacker counts it, individual risk, and the weights.

*Attacker's count.* The attacker knows a target's true quasi-identifier values (the oracle is
the internal ``responses.parquet``: the suite uses it only to know what the attacker knows) and
counts the release records compatible with them: a released value is compatible when it is the
target's value, a merged category containing it, or a blank. A target whose true value is "no
answer" is counted for the worst real value (the attacker knows it; we do not). The release's
own check (blank matches anything, among released records) can pass while this count fails:
when the other records of a blank's class all carry a value the target does not have.

*Extras.* The same count with each further plausible identifier added in turn (income,
diaspora involvement, support programmes, asylum status).

*Individual risk.* sdcMicro's ``measure_risk`` (Benedetti–Franconi, approximation of
``indivRisk``): fk = released records in the key's class (a blank counts as a match, alpha=1),
Fk = the sum of their weights, pk = fk/Fk; risk 1/fk when fk == Fk.

*Weights.* A raking weight is a function of the categories it was raked on. If the release's
weights are the raked weights averaged within classes, the published raking table (population
and respondents per category) gives each category's weight w_m = N_m / n_m, and each class's
weight total S_v is a solvable linear function of the released weights; the attacker then
solves Σ_m n_vm = n_v, Σ_m n_vm·w_m = S_v in non-negative integers for the mix of categories
inside each merged or blanked class.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .release import Release
from .structure import Structure

BLANK = "<blank>"

EXTRAS = {
    "income_regular": ("income_regular", None),
    "diaspora_involved": ("diaspora_involved", None),
    "support_programs": ("support_programs", None),
    "asylum": ("legal_status", "asylum"),  # asylum or not, derived from the legal status
}


def _norm(x) -> str | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return None
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def marked_blanks(release: Release, st: Structure) -> list[str]:
    """Blanks of a protected variable that the questionnaire marks as left for protection: the
    record answered a question asked only because of that variable (its universe), so it did
    not skip it. Such blanks are known to hide an answer, and the published tables then say
    which (5 of 7 of regular income, from chart 8). No truth needed: the release and the public
    codebook."""
    df = release.frame
    out = []
    for q in st.questions.values():
        parent = getattr(q, "asked_if", None)
        if parent is None or parent not in release.protected or parent not in df.columns:
            continue
        cols = [c for c in df.columns if (c == q.id or c.startswith(q.id + "__")) and not c.endswith("__code")]
        if not cols:
            continue
        hit = df[parent].isna() & df[cols].notna().any(axis=1)
        if hit.any():
            out.append(
                f"{release.file}: {int(hit.sum())} record(s) have {parent} blank but answered {q.id}, "
                f"which is asked only of those who answered {parent}"
            )
    return out


def answer_keys(frame: pd.DataFrame, release: Release, truth: pd.DataFrame) -> list[tuple]:
    """Per row, the answers to every released, unprotected variable (to match release ↔ truth)."""
    cols = [
        c
        for c in release.frame.columns
        if c in truth.columns
        and c not in release.protected
        and c.split("__", 1)[0] not in release.protected  # a question blanked whole (l-diversity)
        and c not in release.also_blanked
        and c not in (release.weight, release.id_column)
    ]
    vals = [[_norm(x) for x in frame[c].tolist()] for c in cols]
    return [tuple(v[i] for v in vals) for i in range(len(frame))]


def _sets(release: Release, var: str, derived: str | None) -> list[frozenset | None]:
    s = release.value_sets(var)
    if derived is None:
        return s
    return [
        None if x is None else frozenset(["yes"] if x == {derived} else ["no"] if derived not in x else ["yes", "no"])
        for x in s
    ]


def _truth_values(truth: pd.DataFrame, var: str, derived: str | None) -> list[str | None]:
    vals = [_norm(x) for x in truth[var].tolist()]
    if derived is None:
        return vals
    return [None if v is None else ("yes" if v == derived else "no") for v in vals]


def compat_matrix(
    release: Release, truth: pd.DataFrame, var: str, derived: str | None, options: list[str]
) -> np.ndarray:
    """targets × records: the record's released value is compatible with the target's true one."""
    rs = _sets(release, var, derived)
    tv = _truth_values(truth, var, derived)
    blank = np.array([s is None for s in rs])
    opts = (["yes", "no"] if derived else options) or sorted({x for s in rs if s for x in s})
    by_opt = {o: blank | np.array([s is not None and o in s for s in rs]) for o in opts}
    out = np.zeros((len(tv), len(rs)), bool)
    worst = min(by_opt.values(), key=lambda a: a.sum()) if by_opt else blank
    for i, v in enumerate(tv):
        out[i] = by_opt.get(v, worst) if v is not None else worst
    return out


@dataclass
class KResult:
    qis: list[str]
    counts: np.ndarray  # per target: compatible release records
    k: int

    @property
    def below(self) -> int:
        return int((self.counts < self.k).sum())

    @property
    def unique(self) -> int:
        return int((self.counts == 1).sum())

    @property
    def zero(self) -> int:
        return int((self.counts == 0).sum())

    def summary(self) -> str:
        return (
            f"{', '.join(self.qis)}: {self.below} of {len(self.counts)} targets have fewer than {self.k} "
            f"candidates ({self.unique} unique); smallest {int(self.counts.min()) if len(self.counts) else '-'}"
        )


def attacker_k(
    release: Release,
    truth: pd.DataFrame,
    qis: list[str],
    k: int,
    st: Structure,
    extra: tuple[str, str | None] | None = None,
    exclude: np.ndarray | None = None,
) -> KResult:
    m = np.ones((len(truth), len(release)), bool)
    names = list(qis)
    for v in qis:
        if v in release.frame.columns and v in truth.columns:
            m &= compat_matrix(release, truth, v, None, st.options(v))
    if extra is not None:
        var, derived = extra
        if var in release.frame.columns and var in truth.columns:
            m &= compat_matrix(release, truth, var, derived, st.options(var))
            names.append(var if derived is None else f"{var}=={derived}")
    if exclude is not None:
        m &= ~exclude
    return KResult(names, m.sum(axis=1), k)


def homogeneous(
    release: Release,
    truth: pd.DataFrame,
    qis: list[str],
    st: Structure,
    extras: list[str],
    skip: set[str],
) -> list[str]:
    """Attribute disclosure (distinct l-diversity, a blank read as anything): targets whose every
    candidate record (true quasi-identifiers, plus one extra identifier) gives one released
    column the same answer; the attacker learns it without finding the record. Columns with one
    value in the whole release (the screening answers) and those in `skip` tell nothing."""
    df = release.frame
    base = np.ones((len(truth), len(release)), bool)
    for v in qis:
        if v in df.columns and v in truth.columns:
            base &= compat_matrix(release, truth, v, None, st.options(v))
    sets = [("", base)]
    for e in extras:
        if e in df.columns and e in truth.columns and e not in qis:
            sets.append((e, base & compat_matrix(release, truth, e, None, st.options(e))))
    cols = [
        c
        for c in df.columns
        if c not in qis
        and c not in extras
        and c.split("__", 1)[0] not in skip
        and c not in (release.weight, release.id_column)
        and df[c].dropna().nunique() > 1
    ]
    out = []
    for c in cols:
        vals = df[c].to_numpy(dtype=object)
        blank = pd.isna(df[c]).to_numpy()
        for name, m in sets:
            any_blank = (m & blank[None, :]).any(axis=1)
            for a in pd.unique(vals[~blank]):
                hit = ~any_blank & ~(m & (vals != a)[None, :]).any(axis=1) & m.any(axis=1)
                if hit.any():
                    out.append(
                        f"{int(hit.sum())} target(s) whose candidate records all have {c} = {a}"
                        + (f" (knowing also {name})" if name else "")
                    )
    return out


# ------------------------------------------------------------------------------ sdcMicro risk


def release_classes(release: Release, qis: list[str]) -> np.ndarray:
    """fk per record: records agreeing on every QI, a blank matching anything (sdcMicro alpha=1)."""
    df = release.frame
    n = len(df)
    m = np.ones((n, n), bool)
    for v in qis:
        if v not in df.columns:
            continue
        vals = df[v].tolist()
        codes = {x: i for i, x in enumerate(sorted({x for x in vals if x is not None}))}
        a = np.array([codes[x] if x is not None else -1 for x in vals])
        m &= (a[:, None] == a[None, :]) | (a[:, None] < 0) | (a[None, :] < 0)
    return m


def individual_risk(release: Release, qis: list[str]) -> np.ndarray:
    m = release_classes(release, qis)
    fk = m.sum(axis=1).astype(float)
    if release.weight:
        w = release.frame[release.weight].to_numpy(dtype=float)
        Fk = m.astype(float) @ w
    else:
        Fk = fk.copy()
    pk = np.clip(fk / Fk, 1e-12, 1 - 1e-12)
    rk = np.where(fk > 2, pk / (fk - (1 - pk)), 0.0)
    rk = np.where(fk == 2, pk / (1 - pk) - (pk / (1 - pk)) ** 2 * np.log(1 / pk), rk)
    rk = np.where(fk == 1, pk / (1 - pk) * np.log(1 / pk), rk)
    rk = np.where(np.isclose(fk, Fk), 1 / fk, rk)
    return rk


# --------------------------------------------------------------------------------- weights


@dataclass
class WeightAttack:
    variable: str
    category_weights: dict[str, float]
    model: str = ""
    classes: int = 0
    mixed_classes: int = 0  # classes whose category set has more than one member
    solved: int = 0  # of those, mix solved uniquely
    consistent: int = 0
    known: int = 0  # classes whose category mix the attacker knows (plain or solved)
    unidentified: int = 0  # mixed classes whose weight total the system leaves open
    small_cells: list[dict] = field(default_factory=list)
    mixes: list[dict] = field(default_factory=list)  # solved classes: rows and category counts
    excluded: np.ndarray | None = None  # targets × records the solved mixes rule out
    note: str = ""


def raking_table(tables: list[tuple[list[str], list[list[str]]]], st: Structure) -> tuple[str, dict[str, float]] | None:
    """(variable, weight per category) from a printed raking table: Category, Respondents, Population."""
    for header, rows in tables:
        h = [x.strip().lower() for x in header]
        if "category" in h and "respondents" in h and "population" in h:
            ci, ri, pi = h.index("category"), h.index("respondents"), h.index("population")
            w, cats = {}, []
            for r in rows:
                try:
                    cat = r[ci].strip().strip("`")
                    n = float(r[ri].replace(",", ""))
                    N = float(r[pi].replace(",", ""))
                except (ValueError, IndexError):
                    continue
                if n > 0:
                    w[cat] = N / n
                    cats.append(cat)
            var = next((q.id for q in st.questions.values() if cats and set(cats) <= set(q.options)), None)
            if var and w:
                return var, w
    return None


def _solve_mix(n: int, S: float, cats: list[str], w: dict[str, float], limit: int = 2, nodes: int = 200_000):
    """Non-negative integer n_m, Σ n_m = n, Σ n_m w_m = S (relative tolerance 1e-7)."""
    if not cats:
        return [], True
    ws = [w[c] for c in cats]
    tol = max(1e-7 * abs(S), 1e-6)
    sols: list[tuple[int, ...]] = []
    budget = [nodes]

    def rec(i: int, left: int, rest: float, acc: list[int]) -> None:
        if len(sols) >= limit or budget[0] <= 0:
            return
        budget[0] -= 1
        if i == len(ws) - 1:
            if abs(left * ws[i] - rest) <= tol:
                sols.append(tuple(acc + [left]))
            return
        tail = ws[i + 1 :]
        lo_w, hi_w = min(tail), max(tail)
        for x in range(left + 1):
            r = rest - x * ws[i]
            left2 = left - x
            if r < left2 * lo_w - tol or r > left2 * hi_w + tol:
                continue
            rec(i + 1, left2, r, acc + [x])

    rec(0, n, S, [])
    return sols, budget[0] > 0


def raking_from_margins(
    margin_files: list[Path], facts: pd.DataFrame, st: Structure
) -> tuple[str, dict[str, float]] | None:
    """(variable, N/n per category) from the public margins (repository ``data/external``) and the
    published counts of the respondents per category."""
    for f in margin_files:
        try:
            m = pd.read_csv(f)
        except (ValueError, OSError):
            continue
        if m.shape[1] < 2:
            continue
        var, tcol = m.columns[0], m.columns[-1]
        if st.get(var) is None:
            continue
        w = {}
        for cat, N in zip(m[var].astype(str), pd.to_numeric(m[tcol], errors="coerce")):
            hit = facts[(facts.key == f"count.{var}.{cat}") & facts.value.notna()]
            if len(hit) and hit.value.iloc[0] > 0 and N == N:
                w[cat] = float(N) / float(hit.value.iloc[0])
        if len(w) == len(m):
            return var, w
    return None


def weight_attack(
    release: Release,
    tables,
    st: Structure,
    qis: list[str],
    min_cell: int,
    truth: pd.DataFrame | None = None,
    raking: tuple[str, dict[str, float]] | None = None,
) -> WeightAttack | None:
    if release.weight is None:
        return None
    rt = raking_table(tables, st) or raking
    if rt is None:
        return None
    var, wcat = rt
    if var not in release.frame.columns:
        return None
    df = release.frame
    qv = [q for q in qis if q in df.columns]
    pats = df[qv].astype(object).where(df[qv].notna(), BLANK).apply(tuple, axis=1)
    wv = df[release.weight].to_numpy(dtype=float)
    # classes: identical released QI values and identical weight
    keys = list(zip(pats, np.round(wv, 9)))
    uniq = sorted(set(keys), key=str)
    index = {u: i for i, u in enumerate(uniq)}
    inv = np.array([index[x] for x in keys])
    nU = np.bincount(inv, minlength=len(uniq)).astype(float)
    wU = np.array([u[1] for u in uniq])
    # population total of the margins: Σ_m N_m = Σ_m w_m n_m; the release's weights keep it
    total = float(wv.sum())
    # compatibility between classes (blank matches anything)
    U = [u[0] for u in uniq]
    comp = np.ones((len(U), len(U)), bool)
    for j in range(len(qv)):
        a = np.array([x[j] for x in U], dtype=object)
        blank = a == BLANK
        comp &= (a[:, None] == a[None, :]) | blank[:, None] | blank[None, :]
    best = None
    for model in ("class mean", "mean over compatible classes"):
        if model == "class mean":
            S = wU * nU
        else:
            # w_u · Σ_{v~u} n_v = s · Σ_{v~u} S_v
            N = comp.astype(float) @ nU
            b = wU * N
            Am = comp.astype(float)
            S, *_ = np.linalg.lstsq(Am, b, rcond=None)
            # a class total is identified only when the null space of the system leaves it alone
            _u, sv, vt = np.linalg.svd(Am)
            null = vt[sv < 1e-9 * sv.max()] if len(sv) else vt[:0]
            identified = np.all(np.abs(null) < 1e-9, axis=0) if len(null) else np.ones(len(U), bool)
            if not identified.all():
                model += f" ({int((~identified).sum())} class totals not identified)"
        S = S * total / S.sum()
        if model == "class mean":
            identified = np.ones(len(U), bool)
        res = []
        for i, u in enumerate(uniq):
            val = u[0][qv.index(var)]
            cats = sorted(wcat) if val == BLANK else [c for c in val.split("+") if c in wcat]
            if not identified[i]:
                res.append((i, cats, [], False, False))
                continue
            sols, complete = _solve_mix(int(nU[i]), float(S[i]), cats, wcat)
            res.append((i, cats, sols, complete, True))
        consistent = sum(1 for r in res if r[2])
        if best is None or consistent > best[0]:
            best = (consistent, model, res)
    consistent, model, res = best
    wa = WeightAttack(var, wcat, model, len(uniq), consistent=consistent)
    identified_n = sum(1 for r in res if r[4])
    if identified_n and consistent < 0.8 * identified_n:
        # the weights do not follow the model (e.g. re-raked on the released categories): no attack
        wa.note = f"model rejected: {consistent} of {identified_n} identified classes have an integer mix"
        res = [(i, cats, [], False, ident) for i, cats, _s, _c, ident in res]
    excl = np.zeros((len(truth) if truth is not None else 0, len(df)), bool)
    tvals = [_norm(x) for x in truth[var].tolist()] if truth is not None and var in truth.columns else None
    for i, cats, sols, complete, ident in res:
        if len(cats) <= 1:
            wa.known += 1
            continue
        wa.mixed_classes += 1
        if not ident:
            wa.unidentified += 1
        if len(sols) == 1 and complete:
            wa.solved += 1
            wa.known += 1
            mix = dict(zip(cats, sols[0]))
            u = uniq[i]
            wa.mixes.append({"rows": np.flatnonzero(inv == i).tolist(), "mix": mix})
            for c, x in mix.items():
                if 0 < x < min_cell:
                    wa.small_cells.append(
                        {
                            "class": dict(zip(qv, [None if y == BLANK else y for y in u[0]])),
                            "category": c,
                            "count": x,
                            "class_size": int(nU[i]),
                        }
                    )
            if tvals is not None:
                rows = np.flatnonzero(inv == i)
                for t, tv in enumerate(tvals):
                    if tv is not None and tv in mix and mix[tv] == 0:
                        excl[t, rows] = True
    wa.excluded = excl if truth is not None else None
    return wa


# ------------------------------------------------------------------------------ submission order


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = pd.Series(a).rank().to_numpy()
    rb = pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def id_rank(ids: list[str]) -> np.ndarray:
    """Sort rank of release ids (numeric part when there is one)."""

    def key(s: str):
        m = re.findall(r"\d+", s)
        return (int(m[-1]) if m else 0, s)

    order = sorted(range(len(ids)), key=lambda i: key(ids[i]))
    r = np.empty(len(ids))
    r[order] = np.arange(len(ids))
    return r


def match_release_to_truth(release: Release, truth: pd.DataFrame) -> dict[int, int]:
    """Release row -> truth row, where the answers identify one respondent.

    Unprotected answers must be equal; protected ones compatible (merged category containing the
    true value, or blank)."""
    rk = answer_keys(release.frame, release, truth)
    tk = answer_keys(truth, release, truth)
    pos: dict[tuple, list[int]] = {}
    for i, k in enumerate(tk):
        pos.setdefault(k, []).append(i)
    prot = [v for v in sorted(release.protected) if v in truth.columns and v in release.frame.columns]
    rsets = {v: release.value_sets(v) for v in prot}
    tvals = {v: [_norm(x) for x in truth[v].tolist()] for v in prot}
    out = {}
    for i, k in enumerate(rk):
        cands = [j for j in pos.get(k, []) if all(rsets[v][i] is None or tvals[v][j] in rsets[v][i] for v in prot)]
        if len(cands) == 1:
            out[i] = cands[0]
    return out


def submission_order(truth: pd.DataFrame) -> np.ndarray | None:
    """The truth rows' submission order: the internal resp_id is assigned in submission order."""
    if "resp_id" in truth.columns:
        return id_rank(truth["resp_id"].astype(str).tolist())
    return None
