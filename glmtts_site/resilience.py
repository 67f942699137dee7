"""Riding out faults: which errors are a passing outage, backing off between retries, and waiting for
a task to end without ever waiting forever.

Cancelling an asyncio task is not a reliable way to stop it here: on Python 3.11, `asyncio.wait_for`
can swallow a cancellation that arrives while the operation completes, and we measured about half of
the cancels landing in the first milliseconds of a redis-py command swallowed (redis-py wraps its
socket writes in it; glmtts_site/redis_cancel.py gives our connections a send that keeps the
cancellation). So our own bounded waits use `bounded` (asyncio.timeout), every loop has its own stop
signal, and `stop_task` only cancels as a last resort, then gives up instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Errors of a Redis or database outage (a restart, a dropped connection, a timeout): retry them.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (RedisError, OperationalError, InterfaceError, OSError,
                                                     TimeoutError)


class Backoff:
    """Exponential delays with full jitter (AWS's recipe): retries of many processes spread out."""

    def __init__(self, first_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.first_s, self.cap_s = first_s, cap_s
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return random.uniform(0, min(self.cap_s, self.first_s * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


async def stop_task(task: asyncio.Future[Any], *, timeout_s: float, what: str) -> bool:
    """Wait up to timeout_s for a task that was told to stop; then cancel it and wait as long again.
    True if it ended; False if it is abandoned (logged). Never raises the task's own error."""
    for attempt in range(2):
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if done:
            if not task.cancelled() and task.exception() is not None:
                logger.warning("%s ended with %r", what, task.exception())
            return True
        if attempt == 0:
            task.cancel()
    logger.error("%s did not stop within %.0f s; abandoned", what, 2 * timeout_s)
    return False


async def bounded(awaitable: Awaitable[T], limit_s: float) -> T:
    """`await awaitable` for at most `limit_s` seconds (TimeoutError after), without asyncio.wait_for."""
    async with asyncio.timeout(limit_s):
        return await awaitable
