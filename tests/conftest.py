"""Shared fixtures: a temporary copy of the repository in which the DAG can run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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


def dag_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["BELMIG_ROOT"] = str(root)
    env["PYTHONPATH"] = str(root / "src")
    return env


def run_snakemake(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", *args], cwd=root, env=dag_env(root), capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        logs = ""
        for log in sorted((root / "logs").glob("*.log")):
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            logs += f"\n--- {log.name}\n{tail}"
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}{logs}")
    return proc


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory) -> Path:
    """A temporary copy of the repository after a full `snakemake` run."""
    root = copy_repo(tmp_path_factory.mktemp("build") / "repo")
    run_snakemake(root)
    return root
