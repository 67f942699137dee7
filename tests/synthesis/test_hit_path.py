"""The cache-hit hot path: each shortcut gives exactly what the general path gives."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.urls import reverse, set_script_prefix
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from glmtts_site.negotiation import RememberingContentNegotiation
from glmtts_site.redis_conn import redis_key
from synthesis import engines_info
from synthesis.jobs.selectors import audio_urls, job_status_url
from synthesis.models import JobStatus, SynthesisJob
from synthesis.serializers import JobOutputSerializer, SynthesisInputSerializer, validated_submit_input
from synthesis.submit.fingerprint import request_fingerprint, voice_identity
from synthesis.submit.lookup import l1_hits, request_key
from tests.support.clock import ManualClock, manual_clock
from tests.support.results import ENGINE_VERSION, announce_engine, cached_result_for, finished_job
from workers.engines.params import SynthesisParams

URL = "/api/v1/syntheses"


def _drf_verdict(data: Any) -> tuple[bool, Any]:
    serializer = SynthesisInputSerializer(data=data)
    if serializer.is_valid():
        return True, dict(serializer.validated_data)
    return False, serializer.errors


def _fast_verdict(data: Any) -> tuple[bool, Any]:
    try:
        return True, validated_submit_input(data)
    except serializers.ValidationError as exc:
        return False, exc.detail


@pytest.mark.parametrize("data", [
    {"text": "Hello there."},
    {"text": "  padded  ", "voice": " jm_kumo ", "engine": "", "prompt_text": ""},
    {"text": 12345, "seed": 7, "top_k": 5, "temperature": 1, "top_p": 0.9, "speed": "1.5"},
    {"text": "x", "sample_rate": "32000", "format": "mp3", "strategy": "fast", "language": "zh"},
    {"text": "x", "use_kv_cache": "false", "use_prompt_cache": 0, "skip_whisper": "true"},
    {"text": "x", "temperature": True, "seed": True},  # DRF's own quirks: a float from True, no int
    {"text": "x", "voice_id": str(uuid.uuid4()), "voice_share": "abc", "csrfmiddlewaretoken": "t"},
    {"text": "x", "voice_id": "not-a-uuid"},
    {"text": "x", "reference_audio": "not a file"},
    {"text": ""}, {"text": "   "}, {"text": None}, {}, {"text": "x" * 5001}, {"text": "nul\x00"},
    {"text": "lone \ud800 surrogate"}, {"text": ["a list"]}, {"text": "x", "temprature": 0.5},
    {"text": "x", "sample_rate": 16000}, {"text": "x", "top_k": 0}, {"text": "x", "speed": float("nan")},
    ["not", "an", "object"], "text",
])
def test_fast_validation_agrees_with_the_serializer(data: Any) -> None:
    assert _fast_verdict(data) == _drf_verdict(data)


def test_plain_json_is_validated_without_building_a_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the serializer was built")

    monkeypatch.setattr(SynthesisInputSerializer, "__init__", refuse)
    assert validated_submit_input({"text": " Hi. ", "speed": 1.5})["text"] == "Hi."


def _jobs(owner: User) -> list[SynthesisJob]:
    done = finished_job(owner)
    queued = SynthesisJob.objects.create(owner=owner, text="Queued.", engine_id="kokoro", fingerprint="")
    failed = SynthesisJob.objects.create(owner=owner, text="Failed.", engine_id="kokoro", status=JobStatus.FAILED,
                                         error_code="invalid_audio", error_message="bad", finished_at=timezone.now(),
                                         attempts=2, rtf=0.5, first_chunk_s=0.25)
    follower = SynthesisJob(owner=owner, text="Follows.", engine_id="kokoro", fingerprint="f" * 64)
    follower.leader_id = str(queued.pk)  # as submit sets it, from the single-flight key
    return [done, queued, failed, follower]


def test_job_output_is_what_drfs_generic_rendering_gives(owner: User) -> None:
    for job in _jobs(owner):
        ours = JobOutputSerializer(job).data
        generic = serializers.Serializer.to_representation(JobOutputSerializer(job), job)
        assert list(ours.items()) == list(generic.items())


def test_url_shortcuts_are_what_reverse_gives(owner: User) -> None:
    job = finished_job(owner, fmt="mp3")
    for prefix in ("/", "/behind/a/proxy/"):
        set_script_prefix(prefix)
        try:
            assert job_status_url(job) == reverse("api-synthesis-detail", kwargs={"job_id": job.pk})
            assert audio_urls(job) == {fmt: reverse("audio", kwargs={"token": job.output_token, "ext": fmt})
                                       for fmt in job.files}
        finally:
            set_script_prefix("/")


@pytest.mark.parametrize("accept,query", [
    (None, ""), ("*/*", ""), ("application/json", ""), ("application/json; indent=4", ""),
    ("application/*", ""), ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", ""), ("text/html", ""),
    ("*/*", "?format=json"), ("*/*", "?format=api"), ("image/png", "?format=json"),
])
def test_remembered_negotiation_agrees_with_drf(accept: str | None, query: str) -> None:
    factory = APIRequestFactory()
    for _ in range(2):  # the second time from memory
        answers: list[object] = []
        for negotiation in (DefaultContentNegotiation(), RememberingContentNegotiation()):
            renderers = [JSONRenderer(), BrowsableAPIRenderer()]
            plain = factory.get(f"/x{query}")
            if accept:
                plain.META["HTTP_ACCEPT"] = accept
            request = Request(plain)
            try:
                renderer, media_type = negotiation.select_renderer(request, renderers)
            except NotAcceptable:
                answers.append("406")
            else:
                answers.append((renderers.index(renderer), media_type))
        assert answers[0] == answers[1]


def test_remembered_fingerprints_are_the_fingerprints() -> None:
    for params in (SynthesisParams(), SynthesisParams(speed=1.25, format="mp3"), SynthesisParams(seed=1),
                   SynthesisParams(seed=True)):  # True == 1 for Python, yet not the same fingerprint
        direct = request_fingerprint(engine_id="kokoro", engine_version="v", voice=voice_identity(preset="jm_kumo"),
                                     text="Hello there.", params=params.to_dict())
        for _ in range(2):
            assert request_key(engine_id="kokoro", engine_version="v", voice_preset="jm_kumo", reference_sha256="",
                               prompt_text="", text="Hello there.", params=params) == direct


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    return manual_clock(monkeypatch, engines_info)


def test_versions_are_reread_after_at_most_the_configured_time(clock: ManualClock, settings: SettingsWrapper) -> None:
    settings.ENGINE_VERSIONS_CACHE_S = 1.0
    assert engines_info.recent_versions.get() == {}
    announce_engine("v1")  # an empty answer was not kept: the first announcement is seen at once
    assert engines_info.recent_versions.get() == {"kokoro": "v1"}
    announce_engine("v2")
    clock.now += 0.9
    assert engines_info.recent_versions.get() == {"kokoro": "v1"}  # the documented delay
    clock.now += 0.2
    assert engines_info.recent_versions.get() == {"kokoro": "v2"}


def test_zero_means_versions_are_read_every_time(settings: SettingsWrapper) -> None:
    settings.ENGINE_VERSIONS_CACHE_S = 0
    announce_engine("v1")
    assert engines_info.recent_versions.get() == {"kokoro": "v1"}
    announce_engine("v2")
    assert engines_info.recent_versions.get() == {"kokoro": "v2"}


def _hits(client: redis.Redis) -> int:
    return int(client.hget(redis_key("cache", "stats"), "hits") or 0)


@pytest.fixture
def token_client_hit(token_client: APIClient) -> Iterator[APIClient]:
    cached_result_for("A phrase heard before.")
    yield token_client


def _submit_hit(client: APIClient) -> dict[str, Any]:
    response = client.post(URL, {"text": "A phrase heard before."}, format="json")
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    assert body["cache_hit"] is True and body["engine_version"] == ENGINE_VERSION
    return body


@pytest.mark.django_db(transaction=True)
def test_a_hit_is_in_the_history_at_once(token_client_hit: APIClient) -> None:
    """Outside a transaction the row goes through the shared connection, as under Daphne."""
    for _ in range(3):
        body = _submit_hit(token_client_hit)
        read = token_client_hit.get(f"{URL}/{body['id']}")
        assert read.status_code == 200 and read.json() == body
    assert SynthesisJob.objects.filter(cache_hit=True).count() == 3


def test_hits_from_l1_reach_the_statistics_within_the_flush_time(token_client_hit: APIClient,
                                                                   redis_isolated: redis.Redis,
                                                                   settings: SettingsWrapper) -> None:
    settings.CACHE_STATS_FLUSH_S = 0.2
    before = _hits(redis_isolated)
    for _ in range(3):
        _submit_hit(token_client_hit)
    assert l1_hits.pending == 3
    deadline = time.monotonic() + 5
    while _hits(redis_isolated) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _hits(redis_isolated) == before + 3 and l1_hits.pending == 0


def test_zero_flush_time_counts_every_hit_at_once(token_client_hit: APIClient, redis_isolated: redis.Redis,
                                                  settings: SettingsWrapper) -> None:
    settings.CACHE_STATS_FLUSH_S = 0
    before = _hits(redis_isolated)
    _submit_hit(token_client_hit)
    assert _hits(redis_isolated) == before + 1


def test_repeated_hits_take_no_redis_round_trip_for_versions(token_client_hit: APIClient,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              settings: SettingsWrapper) -> None:
    settings.ENGINE_VERSIONS_CACHE_S = 60
    reads: list[int] = []
    original = engines_info.announced_versions

    def counted() -> dict[str, str]:
        reads.append(1)
        return original()

    monkeypatch.setattr(engines_info, "announced_versions", counted)
    for _ in range(5):
        _submit_hit(token_client_hit)
    assert len(reads) == 1
