"""Atomic file writes: write to a temporary file beside the target, then rename.

A failed or interrupted write leaves the previous file (or nothing), never half a file —
every stage's outputs go through here.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_via(path: Path | str, writer: Callable[[Path], Any]) -> Any:
    """Call ``writer(tmp_path)`` and rename the result to `path`; return what the writer returned.

    The temporary name ends in ``.tmp``: writers that infer a format from the suffix must name it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        result = writer(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
        return result
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path | str, data: bytes) -> None:
    write_via(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path | str, text: str) -> None:
    write_via(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def write_json(path: Path | str, obj: Any) -> None:
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
