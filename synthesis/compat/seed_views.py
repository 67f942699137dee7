"""Seed 001 compatibility: `POST /api/tts` (multipart) through the same queue and cache.

Without `Accept: text/event-stream` it answers the finished audio/wav; with it, real SSE: progress
and audio chunks as the worker produces them, then `done` with the audio URLs.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request

from accounts.selectors import authenticated_user
from glmtts_site.api_errors import api_error_for
from glmtts_site.negotiation import JsonWhateverAccepted
from glmtts_site.serializers import TextField, validated_with
from synthesis.jobs.events import EventType
from synthesis.models import JobStatus, SynthesisJob
from synthesis.realtime.protocol import done_payload, frame_for
from synthesis.realtime.streaming import KEEPALIVE, ended_job_error, ensure_served, events_job_id, job_events, sse
from synthesis.results.encoding import CONTENT_TYPES
from synthesis.results.storage import read_output
from synthesis.serializers import SynthesisInputSerializer
from synthesis.submit.services import synthesis_submit
from synthesis.submit.voice_input import submit_args


class SeedTtsInputSerializer(SynthesisInputSerializer):
    """Seed 001's multipart fields (`prompt_audio`, `voice_id` = a preset name or a library voice id),
    and every field of POST /api/v1/syntheses besides."""

    prompt_audio = serializers.FileField(required=False, help_text="Reference clip (the checks of a library "
                                         "upload: at most 10 MB, 2-30 s).")
    voice_id = TextField(max_length=80, required=False, allow_blank=True,  # type: ignore[assignment]
                         help_text="A preset name (GET /v1/audio/voices) or a library voice id.")
    reference_audio = None  # type: ignore[assignment]  # seed calls it prompt_audio
    voice = None  # type: ignore[assignment]  # seed calls it voice_id


def _submit(user: Any, fields: dict[str, Any]) -> SynthesisJob:
    data = dict(fields)
    if data.get("prompt_audio") is not None:
        data["reference_audio"] = data.pop("prompt_audio")
    chosen = data.pop("voice_id", "")
    data["voice_id" if _looks_like_uuid(chosen) else "voice"] = chosen  # a library id, or a preset name
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
                elif event.type == EventType.CHUNK and event.pcm is not None:
                    yield sse("chunk", {**event.data, "audio": base64.b64encode(event.pcm).decode()})
                elif event.type in (EventType.PROGRESS, EventType.STARTED, EventType.REQUEUED):
                    frame = frame_for(event) or {}  # the websocket's fields, so both surfaces say the same
                    yield sse(event.type.split(".", 1)[1], {k: v for k, v in frame.items() if k != "type"})
            await sync_to_async(job.refresh_from_db)()
    except Exception as exc:  # the status line is sent: say it in the stream
        mapped = api_error_for(exc)
        if mapped is None:
            raise
        yield sse("error", {"job_id": str(job.pk), "code": mapped.code, "message": mapped.message})
        return
    if job.status == JobStatus.DONE:
        yield sse("done", done_payload(job))
    else:
        yield sse("error", {"job_id": str(job.pk), "status": job.status, "code": job.error_code,
                            "message": job.error_message})


async def _finished(job: SynthesisJob) -> SynthesisJob:
    if not job.is_final:
        async for _ in job_events(events_job_id(job)):
            pass
        await sync_to_async(job.refresh_from_db)()
    return job


class SeedTtsApi(AsyncAPIView):
    """Seed 001's endpoint: waits for the audio on the event loop (never in a thread)."""

    content_negotiation_class = JsonWhateverAccepted  # successes are audio or SSE; errors are JSON

    @extend_schema(request={"multipart/form-data": SeedTtsInputSerializer,
                            "application/x-www-form-urlencoded": SeedTtsInputSerializer},
                   responses={(200, "audio/wav"): OpenApiTypes.BINARY, (200, "audio/mpeg"): OpenApiTypes.BINARY,
                              (200, "text/event-stream"): OpenApiTypes.STR},
                   operation_id="seed_tts", summary="Seed 001: speak text (audio, or SSE with "
                                                    "Accept: text/event-stream)")
    async def post(self, request: Request) -> HttpResponse | StreamingHttpResponse:
        user = authenticated_user(request)
        fields = validated_with(SeedTtsInputSerializer, await sync_to_async(lambda: request.data)())
        job = await sync_to_async(_submit)(user, fields)
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
