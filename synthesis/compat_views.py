"""Seed 001 compatibility: `POST /api/tts` (multipart) through the same queue and cache.

Without `Accept: text/event-stream` it answers the finished audio/wav; with it, real SSE: progress
and audio chunks as the worker produces them, then `done` with the audio URLs.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from glmtts_site.api_errors import api_error_for

from .encoding import CONTENT_TYPES
from .models import JobStatus, SynthesisJob
from .selectors import audio_urls
from .serializers import validated_input
from .storage import read_output
from .streaming import KEEPALIVE, ended_job_error, ensure_served, events_job_id, job_events, request_user, sse
from .submit import synthesis_submit
from .voice_input import submit_args

# Seed 001 field names -> ours.
_RENAMES = {"prompt_audio": "reference_audio", "voice_id": "voice"}


def _validated(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {_RENAMES.get(k, k): v for k, v in request.POST.items()}
    for name, upload in request.FILES.items():
        data[_RENAMES.get(name, name)] = upload
    return validated_input(data)


def _submit(request: HttpRequest, user: Any) -> SynthesisJob:
    data = _validated(request)
    if data.get("voice") and _looks_like_uuid(data["voice"]):  # seed clients send a library id as voice_id
        data["voice_id"] = data.pop("voice")
    return synthesis_submit(owner=user, **submit_args(user, data).as_kwargs()).job


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


SSE_KEEPALIVE_S = 15.0  # a comment line while queued: proxies (Cloudflare: 100 s) close silent streams


async def _sse_stream(job: SynthesisJob) -> AsyncIterator[bytes]:
    yield sse("queued", {"job_id": str(job.pk), "cache_hit": job.cache_hit})
    try:
        if not job.is_final:
            async for event in job_events(events_job_id(job), keepalive_s=SSE_KEEPALIVE_S):
                if event.type == KEEPALIVE:
                    yield b": keepalive\n\n"
                elif event.type == "tts.chunk" and event.pcm is not None:
                    yield sse("chunk", {**event.data, "audio": base64.b64encode(event.pcm).decode()})
                elif event.type in ("tts.progress", "tts.started", "tts.requeued"):
                    yield sse(event.type.split(".", 1)[1], event.data)
            await sync_to_async(job.refresh_from_db)()
    except Exception as exc:  # the status line is sent: say it in the stream
        mapped = api_error_for(exc)
        if mapped is None:
            raise
        yield sse("error", {"job_id": str(job.pk), "code": mapped.code, "message": mapped.message})
        return
    if job.status == JobStatus.DONE:
        yield sse("done", {"job_id": str(job.pk), "audio_urls": audio_urls(job), "duration": job.audio_duration_s,
                           "cache_hit": job.cache_hit})
    else:
        yield sse("error", {"job_id": str(job.pk), "status": job.status, "code": job.error_code,
                            "message": job.error_message})


async def _finished(job: SynthesisJob) -> SynthesisJob:
    if not job.is_final:
        async for _ in job_events(events_job_id(job)):
            pass
        await sync_to_async(job.refresh_from_db)()
    return job


@csrf_exempt  # CSRF is enforced in request_user() for session auth; token clients have no cookie
@require_POST
async def tts(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = await request_user(request)  # an ApiError here or below is answered by ApiErrorsMiddleware
    job = await sync_to_async(_submit)(request, user)
    if "text/event-stream" in request.headers.get("Accept", ""):
        stream = StreamingHttpResponse(_sse_stream(job), content_type="text/event-stream")
        stream["Cache-Control"] = "no-cache, private"
        stream["X-Accel-Buffering"] = "no"
        return stream
    await ensure_served(job)
    job = await _finished(job)
    if job.status != JobStatus.DONE:
        raise ended_job_error(job)
    fmt = str(job.params.get("format", "wav"))
    data = await sync_to_async(read_output)(job.files[fmt])
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["X-Job-Id"] = str(job.pk)
    response["X-Cache-Hit"] = "1" if job.cache_hit else "0"
    return response
