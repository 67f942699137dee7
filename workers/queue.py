"""The durable job queue: a Redis stream read by a consumer group of workers.

- `enqueue` XADDs the job id and remembers the entry id (jobs:entries hash) for the reconciler.
- Workers XREADGROUP new entries, XACK only after the job row is final, and refresh their claim
  (XCLAIM ... JUSTID resets the idle time) while a job runs, so a live job is never stolen.
- A reaper XAUTOCLAIMs entries idle past the visibility timeout (their worker died); an entry
  delivered more than QUEUE_MAX_DELIVERIES times goes to the dead-letter stream instead.
- A per-job lock (SET NX PX, refreshed with the claim) stops two workers running one job when
  the reconciler re-enqueued a job whose entry Redis lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from glmtts_site.redis_conn import get_redis, redis_key

GROUP = "workers"
# Hand a running job back in one atomic step: release its lock (if still ours), add a fresh entry for
# the next worker, then ack and delete the old one. In this order, no worker can read the fresh entry
# while the lock still stands and drop it as a duplicate of a run that is ending.
_HAND_BACK = """
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
local fresh = redis.call('XADD', KEYS[1], '*', 'job', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], fresh)
redis.call('XACK', KEYS[1], ARGV[4], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return fresh
"""


def stream_key() -> str:
    return redis_key("jobs")


def dead_letter_key() -> str:
    return redis_key("jobs", "dead")


def entries_key() -> str:
    return redis_key("jobs", "entries")


def lock_key(job_id: str) -> str:
    return redis_key("jobs", "lock", job_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class QueueEntry:
    entry_id: str
    job_id: str
    deliveries: int


def enqueue(job_id: str, client: redis.Redis | None = None) -> str:
    client = client or get_redis()
    entry_id = _text(client.xadd(stream_key(), {"job": job_id}))
    client.hset(entries_key(), job_id, entry_id)
    return entry_id


def queue_depth(client: redis.Redis | None = None) -> dict[str, int]:
    """Stream length, entries pending in the group, and dead letters (for the admin and /ready)."""
    client = client or get_redis()
    try:
        pending = int(client.xpending(stream_key(), GROUP)["pending"])
    except redis.ResponseError:  # no group yet: no worker has started
        pending = 0
    length = int(client.xlen(stream_key())) if client.exists(stream_key()) else 0
    return {"length": length, "pending": pending, "dead": int(client.xlen(dead_letter_key()))}


def _entry_age_s(entry_id: bytes | str | None, now_ms: int) -> float:
    """An entry id starts with its XADD time in milliseconds."""
    return max(0.0, (now_ms - int(_text(entry_id).split("-")[0])) / 1000) if entry_id else 0.0


def queue_ages(client: redis.Redis | None = None) -> dict[str, float]:
    """Seconds since the oldest pending entry (taken by a worker, not yet acked) and the oldest entry no
    worker has taken yet were enqueued."""
    client = client or get_redis()
    now_ms = int(time.time() * 1000)
    try:
        summary: Any = client.xpending(stream_key(), GROUP)
        group = next(g for g in client.xinfo_groups(stream_key()) if _text(g["name"]) == GROUP)
    except (redis.ResponseError, StopIteration):  # no stream or no group yet: nothing waits
        return {"oldest_pending_s": 0.0, "oldest_waiting_s": 0.0}
    waiting = client.xrange(stream_key(), min=f"({_text(group['last-delivered-id'])}", count=1)
    return {"oldest_pending_s": _entry_age_s(summary.get("min"), now_ms),
            "oldest_waiting_s": _entry_age_s(waiting[0][0] if waiting else None, now_ms)}


class WorkerQueue:
    """The worker side, on the worker's one asyncio loop."""

    def __init__(self, client: aioredis.Redis, consumer: str, stream: str | None = None) -> None:
        self.client, self.consumer = client, consumer
        self.stream = stream or stream_key()
        self.dead_stream = f"{self.stream}:dead"  # (the job queue's is dead_letter_key())
        self.visibility_ms = int(settings.QUEUE_VISIBILITY_TIMEOUT_S * 1000)
        self.max_deliveries = settings.QUEUE_MAX_DELIVERIES

    async def ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_new(self, block_ms: int) -> QueueEntry | None:
        try:
            reply: Any = await self.client.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=1,
                                                 block=block_ms)
        except aioredis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # the stream was deleted under us; recreate and go on
            return None
        if not reply:
            return None
        entry_id, fields = reply[0][1][0]
        return QueueEntry(_text(entry_id), _text(fields[b"job"]), await self._deliveries(_text(entry_id)))

    async def _deliveries(self, entry_id: str) -> int:
        rows = await self.client.xpending_range(self.stream, GROUP, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    async def reclaim_one(self) -> QueueEntry | None:
        """An entry whose worker stopped refreshing it (died), now ours; None if there is none."""
        try:
            reply: Any = await self.client.xautoclaim(self.stream, GROUP, self.consumer,
                                                 min_idle_time=self.visibility_ms, start_id="0-0", count=1)
        except aioredis.ResponseError:
            await self.ensure_group()
            return None
        claimed = reply[1]
        for entry_id, fields in claimed:
            if fields is None:  # the entry was trimmed/deleted; drop it from the PEL
                await self.client.xack(self.stream, GROUP, entry_id)
                continue
            return QueueEntry(_text(entry_id), _text(fields[b"job"]), await self._deliveries(_text(entry_id)))
        return None

    async def refresh(self, entry: QueueEntry) -> None:
        """Reset the entry's idle time and extend the job lock: this job is alive."""
        await self.client.xclaim(self.stream, GROUP, self.consumer, min_idle_time=0,
                                 message_ids=[entry.entry_id], justid=True)
        await self.client.set(lock_key(entry.job_id), self.consumer, px=self.visibility_ms)

    async def try_lock(self, job_id: str) -> bool:
        return bool(await self.client.set(lock_key(job_id), self.consumer, nx=True, px=self.visibility_ms))

    async def unlock(self, job_id: str) -> None:
        if _text(await self.client.get(lock_key(job_id)) or b"") == self.consumer:
            await self.client.delete(lock_key(job_id))

    async def ack(self, entry: QueueEntry) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, entry.entry_id)
            pipe.xdel(self.stream, entry.entry_id)
            await pipe.execute()
        # Forget the mapping only if it still names this entry (a re-enqueue may have replaced it).
        current = await self.client.hget(entries_key(), entry.job_id)
        if current is not None and _text(current) == entry.entry_id:
            await self.client.hdel(entries_key(), entry.job_id)

    async def dead_letter(self, entry: QueueEntry, reason: str) -> None:
        await self.client.xadd(self.dead_stream, {"job": entry.job_id, "entry": entry.entry_id,
                                                   "reason": reason, "at": str(time.time())}, maxlen=10000)
        await self.ack(entry)

    async def entry_alive(self, job_id: str) -> bool:
        """Does the stream still hold an entry for this job (queued or pending)?"""
        entry_id = await self.client.hget(entries_key(), job_id)
        if entry_id is None:
            return False
        found = await self.client.xrange(self.stream, min=_text(entry_id), max=_text(entry_id), count=1)
        return bool(found)

    async def is_locked(self, job_id: str) -> bool:
        return bool(await self.client.exists(lock_key(job_id)))

    async def hand_back(self, entry: QueueEntry) -> str:
        """Give a job we hold to the next worker (SIGTERM, watchdog); returns the fresh entry id."""
        fresh = await self.client.eval(_HAND_BACK, 3, self.stream, entries_key(), lock_key(entry.job_id),
                                       self.consumer, entry.job_id, entry.entry_id, GROUP)
        return _text(fresh)

    async def requeue(self, job_id: str) -> str:
        entry_id = _text(await self.client.xadd(self.stream, {"job": job_id}))
        await self.client.hset(entries_key(), job_id, entry_id)
        return entry_id
