"""The jobs of the DAG as Snakemake's dry run prints them: rule, input, output, log, wildcards, command.

Used by tools/architecture.py (the stage table of docs/architecture.md) and tests/iocheck.py (the
declared-inputs test). ``snakemake -n --printshellcmds --forceall`` is Snakemake's public view of
the jobs; this parses its text (Snakemake 9). Snakemake annotates some files after their path
(``report/report.pdf (update)``, ``x (pipe)``: snakemake.io.fmt.fmt_iofile); the annotation is
dropped from the path and kept in :attr:`Job.flags`. A ``directory()`` output is printed as its
bare path: what it is shows only on disk (tests/iocheck.py looks).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The annotations snakemake.io.fmt.fmt_iofile appends to a path in a job's input and output lines.
ANNOTATION_RE = re.compile(r" \((update|before update|pipe|service|nodelocal|cached|access: [^()]*)\)$")


def split_annotation(item: str) -> tuple[str, str | None]:
    """``"report/report.pdf (update)"`` → ``("report/report.pdf", "update")``; a bare path → (path, None)."""
    m = ANNOTATION_RE.search(item)
    return (item[: m.start()], m.group(1)) if m else (item, None)


@dataclass
class Job:
    rule: str
    inputs: list[str]
    outputs: list[str]
    log: list[str]
    wildcards: str
    command: str
    flags: dict[str, str] = field(default_factory=dict)  # path -> Snakemake's annotation ("update")

    @property
    def name(self) -> str:
        return f"{self.rule}[{self.wildcards}]" if self.wildcards else self.rule

    def argv(self) -> list[str]:
        """The command's words after "$PYTHON", up to the first redirection or pipe (the log).
        What comes before "$PYTHON" (``nice -n 10``, the thread counts' ``export …;``) is left out."""
        words = shlex.split(self.command)
        if "$PYTHON" in words:
            words = words[words.index("$PYTHON") :]
        for i, w in enumerate(words):
            if w in ("|", "||", "&&", ";") or w.startswith((">", "2>")):
                words = words[:i]
                break
        return words[1:]


def parse(text: str) -> list[Job]:
    """The jobs of a dry run's text; rule ``all`` and other command-less jobs left out."""
    jobs = []
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", text):
        m = re.search(r"^(?:local)?rule (\w+):\n(.*?)^Shell command: ([^\n]*)$", block, re.M | re.S)
        if not m or m.group(3) == "None":
            continue
        fields = dict(re.findall(r"^    (\w+): (.*)$", m.group(2), re.M))
        flags: dict[str, str] = {}

        def files(key: str, fields=fields, flags=flags) -> list[str]:
            out = []
            for item in filter(None, fields.get(key, "").split(", ")):
                path, flag = split_annotation(item)
                if flag:
                    flags[path] = flag
                out.append(path)
            return out

        jobs.append(
            Job(
                m.group(1),
                files("input"),
                files("output"),
                files("log"),
                fields.get("wildcards", ""),
                m.group(3),
                flags,
            )
        )
    return jobs


def jobs(root: Path, *args: str, snakemake: str | None = None) -> list[Job]:
    """Dry-run every job of the DAG in `root` (with `args`, e.g. targets or --config) and parse it."""
    exe = snakemake or str(Path(sys.executable).with_name("snakemake"))
    cmd = [exe, "-n", "--printshellcmds", "--forceall", "--cores", "1", "--workflow-profile", "none", *args]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return parse(proc.stdout + proc.stderr)
