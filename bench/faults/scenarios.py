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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clients import Api, Followers
from .procs import Procs, wait_until

LONG = ("Fault run job {n} begins with this sentence. A second sentence carries it a little further. "
        "The third one adds some colour to the scene. A fourth sentence slows the pace right down. "
        "Then a fifth arrives with a small surprise. The sixth sentence finally closes job {n}.")
_numbers = itertools.count(1)
KILLS_PER_JOB = 2


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
        for job_id, follow in follows.items():
            if follow.outcome is None:
                print(f"    follower without end: job {job_id} {jobs.get(pk=job_id).status} attempts "
                      f"{attempts_of(job_id)}; last seq {follow.last_seq}, last frame {follow.last_frame!r}, "
                      f"reconnects {follow.reconnects}, closes {dict(follow.closes)}", flush=True)
        row.read_5xx, row.write_5xx = self.api.read_5xx, self.api.write_5xx


def busy_worker(procs: Procs, spared: set[str]) -> tuple[str, str] | None:
    """A live worker running a job (not in `spared`) that is streaming audio: (worker name, job id)."""
    from synthesis.jobs.events import read_events
    from synthesis.models import JobStatus, SynthesisJob
    from workers.heartbeat import live_workers

    alive = set(procs.alive_workers())
    for state in live_workers():
        job_id, name = state.get("current_job"), state["worker_id"]
        if not job_id or job_id in spared or name not in alive:
            continue
        running = SynthesisJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker_id=name).exists()
        if running and any(event.type == "tts.chunk" for event in read_events(job_id)):
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
    time until the job runs again (another attempt, on another worker) is its recovery. A job is hit
    at most KILLS_PER_JOB times, so that the kills spread over many jobs."""
    pending: list[tuple[str, float, int]] = []
    hits: Counter[str] = Counter()
    while row.faults < kills:
        _settle_recoveries(pending, row)
        spared = {job_id for job_id, count in hits.items() if count >= KILLS_PER_JOB}
        target = busy_worker(procs, spared) if serving_workers(procs) >= 2 else None
        if target is None:
            time.sleep(0.2)
            continue
        name, job_id = target
        attempts = attempts_of(job_id)
        hits[job_id] += 1
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


def longest_idle_wait(procs: Procs, load: Load, window_s: float) -> float:
    """Over the next `window_s`, the longest span in which a job of the load was queued while a live
    worker sat idle: how long queued work waited to resume after a fault (0: it never waited). A
    sample that cannot read Redis or the database (the fault itself) ends no span and starts none."""
    from django.db import connections

    from synthesis.models import JobStatus, SynthesisJob
    from workers.heartbeat import live_workers

    longest, since, deadline = 0.0, None, time.monotonic() + window_s
    while time.monotonic() < deadline:
        try:
            alive = set(procs.alive_workers())
            idle = any(state["worker_id"] in alive and state.get("status") == "idle" for state in live_workers())
            queued = idle and SynthesisJob.objects.filter(pk__in=load.job_ids, status=JobStatus.QUEUED).exists()
        except Exception:
            connections.close_all()
            time.sleep(0.25)
            continue
        now = time.monotonic()
        if queued:
            since = now if since is None else since
            longest = max(longest, now - since)
        else:
            since = None
        time.sleep(0.25)
    return longest


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
