"""``python -m belmig.charts --chart 1 2 … 18 --estimates data/processed/estimates.parquet --lang en
--ci-whiskers 0 --dpi 200 --min-cell 5 --out-dir figures [--state data/processed/charts_state.json]``
writes figures/chartNN.{svg,png,alt.txt,json} for each chart (the PNG in the first language only).

All charts are drawn by one job (rules/charts.smk): matplotlib's and pandas' imports are paid
once, not once per chart. ``--jobs 2`` (the English charts, which the report waits for) forks a
second process after the estimates are read, and each draws every other chart.

With ``--state``, a chart is redrawn only when what it is drawn from changed: its spec module,
the shared chart code, the codebook, the options and its own slice of the estimates (the
selected points) are hashed into a key, and the state file keeps each chart's key and the
checksums of the files it wrote. A chart whose key and files
are unchanged is left as it is, so editing ``specs/chart07.py`` redraws chart 7 alone. Every
output is touched at the end (the job's outputs are all newer than its inputs afterwards).

Several languages (``--lang en lt ru``): the first one's files are ``chartNN.svg`` …, each other
language's ``chartNN.<lang>.svg`` …. Only the first language gets a PNG: the DOCX (English, rule
render_report) shows it; the PDF and every HTML edition show the SVG. ``--draw`` restricts the
job to some of them (the build draws the first language in one job, which the report waits for,
and the editions' languages in another beside it, niced).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from belmig.charts.strings import LANGS
from belmig.core import atomic, codebook as codebook_mod, paths

SUFFIXES = (".svg", ".png", ".alt.txt", ".json")
CHARTS_DIR = Path(__file__).resolve().parent
# Code every chart's drawing depends on, besides the chart's own spec module (this one included:
# it decides what is drawn with which options).
SHARED_CODE = (
    "__init__.py",
    "base.py",
    "build.py",
    "cli.py",
    "protect.py",
    "strings.py",
    "theme.py",
    "specs/__init__.py",
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m belmig.charts", description="Draw report charts from the estimates.")
    p.add_argument("--chart", type=int, nargs="+", required=True, metavar="N", help="chart number(s), 1–18")
    p.add_argument("--estimates", type=Path, required=True, help="estimates.parquet")
    p.add_argument(
        "--lang", choices=LANGS, nargs="+", required=True, help="label language(s); the first is chartNN.svg"
    )
    p.add_argument("--ci-whiskers", type=int, choices=(0, 1), required=True, help="1 = 95%% CI whiskers (weighted)")
    p.add_argument("--dpi", type=int, required=True, help="PNG resolution")
    p.add_argument("--min-cell", type=int, required=True, help="privacy.min_cell: smaller bars are merged or hidden")
    p.add_argument("--out-dir", type=Path, required=True, help="directory of chartNN.svg/.png/.alt.txt/.json")
    p.add_argument("--codebook", type=Path, default=paths.CODEBOOK, help="codebook (default: config/codebook.yaml)")
    p.add_argument("--state", type=Path, help="keys of the charts drawn last (redraw only what changed)")
    p.add_argument("--jobs", type=int, default=1, help="processes that draw (default 1)")
    p.add_argument("--draw", choices=LANGS, nargs="+", help="draw only these of --lang (default: every one)")
    return p


def stems(out_dir: Path, number: int, langs: list[str]) -> dict[str, Path]:
    """{lang: figures/chartNN[.lang]} — the first language has no suffix."""
    return {lang: out_dir / (f"chart{number:02d}" + ("" if i == 0 else f".{lang}")) for i, lang in enumerate(langs)}


def outputs(stem: Path, png: bool = True) -> list[Path]:
    """The files of one chart in one language: SVG, PNG (when `png`), alt text, JSON record."""
    return [stem.with_name(stem.name + s) for s in SUFFIXES if png or s != ".png"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chart_key(number: int, data_repr: str, code: bytes, codebook: bytes, options: dict) -> str:
    """What one chart in one language is drawn from, as one digest."""
    spec = (CHARTS_DIR / "specs" / f"chart{number:02d}.py").read_bytes()
    parts = [spec, code, codebook, json.dumps(options, sort_keys=True).encode(), data_repr.encode()]
    return _sha(b"\0".join(_sha(p).encode() for p in parts))


def _files_digest(files: list[Path]) -> dict[str, str] | None:
    if not all(f.is_file() for f in files):
        return None
    return {f.name: _sha(f.read_bytes()) for f in files}


def in_processes(tasks: list[tuple], work, jobs: int) -> dict[str, dict]:
    """``{task[0]: work(task)}`` for every task, in `jobs` processes: this one and jobs − 1 forked
    (each takes every jobs-th task: neighbouring charts cost about the same). A task that fails
    fails the whole job, naming its chart; the others still finish."""
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        return {t[0]: work(t) for t in tasks}
    import traceback

    children = []
    for i in range(1, jobs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # a drawing process: its share, then its records on the pipe
            os.close(r)
            code, name = 0, None
            try:
                out = {}
                for t in tasks[i::jobs]:
                    name = t[0]
                    out[name] = work(t)
                reply = {"records": out}
            except BaseException as exc:  # reported by the parent, with the chart's name
                code = 1
                reply = {"error": f"{name}: {exc}", "trace": traceback.format_exc()}
            with os.fdopen(w, "w", encoding="utf-8") as f:
                json.dump(reply, f)
            sys.stdout.flush()  # what it printed (os._exit flushes nothing)
            sys.stderr.flush()
            os._exit(code)
        os.close(w)
        children.append((pid, r))
    error = None
    try:
        records = {t[0]: work(t) for t in tasks[0::jobs]}
    except BaseException as exc:
        error, records = exc, {}
    for pid, r in children:
        with os.fdopen(r, encoding="utf-8") as f:
            text = f.read()
        os.waitpid(pid, 0)
        reply = json.loads(text) if text else {"error": "a drawing process ended without a word", "trace": ""}
        if "error" in reply:
            sys.stderr.write(reply["trace"])
            error = error or RuntimeError(reply["error"])
        else:
            records.update(reply["records"])
    if error is not None:
        raise error
    return records


def load_state(path: Path | None) -> dict:
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("charts", {})
    except (ValueError, AttributeError):
        return {}  # an unreadable state only means every chart is redrawn


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import pandas as pd

    from belmig.charts import base, specs
    from belmig.charts.build import draw

    langs = list(dict.fromkeys(args.lang))
    wanted = set(args.draw or langs)
    if not wanted <= set(langs):
        raise SystemExit(f"--draw {' '.join(sorted(wanted - set(langs)))}: not among --lang {' '.join(langs)}")
    cb_bytes = Path(args.codebook).read_bytes()
    cb = codebook_mod.load(args.codebook)
    est = pd.read_parquet(args.estimates)
    # the charts read no attrs (level plan, question types), and pandas deep-copies them on every
    # selection: 900 copies, 0.3 s of 18 charts
    est.attrs = {}
    code = b"".join(_sha((CHARTS_DIR / m).read_bytes()).encode() for m in SHARED_CODE)
    options = {"ci_whiskers": bool(args.ci_whiskers), "dpi": args.dpi, "min_cell": args.min_cell}
    old, new = load_state(args.state), {}
    drawn, kept = [], []
    todo = []  # (name, what draw() is given), in chart and language order
    for n in args.chart:
        spec = specs.load(n)
        for lang, stem in stems(args.out_dir, n, langs).items():
            if lang not in wanted:
                continue
            name = stem.name
            data = base.select(spec, est, cb, lang=lang, ci_whiskers=bool(args.ci_whiskers), min_cell=args.min_cell)
            key = chart_key(n, repr(data), code, cb_bytes, {**options, "lang": lang})
            first = lang == langs[0]
            files = outputs(stem, png=first)
            prev = old.get(name)
            if args.state is not None and prev and prev.get("key") == key and _files_digest(files) == prev["files"]:
                new[name] = prev
                kept.append(name)
                continue
            todo.append((name, key, files, {
                "number": n, "lang": lang, "out_svg": files[0], "out_png": files[1] if first else None,
                "out_alt": files[-2], "out_data": files[-1],
            }))  # fmt: skip

    def draw_one(task) -> dict:
        name, key, files, what = task
        n = what["number"]
        draw(
            n, est, cb, lang=what["lang"], ci_whiskers=bool(args.ci_whiskers), dpi=args.dpi,
            out_svg=what["out_svg"], out_png=what["out_png"], out_alt=what["out_alt"], out_data=what["out_data"],
            min_cell=args.min_cell,
        )  # fmt: skip
        return {"key": key, "files": _files_digest(files)}

    records = in_processes(todo, draw_one, args.jobs)
    for name, *_ in todo:
        new[name] = records[name]
        drawn.append(name)
    if args.state is not None:
        state = {"charts": dict(sorted(new.items()))}
        atomic.write_text(args.state, json.dumps(state, indent=1, sort_keys=True) + "\n")
        for name in new:  # every output of the job is newer than its inputs now
            for f in outputs(args.out_dir / name, png="." not in name):
                os.utime(f)
        os.utime(args.state)
    print(f"charts drawn: {' '.join(drawn) or 'none'}", file=sys.stderr)
    print(f"charts unchanged (not redrawn): {' '.join(kept) or 'none'}", file=sys.stderr)
    return 0
