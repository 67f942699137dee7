"""The worker process: one asyncio event loop for its whole life.

At start it loads its engines (and the ASR model) once and keeps them resident; each start-up step
that needs Redis or the database is retried through an outage. Then it runs concurrently, each loop
under a supervisor that starts it again after an error (with backoff) until the stop event: the job
loop, voice tasks, heartbeats, the reconciler, the staff-command listener and the watchdog. A Redis
or database outage is ridden out, never the end of the process. SIGTERM/SIGINT set the stop event:
running jobs are handed back between chunks (requeued for the next worker, nothing lost), the
heartbeat is cleared and connections are closed.

The watchdog reads the job loop's progress (`consumer.progress_at`, moved by every loop round) and each
running job's (moved by its events). With no progress for WORKER_STALL_S the heartbeat says "stalled"
(so /ready and the admin do), the stalled jobs are handed back and the job loop restarts with fresh
inference threads; jobs that still progress go on. If a job stalls again while an abandoned thread is
still stuck, the engine itself is wedged: the worker exits with EXIT_WEDGED (75) for its process manager
to start it afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

from glmtts_site.redis_conn import new_async_redis
from glmtts_site.resilience import TRANSIENT_ERRORS, Backoff, bounded, stop_task
from voices.tasks import voice_tasks_key

from .control import gpu_status
from .engines.base import Engine
from .heartbeat import WorkerState, announce_engines, heartbeat_clear, heartbeat_write
from .job_consumer import CurrentRun, JobConsumer
from .queue import WorkerQueue
from .startup import build_executor, engine_versions, load_engines, publish_presets
from .worker_loops import WorkerLoops

logger = logging.getLogger(__name__)
EXIT_WEDGED = 75  # EX_TEMPFAIL: start me again
STOP_WAIT_S = 10.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerRunner:
    def __init__(self, *, device: str = "cpu", engine_ids: list[str] | None = None, worker_id: str | None = None,
                 engines: dict[str, Engine] | None = None) -> None:
        """`engines`: already loaded engines to serve (in-process tests); else `engine_ids` are loaded."""
        self.device = device
        self.engine_ids = engine_ids if engine_ids is not None else list(settings.WORKER_ENGINES)
        self._preloaded = engines
        self.state = WorkerState(worker_id=worker_id or new_worker_id(), hostname=socket.gethostname(),
                                 pid=os.getpid(), device=device, started_at=time.time())
        self.stop_event = asyncio.Event()
        self.engines: dict[str, Engine] = {}
        self.consumer: JobConsumer | None = None
        self.exit_code = 0
        self.threads_left_behind = False  # an inference thread stuck at exit: the process must not wait
        self._job_loop: asyncio.Task[None] | None = None

    def request_stop(self, signame: str = "request") -> None:
        if not self.stop_event.is_set():
            logger.info("Worker %s stopping (%s)", self.state.worker_id, signame)
            self.stop_event.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking at once when the worker is told to stop."""
        waiter = asyncio.ensure_future(self.stop_event.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()

    async def supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run `loop` until the stop event; after an error, log it and start it again (with backoff)."""
        backoff = Backoff()
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, TRANSIENT_ERRORS):
                    logger.warning("%s loop: %s: %s; restarting", name, type(exc).__name__, exc)
                else:
                    logger.exception("%s loop failed; restarting", name)
            if time.monotonic() - started > 60:
                backoff.reset()  # it ran well for a while: a new incident
            await self.sleep(backoff.next_delay())

    async def until_done(self, name: str, step: Callable[[], Awaitable[object]]) -> bool:
        """Retry a start-up step through outages until it succeeds (True) or the worker stops (False)."""
        backoff = Backoff()
        while not self.stop_event.is_set():
            try:
                await step()
                return True
            except TRANSIENT_ERRORS as exc:
                logger.warning("%s: Redis or the database is not ready (%s); retrying", name, exc)
                await self.sleep(backoff.next_delay())
        return False

    def refresh_state(self) -> None:
        consumer = self.consumer
        self.state.engines = engine_versions(self.engines)
        self.state.loaded = {e.engine_id: e.loaded for e in self.engines.values()}
        runs = list(consumer.runs.values()) if consumer else []
        self.state.current_job = runs[0].entry.job_id if runs else None
        self.state.current_jobs = [run.entry.job_id for run in runs]
        self.state.job_started_at = min((run.started for run in runs), default=None)
        self.state.engine_runs = consumer.executor.engine_runs if consumer else 0
        self.state.progress_age_s = round(self.progress_age(consumer), 1) if consumer else 0.0
        if consumer is None:
            self.state.status = "starting"
        elif self.progress_age(consumer) > settings.WORKER_STALL_S:
            self.state.status = "stalled"
        else:
            self.state.status = "busy" if runs else "idle"
        self.state.gpu = gpu_status(self.device)

    @staticmethod
    def progress_age(consumer: JobConsumer) -> float:
        """Seconds since the job loop or the least recently progressing job did something."""
        return max([consumer.progress_age(), *(run.progress_age() for run in consumer.runs.values())])

    async def heartbeat_loop(self, client: aioredis.Redis) -> None:
        while not self.stop_event.is_set():
            self.refresh_state()
            await bounded(heartbeat_write(client, self.state), limit_s=10)
            if self.engines:  # with every beat: a Redis that restarted empty knows the versions again at once
                await bounded(announce_engines(client, self.state.engines), limit_s=10)
            await self.sleep(settings.WORKER_HEARTBEAT_INTERVAL_S)

    async def job_loop(self) -> None:
        """Take jobs while there is room, each run in its own task, until the worker stops or the
        watchdog replaces this loop."""
        consumer = self.consumer
        assert consumer is not None
        me, backoff = asyncio.current_task(), Backoff()
        while not self.stop_event.is_set() and self._job_loop is me:
            try:
                if not consumer.has_room():
                    await consumer.wait_for_room(timeout_s=1.0)
                    continue
                entry = await consumer.next_entry()
                if entry is not None and self._job_loop is me and not self.stop_event.is_set():
                    consumer.start(entry)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, TRANSIENT_ERRORS):
                    logger.warning("Queue unavailable (%s: %s); retrying", type(exc).__name__, exc)
                else:
                    logger.exception("Job loop error; retrying")
                await self.sleep(backoff.next_delay())

    def start_job_loop(self) -> None:
        self._job_loop = asyncio.create_task(self.job_loop())

    async def watchdog_loop(self) -> None:
        while not self.stop_event.is_set():
            await self.sleep(1.0)
            consumer = self.consumer
            if consumer is None:
                continue
            stalled = consumer.stalled_runs(settings.WORKER_STALL_S)
            if stalled or consumer.progress_age() > settings.WORKER_STALL_S:
                await self.recover(consumer, stalled)

    async def recover(self, consumer: JobConsumer, stalled: list[CurrentRun]) -> None:
        """Runs without progress for WORKER_STALL_S (or a job loop without): hand those jobs back, give
        the next jobs fresh inference threads and restart the job loop. Jobs that still progress go on."""
        wedged = consumer.stuck_runs() > 0
        self.state.recoveries += 1
        logger.error("Worker %s: no progress for %.0f s (jobs %s); recovering", self.state.worker_id,
                     self.progress_age(consumer), [run.entry.job_id for run in stalled])
        for run in stalled:
            run.shutdown.set()  # an engine that still yields stops at its next event
            await consumer.abandon(run)
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await consumer.hand_back(run.entry, "worker stalled; requeued by its watchdog")
        old_loop, self._job_loop = self._job_loop, None
        if old_loop is not None:  # it may wait on a stuck await: cancel it at once
            old_loop.cancel()
            await stop_task(old_loop, timeout_s=1.0, what="stalled job loop")
        consumer.replace_pool()
        consumer.beat()
        if wedged and stalled:
            logger.error("A job stalled again while an earlier one is still stuck: the engine is wedged; "
                         "exiting with %d for a fresh start", EXIT_WEDGED)
            self.exit_code = EXIT_WEDGED
            self.request_stop("wedged engine")
            return
        self.start_job_loop()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        client = new_async_redis()
        heartbeat = asyncio.create_task(self.supervised("heartbeat", lambda: self.heartbeat_loop(client)))
        try:
            self.engines = self._preloaded if self._preloaded is not None else await asyncio.to_thread(
                load_engines, self.engine_ids, self.device)
            loops = await self.start(client)
            if loops is not None:
                await self.serve(loops)
        finally:
            await self.shut_down(client, heartbeat)

    async def start(self, client: aioredis.Redis) -> WorkerLoops | None:
        queue = WorkerQueue(client, self.state.worker_id)
        voice_queue = WorkerQueue(client, self.state.worker_id, stream=voice_tasks_key())
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("announce engines", lambda: announce_engines(client, engine_versions(self.engines))),
            ("publish presets", lambda: asyncio.to_thread(publish_presets, self.engines)),
            ("job queue", queue.ensure_group), ("voice queue", voice_queue.ensure_group)]
        for name, step in steps:
            if not await self.until_done(name, step):
                return None
        executor = await asyncio.to_thread(build_executor, self.engines, self.state.worker_id, self.device)
        self.consumer = JobConsumer(client=client, queue=queue, executor=executor, stop_event=self.stop_event,
                                    max_jobs=settings.WORKER_MAX_BATCH)
        self.refresh_state()  # say "idle" at once: the web sends jobs only to serving workers
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await bounded(heartbeat_write(client, self.state), limit_s=10)
        logger.info("Worker %s ready on %s with %s", self.state.worker_id, self.device, list(self.engines))
        return WorkerLoops(self, client, voice_queue)

    async def serve(self, loops: WorkerLoops) -> None:
        self.start_job_loop()
        others = [asyncio.create_task(self.supervised(name, loop)) for name, loop in loops.named()]
        others.append(asyncio.create_task(self.supervised("watchdog", self.watchdog_loop)))
        await self.stop_event.wait()
        for task in [*others, *([self._job_loop] if self._job_loop else [])]:
            await stop_task(task, timeout_s=STOP_WAIT_S, what="worker loop")
        if self.consumer is not None:  # each running job hands itself back at its next event
            await self.consumer.drain(timeout_s=STOP_WAIT_S)

    async def shut_down(self, client: aioredis.Redis, heartbeat: asyncio.Task[None]) -> None:
        self.stop_event.set()
        await stop_task(heartbeat, timeout_s=STOP_WAIT_S, what="heartbeat loop")
        if self.consumer:
            self.threads_left_behind = not await asyncio.to_thread(self.consumer.close)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await bounded(heartbeat_clear(client, self.state.worker_id), limit_s=5)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await bounded(client.aclose(), limit_s=5)
        layer = get_channel_layer()
        if layer is not None and hasattr(layer, "close_pools"):
            with contextlib.suppress(Exception):
                await bounded(layer.close_pools(), limit_s=5)  # the layer's pools belong to this loop
        logger.info("Worker %s stopped", self.state.worker_id)
