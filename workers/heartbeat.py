"""Worker heartbeats in Redis: each worker writes its state; /ready and the admin read them.

Layout: `<prefix>:worker:<id>` holds the worker's JSON state with a TTL, `<prefix>:metrics:worker:<id>`
its metrics snapshot (workers.metrics) with the same TTL, and the sorted set `<prefix>:workers` maps
worker id -> last-seen time, so listing needs no SCAN.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from glmtts_site.edge import engine_tag
from glmtts_site.edge_purge import request_purge_async
from glmtts_site.redis_conn import get_redis, redis_key
from synthesis.engines_info import engines_key

from .metrics import snapshot as metrics_snapshot
from .metrics import snapshot_key

WORKERS_INDEX = "workers"


@dataclass
class WorkerState:
    worker_id: str
    hostname: str
    pid: int
    device: str
    started_at: float
    engines: dict[str, str] = field(default_factory=dict)  # engine id -> version
    loaded: dict[str, bool] = field(default_factory=dict)  # engine id -> resident now
    engine_runs: int = 0
    current_job: str | None = None  # the longest-running of current_jobs
    current_jobs: list[str] = field(default_factory=list)  # every job it runs now (a batch, up to WORKER_MAX_BATCH)
    job_started_at: float | None = None
    status: str = "starting"  # starting, idle, busy, stalled (no progress for WORKER_STALL_S)
    progress_age_s: float = 0.0  # seconds since the job loop or its job last did something
    recoveries: int = 0  # stalls the watchdog recovered from
    gpu: dict[str, Any] | None = None
    last_seen: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _ttl_s() -> int:
    return max(2, int(settings.WORKER_HEARTBEAT_STALE_S * 2))


async def heartbeat_write(client: aioredis.Redis, state: WorkerState) -> None:
    state.last_seen = time.time()
    async with client.pipeline(transaction=True) as pipe:
        pipe.set(redis_key("worker", state.worker_id), state.to_json(), ex=_ttl_s())
        pipe.set(snapshot_key(state.worker_id), metrics_snapshot(), ex=_ttl_s())  # exported by the web
        pipe.zadd(redis_key(WORKERS_INDEX), {state.worker_id: state.last_seen})
        await pipe.execute()


async def announce_engines(client: aioredis.Redis, versions: dict[str, str]) -> None:
    """engine id -> version in `<prefix>:engines`: the web keys its cache lookups with these. A version
    announced for the first time retires the engine's earlier ones at the edge (once, whichever worker
    sees it first; workers of both versions during a rolling upgrade purge nothing twice)."""
    if not versions:
        return
    await client.hset(engines_key(), mapping=dict[Any, Any](versions))
    for engine_id, version in versions.items():
        seen = redis_key("engines", "seen", engine_id)
        if await client.sadd(seen, version):
            earlier = {_text(v) for v in await client.smembers(seen)} - {version}
            if earlier:
                await request_purge_async(client, tags=[engine_tag(engine_id, old) for old in sorted(earlier)],
                                          reason="engine_upgrade")


async def heartbeat_clear(client: aioredis.Redis, worker_id: str) -> None:
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(redis_key("worker", worker_id), snapshot_key(worker_id))
        pipe.zrem(redis_key(WORKERS_INDEX), worker_id)
        await pipe.execute()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def live_workers(client: redis.Redis | None = None) -> list[dict[str, Any]]:
    """States of workers seen within WORKER_HEARTBEAT_STALE_S, newest first."""
    client = client or get_redis()
    now = time.time()
    index = redis_key(WORKERS_INDEX)
    # Forget workers that stopped without clearing (SIGKILL); their state key has expired.
    client.zremrangebyscore(index, "-inf", now - _ttl_s())
    ids = client.zrevrangebyscore(index, "+inf", now - settings.WORKER_HEARTBEAT_STALE_S)
    if not ids:
        return []
    raw_states = client.mget([redis_key("worker", _text(wid)) for wid in ids])
    return [json.loads(raw) for raw in raw_states if raw]


def is_serving(state: dict[str, Any]) -> bool:
    """A live worker that can take jobs: started, and not stalled."""
    return state.get("status", "idle") in ("idle", "busy")


def engine_has_worker(engine_id: str, client: redis.Redis | None = None) -> bool:
    """Whether a live, serving worker has loaded this engine."""
    return any(engine_id in state.get("engines", {}) and is_serving(state) for state in live_workers(client))
