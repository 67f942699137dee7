"""The worker's own metrics: jobs by engine and outcome, their timings, engine load times.

They live in a registry of their own (not prometheus-client's process-wide one, so no process or
multiprocess files are involved) and travel to the web's /metrics as a snapshot in Redis, written
with every heartbeat and expiring with it (glmtts_site.metrics.snapshot).
"""

from __future__ import annotations

from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from glmtts_site.metrics.snapshot import registry_snapshot
from glmtts_site.redis_conn import redis_key
from synthesis.models import SynthesisJob

SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

registry = CollectorRegistry(auto_describe=True)
jobs = Counter("glmtts_jobs", "Job runs that ended, by engine and outcome (done, failed, cancelled, handed_back, "
               "skipped).", ["engine", "status"], registry=registry)
queue_wait = Histogram("glmtts_job_queue_wait_seconds", "From submit to a worker starting the job.", ["engine"],
                       buckets=SECONDS_BUCKETS, registry=registry)
first_chunk = Histogram("glmtts_job_first_chunk_seconds", "From the job's start to its first audio chunk.",
                        ["engine"], buckets=SECONDS_BUCKETS, registry=registry)
duration = Histogram("glmtts_job_duration_seconds", "From the job's start to its result stored.", ["engine"],
                     buckets=SECONDS_BUCKETS, registry=registry)
rtf = Histogram("glmtts_job_rtf", "Real-time factor: compute seconds per second of audio.", ["engine"],
                buckets=RTF_BUCKETS, registry=registry)
edge_purges = Counter("glmtts_edge_purges", "Calls to the CDN's purge API, by outcome (ok; retried: 429, 5xx or "
                      "no answer, tried again; failed: given up, kept in the admin).", ["outcome"], registry=registry)
engine_load = Gauge("glmtts_engine_load_seconds", "How long the engine's last load took.", ["engine"],
                    registry=registry)


def observe_job(job: SynthesisJob | None, status: str) -> None:
    """Count one run's end; a finished job's timings go into the histograms (its row holds them)."""
    engine = job.engine_id if job is not None else "unknown"
    jobs.labels(engine=engine, status=status).inc()
    if job is None or status != "done":
        return
    for histogram, value in ((queue_wait, job.queue_wait_s), (first_chunk, job.first_chunk_s),
                             (duration, job.total_s), (rtf, job.rtf)):
        if value is not None:
            histogram.labels(engine=engine).observe(value)


def observe_engine_load(engine_id: str, seconds: float) -> None:
    engine_load.labels(engine=engine_id).set(seconds)


def snapshot_key(worker_id: str) -> str:
    return redis_key("metrics", "worker", worker_id)


def snapshot() -> str:
    return registry_snapshot(registry)


def worker_snapshots(client: redis.Redis, worker_ids: list[str]) -> list[tuple[str, str]]:
    """(worker id, snapshot) of each listed worker that has one."""
    if not worker_ids:
        return []
    raw: list[Any] = client.mget([snapshot_key(worker_id) for worker_id in worker_ids])
    return [(worker_id, value.decode() if isinstance(value, bytes) else value)
            for worker_id, value in zip(worker_ids, raw, strict=True) if value]
