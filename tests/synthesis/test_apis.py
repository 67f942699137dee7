"""The synthesis REST API with three personas, validation, quotas and the cache."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import redis
import soundfile as sf
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from glmtts_site.redis_conn import _client_for
from synthesis.jobs.quotas import characters_left
from synthesis.models import JobStatus, SynthesisJob
from tests.support.results import cached_result_for, finished_job, speech_like
from voices.audio import load_reference
from workers import queue

URL = "/api/v1/syntheses"


def _submit(client: APIClient, **body: Any) -> Any:
    return client.post(URL, {"text": "A fresh sentence for the queue.", **body}, format="json")


def test_miss_is_queued_with_urls_to_follow(owner_client: APIClient, redis_isolated: redis.Redis,
                                            django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(owner_client)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["cache_hit"] is False
    assert body["status_url"] == f"{URL}/{body['id']}" and body["websocket_url"] == f"/ws/jobs/{body['id']}/"
    assert queue.queue_depth()["length"] == 1


def test_hit_answers_200_with_audio_at_once(owner_client: APIClient) -> None:
    cached_result_for("A phrase heard before.")
    response = _submit(owner_client, text="A phrase heard before.")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["cache_hit"] is True
    assert set(body["audio_urls"]) == {"wav", "mp3"} and body["audio_duration_s"] == pytest.approx(2.0)
    assert queue.queue_depth()["length"] == 0


def test_strategy_fills_in_sampling_values(owner_client: APIClient) -> None:
    params = _submit(owner_client, strategy="fast", top_k=7).json()["params"]
    assert params["temperature"] == 0.8 and params["top_p"] == 0.8 and params["top_k"] == 7


@pytest.mark.parametrize("body,field", [
    ({"text": "x" * 5001}, "text"), ({"text": "   "}, "text"), ({"temperature": 2.0}, "temperature"),
    ({"top_p": 0.2}, "top_p"), ({"top_k": 0}, "top_k"), ({"sample_rate": 16000}, "sample_rate"),
    ({"format": "aiff"}, "format"), ({"speed": 3}, "speed"), ({"seed": -1}, "seed"),
    ({"strategy": "turbo"}, "strategy"), ({"temprature": 0.5}, "temprature"), ({"engine": "nope"}, "engine"),
])
def test_bad_input_is_400_naming_the_field(owner_client: APIClient, body: dict[str, Any], field: str) -> None:
    response = _submit(owner_client, **body)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["field"] == field


def _wav_bytes() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(3.0, 16000), 16000, format="WAV")
    return buffer.getvalue()


def test_skip_whisper_without_prompt_text_is_400(owner_client: APIClient) -> None:
    upload = io.BytesIO(_wav_bytes())
    upload.name = "ref.wav"
    response = owner_client.post(URL, {"text": "Hi there.", "reference_audio": upload, "skip_whisper": "true"},
                                 format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "prompt_text_required"


def test_inline_reference_is_stored_with_the_job_in_canonical_form(owner_client: APIClient) -> None:
    upload = io.BytesIO(_wav_bytes())
    upload.name = "ref.wav"
    response = owner_client.post(URL, {"text": "Hi there.", "reference_audio": upload, "prompt_text": "hello"},
                                 format="multipart")
    assert response.status_code == 202
    job = SynthesisJob.objects.get(pk=response.json()["id"])
    assert job.reference_audio.read() == load_reference(_wav_bytes()).canonical and job.prompt_text == "hello"


def test_owner_reads_other_user_gets_404_anonymous_401(owner: User, owner_client: APIClient,
                                                        other_client: APIClient, anon: APIClient) -> None:
    job = finished_job(owner)
    url = f"{URL}/{job.pk}"
    assert owner_client.get(url).json()["id"] == str(job.pk)
    for client, code in ((other_client, 404), (anon, 401)):
        assert client.get(url).status_code == code
        assert client.post(f"{url}/cancel").status_code == code
        assert client.delete(url).status_code == code
    assert SynthesisJob.objects.filter(pk=job.pk).exists()


def test_list_shows_only_my_jobs_and_filters(owner: User, other_user: User, owner_client: APIClient,
                                             anon: APIClient) -> None:
    finished_job(owner, text="Mine, from the cache.")
    finished_job(other_user, text="Theirs.")
    _submit(owner_client)
    listed = owner_client.get(URL).json()
    assert listed["count"] == 2 and all(j["text"] != "Theirs." for j in listed["results"])
    assert owner_client.get(URL, {"status": "queued"}).json()["count"] == 1
    assert owner_client.get(URL, {"cache_hit": "true"}).json()["count"] == 1
    assert owner_client.get(URL, {"status": "bogus"}).status_code == 400
    assert owner_client.get(URL, {"limit": 1}).json()["next"] is not None
    assert anon.get(URL).status_code == 401


def test_cancel_a_queued_job_refunds_the_quota(owner: User, owner_client: APIClient) -> None:
    before = characters_left(owner.pk)
    job_id = _submit(owner_client).json()["id"]
    assert characters_left(owner.pk) < before
    response = owner_client.post(f"{URL}/{job_id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    assert characters_left(owner.pk) == before


def test_delete_removes_the_row_but_not_shared_audio(owner: User, owner_client: APIClient) -> None:
    job = finished_job(owner)
    twin = finished_job(owner)
    assert owner_client.delete(f"{URL}/{job.pk}").status_code == 204
    assert not SynthesisJob.objects.filter(pk=job.pk).exists()
    assert APIClient().get(f"/a/{twin.output_token}.wav").status_code == 200


def test_concurrent_job_quota_is_429_with_retry_after(owner_client: APIClient, settings: SettingsWrapper) -> None:
    settings.QUOTA_CONCURRENT_JOBS = 1
    assert _submit(owner_client).status_code == 202
    response = _submit(owner_client, text="Another one.")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_jobs" and int(response["Retry-After"]) > 0


def test_daily_character_quota_is_429(owner_client: APIClient, settings: SettingsWrapper) -> None:
    settings.QUOTA_CHARS_PER_DAY = 40
    assert _submit(owner_client, text="Twenty characters!!!").status_code == 202
    response = _submit(owner_client, text="Twenty-five characters...")
    assert response.status_code == 429 and response.json()["error"]["code"] == "quota_exceeded"
    assert int(response["Retry-After"]) > 0


def test_cache_hits_cost_no_quota(owner: User, owner_client: APIClient, settings: SettingsWrapper) -> None:
    settings.QUOTA_CHARS_PER_DAY = 10
    cached_result_for("A phrase heard before.")
    assert _submit(owner_client, text="A phrase heard before.").status_code == 200


def test_submit_with_redis_down_is_503_and_loses_nothing(owner: User, owner_client: APIClient,
                                                         settings: SettingsWrapper) -> None:
    done = finished_job(owner)
    dead = "redis://127.0.0.1:1/0"
    settings.REDIS_URL = dead
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
    _client_for.cache_clear()
    response = _submit(owner_client)
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
    assert owner_client.get(f"{URL}/{done.pk}").json()["status"] == JobStatus.DONE
    assert SynthesisJob.objects.count() == 1


def test_rejected_audio_never_reaches_the_cache() -> None:
    from synthesis.results.validation import AudioRejected, validate_audio

    with pytest.raises(AudioRejected):
        validate_audio(np.zeros(48000, np.float32), 24000, text="Silence is not speech.")
