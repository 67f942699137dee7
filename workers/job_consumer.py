"""The worker's job loop: take entries, run each job in a thread of its own, ack when its row is final.

Up to WORKER_MAX_BATCH jobs run at once (an engine that batches, GLM-TTS, decodes them in shared steps),
each with its own claim keeper. Another entry is taken only while every running job's engine has room
for one more (an engine that does not batch, the default one, runs one job: its next jobs stay in the
queue for any other idle worker rather than wait here).

Database work from the loop goes through `database_sync_to_async`, which closes a connection that
broke (a database restart, a killed backend) before and after each call, so the next call reconnects.

Every await on another task or on Redis is bounded, and the claim keeper stops on its own event,
not by cancellation (see glmtts_site.resilience). `progress_at` moves whenever the job loop does
something, each run's own `progress_at` whenever its job does; the runner's watchdog reads their ages
to spot a stall.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from glmtts_site.resilience import TRANSIENT_ERRORS, Backoff, bounded, stop_task
from synthesis.jobs import services
from synthesis.jobs.dispatch import dispatch_due, dispatch_for_idle_worker
from synthesis.jobs.events import EventType, cancel_key, job_group, publish_event
from synthesis.models import JobStatus, SynthesisJob

from .jobrun import JobExecutor, Outcome
from .queue import QueueEntry, WorkerQueue

logger = logging.getLogger(__name__)
CALL_TIMEOUT_S = 10.0  # one Redis command of the claim keeper or a publish, at most
KEEPER_STOP_S = 5.0
EMIT_TIMEOUT_S = 60.0  # the inference thread waits at most this long for an event to be stored


def _stale_unfinished_job_ids(older_than_s: float, limit: int = 200) -> list[str]:
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    # Followers have no entry on purpose: their leader's result finishes them; jobs waiting for their
    # owner's turn have none yet (synthesis.jobs.dispatch).
    rows = SynthesisJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__lt=cutoff,
                                       leader__isnull=True, dispatched_at__isnull=False)
    return [str(pk) for pk in rows.order_by("created_at").values_list("pk", flat=True)[:limit]]


@dataclass
class CurrentRun:
    """The job being run: its entry, and the flags its inference thread watches between events."""

    entry: QueueEntry
    cancel: threading.Event = field(default_factory=threading.Event)
    shutdown: threading.Event = field(default_factory=threading.Event)  # hand back at the next event
    started: float = field(default_factory=time.time)
    progress_at: float = field(default_factory=time.monotonic)  # its last event
    engine_id: str | None = None  # known once its row is read; until then the worker takes no other job
    future: concurrent.futures.Future[Outcome] | None = None  # the inference thread's work
    keeper: asyncio.Task[None] | None = None  # refreshes the claim while the job runs
    keeper_done: asyncio.Event = field(default_factory=asyncio.Event)
    abandoned: bool = False
    task: asyncio.Task[None] | None = None

    def beat(self) -> None:
        self.progress_at = time.monotonic()

    def progress_age(self) -> float:
        return time.monotonic() - self.progress_at


def _job_engine_id(job_id: str) -> str | None:
    return SynthesisJob.objects.filter(pk=job_id).values_list("engine_id", flat=True).first()


class JobConsumer:
    def __init__(self, *, client: aioredis.Redis, queue: WorkerQueue, executor: JobExecutor,
                 stop_event: asyncio.Event, max_jobs: int = 1) -> None:
        self.client, self.queue, self.executor, self.stop_event = client, queue, executor, stop_event
        self.max_jobs = max(1, max_jobs)
        self.runs: dict[str, CurrentRun] = {}  # job id -> its run, in the order they started
        self.changed = asyncio.Event()  # a run ended or its engine became known: there may be room
        self.last_job_end = asyncio.get_running_loop().time()
        self.progress_at = time.monotonic()
        # One inference thread per job that may run at once; the loop stays free for I/O.
        self.pool = self._new_pool()
        self.abandoned: list[concurrent.futures.Future[Outcome]] = []  # runs the watchdog gave up on

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.max_jobs, thread_name_prefix="inference")

    @property
    def current_job(self) -> str | None:
        return next(iter(self.runs), None)

    @property
    def current_jobs(self) -> list[str]:
        return list(self.runs)

    def has_room(self) -> bool:
        """Whether to take another entry now: fewer than max_jobs running, and each running job's engine
        known and able to take one more (its `max_batch`; engines without one run a job at a time)."""
        if len(self.runs) >= self.max_jobs:
            return False
        per_engine: dict[str, int] = {}
        for run in self.runs.values():
            if run.engine_id is None:
                return False
            per_engine[run.engine_id] = per_engine.get(run.engine_id, 0) + 1
        return all(count < self._engine_batch(engine_id) for engine_id, count in per_engine.items())

    def _engine_batch(self, engine_id: str) -> int:
        engine = self.executor.engines.get(engine_id)
        return int(getattr(engine, "max_batch", 1)) if engine is not None else 1

    async def wait_for_room(self, timeout_s: float) -> None:
        self.beat()
        self.changed.clear()
        if not self.has_room():
            await _wait_event(self.changed, timeout_s)
        self.beat()

    def _changed(self) -> None:
        self.changed.set()

    def stalled_runs(self, limit_s: float) -> list[CurrentRun]:
        return [run for run in self.runs.values() if run.progress_age() > limit_s]

    def start(self, entry: QueueEntry) -> CurrentRun:
        """Register the entry's run at once (so that has_room counts it) and handle it in its own task."""
        run = self.runs[entry.job_id] = CurrentRun(entry)
        run.task = asyncio.create_task(self.handle(run))
        return run

    async def drain(self, timeout_s: float) -> None:
        """Wait (bounded) for the running jobs to settle: at a stop each hands itself back at its next event."""
        tasks = [run.task for run in self.runs.values() if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def beat(self) -> None:
        self.progress_at = time.monotonic()

    def progress_age(self) -> float:
        return time.monotonic() - self.progress_at

    async def next_entry(self) -> QueueEntry | None:
        """The next entry to run; when there is none, this worker (idle, or with room in its batch) pulls a
        job that waits for its owner's turn (synthesis.jobs.dispatch) and reads it."""
        self.beat()
        entry = await self.queue.reclaim_one() or await self.queue.read_new(block_ms=1000)
        if entry is None and await database_sync_to_async(dispatch_for_idle_worker)():
            entry = await self.queue.read_new(block_ms=100)  # the job just pulled, as a rule
        return entry

    async def handle(self, run: CurrentRun) -> None:
        entry = run.entry
        try:
            await self._handle(run)
        finally:
            if self.runs.get(entry.job_id) is run:  # (a run the watchdog abandoned is no longer registered)
                del self.runs[entry.job_id]
            self.last_job_end = asyncio.get_running_loop().time()
            self.beat()
            self._changed()

    async def _handle(self, run: CurrentRun) -> None:
        entry = run.entry
        if entry.deliveries > self.queue.max_deliveries:
            await self._dead_letter(entry)
            return
        if not await self.queue.try_lock(entry.job_id):
            logger.info("Job %s is running on another worker; dropping duplicate entry", entry.job_id)
            await self.queue.ack(entry)
            return
        try:
            run.engine_id = await database_sync_to_async(_job_engine_id)(entry.job_id) or ""
            self._changed()
            outcome = await self._run_with_claim(run)
        except Exception:
            # A crash we did not foresee, or an outage that outlasted the retries: the entry stays
            # pending, so the reaper retries it, and the delivery count dead-letters a poison job.
            logger.exception("Job %s crashed; it will be retried", entry.job_id)
            if run.abandoned:
                return
            await self._quietly(database_sync_to_async(services.job_mark_requeued)(job_id=entry.job_id,
                                                                          reason="worker error; retrying"))
            await self._quietly(self.queue.unlock(entry.job_id))
            return
        if not run.abandoned:  # else the watchdog has handed the job back already
            await self._settle(entry, outcome)

    async def _dead_letter(self, entry: QueueEntry) -> None:
        reason = f"Delivered {entry.deliveries} times without finishing (worker crashes?)."
        logger.error("Dead-lettering job %s: %s", entry.job_id, reason)
        await database_sync_to_async(services.job_mark_failed)(job_id=entry.job_id, code="too_many_attempts",
                                                               message=reason)
        await self.publish(entry.job_id, EventType.FAILED, {"code": "too_many_attempts", "message": reason})
        await self.queue.dead_letter(entry, reason)

    async def hand_back(self, entry: QueueEntry, reason: str) -> None:
        """The job goes to the next worker: its row back to queued, a fresh entry, our claim released."""
        await database_sync_to_async(services.job_mark_requeued)(job_id=entry.job_id, reason=reason)
        await self._quietly(self.publish(entry.job_id, EventType.REQUEUED, {"reason": reason}))
        await self.queue.hand_back(entry)

    async def publish(self, job_id: str, event_type: str, data: dict[str, Any], pcm: bytes | None = None) -> None:
        """Store the event in the job's stream (retried through a short outage), then announce it (the
        notice may be dropped; the data not)."""
        backoff = Backoff(first_s=0.2, cap_s=5.0)
        while True:
            try:
                entry_id = await bounded(publish_event(self.client, job_id, event_type, data, pcm),
                                         limit_s=CALL_TIMEOUT_S)
                break
            except TRANSIENT_ERRORS as exc:
                if backoff.failures >= 6:
                    raise
                logger.warning("Storing event %s of job %s failed, retrying: %s", event_type, job_id, exc)
                await asyncio.sleep(backoff.next_delay())
        layer = get_channel_layer()
        if layer is not None:
            try:
                await bounded(layer.group_send(job_group(job_id), {"type": "job.event", "entry": entry_id}),
                              limit_s=CALL_TIMEOUT_S)
            except Exception as exc:  # a lost notice only delays a socket until its next poll
                logger.warning("Channel-layer notice failed: %s", exc)

    async def _settle(self, entry: QueueEntry, outcome: Outcome) -> None:
        if outcome.status == "handed_back":
            await self.hand_back(entry, f"worker stopped; requeued ({outcome.detail})")
        else:
            await self.queue.ack(entry)
            await self.queue.unlock(entry.job_id)
        logger.info("Job %s: %s %s", entry.job_id, outcome.status, outcome.detail)

    async def _run_with_claim(self, run: CurrentRun) -> Outcome:
        loop = asyncio.get_running_loop()
        entry = run.entry

        def emit(event_type: str, data: dict[str, Any], pcm: bytes | None) -> None:
            # Called from the inference thread; publishing stays on the worker's one loop.
            run.beat()
            future = asyncio.run_coroutine_threadsafe(self.publish(entry.job_id, event_type, data, pcm), loop)
            future.result(timeout=EMIT_TIMEOUT_S)
            run.beat()

        def job() -> Outcome:
            close_old_connections()
            try:
                return self.executor.run(entry.job_id, cancel=run.cancel, shutdown=run.shutdown, emit=emit)
            finally:
                close_old_connections()

        run.keeper = asyncio.create_task(self._keep_claim(run))
        try:
            run.future = self.pool.submit(job)
            return await asyncio.wrap_future(run.future)
        finally:
            await self.stop_keeper(run)

    async def stop_keeper(self, run: CurrentRun) -> None:
        run.keeper_done.set()
        if run.keeper is not None:
            await stop_task(run.keeper, timeout_s=KEEPER_STOP_S, what=f"claim keeper of job {run.entry.job_id}")

    async def _keep_claim(self, run: CurrentRun) -> None:
        """Refresh the claim well inside the visibility timeout; watch for cancel and shutdown. Stops
        when `run.keeper_done` is set; a Redis error is logged and tried again on the next round."""
        loop = asyncio.get_running_loop()
        interval = max(0.2, settings.QUEUE_VISIBILITY_TIMEOUT_S / 4)
        refreshed_at = -interval
        done = run.keeper_done
        while not done.is_set():
            try:
                if loop.time() - refreshed_at >= interval:
                    await bounded(self.queue.refresh(run.entry), limit_s=CALL_TIMEOUT_S)
                    refreshed_at = loop.time()
                if await bounded(self.client.exists(cancel_key(run.entry.job_id)), limit_s=CALL_TIMEOUT_S):
                    run.cancel.set()
            except TRANSIENT_ERRORS as exc:
                logger.warning("Claim refresh of job %s failed, retrying: %s", run.entry.job_id, exc)
            if self.stop_event.is_set():
                run.shutdown.set()
            await _wait_event(done, 0.25)

    async def reconcile(self) -> int:
        """Re-enqueue dispatched jobs whose stream entry Redis lost, and dispatch waiting jobs whose
        owner has a free share (a lost hand-over); returns how many were re-enqueued."""
        await database_sync_to_async(dispatch_due)()
        job_ids = await database_sync_to_async(_stale_unfinished_job_ids)(settings.QUEUE_RECONCILE_MIN_AGE_S)
        revived = 0
        for job_id in job_ids:
            if job_id in self.runs or await self.queue.is_locked(job_id):
                continue
            if not await self.queue.entry_alive(job_id):
                await self.queue.requeue(job_id)
                revived += 1
        if revived:
            logger.warning("Reconciler re-enqueued %d job(s) that Redis had lost", revived)
        return revived

    async def abandon(self, run: CurrentRun) -> None:
        """The watchdog gives up on this run (its thread may still be stuck in the engine): its claim
        keeper stops first, so that nothing renews the lock once the job is handed back."""
        run.abandoned = True
        await self.stop_keeper(run)
        if run.future is not None and not run.future.done():
            self.abandoned.append(run.future)
        if self.runs.get(run.entry.job_id) is run:
            del self.runs[run.entry.job_id]
        self._changed()

    def stuck_runs(self) -> int:
        self.abandoned = [future for future in self.abandoned if not future.done()]
        return len(self.abandoned)

    def replace_pool(self) -> None:
        """Fresh inference threads for the next jobs; a stuck one is left to finish on its own (runs still
        going on the old pool's other threads go on there)."""
        stuck, self.pool = self.pool, self._new_pool()
        stuck.shutdown(wait=False, cancel_futures=True)

    def close(self, timeout_s: float = 30.0) -> bool:
        """Stop the inference threads, waiting at most timeout_s for running jobs to reach their next
        event (and hand themselves back); False if a stuck thread is left behind."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        current = [run.future for run in list(self.runs.values()) if run.future and not run.future.done()]
        _, still = concurrent.futures.wait(current, timeout=timeout_s)
        return not still and self.stuck_runs() == 0

    @staticmethod
    async def _quietly(awaitable: Any) -> None:
        try:
            await awaitable
        except TRANSIENT_ERRORS as exc:
            logger.warning("Best-effort step failed (it heals later): %s", exc)


async def _wait_event(event: asyncio.Event, timeout_s: float) -> None:
    """Wait for an event at most timeout_s (without asyncio.wait_for: see glmtts_site.resilience)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout_s)
    finally:
        waiter.cancel()
