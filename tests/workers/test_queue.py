"""The Redis Streams queue against the real Redis: ack, reclaim, claim refresh, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import new_async_redis
from workers import queue
from workers.queue import WorkerQueue


@pytest.fixture
async def aclient(redis_isolated: redis.Redis, settings: SettingsWrapper) -> AsyncIterator[object]:
    settings.QUEUE_VISIBILITY_TIMEOUT_S = 0.3
    settings.QUEUE_MAX_DELIVERIES = 2
    client = new_async_redis()
    yield client
    await client.aclose()


async def _queue(client: object, name: str) -> WorkerQueue:
    worker_queue = WorkerQueue(client, name)  # type: ignore[arg-type]
    await worker_queue.ensure_group()
    return worker_queue


async def test_entry_is_delivered_once_and_gone_after_ack(aclient: object) -> None:
    first, second = await _queue(aclient, "a"), await _queue(aclient, "b")
    queue.enqueue("job-1")
    entry = await first.read_new(block_ms=100)
    assert entry is not None and entry.job_id == "job-1" and entry.deliveries == 1
    assert await second.read_new(block_ms=100) is None  # a consumer group hands it to one worker
    await first.ack(entry)
    assert queue.queue_depth() == {"length": 0, "pending": 0, "dead": 0}


async def test_unacked_entry_of_a_dead_worker_is_reclaimed_after_the_timeout(aclient: object) -> None:
    dead, alive = await _queue(aclient, "dead"), await _queue(aclient, "alive")
    queue.enqueue("job-2")
    assert await dead.read_new(block_ms=100) is not None
    assert await alive.reclaim_one() is None  # not idle long enough yet
    await asyncio.sleep(0.4)
    reclaimed = await alive.reclaim_one()
    assert reclaimed is not None and reclaimed.job_id == "job-2" and reclaimed.deliveries == 2


async def test_refreshed_claim_is_not_stolen(aclient: object) -> None:
    owner, thief = await _queue(aclient, "owner"), await _queue(aclient, "thief")
    queue.enqueue("job-3")
    entry = await owner.read_new(block_ms=100)
    assert entry is not None
    for _ in range(4):
        await asyncio.sleep(0.15)
        await owner.refresh(entry)
        assert await thief.reclaim_one() is None
    assert await owner.is_locked("job-3")


async def test_job_lock_admits_one_worker(aclient: object) -> None:
    first, second = await _queue(aclient, "first"), await _queue(aclient, "second")
    assert await first.try_lock("job-4")
    assert not await second.try_lock("job-4")
    await second.unlock("job-4")  # not the holder: no effect
    assert await first.is_locked("job-4")
    await first.unlock("job-4")
    assert await second.try_lock("job-4")


async def test_dead_letter_moves_the_entry_out_of_the_stream(aclient: object) -> None:
    worker = await _queue(aclient, "w")
    queue.enqueue("job-5")
    entry = await worker.read_new(block_ms=100)
    assert entry is not None
    await worker.dead_letter(entry, "poison")
    assert queue.queue_depth() == {"length": 0, "pending": 0, "dead": 1}


async def test_entry_alive_and_requeue_after_the_stream_is_lost(aclient: object, redis_isolated: redis.Redis) -> None:
    worker = await _queue(aclient, "w")
    queue.enqueue("job-6")
    assert await worker.entry_alive("job-6")
    redis_isolated.delete(queue.stream_key())  # Redis restarted without persistence
    assert not await worker.entry_alive("job-6")
    await worker.requeue("job-6")
    entry = await worker.read_new(block_ms=100)  # the group is recreated on NOGROUP
    entry = entry or await worker.read_new(block_ms=100)
    assert entry is not None and entry.job_id == "job-6"


async def test_hand_back_releases_the_lock_before_the_fresh_entry_can_be_read(aclient: object) -> None:
    """The SIGTERM hand-back used to add the fresh entry before releasing the job's lock, so another
    worker read it, found the lock and dropped it as a duplicate (the job then waited for the reconciler)."""
    leaving, taking = await _queue(aclient, "leaving"), await _queue(aclient, "taking")
    queue.enqueue("job-9")
    entry = await leaving.read_new(block_ms=100)
    assert entry is not None and await leaving.try_lock("job-9")
    fresh_id = await leaving.hand_back(entry)
    fresh = await taking.read_new(block_ms=100)
    assert fresh is not None and fresh.entry_id == fresh_id and fresh.job_id == "job-9"
    assert await taking.try_lock("job-9")  # not a duplicate: the run it came from is over
    assert queue.queue_depth() == {"length": 1, "pending": 1, "dead": 0}  # the old entry is gone


async def test_hand_back_never_releases_someone_elses_lock(aclient: object) -> None:
    mine, theirs = await _queue(aclient, "mine"), await _queue(aclient, "theirs")
    queue.enqueue("job-10")
    entry = await mine.read_new(block_ms=100)
    assert entry is not None and await theirs.try_lock("job-10")
    await mine.hand_back(entry)
    assert not await mine.try_lock("job-10")  # still held by "theirs"
