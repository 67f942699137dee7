"""asyncio Redis connections whose sends do not lose a cancellation.

redis-py 8.1 sends every command under `asyncio.wait_for(send, socket_timeout)`. On Python 3.11
`wait_for` drops a cancellation that arrives as the wrapped send completes (CPython gh-86296; 3.12
rewrote `wait_for` on `asyncio.timeout`): the task goes on as if never cancelled. Seen here: a websocket
consumer's channel-layer receive, cancelled by channels when its client left while its connection sent
a first command, polled BZPOPMIN for as long as anyone waited (tests/site/test_redis_cancel.py), and any
loop of ours blocked on Redis could miss its stop the same way. These connections bound the send with
`asyncio.timeout`, which keeps the cancellation, and hand the library a send without `wait_for`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import cache

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import TimeoutError as RedisTimeoutError


class _CancellableSend(AbstractConnection):  # a mixin: before the TCP, TLS or Unix class in the MRO
    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        limit, self.socket_timeout = self.socket_timeout, None  # the library writes without wait_for ...
        try:
            async with asyncio.timeout(limit):  # ... bounded here instead (connect and health check too)
                await super().send_packed_command(command, check_health)
        except TimeoutError as exc:  # the library disconnected on the cancellation this timeout made
            raise RedisTimeoutError("Timeout writing to socket") from exc
        finally:
            self.socket_timeout = limit


@cache
def cancellable(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """`connection_class` (TCP, TLS or Unix socket) with the cancellation-keeping send."""
    return type(f"Cancellable{connection_class.__name__}", (_CancellableSend, connection_class), {})
