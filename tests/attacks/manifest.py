"""Which files of a build the public receives.

Two sources, and the attack uses their union (an attacker reads whatever lands in a public
folder, listed or not):

* the pipeline's own manifest, ``public_manifest.json`` at the build root (or a path given
  with ``--manifest``): ``{"files": [{"path": "report/report.pdf", "sha256": "...", ...}, ...]}``
  or a plain list of paths, relative to the build root;
* the public folders as the attacker finds them (:data:`PUBLIC_GLOBS`).

A file in the public folders that the pipeline's manifest does not list is itself a finding
(the manifest is the pipeline's promise of what leaves the build); so is a listed file that is
missing or whose checksum differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

# Where the public receives files from a build: the report in three formats and its values,
# the executed notebooks and the reviewers' index, the charts, the released microdata and the
# `snakemake --report` bundle.
PUBLIC_GLOBS = [
    "report/report.pdf",
    "report/report.html",
    "report/report.docx",
    "report/_variables.yml",
    "report/snakemake-report.zip",
    "notebooks/executed/*.html",
    "notebooks/executed/*.ipynb",
    "figures/*",
    "data/release/*",
]

MANIFEST_NAMES = ["public_manifest.json"]


@dataclass
class Manifest:
    root: Path
    files: list[str] = field(default_factory=list)  # what the attack reads (union)
    source: str = "derived"  # derived | <manifest path>
    listed: list[str] | None = None  # the pipeline's list, if any
    unlisted: list[str] = field(default_factory=list)  # public but not in the pipeline's list
    missing: list[str] = field(default_factory=list)  # listed but absent
    checksum_mismatch: list[str] = field(default_factory=list)

    def paths(self) -> list[Path]:
        return [self.root / f for f in self.files]


def derive(root: Path) -> list[str]:
    out: set[str] = set()
    for pattern in PUBLIC_GLOBS:
        for p in root.glob(pattern):
            if p.is_file():
                out.add(p.relative_to(root).as_posix())
    return sorted(out)


def read_manifest(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["files"] if isinstance(data, dict) else data
    out = []
    for it in items:
        if isinstance(it, str):
            out.append({"path": it})
        elif isinstance(it, dict) and "path" in it:
            out.append(it)
        else:
            raise ValueError(f"{path}: manifest entry {it!r} has no 'path'")
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def public_files(root: Path, manifest: Path | None = None) -> Manifest:
    """The public files of the build at ``root``, with the manifest cross-check."""
    root = Path(root)
    found = derive(root)
    if manifest is None:
        for name in MANIFEST_NAMES:
            if (root / name).is_file():
                manifest = root / name
                break
    m = Manifest(root=root)
    if manifest is None:
        m.files = found
        return m
    entries = read_manifest(Path(manifest))
    listed = [e["path"] for e in entries]
    m.source = str(manifest)
    m.listed = listed
    m.unlisted = sorted(set(found) - set(listed))
    for e in entries:
        p = root / e["path"]
        if not p.is_file():
            m.missing.append(e["path"])
        elif e.get("sha256") and sha256(p) != e["sha256"]:
            m.checksum_mismatch.append(e["path"])
    m.files = sorted((set(found) | set(listed)) - set(m.missing))
    return m
