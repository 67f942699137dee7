"""Shared input/output shapes of the synthesis APIs."""

from __future__ import annotations

import contextlib
from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from glmtts_site.api_errors import api_error_from_validation
from glmtts_site.serializers import (
    StrictBooleanField,
    StrictFloatField,
    StrictInputSerializer,
    StrictIntegerField,
    TextField,
)
from synthesis.jobs.selectors import audio_urls, job_status_url
from synthesis.models import SynthesisJob
from synthesis.submit.checks import MAX_TEXT_CHARS
from workers.engines.params import FORMATS, SAMPLE_RATES, STRATEGIES


class SynthesisInputSerializer(StrictInputSerializer):
    text = TextField(max_length=MAX_TEXT_CHARS, trim_whitespace=True)
    voice = TextField(max_length=80, required=False, allow_blank=True,
                      help_text="A preset voice name (GET /v1/audio/voices).")
    voice_id = serializers.UUIDField(required=False, help_text="A voice from the library (GET /api/v1/voices).")
    voice_share = TextField(max_length=64, required=False, help_text="Share token of a link-shared voice.")
    reference_audio = serializers.FileField(required=False, help_text="Inline reference clip (multipart; the same "
                                            "checks as a library upload: at most 10 MB, 2-30 s).")
    prompt_text = TextField(max_length=1000, required=False, allow_blank=True, default="")
    skip_whisper = StrictBooleanField(required=False, default=False)
    engine = TextField(max_length=40, required=False, allow_blank=True, default="")
    sample_rate = serializers.ChoiceField(choices=SAMPLE_RATES, required=False, default=24000)
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="wav")
    seed = StrictIntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False, default="balanced",
                                       help_text="fast: T=0.8 p=0.8 k=10; balanced: T=1.0 p=0.8 k=25 "
                                                 "(upstream); quality: T=0.9 p=0.9 k=50.")
    temperature = StrictFloatField(min_value=0.1, max_value=1.5, required=False)
    top_p = StrictFloatField(min_value=0.5, max_value=1.0, required=False)
    top_k = StrictIntegerField(min_value=1, max_value=100, required=False)
    speed = StrictFloatField(min_value=0.5, max_value=2.0, required=False, default=1.0)
    language = serializers.ChoiceField(choices=["auto", "en", "zh"], required=False, default="auto")
    use_kv_cache = StrictBooleanField(required=False, default=True)
    use_prompt_cache = StrictBooleanField(required=False, default=True)
    voice_match = StrictBooleanField(required=False, default=True,
                                     help_text="Default engine with a reference voice: move its preset towards "
                                               "that voice (off: the plain preset of its pitch range).")

    csrfmiddlewaretoken = serializers.CharField(required=False, write_only=True)  # browsers' form posts


def validated_submit_input(data: Any) -> dict[str, Any]:
    """The submit input, validated (400 on errors, as DRF's serializer raises them).

    A JSON object naming only known fields is checked by the declared fields themselves: DRF's
    own per-field rules, without building a serializer (which copies and binds 22 fields per
    submit, the larger part of a cache hit's cost). Anything else, and any input that fails,
    goes through the whole serializer, so errors and odd inputs are judged exactly as before.
    """
    if type(data) is dict and data.keys() <= SUBMIT_FIELDS.keys():
        with contextlib.suppress(serializers.ValidationError):
            return validated_by_fields(data)
    serializer = SynthesisInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


SUBMIT_FIELDS: dict[str, serializers.Field] = SynthesisInputSerializer._declared_fields


def validated_by_fields(data: dict[str, Any]) -> dict[str, Any]:
    """What `Serializer.to_internal_value` does for a flat serializer without validate_* methods
    (the caller checks that `data` names only submit fields). Raises ValidationError."""
    validated: dict[str, Any] = {}
    for name, field in SUBMIT_FIELDS.items():
        try:
            validated[name] = field.run_validation(data.get(name, empty))
        except SkipField:
            continue
    return validated


def validated_input(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate outside DRF views (SSE, websockets): errors become the same 400 ApiError shape."""
    try:
        return validated_submit_input(fields)
    except serializers.ValidationError as exc:
        raise api_error_from_validation(exc) from exc


class JobOutputSerializer(serializers.Serializer):
    """Explicit fields (not a ModelSerializer): cache hits are hot, and model introspection per
    response cost more than the rest of the hit path."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    text = serializers.CharField()
    engine = serializers.CharField(source="engine_id")
    engine_version = serializers.CharField()
    voice = serializers.CharField(source="voice_preset", help_text="The preset it was made with, if any.")
    voice_id = serializers.UUIDField(allow_null=True, help_text="The library voice it was asked for: send it "
                                                                "again to run the same request again.")
    voice_name = serializers.SerializerMethodField()
    voice_note = serializers.CharField(help_text="How the voice was rendered, e.g. whether it was cloned.")
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

    def to_representation(self, instance: SynthesisJob) -> dict[str, Any]:
        """DRF's own per-field rendering, but with the declared (unbound, stateless) fields instead of
        22 fresh copies bound per response; the result is the same (tested against DRF's path)."""
        out: dict[str, Any] = {}
        for name, field in self._declared_fields.items():
            if isinstance(field, serializers.SerializerMethodField):
                out[name] = getattr(self, f"get_{name}")(instance)
                continue
            value = getattr(instance, field.source or name)
            out[name] = None if value is None else field.to_representation(value)
        return out

    def get_voice_name(self, job: SynthesisJob) -> str:
        """The library voice's name ("" without one, or once it is deleted)."""
        return job.voice.name if job.voice_id is not None and job.voice is not None else ""

    def get_audio_urls(self, job: SynthesisJob) -> dict[str, str]:
        return audio_urls(job)

    def get_timings(self, job: SynthesisJob) -> dict[str, float | None]:
        return {"queue_wait_s": job.queue_wait_s, "first_chunk_s": job.first_chunk_s, "total_s": job.total_s,
                "rtf": job.rtf}

    def get_error(self, job: SynthesisJob) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None

    def get_status_url(self, job: SynthesisJob) -> str:
        return job_status_url(job)

    def get_websocket_url(self, job: SynthesisJob) -> str:
        return f"/ws/jobs/{job.pk}/"
