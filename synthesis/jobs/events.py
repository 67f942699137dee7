"""Per-job event streams in Redis: progress and audio chunks, replayable in order.

The worker appends every event of a job to `<prefix>:job:<id>:events` (bounded, with a TTL);
readers (the synthesize command, websockets, SSE) read it from any position, so a late or
reconnecting reader misses nothing. Audio travels as PCM16 bytes in the entry's `pcm` field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from glmtts_site.redis_conn import get_redis, redis_key


class EventType(StrEnum):
    """Every event of a job's stream, and the websocket's own `tts.queued` frame: one vocabulary for the
    worker that writes them and every surface that reads them (websocket, SSE, the OpenAI stream)."""

    QUEUED = "tts.queued"  # websocket only: the place in the queue, from the row
    STARTED = "tts.started"
    PROGRESS = "tts.progress"
    CHUNK = "tts.chunk"
    REQUEUED = "tts.requeued"
    DONE = "tts.done"
    FAILED = "tts.failed"
    CANCELLED = "tts.cancelled"


TERMINAL_EVENTS = frozenset({EventType.DONE, EventType.FAILED, EventType.CANCELLED})
# A reader whose job row is final stops waiting for the stream's terminal event after this many
# quiet seconds and ends from the row: a worker killed between its final write and that event leaves
# a stream without an end (the next worker to see the job's entry adds it, but only after the
# visibility timeout).
END_GRACE_S = 10.0


def events_key(job_id: str) -> str:
    return redis_key("job", job_id, "events")


def job_group(job_id: str) -> str:
    """The channel-layer group whose members hear that the job's stream has new events."""
    return f"job.{job_id}"


def cancel_key(job_id: str) -> str:
    return redis_key("job", job_id, "cancel")


@dataclass(frozen=True)
class JobEvent:
    entry_id: str
    type: str
    data: dict[str, Any]
    pcm: bytes | None = None

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_EVENTS


async def publish_event(client: aioredis.Redis, job_id: str, event_type: str, data: dict[str, Any],
                        pcm: bytes | None = None) -> str:
    fields: dict[Any, Any] = {"type": event_type, "data": json.dumps(data, separators=(",", ":"))}
    if pcm is not None:
        fields["pcm"] = pcm
    key = events_key(job_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.xadd(key, fields, maxlen=settings.JOB_EVENTS_MAXLEN, approximate=False)
        pipe.expire(key, settings.JOB_EVENTS_TTL_S)
        entry_id, _ = await pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def decode_event(entry_id: bytes | str, fields: dict[bytes, bytes]) -> JobEvent:
    return JobEvent(
        entry_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        type=fields[b"type"].decode(),
        data=json.loads(fields[b"data"]),
        pcm=fields.get(b"pcm"),
    )


def read_events(job_id: str, *, after: str = "0-0", block_ms: int | None = None,
                client: redis.Redis | None = None) -> list[JobEvent]:
    """Events after `after` (an entry id); with block_ms, wait up to that long for new ones."""
    client = client or get_redis()
    reply: Any = client.xread({events_key(job_id): after}, count=500, block=block_ms)
    if not reply:
        return []
    return [decode_event(entry_id, fields) for entry_id, fields in reply[0][1]]


def last_event_type(job_id: str, client: redis.Redis | None = None) -> str | None:
    """The type of the stream's newest event (None: no stream); reads one entry, not the audio."""
    newest: Any = (client or get_redis()).xrevrange(events_key(job_id), count=1)
    return newest[0][1][b"type"].decode() if newest else None


def follow_events(job_id: str, *, timeout_s: float, client: redis.Redis | None = None,
                  row_is_final: Callable[[], bool] | None = None) -> Iterator[JobEvent]:
    """Every event of a job from the start until a terminal one (or the timeout); with
    `row_is_final`, also ends after END_GRACE_S quiet seconds once that says the job has ended."""
    deadline = time.monotonic() + timeout_s
    after, quiet_since = "0-0", time.monotonic()
    while time.monotonic() < deadline:
        events = read_events(job_id, after=after, block_ms=1000, client=client)
        for event in events:
            after, quiet_since = event.entry_id, time.monotonic()
            yield event
            if event.is_terminal:
                return
        if not events and row_is_final is not None and time.monotonic() - quiet_since >= END_GRACE_S:
            if row_is_final():
                return
            quiet_since = time.monotonic()  # asked: ask again after as long
    raise TimeoutError(f"Job {job_id} did not finish within {timeout_s:.0f}s")


def request_cancel(job_id: str, client: redis.Redis | None = None) -> None:
    (client or get_redis()).set(cancel_key(job_id), "1", ex=settings.JOB_EVENTS_TTL_S)


def publish_event_sync(job_id: str, event_type: str, data: dict[str, Any]) -> None:
    """For the web process (no event loop of its own): store the event and announce it."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    client = get_redis()
    key = events_key(job_id)
    entry_id = client.xadd(key, {"type": event_type, "data": json.dumps(data)}, maxlen=settings.JOB_EVENTS_MAXLEN)
    client.expire(key, settings.JOB_EVENTS_TTL_S)
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(job_group(job_id), {"type": "job.event", "entry": str(entry_id)})
