"""A request's checks, made once on every road that creates a job (users' submits, the system's and
operators' jobs): text, reference prompt, engine and voice choice. ApiError (a 4xx) when one fails."""

from __future__ import annotations

from django.conf import settings

from glmtts_site.errors import ApiError
from synthesis.jobs.services import ReferenceUpload
from synthesis.submit.presets import check_voice_choice
from workers.engine_registry import ENGINE_SPECS, engine_unavailable_reason

MAX_TEXT_CHARS = 5000


def validate_request(*, text: str, reference: ReferenceUpload | None, prompt_text: str, skip_whisper: bool) -> str:
    """The request's text, stripped; its own fields checked."""
    text = text.strip()
    if not text:
        raise ApiError("Text is empty.", code="empty_text", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(f"Text is longer than {MAX_TEXT_CHARS} characters.", code="text_too_long", field="text")
    if reference is not None and skip_whisper and not prompt_text.strip():
        raise ApiError("skip_whisper needs prompt_text: without it nobody knows what the reference says.",
                       code="prompt_text_required", field="prompt_text")
    return text


def checked_request(*, text: str, engine_id: str, voice_preset: str, reference: ReferenceUpload | None,
                    prompt_text: str, skip_whisper: bool) -> tuple[str, str]:
    """The request's text and engine, checked against what this deployment offers."""
    text = validate_request(text=text, reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper)
    engine_id = engine_id or settings.DEFAULT_ENGINE
    if engine_id not in ENGINE_SPECS:
        raise ApiError(f"Unknown engine {engine_id!r}.", code="unknown_engine", field="engine")
    if (reason := engine_unavailable_reason(engine_id)) is not None:
        raise ApiError(reason, code="engine_unavailable", field="engine")
    check_voice_choice(engine_id=engine_id, voice_preset=voice_preset, has_reference=reference is not None)
    return text, engine_id
