"""Compare the files each job of the DAG opened (belmig.core.iotrace) with its rule's declared files.

Used by tests/test_io_declared.py; also a tool: after a traced build,

    python tests/iocheck.py <repo copy> <trace dir>

prints every finding. owid/etl fails a step that reads a dataset it did not declare; this does the
same for Snakemake jobs, in four checks per job:

- ``undeclared read``: a file inside the repository the job read that is neither a declared input
  nor one of its own outputs (Python source under ``src/`` excepted: imports are code, which the
  rules declare only where it matters, e.g. the chart and synthesizer code);
- ``undeclared write``: a file the job left behind that is not a declared output (temporary files
  renamed into place or removed are not left behind; ``logs/`` and ``.snakemake/`` are Snakemake's);
- ``unread input``: a declared input the job never opened (it reruns the job for nothing);
- ``not from the command``: a file the job read whose path its command line (arguments and
  notebook parameters) does not name, i.e. a default path in code instead of the rule's input;
  ``output not from the command``: the same for a declared output the job wrote (a folder the
  command names, ``--out-dir``, names the files in it); ``output written in place``: a declared
  output opened for writing where it ends up rather than renamed into place (belmig.core.atomic),
  so a failure leaves half a file.

A fifth check covers what the trace cannot attribute: every file the build created or changed must
be a declared output of some job.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import dryrun  # noqa: E402
from dryrun import Job  # noqa: E402

# Snakemake's own folders, and the jobs' logs (declared with `log:`, written by the shell redirect).
SNAKEMAKE_DIRS = (".snakemake", "logs")


@dataclass
class Access:
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    in_place: set[str] = field(default_factory=set)  # written where they end up, not renamed into place
    argv: list[str] | None = None
    execs: list[list[str] | str] = field(default_factory=list)


parse_dry_run = dryrun.parse


def read_traces(trace_dir: Path) -> dict[str, list[tuple[bool, list[dict]]]]:
    """Trace records per job id: a list of (is the job's first process, records) per process."""
    jobs: dict[str, list[tuple[bool, list[dict]]]] = defaultdict(list)
    for f in sorted(trace_dir.glob("*.jsonl")):
        records = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        if records and records[0]["ev"] == "start":
            jobs[records[0]["job"]].append((records[0]["root"], records))
    return jobs


def _inside(path: str, root: str) -> str | None:
    real = os.path.realpath(path)
    return os.path.relpath(real, root) if real == root or real.startswith(root + os.sep) else None


def access(processes: list[tuple[bool, list[dict]]], root: Path) -> Access:
    """Files (relative to root) a job read and left written, over all its processes.

    Per process, in order: a write adds a file, a rename moves it (a temporary file or folder
    renamed into place counts as its target only), a removal forgets it; a read of a file the job
    wrote itself is not an input. Folders, and paths that no longer exist after the build (failed
    lookups, temporary files removed by another process), are neither read nor written files.
    """
    root_s = os.path.realpath(root)
    acc = Access()
    for is_root, records in processes:
        written: set[str] = set()
        renamed: set[str] = set()  # arrived by a rename (last)
        for r in records:
            ev = r["ev"]
            if ev == "start":
                if is_root:
                    acc.argv = r["argv"]
            elif ev == "exec":
                acc.execs.append(r["args"])
            elif ev == "read":
                p = _inside(r["path"], root_s)
                if p is not None and p not in written:
                    acc.reads.add(p)
            elif ev == "write":
                p = _inside(r["path"], root_s)
                if p is not None:
                    written.add(p)
                    renamed.discard(p)
            elif ev == "rename":
                src, dst = _inside(r["src"], root_s), _inside(r["dst"], root_s)
                moved = {p for p in written if src is not None and (p == src or p.startswith(src + "/"))}
                written -= moved
                renamed -= moved
                if dst is not None:
                    arrived = {dst + p[len(src) :] for p in moved} | {dst}
                    written |= arrived
                    renamed |= arrived
            elif ev == "remove":
                written.discard(_inside(r["path"], root_s))
        acc.writes |= written
        acc.in_place |= written - renamed
    acc.reads -= acc.writes
    acc.reads = {p for p in acc.reads if (root / p).is_file()}
    acc.writes = {p for p in acc.writes if (root / p).is_file()}
    acc.in_place &= acc.writes
    return acc


def _ignored(path: str) -> bool:
    first = path.split("/", 1)[0]
    return first in SNAKEMAKE_DIRS or (path.startswith("src/") and (path.endswith(".py") or "/__pycache__/" in path))


def _named(path: str, argv: list[str], folders: bool = False) -> bool:
    """Whether the command names `path`: as an argument, or inside a JSON argument (notebook
    parameters); with `folders`, also a folder it is in (``--out-dir figures``)."""
    words: list[str] = []

    def collect(v) -> None:
        if isinstance(v, str):
            words.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                collect(x)
        elif isinstance(v, list):
            for x in v:
                collect(x)

    for a in argv:
        words.append(a)
        if a[:1] in "[{":
            with contextlib.suppress(ValueError):
                collect(json.loads(a))
    # an option's value ("--template=report/template.typ"), and a file's sidecar (<file>.meta.yaml,
    # <stem>.meta.yaml: read by the code that reads the file)
    words += [w.split("=", 1)[1] for w in words if w.startswith("-") and "=" in w]
    names = {os.path.normpath(w) for w in words if w}
    if path.endswith(".meta.yaml"):
        base = path[: -len(".meta.yaml")]
        return base in names or any(os.path.splitext(n)[0] == base for n in names)
    if folders and any(path.startswith(n.rstrip("/") + "/") for n in names if n not in (".", "")):
        return True
    return path in names


@dataclass(frozen=True)
class Finding:
    job: str
    kind: str  # "undeclared read" | "undeclared write" | "unread input" | "(output) not from the command"
    path: str

    def __str__(self) -> str:
        return f"{self.job}: {self.kind} {self.path}"


def output_files(job: Job, root: Path) -> set[str]:
    """The files a job's declared outputs are after the build: a ``directory()`` output (a folder
    on disk; the dry run prints it as a bare path) stands for every file in it, Snakemake's
    ``.snakemake_timestamp`` marker included."""
    out = set()
    for o in map(os.path.normpath, job.outputs):
        folder = root / o
        if folder.is_dir():
            out |= {p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file()}
        else:
            out.add(o)
    return out


def check_jobs(jobs: list[Job], traces: dict, root: Path) -> tuple[list[Finding], dict[str, Access]]:
    """The findings of the four per-job checks, and each job's accesses. A job without a trace, or
    a trace without a job, is itself a finding."""
    by_argv = {}
    for job_id, procs in traces.items():
        acc = access(procs, root)
        if acc.argv is None:
            raise AssertionError(f"trace {job_id} has no first process")
        by_argv[tuple(acc.argv[1:])] = acc
    findings: list[Finding] = []
    seen: dict[str, Access] = {}
    for job in jobs:
        acc = by_argv.pop(tuple(job.argv()), None)
        if acc is None:
            findings.append(Finding(job.name, "no trace for", job.command))
            continue
        seen[job.name] = acc
        inputs, outputs = set(map(os.path.normpath, job.inputs)), output_files(job, root)
        # a folder input (another rule's directory() output) stands for the files in it
        in_dirs = {p for p in inputs if (root / p).is_dir()}
        in_files = {r for r in acc.reads if any(r.startswith(d + "/") for d in in_dirs)}
        for p in sorted(acc.reads - inputs - in_files - outputs):
            if not _ignored(p):
                findings.append(Finding(job.name, "undeclared read", p))
        for p in sorted(acc.writes - outputs):
            if not _ignored(p):
                findings.append(Finding(job.name, "undeclared write", p))
        for p in sorted(inputs - acc.reads):
            if p in in_dirs and any(r.startswith(p + "/") for r in acc.reads):
                continue
            if not any(_named(p, cmd) for cmd in acc.execs if isinstance(cmd, list)):  # a subprocess got it
                findings.append(Finding(job.name, "unread input", p))
        for p in sorted(acc.reads - outputs):
            if not _ignored(p) and not p.startswith("src/") and not _named(p, acc.argv[1:], folders=p in in_files):
                findings.append(Finding(job.name, "not from the command", p))
        for p in sorted(acc.writes & outputs):
            if not _named(p, acc.argv[1:], folders=True):
                findings.append(Finding(job.name, "output not from the command", p))
        for p in sorted(acc.in_place & outputs):
            findings.append(Finding(job.name, "output written in place", p))
    for argv in by_argv:
        findings.append(Finding("?", "trace of no job", shlex.join(argv)))
    return findings, seen


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under root, Snakemake's folders aside."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SNAKEMAKE_DIRS]
        for f in filenames:
            p = os.path.join(dirpath, f)
            st = os.stat(p)
            out[os.path.normpath(os.path.join(rel_dir, f))] = (st.st_size, st.st_mtime_ns)
    return out


def changed_files(before: dict, after: dict) -> set[str]:
    return {p for p, v in after.items() if before.get(p) != v}


def main(argv: list[str]) -> int:
    root, trace_dir = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    jobs = dryrun.jobs(root)
    findings, _ = check_jobs(jobs, read_traces(trace_dir), root)
    for f in findings:
        print(f)
    print(f"{len(jobs)} jobs, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
