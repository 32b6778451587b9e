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

The rule re-runs whenever one of its 212 files changes: after a text edit, the 3 renders of one
edition. ``hashes`` (:class:`Hashes`, ``.snakemake/belmig/file_hashes.json``, Snakemake's scratch
folder, never an output) keeps each file's checksum with what ``stat`` said of it, as git's index
does: a file whose device, inode, size, modification and change times (nanoseconds) are those
recorded is not read again, unless it changed less than :data:`RACY_NS` before the record was
written (a write within the file system's clock tick leaves its times as they were). The same
manifest, hashed again only where a file changed: 27 → ~5 ms of the edit's manifest job.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from belmig.core import atomic, paths, statrecord

VERSION = 1
AUDIENCES = ("public", "reviewer")
RACY_NS = statrecord.RACY_NS  # a record trusts only the files unchanged this long before it was written


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Hashes(statrecord.StatRecord):
    """Checksums kept by file with the ``stat`` they were taken under (belmig.core.statrecord;
    see the module's docstring). ``sha256(path, st)`` reads the file only when the record cannot
    vouch for it; :meth:`save` writes the record back."""

    def __init__(self, path: Path | str):
        super().__init__(path, racy_ns=RACY_NS)

    def sha256(self, path: Path, st: os.stat_result) -> str:
        known, digest = self.get(str(path), st)
        if not known:
            digest = sha256(path)
            self.put(str(path), st, digest)
        return digest


def _resolved_dir(folder: Path, seen: dict[Path, Path]) -> Path:
    if folder not in seen:
        seen[folder] = folder.resolve()
    return seen[folder]


def entry(path: Path | str, audience: str, hashes: Hashes | None = None, _dirs: dict | None = None) -> dict[str, Any]:
    if audience not in AUDIENCES:
        raise ValueError(f"manifest: audience must be one of {AUDIENCES}, got {audience!r}")
    p = Path(path)
    full = p if p.is_absolute() else paths.ROOT / p
    try:
        st = os.lstat(full)
        link = stat.S_ISLNK(st.st_mode)
        if link:
            st = os.stat(full)
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        raise FileNotFoundError(f"manifest: {p} is not a file")
    if link or full.name in ("", ".", ".."):
        rel = paths.rel(full)
    else:  # paths.rel's answer: the real path of its folder (resolved once a folder), then its name
        real = _resolved_dir(full.parent, {} if _dirs is None else _dirs) / full.name
        rel = real.relative_to(paths.ROOT).as_posix()
    digest = hashes.sha256(full, st) if hashes is not None else sha256(full)
    return {"path": rel, "sha256": digest, "bytes": st.st_size, "audience": audience}


def build(
    public: Iterable[Path | str], reviewer: Iterable[Path | str] = (), hashes: Hashes | None = None
) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    dirs: dict[Path, Path] = {}
    for audience, group in (("public", public), ("reviewer", reviewer)):
        for p in group:
            e = entry(p, audience, hashes, dirs)
            prev = files.get(e["path"])
            if prev is not None and prev["audience"] != audience:
                e["audience"] = "public"  # a file both audiences receive is public
            files[e["path"]] = e
    return {"version": VERSION, "files": [files[k] for k in sorted(files)]}


def write(
    out: Path | str,
    public: Iterable[Path | str],
    reviewer: Iterable[Path | str] = (),
    hashes: Path | str | None = None,
) -> dict[str, Any]:
    """Build the manifest and write it; `hashes`: the record of checksums (:class:`Hashes`)."""
    memo = Hashes(hashes) if hashes is not None else None
    m = build(public, reviewer, memo)
    atomic.write_text(Path(out), json.dumps(m, ensure_ascii=False, indent=1) + "\n")
    if memo is not None:
        memo.save()
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
