"""Voice tasks in the worker: transcripts (Whisper) and per-engine prompt features (blocking)."""

from __future__ import annotations

import logging

from django.db import close_old_connections
from django.utils import timezone

from voices.audio import decode_reference
from voices.models import TranscriptState, Voice, VoiceFeatures
from voices.tasks import FEATURES, TRANSCRIBE

from .asr import Transcriber
from .engines.base import Engine, ReferenceClip

logger = logging.getLogger(__name__)


def _clip(voice: Voice) -> ReferenceClip:
    with voice.audio.open("rb") as handle:
        samples, rate = decode_reference(handle.read())
    return ReferenceClip(samples=samples, sample_rate=rate, sha256=voice.audio_sha256, prompt_text=voice.prompt_text)


def transcribe_voice(voice: Voice, transcriber: Transcriber, *, last_attempt: bool = True) -> None:
    """The transcript; on an error the voice says "failed" only on the last attempt (the task is
    retried before that, and the state stays pending)."""
    try:
        clip = _clip(voice)
        transcript = transcriber.transcribe(clip.samples, clip.sample_rate,
                                            language=voice.language or None)
    except Exception:
        if last_attempt:
            voice_task_given_up(f"{TRANSCRIBE}:{voice.pk}")
        raise
    # Only fill in a transcript nobody typed meanwhile.
    Voice.objects.filter(pk=voice.pk, transcript_state=TranscriptState.PENDING).update(
        prompt_text=transcript.text, prompt_source="transcribed", detected_language=transcript.language,
        transcript_state=TranscriptState.DONE, updated_at=timezone.now())


def compute_features(voice: Voice, engines: dict[str, Engine]) -> None:
    clip = _clip(voice)
    for engine in engines.values():
        if not engine.loaded:
            continue
        row, _ = VoiceFeatures.objects.get_or_create(voice=voice, engine_id=engine.engine_id,
                                                     engine_version=engine.version,
                                                     defaults={"audio_sha256": voice.audio_sha256})
        if row.state == "ready" and row.audio_sha256 == voice.audio_sha256:
            continue  # computed once per voice, audio and engine version
        try:
            prompt = engine.prepare_voice(preset=None, reference=clip)
            row.summary = {"label": prompt.label, "cloned": prompt.cloned, "similarity": prompt.similarity,
                           "nearest_preset": prompt.nearest_preset,
                           "key": prompt.key}
            row.state, row.error = "ready", ""
        except Exception as exc:
            row.state, row.error = "failed", f"{type(exc).__name__}: {exc}"
            logger.warning("Voice %s: %s features failed: %s", voice.pk, engine.engine_id, row.error)
        row.audio_sha256, row.computed_at = voice.audio_sha256, timezone.now()
        row.save()


def voice_task_given_up(task: str) -> None:
    """A task that will not be tried again (its last attempt failed, or it was dead-lettered): a
    transcript still pending says failed, so the owner can type one."""
    kind, _, voice_id = task.partition(":")
    if kind == TRANSCRIBE:
        Voice.objects.filter(pk=voice_id, transcript_state=TranscriptState.PENDING).update(
            transcript_state=TranscriptState.FAILED)


def run_voice_task(task: str, *, engines: dict[str, Engine], transcriber: Transcriber,
                   last_attempt: bool = True) -> str:
    close_old_connections()
    try:
        kind, _, voice_id = task.partition(":")
        voice = Voice.objects.filter(pk=voice_id).first()
        if voice is None or not voice.audio:
            return "skipped (voice gone)"
        if kind == TRANSCRIBE:
            transcribe_voice(voice, transcriber, last_attempt=last_attempt)
        elif kind == FEATURES:
            compute_features(voice, engines)
        else:
            return f"skipped (unknown task {kind!r})"
        return "done"
    finally:
        close_old_connections()
