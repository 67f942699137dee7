"""A real worker transcribes uploaded voices, computes their features and publishes its presets."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from synthesis.jobs.services import job_create
from synthesis.models import JobStatus
from synthesis.results.storage import read_output
from tests.support.asr_metrics import word_error_rate
from tests.support.processes import Workers, wait_for
from voices.models import TranscriptState, Visibility, Voice, VoiceFeatures
from voices.services import voice_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SENTENCE = "Please send the report to my office before noon."


def test_upload_is_transcribed_and_featured_by_the_worker(owner: User, workers: Workers) -> None:
    workers.start("voices")
    assert Voice.objects.filter(visibility=Visibility.SYSTEM, engine_id="kokoro").count() == 5
    speech = job_create(owner=None, text=SENTENCE, voice_preset="jf_tebukuro")
    wait_for(lambda: Voice.objects.exists() and speech.__class__.objects.get(pk=speech.pk).status == JobStatus.DONE,
             timeout_s=60, what="the reference speech")
    speech.refresh_from_db()
    voice = voice_create(owner=owner, name="Tebukuro copy", data=read_output(speech.files["wav"]),
                         filename="take.wav")
    assert voice.transcript_state == TranscriptState.PENDING

    def transcribed() -> bool:
        voice.refresh_from_db()
        return voice.transcript_state == TranscriptState.DONE

    wait_for(transcribed, timeout_s=60, what="the transcript")
    assert voice.prompt_source == "transcribed" and voice.detected_language == "en"
    assert word_error_rate([SENTENCE], [voice.prompt_text]) <= 0.2, voice.prompt_text
    wait_for(lambda: VoiceFeatures.objects.filter(voice=voice, state="ready").exists(), timeout_s=90,
             what="the prompt features")
    summary = VoiceFeatures.objects.get(voice=voice).summary
    assert summary["nearest_preset"] == "Tebukuro (female)" and summary["cloned"] is False
    assert summary["label"].startswith("Tebukuro (female), the preset nearest your voice: resembles it")
