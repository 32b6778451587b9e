"""``python -m belmig.synth``: inputs to the export frame (:func:`build`), then the files (:func:`main`)."""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from belmig.core import paths
from belmig.core.codebook import Codebook
from belmig.synth.counts import targets
from belmig.synth.export import to_export, write_export
from belmig.synth.noise import add_noise_rows
from belmig.synth.respondents import generate, generate_scaled


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build(
    codebook: Codebook,
    figures: Path,
    assumed: Path,
    bases: Path,
    seed: int,
    scale_n: int | None,
    codebook_path: Path | None = None,
    timings: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Inputs -> export frame (with provenance in ``attrs["synth"]``); phase times go to `timings`."""
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        if timings is not None:
            timings[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)  # noqa: E731
    t = targets(codebook, read(figures), read(assumed), read(bases))
    lap("targets")
    resp = generate(codebook, t, seed) if scale_n is None else generate_scaled(codebook, t, scale_n, seed)
    lap("generate")
    rows = add_noise_rows(resp, codebook, seed, exact=scale_n is None, reference_n=t.n)
    lap("noise")
    df = to_export(rows, codebook)
    lap("export")
    info = df.attrs["synth"]
    info["mode"] = "reconstruction" if scale_n is None else f"scale (n={scale_n})"
    info["inputs"] = {paths.shown(p): _sha(p) for p in (figures, assumed, bases, Path(codebook_path or paths.CODEBOOK))}
    info["unmet_figures"] = [
        {
            "figure": u.figure,
            "printed": u.printed,
            "comparator": u.comparator,
            "synthetic": round(u.achieved, 4),
            "reason": u.reason,
        }
        for u in t.unmet
    ]
    derived = {(q, by, lv): src for q, by, lv, o, src in t.sources if o == "(base)"}
    info["subgroup_cells"] = [
        {
            "question": c.question,
            "by": c.by,
            "level": c.level,
            "base": c.base,
            "base_from": "assumed.csv (" + derived[c.key] + ")" if c.key in derived else "audit_bases.csv",
        }
        for c in t.cells
        if c.by and c.kind != "code"
    ]
    if scale_n is None:
        info["adjustments"] = [
            {
                "question": a.question,
                "by": a.by,
                "level": a.level,
                "option": a.option,
                "start": a.start,
                "final": a.final,
                "reason": a.reason,
            }
            for a in t.adjustments
        ]
    return df


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m belmig.synth --out PATH [--scale-n N] [--seed S] [--figures F] [--assumed A] [--bases B]``"""
    from belmig.core import codebook as codebook_mod, config

    ap = argparse.ArgumentParser(prog="python -m belmig.synth", description="Write the SYNTHETIC raw export.")
    ap.add_argument("--out", type=Path, required=True, help="CSV to write (a .meta.yaml sidecar goes next to it)")
    ap.add_argument("--scale-n", type=int, default=None, help="respondents in scale mode (benchmarks)")
    ap.add_argument("--seed", type=int, default=None, help="seed (default: the seed in config/config.yaml)")
    ap.add_argument("--figures", type=Path, default=paths.PUBLISHED_FIGURES)
    ap.add_argument("--assumed", type=Path, default=paths.ASSUMED_FIGURES)
    ap.add_argument("--bases", type=Path, default=paths.PROCESSED / "audit_bases.csv")
    ap.add_argument("--codebook", type=Path, default=paths.CODEBOOK)
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else int(config.load()["seed"])
    t0 = time.perf_counter()
    cb = codebook_mod.load(a.codebook)
    timings: dict[str, float] = {}
    df = build(cb, a.figures, a.assumed, a.bases, seed, a.scale_n, a.codebook, timings)
    t1 = time.perf_counter()
    write_export(df, a.out)
    timings["write"] = time.perf_counter() - t1
    info = df.attrs["synth"]
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    print(
        f"SYNTHETIC export: {len(df)} rows ({info['genuine']} respondents + {sum(info['noise'].values())} noise) "
        f"-> {a.out} [{time.perf_counter() - t0:.1f} s: {phases}]"
    )
    for u in info["unmet_figures"]:
        print(f"note: figure {u['figure']} ({u['printed']}) is not reproduced: {u['synthetic']} ({u['reason']})")
