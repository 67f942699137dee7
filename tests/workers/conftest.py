"""In-process workers for the worker tests, stopped after each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.support.engines import ToneEngine
from tests.support.inproc import Served, until
from workers.runner import WorkerRunner


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[ToneEngine], Awaitable[Served]]]:
    """`await serve(engine)`: a worker serving `engine` as Kokoro, ready when it returns."""
    started: list[Served] = []

    async def start(engine: ToneEngine) -> Served:
        runner = WorkerRunner(worker_id=f"inproc-{len(started)}", engines={"kokoro": engine})
        served = Served(runner, asyncio.create_task(runner.run()))
        started.append(served)
        await until(lambda: runner.consumer is not None, "the worker to be ready")
        return served

    yield start
    for served in started:
        served.runner.request_stop("test over")
        await asyncio.wait({served.task}, timeout=30)
