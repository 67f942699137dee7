"""Cancellation reaches tasks blocked on Redis (glmtts_site/redis_cancel.py): a refused websocket's
consumer ends as soon as its client leaves — with redis-py's own connections its channel-layer receive
lost the cancellation (Python 3.11 wait_for) and polled BZPOPMIN until someone cancelled it again — and
every URL scheme gets the cancellation-keeping send on its own connection class; and our own bounded
waits (resilience.bounded) keep a cancellation that asyncio.wait_for drops."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from glmtts_site.redis_conn import async_pool_options, channel_layer_host, new_async_redis
from glmtts_site.resilience import bounded
from tests.support.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)
ENDS_WITHIN_S = 5.0  # generous for a loaded machine: the fault never ended by itself (checked for 30 s)


async def test_a_refused_sockets_consumer_ends_when_its_client_leaves() -> None:
    for _ in range(5):  # the lost cancellation needed a send in flight: it hit 8 of 8 sockets before
        communicator = open_socket("/ws/jobs/00000000-0000-0000-0000-000000000000/")
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["code"] == "not_authenticated"
        assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        done, _ = await asyncio.wait({communicator.future}, timeout=ENDS_WITHIN_S)
        assert done, "the consumer went on after its client left"


@pytest.mark.parametrize("url,base", [("redis://127.0.0.1:6379/3", aioredis.Connection),
                                      ("rediss://127.0.0.1:6380/3", aioredis.SSLConnection),
                                      ("unix:///run/redis.sock?db=3", aioredis.UnixDomainSocketConnection)])
def test_every_scheme_keeps_its_transport_and_gets_the_send(url: str, base: type) -> None:
    for options in (async_pool_options(url), channel_layer_host(url)):
        connection_class = options["connection_class"]
        assert isinstance(connection_class, type)
        assert issubclass(connection_class, base) and connection_class is not base
        assert connection_class.__mro__[2] is base  # right after the send: the transport's own connect
        assert options["socket_timeout"] and options["db"] == 3


async def test_a_cancelled_blocking_read_ends_and_the_client_still_works() -> None:
    client = new_async_redis()
    try:
        for delay in (0.0, 0.001, 0.01, 0.1):
            waiting = asyncio.ensure_future(client.bzpopmin("glmtts-test:nothing", timeout=2))
            await asyncio.sleep(delay)
            waiting.cancel()
            done, _ = await asyncio.wait({waiting}, timeout=ENDS_WITHIN_S)
            assert done and waiting.cancelled()
        assert await client.ping()
    finally:
        await client.aclose()


async def _cancelled_as_the_wait_ends(wait: Callable[[Awaitable[bool]], Awaitable[bool]]) -> bool:
    """True when a cancel that arrives in the loop turn the awaited operation completes is kept."""
    done = asyncio.Event()

    async def waiter() -> str:
        await wait(done.wait())
        return "ran on"

    task = asyncio.ensure_future(waiter())
    await asyncio.sleep(0)
    done.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return task.cancelled()


async def test_our_bounded_wait_keeps_a_cancel_that_wait_for_drops() -> None:
    assert await _cancelled_as_the_wait_ends(lambda operation: bounded(operation, limit_s=5))
    if sys.version_info < (3, 12):  # the fault itself, as Python 3.11 has it
        assert not await _cancelled_as_the_wait_ends(lambda operation: asyncio.wait_for(operation, timeout=5))
    with pytest.raises(TimeoutError):
        await bounded(asyncio.sleep(1), limit_s=0.01)
    assert await bounded(asyncio.sleep(0, result="value"), limit_s=1) == "value"
