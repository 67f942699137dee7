"""Workers in the test's own event loop (the test engine, real Redis and database): start them with the
`serve` fixture (tests/workers/conftest.py) and wait on them with `until`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from workers.runner import WorkerRunner


@dataclass
class Served:
    runner: WorkerRunner
    task: asyncio.Task[None]


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Wait for a predicate that needs no database (it runs on the event loop)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
