"""One place that knows how to reach Redis and how this deployment names its keys.

Timeouts are explicit everywhere (redis-py 8 defaults to a 5 s socket timeout): a command may
block for at most BLOCK_MAX_S on the server (XREAD/XREADGROUP `block`), and the socket waits
SOCKET_TIMEOUT_S, comfortably longer, so a blocking read never times out on our side while an
unreachable Redis is noticed within seconds instead of never.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.connection import parse_url

from .redis_cancel import cancellable

CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 10.0
BLOCK_MAX_S = 2.0  # the longest server-side block any of our commands asks for
HEALTH_CHECK_S = 30


def redis_key(*parts: object) -> str:
    """`redis_key("worker", wid)` -> "<prefix>:worker:<wid>"; every key we write goes through it."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(part) for part in parts)])


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S,
                                health_check_interval=HEALTH_CHECK_S)


def get_redis() -> redis.Redis:
    """A shared synchronous client (thread-safe connection pool) for the web process."""
    return _client_for(settings.REDIS_URL)


def async_pool_options(url: str) -> dict[str, Any]:
    """asyncio connection-pool keywords for `url`: our timeouts, and connections whose sends keep a
    cancellation (redis_cancel)."""
    options: dict[str, Any] = {**parse_url(url), "socket_connect_timeout": CONNECT_TIMEOUT_S,
                               "socket_timeout": SOCKET_TIMEOUT_S, "health_check_interval": HEALTH_CHECK_S}
    options["connection_class"] = cancellable(options.get("connection_class", aioredis.Connection))
    return options


def new_async_redis(*, max_connections: int | None = None) -> aioredis.Redis:
    """A fresh asyncio client; the caller owns it (bind it to one event loop, close it at exit)."""
    options = async_pool_options(settings.REDIS_URL)
    if max_connections is None:
        return aioredis.Redis.from_pool(aioredis.ConnectionPool(**options))
    pool = aioredis.BlockingConnectionPool(max_connections=max_connections, timeout=SOCKET_TIMEOUT_S, **options)
    return aioredis.Redis(connection_pool=pool)


_loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary())


def loop_redis() -> aioredis.Redis:
    """The web process's asyncio client for the running event loop: one bounded pool shared by every
    socket and stream on that loop (REDIS_WEB_MAX_CONNECTIONS), instead of a pool per connection that
    a burst of clients would multiply and an abrupt disconnect could leave open."""
    loop = asyncio.get_running_loop()
    known = _loop_clients.get(loop)
    if known is None or known[0] != settings.REDIS_URL:
        known = (settings.REDIS_URL, new_async_redis(max_connections=settings.REDIS_WEB_MAX_CONNECTIONS))
        _loop_clients[loop] = known
    return known[1]


def channel_layer_host(url: str) -> dict[str, object]:
    """channels-redis host options (its connection-pool keywords): it blocks 5 s per receive (BZPOPMIN), so
    the socket must wait longer than that, or every quiet websocket dies with "Timeout reading from"
    (redis-py's default is 5 s); and a consumer's receive must end when its socket does (redis_cancel)."""
    return {**async_pool_options(url), "retry_on_timeout": False}
