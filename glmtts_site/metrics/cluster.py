"""Metrics read from Redis at scrape time: the queue, the workers' heartbeats and their pushed samples.

They describe the whole deployment, so every web node reports the same values (`instance` differs):
dashboards take max() over instances. An unreachable Redis is reported as glmtts_redis_up 0 and
the scrape still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from glmtts_site.redis_conn import get_redis
from workers.heartbeat import live_workers
from workers.metrics import worker_snapshots
from workers.queue import queue_ages, queue_depth

from .snapshot import merged_families

logger = logging.getLogger(__name__)
WORKER_STATUSES = ("starting", "idle", "busy", "stalled")


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _queue_families() -> list[Metric]:
    depth, ages = queue_depth(), queue_ages()
    return [
        _gauge("glmtts_queue_length", "Entries in the job stream (waiting or being run).", depth["length"]),
        _gauge("glmtts_queue_pending", "Entries a worker has taken and not yet acked.", depth["pending"]),
        _gauge("glmtts_queue_waiting", "Entries no worker has taken yet.", max(0, depth["length"] - depth["pending"])),
        _gauge("glmtts_queue_dead_letters", "Entries moved to the dead-letter stream.", depth["dead"]),
        _gauge("glmtts_queue_oldest_pending_age_seconds", "Age of the oldest entry a worker holds.",
               ages["oldest_pending_s"]),
        _gauge("glmtts_queue_oldest_waiting_age_seconds", "Age of the oldest entry no worker has taken.",
               ages["oldest_waiting_s"]),
    ]


def _worker_families(workers: list[dict[str, Any]]) -> list[Metric]:
    by_status = GaugeMetricFamily("glmtts_workers", "Live workers by status.", labels=["status"])
    for status in WORKER_STATUSES:
        by_status.add_metric([status], sum(1 for w in workers if w.get("status") == status))
    busy = GaugeMetricFamily("glmtts_worker_busy", "1 while the worker runs a job.", labels=["worker"])
    batch = GaugeMetricFamily("glmtts_worker_batch_size", "Jobs the worker runs at once now.", labels=["worker"])
    gpu = GaugeMetricFamily("glmtts_worker_gpu_memory_bytes", "GPU memory of the worker's device.",
                            labels=["worker", "kind"])
    for worker in workers:
        worker_id = str(worker.get("worker_id", ""))
        jobs = len(worker.get("current_jobs") or [])
        busy.add_metric([worker_id], 1.0 if jobs else 0.0)
        batch.add_metric([worker_id], float(jobs))
        for kind in ("allocated", "reserved", "total", "free"):
            mib = (worker.get("gpu") or {}).get(f"{kind}_mib")
            if mib is not None:
                gpu.add_metric([worker_id, kind], float(mib) * 1024 * 1024)
    return [by_status, busy, batch, gpu]


class ClusterCollector(Collector):
    """Registered only on the registry /metrics builds; never on a process-wide one."""

    def collect(self) -> Iterator[Metric]:
        try:
            client = get_redis()
            families = _queue_families()
            workers = live_workers(client)
            families += _worker_families(workers)
            families += merged_families(worker_snapshots(client, [str(w["worker_id"]) for w in workers]))
        except RedisError as exc:
            logger.warning("metrics: Redis unavailable (%s)", exc)
            yield _gauge("glmtts_redis_up", "Whether this web node could read Redis for this scrape.", 0)
            return
        yield _gauge("glmtts_redis_up", "Whether this web node could read Redis for this scrape.", 1)
        yield from families
