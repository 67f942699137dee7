"""Edge (Cloudflare) purges: asked for here by the web, a command or a worker; sent by the workers.

A purge is an entry in a Redis stream, so asking never waits on Cloudflare and outlives the process
that asked. Every worker reads that stream in one consumer group (workers.cdn_purger) and calls
Cloudflare's purge API, retrying with backoff; what finally fails is kept (`recent_purge_errors`, shown
in the admin) and counted (glmtts_edge_purges_total). Off, asking nothing, unless CLOUDFLARE_ZONE_ID
and CLOUDFLARE_API_TOKEN are both set.

Tags are those the audio view sends in Cache-Tag (glmtts_site.edge); paths (`/a/<token>.<ext>`) are
purged by URL under PUBLIC_BASE_URL, for what no tag names alone (one voice's results).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from .metrics.web import edge_purge_requests
from .redis_conn import get_redis, redis_key

logger = logging.getLogger(__name__)
KEEP_ERRORS = 50
STREAM_MAXLEN = 100_000


def purge_enabled() -> bool:
    return bool(settings.CLOUDFLARE_ZONE_ID and settings.CLOUDFLARE_API_TOKEN)


def purge_stream_key() -> str:
    return redis_key("edge", "purges")


def purge_errors_key() -> str:
    return redis_key("edge", "purge-errors")


def purge_payload(*, tags: Iterable[str] = (), paths: Iterable[str] = (), reason: str) -> str | None:
    """The stream entry's JSON; None when there is nothing to purge. Paths without PUBLIC_BASE_URL
    cannot become URLs: they are dropped (and the tags still go)."""
    base = settings.PUBLIC_BASE_URL
    urls = sorted({f"{base}{path}" for path in paths}) if base else []
    unique_tags = sorted(set(tags))
    if not unique_tags and not urls:
        return None
    return json.dumps({"tags": unique_tags, "urls": urls, "reason": reason, "at": round(time.time(), 3)})


def request_purge(*, tags: Iterable[str] = (), paths: Iterable[str] = (), reason: str,
                  client: redis.Redis | None = None) -> bool:
    """Queue one purge; True if queued. Never raises: an edge that keeps a copy is not worth a failed
    request, so an unreachable Redis is logged and kept as an error instead."""
    payload = purge_payload(tags=tags, paths=paths, reason=reason) if purge_enabled() else None
    if payload is None:
        return False
    try:
        (client or get_redis()).xadd(purge_stream_key(), {"job": payload}, maxlen=STREAM_MAXLEN, approximate=True)
    except RedisError as exc:
        logger.warning("Could not queue an edge purge (%s): %s", reason, exc)
        edge_purge_requests.labels(reason=reason, outcome="lost").inc()
        return False
    edge_purge_requests.labels(reason=reason, outcome="queued").inc()
    return True


async def request_purge_async(client: aioredis.Redis, *, tags: Iterable[str] = (), reason: str) -> bool:
    """request_purge for an event loop (the worker's engine-upgrade purge)."""
    payload = purge_payload(tags=tags, reason=reason) if purge_enabled() else None
    if payload is None:
        return False
    await client.xadd(purge_stream_key(), {"job": payload}, maxlen=STREAM_MAXLEN, approximate=True)
    return True


def error_entry(message: str, payload: str) -> str:
    return json.dumps({"at": round(time.time(), 3), "message": message[:500], "payload": payload[:1000]})


def recent_purge_errors(limit: int = 20, client: redis.Redis | None = None) -> list[dict[str, Any]]:
    """The newest purges that failed for good, newest first (for the admin)."""
    raw: list[Any] = (client or get_redis()).lrange(purge_errors_key(), 0, limit - 1)
    return [json.loads(item) for item in raw]


def purges_waiting(client: redis.Redis | None = None) -> int:
    return int((client or get_redis()).xlen(purge_stream_key()))
