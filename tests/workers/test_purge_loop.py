"""The worker's edge-purge loop (in-process runner, real Redis, a local server recording Cloudflare's
calls): queued purges are sent and acked; one that fails for good is dead-lettered, kept for the admin
and counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.edge_purge import purge_stream_key, recent_purge_errors, request_purge
from tests.support.engines import ToneEngine
from tests.support.inproc import until
from tests.support.recording_http import RecordingServer, recording_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cloudflare(settings: SettingsWrapper, redis_isolated: redis.Redis) -> Iterator[RecordingServer]:
    with recording_server() as server:
        settings.CLOUDFLARE_ZONE_ID, settings.CLOUDFLARE_API_TOKEN = "zone-9", "token-9"
        settings.CLOUDFLARE_API_BASE = server.url
        settings.CLOUDFLARE_PURGE_ATTEMPTS = 2
        settings.PUBLIC_BASE_URL = "https://tts.example.com"
        yield server


async def test_queued_purges_are_sent_and_acked(serve: Any, cloudflare: RecordingServer,
                                                redis_isolated: redis.Redis) -> None:
    await serve(ToneEngine())
    await sync_to_async(request_purge)(tags=["tts"], reason="results")
    await sync_to_async(request_purge)(paths=["/a/abc.mp3"], reason="voice")
    await until(lambda: len(cloudflare.calls) == 2, "both purges to reach the API")
    assert [call.body for call in cloudflare.calls] == [{"tags": ["tts"]},
                                                       {"files": ["https://tts.example.com/a/abc.mp3"]}]
    await until(lambda: redis_isolated.xlen(purge_stream_key()) == 0, "both entries to be acked")


async def test_a_purge_that_fails_for_good_is_kept_for_the_admin(serve: Any, cloudflare: RecordingServer,
                                                                 redis_isolated: redis.Redis, admin_client: Client,
                                                                 settings: SettingsWrapper) -> None:
    cloudflare.script = [(400, {"success": False, "errors": [{"code": 1012, "message": "Request must contain "
                                                              "one of purge_everything, files, tags"}]}, {})]
    await serve(ToneEngine())
    await sync_to_async(request_purge)(tags=["voice-gone"], reason="voice")
    await until(lambda: redis_isolated.xlen(f"{purge_stream_key()}:dead") == 1, "the purge to be dead-lettered")
    [error] = await sync_to_async(recent_purge_errors)()
    assert "1012" in error["message"] and "voice-gone" in error["payload"]
    page = await sync_to_async(admin_client.get)("/admin/ops/cache/")
    assert page.status_code == 200 and b"edge-purge-errors" in page.content and b"1012" in page.content
