"""Atomic file writes: write to a temporary file beside the target, then rename.

A failed or interrupted write leaves the previous file (or nothing), never half a file. Every
stage's outputs go through here, so every output gets the same mode: what ``open()`` would give a
new file (0644 under the usual umask 022; ``tempfile`` alone would give 0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Writer = Callable[[Path], Any]


def _umask() -> int:
    """The process's umask, read without changing it (os.umask sets it, a race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0o666 minus the umask."""
    return 0o666 & ~_umask()


def _temp_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp_name)


def write_all(targets: Sequence[tuple[Path | str, Writer]]) -> list[Any]:
    """Call each ``writer(tmp_path)``; only when all succeeded, rename every temporary file onto its
    target (so a failure in any writer leaves all the previous files). Returns the writers' results.

    The temporary names end in ``.tmp``: writers that infer a format from the suffix must name it.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        results = []
        for path, writer in targets:
            path = Path(path)
            tmp = _temp_beside(path)
            staged.append((tmp, path))
            results.append(writer(tmp))
        mode = file_mode()
        for tmp, _ in staged:
            os.chmod(tmp, mode)
        for tmp, path in staged:
            os.replace(tmp, path)
        return results
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def write_via(path: Path | str, writer: Writer) -> Any:
    """Call ``writer(tmp_path)`` and rename the result to `path`; return what the writer returned."""
    return write_all([(path, writer)])[0]


def write_bytes(path: Path | str, data: bytes) -> None:
    write_via(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path | str, text: str) -> None:
    write_via(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def write_text_if_changed(path: Path | str, text: str) -> bool:
    """Write `text` unless the file already holds exactly it (its bytes, and so its checksum for
    Snakemake, stay put: files the Snakefile writes when it parses). True when it was written."""
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    return True


def write_json(path: Path | str, obj: Any) -> None:
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
