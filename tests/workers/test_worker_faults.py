"""Faults as they happen, with real worker processes: a backlog of cancelled jobs behind a long one,
Redis restarting under the worker (with and without persistence), database connections killed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from synthesis.engines_info import announced_versions
from synthesis.jobs.control import job_cancel
from synthesis.jobs.events import read_events
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.processes import RedisServer, Workers, wait_for
from workers import queue
from workers.heartbeat import live_workers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LONG_TEXT = " ".join(["The first sentence starts the story.", "The second sentence carries it forward a little.",
                      "A third one adds some colour to the scene.", "The fourth sentence slows the pace down.",
                      "Then a fifth arrives with a small surprise.", "The sixth sentence brings the story home."])


def _status(job: SynthesisJob) -> str:
    job.refresh_from_db()
    return job.status


def test_a_backlog_of_cancelled_jobs_behind_a_long_one_never_stalls_the_worker(
        workers: Workers, settings: SettingsWrapper) -> None:
    """The reproduction of the stall: the worker skipped each cancelled entry and, about once in three,
    never came back from the run (its claim keeper, cancelled inside a Redis command, kept looping)."""
    settings.QUEUE_USER_SHARE = 50  # every job goes on the stream at once, as before fair dispatch
    workers.start("busy")
    long_job = job_create(owner=None, text=LONG_TEXT)
    wait_for(lambda: any(e.type == "tts.chunk" for e in read_events(str(long_job.pk))), timeout_s=60,
             what="the long job to stream")
    for index in range(12):
        job_cancel(job=job_create(owner=None, text=f"Cancelled before it ran, number {index}."))
    last = job_create(owner=None, text="The job behind the cancelled ones still runs.")
    wait_for(lambda: _status(last) == JobStatus.DONE, timeout_s=120, what="the job behind the backlog")
    assert _status(long_job) == JobStatus.DONE
    wait_for(lambda: live_workers()[0]["status"] == "idle", timeout_s=10, what="the worker to be idle")
    assert live_workers()[0]["progress_age_s"] < 5 and live_workers()[0]["recoveries"] == 0


@pytest.mark.parametrize("own_redis", [False, True], ids=["no-persistence", "aof"], indirect=True)
def test_the_worker_rides_out_a_redis_restart(tmp_path: Path, own_redis: RedisServer) -> None:
    pool = Workers(tmp_path, REDIS_URL=own_redis.url)
    try:
        worker = pool.start("survivor")
        running = job_create(owner=None, text=LONG_TEXT)
        wait_for(lambda: _status(running) == JobStatus.RUNNING, timeout_s=60, what="the job to start")
        own_redis.restart(down_s=3.0)
        # Without persistence the stream, the claim and the engine versions are gone: the reconciler and
        # the next heartbeat bring them back; with it, the run goes on. Either way: done, once.
        wait_for(lambda: _status(running) == JobStatus.DONE, timeout_s=120, what="the job through the restart")
        assert worker.poll() is None, pool.log("survivor")
        wait_for(lambda: bool(announced_versions()), timeout_s=10, what="engine versions announced again")
        after = job_create(owner=None, text="Queued after the restart.")
        wait_for(lambda: _status(after) == JobStatus.DONE, timeout_s=60, what="a job after the restart")
        assert worker.poll() is None
    finally:
        pool.stop_all()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL to kill server connections")
def test_the_worker_rides_out_killed_database_connections(workers: Workers, redis_isolated: redis.Redis) -> None:
    worker = workers.start("steady")
    first = job_create(owner=None, text="Before the connections go.")
    wait_for(lambda: _status(first) == JobStatus.DONE, timeout_s=60, what="the first job")
    time.sleep(1.5)  # the reconciler (every 0.5 s here) holds a connection of its own by now
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    time.sleep(1.5)  # every loop of the worker has met a dead connection
    second = job_create(owner=None, text="After the connections went.")
    wait_for(lambda: _status(second) == JobStatus.DONE, timeout_s=60, what="a job after the kill")
    # Only the reconciler can bring back a job whose queue entry is gone: its database access recovered.
    lost = job_create(owner=None, text="Redis forgot about me after the kill.")
    redis_isolated.delete(queue.stream_key(), queue.entries_key())
    wait_for(lambda: _status(lost) == JobStatus.DONE, timeout_s=60, what="the reconciler to revive a job")
    assert worker.poll() is None, workers.log("steady")
