"""Snakemake's process, without its waits at exit (the Snakefile applies both).

Snakemake 9's job scheduler, while it waits for running jobs, asks to look again after the
`--max-jobs-per-timespan` span (default 100/1s) with a ``threading.Timer`` that is not a daemon
thread. The interpreter joins every such thread when it exits, so each build that ran a job ended
about one second after its last job (1.0–1.4 s measured in a text edit's 5.7 s: py-spy showed the
main thread in ``threading._shutdown``). The span cannot be made shorter from the command line:
``--max-jobs-per-timespan 1000/10ms`` parses as ten minutes (the unit pattern tries ``m`` before
``ms``), and ``0s`` makes the scheduler spin.

:func:`daemon_reevaluation` makes those timers daemon threads. While Snakemake runs they fire as
before; at exit nothing waits for them. When the scheduler no longer has the method (another
Snakemake version), nothing is changed.

:func:`no_final_collection`: the interpreter's last act before it exits is a full garbage
collection over everything still alive (every imported module, the DAG, the persistence
records). In Snakemake's process that took 0.3–0.5 s of pure CPU after "Complete log(s)" on every
run, a no-op too (strace: no system call between the signal handlers' reset and the first
``munmap``). ``gc.freeze()`` in an exit handler moves those objects out of the collector's sight,
so that collection has nothing to traverse; the memory goes back with the process. Every exit
handler still runs (Snakemake's unlocking and its temporary directories are removed before, in
``finally`` blocks and handlers), and what is freed by reference counting is freed as before; what
is skipped is the collection of reference cycles alive at exit, whose finalizers Python does not
promise to call then anyway. The warm job server does the same before it forks
(belmig.core.forkserver).

:func:`one_checksum_per_input`: when a job ends, Snakemake writes one metadata record per output
file, and each record holds the checksums of every input: it read and hashed every input once per
output (a text edit's render_report: 7 outputs, ~70 inputs; 0.036 s of the Snakemake process
between that job's end and the next job's start). While one such record-writing call runs, each
input's checksum is now computed once and reused for the other outputs' records: the same inputs,
the same bytes (nothing writes a finished job's inputs while it is recorded), the same records.
And an input's checksum is kept from run to run (:class:`Record`, ``.snakemake/belmig/
input_checksums.json``, :mod:`belmig.core.statrecord`, as git's index keeps its files' hashes): an
input whose device, inode, size, modification and change times (nanoseconds) are those it had
when it was hashed, and that had not changed for 2 s when the record was written, is not read
again. After a text
edit the render's ~80 inputs and the manifest's 212 were all read again for their records
(~25 ms of the Snakemake process); a changed file has another change time, a replaced one
another inode, and anything the record cannot vouch for is hashed as before.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import gc
import inspect
import os
import threading
from pathlib import Path

from belmig.core import statrecord

_PATCHED = "_belmig_daemon_timer"


def _schedule_reevaluation(self, delay) -> None:
    timer = threading.Timer(delay, lambda: self._open_jobs.release())
    timer.daemon = True
    timer.start()


setattr(_schedule_reevaluation, _PATCHED, True)


def daemon_reevaluation() -> bool:
    """Make the scheduler's re-evaluation timers daemon threads; True when it was done (or was
    already), False when this Snakemake has no such method with that signature."""
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError:
        return False
    current = getattr(JobScheduler, "_schedule_reevalutation", None)  # sic: Snakemake's spelling
    if current is None:
        return False
    if getattr(current, _PATCHED, False):
        return True
    if list(inspect.signature(current).parameters) != ["self", "delay"]:
        return False
    JobScheduler._schedule_reevalutation = _schedule_reevaluation
    return True


def no_final_collection() -> None:
    """Skip the full garbage collection the interpreter runs as it exits (see the module's
    docstring); registering it more than once is registering it once."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


# (path, threshold, force, algorithm) -> checksum, while a job's metadata is being written
_CHECKSUMS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("belmig_checksums", default=None)
RECORD = Path(".snakemake") / "belmig" / "input_checksums.json"  # beside Snakemake's own records


class Record(statrecord.StatRecord):
    """Inputs' checksums from earlier runs, by file and the arguments of the call
    (belmig.core.statrecord; see the module's docstring)."""

    def __init__(self, path: Path = RECORD):
        super().__init__(path)


_RECORD = Record()


def one_checksum_per_input() -> bool:
    """Hash each input once per finished job, not once per output (see the module's docstring);
    True when it was done (or was already), False when this Snakemake's persistence or files have
    no such coroutine methods (another version): then nothing is changed."""
    try:
        from snakemake.io import _IOFile
        from snakemake.persistence import PersistenceBase
    except ImportError:
        return False
    finished, checksum = getattr(PersistenceBase, "finished", None), getattr(_IOFile, "checksum", None)
    if getattr(finished, _PATCHED, False) and getattr(checksum, _PATCHED, False):
        return True
    if not (inspect.iscoroutinefunction(finished) and inspect.iscoroutinefunction(checksum)):
        return False
    if list(inspect.signature(finished).parameters) != ["self", "job"]:
        return False

    @functools.wraps(finished)
    async def finished_once(self, job):
        token = _CHECKSUMS.set({})
        try:
            return await finished(self, job)
        finally:
            _CHECKSUMS.reset(token)

    @functools.wraps(checksum)
    async def checksum_once(self, *args, **kwargs):
        memo = _CHECKSUMS.get()
        if memo is None:
            return await checksum(self, *args, **kwargs)
        key = (str(self), args, tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = await _recorded(self, key, checksum, args, kwargs)
        return memo[key]

    setattr(finished_once, _PATCHED, True)
    setattr(checksum_once, _PATCHED, True)
    PersistenceBase.finished = finished_once
    _IOFile.checksum = checksum_once
    atexit.register(_RECORD.save)
    return True


async def _recorded(iofile, key, checksum, args, kwargs):
    """`checksum(iofile, ...)`, from the record when it vouches for the file (a file on this
    machine only; a file in a storage plugin is hashed as before)."""
    try:
        plain = (int, str, bool, type(None))
        if getattr(iofile, "is_storage", True) or not all(isinstance(a, plain) for a in (*args, *kwargs.values())):
            raise TypeError
        file, extra = str(iofile.file), repr(key[1:])
        st = os.stat(file)
    except (OSError, TypeError, ValueError, AttributeError):
        return await checksum(iofile, *args, **kwargs)
    known, value = _RECORD.get(file, st, extra)
    if known:
        return value
    value = await checksum(iofile, *args, **kwargs)
    try:
        if statrecord.stamp(os.stat(file)) == statrecord.stamp(st):  # not changed while it was read
            _RECORD.put(file, st, value, extra)
    except OSError:
        pass
    return value
