"""Async helpers for endpoints that hold a request open while a job runs (SSE, OpenAI streaming).

They never block a thread while waiting: events are read from the job's Redis stream with XREAD on
an asyncio client.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async

from glmtts_site.errors import ApiError
from glmtts_site.redis_conn import loop_redis
from synthesis.jobs.control import job_cancel
from synthesis.jobs.events import END_GRACE_S, JobEvent, decode_event, events_key
from synthesis.jobs.selectors import job_has_ended
from synthesis.models import SynthesisJob
from workers.heartbeat import engine_has_worker


def ended_job_error(job: SynthesisJob) -> ApiError:
    """What an endpoint that answers with the audio says when the job ended without it: the job's
    own failure (422: the input could not be spoken) or its cancellation (409); never a 5xx."""
    if job.status == "cancelled":
        return ApiError("The synthesis was cancelled.", code="cancelled", status_code=409)
    return ApiError(job.error_message or f"The synthesis ended {job.status}.",
                    code=job.error_code or "synthesis_failed", status_code=422)


@sync_to_async
def ensure_served(job: SynthesisJob) -> None:
    """Endpoints that answer with the audio wait for their job; with no live worker for its engine the
    wait could be endless, so the job is cancelled (its quota refunded) and the answer is a 503 now."""
    if job.is_final or engine_has_worker(job.engine_id):
        return
    job_cancel(job=job)
    raise ApiError("No worker is serving this engine right now; retry shortly.", code="no_worker",
                   status_code=503, headers={"Retry-After": "30"})


def events_job_id(job: SynthesisJob) -> str:
    """A follower's audio arrives on its leader's event stream."""
    return str(job.leader_id or job.pk)


class JobWaitTimeout(ApiError):
    status_code = 504
    code = "job_timeout"


KEEPALIVE = "keepalive"  # the type of the placeholder event job_events yields while nothing happens


async def job_events(job_id: str, *, idle_timeout_s: float = 900.0,
                     keepalive_s: float | None = None) -> AsyncIterator[JobEvent]:
    """Every event of a job from its start, then live ones, until a terminal event.

    With `keepalive_s`, a KEEPALIVE event comes after each that many quiet seconds (for SSE, whose
    proxies close silent streams). A job whose row is final ends after END_GRACE_S quiet seconds
    even without a terminal event (its stream expired, or its worker died before writing the end);
    after `idle_timeout_s` without any event it raises JobWaitTimeout (504).
    """
    client = loop_redis()
    after, quiet_since, kept_at = "0-0", time.monotonic(), time.monotonic()
    asked_at = quiet_since
    while True:
        reply: Any = await client.xread({events_key(job_id): after}, count=200, block=1000)
        now = time.monotonic()
        for entry_id, fields in (reply[0][1] if reply else []):
            event = decode_event(entry_id, fields)
            after, quiet_since = event.entry_id, now
            yield event
            if event.is_terminal:
                return
        if reply:
            continue
        if keepalive_s is not None and now - max(quiet_since, kept_at) >= keepalive_s:
            kept_at = now
            yield JobEvent(entry_id=after, type=KEEPALIVE, data={})
        if now - max(quiet_since, asked_at) >= END_GRACE_S:
            asked_at = now
            if await sync_to_async(job_has_ended)(job_id):
                return
        if now - quiet_since >= idle_timeout_s:
            raise JobWaitTimeout(f"No progress on job {job_id} for {idle_timeout_s:.0f} s; it is still queued "
                                 "or running: follow its status URL.")


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
