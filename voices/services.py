"""Writes for the voice library. Validation lives here, not only in forms."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum

from glmtts_site.errors import ApiError
from glmtts_site.ratelimit import rate_limit

from . import tasks
from .audio import MAX_BYTES, CheckedReference, VoiceRejected, load_reference, safe_download_name
from .models import TranscriptState, Visibility, Voice


def _check_quota(owner: User, new_bytes: int) -> None:
    owned = Voice.objects.filter(owner=owner)
    if owned.count() >= settings.VOICE_MAX_PER_USER:
        raise ApiError(f"At most {settings.VOICE_MAX_PER_USER} voices per user; delete one first.",
                       code="voice_quota", status_code=409)
    used = owned.aggregate(total=Sum("audio_bytes"))["total"] or 0
    if used + new_bytes > settings.VOICE_STORAGE_PER_USER:
        raise ApiError("Your reference storage is full; delete a voice first.", code="voice_storage_quota",
                       status_code=409)


def upload_bytes(upload: UploadedFile, *, field: str) -> bytes:
    """An uploaded file's bytes, refused by its size before any is read (the body limits of the
    server keep the upload itself bounded; this is the per-file rule with its own answer)."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ApiError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", code="file_too_large",
                       field=field, status_code=413)
    return bytes(upload.read(MAX_BYTES + 1))


def reference_validated(data: bytes, *, field: str = "audio") -> CheckedReference:
    """A client's reference clip checked and re-encoded to canonical FLAC: the one rule for library
    voices and for inline references on every submit path (ApiError otherwise)."""
    try:
        return load_reference(data)
    except VoiceRejected as exc:
        raise ApiError(exc.message, code=exc.code, field=field, status_code=exc.status_code) from exc


def _enqueue_after_commit(voice: Voice, *kinds: str) -> None:
    for kind in kinds:
        transaction.on_commit(lambda kind=kind: tasks.enqueue_voice_task(str(voice.pk), kind))  # type: ignore[misc]


def voice_create(*, owner: User, name: str, data: bytes, filename: str = "", prompt_text: str = "",
                 skip_whisper: bool = False, description: str = "", language: str = "",
                 visibility: str = Visibility.PRIVATE) -> Voice:
    if visibility == Visibility.SYSTEM:
        raise ApiError("Only engines own system presets.", code="invalid", field="visibility")
    if skip_whisper and not prompt_text.strip():
        raise ApiError("skip_whisper needs prompt_text: without it nobody knows what the reference says.",
                       code="prompt_text_required", field="prompt_text")
    rate_limit("voice_upload", owner.pk)  # before the decode: that is the cost being limited
    if not prompt_text.strip() and not skip_whisper:
        rate_limit("transcribe", owner.pk)
    clip = reference_validated(data, field="audio")
    _check_quota(owner, len(clip.canonical))
    voice = Voice(owner=owner, name=name.strip(), description=description, language=language,
                  visibility=visibility, audio_sha256=clip.sha256, audio_bytes=len(clip.canonical),
                  duration_s=clip.duration_s, sample_rate=clip.sample_rate, warnings=clip.warnings,
                  original_filename=safe_download_name(filename), prompt_text=prompt_text.strip(),
                  prompt_source="typed" if prompt_text.strip() else "",
                  share_token=secrets.token_urlsafe(16) if visibility == Visibility.LINK else "")
    needs_transcript = not voice.prompt_text and not skip_whisper
    voice.transcript_state = TranscriptState.PENDING if needs_transcript else TranscriptState.NONE
    stored = default_storage.save(f"voices/{clip.sha256[:2]}/{uuid.uuid4().hex}.flac", ContentFile(clip.canonical))
    try:
        with transaction.atomic():
            voice.audio.name = stored
            voice.save()
            _enqueue_after_commit(voice, *([tasks.TRANSCRIBE] if needs_transcript else []), tasks.FEATURES)
    except Exception:
        default_storage.delete(stored)  # a failed upload leaves no file behind
        raise
    return voice


def voice_update(*, voice: Voice, name: str | None = None, description: str | None = None,
                 prompt_text: str | None = None, visibility: str | None = None,
                 voice_match: bool | None = None) -> Voice:
    if voice.is_preset:
        raise ApiError("System presets cannot be changed.", code="read_only", status_code=403)
    if name is not None:
        voice.name = name.strip()
    if description is not None:
        voice.description = description
    if prompt_text is not None:
        voice.prompt_text, voice.prompt_source = prompt_text.strip(), "typed"
        voice.transcript_state = TranscriptState.DONE if voice.prompt_text else TranscriptState.NONE
    if visibility is not None:
        if visibility == Visibility.SYSTEM:
            raise ApiError("Only engines own system presets.", code="invalid", field="visibility")
        # A link that was withdrawn stays withdrawn: sharing again makes a new link, never the old one.
        if visibility == Visibility.LINK and voice.visibility != Visibility.LINK:
            voice.share_token = secrets.token_urlsafe(16)
        elif visibility != Visibility.LINK:
            voice.share_token = ""
        voice.visibility = visibility
    if voice_match is not None:
        voice.voice_match = voice_match
    voice.save()
    return voice


def voice_retranscribe(*, voice: Voice) -> Voice:
    if voice.is_preset or not voice.audio:
        raise ApiError("Presets have no reference audio to transcribe.", code="read_only", status_code=403)
    if voice.owner_id is not None:
        rate_limit("transcribe", voice.owner_id)
    voice.transcript_state = TranscriptState.PENDING
    voice.save(update_fields=["transcript_state", "updated_at"])
    _enqueue_after_commit(voice, tasks.TRANSCRIBE)
    return voice


def voice_recompute_features(*, voice: Voice) -> None:
    voice.features.all().delete()
    _enqueue_after_commit(voice, tasks.FEATURES)


def voice_delete(*, voice: Voice) -> None:
    """Jobs keep their own copy of the reference, so running ones are unaffected."""
    if voice.is_preset:
        raise ApiError("System presets cannot be deleted.", code="read_only", status_code=403)
    name = voice.audio.name
    voice.delete()
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def presets_sync(*, engine_id: str, presets: list[tuple[str, str, str]]) -> None:
    """Upsert an engine's preset voices as system rows (name, label, languages)."""
    for preset_name, label, languages in presets:
        Voice.objects.update_or_create(
            owner=None, engine_id=engine_id, preset_name=preset_name,
            defaults={"name": label, "visibility": Visibility.SYSTEM, "language": languages,
                      "description": f"{engine_id} preset voice"})
