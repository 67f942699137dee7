"""Redis outages under an open follower: the socket is closed with the documented 4503 and an error
frame, for the client to resume; the consumer never raises out of the application (Daphne would log
"Exception inside application" and close with 1011)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import channel_layer_host
from synthesis.jobs.services import job_create
from synthesis.realtime.protocol import CLOSE_UNAVAILABLE
from tests.support.processes import RedisServer
from tests.support.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def layer_redis(tmp_path: Path, settings: SettingsWrapper) -> Iterator[RedisServer]:
    """The channel layer on a Redis of its own (a deployment may split them), the rest on the shared one."""
    server = RedisServer(tmp_path / "layer-redis")
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"],
                                                               "hosts": [channel_layer_host(server.url)]}}}
    yield server
    server.kill()


async def _until_closed(owner: User, kill: Any) -> tuple[list[dict[str, str]], int]:
    job = await database_sync_to_async(job_create)(owner=owner, text="A job that waits in the queue.")
    communicator = open_socket(f"/ws/jobs/{job.pk}/", user=owner)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=10))["type"] == "tts.queued"
    kill()
    texts: list[dict[str, str]] = []
    while (message := await communicator.receive_output(timeout=30))["type"] != "websocket.close":
        texts.append(json.loads(message["text"]))
    return texts, int(message["code"])


async def test_the_channel_layer_losing_redis_closes_with_4503(owner: User, layer_redis: RedisServer) -> None:
    """The layer's receive runs outside every handler: its error used to end the application."""
    texts, code = await _until_closed(owner, layer_redis.kill)
    assert code == CLOSE_UNAVAILABLE and texts[-1]["code"] == "stream_unavailable"


async def test_losing_the_one_redis_closes_with_4503(owner: User, own_redis: RedisServer) -> None:
    texts, code = await _until_closed(owner, own_redis.kill)
    assert code == CLOSE_UNAVAILABLE and texts[-1]["code"] == "stream_unavailable"
