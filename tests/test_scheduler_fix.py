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
