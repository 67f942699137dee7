"""The voice library API with three personas; another user's private voice is always a 404."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from tests.support.voices import make_voice as _voice
from tests.support.voices import wav
from voices.models import TranscriptState, Visibility, Voice
from voices.services import presets_sync
from voices.tasks import voice_tasks_key

URL = "/api/v1/voices"


def _file(data: bytes, name: str = "me.wav") -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def test_upload_creates_a_canonical_voice_and_queues_work(owner_client: APIClient, redis_isolated: Any,
                                                          django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(URL, {"name": "Narrator", "audio": _file(wav(seconds=5.0, channels=2))},
                                     format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["transcript_state"] == "transcribing" and body["mine"] is True
    voice = Voice.objects.get(pk=body["id"])
    assert voice.audio.read()[:4] == b"fLaC" and voice.duration_s == pytest.approx(5.0)
    tasks = [fields[b"job"].decode() for _, fields in redis_isolated.xrange(voice_tasks_key())]
    assert tasks == [f"transcribe:{voice.pk}", f"features:{voice.pk}"]


def test_typed_prompt_text_skips_transcription(owner_client: APIClient) -> None:
    response = owner_client.post(URL, {"name": "N", "audio": _file(wav()), "prompt_text": "hello there"},
                                 format="multipart")
    assert response.json()["transcript_state"] == "none" and response.json()["prompt_source"] == "typed"


def test_skip_whisper_without_text_is_400(owner_client: APIClient) -> None:
    response = owner_client.post(URL, {"name": "N", "audio": _file(wav()), "skip_whisper": "true"},
                                 format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "prompt_text_required"


@pytest.mark.parametrize("data,code,status", [
    (b"GIF89a" + b"\0" * 64, "unsupported_type", 415), (wav(seconds=1.0), "too_short", 400),
    (wav(rate=8000), "low_sample_rate", 400), (b"", "invalid", 400),
])
def test_rejected_upload_leaves_no_row_and_no_file(owner_client: APIClient, media_tmp: Any, data: bytes,
                                                   code: str, status: int) -> None:
    response = owner_client.post(URL, {"name": "Bad", "audio": _file(data)}, format="multipart")
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert Voice.objects.count() == 0
    assert not (media_tmp / "voices").exists() or not any((media_tmp / "voices").rglob("*.flac"))


def test_voice_count_quota(owner: User, owner_client: APIClient, settings: SettingsWrapper) -> None:
    settings.VOICE_MAX_PER_USER = 1
    _voice(owner)
    response = owner_client.post(URL, {"name": "Two", "audio": _file(wav())}, format="multipart")
    assert response.status_code == 409 and response.json()["error"]["code"] == "voice_quota"


def test_list_shows_mine_public_and_presets_but_not_others_private(owner: User, other_user: User,
                                                                  owner_client: APIClient, anon: APIClient) -> None:
    presets_sync(engine_id="kokoro", presets=[("jm_kumo", "Kumo (male)", "en,zh")])
    _voice(owner)
    theirs_public = _voice(other_user, Visibility.PUBLIC)
    _voice(other_user)  # private
    _voice(other_user, Visibility.LINK)
    names = {(v["name"], v["mine"], v["is_preset"]) for v in owner_client.get(URL).json()["results"]}
    assert names == {("Mine", True, False), ("Mine", False, False), ("Kumo (male)", False, True)}
    assert owner_client.get(URL, {"q": "kumo"}).json()["count"] == 1
    assert owner_client.get(f"{URL}/{theirs_public.pk}").status_code == 200
    assert anon.get(URL).status_code == 401


def test_other_users_private_voice_is_404_everywhere(owner: User, other_client: APIClient, anon: APIClient) -> None:
    voice = _voice(owner)
    for client, code in ((other_client, 404), (anon, 401)):
        assert client.get(f"{URL}/{voice.pk}").status_code == code
        assert client.get(f"{URL}/{voice.pk}/audio").status_code == code
        assert client.patch(f"{URL}/{voice.pk}", {"name": "x"}, format="json").status_code == code
        assert client.post(f"{URL}/{voice.pk}/transcribe").status_code == code
        assert client.delete(f"{URL}/{voice.pk}").status_code == code
    assert Voice.objects.get(pk=voice.pk).name == "Mine"


def test_link_sharing_needs_the_token(owner: User, owner_client: APIClient, other_client: APIClient) -> None:
    voice = _voice(owner)
    share_url = owner_client.patch(f"{URL}/{voice.pk}", {"visibility": "link"}, format="json").json()["share_url"]
    assert other_client.get(f"{URL}/{voice.pk}").status_code == 404
    assert other_client.get(share_url).json()["mine"] is False
    assert other_client.patch(share_url, {"name": "x"}, format="json").status_code == 404  # seeing is not owning


def test_withdrawing_a_link_revokes_it_for_good(owner: User, owner_client: APIClient,
                                                other_client: APIClient) -> None:
    voice = _voice(owner)
    first = owner_client.patch(f"{URL}/{voice.pk}", {"visibility": "link"}, format="json").json()["share_url"]
    assert other_client.get(first).status_code == 200
    owner_client.patch(f"{URL}/{voice.pk}", {"visibility": "private"}, format="json")
    assert other_client.get(first).status_code == 404
    again = owner_client.patch(f"{URL}/{voice.pk}", {"visibility": "link"}, format="json").json()["share_url"]
    assert again != first and other_client.get(first).status_code == 404  # the old link stays dead
    assert other_client.get(again).status_code == 200
    body = {"text": "Speak like the shared voice.", "voice_id": str(voice.pk),
            "voice_share": first.rsplit("=", 1)[1]}
    assert other_client.post("/api/v1/syntheses", body, format="json").status_code == 400  # nor can it clone


def test_owner_edits_transcript_and_retranscribes(owner: User, owner_client: APIClient) -> None:
    voice = _voice(owner)
    body = owner_client.patch(f"{URL}/{voice.pk}", {"prompt_text": "fixed words"}, format="json").json()
    assert body["prompt_text"] == "fixed words" and body["prompt_source"] == "typed"
    again = owner_client.post(f"{URL}/{voice.pk}/transcribe")
    assert again.status_code == 202 and again.json()["transcript_state"] == TranscriptState.PENDING


def test_owner_previews_audio_privately(owner: User, owner_client: APIClient) -> None:
    voice = _voice(owner)
    response = owner_client.get(f"{URL}/{voice.pk}/audio", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and b"".join(response.streaming_content) == b"fLaC"  # type: ignore[attr-defined]
    assert response["Cache-Control"] == "private, no-store"


def test_delete_removes_row_and_file(owner: User, owner_client: APIClient,
                                     django_capture_on_commit_callbacks: Any) -> None:
    voice = _voice(owner)
    name = voice.audio.name
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(f"{URL}/{voice.pk}").status_code == 204
    assert not Voice.objects.filter(pk=voice.pk).exists() and not default_storage.exists(name or "")


def test_presets_are_read_only(owner_client: APIClient, db: None) -> None:
    presets_sync(engine_id="kokoro", presets=[("jm_kumo", "Kumo (male)", "en,zh")])
    preset = Voice.objects.get(preset_name="jm_kumo")
    assert owner_client.get(f"{URL}/{preset.pk}").json()["is_preset"] is True
    assert owner_client.delete(f"{URL}/{preset.pk}").status_code == 404  # not owned by anyone


def test_synthesis_with_a_library_voice_uses_its_reference(owner: User, owner_client: APIClient,
                                                           other_client: APIClient) -> None:
    voice = _voice(owner)
    response = owner_client.post("/api/v1/syntheses", {"text": "Speak like me.", "voice_id": str(voice.pk)},
                                 format="json")
    assert response.status_code == 202
    from synthesis.models import SynthesisJob

    job = SynthesisJob.objects.get(pk=response.json()["id"])
    assert job.reference_audio.read()[:4] == b"fLaC" and job.prompt_text == "a steady tone"
    denied = other_client.post("/api/v1/syntheses", {"text": "Steal it.", "voice_id": str(voice.pk)}, format="json")
    assert denied.status_code == 400 and denied.json()["error"]["code"] == "unknown_voice"


def test_seed_voices_endpoints(owner_client: APIClient, anon: APIClient) -> None:
    created = owner_client.post("/api/voices", {"audio": _file(wav()), "text": "hello", "name": "Seed"},
                                format="multipart")
    assert created.status_code == 201 and created.json()["voice_id"]
    assert owner_client.get("/api/voices").json()["count"] == 1
    assert anon.get("/api/voices").status_code == 401
