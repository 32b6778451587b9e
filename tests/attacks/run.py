"""Run every attack on a build and report each success with its proof.

    python -m tests.attacks.run BUILD_DIR [--min-cell 5] [--k 5] [--json out.json]
                                          [--manifest FILE] [--truth FILE] [--export FILE]

Exit status 0 when no attack succeeds, 1 when one does (warnings alone do not fail), 2 on a
usage error. The oracle files (``--truth``: the internal responses, ``--export``: the raw
export) default to the build's own internal files; they tell the suite what the attacker
already knows about a target and what must never leak. They are never read as published data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import differencing as D, extract, kanon, leaks, manifest, profiles, release, structure

# Attack ids (stable: the defender's tests and the lead's reports refer to them).
ATTACKS = {
    "manifest.unlisted": "public file the pipeline's manifest does not list",
    "manifest.missing": "file the manifest lists but the build lacks, or with another checksum",
    "primary.published": "published count, base or share (with its base) of 1 to min_cell-1 respondents",
    "primary.test": "published test that compares a group of 1 to min_cell-1 respondents",
    "differencing.within": "count below min_cell recovered within one table (one level)",
    "differencing.across": "count below min_cell recovered across levels or tables sharing a total",
    "differencing.release": "count below min_cell recovered only by combining tables with the release",
    "differencing.suppressed": "a cell the output shows as suppressed, recovered exactly",
    "differencing.nonresponse": "non-response count below min_cell recovered (warning)",
    "profiles.singled_out": "release records singled out by a small group's derived profile",
    "kanon.attacker": "target with fewer than k compatible release records (attacker's count)",
    "kanon.extra": "the same with one more plausible identifier",
    "kanon.weights": "the same after the weights rule classes out",
    "kanon.marked_blank": "protective blank marked as such: a question asked only because of it is answered",
    "kanon.homogeneous": "every record a target could be gives a sensitive question the same answer",
    "weights.mix_solved": "merged or blanked class whose category mix the weights and raking table solve",
    "leaks.free_text": "respondents' free text in a public file",
    "leaks.identifier": "an identifier of the export in a public file",
    "leaks.abs_path": "absolute machine path in a public file",
    "leaks.failed_notebook": "failed notebook in a public folder",
    "leaks.shape": "e-mail or IPv4 shape in a public file (warning)",
    "order.submission": "release ids or row order follow the submission order",
}
WARN_ONLY = {"differencing.nonresponse", "leaks.shape"}


@dataclass
class Finding:
    attack: str
    title: str
    proof: str = ""
    facts: list = field(default_factory=list)
    severity: str = "fail"


@dataclass
class Report:
    build: str
    min_cell: int
    k: int
    files: int
    manifest: str
    findings: list[Finding] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, attack: str, title: str, proof: str = "", facts=None) -> None:
        sev = "warn" if attack in WARN_ONLY else "fail"
        self.findings.append(Finding(attack, title, proof, list(facts or []), sev))

    def count(self, attack: str) -> int:
        return sum(1 for f in self.findings if f.attack == attack)

    @property
    def failed(self) -> bool:
        return any(f.severity == "fail" for f in self.findings)

    def to_json(self) -> dict:
        return {
            "build": self.build,
            "min_cell": self.min_cell,
            "k": self.k,
            "files": self.files,
            "manifest": self.manifest,
            "seconds": round(self.seconds, 2),
            "failed": self.failed,
            "summary": {a: self.count(a) for a in ATTACKS},
            "info": self.info,
            "findings": [asdict(f) for f in self.findings],
        }


def _config(root: Path) -> dict:
    p = root / "config" / "config.yaml"
    return (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.is_file() else {}


def attack(
    root: Path,
    min_cell: int | None = None,
    k: int | None = None,
    manifest_path: Path | None = None,
    truth_path: Path | None = None,
    export_path: Path | None = None,
) -> Report:
    t0 = time.time()
    root = Path(root)
    cfg = _config(root)
    priv = cfg.get("privacy") or {}
    min_cell = int(min_cell if min_cell is not None else priv.get("min_cell", 5))
    k = int(k if k is not None else priv.get("k_anonymity", 5))
    m = manifest.public_files(root, manifest_path)
    rep = Report(str(root), min_cell, k, len(m.files), m.source)
    for f in m.unlisted:
        rep.add("manifest.unlisted", f"{f} is public but not in {m.source}")
    for f in m.missing:
        rep.add("manifest.missing", f"{f} is listed in {m.source} but missing")
    for f in m.checksum_mismatch:
        rep.add("manifest.missing", f"{f} differs from its checksum in {m.source}")

    st = structure.load(root)
    facts, suppressed = extract.extract(root, m.files, st, extract.template_for(root))
    rel = release.load(root, m.files, st)
    rep.info["facts"] = int(len(facts))
    rep.info["distinct_keys"] = int(facts.key.nunique()) if len(facts) else 0
    rep.info["structure"] = st.source
    rep.info["release"] = rel.file if rel is not None else None
    root_count = None
    ana = facts[facts.key == "flow.analysed"] if len(facts) else facts
    if len(ana):
        root_count = D._int_text(str(ana.text.iloc[0]))

    # ---------------------------------------------------------------- tables: primary + differencing
    if len(facts):
        e = D.build(facts, st, None, root_count)
        rep.info["cells"] = len(e.cells)
        rep.info["conflicts"] = e.conflicts[:20]
        primary_cells = _primary_cells(rep, e, facts, min_cell)
        seen = set()
        truth_df = _truth(root, truth_path)
        for r in D.recoveries(e, min_cell):
            seen.add(r.cell)
            if r.cell in primary_cells or _unsound(rep, r, truth_df, st):
                continue
            attack_id = (
                "differencing.nonresponse"
                if r.nonresponse
                else f"differencing.{'within' if r.kind in ('within', 'share', 'published') else 'across'}"
            )
            rep.add(attack_id, f"{D.describe(r.cell)} = {r.value}", r.proof, r.facts[:25])
        for s in D.suppressed_recovered(e, suppressed):
            rep.add("differencing.suppressed", f"{s['file']} {s['where']}: {s['cell']} = {s['value']}", s["proof"])
        _tests(rep, facts, e, min_cell)
        if rel is not None:
            e2 = D.build(facts, st, rel, root_count)
            for r in D.recoveries(e2, min_cell, rel):
                if r.cell in seen or r.cell in primary_cells or _unsound(rep, r, truth_df, st):
                    continue
                attack_id = "differencing.nonresponse" if r.nonresponse else "differencing.release"
                rep.add(attack_id, f"{D.describe(r.cell)} = {r.value}", r.proof, r.facts[:25])
            for g in profiles.match(e2, rel, min_cell, truth=_truth(root, truth_path)):
                rep.info.setdefault("small_groups", []).append(asdict(g))
                if g.singled_out:
                    ver = (
                        ""
                        if g.verified is None
                        else (" (verified against the truth)" if g.verified else " (NOT the true members)")
                    )
                    rep.add(
                        "profiles.singled_out",
                        f"{g.group} (n = {g.size}): records {', '.join(g.singled_out)} singled out{ver}",
                        f"{g.profile_cells} pinned answer counts of the group; {g.candidates} compatible records; "
                        f"{g.fitting_sets} set(s) of {g.size} reproduce the profile",
                    )

    # ---------------------------------------------------------------- release: k, risk, weights, order
    truth = _truth(root, truth_path)
    if rel is not None:
        qis = [q for q in (priv.get("quasi_identifiers") or sorted(rel.protected)) if q in rel.frame.columns]
        rep.info["quasi_identifiers"] = qis
        risk = kanon.individual_risk(rel, qis)
        rep.info["individual_risk"] = {
            "max": float(risk.max()),
            "mean": float(risk.mean()),
            "p50": float(np.quantile(risk, 0.5)),
            "p90": float(np.quantile(risk, 0.9)),
            "p99": float(np.quantile(risk, 0.99)),
            "above_0.1": int((risk > 0.1).sum()),
        }
        wa = None
        html_tables = _report_tables(root, m.files)
        margins = sorted((root / "data" / "external").glob("margins_*.csv"))
        raking = kanon.raking_from_margins(margins, facts, st) if len(facts) else None
        wa = kanon.weight_attack(rel, html_tables, st, qis, min_cell, truth, raking)
        if wa is not None:
            rep.info["weights"] = {
                "variable": wa.variable,
                "model": wa.model,
                "classes": wa.classes,
                "mixed_classes": wa.mixed_classes,
                "solved": wa.solved,
                "known": wa.known,
                "unidentified": wa.unidentified,
                "note": wa.note,
            }
            if truth is not None:
                _verify_mixes(rep, wa, rel, truth)
            if wa.solved:
                rep.add(
                    "weights.mix_solved",
                    f"{wa.solved} of {wa.mixed_classes} classes with a merged or blank {wa.variable} have their "
                    f"{wa.variable} mix solved (the mix of {wa.known} of {wa.classes} classes is known)",
                    f"model: weight = {wa.model}; category weights N/n from the raking table: "
                    + ", ".join(f"{c}={w:.4f}" for c, w in sorted(wa.category_weights.items())),
                    [
                        f"{c['category']}: {c['count']} of a class of {c['class_size']} {c['class']}"
                        for c in wa.small_cells[:25]
                    ],
                )
        for line in kanon.marked_blanks(rel, st):
            rep.add("kanon.marked_blank", line)
        if truth is not None:
            kr = kanon.attacker_k(rel, truth, qis, k, st)
            rep.info["kanon"] = {"qis": kr.summary(), "distribution": _dist(kr.counts)}
            _kfindings(rep, "kanon.attacker", kr, truth, qis)
            for name, ex in kanon.EXTRAS.items():
                if ex[0] not in rel.frame.columns or ex[0] not in truth.columns:
                    continue
                if ex[0] in qis:
                    continue  # already a quasi-identifier (asylum is part of the legal status)
                kx = kanon.attacker_k(rel, truth, qis, k, st, ex)
                rep.info[f"kanon_{name}"] = kx.summary()
                if kx.below:
                    rep.add("kanon.extra", kx.summary())
            if wa is not None and wa.excluded is not None and wa.excluded.any():
                kw = kanon.attacker_k(rel, truth, qis, k, st, exclude=wa.excluded)
                rep.info["kanon_weights"] = kw.summary()
                if kw.below > kr.below:
                    rep.add(
                        "kanon.weights",
                        kw.summary(),
                        "solved class mixes rule out records of classes that hold nobody with the target's category",
                    )
            sensitive = set(priv.get("sensitive") or [])
            extras = [e for e in priv.get("extra_identifiers") or [] if e in rel.frame.columns]
            if sensitive:  # the questions the configuration calls sensitive; the others are not attacked
                others = {c.split("__", 1)[0] for c in rel.frame.columns} - sensitive
                for line in kanon.homogeneous(rel, truth, qis, st, extras, others):
                    rep.add("kanon.homogeneous", line)
            _order(rep, rel, truth)

    # ---------------------------------------------------------------- leaks
    sec = None
    ex = export_path or _export(root, cfg)
    if ex is not None and ex.is_file():
        cb = root / "config" / "codebook.yaml"
        public_repo = [cb] + sorted((root / "config" / "coding").glob("*")) if (root / "config").is_dir() else []
        # The report's own sources (every edition, written before any answer was read) are public
        # text too: a phrase the authors wrote that a respondent also typed tells nothing of them.
        # A respondent's words planted into a built file are still found (tests/attacks).
        public_repo += sorted((root / "report").glob("report*.qmd"))
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in public_repo if p.is_file()]
        sec = leaks.secrets_from_export(ex, cb if cb.is_file() else None, texts)
    for lk in leaks.scan(root, m.files, sec):
        attack_id = {
            "free_text": "leaks.free_text",
            "identifier": "leaks.identifier",
            "abs_path": "leaks.abs_path",
            "failed_notebook": "leaks.failed_notebook",
        }.get(lk.kind, "leaks.shape")
        rep.add(attack_id, f"{lk.where}: {lk.snippet}")
    rep.seconds = time.time() - t0
    return rep


def _unsound(rep: Report, r: D.Recovery, truth: pd.DataFrame | None, st: structure.Structure) -> bool:
    """A 'recovered' count that the oracle contradicts: a broken assumption of the attack model
    (recorded, not reported as a leak)."""
    if truth is None:
        return False
    t = D.true_count(r.cell, truth, st)
    if t is None or t == r.value:
        return False
    rep.info.setdefault("unsound", []).append(f"{D.describe(r.cell)}: derived {r.value}, true {t}")
    return True


def _truth(root: Path, truth_path: Path | None) -> pd.DataFrame | None:
    p = truth_path or root / "data" / "processed" / "responses.parquet"
    return pd.read_parquet(p) if p.is_file() else None


def _export(root: Path, cfg: dict) -> Path | None:
    raw = cfg.get("raw_export")
    if raw:
        p = Path(raw)
        return p if p.is_absolute() else root / p
    p = root / "data" / "raw" / "synthetic_export.csv"
    return p if p.is_file() else None


def _report_tables(root: Path, files: list[str]):
    out = []
    for f in files:
        if f.endswith("report.html"):
            tables, _, _ = extract.html_tables_and_text((root / f).read_text(encoding="utf-8", errors="replace"))
            out += tables
    return out


def _verify_mixes(rep: Report, wa, rel, truth: pd.DataFrame) -> None:
    """Keep the solved mixes the oracle confirms; a wrong 'solution' leaks nothing."""
    mp = kanon.match_release_to_truth(rel, truth)
    if wa.variable not in truth.columns:
        return
    tv = truth[wa.variable].astype("string").tolist()
    good, wrong, unknown = [], 0, 0
    for mx in wa.mixes:
        if not all(r in mp for r in mx["rows"]):
            unknown += 1
            good.append(mx)
            continue
        true = {}
        for r in mx["rows"]:
            true[tv[mp[r]]] = true.get(tv[mp[r]], 0) + 1
        if true == {c: x for c, x in mx["mix"].items() if x}:
            good.append(mx)
        else:
            wrong += 1
    rep.info["weights"]["verified"] = len(good) - unknown
    rep.info["weights"]["wrong"] = wrong
    wa.solved = len(good)
    rep.info["weights"]["solved"] = wa.solved
    if wrong:
        wa.excluded = None  # a wrong mix could rule out the target's own record


def _primary_cells(rep: Report, e: D.Engine, facts: pd.DataFrame, min_cell: int) -> set:
    """Cells that one printed number puts at 1..min_cell-1: a count, a base, or a share whose
    base is known (then the share alone fixes the count). Each is reported once."""
    cells: dict = {}
    for r in facts[facts.stat.isin(["count", "n", "pct"])].drop_duplicates(["key", "text"]).itertuples(index=False):
        cc = D.fact_cells(r)
        if cc is None:
            continue
        c, base = cc
        target = base if r.stat == "n" else c
        v = e.fixed(target)
        if v is None or not 0 < v < min_cell:
            continue
        if r.stat == "pct":
            n = e.fixed(base)
            s = D._scaled(r.text)
            if n is None or s is None:
                continue
            P, d = s
            ks = [x for x in range(n + 1) if (2 * P - 1) * n <= 200 * 10**d * x <= (2 * P + 1) * n]
            if ks != [v]:
                continue
            how = f"{r.key} = {r.text}% of a base of {n} (base {'printed' if _printed_base(facts, r) else 'derived'})"
        else:
            how = f"{r.key} = {r.text} ({'base' if r.stat == 'n' else 'count'})"
        cells.setdefault(target, []).append(f"{how} [{r.file} {r.where}]")
    # weighted shares, intervals and means resting on such a cell (or base)
    other_stats = ["wpct", "wci", "mean", "wmean", "wci_mean"]
    for r in facts[facts.stat.isin(other_stats)].drop_duplicates(["key", "text"]).itertuples(index=False):
        cc = D.fact_cells(r)
        if cc is None:
            continue
        c, base = cc
        target = base if r.stat in ("mean", "wmean", "wci_mean") else c
        v = e.fixed(target)
        if v is not None and 0 < v < min_cell:
            what = "a mean over" if target is base else "a weighted share or interval of"
            cells.setdefault(target, []).append(f"{r.key} = {r.text} ({what} {v} respondents) [{r.file} {r.where}]")
    for c, hows in cells.items():
        rep.add("primary.published", f"{D.describe(c)} = {e.fixed(c)}", "; ".join(sorted(set(hows))[:4]))
    # counts of coded open answers (other.q.coded / uncoded) are counts of respondents too
    oth = facts[(facts.stat == "other") & facts.value.notna()].drop_duplicates(["key", "text"])
    for r in oth.itertuples(index=False):
        if float(r.value).is_integer() and 0 < r.value < min_cell:
            rep.add(
                "primary.published",
                f"{r.key} = {r.text} (respondents whose open answer was {r.option})",
                f"{r.file} {r.where}",
            )
    return set(cells)


def _printed_base(facts: pd.DataFrame, r) -> bool:
    bkey = f"nby.{r.by}.{r.level}.{r.question}" if r.by else f"n.{r.question}"
    return bool((facts.key == bkey).any())


def _tests(rep: Report, facts: pd.DataFrame, e: D.Engine, min_cell: int) -> None:
    """A published test statistic whose comparison includes a group below min_cell."""
    pby = facts[(facts.stat == "pby") & facts.value.notna()].drop_duplicates(["key"])
    for r in pby.itertuples(index=False):
        q = e.st.get(r.by)
        if q is None:
            continue
        small = []
        for lv in q.options:
            v = e.fixed(D.cell((r.by, lv), (r.question, D.ANS)))
            if v is not None and 0 < v < min_cell:
                small.append(f"{r.by}={lv} (n = {v})")
        if small:
            rep.add("primary.test", f"{r.key} = {r.text} compares " + ", ".join(small), f"{r.file} {r.where}")


def _dist(counts: np.ndarray) -> dict:
    return {
        str(b): int(((counts >= lo) & (counts <= hi)).sum())
        for b, lo, hi in (("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-9", 5, 9), ("10+", 10, 10**9))
    }


def _kfindings(rep: Report, attack_id: str, kr, truth: pd.DataFrame, qis: list[str]) -> None:
    ids = truth["resp_id"].astype(str).tolist() if "resp_id" in truth.columns else [str(i) for i in range(len(truth))]
    for i in np.flatnonzero(kr.counts < kr.k):
        vals = {q: (None if pd.isna(truth[q].iloc[i]) else str(truth[q].iloc[i])) for q in qis if q in truth.columns}
        rep.add(attack_id, f"target {ids[i]} {vals}: {int(kr.counts[i])} compatible release record(s)")


def _order(rep: Report, rel, truth: pd.DataFrame) -> None:
    order = kanon.submission_order(truth)
    if order is None:
        return
    mp = kanon.match_release_to_truth(rel, truth)
    if len(mp) < 10:
        rep.info["order"] = f"only {len(mp)} release records matched to the truth"
        return
    ri = np.array(sorted(mp))
    ti = np.array([mp[i] for i in ri])
    rho_row = kanon.spearman(ri.astype(float), order[ti])
    rho_id = None
    if rel.id_column:
        rho_id = kanon.spearman(kanon.id_rank(rel.frame[rel.id_column].astype(str).tolist())[ri], order[ti])
    rep.info["order"] = {"matched": len(mp), "rho_row": rho_row, "rho_id": rho_id}
    # |rho| > 0.2 is > 3.6 standard errors from 0 at n = 335 (se ≈ 1/sqrt(n-1))
    lim = max(0.2, 4 / np.sqrt(max(len(mp) - 1, 1)))
    if abs(rho_row) > lim:
        rep.add(
            "order.submission",
            f"release row order follows submission order (Spearman {rho_row:.3f}, {len(mp)} records)",
        )
    if rho_id is not None and abs(rho_id) > lim:
        rep.add("order.submission", f"release id {rel.id_column} follows submission order (Spearman {rho_id:.3f})")


# ------------------------------------------------------------------------------- printing


def render(rep: Report, limit: int = 12) -> str:
    lines = [
        f"Attack suite on {rep.build}",
        f"  public files: {rep.files} (manifest: {rep.manifest}); "
        f"min_cell = {rep.min_cell}, k = {rep.k}; {rep.info.get('facts', 0)} published facts "
        f"({rep.info.get('distinct_keys', 0)} keys); {rep.seconds:.1f} s",
        "",
    ]
    lines.append(f"{'attack':28} {'successes':>9}  status")
    for a in ATTACKS:
        n = rep.count(a)
        status = "ok" if n == 0 else ("WARN" if a in WARN_ONLY else "FAIL")
        lines.append(f"{a:28} {n:9d}  {status}   {ATTACKS[a]}")
    info = rep.info
    lines.append("")
    if "kanon" in info:
        lines.append(
            f"k-anonymity, attacker's count: {info['kanon']['qis']}; candidates per target {info['kanon']['distribution']}"
        )
        for kk, kx in info.items():
            if kk.startswith("kanon_"):
                lines.append(f"  {'after the weights' if kk == 'kanon_weights' else '+ ' + kk[6:]}: {kx}")
    if "individual_risk" in info:
        r = info["individual_risk"]
        lines.append(
            f"individual risk (sdcMicro approx., release view): max {r['max']:.4f}, mean {r['mean']:.4f}, "
            f"p90 {r['p90']:.4f}, p99 {r['p99']:.4f}, records above 0.1: {r['above_0.1']}"
        )
    if "weights" in info:
        w = info["weights"]
        lines.append(
            f"weights: {w['solved']} of {w['mixed_classes']} mixed classes solved (verified {w.get('verified', '-')}, "
            f"wrong {w.get('wrong', '-')}); mix known for {w['known']} of {w['classes']} classes; "
            f"{w['unidentified']} mixed classes not identified ({w['model']}) {w.get('note', '')}"
        )
    if "order" in info:
        lines.append(f"order: {info['order']}")
    for g in info.get("small_groups", []):
        lines.append(
            f"small group {g['group']} n={g['size']}: {g['profile_cells']} pinned answer counts, "
            f"{g['candidates']} candidates, {g['fitting_sets']} fitting set(s), singled out: {g['singled_out']}"
        )
    if info.get("unsound"):
        lines.append(
            f"derivations the oracle contradicts (model assumption broken, not counted): {info['unsound'][:5]}"
        )
    if info.get("conflicts"):
        lines.append(f"inconsistent published facts: {info['conflicts'][:3]}")
    for a in ATTACKS:
        fs = [f for f in rep.findings if f.attack == a]
        if not fs:
            continue
        lines += ["", f"== {a} ({len(fs)}): {ATTACKS[a]}"]
        for f in fs[:limit]:
            lines.append(f"  - {f.title}")
            if f.proof:
                lines.append(f"      proof: {f.proof[:600]}")
            if f.facts:
                shown = "; ".join(
                    " = ".join(map(str, x[:2])) + (f" ({x[2]})" if len(x) > 2 and x[2] else "")
                    if isinstance(x, (list, tuple))
                    else str(x)
                    for x in f.facts[:8]
                )
                lines.append(f"      from: {shown}{' …' if len(f.facts) > 8 else ''}")
        if len(fs) > limit:
            lines.append(f"  … {len(fs) - limit} more (see --json)")
    lines += ["", "RESULT: " + ("FAIL - at least one attack succeeded" if rep.failed else "PASS - no attack succeeded")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.attacks.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("build", type=Path)
    ap.add_argument("--min-cell", type=int, default=None)
    ap.add_argument("--k", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--manifest", type=Path, default=None)
    ap.add_argument("--truth", type=Path, default=None)
    ap.add_argument("--export", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=12, help="findings shown per attack")
    a = ap.parse_args(argv)
    if not a.build.is_dir():
        print(f"{a.build}: not a directory", file=sys.stderr)
        return 2
    rep = attack(a.build, a.min_cell, a.k, a.manifest, a.truth, a.export)
    print(render(rep, a.limit))
    if a.json:
        a.json.write_text(json.dumps(rep.to_json(), indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
