"""Inline reference clips (`reference_audio`, seed 001's `prompt_audio`) pass exactly the checks of a
library upload, are stored in canonical form only when accepted, and leave with their job."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from rest_framework.test import APIClient

from synthesis.models import SynthesisJob
from tests.support.voices import wav


def _flac(seconds: float, rate: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((int(seconds * rate), channels), np.int16) + 300, rate, format="FLAC",
             subtype="PCM_16")
    return buffer.getvalue()


BOMB_8CH = _flac(119, 192000, 8)  # ~180 KB that would decode to ~700 MB of float32
LONG_MONO = _flac(300, 16000, 1)  # five minutes: would hold the worker in Whisper


def _upload(data: bytes, name: str = "ref.flac") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.mark.parametrize(("data", "code"), [
    (BOMB_8CH, "too_many_channels"), (LONG_MONO, "too_long"), (b"\0" * 5000, "unsupported_type"),
    (wav(seconds=1.0), "too_short"), (wav(seconds=4.0, rate=8000), "low_sample_rate"),
])
@pytest.mark.parametrize(("url", "field"), [("/api/v1/syntheses", "reference_audio"), ("/api/tts", "prompt_audio"),
                                            ("/api/v1/voices", "audio")])
def test_every_path_refuses_what_a_library_upload_refuses(token_client: APIClient, media_tmp: Path, url: str,
                                                          field: str, data: bytes, code: str) -> None:
    body: dict[str, Any] = {"text": "Hello there.", field: _upload(data), "prompt_text": "a tone"}
    if field == "audio":
        body = {"name": "x", "audio": _upload(data)}
    response = token_client.post(url, body, format="multipart")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["code"] == code
    assert SynthesisJob.objects.count() == 0
    assert not [p for p in media_tmp.rglob("*") if p.is_file()]  # nothing stored


def test_a_file_over_the_size_limit_is_413_before_it_is_read(token_client: APIClient) -> None:
    response = token_client.post("/api/v1/syntheses", {"text": "Hi.", "reference_audio": _upload(b"\0" * (11 << 20))},
                                 format="multipart")
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"


def test_deleting_a_job_deletes_its_reference_copy(token_client: APIClient, media_tmp: Path,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client.post("/api/v1/syntheses", {"text": "Hi there.", "reference_audio": _upload(wav()),
                                                           "prompt_text": "a tone"}, format="multipart")
    assert response.status_code == 202
    stored = Path(SynthesisJob.objects.get().reference_audio.path)
    assert stored.exists() and stored.suffix == ".flac"
    with django_capture_on_commit_callbacks(execute=True):
        assert token_client.delete(f"/api/v1/syntheses/{response.json()['id']}").status_code == 204
    assert not stored.exists()
