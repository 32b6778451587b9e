"""Free texts, admin fields and the submissions cleaning must remove (noise rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from belmig.core.codebook import Codebook, Question
from belmig.core.keys import code_column, coded_question, other_text_column
from belmig.synth import texts
from belmig.synth.common import (
    MAX_SAME_SCALE_ANSWER,
    NOISE_COUNTS,
    SCALE_VALUES,
    TEXTS_WITH_CONTACTS,
    UNCODED,
    SynthError,
    apportion,
    arrow_strings,
)
from belmig.synth.respondents import _grid

FIELDWORK_START = np.datetime64("2022-06-01T08:00:00", "s")
FIELDWORK_END = np.datetime64("2022-09-30T23:59:59", "s")
MEDIAN_DURATION_SEC = 660.0  # genuine durations: log-normal around 11 minutes
DURATION_SIGMA = 0.35
DURATION_CLIP = (0.6, 3.5)  # x median: genuine durations never approach the speeder threshold
SPEEDER_SEC = (45, 110)  # <= 0.17 x median, far below the 0.33 x median rule
PARTIAL_SEC = (60, 240)
DUPLICATE_DELAY_SEC = (120, 420)
FIRST_RESPONSE_NUMBER = 100001
DOC_IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
EMAIL_SHARE = 0.4  # share of genuine respondents who leave an email
CONTACT_SHARE = 0.12  # share who leave a phone/Telegram contact for an interview


TEXT_SUFFIX = "__text"


def closed_answer_columns(codebook: Codebook) -> list[str]:
    """Closed-answer columns of a respondents frame (single, multi indicators, scale): what the
    duplicate fingerprint covers."""
    cols: list[str] = []
    for q in codebook.questions:
        if q.type == "multi":
            cols.extend(q.multi_columns())
        elif q.type in ("single", "scale"):
            cols.append(q.id)
    return cols


def text_column(q: Question) -> str:
    """Column of a text question's free text in the rows frame (synth only: ingestion names it q.id)."""
    return f"{q.id}{TEXT_SUFFIX}"


def fingerprint(frame: pd.DataFrame, codebook: Codebook) -> np.ndarray:
    """A 64-bit hash of each row's coded answers (NA-aware; numpy only, so fast at scale)."""
    h = np.full(len(frame), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for c in closed_answer_columns(codebook):
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            v = s.cat.codes.to_numpy().astype(np.int64)
        elif s.dtype == "boolean":
            v = s.to_numpy(dtype=np.int64, na_value=2)
        else:
            v = s.to_numpy(dtype=np.int64, na_value=-1)
        h = (h ^ (v + 0x9E3779B9).astype(np.uint64)) * prime
        h ^= h >> np.uint64(29)
    return h


def _texts(
    frame: pd.DataFrame, codebook: Codebook, rng: np.random.Generator, contacts: int
) -> tuple[pd.DataFrame, int]:
    """Free texts from the code columns (one bank spelling of ``texts.yaml`` per coded text); `contacts` coded
    texts get fake contact details appended. Returns the frame and the number so marked."""
    out = frame.copy()
    tx = texts.load()
    texts_: dict[str, tuple[np.ndarray, list[str]]] = {}
    code_of: dict[str, str] = {}  # text column -> its code column
    for q in codebook.questions:
        if q.type != "text" and not q.other_column:
            continue
        col = text_column(q) if q.type == "text" else other_text_column(q.id)
        cq = code_column(q.id)
        code_of[col] = cq
        idx = np.full(len(frame), -1, dtype=np.int64)
        variants: list[str] = []
        if cq in frame.columns:
            bank = tx.bank[q.id]
            codes = frame[cq]
            unknown = set(codes.dropna().unique()) - set(bank)
            if unknown:
                raise SynthError(f"{cq}: no texts for codes {sorted(unknown)}")
            for code, vs in bank.items():
                rows = np.flatnonzero((codes == code).fillna(False).to_numpy(dtype=bool))
                idx[rows] = len(variants) + rng.integers(0, len(vs), rows.size)
                variants.extend(vs)
        texts_[col] = (idx, variants)
    # a few coded texts carry fake contact details (to be redacted by ingestion)
    targets_ = [c for c in (other_text_column("reasons_lithuania"), f"war_impact_comment{TEXT_SUFFIX}") if c in texts_]
    done = 0
    for col, m in zip(targets_, apportion(contacts, [1] * len(targets_)) if targets_ else []):
        idx, variants = texts_[col]
        coded = np.flatnonzero((out[code_of[col]] != UNCODED).fillna(False).to_numpy(dtype=bool) & (idx >= 0))
        pick = np.sort(coded[rng.permutation(coded.size)[:m]])
        for j, r in enumerate(pick):
            variants.append(variants[idx[r]] + tx.contact_suffixes[(done + j) % len(tx.contact_suffixes)])
            idx[r] = len(variants) - 1
        done += int(pick.size)
    for col, (idx, variants) in texts_.items():
        out[col] = arrow_strings(idx, variants)
    return out, done


def _durations(rng: np.random.Generator, size: int) -> np.ndarray:
    d = MEDIAN_DURATION_SEC * np.exp(rng.normal(0.0, DURATION_SIGMA, size))
    lo, hi = DURATION_CLIP
    return np.clip(d, lo * MEDIAN_DURATION_SEC, hi * MEDIAN_DURATION_SEC).round().astype(np.int64)


def _spread_times(rng: np.random.Generator, size: int) -> np.ndarray:
    """Strictly increasing submission times over the fieldwork: more in the first weeks (the
    survey was shared early), during waking hours (07:00-24:00, peak in the afternoon)."""
    start_day = FIELDWORK_START.astype("datetime64[D]")
    days = int((FIELDWORK_END.astype("datetime64[D]") - start_day) / np.timedelta64(1, "D")) + 1
    day = np.floor(rng.beta(1.0, 1.6, size) * days).astype(np.int64)
    tod = (7 * 3600 + rng.beta(2.0, 2.0, size) * 17 * 3600).astype(np.int64)
    sec = np.sort(day * 86400 + tod)
    sec = np.maximum.accumulate(sec - np.arange(size)) + np.arange(size)  # strictly increasing
    first = int((FIELDWORK_START - start_day.astype("datetime64[s]")) / np.timedelta64(1, "s"))
    last = int((FIELDWORK_END - start_day.astype("datetime64[s]")) / np.timedelta64(1, "s"))
    sec = np.clip(sec, first + np.arange(size), None)
    if size and sec[-1] > last:
        raise SynthError(f"{size} submissions do not fit into the fieldwork")
    return start_day.astype("datetime64[s]") + sec.astype("timedelta64[s]")


_IP_POOL = [p + str(h) for p in DOC_IP_PREFIXES for h in range(1, 255)]


def _ips(rng: np.random.Generator, size: int):
    return arrow_strings(rng.integers(0, len(_IP_POOL), size), _IP_POOL)


def _numbers(start: int, size: int, width: int) -> pa.Array:
    return pc.utf8_lpad(pa.array(np.arange(start, start + size, dtype=np.int64)).cast(pa.string()), width, "0")


def _identifiers(rng: np.random.Generator, size: int, tag: str):
    """Emails (some respondents) and interview contacts (fewer), all clearly synthetic."""
    num = _numbers(1, size, 4)
    dom = pa.array(np.array(EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(EMAIL_DOMAINS), size)], pa.string())
    email = pc.binary_join_element_wise(f"synthetic.{tag}", num, "@", dom, "")
    email = pc.if_else(pa.array(rng.random(size) < EMAIL_SHARE), email, pa.scalar(None, pa.string()))
    kind = rng.random(size)
    has = rng.random(size) < CONTACT_SHARE
    phone = pc.binary_join_element_wise(
        "+1 202 555 01", pc.utf8_lpad(pa.array(rng.integers(0, 100, size)).cast(pa.string()), 2, "0"), ""
    )
    handle = pc.binary_join_element_wise(f"@synthetic_{tag}", num, "")
    tg = pc.binary_join_element_wise("Telegram: ", handle, "")
    contact = pc.if_else(pa.array(kind < 0.5), phone, pc.if_else(pa.array(kind < 0.8), handle, tg))
    contact = pc.if_else(pa.array(has), contact, pa.scalar(None, pa.string()))
    return pd.array(email, dtype="str"), pd.array(contact, dtype="str")


def _perturb_scales(
    rows: pd.DataFrame, donors: pd.DataFrame, grid: Sequence[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Replace every answered grid value by that of a random genuine respondent."""
    out = rows.copy()
    for g in grid:
        pool = donors[g].dropna().to_numpy(dtype=np.int64)
        draw = pool[rng.integers(0, pool.size, len(out))]
        na = out[g].isna().to_numpy()
        out[g] = pd.arrays.IntegerArray(np.where(na, 0, draw).astype(np.int64), na)
    return out


def _max_same(frame: pd.DataFrame, grid: Sequence[str]) -> np.ndarray:
    m = np.stack([frame[g].fillna(0).to_numpy(dtype=np.int64) for g in grid], axis=1)
    return np.stack([(m == v).sum(axis=1) for v in SCALE_VALUES], axis=1).max(axis=1)


def noise_counts_for(n: int, reference_n: int) -> dict[str, int]:
    """NOISE_COUNTS for the reconstruction (`reference_n` respondents, the published sample size);
    proportional counts for `n` respondents in scale mode."""
    if n == reference_n:
        return dict(NOISE_COUNTS)
    return {k: max(1, int(round(v * n / reference_n))) for k, v in NOISE_COUNTS.items()}


ADMIN_ROW_COLUMNS = ["kind", "resp_id", "response_id", "started_at", "submitted_at", "email", "ip_address", "contact"]


def add_noise_rows(
    respondents: pd.DataFrame,
    codebook: Codebook,
    seed: int,
    counts: Mapping[str, int] | None = None,
    *,
    exact: bool = True,
    reference_n: int | None = None,
) -> pd.DataFrame:
    """All submissions of the export, in submission order: the genuine respondents (with free
    texts and admin fields) plus the rows cleaning must remove.

    Columns: ``kind`` ("genuine" or a NOISE_COUNTS key), ``resp_id`` (genuine rows), the admin
    and identifier columns of the codebook (``response_id``, ``started_at``, ``submitted_at``,
    ``email``, ``ip_address``, ``contact``), the coded answers, ``<q>__text`` and
    ``<q>__other_text`` free texts. ``counts`` defaults to NOISE_COUNTS (the reconstruction); with
    ``exact=False`` to ``noise_counts_for(len(respondents), reference_n)``, `reference_n` being the
    reconstruction's size (``Targets.n``).
    Every noise row breaks exactly one cleaning rule: duplicates repeat a genuine respondent's
    answers exactly; all other rows have answers that differ from every other row. With
    ``exact=False`` (scale mode) rows whose answers could not be made unique are kept and
    counted in ``attrs["synth"]["noise_collisions"]`` (cleaning may remove them one step early).
    """
    if counts is None:
        if not exact and reference_n is None:
            raise SynthError("scale mode: add_noise_rows needs reference_n (the reconstruction's respondents)")
        counts = noise_counts_for(len(respondents), len(respondents) if exact else reference_n)
    counts = dict(counts)
    unknown = set(counts) - set(NOISE_COUNTS)
    if unknown:
        raise SynthError(f"unknown noise types {sorted(unknown)}")
    rng = np.random.default_rng([seed, 1])
    n = len(respondents)
    grid = _grid(codebook)
    gen, contacts_in_text = _texts(
        respondents, codebook, rng, TEXTS_WITH_CONTACTS if exact else max(TEXTS_WITH_CONTACTS, n // 100)
    )
    gen = gen.drop(columns=[c for c in gen.columns if coded_question(c) is not None])  # the texts stand in for them
    gen.insert(0, "kind", arrow_strings(np.zeros(n, dtype=np.int64), ["genuine"]))
    sub = _spread_times(rng, n)
    dur = _durations(rng, n)
    gen["submitted_at"] = sub
    gen["started_at"] = sub - dur.astype("timedelta64[s]")
    gen["email"], gen["contact"] = _identifiers(rng, n, "r")
    gen["ip_address"] = _ips(rng, n)

    pieces = [gen]
    collisions = 0
    fp_gen = fingerprint(respondents, codebook)
    used = np.zeros(n, dtype=bool)
    no_text = lambda k: arrow_strings(np.full(k, -1), [""])  # noqa: E731

    def templates(k: int, need_full_grid: bool = False) -> np.ndarray:
        ok = ~used
        if need_full_grid:
            ok &= gen[grid].notna().all(axis=1).to_numpy()
        idx = np.flatnonzero(ok)
        if idx.size < k:
            raise SynthError(f"not enough genuine respondents to build {k} noise rows")
        pick = np.sort(idx[rng.permutation(idx.size)[:k]])
        used[pick] = True
        return pick

    def fresh_admin(rows: pd.DataFrame, kind: str, lo: int | None = None, hi: int | None = None) -> pd.DataFrame:
        k = len(rows)
        rows = rows.reset_index(drop=True)
        rows["kind"] = arrow_strings(np.zeros(k, dtype=np.int64), [kind])
        rows["resp_id"] = no_text(k)
        t = _spread_times(rng, k)[rng.permutation(k)]
        d = _durations(rng, k) if lo is None else rng.integers(lo, hi + 1, k)
        rows["submitted_at"] = t
        rows["started_at"] = t - d.astype("timedelta64[s]")
        rows["email"], rows["contact"] = _identifiers(rng, k, kind.split("_")[0][:4])
        rows["ip_address"] = _ips(rng, k)
        return rows

    # duplicates: the same submission again 2-7 minutes later (exact mode: before the next genuine one)
    k = counts.get("duplicate", 0)
    if k:
        gap = np.diff(sub.astype(np.int64), append=np.int64(2**62))
        ok = np.flatnonzero(((gap > DUPLICATE_DELAY_SEC[1] + 60) | (not exact)) & ~used)
        if ok.size < k:
            raise SynthError("not enough well-separated submissions to duplicate")
        pick = np.sort(ok[rng.permutation(ok.size)[:k]])
        used[pick] = True
        dup = gen.iloc[pick].reset_index(drop=True)
        delay = rng.integers(DUPLICATE_DELAY_SEC[0], DUPLICATE_DELAY_SEC[1] + 1, k).astype("timedelta64[s]")
        dup["kind"] = arrow_strings(np.zeros(k, dtype=np.int64), ["duplicate"])
        dup["resp_id"] = no_text(k)
        dup["submitted_at"] = dup["submitted_at"].to_numpy() + delay
        dup["started_at"] = dup["started_at"].to_numpy() + delay
        pieces.append(dup)

    made: list[pd.DataFrame] = []
    # test entries: a test marker in the open comment, an odd email
    k = counts.get("test", 0)
    if k:
        rows = _perturb_scales(fresh_admin(gen.iloc[templates(k)], "test"), respondents, grid, rng)
        tx = texts.load()
        rows[text_column(codebook["security_by_comment"])] = arrow_strings(
            np.arange(k) % len(tx.test_texts), tx.test_texts
        )
        rows["email"] = arrow_strings(np.arange(k) % len(tx.test_emails), tx.test_emails)
        made.append(rows)
    arrival, citizen = codebook["arrival_year"], codebook["citizen_by"]
    for kind, q, value in (("ineligible_arrival", arrival, "before2020"), ("ineligible_citizenship", citizen, "no")):
        k = counts.get(kind, 0)
        if k:
            rows = _perturb_scales(fresh_admin(gen.iloc[templates(k)], kind), respondents, grid, rng)
            rows[q.id] = pd.Categorical.from_codes(np.full(k, q.keys.index(value)), categories=q.keys)
            made.append(rows)
    # partial completes: the first 4-12 closed questions answered, nothing after
    k = counts.get("partial", 0)
    if k:
        rows = _perturb_scales(fresh_admin(gen.iloc[templates(k)], "partial", *PARTIAL_SEC), respondents, grid, rng)
        asked = [q for q in codebook.questions if q.type in ("single", "multi", "scale")]
        position = {q.id: i for i, q in enumerate(codebook.questions)}
        # partial j answers every question before the (4 + j % 9)-th closed one (0-based): at
        # most 12 answered of the >= 21 closed questions everyone is asked (< 60%)
        stop = np.array([position[asked[4 + j].id] for j in range(9)])[np.arange(k) % 9]
        for q in codebook.questions:
            keep = position[q.id] < stop
            cols = q.multi_columns() if q.type == "multi" else [] if q.type == "text" else [q.id]
            cols += [c for c in (text_column(q), other_text_column(q.id)) if c in rows.columns]
            for c in cols:
                rows[c] = rows[c].where(keep)
        made.append(rows)
    k = counts.get("speeder", 0)
    if k:
        made.append(
            _perturb_scales(fresh_admin(gen.iloc[templates(k)], "speeder", *SPEEDER_SEC), respondents, grid, rng)
        )
    k = counts.get("straightliner", 0)
    if k:
        rows = fresh_admin(gen.iloc[templates(k, need_full_grid=True)], "straightliner")
        vals = np.array([5, 1, 10, 7, 3])[np.arange(k) % 5]
        for g in grid:
            rows[g] = pd.array(vals, dtype="Int64")
        made.append(rows)

    if made:
        noise = pd.concat(made, ignore_index=True)
        noise, collisions = _make_unique(noise, fp_gen, codebook, grid, respondents, rng, exact)
        pieces.append(noise)
    rows = pd.concat(pieces, ignore_index=True)
    kind_rank = rows["kind"].map({"genuine": 0}).fillna(1).to_numpy()
    order = np.lexsort((kind_rank, rows["submitted_at"].to_numpy()))
    rows = rows.take(order).reset_index(drop=True)
    rows["response_id"] = pd.array(
        pc.binary_join_element_wise("SYN-", _numbers(FIRST_RESPONSE_NUMBER, len(rows), 6), ""), dtype="str"
    )
    rows = rows[ADMIN_ROW_COLUMNS + [c for c in rows.columns if c not in ADMIN_ROW_COLUMNS]]
    rows.attrs = {
        "synth": {
            "seed": int(seed),
            "genuine": int(n),
            "noise": {k: int((rows["kind"] == k).sum()) for k in NOISE_COUNTS},
            "texts_with_contacts": int(contacts_in_text),
            "noise_collisions": int(collisions),
            "genuine_identical": int(pd.Series(fp_gen).duplicated().sum()),
        }
    }
    return rows


def _make_unique(
    noise: pd.DataFrame,
    taken: np.ndarray,
    codebook: Codebook,
    grid: Sequence[str],
    donors: pd.DataFrame,
    rng: np.random.Generator,
    exact: bool,
) -> tuple[pd.DataFrame, int]:
    """Re-draw scale answers of noise rows that collide with another row or straight-line by
    accident (straight-liners instead move their line to the next value). Returns the rows and
    the number still colliding (always 0 when `exact`, which raises instead)."""
    noise = noise.reset_index(drop=True)
    taken = np.sort(taken)
    liner = (noise["kind"] == "straightliner").to_numpy(dtype=bool)
    for _ in range(100 if exact else 3):
        fp = fingerprint(noise, codebook)
        pos = np.minimum(np.searchsorted(taken, fp), len(taken) - 1)
        clash = pd.Series(fp).duplicated(keep="first").to_numpy() | (taken[pos] == fp)
        bad = clash | ((_max_same(noise, grid) > MAX_SAME_SCALE_ANSWER) & ~liner)
        if not bad.any():
            return noise, 0
        redo = _perturb_scales(noise.loc[bad & ~liner], donors, grid, rng)
        lines = np.flatnonzero(bad & liner)
        for g in grid:
            vals = noise[g].fillna(0).to_numpy(dtype=np.int64)
            vals[np.flatnonzero(bad & ~liner)] = redo[g].fillna(0).to_numpy(dtype=np.int64)
            vals[lines] = vals[lines] % 10 + 1
            noise[g] = pd.arrays.IntegerArray(vals, vals == 0)
    if exact:
        raise SynthError("could not make the noise rows unique")
    return noise, int(bad.sum())
