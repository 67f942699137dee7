"""The faults, each injected under load while clients submit, read and follow jobs.

Every scenario starts its own stack (private Redis, web nodes, workers), keeps a few long jobs in
flight (a feeder), reads jobs all along (a reader, counting 5xx), follows every job over a resuming
websocket, injects its fault, then waits for every job to end and reports one row.
"""

from __future__ import annotations

import itertools
import signal
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clients import Api, Followers
from .procs import Procs, wait_until

LONG = ("Fault run job {n} begins with this sentence. A second sentence carries it a little further. "
        "The third one adds some colour to the scene. A fourth sentence slows the pace right down. "
        "Then a fifth arrives with a small surprise. The sixth sentence finally closes job {n}.")
_numbers = itertools.count(1)


@dataclass
class Row:
    scenario: str
    faults: int = 0
    jobs: int = 0
    done: int = 0
    failed: int = 0
    stuck: int = 0
    read_5xx: int = 0
    write_5xx: int = 0
    gaps: int = 0
    duplicates: int = 0
    unfinished_follows: int = 0
    worker_exits: int = 0
    workers_alive: int = 0
    recoveries: list[float] = field(default_factory=list)
    note: str = ""


class Load:
    """Keeps `in_flight` jobs unfinished, follows each, and reads jobs all along (threads)."""

    def __init__(self, api: Api, followers: Followers, in_flight: int) -> None:
        self.api, self.followers, self.in_flight = api, followers, in_flight
        self.job_ids: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._feed, daemon=True), threading.Thread(target=self._read,
                                                                                          daemon=True)]
        for thread in self.threads:
            thread.start()

    def _feed(self) -> None:
        while not self.stop.is_set():
            if len(self.unfinished()) < self.in_flight:
                job_id = self.api.submit(LONG.format(n=next(_numbers)))
                if job_id is not None:
                    self.job_ids.append(job_id)
                    self.followers.start(job_id)
            self.stop.wait(0.5)

    def _read(self) -> None:
        while not self.stop.is_set():
            for job_id in list(self.job_ids[-3:]):
                self.api.read(job_id)
            self.stop.wait(0.3)

    def unfinished(self) -> list[str]:
        """The load's jobs not final yet; the bench's own connection is killed too in the database
        scenario, so a read that fails is tried again on a fresh one."""
        from django.db import DatabaseError, connections

        from synthesis.models import JobStatus, SynthesisJob

        for _ in range(10):
            try:
                return [str(pk) for pk in SynthesisJob.objects.filter(
                    pk__in=self.job_ids, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list("pk",
                                                                                                       flat=True)]
            except DatabaseError:
                connections.close_all()
                time.sleep(0.5)
        raise RuntimeError("the bench cannot read the database")

    def finish(self, row: Row, *, grace_s: float) -> None:
        from synthesis.models import JobStatus, SynthesisJob

        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        deadline = time.monotonic() + grace_s
        while self.unfinished() and time.monotonic() < deadline:
            time.sleep(0.5)
        jobs = SynthesisJob.objects.filter(pk__in=self.job_ids)
        row.jobs, row.stuck = jobs.count(), len(self.unfinished())
        row.done = jobs.filter(status=JobStatus.DONE).count()
        row.failed = jobs.filter(status=JobStatus.FAILED).count()
        follows = self.followers.results(timeout_s=30)
        row.gaps = sum(f.gaps for f in follows.values())
        row.duplicates = sum(f.duplicates for f in follows.values())
        row.unfinished_follows = sum(f.outcome is None for f in follows.values())
        row.read_5xx, row.write_5xx = self.api.read_5xx, self.api.write_5xx


def busy_worker(procs: Procs, with_chunks: bool = True) -> tuple[str, str] | None:
    """A live worker running a job that has streamed audio: (worker name, job id)."""
    from synthesis.events import read_events
    from workers.heartbeat import live_workers

    alive = set(procs.alive_workers())
    for state in live_workers():
        job_id, name = state.get("current_job"), state["worker_id"]
        streaming = job_id and (not with_chunks or any(event.type == "tts.chunk" for event in read_events(job_id)))
        if streaming and name in alive:
            return name, str(job_id)
    return None


def attempts_of(job_id: str) -> int:
    from synthesis.models import SynthesisJob

    return int(SynthesisJob.objects.values_list("attempts", flat=True).get(pk=job_id))


def rerun_started(job_id: str, attempts_before: int) -> bool:
    from synthesis.models import JobStatus, SynthesisJob

    job = SynthesisJob.objects.get(pk=job_id)
    return job.status == JobStatus.DONE or (job.status == JobStatus.RUNNING and job.attempts > attempts_before)


def serving_workers(procs: Procs) -> int:
    from workers.heartbeat import is_serving, live_workers

    alive = set(procs.alive_workers())
    return sum(1 for state in live_workers() if state["worker_id"] in alive and is_serving(state))


def kill_workers(procs: Procs, load: Load, row: Row, *, kills: int, sig: signal.Signals,
                 spawn: Callable[[], None]) -> None:
    """`kills` times: a worker that is streaming a job gets `sig`; a fresh worker replaces it; the
    time until the job runs again (another attempt, on another worker) is its recovery."""
    pending: list[tuple[str, float, int]] = []
    while row.faults < kills:
        _settle_recoveries(pending, row)
        target = busy_worker(procs) if serving_workers(procs) >= 2 else None
        if target is None:
            time.sleep(0.2)
            continue
        name, job_id = target
        attempts = attempts_of(job_id)
        procs.signal_worker(name, sig)
        pending.append((job_id, time.monotonic(), attempts))
        row.faults += 1
        spawn()
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        _settle_recoveries(pending, row)
        time.sleep(0.2)


def _settle_recoveries(pending: list[tuple[str, float, int]], row: Row) -> None:
    for item in list(pending):
        job_id, killed_at, attempts = item
        if rerun_started(job_id, attempts):
            row.recoveries.append(time.monotonic() - killed_at)
            pending.remove(item)


def percentiles(values: list[float]) -> tuple[str, str]:
    if not values:
        return "—", "—"
    return f"{statistics.median(values):.1f}", f"{max(values):.1f}"


def describe(row: Row) -> list[Any]:
    p50, worst = percentiles(row.recoveries)
    return [row.scenario, row.faults, row.jobs, row.done, row.failed, row.stuck, row.read_5xx, row.write_5xx,
            row.gaps, row.duplicates, row.unfinished_follows, row.worker_exits, row.workers_alive, p50, worst,
            row.note]


def wait_for_serving(procs: Procs, count: int, timeout_s: float = 180) -> None:
    wait_until(lambda: serving_workers(procs) >= count, timeout_s, f"{count} serving workers")
