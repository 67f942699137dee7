"""What every web node reads from Redis at scrape time: the queue, heartbeats, workers' snapshots."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.metrics.snapshot import merged_families, registry_snapshot
from glmtts_site.redis_conn import new_async_redis
from tests.support.heartbeats import write_heartbeat
from tests.support.results import finished_job
from workers import metrics as worker_metrics
from workers.queue import GROUP, WorkerQueue, enqueue, stream_key

from .scrape import TOKEN, family_names, scrape, value


@pytest.fixture(autouse=True)
def metrics_on(settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN


def test_an_empty_queue_reads_zero(db: None) -> None:
    samples = scrape()
    for name in ("glmtts_queue_length", "glmtts_queue_pending", "glmtts_queue_waiting",
                 "glmtts_queue_dead_letters", "glmtts_queue_oldest_pending_age_seconds"):
        assert value(samples, name) == 0.0


def test_queue_length_pending_waiting_and_ages(redis_isolated: redis.Redis) -> None:
    for job_id in ("job-a", "job-b", "job-c"):
        enqueue(job_id)
    redis_isolated.xgroup_create(stream_key(), GROUP, id="0", mkstream=True)

    async def take_one() -> None:
        client = new_async_redis()
        assert await WorkerQueue(client, "metrics-consumer").read_new(block_ms=100) is not None
        await client.aclose()

    asyncio.run(take_one())
    samples = scrape()
    assert value(samples, "glmtts_queue_length") == 3.0
    assert value(samples, "glmtts_queue_pending") == 1.0 and value(samples, "glmtts_queue_waiting") == 2.0
    for name in ("glmtts_queue_oldest_pending_age_seconds", "glmtts_queue_oldest_waiting_age_seconds"):
        assert 0.0 <= value(samples, name) < 60.0


def test_workers_are_exported_from_heartbeats_and_snapshots(owner: User) -> None:
    job = finished_job(owner)
    job.queue_wait_s, job.first_chunk_s, job.total_s, job.rtf = 0.4, 0.7, 2.5, 0.25
    before = value(scrape(), "glmtts_job_rtf_count", engine="kokoro", worker="w-metrics")
    worker_metrics.observe_job(job, "done")
    worker_metrics.observe_job(None, "skipped")
    write_heartbeat("w-metrics", status="idle")
    write_heartbeat("w-busy", status="busy")
    samples = scrape()
    assert value(samples, "glmtts_workers", status="idle") == 1.0
    assert value(samples, "glmtts_workers", status="busy") == 1.0
    assert value(samples, "glmtts_jobs_total", engine="kokoro", status="done", worker="w-metrics") >= 1
    assert value(samples, "glmtts_jobs_total", engine="unknown", status="skipped", worker="w-metrics") >= 1
    assert value(samples, "glmtts_job_rtf_count", engine="kokoro", worker="w-metrics") - before == 1
    assert value(samples, "glmtts_job_first_chunk_seconds_bucket", engine="kokoro", worker="w-metrics",
                 le="1.0") >= 1
    assert value(samples, "glmtts_worker_busy", worker="w-metrics") == 0.0


def test_a_worker_that_stopped_leaves_the_export(redis_isolated: redis.Redis) -> None:
    write_heartbeat("w-gone")
    assert value(scrape(), "glmtts_workers", status="idle") == 1.0
    redis_isolated.delete(*redis_isolated.keys("*w-gone*"))
    assert value(scrape(), "glmtts_workers", status="idle") == 0.0
    assert "w-gone" not in str([s.labels for s in scrape()])


def test_snapshots_of_two_workers_merge_into_one_family_each() -> None:
    snapshot = registry_snapshot(worker_metrics.registry)
    families = merged_families([("w1", snapshot), ("w2", snapshot), ("w3", "{not json"), ("w4", '{"v": 99}')])
    names = [family.name for family in families]
    assert len(names) == len(set(names)) and "glmtts_jobs" in names
    workers = {sample.labels["worker"] for family in families for sample in family.samples}
    assert workers <= {"w1", "w2"}


_CHILD = """
import sys
from prometheus_client import Counter
from glmtts_site.metrics.web import observe_request
for _ in range(3):
    observe_request(route="/mp-test", method="GET", status=200, seconds=0.01)
Counter("glmtts_jobs", "a worker's name in the shared folder", ["engine", "status"]).labels("x", "done").inc()
"""


def test_multiprocess_mode_sums_web_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: None) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for _ in range(2):  # two web processes, each exits after counting
        subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    samples = scrape()
    assert value(samples, "glmtts_http_requests_total", route="/mp-test", method="GET", status="200") == 6.0
    # A worker's metric in the folder is not exported from it: workers come from their snapshots.
    assert value(samples, "glmtts_jobs_total", engine="x", status="done") == 0.0
    assert "glmtts_queue_length" in family_names()
