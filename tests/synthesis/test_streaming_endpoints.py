"""Seed /api/tts (plain and SSE) and the OpenAI API, over a real Daphne and a real worker."""

from __future__ import annotations

import io
import json
import time

import httpx
import openai
import pytest
import soundfile as sf
from django.contrib.auth.models import User

from accounts.services import api_token_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.processes import Daphne, Workers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LONG = " ".join(["The first line opens the reading.", "A second one follows it closely.",
                 "The third keeps the rhythm going.", "A fourth adds a little more.",
                 "The fifth is nearly the last.", "And the sixth one ends it."])


@pytest.fixture
def token(owner: User) -> str:
    return api_token_create(user=owner, name="sdk").raw


@pytest.fixture
def stack(daphne: Daphne, workers: Workers) -> Daphne:
    workers.start("streamer")
    return daphne


def _latest_job() -> SynthesisJob:
    job = SynthesisJob.objects.order_by("-created_at").first()
    assert job is not None
    return job


def test_openai_sdk_lists_models_and_voices_and_speaks(stack: Daphne, token: str) -> None:
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=token)
    assert {"kokoro", "tts-1"} <= {model.id for model in client.models.list()}
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello from the SDK.",
                                       response_format="flac")
    samples, rate = sf.read(io.BytesIO(audio.content))
    assert rate == 24000 and len(samples) / rate > 0.5
    voices = httpx.get(f"{stack.url}/v1/audio/voices", headers={"Authorization": f"Bearer {token}"}).json()
    assert "jm_kumo" in {voice["id"] for voice in voices["voices"]}


def test_openai_sdk_streams_before_synthesis_ends(stack: Daphne, token: str) -> None:
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=token)
    received, status_at_first_bytes = 0, None
    with client.audio.speech.with_streaming_response.create(
            model="kokoro", voice="jm_kumo", input=LONG, response_format="pcm") as response:
        for chunk in response.iter_bytes():
            if chunk and status_at_first_bytes is None:
                status_at_first_bytes = _latest_job().status
            received += len(chunk)
    assert status_at_first_bytes == JobStatus.RUNNING
    job = _latest_job()
    assert job.status == JobStatus.DONE
    assert received == pytest.approx((job.audio_duration_s or 0) * 24000 * 2, rel=0.01)


def test_openai_errors_are_clear(stack: Daphne, token: str) -> None:
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=token, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="aac"):
        client.audio.speech.create(model="tts-1", voice="alloy", input="x", response_format="aac")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{stack.url}/v1", api_key="gtts_wrong", max_retries=0).models.list()


def test_seed_tts_returns_wav_then_serves_the_repeat_from_cache(stack: Daphne, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    first = httpx.post(f"{stack.url}/api/tts", data={"text": "Seed clients still work."}, headers=headers,
                       timeout=120)
    assert first.status_code == 200 and first.content[:4] == b"RIFF" and first.headers["X-Cache-Hit"] == "0"
    started = time.perf_counter()
    again = httpx.post(f"{stack.url}/api/tts", data={"text": "Seed clients still work."}, headers=headers,
                       timeout=120)
    assert again.headers["X-Cache-Hit"] == "1" and again.content == first.content
    assert time.perf_counter() - started < 5


def test_seed_tts_sse_streams_chunks_before_done(stack: Daphne, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    events: list[tuple[str, dict[str, object]]] = []
    status_at_first_chunk = None
    with httpx.stream("POST", f"{stack.url}/api/tts", data={"text": LONG}, headers=headers, timeout=120) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if name == "chunk" and status_at_first_chunk is None:
                    status_at_first_chunk = _latest_job().status
    names = [name for name, _ in events]
    assert names[0] == "queued" and names[-1] == "done"
    assert "progress" in names and names.count("chunk") >= 6
    assert status_at_first_chunk == JobStatus.RUNNING
    assert events[-1][1]["audio_urls"]
    # The websocket's fields, from the same builders: progress and the end say the same on both surfaces.
    progress = next(data for name, data in events if name == "progress")
    assert {"stage", "fraction", "segment", "segments", "done", "total"} <= set(progress)
    assert {"job_id", "audio_urls", "duration", "sample_rate", "cache_hit", "voice", "timings"} <= set(events[-1][1])


def test_seed_tts_needs_auth_and_valid_input(stack: Daphne, token: str) -> None:
    assert httpx.post(f"{stack.url}/api/tts", data={"text": "hi"}).status_code == 401
    bad = httpx.post(f"{stack.url}/api/tts", data={"text": "hi", "temperature": "9"},
                     headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "temperature"
