"""Worker heartbeats written as a worker writes them, for tests of what the web reads from them."""

from __future__ import annotations

import asyncio
import time

from glmtts_site.redis_conn import new_async_redis
from workers.heartbeat import WorkerState, heartbeat_write


def write_heartbeat(worker_id: str = "w1", status: str = "idle", engines: dict[str, str] | None = None) -> None:
    async def write() -> None:
        client = new_async_redis()
        state = WorkerState(worker_id=worker_id, hostname="h", pid=1, device="cpu", started_at=time.time(),
                            engines={"kokoro": "test"} if engines is None else engines, status=status)
        await heartbeat_write(client, state)
        await client.aclose()

    asyncio.run(write())
