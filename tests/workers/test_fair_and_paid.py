"""The worker in-process (real Redis and database, the test engine): owners take turns on the queue,
and a cancelled job is charged for the segments it produced, no more, no less."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from synthesis.jobs.control import job_cancel
from synthesis.jobs.events import read_events, request_cancel
from synthesis.jobs.quotas import characters_left
from synthesis.models import JobStatus, SynthesisJob
from synthesis.submit.services import synthesis_submit
from tests.support.engines import ToneEngine
from workers.engines.params import SynthesisParams
from workers.runner import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)
FOUR_SENTENCES = ("The first sentence of four is here. The second sentence follows right after it. "
                  "Then the third sentence comes along. And the fourth sentence closes the text.")


@pytest.fixture(autouse=True)
def fast_worker(settings: SettingsWrapper, redis_isolated: redis.Redis) -> None:
    settings.WORKER_HEARTBEAT_INTERVAL_S = 0.3
    settings.QUOTA_CONCURRENT_JOBS = 10


@pytest.fixture
async def worker() -> AsyncIterator[tuple[WorkerRunner, ToneEngine]]:
    engine = ToneEngine(segment_delay_s=0.4)
    runner = WorkerRunner(worker_id="fair", engines={"kokoro": engine})
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + 60
    while runner.consumer is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    yield runner, engine
    runner.request_stop("test over")
    await asyncio.wait({task}, timeout=30)


@sync_to_async
def _submit(owner: User, text: str) -> str:
    return str(synthesis_submit(owner=owner, text=text, params=SynthesisParams()).job.pk)


@sync_to_async
def _jobs(ids: list[str]) -> list[SynthesisJob]:
    return [SynthesisJob.objects.get(pk=job_id) for job_id in ids]


async def _until_final(ids: list[str], timeout_s: float = 60) -> list[SynthesisJob]:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = await _jobs(ids)
        if all(job.is_final for job in jobs):
            return jobs
        assert time.monotonic() < deadline, [job.status for job in jobs]
        await asyncio.sleep(0.1)


async def test_owners_take_turns(worker: Any, owner: User, other_user: User) -> None:
    mine = [await _submit(owner, f"A job of the first user, number {index}.") for index in range(3)]
    theirs = await _submit(other_user, "The other user's one job.")
    jobs = await _until_final([*mine, theirs])
    order = [job.pk for job in sorted(jobs, key=lambda job: job.started_at or job.created_at)]
    assert [str(pk) for pk in order] == [mine[0], theirs, mine[1], mine[2]]  # not behind all three of mine


async def test_a_cancel_pays_for_the_segments_produced(worker: Any, owner: User) -> None:
    before = await sync_to_async(characters_left)(owner.pk)
    job_id = await _submit(owner, FOUR_SENTENCES)
    deadline = time.monotonic() + 30
    while sum(e.type == "tts.chunk" for e in await sync_to_async(read_events)(job_id)) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await sync_to_async(request_cancel)(job_id)
    job = (await _until_final([job_id]))[0]
    assert job.status == JobStatus.CANCELLED
    produced = sum(e.type == "tts.chunk" for e in await sync_to_async(read_events)(job_id))
    assert 2 <= produced < 4
    expected = math.ceil(len(job.text) * produced / 4)
    assert job.characters_charged == expected
    assert await sync_to_async(characters_left)(owner.pk) == before - expected


async def test_a_queued_cancel_costs_nothing(worker: Any, owner: User) -> None:
    before = await sync_to_async(characters_left)(owner.pk)
    running = await _submit(owner, FOUR_SENTENCES)
    waiting = await _submit(owner, "This one waits its turn and is cancelled before it runs.")
    # The waiting one first: cancelling the running one first could let it start before its own cancel.
    await sync_to_async(lambda: job_cancel(job=SynthesisJob.objects.get(pk=waiting)))()
    await sync_to_async(request_cancel)(running)
    jobs = await _until_final([running, waiting])
    assert jobs[1].status == JobStatus.CANCELLED and jobs[1].characters_charged == 0
    assert await sync_to_async(characters_left)(owner.pk) == before - jobs[0].characters_charged
