"""Shared fixtures: a temporary copy of the repository in which the DAG can run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import iocheck
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def sample_size() -> int:
    """The published sample size (figures.csv, "respondents"): the reconstruction's analysed respondents."""
    from belmig.core import codebook, paths
    from belmig.integrity import published

    return published.sample_size(published.read_figures(paths.PUBLISHED_FIGURES, codebook.load()))


def chart_count() -> int:
    """The report's charts, as the codebook lists them (drawn by the one draw_charts job)."""
    from belmig.core import codebook

    return len(codebook.load().charts)


def repo_files(root: Path = REPO) -> list[str]:
    """Files a fresh clone would have plus uncommitted, non-ignored ones (never build outputs)."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    return [f for f in out.splitlines() if (root / f).is_file()]


def copy_repo(dest: Path) -> Path:
    for f in repo_files():
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, target)
    return dest


def dag_env(root: Path, trace: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["BELMIG_ROOT"] = str(root)
    env["PYTHONPATH"] = str(root / "src")
    env.pop("BELMIG_TRACE_IO", None)
    env.pop("BELMIG_TRACE_JOB", None)
    if trace is not None:
        env["BELMIG_TRACE_IO"] = str(trace)  # belmig.core.iotrace: every job records the files it opens
    return env


def run_snakemake(root: Path, *args: str, check: bool = True, trace: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", *args],
        cwd=root,
        env=dag_env(root, trace),
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        logs = ""
        for log in sorted((root / "logs").glob("*.log")):
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            logs += f"\n--- {log.name}\n{tail}"
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}{logs}")
    return proc


@dataclass(frozen=True)
class TracedBuild:
    root: Path  # the repository copy
    trace: Path  # the jobs' file-access traces (outside the copy)
    before: dict  # iocheck.snapshot of the copy before the build
    after: dict  # ... and right after it (later tests may edit the copy)


@pytest.fixture(scope="session")
def traced_build(tmp_path_factory) -> TracedBuild:
    """A full `snakemake` run in a temporary copy, every job's file accesses traced."""
    base = tmp_path_factory.mktemp("build")
    root = copy_repo(base / "repo")
    before = iocheck.snapshot(root)
    run_snakemake(root, trace=base / "trace")
    return TracedBuild(root, base / "trace", before, iocheck.snapshot(root))


@pytest.fixture(scope="session")
def built_repo(traced_build) -> Path:
    """A temporary copy of the repository after a full `snakemake` run (traced: tracing changes no
    output, which test_two_clean_builds_are_byte_identical checks against an untraced build)."""
    return traced_build.root


@pytest.fixture
def render_server(monkeypatch):
    """A private runtime folder, so a test gets its own render server (belmig.report.typstd, with
    pandocd's workers); yields a function listing the pids of the servers started there, and
    stops them afterwards."""
    import contextlib
    import signal
    import tempfile

    run_dir = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))  # a socket's path is < 108 bytes
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run_dir))
    monkeypatch.delenv("BELMIG_TYPST_SERVER", raising=False)
    monkeypatch.delenv("BELMIG_TRACE_IO", raising=False)

    def pids():
        out = []
        for log in (run_dir / "belmig-forkserver").glob("typst-*.log"):
            out += [int(line.rsplit("pid ", 1)[1].rstrip(")")) for line in log.read_text().splitlines()
                    if line.startswith("serving on")]  # fmt: skip
        return out

    yield pids
    for pid in pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
