"""The worker process: one asyncio event loop for its whole life.

At start it loads its engines (and the ASR model) once and keeps them resident. Then it runs
concurrently: the job loop, heartbeats, the reconciler, and a listener for staff commands.
SIGTERM/SIGINT set the stop event: a running job is handed back between chunks (requeued for
the next worker, nothing lost), the heartbeat is cleared and connections are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

from glmtts_site.redis_conn import new_async_redis
from synthesis.engines_info import engines_key
from voices.tasks import voice_tasks_key

from .asr import Transcriber, bundled_whisper_dir
from .consumer import JobConsumer
from .control import control_channel, gpu_status, release_gpu_memory
from .engines.base import Engine
from .engines.registry import build_engine
from .heartbeat import WorkerState, heartbeat_clear, heartbeat_write
from .jobrun import JobExecutor
from .queue import WorkerQueue
from .voice_tasks import run_voice_task

logger = logging.getLogger(__name__)
_REDIS_DOWN = (aioredis.ConnectionError, aioredis.TimeoutError, OSError)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def sync_presets(engines: dict[str, Engine]) -> None:
    """Each engine's presets appear in every user's voice library as system voices."""
    from django.db import close_old_connections

    from voices.services import presets_sync

    for engine in engines.values():
        presets_sync(engine_id=engine.engine_id,
                     presets=[(p.name, p.label, p.language) for p in engine.presets()])
    close_old_connections()


def load_engines(engine_ids: list[str], device: str) -> dict[str, Engine]:
    engines: dict[str, Engine] = {}
    for engine_id in engine_ids:
        started = time.monotonic()
        engine = build_engine(engine_id)
        engine.load(device)
        engines[engine_id] = engine
        logger.info("Loaded engine %s (%s) on %s in %.1fs", engine_id, engine.version, device,
                    time.monotonic() - started)
    return engines


class WorkerRunner:
    def __init__(self, *, device: str = "cpu", engine_ids: list[str] | None = None,
                 worker_id: str | None = None) -> None:
        self.device = device
        self.engine_ids = engine_ids if engine_ids is not None else list(settings.WORKER_ENGINES)
        self.state = WorkerState(worker_id=worker_id or new_worker_id(), hostname=socket.gethostname(),
                                 pid=os.getpid(), device=device, started_at=time.time())
        self.stop_event = asyncio.Event()
        self.engines: dict[str, Engine] = {}
        self.consumer: JobConsumer | None = None

    def request_stop(self, signame: str = "request") -> None:
        if not self.stop_event.is_set():
            logger.info("Worker %s stopping (%s)", self.state.worker_id, signame)
            self.stop_event.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)

    def _refresh_state(self) -> None:
        self.state.engines = {e.engine_id: e.version for e in self.engines.values()}
        self.state.loaded = {e.engine_id: e.loaded for e in self.engines.values()}
        self.state.current_job = self.consumer.current_job if self.consumer else None
        self.state.engine_runs = self.consumer.executor.engine_runs if self.consumer else 0
        self.state.gpu = gpu_status(self.device)

    async def _heartbeat_loop(self, client: aioredis.Redis) -> None:
        while not self.stop_event.is_set():
            self._refresh_state()
            try:
                await heartbeat_write(client, self.state)
            except _REDIS_DOWN as exc:
                logger.warning("Heartbeat failed, retrying: %s", exc)
            await self._sleep(settings.WORKER_HEARTBEAT_INTERVAL_S)

    async def _reconcile_loop(self) -> None:
        while not self.stop_event.is_set():
            await self._sleep(settings.QUEUE_RECONCILE_INTERVAL_S)
            if self.consumer and not self.stop_event.is_set():
                try:
                    await self.consumer.reconcile()
                except _REDIS_DOWN as exc:
                    logger.warning("Reconciler skipped: %s", exc)

    def offload(self, reason: str) -> None:
        unloaded = [e.engine_id for e in self.engines.values() if e.loaded]
        for engine in self.engines.values():
            engine.unload()
        if self.consumer:
            self.consumer.executor.voices.clear()
        release_gpu_memory(self.device)
        if unloaded:
            logger.info("Offloaded engines %s (%s)", unloaded, reason)

    async def _control_loop(self, client: aioredis.Redis) -> None:
        pubsub = client.pubsub()
        await pubsub.subscribe(control_channel())
        try:
            while not self.stop_event.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message and message.get("type") == "message":
                    command = json.loads(message["data"])
                    if command.get("action") == "offload" and command.get("target") in ("*", self.state.worker_id):
                        await asyncio.to_thread(self.offload, "staff request")
                self._maybe_idle_offload()
        finally:
            await pubsub.aclose()

    def _maybe_idle_offload(self) -> None:
        idle_limit = settings.WORKER_IDLE_OFFLOAD_S
        if not (self.device.startswith("cuda") and idle_limit > 0 and self.consumer):
            return
        idle = asyncio.get_running_loop().time() - self.consumer.last_job_end
        if self.consumer.current_job is None and idle > idle_limit and any(e.loaded for e in self.engines.values()):
            self.offload(f"idle {idle:.0f}s")

    async def _job_loop(self) -> None:
        assert self.consumer is not None
        while not self.stop_event.is_set():
            try:
                entry = await self.consumer.next_entry()
            except _REDIS_DOWN as exc:
                logger.warning("Queue unavailable, retrying: %s", exc)
                await self._sleep(1.0)
                continue
            if entry is not None:
                await self.consumer.handle(entry)

    async def _voice_loop(self, queue: WorkerQueue) -> None:
        assert self.consumer is not None
        loop = asyncio.get_running_loop()
        while not self.stop_event.is_set():
            try:
                entry = await queue.reclaim_one() or await queue.read_new(block_ms=1000)
            except _REDIS_DOWN:
                await self._sleep(1.0)
                continue
            if entry is None:
                continue
            if entry.deliveries <= queue.max_deliveries:
                try:  # on the inference thread: engines and Whisper are not used from two threads at once
                    task = functools.partial(run_voice_task, entry.job_id, engines=self.engines,
                                             transcriber=self.consumer.executor.transcriber)
                    outcome = await loop.run_in_executor(self.consumer.pool, task)
                    logger.info("Voice task %s: %s", entry.job_id, outcome)
                except Exception:
                    logger.exception("Voice task %s failed", entry.job_id)
            await queue.ack(entry)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        client = new_async_redis()
        heartbeat = asyncio.create_task(self._heartbeat_loop(client))
        try:
            self.engines = await asyncio.to_thread(load_engines, self.engine_ids, self.device)
            if self.engines:  # the web process keys its cache lookups with these versions
                await client.hset(engines_key(), mapping={e.engine_id: e.version for e in self.engines.values()})
                try:
                    await asyncio.to_thread(sync_presets, self.engines)
                except Exception:  # the library misses the presets, but synthesis still works
                    logger.exception("Could not publish preset voices (are migrations applied?)")
            transcriber = Transcriber(model_dir=bundled_whisper_dir(Path(settings.ENGINE_CACHE_DIR)),
                                      threads=settings.ENGINE_THREADS)
            executor = JobExecutor(engines=self.engines, transcriber=transcriber,
                                   worker_id=self.state.worker_id, device=self.device)
            queue = WorkerQueue(client, self.state.worker_id)
            while not self.stop_event.is_set():
                try:
                    await queue.ensure_group()
                    break
                except _REDIS_DOWN as exc:
                    logger.warning("Redis not ready (%s); retrying", exc)
                    await self._sleep(1.0)
            self.consumer = JobConsumer(client=client, queue=queue, executor=executor, stop_event=self.stop_event)
            logger.info("Worker %s ready on %s with %s", self.state.worker_id, self.device, list(self.engines))
            voice_queue = WorkerQueue(client, self.state.worker_id, stream=voice_tasks_key())
            await voice_queue.ensure_group()
            await asyncio.gather(self._job_loop(), self._voice_loop(voice_queue), self._reconcile_loop(),
                                 self._control_loop(client))
        finally:
            self.stop_event.set()
            await heartbeat
            if self.consumer:
                await asyncio.to_thread(self.consumer.close)
            with contextlib.suppress(*_REDIS_DOWN):
                await heartbeat_clear(client, self.state.worker_id)
            await client.aclose()
            layer = get_channel_layer()
            if layer is not None and hasattr(layer, "close_pools"):
                await layer.close_pools()  # the layer's pools belong to this loop; close them with it
            logger.info("Worker %s stopped", self.state.worker_id)
