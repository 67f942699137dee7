"""A job remembers the library voice it was asked for, so "run again" sends the same request: the same
voice, engine and every parameter, and a cache hit when nothing changed (History's bug was a rerun
with no voice at all: another file, a cache miss and a wait in the queue)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from synthesis.models import SynthesisJob
from synthesis.results.publish import result_store
from tests.support.results import ENGINE_VERSION, announce_engine, speech_like
from tests.support.voices import make_voice
from voices.models import Visibility

URL = "/api/v1/syntheses"
RERUN_PARAMS = ["format", "sample_rate", "seed", "strategy", "temperature", "top_p", "top_k", "speed", "language",
                "use_kv_cache", "use_prompt_cache"]


def _rerun_body(job: dict[str, Any]) -> dict[str, Any]:
    """What History's "Run again" sends, built from the job as the API shows it."""
    body = {"text": job["text"], "engine": job["engine"], **{k: job["params"][k] for k in RERUN_PARAMS}}
    if job["voice_id"]:
        body["voice_id"] = job["voice_id"]
    elif job["voice"]:
        body["voice"] = job["voice"]
    return body


def _finish_as_a_worker_would(job_id: str) -> None:
    job = SynthesisJob.objects.get(pk=job_id)
    result_store(fingerprint=job.fingerprint, samples=speech_like(1.5), sample_rate=24000, fmt="wav",
                 engine_id="kokoro", engine_version=ENGINE_VERSION, voice_key="nearest:test")


def test_a_job_made_with_a_library_voice_names_it(owner: User, owner_client: APIClient) -> None:
    announce_engine()
    voice = make_voice(owner)
    job = owner_client.post(URL, {"text": "Spoken in my own voice.", "voice_id": str(voice.pk)}, format="json")
    assert job.status_code == 202
    assert job.json()["voice_id"] == str(voice.pk) and job.json()["voice_name"] == voice.name
    listed = owner_client.get(URL).json()["results"][0]
    assert listed["voice_id"] == str(voice.pk) and listed["voice_name"] == voice.name


def test_run_again_with_an_uploaded_voice_is_a_cache_hit_with_the_same_voice(owner: User,
                                                                               owner_client: APIClient) -> None:
    announce_engine()
    voice = make_voice(owner)
    first = owner_client.post(URL, {"text": "Run me again, please.", "voice_id": str(voice.pk), "seed": 7,
                                    "speed": 1.1, "strategy": "quality"}, format="json").json()
    _finish_as_a_worker_would(first["id"])
    again = owner_client.post(URL, _rerun_body(first), format="json")
    assert again.status_code == 200, again.json()
    rerun = again.json()
    assert rerun["cache_hit"] is True and rerun["voice_id"] == str(voice.pk)
    assert rerun["params"] == first["params"] and rerun["engine"] == first["engine"]
    old_rerun = {k: v for k, v in _rerun_body(first).items() if k != "voice_id"}  # what History sent before
    without_voice = owner_client.post(URL, old_rerun, format="json")
    assert without_voice.status_code == 202 and without_voice.json()["cache_hit"] is False


def test_a_deleted_voice_leaves_its_jobs_in_place(owner: User, owner_client: APIClient) -> None:
    announce_engine()
    voice = make_voice(owner)
    job = owner_client.post(URL, {"text": "Kept after the voice goes.", "voice_id": str(voice.pk)},
                            format="json").json()
    assert owner_client.delete(f"/api/v1/voices/{voice.pk}").status_code == 204
    kept = owner_client.get(f"{URL}/{job['id']}").json()
    assert kept["voice_id"] is None and kept["voice_name"] == ""


@pytest.mark.parametrize("persona", ["other", "anonymous"])
def test_another_users_private_voice_cannot_be_rerun(owner: User, other_client: APIClient, anon: APIClient,
                                                     persona: str) -> None:
    voice = make_voice(owner, visibility=Visibility.PRIVATE)
    client = other_client if persona == "other" else anon
    response = client.post(URL, {"text": "Not mine to use.", "voice_id": str(voice.pk)}, format="json")
    assert response.status_code == (400 if persona == "other" else 401)
