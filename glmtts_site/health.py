"""Liveness (/health) and readiness (/ready) probes for load balancers and `make run`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from redis.exceptions import RedisError

from workers.engine_status import engine_states
from workers.heartbeat import is_serving, live_workers

from .redis_conn import get_redis

_STARTED = time.time()


@csrf_exempt  # safe methods only: any other is a 405, not a CSRF failure
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """The web process is up. Seed-compatible shape: {"status": "healthy", ...}."""
    return JsonResponse({"status": "healthy", "service": "glmtts-portal",
                         "uptime_s": round(time.time() - _STARTED, 1)})


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def _check_redis() -> dict[str, Any]:
    get_redis().ping()
    return {"ok": True}


def _check_worker() -> dict[str, Any]:
    workers = live_workers()
    if not workers:
        return {"ok": False, "message": "No worker has sent a heartbeat recently."}
    serving = [w for w in workers if is_serving(w)]
    stalled = [w["worker_id"] for w in workers if w.get("status") == "stalled"]
    if not serving:
        state = "stalled" if stalled else "starting"
        return {"ok": False, "message": f"No worker is serving: {len(workers)} {state}.", "stalled": stalled}
    return {"ok": True, "count": len(serving), "stalled": stalled,
            "engines": sorted({engine for w in serving for engine in w.get("engines", {})})}


def _run(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return check()
    except Exception as exc:  # a probe reports failures; it never raises them
        return {"ok": False, "message": f"{type(exc).__name__}: {exc}"}


@csrf_exempt  # safe methods only: any other is a 405, not a CSRF failure
@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """200 when the database, Redis and at least one live worker answer; 503 naming what fails."""
    checks = {"database": _run(_check_database), "redis": _run(_check_redis)}
    # Without Redis there can be no heartbeat; say so once instead of twice.
    checks["worker"] = _run(_check_worker) if checks["redis"]["ok"] else {
        "ok": False, "message": "Redis is unreachable, so worker heartbeats cannot be read."}
    failing = [name for name, result in checks.items() if not result["ok"]]
    body: dict[str, Any] = {"status": "ready" if not failing else "not_ready", "failing": failing}
    if checks["redis"]["ok"]:  # each engine's state (ready, loading, ...): words the portal shows users too
        with contextlib.suppress(RedisError):
            body["engines"] = engine_states(live_workers())
    if request.user.is_staff:  # what failed and why is for operators; a probe needs only the verdict
        body["checks"] = checks
    return JsonResponse(body, status=200 if not failing else 503)
