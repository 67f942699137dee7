"""OpenAI-compatible speech API: `POST /v1/audio/speech`, `GET /v1/models`, `GET /v1/audio/voices`.

The official `openai` SDK works unchanged with `base_url=<portal>/v1` and an API token as its key.
`pcm` and `wav` stream while the job runs (first bytes before synthesis ends); mp3, opus and flac
are sent whole once encoded. AAC has no encoder here and is refused with a clear message.

The speech view is an async DRF view (adrf): it waits for its job on the event loop, never in a
thread, while authentication, validation, errors and the schema are DRF's, as everywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from glmtts_site.api_errors import api_error_for
from glmtts_site.errors import ApiError
from glmtts_site.negotiation import JsonWhateverAccepted
from glmtts_site.serializers import StrictFloatField, StrictInputSerializer, TextField, validated_with
from synthesis.jobs.events import EventType
from synthesis.models import JobStatus, SynthesisJob
from synthesis.realtime.streaming import ended_job_error, ensure_served, events_job_id, job_events
from synthesis.results.encoding import CONTENT_TYPES, wav_stream_header
from synthesis.results.storage import read_output
from synthesis.submit.checks import MAX_TEXT_CHARS
from synthesis.submit.services import synthesis_submit
from workers.engine_registry import ENGINE_SPECS, offered_engine_ids
from workers.engines.kokoro_presets import PRESET_LABELS
from workers.engines.params import SynthesisParams

logger = logging.getLogger(__name__)
MODEL_ALIASES = {"tts-1": "", "tts-1-hd": "", "gpt-4o-mini-tts": ""}  # "" = the default engine
# OpenAI's voice names map onto our presets, so clients written for OpenAI run unchanged.
VOICE_ALIASES = {"alloy": "jf_alpha", "ash": "jm_kumo", "ballad": "jm_kumo", "coral": "jf_gongitsune",
                 "echo": "jm_kumo", "fable": "jf_nezumi", "onyx": "jm_kumo", "nova": "jf_tebukuro",
                 "sage": "jf_gongitsune", "shimmer": "jf_alpha", "verse": "jm_kumo"}
FORMATS = {"mp3": "mp3", "opus": "ogg", "flac": "flac", "wav": "wav", "pcm": "wav"}
STREAMED = ("pcm", "wav")
AUDIO_RESPONSES = {(200, content_type): OpenApiTypes.BINARY
                   for content_type in ("audio/mpeg", "audio/ogg", "audio/flac", "audio/wav", "audio/pcm")}


class SpeechInputSerializer(StrictInputSerializer):
    """`POST /v1/audio/speech` as OpenAI documents it; unknown fields are refused, as OpenAI does."""

    model = TextField(max_length=64, required=False, default="tts-1")
    input = TextField(max_length=MAX_TEXT_CHARS, trim_whitespace=False, help_text="The text to speak.")
    voice = TextField(max_length=80, required=False, allow_blank=True, default="")
    response_format = serializers.ChoiceField(choices=[*FORMATS, "aac"], required=False, default="mp3")
    speed = StrictFloatField(min_value=0.5, max_value=2.0, required=False, default=1.0)
    instructions = TextField(max_length=4096, required=False, allow_blank=True,
                             help_text="Accepted for compatibility; these engines take no instructions.")
    stream_format = serializers.ChoiceField(choices=["audio"], required=False, default="audio")

    def validate_model(self, value: str) -> str:
        if value not in MODEL_ALIASES and value not in ENGINE_SPECS:
            raise serializers.ValidationError(f"Unknown model {value!r}; see GET /v1/models.")
        return value

    def validate_response_format(self, value: str) -> str:
        if value == "aac":
            raise ApiError("aac is not available on this server; use mp3, opus, flac, wav or pcm.",
                           code="unsupported_format", field="response_format")
        return value


def _submit(user: Any, wanted: dict[str, Any]) -> SynthesisJob:
    params = SynthesisParams(format=FORMATS[wanted["response_format"]], speed=wanted["speed"])
    voice = wanted["voice"]
    return synthesis_submit(owner=user, text=wanted["input"], params=params,
                            engine_id=MODEL_ALIASES.get(wanted["model"], wanted["model"]),
                            voice_preset=VOICE_ALIASES.get(voice, voice)).job


async def _streamed_pcm(job: SynthesisJob, fmt: str) -> AsyncIterator[bytes]:
    rate = int(job.params.get("sample_rate", 24000))
    if fmt == "wav":
        yield wav_stream_header(rate)
    if job.is_final:
        data = await sync_to_async(read_output)(job.files["wav"])
        yield data[44:]  # PCM16 after the canonical 44-byte header
        return
    try:
        async for event in job_events(events_job_id(job)):
            if event.type == EventType.CHUNK and event.pcm:
                yield event.pcm
    except Exception as exc:  # the status line is sent: end the stream (the client sees it short)
        if api_error_for(exc) is None:
            raise
        logger.warning("Streaming job %s stopped: %s", job.pk, exc)


class SpeechApi(AsyncAPIView):
    content_negotiation_class = JsonWhateverAccepted  # the SDK asks for octet-stream; errors are JSON

    @extend_schema(request=SpeechInputSerializer, responses=AUDIO_RESPONSES, operation_id="openai_speech",
                   summary="OpenAI-compatible speech: audio (pcm and wav stream while they are made)")
    async def post(self, request: Request) -> HttpResponse | StreamingHttpResponse:
        user = authenticated_user(request)
        wanted = validated_with(SpeechInputSerializer, await sync_to_async(lambda: request.data)())
        job = await sync_to_async(_submit)(user, wanted)
        await ensure_served(job)
        fmt = wanted["response_format"]
        if fmt in STREAMED:
            content_type = "audio/pcm" if fmt == "pcm" else "audio/wav"
            return StreamingHttpResponse(_streamed_pcm(job, fmt), content_type=content_type)
        if not job.is_final:
            async for _ in job_events(events_job_id(job)):
                pass
            await sync_to_async(job.refresh_from_db)()
        if job.status != JobStatus.DONE:
            raise ended_job_error(job)
        data = await sync_to_async(read_output)(job.files[FORMATS[fmt]])
        return HttpResponse(data, content_type=CONTENT_TYPES[FORMATS[fmt]])


class OpenAIModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField()
    created = serializers.IntegerField()
    owned_by = serializers.CharField()
    engine = serializers.CharField()


class OpenAIVoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    engine = serializers.CharField()


class ModelsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        object = serializers.CharField()
        data = OpenAIModelSerializer(many=True)  # type: ignore[assignment]  # (a field; DRF takes it off the class)

    @extend_schema(responses=OutputSerializer, operation_id="openai_models", summary="OpenAI-compatible model list")
    def get(self, request: Request) -> Response:
        ids = [*offered_engine_ids(), *MODEL_ALIASES]
        return Response({"object": "list", "data": [
            {"id": model_id, "object": "model", "created": 0, "owned_by": "glmtts-portal",
             "engine": MODEL_ALIASES.get(model_id, model_id) or settings.DEFAULT_ENGINE} for model_id in ids]})


class VoicesApi(APIView):
    class OutputSerializer(serializers.Serializer):
        voices = OpenAIVoiceSerializer(many=True)

    @extend_schema(responses=OutputSerializer, operation_id="openai_voices",
                   summary="Voices for /v1/audio/speech: the presets and OpenAI's names for them")
    def get(self, request: Request) -> Response:
        presets = [{"id": name, "name": label, "engine": "kokoro"} for name, label in PRESET_LABELS.items()]
        aliases = [{"id": alias, "name": f"{alias} (= {preset})", "engine": "kokoro"}
                   for alias, preset in VOICE_ALIASES.items()]
        return Response({"voices": presets + aliases})
