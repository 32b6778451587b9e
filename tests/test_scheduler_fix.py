"""belmig.core.scheduler: Snakemake's re-evaluation timers are daemon threads, so a build does not
wait a second after its last job before it exits."""

from __future__ import annotations

import threading

from belmig.core import scheduler


def test_the_reevaluation_timer_is_a_daemon_and_still_releases_the_scheduler(monkeypatch):
    from snakemake.scheduling.job_scheduler import JobScheduler

    monkeypatch.setattr(JobScheduler, "_schedule_reevalutation", JobScheduler._schedule_reevalutation)
    assert scheduler.daemon_reevaluation()
    assert scheduler.daemon_reevaluation()  # twice is once

    class Fake:
        _open_jobs = threading.Semaphore(0)

    timers = []
    real = threading.Timer

    def spy(*a, **k):
        timers.append(real(*a, **k))
        return timers[-1]

    monkeypatch.setattr(threading, "Timer", spy)
    fake = Fake()
    JobScheduler._schedule_reevalutation(fake, 0.01)
    assert len(timers) == 1 and timers[0].daemon
    assert fake._open_jobs.acquire(timeout=5)  # it fired: the scheduler looks again


def test_an_unknown_scheduler_is_left_alone(monkeypatch):
    from snakemake.scheduling.job_scheduler import JobScheduler

    monkeypatch.delattr(JobScheduler, "_schedule_reevalutation")
    assert scheduler.daemon_reevaluation() is False
    assert not hasattr(JobScheduler, "_schedule_reevalutation")


def test_the_heap_is_frozen_before_the_last_collection(tmp_path):
    """An exit handler registered before no_final_collection() runs after it: it sees the heap
    frozen, so the interpreter's final collection has nothing left to traverse."""
    import subprocess
    import sys

    script = tmp_path / "exit.py"
    script.write_text(
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen' if gc.get_freeze_count() else 'not frozen'))\n"
        "from belmig.core import scheduler\n"
        "scheduler.no_final_collection()\n"
        "scheduler.no_final_collection()\n"
        "cycles = [[] for _ in range(1000)]\n"
        "for c in cycles: c.append(c)\n",
        encoding="utf-8",
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert out == "frozen\n"
    control = script.read_text(encoding="utf-8").replace("scheduler.no_final_collection()\n", "")
    script.write_text(control, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert out == "not frozen\n"


def test_a_finished_jobs_records_hash_each_input_once(monkeypatch):
    """While Snakemake writes a finished job's records (one per output, each with the checksums
    of every input), each input is hashed once; outside that call every checksum is computed."""
    import asyncio

    from snakemake.io import _IOFile
    from snakemake.persistence import PersistenceBase

    hashed = []

    async def checksum(self, threshold=None, force=False, algorithm=None):
        hashed.append(str(self))
        return f"sha256:{str(self)}-{len(hashed)}"

    async def finished(self, job):
        # what Snakemake does: for each output, the checksums of every input
        return [{str(i): await i.checksum(1000) for i in job["input"]} for _ in job["output"]]

    monkeypatch.setattr(_IOFile, "checksum", checksum)
    monkeypatch.setattr(PersistenceBase, "finished", finished)
    assert scheduler.one_checksum_per_input()
    assert scheduler.one_checksum_per_input()  # twice is once

    inputs = [_IOFile(name, rule=None) for name in ("a.json", "b.svg", "c.lock")]
    job = {"input": inputs, "output": ["x.pdf", "x.html", "x.docx", "x.ipynb"]}
    records = asyncio.run(PersistenceBase.finished(None, job))
    assert hashed == ["a.json", "b.svg", "c.lock"]  # 3 inputs, 4 outputs: 3 hashes, not 12
    assert all(r == records[0] for r in records) and records[0]["a.json"] == "sha256:a.json-1"
    asyncio.run(PersistenceBase.finished(None, job))  # the next job's records: hashed again
    assert len(hashed) == 6
    asyncio.run(inputs[0].checksum(1000))  # outside a record: as Snakemake does
    asyncio.run(inputs[0].checksum(1000))
    assert len(hashed) == 8


def test_unknown_persistence_is_left_alone(monkeypatch):
    from snakemake.persistence import PersistenceBase

    def finished(self, job):  # not a coroutine: another Snakemake
        return None

    monkeypatch.setattr(PersistenceBase, "finished", finished)
    assert scheduler.one_checksum_per_input() is False
    assert PersistenceBase.finished is finished


def test_an_input_s_checksum_is_kept_for_the_next_run_while_its_stat_vouches_for_it(monkeypatch, tmp_path):
    """The record (scheduler.Record) answers for a file whose device, inode, size and times are
    those it was hashed with, and that was older than RACY_NS when the record was written."""
    import asyncio
    import os
    import time

    from snakemake.io import _IOFile
    from snakemake.persistence import PersistenceBase

    from belmig.core import statrecord

    hashed = []

    async def checksum(self, threshold=None, force=False, algorithm=None):
        hashed.append(os.path.basename(self.file))
        with open(self.file) as fh:
            return f"sha256:{fh.read()}"

    async def finished(self, job):
        return [{str(i): await i.checksum(1000) for i in job["input"]} for _ in job["output"]]

    monkeypatch.setattr(_IOFile, "checksum", checksum)
    monkeypatch.setattr(PersistenceBase, "finished", finished)
    monkeypatch.setattr(_IOFile, "is_storage", False)
    assert scheduler.one_checksum_per_input()
    for name in ("a.json", "b.svg"):
        (tmp_path / name).write_text(name)
    inputs = [_IOFile(str(tmp_path / name), rule=None) for name in ("a.json", "b.svg")]
    job = {"input": inputs, "output": ["x.pdf", "x.html"]}

    clock = [0]
    monkeypatch.setattr(statrecord.time, "time_ns", lambda: clock[0])

    def run(written_later_by=10.0):
        """One Snakemake run: a fresh record read from its file, one finished job, the save."""
        monkeypatch.setattr(scheduler, "_RECORD", scheduler.Record(tmp_path / "input_checksums.json"))
        hashed.clear()
        records = asyncio.run(PersistenceBase.finished(None, job))
        clock[0] = int(time.time() * 1e9 + written_later_by * 1e9)
        scheduler._RECORD.save()
        return records

    first = run()
    assert hashed == ["a.json", "b.svg"] and first[0][str(inputs[0])] == "sha256:a.json"
    assert run() == first and hashed == []  # the record vouches for both
    before = os.stat(inputs[1].file)
    (tmp_path / "b.svg").write_text("B.svg")  # same size; the old modification time put back
    os.utime(inputs[1].file, ns=(before.st_atime_ns, before.st_mtime_ns))
    changed = run(written_later_by=0)  # changed just before this record was written: racy
    assert hashed == ["b.svg"] and changed[0][str(inputs[1])] == "sha256:B.svg"
    assert run() == changed and hashed == ["a.json", "b.svg"]  # a racy record vouches for none
    assert run() == changed and hashed == []
    (tmp_path / "input_checksums.json").write_text("{broken")
    assert run() == changed and hashed == ["a.json", "b.svg"]  # a broken record: everything hashed
