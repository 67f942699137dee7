"""Edge purges: what asks for one (cache purge, voice deletion, engine upgrade), and the sender's
calls to a local server that records them as Cloudflare's API would receive them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.edge_purge import purge_stream_key, request_purge
from glmtts_site.redis_conn import _client_for, new_async_redis
from synthesis.results.cache_admin import cache_purge
from tests.support.recording_http import RecordingServer, recording_server
from tests.support.results import cached_result_for, finished_job
from tests.support.voices import make_voice
from workers import metrics as worker_metrics
from workers.cdn_purger import CloudflarePurger, PurgeFailed, purge_bodies
from workers.heartbeat import announce_engines

ZONE, TOKEN = "zone-123", "cf-test-token"


@pytest.fixture
def cloudflare(settings: SettingsWrapper) -> Iterator[RecordingServer]:
    with recording_server() as server:
        settings.CLOUDFLARE_ZONE_ID, settings.CLOUDFLARE_API_TOKEN = ZONE, TOKEN
        settings.CLOUDFLARE_API_BASE = f"{server.url}/client/v4"
        settings.CLOUDFLARE_PURGE_ATTEMPTS = 4
        settings.PUBLIC_BASE_URL = "https://tts.example.com"
        yield server


def _queued(client: redis.Redis) -> list[dict[str, Any]]:
    entries: Any = client.xrange(purge_stream_key())
    return [json.loads(fields[b"job"]) for _, fields in entries]


def _send(raw: str) -> int:
    async def send() -> int:
        async with httpx.AsyncClient() as http:
            return await CloudflarePurger(client=http, sleep=_no_wait, stopping=lambda: False).purge(raw)
    return asyncio.run(send())


async def _no_wait(seconds: float) -> None:
    _waits.append(seconds)


_waits: list[float] = []


def _outcome(outcome: str) -> float:
    return worker_metrics.edge_purges.labels(outcome=outcome)._value.get()


def test_nothing_is_queued_unless_cloudflare_is_configured(redis_isolated: redis.Redis, db: None) -> None:
    cached_result_for("Not purged at any edge.")
    assert cache_purge(everything=True) == 1
    assert not request_purge(tags=["tts"], reason="results")
    assert _queued(redis_isolated) == []


def test_purging_everything_purges_the_tag_every_result_carries(cloudflare: RecordingServer,
                                                                redis_isolated: redis.Redis) -> None:
    cached_result_for("Purged everywhere.")
    cache_purge(everything=True)
    [queued] = _queued(redis_isolated)
    assert queued["tags"] == ["tts"] and queued["reason"] == "results"
    assert _send(json.dumps(queued)) == 1
    [call] = cloudflare.calls
    assert call.path == f"/client/v4/zones/{ZONE}/purge_cache" and call.body == {"tags": ["tts"]}
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_an_engine_version_is_purged_by_its_tag(cloudflare: RecordingServer, redis_isolated: redis.Redis) -> None:
    cached_result_for("One version goes.")
    cache_purge(engine_version="kokoro-test-version")
    assert _queued(redis_isolated)[0]["tags"] == ["engine-kokoro-kokoro-test-version"]


def test_a_voice_is_purged_by_url_under_the_public_origin(cloudflare: RecordingServer, owner: User,
                                                          redis_isolated: redis.Redis) -> None:
    job = finished_job(owner)
    cache_purge(voice="default")
    [queued] = _queued(redis_isolated)
    assert queued["tags"] == [] and queued["urls"] == [f"https://tts.example.com/a/{job.output_token}.{ext}"
                                                      for ext in sorted(job.files)]
    _send(json.dumps(queued))
    assert cloudflare.calls[0].body == {"files": queued["urls"]}


def test_deleting_a_library_voice_purges_its_tag_and_its_results(cloudflare: RecordingServer, owner: User,
                                                                 redis_isolated: redis.Redis,
                                                                 django_capture_on_commit_callbacks: Any) -> None:
    voice = make_voice(owner)
    job = finished_job(owner)
    job.voice = voice
    job.save(update_fields=["voice"])
    voice_id = voice.pk
    with django_capture_on_commit_callbacks(execute=True):
        voice.delete()
    [queued] = _queued(redis_isolated)
    assert queued["reason"] == "voice" and queued["tags"] == [f"voice-{voice_id}"]
    assert queued["urls"] == [f"https://tts.example.com/a/{job.output_token}.{ext}" for ext in sorted(job.files)]


def test_a_new_engine_version_retires_the_old_one_once(cloudflare: RecordingServer,
                                                       redis_isolated: redis.Redis) -> None:
    async def announce(*versions: str) -> None:
        client = new_async_redis()
        for version in versions:
            await announce_engines(client, {"glmtts": version})
        await client.aclose()

    asyncio.run(announce("v1", "v1", "v2", "v1", "v2", "v2"))  # a rolling upgrade: both kinds beat
    assert [q["tags"] for q in _queued(redis_isolated)] == [["engine-glmtts-v1"]]
    asyncio.run(announce("v3"))
    assert [q["tags"] for q in _queued(redis_isolated)][-1] == ["engine-glmtts-v1", "engine-glmtts-v2"]


def test_at_most_100_per_call_and_one_kind_per_call() -> None:
    bodies = purge_bodies({"tags": [f"t{i}" for i in range(120)], "urls": [f"https://x/{i}" for i in range(250)]})
    assert [list(b) for b in bodies] == [["tags"], ["tags"], ["files"], ["files"], ["files"]]
    assert [len(next(iter(b.values()))) for b in bodies] == [100, 20, 100, 100, 50]


def test_rate_limits_and_server_errors_are_retried_with_backoff(cloudflare: RecordingServer) -> None:
    cloudflare.script = [(429, {"success": False, "errors": [{"code": 971, "message": "slow down"}]},
                          {"Retry-After": "7"}), (503, {"success": False}, {})]
    _waits.clear()
    retried, ok = _outcome("retried"), _outcome("ok")
    assert _send(json.dumps({"tags": ["tts"]})) == 1
    assert len(cloudflare.calls) == 3 and _waits[0] == 7.0 and 0 <= _waits[1] <= 2.0
    assert _outcome("retried") - retried == 2 and _outcome("ok") - ok == 1


def test_a_refusal_fails_at_once_with_cloudflares_reason(cloudflare: RecordingServer) -> None:
    cloudflare.script = [(403, {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]},
                          {})]
    failed = _outcome("failed")
    with pytest.raises(PurgeFailed, match="10000: Authentication error"):
        _send(json.dumps({"tags": ["tts"]}))
    assert len(cloudflare.calls) == 1 and _outcome("failed") - failed == 1


def test_it_gives_up_after_the_configured_attempts(cloudflare: RecordingServer) -> None:
    cloudflare.script = [(502, {}, {})] * 10
    with pytest.raises(PurgeFailed, match="gave up after 4 attempts: HTTP 502"):
        _send(json.dumps({"urls": ["https://tts.example.com/a/x.mp3"]}))
    assert len(cloudflare.calls) == 4


def test_no_answer_at_all_is_retried(settings: SettingsWrapper) -> None:
    settings.CLOUDFLARE_ZONE_ID, settings.CLOUDFLARE_API_TOKEN = ZONE, TOKEN
    settings.CLOUDFLARE_API_BASE, settings.CLOUDFLARE_PURGE_ATTEMPTS = "http://127.0.0.1:9", 2
    with pytest.raises(PurgeFailed, match="gave up after 2 attempts: ConnectError"):
        _send(json.dumps({"tags": ["tts"]}))


def test_asking_never_raises_when_redis_is_down(cloudflare: RecordingServer, settings: SettingsWrapper) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    _client_for.cache_clear()
    try:
        assert request_purge(tags=["tts"], reason="results") is False
    finally:
        _client_for.cache_clear()
