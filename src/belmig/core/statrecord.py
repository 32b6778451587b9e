"""Checksums kept with the ``stat`` they were taken under, as git's index keeps its files' hashes.

A value computed from a file (its checksum) is kept with the file's device, inode, size,
modification and change times (nanoseconds), and given back only while all five are the same and
the file had not changed for :data:`RACY_NS` when the record was written: a write within the file
system's clock tick leaves its times as they were, so a file that changed just before the record
might change again unseen. A changed file has another change time (restoring its modification
time moves it too), a replaced one another inode. Used by the public manifest
(:class:`belmig.privacy.manifest.Hashes`) and by Snakemake's input checksums
(:mod:`belmig.core.scheduler`); both records live in ``.snakemake/belmig/``, never an output.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

RACY_NS = 2_000_000_000  # a record vouches only for files unchanged this long before it was written


def stamp(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class StatRecord:
    """Values by file (and an `extra` part of the key: what else the value depends on), each
    with the ``stat`` it was computed under. Read from `path` when first used; :meth:`save`
    writes it back, this run's values added, when one was added, without the files that are gone.
    A record that cannot be read is empty; one that cannot be written only means computing again."""

    def __init__(self, path: Path | str, racy_ns: int = RACY_NS):
        self.path = Path(path)
        self.racy_ns = racy_ns
        self.known: dict[str, list] | None = None
        self.written_ns = 0
        self.changed = False

    def _load(self) -> dict[str, list]:
        if self.known is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.written_ns, self.known = int(data["written_ns"]), dict(data["files"])
            except (OSError, ValueError, KeyError, TypeError):
                self.written_ns, self.known = 0, {}
        return self.known

    @staticmethod
    def _key(file: str, extra: str) -> str:
        return f"{file}\0{extra}"

    def get(self, file: str, st: os.stat_result, extra: str = "") -> tuple[bool, Any]:
        """(True, value) when the record vouches for `file` as `st` describes it, else (False, None)."""
        rec = self._load().get(self._key(file, extra))
        if (
            isinstance(rec, list)
            and len(rec) == 6
            and rec[:5] == stamp(st)
            and max(st.st_mtime_ns, st.st_ctime_ns) < self.written_ns - self.racy_ns
        ):
            return True, rec[5]
        return False, None

    def put(self, file: str, st: os.stat_result, value: Any, extra: str = "") -> None:
        """Record `value`, computed from `file` as `st` (taken before computing it) describes it."""
        self._load()[self._key(file, extra)] = [*stamp(st), value]
        self.changed = True

    def save(self) -> None:
        if not self.changed or self.known is None:
            return
        from belmig.core import atomic

        files = {k: v for k, v in self.known.items() if os.path.exists(k.partition("\0")[0])}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_text(self.path, json.dumps({"written_ns": time.time_ns(), "files": files}, sort_keys=True))
        except OSError:
            pass  # a read-only checkout: the next run computes again
        self.changed = False
