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
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from belmig.core import atomic, paths

VERSION = 1
AUDIENCES = ("public", "reviewer")
RACY_NS = 2_000_000_000  # a record trusts only the files it saw unchanged this long before it was written


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class Hashes:
    """Checksums kept by path with the ``stat`` they were taken under (see the module's
    docstring). ``sha256(path, st)`` reads the file only when the record cannot vouch for it;
    :meth:`save` writes the checksums of this run's files. A missing or unreadable record is an
    empty one: every file is read."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.used: dict[str, list] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.written_ns = int(data["written_ns"])
            self.known: dict[str, list] = {k: v for k, v in data["files"].items() if isinstance(v, list)}
        except (OSError, ValueError, KeyError, TypeError):
            self.written_ns, self.known = 0, {}

    def sha256(self, path: Path, st: os.stat_result) -> str:
        key, stamp = str(path), _stamp(st)
        rec = self.known.get(key)
        trusted = (
            rec is not None and rec[:5] == stamp and max(st.st_mtime_ns, st.st_ctime_ns) < self.written_ns - RACY_NS
        )
        digest = rec[5] if trusted else sha256(path)
        self.used[key] = [*stamp, digest]
        return digest

    def save(self) -> None:
        data = {"written_ns": time.time_ns(), "files": self.used}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_text(self.path, json.dumps(data, sort_keys=True) + "\n")
        except OSError:
            pass  # a read-only checkout: the next run reads every file


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
