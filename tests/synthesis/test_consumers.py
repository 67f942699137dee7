"""Websocket consumers with WebsocketCommunicator: auth, origin, ownership, ordering, resume, cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from accounts.services import api_token_create
from glmtts_site.redis_conn import new_async_redis
from synthesis.jobs.events import publish_event
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.results import finished_job
from tests.support.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(path: str, *, user: User | None = None, headers: list[tuple[bytes, bytes]] | None = None,
                   token: str | None = None) -> tuple[WebsocketCommunicator, bool, Any]:
    """(communicator, accepted, close code if refused before accepting)."""
    communicator = open_socket(path, user=user, headers=headers, token=token)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _refused(path: str, **how: Any) -> tuple[str, int]:
    """A refusal is accepted first, then closed with its code (so that clients can read it): the
    error frame's code and the close code."""
    communicator, connected, _ = await _connect(path, **how)
    assert connected
    error = await communicator.receive_json_from(timeout=5)
    assert error["type"] == "error"
    close = await communicator.receive_output(timeout=5)
    assert close["type"] == "websocket.close"
    return error["code"], int(close["code"])


async def _emit(job_id: str, event_type: str, data: dict[str, Any], pcm: bytes | None = None) -> None:
    client = new_async_redis()
    await publish_event(client, job_id, event_type, data, pcm)
    await client.aclose()


@database_sync_to_async
def _queued_job(owner: User) -> SynthesisJob:
    return job_create(owner=owner, text="A sentence that streams.")


@database_sync_to_async
def _finished(owner: User) -> SynthesisJob:
    return finished_job(owner)


@database_sync_to_async
def _token(owner: User) -> str:
    return api_token_create(user=owner, name="ws").raw


@database_sync_to_async
def _mark_done(job: SynthesisJob) -> None:
    SynthesisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, audio_duration_s=1.0)


async def _frames(communicator: WebsocketCommunicator) -> list[Any]:
    frames: list[Any] = []
    while True:
        message = await communicator.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return frames
        frames.append(json.loads(message["text"]) if message.get("text") else message["bytes"])


async def test_anonymous_is_refused(owner: User) -> None:
    job = await _queued_job(owner)
    assert await _refused(f"/ws/jobs/{job.pk}/") == ("not_authenticated", 4401)


async def test_foreign_origin_is_refused(owner: User) -> None:
    job = await _queued_job(owner)
    _, connected, _ = await _connect(f"/ws/jobs/{job.pk}/", user=owner, headers=[(b"origin", b"https://evil.example")])
    assert not connected


async def test_missing_origin_is_refused(owner: User) -> None:
    job = await _queued_job(owner)
    _, connected, _ = await _connect(f"/ws/jobs/{job.pk}/", user=owner, headers=[])
    assert not connected


async def test_other_users_job_and_missing_job_look_the_same(owner: User, other_user: User) -> None:
    job = await _queued_job(owner)
    foreign = await _refused(f"/ws/jobs/{job.pk}/", user=other_user)
    missing = await _refused("/ws/jobs/00000000-0000-0000-0000-000000000000/", user=other_user)
    assert foreign == missing == ("not_found", 4404)


async def test_finished_job_sends_done_at_once(owner: User) -> None:
    job = await _finished(owner)
    communicator, connected, _ = await _connect(f"/ws/jobs/{job.pk}/", user=owner)
    assert connected
    frames = await _frames(communicator)
    assert frames[-1]["type"] == "tts.done" and frames[-1]["cache_hit"] is True and frames[-1]["audio_urls"]


async def test_chunks_arrive_in_order_with_binary_frames_then_done(owner: User) -> None:
    job = await _queued_job(owner)
    job_id = str(job.pk)
    await _emit(job_id, "tts.started", {"attempt": 1, "worker": "w"})
    for seq in range(3):
        await _emit(job_id, "tts.chunk", {"seq": seq, "sample_rate": 24000, "samples": 2, "duration": 0.0001},
                    bytes([seq, seq, seq, seq]))
        await _emit(job_id, "tts.progress", {"stage": "synthesizing", "done": seq + 1, "total": 3,
                                             "fraction": (seq + 1) / 3})
    await _mark_done(job)
    await _emit(job_id, "tts.done", {})
    communicator, connected, _ = await _connect(f"/ws/jobs/{job_id}/", user=owner)
    assert connected
    await communicator.send_json_to({"type": "resume", "after_seq": -1})
    frames = await _frames(communicator)
    kinds = [f["type"] if isinstance(f, dict) else "binary" for f in frames]
    assert kinds == ["tts.started"] + ["tts.chunk", "binary", "tts.progress"] * 3 + ["tts.done"]
    assert [f for f in frames if isinstance(f, bytes)] == [bytes([s] * 4) for s in range(3)]
    assert frames[3]["segment"] == 1 and frames[3]["segments"] == 3


async def test_resume_sends_only_the_missing_chunks(owner: User) -> None:
    job = await _queued_job(owner)
    job_id = str(job.pk)
    for seq in range(5):
        await _emit(job_id, "tts.chunk", {"seq": seq, "sample_rate": 24000, "samples": 1, "duration": 0.0},
                    bytes([seq, 0]))
    await _mark_done(job)
    await _emit(job_id, "tts.done", {})
    communicator, _, _ = await _connect(f"/ws/jobs/{job_id}/", user=owner)
    await communicator.send_json_to({"type": "resume", "after_seq": 2})
    frames = await _frames(communicator)
    assert [f["seq"] for f in frames if isinstance(f, dict) and f["type"] == "tts.chunk"] == [3, 4]


async def test_api_token_in_a_header_authenticates(owner: User) -> None:
    job = await _finished(owner)
    token = await _token(owner)
    communicator, connected, _ = await _connect(f"/ws/jobs/{job.pk}/", token=token)
    assert connected
    assert (await _frames(communicator))[-1]["type"] == "tts.done"
    assert await _refused(f"/ws/jobs/{job.pk}/", token="gtts_wrong") == ("not_authenticated", 4401)


async def _close_code(communicator: WebsocketCommunicator) -> int:
    message = await communicator.receive_output(timeout=5)
    while message["type"] != "websocket.close":
        message = await communicator.receive_output(timeout=5)
    return int(message["code"])


@pytest.mark.parametrize(("frame", "code"), [({"text_data": "x" * 40_000}, 4413), ({"bytes_data": b"\0" * 10}, 4400)])
async def test_oversized_or_binary_client_messages_close_the_socket(owner: User, frame: dict[str, Any],
                                                                    code: int) -> None:
    job = await _queued_job(owner)
    communicator, _, _ = await _connect(f"/ws/jobs/{job.pk}/", user=owner)
    await communicator.send_to(**frame)
    assert await _close_code(communicator) == code


async def test_cancel_over_the_socket_ends_a_queued_job(owner: User) -> None:
    job = await _queued_job(owner)
    communicator, _, _ = await _connect(f"/ws/jobs/{job.pk}/", user=owner)
    await communicator.send_json_to({"type": "resume", "after_seq": -1})
    await communicator.send_json_to({"type": "cancel"})
    frames = await _frames(communicator)
    assert frames[-1]["type"] == "tts.cancelled"
    await database_sync_to_async(job.refresh_from_db)()
    assert job.status == JobStatus.CANCELLED


async def test_synthesize_socket_validates_and_answers_hits(owner: User) -> None:
    done = await _finished(owner)
    communicator, connected, _ = await _connect("/ws/synthesize/", user=owner)
    assert connected
    await communicator.send_json_to({"type": "synthesize", "text": "x", "temperature": 9})
    error = await communicator.receive_json_from(timeout=5)
    assert error["type"] == "tts.failed" and error["field"] == "temperature"
    await communicator.send_json_to({"type": "synthesize", "text": done.text})
    frames = await _frames(communicator)
    assert frames[-1]["type"] == "tts.done" and frames[-1]["cache_hit"] is True


async def test_malformed_client_messages_get_an_error_and_the_socket_stays(owner: User) -> None:
    job = await _queued_job(owner)
    communicator, _, _ = await _connect(f"/ws/jobs/{job.pk}/", user=owner)
    for text in ("[" * 10_000 + "]" * 10_000, "{not json", '{"no": "type"}'):
        await communicator.send_to(text_data=text)
        error = await communicator.receive_json_from(timeout=5)
        while error["type"] != "error":  # the job's own frames may come first
            error = await communicator.receive_json_from(timeout=5)
        assert error["code"] == "bad_message"
    await communicator.disconnect()
