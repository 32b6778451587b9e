"""Benchmarks of issues 9 and 17: print a results table and save it to benchmarks/results.md
(a whole run; a part of it, --only, is printed only).

    make bench                       # everything (several minutes)
    python benchmarks/run_all.py --only report
    python benchmarks/run_all.py --only scale --sizes 10000 100000
    python benchmarks/run_all.py --only preview   # make check, save -> HTML / PDF (bench_preview.py)

- floors (issue 17), measured in the same run, runs interleaved: U = one process importing pandas,
  matplotlib.pyplot and pyarrow.parquet; S = `snakemake --version`;
- report: in a temporary copy of the repository, the 335-respondent build with the command
  `make report` runs (`snakemake --cores 2`): cold (all outputs removed), no-op, after a
  text-only edit of report.qmd, after editing one chart's spec (specs/chart07.py: the log of the
  chart job must say chart 7 alone was redrawn, and the report must be rendered again);
- scale: synthetic exports of 10k / 100k / 1M respondents (synth scale mode), then
  ingest → clean → weight → all estimates in one process: wall time per step and peak memory;
- weighting: the project's raking vs a plain vectorised NumPy raking (benchmarks/bench_weighting.py).
Timings are medians of several runs (these machines are noisy); each target is a ratio to a floor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
from conftest import copy_repo, dag_env  # noqa: E402

BIN = Path(sys.executable).parent
# issue 17: (floor, at most this many floors); None = no time target (a behaviour is checked)
TARGETS = {
    "cold build": ("U", 10.0),
    "no-op build": ("S", 1.3),
    "text-only edit": ("U", 2.0),
    # issue 18: the same target for each translated edition's text (that edition alone re-renders)
    "text-only edit, lt": ("U", 2.0),
    "text-only edit, ru": ("U", 2.0),
    "one chart's spec edited": None,
}
SCALE_TARGET_S, SCALE_TARGET_MIB = 30.0, 3072
FLOOR_CMDS = {
    "U": [sys.executable, "-c", "import pandas, matplotlib.pyplot, pyarrow.parquet"],
    "S": [str(BIN / "snakemake"), "--version"],
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds of one command (and its result)."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return wall, proc


FLOOR_WALLS: dict[str, list[float]] = {k: [] for k in FLOOR_CMDS}


def sample_floors(runs: int = 1) -> None:
    """Time U and S `runs` times each, interleaved (U S U S …), into FLOOR_WALLS. The report
    benchmark samples them again after every build it times, so a drift of the machine's load
    during the run moves the floors too."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    for _ in range(runs):
        for name, cmd in FLOOR_CMDS.items():
            FLOOR_WALLS[name].append(timed(cmd, REPO, env)[0])


def current_floors() -> dict[str, float]:
    return {k: statistics.median(v) for k, v in FLOOR_WALLS.items()}


def floors(runs: int) -> dict[str, float]:
    """U and S after a file-cache warm-up and `runs` interleaved samples of each."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    for cmd in FLOOR_CMDS.values():
        timed(cmd, REPO, env)
    sample_floors(runs)
    return current_floors()


def stop_fork_servers() -> None:
    """Stop every warm server of this user (belmig.core.forkserver's job servers and
    belmig.report.typstd's Typst servers: a cold build has neither), and wait for them to go."""
    import signal

    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if (
                proc.stat().st_uid == os.getuid()
                and b"--serve" in cmd
                and any(c.endswith(b"forkserver.py") or c == b"belmig.report.typstd" for c in cmd)
            ):
                pids.append(int(proc.name))
        except OSError:
            continue
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if Path(f"/proc/{p}").exists()]
        time.sleep(0.05)


def bench_script(name: str, *args: str) -> str:
    """What benchmarks/`name` prints (run with this checkout's src/ first on the path)."""
    return subprocess.run(
        [sys.executable, str(HERE / name), *args],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
    ).stdout


def bench_report(runs: int, floor: dict[str, float]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_repo(Path(tmp) / "repo")
        env = dag_env(root)
        snake = [str(BIN / "snakemake"), "--cores", "2"]  # what `make report` runs
        outputs = [
            "data/processed",
            "data/release",
            "figures",
            "notebooks/executed",
            ".snakemake",
            "logs",
            "report/report.pdf",
            "report/report.html",
            "report/report.docx",
            *[f"report/report.{lang}.{ext}" for lang in ("lt", "ru") for ext in ("pdf", "html")],
            "report/_generated",
            "report/_variables.yml",
            "report/_build",
            "report/_build.lt",
            "report/_build.ru",
            "public_manifest.json",
            "data/raw/synthetic_export.csv",
            "data/raw/synthetic_export.csv.meta.yaml",
        ]

        def clear():
            stop_fork_servers()  # a cold build starts its own (belmig.core.forkserver)
            for o in outputs:
                p = root / o
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            (root / "figures").mkdir(exist_ok=True)

        def measure(name, prepare, n, check=None):
            walls = []
            for _ in range(n):
                prepare()
                wall, proc = timed(snake, root, env)
                walls.append(wall)
                if check is not None:
                    check(proc)
                sample_floors()
            med = statistics.median(walls)
            rows.append({"benchmark": name, "runs": n, "median_s": med, "min_s": min(walls), "max_s": max(walls)})

        measure("cold build", clear, max(1, runs // 2))
        measure("no-op build", lambda: None, runs)
        qmd = root / "report/report.qmd"
        measure(
            "text-only edit", lambda: qmd.write_text(qmd.read_text(encoding="utf-8") + "\n", encoding="utf-8"), runs
        )
        for lang in ("lt", "ru"):
            ed = root / f"report/report.{lang}.qmd"

            def alone(proc, lang=lang):
                said = proc.stderr + proc.stdout
                other = {"lt": "ru", "ru": "lt"}[lang]
                if (
                    f"wildcards: lang={lang}" not in said
                    or f"wildcards: lang={other}" in said
                    or "render_report" in said
                    or "render_edition" not in said
                ):
                    raise RuntimeError(
                        f"editing report.{lang}.qmd did not re-render that edition alone:\n{said[-3000:]}"
                    )

            measure(
                f"text-only edit, {lang}",
                lambda ed=ed: ed.write_text(ed.read_text(encoding="utf-8") + "\n", encoding="utf-8"),
                runs,
                alone,
            )
        spec = root / "src/belmig/charts/specs/chart07.py"

        def one_chart(proc):
            # chart 7 alone, in English (draw_charts) and in every edition's language (draw_edition_charts)
            log = (root / "logs/draw_charts.log").read_text(encoding="utf-8")
            other = (root / "logs/draw_edition_charts.log").read_text(encoding="utf-8")
            langs = [f"chart07.{lang}" for lang in ("lt", "ru")]
            if (
                "charts drawn: chart07\n" not in log
                or f"charts drawn: {' '.join(langs)}\n" not in other
                or "render_report" not in proc.stderr + proc.stdout
            ):
                raise RuntimeError(
                    f"editing specs/chart07.py did not redraw chart 7 alone and re-render:\n{log}{other}"
                )

        measure(
            "one chart's spec edited",
            lambda: spec.write_text(spec.read_text(encoding="utf-8") + "\n", encoding="utf-8"),
            runs,
            one_chart,
        )
    floor.update(current_floors())  # every sample of the run
    for row in rows:
        target = TARGETS[row["benchmark"]]
        if target is None:
            row |= {"ratio": None, "target": "redraws chart 7 alone, re-renders", "met": "yes"}
        else:
            unit, most = target
            ratio = row["median_s"] / floor[unit]
            met = "yes" if ratio <= most else "NO"
            row |= {"ratio": f"{ratio:.2f} {unit}", "target": f"≤ {most:g} {unit}", "met": met}
    return rows


def bench_scale(sizes: list[int]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # In a copy of the checkout, as the report's benchmark: the generator reads the audit's
        # bases (rule audit_published), which a fresh clone has not built yet.
        root = copy_repo(Path(tmp) / "repo")
        env = dag_env(root)
        subprocess.run(
            [str(BIN / "snakemake"), "--cores", "2", "data/processed/audit_bases.csv"],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        for n in sizes:
            csv = Path(tmp) / f"scale_{n}.csv"
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "belmig.synth", "--out", str(csv), "--scale-n", str(n)],
                cwd=root,
                env=env,
                check=True,
                capture_output=True,
            )
            gen = time.perf_counter() - t
            proc = subprocess.run(
                [sys.executable, str(HERE / "scale_pipeline.py"), str(csv)],
                cwd=root,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(
                {
                    "respondents": n,
                    "generate_s": round(gen, 2),
                    **res,
                    "target_s": SCALE_TARGET_S if n == 1_000_000 else None,
                    "target_mib": SCALE_TARGET_MIB if n == 1_000_000 else None,
                }
            )
            csv.unlink()
    return rows


def table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else ("—" if v is None else str(v))  # noqa: E731
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def verdicts(report: list[dict], scale: list[dict], floor: dict[str, float]) -> list[str]:
    lines = []
    if floor:
        n = len(FLOOR_WALLS["U"])
        lines.append(f"- floors: U = {floor['U']:.2f} s, S = {floor['S']:.2f} s (medians of {n} interleaved runs each)")
    for r in report:
        lines.append(f"- {r['benchmark']}: median {r['median_s']:.2f} s" + (f" = {r['ratio']}" if r["ratio"] else "")
                     + f" (target {r['target']}) — " + ("met" if r["met"] == "yes" else "MISSED"))  # fmt: skip
    for r in scale:
        if r["target_s"]:
            lines.append(
                f"- 1M respondents: {r['total']:.1f} s (target {SCALE_TARGET_S:.0f} s), peak {r['peak_mib']:.0f} MiB "
                f"(target {SCALE_TARGET_MIB} MiB) — "
                + ("met" if r["total"] <= SCALE_TARGET_S and r["peak_mib"] <= SCALE_TARGET_MIB else "MISSED")
            )
    by_n = {r["respondents"]: r for r in scale}
    if 100_000 in by_n and 1_000_000 in by_n:
        ratio = by_n[1_000_000]["total"] / by_n[100_000]["total"]
        lines.append(
            f"- growth 100k → 1M: {ratio:.1f}x time for 10x rows ({'linear or better' if ratio <= 10.5 else 'worse than linear'})"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["report", "scale", "weighting", "preview"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    a = ap.parse_args()
    floor = floors(a.runs) if a.only in (None, "report") else {}
    if floor:
        print(f"U = {floor['U']:.2f} s, S = {floor['S']:.2f} s", flush=True)
    report = bench_report(a.runs, floor) if a.only in (None, "report") else []
    scale = bench_scale(a.sizes) if a.only in (None, "scale") else []
    weighting = ""
    if a.only in (None, "weighting") and (HERE / "bench_weighting.py").exists():
        weighting = bench_script("bench_weighting.py")
    preview = ""
    if a.only in (None, "preview") and (HERE / "bench_preview.py").exists():  # needs a built ledger
        if (REPO / "data/processed/ledger.json").is_file():
            preview = bench_script("bench_preview.py", "--rounds", str(max(5, a.runs)))
        else:
            preview = "## The editor's loop: make check and make preview (issue 15)\n\nNot measured: it needs this checkout's build (`make report`; `make bench` builds it first)."
            print(preview, flush=True)
    text = "\n\n".join(
        filter(
            None,
            [
                "# Benchmark results",
                f"Machine: {machine()}",
                f"Command: `python benchmarks/run_all.py {' '.join(sys.argv[1:])}`".strip(),
                f"Floors (issue 17, same run): U = {floor['U']:.2f} s (python -c 'import pandas, "
                f"matplotlib.pyplot, pyarrow.parquet'), S = {floor['S']:.2f} s (snakemake --version)"
                if floor
                else "",
                "## The 335-respondent report (seconds, wall clock, median of runs)" if report else "",
                table(report),
                "## Scale: raw CSV → every estimate (one process)" if scale else "",
                table(scale),
                "## Weighting vs a plain NumPy raking" if weighting else "",
                f"```\n{weighting.strip()}\n```" if weighting else "",
                "## The editor's loop: make check and make preview (issue 15)" if preview else "",
                preview.strip(),
                "## Against the targets",
                "\n".join(verdicts(report, scale, floor)),
            ],
        )
    )
    print(text)
    # results.md is the record of a whole run: one part (--only) alone is printed, not saved over it
    if a.only is None:
        (HERE / "results.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
