"""The public manifest: every file of a build that leaves it, with its checksum.

``public_manifest.json`` at the repository root::

    {"version": 1,
     "files": [{"path": "report/report.pdf", "sha256": "...", "bytes": 1251667, "audience": "public"},
               {"path": "notebooks/executed/index.html", "sha256": "...", "bytes": 20131, "audience": "reviewer"}]}

Paths are relative to the root, in sorted order; ``audience`` is "public" (readers: the report,
its values, the charts, the released microdata) or "reviewer" (the executed stage notebooks and
their index). The rule ``list_public_files`` writes it from its inputs, which are exactly these
files; :func:`extend` adds a file made after the build (``snakemake --report`` bundle, see the
Makefile's ``bundle`` target). Anything in a public folder that the manifest does not list is a
finding of the attack suite (``manifest.unlisted``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from belmig.core import atomic, paths

VERSION = 1
AUDIENCES = ("public", "reviewer")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry(path: Path | str, audience: str) -> dict[str, Any]:
    if audience not in AUDIENCES:
        raise ValueError(f"manifest: audience must be one of {AUDIENCES}, got {audience!r}")
    p = Path(path)
    full = p if p.is_absolute() else paths.ROOT / p
    if not full.is_file():
        raise FileNotFoundError(f"manifest: {p} is not a file")
    rel = paths.rel(full)
    return {"path": rel, "sha256": sha256(full), "bytes": full.stat().st_size, "audience": audience}


def build(public: Iterable[Path | str], reviewer: Iterable[Path | str] = ()) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    for audience, group in (("public", public), ("reviewer", reviewer)):
        for p in group:
            e = entry(p, audience)
            prev = files.get(e["path"])
            if prev is not None and prev["audience"] != audience:
                e["audience"] = "public"  # a file both audiences receive is public
            files[e["path"]] = e
    return {"version": VERSION, "files": [files[k] for k in sorted(files)]}


def write(out: Path | str, public: Iterable[Path | str], reviewer: Iterable[Path | str] = ()) -> dict[str, Any]:
    m = build(public, reviewer)
    atomic.write_text(Path(out), json.dumps(m, ensure_ascii=False, indent=1) + "\n")
    return m


def read(path: Path | str) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("version") != VERSION or not isinstance(data.get("files"), list):
        raise ValueError(f"{path}: not a version-{VERSION} public manifest")
    return data


def extend(path: Path | str, add: Iterable[Path | str], audience: str = "public") -> dict[str, Any]:
    """Add files (or refresh their checksums) in an existing manifest."""
    data = read(path)
    files = {e["path"]: e for e in data["files"]}
    for p in add:
        e = entry(p, audience)
        files[e["path"]] = e
    data["files"] = [files[k] for k in sorted(files)]
    atomic.write_text(Path(path), json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return data
