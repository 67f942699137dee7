"""A full GLM-TTS synthesis through a real worker process on the tiny checkpoint, and the API's gate."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from synthesis.jobs.services import ReferenceUpload, job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.processes import Workers, wait_for
from workers.engines.params import SynthesisParams

from .conftest import golden
from .expectations import llm_texts
from .tiny_ckpt import build_tiny_checkpoint

PROMPT_TEXT, TEXT = llm_texts()  # golden d_llm's transcript and target text


def _reference_wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, golden("00_waveforms")["wav24k"].numpy(), 24000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_synthesizes_with_the_tiny_checkpoint(tmp_path: Path, workers: Workers, media_tmp: Path) -> None:
    root = build_tiny_checkpoint(tmp_path / "glmtts")
    workers.extra_env.update(WORKER_ENGINES="glmtts", GLMTTS_CKPT_DIR=str(root))
    workers.start("glm")
    job = job_create(owner=None, text=TEXT, engine_id="glmtts", prompt_text=PROMPT_TEXT, skip_whisper=True,
                     reference=ReferenceUpload("prompt.wav", _reference_wav()), params=SynthesisParams(top_k=1))

    def finished() -> bool:
        job.refresh_from_db()
        return job.status in (JobStatus.DONE, JobStatus.FAILED)

    wait_for(finished, timeout_s=180, what="the GLM-TTS job")
    assert job.status == JobStatus.DONE, (job.error_code, job.error_message, workers.log("glm")[-3000:])
    assert job.engine_version.startswith("glmtts-") and job.sample_rate == 24000
    audio, rate = sf.read(media_tmp / str(job.output.name))
    assert rate == 24000 and audio.ndim == 1
    # Greedy decoding of golden d_llm's prompt and text: golden's codes, so as long as upstream's token2wav of them.
    assert len(audio) == golden("g_token2wav")["wav"].shape[-1]
    assert abs(job.audio_duration_s - len(audio) / rate) < 0.01


@pytest.mark.django_db
def test_api_refuses_glmtts_when_it_is_not_configured(owner_client: Any, settings: Any) -> None:
    settings.GLMTTS_CKPT_DIR = ""
    response = owner_client.post("/api/v1/syntheses", {"text": "hello", "engine": "glmtts"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "engine_unavailable" and "GLMTTS_CKPT_DIR" in body["error"]["message"]
    assert SynthesisJob.objects.count() == 0


@pytest.mark.django_db
def test_studio_offers_glmtts_only_when_configured(client: Any, owner: Any, settings: Any, tmp_path: Path) -> None:
    client.force_login(owner)
    settings.GLMTTS_CKPT_DIR = ""
    page = client.get("/").content.decode()
    assert 'value="kokoro" selected' in page and 'value="glmtts"' not in page
    settings.GLMTTS_CKPT_DIR = str(tmp_path)
    assert 'value="glmtts"' in client.get("/").content.decode()


@pytest.mark.parametrize(("field", "value", "changes"), [
    ("use_prompt_cache", False, True), ("use_kv_cache", False, False), ("temperature", 0.7, True),
    ("top_k", 1, True), ("seed", 9, True), ("speed", 1.5, False), ("sample_rate", 32000, True)])
def test_glmtts_fingerprint_holds_exactly_what_changes_its_audio(field: str, value: Any, changes: bool) -> None:
    from synthesis.submit.fingerprint import request_fingerprint

    def key(params: SynthesisParams) -> str:
        return request_fingerprint(engine_id="glmtts", engine_version="glmtts-x", voice={"reference": "ab"},
                                   text="Hello there.", params=params.to_dict())

    base = SynthesisParams()
    assert (key(base) != key(SynthesisParams(**{**base.to_dict(), field: value}))) is changes
