"""The worker runner in-process (real Redis, real database, a test engine): a stalled job is handed back
and the job loop restarted by the watchdog; a wedged engine ends the process for a fresh start."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import new_async_redis
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.engines import ToneEngine
from workers import queue
from workers.runner import EXIT_WEDGED

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "A short line for the worker to speak."


@pytest.fixture(autouse=True)
def fast_worker(settings: SettingsWrapper, redis_isolated: redis.Redis) -> None:
    settings.WORKER_STALL_S = 1.5
    settings.QUEUE_VISIBILITY_TIMEOUT_S = 2.0
    settings.WORKER_HEARTBEAT_INTERVAL_S = 0.3


@sync_to_async
def _status(job_id: str) -> str:
    return str(SynthesisJob.objects.get(pk=job_id).status)


async def _wait_status(job_id: str, wanted: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while await _status(job_id) != wanted:
        assert time.monotonic() < deadline, f"job {job_id} is {await _status(job_id)}, not {wanted}"
        await asyncio.sleep(0.1)


async def test_a_stalled_job_is_handed_back_and_the_loop_goes_on(serve: Any) -> None:
    engine = ToneEngine(hold_runs=1)
    served = await serve(engine)
    job = await sync_to_async(job_create)(owner=None, text=TEXT)
    await _wait_status(str(job.pk), JobStatus.DONE)
    assert served.runner.state.recoveries == 1 and engine.runs == 2
    later = await sync_to_async(job_create)(owner=None, text="And the worker keeps serving others.")
    await _wait_status(str(later.pk), JobStatus.DONE)
    assert not served.task.done()
    engine.release.set()  # the stuck thread ends; it no longer owns the job and settles nothing
    await asyncio.sleep(0.5)
    assert await _status(str(job.pk)) == JobStatus.DONE


async def test_a_wedged_engine_ends_the_process_with_its_job_handed_back(serve: Any) -> None:
    engine = ToneEngine(hold_runs=99)
    served = await serve(engine)
    job = await sync_to_async(job_create)(owner=None, text=TEXT)
    await asyncio.wait({served.task}, timeout=60)
    assert served.task.done() and served.runner.exit_code == EXIT_WEDGED
    assert served.runner.threads_left_behind  # run_worker must not wait for them (os._exit)
    assert await _status(str(job.pk)) == JobStatus.QUEUED
    client = new_async_redis()
    try:
        assert await client.xlen(queue.stream_key()) == 1  # its fresh entry waits for the next worker
    finally:
        await client.aclose()
        engine.release.set()
