"""The worker in-process (real Redis and database, the test engine) running several jobs at once: up to
WORKER_MAX_BATCH for an engine that batches, one for an engine that does not (the rest stay queued for other
workers), every one handed back at a stop, and a stalled one handed back while the others finish."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import new_async_redis
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.engines import ToneEngine
from tests.support.inproc import until
from workers import queue

pytestmark = pytest.mark.django_db(transaction=True)
TEXTS = [f"Job number {n} has a first sentence. And it has a second one too." for n in range(4)]


@pytest.fixture(autouse=True)
def fast_worker(settings: SettingsWrapper, redis_isolated: redis.Redis) -> None:
    settings.WORKER_MAX_BATCH = 4
    settings.WORKER_HEARTBEAT_INTERVAL_S = 0.3


@sync_to_async
def _create(texts: list[str], *, owners: bool = False) -> list[str]:
    """Jobs without an owner (they take turns on the queue: a worker with room pulls them), or one owner each."""
    users = [User.objects.create_user(f"batch-{n}") if owners else None for n in range(len(texts))]
    return [str(job_create(owner=user, text=text).pk) for user, text in zip(users, texts, strict=True)]


@sync_to_async
def _statuses(job_ids: list[str]) -> list[str]:
    return [str(SynthesisJob.objects.get(pk=job_id).status) for job_id in job_ids]


async def _wait_all(job_ids: list[str], wanted: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while set(await _statuses(job_ids)) != {wanted}:
        assert time.monotonic() < deadline, f"jobs are {await _statuses(job_ids)}, not all {wanted}"
        await asyncio.sleep(0.1)


async def test_an_engine_that_batches_runs_up_to_max_batch_jobs_at_once(serve: Any) -> None:
    engine = ToneEngine(hold_runs=5, max_batch=4)  # every run waits in the engine until released
    served = await serve(engine)
    job_ids = await _create([*TEXTS, "A fifth job waits for a free slot."], owners=True)
    await until(lambda: engine.running == 4, "four jobs in the engine at once")
    served.runner.refresh_state()
    assert len(served.runner.state.current_jobs) == 4 and set(served.runner.state.current_jobs) < set(job_ids)
    assert (await _statuses(job_ids)).count(JobStatus.QUEUED) == 1
    engine.release.set()
    await _wait_all(job_ids, JobStatus.DONE)
    assert engine.most_at_once == 4 and engine.runs == 5

async def test_an_engine_that_does_not_batch_runs_one_job_and_leaves_the_rest_queued(serve: Any) -> None:
    engine = ToneEngine(segment_delay_s=0.5)  # max_batch 1, as the default engine
    served = await serve(engine)
    job_ids = await _create(TEXTS[:3])
    await until(lambda: len(served.runner.consumer.runs) == 1, "one job running")
    await asyncio.sleep(1.0)
    statuses = await _statuses(job_ids)
    assert statuses.count(JobStatus.RUNNING) == 1 and statuses.count(JobStatus.QUEUED) == 2
    client = new_async_redis()
    try:  # the waiting jobs were not claimed: another worker could take them
        pending = await client.xpending(queue.stream_key(), queue.GROUP)
        assert pending["pending"] == 1
    finally:
        await client.aclose()
    await _wait_all(job_ids, JobStatus.DONE)
    assert engine.most_at_once == 1


async def test_a_stop_hands_back_every_running_job(serve: Any) -> None:
    engine = ToneEngine(segment_delay_s=2.0, max_batch=4)
    served = await serve(engine)
    job_ids = await _create(TEXTS[:3])
    await until(lambda: engine.running == 3, "three jobs in the engine")
    served.runner.request_stop("test")
    await asyncio.wait({served.task}, timeout=30)
    assert served.task.done()
    assert await _statuses(job_ids) == [JobStatus.QUEUED] * 3
    client = new_async_redis()
    try:
        assert await client.xlen(queue.stream_key()) == 3  # a fresh entry each, for the next worker
    finally:
        await client.aclose()


async def test_a_stalled_job_is_handed_back_while_the_others_finish(serve: Any, settings: SettingsWrapper) -> None:
    settings.WORKER_STALL_S = 1.5
    settings.QUEUE_VISIBILITY_TIMEOUT_S = 2.0
    engine = ToneEngine(hold_runs=1, segment_delay_s=0.2, max_batch=4)
    served = await serve(engine)
    stuck, other = await _create(TEXTS[:1]), await _create(TEXTS[1:2])
    await _wait_all(other, JobStatus.DONE)
    await _wait_all(stuck, JobStatus.DONE)  # handed back by the watchdog, then run again
    assert served.runner.state.recoveries == 1 and engine.runs == 3
    assert not served.task.done()
    engine.release.set()
