"""Metrics each web process counts itself (requests, cache lookups, single-flight, sockets, refusals).

With PROMETHEUS_MULTIPROC_DIR set (several web processes on one host), prometheus-client keeps these
in files in that folder and /metrics sums them over the processes (`exposition.py`).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds; the last buckets are for uploads and long synchronous synthesis answers.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

http_requests = Counter("glmtts_http_requests", "HTTP requests answered, by route pattern, method and status.",
                        ["route", "method", "status"])
http_latency = Histogram("glmtts_http_request_duration_seconds",
                         "Time from the request reaching Django to its response (headers; a stream's body "
                         "is not included).", ["route", "method"], buckets=LATENCY_BUCKETS)
cache_lookups = Counter("glmtts_cache_lookups", "Result cache lookups by level (L1 process memory, L2 Redis "
                        "pointer, L3 stored file) and outcome (hit, miss, stale).", ["level", "outcome"])
singleflight_followers = Counter("glmtts_singleflight_followers",
                                 "Jobs that joined an identical job already in flight instead of running.")
websocket_connections = Gauge("glmtts_websocket_connections", "Websockets open now (signed in, following a job).",
                              multiprocess_mode="livesum")
limit_refusals = Counter("glmtts_limit_refusals", "Requests refused by a per-user or per-address limit, by kind "
                         "(rate_limit, quota, sockets) and the limit's name.", ["kind", "limit"])
edge_purge_requests = Counter("glmtts_edge_purge_requests", "Edge purges asked for, by reason (results, voice, "
                              "engine_upgrade) and outcome (queued, lost: Redis unreachable).", ["reason", "outcome"])

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def count_lookup(level: str, outcome: str) -> None:
    cache_lookups.labels(level=level, outcome=outcome).inc()


def count_refusal(kind: str, limit: str) -> None:
    limit_refusals.labels(kind=kind, limit=limit).inc()


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"  # a client's made-up method is not a label value
    http_requests.labels(route=route, method=method, status=str(status)).inc()
    http_latency.labels(route=route, method=method).observe(seconds)
