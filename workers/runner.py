"""The worker process: one asyncio event loop for its whole life.

It heartbeats into Redis, and stops cleanly on SIGTERM/SIGINT: the stop event is set, loops
finish their current step, the heartbeat is cleared and connections are closed.
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

import redis.asyncio as aioredis
from django.conf import settings

from glmtts_site.redis_conn import new_async_redis

from .heartbeat import WorkerState, heartbeat_clear, heartbeat_write

logger = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerRunner:
    def __init__(self, *, device: str = "cpu", worker_id: str | None = None) -> None:
        self.state = WorkerState(worker_id=worker_id or new_worker_id(), hostname=socket.gethostname(),
                                 pid=os.getpid(), device=device, started_at=time.time())
        self.stop_event = asyncio.Event()

    def request_stop(self, signame: str = "request") -> None:
        if not self.stop_event.is_set():
            logger.info("Worker %s stopping (%s)", self.state.worker_id, signame)
            self.stop_event.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)

    async def _heartbeat_loop(self, client: aioredis.Redis) -> None:
        interval = settings.WORKER_HEARTBEAT_INTERVAL_S
        while not self.stop_event.is_set():
            try:
                await heartbeat_write(client, self.state)
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                # Redis may come up after us (make run starts both); keep trying.
                logger.warning("Heartbeat failed, retrying: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=interval)

    async def run(self) -> None:
        self._install_signal_handlers()
        client = new_async_redis()
        logger.info("Worker %s started on %s", self.state.worker_id, self.state.device)
        try:
            await self._heartbeat_loop(client)
        finally:
            try:
                await heartbeat_clear(client, self.state.worker_id)
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                logger.warning("Could not clear heartbeat; it will expire by itself.")
            await client.aclose()
            logger.info("Worker %s stopped", self.state.worker_id)
