"""The worker's job loop: take an entry, run its job in a thread, ack when the row is final."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from synthesis import services
from synthesis.events import cancel_key, publish_event
from synthesis.models import JobStatus, SynthesisJob
from synthesis.ws_protocol import job_group

from .jobrun import JobExecutor, Outcome
from .queue import QueueEntry, WorkerQueue

logger = logging.getLogger(__name__)


def _stale_unfinished_job_ids(older_than_s: float, limit: int = 200) -> list[str]:
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    # Followers have no entry on purpose: their leader's result finishes them.
    rows = SynthesisJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__lt=cutoff,
                                       leader__isnull=True)
    return [str(pk) for pk in rows.order_by("created_at").values_list("pk", flat=True)[:limit]]


class JobConsumer:
    def __init__(self, *, client: aioredis.Redis, queue: WorkerQueue, executor: JobExecutor,
                 stop_event: asyncio.Event) -> None:
        self.client, self.queue, self.executor, self.stop_event = client, queue, executor, stop_event
        self.current_job: str | None = None
        self.last_job_end = asyncio.get_running_loop().time()
        self.shutdown = threading.Event()
        # One inference thread: jobs run one at a time, the loop stays free for I/O.
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")

    async def next_entry(self) -> QueueEntry | None:
        return await self.queue.reclaim_one() or await self.queue.read_new(block_ms=1000)

    async def handle(self, entry: QueueEntry) -> None:
        if entry.deliveries > self.queue.max_deliveries:
            reason = f"Delivered {entry.deliveries} times without finishing (worker crashes?)."
            logger.error("Dead-lettering job %s: %s", entry.job_id, reason)
            await sync_to_async(services.job_mark_failed)(job_id=entry.job_id, code="too_many_attempts",
                                                          message=reason)
            await self.publish(entry.job_id, "tts.failed", {"code": "too_many_attempts", "message": reason})
            await self.queue.dead_letter(entry, reason)
            return
        if not await self.queue.try_lock(entry.job_id):
            logger.info("Job %s is running on another worker; dropping duplicate entry", entry.job_id)
            await self.queue.ack(entry)
            return
        self.current_job = entry.job_id
        try:
            outcome = await self._run_with_claim(entry)
        except Exception:
            # A crash we did not foresee: leave the entry pending; the reaper retries it later
            # and the delivery count sends it to the dead letters if it keeps failing.
            logger.exception("Job %s crashed; it will be retried", entry.job_id)
            await sync_to_async(services.job_mark_requeued)(job_id=entry.job_id, reason="worker error; retrying")
            await self.queue.unlock(entry.job_id)
            return
        finally:
            self.current_job = None
            self.last_job_end = asyncio.get_running_loop().time()
        await self._settle(entry, outcome)

    async def publish(self, job_id: str, event_type: str, data: dict[str, Any], pcm: bytes | None = None) -> None:
        """Store the event in the job's stream, then announce it (the notice may be dropped; the data not)."""
        entry_id = await publish_event(self.client, job_id, event_type, data, pcm)
        layer = get_channel_layer()
        if layer is not None:
            try:
                await layer.group_send(job_group(job_id), {"type": "job.event", "entry": entry_id})
            except Exception as exc:  # a lost notice only delays a socket until its next poll
                logger.warning("Channel-layer notice failed: %s", exc)

    async def _settle(self, entry: QueueEntry, outcome: Outcome) -> None:
        if outcome.status == "handed_back":
            await sync_to_async(services.job_mark_requeued)(job_id=entry.job_id, reason="worker stopped; requeued")
            await self.publish(entry.job_id, "tts.requeued", {"reason": outcome.detail})
            await self.queue.requeue(entry.job_id)  # a fresh entry: the next worker takes it at once
        await self.queue.ack(entry)
        await self.queue.unlock(entry.job_id)
        logger.info("Job %s: %s %s", entry.job_id, outcome.status, outcome.detail)

    async def _run_with_claim(self, entry: QueueEntry) -> Outcome:
        loop = asyncio.get_running_loop()
        cancel = threading.Event()

        def emit(event_type: str, data: dict[str, Any], pcm: bytes | None) -> None:
            # Called from the inference thread; publishing stays on the worker's one loop.
            asyncio.run_coroutine_threadsafe(self.publish(entry.job_id, event_type, data, pcm), loop).result()

        def run() -> Outcome:
            close_old_connections()
            try:
                return self.executor.run(entry.job_id, cancel=cancel, shutdown=self.shutdown, emit=emit)
            finally:
                close_old_connections()

        keeper = asyncio.create_task(self._keep_claim(entry, cancel))
        try:
            return await loop.run_in_executor(self.pool, run)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_claim(self, entry: QueueEntry, cancel: threading.Event) -> None:
        """Refresh the claim well inside the visibility timeout; watch for cancel and shutdown."""
        loop = asyncio.get_running_loop()
        interval = max(0.2, settings.QUEUE_VISIBILITY_TIMEOUT_S / 4)
        refreshed_at = -interval
        while True:
            if loop.time() - refreshed_at >= interval:
                await self.queue.refresh(entry)
                refreshed_at = loop.time()
            if await self.client.exists(cancel_key(entry.job_id)):
                cancel.set()
            if self.stop_event.is_set():
                self.shutdown.set()
            await asyncio.sleep(0.25)

    async def reconcile(self) -> int:
        """Re-enqueue unfinished jobs whose stream entry Redis lost; returns how many."""
        job_ids = await sync_to_async(_stale_unfinished_job_ids)(settings.QUEUE_RECONCILE_MIN_AGE_S)
        revived = 0
        for job_id in job_ids:
            if job_id == self.current_job or await self.queue.is_locked(job_id):
                continue
            if not await self.queue.entry_alive(job_id):
                await self.queue.requeue(job_id)
                revived += 1
        if revived:
            logger.warning("Reconciler re-enqueued %d job(s) that Redis had lost", revived)
        return revived

    def close(self) -> None:
        self.pool.shutdown(wait=True)
