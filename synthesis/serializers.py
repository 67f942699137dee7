"""Shared input/output shapes of the synthesis APIs."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from glmtts_site.api_errors import first_field_error
from glmtts_site.errors import ApiError
from glmtts_site.serializers import StrictInputSerializer

from .models import SynthesisJob
from .params import FORMATS, SAMPLE_RATES, STRATEGIES, STRATEGY_PRESETS, SynthesisParams
from .selectors import audio_urls
from .services import MAX_TEXT_CHARS


class SynthesisInputSerializer(StrictInputSerializer):
    text = serializers.CharField(max_length=MAX_TEXT_CHARS, trim_whitespace=True)
    voice = serializers.CharField(max_length=80, required=False, allow_blank=True,
                                  help_text="A preset voice name (GET /v1/audio/voices).")
    voice_id = serializers.UUIDField(required=False, help_text="A voice from the library (GET /api/v1/voices).")
    voice_share = serializers.CharField(max_length=64, required=False, help_text="Share token of a link-shared voice.")
    reference_audio = serializers.FileField(required=False, help_text="Inline reference clip (multipart).")
    prompt_text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    skip_whisper = serializers.BooleanField(required=False, default=False)
    engine = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    sample_rate = serializers.ChoiceField(choices=SAMPLE_RATES, required=False, default=24000)
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="wav")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False, default="balanced",
                                       help_text="fast: T=0.8 p=0.8 k=10; balanced: T=1.0 p=0.8 k=25 "
                                                 "(upstream); quality: T=0.9 p=0.9 k=50.")
    temperature = serializers.FloatField(min_value=0.1, max_value=1.5, required=False)
    top_p = serializers.FloatField(min_value=0.5, max_value=1.0, required=False)
    top_k = serializers.IntegerField(min_value=1, max_value=100, required=False)
    speed = serializers.FloatField(min_value=0.5, max_value=2.0, required=False, default=1.0)
    language = serializers.ChoiceField(choices=["auto", "en", "zh"], required=False, default="auto")
    use_kv_cache = serializers.BooleanField(required=False, default=True)
    use_prompt_cache = serializers.BooleanField(required=False, default=True)

    csrfmiddlewaretoken = serializers.CharField(required=False, write_only=True)  # browsers' form posts


def validated_input(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate outside DRF views (SSE, websockets): errors become the same 400 ApiError shape."""
    serializer = SynthesisInputSerializer(data=fields)
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        field, message = first_field_error(exc.detail)
        raise ApiError(f"{field}: {message}" if field else message, code="invalid", field=field) from exc
    return dict(serializer.validated_data)


def params_from(data: dict[str, Any]) -> SynthesisParams:
    """The strategy fills in sampling values the request left out; explicit ones win."""
    preset = STRATEGY_PRESETS[data.get("strategy", "balanced")]
    return SynthesisParams(
        sample_rate=int(data.get("sample_rate", 24000)), format=data.get("format", "wav"),
        seed=data.get("seed", 0), speed=data.get("speed", 1.0), strategy=data.get("strategy", "balanced"),
        temperature=float(data.get("temperature") or preset["temperature"]),
        top_p=float(data.get("top_p") or preset["top_p"]), top_k=int(data.get("top_k") or preset["top_k"]),
        language=data.get("language", "auto"), use_kv_cache=data.get("use_kv_cache", True),
        use_prompt_cache=data.get("use_prompt_cache", True))


class JobOutputSerializer(serializers.Serializer):
    """Explicit fields (not a ModelSerializer): cache hits are hot, and model introspection per
    response cost more than the rest of the hit path."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    text = serializers.CharField()
    engine = serializers.CharField(source="engine_id")
    engine_version = serializers.CharField()
    voice = serializers.CharField(source="voice_preset")
    voice_note = serializers.CharField()
    params = serializers.DictField()
    cache_hit = serializers.BooleanField()
    follows = serializers.UUIDField(source="leader_id", allow_null=True)
    attempts = serializers.IntegerField()
    audio_urls = serializers.SerializerMethodField()
    audio_duration_s = serializers.FloatField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    transcript = serializers.CharField()
    timings = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    status_url = serializers.SerializerMethodField()
    websocket_url = serializers.SerializerMethodField()

    def get_audio_urls(self, job: SynthesisJob) -> dict[str, str]:
        return audio_urls(job)

    def get_timings(self, job: SynthesisJob) -> dict[str, float | None]:
        return {"queue_wait_s": job.queue_wait_s, "first_chunk_s": job.first_chunk_s, "total_s": job.total_s,
                "rtf": job.rtf}

    def get_error(self, job: SynthesisJob) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None

    def get_status_url(self, job: SynthesisJob) -> str:
        return reverse("api-synthesis-detail", kwargs={"job_id": job.pk})

    def get_websocket_url(self, job: SynthesisJob) -> str:
        return f"/ws/jobs/{job.pk}/"
