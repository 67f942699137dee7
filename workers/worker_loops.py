"""The worker's secondary loops: voice tasks, the reconciler, staff commands (and idle offload).

Each loop returns when the worker stops and raises on an error; the runner's supervisor logs it and
starts the loop again with backoff. Redis calls in them are bounded by the client's socket timeout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
import redis.asyncio as aioredis
from django.conf import settings

from glmtts_site.edge_purge import KEEP_ERRORS, error_entry, purge_enabled, purge_errors_key, purge_stream_key
from glmtts_site.resilience import bounded

from .cdn_purger import CloudflarePurger, PurgeFailed, PurgeInterrupted
from .control import control_channel, release_gpu_memory
from .queue import QueueEntry, WorkerQueue
from .voice_tasks import run_voice_task, voice_task_given_up

if TYPE_CHECKING:
    from .runner import WorkerRunner

logger = logging.getLogger(__name__)


class WorkerLoops:
    def __init__(self, runner: WorkerRunner, client: aioredis.Redis, voice_queue: WorkerQueue) -> None:
        self.runner, self.client, self.voice_queue = runner, client, voice_queue

    def named(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("voice tasks", self.voice_loop), ("reconciler", self.reconcile_loop), ("control", self.control_loop)]
        if purge_enabled():
            loops.append(("edge purges", self.purge_loop))
        return loops

    @property
    def stopping(self) -> bool:
        return self.runner.stop_event.is_set()

    async def voice_loop(self) -> None:
        """Voice tasks as jobs are run: acked when done; after an error left pending, so that the
        queue delivers them again after the visibility timeout; dead-lettered (their own stream) after
        QUEUE_MAX_DELIVERIES attempts, or at once when a worker died in each of them."""
        queue = self.voice_queue
        while not self.stopping:
            entry = await queue.reclaim_one() or await queue.read_new(block_ms=1000)
            if entry is not None:
                await self.run_voice_entry(entry)

    async def run_voice_entry(self, entry: QueueEntry) -> None:
        consumer, queue = self.runner.consumer, self.voice_queue
        assert consumer is not None
        if entry.deliveries > queue.max_deliveries:
            await asyncio.to_thread(voice_task_given_up, entry.job_id)
            await queue.dead_letter(entry, f"Delivered {entry.deliveries} times without finishing.")
            return
        last = entry.deliveries == queue.max_deliveries
        task = functools.partial(run_voice_task, entry.job_id, engines=self.runner.engines,
                                 transcriber=consumer.executor.transcriber, last_attempt=last)
        try:  # on the inference thread: engines and Whisper are not used from two threads at once
            outcome = await asyncio.get_running_loop().run_in_executor(consumer.pool, task)
        except Exception as exc:
            if not last:
                logger.warning("Voice task %s failed (attempt %d of %d; retried): %s", entry.job_id,
                               entry.deliveries, queue.max_deliveries, exc)
                return  # pending: delivered again after the visibility timeout
            logger.exception("Voice task %s failed on its last attempt", entry.job_id)
            await queue.dead_letter(entry, f"{type(exc).__name__}: {exc}"[:500])
            return
        logger.info("Voice task %s: %s", entry.job_id, outcome)
        await queue.ack(entry)

    async def purge_loop(self) -> None:
        """Queued edge purges, one at a time; one that fails for good is dead-lettered and kept as an
        error for the admin. An entry whose worker died mid-purge is taken again after the visibility
        timeout (a purge sent twice does no harm)."""
        queue = WorkerQueue(self.client, self.runner.state.worker_id, stream=purge_stream_key())
        await queue.ensure_group()
        async with httpx.AsyncClient() as http:
            purger = CloudflarePurger(client=http, sleep=self.runner.sleep, stopping=lambda: self.stopping)
            while not self.stopping:
                entry = await queue.reclaim_one() or await queue.read_new(block_ms=1000)
                if entry is None:
                    continue
                try:
                    await purger.purge(entry.job_id)
                except PurgeInterrupted:
                    return  # pending: another worker takes it after the visibility timeout
                except PurgeFailed as exc:
                    logger.error("Edge purge failed for good: %s", exc)
                    async with self.client.pipeline(transaction=True) as pipe:
                        pipe.lpush(purge_errors_key(), error_entry(str(exc), entry.job_id))
                        pipe.ltrim(purge_errors_key(), 0, KEEP_ERRORS - 1)
                        await pipe.execute()
                    await queue.dead_letter(entry, str(exc)[:500])
                    continue
                await queue.ack(entry)

    async def reconcile_loop(self) -> None:
        while not self.stopping:
            await self.runner.sleep(settings.QUEUE_RECONCILE_INTERVAL_S)
            if self.runner.consumer and not self.stopping:
                await self.runner.consumer.reconcile()

    async def control_loop(self) -> None:
        pubsub = self.client.pubsub()
        await pubsub.subscribe(control_channel())
        try:
            while not self.stopping:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message and message.get("type") == "message":
                    command = json.loads(message["data"])
                    target = command.get("target")
                    if command.get("action") == "offload" and target in ("*", self.runner.state.worker_id):
                        await asyncio.to_thread(self.offload, "staff request")
                self.maybe_idle_offload()
        finally:
            await bounded(pubsub.aclose(), limit_s=5)

    def offload(self, reason: str) -> None:
        engines, consumer = self.runner.engines, self.runner.consumer
        unloaded = [e.engine_id for e in engines.values() if e.loaded]
        for engine in engines.values():
            engine.unload()
        if consumer:
            consumer.executor.voices.clear()
        release_gpu_memory(self.runner.device)
        if unloaded:
            logger.info("Offloaded engines %s (%s)", unloaded, reason)

    def maybe_idle_offload(self) -> None:
        idle_limit, consumer = settings.WORKER_IDLE_OFFLOAD_S, self.runner.consumer
        if not (self.runner.device.startswith("cuda") and idle_limit > 0 and consumer):
            return
        idle = asyncio.get_running_loop().time() - consumer.last_job_end
        if consumer.current_job is None and idle > idle_limit and any(e.loaded for e in self.runner.engines.values()):
            self.offload(f"idle {idle:.0f}s")
