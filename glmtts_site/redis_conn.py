"""One place that knows how to reach Redis and how this deployment names its keys."""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings


def redis_key(*parts: object) -> str:
    """`redis_key("worker", wid)` -> "<prefix>:worker:<wid>"; every key we write goes through it."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(part) for part in parts)])


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def get_redis() -> redis.Redis:
    """A shared synchronous client (thread-safe connection pool) for the web process."""
    return _client_for(settings.REDIS_URL)


def new_async_redis() -> aioredis.Redis:
    """A fresh asyncio client; the caller owns it (bind it to one event loop, close it at exit)."""
    return aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=30)
