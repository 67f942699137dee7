"""Websockets under abuse and quiet: every client message has a documented answer or close code,
sockets are capped per user, and a follower outlives the channel layer's 5 s blocking pop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import new_async_redis
from synthesis.jobs.events import publish_event
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _open(path: str, user: User) -> WebsocketCommunicator:
    communicator = open_socket(path, user=user)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _established(path: str, user: User) -> WebsocketCommunicator:
    """Open, and wait until the consumer has finished connecting (its slot taken): it answers a ping."""
    communicator = await _open(path, user)
    await communicator.send_json_to({"type": "ping"})
    while (await communicator.receive_json_from(timeout=5))["type"] != "pong":
        pass
    return communicator


@database_sync_to_async
def _queued_job(owner: User) -> SynthesisJob:
    return job_create(owner=owner, text="A sentence that waits in the queue.")


async def _next_error_or_close(communicator: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        message = await communicator.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return {"close": message["code"]}
        frame = json.loads(message["text"])
        if frame["type"] == "error":
            return frame


@pytest.mark.parametrize("after_seq", ["3", 1.5, True, None, -2, 10**12, [1]])
async def test_a_bad_after_seq_is_an_error_and_the_socket_stays(owner: User, after_seq: object) -> None:
    job = await _queued_job(owner)
    communicator = await _open(f"/ws/jobs/{job.pk}/", owner)
    await communicator.send_json_to({"type": "resume", "after_seq": after_seq})
    error = await _next_error_or_close(communicator)
    assert error["code"] == "bad_message" and error["field"] == "after_seq"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] in ("pong", "tts.queued")
    await communicator.disconnect()


async def test_a_ping_flood_is_closed_with_4429(owner: User) -> None:
    job = await _queued_job(owner)
    communicator = await _open(f"/ws/jobs/{job.pk}/", owner)
    for _ in range(200):
        await communicator.send_json_to({"type": "ping"})
    closed: dict[str, Any] = {}
    while "close" not in closed:
        closed = await _next_error_or_close(communicator)
    assert closed["close"] == 4429


async def test_sockets_per_user_are_capped_and_freed_on_close(owner: User, settings: SettingsWrapper) -> None:
    settings.WS_MAX_PER_USER = 3
    job = await _queued_job(owner)
    held = [await _established(f"/ws/jobs/{job.pk}/", owner) for _ in range(3)]
    refused = await _open(f"/ws/jobs/{job.pk}/", owner)
    assert (await _next_error_or_close(refused))["code"] == "too_many_sockets"
    assert (await _next_error_or_close(refused))["close"] == 4429
    await held[0].disconnect()
    again = await _open(f"/ws/jobs/{job.pk}/", owner)
    await again.send_json_to({"type": "ping"})
    assert (await again.receive_json_from(timeout=5))["type"] in ("pong", "tts.queued")
    for communicator in [*held[1:], again]:
        await communicator.disconnect()


async def test_a_follower_outlives_minutes_of_quiet_layer_reads(owner: User) -> None:
    """The channel layer's receive blocks 5 s in Redis; with redis-py's 5 s socket timeout every quiet
    socket died with 1011 after about 5 s. Here the queue stays silent for 12 s, then the job ends."""
    job = await _queued_job(owner)
    communicator = await _open(f"/ws/jobs/{job.pk}/", owner)
    await communicator.send_json_to({"type": "resume", "after_seq": -1})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "tts.queued"
    await asyncio.sleep(12)
    assert communicator.output_queue.empty() and not communicator.future.done()
    await database_sync_to_async(SynthesisJob.objects.filter(pk=job.pk).update)(status=JobStatus.CANCELLED)
    client = new_async_redis()
    await publish_event(client, str(job.pk), "tts.cancelled", {})
    await client.aclose()
    frames = []
    while True:
        message = await communicator.receive_output(timeout=10)
        if message["type"] == "websocket.close":
            break
        frames.append(json.loads(message["text"])["type"])
    assert frames[-1] == "tts.cancelled" and message["code"] == 1000


async def test_redis_down_closes_with_4503_not_1011(owner: User, settings: SettingsWrapper) -> None:
    job = await _queued_job(owner)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    communicator = await _open(f"/ws/jobs/{job.pk}/", owner)
    error = await _next_error_or_close(communicator)
    assert error["code"] == "stream_unavailable"
    assert (await _next_error_or_close(communicator))["close"] == 4503
